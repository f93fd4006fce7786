//! The one error type of the crate: every variant names the file, flag or
//! URL at fault, so the message alone tells the user what to fix.

use std::path::PathBuf;

/// What went wrong while reading keys or writing documents. All of these
/// mean "could not do it" (exit code 2), as opposed to findings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file could not be read from disk.
    #[error("cannot read key file {path}")]
    ReadKey {
        /// The file given on the command line.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// A key file holds something that is not a usable key.
    #[error("key file {path}: {what}")]
    BadKey {
        /// The file given on the command line.
        path: PathBuf,
        /// What is wrong with it, in words that say what to change.
        what: String,
    },
    /// An output file or folder could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The file or folder being written.
        path: PathBuf,
        /// Why the operating system refused.
        #[source]
        source: std::io::Error,
    },
    /// The `--issuer-url` is not something Entra can fetch documents from.
    #[error("--issuer-url {url:?}: {what}")]
    IssuerUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        what: String,
    },
    /// The issuer self-check failed: a token signed by the given private key
    /// does not validate against the documents that were written.
    #[error("self-check failed: {0}")]
    SelfCheck(String),
    /// No usable kubeconfig: `azwi doctor` could not check anything.
    #[error("cannot use {what}: {reason}")]
    Kubeconfig {
        /// The file or source tried.
        what: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The API server could not be reached: `azwi doctor` could not check
    /// anything.
    #[error("cannot reach the cluster: {0}")]
    Cluster(String),
}
