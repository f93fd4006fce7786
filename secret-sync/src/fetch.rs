//! The Key Vault reads of one sync: each `data` and `dataFrom` reference,
//! within the vault's request budget, as the store's identity, through
//! `azure-wi-auth`'s Key Vault contract ([`VaultObjects`]), whose
//! classified [`VaultError`] decides what the controller does.
//!
//! `dataFrom.find` is what exists in the vault now, as ESO's is: a listing
//! serves the sync it was made for and, to spare the vault when many
//! ExternalSecrets of one store sync together, other syncs of that store
//! and identity for [`LISTING_REUSE`] at most. A listing can still be
//! behind the vault (a secret deleted since), so a 404 on a secret a
//! listing named is never taken as "the remote is gone": the vault is
//! listed afresh and the find is what that listing names. A secret that
//! is gone is then simply not part of the result; only a reference the
//! user wrote (`data`, `dataFrom.extract`) that 404s is reported gone,
//! for `deletionPolicy` to decide.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use azure_wi_auth::{
    Assertion, FederatedIdentity, WorkloadIdentityCredential, WorkloadVaults,
    delivery::{ReadAs, VaultError, VaultObjects},
};

use crate::{
    api::MetadataPolicy,
    budget::Budget,
    identity::WorkloadIdentity,
    plan::{Read, SyncPlan},
    remote::{Metadata, ObjectKind, Remote, jwk_json},
    store::AzureStore,
    target::Fetched,
    tokens::IssuedToken,
};

/// How long a listing of a vault's secrets may serve syncs other than the
/// one it was made for (of the same store and identity, and never longer
/// than the asking ExternalSecret's refresh interval). ExternalSecrets of
/// a store tend to sync in bursts (at start-up, after the store changes,
/// when their refreshes share a slot), which a few seconds cover, while no
/// listing is trusted long after it was made. A secret deleted within the
/// window costs a fresh listing, not the user's Secret.
pub const LISTING_REUSE: Duration = Duration::from_secs(5);

/// Why a sync's reads failed.
#[derive(Debug, Clone)]
pub enum FetchError {
    /// Wait this long before reading from this vault again (the budget is
    /// spent, or Key Vault asked with `Retry-After`).
    Throttled(Duration),
    /// A remote object the ExternalSecret names (`data`,
    /// `dataFrom.extract`) does not exist: `deletionPolicy` decides. Never
    /// for `dataFrom.find`, whose result is what exists.
    NotFound(String),
    /// Anything else, classified; its message is the condition's: Entra's
    /// refusal with its diagnosis, a 403 with the role to grant, a network
    /// error.
    Failed(VaultError),
}

/// Whose token a read uses.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    /// A referenced ServiceAccount's identity and its current token.
    Workload(&'a WorkloadIdentity, &'a IssuedToken),
    /// The controller's own identity (a store without serviceAccountRef).
    Controller,
}

#[derive(Debug, Clone)]
struct Listed {
    name: String,
    tags: BTreeMap<String, String>,
    /// The current version's last update, the vault's clock.
    updated: Option<SystemTime>,
}

/// A listing: when it was made (to reuse it, and, by this process's
/// clock, when it began), who made it, and what it names.
#[derive(Debug, Clone)]
struct Made {
    at: Instant,
    began: SystemTime,
    by: String,
    listed: Arc<Vec<Listed>>,
}

type Listing = Arc<tokio::sync::Mutex<Option<Made>>>;

/// When an identity last showed it may list a vault.
type Probe = Arc<tokio::sync::Mutex<Option<Instant>>>;

/// Reads for every ExternalSecret, sharing credentials, budgets and
/// listings.
#[derive(Debug)]
pub struct Reader<V = WorkloadVaults> {
    vault: V,
    budget: Budget,
    listings: Mutex<HashMap<(String, String), Listing>>,
    /// Per vault, the listing refreshes compare with, whoever made it.
    vault_listings: Mutex<HashMap<String, Listing>>,
    /// Per vault and identity, when its list permission last stood.
    probes: Mutex<HashMap<(String, String), Probe>>,
    requests: AtomicU64,
    throttled: AtomicU64,
}

