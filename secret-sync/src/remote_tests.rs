use super::*;

#[test]
fn keys_name_the_object_kind_as_eso_splits_them() {
    let parsed = |k: &str| RemoteKey::parse(k).unwrap();
    assert_eq!(parsed("db").kind, ObjectKind::Secret);
    assert_eq!(parsed("db").name, "db");
    assert_eq!(parsed("secret/db").name, "db");
    assert_eq!(parsed("cert/web").kind, ObjectKind::Cert);
    assert_eq!(parsed("key/signing").kind, ObjectKind::Key);
    // Tokens after the second are ignored.
    assert_eq!(parsed("secret/db/ignored").name, "db");
    let err = RemoteKey::parse("blob/db").unwrap_err().to_string();
    assert_eq!(
        err,
        "unknown Azure Keyvault object Type for db: remoteRef.key blob/db has none of the prefixes secret/, cert/, key/; use <name>, secret/<name>, cert/<name> or key/<name>"
    );
}

#[test]
fn property_follows_gjson_paths_and_returns_strings_unquoted() {
    let value = br#"{"user":"admin","db":{"port":5432,"hosts":["a","b"]},"dotted.key":"x"}"#;
    let get = |p: &str| String::from_utf8(property(value, p, "cfg").unwrap()).unwrap();
    assert_eq!(get("user"), "admin");
    assert_eq!(get("db.port"), "5432");
    assert_eq!(get("db"), r#"{"port":5432,"hosts":["a","b"]}"#);
    assert_eq!(get("db.hosts.1"), "b");
    assert_eq!(get(r"dotted\.key"), "x");
    // ESO's fallback: an unescaped dotted path that finds nothing is one name.
    assert_eq!(get("dotted.key"), "x");
    let err = property(value, "nope", "cfg").unwrap_err().to_string();
    assert_eq!(err, "property nope does not exist in key cfg");
    let err = property(b"plain text", "user", "cfg")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "property user does not exist in key cfg");
}

#[test]
fn decoding_strategies() {
    let d = |s, v: &str| decode(s, v.as_bytes().to_vec(), "k");
    assert_eq!(d(DecodingStrategy::None, "aGk=").unwrap(), b"aGk=");
    assert_eq!(d(DecodingStrategy::Base64, "aGk=").unwrap(), b"hi");
    assert_eq!(
        d(DecodingStrategy::Base64URL, "-_8=").unwrap(),
        [0xfb, 0xff]
    );
    assert_eq!(d(DecodingStrategy::Auto, "aGk=").unwrap(), b"hi");
    assert_eq!(d(DecodingStrategy::Auto, "-_8=").unwrap(), [0xfb, 0xff]);
    assert_eq!(
        d(DecodingStrategy::Auto, "not base64!").unwrap(),
        b"not base64!"
    );
    let err = d(DecodingStrategy::Base64, "not base64!")
        .unwrap_err()
        .to_string();
    assert!(err.contains("k") && err.contains("base64"), "{err}");
}

/// ESO's `jsonTestString` (providers/v1/azure/keyvault/keyvault_test.go).
const ESO_JSON: &str = r#"{"Name": "External", "LastName": "Secret", "Address": { "Street": "Myroad st.", "CP": "J4K4T4" } }"#;

