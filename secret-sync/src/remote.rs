//! What one remote reference reads and the bytes it gives, as ESO's azurekv
//! provider gives them (`providers/v1/azure/keyvault/keyvault.go` in external-secrets/external-secrets): `remoteRef.key`'s `secret/`,
//! `cert/` and `key/` prefixes, certificates as DER, keys as their public
//! JWK in JSON, `property` as a gjson path into a JSON value, the
//! decoding strategies, and with `metadataPolicy: Fetch` the object's
//! tags instead of its value.
//!
//! ESO's azurekv provider has two Key Vault clients; this is the behaviour
//! of its default one (the go-autorest SDK, `useAzureSDK` unset), which
//! shows an object's attributes beside its tags as `attribute.*`
//! pseudo-tags. `useAzureSDK` is not served, so its client's behaviour
//! (tags only) never applies.

use std::{
    collections::BTreeMap,
    fmt::{self, Write as _},
    time::{SystemTime, UNIX_EPOCH},
};

use azure_wi_auth::{CertificateProperties, KeyProperties, SecretProperties};
use base64::Engine as _;
use serde_json::{Value, value::RawValue};

use crate::{Error, api::DecodingStrategy};

/// ESO's pseudo-tag for an object's `attributes.exp` (`attributeExpires`).
pub const ATTRIBUTE_EXPIRES: &str = "attribute.expires";
/// ESO's pseudo-tag for `attributes.created` (`attributeCreated`).
pub const ATTRIBUTE_CREATED: &str = "attribute.created";
/// ESO's pseudo-tag for `attributes.updated` (`attributeUpdated`).
pub const ATTRIBUTE_UPDATED: &str = "attribute.updated";
/// ESO's pseudo-tag for `attributes.nbf` (`attributeNotBefore`).
pub const ATTRIBUTE_NOT_BEFORE: &str = "attribute.notBefore";

/// What one `data` or `dataFrom.extract` reference read from the vault.
#[derive(Clone, PartialEq, Eq)]
pub enum Remote {
    /// The object's value: a secret's value, a certificate's DER, a key's
    /// public JWK in JSON.
    Value(Vec<u8>),
    /// `metadataPolicy: Fetch`: the object's tags and attributes, which
    /// stand in for its value.
    Metadata(Metadata),
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(value) => write!(f, "Value({} bytes)", value.len()),
            Self::Metadata(metadata) => f.debug_tuple("Metadata").field(metadata).finish(),
        }
    }
}

/// An object's tags and the attributes ESO shows beside them, as Key Vault
/// returned them with the object (secret, key or certificate).
///
/// `Debug` names the tags, never their values: with `metadataPolicy:
/// Fetch` they become the Secret's data.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The tags.
    pub tags: BTreeMap<String, String>,
    /// `attributes.exp`.
    pub expires: Option<SystemTime>,
    /// `attributes.created`.
    pub created: Option<SystemTime>,
    /// `attributes.updated`.
    pub updated: Option<SystemTime>,
    /// `attributes.nbf`.
    pub not_before: Option<SystemTime>,
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("tags", &self.tags.keys().collect::<Vec<_>>())
            .field("expires", &self.expires)
            .field("created", &self.created)
            .field("updated", &self.updated)
            .field("not_before", &self.not_before)
            .finish()
    }
}

impl From<&SecretProperties> for Metadata {
    fn from(p: &SecretProperties) -> Self {
        Self {
            tags: p.tags.clone(),
            expires: p.expires,
            created: p.created,
            updated: p.updated,
            not_before: p.not_before,
        }
    }
}

impl From<&KeyProperties> for Metadata {
    fn from(p: &KeyProperties) -> Self {
        Self {
            tags: p.tags.clone(),
            expires: p.expires,
            created: p.created,
            updated: p.updated,
            not_before: p.not_before,
        }
    }
}

impl From<&CertificateProperties> for Metadata {
    fn from(p: &CertificateProperties) -> Self {
        Self {
            tags: p.tags.clone(),
            expires: p.expires,
            created: p.created,
            updated: p.updated,
            not_before: p.not_before,
        }
    }
}

impl Metadata {
    /// The attributes that are set, by pseudo-tag, in the order ESO sets
    /// them.
    fn attributes(&self) -> impl Iterator<Item = (&'static str, String)> {
        [
            (ATTRIBUTE_EXPIRES, self.expires),
            (ATTRIBUTE_CREATED, self.created),
            (ATTRIBUTE_UPDATED, self.updated),
            (ATTRIBUTE_NOT_BEFORE, self.not_before),
        ]
        .into_iter()
        .filter_map(|(name, at)| Some((name, rfc3339(at?))))
    }

