//! AKS's identity-binding token proxy, as pure functions: what it checks
//! before it gets a token for the identity, and its refusal.
//!
//! Public facts (AKS's identity bindings documentation and Azure/AKS
//! issue #4658): a pod's SDK sends the federated client-credentials request
//! it would send to Entra to the proxy instead (`AZURE_KUBERNETES_TOKEN_PROXY`,
//! path and query kept), with a ServiceAccount token for the audience
//! `api://AKSIdentityBinding`; the proxy lets through ServiceAccounts that a
//! ClusterRole binding allows the verb `use-managed-identity` on the
//! resource `<client id>` of API group `cid.wi.aks.azure.com`, and answers
//! with the identity's Entra token, obtained through the binding's one
//! federated credential (so the identity needs no credential for the
//! ServiceAccount). Here the bindings are the world's `identityBindings`.
//!
//! Requests Entra itself would refuse (tenant, fields, client id, scope,
//! signature, time window) get Entra's answers, as the proxy passes
//! Entra's refusal on. How the real proxy words its own refusals (a token
//! of another audience or cluster, a ServiceAccount without a binding) is
//! not public: those get an OAuth 2.0 error (`unauthorized_client`, 403)
//! that names what is missing, with no AADSTS code, since Entra never saw
//! the request.

use serde_json::{Value, json};

use crate::config::Config;

/// The audience of the ServiceAccount tokens the proxy accepts.
pub const AUDIENCE: &str = azure_wi_core::names::IDENTITY_BINDING_AUDIENCE;
/// API group and verb of the RBAC rule that binds a ServiceAccount to an
/// identity.
pub const RBAC_GROUP: &str = "cid.wi.aks.azure.com";
/// See [`RBAC_GROUP`].
pub const RBAC_VERB: &str = "use-managed-identity";

/// The proxy's own refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is wrong, for the user.
    pub description: String,
}

impl Refusal {
    /// HTTP status of the answer.
    pub const STATUS: u16 = 403;

    /// The answer's JSON body.
    #[must_use]
    pub fn body(&self) -> Value {
        json!({"error": "unauthorized_client", "error_description": self.description})
    }
}

/// Checks a verified assertion (`claims`) against the identity binding of
/// `client_id`: the cluster's own issuer, the proxy's audience, and a
/// binding of the token's ServiceAccount to the identity.
///
/// # Errors
///
/// A [`Refusal`] naming what is missing.
pub fn authorize(config: &Config, client_id: &str, claims: &Value) -> Result<(), Refusal> {
    let refuse = |description: String| Err(Refusal { description });
    let issuer = claims["iss"].as_str().unwrap_or_default();
    if issuer != config.issuer {
        return refuse(format!(
            "the token was issued by {issuer:?}, not by this cluster ({:?}); the token proxy \
             takes only its own cluster's ServiceAccount tokens",
            config.issuer
        ));
    }
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&AUDIENCE) {
        return refuse(format!(
            "the token's audience is {audiences:?}, not {AUDIENCE}: project the token for \
             {AUDIENCE} (the webhook's custom token endpoint does)"
        ));
    }
    let subject = claims["sub"].as_str().unwrap_or_default();
    let Some((namespace, service_account)) = subject
        .strip_prefix(azure_wi_core::names::SERVICE_ACCOUNT_SUBJECT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    else {
        return refuse(format!(
            "the token's subject {subject:?} is not a ServiceAccount"
        ));
    };
    let bound = config.identity_bindings.iter().any(|b| {
        b.client_id == client_id && b.namespace == namespace && b.service_account == service_account
    });
    if !bound {
        return refuse(format!(
            "ServiceAccount {namespace}/{service_account} may not use managed identity \
             {client_id}: no ClusterRole binding grants it {RBAC_VERB} on {RBAC_GROUP} \
             resource {client_id}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEMO_CLIENT_ID, DEMO_ISSUER};

    fn bound() -> Config {
        let mut config = Config::demo();
        config.bind(DEMO_CLIENT_ID, "team-b", "reports");
        config
    }

    fn claims(iss: &str, aud: &str, sub: &str) -> Value {
        json!({"iss": iss, "aud": [aud], "sub": sub})
    }

    #[test]
    fn a_bound_service_account_with_the_proxys_audience_passes() {
        let ok = claims(
            DEMO_ISSUER,
            AUDIENCE,
            "system:serviceaccount:team-b:reports",
        );
        assert_eq!(authorize(&bound(), DEMO_CLIENT_ID, &ok), Ok(()));
    }

    #[test]
    fn each_missing_piece_is_named() {
        let config = bound();
        for (claims, client, says) in [
            (
                claims(
                    "https://other/",
                    AUDIENCE,
                    "system:serviceaccount:team-b:reports",
                ),
                DEMO_CLIENT_ID,
                "not by this cluster",
            ),
            (
                claims(
                    DEMO_ISSUER,
                    azure_wi_core::names::DEFAULT_AUDIENCE,
                    "system:serviceaccount:team-b:reports",
                ),
                DEMO_CLIENT_ID,
                "not api://AKSIdentityBinding",
            ),
            (
                claims(
                    DEMO_ISSUER,
                    AUDIENCE,
                    "system:serviceaccount:team-a:orders-api",
                ),
                DEMO_CLIENT_ID,
                "ServiceAccount team-a/orders-api may not use managed identity",
            ),
            (
                claims(
                    DEMO_ISSUER,
                    AUDIENCE,
                    "system:serviceaccount:team-b:reports",
                ),
                "00000000-0000-0000-0000-000000000001",
                "may not use managed identity 00000000-0000-0000-0000-000000000001",
            ),
            (
                claims(DEMO_ISSUER, AUDIENCE, "alice"),
                DEMO_CLIENT_ID,
                "is not a ServiceAccount",
            ),
        ] {
            let refusal = authorize(&config, client, &claims).unwrap_err();
            assert!(
                refusal.description.contains(says),
                "{}",
                refusal.description
            );
            assert_eq!(refusal.body()["error"], "unauthorized_client");
        }
    }
}
