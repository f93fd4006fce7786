//! The `objects` parameter: which Key Vault objects to mount and how.
//!
//! The Azure provider reads it as YAML `array:` of strings, each string
//! itself a YAML mapping (`objectName`, `objectType`, `objectVersion`,
//! `objectAlias`, `objectEncoding`, `objectFormat`, `filePermission`,
//! `objectVersionHistory`). Values are trimmed, as the Go provider does.
//! Every field is read as its scalar text, so `filePermission: 0755`
//! written unquoted keeps its leading zero.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{
    Error,
    limits::{check_depth, check_objects},
    mode::FileMode,
};

/// The kind of Key Vault object, which decides the API called and what the
/// file holds: `azure-wi-auth`'s, whose names (`secret`, `key`, `cert`)
/// are the `objectType` values.
pub use azure_wi_auth::delivery::ObjectKind as ObjectType;

/// The `objectType` value's kind; `None` for anything else, case included.
fn parse_object_type(value: &str) -> Option<ObjectType> {
    match value {
        "secret" => Some(ObjectType::Secret),
        "key" => Some(ObjectType::Key),
        "cert" => Some(ObjectType::Cert),
        _ => None,
    }
}

/// `objectEncoding`: how a secret's value is decoded before it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Written as stored.
    #[default]
    Utf8,
    /// Hex text, decoded to bytes.
    Hex,
    /// Standard base64 text, decoded to bytes.
    Base64,
}

impl Encoding {
    /// The `objectEncoding` value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Hex => "hex",
            Self::Base64 => "base64",
        }
    }
}

/// `objectFormat`: how a certificate-backed PKCS#12 secret is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Converted to PEM: private key(s), then the chain.
    #[default]
    Pem,
    /// The PKCS#12 as Key Vault returns it (base64 text).
    Pfx,
}

/// One entry of `objects`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    /// `objectName`: the Key Vault object name.
    pub name: String,
    /// `objectType`.
    pub object_type: ObjectType,
    /// `objectVersion`; `None` for the latest (empty or `latest`).
    pub version: Option<String>,
    /// `objectAlias`: the file name, when it differs from the object name.
    pub alias: Option<String>,
    /// `objectEncoding` (secrets only).
    pub encoding: Encoding,
    /// `objectFormat` (`pfx` for secrets only).
    pub format: Format,
    /// `filePermission`; `None` means the driver's default `permission`.
    pub file_permission: Option<FileMode>,
    /// `objectVersionHistory`: how many versions to write, newest first;
    /// 0 and 1 mean a single file.
    pub version_history: u32,
}

impl ObjectSpec {
    /// The file (or, with version history, directory) name: the alias if
    /// set, else the object name.
    #[must_use]
    pub fn file_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }

    /// Which parameter [`Self::file_name`] came from, for error messages.
    #[must_use]
    pub fn file_name_field(&self) -> &'static str {
        if self.alias.is_some() {
            "objectAlias"
        } else {
            "objectName"
        }
    }

    /// Whether several versions are written under `<file_name>/<index>`.
    #[must_use]
    pub fn has_history(&self) -> bool {
        self.version_history > 1
    }

    /// The object version id, `<type>/<name>`, the Go provider's form.
    #[must_use]
    pub fn id(&self) -> String {
        format!("{}/{}", self.object_type, self.name)
    }
}

/// The outer document: `array:` of strings.
#[derive(Deserialize)]
struct Array {
    /// `None` when the key is absent; `array:` with nothing after it is an
    /// empty list, as Go's yaml.v3 reads it.
    #[serde(default, deserialize_with = "null_is_empty")]
    array: Option<Vec<String>>,
}

/// `array:` (YAML null) as an empty list, so only a missing key is `None`.
fn null_is_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Some(
        Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default(),
    ))
}

/// Every key an object may have, to point out a misspelled one.
const FIELDS: [&str; 8] = [
    "objectName",
    "objectType",
    "objectVersion",
    "objectAlias",
    "objectEncoding",
    "objectFormat",
    "filePermission",
    "objectVersionHistory",
];

/// Parses the `objects` parameter into validated specs, in order.
///
/// # Errors
///
/// [`Error::ObjectsTooLarge`] / [`Error::ObjectsTooDeep`] past the
/// [`crate::limits`], before any parsing; [`Error::InvalidObjects`] when
/// the YAML is not `array:` of mapping strings, and
/// [`Error::InvalidObjectField`] / [`Error::UnknownObjectType`] naming the
/// object and field at fault. `array:` with no entries (empty or null) is
/// an empty list, as the Go provider reads it (`pkg/provider/provider.go`
/// returns no files for it).
pub fn parse_objects(text: &str) -> Result<Vec<ObjectSpec>, Error> {
    check_objects(text)?;
    let invalid = |reason: String| Error::InvalidObjects { reason };
    let doc: Array = yaml_serde::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let Some(entries) = doc.array else {
        return Err(invalid("there is no `array:` key".to_owned()));
    };
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| parse_object(index, entry))
        .collect()
}