    /// What `data` reads (ESO's `getSecretAllMetadata`): the tags, and each
    /// attribute that is set under its `attribute.*` name, in RFC 3339
    /// UTC (`2030-01-01T00:00:00Z`), replacing a tag of that name.
    #[must_use]
    pub fn all(&self) -> BTreeMap<String, String> {
        let mut all = self.tags.clone();
        all.extend(self.attributes().map(|(name, at)| (name.to_owned(), at)));
        all
    }

    /// What `dataFrom.extract` reads of secret `name` (ESO's
    /// `getSecretTagsWithLegacySDK`): each tag as `<name>_<tag>`, except
    /// that a tag whose value decodes as a JSON object of strings (Go's
    /// `json.Unmarshal` into `map[string]string`: `null` fields empty, a
    /// `null` value no field) gives one `<name>_<tag>_<field>` per field
    /// instead; then each attribute set as `<name>_attribute.*`. Where two
    /// tags give one name, the later tag in name order wins (ESO's order
    /// is Go's map order, which is random).
    #[must_use]
    pub fn split(&self, name: &str) -> BTreeMap<String, String> {
        let mut split = BTreeMap::new();
        for (tag, value) in &self.tags {
            let prefix = format!("{name}_{tag}");
            match serde_json::from_str::<Option<BTreeMap<String, Option<String>>>>(value) {
                Ok(fields) => {
                    for (field, text) in fields.into_iter().flatten() {
                        split.insert(format!("{prefix}_{field}"), text.unwrap_or_default());
                    }
                }
                Err(_) => {
                    split.insert(prefix, value.clone());
                }
            }
        }
        split.extend(
            self.attributes()
                .map(|(attribute, at)| (format!("{name}_{attribute}"), at)),
        );
        split
    }
}

/// One tag of `tags` (ESO's `getSecretTag`): `property` names a tag, or
/// `<tag>.<path>` a gjson path into a JSON tag value (the first dot
/// splits); without `property`, all of them as a JSON object, as Go's
/// `json.Marshal` writes a `map[string]string`.
///
/// # Errors
///
/// [`Error::TagNotFound`] when no tag is named, [`Error::PropertyNotFound`]
/// (naming the whole `property`) when the path finds nothing.
pub fn tag(tags: &BTreeMap<String, String>, property: Option<&str>) -> Result<Vec<u8>, Error> {
    let Some(property) = property.filter(|p| !p.is_empty()) else {
        return Ok(go_json_object(tags));
    };
    if let Some(value) = tags.get(property) {
        return Ok(value.as_bytes().to_vec());
    }
    let missing = || Error::TagNotFound {
        tag: property.to_owned(),
    };
    match property.split_once('.') {
        Some((name, path)) if !name.is_empty() => {
            let value = tags.get(name).ok_or_else(missing)?;
            if path.is_empty() {
                Ok(value.as_bytes().to_vec())
            } else {
                self::property(value.as_bytes(), path, property)
            }
        }
        _ => Err(missing()),
    }
}

/// The keys `dataFrom.extract` gives from [`Metadata::split`]'s `tags`
/// (ESO's `getSecretMapProperties`): every one; or, with `property`, the
/// one key `<remoteRef.key>_<property>` holding [`tag`] of that name, empty
/// when there is none (ESO ignores that error).
#[must_use]
pub fn tag_map(
    tags: &BTreeMap<String, String>,
    key: &str,
    property: Option<&str>,
) -> BTreeMap<String, Vec<u8>> {
    match property.filter(|p| !p.is_empty()) {
        Some(property) => {
            let name = format!("{key}_{property}");
            let value = tag(tags, Some(&name)).unwrap_or_default();
            BTreeMap::from([(name, value)])
        }
        None => tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
            .collect(),
    }
}

/// A `data` entry's bytes from what it read (ESO's `GetSecret` after the
/// read): the value, or the gjson `property` of it; with `metadataPolicy:
/// Fetch`, [`tag`] of [`Metadata::all`].
///
/// # Errors
///
/// As [`property`] and [`tag`].
pub fn get_secret(remote: &Remote, property: Option<&str>, key: &str) -> Result<Vec<u8>, Error> {
    match remote {
        Remote::Value(value) => match property {
            Some(path) => self::property(value, path, key),
            None => Ok(value.clone()),
        },
        Remote::Metadata(metadata) => tag(&metadata.all(), property),
    }
}

