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
    assert!(
        err.contains("unknown Azure Keyvault object Type for blob/db"),
        "{err}"
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
    assert!(err.contains("cfg") && err.contains("JSON object"), "{err}");
}

#[test]
fn keys_are_their_public_jwk_in_eso_field_order() {
    let rsa = azure_wi_auth::JsonWebKey::Rsa {
        n: vec![0xc3, 0x01],
        e: vec![1, 0, 1],
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
    };
    assert_eq!(
        jwk_json("k", &ec, &[]),
        r#"{"kid":"k","kty":"EC","crv":"P-256","x":"AQ","y":"Ag"}"#
    );
}
