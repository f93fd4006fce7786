//! `rewrite[].merge` as ESO's `RewriteMerge` does it
//! (external-secrets/external-secrets `runtime/esutils/utils.go`): every
//! value read as a JSON object (Go's decoder: numbers are `float64`),
//! merged in key order with the `priority` keys last, conflicts counted;
//! then each merged field a key (`Extract`, values as ESO's
//! `GetByteValue` writes them) or the merged object as JSON under `into`
//! beside the keys read (`JSON`). Pure.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{
    api::{MergeConflictPolicy, MergePriorityPolicy, MergeStrategy},
    keys::MergeOp,
};

/// Merges `map` by `op`; the error is ESO's text.
pub(crate) fn merge(
    op: &MergeOp,
    map: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    // Keys not in `priority`, sorted, then `priority` in its order.
    let mut order: Vec<&String> = map.keys().filter(|k| !op.priority.contains(k)).collect();
    order.extend(op.priority.iter());
    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for key in order {
        let Some(value) = map.get(key) else {
            if op.priority_policy == MergePriorityPolicy::IgnoreNotFound {
                continue;
            }
            return Err(format!(
                "merge failed with key {key:?} not found in input map"
            ));
        };
        let object: serde_json::Map<String, Value> = serde_json::from_slice(value)
            .map_err(|e| format!("merge failed with failed to unmarshal JSON: {e}"))?;
        for (field, v) in object {
            if merged.contains_key(&field) {
                conflicts.push(field.clone());
            }
            merged.insert(field, v);
        }
    }
    if op.conflict_policy != MergeConflictPolicy::Ignore && !conflicts.is_empty() {
        return Err(format!(
            "merge failed with conflicts: {}",
            conflicts.join(", ")
        ));
    }
    match op.strategy {
        MergeStrategy::Extract => Ok(merged
            .into_iter()
            .map(|(k, v)| (k, byte_value(&v)))
            .collect()),
        MergeStrategy::Json => {
            if op.into.is_empty() {
                return Err("merge failed with missing 'into' field".into());
            }
            let mut out = map;
            let mut json = Vec::new();
            write_object(&mut json, merged.iter(), false);
            out.insert(op.into.clone(), json);
            Ok(out)
        }
    }
}

/// ESO's `GetByteValue` of a decoded JSON value.
fn byte_value(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => Vec::new(),
        Value::Bool(b) => b.to_string().into_bytes(),
        // strconv.FormatFloat(f, 'f', -1, 64).
        Value::Number(n) => format_f(n.as_f64().unwrap_or_default()).into_bytes(),
        // json.Marshal (HTML escaping on).
        other => {
            let mut out = Vec::new();
            write_json(&mut out, other, true);
            out
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest digits that
/// read back, never an exponent.
fn format_f(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        return format!("{f:.0}");
    }
    // Rust's `{}` is the shortest round-tripping form without exponent.
    format!("{f}")
}

/// Go's `encoding/json` float: `'f'` unless the magnitude is below 1e-6
/// or at least 1e21, then `'e'` with a two-digit-minimum exponent cleaned
/// of its leading zero (`1e-07` → `1e-7`).
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        )
        .replace("e-0", "e-")
    } else {
        format_f(f)
    }
}

fn write_object<'a>(
    out: &mut Vec<u8>,
    fields: impl Iterator<Item = (&'a String, &'a Value)>,
    html: bool,
) {
    out.push(b'{');
    for (i, (k, v)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, k, html);
        out.push(b':');
        write_json(out, v, html);
    }
    out.push(b'}');
}

/// Go's `json.Marshal` of a decoded value: object keys sorted, floats as
/// Go formats them, strings escaped as Go escapes them.
fn write_json(out: &mut Vec<u8>, v: &Value, html: bool) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(b.to_string().as_bytes()),
        Value::Number(n) => {
            out.extend_from_slice(json_float(n.as_f64().unwrap_or_default()).as_bytes())
        }
        Value::String(s) => write_string(out, s, html),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item, html);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            write_object(out, sorted.into_iter(), html);
        }
    }
}

fn write_string(out: &mut Vec<u8>, s: &str, html: bool) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' if html => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            '\u{2028}' | '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            c if u32::from(c) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn floats_as_go_writes_them() {
        for (f, plain, json) in [
            (5432.0, "5432", "5432"),
            (1.5, "1.5", "1.5"),
            (0.000001, "0.000001", "0.000001"),
            (0.0000001, "0.0000001", "1e-7"),
            (1e21, "1000000000000000000000", "1e+21"),
            (-2.25, "-2.25", "-2.25"),
        ] {
            assert_eq!(format_f(f), plain, "{f}");
            assert_eq!(json_float(f), json, "{f}");
        }
    }

    #[test]
    fn strings_escape_as_go_escapes_them() {
        let mut out = Vec::new();
        write_string(&mut out, "a<b>&\"\u{1}\u{2028}", true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\u003cb\u003e\u0026\"\u0001\u2028""#
        );
        let mut out = Vec::new();
        write_string(&mut out, "a<b", false);
        assert_eq!(String::from_utf8(out).unwrap(), r#""a<b""#);
    }
}
