//! Sprig's date functions (`date.go` in ESO's vendored Sprig,
//! `runtime/template/v2/sprig/date.go`): `now`, `date`, `dateInZone`,
//! `htmlDate`, `htmlDateInZone`, `dateModify`, `mustDateModify`, `toDate`,
//! `mustToDate`, `unixEpoch`, `ago`, `duration` and `durationRound`.
//!
//! They are thin over Go's `time` package, so this module carries the parts
//! of it they need, written from Go's documented behaviour (`time/format.go`
//! and `time/time.go` of golang/go): the reference-time layouts for
//! `Format` and `ParseInLocation`, `ParseDuration`, `Duration.String` and
//! `Duration.Round`.
//!
//! Zones: the controller runs with Go's `Local` being UTC (its image has no
//! `/etc/localtime` and no `TZ`), so "Local" here is UTC, named `UTC`.
//! `dateInZone` resolves other IANA names (`America/New_York`) against the
//! tz database bundled into the binary (jiff's), as Go's `LoadLocation`
//! does against the image's; a name it cannot load falls back to UTC, as
//! Sprig does. A [`Value::Time`] holds an instant and an offset but no zone
//! name, so a time printed with the `MST` element later shows `UTC` for a
//! zero offset and the numeric `-0700` form otherwise (Go would keep a name
//! such as `GMT` or `PST` it had parsed).

use std::sync::OnceLock;

use time::{Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::{Value, go_zero_time};

pub(super) fn register(r: &mut Registry) {
    r.add("now", &[], None, now);
    r.add("date", &[Param::Str, Param::Any], None, date);
    r.add(
        "dateInZone",
        &[Param::Str, Param::Any, Param::Str],
        None,
        date_in_zone,
    );
    r.add(
        "date_in_zone",
        &[Param::Str, Param::Any, Param::Str],
        None,
        date_in_zone,
    );
    r.add("htmlDate", &[Param::Any], None, html_date);
    r.add(
        "htmlDateInZone",
        &[Param::Any, Param::Str],
        None,
        html_date_in_zone,
    );
    r.add("dateModify", &[Param::Str, Param::Any], None, date_modify);
    r.add("date_modify", &[Param::Str, Param::Any], None, date_modify);
    r.add(
        "mustDateModify",
        &[Param::Str, Param::Any],
        None,
        must_date_modify,
    );
    r.add(
        "must_date_modify",
        &[Param::Str, Param::Any],
        None,
        must_date_modify,
    );
    r.add("toDate", &[Param::Str, Param::Str], None, to_date);
    r.add("mustToDate", &[Param::Str, Param::Str], None, must_to_date);
    r.add("unixEpoch", &[Param::Any], None, unix_epoch);
    r.add("ago", &[Param::Any], None, ago);
    r.add("duration", &[Param::Any], None, duration);
    r.add("durationRound", &[Param::Any], None, duration_round);
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;

fn out_of_range() -> FuncError {
    FuncError::new("time out of range")
}

fn str_arg(args: &[Value], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// An argument Go declares as `time.Time`: text/template refuses anything
/// else with these texts before calling.
fn time_arg(args: &[Value], i: usize) -> Result<OffsetDateTime, FuncError> {
    match args.get(i) {
        Some(Value::Time(t)) => Ok(*t),
        Some(Value::Nil) | None => Err(FuncError::new("invalid value; expected time.Time")),
        Some(other) => Err(FuncError::new(format!(
            "wrong type for value; expected time.Time; got {}",
            other.type_name()
        ))),
    }
}

/// Go's `time.Unix(sec, 0)`.
fn unix(sec: i64) -> Result<OffsetDateTime, FuncError> {
    OffsetDateTime::from_unix_timestamp(sec).map_err(|_| out_of_range())
}

/// `now`: Go's `time.Now()`, in `Local` (UTC).
fn now(env: &mut Env<'_>, _args: Vec<Value>) -> Result<Value, FuncError> {
    env.now
        .checked_to_offset(UtcOffset::UTC)
        .map(Value::Time)
        .ok_or_else(out_of_range)
}

/// The time `dateInZone` and `ago` take: a `time.Time`, or seconds since
/// the epoch as an integer, or else now.
fn time_or_now(env: &Env<'_>, v: Option<&Value>) -> Result<OffsetDateTime, FuncError> {
    match v {
        Some(Value::Time(t)) => Ok(*t),
        Some(Value::Int(sec)) => unix(*sec),
        _ => Ok(env.now),
    }
}

/// `dateInZone fmt date zone`: Sprig formats `date` in `zone`, UTC when
/// the zone cannot be loaded.
fn format_in_zone(
    env: &Env<'_>,
    layout: &[u8],
    date: Option<&Value>,
    zone: &[u8],
) -> Result<Value, FuncError> {
    let t = time_or_now(env, date)?;
    let (local, name) = in_zone(t, zone)?;
    Ok(Value::str(format_layout(local, &name, layout)))
}

fn date(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    format_in_zone(env, str_arg(&args, 0), args.get(1), b"Local")
}

fn date_in_zone(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    format_in_zone(env, str_arg(&args, 0), args.get(1), str_arg(&args, 2))
}

fn html_date(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    format_in_zone(env, b"2006-01-02", args.first(), b"Local")
}

fn html_date_in_zone(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    format_in_zone(env, b"2006-01-02", args.first(), str_arg(&args, 1))
}

/// Go's `Time.Add`.
fn add(t: OffsetDateTime, nanos: i64) -> Result<OffsetDateTime, FuncError> {
    t.checked_add(time::Duration::nanoseconds(nanos))
        .ok_or_else(out_of_range)
}

/// `dateModify`: the date moved by a Go duration, or unchanged when the
/// duration does not parse.
fn date_modify(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let t = time_arg(&args, 1)?;
    match parse_duration(str_arg(&args, 0)) {
        Ok(d) => add(t, d).map(Value::Time),
        Err(_) => Ok(Value::Time(t)),
    }
}

/// `mustDateModify`: as `dateModify`, failing on a bad duration.
fn must_date_modify(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let t = time_arg(&args, 1)?;
    let d = parse_duration(str_arg(&args, 0)).map_err(FuncError::new)?;
    add(t, d).map(Value::Time)
}

/// `toDate`: Go's `time.ParseInLocation(fmt, str, time.Local)`, the zero
/// time when it fails.
fn to_date(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Time(
        parse_layout(str_arg(&args, 0), str_arg(&args, 1)).unwrap_or_else(|_| go_zero_time()),
    ))
}

/// `mustToDate`: as `toDate`, failing with the parse error.
fn must_to_date(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    parse_layout(str_arg(&args, 0), str_arg(&args, 1))
        .map(Value::Time)
        .map_err(FuncError::new)
}

/// `unixEpoch`: seconds since the epoch, as a string.
fn unix_epoch(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let t = time_arg(&args, 0)?;
    Ok(Value::str(t.unix_timestamp().to_string()))
}

/// Go's `time.Since(t)`: now minus `t` in nanoseconds, saturated to the
/// `Duration` range as Go's `Time.Sub` does.
fn since(now: OffsetDateTime, t: OffsetDateTime) -> i64 {
    let d = now.unix_timestamp_nanos() - t.unix_timestamp_nanos();
    i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
}

/// `ago`: `time.Since(t).Round(time.Second).String()`, for a `time.Time`
/// or seconds since the epoch (now otherwise, so `0s`).
fn ago(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let t = time_or_now(env, args.first())?;
    let d = round_duration(since(env.now, t), NANOS_PER_SECOND);
    Ok(Value::str(format_duration(d)))
}

/// Go's `strconv.ParseInt(s, 10, 64)` as Sprig uses it, error dropped: a
/// syntax error gives 0, an out-of-range number the nearest bound.
fn parse_int_lenient(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    let mut n: i128 = 0;
    for &c in digits {
        n = n * 10 + i128::from(c - b'0');
        if n > i128::from(i64::MAX) + 1 {
            break;
        }
    }
    let n = if neg { -n } else { n };
    i64::try_from(n).unwrap_or(if neg { i64::MIN } else { i64::MAX })
}

/// `duration`: seconds (a string, or an integer) as a Go duration string.
///
/// Go's Sprig takes only `int64` here, and an `int` (what a template's
/// literal `60` is) gives `0s`; a [`Value::Int`] stands for both, and is
/// taken as the `int64` that Sprig's own arithmetic (`add`, `int64`)
/// produces.
fn duration(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let n = match args.first() {
        Some(Value::Str(s)) => parse_int_lenient(s.as_bytes()),
        Some(Value::Int(n)) => *n,
        _ => 0,
    };
    // Go's `time.Duration(n) * time.Second` wraps.
    Ok(Value::str(format_duration(
        n.wrapping_mul(NANOS_PER_SECOND),
    )))
}

/// `durationRound`: the largest whole unit (years of 365 days, months of
/// 30, days, hours, minutes, seconds) of a duration string, nanoseconds
/// (an integer, as `duration` takes it) or the time since a `time.Time`.
fn duration_round(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let d = match args.first() {
        Some(Value::Str(s)) => parse_duration(s.as_bytes()).unwrap_or(0),
        Some(Value::Int(n)) => *n,
        Some(Value::Time(t)) => since(env.now, *t),
        _ => 0,
    };
    let u = d.unsigned_abs();
    let hour = NANOS_PER_HOUR as u64;
    let units: [(u64, &str); 6] = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (NANOS_PER_MINUTE as u64, "m"),
        (NANOS_PER_SECOND as u64, "s"),
    ];
    for (unit, suffix) in units {
        if u > unit {
            return Ok(Value::str(format!("{}{suffix}", u / unit)));
        }
    }
    Ok(Value::str("0s"))
}

// ---------------------------------------------------------------------
// Zones

/// The tz database `dateInZone` loads names from.
fn tz_db() -> &'static jiff::tz::TimeZoneDatabase {
    static DB: OnceLock<jiff::tz::TimeZoneDatabase> = OnceLock::new();
    DB.get_or_init(jiff::tz::TimeZoneDatabase::bundled)
}

/// Go's `time.LoadLocation`, `None` where it fails: "" and "UTC" are UTC,
/// "Local" is the controller's (UTC), other names come from the tz
/// database, matched exactly as Go's file lookup does.
fn load_location(name: &[u8]) -> Option<Option<jiff::tz::TimeZone>> {
    match name {
        b"" | b"UTC" | b"Local" => return Some(None),
        _ => {}
    }
    let name = std::str::from_utf8(name).ok()?;
    if name.contains("..") || name.starts_with('/') || name.starts_with('\\') {
        return None;
    }
    let tz = tz_db().get(name).ok()?;
    // The database matches names regardless of case; Go's lookup of a
    // file under /usr/share/zoneinfo does not.
    (tz.iana_name() == Some(name)).then_some(Some(tz))
}

