//! A Secrets Store CSI Driver provider that mounts Azure Key Vault objects
//! as files, with workload identity: a drop-in for the `azure` provider
//! (Azure/secrets-store-csi-driver-provider-azure) in its workload identity
//! mode.
//!
//! It does not do pod identity, VM managed identity, the AKS token proxy
//! or service principals from `nodePublishSecretRef`: those switches are
//! refused with a message naming the parameter. It never logs or returns a
//! token, an assertion or a secret value.
//!
//! # Design
//!
//! Decisions are functions of their inputs; I/O is a thin shell:
//!
//! - [`proto`]: the driver's `v1alpha1` messages and service (kubernetes-sigs
//!   /secrets-store-csi-driver `provider/v1alpha1/service.proto`).
//! - [`plan::MountPlan::from_request`]: `attributes` + `permission` → the
//!   vault, the [`identity::Identity`] (tenant, client id, the pod's token
//!   for the token-exchange audience as client assertion, its claims read
//!   by `azure-wi-auth` for messages only) and each object
//!   with its file path and mode, all checked before anything is fetched
//!   ([`attributes`], [`parameters`], [`objects`], [`paths`], [`mode`]).
//! - [`vault::VaultObjects`]: the fetch step, `azure-wi-auth`'s Key Vault
//!   contract (shared with secret-sync), which the mount flow is generic
//!   over: its objects (`Secret`, a typed `Key`, `Certificate`, versions)
//!   and its classified `VaultError`, which [`keyvault::Call::error`] turns
//!   into this crate's [`Error`]. [`keyvault::AzureKeyVault`] is
//!   `azure-wi-auth`'s `WorkloadVaults`; tests use its in-memory vault.
//! - [`share`] and [`shared_reads::SharedReads`]: the Key Vault transport
//!   behind [`keyvault::AzureKeyVault`] in the binary, which lets the mounts
//!   of one Entra identity (the access token's `oid`, after each pod's own
//!   exchange) share one GET per object version within a short window
//!   (`--read-sharing-window`): a rotation sweep of 100 replicas reading 5
//!   objects makes 5 Key Vault requests instead of 500.
//! - [`content`]: a fetched object → file bytes, as the Azure provider
//!   writes them.
//! - [`mount::Mounter`]: plan, fetch (bounded per vault, throttling waited
//!   out within the mount's deadline), [`mount::assemble`] the response and
//!   check the driver's 4 MiB limit.
//! - [`server`]: the provider socket (0600, stale socket replaced), the
//!   `CSIDriverProvider` service and `grpc.health.v1`; [`http`]: `/healthz`
//!   (a gRPC health check of that socket) and `/readyz`; [`metrics`]: the
//!   registry `/metrics` serves. The binary `azure-wi-csi-provider` runs
//!   them in the workspace's process shell (`azure-wi-runtime`: logging,
//!   signals, the admin routers), wired to the Azure provider's flags.
//! - [`Error`]: one error type; each message says what to fix and becomes
//!   the gRPC status text kubelet shows in the pod's events.
//!
//! # Differences from the Azure provider
//!
//! - Failures are gRPC status codes that say what kind of failure it is
//!   (the Go provider always answers `Unknown`).
//! - `objectVersionHistory: N` writes exactly `min(N, versions)` files
//!   (the Go loop can write N+1).
//! - Two objects writing the same file, or a file inside another object's
//!   history directory, are refused instead of overwriting each other.
//! - A `filePermission` that is not octal is refused (the Go provider
//!   mounts mode 0), and `Version` answers this crate's runtime name.
//! - `objects` without an `array:` key is refused (the Go provider mounts
//!   nothing), and oversized or deeply nested input is refused before it
//!   is parsed ([`limits`]).
//!
//! ```
//! use azure_wi_csi_provider::plan::MountPlan;
//!
//! let attributes = serde_json::json!({
//!     "keyvaultName": "kv1",
//!     "tenantID": "72f988bf-0000-4000-8000-000000000001",
//!     "clientID": "11111111-2222-3333-4444-555555555555",
//!     "objects": "array:\n  - |\n    objectName: db-password\n    objectType: secret\n",
//!     "csi.storage.k8s.io/pod.name": "web-0",
//!     "csi.storage.k8s.io/pod.namespace": "shop",
//! });
//! let err = MountPlan::from_request(&attributes.to_string(), "420").unwrap_err();
//! assert!(err.to_string().contains("kubectl get csidriver secrets-store.csi.k8s.io -o yaml"));
//! ```
#![forbid(unsafe_code)]

pub mod attributes;
pub mod content;
mod error;
pub mod gopem;
pub mod http;
pub mod identity;
pub mod identity_binding;
pub mod keyvault;
pub mod limits;
pub mod metrics;
pub mod mode;
pub mod mount;
pub mod objects;
pub mod parameters;
pub mod paths;
pub mod plan;
pub mod proto;
pub mod server;
pub mod share;
pub mod shared_reads;
pub mod vault;

pub use error::{CSI_DRIVER_NAME, Error};
