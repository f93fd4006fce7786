//! The values a template computes with, and how Go's `fmt` prints them.
//!
//! Go templates are dynamically typed over Go values; the handful of
//! shapes ESO's data and functions produce are the variants here. A Go
//! string is bytes, not UTF-8 (a PKCS#12 file decoded by `b64dec` is a
//! string), so [`Value::Str`] holds bytes and prints them as they are.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// A Go string: immutable bytes, cheap to clone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Str(Arc<[u8]>);

impl Str {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text, with invalid UTF-8 replaced by U+FFFD as Go's string
    /// functions do when they decode runes.
    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The text when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes (Go's `len`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is `""`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Str {
    // Values may be secrets: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Str({} bytes)", self.0.len())
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Arc::from(s.as_bytes()))
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Arc::from(s.into_bytes()))
    }
}

impl From<Vec<u8>> for Str {
    fn from(b: Vec<u8>) -> Self {
        Str(Arc::from(b))
    }
}

impl From<&[u8]> for Str {
    fn from(b: &[u8]) -> Self {
        Str(Arc::from(b))
    }
}

/// A Go value as a template sees it.
///
/// Go distinguishes `int`, `int64` and `uint8`; they print alike and the
/// functions ESO ships accept them alike, so one [`Value::Int`] stands for
/// all. A `[]string` and a `[]interface{}` are both [`Value::List`];
/// `map[string]string` and `map[string]interface{}` are both
/// [`Value::Map`] (Go's templates and `fmt` visit map keys sorted, as a
/// `BTreeMap` does).
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's `nil` (an absent value; prints `<nil>` through `fmt`, `<no
    /// value>` as a template's output).
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// Any Go integer type.
    Int(i64),
    /// `float64` (JSON numbers decoded by `fromJson` are these).
    Float(f64),
    /// `string`.
    Str(Str),
    /// A slice.
    List(Arc<Vec<Value>>),
    /// A map with string keys.
    Map(Arc<BTreeMap<String, Value>>),
    /// `time.Time` (Sprig's date functions).
    Time(time::OffsetDateTime),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Str>) -> Value {
        Value::Str(s.into())
    }

    /// A list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items))
    }

    /// A map value.
    pub fn map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Arc::new(entries))
    }

    /// Go's type name, as errors and `typeOf` print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
        }
    }

    /// Go's `reflect.Kind` name (Sprig's `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Time(_) => "struct",
        }
    }

    /// Truth as `if`, `and`, `or` and `not` take it: false for the zero
    /// value of its type and for empty collections (Go's `template.IsTrue`).
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// Whether this is the zero value of its type or empty (Sprig's
    /// `empty`): as [`Value::is_true`] negated, except that a zero
    /// `time.Time` is empty too.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Time(t) => *t == go_zero_time(),
            other => !other.is_true(),
        }
    }

    /// The string's bytes, when this is a string.
    pub fn as_str(&self) -> Option<&Str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Go's `fmt.Sprint(v)` (the `%v` verb): what `{{ . }}`, `print` and
    /// Sprig's `toString` produce.
    pub fn to_go_string(&self) -> Vec<u8> {
        let mut out = Vec::new();
        write_v(&mut out, self);
        out
    }
}

/// Go's zero `time.Time` (January 1, year 1, 00:00:00 UTC).
pub fn go_zero_time() -> time::OffsetDateTime {
    time::PrimitiveDateTime::new(
        time::Date::from_calendar_date(1, time::Month::January, 1).unwrap_or(time::Date::MIN),
        time::Time::MIDNIGHT,
    )
    .assume_utc()
}

/// Writes `v` as Go's `%v` does (a nil prints `<nil>` at every depth).
pub(crate) fn write_v(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Nil => out.extend_from_slice(b"<nil>"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(format_float_g(*f).as_bytes()),
        Value::Str(s) => out.extend_from_slice(s.as_bytes()),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_v(out, item);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            out.extend_from_slice(b"map[");
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(k.as_bytes());
                out.push(b':');
                write_v(out, item);
            }
            out.push(b']');
        }
        Value::Time(t) => out.extend_from_slice(format_go_time(*t).as_bytes()),
    }
}

/// A float as Go's `%v` (`strconv.FormatFloat(f, 'g', -1, 64)`: the
/// exponent form when the exponent is below -4 or at least 6, so
/// `1234567.0` prints `1.234567e+06`).
pub fn format_float_g(f: f64) -> String {
    format_float_shortest(f, 6)
}

/// A float as `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits
/// that read back the same, in exponent form when the exponent is below -4
/// or at least `eprec`.
pub fn format_float_shortest(f: f64, eprec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-tripping digits: d.ddddde±x.
    let sci = format!("{:e}", f);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in 0..(point - digits.len()) {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// A time as Go's `time.Time.String()`:
/// `2006-01-02 15:04:05.999999999 -0700 MST` (UTC shown as `+0000 UTC`).
pub fn format_go_time(t: time::OffsetDateTime) -> String {
    let offset = t.offset();
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let mut out = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        let _ = write!(out, ".{}", frac.trim_end_matches('0'));
    }
    let _ = write!(out, " {sign}{:02}{:02}", h.abs(), m.abs());
    if offset.is_utc() {
        out.push_str(" UTC");
    } else {
        // Go prints the zone's abbreviation; a fixed offset has none, and
        // Go then prints the offset again.
        let _ = write!(out, " {sign}{:02}{:02}", h.abs(), m.abs());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_gos_percent_v() {
        // Outputs of Go 1.22's fmt.Sprint(float64(x)).
        for (f, want) in [
            (42.0, "42"),
            (3.5, "3.5"),
            (1234567.0, "1.234567e+06"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.25, "-2.25"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(format_float_g(f), want, "{f}");
        }
    }

    #[test]
    fn collections_print_as_gos_percent_v() {
        let mut m = BTreeMap::new();
        m.insert("b".to_string(), Value::Int(2));
        m.insert(
            "a".to_string(),
            Value::list(vec![Value::str("x"), Value::Nil]),
        );
        assert_eq!(
            String::from_utf8(Value::map(m).to_go_string()).unwrap(),
            "map[a:[x <nil>] b:2]"
        );
    }
}
