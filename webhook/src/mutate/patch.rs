//! Writes the JSON Patch of one mutation.
//!
//! The patch is written as JSON text as it is built, each value serialized
//! straight into it from what the mutation holds: no tree of operations is
//! built only to be serialized, and no path or value is allocated on its
//! own, which were most of an admission's allocations.

use std::borrow::Cow;

use serde::Serialize;

/// A JSON Pointer (RFC 6901) into the pod, its tokens escaped as they are
/// pushed. One pointer is pushed onto and cut back for every container, so
/// the paths of a mutation cost one buffer.
#[derive(Debug)]
pub(super) struct Pointer {
    text: String,
    /// Whether every token pushed so far is plain JSON string text, so the
    /// pointer is written into the patch as it is, unchecked. The paths
    /// written are made of this webhook's names and indexes, which always
    /// are.
    plain: bool,
}

impl Pointer {
    /// The pointer made of `tokens`.
    pub(super) fn new(tokens: &[&str]) -> Self {
        let mut pointer = Self {
            text: String::with_capacity(64),
            plain: true,
        };
        for token in tokens {
            pointer.push(token);
        }
        pointer
    }

    /// Appends `token`, returning the length to [`truncate`](Self::truncate)
    /// back to.
    pub(super) fn push(&mut self, token: &str) -> usize {
        let len = self.text.len();
        self.text.push('/');
        self.text.push_str(&escape_token(token));
        self.plain &= is_plain(token);
        len
    }

    /// Appends an array index.
    pub(super) fn push_index(&mut self, index: usize) -> usize {
        let len = self.text.len();
        self.text.push('/');
        self.text.push_str(itoa::Buffer::new().format(index));
        len
    }

    /// Cuts the pointer back to `len`, as returned by a push.
    pub(super) fn truncate(&mut self, len: usize) {
        self.text.truncate(len);
    }

    /// Writes the pointer as the inside of a JSON string.
    fn write_json(&self, json: &mut Vec<u8>) {
        if self.plain {
            json.extend_from_slice(self.text.as_bytes());
        } else {
            write_str_contents(json, &self.text);
        }
    }
}

/// `token` as a pointer token: `~` and `/` escaped as RFC 6901 requires.
fn escape_token(token: &str) -> Cow<'_, str> {
    if token.bytes().any(|b| b == b'~' || b == b'/') {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

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

/// A finished patch: its JSON text, as the bytes sent (base64-encoded) to
/// the API server, and how many operations it holds. Kept as bytes: the
/// server never needs it as a `str`, so it is not checked to be UTF-8
/// (which it is, being written from `str`s and serde_json) on every
/// admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PatchJson {
    pub(super) json: Vec<u8>,
    pub(super) operations: usize,
}

impl PatchJson {
    /// The JSON text as a `str`.
    pub(super) fn text(&self) -> &str {
        std::str::from_utf8(&self.json).expect("the patch is written from UTF-8 text")
    }
}

impl PatchBuilder {
    /// Adds `value` at `path`, plus the tokens of `suffix`.
    pub(super) fn add(&mut self, path: &Pointer, suffix: &[&str], value: &impl Serialize) {
        self.add_with(path, suffix, |json| write_value(json, value));
    }

    /// Adds the JSON text `write` writes at `path`, plus the tokens of
    /// `suffix`.
    pub(super) fn add_with(
        &mut self,
        path: &Pointer,
        suffix: &[&str],
        write: impl FnOnce(&mut Vec<u8>),
    ) {
        self.begin("add", path, suffix);
        write(&mut self.json);
        self.end();
    }

    /// Appends `items` to the array at member `key` of the object at
    /// `parent` when `exists` (the member holds an array), or creates that
    /// array (the member is absent or `null`). Each item is written into
    /// the patch's text by `write`; nothing is written when there are none.
    pub(super) fn append<I>(
        &mut self,
        parent: &Pointer,
        key: &str,
        exists: bool,
        items: impl IntoIterator<Item = I>,
        mut write: impl FnMut(&mut Vec<u8>, I),
    ) {
        let mut written = 0;
        for item in items {
            if exists {
                self.begin("add", parent, &[key, "-"]);
                write(&mut self.json, item);
                self.end();
            } else {
                if written == 0 {
                    self.begin("add", parent, &[key]);
                    self.json.push(b'[');
                } else {
                    self.json.push(b',');
                }
                write(&mut self.json, item);
            }
            written += 1;
        }
        if !exists && written > 0 {
            self.json.push(b']');
            self.end();
        }
    }

