//! Key Vault's data plane for secrets, keys and certificates (reads of keys
//! and certificates; secrets written, keys created and imported,
//! certificates imported), as pure
//! functions over an in-memory store: routing, token checks, Azure RBAC,
//! throttling windows, paging and the service's JSON shapes and error
//! bodies.

mod access;
mod error;
mod import;
mod key_requests;
pub mod material;
mod objects;
pub mod pfx;
mod routes;
mod shapes;

pub use access::{authenticate, authorize, challenge};
pub use error::KvError;
pub use routes::{Collection, Op, Read, route, valid_secret_name};
use shapes::{Window, bundle, item, not_found, page};

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant, SystemTime},
};

use serde_json::Value;

use crate::{
    config::{Config, SecretSeed},
    issuer::unix,
};

/// One version of a secret.
#[derive(Debug, Clone)]
struct Version {
    id: String,
    value: String,
    content_type: Option<String>,
    enabled: bool,
    created: u64,
    /// Last `PATCH`, or `created`.
    updated: u64,
    tags: Option<Value>,
    /// For a certificate's secret: the certificate's validity (`nbf`,
    /// `exp`); the secret is then `managed` and names its key (`kid`).
    managed: Option<(u64, u64)>,
    /// `nbf` and `exp` a client set (never on a certificate's secret,
    /// whose validity is the certificate's).
    window: Window,
}

/// A vault's objects and its throttling window.
#[derive(Debug)]
struct VaultState {
    secrets: BTreeMap<String, Vec<Version>>,
    keys: BTreeMap<String, Vec<objects::KeyVersion>>,
    certificates: BTreeMap<String, Vec<objects::CertificateVersion>>,
    /// Soft-deleted objects: their versions and when they were deleted.
    deleted_secrets: BTreeMap<String, (Vec<Version>, u64)>,
    deleted_keys: BTreeMap<String, (Vec<objects::KeyVersion>, u64)>,
    deleted_certificates: BTreeMap<String, (Vec<objects::CertificateVersion>, u64)>,
    window_start: Instant,
    reads: u32,
    writes: u32,
}

/// All vaults' contents.
#[derive(Debug)]
pub struct Store {
    vaults: HashMap<String, VaultState>,
    key_vault_ca: Vec<u8>,
}

pub(crate) fn new_version_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

const WINDOW: Duration = Duration::from_secs(10);

impl Store {
    /// The vaults, secrets, keys and certificates `config` seeds. Keys are
    /// generated here (RSA 4096 takes a moment); certificates whose policy
    /// names the emulator's issuer are signed by one CA made here.
    ///
    /// # Errors
    ///
    /// What is wrong with a seeded key or certificate (a given key that is
    /// not what it claims, a subject that is not `CN=...`).
    pub fn new(config: &Config) -> Result<Self, crate::Error> {
        let now = unix(SystemTime::now());
        let ca = material::CertificateAuthority::new().map_err(crate::Error::Config)?;
        let seed = |s: &SecretSeed| {
            s.versions
                .iter()
                .map(|v| Version {
                    id: new_version_id(),
                    value: v.value.clone(),
                    content_type: v.content_type.clone(),
                    enabled: v.enabled,
                    created: now,
                    updated: now,
                    tags: None,
                    managed: None,
                    window: Window::default(),
                })
                .collect::<Vec<_>>()
        };
        let mut vaults = HashMap::new();
        for v in &config.vaults {
            let mut secrets: BTreeMap<String, Vec<Version>> = v
                .secrets
                .iter()
                .map(|s| (s.name.clone(), seed(s)))
                .collect();
            let seeded = objects::seed(&v.keys, &v.certificates, &ca, now)
                .map_err(|e| crate::Error::Config(format!("vault {}: {e}", v.name)))?;
            secrets.extend(seeded.secrets);
            vaults.insert(
                v.name.clone(),
                VaultState {
                    secrets,
                    keys: seeded.keys,
                    certificates: seeded.certificates,
                    deleted_secrets: BTreeMap::new(),
                    deleted_keys: BTreeMap::new(),
                    deleted_certificates: BTreeMap::new(),
                    window_start: Instant::now(),
                    reads: 0,
                    writes: 0,
                },
            );
        }
        Ok(Self {
            vaults,
            key_vault_ca: ca.der().to_vec(),
        })
    }

    /// The emulator's Key Vault CA (DER), which signs certificates whose
    /// policy names issuer `Emulator`.
    pub fn key_vault_ca_der(&self) -> &[u8] {
        &self.key_vault_ca
    }

