//! `azwi`: the command-line companion to the workload identity webhook, for
//! platform engineers running clusters that are not AKS.
//!
//! Such a cluster must publish its ServiceAccount issuer itself: a discovery
//! document and a JWKS at public HTTPS URLs Entra can fetch, whose `issuer`
//! and key ids match the tokens kube-apiserver signs byte for byte. This
//! crate builds those documents offline, from the same key files the
//! apiserver is given:
//!
//! - [`keys`] reads PEM public and private keys (RSA, ECDSA P-256/384/521);
//! - [`jwks`] turns them into a JWKS with kube-apiserver's `kid` derivation;
//! - [`issuer`] writes the discovery document and the JWKS into a folder laid
//!   out for upload, and proves them by validating a token it signs.
//!
//! What it does not do: talk to the cluster or to Azure. Nothing here
//! uploads, creates or changes anything; the only files written are the ones
//! the user names. Every failure is an [`Error`] that names the file or flag
//! at fault; the binary maps all of them to exit code 2.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod doctor;
mod error;
pub mod issuer;
pub mod jwks;
pub mod keys;

pub use error::Error;

/// Writes `contents` to `path` readable and writable by the owner only
/// (0600 on Unix), as `azwi jwks --output-file` does: the file is not secret
/// but is the kind of output that ends up next to private keys.
///
/// # Errors
///
/// [`Error::Write`] naming the path.
pub fn write_private_file(path: &std::path::Path, contents: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    let error = |source| Error::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        let mut file = options.open(path).map_err(error)?;
        // `mode` applies only to new files; an existing one is narrowed too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(error)?;
        file.write_all(contents).map_err(error)
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path).map_err(error)?;
        file.write_all(contents).map_err(error)
    }
}
