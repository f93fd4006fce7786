//! The driver's `attributes`: a JSON object of strings holding the
//! SecretProviderClass parameters, the pod's volume attributes (which win
//! over parameters of the same key), the pod-info keys kubelet adds because
//! the CSIDriver has `podInfoOnMount: true`, and the ServiceAccount tokens.
//!
//! The tokens attribute is JSON inside a JSON string: its value is the text
//! of a map from audience to `{"token", "expirationTimestamp"}`. Parse
//! errors here report where the JSON is wrong, never what it holds, since
//! it holds tokens.

use std::{collections::BTreeMap, fmt};

use serde::Deserialize;

use crate::{Error, identity::ServiceAccountToken, limits::check_request_json};

/// Key of the ServiceAccount tokens attribute.
pub const SERVICE_ACCOUNT_TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";
/// Key of the pod's name.
pub const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
/// Key of the pod's namespace.
pub const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
/// Key of the pod's uid.
pub const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
/// Key of the pod's ServiceAccount name.
pub const SERVICE_ACCOUNT_NAME: &str = "csi.storage.k8s.io/serviceAccount.name";
/// Key of the SecretProviderClass name (from the pod's volumeAttributes).
pub const SECRET_PROVIDER_CLASS: &str = "secretProviderClass";

/// The driver's `attributes`, parsed. `Debug` lists the keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attributes(BTreeMap<String, String>);

/// The pod a mount is for, for logs and messages (all may be absent when
/// the CSIDriver lacks `podInfoOnMount`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInfo {
    /// `csi.storage.k8s.io/pod.namespace`.
    pub namespace: Option<String>,
    /// `csi.storage.k8s.io/pod.name`.
    pub name: Option<String>,
    /// `csi.storage.k8s.io/pod.uid`.
    pub uid: Option<String>,
    /// `csi.storage.k8s.io/serviceAccount.name`.
    pub service_account: Option<String>,
    /// `secretProviderClass`.
    pub secret_provider_class: Option<String>,
}

/// One entry of the tokens attribute.
#[derive(Deserialize)]
struct TokenEntry {
    token: String,
}

