//! Key Vault's keys and certificates, read: the JSON shapes `KeyBundle`,
//! `KeyItem`, `CertificateBundle` and `CertificateItem` of the data-plane
//! specification (Azure/azure-rest-api-specs,
//! `specification/keyvault/data-plane`), and the clients that read them.

use std::{collections::BTreeMap, time::SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD_INDIFFERENT};
use futures::Stream;
use serde_json::Value;

use super::{SecretClient, Target, segment};
use crate::{
    Error,
    keyvault::model::{tags, unix},
};

/// The name and version a Key Vault object id names:
/// `https://<vault>/<collection>/<name>[/<version>]`.
fn name_and_version(id: &str, collection: &str) -> Option<(String, Option<String>)> {
    let path = url::Url::parse(id).ok()?.path().to_owned();
    let mut segments = path.trim_start_matches('/').split('/');
    if segments.next()? != collection {
        return None;
    }
    let name = segments.next().filter(|n| !n.is_empty())?.to_owned();
    let version = segments.next().filter(|v| !v.is_empty()).map(str::to_owned);
    Some((name, version))
}

fn b64url(value: &Value) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD_INDIFFERENT.decode(value.as_str()?).ok()
}

// === impl KeyProperties ===

/// A key's metadata: what a list returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyProperties {
    /// The key's id (`kid`), with the version when it names one.
    pub id: String,
    /// The key's name.
    pub name: String,
    /// The version, when the id names one.
    pub version: Option<String>,
    /// Whether it may be used. Key Vault still returns a disabled key's
    /// public part, so a reader must check this.
    pub enabled: bool,
    /// When it was created.
    pub created: Option<SystemTime>,
    /// When it was last updated.
    pub updated: Option<SystemTime>,
    /// `attributes.nbf`: not valid before, when set.
    pub not_before: Option<SystemTime>,
    /// `attributes.exp`: expires, when set.
    pub expires: Option<SystemTime>,
    /// Whether a certificate owns it (its key of the same name).
    pub managed: bool,
    /// Its tags (string values; Key Vault allows no others).
    pub tags: BTreeMap<String, String>,
}

fn key_properties(kid: &str, json: &Value) -> Option<KeyProperties> {
    let (name, version) = name_and_version(kid, "keys")?;
    let attributes = &json["attributes"];
    Some(KeyProperties {
        id: kid.to_owned(),
        name,
        version,
        enabled: attributes["enabled"].as_bool().unwrap_or(true),
        created: unix(&attributes["created"]),
        updated: unix(&attributes["updated"]),
        not_before: unix(&attributes["nbf"]),
        expires: unix(&attributes["exp"]),
        managed: json["managed"].as_bool().unwrap_or(false),
        tags: tags(json),
    })
}

impl KeyProperties {
    /// The metadata of an enabled key with this `id`
    /// (`https://<vault>/keys/<name>[/<version>]`) and nothing else set,
    /// for a stand-in vault; `None` when `id` names no key.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        key_properties(id, &Value::Null)
    }
}

/// The elliptic curves Key Vault keys are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EcCurve {
    /// `P-256`.
    P256,
    /// `P-384`.
    P384,
    /// `P-521`.
    P521,
    /// `P-256K` (secp256k1).
    P256K,
}

impl EcCurve {
    /// The curve as a JSON Web Key names it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::P256K => "P-256K",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "P-256" => Self::P256,
            "P-384" => Self::P384,
            "P-521" => Self::P521,
            "P-256K" => Self::P256K,
            _ => return None,
        })
    }
}

