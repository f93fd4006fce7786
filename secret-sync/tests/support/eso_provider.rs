//! ESO's azurekv provider test cases (`TestAzureKeyVaultSecretManagerGetSecret`,
//! `TestAzureKeyVaultSecretManagerGetSecretMap` and
//! `TestAzureKeyVaultSecretManagerGetAllSecrets` in external-secrets/
//! external-secrets `providers/v1/azure/keyvault/keyvault_test.go`), one
//! table for the emulator's Key Vault: the vaults holding what ESO's mock
//! returns, the tags and attributes its mocked bundles carry, and each
//! case's ExternalSecret and outcome. `tests/emulator.rs` runs the table
//! through `Reader::fetch` and `target::assemble`, `tests/provider_cases.rs`
//! through the controller on a real API server.
// Each test crate uses a part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;

use azure_wi_auth::WorkloadIdentityCredential;
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{
        CertificateContentType, CertificateIssuer, CertificateSeed, CertificateVersionSeed, Curve,
        DEMO_OBJECT_ID, KeySeed, KeySpec, KeyVersionSeed, RoleAssignment, SecretSeed, Vault,
        VersionSeed,
    },
};
use serde_json::json;

#[path = "key_vault.rs"]
mod key_vault;
pub(crate) use key_vault::update_in;
use key_vault::{demo_credential_from, secret_seed, vault_token};

/// ESO's `jsonTestString`.
pub(crate) const ESO_JSON: &str = r#"{"Name": "External", "LastName": "Secret", "Address": { "Street": "Myroad st.", "CP": "J4K4T4" } }"#;
/// ESO's `jsonSingleTestString`.
const ESO_JSON_SINGLE: &str = r#"{"Name": "External", "LastName": "Secret" }"#;
/// ESO's `getTagMap()`.
const ESO_TAGS: &[(&str, &str)] = &[("tagname", "tagvalue"), ("tagname2", "tagvalue2")];
/// ESO's key operations of `jwkPubRSA`.
const ESO_RSA_OPS: &[&str] = &[
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "encrypt",
    "decrypt",
];

/// What one ExternalSecret of a case gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The Secret's data.
    Synced(BTreeMap<String, Vec<u8>>),
    /// The ExternalSecret is refused as written, before any read (the
    /// plan's text).
    Refused(String),
    /// What was read cannot make the Secret: a property or tag that is
    /// not there, an extract that is not JSON, a key or certificate by
    /// `dataFrom` (the assembly's text).
    Unusable(String),
    /// A remote object the ExternalSecret names is not in the vault (its
    /// key): `deletionPolicy` decides.
    NotFound(String),
    /// The read failed otherwise (no case expects it).
    ReadFailed(String),
}

/// One of ESO's cases against the emulator.
pub(crate) struct Case {
    /// ESO's name for it (some repeat: ESO's tests are three tables).
    pub(crate) name: &'static str,
    /// The vault holding what ESO's mock returns for it.
    pub(crate) vault: &'static str,
    /// The ExternalSecret's `data` or `dataFrom`, as YAML indented under
    /// `spec:`.
    pub(crate) spec: String,
    /// ESO's outcome.
    pub(crate) expected: Outcome,
}

fn key_seed(name: &str, key: KeySpec, ops: &[&str]) -> KeySeed {
    KeySeed {
        name: name.to_owned(),
        versions: vec![KeyVersionSeed {
            key,
            key_ops: Some(ops.iter().map(|op| (*op).to_owned()).collect()),
            enabled: true,
        }],
    }
}

fn certificate_seed(name: &str, content_type: CertificateContentType) -> CertificateSeed {
    CertificateSeed {
        name: name.to_owned(),
        versions: vec![CertificateVersionSeed {
            key: KeySpec::ec(Curve::P256),
            subject: format!("CN={name}.example.com"),
            dns_names: Vec::new(),
            issuer: CertificateIssuer::SelfSigned,
            content_type,
            validity_months: 12,
            enabled: true,
        }],
    }
}

