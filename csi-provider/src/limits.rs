//! Bounds on what a MountRequest may make the provider parse, checked
//! before parsing so no field can cost more than a few milliseconds of CPU
//! or a deep recursion, whatever reaches the socket.
//!
//! The limits are far above any real SecretProviderClass: Kubernetes
//! stores none over etcd's 1.5 MiB request limit, and a class listing
//! hundreds of objects writes tens of KiB of `objects`, each object a flat
//! mapping one or two levels deep.

use crate::Error;

/// Largest `attributes` (and `secrets`) JSON read: above etcd's 1.5 MiB
/// for the SecretProviderClass plus the pod's ServiceAccount tokens.
pub const MAX_REQUEST_JSON_BYTES: usize = 2 << 20;

/// Largest `objects` parameter read: 64 KiB, about 1,400 objects of the
/// shortest form or 600 of 100 bytes (a real class lists tens).
pub const MAX_OBJECTS_BYTES: usize = 64 << 10;

/// Deepest block nesting read in `objects` or one of its entries, counted
/// as indentation columns plus `- ` entries on a line. A real one is
/// `array:`, a list, a literal string, a flat mapping, written with under
/// twenty columns of indentation.
pub const MAX_OBJECTS_DEPTH: usize = 64;

/// Deepest flow nesting (open `[` and `{`) read in `objects` or one of its
/// entries. A real one has none, or `array: []`. The YAML scanner's work
/// per token grows with the flow depth, so this bound is lower.
pub const MAX_OBJECTS_FLOW_DEPTH: usize = 16;

/// Refuses a JSON field of the request over [`MAX_REQUEST_JSON_BYTES`].
///
/// # Errors
///
/// [`Error::RequestFieldTooLarge`] naming `field` and the limit.
pub fn check_request_json(field: &'static str, text: &str) -> Result<(), Error> {
    if text.len() > MAX_REQUEST_JSON_BYTES {
        return Err(Error::RequestFieldTooLarge {
            field,
            size: text.len(),
            limit: MAX_REQUEST_JSON_BYTES,
        });
    }
    Ok(())
}

/// Refuses an `objects` parameter over [`MAX_OBJECTS_BYTES`] or nesting
/// deeper than [`MAX_OBJECTS_DEPTH`] or [`MAX_OBJECTS_FLOW_DEPTH`].
///
/// # Errors
///
/// [`Error::ObjectsTooLarge`] or [`Error::ObjectsTooDeep`].
pub fn check_objects(text: &str) -> Result<(), Error> {
    if text.len() > MAX_OBJECTS_BYTES {
        return Err(Error::ObjectsTooLarge {
            size: text.len(),
            limit: MAX_OBJECTS_BYTES,
        });
    }
    check_depth(None, text)
}

/// Refuses YAML `text` (the parameter, or entry `index` of its `array:`)
/// whose nesting may exceed [`MAX_OBJECTS_DEPTH`] or
/// [`MAX_OBJECTS_FLOW_DEPTH`].
///
/// # Errors
///
/// [`Error::ObjectsTooDeep`].
pub fn check_depth(index: Option<usize>, text: &str) -> Result<(), Error> {
    match nesting_over(text, MAX_OBJECTS_DEPTH, MAX_OBJECTS_FLOW_DEPTH) {
        Some(Nesting::Block(depth)) => Err(Error::ObjectsTooDeep {
            index,
            depth,
            counted: BLOCK,
            limit: MAX_OBJECTS_DEPTH,
        }),
        Some(Nesting::Flow(depth)) => Err(Error::ObjectsTooDeep {
            index,
            depth,
            counted: FLOW,
            limit: MAX_OBJECTS_FLOW_DEPTH,
        }),
        None => Ok(()),
    }
}

/// How block nesting is counted, for messages.
const BLOCK: &str = "indentation columns plus `- ` entries on one line";
/// How flow nesting is counted, for messages.
const FLOW: &str = "open `[`/`{` brackets";

/// Which nesting passed its limit, and the depth reached.
#[derive(Debug, PartialEq, Eq)]
enum Nesting {
    Block(usize),
    Flow(usize),
}

