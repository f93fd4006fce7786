//! Who a mount fetches as: the tenant, the client id and the pod's
//! ServiceAccount token, which becomes the client assertion of the Entra
//! token exchange.
//!
//! The token is a credential. [`ServiceAccountToken`] never shows it in
//! `Debug` or `Display`, and clears it from memory when dropped. Its claims
//! are read, for error messages only, by `azure-wi-auth`'s
//! [`AssertionClaims`].

use std::fmt;

use azure_wi_auth::{Assertion, AssertionClaims, FederatedIdentity, delivery::ReadAs};
use azure_wi_core::{AzureCloud, ClientId, TenantId};

use crate::parameters::IdentityMode;
use zeroize::Zeroizing;

/// A ServiceAccount JWT from the tokens attribute, used as the client
/// assertion.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceAccountToken(Zeroizing<String>);

impl ServiceAccountToken {
    /// Wraps a token received from kubelet.
    #[must_use]
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }

    /// The token text, to send as `client_assertion`. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token as the client assertion of the exchange.
    ///
    /// # Errors
    ///
    /// [`azure_wi_auth::Error::EmptyAssertion`] for a token of white space.
    pub fn assertion(&self) -> Result<Assertion, azure_wi_auth::Error> {
        Assertion::new(self.expose().to_owned())
    }

    /// The token's claims, decoded **without** checking the signature, for
    /// error messages only: which issuer and subject Entra was shown.
    /// Nothing that cannot be read is invented: a token that is not a JWT
    /// gives no claims.
    #[must_use]
    pub fn unverified_claims(&self) -> AssertionClaims {
        self.assertion()
            .and_then(|assertion| AssertionClaims::decode_unverified(&assertion))
            .unwrap_or_default()
    }
}

impl fmt::Debug for ServiceAccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceAccountToken(<redacted>)")
    }
}

impl fmt::Display for ServiceAccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything needed to obtain a Key Vault token for one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `tenantID` (or `tenantId`).
    pub tenant: TenantId,
    /// `clientID`.
    pub client_id: ClientId,
    /// `cloudName`: decides the Entra authority host.
    pub cloud: AzureCloud,
    /// Where the token is exchanged: Entra, or the identity binding's
    /// token proxy.
    pub mode: IdentityMode,
    /// The pod's token for the mode's audience
    /// ([`azure_wi_core::names::DEFAULT_AUDIENCE`], or
    /// [`azure_wi_core::names::IDENTITY_BINDING_AUDIENCE`]).
    pub token: ServiceAccountToken,
}

impl Identity {
    /// Who the mount's Key Vault reads are made as.
    ///
    /// # Errors
    ///
    /// As [`ServiceAccountToken::assertion`].
    pub fn read_as(&self) -> Result<ReadAs, azure_wi_auth::Error> {
        let identity = FederatedIdentity::new(self.tenant.clone(), self.client_id.clone());
        let token = self.token.assertion()?;
        Ok(match self.mode {
            IdentityMode::WorkloadIdentity => ReadAs::workload(identity, self.cloud, token),
            IdentityMode::AzureTokenProxy => ReadAs::identity_binding(identity, self.cloud, token),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::Engine;

    /// An unsigned JWT with the given claims, as kubelet's would look.
    pub(crate) fn jwt(iss: &str, sub: &str) -> String {
        let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(r#"{"alg":"RS256","kid":"k"}"#.to_owned()),
            b64(format!(
                r#"{{"iss":"{iss}","sub":"{sub}","aud":["{aud}"]}}"#,
                aud = azure_wi_core::names::DEFAULT_AUDIENCE
            ))
        )
    }

    #[test]
    fn token_is_redacted_in_debug_and_display() {
        let token = ServiceAccountToken::new(jwt("https://issuer", "system:serviceaccount:a:b"));
        assert_eq!(format!("{token:?}"), "ServiceAccountToken(<redacted>)");
        assert_eq!(token.to_string(), "<redacted>");
        assert!(token.expose().starts_with("eyJ"));
    }

    #[test]
    fn claims_are_read_without_verification_and_garbage_gives_none() {
        let token = ServiceAccountToken::new(jwt(
            "https://oidc.example/abc/",
            "system:serviceaccount:shop:web",
        ));
        let claims = token.unverified_claims();
        assert_eq!(claims.iss.as_deref(), Some("https://oidc.example/abc/"));
        assert_eq!(
            claims.sub.as_deref(),
            Some("system:serviceaccount:shop:web")
        );
        for garbage in ["", "abc", "a.!!!.c", "a.bm90IGpzb24.c"] {
            assert_eq!(
                ServiceAccountToken::new(garbage.into()).unverified_claims(),
                AssertionClaims::default()
            );
        }
    }

    #[test]
    fn the_reader_is_the_pods_identity_and_never_shows_the_token() {
        let raw = jwt("https://oidc.example/", "system:serviceaccount:shop:web");
        let identity = Identity {
            tenant: "contoso.onmicrosoft.com".parse().unwrap(),
            client_id: "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            cloud: AzureCloud::Public,
            mode: crate::parameters::IdentityMode::WorkloadIdentity,
            token: ServiceAccountToken::new(raw.clone()),
        };
        let reader = identity.read_as().unwrap();
        let ReadAs::Workload {
            identity: workload,
            token,
            ..
        } = &reader
        else {
            panic!("{reader:?}");
        };
        assert_eq!(
            workload.client_id().as_str(),
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(token.secret(), raw);
        assert!(!format!("{identity:?} {reader:?}").contains("eyJ"));
    }
}