/// [`Config::demo`] with the cases' vaults instead of `orders-kv`, each
/// holding what ESO's mock returns for its cases (under ESO's names:
/// `test-secret`, `key/keyname`, `cert/certname`, `example-1`), and the
/// demo identity an officer of secrets, keys and certificates in each.
pub(crate) fn config() -> Config {
    let vault = |name: &str, secrets, keys, certificates| Vault {
        name: name.to_owned(),
        tenant: None,
        secrets,
        keys,
        certificates,
    };
    let test_secret = |values: &[&str]| vec![secret_seed("test-secret", values)];
    let rsa = || key_seed("keyname", KeySpec::rsa(2048), ESO_RSA_OPS);
    let certname = || certificate_seed("certname", CertificateContentType::Pkcs12);
    let mut config = Config::demo();
    config.vaults = vec![
        vault(
            "get-default",
            test_secret(&["Hello World!"]),
            vec![],
            vec![],
        ),
        vault("get-string", test_secret(&["changedvalue"]), vec![], vec![]),
        vault(
            "get-version",
            test_secret(&["changedvalue", "later"]),
            vec![],
            vec![],
        ),
        vault("get-json", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("get-rsa", vec![], vec![rsa()], vec![]),
        vault("key-tags", vec![], vec![rsa()], vec![]),
        vault(
            "get-ec",
            vec![],
            vec![key_seed(
                "keyname",
                KeySpec::ec(Curve::P521),
                &["sign", "verify"],
            )],
            vec![],
        ),
        vault("empty", vec![], vec![], vec![]),
        vault("get-cert", vec![], vec![], vec![certname()]),
        vault("cert-tags", vec![], vec![], vec![certname()]),
        vault(
            "get-expires",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault(
            "secret-tags",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault("no-tags", test_secret(&["Hello World!"]), vec![], vec![]),
        vault("tag-foo-bar", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("tag-json", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("tag-nested", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault("tag-dotted", test_secret(&[ESO_JSON]), vec![], vec![]),
        vault(
            "dotted-value",
            test_secret(&[r#"{"foo.json":"bar"}"#]),
            vec![],
            vec![],
        ),
        vault(
            "map-single",
            test_secret(&[ESO_JSON_SINGLE]),
            vec![],
            vec![],
        ),
        vault(
            "map-json-tag",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault(
            "map-nested-tag",
            test_secret(&["changedvalue"]),
            vec![],
            vec![],
        ),
        vault(
            "all-one-name",
            vec![secret_seed("example-1", &["changedvalue"])],
            vec![],
            vec![],
        ),
        vault(
            "all-two-name",
            vec![
                secret_seed("example-1", &["changedvalue"]),
                secret_seed("not-valid", &["changedvalue"]),
            ],
            vec![],
            vec![],
        ),
        vault(
            "all-one-tag",
            vec![secret_seed("example-1", &["changedvalue"])],
            vec![],
            vec![],
        ),
        vault(
            "all-two-tag",
            vec![secret_seed("example-1", &["changedvalue"])],
            vec![],
            vec![],
        ),
        vault(
            "all-details",
            vec![
                secret_seed("example-1", &["changedvalue"]),
                SecretSeed {
                    name: "example-2".to_owned(),
                    versions: vec![VersionSeed {
                        value: "disabled".to_owned(),
                        content_type: None,
                        enabled: false,
                    }],
                },
                secret_seed("example-3", &["changedvalue"]),
                secret_seed("example-4", &["changedvalue"]),
                SecretSeed {
                    name: "example-json".to_owned(),
                    versions: vec![VersionSeed {
                        value: ESO_JSON.to_owned(),
                        content_type: Some("application/json".to_owned()),
                        enabled: true,
                    }],
                },
            ],
            vec![],
            vec![
                certificate_seed("example-cert", CertificateContentType::Pkcs12),
                certificate_seed("example-pem", CertificateContentType::Pem),
            ],
        ),
    ];
    config.role_assignments = config
        .vaults
        .iter()
        .flat_map(|vault| {
            key_vault::OFFICERS.map(|role| RoleAssignment {
                principal_id: DEMO_OBJECT_ID.to_owned(),
                role,
                scope: vault.name.clone(),
            })
        })
        .collect();
    config
}

/// The demo workload's (`team-a/orders-api`) credential against
/// `emulator`, its token file in the returned directory.
pub(crate) fn demo_credential(
    emulator: &Emulator,
) -> (tempfile::TempDir, WorkloadIdentityCredential) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    (dir, demo_credential_from(emulator, token_file))
}

/// What Key Vault answers to `GET <path>` in vault `vault`, as JSON.
pub(crate) async fn raw_get(
    emulator: &Emulator,
    credential: &WorkloadIdentityCredential,
    vault: &str,
    path: &str,
) -> serde_json::Value {
    let response = emulator
        .client()
        .unwrap()
        .get(format!(
            "{}/{path}?api-version=7.4",
            emulator.vault_url(vault)
        ))
        .bearer_auth(vault_token(credential).await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{vault}/{path}");
    response.json().await.unwrap()
}

/// A JSON string as Go's `encoding/json` writes it, for the strings these
/// cases hold (none has a character Go escapes otherwise than serde).
fn go_string(text: &str) -> String {
    assert!(
        !text.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) && !text.contains(char::is_control),
        "{text}"
    );
    serde_json::to_string(text).unwrap()
}

/// Go's `json.Marshal` of the `JSONWebKey` Key Vault returned (the Go
/// SDK's struct: its fields in their order, the absent ones left out):
/// the bytes ESO's `getSecretWithLegacySDK` gives for `key/`.
fn go_jwk(key: &serde_json::Value) -> String {
    let fields = [
        "kid", "kty", "key_ops", "n", "e", "d", "dp", "dq", "qi", "p", "q", "k", "key_hsm", "crv",
        "x", "y",
    ];
    let written: Vec<String> = fields
        .iter()
        .filter_map(|field| {
            let value = key.get(*field)?;
            let text = match value {
                serde_json::Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|item| go_string(item.as_str().unwrap()))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                other => go_string(other.as_str().unwrap()),
            };
            Some(format!("\"{field}\":{text}"))
        })
        .collect();
    format!("{{{}}}", written.join(","))
}

/// ESO's `getSecretAllMetadata` of what Key Vault returned for an object
/// (a SecretBundle, KeyBundle or CertificateBundle): its tags, and each
/// attribute set as `attribute.*` in RFC 3339 UTC.
fn all_metadata(bundle: &serde_json::Value) -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = bundle["tags"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    for (attribute, name) in [
        ("exp", "attribute.expires"),
        ("created", "attribute.created"),
        ("updated", "attribute.updated"),
        ("nbf", "attribute.notBefore"),
    ] {
        if let Some(seconds) = bundle["attributes"][attribute].as_i64() {
            let at = time::OffsetDateTime::from_unix_timestamp(seconds)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            all.insert(name.to_owned(), at);
        }
    }
    all
}

/// Go's `json.Marshal` of a `map[string]string`.
fn go_map(map: &BTreeMap<String, String>) -> String {
    let fields: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}:{}", go_string(k), go_string(v)))
        .collect();
    format!("{{{}}}", fields.join(","))
}

fn data(entries: &[(&str, &[u8])]) -> Outcome {
    Outcome::Synced(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.to_vec()))
            .collect(),
    )
}

/// A `data` entry `v` reading `remote_ref` (a YAML flow mapping's body).
fn one(remote_ref: &str) -> String {
    format!("  data:\n  - secretKey: v\n    remoteRef: {{{remote_ref}}}\n")
}

/// A `dataFrom.extract` of `extract` (a YAML flow mapping's body).
fn extract(extract: &str) -> String {
    format!("  dataFrom:\n  - extract: {{{extract}}}\n")
}

/// ESO's cases against `emulator` started with [`config`]: sets the tags
/// and attributes ESO's mocked bundles carry with Key Vault's `PATCH` (as
/// `credential`, an officer in every vault: [`demo_credential`]), then
/// makes each case's ExternalSecret (asking what ESO's `ref` asks) and
/// ESO's outcome: ESO's expected bytes, or ESO's text. Where ESO's bytes
/// come from Key Vault's answer (a key's JWK, a certificate's DER, the
/// `created` and `updated` attributes Key Vault always returns, which
/// ESO's mocked bundles lack), they are made from the answer here as
/// ESO's code makes them: Go's `json.Marshal` of the Go SDK's
/// `JSONWebKey`, the `cer` bytes, `getSecretAllMetadata`.
pub(crate) async fn prepare(
    emulator: &Emulator,
    credential: &WorkloadIdentityCredential,
) -> Vec<Case> {
    // Tags and attributes, as ESO's mocked bundles carry them.
    let tags = |pairs: &[(&str, &str)]| json!({"tags": pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<serde_json::Map<_, _>>()});
    let nested = r#"{"key":"value", "nested": {"foo":"bar"}}"#;
    let dev = r#"{"foo":"bar","nested.tag":{"foo":"bar"}}"#;
    #[rustfmt::skip]
    let patches: &[(&str, &str, serde_json::Value)] = &[
        ("key-tags", "keys/keyname", tags(ESO_TAGS)),
        ("cert-tags", "certificates/certname", tags(ESO_TAGS)),
        ("get-expires", "secrets/test-secret", json!({"attributes": {"exp": 1_893_456_000}})),
        ("secret-tags", "secrets/test-secret", tags(ESO_TAGS)),
        ("tag-foo-bar", "secrets/test-secret", tags(&[("foo", "bar")])),
        ("tag-json", "secrets/test-secret", tags(&[("foo", r#"{"key":"value"}"#)])),
        ("tag-nested", "secrets/test-secret", tags(&[("foo", nested)])),
        ("tag-dotted", "secrets/test-secret", tags(&[("foo", r#"{"foo.json":"bar"}"#)])),
        ("map-json-tag", "secrets/test-secret", tags(&[("json", r#"{"keyname":"keyvalue","x":"y"}"#)])),
        ("map-nested-tag", "secrets/test-secret", tags(&[("dev", dev), ("bug", "1137")])),
        ("all-one-tag", "secrets/example-1", tags(&[("environment", "dev")])),
        ("all-two-tag", "secrets/example-1", tags(&[("environment", "dev"), ("author", "seb")])),
        ("all-details", "secrets/example-1", tags(&[("environment", "dev"), ("author", "seb")])),
        ("all-details", "secrets/example-3", tags(&[("environment", "dev")])),
        ("all-details", "secrets/example-4", tags(&[("environment", "Dev"), ("author", "seb")])),
    ];
    for (vault, path, body) in patches {
        update_in(emulator, credential, vault, path, body.clone()).await;
    }

    // What ESO's code makes of Key Vault's answers.
    let get = |vault: &'static str, path: &'static str| raw_get(emulator, credential, vault, path);
    let rsa_jwk = go_jwk(&get("get-rsa", "keys/keyname").await["key"]);
    let ec_jwk = go_jwk(&get("get-ec", "keys/keyname").await["key"]);
    assert!(rsa_jwk.starts_with(r#"{"kid":"https://get-rsa."#) && rsa_jwk.contains(
        r#"","kty":"RSA","key_ops":["sign","verify","wrapKey","unwrapKey","encrypt","decrypt"],"n":""#
    ), "{rsa_jwk}");
    assert!(
        ec_jwk.contains(r#"","kty":"EC","key_ops":["sign","verify"],"crv":"P-521","x":""#),
        "{ec_jwk}"
    );
    let certificate = get("get-cert", "certificates/certname").await;
    let der = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        certificate["cer"].as_str().unwrap(),
    )
    .unwrap();
    let all_of =
        async |vault: &'static str, path: &'static str| all_metadata(&get(vault, path).await);
    let all_json =
        async |vault: &'static str, path: &'static str| go_map(&all_of(vault, path).await);
    // ESO's getSecretTagsWithLegacySDK: `test-secret_<tag>` (a JSON object
    // of strings split by field), then `test-secret_attribute.*`.
    let split = async |vault: &'static str, fields: &[(&str, &str)]| {
        let mut keys: BTreeMap<String, Vec<u8>> = fields
            .iter()
            .map(|(k, v)| (format!("test-secret_{k}"), v.as_bytes().to_vec()))
            .collect();
        for (name, at) in all_of(vault, "secrets/test-secret").await {
            if name.starts_with("attribute.") {
                keys.insert(format!("test-secret_{name}"), at.into_bytes());
            }
        }
        Outcome::Synced(keys)
    };
    // The version of `changedvalue`, not the current one.
    let current = get("get-version", "secrets/test-secret").await;
    assert_eq!(current["value"], "later", "the current version is another");
    let versions = get("get-version", "secrets/test-secret/versions").await;
    let mut first_version = None;
    for item in versions["value"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let version = id.rsplit('/').next().unwrap();
        let this = raw_get(
            emulator,
            credential,
            "get-version",
            &format!("secrets/test-secret/{version}"),
        )
        .await;
        if this["value"] == "changedvalue" {
            first_version = Some(version.to_owned());
        }
    }
    let first_version = first_version.unwrap();
    let value_of = async |path: &'static str| {
        let secret = get("all-details", path).await;
        secret["value"].as_str().unwrap().as_bytes().to_vec()
    };
    let example_cert = value_of("secrets/example-cert").await;
    let example_pem = value_of("secrets/example-pem").await;
    assert!(example_pem.starts_with(b"-----BEGIN"), "the PEM secret");

    let not_json = "error unmarshalling json data: invalid character looking for beginning of value: dataFrom.extract needs the secret test-secret to hold a JSON object; use data with a secretKey for a plain value";
    let tag_nope = "tag something does not exist";
    let bad_type = "unknown Azure Keyvault object Type for name: remoteRef.key example/name has none of the prefixes secret/, cert/, key/; use <name>, secret/<name>, cert/<name> or key/<name>";
    let find = |tags: &str| {
        format!("  dataFrom:\n  - find: {{name: {{regexp: \"^example\"}}, tags: {tags}}}\n")
    };
    let changed: &[u8] = b"changedvalue";
    let unusable = |text: &str| Outcome::Unusable(text.to_owned());
    let not_found = |key: &str| Outcome::NotFound(key.to_owned());
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, String, Outcome)> = vec![
        // TestAzureKeyVaultSecretManagerGetSecret
        ("makeValidSecretManagerTestCase", "get-default", one("key: test-secret"),
            data(&[("v", b"Hello World!")])),
        ("setSecretString", "get-string", one("key: test-secret"), data(&[("v", changed)])),
        ("setSecretStringWithVersion", "get-version",
            one(&format!("key: test-secret, version: {first_version}")), data(&[("v", changed)])),
        ("setSecretWithProperty", "get-json", one("key: test-secret, property: Name"),
            data(&[("v", b"External")])),
        ("badSecretWithProperty", "get-json", one("key: test-secret, property: Age"),
            unusable("property Age does not exist in key test-secret")),
        ("setPubRSAKey", "get-rsa", one("key: key/keyname"), data(&[("v", rsa_jwk.as_bytes())])),
        ("setPubECKey", "get-ec", one("key: key/keyname"), data(&[("v", ec_jwk.as_bytes())])),
        ("secretNotFound", "empty", one("key: test-secret"), not_found("test-secret")),
        ("certNotFound", "empty", one("key: cert/certname"), not_found("cert/certname")),
        ("keyNotFound", "empty", one("key: key/keyname"), not_found("key/keyname")),
        ("setCertificate", "get-cert", one("key: cert/certname"), data(&[("v", &der)])),
        ("badSecretType", "empty", one("key: example/name"), Outcome::Refused(bad_type.to_owned())),
        ("setSecretWithExpiresAttribute", "get-expires",
            one("key: test-secret, metadataPolicy: Fetch, property: attribute.expires"),
            data(&[("v", b"2030-01-01T00:00:00Z")])),
        ("setSecretWithTag", "secret-tags", one("key: test-secret, metadataPolicy: Fetch, property: tagname"),
            data(&[("v", b"tagvalue")])),
        ("badSecretWithTag", "no-tags", one("key: test-secret, metadataPolicy: Fetch, property: something"),
            unusable(tag_nope)),
        ("setSecretWithNoSpecificTag", "secret-tags", one("key: test-secret, metadataPolicy: Fetch"),
            data(&[("v", all_json("secret-tags", "secrets/test-secret").await.as_bytes())])),
        ("setSecretWithNoTags", "no-tags", one("key: test-secret, metadataPolicy: Fetch"),
            data(&[("v", all_json("no-tags", "secrets/test-secret").await.as_bytes())])),
        ("setCertWithTag", "cert-tags", one("key: cert/certname, metadataPolicy: Fetch, property: tagname"),
            data(&[("v", b"tagvalue")])),
        ("badCertWithTag", "get-cert", one("key: cert/certname, metadataPolicy: Fetch, property: something"),
            unusable(tag_nope)),
        ("setCertWithNoSpecificTag", "cert-tags", one("key: cert/certname, metadataPolicy: Fetch"),
            data(&[("v", all_json("cert-tags", "certificates/certname").await.as_bytes())])),
        ("setCertWithNoTags", "get-cert", one("key: cert/certname, metadataPolicy: Fetch"),
            data(&[("v", all_json("get-cert", "certificates/certname").await.as_bytes())])),
        ("setKeyWithTag", "key-tags", one("key: key/keyname, metadataPolicy: Fetch, property: tagname"),
            data(&[("v", b"tagvalue")])),
        ("badKeyWithTag", "key-tags", one("key: key/keyname, metadataPolicy: Fetch, property: something"),
            unusable(tag_nope)),
        ("setKeyWithNoSpecificTag", "key-tags", one("key: key/keyname, metadataPolicy: Fetch"),
            data(&[("v", all_json("key-tags", "keys/keyname").await.as_bytes())])),
        ("setKeyWithNoTags", "get-rsa", one("key: key/keyname, metadataPolicy: Fetch"),
            data(&[("v", all_json("get-rsa", "keys/keyname").await.as_bytes())])),
        ("badPropertyTag", "no-tags", one("key: test-secret, property: tagname"),
            unusable("property tagname does not exist in key test-secret")),
        ("fetchSingleTag", "tag-foo-bar", one("key: test-secret, metadataPolicy: Fetch, property: foo"),
            data(&[("v", b"bar")])),
        ("fetchJSONTag", "tag-json", one("key: test-secret, metadataPolicy: Fetch, property: foo"),
            data(&[("v", br#"{"key":"value"}"#)])),
        ("fetchDottedJSONTag", "tag-json", one("key: test-secret, metadataPolicy: Fetch, property: foo.key"),
            data(&[("v", b"value")])),
        ("fetchNestedJSONTag", "tag-nested", one("key: test-secret, metadataPolicy: Fetch, property: foo.nested"),
            data(&[("v", br#"{"foo":"bar"}"#)])),
        ("fetchNestedDottedJSONTag", "tag-nested",
            one("key: test-secret, metadataPolicy: Fetch, property: foo.nested.foo"), data(&[("v", b"bar")])),
        ("fetchDottedKeyJSONTag", "tag-dotted",
            one("key: test-secret, metadataPolicy: Fetch, property: foo.foo.json"), data(&[("v", b"bar")])),
        ("fetchDottedSecretJSONTag", "dotted-value", one("key: test-secret, property: foo.json"),
            data(&[("v", b"bar")])),
        // ESO returns a certificate's Cer before reading any property.
        ("(cert/ with a property)", "get-cert", one("key: cert/certname, property: Name"),
            data(&[("v", &der)])),
        // TestAzureKeyVaultSecretManagerGetSecretMap
        ("badSecretString", "get-string", extract("key: test-secret"), unusable(not_json)),
        ("setSecretJSON", "map-single", extract("key: test-secret"),
            data(&[("Name", b"External"), ("LastName", b"Secret")])),
        ("setSecretJSONWithProperty", "get-json", extract("key: test-secret, property: Address"),
            data(&[("Street", b"Myroad st."), ("CP", b"J4K4T4")])),
        ("badSecretWithProperty", "get-json", extract("key: test-secret, property: Age"),
            unusable("property Age does not exist in key test-secret")),
        ("badPubRSAKey", "get-rsa", extract("key: key/keyname"),
            Outcome::Refused("cannot get use dataFrom to get key secret: dataFrom reads secrets only; use data with cert/ or key/".to_owned())),
        ("badCertificate", "get-cert", extract("key: cert/certname"),
            Outcome::Refused("cannot get use dataFrom to get certificate secret: dataFrom reads secrets only; use data with cert/ or key/".to_owned())),
        ("badSecretType", "empty", extract("key: example/name"), Outcome::Refused(bad_type.to_owned())),
        ("setSecretTags", "secret-tags", extract("key: test-secret, metadataPolicy: Fetch"),
            split("secret-tags", ESO_TAGS).await),
        ("setSecretWithJSONTag", "map-json-tag", extract("key: test-secret, metadataPolicy: Fetch"),
            split("map-json-tag", &[("json_keyname", "keyvalue"), ("json_x", "y")]).await),
        ("setSecretWithNoTags", "no-tags", extract("key: test-secret, metadataPolicy: Fetch"),
            split("no-tags", &[]).await),
        ("nestedJSONNoProperty", "get-json", extract("key: test-secret"),
            data(&[("Name", b"External"), ("LastName", b"Secret"),
                ("Address", br#"{ "Street": "Myroad st.", "CP": "J4K4T4" }"#)])),
        ("setNestedJSONTag", "map-nested-tag", extract("key: test-secret, metadataPolicy: Fetch, property: dev"),
            data(&[("test-secret_dev", dev.as_bytes())])),
        // TestAzureKeyVaultSecretManagerGetAllSecrets
        ("setOneSecretByName", "all-one-name", find("{}"), data(&[("example-1", changed)])),
        ("setTwoSecretsByName", "all-two-name", find("{}"), data(&[("example-1", changed)])),
        ("setOneSecretByTag", "all-one-tag", find("{environment: dev}"), data(&[("example-1", changed)])),
        ("setTwoSecretsByTag", "all-two-tag", find("{environment: dev, author: seb}"),
            data(&[("example-1", changed)])),
        // isValidSecret and okByTags: a disabled secret, a tag missing or
        // of another value, left out; a certificate's secret listed and
        // read as Key Vault holds it (base64 PKCS#12, PEM), a value whatever
        // its contentType.
        ("(find by tags)", "all-details", find("{environment: dev, author: seb}"),
            data(&[("example-1", changed)])),
        ("(find every enabled secret)", "all-details", find("{}"),
            data(&[("example-1", changed), ("example-3", changed), ("example-4", changed),
                ("example-cert", &example_cert), ("example-pem", &example_pem),
                ("example-json", ESO_JSON.as_bytes())])),
    ];
    cases
        .into_iter()
        .map(|(name, vault, spec, expected)| Case {
            name,
            vault,
            spec,
            expected,
        })
        .collect()
}
