//! What the emulator served: every answered request classified (token,
//! secret get, secret list, key get, ...), with its vault, object name and
//! status, so a client's cost can be read from the outside.
//!
//! Three ways to read it, from [`Emulator::request_log`](crate::Emulator::request_log):
//!
//! - [`RequestLog::counts`]: answered, succeeded and throttled (429)
//!   requests per [`RequestKind`], always kept, in atomics: classifying a
//!   request borrows from it and allocates nothing.
//! - [`RequestLog::keep_records`]: one [`RequestRecord`] per answered
//!   request, kept in memory until [`RequestLog::take_records`] or
//!   [`RequestLog::reset`] (tests that look at names, versions and
//!   statuses).
//! - [`RequestLog::log_to_stderr`] (`azure-wi-emulator serve
//!   --log-requests`): each record as one JSON line on stderr.
//!
//! A record never holds a value or a token: names, versions and ids come
//! from the request's path and query; of a token request's form only
//! `client_id` is read.

use std::{
    io::Write as _,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Instant, SystemTime},
};

use axum::{http::header, response::Response};
use serde::{Deserialize, Serialize};

use crate::hosts;

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum RequestKind {
    /// Entra's `POST /{tenant}/oauth2/v2.0/token`: a token exchange.
    Token,
    /// The identity-binding token proxy's `POST /{tenant}/oauth2/v2.0/token`.
    BindingToken,
    /// Entra's `GET /{tenant}/v2.0/.well-known/openid-configuration`.
    EntraDiscovery,
    /// Entra's `GET /{tenant}/discovery/v2.0/keys`.
    EntraJwks,
    /// The cluster issuer's `.well-known/openid-configuration` (Entra
    /// fetches it for each exchange of one of the emulator's tokens).
    IssuerDiscovery,
    /// The cluster issuer's `openid/v1/jwks` (fetched with the above).
    IssuerJwks,
    /// `GET /secrets/{name}[/{version}]`.
    SecretGet,
    /// `GET /secrets`, each page.
    SecretList,
    /// `GET /secrets/{name}/versions`, each page.
    SecretVersions,
    /// `PUT /secrets/{name}`.
    SecretSet,
    /// `PATCH /secrets/{name}[/{version}]`.
    SecretUpdate,
    /// `DELETE /secrets/{name}`.
    SecretDelete,
    /// `GET /deletedsecrets/{name}`.
    DeletedSecretGet,
    /// `GET /keys/{name}[/{version}]`.
    KeyGet,
    /// `GET /keys`, each page.
    KeyList,
    /// `GET /keys/{name}/versions`, each page.
    KeyVersions,
    /// `POST /keys/{name}/create`.
    KeyCreate,
    /// `PUT /keys/{name}`.
    KeyImport,
    /// `PATCH /keys/{name}[/{version}]`.
    KeyUpdate,
    /// `DELETE /keys/{name}`.
    KeyDelete,
    /// `GET /deletedkeys/{name}`.
    DeletedKeyGet,
    /// `GET /certificates/{name}[/{version}]`.
    CertificateGet,
    /// `GET /certificates`, each page.
    CertificateList,
    /// `GET /certificates/{name}/versions`, each page.
    CertificateVersions,
    /// `POST /certificates/{name}/import`.
    CertificateImport,
    /// `PATCH /certificates/{name}[/{version}]`.
    CertificateUpdate,
    /// `DELETE /certificates/{name}`.
    CertificateDelete,
    /// `GET /deletedcertificates/{name}`.
    DeletedCertificateGet,
    /// A vault's host, but no route Key Vault serves (answered 404 or 405).
    VaultUnknown,
    /// Anything else (another path or host).
    Unknown,
}

impl RequestKind {
    /// Every kind, in declaration order.
    pub const ALL: [Self; 30] = [
        Self::Token,
        Self::BindingToken,
        Self::EntraDiscovery,
        Self::EntraJwks,
        Self::IssuerDiscovery,
        Self::IssuerJwks,
        Self::SecretGet,
        Self::SecretList,
        Self::SecretVersions,
        Self::SecretSet,
        Self::SecretUpdate,
        Self::SecretDelete,
        Self::DeletedSecretGet,
        Self::KeyGet,
        Self::KeyList,
        Self::KeyVersions,
        Self::KeyCreate,
        Self::KeyImport,
        Self::KeyUpdate,
        Self::KeyDelete,
        Self::DeletedKeyGet,
        Self::CertificateGet,
        Self::CertificateList,
        Self::CertificateVersions,
        Self::CertificateImport,
        Self::CertificateUpdate,
        Self::CertificateDelete,
        Self::DeletedCertificateGet,
        Self::VaultUnknown,
        Self::Unknown,
    ];

