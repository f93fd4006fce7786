//! wip
pub mod attributes;
pub mod content;
mod error;
pub mod identity;
pub mod mode;
pub mod mount;
pub mod objects;
pub mod parameters;
pub mod paths;
pub mod plan;
pub mod proto;
pub mod server;
pub mod vault;

pub use error::{CSI_DRIVER_NAME, Error};
