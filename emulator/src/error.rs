//! The emulator's one error type.

/// Why the emulator could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration holds something Entra or Key Vault would refuse.
    #[error("emulator configuration: {0}")]
    Config(String),
    /// A signing key could not be made or used.
    #[error("signing key: {0}")]
    Key(String),
    /// Certificates for the emulator's TLS could not be made.
    #[error("emulator certificates: {0}")]
    Tls(String),
    /// A listener could not be bound.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written or read.
    #[error("{what}: {source}")]
    Io {
        /// The path.
        what: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}
