//! Keys and certificates in a vault: seeded from the world config with real
//! key material or imported (`POST /certificates/{name}/import`), read
//! back in Key Vault's JSON shapes (`KeyBundle`, `CertificateBundle`,
//! their list items and the certificate policy), as
//! the `keys.json` and `certificates.json` data-plane specifications in
//! Azure/azure-rest-api-specs describe them.
//!
//! A certificate version is three objects of one name and version, as in
//! Key Vault: the certificate, its key (`managed`), and its secret
//! (`managed`, with `kid`) holding the PKCS#12 or PEM. The secret goes into
//! the vault's secrets, so every secrets route serves it.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::import::{self, ImportError};
use super::key_requests::KeyRequest;
use super::material::{self, CertificateAuthority, IssuedCertificate, KeyMaterial, PublicKey};
use super::shapes::{Window, WindowError};
use super::{KvError, Read, Version, new_version_id};
use crate::config::{
    CertificateContentType, CertificateIssuer, CertificateSeed, CertificateVersionSeed, KeySeed,
    KeySpec, KeyType,
};

/// One version of a key.
#[derive(Debug, Clone)]
pub(super) struct KeyVersion {
    pub(super) id: String,
    material: KeyMaterial,
    key_ops: Vec<String>,
    pub(super) enabled: bool,
    created: u64,
    /// Last `PATCH`, or `created`.
    updated: u64,
    /// Set for a certificate's key: its validity and exportability follow
    /// the certificate.
    managed: Option<(u64, u64)>,
    /// `nbf` and `exp` a client set (not on a certificate's key).
    window: Window,
    /// `tags` given at create, import or update.
    tags: Option<Value>,
}

/// One version of a certificate.
#[derive(Debug, Clone)]
pub(super) struct CertificateVersion {
    pub(super) id: String,
    cert: IssuedCertificate,
    seed: CertificateVersionSeed,
    key_bits: Option<usize>,
    pub(super) enabled: bool,
    created: u64,
    /// Last `PATCH`, or `created`.
    updated: u64,
    /// Set for an imported certificate: what its policy shows of the leaf.
    imported: Option<import::LeafFacts>,
    /// `tags` given at import or update.
    tags: Option<Value>,
}

/// What a vault's seeds turn into.
#[derive(Debug, Default)]
pub(super) struct Seeded {
    pub(super) keys: BTreeMap<String, Vec<KeyVersion>>,
    pub(super) certificates: BTreeMap<String, Vec<CertificateVersion>>,
    /// The certificates' secrets, to add to the vault's secrets.
    pub(super) secrets: BTreeMap<String, Vec<Version>>,
}

/// Generates the keys and issues the certificates of one vault.
pub(super) fn seed(
    keys: &[KeySeed],
    certificates: &[CertificateSeed],
    ca: &CertificateAuthority,
    now: u64,
) -> Result<Seeded, String> {
    let mut out = Seeded::default();
    for key in keys {
        let mut versions = Vec::new();
        for v in &key.versions {
            let material =
                KeyMaterial::from_spec(&v.key).map_err(|e| format!("key {}: {e}", key.name))?;
            let key_ops = v.key_ops.clone().unwrap_or_else(|| {
                material
                    .default_key_ops()
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect()
            });
            versions.push(KeyVersion {
                id: new_version_id(),
                material,
                key_ops,
                enabled: v.enabled,
                created: now,
                updated: now,
                managed: None,
                window: Window::default(),
                tags: None,
            });
        }
        out.keys.insert(key.name.clone(), versions);
    }
    for cert in certificates {
        let (mut certs, mut keys, mut secrets) = (Vec::new(), Vec::new(), Vec::new());
        for v in &cert.versions {
            let at = |e: String| format!("certificate {}: {e}", cert.name);
            let material = KeyMaterial::from_spec(&v.key).map_err(at)?;
            let issuer = match v.issuer {
                CertificateIssuer::SelfSigned => None,
                CertificateIssuer::Emulator => Some(ca),
            };
            let issued = material::issue(
                &material,
                &v.subject,
                &v.dns_names,
                v.validity_months,
                issuer,
            )
            .map_err(at)?;
            let value = match v.content_type {
                CertificateContentType::Pkcs12 => {
                    material::pkcs12_base64(&material, &issued).map_err(at)?
                }
                CertificateContentType::Pem => material::pem_bundle(&material, &issued),
            };
            let id = new_version_id();
            secrets.push(Version {
                id: id.clone(),
                value,
                content_type: Some(v.content_type.as_str().to_owned()),
                enabled: v.enabled,
                created: now,
                updated: now,
                tags: None,
                managed: Some((issued.nbf, issued.exp)),
                window: Window::default(),
            });
            keys.push(KeyVersion {
                id: id.clone(),
                key_ops: material
                    .default_key_ops()
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                enabled: v.enabled,
                created: now,
                updated: now,
                managed: Some((issued.nbf, issued.exp)),
                window: Window::default(),
                material: material.clone(),
                tags: None,
            });
            certs.push(CertificateVersion {
                id,
                key_bits: material.rsa_bits(),
                cert: issued,
                seed: v.clone(),
                enabled: v.enabled,
                created: now,
                updated: now,
                imported: None,
                tags: None,
            });
        }
        out.keys.insert(cert.name.clone(), keys);
        out.secrets.insert(cert.name.clone(), secrets);
        out.certificates.insert(cert.name.clone(), certs);
    }
    Ok(out)
}

