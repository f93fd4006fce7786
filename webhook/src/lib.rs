//! A mutating admission webhook that gives pods an Azure workload identity.
//!
//! Pods labelled `azure.workload.identity/use: "true"` get a projected
//! ServiceAccount token volume, its mount, and the `AZURE_*` environment that
//! Azure SDKs read, taken from their ServiceAccount's
//! `azure.workload.identity/*` annotations. Labels, annotations, variable
//! names, paths, defaults and denial texts are those of the reference webhook
//! (Azure/azure-workload-identity), so existing manifests work unchanged.
//!
//! The rules live in one pure function, [`mutate::mutate`]: it takes the pod
//! (decoded by [`mutate::AdmissionPod`] as a view of the fields it reads,
//! straight from the request's JSON text), its ServiceAccount and the
//! [`config::MutationConfig`], and returns a JSON Patch with warnings or a
//! [`mutate::Denial`]. It does no I/O, reads no clock and keeps no state;
//! [`admission`] translates AdmissionReviews in and out, keeping the object
//! as raw JSON so a pod of megabytes costs a small multiple of its size,
//! and the binary's commands are thin shells around both.
//!
//! Beside it, a warn-only validating path ([`workload`]) tells `kubectl
//! apply` users when the label sits on a Deployment or other workload, where
//! it does nothing, instead of on its pod template.
//!
//! The server, the ServiceAccount watch cache, certificates and metrics sit
//! behind the default feature `server`. Without it (`default-features =
//! false`) the crate is the mutation and the admission flow alone, with no
//! axum, hyper or kube in the dependency tree: what the emulator's demo uses.
//!
//! What it does not do: choose which pods to mutate (the
//! MutatingWebhookConfiguration's `objectSelector` does), or ever remove or
//! rewrite a field it did not add, except inside the volume named
//! `azure-identity-token`, which it makes canonical (warning about any
//! source it drops).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod admission;
pub mod config;
#[cfg(feature = "server")]
pub mod metrics;
pub mod mutate;
#[cfg(feature = "server")]
pub mod server;
pub mod serviceaccount;
#[cfg(feature = "server")]
pub mod tls;
pub mod workload;
