//! Conversions between `SystemTime` and the second-precision dates that
//! X.509 certificates hold.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use crate::{Error, Result};

/// A certificate date for `now + offset` (or `now - offset` when
/// `backwards`), truncated to whole seconds because that is all X.509 stores.
/// Truncating here means the `SystemTime` we report equals what a parser
/// later reads back from the certificate.
pub(crate) fn shifted(
    now: SystemTime,
    offset: Duration,
    backwards: bool,
) -> Result<(OffsetDateTime, SystemTime)> {
    let out_of_range = || Error::InvalidValidity {
        validity: offset,
        reason: "the resulting date cannot be written in a certificate",
    };
    let target = if backwards {
        now.checked_sub(offset)
    } else {
        now.checked_add(offset)
    }
    .ok_or_else(out_of_range)?;
    let seconds = unix_seconds(target);
    // X.509 GeneralizedTime stops at year 9999.
    let date = OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .filter(|date| date.year() <= 9999)
        .ok_or_else(out_of_range)?;
    Ok((date, from_unix_seconds(seconds)))
}

/// Whole seconds since the Unix epoch, negative before it.
fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let secs = before.duration().as_secs();
            // Round towards the past so truncation never moves a date later.
            let secs = if before.duration().subsec_nanos() > 0 {
                secs + 1
            } else {
                secs
            };
            i64::try_from(secs).map_or(i64::MIN, |s| -s)
        }
    }
}

/// The `SystemTime` for a Unix timestamp read from a certificate.
pub(crate) fn from_unix_seconds(seconds: i64) -> SystemTime {
    let magnitude = Duration::from_secs(seconds.unsigned_abs());
    if seconds >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// Whole days from `now` until `later`, zero if `later` has passed.
pub(crate) fn days_until(now: SystemTime, later: SystemTime) -> u64 {
    later
        .duration_since(now)
        .map_or(0, |left| left.as_secs() / 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_truncates_to_seconds() {
        let now = UNIX_EPOCH + Duration::new(1_000, 999_000_000);
        let (date, at) = shifted(now, Duration::from_secs(60), false).unwrap();
        assert_eq!(date.unix_timestamp(), 1_060);
        assert_eq!(at, UNIX_EPOCH + Duration::from_secs(1_060));
        let (date, _) = shifted(now, Duration::from_secs(2_000), true).unwrap();
        assert_eq!(date.unix_timestamp(), -1_000);
    }

    #[test]
    fn shifted_refuses_dates_past_year_9999() {
        let err = shifted(
            SystemTime::now(),
            Duration::from_secs(9_000 * 365 * 86_400),
            false,
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidValidity { .. }), "{err}");
    }

    #[test]
    fn negative_timestamps_round_trip() {
        assert_eq!(from_unix_seconds(-5), UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(
            days_until(UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(3 * 86_400 + 5)),
            3
        );
        assert_eq!(
            days_until(UNIX_EPOCH + Duration::from_secs(1), UNIX_EPOCH),
            0
        );
    }
}