/// A `dataFrom.extract`'s keys from what secret `name` (written `key`)
/// read (ESO's `GetSecretMap`): [`get_secret`] first, whose errors stand;
/// then the fields of that JSON object, or with `metadataPolicy: Fetch`
/// [`tag_map`] of [`Metadata::split`].
///
/// ESO reads the secret a second time for the split tags and, should that
/// read fail, gives no keys; here both come from the one read.
///
/// # Errors
///
/// As [`get_secret`] and [`extract`].
pub fn get_secret_map(
    remote: &Remote,
    property: Option<&str>,
    name: &str,
    key: &str,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let data = get_secret(remote, property, key)?;
    match remote {
        Remote::Value(_) => extract(&data, key),
        Remote::Metadata(metadata) => Ok(tag_map(&metadata.split(name), key, property)),
    }
}

/// Go's `json.Marshal` of a `map[string]string`: keys in byte order,
/// strings escaped as Go escapes them (`<`, `>`, `&`, U+2028 and U+2029 as
/// `\u` escapes, control characters as `\b \f \n \r \t` or `\u00xx`).
fn go_json_object(map: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = String::from("{");
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        go_json_string(&mut out, key);
        out.push(':');
        go_json_string(&mut out, value);
    }
    out.push('}');
    out.into_bytes()
}

fn go_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0}'..='\u{1f}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `t.UTC().Format(time.RFC3339)`: whole seconds, `Z`, the year
/// padded to four digits (more when it has more, a `-` before it).
fn rfc3339(t: SystemTime) -> String {
    let seconds = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            // Go's second of a time before the epoch is the floor.
            if d.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    };
    let (days, in_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let year = if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else {
        format!("{year:04}")
    };
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60
    )
}

/// The kind of Key Vault object a key names: `azure-wi-auth`'s, whose
/// names are ESO's prefixes (`secret/<name>` or a bare `<name>`, `cert/`
/// for the certificate's DER, `key/` for the public key as a JWK).
pub use azure_wi_auth::delivery::ObjectKind;

/// A parsed `remoteRef.key`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteKey {
    /// What to read.
    pub kind: ObjectKind,
    /// The object's name in the vault.
    pub name: String,
}

impl RemoteKey {
    /// Splits `key` on `/` as ESO does: a bare name is a secret; a
    /// `secret`, `cert` or `key` prefix picks the kind; tokens after the
    /// second are ignored.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownObjectType`] for any other prefix, with ESO's text.
    pub fn parse(key: &str) -> Result<Self, Error> {
        let mut parts = key.split('/');
        let first = parts.next().unwrap_or_default();
        let Some(name) = parts.next() else {
            return Ok(Self {
                kind: ObjectKind::Secret,
                name: first.to_owned(),
            });
        };
        let kind = match first {
            "secret" => ObjectKind::Secret,
            "cert" => ObjectKind::Cert,
            "key" => ObjectKind::Key,
            _ => {
                return Err(Error::UnknownObjectType {
                    key: key.to_owned(),
                });
            }
        };
        Ok(Self {
            kind,
            name: name.to_owned(),
        })
    }
}

/// A public key as ESO serializes Key Vault's `JSONWebKey`: `kid`, `kty`,
/// `key_ops`, then `n`/`e` or `crv`/`x`/`y`, base64url without padding.
#[must_use]
pub fn jwk_json(kid: &str, key: &azure_wi_auth::JsonWebKey, key_ops: &[String]) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut out = serde_json::Map::new();
    out.insert("kid".into(), kid.into());
    let (kty, fields): (&str, Vec<(&str, String)>) = match key {
        azure_wi_auth::JsonWebKey::Rsa { n, e } => ("RSA", vec![("n", b64(n)), ("e", b64(e))]),
        azure_wi_auth::JsonWebKey::Ec { crv, x, y } => (
            "EC",
            vec![
                ("crv", crv.as_str().to_owned()),
                ("x", b64(x)),
                ("y", b64(y)),
            ],
        ),
        other => ("", vec![("unsupported", format!("{other:?}"))]),
    };
    out.insert("kty".into(), kty.into());
    if !key_ops.is_empty() {
        out.insert("key_ops".into(), key_ops.to_vec().into());
    }
    for (name, value) in fields {
        out.insert(name.into(), value.into());
    }
    Value::Object(out).to_string()
}

