//! wip
pub mod proto;
