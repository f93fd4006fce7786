//! Go's `encoding/json` (v1, as Go 1.26 builds ESO by default) writing a
//! [`Value`]: `json.Marshal` byte for byte (`encode.go`: map keys
//! sorted, strings escaped as `appendString` escapes them, HTML escaping
//! on, float64 in Go's format, `time.Time` as `MarshalJSON` writes it),
//! `json.MarshalIndent(v, "", "  ")`, and an `Encoder` without HTML
//! escaping.
//!
//! Public because Go's JSON bytes are one definition with more than one
//! user: Sprig's `toJson` family here, and secret-sync's `rewrite[].merge`
//! (ESO's `RewriteMerge` writes the merged object with `json.Marshal`).
//! One writer keeps them from drifting apart (Go 1.22's `\b` and `\f`,
//! the exponent's form, invalid UTF-8). Iterative, so nesting depth costs
//! no stack.

use std::fmt::Write as _;

use crate::value::Value;

/// Why Go's `json.Marshal` refused a value, with Go's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MarshalError {
    /// A NaN or infinite float (`UnsupportedValueError`), as Go's `%g`
    /// writes it.
    #[error("json: unsupported value: {0}")]
    UnsupportedValue(String),
    /// A `time.Time` whose `MarshalJSON` fails: the year is outside
    /// 0-9999 or the zone's hours outside 0-23.
    #[error("json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: {0}")]
    Time(&'static str),
}

impl From<MarshalError> for crate::func::FuncError {
    fn from(e: MarshalError) -> Self {
        crate::func::FuncError::new(e.to_string())
    }
}

/// How [`marshal`] lays out its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// `json.Marshal` (`escape_html`) or an `Encoder` with
    /// `SetEscapeHTML(false)`.
    Compact {
        /// `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`.
        escape_html: bool,
    },
    /// `json.MarshalIndent(v, "", "  ")`.
    Pretty,
}