/// Keys and certificates as reads see them: where each lives and how Key
/// Vault shows it, so one routine serves reads of both (their writes
/// differ, and are each their own function).
pub(super) trait ReadOnlyObject {
    /// The collection's path segment, `keys`.
    const COLLECTION: &'static str;
    /// The kind in Key Vault's 404 text, `key`.
    const KIND: &'static str;
    /// The 404 error code, `KeyNotFound`.
    const NOT_FOUND: &'static str;
    /// The version id.
    fn id(&self) -> &str;
    /// The bundle a get returns.
    fn bundle(&self, base: &str, name: &str) -> Value;
    /// The item a list returns, with a versioned id in a list of versions.
    fn item(&self, base: &str, name: &str, versioned: bool) -> Value;
}

impl ReadOnlyObject for KeyVersion {
    const COLLECTION: &'static str = "keys";
    const KIND: &'static str = "key";
    const NOT_FOUND: &'static str = "KeyNotFound";
    fn id(&self) -> &str {
        &self.id
    }
    fn bundle(&self, base: &str, name: &str) -> Value {
        key_bundle(base, name, self)
    }
    fn item(&self, base: &str, name: &str, versioned: bool) -> Value {
        key_item(base, name, self, versioned)
    }
}

impl ReadOnlyObject for CertificateVersion {
    const COLLECTION: &'static str = "certificates";
    const KIND: &'static str = "certificate";
    const NOT_FOUND: &'static str = "CertificateNotFound";
    fn id(&self) -> &str {
        &self.id
    }
    fn bundle(&self, base: &str, name: &str) -> Value {
        certificate_bundle(base, name, self)
    }
    fn item(&self, base: &str, name: &str, versioned: bool) -> Value {
        certificate_item(base, name, self, versioned)
    }
}

/// Answers `read` from `objects`: a bundle, or a page (through `page`,
/// given the items and the collection path) of the current versions or of
/// one object's versions.
pub(super) fn read<V: ReadOnlyObject>(
    read: &Read,
    objects: &BTreeMap<String, Vec<V>>,
    base: &str,
    page: impl Fn(&[Value], &str) -> Result<Value, KvError>,
) -> Result<Value, KvError> {
    let missing =
        |name: &str, version: Option<&str>| not_found(V::KIND, V::NOT_FOUND, name, version);
    let versions_of = |name: &str| objects.get(name).ok_or_else(|| missing(name, None));
    match read {
        Read::Get { name, version } => {
            let found = find(versions_of(name)?, version.as_deref(), V::id)
                .ok_or_else(|| missing(name, version.as_deref()))?;
            Ok(found.bundle(base, name))
        }
        Read::List => {
            let items: Vec<Value> = objects
                .iter()
                .filter_map(|(n, vs)| vs.last().map(|v| v.item(base, n, false)))
                .collect();
            page(&items, &format!("/{}", V::COLLECTION))
        }
        Read::ListVersions { name } => {
            let items: Vec<Value> = versions_of(name)?
                .iter()
                .map(|v| v.item(base, name, true))
                .collect();
            page(&items, &format!("/{}/{name}/versions", V::COLLECTION))
        }
    }
}

/// The version asked for, or the current one.
pub(super) fn find<'a, T>(
    versions: &'a [T],
    version: Option<&str>,
    id: impl Fn(&T) -> &str,
) -> Option<&'a T> {
    match version {
        None => versions.last(),
        Some(v) => versions.iter().find(|t| id(t) == v),
    }
}

