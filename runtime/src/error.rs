//! The crate's error type.

/// What can go wrong in the process shell.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--log-level` is neither a level nor a directive list.
    #[error("--log-level {value:?}: {reason}")]
    LogLevel {
        /// As given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// An address flag does not parse or cannot be bound.
    #[error("{flag} {value}: {reason}")]
    Address {
        /// The flag, e.g. `--metrics-addr`.
        flag: &'static str,
        /// As given.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The admin server stopped with an I/O error.
    #[error("the admin server on {address} failed: {source}")]
    Serve {
        /// Where it listened.
        address: String,
        /// The error.
        source: std::io::Error,
    },
    /// Leader-election durations that break client-go's rules.
    #[error("leader election: {reason}")]
    LeaseTimings {
        /// The rule broken, naming the flags.
        reason: String,
    },
    /// A write to the API server refused because this replica does not
    /// lead (its term ended, or it never began).
    #[error(
        "not leading: {method} {path} was not sent (this replica's leader-election term is over)"
    )]
    NotLeading {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
    },
}
