//! Command-line commands: thin shells around the library.

mod certificates;
pub(crate) mod certs;
mod flags;
mod input;
pub(crate) mod mutate;
pub(crate) mod serve;
