//! When an ExternalSecret is read again (ESO's requeue rule, as
//! `shouldRefreshPeriodic` applies it in
//! `pkg/controllers/externalsecret/externalsecret_controller.go` of
//! external-secrets/external-secrets). The refreshes of the
//! ExternalSecrets of one store identity (a vault and the identity that
//! reads it) fall due together, in a slot of the interval that identity
//! keeps, so one listing of the vault tells them all what changed
//! ([`crate::change`]); the identities' slots are spread over the whole
//! interval instead of all falling due together. Pure: the clock is an
//! argument.

use crate::api::RefreshPolicy;
use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use sha3::{Digest as _, Sha3_224};

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read now.
    Now,
    /// Read again after this long.
    After(Duration),
    /// Never again on a timer (`refreshInterval: 0` after the first sync);
    /// a spec or metadata change still triggers one.
    Never,
}

/// `status.syncedResourceVersion` for an object's generation, labels and
/// annotations: a change to any of them (the `force-sync` annotation
/// included) means the next reconcile reads again.
#[must_use]
pub fn spec_version(
    generation: i64,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    let mut hasher = Sha3_224::new();
    for (k, v) in labels {
        hasher.update(format!("l:{}:{k}={}:{v};", k.len(), v.len()));
    }
    for (k, v) in annotations {
        hasher.update(format!("a:{}:{k}={}:{v};", k.len(), v.len()));
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{generation}-{digest}")
}

/// A stable offset in `[0, interval)` derived from `seed` (a store
/// identity, [`crate::change::identity_key`]): each identity keeps its
/// slot across restarts, and a hundred identities spread over the
/// interval.
#[must_use]
pub fn slot(seed: &str, interval: Duration) -> Duration {
    let fraction = f64::from(spread(seed)) / (f64::from(u32::MAX) + 1.0);
    interval.mul_f64(fraction)
}

/// A number derived from `seed` alone, the same in every process and
/// release, evenly spread over `u32`: what places a store identity's slot
/// and an ExternalSecret's full reads ([`crate::change::phase`]).
#[must_use]
pub fn spread(seed: &str) -> u32 {
    let digest = Sha3_224::digest(seed.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// When an object last read at `last` is due: the first of `seed`'s slots
/// (its [`slot`] plus a whole number of intervals since the Unix epoch)
/// at least half an `interval` after `last`. Objects of one seed fall due
/// together whenever they were last read; in a steady state each is read
/// every `interval` (a read up to half an interval late in its slot keeps
/// the slot), the first refresh after a sync coming between half and one
/// and a half intervals after it.
#[must_use]
pub fn due(last: SystemTime, interval: Duration, seed: &str) -> SystemTime {
    if interval.is_zero() {
        return last;
    }
    let earliest = last + interval / 2;
    let at = earliest
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let period = interval.as_nanos();
    let offset = slot(seed, interval).as_nanos();
    // The first k with offset + k * period >= at.
    let k = at.saturating_sub(offset).div_ceil(period);
    let nanos = offset + k * period;
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    let sub = u32::try_from(nanos % 1_000_000_000).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::new(secs, sub)
}

/// The next step for an object last read at `last` (its `refreshTime`)
/// for `synced` (its `syncedResourceVersion`), now that its version is
/// `current`, under `policy` (ESO's `shouldRefresh`): `CreatedOnce` never
/// reads again once synced, `OnChange` only for a new version, `Periodic`
/// for a new version or every `interval`. (The caller still reads when the
/// Secret is missing or not what was written, whatever this says.)
#[must_use]
pub fn next(
    policy: RefreshPolicy,
    interval: Option<Duration>,
    last: Option<SystemTime>,
    synced: Option<&str>,
    current: &str,
    seed: &str,
    now: SystemTime,
) -> Next {
    let Some(last) = last else {
        return Next::Now;
    };
    match policy {
        RefreshPolicy::CreatedOnce if synced.is_some() => return Next::Never,
        RefreshPolicy::OnChange if synced == Some(current) => return Next::Never,
        _ => {}
    }
    if synced != Some(current) || last > now {
        return Next::Now;
    }
    let Some(interval) = interval else {
        return Next::Never;
    };
    match due(last, interval, seed).duration_since(now) {
        Ok(wait) if !wait.is_zero() => Next::After(wait),
        _ => Next::Now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    /// ESO's `shouldRefresh` for `CreatedOnce` and `OnChange`.
    #[test]
    fn created_once_and_on_change_read_as_eso_decides() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let late = t0 + 10 * HOUR;
        let step = |policy, synced, current| {
            next(policy, Some(HOUR), Some(t0), synced, current, "uid-1", late)
        };
        // Never synced: read.
        assert_eq!(
            next(
                RefreshPolicy::CreatedOnce,
                Some(HOUR),
                None,
                None,
                "1-x",
                "uid-1",
                t0
            ),
            Next::Now
        );
        assert_eq!(step(RefreshPolicy::CreatedOnce, None, "1-x"), Next::Now);
        // Synced: never again, not for a new version nor after the interval.
        assert_eq!(
            step(RefreshPolicy::CreatedOnce, Some("1-x"), "2-x"),
            Next::Never
        );
        assert_eq!(
            step(RefreshPolicy::CreatedOnce, Some("1-x"), "1-x"),
            Next::Never
        );
        // OnChange: a new version reads, the interval does not.
        assert_eq!(step(RefreshPolicy::OnChange, Some("1-x"), "2-x"), Next::Now);
        assert_eq!(
            step(RefreshPolicy::OnChange, Some("1-x"), "1-x"),
            Next::Never
        );
        // Periodic reads after the interval.
        assert_eq!(step(RefreshPolicy::Periodic, Some("1-x"), "1-x"), Next::Now);
    }

    #[test]
    fn due_in_the_identitys_slot_after_the_interval() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                None,
                None,
                "1-x",
                "kv|team-a/app",
                t0
            ),
            Next::Now
        );
        let first = due(t0, HOUR, "kv|team-a/app");
        // At least half an interval later, in the seed's slot.
        assert!(first >= t0 + HOUR / 2 && first < t0 + HOUR + HOUR / 2);
        let since_epoch = first.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            Duration::from_nanos(u64::try_from(since_epoch.as_nanos() % HOUR.as_nanos()).unwrap()),
            slot("kv|team-a/app", HOUR)
        );
        // Objects of one seed read at different times fall due together.
        let other = if first - Duration::from_secs(100) >= t0 + HOUR / 2 {
            at(100)
        } else {
            t0 - Duration::from_secs(100)
        };
        assert_eq!(due(other, HOUR, "kv|team-a/app"), first);
        // Read in its slot, due exactly one interval later.
        assert_eq!(due(first, HOUR, "kv|team-a/app"), first + HOUR);
        // And a sync late in the slot does not skip an interval.
        assert_eq!(due(first + HOUR / 3, HOUR, "kv|team-a/app"), first + HOUR);
        let wait = first.duration_since(at(600)).unwrap();
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                Some(t0),
                Some("1-x"),
                "1-x",
                "kv|team-a/app",
                at(600)
            ),
            Next::After(wait)
        );
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                Some(t0),
                Some("1-x"),
                "1-x",
                "kv|team-a/app",
                first
            ),
            Next::Now
        );
        // A spec, label or annotation change reads at once.
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                Some(t0),
                Some("1-x"),
                "2-x",
                "kv|team-a/app",
                at(1)
            ),
            Next::Now
        );
        // refreshInterval 0: once.
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                None,
                Some(t0),
                Some("1-x"),
                "1-x",
                "kv|team-a/app",
                at(99_999)
            ),
            Next::Never
        );
        // A refreshTime in the future (a clock moved back) reads now.
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                Some(at(10)),
                Some("1-x"),
                "1-x",
                "kv|team-a/app",
                t0
            ),
            Next::Now
        );
    }

    #[test]
    fn a_hundred_identities_spread_over_the_interval() {
        let minute = Duration::from_secs(60);
        let mut buckets = [0; 6];
        for i in 0..600 {
            let slot = slot(&format!("kv|team-{i}/app"), minute);
            assert!(slot < minute);
            buckets[usize::try_from(slot.as_secs() / 10).unwrap()] += 1;
        }
        // Six ten-second buckets, none empty or crowded.
        assert!(
            buckets.iter().all(|&n| (60..=150).contains(&n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn versions_change_with_generation_labels_and_annotations() {
        let none = BTreeMap::new();
        let forced: BTreeMap<String, String> = [(
            crate::target::FORCE_SYNC_ANNOTATION.to_owned(),
            "1".to_owned(),
        )]
        .into();
        let base = spec_version(1, &none, &none);
        assert!(base.starts_with("1-"));
        assert_ne!(base, spec_version(2, &none, &none));
        assert_ne!(base, spec_version(1, &none, &forced));
        assert_ne!(
            spec_version(1, &forced, &none),
            spec_version(1, &none, &forced)
        );
        assert_eq!(base, spec_version(1, &none, &none));
    }
}
