//! Key Vault's JSON shapes: SecretBundle and SecretItem.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use serde_json::Value;

use crate::SecretValue;

/// A secret's metadata: what a list returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretProperties {
    /// The secret's id, with the version when it names one.
    pub id: String,
    /// The secret's name.
    pub name: String,
    /// The version, when the id names one.
    pub version: Option<String>,
    /// Whether it may be read.
    pub enabled: bool,
    /// Its content type, if set.
    pub content_type: Option<String>,
    /// When it was created.
    pub created: Option<SystemTime>,
    /// When it was last updated.
    pub updated: Option<SystemTime>,
    /// `attributes.nbf`: not valid before, when set.
    pub not_before: Option<SystemTime>,
    /// `attributes.exp`: expires, when set (Key Vault still serves an
    /// expired secret).
    pub expires: Option<SystemTime>,
    /// `kid`: set when a certificate owns the secret; the secret's value is
    /// then the certificate with its private key, encoded as
    /// [`content_type`](Self::content_type) says (`application/x-pkcs12`,
    /// base64 PKCS#12, or `application/x-pem-file`).
    pub key_id: Option<String>,
    /// Whether a certificate owns the secret.
    pub managed: bool,
    /// Its tags (string values; Key Vault allows no others).
    pub tags: BTreeMap<String, String>,
}

impl SecretProperties {
    /// The metadata of an enabled secret with this `id`
    /// (`https://<vault>/secrets/<name>[/<version>]`) and nothing else
    /// set, for a stand-in vault; `None` when `id` names no secret.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        properties(&serde_json::json!({ "id": id }))
    }
}

/// A secret with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// Metadata.
    pub properties: SecretProperties,
    /// The value (redacted in `Debug`).
    pub value: SecretValue,
}

pub(crate) fn unix(value: &Value) -> Option<SystemTime> {
    value
        .as_u64()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

/// Reads a SecretItem or the metadata of a SecretBundle.
pub(crate) fn properties(json: &Value) -> Option<SecretProperties> {
    let id = json["id"].as_str()?.to_owned();
    let path = url::Url::parse(&id).ok()?.path().to_owned();
    let mut segments = path.trim_start_matches('/').split('/');
    if segments.next()? != "secrets" {
        return None;
    }
    let name = segments.next()?.to_owned();
    let version = segments.next().filter(|v| !v.is_empty()).map(str::to_owned);
    let attributes = &json["attributes"];
    Some(SecretProperties {
        id,
        name,
        version,
        enabled: attributes["enabled"].as_bool().unwrap_or(true),
        content_type: json["contentType"].as_str().map(str::to_owned),
        created: unix(&attributes["created"]),
        updated: unix(&attributes["updated"]),
        not_before: unix(&attributes["nbf"]),
        expires: unix(&attributes["exp"]),
        key_id: json["kid"].as_str().map(str::to_owned),
        managed: json["managed"].as_bool().unwrap_or(false),
        tags: tags(json),
    })
}

/// An object's `tags`: each string value by name (Key Vault allows no
/// others; anything else is left out), empty when there are none.
pub(crate) fn tags(json: &Value) -> BTreeMap<String, String> {
    json["tags"]
        .as_object()
        .map(|tags| {
            tags.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a SecretBundle.
pub(crate) fn secret(json: &Value) -> Option<Secret> {
    Some(Secret {
        properties: properties(json)?,
        value: SecretValue::new(json["value"].as_str()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_bundles_and_items() {
        let bundle = json!({"value": "v", "id": "https://kv.vault.azure.net/secrets/db/4387e9f3d6e14c459867679a90fd0f79",
            "contentType": "text/plain", "attributes": {"enabled": true, "created": 1493938410, "updated": 1493938411,
            "nbf": 1493938400, "exp": 1893456000}});
        let s = secret(&bundle).unwrap();
        assert_eq!(s.value.expose(), "v");
        assert_eq!(s.properties.name, "db");
        assert_eq!(
            s.properties.version.as_deref(),
            Some("4387e9f3d6e14c459867679a90fd0f79")
        );
        assert_eq!(
            s.properties.created,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1493938410))
        );
        assert_eq!(
            s.properties.not_before,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1493938400))
        );
        assert_eq!(
            s.properties.expires,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1893456000))
        );
        let item = properties(&json!({"id": "https://kv.vault.azure.net/secrets/db", "attributes": {"enabled": false}})).unwrap();
        assert_eq!(
            (item.name.as_str(), item.version, item.enabled),
            ("db", None, false)
        );
        assert_eq!((item.not_before, item.expires), (None, None));
        assert!(secret(&json!({"id": "https://kv.vault.azure.net/keys/k"})).is_none());
        let tagged = properties(&json!({"id": "https://kv.vault.azure.net/secrets/db",
            "tags": {"env": "prod", "team": "a"}}))
        .unwrap();
        assert_eq!(tagged.tags.len(), 2);
        assert_eq!(tagged.tags["env"], "prod");
        assert!(item.tags.is_empty());
    }
}
