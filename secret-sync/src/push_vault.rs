//! ESO's azurekv `PushSecret`, `DeleteSecret` and `SecretExists` against a
//! vault through `azure_wi_auth`'s client: the decisions of [`crate::push`]
//! and [`crate::push_material`] in ESO's order, with ESO's error texts
//! around the vault's answers (external-secrets/external-secrets,
//! `providers/v1/azure/keyvault/keyvault.go`: `setKeyVaultSecret`,
//! `setKeyVaultCertificate`, `setKeyVaultKey`, `deleteKeyVault*`,
//! `SecretExists`; the legacy SDK path, which a store without
//! `useAzureSDK` takes).
//!
//! Safety, as ESO: a write or delete first reads the object; one that
//! exists without `managed-by: external-secrets` is never overwritten or
//! deleted.

use std::collections::BTreeMap;

use azure_wi_auth::{Error as VaultError, SecretClient};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::push::{self, CurrentSecret, ObjectType, PushError};
use crate::push_material::{self, MaterialError};

/// Why a push, delete or existence check failed, worded as ESO words it.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A decision refused it (unsupported type, metadata, not managed).
    #[error(transparent)]
    Push(#[from] PushError),
    /// The value is not the key or certificate its target needs.
    #[error(transparent)]
    Material(#[from] MaterialError),
    /// The vault refused a request: `context` is ESO's prefix
    /// (`cannot get secret db`, `could not set secret db`, ...).
    #[error("{context}: {source}")]
    Vault {
        /// What was being done, naming the object.
        context: String,
        /// The vault's answer (boxed: Key Vault's error is large).
        source: Box<VaultError>,
    },
    /// A read failed otherwise than with 404, as `SecretExists` reports it
    /// (the vault's answer alone).
    #[error(transparent)]
    Unexpected(Box<VaultError>),
    /// The named key is not in the Secret.
    #[error("secret key {key:?} does not exist in the Secret")]
    MissingKey {
        /// `data[].match.secretKey`.
        key: String,
    },
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// A new version was written.
    Written,
    /// The vault holds it already: nothing written, no new version.
    Unchanged,
}

fn is_not_found(error: &VaultError) -> bool {
    matches!(
        error,
        VaultError::SecretNotFound { .. }
            | VaultError::KeyNotFound { .. }
            | VaultError::CertificateNotFound { .. }
    )
}

fn vault(context: String) -> impl FnOnce(VaultError) -> ProviderError {
    move |source| ProviderError::Vault {
        context,
        source: Box::new(source),
    }
}

/// `Ok(None)` for 404, the object otherwise; `context` words any other
/// failure (ESO: "cannot get secret db: unexpected api error: ..." when
/// writing, "error getting secret db: unexpected api error: ..." when
/// deleting).
fn found<T>(result: Result<T, VaultError>, context: &str) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(object) => Ok(Some(object)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(vault(format!("{context}: unexpected api error"))(error)),
    }
}

/// ESO's `PushSecret` of one `data[]` entry: `data` is the Secret's data,
/// `secret_key` its `match.secretKey` (none: the whole Secret as JSON),
/// `remote_key` its `remoteRef.remoteKey`, `metadata` its `metadata`.
///
/// # Errors
///
/// [`ProviderError`] with ESO's text; nothing is written then.
pub async fn push_secret(
    client: &SecretClient,
    data: &BTreeMap<String, Vec<u8>>,
    secret_key: Option<&str>,
    remote_key: &str,
    metadata: Option<&serde_json::Value>,
) -> Result<Pushed, ProviderError> {
    let value = push::value_to_push(data, secret_key).ok_or_else(|| ProviderError::MissingKey {
        key: secret_key.unwrap_or_default().to_owned(),
    })?;
    let metadata = push::parse_metadata(metadata)?;
    let (kind, name) = push::push_target(remote_key)?;
    match kind {
        ObjectType::Secret => set_secret(client, name, &value, &metadata).await,
        ObjectType::Cert => set_certificate(client, name, &value, &metadata.tags).await,
        ObjectType::Key => set_key(client, name, &value, &metadata.tags).await,
    }
}

async fn set_secret(
    client: &SecretClient,
    name: &str,
    value: &[u8],
    metadata: &push::PushMetadata,
) -> Result<Pushed, ProviderError> {
    let existing = found(
        client.get_secret(name).await,
        &format!("cannot get secret {name}"),
    )?;
    push::may_write(
        ObjectType::Secret,
        name,
        existing.as_ref().map(|s| &s.properties.tags),
    )?;
    let current = existing.as_ref().map(|s| CurrentSecret {
        value: s.value.expose(),
        expires: s.properties.expires.map(azure_wi_auth_seconds),
        content_type: s.properties.content_type.as_deref(),
    });
    if push::secret_unchanged(
        current.as_ref(),
        value,
        metadata.expires,
        metadata.content_type.as_deref(),
    ) {
        return Ok(Pushed::Unchanged);
    }
    let options = push::secret_write(metadata, current.and_then(|c| c.content_type));
    client
        .set_secret_with(name, &push::go_string(value), &options)
        .await
        .map_err(vault(format!("could not set secret {name}")))?;
    Ok(Pushed::Written)
}

