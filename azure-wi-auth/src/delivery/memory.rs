//! [`MemoryVault`]: a [`VaultObjects`] in memory, for the tests of the
//! services built on the contract (feature `memory-vault`).
//!
//! Its failures are made as a real vault's would be (this crate's
//! [`Error`] for a 403, a 404, a 429 or a 500) and classified by the same
//! mapping as [`WorkloadVaults`](crate::WorkloadVaults)'s, so a test of a
//! caller sees exactly the [`VaultError`] the caller would see in service.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    fmt,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use super::{ObjectKind, ReadAs, VaultError, VaultObjects, VersionInfo};
use crate::{
    Certificate, CertificateProperties, Error, JsonWebKey, Key, KeyProperties, Secret,
    SecretProperties, SecretValue,
};

/// What a stored version holds.
#[derive(Clone)]
pub enum Payload {
    /// A secret's value.
    Secret {
        /// The value.
        value: String,
        /// `contentType`.
        content_type: Option<String>,
        /// Whether a certificate owns it (its `kid` is then set).
        kid: bool,
    },
    /// A key's public part.
    Key(JsonWebKey),
    /// A certificate's DER.
    Cert(Vec<u8>),
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Secret { .. } => f.write_str("Secret(<redacted>)"),
            Self::Key(key) => f.debug_tuple("Key").field(key).finish(),
            Self::Cert(der) => write!(f, "Cert({} bytes)", der.len()),
        }
    }
}

#[derive(Debug, Clone)]
struct Stored {
    version: String,
    enabled: bool,
    created: SystemTime,
    tags: BTreeMap<String, String>,
    payload: Payload,
}

/// A failure to inject for one object name.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer 403 `ForbiddenByRbac`, every time.
    Forbidden,
    /// Answer 429 with this `Retry-After`, this many times.
    Throttle(Duration, usize),
    /// Answer 500, this many times.
    ServerError(usize),
    /// Answer 404 this many times, although the object is stored: a read
    /// that a listing was ahead of.
    NotFound(usize),
}

type Hook = Arc<dyn Fn(&MemoryVault) + Send + Sync>;

#[derive(Default)]
struct Inner {
    objects: Mutex<HashMap<(ObjectKind, String), Vec<Stored>>>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    delay: Mutex<Duration>,
    after_listing: Mutex<Option<Hook>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: AtomicUsize,
    listings: AtomicUsize,
    probes: AtomicUsize,
    seen_tokens: Mutex<Vec<String>>,
}

/// A vault in memory (every vault URL reads the same objects), with call
/// counting, latency, injected failures and a hook run between a listing
/// and whatever the caller does next.
#[derive(Clone, Default)]
pub struct MemoryVault(Arc<Inner>);

impl fmt::Debug for MemoryVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryVault")
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn collection(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Secret => "secrets",
        ObjectKind::Key => "keys",
        ObjectKind::Cert => "certificates",
    }
}

fn id(vault: &str, kind: ObjectKind, name: &str, version: Option<&str>) -> String {
    let base = format!(
        "{}/{}/{name}",
        vault.trim_end_matches('/'),
        collection(kind)
    );
    version.map_or_else(|| base.clone(), |v| format!("{base}/{v}"))
}

impl MemoryVault {
    /// Stores a new, enabled version (the newest so far) of an object.
    pub fn put(&self, kind: ObjectKind, name: &str, version: &str, payload: Payload) {
        self.put_version(kind, name, version, true, payload);
    }

    /// Stores a new version (the newest so far) of an object.
    pub fn put_version(
        &self,
        kind: ObjectKind,
        name: &str,
        version: &str,
        enabled: bool,
        payload: Payload,
    ) {
        self.store(kind, name, version, enabled, BTreeMap::new(), payload);
    }

    /// Stores a new, enabled version of an object with `tags`, which its
    /// reads return (a listing of secrets too).
    pub fn put_tagged(
        &self,
        kind: ObjectKind,
        name: &str,
        version: &str,
        tags: &[(&str, &str)],
        payload: Payload,
    ) {
        let tags = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.store(kind, name, version, true, tags, payload);
    }

    /// Stores a new, enabled version of a plain secret.
    pub fn put_secret(&self, name: &str, version: &str, value: &str) {
        self.put_tagged_secret(name, version, value, &[]);
    }

    /// Stores a new, enabled version of a plain secret with `tags`.
    pub fn put_tagged_secret(&self, name: &str, version: &str, value: &str, tags: &[(&str, &str)]) {
        let payload = Payload::Secret {
            value: value.to_owned(),
            content_type: None,
            kid: false,
        };
        self.put_tagged(ObjectKind::Secret, name, version, tags, payload);
    }

