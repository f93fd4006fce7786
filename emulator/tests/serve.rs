//! `azure-wi-emulator serve --identity-binding`: the environment it prints
//! is all a pod needs. Microsoft's Python SDK, given exactly those
//! variables, reads the demo's secret through the emulated token proxy
//! (needs `azure-identity` and `azure-keyvault-secrets` from PyPI, as the
//! SDK tests in `tests/` do).

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
