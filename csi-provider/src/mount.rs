//! The mount flow: plan, fetch, render, check. The only I/O is the
//! [`VaultObjects`] the flow is generic over; everything it decides is in
//! the plan (before) and in [`assemble`] (after), both pure. Each failed
//! call's classified error becomes the user's message through
//! [`Call::error`].
//!
//! Fetches of one mount run concurrently, bounded per vault by a semaphore
//! shared by all mounts, so a node full of pods republishing every minute
//! cannot open unbounded requests to one vault. A [`Error::Throttled`]
//! answer is retried after its `retry_after` while that still ends before
//! the mount's deadline.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use azure_wi_auth::{Certificate, Key, Secret, delivery::ReadAs};
use futures::future::try_join_all;
use prost::Message;
use tokio::{sync::Semaphore, time::Instant};

use crate::{
    Error,
    attributes::check_secrets,
    content::{cert_file, key_file, secret_file, secret_files_separated},
    identity::Identity,
    keyvault::Call,
    objects::{ObjectSpec, ObjectType},
    parameters::Vault,
    paths::overlaps,
    plan::MountPlan,
    proto::{File, MountRequest, MountResponse, ObjectVersion},
    vault::{VaultObjects, VersionInfo, version_of},
};

/// The driver's default `--max-call-recv-msg-size`, 4 MiB.
pub const DRIVER_MAX_RESPONSE_BYTES: usize = 4 << 20;

/// Limits of the mount flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Concurrent Key Vault requests per vault, across all mounts.
    pub per_vault_concurrency: usize,
    /// How long one mount may take, throttling waits included. Kubelet
    /// retries a failed mount, so failing in time beats hanging.
    pub deadline: Duration,
    /// Largest encoded MountResponse; the driver refuses larger ones.
    pub max_response_bytes: usize,
    /// `--write-cert-and-key-in-separate-files`: a certificate's secret
    /// also gives `<file>.crt` and `<file>.key`, as the Go provider's flag
    /// (Helm value `writeCertAndKeyInSeparateFiles`) does.
    pub write_cert_and_key_in_separate_files: bool,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            per_vault_concurrency: 8,
            deadline: Duration::from_secs(30),
            max_response_bytes: DRIVER_MAX_RESPONSE_BYTES,
            write_cert_and_key_in_separate_files: false,
        }
    }
}

/// One fetched version of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// From [`VaultObjects::secret`].
    Secret(Secret),
    /// From [`VaultObjects::key`].
    Key(Key),
    /// From [`VaultObjects::certificate`].
    Cert(Certificate),
}

impl Fetched {
    /// The Key Vault id, whose last segment is the version.
    #[must_use]
    pub fn id(&self) -> &str {
        match self {
            Self::Secret(s) => &s.properties.id,
            Self::Key(k) => &k.properties.id,
            Self::Cert(c) => &c.properties.id,
        }
    }
}

/// One mount's reads: the vault, whom they are made as, and the limits.
struct Reads<'a> {
    vault: &'a Vault,
    url: String,
    identity: &'a Identity,
    reader: ReadAs,
    semaphore: &'a Semaphore,
    deadline: Instant,
}

impl<'a> Reads<'a> {
    /// A call about `spec` (`version` `None` for the latest), to name it
    /// in errors.
    fn call(&self, spec: &'a ObjectSpec, version: Option<&'a str>, listing: bool) -> Call<'a> {
        Call {
            vault: self.vault,
            identity: self.identity,
            object_type: spec.object_type,
            name: &spec.name,
            version,
            listing,
        }
    }
}

