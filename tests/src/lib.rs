//! End-to-end suites across components; this library holds nothing.
//!
//! The suites are this package's integration tests (`tests/tests/*.rs`):
//!
//! - `auth_chain`: `azure-wi-auth` against the emulator over real TLS, every
//!   success path and every Entra and Key Vault refusal;
//! - `azure_sdk_rust`: Microsoft's Rust Key Vault crate driven by our
//!   credential, against the emulator;
//! - `keys_certs`: our Key Vault key and certificate clients against the
//!   emulator's keys and certificates;
//! - `python_sdk`: Microsoft's Python SDK (`azure-identity`,
//!   `azure-keyvault-secrets`, `-keys`, `-certificates`) against the
//!   emulator, unchanged;
//! - `real_issuer`: a real kube-apiserver's TokenRequest token validated by
//!   the emulated Entra through the apiserver's own JWKS, then exchanged.
//!
//! The real etcd + kube-apiserver harness is the `azure-wi-control-plane`
//! package in `control-plane/`.
#![forbid(unsafe_code)]
