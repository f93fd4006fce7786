//! `secret-sync`: a controller serving the part of the External Secrets
//! API that Azure Key Vault users write, on workload identity.

pub mod api;
pub mod budget;
pub mod change;
pub mod cluster_es;
pub mod controller;
pub mod duration;
mod error;
pub mod fetch;
pub mod identity;
pub mod keys;
mod merge;
pub mod plan;
pub mod preflight;
pub mod process;
pub mod push;
pub mod push_data;
pub mod push_material;
pub mod push_plan;
pub mod push_vault;
pub mod remote;
pub mod render;
pub mod schedule;
pub mod selector;
pub mod store;
pub mod target;
pub mod tokens;

pub use error::Error;