/// Where a JSON document is wrong, without quoting it.
fn json_reason(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected value type",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

// === impl Attributes ===

impl Attributes {
    /// Parses the `attributes` text; empty or `null` is an empty map.
    ///
    /// # Errors
    ///
    /// [`Error::RequestFieldTooLarge`] over the limit, unparsed;
    /// [`Error::InvalidAttributes`] when it is not a JSON object of strings.
    pub fn parse(json: &str) -> Result<Self, Error> {
        check_request_json("attributes", json)?;
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        let map: Option<BTreeMap<String, String>> =
            serde_json::from_str(json).map_err(|e| Error::InvalidAttributes {
                reason: json_reason(&e),
            })?;
        Ok(Self(map.unwrap_or_default()))
    }

    /// Builds attributes from pairs, as tests and tools do.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value of `key`, trimmed, or `None` when absent or blank (the Go
    /// provider trims every parameter).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// Refuses a mount without the pod's name or namespace, as the Go
    /// provider does first of all (`pkg/provider/provider.go`); the
    /// driver sends both when the CSIDriver has `podInfoOnMount: true`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingPodInfo`] naming the first missing one.
    pub fn require_pod(&self) -> Result<(), Error> {
        for (attribute, what) in [(POD_NAME, "pod name"), (POD_NAMESPACE, "pod namespace")] {
            if self.get(attribute).is_none() {
                return Err(Error::MissingPodInfo { what, attribute });
            }
        }
        Ok(())
    }

    /// The pod-info keys.
    #[must_use]
    pub fn pod(&self) -> PodInfo {
        let owned = |key| self.get(key).map(str::to_owned);
        PodInfo {
            namespace: owned(POD_NAMESPACE),
            name: owned(POD_NAME),
            uid: owned(POD_UID),
            service_account: owned(SERVICE_ACCOUNT_NAME),
            secret_provider_class: owned(SECRET_PROVIDER_CLASS),
        }
    }

    /// The token kubelet issued for `audience`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingTokens`] when the attribute is absent (the CSIDriver
    /// has no `tokenRequests`), [`Error::InvalidTokens`] when it is not the
    /// JSON kubelet writes, [`Error::TokenAudienceMissing`] when no token
    /// has that audience.
    pub fn token_for(&self, audience: &'static str) -> Result<ServiceAccountToken, Error> {
        let text = self
            .get(SERVICE_ACCOUNT_TOKENS)
            .ok_or(Error::MissingTokens)?;
        let mut tokens: BTreeMap<String, TokenEntry> =
            serde_json::from_str(text).map_err(|e| Error::InvalidTokens {
                reason: json_reason(&e),
            })?;
        match tokens.remove(audience) {
            Some(entry) if !entry.token.is_empty() => Ok(ServiceAccountToken::new(entry.token)),
            Some(_) => Err(Error::InvalidTokens {
                reason: format!("the token for audience {audience} is empty"),
            }),
            None => Err(Error::TokenAudienceMissing {
                audience,
                audiences: tokens.into_keys().collect(),
            }),
        }
    }
}

/// Checks the request's `secrets` as the Go provider does
/// (`pkg/server/server.go` unmarshals them into a map of strings before
/// anything else): JSON `null` or an object of strings; anything else,
/// the empty string included, is refused. Workload identity never reads
/// them, so nothing is kept, and errors never quote them.
///
/// # Errors
///
/// [`Error::RequestFieldTooLarge`] over the limit, unparsed;
/// [`Error::InvalidSecrets`] when they are not that JSON.
pub fn check_secrets(json: &str) -> Result<(), Error> {
    check_request_json("secrets", json)?;
    serde_json::from_str::<Option<BTreeMap<String, String>>>(json)
        .map(drop)
        .map_err(|e| Error::InvalidSecrets {
            reason: json_reason(&e),
        })
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Attributes")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

// === impl PodInfo ===

impl PodInfo {
    /// `namespace/name` of the pod, or `?` parts when unknown.
    #[must_use]
    pub fn pod_ref(&self) -> String {
        format!(
            "{}/{}",
            self.namespace.as_deref().unwrap_or("?"),
            self.name.as_deref().unwrap_or("?")
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use azure_wi_core::names::DEFAULT_AUDIENCE;

    use super::*;
    use crate::identity::tests::jwt;

    /// The tokens attribute value kubelet writes for these audiences.
    pub(crate) fn tokens_attribute(entries: &[(&str, &str)]) -> String {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .iter()
            .map(|(aud, token)| {
                (
                    (*aud).to_owned(),
                    serde_json::json!({"token": token, "expirationTimestamp": "2026-07-01T12:00:00Z"}),
                )
            })
            .collect();
        serde_json::Value::Object(map).to_string()
    }

    #[test]
    fn parses_the_driver_json_with_the_double_encoded_tokens() {
        let token = jwt("https://issuer/", "system:serviceaccount:shop:web");
        let attributes = serde_json::json!({
            "keyvaultName": " kv1 ",
            "csi.storage.k8s.io/pod.name": "web-0",
            "csi.storage.k8s.io/pod.namespace": "shop",
            "csi.storage.k8s.io/pod.uid": "f00",
            "csi.storage.k8s.io/serviceAccount.name": "web",
            "csi.storage.k8s.io/ephemeral": "true",
            "secretProviderClass": "spc",
            SERVICE_ACCOUNT_TOKENS: tokens_attribute(&[("api://AKSIdentityBinding", "other"), (DEFAULT_AUDIENCE, &token)]),
        })
        .to_string();
        let parsed = Attributes::parse(&attributes).unwrap();
        assert_eq!(parsed.get("keyvaultName"), Some("kv1"));
        assert_eq!(parsed.get("missing"), None);
        assert_eq!(parsed.token_for(DEFAULT_AUDIENCE).unwrap().expose(), token);
        let pod = parsed.pod();
        assert_eq!(pod.pod_ref(), "shop/web-0");
        assert_eq!(pod.uid.as_deref(), Some("f00"));
        assert_eq!(pod.service_account.as_deref(), Some("web"));
        assert_eq!(pod.secret_provider_class.as_deref(), Some("spc"));
        let debug = format!("{parsed:?}");
        assert!(
            debug.contains("keyvaultName") && !debug.contains("eyJ") && !debug.contains("kv1"),
            "{debug}"
        );
    }

    #[test]
    fn empty_and_null_attributes_are_empty() {
        assert_eq!(Attributes::parse("").unwrap(), Attributes::default());
        assert_eq!(Attributes::parse("null").unwrap(), Attributes::default());
        assert_eq!(PodInfo::default().pod_ref(), "?/?");
    }

    #[test]
    fn malformed_attributes_say_where_without_quoting() {
        let err = Attributes::parse(r#"{"a": 5}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the driver's attributes are not a JSON object of strings: unexpected value type at line 1 column 7"
        );
        assert!(
            Attributes::parse("{")
                .unwrap_err()
                .to_string()
                .contains("truncated JSON")
        );
    }

    #[test]
    fn secrets_must_be_json_as_the_go_provider_reads_them() {
        for ok in [
            "null",
            "{}",
            r#"{"clientid":"a","clientsecret":"b"}"#,
            " null ",
        ] {
            assert_eq!(check_secrets(ok), Ok(()), "{ok:?}");
        }
        let err = check_secrets("").unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to unmarshal secrets: the driver's secrets (from nodePublishSecretRef) are \
             not a JSON object of strings: truncated JSON at line 1 column 0"
        );
        let err = check_secrets(r#"{"clientsecret": 5}"#).unwrap_err();
        assert!(matches!(err, Error::InvalidSecrets { .. }), "{err}");
        let err = check_secrets(r#"{"clientsecret": "hunter2""#).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(matches!(
            check_secrets(&" ".repeat(crate::limits::MAX_REQUEST_JSON_BYTES + 1)),
            Err(Error::RequestFieldTooLarge {
                field: "secrets",
                ..
            })
        ));
    }

    #[test]
    fn a_mount_needs_the_pod_name_and_namespace() {
        let both = Attributes::from_pairs([(POD_NAME, "web-0"), (POD_NAMESPACE, "shop")]);
        assert_eq!(both.require_pod(), Ok(()));
        let err = Attributes::from_pairs([(POD_NAMESPACE, "shop"), (POD_NAME, " ")])
            .require_pod()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "pod name is not provided: the mount request has no csi.storage.k8s.io/pod.name \
             attribute; the CSIDriver secrets-store.csi.k8s.io must have `podInfoOnMount: true`; \
             check it with `kubectl get csidriver secrets-store.csi.k8s.io -o yaml`"
        );
        let err = Attributes::from_pairs([(POD_NAME, "web-0")])
            .require_pod()
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "pod namespace is not provided: the mount request has no \
                 csi.storage.k8s.io/pod.namespace attribute"
            ),
            "{err}"
        );
        assert!(matches!(
            Attributes::parse(&" ".repeat(crate::limits::MAX_REQUEST_JSON_BYTES + 1)),
            Err(Error::RequestFieldTooLarge {
                field: "attributes",
                ..
            })
        ));
    }

    #[test]
    fn missing_tokens_attribute_points_at_the_csidriver() {
        let err = Attributes::default()
            .token_for(DEFAULT_AUDIENCE)
            .unwrap_err();
        assert_eq!(err, Error::MissingTokens);
        assert!(
            err.to_string()
                .contains("kubectl get csidriver secrets-store.csi.k8s.io -o yaml")
        );
    }

    #[test]
    fn tokens_without_the_audience_list_the_others() {
        let attributes = Attributes::from_pairs([(
            SERVICE_ACCOUNT_TOKENS,
            tokens_attribute(&[("api://AKSIdentityBinding", "eyJsecret")]),
        )]);
        let err = attributes.token_for(DEFAULT_AUDIENCE).unwrap_err();
        assert_eq!(
            err,
            Error::TokenAudienceMissing {
                audience: DEFAULT_AUDIENCE,
                audiences: vec!["api://AKSIdentityBinding".into()]
            }
        );
        assert!(!err.to_string().contains("eyJsecret"));
    }

    #[test]
    fn malformed_tokens_never_echo_the_token() {
        for bad in [
            format!(r#"{{"{DEFAULT_AUDIENCE}":"eyJsecret"}}"#),
            "eyJsecret".to_owned(),
            format!(r#"{{"{DEFAULT_AUDIENCE}":{{"token":""}}}}"#),
        ] {
            let attributes = Attributes::from_pairs([(SERVICE_ACCOUNT_TOKENS, bad.as_str())]);
            let err = attributes.token_for(DEFAULT_AUDIENCE).unwrap_err();
            assert!(matches!(err, Error::InvalidTokens { .. }), "{bad}: {err}");
            assert!(!err.to_string().contains("eyJsecret"), "{err}");
        }
    }
}