/// An upper bound of the YAML nesting in `text`, in one pass without
/// parsing: open flow brackets (`[`, `{`), and per line the indentation
/// columns plus the `- ` / `? ` entries that start it (each block level
/// needs at least one of either). Quotes are not tracked, so brackets
/// inside strings count too: that only overestimates, and no real object
/// name holds a dozen brackets. Returns the nesting that first passed
/// its limit, or `None` when neither did.
fn nesting_over(text: &str, block_limit: usize, flow_limit: usize) -> Option<Nesting> {
    let mut flow = 0usize;
    for line in text.split('\n') {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let mut block = indent;
        let mut rest = &bytes[indent..];
        while let [b'-' | b'?', b' ' | b'\t', tail @ ..] = rest {
            block += 1;
            rest = tail;
            let spaces = rest.iter().take_while(|&&b| b == b' ').count();
            block += spaces;
            rest = &rest[spaces..];
        }
        if block > block_limit {
            return Some(Nesting::Block(block));
        }
        for &byte in bytes {
            match byte {
                b'[' | b'{' => {
                    flow += 1;
                    if flow > flow_limit {
                        return Some(Nesting::Flow(flow));
                    }
                }
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = "array:\n  - |\n    objectName: db-password\n    objectType: secret\n  - |\n    objectName: tls\n    objectType: secret\n    objectAlias: \"certs/tls[1].pem\"\n    filePermission: '0600'\n";

    #[test]
    fn real_objects_pass() {
        assert_eq!(check_objects(REAL), Ok(()));
        assert_eq!(check_objects("array: []"), Ok(()));
        assert_eq!(check_objects("array: [a, [b], {c: d}]"), Ok(()));
        assert_eq!(nesting_over(REAL, 4, 1), None);
        assert_eq!(nesting_over(REAL, 4, 0), Some(Nesting::Flow(1)));
    }

    #[test]
    fn flow_brackets_past_the_limit_are_refused() {
        let text = format!("array: {}", "[".repeat(MAX_OBJECTS_FLOW_DEPTH + 1));
        assert_eq!(
            check_objects(&text),
            Err(Error::ObjectsTooDeep {
                index: None,
                depth: MAX_OBJECTS_FLOW_DEPTH + 1,
                counted: FLOW,
                limit: MAX_OBJECTS_FLOW_DEPTH
            })
        );
        let at_limit = format!("array: {}", "[".repeat(MAX_OBJECTS_FLOW_DEPTH));
        assert_eq!(check_objects(&at_limit), Ok(()));
        // Closed brackets do not add up.
        let flat = "[a] ".repeat(MAX_OBJECTS_FLOW_DEPTH * 2);
        assert_eq!(check_depth(Some(3), &flat), Ok(()));
        let nested = format!("{}{}", "{a: ".repeat(17), "}".repeat(17));
        let err = check_depth(Some(3), &nested).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecretProviderClass parameter objects (objects[3]) nests at least 17 levels deep \
             in open `[`/`{` brackets, more than this provider's limit of 16; it was not parsed: \
             write each object as a flat mapping of objectName, objectType, ..."
        );
    }

    #[test]
    fn block_nesting_counts_indentation_and_compact_entries() {
        let compact = format!("array:\n{}x\n", "- ".repeat(MAX_OBJECTS_DEPTH + 1));
        assert!(matches!(
            check_objects(&compact),
            Err(Error::ObjectsTooDeep { depth: 65, .. })
        ));
        let ok = format!("array:\n{}x\n", "- ".repeat(MAX_OBJECTS_DEPTH));
        assert_eq!(check_objects(&ok), Ok(()));
        let spaced = format!("array:\n{}x\n", "-   ".repeat(22));
        assert!(
            check_objects(&spaced).is_err(),
            "22 entries of four columns"
        );
        let mut indented = String::from("array:\n");
        for level in 0..=MAX_OBJECTS_DEPTH + 1 {
            indented.push_str(&format!("{}a{level}:\n", " ".repeat(level)));
        }
        assert!(matches!(
            check_objects(&indented),
            Err(Error::ObjectsTooDeep { depth: 65, .. })
        ));
    }

    #[test]
    fn sizes_past_the_limits_are_refused_naming_them() {
        let big = "#".repeat(MAX_OBJECTS_BYTES + 1);
        let err = check_objects(&big).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SecretProviderClass parameter objects is 65537 bytes, more than this provider's \
             limit of 65536 bytes (hundreds of objects); it was not parsed: split the objects \
             across several SecretProviderClasses"
        );
        assert_eq!(check_objects(&big[1..]), Ok(()));
        let json = " ".repeat(MAX_REQUEST_JSON_BYTES + 1);
        assert_eq!(
            check_request_json("attributes", &json),
            Err(Error::RequestFieldTooLarge {
                field: "attributes",
                size: MAX_REQUEST_JSON_BYTES + 1,
                limit: MAX_REQUEST_JSON_BYTES
            })
        );
        assert_eq!(check_request_json("secrets", &json[1..]), Ok(()));
    }
}