/// The public part of a key, as Key Vault's JSON Web Key gives it
/// (big-endian bytes, decoded from base64url). Key Vault never returns a
/// private part of a key; a certificate's private key is in its secret.
///
/// `hsm` keeps the `-HSM` of Key Vault's `kty`: a reader that writes the
/// key out again as a JWK (the External Secrets Operator's `GetSecret` of
/// `key/<name>` is Go's `json.Marshal` of the `JSONWebKey` it was sent)
/// writes `RSA-HSM` or `EC-HSM` back, and one that compares keys (ESO's
/// `equalKeys`, which compares `Kty`) tells an HSM key from a software one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonWebKey {
    /// `kty` `RSA`, or `RSA-HSM` with `hsm`.
    Rsa {
        /// The modulus.
        n: Vec<u8>,
        /// The public exponent.
        e: Vec<u8>,
        /// Whether `kty` is `RSA-HSM`: the key is held in an HSM.
        hsm: bool,
    },
    /// `kty` `EC`, or `EC-HSM` with `hsm`.
    Ec {
        /// The curve.
        crv: EcCurve,
        /// The X coordinate.
        x: Vec<u8>,
        /// The Y coordinate.
        y: Vec<u8>,
        /// Whether `kty` is `EC-HSM`: the key is held in an HSM.
        hsm: bool,
    },
}

impl JsonWebKey {
    /// `kty` as Key Vault sent it: `RSA`, `RSA-HSM`, `EC` or `EC-HSM`.
    #[must_use]
    pub fn kty(&self) -> &'static str {
        match self {
            Self::Rsa { hsm: false, .. } => "RSA",
            Self::Rsa { hsm: true, .. } => "RSA-HSM",
            Self::Ec { hsm: false, .. } => "EC",
            Self::Ec { hsm: true, .. } => "EC-HSM",
        }
    }
}

/// A key: its metadata, public part and permitted operations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Key {
    /// Metadata.
    pub properties: KeyProperties,
    /// The public key.
    pub key: JsonWebKey,
    /// `key_ops`: what the key may be used for (`sign`, `verify`, ...).
    pub key_ops: Vec<String>,
}

impl Key {
    /// A key with no `key_ops`, for a stand-in vault.
    #[must_use]
    pub fn new(properties: KeyProperties, key: JsonWebKey) -> Self {
        Self {
            properties,
            key,
            key_ops: Vec::new(),
        }
    }
}

/// Reads a KeyBundle.
pub(crate) fn key(json: &Value) -> Option<Key> {
    let jwk = &json["key"];
    let properties = key_properties(jwk["kid"].as_str()?, json)?;
    let key = match jwk["kty"].as_str()? {
        kty @ ("RSA" | "RSA-HSM") => JsonWebKey::Rsa {
            n: b64url(&jwk["n"])?,
            e: b64url(&jwk["e"])?,
            hsm: kty == "RSA-HSM",
        },
        kty @ ("EC" | "EC-HSM") => JsonWebKey::Ec {
            crv: EcCurve::parse(jwk["crv"].as_str()?)?,
            x: b64url(&jwk["x"])?,
            y: b64url(&jwk["y"])?,
            hsm: kty == "EC-HSM",
        },
        _ => return None,
    };
    let key_ops = jwk["key_ops"]
        .as_array()
        .map(|ops| {
            ops.iter()
                .filter_map(|o| o.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Some(Key {
        properties,
        key,
        key_ops,
    })
}

/// Reads a KeyItem.
pub(crate) fn key_item(json: &Value) -> Option<KeyProperties> {
    key_properties(json["kid"].as_str()?, json)
}

// === impl CertificateProperties ===

/// A certificate's metadata: what a list returns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateProperties {
    /// The certificate's id, with the version when it names one.
    pub id: String,
    /// The certificate's name (also its key's and secret's).
    pub name: String,
    /// The version, when the id names one.
    pub version: Option<String>,
    /// Whether it is enabled. Key Vault returns a disabled certificate, but
    /// refuses its secret.
    pub enabled: bool,
    /// When it was created.
    pub created: Option<SystemTime>,
    /// When it was last updated.
    pub updated: Option<SystemTime>,
    /// Not valid before.
    pub not_before: Option<SystemTime>,
    /// Not valid after.
    pub expires: Option<SystemTime>,
    /// `x5t`: the SHA-1 thumbprint of the certificate (DER).
    pub x5t: Option<Vec<u8>>,
    /// Its tags (string values; Key Vault allows no others).
    pub tags: BTreeMap<String, String>,
}

fn certificate_properties(json: &Value) -> Option<CertificateProperties> {
    let id = json["id"].as_str()?.to_owned();
    let (name, version) = name_and_version(&id, "certificates")?;
    let attributes = &json["attributes"];
    Some(CertificateProperties {
        id,
        name,
        version,
        enabled: attributes["enabled"].as_bool().unwrap_or(true),
        created: unix(&attributes["created"]),
        updated: unix(&attributes["updated"]),
        not_before: unix(&attributes["nbf"]),
        expires: unix(&attributes["exp"]),
        x5t: b64url(&json["x5t"]),
        tags: tags(json),
    })
}

impl CertificateProperties {
    /// The metadata of an enabled certificate with this `id`
    /// (`https://<vault>/certificates/<name>[/<version>]`) and nothing
    /// else set, for a stand-in vault; `None` when `id` names none.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        certificate_properties(&serde_json::json!({ "id": id }))
    }
}

/// A certificate: the leaf in DER and the ids of its key and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Certificate {
    /// Metadata.
    pub properties: CertificateProperties,
    /// `cer`: the leaf certificate, DER.
    pub cer: Vec<u8>,
    /// `kid`: the id of the certificate's key (same name and version).
    pub key_id: Option<String>,
    /// `sid`: the id of the certificate's secret, which holds the private
    /// key and the chain.
    pub secret_id: Option<String>,
    /// The policy's `secret_props.contentType` (`application/x-pkcs12` or
    /// `application/x-pem-file`): how the secret is encoded.
    pub content_type: Option<String>,
}

