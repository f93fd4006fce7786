//! The fetch step: what the mount flow needs from Key Vault, as a trait.
//!
//! The trait, its objects and its classified errors are `azure-wi-auth`'s
//! Key Vault contract ([`azure_wi_auth::delivery`]), which secret-sync
//! reads through too. The mount flow is generic over [`VaultObjects`], so
//! everything around the network (plan, content, layout, limits, server)
//! is tested with `azure-wi-auth`'s in-memory vault, and the Key Vault
//! clients are plugged in by the binary ([`crate::keyvault`]). Each call
//! reads as the mount's own workload ([`azure_wi_auth::delivery::ReadAs`]:
//! tenant, client id and the pod's ServiceAccount token as client
//! assertion): there is no ambient credential, each pod reads as itself.
//!
//! Failures arrive as a [`azure_wi_auth::delivery::VaultError`];
//! [`crate::keyvault::Call::error`] turns one into this crate's
//! [`crate::Error`] variant that tells the user what to fix.

pub use azure_wi_auth::delivery::{VaultObjects, VersionInfo, version_of};
