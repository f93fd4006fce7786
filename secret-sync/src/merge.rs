//! `rewrite[].merge` as ESO's `RewriteMerge` does it
//! (external-secrets/external-secrets `runtime/esutils/utils.go`): every
//! value read as a JSON object (Go's decoder: numbers are `float64`),
//! merged in key order with the `priority` keys last, conflicts counted;
//! then each merged field a key (`Extract`, values as ESO's
//! `GetByteValue` writes them) or the merged object as JSON under `into`
//! beside the keys read (`JSON`). Pure. Values are decoded here with
//! serde_json and written with the template crate's writer of Go's
//! `encoding/json` ([`azure_wi_template::json`]), the one definition of
//! Go's JSON bytes in this workspace.

use std::collections::BTreeMap;

use azure_wi_template::{
    Value as GoValue,
    json::{self, JsonStyle},
};
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
        MergeStrategy::Extract => merged
            .into_iter()
            .map(|(k, v)| {
                byte_value(&v).map(|bytes| (k, bytes)).map_err(|e| {
                    format!("merge failed with failed to convert value to []byte: {e}")
                })
            })
            .collect(),
        MergeStrategy::Json => {
            if op.into.is_empty() {
                return Err("merge failed with missing 'into' field".into());
            }
            // ESO's JSONMarshal: an Encoder without HTML escaping, its
            // newline trimmed.
            let object = GoValue::map(
                merged
                    .iter()
                    .map(|(k, v)| (k.clone(), go_value(v)))
                    .collect(),
            );
            let json = json::marshal(&object, JsonStyle::Compact { escape_html: false })
                .map_err(|e| format!("merge failed with failed to marshal merged map: {e}"))?;
            let mut out = map;
            out.insert(op.into.clone(), json);
            Ok(out)
        }
    }
}

/// ESO's `GetByteValue` of a decoded JSON value.
fn byte_value(v: &Value) -> Result<Vec<u8>, json::MarshalError> {
    Ok(match v {
        Value::String(s) => s.clone().into_bytes(),
        Value::Null => Vec::new(),
        Value::Bool(b) => b.to_string().into_bytes(),
        // strconv.FormatFloat(f, 'f', -1, 64).
        Value::Number(n) => format_f(n.as_f64().unwrap_or_default()).into_bytes(),
        // json.Marshal (HTML escaping on).
        other => json::marshal(&go_value(other), JsonStyle::Compact { escape_html: true })?,
    })
}

/// A value as Go's `json.Unmarshal` into `any` holds it (numbers are
/// `float64`), for the one writer of Go's JSON, the template crate's.
fn go_value(v: &Value) -> GoValue {
    match v {
        Value::Null => GoValue::Nil,
        Value::Bool(b) => GoValue::Bool(*b),
        Value::Number(n) => GoValue::Float(n.as_f64().unwrap_or_default()),
        Value::String(s) => GoValue::str(s.as_str()),
        Value::Array(items) => GoValue::list(items.iter().map(go_value).collect()),
        Value::Object(fields) => GoValue::map(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), go_value(v)))
                .collect(),
        ),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Go's `json.Marshal` of a float64, by the shared writer.
    fn json_float(f: f64) -> String {
        let out = json::marshal(&GoValue::Float(f), JsonStyle::Compact { escape_html: true });
        String::from_utf8(out.unwrap()).unwrap()
    }

    /// Go's quoting of a string, by the shared writer (`html`: the
    /// HTML escaping `json.Marshal` does and ESO's `JSONMarshal` does not).
    fn write_string(out: &mut Vec<u8>, s: &str, html: bool) {
        let quoted = json::marshal(&GoValue::str(s), JsonStyle::Compact { escape_html: html });
        out.extend_from_slice(&quoted.unwrap());
    }

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

    fn op(strategy: MergeStrategy, into: &str) -> MergeOp {
        MergeOp {
            into: into.to_owned(),
            priority: Vec::new(),
            priority_policy: MergePriorityPolicy::Strict,
            conflict_policy: MergeConflictPolicy::Error,
            strategy,
        }
    }

    /// Go 1.22 and later write a backspace and a form feed as `\b` and
    /// `\f` (`encode.go`'s `appendString`), in both of ESO's writers:
    /// `json.Marshal` for a nested value of `Extract` (HTML escaped) and
    /// `JSONMarshal` for `JSON` (not HTML escaped).
    #[test]
    fn control_characters_are_written_as_go_writes_them() {
        let input = BTreeMap::from([(
            "a".to_owned(),
            br#"{"s":"x\by\fz<&>","n":{"t":"\b\f\u0001<"}}"#.to_vec(),
        )]);
        let merged = merge(&op(MergeStrategy::Json, "all"), input.clone()).unwrap();
        assert_eq!(
            String::from_utf8(merged["all"].clone()).unwrap(),
            r#"{"n":{"t":"\b\f\u0001<"},"s":"x\by\fz<&>"}"#
        );
        let extract = merge(&op(MergeStrategy::Extract, ""), input).unwrap();
        assert_eq!(
            String::from_utf8(extract["n"].clone()).unwrap(),
            r#"{"t":"\b\f\u0001\u003c"}"#
        );
        assert_eq!(extract["s"], b"x\x08y\x0cz<&>");
    }
}