    /// The name in a JSON line, `secret_get`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::BindingToken => "binding_token",
            Self::EntraDiscovery => "entra_discovery",
            Self::EntraJwks => "entra_jwks",
            Self::IssuerDiscovery => "issuer_discovery",
            Self::IssuerJwks => "issuer_jwks",
            Self::SecretGet => "secret_get",
            Self::SecretList => "secret_list",
            Self::SecretVersions => "secret_versions",
            Self::SecretSet => "secret_set",
            Self::SecretUpdate => "secret_update",
            Self::SecretDelete => "secret_delete",
            Self::DeletedSecretGet => "deleted_secret_get",
            Self::KeyGet => "key_get",
            Self::KeyList => "key_list",
            Self::KeyVersions => "key_versions",
            Self::KeyCreate => "key_create",
            Self::KeyImport => "key_import",
            Self::KeyUpdate => "key_update",
            Self::KeyDelete => "key_delete",
            Self::DeletedKeyGet => "deleted_key_get",
            Self::CertificateGet => "certificate_get",
            Self::CertificateList => "certificate_list",
            Self::CertificateVersions => "certificate_versions",
            Self::CertificateImport => "certificate_import",
            Self::CertificateUpdate => "certificate_update",
            Self::CertificateDelete => "certificate_delete",
            Self::DeletedCertificateGet => "deleted_certificate_get",
            Self::VaultUnknown => "vault_unknown",
            Self::Unknown => "unknown",
        }
    }

    /// Whether the request went to a vault (what Key Vault bills and
    /// throttles).
    pub fn is_key_vault(self) -> bool {
        !matches!(
            self,
            Self::Token
                | Self::BindingToken
                | Self::EntraDiscovery
                | Self::EntraJwks
                | Self::IssuerDiscovery
                | Self::IssuerJwks
                | Self::Unknown
        )
    }

    /// Whether the request asks for an access token (Entra's or the
    /// identity-binding proxy's).
    pub fn is_token(self) -> bool {
        matches!(self, Self::Token | Self::BindingToken)
    }

    /// Whether the request changes a vault (counted against Key Vault's
    /// write budget).
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Self::SecretSet
                | Self::SecretUpdate
                | Self::SecretDelete
                | Self::KeyCreate
                | Self::KeyImport
                | Self::KeyUpdate
                | Self::KeyDelete
                | Self::CertificateImport
                | Self::CertificateUpdate
                | Self::CertificateDelete
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for RequestKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which listener answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listener<'a> {
    /// The TLS listener for every host, routing by `Host`.
    Main {
        /// The request's host name, lower case, without its port.
        host: &'a str,
        /// The emulated cluster issuer's host.
        issuer_host: &'a str,
        /// The issuer URL's path.
        issuer_path: &'a str,
    },
    /// The identity-binding token proxy's own listener.
    IdentityBinding,
}

/// A request as [`classify`] reads it, borrowing from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub(crate) kind: RequestKind,
    pub(crate) tenant: Option<&'a str>,
    pub(crate) vault: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
    pub(crate) version: Option<&'a str>,
}

impl<'a> Target<'a> {
    fn of(kind: RequestKind) -> Self {
        Self {
            kind,
            tenant: None,
            vault: None,
            name: None,
            version: None,
        }
    }

    fn tenant(kind: RequestKind, tenant: &'a str) -> Self {
        Self {
            tenant: Some(tenant),
            ..Self::of(kind)
        }
    }
}

/// The longest path any route has, in segments (Entra's).
const MAX_SEGMENTS: usize = 4;

/// `path`'s segments after its leading slashes, split as the routers split
/// them; `None` when there are more than any route takes.
fn segments(path: &str) -> Option<([&str; MAX_SEGMENTS], usize)> {
    let mut out = [""; MAX_SEGMENTS];
    let mut len = 0;
    for segment in path.trim_start_matches('/').split('/') {
        *out.get_mut(len)? = segment;
        len += 1;
    }
    Some((out, len))
}