impl Reader<WorkloadVaults> {
    /// `vaults` for referenced ServiceAccounts, `own` for stores without
    /// one (`None` when the controller's pod has no workload identity),
    /// `http` to reach Key Vault as `own` (the credential's transport when
    /// `None`), at most `per_window` requests per vault per 10 s.
    #[must_use]
    pub fn new(
        vaults: WorkloadVaults,
        own: Option<WorkloadIdentityCredential>,
        http: Option<reqwest::Client>,
        per_window: u32,
    ) -> Self {
        // WorkloadVaults makes one attempt per Key Vault request:
        // throttling is the budget's to wait out, by requeueing, never by a
        // sleeping reconcile.
        let vaults = match own {
            Some(own) => vaults.with_own_identity(own, http),
            None => vaults,
        };
        Self::from_vault(vaults, per_window)
    }
}

impl<V: VaultObjects> Reader<V> {
    /// Reading from `vault`, at most `per_window` requests per vault per
    /// 10 s.
    #[must_use]
    pub fn from_vault(vault: V, per_window: u32) -> Self {
        Self {
            vault,
            budget: Budget::new(per_window),
            listings: Mutex::default(),
            vault_listings: Mutex::default(),
            probes: Mutex::default(),
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        }
    }

    /// Key Vault requests made so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Key Vault answers of 429 or 503 received so far.
    #[must_use]
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }

    /// Spends `n` requests of the vault's budget.
    fn spend(&self, store: &AzureStore, n: usize) -> Result<(), FetchError> {
        if n == 0 {
            return Ok(());
        }
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.budget
            .take(&store.vault_url, n, Instant::now())
            .map_err(FetchError::Throttled)?;
        self.requests.fetch_add(u64::from(n), Ordering::Relaxed);
        Ok(())
    }

    /// What the controller does about a failure: throttling pauses the
    /// vault; everything else is the condition's message.
    fn error(&self, store: &AzureStore, error: VaultError) -> FetchError {
        match error {
            VaultError::Throttled { retry_after, .. } => {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                self.budget
                    .pause(&store.vault_url, retry_after, Instant::now());
                FetchError::Throttled(retry_after)
            }
            other => FetchError::Failed(other),
        }
    }

    /// Every value `plan` needs, as `caller`.
    ///
    /// # Errors
    ///
    /// [`FetchError`].
    pub async fn fetch(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        plan: &SyncPlan,
    ) -> Result<Fetched, FetchError> {
        let reader = read_as(caller)?;
        self.spend(store, plan.reads.len() + plan.extracts.len())?;
        let reads = futures::future::try_join_all(
            plan.reads
                .iter()
                .chain(&plan.extracts)
                .map(|read| self.read(store, &reader, read)),
        )
        .await?;
        let (reads, extracts) = {
            let mut all = reads;
            let extracts = all.split_off(plan.reads.len());
            (all, extracts)
        };
        let finds = if plan.finds.is_empty() {
            Vec::new()
        } else {
            self.finds(store, caller, &reader, plan).await?
        };
        Ok(Fetched {
            reads,
            extracts,
            finds,
        })
    }

    /// One reference's object, as its value or, with `metadataPolicy:
    /// Fetch`, its tags and attributes from the same read (ESO's azurekv
    /// provider gets the object and takes its tags).
    async fn read(
        &self,
        store: &AzureStore,
        reader: &ReadAs,
        read: &Read,
    ) -> Result<Remote, FetchError> {
        let (vault, name) = (store.vault_url.as_str(), read.remote.name.as_str());
        let version = read.version.as_deref();
        let metadata = read.metadata == MetadataPolicy::Fetch;
        let value = match read.remote.kind {
            ObjectKind::Secret => {
                self.vault
                    .secret(vault, reader, name, version)
                    .await
                    .map(|secret| {
                        if metadata {
                            Remote::Metadata(Metadata::from(&secret.properties))
                        } else {
                            Remote::Value(secret.value.expose().as_bytes().to_vec())
                        }
                    })
            }
            ObjectKind::Cert => self
                .vault
                .certificate(vault, reader, name, version)
                .await
                .map(|certificate| {
                    if metadata {
                        Remote::Metadata(Metadata::from(&certificate.properties))
                    } else {
                        Remote::Value(certificate.cer)
                    }
                }),
            ObjectKind::Key => self
                .vault
                .key(vault, reader, name, version)
                .await
                .map(|key| {
                    if metadata {
                        Remote::Metadata(Metadata::from(&key.properties))
                    } else {
                        Remote::Value(
                            jwk_json(&key.properties.id, &key.key, &key.key_ops).into_bytes(),
                        )
                    }
                }),
        };
        value.map_err(|e| match e {
            VaultError::NotFound { .. } => FetchError::NotFound(read.key.clone()),
            other => self.error(store, other),
        })
    }

    /// Each `dataFrom.find`'s secrets by name: what a listing names, read;
    /// when a read finds a listed secret gone, what a fresh listing names.
    async fn finds(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        reader: &ReadAs,
        plan: &SyncPlan,
    ) -> Result<Vec<BTreeMap<String, Vec<u8>>>, FetchError> {
        let max_age = plan.refresh.map_or(LISTING_REUSE, |r| r.min(LISTING_REUSE));
        let mut listed = self.listing(store, caller, reader, max_age).await?.listed;
        let mut values: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut relisted = false;
        loop {
            let unread: Vec<String> = matching(plan, &listed)
                .into_iter()
                .filter(|name| !values.contains_key(*name))
                .map(str::to_owned)
                .collect();
            self.spend(store, unread.len())?;
            let answers = futures::future::join_all(
                unread
                    .iter()
                    .map(|name| self.vault.secret(&store.vault_url, reader, name, None)),
            )
            .await;
            let mut gone = None;
            for (name, answer) in unread.into_iter().zip(answers) {
                match answer {
                    Ok(secret) => {
                        values.insert(name, secret.value.expose().as_bytes().to_vec());
                    }
                    Err(missing @ VaultError::NotFound { .. }) => gone = Some(missing),
                    Err(other) => return Err(self.error(store, other)),
                }
            }
            match gone {
                None => break,
                // Listed afresh and still not readable: the vault is not
                // consistent yet. Retry the sync later; deleting the
                // user's Secret on it would be a guess.
                Some(missing) if relisted => return Err(FetchError::Failed(missing)),
                Some(_) => {
                    relisted = true;
                    listed = self
                        .listing(store, caller, reader, Duration::ZERO)
                        .await?
                        .listed;
                }
            }
        }
        Ok(plan
            .finds
            .iter()
            .map(|find| {
                listed
                    .iter()
                    .filter(|item| find.matches(&item.name, &item.tags))
                    .filter_map(|item| Some((item.name.clone(), values.get(&item.name)?.clone())))
                    .collect()
            })
            .collect())
    }

    /// The store's enabled secrets, listed for this sync unless a listing
    /// for this identity is younger than `max_age`.
    async fn listing(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        reader: &ReadAs,
        max_age: Duration,
    ) -> Result<Made, FetchError> {
        let who = who(caller);
        let slot = slot_of(&self.listings, (store.vault_url.clone(), who.clone()));
        let mut slot = slot.lock().await;
        if let Some(made) = slot.as_ref()
            && made.at.elapsed() < max_age
        {
            return Ok(made.clone());
        }
        let made = self.list(store, reader, who).await?;
        *slot = Some(made.clone());
        Ok(made)
    }

    /// The vault's enabled secrets, listed now as `reader` (`who`).
    async fn list(
        &self,
        store: &AzureStore,
        reader: &ReadAs,
        who: String,
    ) -> Result<Made, FetchError> {
        self.spend(store, 1)?;
        let began = SystemTime::now();
        let at = Instant::now();
        let listed: Vec<Listed> = self
            .vault
            .secrets(&store.vault_url, reader)
            .await
            .map_err(|e| self.error(store, e))?
            .into_iter()
            .filter(|p| p.enabled)
            .map(|p| Listed {
                name: p.name,
                tags: p.tags,
                updated: p.updated,
            })
            .collect();
        Ok(Made {
            at,
            began,
            by: who,
            listed: Arc::new(listed),
        })
    }

    /// The vault's listing for change detection, younger than `max_age`,
    /// whichever identity made it: the vault's content is the same for
    /// every identity that may list it, and no value comes from it, only
    /// "not updated since". An identity that did not make it first shows
    /// its own list permission still stands (one request, itself reused
    /// for `max_age`), so a revoked role fails its refresh as its own
    /// listing would have.
    async fn vault_listing(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        reader: &ReadAs,
        max_age: Duration,
    ) -> Result<Made, FetchError> {
        let who = who(caller);
        let slot = slot_of(&self.vault_listings, store.vault_url.clone());
        let made = {
            let mut slot = slot.lock().await;
            match slot.as_ref() {
                Some(made) if made.at.elapsed() < max_age => made.clone(),
                _ => {
                    let made = self.list(store, reader, who.clone()).await?;
                    *slot = Some(made.clone());
                    made
                }
            }
        };
        if made.by != who {
            self.may_list(store, reader, who, max_age).await?;
        }
        Ok(made)
    }

    /// Shows `who` may list the vault, unless it did within `max_age`.
    async fn may_list(
        &self,
        store: &AzureStore,
        reader: &ReadAs,
        who: String,
        max_age: Duration,
    ) -> Result<(), FetchError> {
        let slot = slot_of(&self.probes, (store.vault_url.clone(), who));
        let mut slot = slot.lock().await;
        if slot.is_some_and(|at| at.elapsed() < max_age) {
            return Ok(());
        }
        self.spend(store, 1)?;
        let at = Instant::now();
        self.vault
            .may_list_secrets(&store.vault_url, reader)
            .await
            .map_err(|e| self.error(store, e))?;
        *slot = Some(at);
        Ok(())
    }

    /// At a periodic refresh of `plan`, last known current since `since`
    /// ([`crate::change::Freshness`]): `Some(began)` when the vault's
    /// listing (one per vault for a quarter of the refresh interval,
    /// whichever identity made it, `caller` having shown its own list
    /// permission stands) shows none of its objects changed, `began` being
    /// when that listing began; `None` when they must be read (one
    /// changed, or a listing cannot tell, in which case nothing is
    /// listed).
    ///
    /// # Errors
    ///
    /// [`FetchError`] of the listing.
    pub async fn unchanged_since(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        plan: &SyncPlan,
        since: SystemTime,
    ) -> Result<Option<SystemTime>, FetchError> {
        if !crate::change::listing_can_tell(plan) {
            return Ok(None);
        }
        let reader = read_as(caller)?;
        // One listing for the identity's refresh, however long its syncs
        // take (their reference is the listing's start, so a later write
        // is never missed, only seen at the next refresh), and never one
        // of its previous refresh.
        let max_age = plan.refresh.map_or(LISTING_REUSE, |r| r / 4);
        let made = self.vault_listing(store, caller, &reader, max_age).await?;
        let updated: HashMap<&str, Option<SystemTime>> = made
            .listed
            .iter()
            .map(|item| (item.name.as_str(), item.updated))
            .collect();
        let unchanged =
            crate::change::unchanged(plan, |name| updated.get(name).copied().flatten(), since);
        Ok(unchanged.then_some(made.began))
    }
}