    /// Counts a request against the vault's 10 s budget.
    ///
    /// # Errors
    ///
    /// 429 `Throttled` with the seconds left in the window.
    pub fn admit(
        &mut self,
        config: &Config,
        vault: &str,
        op: &Op,
        now: Instant,
    ) -> Result<(), KvError> {
        let Some(state) = self.vaults.get_mut(vault) else {
            return Ok(());
        };
        if now.duration_since(state.window_start) >= WINDOW {
            state.window_start = now;
            state.reads = 0;
            state.writes = 0;
        }
        let (used, budget) = if op.is_write() {
            (&mut state.writes, config.throttle.writes_per_10s)
        } else {
            (&mut state.reads, config.throttle.reads_per_10s)
        };
        if *used >= budget {
            let left = WINDOW.saturating_sub(now.duration_since(state.window_start));
            return Err(KvError {
                retry_after: Some(
                    u64::try_from(left.as_millis().div_ceil(1000))
                        .unwrap_or(10)
                        .max(1),
                ),
                ..KvError::new(
                    429,
                    "Throttled",
                    "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
                )
            });
        }
        *used += 1;
        Ok(())
    }

    /// Runs `op` on `vault`. `base` is `https://<host>` as the client
    /// addressed it, for ids and `nextLink`; `query` holds the decoded query.
    ///
    /// # Errors
    ///
    /// 400, 403 (disabled) and 404 in Key Vault's shape.
    pub fn execute(
        &mut self,
        config: &Config,
        vault: &str,
        op: &Op,
        base: &str,
        query: &HashMap<String, String>,
        body: &[u8],
    ) -> Result<Value, KvError> {
        let state = self.vaults.get_mut(vault).ok_or_else(|| {
            KvError::new(
                404,
                "VaultNotFound",
                format!("Vault {vault} does not exist."),
            )
        })?;
        let api_version = query.get("api-version").cloned().unwrap_or_default();
        let page_of = |items: &[Value], path: &str| {
            page(items, base, path, &api_version, query, config.max_page_size)
        };
        match op {
            Op::Get { name, version } => {
                let versions = state
                    .secrets
                    .get(name)
                    .ok_or_else(|| not_found(name, None))?;
                let found = match version {
                    None => versions.last(),
                    Some(id) => versions.iter().find(|v| &v.id == id),
                }
                .ok_or_else(|| not_found(name, version.as_deref()))?;
                if !found.enabled {
                    return Err(KvError {
                        inner: Some("SecretDisabled"),
                        ..KvError::new(
                            403,
                            "Forbidden",
                            "Operation get is not allowed on a disabled secret.",
                        )
                    });
                }
                Ok(bundle(base, name, found))
            }
            Op::Set { name } => {
                checked_name(name, "Secret")?;
                let request = json_body(body)?;
                let Some(value) = request["value"].as_str() else {
                    return Err(KvError::new(
                        400,
                        "BadParameter",
                        "Property 'value' is required.",
                    ));
                };
                if state.certificates.contains_key(name) {
                    return Err(KvError::new(
                        409,
                        "Conflict",
                        format!(
                            "Secret {name} is managed by certificate {name}; update the certificate instead."
                        ),
                    ));
                }
                if state.deleted_secrets.contains_key(name) {
                    return Err(deleted_but_recoverable("Secret", name));
                }
                let window = Window::from_attributes(&request["attributes"])
                    .map_err(|e| KvError::new(400, "BadParameter", e.to_string()))?;
                let now = unix(SystemTime::now());
                let version = Version {
                    id: new_version_id(),
                    value: value.to_owned(),
                    content_type: request["contentType"].as_str().map(str::to_owned),
                    enabled: request["attributes"]["enabled"].as_bool().unwrap_or(true),
                    created: now,
                    updated: now,
                    tags: request.get("tags").filter(|t| t.is_object()).cloned(),
                    managed: None,
                    window,
                };
                let out = bundle(base, name, &version);
                state.secrets.entry(name.clone()).or_default().push(version);
                Ok(out)
            }
            Op::List | Op::ListVersions { .. } => {
                let items: Vec<Value> = match op {
                    Op::ListVersions { name } => {
                        let versions = state
                            .secrets
                            .get(name)
                            .ok_or_else(|| not_found(name, None))?;
                        versions
                            .iter()
                            .map(|v| item(base, name, Some(v), v))
                            .collect()
                    }
                    _ => state
                        .secrets
                        .iter()
                        .filter_map(|(name, versions)| {
                            versions.last().map(|v| item(base, name, None, v))
                        })
                        .collect(),
                };
                let path = match op {
                    Op::ListVersions { name } => format!("/secrets/{name}/versions"),
                    _ => "/secrets".to_owned(),
                };
                page_of(&items, &path)
            }
            Op::Keys(read) => objects::read(read, &state.keys, base, page_of),
            Op::Certificates(read) => objects::read(read, &state.certificates, base, page_of),
            Op::CreateKey { name } | Op::ImportKey { name } => {
                checked_name(name, "Key")?;
                if state.deleted_keys.contains_key(name) {
                    return Err(deleted_but_recoverable("Key", name));
                }
                let request = json_body(body)?;
                if state.certificates.contains_key(name) {
                    return Err(KvError::new(
                        409,
                        "Conflict",
                        format!(
                            "Key {name} is managed by certificate {name}; update the certificate instead."
                        ),
                    ));
                }
                let made = match op {
                    Op::CreateKey { .. } => key_requests::create(&request),
                    _ => key_requests::import(&request),
                }
                .map_err(|e| {
                    tracing::info!(key = %name, reason = ?e, "key write refused");
                    KvError::new(400, "BadParameter", e.to_string())
                })?;
                let version = objects::written_key(made, unix(SystemTime::now()));
                let out = objects::key_bundle(base, name, &version);
                state.keys.entry(name.clone()).or_default().push(version);
                Ok(out)
            }
            Op::Delete { collection, name } => {
                let now = unix(SystemTime::now());
                let managed = match collection {
                    Collection::Secrets => state
                        .secrets
                        .get(name)
                        .is_some_and(|vs| vs.iter().any(|v| v.managed.is_some())),
                    Collection::Keys => {
                        state.certificates.contains_key(name) && state.keys.contains_key(name)
                    }
                    Collection::Certificates => false,
                };
                if managed {
                    return Err(KvError::new(
                        409,
                        "Conflict",
                        format!(
                            "{} {name} is managed by certificate {name}; delete the certificate instead.",
                            if *collection == Collection::Keys {
                                "Key"
                            } else {
                                "Secret"
                            }
                        ),
                    ));
                }
                match collection {
                    Collection::Secrets => {
                        let versions = state
                            .secrets
                            .remove(name)
                            .ok_or_else(|| not_found(name, None))?;
                        let out = shapes::deleted_secret(base, name, &versions, now);
                        state.deleted_secrets.insert(name.clone(), (versions, now));
                        Ok(out)
                    }
                    Collection::Keys => {
                        let versions = state
                            .keys
                            .remove(name)
                            .ok_or_else(|| objects::not_found("key", "KeyNotFound", name, None))?;
                        let out = objects::deleted_key(base, name, &versions, now);
                        state.deleted_keys.insert(name.clone(), (versions, now));
                        Ok(out)
                    }
                    Collection::Certificates => {
                        let versions = state.certificates.remove(name).ok_or_else(|| {
                            objects::not_found("certificate", "CertificateNotFound", name, None)
                        })?;
                        // Its key and secret go with it: a get of either is
                        // then 404, as for the certificate.
                        state.keys.remove(name);
                        state.secrets.remove(name);
                        let out = objects::deleted_certificate(base, name, &versions, now);
                        state
                            .deleted_certificates
                            .insert(name.clone(), (versions, now));
                        Ok(out)
                    }
                }
            }
            Op::GetDeleted { collection, name } => {
                let gone = |kind: &str, code| {
                    KvError::new(404, code, format!("Deleted {kind} not found: {name}"))
                };
                match collection {
                    Collection::Secrets => state
                        .deleted_secrets
                        .get(name)
                        .map(|(vs, at)| shapes::deleted_secret(base, name, vs, *at))
                        .ok_or_else(|| gone("Secret", "SecretNotFound")),
                    Collection::Keys => state
                        .deleted_keys
                        .get(name)
                        .map(|(vs, at)| objects::deleted_key(base, name, vs, *at))
                        .ok_or_else(|| gone("Key", "KeyNotFound")),
                    Collection::Certificates => state
                        .deleted_certificates
                        .get(name)
                        .map(|(vs, at)| objects::deleted_certificate(base, name, vs, *at))
                        .ok_or_else(|| gone("Certificate", "CertificateNotFound")),
                }
            }
            Op::UpdateSecret { name, version } => {
                let request = json_body(body)?;
                let found = state
                    .secrets
                    .get_mut(name)
                    .and_then(|vs| objects::find_mut(vs, version.as_deref(), |v| &v.id))
                    .ok_or_else(|| not_found(name, version.as_deref()))?;
                shapes::update_secret(found, &request, unix(SystemTime::now()))
                    .map_err(|e| KvError::new(400, "BadParameter", e.to_string()))?;
                Ok(bundle(base, name, found))
            }
            Op::UpdateKey { name, version } | Op::UpdateCertificate { name, version } => {
                let request = json_body(body)?;
                let now = unix(SystemTime::now());
                let refused =
                    |e: objects::UpdateError| KvError::new(400, "BadParameter", e.to_string());
                if let Op::UpdateKey { .. } = op {
                    let missing =
                        || objects::not_found("key", "KeyNotFound", name, version.as_deref());
                    let found = state
                        .keys
                        .get_mut(name)
                        .and_then(|vs| objects::find_mut(vs, version.as_deref(), |v| &v.id))
                        .ok_or_else(missing)?;
                    objects::update_key(found, &request, now).map_err(refused)?;
                    return Ok(objects::key_bundle(base, name, found));
                }
                let missing = || {
                    objects::not_found(
                        "certificate",
                        "CertificateNotFound",
                        name,
                        version.as_deref(),
                    )
                };
                let found = state
                    .certificates
                    .get_mut(name)
                    .and_then(|vs| objects::find_mut(vs, version.as_deref(), |v| &v.id))
                    .ok_or_else(missing)?;
                objects::update_certificate(found, &request, now).map_err(refused)?;
                let out = objects::certificate_bundle(base, name, found);
                // A certificate version is also a key and a secret of that
                // version (as seeded: a disabled certificate's secret is
                // disabled): they follow its enabled state.
                let (id, enabled) = (found.id.clone(), found.enabled);
                if let Some(key) = state
                    .keys
                    .get_mut(name)
                    .and_then(|vs| vs.iter_mut().find(|v| v.id == id))
                {
                    key.enabled = enabled;
                }
                if let Some(secret) = state
                    .secrets
                    .get_mut(name)
                    .and_then(|vs| vs.iter_mut().find(|v| v.id == id))
                {
                    secret.enabled = enabled;
                }
                Ok(out)
            }
            Op::ImportCertificate { name } => {
                checked_name(name, "Certificate")?;
                if state.deleted_certificates.contains_key(name) {
                    return Err(deleted_but_recoverable("Certificate", name));
                }
                let request = json_body(body)?;
                if state.secrets.contains_key(name) && !state.certificates.contains_key(name) {
                    return Err(KvError::new(
                        409,
                        "Conflict",
                        format!(
                            "Secret {name} exists and is not managed by a certificate; a certificate named {name} would take its name."
                        ),
                    ));
                }
                let (certificate, key, secret) =
                    objects::import_certificate(&request, unix(SystemTime::now())).map_err(
                        |e| {
                            tracing::info!(certificate = %name, reason = ?e, "import refused");
                            KvError::new(400, "BadParameter", e.to_string())
                        },
                    )?;
                let out = objects::certificate_bundle(base, name, &certificate);
                state
                    .certificates
                    .entry(name.clone())
                    .or_default()
                    .push(certificate);
                state.keys.entry(name.clone()).or_default().push(key);
                state.secrets.entry(name.clone()).or_default().push(secret);
                Ok(out)
            }
        }
    }
}