/// The version asked for, or the current one, to change.
pub(super) fn find_mut<'a, T>(
    versions: &'a mut [T],
    version: Option<&str>,
    id: impl Fn(&T) -> &str,
) -> Option<&'a mut T> {
    match version {
        None => versions.last_mut(),
        Some(v) => versions.iter_mut().find(|t| id(t) == v),
    }
}

fn recoverable(mut attributes: Value) -> Value {
    attributes["recoveryLevel"] = "Recoverable+Purgeable".into();
    attributes["recoverableDays"] = 90.into();
    attributes
}

fn key_attributes(v: &KeyVersion) -> Value {
    let mut a = json!({"enabled": v.enabled, "created": v.created, "updated": v.updated});
    match v.managed {
        Some((nbf, exp)) => {
            a["nbf"] = nbf.into();
            a["exp"] = exp.into();
            a["exportable"] = true.into();
        }
        None => {
            a["exportable"] = false.into();
            v.window.write(&mut a);
        }
    }
    recoverable(a)
}

/// `KeyBundle`: the public JSON Web Key and attributes.
pub(super) fn key_bundle(base: &str, name: &str, v: &KeyVersion) -> Value {
    let kid = format!("{base}/keys/{name}/{}", v.id);
    let mut out = json!({
        "key": v.material.jwk(&kid, &v.key_ops),
        "attributes": key_attributes(v),
    });
    if v.managed.is_some() {
        out["managed"] = true.into();
    }
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    out
}

/// `DeletedKeyBundle`: the current version's bundle with the soft-delete
/// fields.
pub(super) fn deleted_key(base: &str, name: &str, versions: &[KeyVersion], at: u64) -> Value {
    let out = versions
        .last()
        .map_or_else(|| json!({}), |v| key_bundle(base, name, v));
    super::shapes::soft_deleted(out, base, "keys", name, at)
}

/// `DeletedCertificateBundle`: the current version's bundle with the
/// soft-delete fields.
pub(super) fn deleted_certificate(
    base: &str,
    name: &str,
    versions: &[CertificateVersion],
    at: u64,
) -> Value {
    let out = versions
        .last()
        .map_or_else(|| json!({}), |v| certificate_bundle(base, name, v));
    super::shapes::soft_deleted(out, base, "certificates", name, at)
}

/// A key version made by `POST /keys/{name}/create` or `PUT /keys/{name}`.
pub(super) fn written_key(request: KeyRequest, now: u64) -> KeyVersion {
    KeyVersion {
        id: new_version_id(),
        material: request.material,
        key_ops: request.key_ops,
        enabled: request.enabled,
        created: now,
        updated: now,
        managed: None,
        window: request.window,
        tags: request.tags,
    }
}

/// `KeyItem`: `kid` without a version in a list of keys, with one in a
/// list of versions.
pub(super) fn key_item(base: &str, name: &str, v: &KeyVersion, versioned: bool) -> Value {
    let kid = if versioned {
        format!("{base}/keys/{name}/{}", v.id)
    } else {
        format!("{base}/keys/{name}")
    };
    let mut out = json!({"kid": kid, "attributes": key_attributes(v)});
    if v.managed.is_some() {
        out["managed"] = true.into();
    }
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    out
}

fn certificate_attributes(v: &CertificateVersion) -> Value {
    recoverable(json!({
        "enabled": v.enabled,
        "nbf": v.cert.nbf,
        "exp": v.cert.exp,
        "created": v.created,
        "updated": v.updated,
    }))
}

/// The certificate's policy, as `GET /certificates/{name}` embeds it.
fn policy(base: &str, name: &str, v: &CertificateVersion) -> Value {
    let seed = &v.seed;
    let mut key_props = json!({
        "exportable": true,
        "kty": seed.key.kty.as_str(),
        "reuse_key": false,
    });
    match v.key_bits {
        Some(bits) => key_props["key_size"] = bits.into(),
        None => {
            key_props["crv"] = seed
                .key
                .curve
                .unwrap_or(crate::config::Curve::P256)
                .name()
                .into();
        }
    }
    if let Some(facts) = &v.imported {
        // As Key Vault shows an imported certificate's policy (see
        // `import::LeafFacts`): the leaf's own properties, issuer Unknown,
        // e-mail contacts at 80 % of the lifetime.
        return json!({
            "id": format!("{base}/certificates/{name}/policy"),
            "key_props": key_props,
            "secret_props": {"contentType": seed.content_type.as_str()},
            "x509_props": {
                "subject": facts.subject,
                "sans": if facts.dns_names.is_empty() { json!({}) } else { json!({"dns_names": facts.dns_names}) },
                "ekus": facts.ekus,
                "key_usage": facts.key_usage,
                "validity_months": facts.validity_months,
                "basic_constraints": {"ca": facts.ca},
            },
            "lifetime_actions": [
                {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "EmailContacts"}}
            ],
            "issuer": {"name": "Unknown"},
            "attributes": {"enabled": true, "created": v.created, "updated": v.created},
        });
    }
    json!({
        "id": format!("{base}/certificates/{name}/policy"),
        "key_props": key_props,
        "secret_props": {"contentType": seed.content_type.as_str()},
        "x509_props": {
            "subject": seed.subject,
            "sans": {"dns_names": seed.dns_names},
            "ekus": ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"],
            "key_usage": ["digitalSignature", "keyEncipherment"],
            "validity_months": seed.validity_months,
        },
        "lifetime_actions": [
            {"trigger": {"lifetime_percentage": 80}, "action": {"action_type": "AutoRenew"}}
        ],
        "issuer": {"name": seed.issuer.name()},
        "attributes": {"enabled": true, "created": v.created, "updated": v.created},
    })
}

