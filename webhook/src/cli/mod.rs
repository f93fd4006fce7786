//! Command-line commands: thin shells around the library.

mod input;
pub(crate) mod mutate;
