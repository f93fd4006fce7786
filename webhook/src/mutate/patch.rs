//! Writes the JSON Patch of one mutation.
//!
//! The patch is written as JSON text as it is built, each value serialized
//! straight from what the mutation holds: no tree of operations is built
//! only to be serialized, which was most of an admission's allocations.

use serde::Serialize;

/// Accumulates the operations of one mutation. They are `add`s (at an
/// existing object member it replaces the value, at `-` it appends to an
/// array), so nothing the mutation did not write is removed; the one
/// exception is [`replace_token_volume`](Self::replace_token_volume).
#[derive(Debug)]
pub(super) struct PatchBuilder {
    json: Vec<u8>,
    operations: usize,
}

impl Default for PatchBuilder {
    fn default() -> Self {
        Self {
            json: {
                // A typical patch (three containers) is about 2 KiB.
                let mut json = Vec::with_capacity(4096);
                json.push(b'[');
                json
            },
            operations: 0,
        }
    }
}

/// A finished patch: its JSON text and how many operations it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PatchJson {
    pub(super) json: String,
    pub(super) operations: usize,
}

impl PatchBuilder {
    /// Adds `value` at the path made of `tokens` (escaped as RFC 6901 requires).
    pub(super) fn add<S: AsRef<str>>(&mut self, tokens: &[S], value: &impl Serialize) {
        self.operation("add", tokens, value);
    }

    /// Appends `items` to the array at `key` of the object at `parent`
    /// when `exists` (the member holds an array), or creates that array
    /// (the member is absent or `null`).
    pub(super) fn append<T: Serialize>(
        &mut self,
        parent: &[String],
        key: &str,
        exists: bool,
        items: &[T],
    ) {
        let items: Vec<String> = items
            .iter()
            .map(|item| serde_json::to_string(item).expect("a patch value always serializes"))
            .collect();
        let items: Vec<&str> = items.iter().map(String::as_str).collect();
        self.append_json(parent, key, exists, &items);
    }

    /// [`append`](Self::append) for items already serialized as JSON text:
    /// the same variables and mount are written into every container of a
    /// pod, so they are serialized once per mutation.
    pub(super) fn append_json(
        &mut self,
        parent: &[String],
        key: &str,
        exists: bool,
        items: &[&str],
    ) {
        if items.is_empty() {
            return;
        }
        let mut path: Vec<&str> = parent.iter().map(String::as_str).collect();
        path.push(key);
        if exists {
            path.push("-");
            for item in items {
                self.operation_json("add", &path, item.as_bytes());
            }
        } else {
            let mut array =
                Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 1);
            array.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    array.push(b',');
                }
                array.extend_from_slice(item.as_bytes());
            }
            array.push(b']');
            self.operation_json("add", &path, &array);
        }
    }

    /// Replaces the whole volume at `/spec/volumes/<index>`.
    ///
    /// Only for the volume named `azure-identity-token`, which this webhook
    /// owns: making it exactly canonical can mean dropping what another
    /// manifest put in it, which `add` cannot express.
    pub(super) fn replace_token_volume(&mut self, index: usize, value: &impl Serialize) {
        let index = index.to_string();
        self.operation("replace", &["spec", "volumes", index.as_str()], value);
    }

    fn operation<S: AsRef<str>>(&mut self, op: &str, tokens: &[S], value: &impl Serialize) {
        let value = serde_json::to_vec(value).expect("a patch value always serializes");
        self.operation_json(op, tokens, &value);
    }

    /// Writes one operation whose value is the JSON text `value`.
    fn operation_json<S: AsRef<str>>(&mut self, op: &str, tokens: &[S], value: &[u8]) {
        let mut path = String::with_capacity(64);
        for token in tokens {
            let token = token.as_ref();
            path.push('/');
            if token.contains(['~', '/']) {
                path.push_str(&token.replace('~', "~0").replace('/', "~1"));
            } else {
                path.push_str(token);
            }
        }
        if self.operations > 0 {
            self.json.push(b',');
        }
        self.json.extend_from_slice(b"{\"op\":");
        write_str(&mut self.json, op);
        self.json.extend_from_slice(b",\"path\":");
        write_str(&mut self.json, &path);
        self.json.extend_from_slice(b",\"value\":");
        self.json.extend_from_slice(value);
        self.json.push(b'}');
        self.operations += 1;
    }

    pub(super) fn build(mut self) -> PatchJson {
        self.json.push(b']');
        PatchJson {
            json: String::from_utf8(self.json).expect("serde_json writes UTF-8"),
            operations: self.operations,
        }
    }
}

/// Writes `text` as a JSON string. The paths and operation names written
/// here are made of this webhook's own names and indexes, which need no
/// escaping; anything else goes through the JSON encoder.
fn write_str(json: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        json.push(b'"');
        json.extend_from_slice(text.as_bytes());
        json.push(b'"');
    } else {
        serde_json::to_writer(json, text).expect("a string always serializes");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn apply(doc: &Value, builder: PatchBuilder) -> Value {
        let mut doc = doc.clone();
        let patch: json_patch::Patch =
            serde_json::from_str(&builder.build().json).expect("the patch is a JSON Patch");
        json_patch::patch(&mut doc, &patch.0).expect("patch applies");
        doc
    }

    #[test]
    fn append_creates_missing_or_null_arrays_and_extends_existing_ones() {
        let doc = json!({"a": {"list": [1]}, "b": {"list": null}, "c": {}});
        let mut p = PatchBuilder::default();
        let parent = |k: &str| vec![k.to_owned()];
        let exists = |path: &str| doc.pointer(path).is_some_and(Value::is_array);
        p.append(&parent("a"), "list", exists("/a/list"), &[2, 3]);
        p.append(&parent("b"), "list", exists("/b/list"), &[4]);
        p.append(&parent("c"), "list", exists("/c/list"), &[5]);
        p.append::<u8>(&parent("c"), "other", false, &[]);
        assert_eq!(
            apply(&doc, p),
            json!({"a": {"list": [1, 2, 3]}, "b": {"list": [4]}, "c": {"list": [5]}})
        );
    }

    #[test]
    fn strings_needing_escapes_are_escaped() {
        let mut json = Vec::new();
        write_str(&mut json, "plain/path");
        write_str(&mut json, "quote\"back\\slash\n");
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#""plain/path""quote\"back\\slash\n""#
        );
    }

    #[test]
    fn tokens_are_escaped() {
        let mut p = PatchBuilder::default();
        p.add(&["a/b", "c~d"], &1);
        let patch: Value = serde_json::from_str(&p.build().json).unwrap();
        assert_eq!(
            patch,
            json!([{"op": "add", "path": "/a~1b/c~0d", "value": 1}])
        );
    }
}
