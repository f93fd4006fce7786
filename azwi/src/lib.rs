//! `azwi`: the command-line companion to the workload identity webhook,
//! for the platform engineer who has to find out why a pod gets no Entra
//! token, and for clusters that are not AKS.
//!
//! - [`doctor`] (`azwi doctor`) reads the cluster with the user's
//!   kubeconfig and reports what stands between a pod and its token, worst
//!   first, each finding with its evidence and fix: the issuer (its
//!   discovery document, trailing slash said, fetchable without
//!   credentials, its JWKS holding the `kid` of a token issued now), the
//!   federated credential each ServiceAccount needs (as an `az` command
//!   line and a Terraform block), the webhook's registration and
//!   endpoints, mislabelled workloads, unmutated pods, ServiceAccounts
//!   without a usable client id, a shadowing `AZURE_CLIENT_ID`, the Secrets
//!   Store CSI driver's `tokenRequests`, the Azure CSI provider DaemonSet's
//!   ready pods, External Secrets stores, and the `Ready: False` conditions
//!   our secret-sync controller (or External Secrets Operator) reports on
//!   ExternalSecrets and stores.
//!   `--check-entra` makes the real exchange through `azure-wi-auth` and
//!   reports Entra's verdict with its diagnosis. The rules are pure
//!   functions over collected inputs; the kube-rs collector around them
//!   turns a read RBAC denies into a note, not a failure.
//! - [`keys`], [`jwks`] and [`issuer`] (`azwi jwks`, `azwi issuer`) build a
//!   self-managed cluster's issuer documents offline, from the key files
//!   kube-apiserver is given: PEM keys (RSA, ECDSA P-256/384/521), a JWKS
//!   with kube-apiserver's `kid` derivation, and a folder laid out for
//!   upload, proved by validating a token signed with the private key.
//!
//! What it does not do: change the cluster or anything in Azure. `doctor`
//! only reads, apart from TokenRequests (for the `kid` check and
//! `--check-entra`) whose tokens are never printed; `jwks` and `issuer`
//! write only the files the user names. Exit codes: 0 done or nothing
//! wrong, 1 `doctor` findings (warnings or errors), 2 could not do it or
//! could not check; every [`Error`] names the file, flag or cluster at
//! fault.

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
