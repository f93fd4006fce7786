//! [`AzureKeyVault`]: the [`VaultObjects`](crate::vault::VaultObjects)
//! the provider serves mounts with, `azure-wi-auth`'s [`WorkloadVaults`];
//! and [`Call`], which turns the contract's classified [`VaultError`] into
//! the message a user sees.
//!
//! [`WorkloadVaults`] shares one credential per cloud authority among every
//! mount: its token cache is keyed by tenant, client id and the
//! assertion's issuer, subject and audience, so the replicas of one
//! ServiceAccount share one Entra exchange while two ServiceAccounts never
//! share a token. It also learns each vault's challenge once for all
//! mounts.

use azure_wi_auth::{WorkloadVaults, delivery::VaultError};

use crate::{Error, identity::Identity, objects::ObjectType, parameters::Vault};

/// Reads Key Vault objects as each mount's workload identity:
/// `azure-wi-auth`'s [`WorkloadVaults`], one attempt per Key Vault call (the
/// mount flow waits out throttling and retries server errors itself,
/// without holding the vault's concurrency permit while it waits, and
/// within its deadline). [`WorkloadVaults::new`] uses the default
/// transport (the platform's roots plus `AZURE_WI_EXTRA_CA_FILE`'s,
/// `HTTPS_PROXY` honoured); [`WorkloadVaults::with_http_client`] sends
/// every request with a given client, e.g. one that reaches the emulator.
///
/// Cheap to share: the server holds one for all mounts.
pub type AzureKeyVault = WorkloadVaults;

/// What a call of the mount flow was about, to name it in errors.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The vault read.
    pub vault: &'a Vault,
    /// Whom the mount reads as.
    pub identity: &'a Identity,
    /// The object's type.
    pub object_type: ObjectType,
    /// The objectName.
    pub name: &'a str,
    /// The version asked for, `None` for the latest.
    pub version: Option<&'a str>,
    /// Whether the call listed versions (which needs list rights).
    pub listing: bool,
}

impl Call<'_> {
    /// The error to show the user for `error`: its class decides the
    /// variant, this call names the object, the vault and the client.
    #[must_use]
    pub fn error(&self, error: VaultError) -> Error {
        let vault = self.vault.name.to_string();
        let key_vault = |status: u16, message: String| Error::KeyVault {
            vault: vault.clone(),
            object_type: self.object_type,
            name: self.name.to_owned(),
            status,
            message,
        };
        match error {
            VaultError::NotFound { .. } => Error::ObjectNotFound {
                vault,
                object_type: self.object_type,
                name: self.name.to_owned(),
                version: self.version.map(str::to_owned),
            },
            // A disabled object is refused with 403 too, but no role cures it.
            VaultError::Disabled { source, .. } => key_vault(403, key_vault_message(&source)),
            VaultError::Forbidden { .. } => Error::Forbidden {
                vault,
                object_type: self.object_type,
                name: self.name.to_owned(),
                client_id: self.identity.client_id.to_string(),
                listing: self.listing,
            },
            VaultError::Throttled {
                status,
                retry_after,
                ..
            } => Error::Throttled {
                vault,
                status,
                retry_after,
            },
            VaultError::KeyVault { status, source, .. } => {
                key_vault(status, key_vault_message(&source))
            }
            VaultError::Unreachable { host, reason, .. } => Error::Unreachable { host, reason },
            VaultError::FederatedCredentialMismatch {
                code, diagnosis, ..
            } => {
                let claims = self.identity.token.unverified_claims();
                let unknown = || "<not in the token>".to_owned();
                Error::FederatedCredentialMismatch {
                    code,
                    tenant: self.identity.tenant.to_string(),
                    client_id: self.identity.client_id.to_string(),
                    issuer: claims.iss.unwrap_or_else(unknown),
                    subject: claims.sub.unwrap_or_else(unknown),
                    diagnosis: diagnosis.into(),
                }
            }
            VaultError::Entra { source } => Error::Entra {
                tenant: self.identity.tenant.to_string(),
                client_id: self.identity.client_id.to_string(),
                description: source.to_string(),
            },
            VaultError::TokenProxyUnavailable { reason } => Error::TokenProxyUnavailable { reason },
            other => key_vault(0, other.to_string()),
        }
    }
}

