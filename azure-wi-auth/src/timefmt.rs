//! Human-readable times for messages: RFC 3339 in UTC, and rough durations.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch, negative before it, truncated to whole
/// seconds and saturating far outside the range of dates.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// `2023-05-30T05:19:20Z`; a time outside years 0..=9999 is written as a
/// number of seconds instead of failing.
pub(crate) fn rfc3339_unix(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{seconds} s after the Unix epoch"))
}

/// [`rfc3339_unix`] of a `SystemTime`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    rfc3339_unix(unix_seconds(t))
}

/// `2 d 3 h`, `1 h 5 min`, `4 min 10 s` or `42 s`: two units at most.
pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds} s")
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z_and_whole_seconds() {
        let t = UNIX_EPOCH + Duration::new(1_685_423_960, 313_532_900);
        assert_eq!(rfc3339(t), "2023-05-30T05:19:20Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH - Duration::from_secs(60)),
            "1969-12-31T23:59:00Z"
        );
    }

    #[test]
    fn out_of_range_time_does_not_panic() {
        assert_eq!(
            rfc3339_unix(i64::MAX),
            format!("{} s after the Unix epoch", i64::MAX)
        );
    }

    #[test]
    fn durations_use_two_units() {
        assert_eq!(human_duration(Duration::from_secs(42)), "42 s");
        assert_eq!(human_duration(Duration::from_secs(250)), "4 min 10 s");
        assert_eq!(human_duration(Duration::from_secs(3900)), "1 h 5 min");
        assert_eq!(
            human_duration(Duration::from_secs(3 * 86_400 + 7200)),
            "3 d 2 h"
        );
    }
}
