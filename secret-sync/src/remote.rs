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

/// A `data` entry's bytes from what it read of an object of `kind` (ESO's
/// `getSecretWithLegacySDK` after the read): a secret's value or a key's
/// JWK, or the gjson `property` of it; a certificate's DER whole, with a
/// `property` or without (ESO returns `Cer` as it is, reading no property
/// of it); with `metadataPolicy: Fetch`, [`tag`] of [`Metadata::all`],
/// for every kind.
///
/// # Errors
///
/// As [`property`] and [`tag`].
pub fn get_secret(
    remote: &Remote,
    kind: ObjectKind,
    property: Option<&str>,
    key: &str,
) -> Result<Vec<u8>, Error> {
    match (remote, kind, property) {
        (Remote::Value(value), ObjectKind::Cert, _) | (Remote::Value(value), _, None) => {
            Ok(value.clone())
        }
        (Remote::Value(value), _, Some(path)) => self::property(value, path, key),
        (Remote::Metadata(metadata), _, _) => tag(&metadata.all(), property),
    }
}

/// A `dataFrom.extract`'s keys from what secret `name` (written `key`)
/// read (ESO's `GetSecretMap`; `dataFrom` reads secrets only, the plan
/// refuses certificates and keys): [`get_secret`] first, whose errors stand;
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
    let data = get_secret(remote, ObjectKind::Secret, property, key)?;
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
    /// [`Error::UnknownObjectType`] for any other prefix, with ESO's text
    /// (`unknown Azure Keyvault object Type for <name>`).
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
                    name: name.to_owned(),
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
/// `kty` is Key Vault's, `-HSM` included: ESO's `GetSecret` of `key/`
/// (`providers/v1/azure/keyvault/keyvault.go`) is `json.Marshal` of the
/// `JSONWebKey` Key Vault sent, whose `Kty` it never changes.
#[must_use]
pub fn jwk_json(kid: &str, key: &azure_wi_auth::JsonWebKey, key_ops: &[String]) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut out = serde_json::Map::new();
    out.insert("kid".into(), kid.into());
    let (kty, fields): (&str, Vec<(&str, String)>) = match key {
        azure_wi_auth::JsonWebKey::Rsa { n, e, .. } => {
            (key.kty(), vec![("n", b64(n)), ("e", b64(e))])
        }
        azure_wi_auth::JsonWebKey::Ec { crv, x, y, .. } => (
            key.kty(),
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
/// string: a string's text (unquoted as Go unquotes it), `null` nothing,
/// anything else as stored.
fn raw_text(raw: &str) -> Vec<u8> {
    raw_bytes_text(raw.as_bytes())
}

/// [`raw_text`] of bytes.
fn raw_bytes_text(raw: &[u8]) -> Vec<u8> {
    match raw.first() {
        Some(b'"') => go_json::unquote(raw).map_or_else(|| raw.to_vec(), String::into_bytes),
        Some(b'n') => Vec::new(),
        _ => raw.to_vec(),
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

/// `dataFrom.extract`: ESO's `getSecretMapMap`, Go's `json.Unmarshal` of
/// the value into a `map[string]json.RawMessage`. The value must be JSON
/// (checked as Go's scanner checks it) and an object, or `null`, which
/// gives no keys. Each top-level field becomes a key: a string unquoted as
/// Go unquotes it, `null` empty, anything else its bytes as stored (an
/// object keeps its spacing and order). A name given twice keeps its last
/// value, as Go's decoder does.
///
/// # Errors
///
/// [`Error::NotAJsonObject`] naming the key, with Go's reason.
pub fn extract(value: &[u8], key: &str) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let fields = go_json::object(value).map_err(|reason| Error::NotAJsonObject {
        key: key.to_owned(),
        reason,
    })?;
    Ok(fields
        .into_iter()
        .map(|(name, raw)| (name, raw_bytes_text(raw)))
        .collect())
}

/// Go's `encoding/json` where ESO's results depend on it: its scanner's
/// syntax errors (`encoding/json/scanner.go` in golang/go: the same state
/// machine, the same contexts), the type errors of decoding into a
/// `map[string]json.RawMessage` (`decode.go`), and its string unquoting.
mod go_json {
    /// Go's `maxNestingDepth`.
    const MAX_DEPTH: usize = 10_000;

    /// What Go's scanner expects next (its `step` functions).
    #[derive(Debug, Clone, Copy)]
    enum Step {
        BeginValueOrEmpty,
        BeginValue,
        BeginStringOrEmpty,
        BeginString,
        EndValue,
        EndTop,
        InString,
        InStringEsc,
        /// Inside `\u`, this many hex digits read.
        InStringEscU(u8),
        Neg,
        One,
        Zero,
        Dot,
        Dot0,
        E,
        ESign,
        E0,
        /// Inside the literal `true`, `false` or `null`, this many bytes read.
        Literal(&'static [u8], usize),
    }

    /// Go's `parseState` entries.
    #[derive(Debug, Clone, Copy)]
    enum Parse {
        ObjectKey,
        ObjectValue,
        ArrayValue,
    }

    /// A syntax error: the context Go names after the character.
    struct Invalid {
        context: String,
        /// The character is the space Go's `eof` feeds, not the value's.
        at_eof: bool,
    }

    impl Invalid {
        /// Go's `invalid character 'c' <context>`, without the character
        /// when it is the value's: values may be secrets.
        fn text(&self) -> String {
            if self.at_eof {
                format!("invalid character ' ' {}", self.context)
            } else {
                format!("invalid character {}", self.context)
            }
        }
    }

    struct Scanner {
        step: Step,
        parse: Vec<Parse>,
        end_top: bool,
        /// Set by [`Step::EndTop`], which, as Go's, complains about a
        /// byte after the top-level value one byte late.
        error: Option<String>,
        at_eof: bool,
    }

    fn is_space(c: u8) -> bool {
        matches!(c, b' ' | b'\t' | b'\r' | b'\n')
    }

    impl Scanner {
        fn invalid(&self, context: &str) -> Invalid {
            Invalid {
                context: context.to_owned(),
                at_eof: self.at_eof,
            }
        }

        fn push(&mut self, parse: Parse) -> Result<(), Invalid> {
            self.parse.push(parse);
            if self.parse.len() <= MAX_DEPTH {
                Ok(())
            } else {
                Err(self.invalid("exceeded max depth"))
            }
        }

        fn pop(&mut self) {
            self.parse.pop();
            if self.parse.is_empty() {
                self.step = Step::EndTop;
                self.end_top = true;
            } else {
                self.step = Step::EndValue;
            }
        }

        /// One byte, as Go's `scan.step(scan, c)`; a state that hands the
        /// byte on (Go's `return stateX(s, c)`) loops.
        fn step(&mut self, c: u8) -> Result<(), Invalid> {
            loop {
                match self.step {
                    Step::BeginValueOrEmpty => {
                        if is_space(c) {
                            return Ok(());
                        }
                        self.step = if c == b']' {
                            Step::EndValue
                        } else {
                            Step::BeginValue
                        };
                    }
                    Step::BeginValue => {
                        if is_space(c) {
                            return Ok(());
                        }
                        self.step = match c {
                            b'{' => {
                                self.step = Step::BeginStringOrEmpty;
                                return self.push(Parse::ObjectKey);
                            }
                            b'[' => {
                                self.step = Step::BeginValueOrEmpty;
                                return self.push(Parse::ArrayValue);
                            }
                            b'"' => Step::InString,
                            b'-' => Step::Neg,
                            b'0' => Step::Zero,
                            b'1'..=b'9' => Step::One,
                            b't' => Step::Literal(b"true", 1),
                            b'f' => Step::Literal(b"false", 1),
                            b'n' => Step::Literal(b"null", 1),
                            _ => return Err(self.invalid("looking for beginning of value")),
                        };
                        return Ok(());
                    }
                    Step::BeginStringOrEmpty => {
                        if is_space(c) {
                            return Ok(());
                        }
                        if c == b'}' {
                            if let Some(top) = self.parse.last_mut() {
                                *top = Parse::ObjectValue;
                            }
                            self.step = Step::EndValue;
                        } else {
                            self.step = Step::BeginString;
                        }
                    }
                    Step::BeginString => {
                        if is_space(c) {
                            return Ok(());
                        }
                        if c == b'"' {
                            self.step = Step::InString;
                            return Ok(());
                        }
                        return Err(self.invalid("looking for beginning of object key string"));
                    }
                    Step::EndValue => {
                        let Some(top) = self.parse.last_mut() else {
                            self.step = Step::EndTop;
                            self.end_top = true;
                            continue;
                        };
                        if is_space(c) {
                            return Ok(());
                        }
                        match (*top, c) {
                            (Parse::ObjectKey, b':') => {
                                *top = Parse::ObjectValue;
                                self.step = Step::BeginValue;
                            }
                            (Parse::ObjectKey, _) => return Err(self.invalid("after object key")),
                            (Parse::ObjectValue, b',') => {
                                *top = Parse::ObjectKey;
                                self.step = Step::BeginString;
                            }
                            (Parse::ObjectValue, b'}') | (Parse::ArrayValue, b']') => self.pop(),
                            (Parse::ObjectValue, _) => {
                                return Err(self.invalid("after object key:value pair"));
                            }
                            (Parse::ArrayValue, b',') => self.step = Step::BeginValue,
                            (Parse::ArrayValue, _) => {
                                return Err(self.invalid("after array element"));
                            }
                        }
                        return Ok(());
                    }
                    Step::EndTop => {
                        if !is_space(c) && self.error.is_none() {
                            self.error = Some(self.invalid("after top-level value").text());
                        }
                        return Ok(());
                    }
                    Step::InString => {
                        match c {
                            b'"' => self.step = Step::EndValue,
                            b'\\' => self.step = Step::InStringEsc,
                            0..0x20 => return Err(self.invalid("in string literal")),
                            _ => {}
                        }
                        return Ok(());
                    }
                    Step::InStringEsc => {
                        self.step = match c {
                            b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                                Step::InString
                            }
                            b'u' => Step::InStringEscU(0),
                            _ => return Err(self.invalid("in string escape code")),
                        };
                        return Ok(());
                    }
                    Step::InStringEscU(read) => {
                        if !c.is_ascii_hexdigit() {
                            return Err(self.invalid("in \\u hexadecimal character escape"));
                        }
                        self.step = if read == 3 {
                            Step::InString
                        } else {
                            Step::InStringEscU(read + 1)
                        };
                        return Ok(());
                    }
                    Step::Neg => {
                        self.step = match c {
                            b'0' => Step::Zero,
                            b'1'..=b'9' => Step::One,
                            _ => return Err(self.invalid("in numeric literal")),
                        };
                        return Ok(());
                    }
                    Step::One => {
                        if c.is_ascii_digit() {
                            return Ok(());
                        }
                        self.step = Step::Zero;
                    }
                    Step::Zero => match c {
                        b'.' => {
                            self.step = Step::Dot;
                            return Ok(());
                        }
                        b'e' | b'E' => {
                            self.step = Step::E;
                            return Ok(());
                        }
                        _ => self.step = Step::EndValue,
                    },
                    Step::Dot => {
                        if c.is_ascii_digit() {
                            self.step = Step::Dot0;
                            return Ok(());
                        }
                        return Err(self.invalid("after decimal point in numeric literal"));
                    }
                    Step::Dot0 => match c {
                        b'0'..=b'9' => return Ok(()),
                        b'e' | b'E' => {
                            self.step = Step::E;
                            return Ok(());
                        }
                        _ => self.step = Step::EndValue,
                    },
                    Step::E => {
                        if matches!(c, b'+' | b'-') {
                            self.step = Step::ESign;
                            return Ok(());
                        }
                        self.step = Step::ESign;
                    }
                    Step::ESign => {
                        if c.is_ascii_digit() {
                            self.step = Step::E0;
                            return Ok(());
                        }
                        return Err(self.invalid("in exponent of numeric literal"));
                    }
                    Step::E0 => {
                        if c.is_ascii_digit() {
                            return Ok(());
                        }
                        self.step = Step::EndValue;
                    }
                    Step::Literal(word, read) => {
                        let expected = word.get(read).copied().unwrap_or_default();
                        if c != expected {
                            let word = String::from_utf8_lossy(word);
                            return Err(self.invalid(&format!(
                                "in literal {word} (expecting '{}')",
                                char::from(expected)
                            )));
                        }
                        self.step = if read + 1 == word.len() {
                            Step::EndValue
                        } else {
                            Step::Literal(word, read + 1)
                        };
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Go's `checkValid`: `Err` with Go's text when `data` is not one
    /// JSON value.
    fn check(data: &[u8]) -> Result<(), String> {
        let mut scanner = Scanner {
            step: Step::BeginValue,
            parse: Vec::new(),
            end_top: false,
            error: None,
            at_eof: false,
        };
        for &c in data {
            if let Some(error) = scanner.error.take() {
                return Err(error);
            }
            scanner.step(c).map_err(|e| e.text())?;
        }
        if let Some(error) = scanner.error.take() {
            return Err(error);
        }
        if scanner.end_top {
            return Ok(());
        }
        scanner.at_eof = true;
        scanner.step(b' ').map_err(|e| e.text())?;
        if scanner.end_top {
            Ok(())
        } else {
            Err("unexpected end of JSON input".to_owned())
        }
    }

    fn skip_space(data: &[u8], mut at: usize) -> usize {
        while data.get(at).copied().is_some_and(is_space) {
            at += 1;
        }
        at
    }

    /// Where the value starting at `at` of valid JSON `data` ends.
    fn value_end(data: &[u8], at: usize) -> usize {
        match data.get(at) {
            Some(b'"') => string_end(data, at),
            Some(b'{' | b'[') => {
                let (mut depth, mut i) = (0usize, at);
                while let Some(&c) = data.get(i) {
                    match c {
                        b'"' => {
                            i = string_end(data, i);
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return i + 1;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i
            }
            _ => {
                let mut i = at;
                while data
                    .get(i)
                    .is_some_and(|&c| !is_space(c) && !matches!(c, b',' | b'}' | b']'))
                {
                    i += 1;
                }
                i
            }
        }
    }

    /// Where the string starting at `at` (its opening quote) ends, past
    /// its closing quote.
    fn string_end(data: &[u8], at: usize) -> usize {
        let mut i = at + 1;
        while let Some(&c) = data.get(i) {
            match c {
                b'\\' => i += 2,
                b'"' => return i + 1,
                _ => i += 1,
            }
        }
        i
    }

    /// Go's `json.Unmarshal(data, &map[string]json.RawMessage{})`: the
    /// fields of the object `data` holds, each name unquoted and each
    /// value's bytes as stored, in order (a name given twice is given
    /// twice; the last wins in a map); none for `null`.
    ///
    /// # Errors
    ///
    /// Go's text: a syntax error, or `json: cannot unmarshal <kind> into
    /// Go value of type map[string]json.RawMessage`.
    pub(super) fn object(data: &[u8]) -> Result<Vec<(String, &[u8])>, String> {
        check(data)?;
        let mut at = skip_space(data, 0);
        let kind = match data.get(at) {
            Some(b'{') => None,
            Some(b'n') => return Ok(Vec::new()),
            Some(b'[') => Some("array"),
            Some(b'"') => Some("string"),
            Some(b't' | b'f') => Some("bool"),
            _ => Some("number"),
        };
        if let Some(kind) = kind {
            return Err(format!(
                "json: cannot unmarshal {kind} into Go value of type map[string]json.RawMessage"
            ));
        }
        let mut fields = Vec::new();
        at += 1;
        loop {
            at = skip_space(data, at);
            if data.get(at) != Some(&b'"') {
                // `}`: the end (the JSON is valid).
                return Ok(fields);
            }
            let name_end = string_end(data, at);
            let name = data.get(at..name_end).and_then(unquote).unwrap_or_default();
            at = skip_space(data, name_end) + 1; // past `:`
            at = skip_space(data, at);
            let end = value_end(data, at);
            fields.push((name, data.get(at..end).unwrap_or_default()));
            at = skip_space(data, end);
            if data.get(at) == Some(&b',') {
                at += 1;
            }
        }
    }

    /// Four hex digits after `\u` (Go's `getu4`).
    fn hex4(data: &[u8]) -> Option<u32> {
        data.get(..4)?.iter().try_fold(0, |n, &c| {
            char::from(c).to_digit(16).map(|digit| n * 16 + digit)
        })
    }

    /// Go's `unquoteBytes`: a JSON string's text, escapes decoded, a lone
    /// or broken UTF-16 surrogate and each byte of invalid UTF-8 as
    /// U+FFFD; `None` when `quoted` is not a JSON string.
    pub(super) fn unquote(quoted: &[u8]) -> Option<String> {
        let inner = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        let mut out = String::with_capacity(inner.len());
        let mut i = 0;
        while let Some(&c) = inner.get(i) {
            match c {
                b'\\' => {
                    let escaped = *inner.get(i + 1)?;
                    i += 2;
                    let simple = match escaped {
                        b'"' | b'\\' | b'/' | b'\'' => char::from(escaped),
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = hex4(inner.get(i..)?)?;
                            i += 4;
                            let surrogate = (0xd800..0xe000).contains(&first);
                            let pair = (0xd800..0xdc00)
                                .contains(&first)
                                .then(|| {
                                    let rest = inner.get(i..)?.strip_prefix(b"\\u")?;
                                    hex4(rest).filter(|low| (0xdc00..0xe000).contains(low))
                                })
                                .flatten();
                            let decoded = match pair {
                                Some(low) => {
                                    i += 6;
                                    char::from_u32(
                                        0x10000 + ((first - 0xd800) << 10) + (low - 0xdc00),
                                    )
                                }
                                None if surrogate => None,
                                None => char::from_u32(first),
                            };
                            decoded.unwrap_or(char::REPLACEMENT_CHARACTER)
                        }
                        _ => return None,
                    };
                    out.push(simple);
                }
                b'"' | 0..0x20 => return None,
                0..0x80 => {
                    out.push(char::from(c));
                    i += 1;
                }
                _ => {
                    // Go's utf8.DecodeRune: one rune, or U+FFFD for one byte.
                    let width = match c {
                        0xc0..0xe0 => 2,
                        0xe0..0xf0 => 3,
                        0xf0..0xf8 => 4,
                        _ => 1,
                    };
                    match inner
                        .get(i..i + width)
                        .and_then(|bytes| std::str::from_utf8(bytes).ok())
                    {
                        Some(text) => {
                            out.push_str(text);
                            i += width;
                        }
                        None => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            i += 1;
                        }
                    }
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
