//! [`VaultCredential`]: where a Key Vault client gets its tokens, either a
//! pod's own credential or a node daemon's credential bound to one
//! workload's assertion.

use std::sync::Arc;

use crate::{
    AccessToken, Assertion, AssertionCredential, Error, FederatedIdentity, Scope, TenantId,
    WorkloadIdentityCredential, clock::Clock, transport::SharedTransport,
};

/// The credential a Key Vault client asks for tokens.
///
/// A pod passes its [`WorkloadIdentityCredential`]; a node daemon serving
/// many pods passes an [`AssertionCredential`] bound to one workload with
/// [`AssertionCredential::for_workload`], so that the client's tokens are
/// that workload's and the daemon's cache is still shared across clients.
/// Either way the client shares the credential's transport and clock.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum VaultCredential {
    /// The pod's own identity, from its environment and token file.
    WorkloadIdentity(WorkloadIdentityCredential),
    /// One workload's identity and assertion, on a shared credential.
    Assertion(BoundAssertion),
}

/// An [`AssertionCredential`] with the identity and assertion of one
/// workload, e.g. for the Key Vault reads of one CSI mount. Cheap to clone.
/// `Debug` redacts the assertion.
#[derive(Debug, Clone)]
pub struct BoundAssertion {
    credential: AssertionCredential,
    identity: FederatedIdentity,
    assertion: Assertion,
}

impl AssertionCredential {
    /// This credential, for `identity` presenting `assertion`: what a Key
    /// Vault client takes.
    #[must_use]
    pub fn for_workload(
        &self,
        identity: FederatedIdentity,
        assertion: Assertion,
    ) -> BoundAssertion {
        BoundAssertion {
            credential: self.clone(),
            identity,
            assertion,
        }
    }
}

impl BoundAssertion {
    /// The identity tokens are asked for.
    #[must_use]
    pub fn identity(&self) -> &FederatedIdentity {
        &self.identity
    }
}

impl From<WorkloadIdentityCredential> for VaultCredential {
    fn from(credential: WorkloadIdentityCredential) -> Self {
        Self::WorkloadIdentity(credential)
    }
}

impl From<BoundAssertion> for VaultCredential {
    fn from(bound: BoundAssertion) -> Self {
        Self::Assertion(bound)
    }
}

impl VaultCredential {
    /// A token for `scopes`.
    pub(crate) async fn get_token(&self, scopes: &[Scope]) -> Result<AccessToken, Error> {
        match self {
            Self::WorkloadIdentity(c) => c.get_token(scopes).await,
            Self::Assertion(b) => {
                b.credential
                    .get_token(&b.identity, &b.assertion, scopes)
                    .await
            }
        }
    }

    /// The tenant the tokens come from, which must be the vault's.
    pub(crate) fn tenant_id(&self) -> &TenantId {
        match self {
            Self::WorkloadIdentity(c) => c.config().tenant_id(),
            Self::Assertion(b) => b.identity.tenant_id(),
        }
    }

    pub(crate) fn transport(&self) -> &SharedTransport {
        match self {
            Self::WorkloadIdentity(c) => c.transport(),
            Self::Assertion(b) => b.credential.transport(),
        }
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        match self {
            Self::WorkloadIdentity(c) => c.clock(),
            Self::Assertion(b) => b.credential.clock(),
        }
    }
}
