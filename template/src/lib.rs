//! Go's `text/template` with the functions of the External Secrets
//! Operator's template engine v2, for secret-sync's `spec.target.template`.
//!
//! Pure: a template and its data in, bytes or an error naming the key and
//! the reason out. The clock and randomness are injected ([`func::Env`]).
//! Work is bounded ([`Limits`]), because any namespace's user can write a
//! template and one controller renders them all.

pub mod func;
mod eso;
mod sprig;
pub mod value;

pub use func::{Env, FuncError, Param, Registry};
pub use value::{Str, Value};

/// Every function ESO's engine v2 offers: Go's built-ins, Sprig's and
/// ESO's own.
pub fn functions() -> Registry {
    let mut r = Registry::new();
    sprig::register(&mut r);
    eso::register(&mut r);
    r
}