/// `CertificateBundle`: ids of the certificate, its key and its secret,
/// the leaf (`cer`, base64 DER), its thumbprint and the policy.
pub(super) fn certificate_bundle(base: &str, name: &str, v: &CertificateVersion) -> Value {
    let mut out = json!({
        "id": format!("{base}/certificates/{name}/{}", v.id),
        "kid": format!("{base}/keys/{name}/{}", v.id),
        "sid": format!("{base}/secrets/{name}/{}", v.id),
        "x5t": material::x5t(&v.cert.leaf),
        "cer": STANDARD.encode(&v.cert.leaf),
        "attributes": certificate_attributes(v),
        "policy": policy(base, name, v),
    });
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    out
}

/// The three objects one import makes (certificate, key, secret), from the
/// `CertificateImportParameters` body: `value`, `pwd`, `policy` (only
/// `secret_props.contentType` decides anything: how `value` is read and
/// how the secret is served; PKCS#12 by default), `attributes.enabled`,
/// `tags`.
pub(super) fn import_certificate(
    request: &Value,
    now: u64,
) -> Result<(CertificateVersion, KeyVersion, Version), ImportError> {
    let value = request["value"]
        .as_str()
        .ok_or_else(|| ImportError::Body("Property 'value' is required.".to_owned()))?;
    let content_type = request["policy"]["secret_props"]["contentType"]
        .as_str()
        .unwrap_or(import::PKCS12);
    let imported = import::read(value, request["pwd"].as_str(), content_type)?;
    let facts = import::leaf_facts(&imported.leaf).ok_or(ImportError::NoMatchingCertificate(
        content_type == import::PKCS12,
    ))?;
    let enabled = request["attributes"]["enabled"].as_bool().unwrap_or(true);
    let cert = IssuedCertificate {
        leaf: imported.leaf,
        chain: imported.chain,
        nbf: facts.nbf,
        exp: facts.exp,
    };
    let (kty, size, curve) = match imported.key.public() {
        PublicKey::Rsa { n, .. } => (KeyType::Rsa, u32::try_from(n.len() * 8).ok(), None),
        PublicKey::Ec { crv, .. } => (KeyType::Ec, None, Some(*crv)),
    };
    let content = if imported.content_type == import::PEM {
        CertificateContentType::Pem
    } else {
        CertificateContentType::Pkcs12
    };
    let value = match content {
        CertificateContentType::Pkcs12 => {
            material::pkcs12_base64(&imported.key, &cert).map_err(|_| ImportError::Key(true))?
        }
        CertificateContentType::Pem => material::pem_bundle(&imported.key, &cert),
    };
    let id = new_version_id();
    let secret = Version {
        id: id.clone(),
        value,
        content_type: Some(content.as_str().to_owned()),
        enabled,
        created: now,
        updated: now,
        tags: None,
        managed: Some((cert.nbf, cert.exp)),
        window: Window::default(),
    };
    let key = KeyVersion {
        id: id.clone(),
        key_ops: imported
            .key
            .default_key_ops()
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        enabled,
        created: now,
        updated: now,
        managed: Some((cert.nbf, cert.exp)),
        window: Window::default(),
        material: imported.key.clone(),
        tags: None,
    };
    let certificate = CertificateVersion {
        id,
        key_bits: imported.key.rsa_bits(),
        seed: CertificateVersionSeed {
            key: KeySpec {
                kty,
                size,
                curve,
                pkcs8_pem: None,
            },
            subject: facts.subject.clone(),
            dns_names: facts.dns_names.clone(),
            issuer: CertificateIssuer::SelfSigned,
            content_type: content,
            validity_months: facts.validity_months,
            enabled,
        },
        cert,
        enabled,
        created: now,
        updated: now,
        imported: Some(facts),
        tags: request.get("tags").filter(|t| t.is_object()).cloned(),
    };
    Ok((certificate, key, secret))
}