    fn store(
        &self,
        kind: ObjectKind,
        name: &str,
        version: &str,
        enabled: bool,
        tags: BTreeMap<String, String>,
        payload: Payload,
    ) {
        let mut objects = lock(&self.0.objects);
        let versions = objects.entry((kind, name.to_owned())).or_default();
        let age = u64::try_from(versions.len()).unwrap_or(u64::MAX);
        versions.push(Stored {
            version: version.to_owned(),
            enabled,
            created: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + age),
            tags,
            payload,
        });
    }

    /// Deletes an object, every version of it.
    pub fn delete(&self, kind: ObjectKind, name: &str) {
        lock(&self.0.objects).remove(&(kind, name.to_owned()));
    }

    /// Queues a failure for the next calls about `name`.
    pub fn fail(&self, name: &str, fault: Fault) {
        lock(&self.0.faults)
            .entry(name.to_owned())
            .or_default()
            .push_back(fault);
    }

    /// Delays every call by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        *lock(&self.0.delay) = delay;
    }

    /// Runs `hook` after each listing of secrets is made and before it is
    /// returned: what happens to the vault between a listing and the reads
    /// that follow it.
    pub fn after_listing(&self, hook: impl Fn(&MemoryVault) + Send + Sync + 'static) {
        *lock(&self.0.after_listing) = Some(Arc::new(hook));
    }

    /// The most calls that were in progress at once.
    #[must_use]
    pub fn max_in_flight(&self) -> usize {
        self.0.max_in_flight.load(Ordering::SeqCst)
    }

    /// Calls made (each read and each listing).
    #[must_use]
    pub fn calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }

    /// Listings of the vault's secrets made.
    #[must_use]
    pub fn listings(&self) -> usize {
        self.0.listings.load(Ordering::SeqCst)
    }

    /// Checks of the list permission made ([`VaultObjects::may_list_secrets`]).
    #[must_use]
    pub fn probes(&self) -> usize {
        self.0.probes.load(Ordering::SeqCst)
    }

    /// The ServiceAccount tokens presented, in call order.
    #[must_use]
    pub fn seen_tokens(&self) -> Vec<String> {
        lock(&self.0.seen_tokens).clone()
    }

    /// Counts the call, waits the delay, and answers the fault queued for
    /// `name`, if any, as Key Vault would.
    async fn enter(
        &self,
        vault: &str,
        reader: &ReadAs,
        kind: ObjectKind,
        name: &str,
    ) -> Result<(), VaultError> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if let ReadAs::Workload { token, .. } | ReadAs::IdentityBinding { token, .. } = reader {
            lock(&self.0.seen_tokens).push(token.secret().to_owned());
        }
        let now = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = *lock(&self.0.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        let fault = {
            let mut faults = lock(&self.0.faults);
            let queue = faults.entry(name.to_owned()).or_default();
            match queue.front_mut() {
                Some(Fault::Throttle(_, n) | Fault::ServerError(n) | Fault::NotFound(n))
                    if *n > 1 =>
                {
                    *n -= 1;
                    queue.front().cloned()
                }
                Some(Fault::Forbidden) => queue.front().cloned(),
                Some(_) => queue.pop_front(),
                None => None,
            }
        };
        let vault = vault.trim_end_matches('/').to_owned();
        let what = format!("reading {kind} {name}");
        let error = match fault {
            None => return Ok(()),
            Some(Fault::NotFound(_)) => return Err(not_found(vault, kind, name, None)),
            Some(Fault::Forbidden) => Error::Forbidden {
                vault,
                what,
                code: "ForbiddenByRbac".to_owned(),
                message: "Caller is not authorized to perform action on resource.".to_owned(),
                role: Some(kind.reader_role()),
            },
            Some(Fault::Throttle(retry_after, _)) => Error::KeyVault {
                vault,
                what,
                status: 429,
                code: "Throttled".to_owned(),
                message: "Request was not processed because too many requests were received."
                    .to_owned(),
                retry_after: Some(retry_after),
            },
            Some(Fault::ServerError(_)) => Error::KeyVault {
                vault,
                what,
                status: 500,
                code: "InternalServerError".to_owned(),
                message: "try again".to_owned(),
                retry_after: None,
            },
        };
        Err(error.into())
    }

    /// The version asked for (the newest enabled one for `None`), with its
    /// id, or Key Vault's 404.
    fn find(
        &self,
        vault: &str,
        kind: ObjectKind,
        name: &str,
        version: Option<&str>,
    ) -> Result<(String, Stored), VaultError> {
        let objects = lock(&self.0.objects);
        let found = objects
            .get(&(kind, name.to_owned()))
            .and_then(|versions| match version {
                None => versions.iter().rev().find(|v| v.enabled),
                Some(wanted) => versions.iter().find(|v| v.version == wanted),
            });
        let Some(stored) = found else {
            return Err(not_found(
                vault.trim_end_matches('/').to_owned(),
                kind,
                name,
                version,
            ));
        };
        Ok((id(vault, kind, name, Some(&stored.version)), stored.clone()))
    }
}