    /// Replaces the whole volume at `/spec/volumes/<index>`.
    ///
    /// Only for the volume named `azure-identity-token`, which this webhook
    /// owns: making it exactly canonical can mean dropping what another
    /// manifest put in it, which `add` cannot express.
    pub(super) fn replace_token_volume(&mut self, index: usize, value: &impl Serialize) {
        let mut path = Pointer::new(&["spec", "volumes"]);
        path.push_index(index);
        self.begin("replace", &path, &[]);
        write_value(&mut self.json, value);
        self.end();
    }

    /// Opens an operation: everything up to its value.
    fn begin(&mut self, op: &'static str, path: &Pointer, suffix: &[&str]) {
        if self.operations > 0 {
            self.json.push(b',');
        }
        // `op` is one of this module's own names, plain JSON text.
        self.json.extend_from_slice(b"{\"op\":\"");
        self.json.extend_from_slice(op.as_bytes());
        self.json.extend_from_slice(b"\",\"path\":\"");
        // A pointer's JSON text is the JSON text of each of its pieces.
        path.write_json(&mut self.json);
        for token in suffix {
            self.json.push(b'/');
            write_str_contents(&mut self.json, &escape_token(token));
        }
        self.json.extend_from_slice(b"\",\"value\":");
    }

    /// Closes the operation [`begin`](Self::begin) opened.
    fn end(&mut self) {
        self.json.push(b'}');
        self.operations += 1;
    }

    pub(super) fn build(mut self) -> PatchJson {
        self.json.push(b']');
        PatchJson {
            json: self.json,
            operations: self.operations,
        }
    }
}

/// Writes `value` as JSON.
pub(super) fn write_value(json: &mut Vec<u8>, value: &impl Serialize) {
    serde_json::to_writer(json, value).expect("a patch value always serializes");
}

/// Writes `text` as a JSON string.
pub(super) fn write_str(json: &mut Vec<u8>, text: &str) {
    json.push(b'"');
    write_str_contents(json, text);
    json.push(b'"');
}

/// Writes `text` as the inside of a JSON string. The names and paths
/// written here are mostly this webhook's own, which need no escaping;
/// anything else goes through the JSON encoder.
fn write_str_contents(json: &mut Vec<u8>, text: &str) {
    if is_plain(text) {
        json.extend_from_slice(text.as_bytes());
    } else {
        let quoted = serde_json::to_vec(text).expect("a string always serializes");
        json.extend_from_slice(&quoted[1..quoted.len() - 1]);
    }
}

/// Whether `text` is written into a JSON string as it is: no control
/// character, quote or backslash. Folded without stopping early, so the
/// check runs many bytes a step.
fn is_plain(text: &str) -> bool {
    text.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn apply(doc: &Value, builder: PatchBuilder) -> Value {
        let mut doc = doc.clone();
        let patch: json_patch::Patch =
            serde_json::from_slice(&builder.build().json).expect("the patch is a JSON Patch");
        json_patch::patch(&mut doc, &patch.0).expect("patch applies");
        doc
    }

    #[test]
    fn append_creates_missing_or_null_arrays_and_extends_existing_ones() {
        let doc = json!({"a": {"list": [1]}, "b": {"list": null}, "c": {}});
        let mut p = PatchBuilder::default();
        let exists = |path: &str| doc.pointer(path).is_some_and(Value::is_array);
        let number = |json: &mut Vec<u8>, n: u8| write_value(json, &n);
        p.append(
            &Pointer::new(&["a"]),
            "list",
            exists("/a/list"),
            [2, 3],
            number,
        );
        p.append(
            &Pointer::new(&["b"]),
            "list",
            exists("/b/list"),
            [4],
            number,
        );
        p.append(
            &Pointer::new(&["c"]),
            "list",
            exists("/c/list"),
            [5],
            number,
        );
        p.append(&Pointer::new(&["c"]), "other", false, [], number);
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
    fn tokens_are_escaped_in_the_pointer_and_in_the_json() {
        let mut p = PatchBuilder::default();
        let mut path = Pointer::new(&["a/b", "c~d"]);
        let cut = path.push_index(7);
        p.add(&path, &["q\"t"], &1);
        path.truncate(cut);
        p.add(&path, &[], &2);
        let patch: Value = serde_json::from_slice(&p.build().json).unwrap();
        assert_eq!(
            patch,
            json!([
                {"op": "add", "path": "/a~1b/c~0d/7/q\"t", "value": 1},
                {"op": "add", "path": "/a~1b/c~0d", "value": 2},
            ])
        );
    }
}