/// `CertificateItem`.
pub(super) fn certificate_item(
    base: &str,
    name: &str,
    v: &CertificateVersion,
    versioned: bool,
) -> Value {
    let id = if versioned {
        format!("{base}/certificates/{name}/{}", v.id)
    } else {
        format!("{base}/certificates/{name}")
    };
    let mut out = json!({
        "id": id,
        "x5t": material::x5t(&v.cert.leaf),
        "attributes": certificate_attributes(v),
    });
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    out
}

/// Why a `PATCH` of a key or certificate is refused (400 `BadParameter`;
/// the words are the emulator's own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum UpdateError {
    /// The body is not a JSON object.
    #[error("The request body is not a JSON object.")]
    Body,
    /// `tags` is neither absent, null nor an object of strings.
    #[error("tags must be an object of string values.")]
    Tags,
    /// `attributes.enabled` is not a boolean.
    #[error("attributes.enabled must be a boolean.")]
    Enabled,
    /// `key_ops` is not an array of strings.
    #[error("key_ops must be an array of strings.")]
    KeyOps,
    /// `attributes.nbf` or `exp` is not Unix seconds.
    #[error(transparent)]
    Window(#[from] WindowError),
}

/// The fields every `PATCH` may change (`attributes.enabled`, `tags`),
/// checked before anything is changed; `None` leaves a field as it is.
/// Tags, when given, replace the version's tags whole: the update's
/// `tags` is the object's tag set (`KeyUpdateParameters` and
/// `CertificateUpdateParameters` in Key Vault's data-plane specification).
type Common = (Option<bool>, Option<Option<Value>>);

fn common_update(request: &Value) -> Result<Common, UpdateError> {
    if !request.is_object() {
        return Err(UpdateError::Body);
    }
    let enabled = match &request["attributes"]["enabled"] {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        _ => return Err(UpdateError::Enabled),
    };
    let tags = match request.get("tags") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {
            Some(Some(Value::Object(map.clone())))
        }
        Some(_) => return Err(UpdateError::Tags),
    };
    Ok((enabled, tags))
}

/// Applies `KeyUpdateParameters` (`key_ops`, `attributes.enabled`,
/// `nbf`, `exp`, `tags`) to `v` at `now`; a certificate's key keeps the
/// certificate's validity.
pub(super) fn update_key(v: &mut KeyVersion, request: &Value, now: u64) -> Result<(), UpdateError> {
    let (enabled, tags) = common_update(request)?;
    let window = Window::from_attributes(&request["attributes"])?;
    let key_ops = match &request["key_ops"] {
        Value::Null => None,
        Value::Array(ops) => Some(
            ops.iter()
                .map(|op| op.as_str().map(str::to_owned).ok_or(UpdateError::KeyOps))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        _ => return Err(UpdateError::KeyOps),
    };
    if let Some(enabled) = enabled {
        v.enabled = enabled;
    }
    if let Some(tags) = tags {
        v.tags = tags;
    }
    if let Some(key_ops) = key_ops {
        v.key_ops = key_ops;
    }
    if v.managed.is_none() {
        v.window.merge(window);
    }
    v.updated = now;
    Ok(())
}

/// Applies `CertificateUpdateParameters`' `attributes.enabled` and `tags`
/// to `v` at `now` (its `policy` is not taken: the emulator's policies
/// describe how the version was made).
pub(super) fn update_certificate(
    v: &mut CertificateVersion,
    request: &Value,
    now: u64,
) -> Result<(), UpdateError> {
    let (enabled, tags) = common_update(request)?;
    if let Some(enabled) = enabled {
        v.enabled = enabled;
    }
    if let Some(tags) = tags {
        v.tags = tags;
    }
    v.updated = now;
    Ok(())
}

/// Key Vault's 404 for a key or certificate, shaped as for secrets.
pub(super) fn not_found(
    kind: &str,
    code: &'static str,
    name: &str,
    version: Option<&str>,
) -> KvError {
    let what = version.map_or_else(|| name.to_owned(), |v| format!("{name}/{v}"));
    KvError::new(
        404,
        code,
        format!(
            "A {kind} with (name/id) {what} was not found in this key vault. If you recently deleted this {kind} you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}
