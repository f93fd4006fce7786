//! Command-line commands: thin shells around the library.

pub(crate) mod certs_command;
mod flags;
mod input;
pub(crate) mod mutate;
pub(crate) mod serve;
mod serving_certs;