/// The entry of `key` in `map`, made empty when missing: held (and
/// awaited) on its own, so one key's listing never waits on another's.
fn slot_of<K: Eq + std::hash::Hash, T: Default>(
    map: &Mutex<HashMap<K, Arc<tokio::sync::Mutex<T>>>>,
    key: K,
) -> Arc<tokio::sync::Mutex<T>> {
    Arc::clone(
        map.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default(),
    )
}

/// Who lists: the ServiceAccount and the Entra identity it stands for, or
/// the controller.
fn who(caller: Caller<'_>) -> String {
    match caller {
        Caller::Workload(identity, _) => format!(
            "{}/{}/{}/{}",
            identity.namespace, identity.service_account, identity.client_id, identity.tenant_id
        ),
        Caller::Controller => String::from("controller"),
    }
}

/// The names of `listed` any of `plan`'s finds matches.
fn matching<'a>(plan: &SyncPlan, listed: &'a [Listed]) -> BTreeSet<&'a str> {
    listed
        .iter()
        .filter(|item| plan.finds.iter().any(|f| f.matches(&item.name, &item.tags)))
        .map(|item| item.name.as_str())
        .collect()
}

impl Reader<WorkloadVaults> {
    /// A client of `store`'s vault acting as `caller`, for `requests`
    /// requests that write (a PushSecret's), spent from the vault's budget
    /// as reads are.
    ///
    /// # Errors
    ///
    /// [`FetchError::Throttled`] when the budget is spent; `Failed` when
    /// the caller's token or identity cannot be used.
    pub fn writer(
        &self,
        store: &AzureStore,
        caller: Caller<'_>,
        requests: usize,
    ) -> Result<azure_wi_auth::SecretClient, FetchError> {
        let reader = read_as(caller)?;
        self.spend(store, requests)?;
        self.vault
            .client_as(&store.vault_url, &reader)
            .map_err(FetchError::Failed)
    }
}