/// Serves mounts from a [`VaultObjects`].
#[derive(Debug)]
pub struct Mounter<V> {
    vault: V,
    options: MountOptions,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl<V: VaultObjects> Mounter<V> {
    /// A mounter fetching from `vault`.
    pub fn new(vault: V, options: MountOptions) -> Self {
        Self {
            vault,
            options,
            limits: Mutex::default(),
        }
    }

    /// Serves one MountRequest: the files and object versions, or the
    /// error to show the user.
    ///
    /// # Errors
    ///
    /// Any [`Error`] from the plan, the fetches, the content or the size
    /// check.
    pub async fn mount(&self, request: &MountRequest) -> Result<MountResponse, Error> {
        check_secrets(&request.secrets)?;
        let plan = MountPlan::from_request(&request.attributes, &request.permission)?;
        self.mount_plan(&plan).await
    }

    /// Fetches and renders a validated plan.
    ///
    /// # Errors
    ///
    /// As [`Self::mount`], without the plan's.
    #[tracing::instrument(skip_all, fields(pod = %plan.pod.pod_ref(), vault = %plan.vault.name, objects = plan.objects.len()))]
    pub async fn mount_plan(&self, plan: &MountPlan) -> Result<MountResponse, Error> {
        let deadline = Instant::now() + self.options.deadline;
        let semaphore = self.semaphore(&plan.vault);
        let reader = plan.identity.read_as().map_err(|e| Error::Entra {
            tenant: plan.identity.tenant.to_string(),
            client_id: plan.identity.client_id.to_string(),
            description: e.to_string(),
        })?;
        let reads = Reads {
            vault: &plan.vault,
            url: plan.vault.url(),
            identity: &plan.identity,
            reader,
            semaphore: &semaphore,
            deadline,
        };
        let fetches = plan
            .objects
            .iter()
            .map(|object| self.fetch_object(&reads, &object.spec));
        let fetched = tokio::time::timeout_at(deadline, try_join_all(fetches))
            .await
            .map_err(|_| Error::DeadlineExceeded {
                vault: plan.vault.name.to_string(),
                deadline: self.options.deadline,
            })??;
        assemble(plan, &fetched, &self.options)
    }

    /// The semaphore of `vault`, created on first use.
    fn semaphore(&self, vault: &Vault) -> Arc<Semaphore> {
        // A poisoned lock only means another mount panicked while inserting;
        // the map is still consistent.
        let mut limits = self
            .limits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            limits.entry(vault.url()).or_insert_with(|| {
                Arc::new(Semaphore::new(self.options.per_vault_concurrency.max(1)))
            }),
        )
    }

    /// Every version of one object the plan asks for, newest first.
    async fn fetch_object(
        &self,
        reads: &Reads<'_>,
        spec: &ObjectSpec,
    ) -> Result<Vec<Fetched>, Error> {
        if !spec.has_history() {
            let one = self
                .fetch_version(reads, spec, spec.version.as_deref())
                .await?;
            return Ok(vec![one]);
        }
        let call = reads.call(spec, None, true);
        let listed = limited(reads.semaphore, reads.deadline, || async {
            self.vault
                .versions(&reads.url, &reads.reader, spec.object_type, &spec.name)
                .await
                .map_err(|e| call.error(e))
        })
        .await?;
        let versions = select_history(reads.vault, spec, listed)?;
        try_join_all(
            versions
                .iter()
                .map(|v| self.fetch_version(reads, spec, Some(v))),
        )
        .await
    }

    async fn fetch_version(
        &self,
        reads: &Reads<'_>,
        spec: &ObjectSpec,
        version: Option<&str>,
    ) -> Result<Fetched, Error> {
        let (url, reader, name) = (reads.url.as_str(), &reads.reader, spec.name.as_str());
        let call = reads.call(spec, version, false);
        let (semaphore, deadline) = (reads.semaphore, reads.deadline);
        match spec.object_type {
            ObjectType::Secret => limited(semaphore, deadline, || async {
                self.vault
                    .secret(url, reader, name, version)
                    .await
                    .map_err(|e| call.error(e))
            })
            .await
            .map(Fetched::Secret),
            ObjectType::Key => limited(semaphore, deadline, || async {
                self.vault
                    .key(url, reader, name, version)
                    .await
                    .map_err(|e| call.error(e))
            })
            .await
            .map(Fetched::Key),
            ObjectType::Cert => limited(semaphore, deadline, || async {
                self.vault
                    .certificate(url, reader, name, version)
                    .await
                    .map_err(|e| call.error(e))
            })
            .await
            .map(Fetched::Cert),
        }
    }
}

/// Most attempts of one call that Key Vault answers with a server error.
const SERVER_ERROR_ATTEMPTS: u32 = 3;

/// Runs one Key Vault call under the vault's semaphore, waiting out
/// throttling (Key Vault's `Retry-After`) and retrying server errors
/// (1 s, then 2 s) while the deadline allows. The permit is released
/// while waiting, so a throttled mount does not block the vault's other
/// mounts from the requests Key Vault still accepts.
async fn limited<T, F, Fut>(semaphore: &Semaphore, deadline: Instant, call: F) -> Result<T, Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut server_errors = 0;
    loop {
        let result = {
            let _permit = semaphore
                .acquire()
                .await
                .expect("the semaphore is never closed");
            call().await
        };
        let wait = match &result {
            Err(Error::Throttled { retry_after, .. }) => *retry_after,
            Err(Error::KeyVault { status, .. })
                if *status >= 500 && server_errors + 1 < SERVER_ERROR_ATTEMPTS =>
            {
                server_errors += 1;
                Duration::from_secs(1 << (server_errors - 1))
            }
            _ => return result,
        };
        if Instant::now() + wait >= deadline {
            return result;
        }
        tracing::debug!(
            wait_ms = wait.as_millis(),
            "Key Vault asked to wait; waiting"
        );
        tokio::time::sleep(wait).await;
    }
}