/// What a request is, from where it arrived, its method and its path: the
/// routing of [`crate::server`] and [`crate::keyvault::route`], read
/// without allocating.
pub(crate) fn classify<'a>(listener: Listener<'a>, method: &str, path: &'a str) -> Target<'a> {
    let split = segments(path);
    let segments = split.as_ref().map(|(segments, len)| &segments[..*len]);
    match listener {
        Listener::IdentityBinding => match (method, segments) {
            ("POST", Some([tenant, "oauth2", "v2.0", "token"])) => {
                Target::tenant(RequestKind::BindingToken, tenant)
            }
            _ => Target::of(RequestKind::Unknown),
        },
        Listener::Main {
            host,
            issuer_host,
            issuer_path,
        } => {
            if hosts::entra_cloud(host).is_some() {
                segments.map_or(Target::of(RequestKind::Unknown), |segments| {
                    entra_target(method, segments)
                })
            } else if let Some((_, vault)) = hosts::vault_of(host) {
                Target {
                    vault: Some(vault),
                    ..segments.map_or(Target::of(RequestKind::VaultUnknown), |segments| {
                        vault_target(method, segments)
                    })
                }
            } else if host == issuer_host {
                let document = path
                    .strip_prefix(issuer_path.trim_end_matches('/'))
                    .and_then(|rest| rest.strip_prefix('/'));
                Target::of(match document {
                    Some(".well-known/openid-configuration") => RequestKind::IssuerDiscovery,
                    Some("openid/v1/jwks") => RequestKind::IssuerJwks,
                    _ => RequestKind::Unknown,
                })
            } else {
                Target::of(RequestKind::Unknown)
            }
        }
    }
}

fn entra_target<'a>(method: &str, segments: &[&'a str]) -> Target<'a> {
    match (method, segments) {
        ("POST", [tenant, "oauth2", "v2.0", "token"]) => Target::tenant(RequestKind::Token, tenant),
        ("GET", [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            Target::tenant(RequestKind::EntraDiscovery, tenant)
        }
        ("GET", [tenant, "discovery", "v2.0", "keys"]) => {
            Target::tenant(RequestKind::EntraJwks, tenant)
        }
        _ => Target::of(RequestKind::Unknown),
    }
}

/// Key Vault's routes, arm for arm as [`crate::keyvault::route`] matches
/// them (a test holds the two together).
fn vault_target<'a>(method: &str, segments: &[&'a str]) -> Target<'a> {
    use RequestKind as K;
    let named = |kind, name: &'a str, version: Option<&'a str>| Target {
        name: Some(name),
        version,
        ..Target::of(kind)
    };
    let per_collection = |collection: &str, secret, key, certificate| match collection {
        "secrets" => Some(secret),
        "keys" => Some(key),
        "certificates" => Some(certificate),
        _ => None,
    };
    match (method, segments) {
        ("GET", ["secrets"] | ["secrets", ""]) => Target::of(K::SecretList),
        ("GET", ["secrets", name] | ["secrets", name, ""]) => named(K::SecretGet, name, None),
        ("GET", ["secrets", name, "versions"]) => named(K::SecretVersions, name, None),
        ("GET", ["secrets", name, version]) => named(K::SecretGet, name, Some(version)),
        ("PUT", ["secrets", name]) => named(K::SecretSet, name, None),
        ("POST", ["certificates", name, "import"]) => named(K::CertificateImport, name, None),
        ("POST", ["keys", name, "create"]) => named(K::KeyCreate, name, None),
        ("DELETE", [collection, name]) => {
            match per_collection(
                collection,
                K::SecretDelete,
                K::KeyDelete,
                K::CertificateDelete,
            ) {
                Some(kind) => named(kind, name, None),
                None => Target::of(K::VaultUnknown),
            }
        }
        ("GET", [deleted, name] | [deleted, name, ""]) if deleted_get(deleted).is_some() => {
            named(deleted_get(deleted).unwrap_or(K::VaultUnknown), name, None)
        }
        ("PUT", ["keys", name]) => named(K::KeyImport, name, None),
        ("PATCH", [collection, name, rest @ ..]) if matches!(rest, [] | [_]) => {
            let version = rest.first().copied().filter(|v| !v.is_empty());
            match per_collection(
                collection,
                K::SecretUpdate,
                K::KeyUpdate,
                K::CertificateUpdate,
            ) {
                Some(kind) => named(kind, name, version),
                None => Target::of(K::VaultUnknown),
            }
        }
        ("GET", [collection @ ("keys" | "certificates"), rest @ ..]) => {
            let keys = *collection == "keys";
            let pick = |key, certificate| if keys { key } else { certificate };
            match rest {
                [] | [""] => Target::of(pick(K::KeyList, K::CertificateList)),
                [name] | [name, ""] => named(pick(K::KeyGet, K::CertificateGet), name, None),
                [name, "versions"] => {
                    named(pick(K::KeyVersions, K::CertificateVersions), name, None)
                }
                [name, version] => named(pick(K::KeyGet, K::CertificateGet), name, Some(version)),
                _ => Target::of(K::VaultUnknown),
            }
        }
        _ => Target::of(K::VaultUnknown),
    }
}

