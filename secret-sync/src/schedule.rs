//! When an ExternalSecret is read again (ESO's requeue rule, as
//! `shouldRefreshPeriodic` applies it in
//! `pkg/controllers/externalsecret/externalsecret_controller.go` of
//! external-secrets/external-secrets), with the refreshes of many
//! ExternalSecrets spread over a tenth of their interval instead of all
//! falling due together. Pure: the clock is an argument.

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
/// `current`.
#[must_use]
pub fn next(
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

    #[test]
    fn due_after_the_interval_and_the_objects_slot() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let slot = jitter("uid-1", HOUR);
        assert!(slot < HOUR / 10);
        let at = |secs| t0 + Duration::from_secs(secs);
        assert_eq!(next(Some(HOUR), None, None, "1-x", "uid-1", t0), Next::Now);
        assert_eq!(
            next(Some(HOUR), Some(t0), Some("1-x"), "1-x", "uid-1", at(600)),
            Next::After(HOUR + slot - Duration::from_secs(600))
        );
        assert_eq!(
            next(
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
            next(Some(HOUR), Some(t0), Some("1-x"), "2-x", "uid-1", at(1)),
            Next::Now
        );
        // refreshInterval 0: once.
        assert_eq!(
            next(None, Some(t0), Some("1-x"), "1-x", "uid-1", at(99_999)),
            Next::Never
        );
        // A refreshTime in the future (a clock moved back) reads now.
        assert_eq!(
            next(Some(HOUR), Some(at(10)), Some("1-x"), "1-x", "uid-1", t0),
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
