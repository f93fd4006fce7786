//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas
//! are safe: only the holder reconciles. The holder renews every
//! [`RENEW_EVERY`]; another replica takes over once a lease has gone
//! unrenewed for its duration. A holder that cannot renew within the
//! duration stops, so two leaders never overlap for long.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{Api, api::PostParams};

/// How long a lease holds without renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// What to do with the lease as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nobody holds it, or the holder let it lapse: take it.
    Acquire,
    /// It is ours: renew it.
    Renew,
    /// Someone else holds it: try again later.
    Wait,
}

/// Decides for `me` at `now`.
#[must_use]
pub fn decide(spec: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::Acquire;
    };
    match spec.holder_identity.as_deref() {
        None | Some("") => Decision::Acquire,
        Some(holder) if holder == me => Decision::Renew,
        Some(_) => {
            let duration = spec.lease_duration_seconds.map_or(LEASE_DURATION, |s| {
                Duration::from_secs(u64::try_from(s).unwrap_or(0))
            });
            let renewed = spec.renew_time.as_ref().map(|t| t.0);
            match renewed {
                Some(at) if now < at + duration => Decision::Wait,
                _ => Decision::Acquire,
            }
        }
    }
}

fn spec_for(me: &str, previous: Option<&LeaseSpec>, now: Timestamp) -> LeaseSpec {
    let ours = previous.and_then(|s| s.holder_identity.as_deref()) == Some(me);
    LeaseSpec {
        holder_identity: Some(me.to_owned()),
        lease_duration_seconds: Some(i32::try_from(LEASE_DURATION.as_secs()).unwrap_or(15)),
        acquire_time: if ours {
            previous.and_then(|s| s.acquire_time.clone())
        } else {
            Some(MicroTime(now))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(
            previous.and_then(|s| s.lease_transitions).unwrap_or(0) + i32::from(!ours),
        ),
        ..LeaseSpec::default()
    }
}

/// One attempt to hold lease `name`: `Ok(true)` when `me` holds it after
/// the call.
///
/// # Errors
///
/// The apiserver refused a read or write other than a lost race.
pub async fn try_hold(api: &Api<Lease>, name: &str, me: &str) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let current = api.get_opt(name).await?;
    let spec = current.as_ref().and_then(|l| l.spec.as_ref());
    if decide(spec, me, now) == Decision::Wait {
        return Ok(false);
    }
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            resource_version: current
                .as_ref()
                .and_then(|l| l.metadata.resource_version.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(spec_for(me, spec, now)),
    };
    let written = if current.is_some() {
        api.replace(name, &PostParams::default(), &lease).await
    } else {
        api.create(&PostParams::default(), &lease).await
    };
    match written {
        Ok(_) => Ok(true),
        // Another replica wrote first: not ours this round.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lapsed_or_empty_lease_is_taken_a_live_one_waited_for() {
        let now: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        let held = |holder: &str, renewed_secs_ago: i64| LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(now - jiff_secs(renewed_secs_ago))),
            ..LeaseSpec::default()
        };
        assert_eq!(decide(None, "a", now), Decision::Acquire);
        assert_eq!(
            decide(Some(&LeaseSpec::default()), "a", now),
            Decision::Acquire
        );
        assert_eq!(decide(Some(&held("a", 3)), "a", now), Decision::Renew);
        assert_eq!(decide(Some(&held("b", 3)), "a", now), Decision::Wait);
        assert_eq!(decide(Some(&held("b", 16)), "a", now), Decision::Acquire);
        let taken = spec_for("a", Some(&held("b", 16)), now);
        assert_eq!(taken.holder_identity.as_deref(), Some("a"));
        assert_eq!(taken.lease_transitions, Some(1));
        let renewed = spec_for("a", Some(&taken), now);
        assert_eq!(renewed.lease_transitions, Some(1));
    }

    fn jiff_secs(secs: i64) -> std::time::Duration {
        std::time::Duration::from_secs(u64::try_from(secs).unwrap())
    }
}