/// The kind of a read of `/deleted{collection}/{name}`, by its first
/// segment.
fn deleted_get(segment: &str) -> Option<RequestKind> {
    match segment.strip_prefix("deleted")? {
        "secrets" => Some(RequestKind::DeletedSecretGet),
        "keys" => Some(RequestKind::DeletedKeyGet),
        "certificates" => Some(RequestKind::DeletedCertificateGet),
        _ => None,
    }
}

/// One answered request. Serialized, it is one line of `serve
/// --log-requests`; absent fields are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// What was asked.
    pub kind: RequestKind,
    /// The HTTP method.
    pub method: String,
    /// The tenant in an Entra path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// A token request's `client_id` (the identity asking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The vault, for a request to a vault's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<String>,
    /// The secret, key or certificate named in the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The version named in the path (absent: the current one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A vault request's `api-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The request carries `$skiptoken`: a following page of a list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub next_page: bool,
    /// The answer's HTTP status.
    pub status: u16,
    /// The answer's `Retry-After`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Microseconds from the request's arrival to its answer (injected
    /// latency included).
    pub elapsed_us: u64,
    /// When it was answered, in milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

impl RequestRecord {
    fn new(
        target: Target<'_>,
        parts: &axum::http::request::Parts,
        body: &[u8],
        response: &Response,
        started: Instant,
    ) -> Self {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        let kind = target.kind;
        // Only the identity: the form also holds the assertion, a token.
        let client_id = kind
            .is_token()
            .then(|| {
                url::form_urlencoded::parse(body)
                    .find(|(field, _)| field == "client_id")
                    .map(|(_, value)| value.into_owned())
            })
            .flatten();
        let (mut api_version, mut next_page) = (None, false);
        if kind.is_key_vault() {
            for (field, value) in
                url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            {
                match &*field {
                    "api-version" => api_version = Some(value.into_owned()),
                    "$skiptoken" => next_page = true,
                    _ => {}
                }
            }
        }
        let unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            kind,
            method: parts.method.as_str().to_owned(),
            tenant: owned(target.tenant),
            client_id,
            vault: owned(target.vault),
            name: owned(target.name),
            version: owned(target.version),
            api_version,
            next_page,
            status: response.status().as_u16(),
            retry_after: retry_after(response),
            elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            unix_ms,
        }
    }

    /// The record as one JSON line, without its newline.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Requests of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCount {
    /// Answered, whatever the status.
    pub answered: u64,
    /// Answered with a 2xx status.
    pub succeeded: u64,
    /// Answered 429 (throttled, or a 429 injected with
    /// [`Faults`](crate::Faults)).
    pub throttled: u64,
}

impl KindCount {
    fn add(self, other: Self) -> Self {
        Self {
            answered: self.answered + other.answered,
            succeeded: self.succeeded + other.succeeded,
            throttled: self.throttled + other.throttled,
        }
    }

    fn saturating_sub(self, other: Self) -> Self {
        Self {
            answered: self.answered.saturating_sub(other.answered),
            succeeded: self.succeeded.saturating_sub(other.succeeded),
            throttled: self.throttled.saturating_sub(other.throttled),
        }
    }
}

/// A snapshot of [`RequestLog::counts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCounts {
    by_kind: [KindCount; RequestKind::ALL.len()],
}

impl RequestCounts {
    /// Requests of `kind`.
    pub fn get(&self, kind: RequestKind) -> KindCount {
        self.by_kind[kind.index()]
    }

    /// Requests of every kind `select` picks, added up.
    pub fn sum(&self, select: impl Fn(RequestKind) -> bool) -> KindCount {
        RequestKind::ALL
            .into_iter()
            .filter(|kind| select(*kind))
            .fold(KindCount::default(), |total, kind| {
                total.add(self.get(kind))
            })
    }

