//! Leader election on a `coordination.k8s.io/v1` Lease, with client-go's
//! guarantees (see [`decide`] for why they hold):
//!
//! - every Lease call is bounded (by one retry period, and for a leader by
//!   what is left of its term), so a hung API server cannot hold a leader
//!   in office;
//! - a leader's term ends `renew_deadline` after its last successful write
//!   was sent, before any candidate may take over, and [`Leadership`]
//!   reports it lost at that instant whatever the network is doing;
//!   [`FenceLayer`] refuses a `kube::Client`'s writes outside a term, so
//!   work that has not noticed yet cannot write either;
//! - a candidate survives any API error, reporting itself unhealthy until
//!   the API server answers again;
//! - [`LeaderElector::run`] releases the lease when its work is done (on
//!   SIGTERM), so a standby takes over at its next look instead of waiting
//!   for the lease to lapse.
//!
//! Neither kubert's `LeaseManager` (built on kube 1.1; this workspace is on
//! kube 5) nor kube-lease-manager (no bound on its Lease calls, expiry
//! judged by the wall clock against the holder's written time) gives
//! these, hence this module.

mod decide;
mod fence;

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{PostParams, Resource as _},
};
use tokio::{sync::watch, time::Instant};
use tokio_util::sync::CancellationToken;

pub use decide::{Observation, Step, Term, Timings, candidate_step};
pub use fence::{FenceLayer, Fenced};

/// Where a replica stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Not leading. `healthy` while its last look at the Lease succeeded: a
    /// standby that can take over when needed.
    Candidate {
        /// The last Lease call answered.
        healthy: bool,
    },
    /// Leading, within a term.
    Leader,
}

/// A replica's view of its own leadership, cheap to clone.
#[derive(Debug, Clone)]
pub struct Leadership {
    role: watch::Receiver<Role>,
    term: Arc<Mutex<Option<Term>>>,
}

impl Leadership {
    /// The role as last published.
    #[must_use]
    pub fn role(&self) -> Role {
        *self.role.borrow()
    }

    /// Whether this replica may act now: inside a term by the clock, not
    /// only by the last published role.
    #[must_use]
    pub fn is_leading_now(&self) -> bool {
        locked(&self.term).is_some_and(|term| term.holds_at(Instant::now()))
    }

    /// Waits until this replica leads; `false` when the elector has
    /// stopped.
    pub async fn leading(&mut self) -> bool {
        self.role.wait_for(|r| *r == Role::Leader).await.is_ok()
    }

    /// Waits until this replica stops leading (or the elector stops).
    pub async fn lost(&mut self) {
        let _ = self.role.wait_for(|r| *r != Role::Leader).await;
    }

    /// Waits for the next change of role; `false` when the elector has
    /// stopped.
    pub async fn changed(&mut self) -> bool {
        self.role.changed().await.is_ok()
    }
}

/// Campaigns for, holds and releases one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    timings: Timings,
    role: watch::Sender<Role>,
    term: Arc<Mutex<Option<Term>>>,
    seen: Option<Observation>,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("name", &self.name)
            .field("identity", &self.identity)
            .field("timings", &self.timings)
            .finish_non_exhaustive()
    }
}

/// Why a Lease call did not succeed.
enum CallError {
    /// It took longer than its budget.
    TimedOut(Duration),
    /// The API server refused or could not be reached.
    Api(kube::Error),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TimedOut(after) => write!(f, "no answer within {after:?}"),
            Self::Api(error) => error.fmt(f),
        }
    }
}

/// The outcome of one look at the Lease.
enum Attempt {
    /// We wrote it (acquired or renewed) with a write sent at this instant.
    Held(Instant),
    /// Someone else holds it.
    HeldByOther(Step),
    /// Our write lost a race with another replica's.
    Conflict,
}

impl LeaderElector {
    /// An elector for Lease `name` in `api`'s namespace, campaigning as
    /// `identity` (the pod's name: unique among replicas, kept across a
    /// container restart).
    #[must_use]
    pub fn new(
        api: Api<Lease>,
        name: impl Into<String>,
        identity: impl Into<String>,
        timings: Timings,
    ) -> (Self, Leadership) {
        let (role, watcher) = watch::channel(Role::Candidate { healthy: false });
        let term = Arc::new(Mutex::new(None));
        let leadership = Leadership {
            role: watcher,
            term: Arc::clone(&term),
        };
        (
            Self {
                api,
                name: name.into(),
                identity: identity.into(),
                timings,
                role,
                term,
                seen: None,
            },
            leadership,
        )
    }

