//! The decisions of leader election, as functions of what a replica has
//! seen of the Lease and of its own monotonic clock.
//!
//! The guarantees are client-go's (`k8s.io/client-go/tools/leaderelection`):
//!
//! - A candidate never trusts the `renewTime` written in the Lease (another
//!   node's wall clock): it notes, by its own clock, when it saw the record
//!   change, and takes the lease over only once it has seen no change for
//!   the record's `leaseDurationSeconds`.
//! - A leader counts its term from the moment it *sent* its last successful
//!   write, and stops leading `renew_deadline` after it, whether or not the
//!   next renewal has answered. Since a candidate saw that write no earlier
//!   than it was sent, and waits the longer `lease_duration` from then, the
//!   leader has stopped before anyone else can start.

use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// The three durations of leader election.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// How long a candidate waits after the last change it saw before it
    /// takes the lease (written as `leaseDurationSeconds`).
    pub lease_duration: Duration,
    /// How long a leader leads after its last successful write; shorter
    /// than `lease_duration` by the margin that absorbs clock-rate
    /// differences and request latency.
    pub renew_deadline: Duration,
    /// How often a leader renews and a candidate looks again; also the
    /// bound on a single Lease call.
    pub retry_period: Duration,
}

impl Default for Timings {
    /// client-go's and kube-controller-manager's defaults: 15 s, 10 s, 2 s.
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

impl Timings {
    /// Checked timings: whole seconds for the lease (the Lease stores
    /// seconds), `renew_deadline < lease_duration` and
    /// `retry_period * 1.2 < renew_deadline` (client-go's rule, so a leader
    /// gets at least one retry within its deadline).
    ///
    /// # Errors
    ///
    /// [`Error::LeaseTimings`] naming the rule broken.
    pub fn new(
        lease_duration: Duration,
        renew_deadline: Duration,
        retry_period: Duration,
    ) -> Result<Self, Error> {
        let broken = |reason: &str| {
            Err(Error::LeaseTimings {
                reason: reason.to_owned(),
            })
        };
        if lease_duration.subsec_nanos() != 0 || lease_duration < Duration::from_secs(1) {
            return broken(
                "--leader-elect-lease-duration must be a whole number of seconds, at least 1s",
            );
        }
        if retry_period.is_zero() {
            return broken("--leader-elect-retry-period must be more than 0");
        }
        if renew_deadline >= lease_duration {
            return broken(
                "--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration, so a leader stops before another can start",
            );
        }
        if retry_period.mul_f64(1.2) >= renew_deadline {
            return broken(
                "--leader-elect-retry-period (times 1.2) must be shorter than --leader-elect-renew-deadline, so a leader can retry a failed renewal in time",
            );
        }
        Ok(Self {
            lease_duration,
            renew_deadline,
            retry_period,
        })
    }
}

/// The Lease's record as a candidate last read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// `spec.holderIdentity`; `None` or empty when released.
    pub holder: Option<String>,
    /// `spec.leaseDurationSeconds` (the holder's, not ours).
    pub lease_duration: Duration,
    /// `metadata.resourceVersion`: every write changes it.
    pub resource_version: String,
    /// When this replica first saw this version, by its own clock.
    pub changed_at: Instant,
}

impl Observation {
    /// The record just read at `now`: `changed_at` is kept when the version
    /// is the one already seen, and is `now` otherwise.
    #[must_use]
    pub fn after_read(
        previous: Option<&Self>,
        holder: Option<String>,
        lease_duration: Duration,
        resource_version: String,
        now: Instant,
    ) -> Self {
        let changed_at = match previous {
            Some(seen) if seen.resource_version == resource_version => seen.changed_at,
            _ => now,
        };
        Self {
            holder: holder.filter(|h| !h.is_empty()),
            lease_duration,
            resource_version,
            changed_at,
        }
    }
}

/// What a candidate does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The lease is free, released, ours already, or lapsed: write it.
    Acquire,
    /// Another replica holds it: look again at this instant (the sooner of
    /// the next retry and the moment it would lapse).
    WaitUntil(Instant),
}

/// The candidate `me`'s step at `now`, given what it has seen (`None`: no
/// Lease exists).
#[must_use]
pub fn candidate_step(
    seen: Option<&Observation>,
    me: &str,
    timings: Timings,
    now: Instant,
) -> Step {
    let Some(seen) = seen else {
        return Step::Acquire;
    };
    match seen.holder.as_deref() {
        None => Step::Acquire,
        // Ours: this pod's container restarted; the old process is gone.
        Some(holder) if holder == me => Step::Acquire,
        Some(_) => {
            let lapses = seen.changed_at + seen.lease_duration;
            if now >= lapses {
                Step::Acquire
            } else {
                Step::WaitUntil(lapses.min(now + timings.retry_period))
            }
        }
    }
}

/// A leader's term: it may act until `until`, then stops unless a renewal
/// sent before then succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The end of the term.
    pub until: Instant,
}

impl Term {
    /// The term won by a write sent at `sent`.
    #[must_use]
    pub fn from_write_sent_at(sent: Instant, timings: Timings) -> Self {
        Self {
            until: sent + timings.renew_deadline,
        }
    }

