//! Decodes a workload object keeping only the members the warnings read.
//!
//! A labelled Deployment may be megabytes of JSON; the warn-only check
//! reads its kind, names, labels and its template's ServiceAccount. The
//! object is decoded against a shape listing those members: everything else
//! is skipped by the parser without being built, and a member of the wrong
//! type where an object is expected is read as absent, as `Value::get` on it
//! would be. The result is a small `Value` the rules read as before.

use std::fmt;

use serde::{
    Deserializer,
    de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::{Map, Value};

use azure_wi_core::names;

/// Which members of an object are kept.
enum Shape {
    /// The member is kept whole.
    Whole,
    /// The member is an object of which only these members are kept.
    Members(&'static [(&'static str, Shape)]),
}

const LABELS: Shape = Shape::Members(&[(names::USE_LABEL, Shape::Whole)]);

const METADATA: Shape = Shape::Members(&[
    ("name", Shape::Whole),
    ("generateName", Shape::Whole),
    ("namespace", Shape::Whole),
    ("labels", LABELS),
]);

const TEMPLATE: Shape = Shape::Members(&[
    ("metadata", Shape::Members(&[("labels", LABELS)])),
    (
        "spec",
        Shape::Members(&[
            ("serviceAccountName", Shape::Whole),
            ("serviceAccount", Shape::Whole),
        ]),
    ),
]);

/// A workload: the six kinds' pod template paths (see `KINDS`).
const WORKLOAD: Shape = Shape::Members(&[
    ("kind", Shape::Whole),
    ("metadata", METADATA),
    (
        "spec",
        Shape::Members(&[
            ("template", TEMPLATE),
            (
                "jobTemplate",
                Shape::Members(&[("spec", Shape::Members(&[("template", TEMPLATE)]))]),
            ),
        ]),
    ),
]);

/// The members of the workload object in `json` that the warnings read;
/// `Value::Null` when `json` is not a JSON object.
pub(super) fn workload_object(json: &str) -> Value {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    WORKLOAD
        .deserialize(&mut deserializer)
        .unwrap_or(Value::Null)
}

impl<'de> DeserializeSeed<'de> for &Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self {
            Shape::Whole => serde::Deserialize::deserialize(deserializer),
            Shape::Members(members) => deserializer.deserialize_any(Pruning(members)),
        }
    }
}

/// Visits what should be an object, keeping the listed members.
struct Pruning(&'static [(&'static str, Shape)]);

impl<'de> Visitor<'de> for Pruning {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.iter().find(|(name, _)| *name == key) {
                Some((name, shape)) => {
                    let value = map.next_value_seed(shape)?;
                    kept.insert((*name).to_owned(), value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keeps_only_what_the_warnings_read() {
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", names::USE_LABEL: "true"}, "uid": "x"},
            "spec": {
                "replicas": 3,
                "template": {
                    "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                    "spec": {"serviceAccountName": "sa", "containers": [{"name": "c"}]}
                }
            }
        });
        assert_eq!(
            workload_object(&deployment.to_string()),
            json!({
                "kind": "Deployment",
                "metadata": {"name": "web", "labels": {names::USE_LABEL: "true"}},
                "spec": {"template": {"metadata": {"labels": {}}, "spec": {"serviceAccountName": "sa"}}}
            })
        );
    }

    #[test]
    fn a_cronjob_keeps_its_job_template_and_odd_types_read_as_absent() {
        let cronjob = json!({
            "kind": "CronJob",
            "metadata": "not an object",
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccount": "old"}}}}}
        });
        assert_eq!(
            workload_object(&cronjob.to_string()),
            json!({
                "kind": "CronJob",
                "metadata": null,
                "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccount": "old"}}}}}
            })
        );
        assert_eq!(workload_object("[1, 2]"), Value::Null);
    }
}