fn azure_wi_auth_seconds(at: std::time::SystemTime) -> i64 {
    match at.duration_since(std::time::SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

async fn set_certificate(
    client: &SecretClient,
    name: &str,
    value: &[u8],
    tags: &BTreeMap<String, String>,
) -> Result<Pushed, ProviderError> {
    let leaf = push_material::certificate_der(value)?;
    let certificates = client.certificate_client();
    let existing = found(
        certificates.get_certificate(name).await,
        &format!("cannot get certificate {name}"),
    )?;
    push::may_write(
        ObjectType::Cert,
        name,
        existing.as_ref().map(|c| &c.properties.tags),
    )?;
    if existing.as_ref().is_some_and(|c| c.cer == leaf) {
        return Ok(Pushed::Unchanged);
    }
    certificates
        .import_certificate(
            name,
            &STANDARD.encode(value),
            None,
            &push::managed_tags(tags),
        )
        .await
        .map_err(vault(format!("could not import certificate {name}")))?;
    Ok(Pushed::Written)
}

async fn set_key(
    client: &SecretClient,
    name: &str,
    value: &[u8],
    tags: &BTreeMap<String, String>,
) -> Result<Pushed, ProviderError> {
    let jwk = push_material::private_jwk(name, value)?;
    let keys = client.key_client();
    let existing = found(keys.get_key(name).await, &format!("cannot get key {name}"))?;
    push::may_write(
        ObjectType::Key,
        name,
        existing.as_ref().map(|k| &k.properties.tags),
    )?;
    if existing
        .as_ref()
        .is_some_and(|k| push_material::same_key(jwk.json(), &k.key))
    {
        return Ok(Pushed::Unchanged);
    }
    keys.import_key(name, jwk.json(), &push::managed_tags(tags))
        .await
        .map_err(vault(format!("could not import key {name}")))?;
    Ok(Pushed::Written)
}

/// ESO's `DeleteSecret`: `Ok(true)` when ESO's object was deleted,
/// `Ok(false)` when there was none.
///
/// # Errors
///
/// [`ProviderError`] with ESO's text: an object without ESO's tag is
/// never deleted.
pub async fn delete_secret(client: &SecretClient, remote_key: &str) -> Result<bool, ProviderError> {
    let (kind, name) = push::delete_target(remote_key)?;
    let noun = kind.noun();
    let getting = format!("error getting {noun} {name}");
    let tags = match kind {
        ObjectType::Secret => {
            found(client.get_secret(name).await, &getting)?.map(|s| s.properties.tags)
        }
        ObjectType::Key => {
            found(client.key_client().get_key(name).await, &getting)?.map(|k| k.properties.tags)
        }
        ObjectType::Cert => found(
            client.certificate_client().get_certificate(name).await,
            &getting,
        )?
        .map(|c| c.properties.tags),
    };
    if !push::may_delete(kind, name, tags.as_ref())? {
        return Ok(false);
    }
    let deleting = vault(format!("error deleting {noun} {name}"));
    match kind {
        ObjectType::Secret => client.delete_secret(name).await,
        ObjectType::Key => client.key_client().delete_key(name).await,
        ObjectType::Cert => client.certificate_client().delete_certificate(name).await,
    }
    .map_err(deleting)?;
    Ok(true)
}

/// ESO's `SecretExists`: whether the object a remote key names is there
/// (whoever made it).
///
/// # Errors
///
/// [`ProviderError`] for an unsupported type or a failed read other than
/// 404.
pub async fn secret_exists(client: &SecretClient, remote_key: &str) -> Result<bool, ProviderError> {
    let (kind, name) = push::delete_target(remote_key)?;
    let answer = match kind {
        ObjectType::Secret => client.get_secret(name).await.map(drop),
        ObjectType::Key => client.key_client().get_key(name).await.map(drop),
        ObjectType::Cert => client
            .certificate_client()
            .get_certificate(name)
            .await
            .map(drop),
    };
    match answer {
        Ok(()) => Ok(true),
        Err(error) if is_not_found(&error) => Ok(false),
        Err(error) => Err(ProviderError::Unexpected(Box::new(error))),
    }
}