/// ESO's `nestedJSONNoProperty` and `setSecretJSONWithProperty`: a nested
/// object keeps its bytes as stored, whether extracted or asked for by
/// property, and extracting under a property takes that object's fields.
#[test]
fn nested_objects_keep_their_bytes_as_eso_keeps_them() {
    let fields = extract(ESO_JSON.as_bytes(), "json").unwrap();
    assert_eq!(fields["Name"], b"External");
    assert_eq!(fields["LastName"], b"Secret");
    assert_eq!(
        fields["Address"],
        br#"{ "Street": "Myroad st.", "CP": "J4K4T4" }"#
    );
    let address = property(ESO_JSON.as_bytes(), "Address", "json").unwrap();
    assert_eq!(address, br#"{ "Street": "Myroad st.", "CP": "J4K4T4" }"#);
    let fields = extract(&address, "json").unwrap();
    assert_eq!(fields["Street"], b"Myroad st.");
    assert_eq!(fields["CP"], b"J4K4T4");
}

/// Scalars as Go gives them: `extract` (json.RawMessage, strings
/// unquoted, `null` empty) keeps numbers as written; `property` (gjson's
/// `String()`) keeps integers as written and gives other numbers in their
/// shortest form, `null` empty.
#[test]
fn scalars_follow_go_in_extract_and_gjson_in_property() {
    let value = br#"{"price": 1.50, "big": 1e3, "count": 7, "on": true, "none": null}"#;
    let fields = extract(br#"{"price": 1.50, "big": 1e3, "on": true, "none": null, "s": "a\"b", "twice": 1, "twice": 2}"#, "k").unwrap();
    assert_eq!(fields["price"], b"1.50");
    assert_eq!(fields["big"], b"1e3");
    assert_eq!(fields["on"], b"true");
    assert_eq!(fields["none"], b"");
    assert_eq!(fields["s"], br#"a"b"#);
    assert_eq!(fields["twice"], b"2");
    let get = |p: &str| property(value.as_slice(), p, "k");
    assert_eq!(get("price").unwrap(), b"1.5");
    assert_eq!(get("big").unwrap(), b"1000");
    assert_eq!(get("on").unwrap(), b"true");
    assert_eq!(get("none").unwrap(), b"");
    assert_eq!(get("count").unwrap(), b"7");
    assert!(get("absent").is_err());
}

#[test]
fn extract_takes_top_level_fields() {
    let fields = extract(br#"{"user":"admin","port":5432,"tls":{"on":true}}"#, "cfg").unwrap();
    assert_eq!(fields["user"], b"admin");
    assert_eq!(fields["port"], b"5432");
    assert_eq!(fields["tls"], br#"{"on":true}"#);
    let err = extract(b"[1,2]", "cfg").unwrap_err().to_string();
    assert_eq!(
        err,
        "error unmarshalling json data: json: cannot unmarshal array into Go value of type map[string]json.RawMessage: dataFrom.extract needs the secret cfg to hold a JSON object; use data with a secretKey for a plain value"
    );
}

#[test]
fn keys_are_their_public_jwk_in_eso_field_order() {
    let rsa = azure_wi_auth::JsonWebKey::Rsa {
        n: vec![0xc3, 0x01],
        e: vec![1, 0, 1],
        hsm: false,
    };
    assert_eq!(
        jwk_json(
            "https://kv.vault.azure.net/keys/k/v1",
            &rsa,
            &["sign".into(), "verify".into()]
        ),
        r#"{"kid":"https://kv.vault.azure.net/keys/k/v1","kty":"RSA","key_ops":["sign","verify"],"n":"wwE","e":"AQAB"}"#
    );
    let ec = azure_wi_auth::JsonWebKey::Ec {
        crv: azure_wi_auth::EcCurve::P256,
        x: vec![1],
        y: vec![2],
        hsm: false,
    };
    assert_eq!(
        jwk_json("k", &ec, &[]),
        r#"{"kid":"k","kty":"EC","crv":"P-256","x":"AQ","y":"Ag"}"#
    );
}

/// An HSM key's `kty` is written as Key Vault sent it (ESO marshals the
/// `JSONWebKey` it was given, `Kty` untouched): `RSA-HSM`, `EC-HSM`.
#[test]
fn hsm_keys_keep_their_key_type() {
    let rsa = azure_wi_auth::JsonWebKey::Rsa {
        n: vec![0xc3, 0x01],
        e: vec![1, 0, 1],
        hsm: true,
    };
    assert_eq!(
        jwk_json(
            "https://kv.vault.azure.net/keys/k/v1",
            &rsa,
            &["sign".into()]
        ),
        r#"{"kid":"https://kv.vault.azure.net/keys/k/v1","kty":"RSA-HSM","key_ops":["sign"],"n":"wwE","e":"AQAB"}"#
    );
    let ec = azure_wi_auth::JsonWebKey::Ec {
        crv: azure_wi_auth::EcCurve::P384,
        x: vec![1],
        y: vec![2],
        hsm: true,
    };
    assert_eq!(
        jwk_json("k", &ec, &[]),
        r#"{"kid":"k","kty":"EC-HSM","crv":"P-384","x":"AQ","y":"Ag"}"#
    );
}

// === metadataPolicy: Fetch ===

use std::time::Duration;

use azure_wi_auth::{CertificateProperties, KeyProperties, SecretProperties};

/// The object kinds ESO's cases read tags of, each through its own
/// azure-wi-auth properties.
#[derive(Debug, Clone, Copy)]
enum Object {
    Secret,
    Cert,
    Key,
}

/// ESO's `getTagMap()`.
const ESO_TAGS: &[(&str, &str)] = &[("tagname", "tagvalue"), ("tagname2", "tagvalue2")];

/// ESO's `jsonTagTestString`: [`ESO_TAGS`] as one JSON object.
const ESO_JSON_TAGS: &str = r#"{"tagname":"tagvalue","tagname2":"tagvalue2"}"#;

fn at(seconds: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// What Key Vault returns with `object` carrying `tags`, read into
/// [`Metadata`] as the fetch reads it; attributes are set by the caller.
fn metadata(object: Object, tags: &[(&str, &str)]) -> Metadata {
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match object {
        Object::Secret => {
            let mut p = SecretProperties::from_id("https://kv.vault.azure.net/secrets/test-secret")
                .unwrap();
            p.tags = tags;
            Metadata::from(&p)
        }
        Object::Cert => {
            let mut p =
                CertificateProperties::from_id("https://kv.vault.azure.net/certificates/certname")
                    .unwrap();
            p.tags = tags;
            Metadata::from(&p)
        }
        Object::Key => {
            let mut p = KeyProperties::from_id("https://kv.vault.azure.net/keys/keyname").unwrap();
            p.tags = tags;
            Metadata::from(&p)
        }
    }
}

/// Tags as a case writes them.
type Tags<'a> = &'a [(&'a str, &'a str)];

/// A `GetSecret` case: ESO's name, the object, its tags, `property`, and
/// the value or error text.
type GetSecretCase<'a> = (
    &'a str,
    Object,
    Tags<'a>,
    Option<&'a str>,
    Result<&'a str, &'a str>,
);

/// A `GetSecretMap` case: ESO's name, the secret's tags, `property`, and
/// the keys and values.
type GetSecretMapCase<'a> = (&'a str, Tags<'a>, Option<&'a str>, Tags<'a>);

/// ESO's `TestAzureKeyVaultSecretManagerGetSecret` cases with
/// `MetadataPolicy: Fetch` (providers/v1/azure/keyvault/keyvault_test.go):
/// one tag by `property`, a gjson path into a JSON tag, all tags as JSON,
/// `{}` without tags, and `tag <property> does not exist`; for secrets,
/// certificates and keys alike.
#[test]
fn eso_get_secret_with_metadata_policy_fetch() {
    let json_tag = r#"{"key":"value"}"#;
    let nested_tag = r#"{"key":"value", "nested": {"foo":"bar"}}"#;
    let dotted_key_tag = r#"{"foo.json":"bar"}"#;
    #[rustfmt::skip]
    let cases: &[GetSecretCase<'_>] = &[
        ("setSecretWithTag", Object::Secret, ESO_TAGS, Some("tagname"), Ok("tagvalue")),
        ("badSecretWithTag", Object::Secret, &[], Some("something"), Err("tag something does not exist")),
        ("setSecretWithNoSpecificTag", Object::Secret, ESO_TAGS, None, Ok(ESO_JSON_TAGS)),
        ("setSecretWithNoTags", Object::Secret, &[], None, Ok("{}")),
        ("setCertWithTag", Object::Cert, ESO_TAGS, Some("tagname"), Ok("tagvalue")),
        ("badCertWithTag", Object::Cert, &[], Some("something"), Err("tag something does not exist")),
        ("setCertWithNoSpecificTag", Object::Cert, ESO_TAGS, None, Ok(ESO_JSON_TAGS)),
        ("setCertWithNoTags", Object::Cert, &[], None, Ok("{}")),
        ("setKeyWithTag", Object::Key, ESO_TAGS, Some("tagname"), Ok("tagvalue")),
        ("badKeyWithTag", Object::Key, ESO_TAGS, Some("something"), Err("tag something does not exist")),
        ("setKeyWithNoSpecificTag", Object::Key, ESO_TAGS, None, Ok(ESO_JSON_TAGS)),
        ("setKeyWithNoTags", Object::Key, &[], None, Ok("{}")),
        ("fetchSingleTag", Object::Secret, &[("foo", "bar")], Some("foo"), Ok("bar")),
        ("fetchJSONTag", Object::Secret, &[("foo", json_tag)], Some("foo"), Ok(json_tag)),
        ("fetchDottedJSONTag", Object::Secret, &[("foo", json_tag)], Some("foo.key"), Ok("value")),
        ("fetchNestedJSONTag", Object::Secret, &[("foo", nested_tag)], Some("foo.nested"), Ok(r#"{"foo":"bar"}"#)),
        ("fetchNestedDottedJSONTag", Object::Secret, &[("foo", nested_tag)], Some("foo.nested.foo"), Ok("bar")),
        ("fetchDottedKeyJSONTag", Object::Secret, &[("foo", dotted_key_tag)], Some("foo.foo.json"), Ok("bar")),
    ];
    for (name, object, tags, property, expected) in cases {
        let remote = Remote::Metadata(metadata(*object, tags));
        let kind = match object {
            Object::Secret => ObjectKind::Secret,
            Object::Cert => ObjectKind::Cert,
            Object::Key => ObjectKind::Key,
        };
        let got = get_secret(&remote, kind, *property, "test-secret");
        match expected {
            Ok(value) => assert_eq!(
                String::from_utf8(got.unwrap_or_else(|e| panic!("{name}: {e}"))).unwrap(),
                *value,
                "{name}"
            ),
            Err(text) => assert_eq!(
                got.map(|v| String::from_utf8(v).unwrap())
                    .unwrap_err()
                    .to_string(),
                *text,
                "{name}"
            ),
        }
    }
}

/// ESO's `setSecretWithExpiresAttribute`: the object's attributes are
/// pseudo-tags, RFC 3339 in UTC.
#[test]
fn eso_set_secret_with_expires_attribute() {
    let mut m = metadata(Object::Secret, &[]);
    m.expires = Some(at(1_893_456_000)); // 2030-01-01T00:00:00Z
    m.created = Some(at(1_718_452_800)); // 2024-06-15T12:00:00Z
    let secret = ObjectKind::Secret;
    let got = get_secret(
        &Remote::Metadata(m.clone()),
        secret,
        Some("attribute.expires"),
        "k",
    )
    .unwrap();
    assert_eq!(got, b"2030-01-01T00:00:00Z");

    // Beside the tags in the JSON of all of them, as getSecretAllMetadata
    // merges them; an attribute that is not set is no tag.
    m.tags.insert("tagname".into(), "tagvalue".into());
    let all = get_secret(&Remote::Metadata(m.clone()), secret, None, "k").unwrap();
    assert_eq!(
        String::from_utf8(all).unwrap(),
        r#"{"attribute.created":"2024-06-15T12:00:00Z","attribute.expires":"2030-01-01T00:00:00Z","tagname":"tagvalue"}"#
    );
    let err = get_secret(
        &Remote::Metadata(m.clone()),
        secret,
        Some("attribute.notBefore"),
        "k",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(err, "tag attribute.notBefore does not exist");
    // An attribute replaces a tag of its name.
    m.tags.insert("attribute.created".into(), "mine".into());
    let created = get_secret(&Remote::Metadata(m), secret, Some("attribute.created"), "k").unwrap();
    assert_eq!(created, b"2024-06-15T12:00:00Z");
}

/// Each kind's attributes come from its own properties: a certificate's
/// `nbf` and `exp`, a key's and a secret's `created` and `updated`.
#[test]
fn every_kind_gives_its_attributes() {
    let mut cert =
        CertificateProperties::from_id("https://kv.vault.azure.net/certificates/c").unwrap();
    cert.not_before = Some(at(951_782_400));
    cert.expires = Some(at(0));
    let all = Metadata::from(&cert).all();
    assert_eq!(all["attribute.notBefore"], "2000-02-29T00:00:00Z");
    assert_eq!(all["attribute.expires"], "1970-01-01T00:00:00Z");
    let mut key = KeyProperties::from_id("https://kv.vault.azure.net/keys/k").unwrap();
    key.updated = Some(at(1_718_452_800));
    assert_eq!(
        Metadata::from(&key).all()["attribute.updated"],
        "2024-06-15T12:00:00Z"
    );
    let mut secret = SecretProperties::from_id("https://kv.vault.azure.net/secrets/s").unwrap();
    secret.not_before = Some(at(1));
    assert_eq!(
        Metadata::from(&secret).all()["attribute.notBefore"],
        "1970-01-01T00:00:01Z"
    );
}

/// ESO's `TestAzureKeyVaultSecretManagerGetSecretMap` cases with
/// `MetadataPolicy: Fetch`: the tags as `<name>_<tag>`, a JSON object of
/// strings split into `<name>_<tag>_<field>`, a nested one kept whole.
#[test]
fn eso_get_secret_map_with_metadata_policy_fetch() {
    let nested = r#"{"foo":"bar","nested.tag":{"foo":"bar"}}"#;
    #[rustfmt::skip]
    let cases: &[GetSecretMapCase<'_>] = &[
        ("setSecretTags", ESO_TAGS, None,
            &[("test-secret_tagname", "tagvalue"), ("test-secret_tagname2", "tagvalue2")]),
        ("setSecretWithJSONTag", &[("json", r#"{"keyname":"keyvalue","x":"y"}"#)], None,
            &[("test-secret_json_keyname", "keyvalue"), ("test-secret_json_x", "y")]),
        ("setSecretWithNoTags", &[], None, &[]),
        ("setNestedJSONTag", &[("dev", nested), ("bug", "1137")], Some("dev"),
            &[("test-secret_dev", nested)]),
    ];
    for (name, tags, property, expected) in cases {
        let remote = Remote::Metadata(metadata(Object::Secret, tags));
        let got = get_secret_map(&remote, *property, "test-secret", "test-secret")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: BTreeMap<String, Vec<u8>> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(got, expected, "{name}");
    }
}

/// `dataFrom.extract` with `metadataPolicy: Fetch` and a `property`, as
/// ESO's `GetSecretMap` goes: the property must name a tag of the secret
/// (its `GetSecret` runs first), then the one key
/// `<remoteRef.key>_<property>` is looked up among the split tags, empty
/// when the split left none of that name (a tag holding a JSON object), or
/// when the key has a `secret/` prefix the split names never carry.
#[test]
fn extract_with_a_property_goes_through_get_secret_first() {
    let remote = Remote::Metadata(metadata(
        Object::Secret,
        &[("json", r#"{"keyname":"keyvalue"}"#), ("env", "prod")],
    ));
    let err = get_secret_map(&remote, Some("json_keyname"), "db", "db")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "tag json_keyname does not exist");
    let one = |property, key| get_secret_map(&remote, Some(property), "db", key).unwrap();
    assert_eq!(
        one("env", "db"),
        BTreeMap::from([("db_env".to_owned(), b"prod".to_vec())])
    );
    assert_eq!(
        one("json", "db"),
        BTreeMap::from([("db_json".to_owned(), Vec::new())])
    );
    assert_eq!(
        one("json.keyname", "db"),
        BTreeMap::from([("db_json.keyname".to_owned(), Vec::new())])
    );
    assert_eq!(
        one("env", "secret/db"),
        BTreeMap::from([("secret/db_env".to_owned(), Vec::new())])
    );
}

/// Go's `json.Unmarshal` into `map[string]string` decides which tags
/// split: `null` fields are empty, a `null` value gives nothing, anything
/// not an object of strings (numbers, nested objects, arrays, text) stays
/// whole; the attributes follow as `<name>_attribute.*`.
#[test]
fn split_tags_as_go_decodes_them() {
    let mut m = metadata(
        Object::Secret,
        &[
            ("plain", "text"),
            ("nulls", r#"{"a": null, "b": "x"}"#),
            ("none", "null"),
            ("number", r#"{"n": 1}"#),
            ("list", r#"["a"]"#),
            ("empty", "{}"),
            ("twice", r#"{"k": "1", "k": "2"}"#),
        ],
    );
    m.created = Some(at(1_718_452_800));
    let split = m.split("db");
    let expected: BTreeMap<String, String> = [
        ("db_plain", "text"),
        ("db_nulls_a", ""),
        ("db_nulls_b", "x"),
        ("db_number", r#"{"n": 1}"#),
        ("db_list", r#"["a"]"#),
        ("db_twice_k", "2"),
        ("db_attribute.created", "2024-06-15T12:00:00Z"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(split, expected);
}

/// `getSecretTag`'s edges: a property ending in a dot is the whole tag,
/// one starting with a dot names no tag, a path that finds nothing names
/// the whole property as its key.
#[test]
fn tag_paths_split_at_the_first_dot() {
    let tags: BTreeMap<String, String> =
        BTreeMap::from([("foo".to_owned(), r#"{"key":"value"}"#.to_owned())]);
    assert_eq!(tag(&tags, Some("foo.")).unwrap(), br#"{"key":"value"}"#);
    assert_eq!(
        tag(&tags, Some(".foo")).unwrap_err().to_string(),
        "tag .foo does not exist"
    );
    assert_eq!(
        tag(&tags, Some("bar.key")).unwrap_err().to_string(),
        "tag bar.key does not exist"
    );
    assert_eq!(
        tag(&tags, Some("foo.nope")).unwrap_err().to_string(),
        "property nope does not exist in key foo.nope"
    );
}

/// All tags as Go's `json.Marshal` writes a `map[string]string`: keys in
/// byte order, `<`, `>`, `&` and U+2028 as `\u` escapes, `\b` and `\f`
/// short (Go 1.22 and later), other control characters as `\u00xx`.
#[test]
fn all_tags_are_json_as_go_writes_it() {
    let tags: BTreeMap<String, String> = [
        ("b", "<a&b>"),
        ("a", "line\nbreak\t\"q\"\\"),
        ("Z", "\u{8}\u{c}\u{1}\u{7f}\u{2028}é"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(
        String::from_utf8(tag(&tags, None).unwrap()).unwrap(),
        "{\"Z\":\"\\b\\f\\u0001\u{7f}\\u2028é\",\"a\":\"line\\nbreak\\t\\\"q\\\"\\\\\",\"b\":\"\\u003ca\\u0026b\\u003e\"}"
    );
}

/// Go's `Format(time.RFC3339)` of UTC times: a leap day, a year past
/// 9999 in five digits, a time before the epoch at its floor second.
#[test]
fn attribute_times_are_formatted_as_go_formats_them() {
    let all = |t| {
        Metadata {
            created: Some(t),
            ..Metadata::default()
        }
        .all()
        .remove("attribute.created")
        .unwrap()
    };
    assert_eq!(all(at(951_782_400)), "2000-02-29T00:00:00Z");
    assert_eq!(all(at(1_718_452_800 + 3_661)), "2024-06-15T13:01:01Z");
    assert_eq!(all(at(253_402_300_800)), "10000-01-01T00:00:00Z");
    assert_eq!(
        all(std::time::UNIX_EPOCH - Duration::from_millis(1_500)),
        "1969-12-31T23:59:58Z"
    );
}

/// Neither a value nor a tag's value is shown by `Debug`.
#[test]
fn debug_shows_no_value() {
    let remote = Remote::Value(b"s3cr3t".to_vec());
    assert_eq!(format!("{remote:?}"), "Value(6 bytes)");
    let tagged = Remote::Metadata(metadata(Object::Secret, &[("pw", "s3cr3t")]));
    let shown = format!("{tagged:?}");
    assert!(shown.contains("pw") && !shown.contains("s3cr3t"), "{shown}");
}

// === ESO's value cases (metadataPolicy: None) ===

/// ESO's `jsonSingleTestString`.
const ESO_JSON_SINGLE: &str = r#"{"Name": "External", "LastName": "Secret" }"#;

/// ESO's `jwkPubRSA`: the RSA key its `setPubRSAKey` case reads, and the
/// bytes it expects (`json.Marshal` of Key Vault's `JSONWebKey`).
const ESO_JWK_RSA: &str = r#"{"kid":"ex","kty":"RSA","key_ops":["sign","verify","wrapKey","unwrapKey","encrypt","decrypt"],"n":"p2VQo8qCfWAZmdWBVaYuYb-a-tWWm78K6Sr9poCvNcmv8rUPSLACxitQWR8gZaSH1DklVkqz-Ed8Cdlf8lkDg4Ex5tkB64jRdC1Uvn4CDpOH6cp-N2s8hTFLqy9_YaDmyQS7HiqthOi9oVjil1VMeWfaAbClGtFt6UnKD0Vb_DvLoWYQSqlhgBArFJi966b4E1pOq5Ad02K8pHBDThlIIx7unibLehhDU6q3DCwNH_OOLx6bgNtmvGYJDd1cywpkLQ3YzNCUPWnfMBJRP3iQP_WI21uP6cvo0DqBPBM4wvVzHbCT0vnIflwkbgEWkq1FprqAitZlop9KjLqzjp9vyQ","e":"AQAB"}"#;

/// ESO's `jwkPubEC`, for `setPubECKey`.
const ESO_JWK_EC: &str = r#"{"kid":"https://example.vault.azure.net/keys/ec-p-521/e3d0e9c179b54988860c69c6ae172c65","kty":"EC","key_ops":["sign","verify"],"crv":"P-521","x":"AedOAtb7H7Oz1C_cPKI_R4CN_eai5nteY6KFW07FOoaqgQfVCSkQDK22fCOiMT_28c8LZYJRsiIFz_IIbQUW7bXj","y":"AOnchHnmBphIWXvanmMAmcCDkaED6ycW8GsAl9fQ43BMVZTqcTkJYn6vGnhn7MObizmkNSmgZYTwG-vZkIg03HHs"}"#;

/// A `GetSecret` case without `metadataPolicy`: ESO's name, the kind of
/// object, what Key Vault returned for it, `property`, and the bytes or
/// the error text.
type ValueCase<'a> = (
    &'a str,
    ObjectKind,
    &'a str,
    Option<&'a str>,
    Result<&'a str, &'a str>,
);

/// ESO's `TestAzureKeyVaultSecretManagerGetSecret` cases that read a
/// value (providers/v1/azure/keyvault/keyvault_test.go), with ESO's
/// `ref.Key` `test-secret`: a value whole, a gjson property of it (one
/// with a dot in its name), a property that is not there, a certificate's
/// bytes as they are. ESO's mock answers with the case's error where the
/// case expects one; here the value is read and the error is the one
/// ESO's code makes of it (`badSecretWithProperty`, `badPropertyTag`).
#[test]
fn eso_get_secret_values() {
    #[rustfmt::skip]
    let cases: &[ValueCase<'_>] = &[
        ("makeValidSecretManagerTestCase", ObjectKind::Secret, "Hello World!", None, Ok("Hello World!")),
        ("setSecretString", ObjectKind::Secret, "changedvalue", None, Ok("changedvalue")),
        ("setSecretStringWithVersion", ObjectKind::Secret, "changedvalue", None, Ok("changedvalue")),
        ("setSecretWithProperty", ObjectKind::Secret, ESO_JSON, Some("Name"), Ok("External")),
        ("badSecretWithProperty", ObjectKind::Secret, ESO_JSON, Some("Age"),
            Err("property Age does not exist in key test-secret")),
        ("setPubRSAKey", ObjectKind::Key, ESO_JWK_RSA, None, Ok(ESO_JWK_RSA)),
        ("setPubECKey", ObjectKind::Key, ESO_JWK_EC, None, Ok(ESO_JWK_EC)),
        ("setCertificate", ObjectKind::Cert, "certificate_value", None, Ok("certificate_value")),
        ("badPropertyTag", ObjectKind::Secret, "Hello World!", Some("tagname"),
            Err("property tagname does not exist in key test-secret")),
        ("fetchDottedSecretJSONTag", ObjectKind::Secret, r#"{"foo.json":"bar"}"#, Some("foo.json"), Ok("bar")),
    ];
    for (name, kind, read, property, expected) in cases {
        let remote = Remote::Value(read.as_bytes().to_vec());
        let got = get_secret(&remote, *kind, *property, "test-secret")
            .map(|v| String::from_utf8(v).unwrap())
            .map_err(|e| e.to_string());
        assert_eq!(
            got,
            expected.map(str::to_owned).map_err(str::to_owned),
            "{name}"
        );
    }
}

/// `property` without `metadataPolicy: Fetch` on a certificate: ESO's
/// `getSecretWithLegacySDK` returns `*certResp.Cer` for `cert/` before
/// any property is read, so the DER comes whole (a property of a JSON
/// value, a path into nothing, all the same); a key's JWK is read into.
#[test]
fn a_certificate_is_its_der_whatever_the_property() {
    let der = [0x30, 0x82, 0x01, 0x0a, 0x02];
    let remote = Remote::Value(der.to_vec());
    for property in [None, Some("Name"), Some("anything.at.all")] {
        assert_eq!(
            get_secret(&remote, ObjectKind::Cert, property, "cert/web").unwrap(),
            der,
            "{property:?}"
        );
    }
    let jwk = Remote::Value(ESO_JWK_EC.as_bytes().to_vec());
    assert_eq!(
        get_secret(&jwk, ObjectKind::Key, Some("crv"), "key/k").unwrap(),
        b"P-521"
    );
    assert_eq!(
        get_secret(&jwk, ObjectKind::Key, Some("d"), "key/k")
            .unwrap_err()
            .to_string(),
        "property d does not exist in key key/k"
    );
}

/// ESO's `setPubRSAKey` and `setPubECKey`: the public key Key Vault
/// returned, written as ESO writes it, is ESO's expected bytes, byte for
/// byte: the key as Key Vault's JSON gives it (`kid`, `key_ops`, the
/// base64url numbers) makes ESO's `jwkPubRSA` and `jwkPubEC` again.
#[test]
fn eso_public_keys_are_written_as_eso_writes_them() {
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v.as_str().unwrap())
            .unwrap()
    };
    for expected in [ESO_JWK_RSA, ESO_JWK_EC] {
        let jwk: serde_json::Value = serde_json::from_str(expected).unwrap();
        let key = match jwk["kty"].as_str().unwrap() {
            "RSA" => azure_wi_auth::JsonWebKey::Rsa {
                n: b64(&jwk["n"]),
                e: b64(&jwk["e"]),
                hsm: false,
            },
            _ => azure_wi_auth::JsonWebKey::Ec {
                crv: azure_wi_auth::EcCurve::P521,
                x: b64(&jwk["x"]),
                y: b64(&jwk["y"]),
                hsm: false,
            },
        };
        let ops: Vec<String> = jwk["key_ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(jwk_json(jwk["kid"].as_str().unwrap(), &key, &ops), expected);
    }
}

/// ESO's `badSecretType` (`GetSecret` and `GetSecretMap`): a prefix that
/// is no object type fails with ESO's text, which names the object.
#[test]
fn eso_bad_secret_type() {
    let err = RemoteKey::parse("example/name").unwrap_err().to_string();
    assert!(
        err.starts_with("unknown Azure Keyvault object Type for name: "),
        "{err}"
    );
}

/// ESO's `TestAzureKeyVaultSecretManagerGetSecretMap` cases that extract
/// a value's fields (`ref.Key` `test-secret`): a JSON object's fields, a
/// property's object's, a property that is not there, a value that is not
/// JSON (Go's `encoding/json` error after ESO's `error unmarshalling json
/// data:`, the character Go quotes left out: it is the value's).
#[test]
fn eso_get_secret_map_values() {
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Result<Tags<'a>, &'a str>);
    let not_json = "error unmarshalling json data: invalid character looking for beginning of value: dataFrom.extract needs the secret test-secret to hold a JSON object; use data with a secretKey for a plain value";
    #[rustfmt::skip]
    let cases: &[Case<'_>] = &[
        ("badSecretString", "changedvalue", None, Err(not_json)),
        ("setSecretJSON", ESO_JSON_SINGLE, None, Ok(&[("Name", "External"), ("LastName", "Secret")])),
        ("setSecretJSONWithProperty", ESO_JSON, Some("Address"),
            Ok(&[("Street", "Myroad st."), ("CP", "J4K4T4")])),
        ("badSecretWithProperty", ESO_JSON, Some("Age"),
            Err("property Age does not exist in key test-secret")),
        ("nestedJSONNoProperty", ESO_JSON, None, Ok(&[("Name", "External"), ("LastName", "Secret"),
            ("Address", r#"{ "Street": "Myroad st.", "CP": "J4K4T4" }"#)])),
    ];
    for (name, read, property, expected) in cases {
        let remote = Remote::Value(read.as_bytes().to_vec());
        let got = get_secret_map(&remote, *property, "test-secret", "test-secret")
            .map_err(|e| e.to_string());
        let expected = expected
            .map(|fields| {
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
                    .collect::<BTreeMap<_, _>>()
            })
            .map_err(str::to_owned);
        assert_eq!(got, expected, "{name}");
    }
}

/// ESO's `badPubRSAKey`, `badCertificate` and `badSecretType` of
/// `GetSecretMap`: `dataFrom.extract` of a key, a certificate or an
/// unknown type is refused with ESO's text, before anything is read.
#[test]
fn eso_get_secret_map_refusals() {
    let refused = |key: &str| {
        let es: crate::api::ExternalSecret = yaml_serde::from_str(&format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: es, namespace: ns}}\nspec:\n  secretStoreRef: {{name: kv}}\n  dataFrom:\n  - extract: {{key: {key}}}\n"
        ))
        .unwrap();
        crate::plan::plan(&es).unwrap_err().to_string()
    };
    #[rustfmt::skip]
    let cases = [
        ("badPubRSAKey", "key/keyname", "cannot get use dataFrom to get key secret"),
        ("badCertificate", "cert/certname", "cannot get use dataFrom to get certificate secret"),
        ("badSecretType", "example/name", "unknown Azure Keyvault object Type for name"),
    ];
    for (name, key, text) in cases {
        let err = refused(key);
        assert!(err.starts_with(text), "{name}: {err}");
    }
}

/// Go's `json.Unmarshal` into `map[string]json.RawMessage`, as ESO's
/// `getSecretMapMap` runs it: the scanner's syntax errors with their
/// contexts (golang/go `encoding/json/scanner.go`: the character Go
/// quotes is the value's and is left out, except the space Go feeds at
/// the end), the type errors of a value that is not an object, and `null`,
/// which gives no keys and no error.
#[test]
fn extract_fails_as_go_decodes() {
    let deep = "[".repeat(10_001);
    #[rustfmt::skip]
    let cases: &[(&str, Result<usize, &str>)] = &[
        ("null", Ok(0)),
        (" {} ", Ok(0)),
        ("{\"a\":1}\n", Ok(1)),
        ("", Err("unexpected end of JSON input")),
        ("   ", Err("unexpected end of JSON input")),
        ("{", Err("unexpected end of JSON input")),
        ("{\"a\":\"b", Err("unexpected end of JSON input")),
        ("changedvalue", Err("invalid character looking for beginning of value")),
        ("{a:1}", Err("invalid character looking for beginning of object key string")),
        ("{\"a\" 1}", Err("invalid character after object key")),
        ("{\"a\":1 \"b\":2}", Err("invalid character after object key:value pair")),
        ("{\"a\":01}", Err("invalid character after object key:value pair")),
        ("[1 2]", Err("invalid character after array element")),
        ("{\"a\":1}x", Err("invalid character after top-level value")),
        ("{\"a\":1}}", Err("invalid character after top-level value")),
        ("{\"a\":\"\u{1}\"}", Err("invalid character in string literal")),
        ("{\"a\":\"\\x\"}", Err("invalid character in string escape code")),
        ("{\"a\":\"\\u12g4\"}", Err("invalid character in \\u hexadecimal character escape")),
        ("{\"a\":-x}", Err("invalid character in numeric literal")),
        ("{\"a\":1.x}", Err("invalid character after decimal point in numeric literal")),
        ("{\"a\":1ex}", Err("invalid character in exponent of numeric literal")),
        ("{\"a\":tru}", Err("invalid character in literal true (expecting 'e')")),
        ("{\"a\":fals}", Err("invalid character in literal false (expecting 'e')")),
        ("{\"a\":nul}", Err("invalid character in literal null (expecting 'l')")),
        ("-", Err("invalid character ' ' in numeric literal")),
        ("1.", Err("invalid character ' ' after decimal point in numeric literal")),
        ("1e+", Err("invalid character ' ' in exponent of numeric literal")),
        ("t", Err("invalid character ' ' in literal true (expecting 'r')")),
        (&deep, Err("invalid character exceeded max depth")),
        ("[1,2]", Err("json: cannot unmarshal array into Go value of type map[string]json.RawMessage")),
        ("\"text\"", Err("json: cannot unmarshal string into Go value of type map[string]json.RawMessage")),
        ("-1.5e3", Err("json: cannot unmarshal number into Go value of type map[string]json.RawMessage")),
        ("false", Err("json: cannot unmarshal bool into Go value of type map[string]json.RawMessage")),
    ];
    for (input, expected) in cases {
        let got = extract(input.as_bytes(), "k").map(|fields| fields.len());
        match expected {
            Ok(n) => assert_eq!(got.unwrap(), *n, "{input:?}"),
            Err(reason) => assert_eq!(
                got.unwrap_err().to_string(),
                format!(
                    "error unmarshalling json data: {reason}: dataFrom.extract needs the secret k to hold a JSON object; use data with a secretKey for a plain value"
                ),
                "{input:?}"
            ),
        }
    }
}

/// Strings as Go's `encoding/json` unquotes them, in names and values: a
/// surrogate pair is one character, a lone or broken surrogate U+FFFD
/// (the escape after a broken one read on its own), `\/` a slash.
#[test]
fn extract_unquotes_as_go_does() {
    let fields = extract(
        br#"{"k\u00e9y":"v","pair":"\ud83d\ude00","lone":"\ud800x","low":"\udc00","broken":"\ud800\u0041","slash":"a\/b","ws" : [1, {"x": "y"}] }"#,
        "k",
    )
    .unwrap();
    let text = |k: &str| String::from_utf8(fields[k].clone()).unwrap();
    assert_eq!(text("kéy"), "v");
    assert_eq!(text("pair"), "\u{1f600}");
    assert_eq!(text("lone"), "\u{fffd}x");
    assert_eq!(text("low"), "\u{fffd}");
    assert_eq!(text("broken"), "\u{fffd}A");
    assert_eq!(text("slash"), "a/b");
    assert_eq!(text("ws"), r#"[1, {"x": "y"}]"#);
}

/// gjson's `String()` of a JSON string unquotes as Go does: a lone
/// surrogate is U+FFFD (gjson writes the rune with `utf8.EncodeRune`).
#[test]
fn property_unquotes_lone_surrogates_as_gjson_does() {
    let got = property(br#"{"s":"\ud800x","p":"\ud83d\ude00"}"#, "s", "k").unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), "\u{fffd}x");
    let got = property(br#"{"s":"\ud800x","p":"\ud83d\ude00"}"#, "p", "k").unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), "\u{1f600}");
}
