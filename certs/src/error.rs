//! The crate's single error type.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias used by every fallible function of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while generating, inspecting or loading
/// certificates.
///
/// Each message names the file, PEM input or argument at fault so that an
/// operator reading a log line knows what to fix. No variant ever carries
/// private key material: key parse failures say what was wrong, never what
/// was read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate or key file could not be read (missing, unreadable, or a
    /// dangling symlink while a Secret volume is being updated).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The input holds no `CERTIFICATE` PEM section at all (for example an
    /// empty file, or a key file given where a certificate was expected).
    #[error("{origin} holds no PEM certificate")]
    NoCertificate {
        /// The file path, or a description of the in-memory input.
        origin: String,
    },

    /// The certificate PEM is malformed, typically because it is truncated or
    /// only partly written.
    #[error("{origin} holds malformed certificate PEM: {detail}")]
    MalformedCertificatePem {
        /// The file path, or a description of the in-memory input.
        origin: String,
        /// What the PEM decoder reported.
        detail: String,
    },

    /// A PEM section decoded, but its DER content is not an X.509
    /// certificate this crate can read.
    #[error("{origin} holds an unreadable X.509 certificate: {detail}")]
    InvalidCertificate {
        /// The file path, or a description of the in-memory input.
        origin: String,
        /// What the X.509 parser reported.
        detail: String,
    },

    /// The input holds no private key PEM section (`PRIVATE KEY`,
    /// `EC PRIVATE KEY` or `RSA PRIVATE KEY`).
    #[error(
        "{origin} holds no PEM private key (expected PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)"
    )]
    NoPrivateKey {
        /// The file path, or a description of the in-memory input.
        origin: String,
    },

    /// The private key PEM is malformed or of a kind that cannot be used. The
    /// reason is fixed text: decoder output is left out on purpose because it
    /// could echo key bytes.
    #[error("{origin} holds an unusable private key: {reason}")]
    InvalidPrivateKey {
        /// The file path, or a description of the in-memory input.
        origin: String,
        /// Why the key was refused.
        reason: String,
    },

    /// The private key does not belong to the certificate: serving the pair
    /// would fail every handshake. Also what a half-updated pair looks like.
    #[error(
        "private key in {key_origin} does not match the public key of the certificate in {cert_origin}"
    )]
    KeyMismatch {
        /// Where the certificate came from.
        cert_origin: String,
        /// Where the private key came from.
        key_origin: String,
    },

    /// The certificate's signature does not verify with the CA's public key:
    /// clients trusting that CA would refuse it (typically a serving
    /// certificate left over from an earlier CA).
    #[error("{cert_origin} is not signed by the CA in {ca_origin}")]
    NotSignedBy {
        /// Where the certificate came from.
        cert_origin: String,
        /// Where the CA certificate came from.
        ca_origin: String,
    },

    /// The certificate does not name a DNS name or IP address that clients
    /// dial, so their hostname check would fail.
    #[error("{origin} does not name {name}")]
    NameNotCovered {
        /// Where the certificate came from.
        origin: String,
        /// The first DNS name or IP address missing from its subject
        /// alternative names.
        name: String,
    },

    /// A certificate given as an authority cannot sign others.
    #[error("{origin} is not a CA certificate (basicConstraints CA is not set)")]
    NotAnAuthority {
        /// Where the certificate came from.
        origin: String,
    },

    /// A service name, namespace or extra DNS name is not a valid DNS name,
    /// so no client could ever match it against the certificate.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        /// Which input was wrong: `service`, `namespace` or `DNS name`.
        what: &'static str,
        /// The value as given.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },

    /// A validity period is zero or too large to represent as a certificate
    /// date.
    #[error("invalid validity period {validity:?}: {reason}")]
    InvalidValidity {
        /// The validity period as requested.
        validity: Duration,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The serving certificate would still be valid after its CA expires;
    /// clients would reject it from then on, so renew the CA first or ask
    /// for a shorter validity.
    #[error(
        "a serving certificate valid for {requested_days} days would outlive its CA, which expires in {ca_days} days"
    )]
    OutlivesAuthority {
        /// The requested validity, in whole days.
        requested_days: u64,
        /// Time left before the CA expires, in whole days.
        ca_days: u64,
    },

    /// rcgen refused to build or sign a certificate.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
}