/// Applies `property` (a gjson path: `a.b`, `a\.b` for a dot in a name,
/// `list.0` for an array item) to the JSON `value` of `key`, giving what
/// gjson's `String()` gives (ESO's `getProperty`): a string's text, an
/// object's or array's bytes as stored, an integer as written, another
/// number in Go's shortest form, `true`/`false`, and nothing for `null`.
/// As ESO does, a path with dots that finds nothing is tried once more as
/// one name.
///
/// # Errors
///
/// [`Error::PropertyNotFound`] with ESO's text.
pub fn property(value: &[u8], path: &str, key: &str) -> Result<Vec<u8>, Error> {
    let missing = || Error::PropertyNotFound {
        property: path.to_owned(),
        key: key.to_owned(),
    };
    let text = std::str::from_utf8(value).map_err(|_| missing())?;
    let found = lookup(text.trim(), &split_path(path))
        .or_else(|| {
            path.contains('.')
                .then(|| lookup(text.trim(), &[path.to_owned()]))
                .flatten()
        })
        .ok_or_else(missing)?;
    Ok(gjson_string(found))
}

/// A JSON value's text as gjson's `String()` gives it.
fn gjson_string(raw: &str) -> Vec<u8> {
    match raw.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                raw.as_bytes().to_vec()
            } else {
                raw.parse::<f64>()
                    .map_or_else(|_| raw.as_bytes().to_vec(), |n| n.to_string().into_bytes())
            }
        }
        _ => raw_text(raw),
    }
}

/// A JSON value's bytes as Go gives a `json.RawMessage` read into a
/// string: a string's text, `null` nothing, anything else as stored.
fn raw_text(raw: &str) -> Vec<u8> {
    match raw.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(raw)
            .map(String::into_bytes)
            .unwrap_or_else(|_| raw.as_bytes().to_vec()),
        Some(b'n') => Vec::new(),
        _ => raw.as_bytes().to_vec(),
    }
}

fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    parts.last_mut().expect("never empty").push(next);
                }
            }
            '.' => parts.push(String::new()),
            c => parts.last_mut().expect("never empty").push(c),
        }
    }
    parts
}

/// The raw JSON text at `path` in `json`, as stored (gjson keeps an
/// object's bytes: spacing and order included).
fn lookup<'a>(json: &'a str, path: &[String]) -> Option<&'a str> {
    path.iter()
        .try_fold(json, |at, part| match at.as_bytes().first() {
            Some(b'{') => serde_json::from_str::<BTreeMap<String, &RawValue>>(at)
                .ok()?
                .get(part)
                .map(|raw| raw.get()),
            Some(b'[') => {
                let index = part.parse::<usize>().ok()?;
                serde_json::from_str::<Vec<&RawValue>>(at)
                    .ok()?
                    .get(index)
                    .map(|raw| raw.get())
            }
            _ => None,
        })
}

/// Decodes `value` as `strategy` says.
///
/// # Errors
///
/// [`Error::Decoding`] when `Base64` or `Base64URL` is asked for and the
/// value is not that encoding.
pub fn decode(strategy: DecodingStrategy, value: Vec<u8>, key: &str) -> Result<Vec<u8>, Error> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    let failed = |encoding: &str| Error::Decoding {
        key: key.to_owned(),
        encoding: encoding.to_owned(),
    };
    match strategy {
        DecodingStrategy::None => Ok(value),
        DecodingStrategy::Base64 => STANDARD.decode(&value).map_err(|_| failed("base64")),
        DecodingStrategy::Base64URL => URL_SAFE.decode(&value).map_err(|_| failed("base64url")),
        DecodingStrategy::Auto => Ok(STANDARD
            .decode(&value)
            .or_else(|_| URL_SAFE.decode(&value))
            .unwrap_or(value)),
    }
}

/// `dataFrom.extract`: the secret's value must be a JSON object; each
/// top-level field becomes a key as ESO's `getSecretMapMap` makes it: a
/// string unquoted, `null` empty, anything else its bytes as stored (an
/// object keeps its spacing and order). A name given twice keeps its last
/// value, as Go's decoder does.
///
/// # Errors
///
/// [`Error::NotAJsonObject`] naming the key.
pub fn extract(value: &[u8], key: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let not_object = || Error::NotAJsonObject {
        key: key.to_owned(),
    };
    let text = std::str::from_utf8(value).map_err(|_| not_object())?;
    let fields =
        serde_json::from_str::<BTreeMap<String, &RawValue>>(text).map_err(|_| not_object())?;
    Ok(fields
        .into_iter()
        .map(|(k, raw)| (k, raw_text(raw.get())))
        .collect())
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