impl Certificate {
    /// A certificate whose leaf is `cer` (DER), without key, secret or
    /// policy, for a stand-in vault.
    #[must_use]
    pub fn new(properties: CertificateProperties, cer: Vec<u8>) -> Self {
        Self {
            properties,
            cer,
            key_id: None,
            secret_id: None,
            content_type: None,
        }
    }
}

/// Reads a CertificateBundle.
pub(crate) fn certificate(json: &Value) -> Option<Certificate> {
    Some(Certificate {
        properties: certificate_properties(json)?,
        cer: STANDARD.decode(json["cer"].as_str()?).ok()?,
        key_id: json["kid"].as_str().map(str::to_owned),
        secret_id: json["sid"].as_str().map(str::to_owned),
        content_type: json["policy"]["secret_props"]["contentType"]
            .as_str()
            .map(str::to_owned),
    })
}

/// Reads a CertificateItem.
pub(crate) fn certificate_item(json: &Value) -> Option<CertificateProperties> {
    certificate_properties(json)
}

// === impl KeyClient ===

/// Reads the keys of one vault: public parts and versions. Made from a
/// [`SecretClient`] (see [`SecretClient::key_client`]), whose challenge,
/// credential, transport and retries it shares.
#[derive(Debug, Clone)]
pub struct KeyClient {
    vault: SecretClient,
}

impl KeyClient {
    pub(super) fn from_vault(vault: SecretClient) -> Self {
        Self { vault }
    }

    /// A client for `vault_url`; see [`SecretClient::new`].
    ///
    /// # Errors
    ///
    /// As [`SecretClient::new`].
    pub fn new(
        vault_url: &str,
        credential: impl Into<super::VaultCredential>,
    ) -> Result<Self, Error> {
        Ok(SecretClient::new(vault_url, credential)?.key_client())
    }

    /// The current version of key `name`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`], [`Error::Forbidden`] (naming the role
    /// needed: Key Vault Crypto User, Certificate User or Reader), a
    /// credential error, or [`Error::KeyVault`].
    pub async fn get_key(&self, name: &str) -> Result<Key, Error> {
        self.get(name, None).await
    }

    /// Version `version` of key `name`.
    ///
    /// # Errors
    ///
    /// As [`KeyClient::get_key`].
    pub async fn get_key_version(&self, name: &str, version: &str) -> Result<Key, Error> {
        self.get(name, Some(version)).await
    }

