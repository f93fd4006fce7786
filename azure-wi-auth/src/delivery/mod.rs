//! The Key Vault contract of the services that deliver a workload's
//! objects somewhere else: the CSI provider (files in a pod's volume) and
//! secret-sync (Kubernetes Secrets). Both read the same objects as the
//! same kind of caller and must tell their users the same things, so what
//! they need is defined here once:
//!
//! * [`VaultObjects`]: the reads (a secret, a key, a certificate, an
//!   object's versions, a vault's secrets with their tags), each made as a
//!   [`ReadAs`]: a workload presenting its own ServiceAccount token, or this
//!   process's own identity. [`WorkloadVaults`](crate::WorkloadVaults)
//!   implements it on this crate's clients; with feature `memory-vault`,
//!   [`memory::MemoryVault`] implements it in memory for tests.
//! * The objects are this crate's own: [`Secret`] (its value a redacting,
//!   zeroizing [`SecretValue`](crate::SecretValue)), [`Key`] (a typed
//!   [`JsonWebKey`](crate::JsonWebKey)), [`Certificate`],
//!   [`SecretProperties`] for a listing, and [`VersionInfo`] for a
//!   versions listing.
//! * [`VaultError`]: every failure classified once, into what a caller
//!   acts on (not found, a role to grant, a disabled object, throttling
//!   with the wait, a federated credential that does not match with
//!   [`diagnose`](crate::diagnose)'s explanation, Entra's other refusals,
//!   an unreachable host, any other Key Vault answer).

mod error;
#[cfg(any(test, feature = "memory-vault"))]
pub mod memory;

use std::{fmt, future::Future, time::SystemTime};

use azure_wi_core::AzureCloud;

pub use error::{DEFAULT_RETRY_AFTER, VaultError};

use crate::{Assertion, Certificate, FederatedIdentity, Key, Secret, SecretProperties};

/// The three kinds of Key Vault object, by the names both the CSI
/// provider's `objectType` and External Secrets' `remoteRef.key` prefixes
/// give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A secret's value (or a certificate with its private key).
    Secret,
    /// A key's public part.
    Key,
    /// A certificate without its private key.
    Cert,
}

impl ObjectKind {
    /// `secret`, `key` or `cert`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Key => "key",
            Self::Cert => "cert",
        }
    }

    /// The Key Vault data-plane role that lets an identity read this kind.
    #[must_use]
    pub fn reader_role(self) -> &'static str {
        match self {
            Self::Secret => "Key Vault Secrets User",
            Self::Key => "Key Vault Crypto User",
            Self::Cert => "Key Vault Certificate User",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a read is made as.
///
/// A node daemon or a controller acts for many workloads, so the identity
/// comes with each call rather than with the reader. `Debug` never shows
/// the token.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReadAs {
    /// A workload's identity, presenting the workload's own ServiceAccount
    /// token (a pod's from kubelet, or one from a TokenRequest) as the
    /// client assertion of the Entra exchange.
    Workload {
        /// The tenant and client id whose federated credential trusts the
        /// token.
        identity: FederatedIdentity,
        /// The cloud, which decides the Entra authority.
        cloud: AzureCloud,
        /// The ServiceAccount token.
        token: Assertion,
    },
    /// A workload's identity through an AKS identity binding: the
    /// workload's ServiceAccount token for `api://AKSIdentityBinding` is
    /// exchanged at the token proxy given to
    /// [`WorkloadVaults::with_token_proxy`](crate::WorkloadVaults::with_token_proxy).
    IdentityBinding {
        /// The tenant and client id the binding names.
        identity: FederatedIdentity,
        /// The cloud, which decides the Entra authority.
        cloud: AzureCloud,
        /// The ServiceAccount token.
        token: Assertion,
    },
    /// This process's own workload identity (the one the webhook gave its
    /// pod), as given to [`WorkloadVaults::with_own_identity`](crate::WorkloadVaults::with_own_identity).
    Own,
}

impl ReadAs {
    /// `identity` of `cloud`, presenting `token`.
    #[must_use]
    pub fn workload(identity: FederatedIdentity, cloud: AzureCloud, token: Assertion) -> Self {
        Self::Workload {
            identity,
            cloud,
            token,
        }
    }

    /// `identity` of `cloud` through its identity binding, presenting
    /// `token`.
    #[must_use]
    pub fn identity_binding(
        identity: FederatedIdentity,
        cloud: AzureCloud,
        token: Assertion,
    ) -> Self {
        Self::IdentityBinding {
            identity,
            cloud,
            token,
        }
    }
}

/// One version of an object, from a versions listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version id (the last segment of the object id).
    pub version: String,
    /// `attributes.enabled`: Key Vault lists disabled versions too.
    pub enabled: bool,
    /// `attributes.created`, to order versions newest first.
    pub created: Option<SystemTime>,
}

/// The last path segment of a Key Vault object id: its version.
#[must_use]
pub fn version_of(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// Reads a vault's objects as a caller named on each call.
///
/// `vault` is the vault's URL (`https://<name>.vault.azure.net`);
/// `version` is `None` for the current version. Failures come classified
/// as a [`VaultError`]. Implementations are shared by every caller of a
/// process, so they must be cheap to share.
pub trait VaultObjects: Send + Sync + 'static {
    /// A secret with its value.
    fn secret(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Secret, VaultError>> + Send;

    /// A key's public part.
    fn key(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Key, VaultError>> + Send;

    /// A certificate without its private key (which is its secret's).
    fn certificate(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Certificate, VaultError>> + Send;

    /// Every version of an object, in any order, enabled or not (listing
    /// needs the list permission).
    fn versions(
        &self,
        vault: &str,
        reader: &ReadAs,
        kind: ObjectKind,
        name: &str,
    ) -> impl Future<Output = Result<Vec<VersionInfo>, VaultError>> + Send;

    /// Every secret of the vault, without values, with tags, enabled or
    /// not, every page.
    fn secrets(
        &self,
        vault: &str,
        reader: &ReadAs,
    ) -> impl Future<Output = Result<Vec<SecretProperties>, VaultError>> + Send;

    /// Whether `reader` may list the vault's secrets now: one request (the
    /// listing's first page, nothing of it kept), refused as the listing
    /// would be. Lets a caller trust a listing another identity made only
    /// once its own list permission is shown to stand.
    fn may_list_secrets(
        &self,
        vault: &str,
        reader: &ReadAs,
    ) -> impl Future<Output = Result<(), VaultError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_last_segment_of_the_id() {
        assert_eq!(
            version_of("https://kv1.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef"),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(version_of("https://kv1.vault.azure.net/keys/k/v2/"), "v2");
        assert_eq!(version_of(""), "");
    }

    #[test]
    fn a_workload_reader_never_shows_its_token() {
        let reader = ReadAs::workload(
            FederatedIdentity::new(
                "72f988bf-0000-4000-8000-000000000001".parse().unwrap(),
                "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            ),
            AzureCloud::Public,
            Assertion::new("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln").unwrap(),
        );
        let shown = format!("{reader:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(
            shown.contains("11111111-2222-3333-4444-555555555555"),
            "{shown}"
        );
    }
}