    /// Whether the leader may still act at `now`.
    #[must_use]
    pub fn holds_at(&self, now: Instant) -> bool {
        now < self.until
    }

    /// How long a Lease call started at `now` may take: one retry period,
    /// cut to what is left of the term, so no call outlives it.
    #[must_use]
    pub fn call_budget(&self, now: Instant, timings: Timings) -> Duration {
        self.until
            .saturating_duration_since(now)
            .min(timings.retry_period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn held_by(holder: &str, changed_at: Instant) -> Observation {
        Observation {
            holder: Some(holder.to_owned()),
            lease_duration: secs(15),
            resource_version: "7".into(),
            changed_at,
        }
    }

    #[test]
    fn a_missing_released_or_own_lease_is_acquired_at_once() {
        let now = Instant::now();
        let t = Timings::default();
        assert_eq!(candidate_step(None, "a", t, now), Step::Acquire);
        let released = Observation {
            holder: None,
            ..held_by("b", now)
        };
        assert_eq!(candidate_step(Some(&released), "a", t, now), Step::Acquire);
        assert_eq!(
            candidate_step(Some(&held_by("a", now)), "a", t, now),
            Step::Acquire
        );
    }

    #[test]
    fn another_holder_is_waited_for_until_its_record_has_not_changed_for_its_duration() {
        let t0 = Instant::now();
        let t = Timings::default();
        let seen = held_by("b", t0);
        // The next look is one retry period away while the lease is live…
        assert_eq!(
            candidate_step(Some(&seen), "a", t, t0 + secs(1)),
            Step::WaitUntil(t0 + secs(3))
        );
        // …and exactly the lapse when that comes sooner.
        assert_eq!(
            candidate_step(Some(&seen), "a", t, t0 + secs(14)),
            Step::WaitUntil(t0 + secs(15))
        );
        assert_eq!(
            candidate_step(Some(&seen), "a", t, t0 + secs(15)),
            Step::Acquire
        );
    }

    #[test]
    fn the_lapse_counts_from_when_the_record_last_changed_by_our_clock() {
        let t0 = Instant::now();
        let first = Observation::after_read(None, Some("b".into()), secs(15), "7".into(), t0);
        assert_eq!(first.changed_at, t0);
        // Read again, unchanged: the lapse still counts from t0.
        let same = Observation::after_read(
            Some(&first),
            Some("b".into()),
            secs(15),
            "7".into(),
            t0 + secs(10),
        );
        assert_eq!(same.changed_at, t0);
        // Renewed by its holder: counting starts again.
        let renewed = Observation::after_read(
            Some(&same),
            Some("b".into()),
            secs(15),
            "8".into(),
            t0 + secs(12),
        );
        assert_eq!(renewed.changed_at, t0 + secs(12));
        assert_eq!(
            candidate_step(Some(&renewed), "a", Timings::default(), t0 + secs(20)),
            Step::WaitUntil(t0 + secs(22))
        );
        // An empty holder is a released lease.
        let released = Observation::after_read(
            Some(&renewed),
            Some(String::new()),
            secs(1),
            "9".into(),
            t0 + secs(13),
        );
        assert_eq!(released.holder, None);
    }

    #[test]
    fn a_leader_stops_before_any_candidate_may_start() {
        let t = Timings::default();
        let sent = Instant::now();
        let term = Term::from_write_sent_at(sent, t);
        // The candidate saw the write no earlier than it was sent.
        let seen = held_by("leader", sent);
        let mut now = sent;
        while now < sent + secs(30) {
            let candidate_may_start =
                candidate_step(Some(&seen), "candidate", t, now) == Step::Acquire;
            assert!(
                !(candidate_may_start && term.holds_at(now)),
                "both would act at {:?} after the write",
                now - sent
            );
            now += Duration::from_millis(100);
        }
        assert!(term.holds_at(sent + secs(9)));
        assert!(!term.holds_at(sent + secs(10)));
    }

    #[test]
    fn no_lease_call_outlives_the_term() {
        let t = Timings::default();
        let sent = Instant::now();
        let term = Term::from_write_sent_at(sent, t);
        assert_eq!(term.call_budget(sent, t), secs(2));
        assert_eq!(term.call_budget(sent + secs(9), t), secs(1));
        assert_eq!(term.call_budget(sent + secs(11), t), Duration::ZERO);
    }

    #[test]
    fn timings_keep_client_gos_rules() {
        assert_eq!(
            Timings::new(secs(15), secs(10), secs(2)).unwrap(),
            Timings::default()
        );
        for (lease, renew, retry, flag) in [
            (secs(10), secs(10), secs(2), "--leader-elect-renew-deadline"),
            (secs(15), secs(10), secs(9), "--leader-elect-retry-period"),
            (
                secs(15),
                secs(10),
                Duration::ZERO,
                "--leader-elect-retry-period",
            ),
            (
                Duration::from_millis(15_500),
                secs(10),
                secs(2),
                "--leader-elect-lease-duration",
            ),
        ] {
            let error = Timings::new(lease, renew, retry).unwrap_err();
            assert!(error.to_string().contains(flag), "{error}");
        }
    }
}
