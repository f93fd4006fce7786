//! What ESO's azurekv provider decides when it pushes a Kubernetes Secret
//! into Key Vault, as pure functions: which object a remote key names,
//! what value is pushed (one key, or the whole Secret as JSON), what the
//! push metadata asks for, whether an existing object may be overwritten
//! or deleted (only one carrying `managed-by: external-secrets`), and
//! whether a secret write would change anything.
//!
//! Facts from external-secrets/external-secrets,
//! `providers/v1/azure/keyvault/keyvault.go` (`getObjType`, `canCreate`,
//! `canDelete`, `legacySecretUnchanged`, `setKeyVaultSecret`,
//! `getSecretKey`, `PushSecret`, `DeleteSecret`), `runtime/esutils`
//! (`JSONMarshal`) and `runtime/esutils/metadata` (`PushSecretMetadata`);
//! the cases of `keyvault_test.go` are the tests below. The requests
//! themselves go through `azure_wi_auth`'s Key Vault client.

use std::collections::BTreeMap;

use azure_wi_auth::SetSecretOptions;
use serde::Deserialize;

/// The tag ESO puts on every object it pushes, and the only proof that an
/// existing object is ESO's to overwrite or delete.
pub const MANAGED_BY: &str = "managed-by";
/// The value of [`MANAGED_BY`] on ESO's objects.
pub const MANAGER: &str = "external-secrets";
/// `apiVersion` of the push metadata (`esutils/metadata.APIVersion`).
pub const METADATA_API_VERSION: &str = "kubernetes.external-secrets.io/v1alpha1";
/// `kind` of the push metadata (`esutils/metadata.Kind`).
pub const METADATA_KIND: &str = "PushSecretMetadata";

/// Which of the vault's collections a remote key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    /// `secret/<name>`, or a name without a prefix.
    Secret,
    /// `key/<name>`.
    Key,
    /// `cert/<name>`.
    Cert,
}

impl ObjectType {
    /// The word ESO's messages use for the object (`secret`, `key`,
    /// `certificate`).
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Key => "key",
            Self::Cert => "certificate",
        }
    }
}

/// Why a push, delete or existence check cannot go ahead, with ESO's texts.
/// No variant holds a value: values are secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// `PushSecret` of a remote key whose prefix is not `secret`, `key`
    /// or `cert`.
    #[error("secret type {0} not supported")]
    UnsupportedType(String),
    /// `DeleteSecret` or `SecretExists` of such a remote key.
    #[error("secret type '{0}' is not supported")]
    UnsupportedTypeQuoted(String),
    /// A write over an object that does not carry ESO's tag.
    #[error("cannot get {kind} {name}: not managed by external-secrets")]
    NotManagedWrite {
        /// `secret`, `key` or `certificate`.
        kind: &'static str,
        /// The object's name.
        name: String,
    },
    /// A delete of an object that does not carry ESO's tag.
    #[error("error getting {kind} {name}: not managed by external-secrets")]
    NotManagedDelete {
        /// `secret`, `key` or `certificate`.
        kind: &'static str,
        /// The object's name.
        name: String,
    },
    /// The push metadata names a `managed-by` tag itself.
    #[error("error parsing tags in metadata: Cannot specify a 'managed-by' tag")]
    ManagedByTag,
    /// The push metadata is not a `PushSecretMetadata`.
    #[error("failed to parse push secret metadata: {0}")]
    Metadata(String),
    /// `spec.expirationDate` is not RFC 3339.
    #[error(
        "error parsing expiration date in metadata: {0}. Expected format: YYYY-MM-DDTHH:MM:SSZ (RFC3339). Example: 2024-12-31T20:00:00Z"
    )]
    Expiration(String),
}

/// A remote key split as ESO's `getObjType` splits it: on `/`, the first
/// part the object type and the second the name when there are two or
/// more parts (`a/b/c` is type `a`, name `b`), else type `secret`.
#[must_use]
pub fn split_remote_key(key: &str) -> (&str, &str) {
    let mut parts = key.split('/');
    match (parts.next(), parts.next()) {
        (Some(kind), Some(name)) => (kind, name),
        _ => ("secret", key),
    }
}

