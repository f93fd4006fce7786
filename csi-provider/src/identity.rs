//! Who a mount fetches as: the tenant, the client id and the pod's
//! ServiceAccount token, which becomes the client assertion of the Entra
//! token exchange.
//!
//! The token is a credential. [`ServiceAccountToken`] never shows it in
//! `Debug` or `Display`, and clears it from memory when dropped.

use std::fmt;

use azure_wi_core::{AzureCloud, ClientId, TenantId};
use base64::Engine;
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

    /// The token's claims, decoded **without** checking the signature, for
    /// error messages only: which issuer and subject Entra was shown.
    #[must_use]
    pub fn unverified_claims(&self) -> TokenClaims {
        let payload = self.0.split('.').nth(1).unwrap_or("");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .unwrap_or_default();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let claim = |name: &str| value.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        TokenClaims {
            issuer: claim("iss"),
            subject: claim("sub"),
        }
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

/// The non-secret claims of a token, read without verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// `iss`: must equal the federated credential's issuer.
    pub issuer: Option<String>,
    /// `sub`: `system:serviceaccount:<namespace>:<name>`; must equal the
    /// federated credential's subject.
    pub subject: Option<String>,
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
    /// The pod's token for the token-exchange audience
    /// ([`azure_wi_core::names::DEFAULT_AUDIENCE`]).
    pub token: ServiceAccountToken,
}

impl Identity {
    /// The error for an AADSTS70021-family answer, with the issuer and
    /// subject this identity presented, so the user can compare them with
    /// the federated credential.
    #[must_use]
    pub fn federated_credential_mismatch(&self, code: &str) -> crate::Error {
        let claims = self.token.unverified_claims();
        let unknown = || "<not in the token>".to_owned();
        crate::Error::FederatedCredentialMismatch {
            code: code.to_owned(),
            tenant: self.tenant.to_string(),
            client_id: self.client_id.to_string(),
            issuer: claims.issuer.unwrap_or_else(unknown),
            subject: claims.subject.unwrap_or_else(unknown),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

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
        assert_eq!(
            token.unverified_claims(),
            TokenClaims {
                issuer: Some("https://oidc.example/abc/".into()),
                subject: Some("system:serviceaccount:shop:web".into()),
            }
        );
        for garbage in ["", "abc", "a.!!!.c", "a.bm90IGpzb24.c"] {
            assert_eq!(
                ServiceAccountToken::new(garbage.into()).unverified_claims(),
                TokenClaims::default()
            );
        }
    }

    #[test]
    fn mismatch_error_shows_claims_not_the_token() {
        let raw = jwt("https://oidc.example/", "system:serviceaccount:shop:web");
        let identity = Identity {
            tenant: "contoso.onmicrosoft.com".parse().unwrap(),
            client_id: "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            cloud: AzureCloud::Public,
            token: ServiceAccountToken::new(raw.clone()),
        };
        let text = identity
            .federated_credential_mismatch("AADSTS700213")
            .to_string();
        assert!(
            text.contains("\"system:serviceaccount:shop:web\""),
            "{text}"
        );
        assert!(
            text.contains("client 11111111-2222-3333-4444-555555555555"),
            "{text}"
        );
        assert!(
            !text.contains(&raw) && !text.contains("c2lnbmF0dXJl"),
            "{text}"
        );
        assert!(!format!("{identity:?}").contains("eyJ"));
    }
}
