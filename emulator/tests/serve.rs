//! `azure-wi-emulator serve --identity-binding`: the environment it prints
//! is all a pod needs. Microsoft's Python SDK, given exactly those
//! variables, reads the demo's secret through the emulated token proxy
//! (needs `azure-identity` and `azure-keyvault-secrets` from PyPI, as the
//! SDK tests in `tests/` do). `serve --log-requests`: one JSON line per
//! answered request on stderr, and no value or token among them.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use azure_wi_core::names;
use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Command, Stdio},
};

/// Kills the server when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_printed_identity_binding_environment_reads_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_azure-wi-emulator"))
            .args(["serve", "--identity-binding", "--namespace", "team-b"])
            .args(["--service-account", "reports", "--out"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = server.0.stdout.take().unwrap();
    let mut exports = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("# TLS listener") {
            break;
        }
        if let Some((name, value)) = line
            .strip_prefix("export ")
            .and_then(|rest| rest.split_once('='))
        {
            exports.push((name.to_owned(), value.to_owned()));
        }
    }
    let names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        names::CLIENT_ID_ENV,
        names::TENANT_ID_ENV,
        names::FEDERATED_TOKEN_FILE_ENV,
        names::AUTHORITY_HOST_ENV,
        names::KUBERNETES_TOKEN_PROXY_ENV,
        names::KUBERNETES_SNI_NAME_ENV,
        names::KUBERNETES_CA_FILE_ENV,
        "NO_PROXY",
        "HTTPS_PROXY",
        "REQUESTS_CA_BUNDLE",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/identity_binding.py");
    let mut python = Command::new("python3");
    python
        .arg(script)
        .arg("https://orders-kv.vault.azure.net")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(exports);
    if let Some(home) = std::env::var_os("HOME") {
        python.env("HOME", home);
    }
    let output = python.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "install the SDK: python3 -m pip install azure-identity azure-keyvault-secrets\n{stderr}"
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(seen["secret"]["ok"], "s3cr3t-from-key-vault", "{seen:#}");
}

/// What `serve` printed before it started serving: the exports and the
/// TLS listener's address.
fn read_exports(stdout: std::process::ChildStdout) -> (Vec<(String, String)>, String) {
    let mut exports = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("# TLS listener ") {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            return (exports, addr);
        }
        if let Some((name, value)) = line
            .strip_prefix("export ")
            .and_then(|rest| rest.split_once('='))
        {
            exports.push((name.to_owned(), value.to_owned()));
        }
    }
    panic!("serve ended before it printed its listener");
}

#[tokio::test]
async fn log_requests_writes_one_json_line_per_answer_and_no_value_or_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_azure-wi-emulator"))
            .args(["serve", "--log-requests", "--out"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (exports, addr) = read_exports(server.0.stdout.take().unwrap());
    let export = |name: &str| {
        exports
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} in {exports:?}"))
    };
    let (client_id, tenant) = (export(names::CLIENT_ID_ENV), export(names::TENANT_ID_ENV));
    let assertion = std::fs::read_to_string(export(names::FEDERATED_TOKEN_FILE_ENV)).unwrap();
    let addr: std::net::SocketAddr = addr.parse().unwrap();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .resolve("login.microsoftonline.com", addr)
        .resolve("orders-kv.vault.azure.net", addr)
        .build()
        .unwrap();
    let json = |text: &str| -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };

    let token = client
        .post(format!(
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
        ))
        .form(&[
            ("client_id", client_id.as_str()),
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.trim()),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let token = json(&token.text().await.unwrap())["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let vault = "https://orders-kv.vault.azure.net";
    let secret = client
        .get(format!("{vault}/secrets/db-password?api-version=7.6"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(secret.status(), 200);
    let value = json(&secret.text().await.unwrap())["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(value, "s3cr3t-from-key-vault");

    let first = client
        .get(format!("{vault}/secrets?api-version=7.6&maxresults=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let next = json(&first.text().await.unwrap())["nextLink"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = client.get(&next).bearer_auth(&token).send().await.unwrap();
    assert_eq!(second.status(), 200);

    let refused = client
        .get(format!("{vault}/secrets/api-key?api-version=7.6"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Each line is written before its answer is sent: all are in the pipe.
    let mut stderr = server.0.stderr.take().unwrap();
    let _ = server.0.kill();
    let _ = server.0.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();

    for (what, secret) in [
        ("the secret's value", value.as_str()),
        ("another version's value", "first-password"),
        ("the access token", token.as_str()),
        ("the ServiceAccount token", assertion.trim()),
    ] {
        assert!(!log.contains(secret), "{what} in stderr:\n{log}");
    }
    let lines: Vec<serde_json::Value> = log.lines().map(json).collect();
    let summary: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            // Entra reads the issuer's documents to check the assertion.
            ("issuer_discovery", 200),
            ("issuer_jwks", 200),
            ("token", 200),
            ("secret_get", 200),
            ("secret_list", 200),
            ("secret_list", 200),
            ("secret_get", 401),
        ],
        "{log}"
    );
    let fields = |line: &serde_json::Value| {
        let mut line = line.clone();
        let object = line.as_object_mut().unwrap();
        assert!(object.remove("elapsed_us").unwrap().is_u64());
        assert!(object.remove("unix_ms").unwrap().as_u64().unwrap() > 1_700_000_000_000);
        line
    };
    assert_eq!(
        fields(&lines[2]),
        serde_json::json!({
            "kind": "token", "method": "POST", "tenant": tenant,
            "client_id": client_id, "status": 200,
        })
    );
    assert_eq!(
        fields(&lines[3]),
        serde_json::json!({
            "kind": "secret_get", "method": "GET", "vault": "orders-kv",
            "name": "db-password", "api_version": "7.6", "status": 200,
        })
    );
    assert_eq!(
        fields(&lines[4]),
        serde_json::json!({
            "kind": "secret_list", "method": "GET", "vault": "orders-kv",
            "api_version": "7.6", "status": 200,
        })
    );
    assert_eq!(
        fields(&lines[5]),
        serde_json::json!({
            "kind": "secret_list", "method": "GET", "vault": "orders-kv",
            "api_version": "7.6", "next_page": true, "status": 200,
        })
    );
    assert_eq!(
        fields(&lines[6]),
        serde_json::json!({
            "kind": "secret_get", "method": "GET", "vault": "orders-kv",
            "name": "api-key", "api_version": "7.6", "status": 401,
        })
    );
}
