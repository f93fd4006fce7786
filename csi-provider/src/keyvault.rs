//! [`AzureKeyVault`]: the [`VaultObjects`] the provider serves mounts with,
//! on `azure-wi-auth`'s Key Vault clients.
//!
//! [`WorkloadVaults`] shares one credential per cloud authority among every
//! mount: its token cache is keyed by tenant, client id and the
//! assertion's issuer, subject and audience, so the replicas of one
//! ServiceAccount share one Entra exchange while two ServiceAccounts never
//! share a token. Each call gets a Key Vault client for the mount's
//! identity and pod token.
//!
//! Failures of `azure-wi-auth` become this crate's [`Error`] variants as
//! [`crate::vault`] describes them.

use std::time::Duration;

use azure_wi_auth::{Assertion, FederatedIdentity, RetryPolicy, SecretClient, WorkloadVaults};
use base64::Engine;
use futures::TryStreamExt as _;

use crate::{
    Error,
    identity::Identity,
    objects::ObjectType,
    parameters::Vault,
    vault::{
        FetchedCertificate, FetchedSecret, JsonWebKey, SecretValue, VaultObjects, VersionInfo,
        version_of,
    },
};

/// How long a mount waits before asking again when Key Vault throttles
/// without naming a `Retry-After`.
pub const THROTTLED_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The AADSTS codes of a federated credential that does not match the
/// presented token (issuer, subject or audience).
const FEDERATED_MISMATCH_CODES: [u32; 5] = [70021, 700_211, 700_212, 700_213, 7_002_138];

/// Reads Key Vault objects as each mount's workload identity.
///
/// Cheap to share: the server holds one for all mounts. Credentials,
/// connections and each vault's challenge are shared through
/// [`WorkloadVaults`].
#[derive(Debug)]
pub struct AzureKeyVault {
    vaults: WorkloadVaults,
}

impl AzureKeyVault {
    /// With the default transport: the platform's roots plus
    /// `AZURE_WI_EXTRA_CA_FILE`'s, `HTTPS_PROXY` honoured.
    ///
    /// # Errors
    ///
    /// The transport cannot be built, e.g. `AZURE_WI_EXTRA_CA_FILE` names
    /// an unusable file.
    pub fn new() -> Result<Self, azure_wi_auth::Error> {
        Ok(Self::from(WorkloadVaults::new()?))
    }

    /// Sending every request (Entra and Key Vault) with `client`, e.g. one
    /// that reaches the emulator.
    ///
    /// # Errors
    ///
    /// As [`AzureKeyVault::new`].
    pub fn with_http_client(client: reqwest::Client) -> Result<Self, azure_wi_auth::Error> {
        Ok(Self::from(WorkloadVaults::with_http_client(client)?))
    }

    /// A Key Vault client for `vault`, reading as `identity`.
    fn client(
        &self,
        vault: &Vault,
        identity: &Identity,
    ) -> Result<SecretClient, azure_wi_auth::Error> {
        let assertion = Assertion::new(identity.token.expose().to_owned())?;
        let workload = FederatedIdentity::new(identity.tenant.clone(), identity.client_id.clone());
        self.vaults
            .client(identity.cloud, &vault.url(), workload, assertion)
    }

    fn remember(&self, client: &SecretClient) {
        self.vaults.remember(client);
    }
}

impl From<WorkloadVaults> for AzureKeyVault {
    /// One attempt per Key Vault call: the mount flow waits out
    /// throttling and retries server errors itself, without holding the
    /// vault's concurrency permit while it waits, and within its deadline.
    fn from(vaults: WorkloadVaults) -> Self {
        Self {
            vaults: vaults.with_retry_policy(RetryPolicy::once()),
        }
    }
}

/// What a call was about, to name it in errors.
struct Call<'a> {
    vault: &'a Vault,
    identity: &'a Identity,
    object_type: ObjectType,
    name: &'a str,
    version: Option<&'a str>,
    listing: bool,
}

