//! wip
pub mod attributes;
mod error;
pub mod identity;
pub mod mode;
pub mod objects;
pub mod parameters;
pub mod paths;
pub mod plan;
pub mod proto;

pub use error::{CSI_DRIVER_NAME, Error};