/// A string as Go's `appendString` quotes it.
fn write_json_string(out: &mut Vec<u8>, s: &[u8], escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = s;
    while let Some(&b) = rest.first() {
        if b < 0x80 {
            match b {
                b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
                0x08 => out.extend_from_slice(b"\\b"),
                0x0c => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'<' | b'>' | b'&' if escape_html => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                b if b < 0x20 => {
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                b => out.push(b),
            }
            rest = rest.get(1..).unwrap_or_default();
            continue;
        }
        let (ch, size) = decode_rune(rest);
        match ch {
            None => out.extend_from_slice(b"\\ufffd"),
            Some('\u{2028}') => out.extend_from_slice(b"\\u2028"),
            Some('\u{2029}') => out.extend_from_slice(b"\\u2029"),
            Some(_) => out.extend_from_slice(rest.get(..size).unwrap_or_default()),
        }
        rest = rest.get(size.max(1)..).unwrap_or_default();
    }
    out.push(b'"');
}

/// A float64 as Go's JSON encoder writes it: the shortest digits, in
/// plain notation unless the magnitude is below 1e-6 or at least 1e21,
/// then as `1e+21` / `1e-7`. NaN and infinities are refused.
fn write_json_float(out: &mut Vec<u8>, f: f64) -> Result<(), MarshalError> {
    if f.is_nan() || f.is_infinite() {
        return Err(MarshalError::UnsupportedValue(
            crate::value::format_float_g(f),
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let sci = format!("{f:e}");
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        let text = format!("{mantissa}e{sign}{}", exp.unsigned_abs());
        out.extend_from_slice(text.as_bytes());
    } else {
        // Rust's Display is the shortest round-trip digits in plain
        // notation, as Go's 'f' format with precision -1.
        out.extend_from_slice(f.to_string().as_bytes());
    }
    Ok(())
}

/// A time as Go's `Time.MarshalJSON`: RFC 3339 with nanoseconds
/// (trailing zeros dropped), `Z` for a zero offset.
fn write_json_time(out: &mut Vec<u8>, t: time::OffsetDateTime) -> Result<(), MarshalError> {
    let fail = MarshalError::Time;
    if !(0..=9999).contains(&t.year()) {
        return Err(fail("year outside of range [0,9999]"));
    }
    let mut s = format!(
        "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
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
        let _ = write!(s, ".{}", frac.trim_end_matches('0'));
    }
    let offset = t.offset().whole_seconds();
    if offset == 0 {
        s.push('Z');
    } else {
        // Go truncates the offset to minutes (toward zero).
        let zone = offset / 60;
        let sign = if zone < 0 { '-' } else { '+' };
        let zone = zone.unsigned_abs();
        if zone / 60 >= 24 {
            return Err(fail("timezone hour outside of range [0,23]"));
        }
        let _ = write!(s, "{sign}{:02}:{:02}", zone / 60, zone % 60);
    }
    s.push('"');
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

enum Open<'a> {
    List(std::slice::Iter<'a, Value>, bool),
    Map(std::collections::btree_map::Iter<'a, String, Value>, bool),
}

/// `json.Marshal` of a value (see [`JsonStyle`]): Go's bytes, or Go's
/// error.
///
/// # Errors
///
/// [`MarshalError`] for a NaN or infinite float or a time Go refuses.
pub fn marshal(v: &Value, style: JsonStyle) -> Result<Vec<u8>, MarshalError> {
    let (escape_html, pretty) = match style {
        JsonStyle::Compact { escape_html } => (escape_html, false),
        JsonStyle::Pretty => (true, true),
    };
    let newline = |out: &mut Vec<u8>, depth: usize| {
        if pretty {
            out.push(b'\n');
            for _ in 0..depth {
                out.extend_from_slice(b"  ");
            }
        }
    };
    let mut out = Vec::new();
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut next = Some(v);
    loop {
        if let Some(v) = next.take() {
            match v {
                Value::Nil => out.extend_from_slice(b"null"),
                Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
                Value::Float(f) => write_json_float(&mut out, *f)?,
                Value::Str(s) => write_json_string(&mut out, s.as_bytes(), escape_html),
                Value::Time(t) => write_json_time(&mut out, *t)?,
                Value::List(items) if items.is_empty() => out.extend_from_slice(b"[]"),
                Value::Map(entries) if entries.is_empty() => out.extend_from_slice(b"{}"),
                Value::List(items) => {
                    out.push(b'[');
                    stack.push(Open::List(items.iter(), true));
                }
                Value::Map(entries) => {
                    out.push(b'{');
                    stack.push(Open::Map(entries.iter(), true));
                }
            }
        }
        let depth = stack.len();
        let Some(top) = stack.last_mut() else {
            break;
        };
        match top {
            Open::List(items, first) => match items.next() {
                Some(item) => {
                    if !*first {
                        out.push(b',');
                    }
                    *first = false;
                    newline(&mut out, depth);
                    next = Some(item);
                }
                None => {
                    stack.pop();
                    newline(&mut out, depth - 1);
                    out.push(b']');
                }
            },
            Open::Map(entries, first) => match entries.next() {
                Some((key, item)) => {
                    if !*first {
                        out.push(b',');
                    }
                    *first = false;
                    newline(&mut out, depth);
                    write_json_string(&mut out, key.as_bytes(), escape_html);
                    out.push(b':');
                    if pretty {
                        out.push(b' ');
                    }
                    next = Some(item);
                }
                None => {
                    stack.pop();
                    newline(&mut out, depth - 1);
                    out.push(b'}');
                }
            },
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------
// UTF-8 as Go decodes it
// ---------------------------------------------------------------------

/// Go's `utf8.DecodeRune`: the rune at the start of `s` and its length,
/// or `None` (Go's `RuneError`) with length 1 for a byte that does not
/// begin a valid sequence — so each bad byte is one U+FFFD in Go.
pub(crate) fn decode_rune(s: &[u8]) -> (Option<char>, usize) {
    let want = match s.first() {
        None => return (None, 0),
        Some(&b) if b < 0x80 => return (Some(char::from(b)), 1),
        Some(0xc2..=0xdf) => 2,
        Some(0xe0..=0xef) => 3,
        Some(0xf0..=0xf4) => 4,
        Some(_) => return (None, 1),
    };
    match s.get(..want).and_then(|b| std::str::from_utf8(b).ok()) {
        Some(text) => (text.chars().next(), want),
        None => (None, 1),
    }
}