impl<'a> Call<'a> {
    /// A read of one object (`version` `None` for the latest).
    fn read(
        vault: &'a Vault,
        identity: &'a Identity,
        object_type: ObjectType,
        name: &'a str,
        version: Option<&'a str>,
    ) -> Self {
        Self {
            vault,
            identity,
            object_type,
            name,
            version,
            listing: false,
        }
    }

    /// A listing of an object's versions.
    fn listing(
        vault: &'a Vault,
        identity: &'a Identity,
        object_type: ObjectType,
        name: &'a str,
    ) -> Self {
        Self {
            listing: true,
            ..Self::read(vault, identity, object_type, name, None)
        }
    }

    /// The error to show the user for `error`.
    fn error(&self, error: azure_wi_auth::Error) -> Error {
        use azure_wi_auth::Error as Auth;
        let vault = self.vault.name.to_string();
        match error {
            Auth::SecretNotFound { .. }
            | Auth::KeyNotFound { .. }
            | Auth::CertificateNotFound { .. } => Error::ObjectNotFound {
                vault,
                object_type: self.object_type,
                name: self.name.to_owned(),
                version: self.version.map(str::to_owned),
            },
            // A disabled object is refused with 403 too, but no role cures it.
            Auth::Forbidden { code, message, .. } if code.ends_with("Disabled") => {
                Error::KeyVault {
                    vault,
                    object_type: self.object_type,
                    name: self.name.to_owned(),
                    status: 403,
                    message: format!("{code}: {message}"),
                }
            }
            Auth::Forbidden { .. } => Error::Forbidden {
                vault,
                object_type: self.object_type,
                name: self.name.to_owned(),
                client_id: self.identity.client_id.to_string(),
                listing: self.listing,
            },
            Auth::KeyVault {
                status,
                retry_after,
                ..
            } if matches!(status, 429 | 503) => Error::Throttled {
                vault,
                status,
                retry_after: retry_after.unwrap_or(THROTTLED_RETRY_AFTER),
            },
            Auth::KeyVault {
                status,
                code,
                message,
                ..
            } => Error::KeyVault {
                vault,
                object_type: self.object_type,
                name: self.name.to_owned(),
                status,
                message: format!("{code}: {message}"),
            },
            Auth::Transport { url, message } => Error::Unreachable {
                host: reqwest::Url::parse(&url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or(url),
                reason: message,
            },
            ref entra @ Auth::Entra { .. } => match entra.entra().and_then(|e| e.code()) {
                Some(code) if FEDERATED_MISMATCH_CODES.contains(&code) => self
                    .identity
                    .federated_credential_mismatch(&format!("AADSTS{code}")),
                _ => self.entra(entra),
            },
            // The token exchange failed before or without Entra's error
            // body: the pod's token is unusable, or something between the
            // node and Entra answered.
            ref exchange @ (Auth::EmptyAssertion
            | Auth::AssertionNotJwt { .. }
            | Auth::AssertionClaimMissing { .. }
            | Auth::AssertionExpired { .. }
            | Auth::MalformedTokenResponse { .. }
            | Auth::UnrecognizedErrorResponse { .. }) => self.entra(exchange),
            other => Error::KeyVault {
                vault,
                object_type: self.object_type,
                name: self.name.to_owned(),
                status: 0,
                message: other.to_string(),
            },
        }
    }

    fn entra(&self, error: &azure_wi_auth::Error) -> Error {
        Error::Entra {
            tenant: self.identity.tenant.to_string(),
            client_id: self.identity.client_id.to_string(),
            description: error.to_string(),
        }
    }
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl VaultObjects for AzureKeyVault {
    async fn secret(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> Result<FetchedSecret, Error> {
        let call = Call::read(vault, identity, ObjectType::Secret, name, version);
        let client = self.client(vault, identity).map_err(|e| call.error(e))?;
        let secret = match version {
            Some(version) => client.get_secret_version(name, version).await,
            None => client.get_secret(name).await,
        };
        self.remember(&client);
        let secret = secret.map_err(|e| call.error(e))?;
        Ok(FetchedSecret {
            id: secret.properties.id,
            value: SecretValue::new(secret.value.expose().to_owned()),
            content_type: secret.properties.content_type,
            kid: secret.properties.key_id,
        })
    }

    async fn key(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> Result<JsonWebKey, Error> {
        let call = Call::read(vault, identity, ObjectType::Key, name, version);
        let vault_client = self.client(vault, identity).map_err(|e| call.error(e))?;
        let client = vault_client.key_client();
        let key = match version {
            Some(version) => client.get_key_version(name, version).await,
            None => client.get_key(name).await,
        };
        self.remember(&vault_client);
        let key = key.map_err(|e| call.error(e))?;
        let kid = key.properties.id;
        match key.key {
            azure_wi_auth::JsonWebKey::Rsa { n, e } => Ok(JsonWebKey {
                kid,
                kty: "RSA".to_owned(),
                n: Some(base64url(&n)),
                e: Some(base64url(&e)),
                ..JsonWebKey::default()
            }),
            azure_wi_auth::JsonWebKey::Ec { crv, x, y } => Ok(JsonWebKey {
                kid,
                kty: "EC".to_owned(),
                crv: Some(crv.as_str().to_owned()),
                x: Some(base64url(&x)),
                y: Some(base64url(&y)),
                ..JsonWebKey::default()
            }),
            other => Err(Error::InvalidKey {
                name: name.to_owned(),
                reason: format!("unsupported JSON Web Key type {other:?}; expected RSA or EC"),
            }),
        }
    }

    async fn certificate(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> Result<FetchedCertificate, Error> {
        let call = Call::read(vault, identity, ObjectType::Cert, name, version);
        let vault_client = self.client(vault, identity).map_err(|e| call.error(e))?;
        let client = vault_client.certificate_client();
        let certificate = match version {
            Some(version) => client.get_certificate_version(name, version).await,
            None => client.get_certificate(name).await,
        };
        self.remember(&vault_client);
        let certificate = certificate.map_err(|e| call.error(e))?;
        Ok(FetchedCertificate {
            id: certificate.properties.id,
            cer: certificate.cer,
        })
    }

    async fn versions(
        &self,
        vault: &Vault,
        identity: &Identity,
        object_type: ObjectType,
        name: &str,
    ) -> Result<Vec<VersionInfo>, Error> {
        let call = Call::listing(vault, identity, object_type, name);
        let client = self.client(vault, identity).map_err(|e| call.error(e))?;
        let info = |id: &str, version: Option<String>, enabled, created| VersionInfo {
            version: version.unwrap_or_else(|| version_of(id).to_owned()),
            enabled,
            created,
        };
        let versions = match object_type {
            ObjectType::Secret => {
                client
                    .list_secret_versions(name)
                    .map_ok(|p| info(&p.id, p.version, p.enabled, p.created))
                    .try_collect()
                    .await
            }
            ObjectType::Key => {
                client
                    .key_client()
                    .list_key_versions(name)
                    .map_ok(|p| info(&p.id, p.version, p.enabled, p.created))
                    .try_collect()
                    .await
            }
            ObjectType::Cert => {
                client
                    .certificate_client()
                    .list_certificate_versions(name)
                    .map_ok(|p| info(&p.id, p.version, p.enabled, p.created))
                    .try_collect()
                    .await
            }
        };
        self.remember(&client);
        versions.map_err(|e| call.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::ServiceAccountToken;
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
            token: ServiceAccountToken::new("a.b.c".into()),
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
        .error(error)
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
        assert!(
            matches!(&disabled, Error::KeyVault { status: 403, .. }),
            "{disabled:?}"
        );
        for (status, asked, waited) in [
            (429, Some(Duration::from_secs(9)), Duration::from_secs(9)),
            (503, None, THROTTLED_RETRY_AFTER),
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
}
