//! The policy: how long to wait before trying again (exponential backoff
//! with jitter, `Retry-After` honoured) and when to stop (attempts and total
//! time bounded).

use std::time::{Duration, SystemTime};

use crate::transport::HttpResponse;

/// Bounds of the retry loop, for the token endpoint and Key Vault alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most attempts, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub initial_delay: Duration,
    /// Longest single delay.
    pub max_delay: Duration,
    /// No new attempt starts after this much time since the first.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts, 0.8 s doubling to at most 30 s, within 60 s: enough to
    /// ride out a throttling window or a gateway restart, short enough that
    /// a pod's start-up is not hung on a dead endpoint.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry: for a caller that waits out throttling
    /// itself (a CSI mount within its deadline, a controller that
    /// requeues), so that no client sleeps while holding its caller's
    /// permit or worker.
    #[must_use]
    pub fn once() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay after failed attempt number `attempt` (0 for the first):
    /// `initial * 2^attempt` scaled by `jitter` (expected in 0.8..1.2),
    /// capped at `max_delay`, and never shorter than `retry_after`.
    pub fn delay(&self, attempt: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
        let exponential = self
            .initial_delay
            .saturating_mul(1_u32 << attempt.min(16))
            .mul_f64(jitter.clamp(0.5, 1.5))
            .min(self.max_delay);
        retry_after.map_or(exponential, |r| r.max(exponential))
    }

    /// Whether another attempt may start after `attempts` attempts, `elapsed`
    /// time and a planned wait of `delay`.
    pub fn allows(&self, attempts: u32, elapsed: Duration, delay: Duration) -> bool {
        attempts < self.max_attempts && elapsed + delay <= self.max_total
    }
}

/// A jitter factor in 0.8..1.2.
pub(crate) fn jitter() -> f64 {
    rand::Rng::gen_range(&mut rand::thread_rng(), 0.8..1.2)
}

/// The wait a response asks for: `retry-after-ms`, `x-ms-retry-after-ms`,
/// or `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(response: &HttpResponse, now: SystemTime) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = response
            .header(name)
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = response.header("retry-after")?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    Some(SystemTime::from(at).duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status: 429,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn backoff_doubles_is_capped_and_yields_to_retry_after() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(0, 1.0, None), Duration::from_millis(800));
        assert_eq!(policy.delay(2, 1.0, None), Duration::from_millis(3200));
        assert_eq!(policy.delay(10, 1.0, None), Duration::from_secs(30));
        assert_eq!(policy.delay(0, 1.2, None), Duration::from_millis(960));
        assert_eq!(
            policy.delay(0, 1.0, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert!(policy.allows(3, Duration::ZERO, Duration::ZERO));
        assert!(!policy.allows(4, Duration::ZERO, Duration::ZERO));
        assert!(!policy.allows(1, Duration::from_secs(59), Duration::from_secs(2)));
    }

    #[test]
    fn reads_every_retry_after_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            retry_after(&response(&[("Retry-After", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&response(&[("retry-after-ms", "250")]), now),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            retry_after(&response(&[("x-ms-retry-after-ms", "40")]), now),
            Some(Duration::from_millis(40))
        );
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        assert_eq!(
            retry_after(
                &response(&[("Retry-After", "Sun, 06 Nov 1994 08:49:47 GMT")]),
                now
            ),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            retry_after(&response(&[("Retry-After", "soon")]), now),
            None
        );
        assert_eq!(retry_after(&response(&[]), now), None);
    }
}