/// `t.In(LoadLocation(zone))` as Sprig uses it (UTC when the zone does not
/// load): the time at the zone's offset then, and the zone's abbreviation.
fn in_zone(t: OffsetDateTime, zone: &[u8]) -> Result<(OffsetDateTime, String), FuncError> {
    let Some(Some(tz)) = load_location(zone) else {
        let utc = t
            .checked_to_offset(UtcOffset::UTC)
            .ok_or_else(out_of_range)?;
        return Ok((utc, "UTC".to_string()));
    };
    let ts = jiff::Timestamp::new(t.unix_timestamp(), t.nanosecond() as i32)
        .map_err(|_| out_of_range())?;
    let info = tz.to_offset_info(ts);
    let offset =
        UtcOffset::from_whole_seconds(info.offset().seconds()).map_err(|_| out_of_range())?;
    let local = t.checked_to_offset(offset).ok_or_else(out_of_range)?;
    Ok((local, info.abbreviation().to_string()))
}

// ---------------------------------------------------------------------
// Layouts: Go's nextStdChunk, Format and parse.

/// A layout element (Go's `std*` constants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    Pm,
    LowerPm,
    Tz,
    Iso8601Tz,
    Iso8601SecondsTz,
    Iso8601ShortTz,
    Iso8601ColonTz,
    Iso8601ColonSecondsTz,
    NumTz,
    NumSecondsTz,
    NumShortTz,
    NumColonTz,
    NumColonSecondsTz,
    /// `.000`: `digits` digits, trailing zeros kept; `sep` is `.` or `,`.
    FracSecond0 {
        digits: usize,
        sep: u8,
    },
    /// `.999`: up to `digits` digits, trailing zeros dropped.
    FracSecond9 {
        digits: usize,
        sep: u8,
    },
}

const STD_0X: [Std; 6] = [
    Std::ZeroMonth,
    Std::ZeroDay,
    Std::ZeroHour12,
    Std::ZeroMinute,
    Std::ZeroSecond,
    Std::Year,
];

fn starts_with_lower(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_lowercase)
}

/// Go's `nextStdChunk`: the text before the first layout element, the
/// element, and the rest.
fn next_std_chunk(layout: &[u8]) -> (&[u8], Option<Std>, &[u8]) {
    let at = |i: usize, s: &[u8]| layout.get(i..i + s.len()) == Some(s);
    for i in 0..layout.len() {
        let hit = |std: Std, len: usize| (&layout[..i], Some(std), &layout[i + len..]);
        match layout[i] {
            b'J' if at(i, b"Jan") => {
                if at(i, b"January") {
                    return hit(Std::LongMonth, 7);
                }
                if !starts_with_lower(&layout[i + 3..]) {
                    return hit(Std::Month, 3);
                }
            }
            b'M' => {
                if at(i, b"Mon") {
                    if at(i, b"Monday") {
                        return hit(Std::LongWeekDay, 6);
                    }
                    if !starts_with_lower(&layout[i + 3..]) {
                        return hit(Std::WeekDay, 3);
                    }
                }
                if at(i, b"MST") {
                    return hit(Std::Tz, 3);
                }
            }
            b'0' => {
                if let Some(&d @ b'1'..=b'6') = layout.get(i + 1) {
                    return hit(STD_0X[usize::from(d - b'1')], 2);
                }
                if at(i, b"002") {
                    return hit(Std::ZeroYearDay, 3);
                }
            }
            b'1' => {
                if at(i, b"15") {
                    return hit(Std::Hour, 2);
                }
                return hit(Std::NumMonth, 1);
            }
            b'2' => {
                if at(i, b"2006") {
                    return hit(Std::LongYear, 4);
                }
                return hit(Std::Day, 1);
            }
            b'_' => {
                if at(i + 1, b"2") {
                    // `_2006` is a literal `_` and then the year.
                    if at(i + 1, b"2006") {
                        return (&layout[..=i], Some(Std::LongYear), &layout[i + 5..]);
                    }
                    return hit(Std::UnderDay, 2);
                }
                if at(i + 1, b"_2") {
                    return hit(Std::UnderYearDay, 3);
                }
            }
            b'3' => return hit(Std::Hour12, 1),
            b'4' => return hit(Std::Minute, 1),
            b'5' => return hit(Std::Second, 1),
            b'P' if at(i + 1, b"M") => return hit(Std::Pm, 2),
            b'p' if at(i + 1, b"m") => return hit(Std::LowerPm, 2),
            b'-' => {
                for (s, std) in [
                    (&b"-070000"[..], Std::NumSecondsTz),
                    (b"-07:00:00", Std::NumColonSecondsTz),
                    (b"-0700", Std::NumTz),
                    (b"-07:00", Std::NumColonTz),
                    (b"-07", Std::NumShortTz),
                ] {
                    if at(i, s) {
                        return hit(std, s.len());
                    }
                }
            }
            b'Z' => {
                for (s, std) in [
                    (&b"Z070000"[..], Std::Iso8601SecondsTz),
                    (b"Z07:00:00", Std::Iso8601ColonSecondsTz),
                    (b"Z0700", Std::Iso8601Tz),
                    (b"Z07:00", Std::Iso8601ColonTz),
                    (b"Z07", Std::Iso8601ShortTz),
                ] {
                    if at(i, s) {
                        return hit(std, s.len());
                    }
                }
            }
            sep @ (b'.' | b',') => {
                if let Some(&ch @ (b'0' | b'9')) = layout.get(i + 1) {
                    let mut j = i + 1;
                    while layout.get(j) == Some(&ch) {
                        j += 1;
                    }
                    // Only a run of digits that ends here is a fraction.
                    if !layout.get(j).is_some_and(u8::is_ascii_digit) {
                        let digits = (j - (i + 1)) & 0xfff;
                        let std = if ch == b'0' {
                            Std::FracSecond0 { digits, sep }
                        } else {
                            Std::FracSecond9 { digits, sep }
                        };
                        return (&layout[..i], Some(std), &layout[j..]);
                    }
                }
            }
            _ => {}
        }
    }
    (layout, None, &[])
}

const LONG_DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const LONG_MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Go's `appendInt`: `x` in decimal, zero-padded to `width` digits after
/// any sign.
fn append_int(b: &mut Vec<u8>, x: i64, width: usize) {
    if x < 0 {
        b.push(b'-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        b.push(b'0');
    }
    b.extend_from_slice(digits.as_bytes());
}

/// Go's `appendNano`: the fraction of a second for `.000`/`.999`.
fn append_nano(b: &mut Vec<u8>, nanos: u32, digits: usize, sep: u8, trim: bool) {
    if trim && (digits == 0 || nanos == 0) {
        return;
    }
    let start = b.len();
    b.push(sep);
    let all = format!("{nanos:09}");
    b.extend_from_slice(&all.as_bytes()[..digits.min(9)]);
    if trim {
        while b.len() > start && b.last() == Some(&b'0') {
            b.pop();
        }
        if b.len() == start + 1 {
            b.pop();
        }
    }
}

/// Go's `Time.Format(layout)` for a time whose zone is named `zone` (""
/// when it has no name).
pub(super) fn format_layout(t: OffsetDateTime, zone: &str, layout: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(layout.len() + 10);
    let mut layout = layout;
    let year = i64::from(t.year());
    let hour = i64::from(t.hour());
    let offset = i64::from(t.offset().whole_seconds());
    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        b.extend_from_slice(prefix);
        let Some(std) = std else { break };
        layout = suffix;
        match std {
            Std::Year => append_int(&mut b, year.abs() % 100, 2),
            Std::LongYear => append_int(&mut b, year, 4),
            Std::Month => b.extend_from_slice(&LONG_MONTH_NAMES[month_index(t)].as_bytes()[..3]),
            Std::LongMonth => b.extend_from_slice(LONG_MONTH_NAMES[month_index(t)].as_bytes()),
            Std::NumMonth => append_int(&mut b, i64::from(u8::from(t.month())), 0),
            Std::ZeroMonth => append_int(&mut b, i64::from(u8::from(t.month())), 2),
            Std::WeekDay => b.extend_from_slice(&LONG_DAY_NAMES[weekday_index(t)].as_bytes()[..3]),
            Std::LongWeekDay => b.extend_from_slice(LONG_DAY_NAMES[weekday_index(t)].as_bytes()),
            Std::Day => append_int(&mut b, i64::from(t.day()), 0),
            Std::UnderDay => {
                if t.day() < 10 {
                    b.push(b' ');
                }
                append_int(&mut b, i64::from(t.day()), 0);
            }
            Std::ZeroDay => append_int(&mut b, i64::from(t.day()), 2),
            Std::UnderYearDay => {
                let yday = t.ordinal();
                if yday < 100 {
                    b.push(b' ');
                    if yday < 10 {
                        b.push(b' ');
                    }
                }
                append_int(&mut b, i64::from(yday), 0);
            }
            Std::ZeroYearDay => append_int(&mut b, i64::from(t.ordinal()), 3),
            Std::Hour => append_int(&mut b, hour, 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let hr = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                append_int(&mut b, hr, if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => append_int(&mut b, i64::from(t.minute()), 0),
            Std::ZeroMinute => append_int(&mut b, i64::from(t.minute()), 2),
            Std::Second => append_int(&mut b, i64::from(t.second()), 0),
            Std::ZeroSecond => append_int(&mut b, i64::from(t.second()), 2),
            Std::Pm => b.extend_from_slice(if hour >= 12 { b"PM" } else { b"AM" }),
            Std::LowerPm => b.extend_from_slice(if hour >= 12 { b"pm" } else { b"am" }),
            Std::Iso8601Tz
            | Std::Iso8601ColonTz
            | Std::Iso8601SecondsTz
            | Std::Iso8601ShortTz
            | Std::Iso8601ColonSecondsTz
            | Std::NumTz
            | Std::NumColonTz
            | Std::NumSecondsTz
            | Std::NumShortTz
            | Std::NumColonSecondsTz => {
                let iso = matches!(
                    std,
                    Std::Iso8601Tz
                        | Std::Iso8601ColonTz
                        | Std::Iso8601SecondsTz
                        | Std::Iso8601ShortTz
                        | Std::Iso8601ColonSecondsTz
                );
                if offset == 0 && iso {
                    b.push(b'Z');
                    continue;
                }
                let zone_minutes = offset / 60;
                b.push(if zone_minutes < 0 { b'-' } else { b'+' });
                let (zone_minutes, abs_offset) = (zone_minutes.abs(), offset.abs());
                append_int(&mut b, zone_minutes / 60, 2);
                let colon = matches!(
                    std,
                    Std::Iso8601ColonTz
                        | Std::NumColonTz
                        | Std::Iso8601ColonSecondsTz
                        | Std::NumColonSecondsTz
                );
                if colon {
                    b.push(b':');
                }
                if !matches!(std, Std::NumShortTz | Std::Iso8601ShortTz) {
                    append_int(&mut b, zone_minutes % 60, 2);
                }
                if matches!(
                    std,
                    Std::Iso8601SecondsTz
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTz
                        | Std::Iso8601ColonSecondsTz
                ) {
                    if matches!(std, Std::NumColonSecondsTz | Std::Iso8601ColonSecondsTz) {
                        b.push(b':');
                    }
                    append_int(&mut b, abs_offset % 60, 2);
                }
            }
            Std::Tz => {
                if !zone.is_empty() {
                    b.extend_from_slice(zone.as_bytes());
                    continue;
                }
                // No name: Go prints the -0700 form.
                let zone_minutes = offset / 60;
                b.push(if zone_minutes < 0 { b'-' } else { b'+' });
                let zone_minutes = zone_minutes.abs();
                append_int(&mut b, zone_minutes / 60, 2);
                append_int(&mut b, zone_minutes % 60, 2);
            }
            Std::FracSecond0 { digits, sep } => {
                append_nano(&mut b, t.nanosecond(), digits, sep, false)
            }
            Std::FracSecond9 { digits, sep } => {
                append_nano(&mut b, t.nanosecond(), digits, sep, true)
            }
        }
    }
    b
}

fn month_index(t: OffsetDateTime) -> usize {
    usize::from(u8::from(t.month())) - 1
}

fn weekday_index(t: OffsetDateTime) -> usize {
    usize::from(t.weekday().number_days_from_sunday())
}

/// Go's `atoi` in `time`: an optional sign and decimal digits, all of `s`.
fn go_atoi(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (x, rest) = leading_int(digits)?;
    if !rest.is_empty() {
        return None;
    }
    let x = i64::try_from(x).ok()?;
    Some(if neg { -x } else { x })
}

/// Go's `leadingInt`: the leading decimal digits, `None` on overflow past
/// 2^63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Go's `getnum`: one or two digits (`fixed`: exactly two).
fn getnum(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let d0 = *s.first().filter(|c| c.is_ascii_digit())?;
    match s.get(1).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => Some((i64::from(d0 - b'0') * 10 + i64::from(d1 - b'0'), &s[2..])),
        None if fixed => None,
        None => Some((i64::from(d0 - b'0'), &s[1..])),
    }
}

/// Go's `getnum3`: one to three digits (`fixed`: exactly three).
fn getnum3(s: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0;
    let mut i = 0;
    while i < 3 && s.get(i).is_some_and(u8::is_ascii_digit) {
        n = n * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &s[i..]))
}

