//! Key Vault's data plane for secrets, keys and certificates (reads of keys
//! and certificates; secrets also written), as pure functions over an
//! in-memory store: routing, token checks, Azure RBAC, throttling windows,
//! paging and the service's JSON shapes and error bodies.

pub mod material;
mod objects;

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant, SystemTime},
};

use serde_json::{Value, json};

use crate::{
    config::{Config, SecretSeed},
    issuer::unix,
    keys::verify,
};

/// Whether `name` is a valid secret name (`^[0-9a-zA-Z-]+$`, at most 127).
pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A refusal in Key Vault's shape: `{"error":{"code","message","innererror"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `error.innererror.code`, if any.
    pub inner: Option<&'static str>,
    /// Seconds for `Retry-After` (429 only).
    pub retry_after: Option<u64>,
    /// Whether to add the `WWW-Authenticate` challenge (401 only).
    pub challenge: bool,
}

impl KvError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            inner: None,
            retry_after: None,
            challenge: false,
        }
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            challenge: true,
            ..Self::new(401, "Unauthorized", message)
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(inner) = self.inner {
            error["innererror"] = json!({ "code": inner });
        }
        json!({ "error": error })
    }
}

/// The `WWW-Authenticate` value for a vault in `tenant`, with `authority`
/// the Entra host clients should use (`https://login.microsoftonline.com`).
pub fn challenge(authority: &str, tenant: &str) -> String {
    format!(
        "Bearer authorization=\"{}/{tenant}\", resource=\"{}\"",
        authority.trim_end_matches('/'),
        crate::hosts::key_vault_resource()
    )
}

/// A data-plane operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `GET /secrets/{name}[/{version}]`.
    Get {
        /// Secret name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
    /// `GET /secrets`.
    List,
    /// `GET /secrets/{name}/versions`.
    ListVersions {
        /// Secret name.
        name: String,
    },
    /// `PUT /secrets/{name}`.
    Set {
        /// Secret name.
        name: String,
    },
    /// A read under `/keys`.
    Keys(Read),
    /// A read under `/certificates`.
    Certificates(Read),
}

/// A read of keys or certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// `GET /{collection}/{name}[/{version}]`.
    Get {
        /// Object name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
    /// `GET /{collection}`.
    List,
    /// `GET /{collection}/{name}/versions`.
    ListVersions {
        /// Object name.
        name: String,
    },
}

impl Read {
    fn name(&self) -> Option<&str> {
        match self {
            Self::Get { name, .. } | Self::ListVersions { name } => Some(name),
            Self::List => None,
        }
    }
}

impl Op {
    /// The RBAC data action the operation needs.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Get { .. } => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            Self::List | Self::ListVersions { .. } => {
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
            }
            Self::Set { .. } => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            Self::Keys(_) => "Microsoft.KeyVault/vaults/keys/read",
            Self::Certificates(_) => "Microsoft.KeyVault/vaults/certificates/read",
        }
    }

    /// The collection and name of the object the operation is on, for a
    /// role assigned on that object alone.
    fn object(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::Get { name, .. } | Self::ListVersions { name } | Self::Set { name } => {
                Some(("secrets", name))
            }
            Self::List => None,
            Self::Keys(read) => read.name().map(|n| ("keys", n)),
            Self::Certificates(read) => read.name().map(|n| ("certificates", n)),
        }
    }

    fn is_write(&self) -> bool {
        matches!(self, Self::Set { .. })
    }
}

