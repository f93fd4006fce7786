//! The `azwi` binary as a user runs it: flags in, JSON or an error and an
//! exit code out.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{path::PathBuf, process::Command};

use serde_json::Value;

fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

fn azwi(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_azwi"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn jwks_prints_one_entry_per_distinct_key() {
    let (rsa, p256, rsa_private) = (key("rsa.pub"), key("p256.pub"), key("rsa-pkcs1.key"));
    let (code, stdout, stderr) = azwi(&[
        os("jwks"),
        os("--public-keys"),
        rsa.as_os_str(),
        p256.as_os_str(),
        rsa_private.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let jwks: Value = serde_json::from_str(&stdout).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [
            "MV9WNf8Td9d2oQvuZejjcCEItwU_JXraLe1e01LSAm4",
            "UpFnaoFGCztYURxdvuq3mh9VJEzXGIWTuQ9zsT2snOs"
        ]
    );
    assert!(stdout.starts_with("{\n  \"keys\": ["), "indented: {stdout}");
}

#[test]
fn jwks_output_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("jwks.json");
    // An existing, world-readable file is narrowed too.
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let p384 = key("p384-pkcs8.key");
    let (code, stdout, stderr) = azwi(&[
        os("jwks"),
        os("--public-keys"),
        p384.as_os_str(),
        os("--output-file"),
        out.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let jwks: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "ES384");
}

#[test]
fn jwks_bad_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("sa.pub");
    std::fs::write(&garbage, "not a key\n").unwrap();
    let missing = dir.path().join("missing.pub");
    for (file, says) in [(&garbage, "no -----BEGIN line"), (&missing, "cannot read")] {
        let (code, stdout, stderr) = azwi(&[os("jwks"), os("--public-keys"), file.as_os_str()]);
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(stdout, "");
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn jwks_without_keys_is_a_usage_error() {
    let (code, _, stderr) = azwi(&[os("jwks")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--public-keys"), "{stderr}");
}

fn issuer_run(
    dir: &std::path::Path,
    issuer: &str,
    keys: &[&str],
    private: Option<&str>,
) -> (i32, String, String) {
    let out = dir.join("upload");
    let mut args: Vec<std::ffi::OsString> = vec![
        "issuer".into(),
        "--issuer-url".into(),
        issuer.into(),
        "--output-dir".into(),
        out.into(),
    ];
    args.push("--public-keys".into());
    for k in keys {
        args.push(key(k).into());
    }
    if let Some(p) = private {
        args.push("--private-key".into());
        args.push(key(p).into());
    }
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsString::as_os_str).collect();
    azwi(&refs)
}

#[test]
fn issuer_writes_both_documents_and_passes_its_self_check() {
    for (keys, private, alg) in [
        (&["rsa.pub"][..], Some("rsa-pkcs8.key"), "RS256"),
        (&["p256-sec1.key"][..], None, "ES256"),
        (&["p384.pub"][..], Some("p384-pkcs8.key"), "ES384"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let issuer = "https://acct.blob.core.windows.net/$web/";
        let (code, stdout, stderr) = issuer_run(dir.path(), issuer, keys, private);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("self-check passed"), "{stdout}");
        assert!(
            stdout.contains("\"https://acct.blob.core.windows.net/$web/\" (ends with a slash)"),
            "{stdout}"
        );
        let discovery: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("upload/.well-known/openid-configuration")).unwrap(),
        )
        .unwrap();
        assert_eq!(discovery["issuer"], issuer);
        assert_eq!(
            discovery["jwks_uri"],
            "https://acct.blob.core.windows.net/$web/openid/v1/jwks"
        );
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            serde_json::json!([alg])
        );
        let jwks: Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("upload/openid/v1/jwks")).unwrap(),
        )
        .unwrap();
        assert_eq!(jwks["keys"][0]["alg"], alg);
    }
}

#[test]
fn issuer_self_check_fails_with_the_wrong_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = issuer_run(
        dir.path(),
        "https://issuer.example.com",
        &["rsa.pub"],
        Some("p256-sec1.key"),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("self-check failed"), "{stderr}");
    assert!(
        stderr.contains("UpFnaoFGCztYURxdvuq3mh9VJEzXGIWTuQ9zsT2snOs"),
        "{stderr}"
    );
}

#[test]
fn issuer_without_a_private_key_says_the_check_was_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) =
        issuer_run(dir.path(), "https://issuer.example.com", &["rsa.pub"], None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("self-check skipped"), "{stderr}");
    assert!(stdout.contains("(has no trailing slash)"), "{stdout}");
}

#[test]
fn issuer_refuses_a_plain_http_url() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) =
        issuer_run(dir.path(), "http://issuer.example.com/", &["rsa.pub"], None);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--issuer-url \"http://issuer.example.com/\": must start with https://"),
        "{stderr}"
    );
    assert!(!dir.path().join("upload").exists());
}
