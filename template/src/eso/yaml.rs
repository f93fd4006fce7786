//! ESO's `toYaml` and `fromYaml`, on `sigs.k8s.io/yaml` v1.6.0 over
//! go-yaml v2.4.4.
//!
//! `toYaml` is `sigs.k8s.io/yaml.Marshal` (Go's `encoding/json`, then the
//! JSON read back by go-yaml v2, which picks int, uint or float for each
//! number, and written by go-yaml v2's emitter, a port of libyaml's) with
//! ESO's one trailing line break trimmed; on a marshalling error it is
//! the empty string. `fromYaml` is `sigs.k8s.io/yaml.Unmarshal` into a
//! `map[string]interface{}` (go-yaml v2 resolving plain scalars by YAML
//! 1.1's rules, the result converted to JSON and decoded by Go's
//! `encoding/json`, so numbers are float64), with any error's text under
//! the key `Error`.
//!
//! Sources: external-secrets/external-secrets
//! `runtime/template/v2/yaml.go`; kubernetes-sigs/yaml v1.6.0 `yaml.go`;
//! yaml/go-yaml v2.4.4 `encode.go` (`stringv`, `isBase60Float`),
//! `resolve.go` (`resolve`, `parseTimestamp`), `sorter.go` (key order),
//! `decode.go` (merge keys, `scalar`), `emitterc.go` and
//! `yamlprivateh.go` (the emitter), `yaml.go` and `decode.go` (error
//! texts). Parsing is yaml_serde's (libyaml's parser, as go-yaml's is);
//! plain scalars are resolved here by go-yaml's rules.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::pem::go_string_lossy;
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::{Value, format_float_g};

pub(super) fn register(r: &mut Registry) {
    r.add("toYaml", &[Param::Any], None, to_yaml);
    r.add("fromYaml", &[Param::Str], None, from_yaml);
}

/// `toYaml(v interface{}) string`.
fn to_yaml(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let v = args.first().unwrap_or(&Value::Nil);
    let Some(node) = to_node(v) else {
        // ESO swallows marshalling errors.
        return Ok(Value::str(""));
    };
    let mut e = Emitter::new();
    e.emit_document(&node);
    let mut out = e.out;
    if out.ends_with('\n') {
        out.pop();
    }
    Ok(Value::str(out))
}

/// `fromYaml(str string) map[string]interface{}`.
fn from_yaml(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let input = match args.first() {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    };
    Ok(Value::map(match unmarshal(input) {
        Ok(m) => m,
        Err(e) => BTreeMap::from([("Error".to_string(), Value::str(e))]),
    }))
}

// ---------------------------------------------------------------------
// go-yaml v2's resolution of plain scalars.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Merge,
    Timestamp,
    Str,
}

