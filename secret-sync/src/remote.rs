//! What one remote reference reads and the bytes it gives, as ESO's azurekv
//! provider gives them (`providers/v1/azure/keyvault/keyvault.go` in external-secrets/external-secrets): `remoteRef.key`'s `secret/`,
//! `cert/` and `key/` prefixes, certificates as DER, keys as their public
//! JWK in JSON, `property` as a gjson path into a JSON value, and the
//! decoding strategies.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, value::RawValue};

use crate::{Error, api::DecodingStrategy};

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