/// The object a remote key names, as `PushSecret` reads it.
///
/// # Errors
///
/// [`PushError::UnsupportedType`] for another prefix.
pub fn push_target(key: &str) -> Result<(ObjectType, &str), PushError> {
    target(key).map_err(|kind| PushError::UnsupportedType(kind.to_owned()))
}

/// The object a remote key names, as `DeleteSecret` and `SecretExists`
/// read it.
///
/// # Errors
///
/// [`PushError::UnsupportedTypeQuoted`] for another prefix.
pub fn delete_target(key: &str) -> Result<(ObjectType, &str), PushError> {
    target(key).map_err(|kind| PushError::UnsupportedTypeQuoted(kind.to_owned()))
}

fn target(key: &str) -> Result<(ObjectType, &str), &str> {
    let (kind, name) = split_remote_key(key);
    let kind = match kind {
        "secret" => ObjectType::Secret,
        "key" => ObjectType::Key,
        "cert" => ObjectType::Cert,
        other => return Err(other),
    };
    Ok((kind, name))
}

/// The push metadata ESO's azurekv provider reads
/// (`PushSecretMetadata[PushSecretMetadataSpec]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushMetadata {
    /// `spec.expirationDate`, Unix seconds.
    pub expires: Option<i64>,
    /// `spec.contentType`; empty counts as not given.
    pub content_type: Option<String>,
    /// `spec.tags`, never holding `managed-by`.
    pub tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetadata {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    spec: RawSpec,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    #[serde(rename = "expirationDate", default)]
    expiration_date: String,
    #[serde(rename = "contentType", default)]
    content_type: String,
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
}

/// Reads `data[].metadata` as ESO's `PushSecret` does: absent is no
/// metadata; otherwise a `PushSecretMetadata` of the right apiVersion and
/// kind with no unknown fields, an RFC 3339 `expirationDate`, and no
/// `managed-by` among its tags.
///
/// # Errors
///
/// [`PushError::Metadata`], [`PushError::Expiration`] or
/// [`PushError::ManagedByTag`], with ESO's texts.
pub fn parse_metadata(raw: Option<&serde_json::Value>) -> Result<PushMetadata, PushError> {
    let Some(raw) = raw.filter(|r| !r.is_null()) else {
        return Ok(PushMetadata::default());
    };
    let parsed: RawMetadata = serde_json::from_value(raw.clone()).map_err(|e| {
        PushError::Metadata(format!(
            "failed to parse {METADATA_API_VERSION} {METADATA_KIND}: {}",
            strip_position(&e.to_string())
        ))
    })?;
    if parsed.api_version != METADATA_API_VERSION {
        return Err(PushError::Metadata(format!(
            "unexpected apiVersion {:?}, expected {METADATA_API_VERSION:?}",
            parsed.api_version
        )));
    }
    if parsed.kind != METADATA_KIND {
        return Err(PushError::Metadata(format!(
            "unexpected kind {:?}, expected {METADATA_KIND:?}",
            parsed.kind
        )));
    }
    let spec = parsed.spec;
    let expires = if spec.expiration_date.is_empty() {
        None
    } else {
        let at = time::OffsetDateTime::parse(
            &spec.expiration_date,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|_| {
            PushError::Expiration(format!(
                "parsing time {:?} as \"2006-01-02T15:04:05Z07:00\"",
                spec.expiration_date
            ))
        })?;
        Some(at.unix_timestamp())
    };
    let tags = spec.tags.unwrap_or_default();
    if tags.contains_key(MANAGED_BY) {
        return Err(PushError::ManagedByTag);
    }
    Ok(PushMetadata {
        expires,
        content_type: Some(spec.content_type).filter(|c| !c.is_empty()),
        tags,
    })
}

/// serde's " at line 1 column 9" is not in Go's text.
fn strip_position(text: &str) -> &str {
    text.find(" at line ").map_or(text, |at| &text[..at])
}

/// The bytes pushed for one `data[]` entry (ESO's `getSecretKey`): the
/// Secret's `secretKey` when one is named, else the whole Secret as
/// [`whole_secret_json`]. `None` when the named key is not in the Secret
/// (ESO would push an empty value; the controller refuses it first).
#[must_use]
pub fn value_to_push(
    data: &BTreeMap<String, Vec<u8>>,
    secret_key: Option<&str>,
) -> Option<Vec<u8>> {
    match secret_key.filter(|k| !k.is_empty()) {
        Some(key) => data.get(key).cloned(),
        None => Some(whole_secret_json(data)),
    }
}

