//! `azure-wi-emulator`: the emulator as a process.
#![allow(missing_docs)]
fn main() {}
