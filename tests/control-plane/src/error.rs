//! The harness's one error type.

/// Why the control plane could not be started or reached.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Neither `KUBEBUILDER_ASSETS` nor the install script gave usable
    /// binaries.
    #[error(
        "no control plane binaries: {0}. Run tests/control-plane/install.sh (it builds kube-apiserver from Debian's source package) or point KUBEBUILDER_ASSETS at a folder with etcd and kube-apiserver"
    )]
    Assets(String),
    /// A process could not be started.
    #[error("starting {name} ({path}): {source}")]
    Start {
        /// Which process.
        name: &'static str,
        /// The binary.
        path: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The control plane did not become ready.
    #[error("the control plane did not become ready: {reason}\n--- log tail ---\n{log_tail}")]
    NotReady {
        /// What was seen last.
        reason: String,
        /// The end of the failing process's log.
        log_tail: String,
    },
    /// Certificates or keys could not be made.
    #[error("making test certificates: {0}")]
    Pki(String),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The Kubernetes client could not be built or a set-up call failed.
    #[error("kubernetes client: {0}")]
    Client(String),
}