    async fn get(&self, name: &str, version: Option<&str>) -> Result<Key, Error> {
        let what = Target::Key { name, version };
        let json = self.vault.get_json("keys", name, version, &what).await?;
        key(&json).ok_or_else(|| what.malformed(self.vault.vault_url()))
    }

    /// Imports `jwk`, a JSON Web Key with its private parts (RSA: `n`,
    /// `e`, `d`, `p`, `q` and the CRT values; EC: `crv`, `x`, `y`, `d`),
    /// as a new version of key `name` with `tags` (Key Vault's
    /// `KeyImportParameters`, empty `attributes` as the Go SDK sends them).
    /// The answer carries only the public part.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] (importing needs the Key Vault Crypto Officer
    /// role), [`Error::KeyVault`] with the vault's reason when it refuses
    /// the key (`BadParameter`), or a credential error.
    pub async fn import_key(
        &self,
        name: &str,
        jwk: &Value,
        tags: &BTreeMap<String, String>,
    ) -> Result<Key, Error> {
        let what = Target::ImportKey { name };
        let mut body = serde_json::json!({ "key": jwk, "attributes": {} });
        if !tags.is_empty() {
            body["tags"] = serde_json::json!(tags);
        }
        let json = self
            .vault
            .write("PUT", &format!("keys/{}", segment(name)), body, &what)
            .await?;
        key(&json).ok_or_else(|| what.malformed(self.vault.vault_url()))
    }

