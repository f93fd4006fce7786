//! Collects the JSON Patch operations of one mutation.

use json_patch::{AddOperation, Patch, PatchOperation, ReplaceOperation, jsonptr::PointerBuf};
use serde_json::Value;

/// Accumulates the operations of one mutation. They are `add`s (at an
/// existing object member it replaces the value, at `-` it appends to an
/// array), so nothing the mutation did not write is removed; the one
/// exception is [`replace_token_volume`](Self::replace_token_volume).
#[derive(Debug, Default)]
pub(super) struct PatchBuilder {
    ops: Vec<PatchOperation>,
}

impl PatchBuilder {
    /// Adds `value` at the path made of `tokens` (escaped as RFC 6901 requires).
    pub(super) fn add<S: AsRef<str>>(&mut self, tokens: &[S], value: Value) {
        self.ops.push(PatchOperation::Add(AddOperation {
            path: PointerBuf::from_tokens(tokens.iter().map(AsRef::as_ref)),
            value,
        }));
    }

    /// Appends `items` to the array at `key` of the object at `parent`, or
    /// creates that array when the member is absent or `null`.
    pub(super) fn append(
        &mut self,
        parent: &[String],
        key: &str,
        existing: Option<&Value>,
        items: Vec<Value>,
    ) {
        if items.is_empty() {
            return;
        }
        let mut path: Vec<&str> = parent.iter().map(String::as_str).collect();
        path.push(key);
        if matches!(existing, Some(Value::Array(_))) {
            path.push("-");
            for item in items {
                self.add(&path, item);
            }
        } else {
            self.add(&path, Value::Array(items));
        }
    }

    /// Replaces the whole volume at `/spec/volumes/<index>`.
    ///
    /// Only for the volume named `azure-identity-token`, which this webhook
    /// owns: making it exactly canonical can mean dropping what another
    /// manifest put in it, which `add` cannot express.
    pub(super) fn replace_token_volume(&mut self, index: usize, value: Value) {
        let index = index.to_string();
        self.ops.push(PatchOperation::Replace(ReplaceOperation {
            path: PointerBuf::from_tokens(["spec", "volumes", index.as_str()]),
            value,
        }));
    }

    pub(super) fn build(self) -> Patch {
        Patch(self.ops)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn apply(doc: &Value, builder: PatchBuilder) -> Value {
        let mut doc = doc.clone();
        json_patch::patch(&mut doc, &builder.build().0).expect("patch applies");
        doc
    }

    #[test]
    fn append_creates_missing_or_null_arrays_and_extends_existing_ones() {
        let doc = json!({"a": {"list": [1]}, "b": {"list": null}, "c": {}});
        let mut p = PatchBuilder::default();
        let parent = |k: &str| vec![k.to_owned()];
        p.append(
            &parent("a"),
            "list",
            doc.pointer("/a/list"),
            vec![json!(2), json!(3)],
        );
        p.append(&parent("b"), "list", doc.pointer("/b/list"), vec![json!(4)]);
        p.append(&parent("c"), "list", doc.pointer("/c/list"), vec![json!(5)]);
        p.append(&parent("c"), "other", None, vec![]);
        assert_eq!(
            apply(&doc, p),
            json!({"a": {"list": [1, 2, 3]}, "b": {"list": [4]}, "c": {"list": [5]}})
        );
    }

    #[test]
    fn tokens_are_escaped() {
        let mut p = PatchBuilder::default();
        p.add(&["a/b", "c~d"], json!(1));
        let patch = serde_json::to_value(p.build()).unwrap();
        assert_eq!(
            patch,
            json!([{"op": "add", "path": "/a~1b/c~0d", "value": 1}])
        );
    }
}