/// The versions an `objectVersionHistory` writes, index 0 first: enabled
/// versions, newest first by creation time, starting at `objectVersion`
/// (or the newest), at most `objectVersionHistory` of them.
///
/// The Go provider's loop can return one version more than asked when more
/// exist; this returns exactly `min(asked, available)`.
///
/// # Errors
///
/// [`Error::ObjectNotFound`] when no version is enabled,
/// [`Error::HistoryStartNotFound`] when `objectVersion` is not one of them.
pub fn select_history(
    vault: &Vault,
    spec: &ObjectSpec,
    mut versions: Vec<VersionInfo>,
) -> Result<Vec<String>, Error> {
    versions.retain(|v| v.enabled);
    // Newest first; versions without a creation time last, listing order
    // kept among equals (the sort is stable).
    versions.sort_by_key(|v| std::cmp::Reverse(v.created));
    let start = match spec.version.as_deref() {
        None if versions.is_empty() => {
            return Err(Error::ObjectNotFound {
                vault: vault.name.to_string(),
                object_type: spec.object_type,
                name: spec.name.clone(),
                version: None,
            });
        }
        None => 0,
        Some(wanted) => versions
            .iter()
            .position(|v| v.version == wanted)
            .ok_or_else(|| Error::HistoryStartNotFound {
                object_type: spec.object_type,
                name: spec.name.clone(),
                version: wanted.to_owned(),
            })?,
    };
    let count = usize::try_from(spec.version_history).unwrap_or(usize::MAX);
    Ok(versions
        .into_iter()
        .skip(start)
        .take(count)
        .map(|v| v.version)
        .collect())
}

/// Renders fetched objects into the response: files, modes and object
/// versions, checked against the size limit.
///
/// `fetched[i]` holds the versions of `plan.objects[i]`, newest first.
/// Without history an object is one file at its path with id
/// `<type>/<name>`; with history, version `n` is `<path>/<n>` with id
/// `<type>/<name>/<n>`. With `write_cert_and_key_in_separate_files`, a
/// certificate's secret writes `<file>.crt` and `<file>.key` before
/// `<file>`, each with the object's mode and its own entry in the object
/// versions (same id and version), as the Go provider's response lists
/// them (`pkg/server/server.go` gives every file an object version).
///
/// # Errors
///
/// A content error naming the object; [`Error::FilePathCollision`] when a
/// `.crt` or `.key` file would be another object's file (the Go provider
/// overwrites one with the other); [`Error::ResponseTooLarge`].
pub fn assemble(
    plan: &MountPlan,
    fetched: &[Vec<Fetched>],
    options: &MountOptions,
) -> Result<MountResponse, Error> {
    let mut response = MountResponse::default();
    for (index, (object, versions)) in plan.objects.iter().zip(fetched).enumerate() {
        let spec = &object.spec;
        for (history, version) in versions.iter().enumerate() {
            let (path, id) = if spec.has_history() {
                (
                    format!("{}/{history}", object.path),
                    format!("{}/{history}", spec.id()),
                )
            } else {
                (object.path.clone(), spec.id())
            };
            let files = match version {
                Fetched::Secret(secret) if options.write_cert_and_key_in_separate_files => {
                    secret_files_separated(spec, secret)?
                }
                Fetched::Secret(secret) => vec![("", secret_file(spec, secret)?)],
                Fetched::Key(key) => vec![("", key_file(&spec.name, &key.key)?)],
                Fetched::Cert(cert) => vec![("", cert_file(&spec.name, cert)?)],
            };
            for (suffix, contents) in files {
                let path = format!("{path}{suffix}");
                if !suffix.is_empty() {
                    check_extra_file(plan, index, &path)?;
                }
                response.files.push(File {
                    path,
                    mode: object.mode.as_i32(),
                    contents,
                });
                response.object_version.push(ObjectVersion {
                    id: id.clone(),
                    version: version_of(version.id()).to_owned(),
                });
            }
        }
    }
    let size = response.encoded_len();
    if size > options.max_response_bytes {
        return Err(Error::ResponseTooLarge {
            size,
            limit: options.max_response_bytes,
        });
    }
    Ok(response)
}

/// Refuses a file object `index` adds beside its own (`.crt`, `.key`)
/// when it is, holds or lies in another object's file: the plan only knew
/// each object's own path.
fn check_extra_file(plan: &MountPlan, index: usize, path: &str) -> Result<(), Error> {
    match plan
        .objects
        .iter()
        .position(|other| overlaps(&other.path, path))
    {
        Some(other) if other != index => Err(Error::FilePathCollision {
            first: other.min(index),
            second: other.max(index),
            path: path.to_owned(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "mount_tests.rs"]
mod tests;
