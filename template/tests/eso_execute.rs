//! ESO's template engine v2 tests, through the engine as secret-sync runs
//! it (`missingkey=error`, the data a `map[string]string`, each key's
//! template parsed under the key's name): every case of `TestExecute`
//! (external-secrets/external-secrets `runtime/template/v2/template_test.go`)
//! with its inputs and expected outputs, byte for byte. Where a case goes
//! to labels, annotations or `stringData` the rendering is the same; where
//! the value lands is secret-sync's `render` module's (tested there).
//! ESO's wrapping of errors (`unable to execute template at key ...`) is
//! secret-sync's too; here the Go error it wraps is checked.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use azure_wi_template::{Delims, Env, Limits, Template, Value, functions};

fn data_file(name: &str) -> String {
    let path = format!("{}/tests/data/eso/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Renders `template` under the name `key` over `data`, as ESO's
/// `execute` does; the default delimiters unless given.
fn render(
    key: &str,
    template: &str,
    data: &[(&str, &[u8])],
    delims: Option<(&str, &str)>,
) -> Result<Vec<u8>, String> {
    let funcs = functions();
    let delims = delims.map_or_else(Delims::default, |(l, r)| Delims {
        left: l.into(),
        right: r.into(),
    });
    let data = Value::map(
        data.iter()
            .map(|(k, v)| ((*k).to_owned(), Value::str(*v)))
            .collect::<BTreeMap<_, _>>(),
    );
    let mut seed = 0u8;
    let mut random = |b: &mut [u8]| {
        for x in b {
            seed = seed.wrapping_add(1);
            *x = seed;
        }
    };
    let mut env = Env {
        now: time::OffsetDateTime::UNIX_EPOCH,
        random: &mut random,
    };
    let t = Template::parse(key, template, &delims, &funcs).map_err(|e| format!("parse: {e}"))?;
    t.execute(&data, &funcs, &mut env, &Limits::default())
        .map_err(|e| format!("execute: {e}"))
}

fn ok(key: &str, template: &str, data: &[(&str, &[u8])]) -> String {
    String::from_utf8(render(key, template, data, None).unwrap()).unwrap()
}

#[test]
fn b64dec_func_and_base64_pipeline() {
    // "b64dec func", "labels", "annotations", "stringData".
    assert_eq!(
        ok("foo", "{{ .secret | b64dec }}", &[("secret", b"MTIzNA==")]),
        "1234"
    );
    assert_eq!(ok("bar", "{{ .env | b64dec }}", &[("env", b"ZGV2")]), "dev");
    // "base64 pipeline".
    assert_eq!(
        ok("foo", r#"{{ "123412341234" | b64enc | b64dec }}"#, &[]),
        "123412341234"
    );
    // "base64 decode error": silent, Go's error text is the value.
    assert_eq!(
        ok(
            "key",
            "{{ .example | b64dec }}",
            &[("example", b"iam_no_base64")]
        ),
        "illegal base64 data at input byte 3"
    );
}

#[test]
fn json_and_yaml_functions() {
    // "fromJson func", "from & toJson func", "fromJson & toYaml func",
    // "fromYaml & toJson func", "fromJson error" (silent: `<no value>`).
    assert_eq!(
        ok(
            "foo",
            "{{ $var := .secret | fromJson }}{{ $var.foo }}",
            &[("secret", br#"{"foo": "bar"}"#)]
        ),
        "bar"
    );
    assert_eq!(
        ok(
            "foo",
            "{{ $var := .secret | fromJson }}{{ $var.foo | toJson }}",
            &[("secret", br#"{"foo": {"baz":"bang"}}"#)]
        ),
        r#"{"baz":"bang"}"#
    );
    assert_eq!(
        ok(
            "foo",
            "{{ $var := .secret | fromJson | toYaml }}{{ $var }}",
            &[("secret", br#"{"foo": "bar"}"#)]
        ),
        "foo: bar"
    );
    assert_eq!(
        ok(
            "foo",
            "{{ $var := .secret | fromYaml | toJson }}{{ $var }}",
            &[("secret", b"foo: bar")]
        ),
        r#"{"foo":"bar"}"#
    );
    assert_eq!(
        ok("key", r#"{{ "{ # no json # }" | fromJson }}"#, &[]),
        "<no value>"
    );
}

#[test]
fn sprig_string_functions() {
    // "use sprig functions", "use replace function", "use upper function".
    assert_eq!(
        ok("foo", "{{ .path | ext }}", &[("path", b"foo/bar/baz.exe")]),
        ".exe"
    );
    assert_eq!(
        ok(
            "foo",
            r#"{{ .conn | replace "postgres://" "db+postgresql://"}}"#,
            &[("conn", b"postgres://user:pass@db.host:5432/dbname")]
        ),
        "db+postgresql://user:pass@db.host:5432/dbname"
    );
    assert_eq!(
        ok("foo", "{{ .value | upper }}", &[("value", b"username")]),
        "USERNAME"
    );
    // "hexdec".
    assert_eq!(
        ok(
            "key",
            "{{ .example | sha256sum | hexdec | b64enc }}",
            &[("example", b"example")]
        ),
        "UNhY4JhezH9gQYqvDMWrWH9CwlcKiECVqejMrND2VFw="
    );
    // "htpasswd with sha1".
    assert_eq!(
        ok(
            ".htpasswd",
            r#"{{ htpasswd .username .password "sha" }}"#,
            &[
                ("username", b"foo1"),
                ("password", b"FZ4jR;l]ON;pHKi=_'zh79P")
            ]
        ),
        "foo1:{SHA}wtdJD6OIjUniEJkTlewnKzfFxA4="
    );
}

#[test]
fn multiline_template_keeps_its_text() {
    // "multiline template".
    let tpl = "\n\t\tdatasources:\n\t\t- name: Graphite\n\t\t\ttype: graphite\n\t\t\taccess: proxy\n\t\t\turl: http://localhost:8080\n\t\t\tpassword: \"{{ .password }}\"\n\t\t\tuser: \"{{ .user }}\"";
    let want = "\n\t\tdatasources:\n\t\t- name: Graphite\n\t\t\ttype: graphite\n\t\t\taccess: proxy\n\t\t\turl: http://localhost:8080\n\t\t\tpassword: \"harharhar\"\n\t\t\tuser: \"foobert\"";
    assert_eq!(
        ok(
            "cfg",
            tpl,
            &[("user", b"foobert"), ("password", b"harharhar")]
        ),
        want
    );
}

#[test]
fn pkcs12_extraction() {
    // "base64 pkcs12 extract", "... with password", "... wrong password".
    let no_pass = data_file("pkcs12ContentNoPass.b64");
    let with_pass = data_file("pkcs12ContentWithPass.b64");
    let key = data_file("keyData.pem");
    let cert = data_file("certData.pem");
    assert_eq!(
        ok(
            "key",
            "{{ .secret | b64dec | pkcs12key }}",
            &[("secret", no_pass.as_bytes())]
        ),
        key
    );
    assert_eq!(
        ok(
            "cert",
            "{{ .secret | b64dec | pkcs12cert }}",
            &[("secret", no_pass.as_bytes())]
        ),
        cert
    );
    assert_eq!(
        ok(
            "key",
            r#"{{ .secret | b64dec | pkcs12keyPass "123456" }}"#,
            &[("secret", with_pass.as_bytes())]
        ),
        key
    );
    assert_eq!(
        ok(
            "cert",
            r#"{{ .secret | b64dec | pkcs12certPass "123456" }}"#,
            &[("secret", with_pass.as_bytes())]
        ),
        cert
    );
    for t in [
        r#"{{ .secret | b64dec | pkcs12keyPass "wrong" }}"#,
        r#"{{ .secret | b64dec | pkcs12certPass "wrong" }}"#,
    ] {
        let e = render("key", t, &[("secret", with_pass.as_bytes())], None).unwrap_err();
        assert!(e.contains("unable to decode pkcs12"), "{e}");
    }
}

#[test]
fn jwk_and_pem_functions() {
    // "jwk rsa pub pem", "jwk rsa priv pem", "jwk ecdsa pub pem",
    // "jwk ecdsa priv pem", "filter pem certificate".
    for (input, want) in [
        ("jwkPubRSA.json", "jwkPubRSAPKIX.pem"),
        ("jwkPubEC.json", "jwkPubECPKIX.pem"),
    ] {
        assert_eq!(
            ok(
                "fn",
                "{{ .secret | jwkPublicKeyPem }}",
                &[("secret", data_file(input).as_bytes())]
            ),
            data_file(want),
            "{input}"
        );
    }
    for (input, want) in [
        ("jwkPrivRSA.json", "jwkPrivRSAPKCS8.pem"),
        ("jwkPrivEC.json", "jwkPrivECPKCS8.pem"),
    ] {
        assert_eq!(
            ok(
                "fn",
                "{{ .secret | jwkPrivateKeyPem }}",
                &[("secret", data_file(input).as_bytes())]
            ),
            data_file(want),
            "{input}"
        );
    }
    let mixed = data_file("jwkPrivRSAPKCS8.pem") + &data_file("certData.pem");
    assert_eq!(
        ok(
            "fn",
            r#"{{ .secret | filterPEM "CERTIFICATE" }}"#,
            &[("secret", mixed.as_bytes())]
        ),
        data_file("certData.pem")
    );
}

#[test]
fn cert_sans() {
    // "certSANs extract DNS SANs as comma-separated string", "... first SAN
    // with index", "certSANs with toJson", "... combined with filterPEM
    // pipeline", "certSANs with invalid PEM".
    let cert = data_file("certData.pem");
    let c = [("certificate", cert.as_bytes())];
    assert_eq!(
        ok("sans", r#"{{ .certificate | certSANs | join "," }}"#, &c),
        "gooble.com"
    );
    assert_eq!(
        ok(
            "primary-domain",
            "{{ index (.certificate | certSANs) 0 }}",
            &c
        ),
        "gooble.com"
    );
    assert_eq!(
        ok("sans-json", "{{ .certificate | certSANs | toJson }}", &c),
        r#"["gooble.com"]"#
    );
    let both = data_file("keyData.pem") + &cert;
    assert_eq!(
        ok(
            "sans",
            r#"{{ .secret | filterPEM "CERTIFICATE" | certSANs | join "," }}"#,
            &[("secret", both.as_bytes())]
        ),
        "gooble.com"
    );
    let e = render(
        "sans",
        "{{ .certificate | certSANs }}",
        &[("certificate", b"not-a-pem")],
        None,
    )
    .unwrap_err();
    assert!(e.contains("failed to decode PEM block"), "{e}");
}

#[test]
fn rsa_decrypt() {
    // "rsa decrypt rsa-oaep sha1 pkcs8 data base64", "... sha256 pkcs1
    // data base64".
    assert_eq!(
        ok(
            "data_decrypted",
            r#"{{ .private_key | rsaDecrypt "RSA-OAEP" "SHA1" (.data_crypted_base64 | b64dec) }}"#,
            &[
                (
                    "private_key",
                    data_file("rsaDecryptPKRSAPKCS8.pem").as_bytes()
                ),
                (
                    "data_crypted_base64",
                    data_file("rsaDecryptDataPKCS8Base64.b64").as_bytes()
                ),
            ]
        ),
        "a1b2c3d4"
    );
    assert_eq!(
        ok(
            "data_decrypted",
            r#"{{ .private_key | rsaDecrypt "RSA-OAEP" "SHA256" (.data_crypted_base64 | b64dec) }}"#,
            &[
                (
                    "private_key",
                    data_file("rsaDecryptPKRSAPKCS1.pem").as_bytes()
                ),
                (
                    "data_crypted_base64",
                    data_file("rsaDecryptDataPKCS1Base64.b64").as_bytes()
                ),
            ]
        ),
        "hellopkcs1sha256"
    );
    // "rsa decrypt rsa-oaep sha256 pkcs1 data bin": the ciphertext made
    // by the test with the public key, passed as bytes.
    use rsa::{Oaep, RsaPublicKey, pkcs8::DecodePublicKey as _};
    let public =
        RsaPublicKey::from_public_key_pem(data_file("rsaDecryptPubKeyRSAPKCS1.pem").trim())
            .unwrap();
    let mut rng = rand::thread_rng();
    let crypted = public
        .encrypt(&mut rng, Oaep::new::<sha2::Sha256>(), b"hellopkcs1sha256")
        .unwrap();
    assert_eq!(
        ok(
            "data_decrypted",
            r#"{{ .private_key | rsaDecrypt "RSA-OAEP" "SHA256" .data_crypted_bin }}"#,
            &[
                (
                    "private_key",
                    data_file("rsaDecryptPKRSAPKCS1.pem").as_bytes()
                ),
                ("data_crypted_bin", &crypted),
            ]
        ),
        "hellopkcs1sha256"
    );
}

#[test]
fn errors_and_delimiters() {
    // "template syntax error", "unknown key error".
    let e = render("key", "{{ #xx }}", &[], None).unwrap_err();
    assert!(e.starts_with("parse: template: key:1:"), "{e}");
    let e = render("key", "{{ .unknown }}", &[], None).unwrap_err();
    assert_eq!(
        e,
        r#"execute: template: key:1:3: executing "key" at <.unknown>: map has no entry for key "unknown""#
    );
    // "NonStandardDelimiters".
    assert_eq!(
        render(
            "foo",
            "<< .secret | b64dec >>",
            &[("secret", b"MTIzNA==")],
            Some(("<<", ">>"))
        )
        .unwrap(),
        b"1234"
    );
}
