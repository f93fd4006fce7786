//! The retry loop shared by the credential and the Key Vault client, so that
//! both bound attempts, honour `Retry-After` and read time the same way.

use std::{future::Future, time::Duration};

use crate::{
    Error,
    clock::Clock,
    retry::policy::{RetryPolicy, jitter},
};

/// A failed attempt: the error to return if it is the last one, and the
/// wait the server asked for, if it did.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) retry_after: Option<Duration>,
    retryable: bool,
}

impl Failure {
    /// A failure retried when [`Error::retry`] says it is transient.
    pub(crate) fn new(error: Error, retry_after: Option<Duration>) -> Self {
        let retryable = error.retry().is_retryable();
        Self {
            error,
            retry_after,
            retryable,
        }
    }

    /// A failure that ends the loop whatever its kind, e.g. a credential
    /// error that already went through its own retries.
    pub(crate) fn last(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
            retryable: false,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::new(error, None)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `policy` allows no
/// further attempt; returns the last error then. Elapsed time is measured
/// and waits are slept on `clock`, so a test clock sees every wait.
/// `operation` names what is retried, for the debug log.
pub(crate) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    clock: &dyn Clock,
    operation: &'static str,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let started = clock.now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let failure = match attempt().await {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !failure.retryable {
            return Err(failure.error);
        }
        let delay = policy.delay(attempts - 1, jitter(), failure.retry_after);
        let elapsed = clock.now().duration_since(started).unwrap_or_default();
        if !policy.allows(attempts, elapsed, delay) {
            return Err(failure.error);
        }
        tracing::debug!(error = %failure.error, attempt = attempts, ?delay, "{operation} failed; retrying");
        clock.sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::SystemTime};

    use super::*;
    use crate::clock::RecordingClock;

    fn clock() -> Arc<RecordingClock> {
        Arc::new(RecordingClock::new(SystemTime::UNIX_EPOCH))
    }

    fn transient() -> Error {
        Error::Transport {
            url: "https://login.microsoftonline.com/".into(),
            message: "connection reset".into(),
        }
    }

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(30),
        max_total: Duration::from_secs(60),
    };

    #[tokio::test]
    async fn retries_transient_failures_sleeping_on_the_clock() {
        let clock = clock();
        let mut calls = 0;
        let result = run(&POLICY, clock.as_ref(), "test", || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(Failure::new(transient(), Some(Duration::from_secs(7))))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        // Retry-After (7 s) is longer than the backoff, so both waits are 7 s.
        assert_eq!(clock.slept(), [Duration::from_secs(7); 2]);
    }

    #[tokio::test]
    async fn stops_at_once_on_a_final_failure_and_at_the_time_budget() {
        let clock = clock();
        let mut calls = 0;
        let error = run(&POLICY, clock.as_ref(), "test", || {
            calls += 1;
            async { Err::<(), _>(Failure::last(transient())) }
        })
        .await
        .unwrap_err();
        assert!(matches!(error, Error::Transport { .. }));
        assert_eq!(calls, 1);
        assert!(clock.slept().is_empty());

        // Waits of 25 s: the third would end after 60 s, so it never starts.
        let clock = self::clock();
        let mut calls = 0;
        run(&POLICY, clock.as_ref(), "test", || {
            calls += 1;
            async { Err::<(), _>(Failure::new(transient(), Some(Duration::from_secs(25)))) }
        })
        .await
        .unwrap_err();
        assert_eq!(calls, 3);
        assert_eq!(clock.slept().len(), 2);
    }
}