/// Maps a method and path to an operation.
///
/// # Errors
///
/// 404/405 in Key Vault's shape for paths and methods it does not serve.
pub fn route(method: &str, path: &str) -> Result<Op, KvError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let op = match (method, segments.as_slice()) {
        ("GET", ["secrets"] | ["secrets", ""]) => Op::List,
        ("GET", ["secrets", name] | ["secrets", name, ""]) => Op::Get {
            name: (*name).to_owned(),
            version: None,
        },
        ("GET", ["secrets", name, "versions"]) => Op::ListVersions {
            name: (*name).to_owned(),
        },
        ("GET", ["secrets", name, version]) => Op::Get {
            name: (*name).to_owned(),
            version: Some((*version).to_owned()),
        },
        ("PUT", ["secrets", name]) => Op::Set {
            name: (*name).to_owned(),
        },
        ("GET", [collection @ ("keys" | "certificates"), rest @ ..]) => {
            let read = match rest {
                [] | [""] => Read::List,
                [name] | [name, ""] => Read::Get {
                    name: (*name).to_owned(),
                    version: None,
                },
                [name, "versions"] => Read::ListVersions {
                    name: (*name).to_owned(),
                },
                [name, version] => Read::Get {
                    name: (*name).to_owned(),
                    version: Some((*version).to_owned()),
                },
                _ => {
                    return Err(KvError::new(
                        404,
                        "NotFound",
                        format!("No route for {path}."),
                    ));
                }
            };
            if *collection == "keys" {
                Op::Keys(read)
            } else {
                Op::Certificates(read)
            }
        }
        (_, ["secrets" | "keys" | "certificates", ..]) => {
            return Err(KvError::new(
                405,
                "MethodNotAllowed",
                format!("The requested resource does not support http method '{method}'."),
            ));
        }
        _ => {
            return Err(KvError::new(
                404,
                "NotFound",
                format!("No route for {path}."),
            ));
        }
    };
    Ok(op)
}

/// Checks the bearer token: present, signed by Entra, for Key Vault, from
/// the vault's tenant, not expired. Returns its claims.
///
/// # Errors
///
/// 401 with the challenge.
pub fn authenticate(
    authorization: Option<&str>,
    entra_jwks: &Value,
    vault_tenant: &str,
    now: SystemTime,
) -> Result<Value, KvError> {
    let Some(token) = authorization.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    }) else {
        return Err(KvError::unauthorized(
            "AKV10000: Request is missing a Bearer or PoP token.",
        ));
    };
    let claims = verify(token.trim(), entra_jwks)
        .map_err(|_| KvError::unauthorized("AKV10031: Invalid token signature."))?;
    let aud = claims["aud"].as_str().unwrap_or_default();
    let resource = crate::hosts::key_vault_resource();
    if aud.trim_end_matches('/') != resource {
        return Err(KvError::unauthorized(format!(
            "AKV10022: Invalid audience. Expected {resource}, found: {aud}."
        )));
    }
    let iss = claims["iss"].as_str().unwrap_or_default();
    let expected_iss = format!("https://sts.windows.net/{vault_tenant}/");
    if iss != expected_iss {
        return Err(KvError::unauthorized(format!(
            "AKV10032: Invalid issuer. Expected one of {expected_iss}, found {iss}."
        )));
    }
    if claims["exp"].as_u64().unwrap_or(0) <= unix(now) {
        return Err(KvError::unauthorized(
            "AKV10021: Invalid token: the token has expired.",
        ));
    }
    Ok(claims)
}

/// Checks Azure RBAC for `op` by the token's `oid`.
///
/// # Errors
///
/// 403 `Forbidden` / `ForbiddenByRbac` with the service's message.
pub fn authorize(config: &Config, vault: &str, op: &Op, claims: &Value) -> Result<(), KvError> {
    let oid = claims["oid"].as_str().unwrap_or_default();
    let object_scope = op
        .object()
        .map(|(collection, name)| format!("{vault}/{collection}/{name}"));
    let allowed = config.role_assignments.iter().any(|a| {
        a.principal_id == oid
            && (a.scope == vault || Some(&a.scope) == object_scope.as_ref())
            && a.role.grants(op.action())
    });
    if allowed {
        return Ok(());
    }
    let appid = claims["appid"].as_str().unwrap_or_default();
    let iss = claims["iss"].as_str().unwrap_or_default();
    let resource = match op.object() {
        Some((collection, name)) => format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/microsoft.keyvault/vaults/{vault}/{collection}/{name}"
        ),
        None => format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/microsoft.keyvault/vaults/{vault}"
        ),
    };
    Err(KvError {
        inner: Some("ForbiddenByRbac"),
        ..KvError::new(
            403,
            "Forbidden",
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={appid};oid={oid};iss={iss}\r\nAction: '{}'\r\nResource: '{resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {vault};location=emulator\r\n",
                op.action()
            ),
        )
    })
}