    /// Every Key Vault request ([`RequestKind::is_key_vault`]).
    pub fn key_vault(&self) -> KindCount {
        self.sum(RequestKind::is_key_vault)
    }

    /// Every token request ([`RequestKind::is_token`]).
    pub fn tokens(&self) -> KindCount {
        self.sum(RequestKind::is_token)
    }

    /// What was answered after `earlier`, a snapshot taken before this one.
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        let mut by_kind = self.by_kind;
        for (now, before) in by_kind.iter_mut().zip(earlier.by_kind) {
            *now = now.saturating_sub(before);
        }
        Self { by_kind }
    }

    /// The kinds with at least one request, and their counts.
    pub fn iter(&self) -> impl Iterator<Item = (RequestKind, KindCount)> + '_ {
        RequestKind::ALL
            .into_iter()
            .map(|kind| (kind, self.get(kind)))
            .filter(|(_, count)| count.answered > 0)
    }
}

#[derive(Debug, Default)]
struct AtomicCount {
    answered: AtomicU64,
    succeeded: AtomicU64,
    throttled: AtomicU64,
}

/// The emulator's record of what it answered; see the [module](self).
#[derive(Debug, Default)]
pub struct RequestLog {
    counts: [AtomicCount; RequestKind::ALL.len()],
    stderr: AtomicBool,
    keep: AtomicBool,
    records: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    /// Writes each answered request as one JSON line to stderr (what
    /// `serve --log-requests` turns on), or stops.
    pub fn log_to_stderr(&self, on: bool) {
        self.stderr.store(on, Ordering::Relaxed);
    }

    /// Keeps a [`RequestRecord`] of each answered request in memory, or
    /// stops (those kept stay until taken). Every record is kept until
    /// [`Self::take_records`] or [`Self::reset`]: for long runs, read
    /// [`Self::counts`] instead.
    pub fn keep_records(&self, on: bool) {
        self.keep.store(on, Ordering::Relaxed);
    }

    /// A copy of the records kept, oldest first.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.kept().clone()
    }

    /// The records kept, oldest first, leaving none.
    pub fn take_records(&self) -> Vec<RequestRecord> {
        std::mem::take(&mut *self.kept())
    }

    /// Requests answered per kind since start or the last [`Self::reset`].
    pub fn counts(&self) -> RequestCounts {
        let mut by_kind = [KindCount::default(); RequestKind::ALL.len()];
        for (count, atomic) in by_kind.iter_mut().zip(&self.counts) {
            *count = KindCount {
                answered: atomic.answered.load(Ordering::Relaxed),
                succeeded: atomic.succeeded.load(Ordering::Relaxed),
                throttled: atomic.throttled.load(Ordering::Relaxed),
            };
        }
        RequestCounts { by_kind }
    }

    /// Sets every count to zero and drops the records kept. Requests
    /// answered meanwhile may land on either side: to count a window
    /// exactly, compare two [`Self::counts`] with [`RequestCounts::since`].
    pub fn reset(&self) {
        for atomic in &self.counts {
            atomic.answered.store(0, Ordering::Relaxed);
            atomic.succeeded.store(0, Ordering::Relaxed);
            atomic.throttled.store(0, Ordering::Relaxed);
        }
        self.kept().clear();
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<RequestRecord>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether answered requests need a [`RequestRecord`] (and so their
    /// arrival time).
    pub(crate) fn detailed(&self) -> bool {
        self.stderr.load(Ordering::Relaxed) || self.keep.load(Ordering::Relaxed)
    }

    /// Counts an answered request; records it when asked to. `started` is
    /// the arrival time, taken when [`Self::detailed`] said so.
    pub(crate) fn answered(
        &self,
        target: Target<'_>,
        parts: &axum::http::request::Parts,
        body: &[u8],
        response: &Response,
        started: Option<Instant>,
    ) {
        let count = &self.counts[target.kind.index()];
        count.answered.fetch_add(1, Ordering::Relaxed);
        let status = response.status();
        if status.is_success() {
            count.succeeded.fetch_add(1, Ordering::Relaxed);
        } else if status.as_u16() == 429 {
            count.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let Some(started) = started else { return };
        let record = RequestRecord::new(target, parts, body, response, started);
        if self.stderr.load(Ordering::Relaxed) {
            let mut line = record.to_json_line();
            line.push('\n');
            // One write of the whole line, so lines never interleave.
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
        if self.keep.load(Ordering::Relaxed) {
            self.kept().push(record);
        }
    }
}

#[cfg(test)]
mod tests;