/// Who `caller` reads as in `azure-wi-auth`'s terms.
fn read_as(caller: Caller<'_>) -> Result<ReadAs, FetchError> {
    match caller {
        Caller::Workload(identity, token) => {
            let token = Assertion::new(token.expose().to_owned())
                .map_err(|e| FetchError::Failed(e.into()))?;
            Ok(ReadAs::workload(
                FederatedIdentity::new(identity.tenant_id.clone(), identity.client_id.clone()),
                identity.cloud,
                token,
            ))
        }
        Caller::Controller => Ok(ReadAs::Own),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use azure_wi_auth::delivery::{
        ObjectKind as Kind,
        memory::{Fault, MemoryVault},
    };

    use super::*;
    use crate::{api::ExternalSecret, plan::plan};

    const VAULT: &str = "https://kv1.vault.azure.net";

    fn store() -> AzureStore {
        AzureStore {
            vault_url: VAULT.to_owned(),
            cloud: azure_wi_core::AzureCloud::Public,
            tenant_id: None,
            service_account: None,
            auth_secret: None,
            cluster: false,
            warnings: Vec::new(),
        }
    }

    /// The plan of an ExternalSecret with `deletionPolicy: Delete`,
    /// `refreshInterval` and this `spec` tail.
    fn sync_plan(refresh: &str, tail: &str) -> SyncPlan {
        let es: ExternalSecret = yaml_serde::from_str(&format!(
            r"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app, namespace: team-a}}
spec:
  refreshInterval: {refresh}
  secretStoreRef: {{name: store}}
  target: {{name: app, deletionPolicy: Delete}}
{tail}"
        ))
        .unwrap();
        plan(&es).unwrap()
    }

    fn find(refresh: &str) -> SyncPlan {
        sync_plan(
            refresh,
            r#"  dataFrom:
  - find: {name: {regexp: "^db-"}}
"#,
        )
    }

    fn names(fetched: &Fetched) -> Vec<&str> {
        fetched.finds[0].keys().map(String::as_str).collect()
    }

    #[tokio::test]
    async fn a_secret_deleted_between_the_listing_and_its_read_is_left_out_not_reported_gone() {
        let vault = MemoryVault::default();
        vault.put_secret("db-password", "v1", "p");
        vault.put_secret("db-user", "v1", "u");
        vault.after_listing(|vault| vault.delete(Kind::Secret, "db-user"));
        let reader = Reader::from_vault(vault.clone(), 3000);

        let fetched = reader
            .fetch(&store(), Caller::Controller, &find("1h"))
            .await
            .unwrap();

        assert_eq!(names(&fetched), ["db-password"], "what exists now");
        assert_eq!(fetched.finds[0]["db-password"], b"p");
        assert_eq!(vault.listings(), 2, "the 404 made a fresh listing");
        // A listing, two reads, a fresh listing; db-password was read once.
        assert_eq!(vault.calls(), 4);
        assert_eq!(reader.requests(), 4, "the budget counts what was sent");
    }

    #[tokio::test]
    async fn a_secret_the_fresh_listing_still_names_but_cannot_be_read_fails_the_sync() {
        let vault = MemoryVault::default();
        vault.put_secret("db-password", "v1", "p");
        vault.fail("db-password", Fault::NotFound(2));
        let reader = Reader::from_vault(vault.clone(), 3000);

        let error = reader
            .fetch(&store(), Caller::Controller, &find("0"))
            .await
            .unwrap_err();

        assert!(
            matches!(&error, FetchError::Failed(VaultError::NotFound { name, .. }) if name == "db-password"),
            "never NotFound, which deletes the Secret: {error:?}"
        );
        assert_eq!(vault.listings(), 2);
        // The next sync reads it.
        let fetched = reader
            .fetch(&store(), Caller::Controller, &find("0"))
            .await
            .unwrap();
        assert_eq!(names(&fetched), ["db-password"]);
    }

    #[tokio::test]
    async fn a_named_reference_that_is_gone_is_reported_gone() {
        let vault = MemoryVault::default();
        let reader = Reader::from_vault(vault.clone(), 3000);
        let plan = sync_plan(
            "1h",
            r"  data:
  - secretKey: password
    remoteRef: {key: secret/db-password}
",
        );
        let error = reader
            .fetch(&store(), Caller::Controller, &plan)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, FetchError::NotFound(key) if key == "secret/db-password"),
            "{error:?}"
        );
    }

    /// ESO's `secretNotFound`, `certNotFound` and `keyNotFound`
    /// (providers/v1/azure/keyvault/keyvault_test.go): Key Vault's 404 for
    /// a secret, a certificate or a key is "the remote is gone" (ESO's
    /// `NoSecretError`), naming the key as written.
    #[tokio::test]
    async fn eso_not_found_for_every_kind() {
        let reader = Reader::from_vault(MemoryVault::default(), 3000);
        for (case, key) in [
            ("secretNotFound", "test-secret"),
            ("certNotFound", "cert/certname"),
            ("keyNotFound", "key/keyname"),
        ] {
            let plan = sync_plan(
                "1h",
                &format!("  data:\n  - secretKey: x\n    remoteRef: {{key: {key}}}\n"),
            );
            let error = reader
                .fetch(&store(), Caller::Controller, &plan)
                .await
                .unwrap_err();
            assert!(
                matches!(&error, FetchError::NotFound(named) if named == key),
                "{case}: {error:?}"
            );
        }
    }

    /// ESO's `TestAzureKeyVaultSecretManagerGetAllSecrets` cases: its
    /// listing (secret ids and tags, each enabled), its find (ESO's
    /// `makeValidFind`: `name.regexp: ^example`, and the case's tags) and
    /// the map it expects; ESO's mock answers `changedvalue` for every
    /// secret read. Then what `isValidSecret` and `okByTags`
    /// (keyvault.go) leave out besides: a disabled secret, a secret
    /// missing one of the tags or carrying another value (tags compare
    /// exactly).
    #[tokio::test]
    async fn eso_get_all_secrets() {
        type Listed<'a> = &'a [(&'a str, bool, &'a [(&'a str, &'a str)])];
        type Case<'a> = (&'a str, Listed<'a>, &'a str, &'a [&'a str]);
        let both: &[(&str, &str)] = &[("environment", "dev"), ("author", "seb")];
        #[rustfmt::skip]
        let cases: &[Case<'_>] = &[
            ("setOneSecretByName", &[("example-1", true, &[])], "{}", &["example-1"]),
            ("setTwoSecretsByName", &[("example-1", true, &[]), ("not-valid", true, &[])], "{}",
                &["example-1"]),
            ("setOneSecretByTag", &[("example-1", true, &[("environment", "dev")])],
                "{environment: dev}", &["example-1"]),
            ("setTwoSecretsByTag", &[("example-1", true, both)],
                "{environment: dev, author: seb}", &["example-1"]),
            ("disabled", &[("example-1", true, &[]), ("example-2", false, &[])], "{}",
                &["example-1"]),
            ("a tag missing or another value",
                &[("example-1", true, both), ("example-2", true, &[("environment", "dev")]),
                  ("example-3", true, &[("environment", "Dev"), ("author", "seb")])],
                "{environment: dev, author: seb}", &["example-1"]),
        ];
        for (case, listed, tags, expected) in cases {
            let vault = MemoryVault::default();
            for (name, enabled, tags) in *listed {
                let payload = azure_wi_auth::delivery::memory::Payload::Secret {
                    value: "changedvalue".to_owned(),
                    content_type: None,
                    kid: false,
                };
                if *enabled {
                    vault.put_tagged(Kind::Secret, name, "v1", tags, payload);
                } else {
                    vault.put_version(Kind::Secret, name, "v1", false, payload);
                }
            }
            let reader = Reader::from_vault(vault.clone(), 3000);
            let plan = sync_plan(
                "1h",
                &format!(
                    "  dataFrom:\n  - find: {{name: {{regexp: \"^example\"}}, tags: {tags}}}\n"
                ),
            );
            let fetched = reader
                .fetch(&store(), Caller::Controller, &plan)
                .await
                .unwrap();
            let expected: BTreeMap<String, Vec<u8>> = expected
                .iter()
                .map(|name| ((*name).to_owned(), b"changedvalue".to_vec()))
                .collect();
            assert_eq!(fetched.finds[0], expected, "{case}");
            assert_eq!(
                vault.calls(),
                1 + expected.len(),
                "{case}: one listing, then only the matches are read"
            );
        }
    }

    #[tokio::test]
    async fn a_listing_serves_other_syncs_for_a_few_seconds_only_even_without_refresh() {
        let vault = MemoryVault::default();
        vault.put_secret("db-password", "v1", "p");
        let reader = Reader::from_vault(vault.clone(), 3000);
        // refreshInterval: 0 used to keep its listing for ever.
        for _ in 0..3 {
            reader
                .fetch(&store(), Caller::Controller, &find("0"))
                .await
                .unwrap();
        }
        assert_eq!(vault.listings(), 1, "a burst of syncs shares one listing");

        vault.put_secret("db-new", "v1", "n");
        tokio::time::sleep(LISTING_REUSE + Duration::from_millis(100)).await;
        let fetched = reader
            .fetch(&store(), Caller::Controller, &find("0"))
            .await
            .unwrap();
        assert_eq!(vault.listings(), 2);
        assert_eq!(names(&fetched), ["db-new", "db-password"]);
    }

    #[tokio::test]
    async fn throttling_pauses_the_vault_for_what_key_vault_asked() {
        let vault = MemoryVault::default();
        vault.put_secret("db-password", "v1", "p");
        vault.fail("db-password", Fault::Throttle(Duration::from_secs(7), 1));
        let reader = Reader::from_vault(vault.clone(), 3000);
        let error = reader
            .fetch(&store(), Caller::Controller, &find("1h"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, FetchError::Throttled(wait) if wait == Duration::from_secs(7)),
            "{error:?}"
        );
        assert_eq!(reader.throttled(), 1);
        let paused = reader
            .fetch(&store(), Caller::Controller, &find("1h"))
            .await
            .unwrap_err();
        assert!(matches!(paused, FetchError::Throttled(_)), "{paused:?}");
        assert_eq!(vault.calls(), 2, "nothing sent while paused");
    }
}