/// A Secret's data as ESO's `esutils.JSONMarshal` writes a
/// `map[string]string` of it: compact, keys sorted, HTML left alone,
/// each value's bytes as a Go string (an invalid UTF-8 byte as `\ufffd`).
#[must_use]
pub fn whole_secret_json(data: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = vec![b'{'];
    for (i, (key, value)) in data.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        go_json_string(&mut out, key.as_bytes());
        out.push(b':');
        go_json_string(&mut out, value);
    }
    out.push(b'}');
    out
}

/// Go's `encoding/json` string encoding with HTML escaping off (Go 1.22
/// and later: `\b` and `\f` short forms; U+2028 and U+2029 always
/// escaped; each invalid UTF-8 byte `\ufffd`).
fn go_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                    out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes());
                }
                c => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// A value's bytes as the Go SDK sends them in a JSON string (`string(v)`
/// encoded): each invalid UTF-8 byte becomes U+FFFD.
#[must_use]
pub fn go_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('\u{fffd}');
        }
    }
    out
}

/// Whether `tags` carry `managed-by: external-secrets`.
#[must_use]
pub fn is_managed(tags: &BTreeMap<String, String>) -> bool {
    tags.get(MANAGED_BY).is_some_and(|v| v == MANAGER)
}

/// ESO's `canCreate`: a push may write when there is no object
/// (`existing` is `None`: the vault answered 404) or the object is ESO's.
///
/// # Errors
///
/// [`PushError::NotManagedWrite`] for an object without ESO's tag: it is
/// never overwritten.
pub fn may_write(
    kind: ObjectType,
    name: &str,
    existing: Option<&BTreeMap<String, String>>,
) -> Result<(), PushError> {
    match existing {
        Some(tags) if !is_managed(tags) => Err(PushError::NotManagedWrite {
            kind: kind.noun(),
            name: name.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// ESO's `canDelete`: `Ok(false)` when there is nothing to delete (404),
/// `Ok(true)` for ESO's object.
///
/// # Errors
///
/// [`PushError::NotManagedDelete`] for an object without ESO's tag: it is
/// never deleted.
pub fn may_delete(
    kind: ObjectType,
    name: &str,
    existing: Option<&BTreeMap<String, String>>,
) -> Result<bool, PushError> {
    match existing {
        None => Ok(false),
        Some(tags) if is_managed(tags) => Ok(true),
        Some(_) => Err(PushError::NotManagedDelete {
            kind: kind.noun(),
            name: name.to_owned(),
        }),
    }
}

/// The current version of a secret as far as the skip decision needs it.
#[derive(Clone, Copy)]
pub struct CurrentSecret<'a> {
    /// Its value.
    pub value: &'a str,
    /// `attributes.exp`, Unix seconds.
    pub expires: Option<i64>,
    /// `contentType`.
    pub content_type: Option<&'a str>,
}

impl std::fmt::Debug for CurrentSecret<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentSecret")
            .field("value", &"<redacted>")
            .field("expires", &self.expires)
            .field("content_type", &self.content_type)
            .finish()
    }
}

/// ESO's `legacySecretUnchanged`: a write is skipped (no new version) when
/// the value and expiry are the current ones and, if a content type is
/// asked for, it is the current one too (no content type asked for is
/// "don't care"). The value is compared as bytes, as Go compares
/// `string(value)` with the stored string. Expiry is compared in whole
/// seconds, which is what Key Vault stores.
#[must_use]
pub fn secret_unchanged(
    current: Option<&CurrentSecret<'_>>,
    value: &[u8],
    expires: Option<i64>,
    content_type: Option<&str>,
) -> bool {
    let Some(current) = current else {
        return false;
    };
    if current.value.as_bytes() != value || current.expires != expires {
        return false;
    }
    content_type.is_none_or(|asked| current.content_type == Some(asked))
}

/// The tags of every object ESO pushes: the user's, plus `managed-by`.
#[must_use]
pub fn managed_tags(user: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut tags = user.clone();
    tags.insert(MANAGED_BY.to_owned(), MANAGER.to_owned());
    tags
}

/// What `setKeyVaultSecret` sends besides the value: enabled, the asked
/// expiry, the asked content type or else the current one (so a push
/// without one keeps what the secret had), and the managed tags.
#[must_use]
pub fn secret_write(
    metadata: &PushMetadata,
    current_content_type: Option<&str>,
) -> SetSecretOptions {
    SetSecretOptions {
        content_type: metadata
            .content_type
            .clone()
            .or_else(|| current_content_type.map(str::to_owned)),
        enabled: Some(true),
        expires: metadata.expires.map(|s| {
            let magnitude = std::time::Duration::from_secs(s.unsigned_abs());
            if s >= 0 {
                std::time::SystemTime::UNIX_EPOCH + magnitude
            } else {
                std::time::SystemTime::UNIX_EPOCH - magnitude
            }
        }),
        tags: managed_tags(&metadata.tags),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn managed() -> BTreeMap<String, String> {
        tags(&[(MANAGED_BY, MANAGER)])
    }

    /// ESO's keyvault_test.go: `secretName` = "example-1", `certName` =
    /// "cert/certname", `keyName` = "key/keyname"; typeNotSupported
    /// ("badtype/secret") and DeleteSecret's unsupportedType
    /// ("yadayada/foo").
    #[test]
    fn remote_keys_name_objects_as_get_obj_type_does() {
        assert_eq!(
            push_target("example-1").unwrap(),
            (ObjectType::Secret, "example-1")
        );
        assert_eq!(
            push_target("cert/certname").unwrap(),
            (ObjectType::Cert, "certname")
        );
        assert_eq!(
            push_target("key/keyname").unwrap(),
            (ObjectType::Key, "keyname")
        );
        assert_eq!(
            push_target("secret/a/b").unwrap(),
            (ObjectType::Secret, "a")
        );
        assert_eq!(
            push_target("badtype/secret").unwrap_err().to_string(),
            "secret type badtype not supported"
        );
        assert_eq!(
            delete_target("yadayada/foo").unwrap_err().to_string(),
            "secret type 'yadayada' is not supported"
        );
    }

    /// DeleteSecret's cases for each kind: success (tagged), not found
    /// (nothing to do), not managed (refused, the delete never sent).
    #[test]
    fn deletes_only_esos_objects() {
        for (key, kind) in [
            ("example-1", "secret"),
            ("cert/certname", "certificate"),
            ("key/keyname", "key"),
        ] {
            let (object, name) = delete_target(key).unwrap();
            assert!(may_delete(object, name, Some(&managed())).unwrap(), "{key}");
            assert!(!may_delete(object, name, None).unwrap(), "{key}");
            for foreign in [BTreeMap::new(), tags(&[(MANAGED_BY, "foobar")])] {
                assert_eq!(
                    may_delete(object, name, Some(&foreign))
                        .unwrap_err()
                        .to_string(),
                    format!("error getting {kind} {name}: not managed by external-secrets"),
                    "{key}"
                );
            }
        }
    }

    /// PushSecret's secretWrongTags/secretNoTags, certNotManagedByES/
    /// certNoManagerTags, wrongTags/noTags: never written; secretNotFound
    /// and keyNotFound: written.
    #[test]
    fn writes_only_over_esos_objects_or_nothing() {
        for (key, kind) in [
            ("example-1", "secret"),
            ("cert/certname", "certificate"),
            ("key/keyname", "key"),
        ] {
            let (object, name) = push_target(key).unwrap();
            may_write(object, name, None).unwrap();
            may_write(object, name, Some(&managed())).unwrap();
            for foreign in [
                BTreeMap::new(),
                tags(&[(MANAGED_BY, "foobar")]),
                tags(&[("fakeTagKey", "fakeTagValue")]),
            ] {
                assert_eq!(
                    may_write(object, name, Some(&foreign))
                        .unwrap_err()
                        .to_string(),
                    format!("cannot get {kind} {name}: not managed by external-secrets")
                );
            }
        }
    }

    #[allow(
        clippy::needless_pass_by_value,
        reason = "json! literals are built in place"
    )]
    fn meta(spec: serde_json::Value) -> serde_json::Value {
        json!({"apiVersion": METADATA_API_VERSION, "kind": METADATA_KIND, "spec": spec})
    }

    /// The skip decision over PushSecret's secret cases (existing value
    /// "old"; contentTypeJSON = "application/json").
    #[test]
    fn skips_a_write_that_changes_nothing() {
        let json_type = "application/json";
        let expiry = 4_102_444_799; // 2099-12-31T23:59:59Z
        let current = |content_type, expires| CurrentSecret {
            value: "old",
            expires,
            content_type,
        };
        struct Case {
            name: &'static str,
            current: Option<CurrentSecret<'static>>,
            value: &'static [u8],
            metadata: Option<serde_json::Value>,
            written: bool,
            content_type: Option<&'static str>,
        }
        let cases = [
            Case {
                name: "secretSuccess",
                current: Some(current(None, None)),
                value: b"secret",
                metadata: None,
                written: true,
                content_type: None,
            },
            Case {
                name: "secretNoChange",
                current: Some(current(None, None)),
                value: b"old",
                metadata: None,
                written: false,
                content_type: None,
            },
            Case {
                name: "secretNotFound",
                current: None,
                value: b"old",
                metadata: None,
                written: true,
                content_type: None,
            },
            Case {
                name: "secretWithContentType",
                current: Some(current(Some(json_type), None)),
                value: b"newSecret",
                metadata: Some(meta(json!({"contentType": json_type}))),
                written: true,
                content_type: Some(json_type),
            },
            Case {
                name: "secretNoChangeWithContentType",
                current: Some(current(Some(json_type), None)),
                value: b"old",
                metadata: Some(meta(json!({"contentType": json_type}))),
                written: false,
                content_type: None,
            },
            Case {
                name: "secretContentTypeChange",
                current: Some(current(Some("text/plain"), None)),
                value: b"old",
                metadata: Some(meta(json!({"contentType": json_type}))),
                written: true,
                content_type: Some(json_type),
            },
            Case {
                name: "secretContentTypeAddedToExisting",
                current: Some(current(None, None)),
                value: b"old",
                metadata: Some(meta(json!({"contentType": json_type}))),
                written: true,
                content_type: Some(json_type),
            },
            Case {
                name: "secretContentTypeOmittedFromRequest",
                current: Some(current(Some(json_type), None)),
                value: b"old",
                metadata: None,
                written: false,
                content_type: None,
            },
            Case {
                name: "secretContentTypeWithExpiration",
                current: Some(current(Some(json_type), Some(expiry))),
                value: b"old",
                metadata: Some(meta(
                    json!({"contentType": json_type, "expirationDate": "2099-12-31T23:59:59Z"}),
                )),
                written: false,
                content_type: None,
            },
            Case {
                name: "secretExpiryChange",
                current: Some(current(None, Some(expiry - 86_400))),
                value: b"old",
                metadata: Some(meta(json!({"expirationDate": "2099-12-31T23:59:59Z"}))),
                written: true,
                content_type: None,
            },
        ];
        for case in cases {
            let metadata = parse_metadata(case.metadata.as_ref()).unwrap();
            let unchanged = secret_unchanged(
                case.current.as_ref(),
                case.value,
                metadata.expires,
                metadata.content_type.as_deref(),
            );
            assert_eq!(!unchanged, case.written, "{}", case.name);
            if case.written {
                let write = secret_write(
                    &metadata,
                    case.current.as_ref().and_then(|c| c.content_type),
                );
                assert_eq!(write.enabled, Some(true), "{}", case.name);
                assert_eq!(write.tags, managed(), "{}", case.name);
                if let Some(asked) = case.content_type {
                    assert_eq!(write.content_type.as_deref(), Some(asked), "{}", case.name);
                }
            }
        }
        // secretContentTypeOmittedFromRequest, had it been written: the
        // current content type is kept.
        let kept = secret_write(&PushMetadata::default(), Some(json_type));
        assert_eq!(kept.content_type.as_deref(), Some(json_type));
        assert_eq!(
            secret_write(
                &parse_metadata(Some(&meta(
                    json!({"expirationDate": "2099-12-31T23:59:59Z"})
                )))
                .unwrap(),
                None
            )
            .expires,
            Some(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(4_102_444_799))
        );
    }

    /// secretWithTags, certWithTags, keyWithTags: the user's tags with
    /// ESO's; a user `managed-by` tag is refused.
    #[test]
    fn metadata_tags_go_with_esos_and_may_not_claim_it() {
        let metadata =
            parse_metadata(Some(&meta(json!({"tags": {"fakeTagKey": "fakeTagValue"}})))).unwrap();
        assert_eq!(
            managed_tags(&metadata.tags),
            tags(&[(MANAGED_BY, MANAGER), ("fakeTagKey", "fakeTagValue")])
        );
        assert_eq!(
            parse_metadata(Some(&meta(json!({"tags": {"managed-by": "me"}}))))
                .unwrap_err()
                .to_string(),
            "error parsing tags in metadata: Cannot specify a 'managed-by' tag"
        );
    }

    /// esutils/metadata's refusals and the expiration date's.
    #[test]
    fn metadata_refusals_say_what_is_wrong() {
        for (raw, text) in [
            (
                json!({"apiVersion": "v1", "kind": METADATA_KIND}),
                "failed to parse push secret metadata: unexpected apiVersion \"v1\", expected \"kubernetes.external-secrets.io/v1alpha1\"",
            ),
            (
                json!({"apiVersion": METADATA_API_VERSION, "kind": "Other"}),
                "failed to parse push secret metadata: unexpected kind \"Other\", expected \"PushSecretMetadata\"",
            ),
            (
                meta(json!({"expirationDate": "tomorrow"})),
                "error parsing expiration date in metadata: parsing time \"tomorrow\" as \"2006-01-02T15:04:05Z07:00\". Expected format: YYYY-MM-DDTHH:MM:SSZ (RFC3339). Example: 2024-12-31T20:00:00Z",
            ),
        ] {
            assert_eq!(parse_metadata(Some(&raw)).unwrap_err().to_string(), text);
        }
        let unknown = parse_metadata(Some(&meta(json!({"colour": "red"}))))
            .unwrap_err()
            .to_string();
        assert!(
            unknown.starts_with(
                "failed to parse push secret metadata: failed to parse kubernetes.external-secrets.io/v1alpha1 PushSecretMetadata: unknown field `colour`"
            ),
            "{unknown}"
        );
        assert_eq!(parse_metadata(None).unwrap(), PushMetadata::default());
    }

    /// wholeSecretNoKey: no secretKey pushes the whole Secret as compact
    /// JSON with sorted keys, which differs from the stored
    /// `{"key1": "value1", "key2": "value2" }`, so it is written.
    #[test]
    fn no_secret_key_pushes_the_whole_secret_as_sorted_compact_json() {
        let data = BTreeMap::from([
            ("key2".to_owned(), b"value2".to_vec()),
            ("key1".to_owned(), b"value1".to_vec()),
        ]);
        let pushed = value_to_push(&data, None).unwrap();
        assert_eq!(pushed, br#"{"key1":"value1","key2":"value2"}"#);
        let stored = CurrentSecret {
            value: r#"{"key1": "value1", "key2": "value2" }"#,
            expires: None,
            content_type: None,
        };
        assert!(!secret_unchanged(Some(&stored), &pushed, None, None));
        assert_eq!(value_to_push(&data, Some("key1")).unwrap(), b"value1");
        assert_eq!(value_to_push(&data, Some("missing")), None);
    }

    /// Go's encoder: HTML unescaped (SetEscapeHTML(false)), control
    /// characters, U+2028, and invalid UTF-8 byte by byte.
    #[test]
    fn strings_are_encoded_as_go_encodes_them() {
        let data = BTreeMap::from([(
            "k".to_owned(),
            b"<a&b>\"\\\n\t\x08\x0c\x01\xe2\x80\xa8\xff\xe2\x82".to_vec(),
        )]);
        assert_eq!(
            String::from_utf8(whole_secret_json(&data)).unwrap(),
            r#"{"k":"<a&b>\"\\\n\t\b\f\u0001\u2028\ufffd\ufffd\ufffd"}"#
        );
        assert_eq!(go_string(b"a\xffb"), "a\u{fffd}b");
    }
}
