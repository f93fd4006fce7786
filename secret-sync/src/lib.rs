//! `secret-sync`: a controller serving the part of the External Secrets
//! API that Azure Key Vault users write, on workload identity.

pub mod api;
pub mod duration;
mod error;
pub mod identity;
pub mod remote;
pub mod store;

pub use error::Error;
