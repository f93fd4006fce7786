//! Reading only what changed: at a periodic refresh, one listing of the
//! vault (made by one of the store identities that read it, each other
//! identity showing with one request that it may still list the vault)
//! says when each secret was last updated; an ExternalSecret whose every
//! object is a current secret version the listing shows as not updated
//! since that ExternalSecret's last read keeps its Secret as it is, with no
//! GET. Anything else is read as before: a key or a certificate, a pinned
//! `version`, a `dataFrom.find` (whose result is the listing itself, and
//! whose earlier result is not remembered), a template kept in a ConfigMap
//! or Secret, a secret the listing does not show (deleted, disabled), or
//! one updated since. (A template in the spec is rendered again only when
//! something is read: one calling `now` or a random function keeps its
//! last output between full reads, where ESO renders it at every refresh.) Every
//! [`Freshness::full_read_every`]-th refresh reads everything anyway,
//! which bounds what a listing cannot see (an identity's read permission
//! on one secret revoked while it may still list the vault).
//!
//! Times: a listing's `updated` is the vault's clock, in whole seconds;
//! the reference an ExternalSecret is compared with is this process's
//! clock when its last read (or the listing that let it skip) began, less
//! [`CLOCK_MARGIN`], so a write in the same second as the last read, or a
//! vault clock behind this one by less than the margin, still counts as a
//! change. A write the margin makes look recent is read again once, not
//! missed. Pure, but for [`Freshness`]'s memory.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use crate::{
    plan::{Read, SyncPlan},
    remote::ObjectKind,
};

/// How far this process's clock and the vault's may disagree before a
/// change could be missed (then only until the next full read): both keep
/// to network time, a skew of a second is already rare.
pub const CLOCK_MARGIN: Duration = Duration::from_secs(5);

/// By default every thirtieth refresh of an ExternalSecret reads everything:
/// at 10,000 ExternalSecrets on a one-minute refresh, 333 GETs a minute
/// (every tenth would be 1,000, twice the vault requests the listing
/// leaves room for), and with ESO's one-hour default a full read a day
/// and a quarter.
pub const DEFAULT_FULL_READ_EVERY: u32 = 30;

/// The key of a store identity: the vault and who reads it (the
/// ServiceAccount `namespace/name`, or the controller's own identity).
/// ExternalSecrets of one key share refresh slots and listings.
#[must_use]
pub fn identity_key(vault_url: &str, service_account: Option<(&str, &str)>) -> String {
    match service_account {
        Some((namespace, name)) => format!("{vault_url}|{namespace}/{name}"),
        None => format!("{vault_url}|controller"),
    }
}

/// Whether a listing can tell if `plan`'s Secret would change: every read
/// is of a secret's current version (tags included: a tag change updates
/// the secret), there is no `find`, and no template is kept in a
/// ConfigMap or Secret (which can change while the spec and the vault do
/// not).
#[must_use]
pub fn listing_can_tell(plan: &SyncPlan) -> bool {
    let templates_elsewhere = plan.template.as_ref().is_some_and(|t| {
        t.template_from
            .iter()
            .any(|from| from.config_map.is_some() || from.secret.is_some())
    });
    !templates_elsewhere
        && plan.finds.is_empty()
        && !(plan.reads.is_empty() && plan.extracts.is_empty())
        && plan.reads.iter().chain(&plan.extracts).all(current_secret)
}

fn current_secret(read: &Read) -> bool {
    read.remote.kind == ObjectKind::Secret && read.version.is_none()
}

/// Whether every object `plan` reads is listed by `updated_of` (a listed,
/// enabled secret's last update, `None` when not listed) as updated before
/// `since` (whole seconds, as the vault writes them).
#[must_use]
pub fn unchanged(
    plan: &SyncPlan,
    updated_of: impl Fn(&str) -> Option<SystemTime>,
    since: SystemTime,
) -> bool {
    listing_can_tell(plan)
        && plan.reads.iter().chain(&plan.extracts).all(|read| {
            updated_of(&read.remote.name).is_some_and(|updated| seconds(updated) < seconds(since))
        })
}

fn seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What is remembered of one ExternalSecret's reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fresh {
    /// Its spec version when last read ([`crate::schedule::spec_version`]).
    version: u64,
    /// Compare the vault's `updated` with this.
    since: SystemTime,
    /// Refreshes skipped since the last full read.
    skipped: u32,
}

/// Per ExternalSecret (by uid), since when its Secret is known to hold the
/// vault's values. Memory only: after a restart every ExternalSecret is
/// read in full once.
#[derive(Debug)]
pub struct Freshness {
    full_read_every: u32,
    known: Mutex<HashMap<String, Fresh>>,
}

impl Default for Freshness {
    fn default() -> Self {
        Self::new(DEFAULT_FULL_READ_EVERY)
    }
}

/// Where in the cycle of `full_read_every` refreshes `uid`'s first read
/// puts it: a stable spread in `[0, full_read_every)`, the refreshes
/// counted as already skipped (at `full_read_every - 1` the next refresh
/// is a full read).
#[must_use]
pub fn phase(uid: &str, full_read_every: u32) -> u32 {
    crate::schedule::spread(uid) % full_read_every.max(1)
}

fn version_hash(version: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    version.hash(&mut hasher);
    hasher.finish()
}

impl Freshness {
    /// Every `full_read_every`-th refresh reads everything (`1`: every
    /// refresh, which turns listings off).
    #[must_use]
    pub fn new(full_read_every: u32) -> Self {
        Self {
            full_read_every: full_read_every.max(1),
            known: Mutex::default(),
        }
    }

    /// The full-read period.
    #[must_use]
    pub fn full_read_every(&self) -> u32 {
        self.full_read_every
    }

    /// The reference to compare `uid`'s objects with, when this refresh
    /// may skip its reads: its spec is the one last read, and fewer than
    /// `full_read_every - 1` refreshes were skipped since a full read.
    #[must_use]
    pub fn may_skip(&self, uid: &str, version: &str) -> Option<SystemTime> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = known.get(uid)?;
        (fresh.version == version_hash(version) && fresh.skipped + 1 < self.full_read_every)
            .then_some(fresh.since)
    }

    /// `uid` was read in full, the reads having begun at `began`.
    ///
    /// After a first read (of this spec, or since this process started)
    /// the count of skipped refreshes starts at [`phase`] instead of 0, so
    /// ExternalSecrets first read together (at start-up) do not all fall
    /// due for their full reads in the same refresh ever after; a full
    /// read comes no later than it would otherwise.
    pub fn read(&self, uid: &str, version: &str, began: SystemTime) {
        let version = version_hash(version);
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        let skipped = match known.get(uid) {
            Some(fresh) if fresh.version == version => 0,
            _ => phase(uid, self.full_read_every),
        };
        known.insert(
            uid.to_owned(),
            Fresh {
                version,
                since: began.checked_sub(CLOCK_MARGIN).unwrap_or(began),
                skipped,
            },
        );
    }

    /// `uid`'s reads were skipped on a listing that began at `listed`.
    pub fn skipped(&self, uid: &str, listed: SystemTime) {
        if let Some(fresh) = self
            .known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(uid)
        {
            fresh.since = listed.checked_sub(CLOCK_MARGIN).unwrap_or(listed);
            fresh.skipped += 1;
        }
    }

    /// `uid` is gone, or its Secret is no longer known to be current.
    pub fn forget(&self, uid: &str) {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;