    /// Deletes key `name` (every version; soft delete).
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotFound`] when there is none, [`Error::Forbidden`]
    /// (deleting needs the Key Vault Crypto Officer role), a credential
    /// error, or [`Error::KeyVault`] (409 when a certificate owns the key).
    pub async fn delete_key(&self, name: &str) -> Result<(), Error> {
        self.vault.delete("keys", name).await
    }

    /// Every key's metadata, page by page as the caller consumes the stream.
    pub fn list_key_properties(
        &self,
    ) -> impl Stream<Item = Result<KeyProperties, Error>> + Send + 'static {
        self.vault
            .pages(self.vault.url("keys"), Target::KeyList, key_item)
    }

    /// The metadata of every version of key `name` (with `created` and
    /// `enabled`, to pick versions as a CSI provider does).
    pub fn list_key_versions(
        &self,
        name: &str,
    ) -> impl Stream<Item = Result<KeyProperties, Error>> + Send + 'static {
        let url = self.vault.url(&format!("keys/{}/versions", segment(name)));
        let what = Target::KeyVersions {
            name: name.to_owned(),
        };
        self.vault.pages(url, what, key_item)
    }
}

// === impl CertificateClient ===

/// Reads the certificates of one vault. Made from a [`SecretClient`] (see
/// [`SecretClient::certificate_client`]), whose challenge, credential,
/// transport and retries it shares; a certificate's private key is read as
/// its secret ([`Certificate::secret_id`]) with that client.
#[derive(Debug, Clone)]
pub struct CertificateClient {
    vault: SecretClient,
}

impl CertificateClient {
    pub(super) fn from_vault(vault: SecretClient) -> Self {
        Self { vault }
    }

    /// A client for `vault_url`; see [`SecretClient::new`].
    ///
    /// # Errors
    ///
    /// As [`SecretClient::new`].
    pub fn new(
        vault_url: &str,
        credential: impl Into<super::VaultCredential>,
    ) -> Result<Self, Error> {
        Ok(SecretClient::new(vault_url, credential)?.certificate_client())
    }

    /// The current version of certificate `name`.
    ///
    /// # Errors
    ///
    /// [`Error::CertificateNotFound`], [`Error::Forbidden`] (naming the
    /// role needed: Key Vault Certificate User or Reader), a credential
    /// error, or [`Error::KeyVault`].
    pub async fn get_certificate(&self, name: &str) -> Result<Certificate, Error> {
        self.get(name, None).await
    }

    /// Version `version` of certificate `name`.
    ///
    /// # Errors
    ///
    /// As [`CertificateClient::get_certificate`].
    pub async fn get_certificate_version(
        &self,
        name: &str,
        version: &str,
    ) -> Result<Certificate, Error> {
        self.get(name, Some(version)).await
    }

    async fn get(&self, name: &str, version: Option<&str>) -> Result<Certificate, Error> {
        let what = Target::Certificate { name, version };
        let json = self
            .vault
            .get_json("certificates", name, version, &what)
            .await?;
        certificate(&json).ok_or_else(|| what.malformed(self.vault.vault_url()))
    }

    /// Imports a certificate with its private key as a new version of
    /// certificate `name`, with `tags` (Key Vault's
    /// `CertificateImportParameters`, no password). `value` is what the
    /// request's `value` holds: base64 of a PKCS#12, or a PEM bundle.
    /// `content_type` (`application/x-pkcs12` or `application/x-pem-file`)
    /// is the policy's `secret_props.contentType`: how Key Vault reads
    /// `value` and serves the certificate's secret; without it Key Vault
    /// takes PKCS#12.
    ///
    /// # Errors
    ///
    /// [`Error::Forbidden`] (importing needs the Key Vault Certificates
    /// Officer role), [`Error::KeyVault`] with the vault's reason when it
    /// cannot read the certificate (`BadParameter`), or a credential error.
    pub async fn import_certificate(
        &self,
        name: &str,
        value: &str,
        content_type: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Certificate, Error> {
        let what = Target::ImportCertificate { name };
        let mut body = serde_json::json!({ "value": value });
        if let Some(content_type) = content_type {
            body["policy"] = serde_json::json!({ "secret_props": { "contentType": content_type } });
        }
        if !tags.is_empty() {
            body["tags"] = serde_json::json!(tags);
        }
        let json = self
            .vault
            .write(
                "POST",
                &format!("certificates/{}/import", segment(name)),
                body,
                &what,
            )
            .await?;
        certificate(&json).ok_or_else(|| what.malformed(self.vault.vault_url()))
    }

    /// Deletes certificate `name` with its key and secret (every version;
    /// soft delete).
    ///
    /// # Errors
    ///
    /// [`Error::CertificateNotFound`] when there is none,
    /// [`Error::Forbidden`] (deleting needs the Key Vault Certificates
    /// Officer role), a credential error, or [`Error::KeyVault`].
    pub async fn delete_certificate(&self, name: &str) -> Result<(), Error> {
        self.vault.delete("certificates", name).await
    }

    /// Every certificate's metadata, page by page.
    pub fn list_certificate_properties(
        &self,
    ) -> impl Stream<Item = Result<CertificateProperties, Error>> + Send + 'static {
        self.vault.pages(
            self.vault.url("certificates"),
            Target::CertificateList,
            certificate_item,
        )
    }

    /// The metadata of every version of certificate `name`.
    pub fn list_certificate_versions(
        &self,
        name: &str,
    ) -> impl Stream<Item = Result<CertificateProperties, Error>> + Send + 'static {
        let url = self
            .vault
            .url(&format!("certificates/{}/versions", segment(name)));
        let what = Target::CertificateVersions {
            name: name.to_owned(),
        };
        self.vault.pages(url, what, certificate_item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_key_bundles_of_both_types_and_items() {
        let rsa = key(&json!({
            "key": {"kid": "https://kv.vault.azure.net/keys/k/0123", "kty": "RSA",
                    "key_ops": ["sign"], "n": "AQAB", "e": "AQAB"},
            "attributes": {"enabled": false, "created": 1, "nbf": 2, "exp": 3}, "managed": true,
            "tags": {"team": "a", "odd": 1},
        }))
        .unwrap();
        assert_eq!(rsa.properties.name, "k");
        assert_eq!(rsa.properties.version.as_deref(), Some("0123"));
        assert!(!rsa.properties.enabled && rsa.properties.managed);
        assert_eq!(
            rsa.key,
            JsonWebKey::Rsa {
                n: vec![1, 0, 1],
                e: vec![1, 0, 1],
                hsm: false
            }
        );
        assert_eq!(rsa.key.kty(), "RSA");
        assert_eq!(rsa.key_ops, ["sign"]);
        assert_eq!(
            (rsa.properties.not_before, rsa.properties.expires),
            (
                Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2)),
                Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(3))
            )
        );
        assert_eq!(
            rsa.properties.tags,
            BTreeMap::from([("team".to_owned(), "a".to_owned())]),
            "a tag that is not a string is left out"
        );
        let ec = key(&json!({
            "key": {"kid": "https://kv.vault.azure.net/keys/e/1", "kty": "EC-HSM",
                    "crv": "P-384", "x": "AA", "y": "AQ"},
            "attributes": {},
        }))
        .unwrap();
        assert_eq!(
            ec.key,
            JsonWebKey::Ec {
                crv: EcCurve::P384,
                x: vec![0],
                y: vec![1],
                hsm: true
            }
        );
        assert_eq!(ec.key.kty(), "EC-HSM");
        assert!(
            key(&json!({"key": {"kid": "https://kv.vault.azure.net/keys/o/1", "kty": "oct"}}))
                .is_none()
        );
        assert!(key(&json!({"key": {"kid": "https://kv.vault.azure.net/secrets/s/1", "kty": "RSA", "n": "AQ", "e": "AQ"}})).is_none());
        let item = key_item(
            &json!({"kid": "https://kv.vault.azure.net/keys/k", "attributes": {"enabled": true}}),
        )
        .unwrap();
        assert_eq!((item.name.as_str(), item.version), ("k", None));
        assert!(item.tags.is_empty() && item.expires.is_none());
    }

    /// Key Vault's `kty` comes back as it was sent: an HSM key stays one,
    /// a software key stays one.
    #[test]
    fn hsm_key_types_are_kept() {
        for (kty, body) in [
            ("RSA", json!({"n": "AQAB", "e": "AQAB"})),
            ("RSA-HSM", json!({"n": "AQAB", "e": "AQAB"})),
            ("EC", json!({"crv": "P-256", "x": "AA", "y": "AQ"})),
            ("EC-HSM", json!({"crv": "P-256", "x": "AA", "y": "AQ"})),
        ] {
            let mut jwk = body;
            jwk["kid"] = json!("https://kv.vault.azure.net/keys/k/1");
            jwk["kty"] = json!(kty);
            let read = key(&json!({"key": jwk})).unwrap();
            assert_eq!(read.key.kty(), kty);
            let hsm = match read.key {
                JsonWebKey::Rsa { hsm, .. } | JsonWebKey::Ec { hsm, .. } => hsm,
            };
            assert_eq!(hsm, kty.ends_with("-HSM"), "{kty}");
        }
    }

    #[test]
    fn reads_certificate_bundles() {
        let c = certificate(&json!({
            "id": "https://kv.vault.azure.net/certificates/c/0a",
            "kid": "https://kv.vault.azure.net/keys/c/0a",
            "sid": "https://kv.vault.azure.net/secrets/c/0a",
            "x5t": "AQI", "cer": "MAA=",
            "attributes": {"enabled": true, "nbf": 10, "exp": 20},
            "policy": {"secret_props": {"contentType": "application/x-pem-file"}},
            "tags": {"env": "prod"},
        }))
        .unwrap();
        assert_eq!(c.properties.tags["env"], "prod");
        assert_eq!(c.properties.tags.len(), 1);
        assert_eq!(c.cer, [0x30, 0]);
        assert_eq!(c.properties.x5t.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(c.content_type.as_deref(), Some("application/x-pem-file"));
        assert_eq!(
            c.secret_id.as_deref(),
            Some("https://kv.vault.azure.net/secrets/c/0a")
        );
        assert_eq!(
            c.properties.expires,
            Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(20))
        );
        assert!(
            certificate(
                &json!({"id": "https://kv.vault.azure.net/certificates/c", "cer": "not base64!"})
            )
            .is_none()
        );
    }
}