    /// Campaigns and leads until `release` is cancelled, then gives the
    /// lease up if it holds it. Cancel `release` only once the work done
    /// as leader has stopped: the lease is renewed until then.
    pub async fn run(mut self, release: CancellationToken) {
        while !release.is_cancelled() {
            let term = *self.term();
            match term {
                Some(term) => self.lead(term, &release).await,
                None => self.campaign(&release).await,
            }
        }
        self.release().await;
    }

    /// One step as a candidate: look, and acquire if the lease is free.
    async fn campaign(&mut self, release: &CancellationToken) {
        let budget = self.timings.retry_period;
        let next = match self.attempt(budget, true).await {
            Ok(Attempt::Held(sent)) => {
                self.begin_term(sent);
                return;
            }
            Ok(Attempt::HeldByOther(Step::WaitUntil(at))) => {
                self.publish(Role::Candidate { healthy: true });
                at
            }
            Ok(Attempt::HeldByOther(Step::Acquire) | Attempt::Conflict) => {
                self.publish(Role::Candidate { healthy: true });
                Instant::now() + self.timings.retry_period
            }
            Err(error) => {
                if self.role() != (Role::Candidate { healthy: false }) {
                    tracing::warn!(lease = %self.name, %error, "cannot read or write the Lease; still a candidate, retrying");
                } else {
                    tracing::debug!(lease = %self.name, %error, "the Lease is still out of reach");
                }
                self.publish(Role::Candidate { healthy: false });
                Instant::now() + self.timings.retry_period
            }
        };
        sleep_until(next, release).await;
    }

    /// One renewal as the leader of `term`.
    async fn lead(&mut self, term: Term, release: &CancellationToken) {
        let wake = term.until.min(Instant::now() + self.timings.retry_period);
        if !sleep_until(wake, release).await {
            return;
        }
        let now = Instant::now();
        if !term.holds_at(now) {
            self.end_term("the renew deadline passed without a successful renewal");
            return;
        }
        match self
            .attempt(term.call_budget(now, self.timings), false)
            .await
        {
            Ok(Attempt::Held(sent)) => {
                *self.term() = Some(Term::from_write_sent_at(sent, self.timings));
            }
            Ok(Attempt::HeldByOther(_)) => self.end_term("another replica holds the Lease"),
            // Someone wrote between our read and our write: look again
            // within the term.
            Ok(Attempt::Conflict) => {}
            Err(error) => {
                tracing::warn!(lease = %self.name, %error, "renewing the Lease failed; retrying within the renew deadline");
            }
        }
    }