/// Go's `skip`: removes `prefix` from `value`, runs of spaces matching
/// runs of spaces.
fn skip<'v>(mut value: &'v [u8], mut prefix: &[u8]) -> Option<&'v [u8]> {
    fn cutspace(s: &[u8]) -> &[u8] {
        let n = s.iter().take_while(|&&c| c == b' ').count();
        &s[n..]
    }
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if value.first().is_some_and(|&c| c != b' ') {
                return None;
            }
            prefix = cutspace(prefix);
            value = cutspace(value);
            continue;
        }
        if value.first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        value = &value[1..];
    }
    Some(value)
}

/// Go's `lookup`: the first name of `tab` that `val` starts with, ignoring
/// ASCII case.
fn lookup<'v>(tab: &[&str], short: bool, val: &'v [u8]) -> Option<(usize, &'v [u8])> {
    tab.iter().enumerate().find_map(|(i, name)| {
        let name = if short {
            &name.as_bytes()[..3]
        } else {
            name.as_bytes()
        };
        let head = val.get(..name.len())?;
        head.eq_ignore_ascii_case(name)
            .then(|| (i, &val[name.len()..]))
    })
}

/// Go's `parseTimeZone`: the length of a zone abbreviation at the start of
/// `value`.
fn parse_time_zone(value: &[u8]) -> Option<usize> {
    if value.len() < 3 {
        return None;
    }
    if value.starts_with(b"ChST") || value.starts_with(b"MeST") {
        return Some(4);
    }
    if value.starts_with(b"GMT") {
        return Some(3 + parse_signed_offset(&value[3..]));
    }
    if value[0] == b'+' || value[0] == b'-' {
        let n = parse_signed_offset(value);
        return (n > 0).then_some(n);
    }
    let upper = value
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    match upper {
        5 if value[4] == b'T' => Some(5),
        4 if value[3] == b'T' || value.starts_with(b"WITA") => Some(4),
        3 => Some(3),
        _ => None,
    }
}

/// Go's `parseSignedOffset`: the length of `+hh`/`-hh` (hours up to 23)
/// at the start of `value`, 0 if there is none.
fn parse_signed_offset(value: &[u8]) -> usize {
    match value.first() {
        Some(b'+' | b'-') => {}
        _ => return 0,
    }
    match leading_int(&value[1..]) {
        Some((x, rest)) if rest.len() != value.len() - 1 && x <= 23 => value.len() - rest.len(),
        _ => 0,
    }
}

/// Go's `parseNanoseconds`: `value[..nbytes]` is a separator and digits.
fn parse_nanoseconds(value: &[u8], nbytes: usize) -> Result<i64, ParseFail> {
    if !matches!(value.first(), Some(b'.' | b',')) {
        return Err(ParseFail::Bad);
    }
    let nbytes = nbytes.min(10);
    let ns = value
        .get(1..nbytes)
        .and_then(go_atoi)
        .ok_or(ParseFail::Bad)?;
    if ns < 0 {
        return Err(ParseFail::Range("fractional second"));
    }
    Ok((0..10 - nbytes).fold(ns, |ns, _| ns * 10))
}