/// One version of a secret.
#[derive(Debug, Clone)]
struct Version {
    id: String,
    value: String,
    content_type: Option<String>,
    enabled: bool,
    created: u64,
    tags: Option<Value>,
    /// For a certificate's secret: the certificate's validity (`nbf`,
    /// `exp`); the secret is then `managed` and names its key (`kid`).
    managed: Option<(u64, u64)>,
}

/// A vault's objects and its throttling window.
#[derive(Debug)]
struct VaultState {
    secrets: BTreeMap<String, Vec<Version>>,
    keys: BTreeMap<String, Vec<objects::KeyVersion>>,
    certificates: BTreeMap<String, Vec<objects::CertificateVersion>>,
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
                    tags: None,
                    managed: None,
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
                if !valid_secret_name(name) {
                    return Err(KvError::new(
                        400,
                        "BadParameter",
                        format!(
                            "The request URI contains an invalid name: {name}. Secret names may contain only alphanumeric characters and dashes."
                        ),
                    ));
                }
                let request: Value = serde_json::from_slice(body).map_err(|e| {
                    KvError::new(
                        400,
                        "BadParameter",
                        format!("The request body is not valid JSON: {e}"),
                    )
                })?;
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
                let version = Version {
                    id: new_version_id(),
                    value: value.to_owned(),
                    content_type: request["contentType"].as_str().map(str::to_owned),
                    enabled: request["attributes"]["enabled"].as_bool().unwrap_or(true),
                    created: unix(SystemTime::now()),
                    tags: request.get("tags").filter(|t| t.is_object()).cloned(),
                    managed: None,
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
                page(
                    &items,
                    base,
                    &path,
                    &api_version,
                    query,
                    config.max_page_size,
                )
            }
            Op::Keys(read) => {
                let missing = |name: &str, version: Option<&str>| {
                    objects::not_found("key", "KeyNotFound", name, version)
                };
                let versions_of =
                    |name: &str| state.keys.get(name).ok_or_else(|| missing(name, None));
                match read {
                    Read::Get { name, version } => {
                        let found =
                            objects::find(versions_of(name)?, version.as_deref(), |v| &v.id)
                                .ok_or_else(|| missing(name, version.as_deref()))?;
                        Ok(objects::key_bundle(base, name, found))
                    }
                    Read::List => {
                        let items: Vec<Value> = state
                            .keys
                            .iter()
                            .filter_map(|(n, vs)| {
                                vs.last().map(|v| objects::key_item(base, n, v, false))
                            })
                            .collect();
                        page(
                            &items,
                            base,
                            "/keys",
                            &api_version,
                            query,
                            config.max_page_size,
                        )
                    }
                    Read::ListVersions { name } => {
                        let items: Vec<Value> = versions_of(name)?
                            .iter()
                            .map(|v| objects::key_item(base, name, v, true))
                            .collect();
                        let path = format!("/keys/{name}/versions");
                        page(
                            &items,
                            base,
                            &path,
                            &api_version,
                            query,
                            config.max_page_size,
                        )
                    }
                }
            }
            Op::Certificates(read) => {
                let missing = |name: &str, version: Option<&str>| {
                    objects::not_found("certificate", "CertificateNotFound", name, version)
                };
                let versions_of = |name: &str| {
                    state
                        .certificates
                        .get(name)
                        .ok_or_else(|| missing(name, None))
                };
                match read {
                    Read::Get { name, version } => {
                        let found =
                            objects::find(versions_of(name)?, version.as_deref(), |v| &v.id)
                                .ok_or_else(|| missing(name, version.as_deref()))?;
                        Ok(objects::certificate_bundle(base, name, found))
                    }
                    Read::List => {
                        let items: Vec<Value> = state
                            .certificates
                            .iter()
                            .filter_map(|(n, vs)| {
                                vs.last()
                                    .map(|v| objects::certificate_item(base, n, v, false))
                            })
                            .collect();
                        page(
                            &items,
                            base,
                            "/certificates",
                            &api_version,
                            query,
                            config.max_page_size,
                        )
                    }
                    Read::ListVersions { name } => {
                        let items: Vec<Value> = versions_of(name)?
                            .iter()
                            .map(|v| objects::certificate_item(base, name, v, true))
                            .collect();
                        let path = format!("/certificates/{name}/versions");
                        page(
                            &items,
                            base,
                            &path,
                            &api_version,
                            query,
                            config.max_page_size,
                        )
                    }
                }
            }
        }
    }
}

