//! Go's `text/template` with the functions of the External Secrets
//! Operator's template engine v2, for secret-sync's `spec.target.template`
//! and `rewrite[].transform`.
//!
//! - The engine ([`Template`]): Go's lexer (trim markers, comments, other
//!   delimiters), parser (with Go's parse-time checks and messages) and
//!   executor (`missingkey=error` by default, variables, `if`/`with`/`range`
//!   with `else`, `break`/`continue`, `define`/`template`/`block`), Go's
//!   built-ins and `fmt`'s `printf`.
//! - The functions ([`functions`]): Go's built-ins, Sprig's as ESO vendors
//!   them (`runtime/template/v2/sprig`, without `env`, `expandenv` and
//!   `getHostByName`) and ESO's own (`runtime/template/v2`: PEM, PKCS#12,
//!   JWK, YAML, `rsaDecrypt`), each following its Go source's behaviour and
//!   texts, with the Go and Sprig tests' cases beside it.
//! - The values ([`Value`]): the shapes Go values take in these templates,
//!   strings as bytes.
//! - Go's `encoding/json` writer ([`json`]), public for the other places
//!   ESO writes JSON with Go (secret-sync's `rewrite[].merge`).
//! - Go's `regexp` ([`go_regexp`]): the translation of Go's RE2 syntax the
//!   regex functions use, public for the patterns ESO compiles with Go
//!   outside templates (`find.name.regexp`, `rewrite[].regexp`,
//!   `namespaceRegexes`).
//!
//! Pure: a template and its data in, bytes or an error naming the template
//! and the reason out. The clock and randomness are injected
//! ([`func::Env`]). Work is bounded ([`Limits`]), because any namespace's
//! user can write a template and one controller renders them all; errors
//! never carry the data's values.

// Every function body has one signature taking its arguments by value (many
// return them or parts of them); the ones that only read them are not wrong.
#![allow(clippy::needless_pass_by_value)]

mod engine;
mod eso;
pub mod func;
pub mod go_regexp;
pub mod json;
mod sprig;
pub mod value;

pub use engine::{Delims, Limits, Template, TemplateError};
pub use func::{Env, FuncError, Param, Registry};
pub use value::{Str, Value};

/// Every function ESO's engine v2 offers: Go's built-ins, Sprig's and
/// ESO's own.
pub fn functions() -> Registry {
    let mut r = Registry::new();
    engine::register_builtins(&mut r);
    sprig::register(&mut r);
    eso::register(&mut r);
    r
}