/// Why one layout element did not parse.
enum ParseFail {
    /// Go's `errBad`: "cannot parse".
    Bad,
    /// A value out of range: "<what> out of range".
    Range(&'static str),
}

/// The error Go's `ParseError.Error()` gives, without the value (it may be
/// a secret): `parsing time as "<layout>": cannot parse value as
/// "<element>"`, or `parsing time: <message>`.
fn cannot_parse(layout: &[u8], elem: &[u8]) -> String {
    format!(
        "parsing time as {}: cannot parse value as {}",
        go_quote(layout),
        go_quote(elem)
    )
}

fn parse_message(message: &str) -> String {
    format!("parsing time: {message}")
}

/// Go's `time.quote`: printable ASCII as is (`"` and `\` escaped), other
/// bytes as `\xNN`.
fn go_quote(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for c in String::from_utf8_lossy(s).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
            out.push(c);
        } else if (' '..'\u{7f}').contains(&c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        }
    }
    out.push('"');
    out
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days before the first of `month` (1-based) in a non-leap year; 365 for
/// month 13.
fn days_before(month: i64) -> i64 {
    const DAYS: [i64; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    DAYS[(month.clamp(1, 13) - 1) as usize]
}

fn days_in(month: i64, year: i64) -> i64 {
    if month == 2 && is_leap(year) {
        return 29;
    }
    days_before(month + 1) - days_before(month)
}

/// Go's `time.ParseInLocation(layout, value, time.Local)` with `Local`
/// being UTC.
pub(super) fn parse_layout(layout: &[u8], value: &[u8]) -> Result<OffsetDateTime, String> {
    let alayout = layout;
    let mut layout = layout;
    let mut value = value;
    let mut am_set = false;
    let mut pm_set = false;
    let mut year: i64 = 0;
    let mut month: i64 = -1;
    let mut day: i64 = -1;
    let mut yday: i64 = -1;
    let mut hour: i64 = 0;
    let mut min: i64 = 0;
    let mut sec: i64 = 0;
    let mut nsec: i64 = 0;
    let mut utc_zone = false;
    let mut zone_offset: Option<i64> = None;
    let mut zone_name: &[u8] = &[];

    loop {
        let (prefix, std, suffix) = next_std_chunk(layout);
        let stdstr = &layout[prefix.len()..layout.len() - suffix.len()];
        value = match skip(value, prefix) {
            Some(v) => v,
            None => return Err(cannot_parse(alayout, prefix)),
        };
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(parse_message("extra text"));
            }
            break;
        };
        layout = suffix;
        let mut range: Option<&'static str> = None;
        let result: Result<(), ParseFail> = (|| {
            match std {
                Std::Year => {
                    let p = value.get(..2).ok_or(ParseFail::Bad)?;
                    value = &value[2..];
                    let y = go_atoi(p).ok_or(ParseFail::Bad)?;
                    year = if y >= 69 { y + 1900 } else { y + 2000 };
                }
                Std::LongYear => {
                    if value.len() < 4 || !value[0].is_ascii_digit() {
                        return Err(ParseFail::Bad);
                    }
                    let p = &value[..4];
                    value = &value[4..];
                    year = go_atoi(p).ok_or(ParseFail::Bad)?;
                }
                Std::Month | Std::LongMonth => {
                    let (m, rest) = lookup(&LONG_MONTH_NAMES, std == Std::Month, value)
                        .ok_or(ParseFail::Bad)?;
                    month = m as i64 + 1;
                    value = rest;
                }
                Std::NumMonth | Std::ZeroMonth => {
                    let (m, rest) = getnum(value, std == Std::ZeroMonth).ok_or(ParseFail::Bad)?;
                    month = m;
                    value = rest;
                    if !(1..=12).contains(&m) {
                        range = Some("month");
                    }
                }
                Std::WeekDay | Std::LongWeekDay => {
                    let (_, rest) = lookup(&LONG_DAY_NAMES, std == Std::WeekDay, value)
                        .ok_or(ParseFail::Bad)?;
                    value = rest;
                }
                Std::Day | Std::UnderDay | Std::ZeroDay => {
                    if std == Std::UnderDay && value.first() == Some(&b' ') {
                        value = &value[1..];
                    }
                    let (d, rest) = getnum(value, std == Std::ZeroDay).ok_or(ParseFail::Bad)?;
                    day = d;
                    value = rest;
                }
                Std::UnderYearDay | Std::ZeroYearDay => {
                    for _ in 0..2 {
                        if std == Std::UnderYearDay && value.first() == Some(&b' ') {
                            value = &value[1..];
                        }
                    }
                    let (d, rest) =
                        getnum3(value, std == Std::ZeroYearDay).ok_or(ParseFail::Bad)?;
                    yday = d;
                    value = rest;
                }
                Std::Hour => {
                    let (h, rest) = getnum(value, false).ok_or(ParseFail::Bad)?;
                    hour = h;
                    value = rest;
                    if !(0..24).contains(&h) {
                        range = Some("hour");
                    }
                }
                Std::Hour12 | Std::ZeroHour12 => {
                    let (h, rest) = getnum(value, std == Std::ZeroHour12).ok_or(ParseFail::Bad)?;
                    hour = h;
                    value = rest;
                    if !(0..=12).contains(&h) {
                        range = Some("hour");
                    }
                }
                Std::Minute | Std::ZeroMinute => {
                    let (m, rest) = getnum(value, std == Std::ZeroMinute).ok_or(ParseFail::Bad)?;
                    min = m;
                    value = rest;
                    if !(0..60).contains(&m) {
                        range = Some("minute");
                    }
                }
                Std::Second | Std::ZeroSecond => {
                    let (s, rest) = getnum(value, std == Std::ZeroSecond).ok_or(ParseFail::Bad)?;
                    sec = s;
                    value = rest;
                    if !(0..60).contains(&s) {
                        range = Some("second");
                        return Ok(());
                    }
                    // A fraction in the value that the layout does not
                    // spell out right after is taken anyway.
                    if value.len() >= 2
                        && matches!(value[0], b'.' | b',')
                        && value[1].is_ascii_digit()
                    {
                        if let (_, Some(Std::FracSecond0 { .. } | Std::FracSecond9 { .. }), _) =
                            next_std_chunk(layout)
                        {
                            return Ok(());
                        }
                        let n = 2 + value[2..].iter().take_while(|c| c.is_ascii_digit()).count();
                        let parsed = parse_nanoseconds(value, n);
                        value = &value[n..];
                        nsec = parsed?;
                    }
                }
                Std::Pm | Std::LowerPm => {
                    let p = value.get(..2).ok_or(ParseFail::Bad)?;
                    value = &value[2..];
                    let (pm, am): (&[u8], &[u8]) = if std == Std::Pm {
                        (b"PM", b"AM")
                    } else {
                        (b"pm", b"am")
                    };
                    if p == pm {
                        pm_set = true;
                    } else if p == am {
                        am_set = true;
                    } else {
                        return Err(ParseFail::Bad);
                    }
                }
                Std::Iso8601Tz
                | Std::Iso8601ShortTz
                | Std::Iso8601ColonTz
                | Std::Iso8601SecondsTz
                | Std::Iso8601ColonSecondsTz
                    if value.first() == Some(&b'Z') =>
                {
                    value = &value[1..];
                    utc_zone = true;
                }
                Std::Iso8601Tz
                | Std::Iso8601ShortTz
                | Std::Iso8601ColonTz
                | Std::Iso8601SecondsTz
                | Std::Iso8601ColonSecondsTz
                | Std::NumTz
                | Std::NumShortTz
                | Std::NumColonTz
                | Std::NumSecondsTz
                | Std::NumColonSecondsTz => {
                    let (sign, hh, mm, ss): (u8, &[u8], &[u8], &[u8]);
                    match std {
                        Std::Iso8601ColonTz | Std::NumColonTz => {
                            if value.len() < 6 || value[3] != b':' {
                                return Err(ParseFail::Bad);
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], &value[4..6], b"00");
                            value = &value[6..];
                        }
                        Std::NumShortTz | Std::Iso8601ShortTz => {
                            if value.len() < 3 {
                                return Err(ParseFail::Bad);
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], b"00", b"00");
                            value = &value[3..];
                        }
                        Std::Iso8601ColonSecondsTz | Std::NumColonSecondsTz => {
                            if value.len() < 9 || value[3] != b':' || value[6] != b':' {
                                return Err(ParseFail::Bad);
                            }
                            (sign, hh, mm, ss) =
                                (value[0], &value[1..3], &value[4..6], &value[7..9]);
                            value = &value[9..];
                        }
                        Std::Iso8601SecondsTz | Std::NumSecondsTz => {
                            if value.len() < 7 {
                                return Err(ParseFail::Bad);
                            }
                            (sign, hh, mm, ss) =
                                (value[0], &value[1..3], &value[3..5], &value[5..7]);
                            value = &value[7..];
                        }
                        _ => {
                            if value.len() < 5 {
                                return Err(ParseFail::Bad);
                            }
                            (sign, hh, mm, ss) = (value[0], &value[1..3], &value[3..5], b"00");
                            value = &value[5..];
                        }
                    }
                    let hr = getnum(hh, true).ok_or(ParseFail::Bad)?.0;
                    let mi = getnum(mm, true).ok_or(ParseFail::Bad)?.0;
                    let se = getnum(ss, true).ok_or(ParseFail::Bad)?.0;
                    // Go tests with `>`: offsets of 24 hours or 60 minutes
                    // are written.
                    if hr > 24 {
                        range = Some("time zone offset hour");
                    }
                    if mi > 60 {
                        range = Some("time zone offset minute");
                    }
                    if se > 60 {
                        range = Some("time zone offset second");
                    }
                    let off = (hr * 60 + mi) * 60 + se;
                    zone_offset = Some(match sign {
                        b'+' => off,
                        b'-' => -off,
                        _ => return Err(ParseFail::Bad),
                    });
                }
                Std::Tz => {
                    if value.starts_with(b"UTC") {
                        utc_zone = true;
                        value = &value[3..];
                        return Ok(());
                    }
                    let n = parse_time_zone(value).ok_or(ParseFail::Bad)?;
                    zone_name = &value[..n];
                    value = &value[n..];
                }
                Std::FracSecond0 { digits, .. } => {
                    let ndigit = 1 + digits;
                    if value.len() < ndigit {
                        return Err(ParseFail::Bad);
                    }
                    let parsed = parse_nanoseconds(value, ndigit);
                    value = &value[ndigit..];
                    nsec = parsed?;
                }
                Std::FracSecond9 { .. } => {
                    if value.len() < 2
                        || !matches!(value[0], b'.' | b',')
                        || !value[1].is_ascii_digit()
                    {
                        // The fraction is optional.
                        return Ok(());
                    }
                    let n = 1 + value[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    let parsed = parse_nanoseconds(value, n);
                    value = &value[n..];
                    nsec = parsed?;
                }
            }
            Ok(())
        })();
        match result {
            Err(ParseFail::Range(what)) => {
                return Err(parse_message(&format!("{what} out of range")));
            }
            _ if range.is_some() => {
                return Err(parse_message(&format!(
                    "{} out of range",
                    range.unwrap_or_default()
                )));
            }
            Err(ParseFail::Bad) => return Err(cannot_parse(alayout, stdstr)),
            Ok(()) => {}
        }
    }

    if pm_set && hour < 12 {
        hour += 12;
    } else if am_set && hour == 12 {
        hour = 0;
    }

    if yday >= 0 {
        let mut d = 0;
        let mut m = 0;
        if is_leap(year) {
            if yday == 31 + 29 {
                m = 2;
                d = 29;
            } else if yday > 31 + 29 {
                yday -= 1;
            }
        }
        if !(1..=365).contains(&yday) {
            return Err(parse_message("day-of-year out of range"));
        }
        if m == 0 {
            m = (yday - 1) / 31 + 1;
            if days_before(m + 1) < yday {
                m += 1;
            }
            d = yday - days_before(m);
        }
        if month >= 0 && month != m {
            return Err(parse_message("day-of-year does not match month"));
        }
        month = m;
        if day >= 0 && day != d {
            return Err(parse_message("day-of-year does not match day"));
        }
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(parse_message("day out of range"));
    }

    let wall = wall_clock(year, month, day, hour, min, sec, nsec)?;
    if utc_zone {
        return Ok(wall.assume_utc());
    }
    if let Some(off) = zone_offset {
        // Local (UTC) is used when the offset is its own; either way the
        // wall clock is kept at that offset.
        let offset = UtcOffset::from_whole_seconds(off as i32)
            .map_err(|_| parse_message("time zone offset out of range"))?;
        return Ok(wall.assume_offset(offset));
    }
    if !zone_name.is_empty() {
        // An abbreviation Local (UTC) does not know: a made-up zone of that
        // name at offset zero, or at the hours of `GMT+h`, over the same
        // instant as the wall clock read as UTC.
        let offset = if zone_name.len() > 3 && zone_name.starts_with(b"GMT") {
            go_atoi(&zone_name[3..]).unwrap_or(0) * 3600
        } else {
            0
        };
        let offset = UtcOffset::from_whole_seconds(offset as i32)
            .map_err(|_| parse_message("time zone offset out of range"))?;
        return wall
            .assume_utc()
            .checked_to_offset(offset)
            .ok_or_else(|| parse_message("year out of range"));
    }
    Ok(wall.assume_utc())
}

/// The parsed fields as a date and time (all within range by now, except
/// a year the `time` crate cannot hold).
fn wall_clock(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    nsec: i64,
) -> Result<PrimitiveDateTime, String> {
    let month = Month::try_from(month as u8).map_err(|_| parse_message("month out of range"))?;
    let date = time::Date::from_calendar_date(year as i32, month, day as u8)
        .map_err(|_| parse_message("year out of range"))?;
    let clock = time::Time::from_hms_nano(hour as u8, min as u8, sec as u8, nsec as u32)
        .map_err(|_| parse_message("hour out of range"))?;
    Ok(PrimitiveDateTime::new(date, clock))
}

// ---------------------------------------------------------------------
// Durations: Go's ParseDuration, Duration.String and Duration.Round.

/// The units `ParseDuration` knows, in nanoseconds.
fn unit_nanos(unit: &[u8]) -> Option<u64> {
    Some(match unit {
        b"ns" => 1,
        // "µs" (U+00B5) and "μs" (U+03BC).
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => NANOS_PER_SECOND as u64,
        b"m" => NANOS_PER_MINUTE as u64,
        b"h" => NANOS_PER_HOUR as u64,
        _ => return None,
    })
}

/// Go's `time.ParseDuration`: a possibly signed sequence of decimal
/// numbers with optional fractions and units (`300ms`, `-1.5h`, `2h45m`).
/// The errors are Go's texts without the value.
pub(super) fn parse_duration(s: &[u8]) -> Result<i64, &'static str> {
    const INVALID: &str = "time: invalid duration";
    let mut s = s;
    let mut neg = false;
    if let Some(&c @ (b'-' | b'+')) = s.first() {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(INVALID);
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(INVALID);
        }
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or(INVALID)?;
        s = rest;
        let pre = before != s.len();
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            (f, scale, s) = leading_fraction(s);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(INVALID);
        }
        let i = s
            .iter()
            .take_while(|&&c| c != b'.' && !c.is_ascii_digit())
            .count();
        if i == 0 {
            return Err("time: missing unit in duration");
        }
        let unit = unit_nanos(&s[..i]).ok_or("time: unknown unit in duration")?;
        s = &s[i..];
        if v > (1 << 63) / unit {
            return Err(INVALID);
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(INVALID);
            }
        }
        d += v;
        if d > 1 << 63 {
            return Err(INVALID);
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    i64::try_from(d).map_err(|_| INVALID)
}

/// Go's `leadingFraction`: the digits after a decimal point, with the
/// power of ten they scale by; digits past what fits are dropped.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        i += 1;
        if overflow {
            continue;
        }
        if x > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[i..])
}

/// Go's `Duration.String()`: `72h3m0.5s`, `1.5ms`, `0s`.
pub(super) fn format_duration(d: i64) -> String {
    let mut u = d.unsigned_abs();
    // Built backwards, as Go does.
    let mut rev: Vec<u8> = Vec::with_capacity(32);
    if u < NANOS_PER_SECOND as u64 {
        rev.push(b's');
        let prec = match u {
            0 => return "0s".to_string(),
            1..=999 => {
                rev.push(b'n');
                0
            }
            1_000..=999_999 => {
                // "µ", U+00B5, backwards.
                rev.extend_from_slice(&[0xb5, 0xc2]);
                3
            }
            _ => {
                rev.push(b'm');
                6
            }
        };
        u = fmt_frac(&mut rev, u, prec);
        fmt_int(&mut rev, u);
    } else {
        rev.push(b's');
        u = fmt_frac(&mut rev, u, 9);
        fmt_int(&mut rev, u % 60);
        u /= 60;
        if u > 0 {
            rev.push(b'm');
            fmt_int(&mut rev, u % 60);
            u /= 60;
            if u > 0 {
                rev.push(b'h');
                fmt_int(&mut rev, u);
            }
        }
    }
    if d < 0 {
        rev.push(b'-');
    }
    rev.reverse();
    String::from_utf8_lossy(&rev).into_owned()
}