/// Parses one entry of the array.
fn parse_object(index: usize, text: &str) -> Result<ObjectSpec, Error> {
    // An entry may spell its lines with escapes the parameter's scan did
    // not see as indentation.
    check_depth(Some(index), text)?;
    let fields: BTreeMap<String, Option<String>> =
        yaml_serde::from_str(text).map_err(|e| Error::InvalidObjects {
            reason: format!("objects[{index}] is not a YAML mapping of strings: {e}"),
        })?;
    let get = |key: &str| -> Option<&str> {
        fields
            .get(key)
            .and_then(Option::as_deref)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let name = get("objectName").unwrap_or("").to_owned();
    let field_error =
        |field: &'static str, value: &str, expected: &str| Error::InvalidObjectField {
            index,
            name: if name.is_empty() {
                "no objectName".to_owned()
            } else {
                name.clone()
            },
            field,
            value: value.to_owned(),
            expected: expected.to_owned(),
        };
    if let Some(key) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        let expected = match FIELDS.iter().find(|f| f.eq_ignore_ascii_case(key)) {
            Some(field) => format!("keys are case-sensitive: write {field}"),
            None => format!("known keys are {}", FIELDS.join(", ")),
        };
        return Err(field_error("key", key, &expected));
    }
    if name.is_empty() {
        return Err(field_error(
            "objectName",
            "",
            "every object needs the name of a Key Vault object",
        ));
    }
    let type_text = get("objectType").unwrap_or("");
    let object_type = parse_object_type(type_text).ok_or_else(|| Error::UnknownObjectType {
        index,
        name: name.clone(),
        value: type_text.to_owned(),
    })?;
    let version = get("objectVersion")
        .filter(|v| !v.eq_ignore_ascii_case("latest"))
        .map(str::to_owned);
    let alias = get("objectAlias").map(str::to_owned);

    let encoding = match get("objectEncoding") {
        None => Encoding::Utf8,
        Some(v) => {
            let encoding = match v.to_ascii_lowercase().as_str() {
                "utf-8" => Encoding::Utf8,
                "hex" => Encoding::Hex,
                "base64" => Encoding::Base64,
                _ => {
                    return Err(field_error(
                        "objectEncoding",
                        v,
                        "should be hex, base64 or utf-8",
                    ));
                }
            };
            if object_type != ObjectType::Secret {
                return Err(field_error(
                    "objectEncoding",
                    v,
                    &format!(
                        "objectEncoding only supported for objectType: secret; remove it from this {object_type}"
                    ),
                ));
            }
            encoding
        }
    };
    let format = match get("objectFormat") {
        None => Format::Pem,
        Some(v) => match v.to_ascii_lowercase().as_str() {
            "pem" => Format::Pem,
            "pfx" if object_type == ObjectType::Secret => Format::Pfx,
            "pfx" => {
                return Err(field_error(
                    "objectFormat",
                    v,
                    "PFX format only supported for objectType: secret (the certificate with its private key)",
                ));
            }
            _ => return Err(field_error("objectFormat", v, "should be PEM or PFX")),
        },
    };
    let file_permission = match get("filePermission") {
        None => None,
        Some(v) => Some(FileMode::from_octal(v).ok_or_else(|| {
            field_error(
                "filePermission",
                v,
                "expected an octal mode such as \"0644\" (at most 0777)",
            )
        })?),
    };
    let version_history = match get("objectVersionHistory") {
        None => 0,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| i32::try_from(*n).is_ok())
            .ok_or_else(|| {
                field_error(
                    "objectVersionHistory",
                    v,
                    "expected a whole number of versions, such as 5",
                )
            })?,
    };
    Ok(ObjectSpec {
        name,
        object_type,
        version,
        alias,
        encoding,
        format,
        file_permission,
        version_history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(object: &str) -> Result<ObjectSpec, Error> {
        let indented: String = object.lines().map(|l| format!("      {l}\n")).collect();
        let text = format!("array:\n  - |\n{indented}");
        parse_objects(&text).map(|mut v| v.remove(0))
    }

    fn message(object: &str) -> String {
        one(object).expect_err(object).to_string()
    }

    #[test]
    fn every_field_is_read() {
        let spec = one(
            "objectName: tls\nobjectType: secret\nobjectVersion: 0123abc\nobjectAlias: tls.pem\n\
             objectEncoding: BASE64\nobjectFormat: PFX\nfilePermission: 0600\nobjectVersionHistory: 3",
        )
        .unwrap();
        assert_eq!(
            spec,
            ObjectSpec {
                name: "tls".into(),
                object_type: ObjectType::Secret,
                version: Some("0123abc".into()),
                alias: Some("tls.pem".into()),
                encoding: Encoding::Base64,
                format: Format::Pfx,
                file_permission: FileMode::new(0o600),
                version_history: 3,
            }
        );
        assert_eq!(spec.file_name(), "tls.pem");
        assert_eq!(spec.file_name_field(), "objectAlias");
        assert_eq!(spec.id(), "secret/tls");
        assert!(spec.has_history());
    }

    #[test]
    fn defaults_and_trimming() {
        let spec =
            one("objectName: ' db '\nobjectType: key\nobjectVersion: latest\nobjectAlias: ''")
                .unwrap();
        assert_eq!(spec.name, "db");
        assert_eq!(spec.version, None);
        assert_eq!(spec.alias, None);
        assert_eq!(spec.file_name(), "db");
        assert_eq!(spec.file_name_field(), "objectName");
        assert_eq!(spec.encoding, Encoding::Utf8);
        assert_eq!(spec.format, Format::Pem);
        assert_eq!(spec.file_permission, None);
        assert!(!spec.has_history());
        assert_eq!(
            one("objectName: c\nobjectType: cert\nobjectVersionHistory: 1")
                .unwrap()
                .version_history,
            1
        );
        assert_eq!(
            one("objectName: c\nobjectType: cert\nobjectEncoding: utf-8")
                .unwrap_err()
                .to_string(),
            "objects[0] (c): objectEncoding \"utf-8\" is not valid: objectEncoding only supported for objectType: secret; remove it from this cert"
        );
    }

    #[test]
    fn several_objects_keep_their_order() {
        let text = "array:\n  - |\n    objectName: a\n    objectType: secret\n  - |\n    objectName: b\n    objectType: cert\n";
        let specs = parse_objects(text).unwrap();
        assert_eq!(
            specs.iter().map(|s| s.id()).collect::<Vec<_>>(),
            ["secret/a", "cert/b"]
        );
    }

    #[test]
    fn document_errors_say_what_shape_is_expected() {
        for text in ["", "objects: []", "array: 3", "- a"] {
            let err = parse_objects(text).unwrap_err();
            assert!(
                matches!(err, Error::InvalidObjects { .. }),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains("expected YAML `array:`"), "{err}");
        }
        for empty in ["array: []", "array:", "\n      array:", "array: ~"] {
            assert_eq!(parse_objects(empty), Ok(vec![]), "{empty:?}");
        }
        assert!(matches!(
            parse_objects(&format!(
                "array:\n  - \"{}\"\n",
                (0..70)
                    .map(|i| format!("{}a:\\n", " ".repeat(i)))
                    .collect::<String>()
            )),
            Err(Error::ObjectsTooDeep { index: Some(0), .. })
        ));
        let err = parse_objects("array:\n  - objectName: a\n    objectType: secret\n").unwrap_err();
        assert!(err.to_string().contains("objects"), "{err}");
        let err = parse_objects("array:\n  - just-a-name\n").unwrap_err();
        assert!(
            err.to_string().contains("objects[0] is not a YAML mapping"),
            "{err}"
        );
    }

    #[test]
    fn field_errors_name_the_object_and_field() {
        assert_eq!(
            message("objectType: secret"),
            "objects[0] (no objectName): objectName \"\" is not valid: every object needs the name of a Key Vault object"
        );
        assert!(
            message("objectName: a\nobjectType: secret\nobjectEncoding: rot13")
                .contains("should be hex, base64 or utf-8")
        );
        assert!(
            message("objectName: a\nobjectType: secret\nobjectFormat: der")
                .contains("should be PEM or PFX")
        );
        assert!(
            message("objectName: a\nobjectType: cert\nobjectFormat: pfx")
                .contains("PFX format only supported for objectType: secret")
        );
        assert!(
            message("objectName: a\nobjectType: secret\nfilePermission: 0999")
                .contains("filePermission \"0999\"")
        );
        assert!(
            message("objectName: a\nobjectType: secret\nobjectVersionHistory: -2")
                .contains("objectVersionHistory \"-2\"")
        );
        assert!(
            message("objectName: a\nobjectType: secret\nobjectversion: v1")
                .contains("write objectVersion")
        );
        assert!(
            message("objectName: a\nobjectType: secret\nsecretName: v1")
                .contains("known keys are objectName")
        );
    }

    #[test]
    fn unknown_object_type_names_the_valid_values() {
        let text = message("objectName: regcred\nobjectType: kubernetes.io/dockerconfigjson");
        assert!(
            text.starts_with("objects[0] (regcred): objectType \"kubernetes.io/dockerconfigjson\""),
            "{text}"
        );
        assert!(text.contains("expected secret, key or cert"), "{text}");
        assert!(text.contains("Kubernetes Secret type"), "{text}");
        assert!(message("objectName: a").contains("objectType \"\" is not valid"));
    }
}

#[cfg(test)]
mod worst_case_support {
    use std::time::Instant;

    use crate::limits::MAX_OBJECTS_BYTES;

    /// Repeats `unit` after `head` as often as fits under the size limit.
    pub(super) fn fill(head: &str, unit: &str, tail: &str) -> String {
        let count = (MAX_OBJECTS_BYTES - head.len() - tail.len()) / unit.len();
        format!("{head}{}{tail}", unit.repeat(count))
    }

    /// Runs `parse` on `text`, printing how long it took.
    pub(super) fn timed<T>(what: &str, text: &str, parse: impl FnOnce(&str) -> T) -> T {
        let started = Instant::now();
        let out = parse(text);
        println!(
            "{what}: {} bytes parsed in {:?}",
            text.len(),
            started.elapsed()
        );
        out
    }
}

#[cfg(test)]
mod worst_case {
    //! The largest and deepest `objects` the limits let through, parsed in
    //! full. Each prints how long it took (`cargo test --release -p
    //! azure-wi-csi-provider --lib worst_case -- --nocapture` gives the
    //! figure README quotes); the assertions are on the outcome only.
    use super::worst_case_support::*;
    use super::*;
    use crate::limits::{MAX_OBJECTS_BYTES, MAX_OBJECTS_DEPTH, MAX_OBJECTS_FLOW_DEPTH};

    #[test]
    fn the_most_objects_that_fit_parse() {
        let text = fill(
            "array:\n",
            "  - |\n    objectName: s\n    objectType: secret\n",
            "",
        );
        let specs = timed("most objects", &text, parse_objects).unwrap();
        assert_eq!(specs.len(), (MAX_OBJECTS_BYTES - 7) / 47);
    }

    #[test]
    fn the_deepest_flow_nesting_that_fits_is_parsed_then_refused_as_not_strings() {
        let depth = MAX_OBJECTS_FLOW_DEPTH - 1;
        let unit = format!("{}{},", "[".repeat(depth), "]".repeat(depth));
        let text = fill("array: [", &unit, "]");
        assert_eq!(crate::limits::check_objects(&text), Ok(()));
        let err = timed("deepest flow nesting", &text, parse_objects).unwrap_err();
        assert!(matches!(err, Error::InvalidObjects { .. }), "{err}");
    }

    #[test]
    fn the_deepest_block_nesting_that_fits_is_parsed_then_refused_as_not_strings() {
        let unit: String = (0..MAX_OBJECTS_DEPTH)
            .map(|level| format!("{}- a\n", " ".repeat(level)))
            .collect();
        let text = fill("array:\n", &unit, "");
        assert_eq!(crate::limits::check_objects(&text), Ok(()));
        let err = timed("deepest block nesting", &text, parse_objects).unwrap_err();
        assert!(matches!(err, Error::InvalidObjects { .. }), "{err}");
    }
}

#[cfg(test)]
mod densest {
    //! The inputs with the most YAML events per byte the limits let
    //! through, parsed in full and timed as in `worst_case`.
    use super::worst_case_support::*;
    use super::*;

    #[test]
    fn the_densest_block_list_is_refused_as_not_mappings() {
        let text = fill("array:\n", "- a\n", "");
        let err = timed("densest block list", &text, parse_objects).unwrap_err();
        assert!(matches!(err, Error::InvalidObjects { .. }), "{err}");
    }

    #[test]
    fn the_densest_flow_list_is_refused_as_not_mappings() {
        let text = fill("array: [", "a,", "]");
        let err = timed("densest flow list", &text, parse_objects).unwrap_err();
        assert!(matches!(err, Error::InvalidObjects { .. }), "{err}");
    }
}
