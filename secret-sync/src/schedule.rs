//! When an ExternalSecret is read again (ESO's requeue rule, as
//! `shouldRefreshPeriodic` applies it in
//! `pkg/controllers/externalsecret/externalsecret_controller.go` of
//! external-secrets/external-secrets), with the refreshes of many
//! ExternalSecrets spread over a tenth of their interval instead of all
//! falling due together. Pure: the clock is an argument.

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

/// A stable offset in `[0, interval / 10)` derived from `seed` (the
/// ExternalSecret's uid): each object keeps its slot across restarts, and
/// a thousand objects created together spread over the window.
#[must_use]
pub fn jitter(seed: &str, interval: Duration) -> Duration {
    let digest = Sha3_224::digest(seed.as_bytes());
    let fraction = f64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ])) / f64::from(u32::MAX);
    interval.mul_f64(fraction / 10.0)
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
    let due = last + interval + jitter(seed, interval);
    match due.duration_since(now) {
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
    fn due_after_the_interval_and_the_objects_slot() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let slot = jitter("uid-1", HOUR);
        assert!(slot < HOUR / 10);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                None,
                None,
                "1-x",
                "uid-1",
                t0
            ),
            Next::Now
        );
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                Some(t0),
                Some("1-x"),
                "1-x",
                "uid-1",
                at(600)
            ),
            Next::After(HOUR + slot - Duration::from_secs(600))
        );
        assert_eq!(
            next(
                RefreshPolicy::Periodic,
                Some(HOUR),
                Some(t0),
                Some("1-x"),
                "1-x",
                "uid-1",
                t0 + HOUR + slot
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
                "uid-1",
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
                "uid-1",
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
                "uid-1",
                t0
            ),
            Next::Now
        );
    }

    #[test]
    fn a_thousand_objects_spread_over_the_window() {
        let slots: Vec<Duration> = (0..1000)
            .map(|i| jitter(&format!("uid-{i}"), Duration::from_secs(60)))
            .collect();
        // Ten one-second buckets over the 6 s window, none empty or crowded.
        let mut buckets = [0; 6];
        for slot in &slots {
            buckets[slot.as_secs() as usize] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (100..=240).contains(&n)),
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