/// `<code>: <message>` of Key Vault's answer, as the provider has always
/// shown it; the whole message for anything else.
fn key_vault_message(source: &azure_wi_auth::Error) -> String {
    match source {
        azure_wi_auth::Error::Forbidden { code, message, .. }
        | azure_wi_auth::Error::KeyVault { code, message, .. } => format!("{code}: {message}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::identity::{ServiceAccountToken, tests::jwt};
    use azure_wi_core::AzureCloud;

    fn call_parts() -> (Vault, Identity) {
        let vault = Vault {
            name: "kv1".parse().unwrap(),
            cloud: AzureCloud::Public,
        };
        let identity = Identity {
            tenant: "72f988bf-0000-4000-8000-000000000001".parse().unwrap(),
            client_id: "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            cloud: AzureCloud::Public,
            mode: crate::parameters::IdentityMode::WorkloadIdentity,
            token: ServiceAccountToken::new(jwt(
                "https://oidc.example/",
                "system:serviceaccount:shop:web",
            )),
        };
        (vault, identity)
    }

    fn map(error: azure_wi_auth::Error, listing: bool) -> Error {
        let (vault, identity) = call_parts();
        Call {
            vault: &vault,
            identity: &identity,
            object_type: ObjectType::Secret,
            name: "db",
            version: Some("v1"),
            listing,
        }
        .error(error.into())
    }

    #[test]
    fn key_vault_answers_map_to_what_the_user_fixes() {
        let not_found = map(
            azure_wi_auth::Error::SecretNotFound {
                vault: "https://kv1.vault.azure.net".into(),
                name: "db".into(),
                version: Some("v1".into()),
            },
            false,
        );
        assert!(
            matches!(&not_found, Error::ObjectNotFound { vault, version: Some(v), .. } if vault == "kv1" && v == "v1"),
            "{not_found:?}"
        );
        let forbidden = map(
            azure_wi_auth::Error::Forbidden {
                vault: "https://kv1.vault.azure.net".into(),
                what: "get secret db".into(),
                code: "ForbiddenByRbac".into(),
                message: "denied".into(),
                role: Some("Key Vault Secrets User"),
            },
            true,
        );
        assert!(
            matches!(&forbidden, Error::Forbidden { listing: true, client_id, .. } if client_id == "11111111-2222-3333-4444-555555555555"),
            "{forbidden:?}"
        );
        let disabled = map(
            azure_wi_auth::Error::Forbidden {
                vault: "https://kv1.vault.azure.net".into(),
                what: "get secret db".into(),
                code: "SecretDisabled".into(),
                message: "disabled".into(),
                role: None,
            },
            false,
        );
        assert_eq!(
            disabled,
            Error::KeyVault {
                vault: "kv1".into(),
                object_type: ObjectType::Secret,
                name: "db".into(),
                status: 403,
                message: "SecretDisabled: disabled".into(),
            }
        );
        for (status, asked, waited) in [
            (429, Some(Duration::from_secs(9)), Duration::from_secs(9)),
            (503, None, azure_wi_auth::delivery::DEFAULT_RETRY_AFTER),
        ] {
            let throttled = map(
                azure_wi_auth::Error::KeyVault {
                    vault: "https://kv1.vault.azure.net".into(),
                    what: "get secret db".into(),
                    status,
                    code: "Throttled".into(),
                    message: "slow down".into(),
                    retry_after: asked,
                },
                false,
            );
            assert_eq!(
                throttled,
                Error::Throttled {
                    vault: "kv1".into(),
                    status,
                    retry_after: waited
                },
                "Key Vault's Retry-After is the wait; without one, the default"
            );
        }
        let unreachable = map(
            azure_wi_auth::Error::Transport {
                url: "https://kv1.vault.azure.net/secrets/db".into(),
                message: "connection refused".into(),
            },
            false,
        );
        assert_eq!(
            unreachable,
            Error::Unreachable {
                host: "kv1.vault.azure.net".into(),
                reason: "connection refused".into()
            }
        );
    }

    #[test]
    fn a_mismatch_shows_the_presented_claims_and_azure_wi_auths_diagnosis() {
        let (vault, identity) = call_parts();
        let call = Call {
            vault: &vault,
            identity: &identity,
            object_type: ObjectType::Secret,
            name: "db",
            version: None,
            listing: false,
        };
        let source = Box::new(azure_wi_auth::Error::EmptyAssertion);
        let error = call.error(VaultError::FederatedCredentialMismatch {
            code: 700_211,
            diagnosis: "compare the issuer first".into(),
            source,
        });
        assert_eq!(
            error,
            Error::FederatedCredentialMismatch {
                code: 700_211,
                tenant: "72f988bf-0000-4000-8000-000000000001".into(),
                client_id: "11111111-2222-3333-4444-555555555555".into(),
                issuer: "https://oidc.example/".into(),
                subject: "system:serviceaccount:shop:web".into(),
                diagnosis: "compare the issuer first".into(),
            }
        );
        let text = error.to_string();
        assert!(!text.contains(identity.token.expose()), "{text}");
    }
}