/// The request's JSON body, or Key Vault's 400 `BadParameter`.
fn json_body(body: &[u8]) -> Result<Value, KvError> {
    serde_json::from_slice(body).map_err(|e| {
        KvError::new(
            400,
            "BadParameter",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

/// Refuses an object name Key Vault refuses (`kind`: `Secret`, `Key` or
/// `Certificate`, as its message names it) with 400 `BadParameter`.
fn checked_name(name: &str, kind: &str) -> Result<(), KvError> {
    if valid_secret_name(name) {
        Ok(())
    } else {
        Err(KvError::new(
            400,
            "BadParameter",
            format!(
                "The request URI contains an invalid name: {name}. {kind} names may contain only alphanumeric characters and dashes."
            ),
        ))
    }
}

/// Key Vault's answer to a write on a soft-deleted name (`az keyvault
/// secret set`, `key create`, `certificate import`), as users quote it
/// (PoliNetworkOrg's Key Vault notes): the name is reserved until the
/// object is recovered or purged.
fn deleted_but_recoverable(kind: &'static str, name: &str) -> KvError {
    KvError {
        inner: Some("ObjectIsDeletedButRecoverable"),
        ..KvError::new(
            409,
            "Conflict",
            format!(
                "{kind} {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the {} can only be recovered or purged.",
                kind.to_ascii_lowercase()
            ),
        )
    }
}

#[cfg(test)]
mod tests;