/// One page of `items` at `$skiptoken`, with an absolute `nextLink` back
/// to `base` + `path` while more remain.
fn page(
    items: &[Value],
    base: &str,
    path: &str,
    api_version: &str,
    query: &HashMap<String, String>,
    max: usize,
) -> Result<Value, KvError> {
    let page = page_size(query, max)?;
    let skip: usize = match query.get("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| KvError::new(400, "BadParameter", format!("Invalid $skiptoken {t}.")))?,
    };
    let end = (skip + page).min(items.len());
    let next = (end < items.len()).then(|| {
        format!("{base}{path}?api-version={api_version}&$skiptoken={end}&maxresults={page}")
    });
    Ok(json!({ "value": items.get(skip.min(end)..end).unwrap_or_default(), "nextLink": next }))
}

fn page_size(query: &HashMap<String, String>, max: usize) -> Result<usize, KvError> {
    match query.get("maxresults") {
        None => Ok(max),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=25).contains(&n) => Ok(n.min(max)),
            _ => Err(KvError::new(
                400,
                "BadParameter",
                format!("Invalid value for maxresults: {text}. It must be between 1 and 25."),
            )),
        },
    }
}

fn not_found(name: &str, version: Option<&str>) -> KvError {
    let what = version.map_or_else(|| name.to_owned(), |v| format!("{name}/{v}"));
    KvError::new(
        404,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {what} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

fn attributes(v: &Version) -> Value {
    let mut a = json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.created,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
    });
    if let Some((nbf, exp)) = v.managed {
        a["nbf"] = nbf.into();
        a["exp"] = exp.into();
    }
    a
}

fn bundle(base: &str, name: &str, v: &Version) -> Value {
    let mut out = json!({
        "value": v.value,
        "id": format!("{base}/secrets/{name}/{}", v.id),
        "attributes": attributes(v),
    });
    if let Some(ct) = &v.content_type {
        out["contentType"] = ct.clone().into();
    }
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    if v.managed.is_some() {
        out["kid"] = format!("{base}/keys/{name}/{}", v.id).into();
        out["managed"] = true.into();
    }
    out
}

fn item(base: &str, name: &str, version: Option<&Version>, v: &Version) -> Value {
    let id = match version {
        Some(version) => format!("{base}/secrets/{name}/{}", version.id),
        None => format!("{base}/secrets/{name}"),
    };
    let mut out = json!({ "id": id, "attributes": attributes(v) });
    if let Some(ct) = &v.content_type {
        out["contentType"] = ct.clone().into();
    }
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    if v.managed.is_some() {
        out["managed"] = true.into();
    }
    out
}

#[cfg(test)]
mod tests;