/// Key Vault's 404 for `name` (`version`) of `kind`.
fn not_found(vault: String, kind: ObjectKind, name: &str, version: Option<&str>) -> VaultError {
    let (name, version) = (name.to_owned(), version.map(str::to_owned));
    let error = match kind {
        ObjectKind::Secret => Error::SecretNotFound {
            vault,
            name,
            version,
        },
        ObjectKind::Key => Error::KeyNotFound {
            vault,
            name,
            version,
        },
        ObjectKind::Cert => Error::CertificateNotFound {
            vault,
            name,
            version,
        },
    };
    error.into()
}

/// A stored payload of the wrong kind: the store is keyed by kind, so
/// only a test that stored it so can get here.
fn mismatched(kind: ObjectKind, name: &str) -> VaultError {
    VaultError::Other {
        source: Box::new(Error::Challenge {
            vault: "memory".to_owned(),
            problem: format!("{kind} {name} was stored with another kind's payload"),
        }),
    }
}

impl VaultObjects for MemoryVault {
    async fn secret(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> Result<Secret, VaultError> {
        self.enter(vault, reader, ObjectKind::Secret, name).await?;
        let (id, stored) = self.find(vault, ObjectKind::Secret, name, version)?;
        let Payload::Secret {
            value,
            content_type,
            kid,
        } = stored.payload
        else {
            return Err(mismatched(ObjectKind::Secret, name));
        };
        let mut properties =
            SecretProperties::from_id(&id).ok_or_else(|| mismatched(ObjectKind::Secret, name))?;
        properties.key_id = kid.then(|| id.replace("/secrets/", "/keys/"));
        properties.managed = kid;
        properties.content_type = content_type;
        properties.tags = stored.tags;
        properties.created = Some(stored.created);
        Ok(Secret {
            properties,
            value: SecretValue::new(value),
        })
    }

    async fn key(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> Result<Key, VaultError> {
        self.enter(vault, reader, ObjectKind::Key, name).await?;
        let (id, stored) = self.find(vault, ObjectKind::Key, name, version)?;
        let Payload::Key(jwk) = stored.payload else {
            return Err(mismatched(ObjectKind::Key, name));
        };
        let mut properties =
            KeyProperties::from_id(&id).ok_or_else(|| mismatched(ObjectKind::Key, name))?;
        properties.tags = stored.tags;
        properties.created = Some(stored.created);
        Ok(Key::new(properties, jwk))
    }

    async fn certificate(
        &self,
        vault: &str,
        reader: &ReadAs,
        name: &str,
        version: Option<&str>,
    ) -> Result<Certificate, VaultError> {
        self.enter(vault, reader, ObjectKind::Cert, name).await?;
        let (id, stored) = self.find(vault, ObjectKind::Cert, name, version)?;
        let Payload::Cert(cer) = stored.payload else {
            return Err(mismatched(ObjectKind::Cert, name));
        };
        let mut properties = CertificateProperties::from_id(&id)
            .ok_or_else(|| mismatched(ObjectKind::Cert, name))?;
        properties.tags = stored.tags;
        properties.created = Some(stored.created);
        Ok(Certificate::new(properties, cer))
    }

    async fn versions(
        &self,
        vault: &str,
        reader: &ReadAs,
        kind: ObjectKind,
        name: &str,
    ) -> Result<Vec<VersionInfo>, VaultError> {
        self.enter(vault, reader, kind, name).await?;
        let objects = lock(&self.0.objects);
        Ok(objects
            .get(&(kind, name.to_owned()))
            .map(|versions| {
                versions
                    .iter()
                    .map(|v| VersionInfo {
                        version: v.version.clone(),
                        enabled: v.enabled,
                        created: Some(v.created),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn secrets(
        &self,
        vault: &str,
        reader: &ReadAs,
    ) -> Result<Vec<SecretProperties>, VaultError> {
        self.enter(vault, reader, ObjectKind::Secret, "").await?;
        self.0.listings.fetch_add(1, Ordering::SeqCst);
        let listed: Vec<SecretProperties> = {
            let objects = lock(&self.0.objects);
            let mut names: Vec<&String> = objects
                .keys()
                .filter(|(kind, _)| *kind == ObjectKind::Secret)
                .map(|(_, name)| name)
                .collect();
            names.sort();
            names
                .into_iter()
                .filter_map(|name| {
                    let newest = objects.get(&(ObjectKind::Secret, name.clone()))?.last()?;
                    let mut properties =
                        SecretProperties::from_id(&id(vault, ObjectKind::Secret, name, None))?;
                    properties.enabled = newest.enabled;
                    properties.tags = newest.tags.clone();
                    Some(properties)
                })
                .collect()
        };
        let hook = lock(&self.0.after_listing).clone();
        if let Some(hook) = hook {
            hook(self);
        }
        Ok(listed)
    }

    async fn may_list_secrets(&self, vault: &str, reader: &ReadAs) -> Result<(), VaultError> {
        self.enter(vault, reader, ObjectKind::Secret, "").await?;
        self.0.probes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FederatedIdentity;

    const VAULT: &str = "https://kv1.vault.azure.net";

    fn reader() -> ReadAs {
        ReadAs::workload(
            FederatedIdentity::new(
                "72f988bf-0000-4000-8000-000000000001".parse().unwrap(),
                "11111111-2222-3333-4444-555555555555".parse().unwrap(),
            ),
            azure_wi_core::AzureCloud::Public,
            crate::Assertion::new("a.b.c").unwrap(),
        )
    }

    #[tokio::test]
    async fn reads_lists_and_fails_as_key_vault_would() {
        let vault = MemoryVault::default();
        vault.put_secret("db", "v1", "old");
        vault.put_tagged_secret("db", "v2", "new", &[("env", "prod")]);
        let secret = vault.secret(VAULT, &reader(), "db", None).await.unwrap();
        assert_eq!(secret.value.expose(), "new");
        assert_eq!(secret.properties.id, format!("{VAULT}/secrets/db/v2"));
        let old = vault.secret(VAULT, &reader(), "db", Some("v1")).await;
        assert_eq!(old.unwrap().value.expose(), "old");

        let listed = vault.secrets(VAULT, &reader()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].name, "db");
        assert_eq!(listed[0].tags["env"], "prod");

        let missing = vault.key(VAULT, &reader(), "nope", None).await.unwrap_err();
        assert!(
            matches!(&missing, VaultError::NotFound { kind: ObjectKind::Key, name, .. } if name == "nope"),
            "{missing:?}"
        );
        vault.fail("db", Fault::Throttle(Duration::from_secs(7), 1));
        let throttled = vault
            .secret(VAULT, &reader(), "db", None)
            .await
            .unwrap_err();
        assert!(matches!(
            throttled,
            VaultError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(7)
        ));
        assert_eq!(vault.seen_tokens().len(), 5);
    }

    #[tokio::test]
    async fn keys_and_certificates_are_read_with_their_tags() {
        let vault = MemoryVault::default();
        let jwk = JsonWebKey::Ec {
            crv: crate::EcCurve::P256,
            x: vec![1],
            y: vec![2],
            hsm: false,
        };
        vault.put_tagged(
            ObjectKind::Key,
            "k",
            "v1",
            &[("team", "a")],
            Payload::Key(jwk),
        );
        vault.put_tagged(
            ObjectKind::Cert,
            "c",
            "v1",
            &[("env", "prod")],
            Payload::Cert(vec![0x30, 0]),
        );
        let key = vault.key(VAULT, &reader(), "k", None).await.unwrap();
        assert_eq!(key.properties.tags["team"], "a");
        assert_eq!(
            key.properties.created,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000))
        );
        let cert = vault
            .certificate(VAULT, &reader(), "c", None)
            .await
            .unwrap();
        assert_eq!(cert.properties.tags["env"], "prod");
        assert_eq!(cert.cer, [0x30, 0]);
    }

    #[tokio::test]
    async fn the_hook_runs_between_a_listing_and_the_next_read() {
        let vault = MemoryVault::default();
        vault.put_secret("gone", "v1", "x");
        vault.after_listing(|vault| vault.delete(ObjectKind::Secret, "gone"));
        let listed = vault.secrets(VAULT, &reader()).await.unwrap();
        assert_eq!(listed[0].name, "gone", "listed before the hook ran");
        let read = vault.secret(VAULT, &reader(), "gone", None).await;
        assert!(matches!(read, Err(VaultError::NotFound { .. })));
    }
}