/// Go's `fmtFrac`, backwards: the low `prec` digits of `v` as a fraction
/// without trailing zeros (nor the point when all are zero); returns the
/// rest of `v`.
fn fmt_frac(rev: &mut Vec<u8>, mut v: u64, prec: usize) -> u64 {
    let mut print = false;
    for _ in 0..prec {
        let digit = (v % 10) as u8;
        print = print || digit != 0;
        if print {
            rev.push(b'0' + digit);
        }
        v /= 10;
    }
    if print {
        rev.push(b'.');
    }
    v
}

/// Go's `fmtInt`, backwards.
fn fmt_int(rev: &mut Vec<u8>, mut v: u64) {
    if v == 0 {
        rev.push(b'0');
        return;
    }
    while v > 0 {
        rev.push(b'0' + (v % 10) as u8);
        v /= 10;
    }
}

/// Go's `Duration.Round(m)`: to the nearest multiple of `m`, halfway away
/// from zero, saturating.
fn round_duration(d: i64, m: i64) -> i64 {
    if m <= 0 {
        return d;
    }
    let mut r = d % m;
    let less_than_half = |x: i64, y: i64| (x as u64).wrapping_add(x as u64) < y as u64;
    if d < 0 {
        r = -r;
        if less_than_half(r, m) {
            return d + r;
        }
        return match d.checked_sub(m - r) {
            Some(d1) if d1 < d => d1,
            _ => i64::MIN,
        };
    }
    if less_than_half(r, m) {
        return d - r;
    }
    match d.checked_add(m - r) {
        Some(d1) if d1 > d => d1,
        _ => i64::MAX,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::random::testing::{fixed_now, with_env};
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        with_env(0, |env| (r.get(name).unwrap().body)(env, args))
    }

    fn text(v: Value) -> String {
        String::from_utf8(v.to_go_string()).unwrap()
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn dt(unix: i64, nanos: u32, offset_secs: i32) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix)
            .unwrap()
            .replace_nanosecond(nanos)
            .unwrap()
            .to_offset(UtcOffset::from_whole_seconds(offset_secs).unwrap())
    }

    /// The name Go would show for a [`Value::Time`]'s zone: `UTC` (Local) at
    /// offset zero, none (so the numeric form) otherwise.
    fn zone_name_of(t: OffsetDateTime) -> &'static str {
        if t.offset().is_utc() { "UTC" } else { "" }
    }

    /// Go's `time.Date(y, m, d, h, mi, sec, 0, FixedZone("", offset))`.
    fn civil(y: i32, m: u8, d: u8, h: u8, mi: u8, sec: u8, offset: i32) -> OffsetDateTime {
        time::Date::from_calendar_date(y, Month::try_from(m).unwrap(), d)
            .unwrap()
            .with_hms(h, mi, sec)
            .unwrap()
            .assume_offset(UtcOffset::from_whole_seconds(offset).unwrap())
    }

    /// Sprig's tests' instant: `time.Parse("02 Jan 06 15:04:05 MST", "13
    /// Jun 19 20:39:39 GMT")`.
    fn sprig_time() -> Value {
        Value::Time(parse_layout(b"02 Jan 06 15:04:05 MST", b"13 Jun 19 20:39:39 GMT").unwrap())
    }

    // Sprig date_test.go TestHtmlDate.
    #[test]
    fn html_date() {
        assert_eq!(
            text(call("htmlDate", vec![sprig_time()]).unwrap()),
            "2019-06-13"
        );
    }

    // Sprig date_test.go TestAgo (now fixed, so exact).
    #[test]
    fn ago() {
        let now = fixed_now();
        for (t, want) in [
            (now - time::Duration::seconds(125), "2m5s"),
            (
                now - time::Duration::seconds(2 * 3600 + 34 * 60 + 17),
                "2h34m17s",
            ),
            (now + time::Duration::seconds(5), "-5s"),
        ] {
            assert_eq!(text(call("ago", vec![Value::Time(t)]).unwrap()), want);
        }
        // Seconds since the epoch; anything else is now.
        assert_eq!(
            text(call("ago", vec![Value::Int(now.unix_timestamp() - 61)]).unwrap()),
            "1m1s"
        );
        assert_eq!(text(call("ago", vec![s("x")]).unwrap()), "0s");
    }

    // Sprig date_test.go TestToDate.
    #[test]
    fn to_date_then_date() {
        let t = call("toDate", vec![s("2006-01-02"), s("2017-12-31")]).unwrap();
        assert_eq!(
            text(call("date", vec![s("02/01/2006"), t]).unwrap()),
            "31/12/2017"
        );
    }

    #[test]
    fn to_date_failure_is_the_zero_time_and_must_to_date_errs() {
        let t = call("toDate", vec![s("2006-01-02"), s("not a date")]).unwrap();
        assert_eq!(text(t), "0001-01-01 00:00:00 +0000 UTC");
        let err = call("mustToDate", vec![s("2006-01-02"), s("2017-13-31")]).unwrap_err();
        assert_eq!(err.0, "parsing time: month out of range");
        let err = call("mustToDate", vec![s("2006-01-02"), s("2017/12/31")]).unwrap_err();
        assert_eq!(
            err.0,
            r#"parsing time as "2006-01-02": cannot parse value as "-""#
        );
    }

    // Sprig date_test.go TestUnixEpoch.
    #[test]
    fn unix_epoch() {
        assert_eq!(
            text(call("unixEpoch", vec![sprig_time()]).unwrap()),
            "1560458379"
        );
        assert_eq!(
            call("unixEpoch", vec![s("2019")]).unwrap_err().0,
            "wrong type for value; expected time.Time; got string"
        );
        assert_eq!(
            call("unixEpoch", vec![Value::Nil]).unwrap_err().0,
            "invalid value; expected time.Time"
        );
    }

    // Sprig date_test.go TestDateInZone: a time.Time (and, in Go, a
    // pointer to one), seconds as int64, int32 and int, no time at all
    // (now), and an unknown zone (UTC).
    #[test]
    fn date_in_zone() {
        let layout = s("02 Jan 06 15:04 -0700");
        for date in [sprig_time(), Value::Int(1_560_458_379)] {
            assert_eq!(
                text(call("date_in_zone", vec![layout.clone(), date, s("UTC")]).unwrap()),
                "13 Jun 19 20:39 +0000"
            );
        }
        assert_eq!(
            text(call("dateInZone", vec![layout.clone(), s(""), s("UTC")]).unwrap()),
            "13 Jun 19 20:39 +0000"
        );
        assert_eq!(
            text(call("date_in_zone", vec![layout, sprig_time(), s("foobar")]).unwrap()),
            "13 Jun 19 20:39 +0000"
        );
    }

    #[test]
    fn date_in_named_zones() {
        // 2019-06-13T20:39:39Z is 16:39:39 EDT in New York, 05:39:39 JST
        // the next day in Tokyo.
        let layout = s("2006-01-02 15:04:05 MST -07:00");
        for (zone, want) in [
            ("America/New_York", "2019-06-13 16:39:39 EDT -04:00"),
            ("Asia/Tokyo", "2019-06-14 05:39:39 JST +09:00"),
            ("Local", "2019-06-13 20:39:39 UTC +00:00"),
            ("", "2019-06-13 20:39:39 UTC +00:00"),
            // Go's lookup is by file name: case matters.
            ("america/new_york", "2019-06-13 20:39:39 UTC +00:00"),
            ("../etc/passwd", "2019-06-13 20:39:39 UTC +00:00"),
        ] {
            assert_eq!(
                text(call("dateInZone", vec![layout.clone(), sprig_time(), s(zone)]).unwrap()),
                want,
                "{zone}"
            );
        }
        assert_eq!(
            text(call("htmlDateInZone", vec![sprig_time(), s("Asia/Tokyo")]).unwrap()),
            "2019-06-14"
        );
    }

    // Sprig date_test.go TestDuration.
    #[test]
    fn duration() {
        for (secs, want) in [("61", "1m1s"), ("3600", "1h0m0s"), ("93784", "26h3m4s")] {
            assert_eq!(text(call("duration", vec![s(secs)]).unwrap()), want);
        }
        assert_eq!(
            text(call("duration", vec![Value::Int(61)]).unwrap()),
            "1m1s"
        );
        assert_eq!(text(call("duration", vec![s("x")]).unwrap()), "0s");
        assert_eq!(
            text(call("duration", vec![Value::Float(61.0)]).unwrap()),
            "0s"
        );
        // ParseInt's range error gives the bound, and the product wraps.
        assert_eq!(
            text(call("duration", vec![s("99999999999999999999")]).unwrap()),
            format_duration(i64::MAX.wrapping_mul(NANOS_PER_SECOND))
        );
    }

    // Sprig date_test.go TestDurationRound.
    #[test]
    fn duration_round() {
        for (d, want) in [("2h5s", "2h"), ("24h5s", "1d"), ("2400h5s", "3mo")] {
            assert_eq!(text(call("durationRound", vec![s(d)]).unwrap()), want);
        }
        for (d, want) in [
            (Value::Int(-3 * NANOS_PER_HOUR - 1), "3h"),
            (Value::Int(NANOS_PER_SECOND), "0s"),
            (s("8761h"), "1y"),
            (s("bad"), "0s"),
            (Value::Time(fixed_now() - time::Duration::minutes(90)), "1h"),
        ] {
            assert_eq!(text(call("durationRound", vec![d]).unwrap()), want);
        }
    }

    // Sprig date_test.go TestDateModify. Go prints the result as
    // "2019-06-14 20:39:39 +0000 GMT", keeping the zone name it parsed;
    // a Value::Time keeps the offset only.
    #[test]
    fn date_modify() {
        let t = call("date_modify", vec![s("24h"), sprig_time()]).unwrap();
        assert_eq!(text(t), "2019-06-14 20:39:39 +0000 UTC");
        // A bad duration leaves the date as it was.
        let t = call("dateModify", vec![s("1f"), sprig_time()]).unwrap();
        assert_eq!(text(t), "2019-06-13 20:39:39 +0000 UTC");
        let t = call("dateModify", vec![s("-1.5h"), sprig_time()]).unwrap();
        assert_eq!(text(t), "2019-06-13 19:09:39 +0000 UTC");
    }

    // Sprig date_test.go TestDateMustModifyReturnsErr.
    #[test]
    fn must_date_modify_fails_on_a_bad_duration() {
        let err = call("must_date_modify", vec![s("1f"), sprig_time()]).unwrap_err();
        assert_eq!(err.0, "time: unknown unit in duration");
        let t = call("mustDateModify", vec![s("1m"), sprig_time()]).unwrap();
        assert_eq!(text(t), "2019-06-13 20:40:39 +0000 UTC");
    }

    #[test]
    fn now_is_the_injected_clock_in_utc() {
        let v = call("now", vec![]).unwrap();
        assert_eq!(text(v), "2019-06-13 20:39:39 +0000 UTC");
        let v = call("date", vec![s("2006-01-02T15:04:05Z07:00"), Value::Nil]).unwrap();
        assert_eq!(text(v), "2019-06-13T20:39:39Z");
    }

    // Go time/format_test.go TestFormat (Thu Feb 4 21:00:57.012345600 PST
    // 2009) and TestRFC3339Conversion.
    #[test]
    fn go_format_table() {
        let t = dt(1_233_810_057, 12_345_600, -8 * 3600);
        for (layout, want) in [
            ("Mon Jan _2 15:04:05 2006", "Wed Feb  4 21:00:57 2009"),
            (
                "Mon Jan _2 15:04:05 MST 2006",
                "Wed Feb  4 21:00:57 PST 2009",
            ),
            (
                "Mon Jan 02 15:04:05 -0700 2006",
                "Wed Feb 04 21:00:57 -0800 2009",
            ),
            ("02 Jan 06 15:04 MST", "04 Feb 09 21:00 PST"),
            (
                "Monday, 02-Jan-06 15:04:05 MST",
                "Wednesday, 04-Feb-09 21:00:57 PST",
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 MST",
                "Wed, 04 Feb 2009 21:00:57 PST",
            ),
            (
                "Mon, 02 Jan 2006 15:04:05 -0700",
                "Wed, 04 Feb 2009 21:00:57 -0800",
            ),
            ("2006-01-02T15:04:05Z07:00", "2009-02-04T21:00:57-08:00"),
            (
                "2006-01-02T15:04:05.999999999Z07:00",
                "2009-02-04T21:00:57.0123456-08:00",
            ),
            ("3:04PM", "9:00PM"),
            ("3pm", "9pm"),
            ("3PM", "9PM"),
            ("06 01 02", "09 02 04"),
            (
                "Hi Janet, the Month is January",
                "Hi Janet, the Month is February",
            ),
            ("Jan _2 15:04:05", "Feb  4 21:00:57"),
            ("Jan _2 15:04:05.000", "Feb  4 21:00:57.012"),
            ("Jan _2 15:04:05.000000", "Feb  4 21:00:57.012345"),
            ("Jan _2 15:04:05.000000000", "Feb  4 21:00:57.012345600"),
            ("Jan  2 002 __2 2", "Feb  4 035  35 4"),
        ] {
            assert_eq!(
                String::from_utf8(format_layout(t, "PST", layout.as_bytes())).unwrap(),
                want,
                "{layout}"
            );
        }
        for (t, zone, want) in [
            (
                civil(2008, 9, 17, 20, 4, 26, 0),
                "UTC",
                "2008-09-17T20:04:26Z",
            ),
            (
                civil(1994, 9, 17, 20, 4, 26, -18000),
                "EST",
                "1994-09-17T20:04:26-05:00",
            ),
            (
                civil(2000, 12, 26, 1, 15, 6, 15600),
                "OTO",
                "2000-12-26T01:15:06+04:20",
            ),
        ] {
            assert_eq!(
                String::from_utf8(format_layout(t, zone, b"2006-01-02T15:04:05Z07:00")).unwrap(),
                want
            );
        }
    }

    // Go time/format_test.go TestFormatSingleDigits, TestNoonIs12PM,
    // TestMidnightIs12AM, TestMissingZone, TestFormatSecondsInTimeZone.
    #[test]
    fn go_format_cases() {
        let t = parse_layout(b"2006-01-02 15:04:05.000", b"2001-02-03 04:05:06.700").unwrap();
        assert_eq!(format_layout(t, "UTC", b"3:4:5"), b"4:5:6");
        let noon = parse_layout(b"15:04", b"12:00").unwrap();
        assert_eq!(format_layout(noon, "UTC", b"3:04PM"), b"12:00PM");
        assert_eq!(format_layout(noon, "UTC", b"03:04PM"), b"12:00PM");
        let midnight = parse_layout(b"15:04", b"00:00").unwrap();
        assert_eq!(format_layout(midnight, "UTC", b"3:04PM"), b"12:00AM");
        assert_eq!(format_layout(midnight, "UTC", b"03:04PM"), b"12:00AM");
        let t = parse_layout(
            b"Mon Jan 02 15:04:05 -0700 2006",
            b"Thu Feb 02 16:10:03 -0500 2006",
        )
        .unwrap();
        assert_eq!(
            format_layout(t, zone_name_of(t), b"Mon Jan _2 15:04:05 MST 2006"),
            b"Thu Feb  2 16:10:03 -0500 2006"
        );
        for (layout, value, offset) in SECONDS_OFFSETS {
            let t = parse_layout(b"2006-01-02 15:04:05", b"1871-01-01 05:33:02").unwrap();
            let t = t.replace_offset(UtcOffset::from_whole_seconds(offset).unwrap());
            assert_eq!(
                String::from_utf8(format_layout(t, "LMT", layout.as_bytes())).unwrap(),
                value
            );
        }
    }

    // Go time/format_test.go secondsTimeZoneOffsetTests.
    const SECONDS_OFFSETS: [(&str, &str, i32); 9] = [
        (
            "2006-01-02T15:04:05-070000",
            "1871-01-01T05:33:02-003408",
            -(34 * 60 + 8),
        ),
        (
            "2006-01-02T15:04:05-07:00:00",
            "1871-01-01T05:33:02-00:34:08",
            -(34 * 60 + 8),
        ),
        (
            "2006-01-02T15:04:05-070000",
            "1871-01-01T05:33:02+003408",
            34 * 60 + 8,
        ),
        (
            "2006-01-02T15:04:05-07:00:00",
            "1871-01-01T05:33:02+00:34:08",
            34 * 60 + 8,
        ),
        (
            "2006-01-02T15:04:05Z070000",
            "1871-01-01T05:33:02-003408",
            -(34 * 60 + 8),
        ),
        (
            "2006-01-02T15:04:05Z07:00:00",
            "1871-01-01T05:33:02+00:34:08",
            34 * 60 + 8,
        ),
        ("2006-01-02T15:04:05-07", "1871-01-01T05:33:02+01", 3600),
        (
            "2006-01-02T15:04:05-07",
            "1871-01-01T05:33:02-02",
            -2 * 3600,
        ),
        (
            "2006-01-02T15:04:05Z07",
            "1871-01-01T05:33:02-02",
            -2 * 3600,
        ),
    ];

    // Go time/format_test.go TestParseSecondsInTimeZone and
    // TestMinutesInTimeZone.
    #[test]
    fn go_parse_offsets() {
        for (layout, value, offset) in SECONDS_OFFSETS {
            let t = parse_layout(layout.as_bytes(), value.as_bytes()).unwrap();
            assert_eq!(t.offset().whole_seconds(), offset, "{value}");
        }
        let t = parse_layout(
            b"Mon Jan 02 15:04:05 -0700 2006",
            b"Mon Jan 02 15:04:05 +0123 2006",
        )
        .unwrap();
        assert_eq!(t.offset().whole_seconds(), (60 + 23) * 60);
    }

    // Go time/format_test.go TestFormatShortYear (the years the `time`
    // crate holds).
    #[test]
    fn go_format_short_year() {
        for y in [
            -9999, -1001, -1000, -999, -101, -100, -99, -11, -10, -9, -1, 0, 1, 9, 10, 11, 99, 100,
            101, 999, 1000, 1001, 9999,
        ] {
            let t = time::Date::from_calendar_date(y, Month::January, 1)
                .unwrap()
                .midnight()
                .assume_utc();
            let want = if y < 0 {
                format!("-{:04}.01.01", -y)
            } else {
                format!("{y:04}.01.01")
            };
            assert_eq!(
                String::from_utf8(format_layout(t, "UTC", b"2006.01.02")).unwrap(),
                want
            );
        }
    }

    // Go time/format_test.go parseTests and rubyTests, checked as Go's
    // checkTime does (Thu Feb 4 21:00:57 2010, the fraction to the digits
    // given). Go's test runs with Local = US Pacific, where `PST` is
    // -08:00; with Local = UTC an unknown abbreviation is a zone at offset
    // zero, so only numeric offsets (and `GMT-8`) carry -08:00 here.
    #[test]
    fn go_parse_table() {
        const ANSIC: &str = "Mon Jan _2 15:04:05 2006";
        const UNIX_DATE: &str = "Mon Jan _2 15:04:05 MST 2006";
        const RUBY_DATE: &str = "Mon Jan 02 15:04:05 -0700 2006";
        const RFC850: &str = "Monday, 02-Jan-06 15:04:05 MST";
        const RFC1123: &str = "Mon, 02 Jan 2006 15:04:05 MST";
        const RFC1123Z: &str = "Mon, 02 Jan 2006 15:04:05 -0700";
        const RFC3339: &str = "2006-01-02T15:04:05Z07:00";
        const STAMP_NANO: &str = "Jan _2 15:04:05.000000000";
        // (layout, value, offset if numeric, year present, fraction digits)
        let cases: &[(&str, &str, Option<i32>, bool, usize)] = &[
            (ANSIC, "Thu Feb  4 21:00:57 2010", None, true, 0),
            (UNIX_DATE, "Thu Feb  4 21:00:57 PST 2010", Some(0), true, 0),
            (
                RUBY_DATE,
                "Thu Feb 04 21:00:57 -0800 2010",
                Some(-28800),
                true,
                0,
            ),
            (RFC850, "Thursday, 04-Feb-10 21:00:57 PST", Some(0), true, 0),
            (RFC1123, "Thu, 04 Feb 2010 21:00:57 PST", Some(0), true, 0),
            (
                RFC1123Z,
                "Thu, 04 Feb 2010 21:00:57 -0800",
                Some(-28800),
                true,
                0,
            ),
            (RFC3339, "2010-02-04T21:00:57-08:00", Some(-28800), true, 0),
            (
                "2006-01-02 15:04:05-07",
                "2010-02-04 21:00:57-08",
                Some(-28800),
                true,
                0,
            ),
            (ANSIC, "Thu Feb  4 21:00:57.0 2010", None, true, 1),
            (
                UNIX_DATE,
                "Thu Feb  4 21:00:57.01 PST 2010",
                Some(0),
                true,
                2,
            ),
            (
                RUBY_DATE,
                "Thu Feb 04 21:00:57.012 -0800 2010",
                Some(-28800),
                true,
                3,
            ),
            (
                RFC850,
                "Thursday, 04-Feb-10 21:00:57.0123 PST",
                Some(0),
                true,
                4,
            ),
            (
                RFC1123,
                "Thu, 04 Feb 2010 21:00:57.01234 PST",
                Some(0),
                true,
                5,
            ),
            (
                RFC1123Z,
                "Thu, 04 Feb 2010 21:00:57.01234 -0800",
                Some(-28800),
                true,
                5,
            ),
            (
                RFC3339,
                "2010-02-04T21:00:57.012345678-08:00",
                Some(-28800),
                true,
                9,
            ),
            (
                "2006-01-02 15:04:05",
                "2010-02-04 21:00:57.0",
                None,
                true,
                0,
            ),
            (ANSIC, "Thu Feb 4 21:00:57 2010", None, true, 0),
            (
                ANSIC,
                "Thu      Feb     4     21:00:57     2010",
                None,
                true,
                0,
            ),
            (ANSIC, "THU FEB 4 21:00:57 2010", None, true, 0),
            (ANSIC, "thu feb 4 21:00:57 2010", None, true, 0),
            (
                "Mon Jan _2 15:04:05.000 2006",
                "Thu Feb  4 21:00:57.012 2010",
                None,
                true,
                3,
            ),
            (
                "Mon Jan _2 15:04:05.000000 2006",
                "Thu Feb  4 21:00:57.012345 2010",
                None,
                true,
                6,
            ),
            (
                "Mon Jan _2 15:04:05.000000000 2006",
                "Thu Feb  4 21:00:57.012345678 2010",
                None,
                true,
                9,
            ),
            (
                "Mon Jan _2 15:04:05,000 2006",
                "Thu Feb  4 21:00:57.012 2010",
                None,
                true,
                3,
            ),
            (
                "Mon Jan _2 15:04:05,000000 2006",
                "Thu Feb  4 21:00:57.012345 2010",
                None,
                true,
                6,
            ),
            (
                "Mon Jan _2 15:04:05,000000000 2006",
                "Thu Feb  4 21:00:57.012345678 2010",
                None,
                true,
                9,
            ),
            (
                "2006.01.02.15.04.05.0",
                "2010.02.04.21.00.57.0",
                None,
                true,
                1,
            ),
            (
                "2006.01.02.15.04.05.00",
                "2010.02.04.21.00.57.01",
                None,
                true,
                2,
            ),
            (
                "Hi Janet, the Month is January: Jan _2 15:04:05 2006",
                "Hi Janet, the Month is February: Feb  4 21:00:57 2010",
                None,
                true,
                0,
            ),
            (
                UNIX_DATE,
                "Fri Feb  5 05:00:57 GMT-8 2010",
                Some(-28800),
                true,
                0,
            ),
            (
                "2006-01-02 15:04:05.9999 -0700 MST",
                "2010-02-04 21:00:57 -0800 PST",
                Some(-28800),
                true,
                0,
            ),
            (
                "2006-01-02 15:04:05.999999999 -0700 MST",
                "2010-02-04 21:00:57 -0800 PST",
                Some(-28800),
                true,
                0,
            ),
            (
                "2006-01-02 15:04:05.9999 -0700 MST",
                "2010-02-04 21:00:57.0123 -0800 PST",
                Some(-28800),
                true,
                4,
            ),
            (
                "2006-01-02 15:04:05.999999999 -0700 MST",
                "2010-02-04 21:00:57.0123 -0800 PST",
                Some(-28800),
                true,
                4,
            ),
            (
                "2006-01-02 15:04:05.9999 -0700 MST",
                "2010-02-04 21:00:57.012345678 -0800 PST",
                Some(-28800),
                true,
                9,
            ),
            (
                "2006-01-02 15:04:05.999999999 -0700 MST",
                "2010-02-04 21:00:57.012345678 -0800 PST",
                Some(-28800),
                true,
                9,
            ),
            (
                "2006-01-02 15:04:05,9999 -0700 MST",
                "2010-02-04 21:00:57 -0800 PST",
                Some(-28800),
                true,
                0,
            ),
            (
                "2006-01-02 15:04:05,999999999 -0700 MST",
                "2010-02-04 21:00:57 -0800 PST",
                Some(-28800),
                true,
                0,
            ),
            (
                "2006-01-02 15:04:05,9999 -0700 MST",
                "2010-02-04 21:00:57.0123 -0800 PST",
                Some(-28800),
                true,
                4,
            ),
            (
                "2006-01-02 15:04:05,999999999 -0700 MST",
                "2010-02-04 21:00:57.0123 -0800 PST",
                Some(-28800),
                true,
                4,
            ),
            (
                "2006-01-02 15:04:05,9999 -0700 MST",
                "2010-02-04 21:00:57.012345678 -0800 PST",
                Some(-28800),
                true,
                9,
            ),
            (
                "2006-01-02 15:04:05,999999999 -0700 MST",
                "2010-02-04 21:00:57.012345678 -0800 PST",
                Some(-28800),
                true,
                9,
            ),
            (STAMP_NANO, "Feb  4 21:00:57.012345678", None, false, 9),
            (
                "Jan _2 15:04:05.999",
                "Feb  4 21:00:57.012300000",
                None,
                false,
                4,
            ),
            (
                "Jan _2 15:04:05.999",
                "Feb  4 21:00:57.012345678",
                None,
                false,
                9,
            ),
            (
                "Jan _2 15:04:05.999999999",
                "Feb  4 21:00:57.0123",
                None,
                false,
                4,
            ),
            (
                "Jan _2 15:04:05.999999999",
                "Feb  4 21:00:57.012345678",
                None,
                false,
                9,
            ),
            (
                "2006-01-02 002 15:04:05",
                "2010-02-04 035 21:00:57",
                None,
                true,
                0,
            ),
            (
                "2006-01 002 15:04:05",
                "2010-02 035 21:00:57",
                None,
                true,
                0,
            ),
            ("2006-002 15:04:05", "2010-035 21:00:57", None, true, 0),
            ("200600201 15:04:05", "201003502 21:00:57", None, true, 0),
            ("200600204 15:04:05", "201003504 21:00:57", None, true, 0),
            // rubyTests
            (
                RUBY_DATE,
                "Thu Feb 04 21:00:57 -0000 2010",
                Some(0),
                true,
                0,
            ),
            (
                RUBY_DATE,
                "Thu Feb 04 21:00:57 +0000 2010",
                Some(0),
                true,
                0,
            ),
            (
                RUBY_DATE,
                "Thu Feb 04 21:00:57 +1130 2010",
                Some(41400),
                true,
                0,
            ),
        ];
        for &(layout, value, offset, has_year, frac) in cases {
            let t = parse_layout(layout.as_bytes(), value.as_bytes())
                .unwrap_or_else(|e| panic!("{layout} {value}: {e}"));
            if has_year {
                assert_eq!(t.year(), 2010, "{value}");
            }
            assert_eq!(t.month(), Month::February, "{value}");
            assert_eq!(
                (t.day(), t.hour(), t.minute(), t.second()),
                (4, 21, 0, 57),
                "{value}"
            );
            let want_nanos: u32 = format!("{}{}", &"012345678"[..frac], &"000000000"[..9 - frac])
                .parse()
                .unwrap();
            assert_eq!(t.nanosecond(), want_nanos, "{value}");
            assert_eq!(t.offset().whole_seconds(), offset.unwrap_or(0), "{value}");
        }
    }

    // Go time/format_test.go dayOutOfRangeTests and monthOutOfRangeTests.
    #[test]
    fn go_parse_out_of_range() {
        const ANSIC: &[u8] = b"Mon Jan _2 15:04:05 2006";
        for (value, ok) in [
            ("Thu Jan 99 21:00:57 2010", false),
            ("Thu Jan 31 21:00:57 2010", true),
            ("Thu Jan 32 21:00:57 2010", false),
            ("Thu Feb 28 21:00:57 2012", true),
            ("Thu Feb 29 21:00:57 2012", true),
            ("Thu Feb 29 21:00:57 2010", false),
            ("Thu Mar 31 21:00:57 2010", true),
            ("Thu Mar 32 21:00:57 2010", false),
            ("Thu Apr 30 21:00:57 2010", true),
            ("Thu Apr 31 21:00:57 2010", false),
            ("Thu May 31 21:00:57 2010", true),
            ("Thu May 32 21:00:57 2010", false),
            ("Thu Jun 30 21:00:57 2010", true),
            ("Thu Jun 31 21:00:57 2010", false),
            ("Thu Jul 31 21:00:57 2010", true),
            ("Thu Jul 32 21:00:57 2010", false),
            ("Thu Aug 31 21:00:57 2010", true),
            ("Thu Aug 32 21:00:57 2010", false),
            ("Thu Sep 30 21:00:57 2010", true),
            ("Thu Sep 31 21:00:57 2010", false),
            ("Thu Oct 31 21:00:57 2010", true),
            ("Thu Oct 32 21:00:57 2010", false),
            ("Thu Nov 30 21:00:57 2010", true),
            ("Thu Nov 31 21:00:57 2010", false),
            ("Thu Dec 31 21:00:57 2010", true),
            ("Thu Dec 32 21:00:57 2010", false),
            ("Thu Dec 00 21:00:57 2010", false),
        ] {
            match parse_layout(ANSIC, value.as_bytes()) {
                Ok(_) => assert!(ok, "{value}"),
                Err(e) => {
                    assert!(!ok, "{value}: {e}");
                    assert!(e.contains("day out of range"), "{value}: {e}");
                }
            }
        }
        for (value, ok) in [("00-01", false), ("13-01", false), ("01-01", true)] {
            match parse_layout(b"01-02", value.as_bytes()) {
                Ok(_) => assert!(ok, "{value}"),
                Err(e) => assert!(!ok && e.contains("month out of range"), "{value}: {e}"),
            }
        }
    }

    // Go time/format_test.go parseErrorTests (the texts without the
    // value) and TestStd0xParseError.
    #[test]
    fn go_parse_errors() {
        const ANSIC: &str = "Mon Jan _2 15:04:05 2006";
        const RFC3339: &str = "2006-01-02T15:04:05Z07:00";
        const STAMP_NANO: &str = "Jan _2 15:04:05.000000000";
        for (layout, value, want) in [
            (ANSIC, "Feb  4 21:00:60 2010", "cannot parse"),
            (ANSIC, "Thu Feb  4 21:00:57 @2010", "cannot parse"),
            (ANSIC, "Thu Feb  4 21:00:60 2010", "second out of range"),
            (ANSIC, "Thu Feb  4 21:61:57 2010", "minute out of range"),
            (ANSIC, "Thu Feb  4 24:00:60 2010", "hour out of range"),
            (
                "Mon Jan _2 15:04:05.000 2006",
                "Thu Feb  4 23:00:59x01 2010",
                "cannot parse",
            ),
            (
                "Mon Jan _2 15:04:05.000 2006",
                "Thu Feb  4 23:00:59.xxx 2010",
                "cannot parse",
            ),
            (
                "Mon Jan _2 15:04:05.000 2006",
                "Thu Feb  4 23:00:59.-123 2010",
                "fractional second out of range",
            ),
            (
                STAMP_NANO,
                "Dec  7 11:22:01.000000",
                r#"cannot parse value as ".000000000""#,
            ),
            (STAMP_NANO, "Dec  7 11:22:01.0000000000", "extra text"),
            (
                RFC3339,
                "2006-01-02T15:04:05Z07:00",
                "parsing time: extra text",
            ),
            (
                RFC3339,
                "2006-01-02T15:04_abc",
                r#"parsing time as "2006-01-02T15:04:05Z07:00": cannot parse value as ":""#,
            ),
            (
                RFC3339,
                "2006-01-02T15:04:05_abc",
                r#"parsing time as "2006-01-02T15:04:05Z07:00": cannot parse value as "Z07:00""#,
            ),
            (
                RFC3339,
                "2006-01-02T15:04:05Z_abc",
                "parsing time: extra text",
            ),
            (
                RFC3339,
                "2010-02-04T21:00:67.012345678-08:00",
                "second out of range",
            ),
            ("_2 Jan 06 15:04 MST", "4 --- 00 00:00 GMT", "cannot parse"),
            (
                "_2 January 06 15:04 MST",
                "4 --- 00 00:00 GMT",
                "cannot parse",
            ),
            (
                "Jan _2 002 2006",
                "Feb  4 034 2006",
                "day-of-year does not match day",
            ),
            (
                "Jan _2 002 2006",
                "Feb  4 004 2006",
                "day-of-year does not match month",
            ),
            ("01 MST", "0 MST", "cannot parse"),
            ("01 MST", "1 MST", "cannot parse"),
            (
                RFC850_LAYOUT,
                "Thursday, 04-Feb-1 21:00:57 PST",
                "cannot parse",
            ),
        ] {
            let err = parse_layout(layout.as_bytes(), value.as_bytes()).unwrap_err();
            assert!(err.contains(want), "{layout} / {value}: {err}");
            if !layout.contains(value) {
                assert!(!err.contains(value), "the value leaked: {err}");
            }
        }
    }

    const RFC850_LAYOUT: &str = "Monday, 02-Jan-06 15:04:05 MST";

    // Go time/format_test.go TestUnderscoreTwoThousand, TestParseYday,
    // Test12PMIsNoon, Test12AMIsMidnight.
    #[test]
    fn go_parse_cases() {
        let t = parse_layout(b"15:04_20060102", b"14:38_20150618").unwrap();
        assert_eq!(
            (t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()),
            (2015, 6, 18, 14, 38)
        );
        for i in 1..=365 {
            let t = parse_layout(b"2006-002", format!("2020-{i:03}").as_bytes()).unwrap();
            assert_eq!((t.year(), t.ordinal()), (2020, i));
        }
        for layout in [&b"3:04PM"[..], b"03:04PM"] {
            assert_eq!(parse_layout(layout, b"12:00PM").unwrap().hour(), 12);
            assert_eq!(parse_layout(layout, b"12:00AM").unwrap().hour(), 0);
        }
    }

    // Go time/format_test.go TestNextStdChunk.
    #[test]
    fn go_next_std_chunk() {
        for marked in [
            "(2006)-(01)-(02)T(15):(04):(05)(Z07:00)",
            "(2006)-(01)-(02) (002) (15):(04):(05)",
            "(2006)-(01) (002) (15):(04):(05)",
            "(2006)-(002) (15):(04):(05)",
            "(2006)(002)(01) (15):(04):(05)",
            "(2006)(002)(04) (15):(04):(05)",
        ] {
            let layout: Vec<u8> = marked.bytes().filter(|&c| c != b'(' && c != b')').collect();
            let mut out = Vec::new();
            let mut rest = &layout[..];
            while !rest.is_empty() {
                let (prefix, std, suffix) = next_std_chunk(rest);
                out.extend_from_slice(prefix);
                if std.is_some() {
                    out.push(b'(');
                    out.extend_from_slice(&rest[prefix.len()..rest.len() - suffix.len()]);
                    out.push(b')');
                }
                rest = suffix;
            }
            assert_eq!(String::from_utf8(out).unwrap(), marked);
        }
    }

    // Go time/format_test.go parseTimeZoneTests.
    #[test]
    fn go_parse_time_zone() {
        for (value, want) in [
            ("gmt hi there", None),
            ("GMT hi there", Some(3)),
            ("GMT+12 hi there", Some(6)),
            ("GMT+00 hi there", Some(6)),
            ("GMT+", Some(3)),
            ("GMT+3", Some(5)),
            ("GMT+a", Some(3)),
            ("GMT+3a", Some(5)),
            ("GMT-5 hi there", Some(5)),
            ("GMT-51 hi there", Some(3)),
            ("ChST hi there", Some(4)),
            ("MeST hi there", Some(4)),
            ("MSDx", Some(3)),
            ("MSDY", None),
            ("ESAST hi", Some(5)),
            ("ESASTT hi", None),
            ("ESATY hi", None),
            ("WITA hi", Some(4)),
            ("+03 hi", Some(3)),
            ("-04 hi", Some(3)),
            ("+00", Some(3)),
            ("-11", Some(3)),
            ("-12", Some(3)),
            ("-23", Some(3)),
            ("-24", None),
            ("+13", Some(3)),
            ("+14", Some(3)),
            ("+23", Some(3)),
            ("+24", None),
        ] {
            assert_eq!(parse_time_zone(value.as_bytes()), want, "{value}");
        }
    }

    // Go time/time_test.go's ParseDuration table (parseDurationTests) and
    // its error cases.
    #[test]
    fn go_parse_duration() {
        for (input, want) in [
            ("0", 0),
            ("5s", 5 * NANOS_PER_SECOND),
            ("30s", 30 * NANOS_PER_SECOND),
            ("1478s", 1478 * NANOS_PER_SECOND),
            ("-5s", -5 * NANOS_PER_SECOND),
            ("+5s", 5 * NANOS_PER_SECOND),
            ("-0", 0),
            ("+0", 0),
            ("5.0s", 5 * NANOS_PER_SECOND),
            ("5.6s", 5 * NANOS_PER_SECOND + 600_000_000),
            ("5.s", 5 * NANOS_PER_SECOND),
            (".5s", 500_000_000),
            ("1.0s", NANOS_PER_SECOND),
            ("1.00s", NANOS_PER_SECOND),
            ("1.004s", NANOS_PER_SECOND + 4_000_000),
            ("1.0040s", NANOS_PER_SECOND + 4_000_000),
            ("100.00100s", 100 * NANOS_PER_SECOND + 1_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("12μs", 12_000),
            ("13ms", 13_000_000),
            ("14s", 14 * NANOS_PER_SECOND),
            ("15m", 15 * NANOS_PER_MINUTE),
            ("16h", 16 * NANOS_PER_HOUR),
            ("3h30m", 3 * NANOS_PER_HOUR + 30 * NANOS_PER_MINUTE),
            (
                "10.5s4m",
                4 * NANOS_PER_MINUTE + 10 * NANOS_PER_SECOND + 500_000_000,
            ),
            (
                "-2m3.4s",
                -(2 * NANOS_PER_MINUTE + 3 * NANOS_PER_SECOND + 400_000_000),
            ),
            (
                "1h2m3s4ms5us6ns",
                NANOS_PER_HOUR
                    + 2 * NANOS_PER_MINUTE
                    + 3 * NANOS_PER_SECOND
                    + 4_000_000
                    + 5_000
                    + 6,
            ),
            (
                "39h9m14.425s",
                39 * NANOS_PER_HOUR + 9 * NANOS_PER_MINUTE + 14 * NANOS_PER_SECOND + 425_000_000,
            ),
            ("52763797000ns", 52_763_797_000),
            ("0.3333333333333333333h", 20 * NANOS_PER_MINUTE),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("-9223372036s854ms775us808ns", i64::MIN),
            ("-9223372036854775808ns", i64::MIN),
            ("-2562047h47m16.854775808s", i64::MIN),
            ("0.100000000000000000000h", 6 * NANOS_PER_MINUTE),
            (
                "0.830103483285477580700h",
                49 * NANOS_PER_MINUTE + 48 * NANOS_PER_SECOND + 372_539_827,
            ),
        ] {
            assert_eq!(parse_duration(input.as_bytes()), Ok(want), "{input}");
        }
        // parseDurationErrorTests.
        for input in [
            &b""[..],
            b"3",
            b"-",
            b"s",
            b".",
            b"-.",
            b".s",
            b"+.s",
            b"1d",
            b"\x85\x85",
            b"\xffff",
            b"hello \xffff world",
            "\u{fffd}".as_bytes(),
            "\u{fffd} hello \u{fffd} world".as_bytes(),
            b"9223372036854775810ns",
            b"9223372036854775808ns",
            b"-9223372036854775809ns",
            b"9223372036854776us",
            b"3000000h",
            b"9223372036854775.808us",
            b"9223372036854ms775us808ns",
        ] {
            assert!(parse_duration(input).is_err(), "{input:?}");
        }
    }

    // Go time/time_test.go durationTests (Duration.String) and
    // durationRoundTests.
    #[test]
    fn go_duration_string_and_round() {
        for (d, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (4 * NANOS_PER_MINUTE + 5 * NANOS_PER_SECOND, "4m5s"),
            (4 * NANOS_PER_MINUTE + 5_001_000_000, "4m5.001s"),
            (
                5 * NANOS_PER_HOUR + 6 * NANOS_PER_MINUTE + 7_001_000_000,
                "5h6m7.001s",
            ),
            (8 * NANOS_PER_MINUTE + 1, "8m0.000000001s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(format_duration(d), want);
            if d > 0 {
                assert_eq!(format_duration(-d), format!("-{want}"));
            }
        }
        const MINUTE: i64 = NANOS_PER_MINUTE;
        const SECOND: i64 = NANOS_PER_SECOND;
        for (d, m, want) in [
            (0, SECOND, 0),
            (MINUTE, -11 * SECOND, MINUTE),
            (MINUTE, 0, MINUTE),
            (MINUTE, 1, MINUTE),
            (2 * MINUTE, MINUTE, 2 * MINUTE),
            (2 * MINUTE + 10 * SECOND, MINUTE, 2 * MINUTE),
            (2 * MINUTE + 30 * SECOND, MINUTE, 3 * MINUTE),
            (2 * MINUTE + 50 * SECOND, MINUTE, 3 * MINUTE),
            (-MINUTE, 1, -MINUTE),
            (-2 * MINUTE, MINUTE, -2 * MINUTE),
            (-2 * MINUTE - 10 * SECOND, MINUTE, -2 * MINUTE),
            (-2 * MINUTE - 30 * SECOND, MINUTE, -3 * MINUTE),
            (-2 * MINUTE - 50 * SECOND, MINUTE, -3 * MINUTE),
            (
                8_000_000_000_000_000_000,
                3_000_000_000_000_000_000,
                9_000_000_000_000_000_000,
            ),
            (
                9_000_000_000_000_000_000,
                5_000_000_000_000_000_000,
                i64::MAX,
            ),
            (
                -8_000_000_000_000_000_000,
                3_000_000_000_000_000_000,
                -9_000_000_000_000_000_000,
            ),
            (
                -9_000_000_000_000_000_000,
                5_000_000_000_000_000_000,
                i64::MIN,
            ),
            ((3 << 61) - 1, 3 << 61, 3 << 61),
        ] {
            assert_eq!(round_duration(d, m), want, "{d} {m}");
        }
    }
}