/// go-yaml v2's `yamlStyleFloat`:
/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml v2's `isBase60Float`:
/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        match (b.get(i).copied(), b.get(i + 1).copied()) {
            (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => i += 2,
            (Some(b'0'..=b'9'), _) => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's `resolve("", s)`.
fn resolve(s: &str) -> Resolved {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    match s.as_bytes().first() {
        Some(b'.') => {
            if is_yaml_style_float(s)
                && let Some(f) = go_parse_float(s)
            {
                return Resolved::Float(f);
            }
            Resolved::Str
        }
        Some(b'0'..=b'9' | b'+' | b'-') => {
            if parse_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain = s.replace('_', "");
            if let Some(i) = go_parse_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Resolved::Uint(u);
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Resolved::Float(f);
            }
            // Go's ParseInt takes a sign after the prefix; ParseUint does
            // not.
            if let Some(bits) = plain.strip_prefix("0b") {
                if let Ok(i) = i64::from_str_radix(bits, 2) {
                    return Resolved::Int(i);
                }
                if let Ok(u) = u64::from_str_radix(bits, 2)
                    && !bits.starts_with('+')
                {
                    return Resolved::Uint(u);
                }
            } else if let Some(bits) = plain.strip_prefix("-0b")
                && let Ok(i) = i64::from_str_radix(&format!("-{bits}"), 2)
            {
                return Resolved::Int(i);
            }
            Resolved::Str
        }
        _ => Resolved::Str,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` on text the float pattern matched:
/// out of range is an error.
fn go_parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Go's `strconv.ParseUint(s, 0, 64)` (underscores already removed).
fn go_parse_uint(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    let (base, digits) = match bytes {
        [b'0', p, rest @ ..] if !rest.is_empty() && p.eq_ignore_ascii_case(&b'b') => (2, rest),
        [b'0', p, rest @ ..] if !rest.is_empty() && p.eq_ignore_ascii_case(&b'o') => (8, rest),
        [b'0', p, rest @ ..] if !rest.is_empty() && p.eq_ignore_ascii_case(&b'x') => (16, rest),
        [b'0', rest @ ..] => (8, rest),
        [] => return None,
        _ => (10, bytes),
    };
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' => u64::from(c - b'a') + 10,
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest)?;
    if neg {
        if u <= 1 << 63 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// go-yaml v2's `parseTimestamp`: four digits and a dash, then one of
/// Go's layouts `2006-1-2T15:4:5.999999999Z07:00` (`T` or `t`),
/// `2006-1-2 15:4:5.999999999` or `2006-1-2`.
fn parse_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    let year: i32 = s[..4].parse().unwrap_or(0);
    // Go's getnum for a non-fixed field: one or two digits.
    fn num(b: &[u8], i: &mut usize) -> Option<u32> {
        let first = *b.get(*i).filter(|c| c.is_ascii_digit())?;
        *i += 1;
        let mut v = u32::from(first - b'0');
        if let Some(&c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
            v = v * 10 + u32::from(c - b'0');
            *i += 1;
        }
        Some(v)
    }
    let date = |i: &mut usize| -> Option<()> {
        *i = 5;
        let month = num(b, i)?;
        (b.get(*i) == Some(&b'-')).then_some(())?;
        *i += 1;
        let day = num(b, i)?;
        if !(1..=12).contains(&month) {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1..=days).contains(&day).then_some(())
    };
    let clock = |i: &mut usize| -> Option<()> {
        let hour = num(b, i)?;
        (b.get(*i) == Some(&b':')).then_some(())?;
        *i += 1;
        let minute = num(b, i)?;
        (b.get(*i) == Some(&b':')).then_some(())?;
        *i += 1;
        let second = num(b, i)?;
        if hour >= 24 || minute >= 60 || second >= 60 {
            return None;
        }
        // An optional fraction (a period or comma and digits).
        if matches!(b.get(*i), Some(b'.' | b',')) && b.get(*i + 1).is_some_and(u8::is_ascii_digit) {
            *i += 1;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
        }
        Some(())
    };
    let zone = |i: &mut usize| -> Option<()> {
        match b.get(*i)? {
            b'Z' => {
                *i += 1;
                Some(())
            }
            b'+' | b'-' => {
                let z = b.get(*i + 1..*i + 6)?;
                if z[2] != b':' || !z[..2].iter().chain(&z[3..]).all(u8::is_ascii_digit) {
                    return None;
                }
                let hh = u32::from(z[0] - b'0') * 10 + u32::from(z[1] - b'0');
                let mm = u32::from(z[3] - b'0') * 10 + u32::from(z[4] - b'0');
                if hh > 24 || mm > 60 {
                    return None;
                }
                *i += 6;
                Some(())
            }
            _ => None,
        }
    };
    let layouts: [&dyn Fn() -> Option<()>; 3] = [
        &|| {
            let mut i = 0;
            date(&mut i)?;
            (matches!(b.get(i), Some(b'T' | b't'))).then_some(())?;
            i += 1;
            clock(&mut i)?;
            zone(&mut i)?;
            (i == b.len()).then_some(())
        },
        &|| {
            let mut i = 0;
            date(&mut i)?;
            (b.get(i) == Some(&b' ')).then_some(())?;
            i += 1;
            clock(&mut i)?;
            (i == b.len()).then_some(())
        },
        &|| {
            let mut i = 0;
            date(&mut i)?;
            (i == b.len()).then_some(())
        },
    ];
    layouts.iter().any(|l| l().is_some())
}

// ---------------------------------------------------------------------
// toYaml: the JSON model go-yaml reads back, and go-yaml's emitter.

/// A value as go-yaml v2 unmarshals `encoding/json`'s output.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// `v` through `json.Marshal` and go-yaml's `Unmarshal`; `None` when
/// `json.Marshal` fails (NaN, infinities, times outside years 0-9999).
fn to_node(v: &Value) -> Option<Node> {
    Some(match v {
        Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i) => Node::Int(*i),
        Value::Float(f) => {
            if !f.is_finite() {
                return None;
            }
            let abs = f.abs();
            if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
                // encoding/json writes an exponent: a float again.
                Node::Float(*f)
            } else {
                // encoding/json's shortest fixed form, read back by go-yaml
                // as an int or uint when it has no fraction.
                let text = format!("{f}");
                if let Some(i) = go_parse_int(&text) {
                    Node::Int(i)
                } else if let Some(u) = go_parse_uint(&text) {
                    Node::Uint(u)
                } else {
                    Node::Float(*f)
                }
            }
        }
        Value::Str(s) => Node::Str(go_string_lossy(s.as_bytes())),
        Value::List(items) => Node::Seq(items.iter().map(to_node).collect::<Option<_>>()?),
        Value::Map(entries) => {
            let mut entries: Vec<(String, Node)> = entries
                .iter()
                .map(|(k, v)| Some((k.clone(), to_node(v)?)))
                .collect::<Option<_>>()?;
            entries.sort_by(|(a, _), (b, _)| key_order(a, b));
            Node::Map(entries)
        }
        Value::Time(t) => Node::Str(rfc3339_nano(*t)?),
    })
}

/// Go's `time.Time.MarshalJSON` text (RFC 3339 with nanoseconds, trailing
/// zeros dropped); `None` outside years 0 to 9999.
fn rfc3339_nano(t: time::OffsetDateTime) -> Option<String> {
    if !(0..=9999).contains(&t.year()) {
        return None;
    }
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.nanosecond() != 0 {
        let frac = format!("{:09}", t.nanosecond());
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.offset();
    if offset.is_utc() {
        out.push('Z');
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        out.push_str(&format!(
            "{sign}{:02}:{:02}",
            h.unsigned_abs(),
            m.unsigned_abs()
        ));
    }
    Some(out)
}

/// go-yaml v2's `keyList.Less` for string keys: letters after other
/// characters, runs of digits compared as numbers.
fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let digit = |c: char| c.is_ascii_digit();
    let value = |c: char| i64::from(u32::from(c)) - i64::from(u32::from('0'));
    for i in 0..ar.len().min(br.len()) {
        let (ca, cb) = (ar[i], br[i]);
        if ca == cb {
            continue;
        }
        let (al, bl) = (ca.is_alphabetic(), cb.is_alphabetic());
        if al && bl {
            return ca < cb;
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ca == '0' || cb == '0' {
            for j in (0..i).rev() {
                if !digit(ar[j]) {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && digit(ar[ai]) {
            an = an.wrapping_mul(10).wrapping_add(value(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && digit(br[bi]) {
            bn = bn.wrapping_mul(10).wrapping_add(value(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ca < cb;
    }
    ar.len() < br.len()
}

fn key_order(a: &str, b: &str) -> Ordering {
    if key_less(a, b) {
        Ordering::Less
    } else if key_less(b, a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// What libyaml's `yaml_emitter_analyze_scalar` finds in a scalar.
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn at(v: &[u8], i: usize) -> u8 {
    v.get(i).copied().unwrap_or(0)
}

fn width(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        3
    } else if b & 0xF8 == 0xF0 {
        4
    } else {
        0
    }
}

fn is_printable(v: &[u8], i: usize) -> bool {
    let (b0, b1, b2) = (at(v, i), at(v, i + 1), at(v, i + 2));
    b0 == 0x0A
        || (0x20..=0x7E).contains(&b0)
        || (b0 == 0xC2 && b1 >= 0xA0)
        || (b0 > 0xC2 && b0 < 0xED)
        || (b0 == 0xED && b1 < 0xA0)
        || b0 == 0xEE
        || (b0 == 0xEF
            && !(b1 == 0xBB && b2 == 0xBF)
            && !(b1 == 0xBF && (b2 == 0xBE || b2 == 0xBF)))
}

fn is_space(v: &[u8], i: usize) -> bool {
    at(v, i) == b' '
}

fn is_blank(v: &[u8], i: usize) -> bool {
    matches!(at(v, i), b' ' | b'\t')
}

fn is_break(v: &[u8], i: usize) -> bool {
    let (b0, b1, b2) = (at(v, i), at(v, i + 1), at(v, i + 2));
    b0 == b'\r'
        || b0 == b'\n'
        || (b0 == 0xC2 && b1 == 0x85)
        || (b0 == 0xE2 && b1 == 0x80 && (b2 == 0xA8 || b2 == 0xA9))
}

fn is_blankz(v: &[u8], i: usize) -> bool {
    is_blank(v, i) || is_break(v, i) || at(v, i) == 0
}

fn analyze(value: &[u8]) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);

    if value.starts_with(b"---") || value.starts_with(b"...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut i = 0;
    while i < value.len() {
        let w = width(value[i]).max(1);
        let followed_by_whitespace = i + w >= value.len() || is_blank(value, i + w);
        if i == 0 {
            match value[i] {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>'
                | b'\'' | b'"' | b'%' | b'@' | b'`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                b'?' | b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match value[i] {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_indicators = true,
                b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        // The emitter is in unicode mode: only unprintable characters
        // are special.
        if !is_printable(value, i) {
            special_characters = true;
        }
        if is_space(value, i) {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == value.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(value, i) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + w == value.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(value, i);
        i += w;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

const BEST_INDENT: i64 = 2;
const BEST_WIDTH: usize = 80;

/// libyaml's emitter as go-yaml v2 drives it (block style, UTF-8,
/// indentation 2, line width 80), for one document of a JSON model.
struct Emitter {
    out: String,
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
    mapping_context: bool,
    simple_key_context: bool,
}

impl Emitter {
    fn new() -> Self {
        Emitter {
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
            mapping_context: false,
            simple_key_context: false,
        }
    }

    fn emit_document(&mut self, node: &Node) {
        self.emit_node(node, false, false);
        // DOCUMENT-END (implicit): the last line ends.
        self.write_indent();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    /// Copies the character at `*i` of `v` (libyaml's `write`).
    fn write(&mut self, v: &[u8], i: &mut usize) {
        let w = width(at(v, *i)).max(1);
        let end = (*i + w).min(v.len());
        self.out
            .push_str(&String::from_utf8_lossy(v.get(*i..end).unwrap_or_default()));
        self.column += 1;
        *i = end;
    }

    fn write_all(&mut self, s: &str) {
        let mut i = 0;
        while i < s.len() {
            self.write(s.as_bytes(), &mut i);
        }
    }

    fn write_break(&mut self, v: &[u8], i: &mut usize) {
        if at(v, *i) == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(v, i);
            self.column = 0;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_all(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn emit_node(&mut self, node: &Node, mapping: bool, simple_key: bool) {
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match node {
            Node::Seq(items) if !items.is_empty() && self.flow_level == 0 => {
                self.emit_block_sequence(items)
            }
            Node::Map(entries) if !entries.is_empty() && self.flow_level == 0 => {
                self.emit_block_mapping(entries);
            }
            Node::Seq(_) => self.emit_empty_flow("[", "]"),
            Node::Map(_) => self.emit_empty_flow("{", "}"),
            Node::Null => self.emit_scalar("null", Style::Plain),
            Node::Bool(b) => self.emit_scalar(if *b { "true" } else { "false" }, Style::Plain),
            Node::Int(i) => self.emit_scalar(&i.to_string(), Style::Plain),
            Node::Uint(u) => self.emit_scalar(&u.to_string(), Style::Plain),
            Node::Float(f) => self.emit_scalar(&format_float_g(*f), Style::Plain),
            Node::Str(s) => self.emit_scalar(s, string_style(s)),
        }
    }

    /// An empty sequence or mapping, in flow style as libyaml writes
    /// empty collections.
    fn emit_empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn emit_block_sequence(&mut self, items: &[Node]) {
        let indentless = self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.emit_node(item, false, false);
        }
        self.pop_indent();
    }

    fn emit_block_mapping(&mut self, entries: &[(String, Node)]) {
        self.increase_indent(false, false);
        for (key, value) in entries {
            self.write_indent();
            let a = analyze(key.as_bytes());
            let key_node = Node::Str(key.clone());
            if !a.multiline && key.len() <= 128 {
                self.emit_node(&key_node, true, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.emit_node(&key_node, true, false);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.emit_node(value, true, false);
        }
        self.pop_indent();
    }

    fn emit_scalar(&mut self, value: &str, requested: Style) {
        let v = value.as_bytes();
        let a = analyze(v);
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed)
                || (self.flow_level == 0 && !a.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if v.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(v, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(v, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(v, allow_breaks),
            Style::Literal => self.write_literal(v),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, v: &[u8], allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !is_space(v, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(v, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, v: &[u8], allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i < v.len() - 1
                    && !is_space(v, i + 1)
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if v[i] == b'\'' {
                    self.put('\'');
                }
                self.write(v, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, v: &[u8], allow_breaks: bool) {
        let mut spaces = false;
        self.write_indicator("\"", true, false, false);
        // libyaml checks for a byte order mark at the start of the value,
        // whatever the position.
        let bom = v.starts_with(&[0xEF, 0xBB, 0xBF]);
        let mut i = 0;
        while i < v.len() {
            if !is_printable(v, i) || bom || is_break(v, i) || v[i] == b'"' || v[i] == b'\\' {
                let octet = v[i];
                let (w, mut c) = match width(octet) {
                    1 => (1, u32::from(octet & 0x7F)),
                    2 => (2, u32::from(octet & 0x1F)),
                    3 => (3, u32::from(octet & 0x0F)),
                    4 => (4, u32::from(octet & 0x07)),
                    _ => (1, u32::from(octet)),
                };
                for k in 1..w {
                    c = (c << 6) + u32::from(at(v, i + k) & 0x3F);
                }
                i += w;
                self.put('\\');
                match c {
                    0x00 => self.put('0'),
                    0x07 => self.put('a'),
                    0x08 => self.put('b'),
                    0x09 => self.put('t'),
                    0x0A => self.put('n'),
                    0x0B => self.put('v'),
                    0x0C => self.put('f'),
                    0x0D => self.put('r'),
                    0x1B => self.put('e'),
                    0x22 => self.put('"'),
                    0x5C => self.put('\\'),
                    0x85 => self.put('N'),
                    0xA0 => self.put('_'),
                    0x2028 => self.put('L'),
                    0x2029 => self.put('P'),
                    _ => {
                        let (letter, digits) = if c <= 0xFF {
                            ('x', 2)
                        } else if c <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(letter);
                        for k in (0..digits).rev() {
                            let digit = (c >> (4 * k)) & 0x0F;
                            self.put(
                                char::from_digit(digit, 16)
                                    .unwrap_or('0')
                                    .to_ascii_uppercase(),
                            );
                        }
                    }
                }
                spaces = false;
            } else if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < v.len() - 1 {
                    self.write_indent();
                    if is_space(v, i + 1) {
                        self.put('\\');
                    }
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else {
                self.write(v, &mut i);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, v: &[u8]) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the value
        // starts with a space or break; chomping by the trailing breaks.
        if is_space(v, 0) || is_break(v, 0) {
            self.write_indicator("2", false, false, false);
        }
        let chomp = if v.is_empty() {
            Some("-")
        } else {
            let mut i = v.len() - 1;
            while i > 0 && v[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break(v, i) {
                Some("-")
            } else if i == 0 {
                Some("+")
            } else {
                i -= 1;
                while i > 0 && v[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                is_break(v, i).then_some("+")
            }
        };
        if let Some(c) = chomp {
            self.write_indicator(c, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < v.len() {
            if is_break(v, i) {
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(v, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// go-yaml v2's `stringv`: literal style for multi-line text, plain when
/// the text would read back as a string, double-quoted otherwise.
fn string_style(s: &str) -> Style {
    if s.contains('\n') {
        return Style::Literal;
    }
    let base60 = s.contains(':') && is_base60_float(s);
    if resolve(s) == Resolved::Str && !base60 {
        Style::Plain
    } else {
        Style::DoubleQuoted
    }
}

// ---------------------------------------------------------------------
// fromYaml.

/// A YAML node as go-yaml v2 decodes it into `interface{}`.
#[derive(Debug, Clone, PartialEq)]
enum YNode {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Merge,
    Seq(Vec<YNode>),
    Map(Vec<(YNode, YNode)>),
}

/// Builds [`YNode`]s from yaml_serde's events, resolving plain scalars as
/// go-yaml does. Plain scalars are told from quoted ones by where the
/// borrowed text sits in the input.
#[derive(Clone, Copy)]
struct NodeSeed<'de> {
    input: &'de str,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'de> {
    type Value = YNode;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<YNode, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'de> {
    type Value = YNode;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<YNode, E> {
        Ok(YNode::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<YNode, E> {
        Ok(YNode::Int(i128::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<YNode, E> {
        Ok(YNode::Int(i128::from(v)))
    }

    fn visit_i128<E>(self, v: i128) -> Result<YNode, E> {
        // Beyond uint64 go-yaml reads a float.
        Ok(if i64::try_from(v).is_ok() || u64::try_from(v).is_ok() {
            YNode::Int(v)
        } else {
            YNode::Float(v as f64)
        })
    }

    fn visit_u128<E>(self, v: u128) -> Result<YNode, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => YNode::Int(i128::from(u)),
            Err(_) => YNode::Float(v as f64),
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<YNode, E> {
        Ok(YNode::Float(v))
    }

    fn visit_unit<E>(self) -> Result<YNode, E> {
        Ok(YNode::Null)
    }

    fn visit_none<E>(self) -> Result<YNode, E> {
        Ok(YNode::Null)
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<YNode, E> {
        Ok(match origin(self.input, v) {
            Origin::Plain => match resolve(v) {
                Resolved::Null => YNode::Null,
                Resolved::Bool(b) => YNode::Bool(b),
                Resolved::Int(i) => YNode::Int(i128::from(i)),
                Resolved::Uint(u) => YNode::Int(i128::from(u)),
                Resolved::Float(f) => YNode::Float(f),
                Resolved::Merge => YNode::Merge,
                // Timestamps stay strings in an interface{}.
                Resolved::Timestamp | Resolved::Str => YNode::Str(v.to_string()),
            },
            Origin::MergeTagged => YNode::Merge,
            Origin::Quoted | Origin::Tagged | Origin::Elsewhere => YNode::Str(v.to_string()),
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<YNode, E> {
        // Quoted text with escapes, block scalars, folded plain text.
        Ok(YNode::Str(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<YNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(YNode::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<YNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key_seed(self)? {
            let v = map.next_value_seed(self)?;
            entries.push((k, v));
        }
        Ok(YNode::Map(entries))
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<YNode, A::Error> {
        // A value with a tag of the document's own: go-yaml ignores the
        // tag.
        use serde::de::VariantAccess as _;
        let (_, variant): (serde::de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

enum Origin {
    Plain,
    Quoted,
    Tagged,
    MergeTagged,
    Elsewhere,
}

/// Where a borrowed scalar sits in `input`: between quotes, after a tag
/// (`!!str`, a local tag, the merge tag), or plain.
fn origin(input: &str, v: &str) -> Origin {
    let base = input.as_ptr() as usize;
    let p = v.as_ptr() as usize;
    if p < base || p + v.len() > base + input.len() {
        return Origin::Elsewhere;
    }
    let bytes = input.as_bytes();
    let start = p - base;
    let end = start + v.len();
    let before = start.checked_sub(1).and_then(|i| bytes.get(i)).copied();
    let after = bytes.get(end).copied();
    let quoted = matches!(
        (before, after),
        (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\''))
    );
    let scalar_start = if quoted { start - 1 } else { start };
    // The token before the scalar on its line.
    let mut j = scalar_start;
    while j > 0 && matches!(bytes[j - 1], b' ' | b'\t') {
        j -= 1;
    }
    let token_end = j;
    let before_token = &bytes[..token_end];
    let token = if before_token.ends_with(b">") {
        // A verbatim tag, `!<...>`, may hold commas.
        match before_token.windows(2).rposition(|w| w == b"!<") {
            Some(k) => &bytes[k..token_end],
            None => &[][..],
        }
    } else {
        while j > 0
            && !matches!(
                bytes[j - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b','
            )
        {
            j -= 1;
        }
        &bytes[j..token_end]
    };
    if token.first() == Some(&b'!') {
        if v == "<<" && matches!(token, b"!!merge" | b"!<tag:yaml.org,2002:merge>") {
            return Origin::MergeTagged;
        }
        return Origin::Tagged;
    }
    if quoted {
        Origin::Quoted
    } else {
        Origin::Plain
    }
}

/// `sigs.k8s.io/yaml.Unmarshal` into a `map[string]interface{}`.
fn unmarshal(input: &[u8]) -> Result<BTreeMap<String, Value>, String> {
    let convert_err = |e: String| format!("error converting YAML to JSON: {e}");
    let text = std::str::from_utf8(input).map_err(|e| convert_err(reader_error(input, &e)))?;
    let node = match yaml_serde::Deserializer::from_str(text).next() {
        None => YNode::Null,
        Some(doc) => NodeSeed { input: text }
            .deserialize(doc)
            .map_err(|e| convert_err(go_yaml_error(&e)))?,
    };
    let json = to_json(&node).map_err(convert_err)?;
    if let Some(bad) = first_unsupported(&json) {
        return Err(convert_err(format!("json: unsupported value: {bad}")));
    }
    match json {
        Value::Map(m) => Ok((*m).clone()),
        Value::Nil => Ok(BTreeMap::new()),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            match other {
                Value::List(_) => "array",
                Value::Str(_) => "string",
                Value::Bool(_) => "bool",
                _ => "number",
            }
        )),
    }
}

/// The first float `encoding/json` refuses, in its (sorted) order.
fn first_unsupported(v: &Value) -> Option<String> {
    match v {
        Value::Float(f) if !f.is_finite() => Some(format_float_g(*f)),
        Value::List(items) => items.iter().find_map(first_unsupported),
        Value::Map(m) => m.values().find_map(first_unsupported),
        _ => None,
    }
}

/// The node as `convertToJSONableObject` and `encoding/json` leave it.
fn to_json(node: &YNode) -> Result<Value, String> {
    Ok(match node {
        YNode::Null => Value::Nil,
        YNode::Bool(b) => Value::Bool(*b),
        YNode::Int(i) => Value::Float(*i as f64),
        YNode::Float(f) => Value::Float(*f),
        YNode::Str(s) => Value::str(s.as_str()),
        YNode::Merge => Value::str("<<"),
        YNode::Seq(items) => Value::list(items.iter().map(to_json).collect::<Result<_, _>>()?),
        YNode::Map(entries) => {
            let mut out = BTreeMap::new();
            map_into(entries, &mut out)?;
            Value::map(out)
        }
    })
}

/// A mapping's entries into `out`, merge keys (`<<`) merging a map or
/// maps (earlier ones winning) where they stand, as go-yaml v2 does.
fn map_into(entries: &[(YNode, YNode)], out: &mut BTreeMap<String, Value>) -> Result<(), String> {
    const WANT_MAP: &str = "yaml: map merge requires map or sequence of maps as the value";
    for (k, v) in entries {
        if *k == YNode::Merge {
            match v {
                YNode::Map(m) => map_into(m, out)?,
                YNode::Seq(items) => {
                    for item in items.iter().rev() {
                        let YNode::Map(m) = item else {
                            return Err(WANT_MAP.into());
                        };
                        map_into(m, out)?;
                    }
                }
                _ => return Err(WANT_MAP.into()),
            }
            continue;
        }
        let key = key_string(k)?;
        out.insert(key, to_json(v)?);
    }
    Ok(())
}

/// `convertToJSONableObject`'s map keys.
fn key_string(k: &YNode) -> Result<String, String> {
    Ok(match k {
        YNode::Str(s) => s.clone(),
        YNode::Bool(b) => b.to_string(),
        YNode::Int(i) => match i64::try_from(*i) {
            Ok(i) => i.to_string(),
            Err(_) => return Err("unsupported map key of type: uint64".into()),
        },
        YNode::Float(f) => format_f32_g(*f),
        YNode::Merge => "<<".into(),
        YNode::Null => return Err("unsupported map key of type: %!s(<nil>)".into()),
        YNode::Seq(_) | YNode::Map(_) => return Err("yaml: invalid map key".into()),
    })
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` with go-yaml's names for the
/// infinities and NaN.
fn format_f32_g(f: f64) -> String {
    let x = f as f32;
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
    } else if exp < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp - 1) as usize));
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point - digits.len()));
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// libyaml's reader errors for input that is not UTF-8.
fn reader_error(input: &[u8], e: &std::str::Utf8Error) -> String {
    let rest = input.get(e.valid_up_to()..).unwrap_or_default();
    let lead = at(rest, 0);
    let w = width(lead);
    let problem = if w == 0 {
        "invalid leading UTF-8 octet"
    } else if rest.len() < w {
        "incomplete UTF-8 octet sequence"
    } else if rest[1..w].iter().any(|b| b & 0xC0 != 0x80) {
        "invalid trailing UTF-8 octet"
    } else {
        let mut c = u32::from(lead & (0x7F >> w));
        for b in &rest[1..w] {
            c = (c << 6) | u32::from(b & 0x3F);
        }
        let min = match w {
            2 => 0x80,
            3 => 0x800,
            _ => 0x10000,
        };
        if c < min {
            "invalid length of a UTF-8 sequence"
        } else {
            "invalid Unicode character"
        }
    };
    format!("yaml: {problem}")
}

/// libyaml's parser problems (go-yaml reports their line 0-based; the
/// scanner's 1-based).
const PARSER_PROBLEMS: &[&str] = &[
    "did not find expected <stream-start>",
    "did not find expected <document start>",
    "found duplicate %YAML directive",
    "found incompatible YAML document",
    "found duplicate %TAG directive",
    "found undefined tag handle",
    "did not find expected node content",
    "did not find expected '-' indicator",
    "did not find expected key",
    "did not find expected ',' or ']'",
    "did not find expected ',' or '}'",
];

/// go-yaml's `parser.fail` text for a parse error:
/// `yaml: line N: problem`.
fn go_yaml_error(e: &yaml_serde::Error) -> String {
    let msg = e.to_string();
    let Some(at_line) = msg.find(" at line ") else {
        return format!("yaml: {msg}");
    };
    let problem = &msg[..at_line];
    let mark = e.location().map_or(0, |l| l.line().saturating_sub(1));
    let context = msg
        .split(", ")
        .nth(1)
        .and_then(|c| c.rsplit_once(" at line "))
        .and_then(|(_, pos)| pos.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .map_or(0, |l| l.saturating_sub(1));
    let line = if mark != 0 {
        if PARSER_PROBLEMS.contains(&problem) {
            mark
        } else {
            mark + 1
        }
    } else {
        context
    };
    if line == 0 {
        format!("yaml: {problem}")
    } else {
        format!("yaml: line {line}: {problem}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::super::pem::tests::{call, s};
    use super::*;

    fn yaml(v: Value) -> String {
        String::from_utf8(
            call("toYaml", vec![v])
                .unwrap()
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec(),
        )
        .unwrap()
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn from(text: &str) -> Value {
        call("fromYaml", vec![s(text)]).unwrap()
    }

    fn fm(entries: Vec<(&str, Value)>) -> BTreeMap<String, Value> {
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same(a, b))
            }
            (Value::Map(x), Value::Map(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .zip(y.iter())
                        .all(|((ka, a), (kb, b))| ka == kb && same(a, b))
            }
            _ => false,
        }
    }

    #[test]
    fn template_cases() {
        // ESO: template_test.go TestExecute "fromJson & toYaml func": the
        // map {"foo": "bar"} gives `foo: bar` without a line break.
        assert_eq!(yaml(map(vec![("foo", s("bar"))])), "foo: bar");
        // ESO: template_test.go TestExecute "fromYaml & toJson func".
        assert!(same(
            &from("foo: bar"),
            &Value::map(fm(vec![("foo", s("bar"))]))
        ));
    }

    #[test]
    fn marshal_cases() {
        // go-yaml v2.4.4 encode_test.go marshalTests (the values JSON can
        // carry), with ESO's trailing line break trimmed.
        let f = Value::Float;
        let l = |v: Vec<Value>| Value::list(v);
        for (value, want) in [
            (Value::Nil, "null"),
            (map(vec![("v", s("hi"))]), "v: hi"),
            (map(vec![("v", s("true"))]), "v: \"true\""),
            (map(vec![("v", s("false"))]), "v: \"false\""),
            (map(vec![("v", Value::Bool(true))]), "v: true"),
            (map(vec![("v", Value::Bool(false))]), "v: false"),
            (map(vec![("v", Value::Int(10))]), "v: 10"),
            (map(vec![("v", Value::Int(-10))]), "v: -10"),
            (map(vec![("v", Value::Int(4294967296))]), "v: 4294967296"),
            (map(vec![("v", s("10"))]), "v: \"10\""),
            (map(vec![("v", f(0.1))]), "v: 0.1"),
            (map(vec![("v", f(-0.1))]), "v: -0.1"),
            (map(vec![("v", Value::Nil)]), "v: null"),
            (map(vec![("v", s(""))]), "v: \"\""),
            (map(vec![("v", l(vec![s("A"), s("B")]))]), "v:\n- A\n- B"),
            (
                map(vec![("v", l(vec![s("A"), s("B\nC")]))]),
                "v:\n- A\n- |-\n  B\n  C",
            ),
            (
                map(vec![(
                    "v",
                    l(vec![
                        s("A"),
                        Value::Int(1),
                        map(vec![("B", l(vec![Value::Int(2), Value::Int(3)]))]),
                    ]),
                )]),
                "v:\n- A\n- 1\n- B:\n  - 2\n  - 3",
            ),
            (map(vec![("a", map(vec![("b", s("c"))]))]), "a:\n  b: c"),
            (map(vec![("a", s("-"))]), "a: '-'"),
            (map(vec![("a", s("<foo>"))]), "a: <foo>"),
            (map(vec![("a", s("1:1"))]), "a: \"1:1\""),
            (map(vec![("a", s("\u{0}"))]), "a: \"\\0\""),
            (map(vec![("a", s("你好"))]), "a: 你好"),
            (
                map(vec![("a", s("2015-02-24T18:19:39Z"))]),
                "a: \"2015-02-24T18:19:39Z\"",
            ),
            (map(vec![("a", s("b: c"))]), "a: 'b: c'"),
            (map(vec![("a", s("Hello #comment"))]), "a: 'Hello #comment'"),
            (map(vec![("a", s("你好 #comment"))]), "a: '你好 #comment'"),
            (map(vec![("a", Value::Int(5))]), "a: 5"),
            (map(vec![("a", f(100.5))]), "a: 100.5"),
        ] {
            assert_eq!(yaml(value.clone()), want, "{value:?}");
        }
    }

    #[test]
    fn line_wrapping() {
        // go-yaml v2.4.4 encode_test.go TestLineWrapping (before
        // FutureLineWrap).
        let v = map(vec![(
            "a",
            s(
                "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 ",
            ),
        )]);
        assert_eq!(
            yaml(v),
            "a: 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 abcdefghijklmnopqrstuvwxyz\n  ABCDEFGHIJKLMNOPQRSTUVWXYZ 1234567890 '"
        );
    }

    #[test]
    fn sorted_output() {
        // go-yaml v2.4.4 encode_test.go TestSortedOutput (its string keys;
        // the numeric ones cannot be JSON object keys).
        let order = [
            "", ".1", ".2", ".a", "1", "2", "a!10", "a/0001", "a/002", "a/3", "a/10", "a/11",
            "a/0012", "a/100", "a~10", "ab/1", "b/1", "b/01", "b/2", "b/02", "b/3", "b/03", "b1",
            "b01", "b3", "c2.10", "c10.2", "d1", "d7", "d7abc", "d12", "d12a",
        ];
        let v = map(order.iter().map(|k| (*k, Value::Int(1))).collect());
        let out = format!("\n{}", yaml(v));
        let mut last = 0;
        for k in order {
            let repr = if k.is_empty() || k.parse::<f32>().is_ok() {
                format!("\"{k}\"")
            } else {
                k.to_string()
            };
            let index = out
                .find(&format!("\n{repr}:"))
                .unwrap_or_else(|| panic!("{k} missing: {out}"));
            assert!(index >= last, "{k} out of order: {out}");
            last = index;
        }
    }

    #[test]
    fn json_numbers_read_back_as_go_yaml_types() {
        // encoding/json's text read by go-yaml: integral floats are ints
        // (or uints), others float64 printed with 'g'.
        let f = Value::Float;
        for (v, want) in [
            (f(3.0), "3"),
            (f(-0.0), "0"),
            (f(1e20), "1e+20"),
            (f(1e19), "10000000000000000000"),
            (f(1e21), "1e+21"),
            (f(1234567.5), "1.2345675e+06"),
            (f(1e-7), "1e-07"),
            (f(f64::NAN), ""),
            (Value::list(vec![f(f64::INFINITY)]), ""),
        ] {
            assert_eq!(yaml(v.clone()), want, "{v:?}");
        }
        // A time is its RFC 3339 text, quoted as a timestamp.
        let t = time::macros::datetime!(2021-03-04 05:06:07.5 UTC);
        assert_eq!(yaml(Value::Time(t)), "\"2021-03-04T05:06:07.5Z\"");
        // Invalid UTF-8 becomes U+FFFD, byte by byte.
        assert_eq!(yaml(Value::str(&b"a\xff"[..])), "a\u{fffd}");
    }

    #[test]
    fn scalars_styles() {
        for (v, want) in [
            ("yes", "\"yes\""),
            ("on", "\"on\""),
            ("~", "\"~\""),
            ("0777", "\"0777\""),
            ("1_000", "\"1_000\""),
            ("a\n", "|\n  a"),
            ("a\n\n", "|+\n  a\n"),
            (" a\nb", "|2-\n   a\n  b"),
            ("trailing \nx", "\"trailing \\nx\""),
            ("@a", "'@a'"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            ("tab\there", "\"tab\\there\""),
            ("\u{1F600}", "\"\\U0001F600\""),
            ("---", "'---'"),
        ] {
            assert_eq!(yaml(s(v)), want, "{v:?}");
        }
        // Empty collections are flow; multi-line keys are complex keys.
        assert_eq!(
            yaml(map(vec![
                ("a", Value::list(vec![])),
                ("b", Value::map(BTreeMap::new()))
            ])),
            "a: []\nb: {}"
        );
        assert_eq!(yaml(map(vec![("x\ny", s("v"))])), "? |-\n  x\n  y\n: v");
        assert_eq!(
            yaml(Value::list(vec![
                Value::list(vec![s("a"), s("b")]),
                map(vec![("k", s("v")), ("l", s("w"))])
            ])),
            "- - a\n  - b\n- k: v\n  l: w"
        );
    }

    #[test]
    fn unmarshal_cases() {
        // go-yaml v2.4.4 decode_test.go unmarshalTests into
        // map[string]interface{}, through JSON (numbers float64).
        let f = Value::Float;
        let l = |v: Vec<Value>| Value::list(v);
        for (text, want) in [
            ("v: hi", vec![("v", s("hi"))]),
            ("v: true", vec![("v", Value::Bool(true))]),
            ("v: 10", vec![("v", f(10.0))]),
            ("v: 0b10", vec![("v", f(2.0))]),
            ("v: 0xA", vec![("v", f(10.0))]),
            ("v: 4294967296", vec![("v", f(4294967296.0))]),
            ("v: 0.1", vec![("v", f(0.1))]),
            ("v: .1", vec![("v", f(0.1))]),
            ("v: -10", vec![("v", f(-10.0))]),
            ("v: -.1", vec![("v", f(-0.1))]),
            ("canonical: 6.8523e+5", vec![("canonical", f(6.8523e+5))]),
            ("expo: 685.230_15e+03", vec![("expo", f(685.23015e+03))]),
            ("fixed: 685_230.15", vec![("fixed", f(685230.15))]),
            ("canonical: y", vec![("canonical", Value::Bool(true))]),
            ("answer: NO", vec![("answer", Value::Bool(false))]),
            ("logical: True", vec![("logical", Value::Bool(true))]),
            ("option: on", vec![("option", Value::Bool(true))]),
            ("canonical: 685230", vec![("canonical", f(685230.0))]),
            ("decimal: +685_230", vec![("decimal", f(685230.0))]),
            ("octal: 02472256", vec![("octal", f(685230.0))]),
            ("hexa: 0x_0A_74_AE", vec![("hexa", f(685230.0))]),
            (
                "bin: 0b1010_0111_0100_1010_1110",
                vec![("bin", f(685230.0))],
            ),
            ("bin: -0b101010", vec![("bin", f(-42.0))]),
            (
                "bin: -0b1000000000000000000000000000000000000000000000000000000000000000",
                vec![("bin", f(-9223372036854775808.0))],
            ),
            ("empty:", vec![("empty", Value::Nil)]),
            ("canonical: ~", vec![("canonical", Value::Nil)]),
            ("english: null", vec![("english", Value::Nil)]),
            ("seq: [A,B]", vec![("seq", l(vec![s("A"), s("B")]))]),
            (
                "seq: [A,1,C]",
                vec![("seq", l(vec![s("A"), f(1.0), s("C")]))],
            ),
            ("seq:\n - A\n - B", vec![("seq", l(vec![s("A"), s("B")]))]),
            (
                "seq:\n - A\n - 1\n - C",
                vec![("seq", l(vec![s("A"), f(1.0), s("C")]))],
            ),
            ("v: !!float '1.1'", vec![("v", f(1.1))]),
            ("v: !!float 0", vec![("v", f(0.0))]),
            ("v: !!float -1", vec![("v", f(-1.0))]),
            (
                "%TAG !y! tag:yaml.org,2002:\n---\nv: !y!int '1'",
                vec![("v", f(1.0))],
            ),
            ("v: ! test", vec![("v", s("test"))]),
            (
                "a: &x 1\nb: &y 2\nc: *x\nd: *y\n",
                vec![("a", f(1.0)), ("b", f(2.0)), ("c", f(1.0)), ("d", f(2.0))],
            ),
            ("a: -b_c", vec![("a", s("-b_c"))]),
            ("a: +b_c", vec![("a", s("+b_c"))]),
            ("a: 50cent_of_dollar", vec![("a", s("50cent_of_dollar"))]),
            (
                "a: {b: https://github.com/go-yaml/yaml}",
                vec![("a", map(vec![("b", s("https://github.com/go-yaml/yaml"))]))],
            ),
            (
                "a: [https://github.com/go-yaml/yaml]",
                vec![("a", l(vec![s("https://github.com/go-yaml/yaml")]))],
            ),
            ("a: !!str 2015-01-01", vec![("a", s("2015-01-01"))]),
            ("a: \"2015-01-01\"", vec![("a", s("2015-01-01"))]),
            (
                "a: !!timestamp \"2015-01-01\"",
                vec![("a", s("2015-01-01"))],
            ),
            ("a: 2015-01-01", vec![("a", s("2015-01-01"))]),
            // Keys: ints and bools by their text, floats as float32 'g'.
            (
                "1: a\ntrue: b\n1.5: c",
                vec![("1", s("a")), ("true", s("b")), ("1.5", s("c"))],
            ),
            // Quoted text is never resolved.
            ("a: 'yes'\nb: \"10\"", vec![("a", s("yes")), ("b", s("10"))]),
        ] {
            let got = from(text);
            assert!(
                same(&got, &Value::map(fm(want.clone()))),
                "{text:?}: {got:?}"
            );
        }
    }

    #[test]
    fn merge() {
        // go-yaml v2.4.4 decode_test.go TestMerge.
        let text = r#"
anchors:
  list:
    - &CENTER { "x": 1, "y": 2 }
    - &LEFT   { "x": 0, "y": 2 }
    - &BIG    { "r": 10 }
    - &SMALL  { "r": 1 }

# All the following maps are equal:

plain:
  # Explicit keys
  "x": 1
  "y": 2
  "r": 10
  label: center/big

mergeOne:
  # Merge one map
  << : *CENTER
  "r": 10
  label: center/big

mergeMultiple:
  # Merge multiple maps
  << : [ *CENTER, *BIG ]
  label: center/big

override:
  # Override
  << : [ *BIG, *LEFT, *SMALL ]
  "x": 1
  label: center/big

shortTag:
  # Explicit short merge tag
  !!merge "<<" : [ *CENTER, *BIG ]
  label: center/big

longTag:
  # Explicit merge long tag
  !<tag:yaml.org,2002:merge> "<<" : [ *CENTER, *BIG ]
  label: center/big

inlineMap:
  # Inlined map 
  << : {"x": 1, "y": 2, "r": 10}
  label: center/big

inlineSequenceMap:
  # Inlined map in sequence
  << : [ *CENTER, {"r": 10} ]
  label: center/big
"#;
        let want = Value::map(fm(vec![
            ("x", Value::Float(1.0)),
            ("y", Value::Float(2.0)),
            ("r", Value::Float(10.0)),
            ("label", s("center/big")),
        ]));
        let Value::Map(m) = from(text) else { panic!() };
        assert_eq!(m.len(), 9, "{m:?}");
        for (name, test) in m.iter() {
            if name != "anchors" {
                assert!(same(test, &want), "{name}: {test:?}");
            }
        }
        let bad = from("a:\n  <<: 1\n");
        assert!(same(
            &bad,
            &Value::map(fm(vec![(
                "Error",
                s(
                    "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
                )
            )]))
        ));
    }

    #[test]
    fn errors_under_the_error_key() {
        let err = |text: &str| match from(text) {
            Value::Map(m) => m
                .get("Error")
                .and_then(|v| v.as_str().map(|s| s.to_str_lossy().into_owned())),
            _ => None,
        };
        assert_eq!(
            err("a: b: c").as_deref(),
            Some(
                "error converting YAML to JSON: yaml: mapping values are not allowed in this context"
            )
        );
        assert_eq!(
            err("a:\n  b: c: d").as_deref(),
            Some(
                "error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this context"
            )
        );
        assert_eq!(
            err("- a\n- b").as_deref(),
            Some(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}"
            )
        );
        assert_eq!(
            err("just text").as_deref(),
            Some(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type map[string]interface {}"
            )
        );
        assert_eq!(
            err("v: .Inf").as_deref(),
            Some("error converting YAML to JSON: json: unsupported value: +Inf")
        );
        let bad_utf8 = call("fromYaml", vec![Value::str(&b"a: \xff"[..])]).unwrap();
        assert!(same(
            &bad_utf8,
            &Value::map(fm(vec![(
                "Error",
                s("error converting YAML to JSON: yaml: invalid leading UTF-8 octet")
            )]))
        ));
        // Nothing, null and a comment are an empty map.
        for text in ["", "null", "~", "# c"] {
            assert!(
                same(&from(text), &Value::Map(Arc::new(BTreeMap::new()))),
                "{text:?}"
            );
        }
        // Only the first document is read.
        assert!(same(
            &from("a: 1\n---\nb: 2\n"),
            &Value::map(fm(vec![("a", Value::Float(1.0))]))
        ));
    }

    #[test]
    fn resolution_and_timestamps() {
        for (text, want) in [
            ("0777", Resolved::Int(511)),
            ("08", Resolved::Float(8.0)),
            ("0X1F", Resolved::Int(31)),
            ("0o17", Resolved::Int(15)),
            ("9223372036854775808", Resolved::Uint(9223372036854775808)),
            ("1:20", Resolved::Str),
            ("2001-12-14", Resolved::Timestamp),
            ("2001-12-14t21:59:43.10-05:00", Resolved::Timestamp),
            ("2001-12-14 21:59:43.10", Resolved::Timestamp),
            ("2001-2-30", Resolved::Str),
            ("2001-12-14T25:00:00Z", Resolved::Str),
            ("12345-01-01", Resolved::Str),
            ("<<", Resolved::Merge),
            ("inf", Resolved::Str),
            ("0b-101", Resolved::Int(-5)),
            ("1:20", Resolved::Str),
            (".5e3", Resolved::Float(500.0)),
        ] {
            assert_eq!(resolve(text), want, "{text}");
        }
        assert!(is_base60_float("1:20") && is_base60_float("-1_0:59:3.5"));
        assert!(!is_base60_float("1:60") && !is_base60_float("1") && !is_base60_float("a:1"));
        assert!(is_yaml_style_float("1.") && is_yaml_style_float("-.5E+3"));
        assert!(
            !is_yaml_style_float(".") && !is_yaml_style_float("1e") && !is_yaml_style_float("0x1")
        );
        assert_eq!(format_f32_g(0.1), "0.1");
        assert_eq!(format_f32_g(1e20), "1e+20");
        assert_eq!(format_f32_g(1.1), "1.1");
    }
}