    /// Reads the Lease and, if it is ours to take or keep, writes it; the
    /// whole exchange within `budget`. `campaigning`: a lapsed or released
    /// lease may be taken; otherwise only ours is renewed.
    async fn attempt(&mut self, budget: Duration, campaigning: bool) -> Result<Attempt, CallError> {
        let deadline = Instant::now() + budget;
        let bounded = |left: Instant| left.saturating_duration_since(Instant::now());
        let current = tokio::time::timeout(bounded(deadline), self.api.get_opt(&self.name))
            .await
            .map_err(|_| CallError::TimedOut(budget))?
            .map_err(CallError::Api)?;
        let now = Instant::now();
        self.seen = current.as_ref().map(|lease| {
            let spec = lease.spec.clone().unwrap_or_default();
            Observation::after_read(
                self.seen.as_ref(),
                spec.holder_identity,
                spec.lease_duration_seconds
                    .map_or(self.timings.lease_duration, seconds),
                lease.meta().resource_version.clone().unwrap_or_default(),
                now,
            )
        });
        let ours =
            self.seen.as_ref().and_then(|s| s.holder.as_deref()) == Some(self.identity.as_str());
        if !campaigning && !ours {
            return Ok(Attempt::HeldByOther(Step::WaitUntil(now)));
        }
        if campaigning {
            let step = candidate_step(self.seen.as_ref(), &self.identity, self.timings, now);
            if step != Step::Acquire {
                return Ok(Attempt::HeldByOther(step));
            }
        }
        let lease = self.desired(current.as_ref(), ours);
        let sent = Instant::now();
        let written = match &current {
            Some(_) => {
                tokio::time::timeout(
                    bounded(deadline),
                    self.api.replace(&self.name, &PostParams::default(), &lease),
                )
                .await
            }
            None => {
                tokio::time::timeout(
                    bounded(deadline),
                    self.api.create(&PostParams::default(), &lease),
                )
                .await
            }
        }
        .map_err(|_| CallError::TimedOut(budget))?;
        match written {
            Ok(lease) => {
                self.seen = Some(Observation {
                    holder: Some(self.identity.clone()),
                    lease_duration: self.timings.lease_duration,
                    resource_version: lease.meta().resource_version.clone().unwrap_or_default(),
                    changed_at: sent,
                });
                Ok(Attempt::Held(sent))
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
            Err(error) => Err(CallError::Api(error)),
        }
    }

    /// The Lease as this replica writes it to acquire or renew.
    fn desired(&self, current: Option<&Lease>, ours: bool) -> Lease {
        let now = MicroTime(Timestamp::now());
        let previous = current.and_then(|l| l.spec.as_ref());
        let transitions = previous.and_then(|s| s.lease_transitions).unwrap_or(0);
        let holder_changes = previous
            .and_then(|s| s.holder_identity.as_deref())
            .is_some_and(|h| !h.is_empty() && h != self.identity);
        Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                resource_version: current.and_then(|l| l.meta().resource_version.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(whole_seconds(self.timings.lease_duration)),
                acquire_time: if ours {
                    previous.and_then(|s| s.acquire_time.clone())
                } else {
                    Some(now.clone())
                },
                renew_time: Some(now),
                lease_transitions: Some(transitions + i32::from(holder_changes)),
                ..LeaseSpec::default()
            }),
        }
    }

    fn begin_term(&mut self, sent: Instant) {
        *self.term() = Some(Term::from_write_sent_at(sent, self.timings));
        tracing::info!(lease = %self.name, holder = %self.identity, "leading");
        self.publish(Role::Leader);
    }

    fn end_term(&mut self, reason: &str) {
        *self.term() = None;
        tracing::warn!(lease = %self.name, holder = %self.identity, reason, "stopped leading");
        self.publish(Role::Candidate { healthy: false });
    }

    /// Gives the lease up if this replica holds it: an empty holder, so a
    /// standby takes it at its next look (client-go's `ReleaseOnCancel`).
    async fn release(&mut self) {
        let held = self.term().take().is_some();
        self.publish(Role::Candidate { healthy: false });
        if !held {
            return;
        }
        let budget = self.timings.retry_period;
        let released = async {
            let Some(mut lease) = self.api.get_opt(&self.name).await? else {
                return Ok(false);
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
                return Ok(false);
            }
            let now = MicroTime(Timestamp::now());
            spec.holder_identity = Some(String::new());
            spec.lease_duration_seconds = Some(1);
            spec.acquire_time = Some(now.clone());
            spec.renew_time = Some(now);
            lease.metadata.managed_fields = None;
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await
                .map(|_| true)
        };
        match tokio::time::timeout(budget, released).await {
            Ok(Ok(true)) => tracing::info!(lease = %self.name, "released the lease"),
            Ok(Ok(false)) => {}
            Ok(Err(error)) => {
                tracing::warn!(lease = %self.name, %error, "could not release the lease; it lapses on its own");
            }
            Err(_) => {
                tracing::warn!(lease = %self.name, "releasing the lease timed out; it lapses on its own")
            }
        }
    }

    /// The current term, `None` when not leading.
    fn term(&self) -> MutexGuard<'_, Option<Term>> {
        locked(&self.term)
    }

    fn role(&self) -> Role {
        *self.role.borrow()
    }

    fn publish(&self, role: Role) {
        self.role.send_if_modified(|current| {
            let changed = *current != role;
            *current = role;
            changed
        });
    }
}

/// The term behind its lock (a poisoned lock still holds a valid term:
/// writers only ever store whole values).
fn locked(term: &Mutex<Option<Term>>) -> MutexGuard<'_, Option<Term>> {
    term.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Sleeps until `at`; `false` when `release` was cancelled first.
async fn sleep_until(at: Instant, release: &CancellationToken) -> bool {
    tokio::select! {
        () = tokio::time::sleep_until(at) => true,
        () = release.cancelled() => false,
    }
}

fn seconds(s: i32) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

fn whole_seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}
