//! `azure-wi-emulator demo`: the chain succeeds, and each `--break` shows
//! the error a user would get and its fix.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::process::Command;

fn demo(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_azure-wi-emulator"))
        .arg("demo")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[test]
fn the_chain_reads_the_secret() {
    let (ok, out) = demo(&[]);
    assert!(ok, "{out}");
    for step in [
        "== 1. The pod",
        "== 2. The webhook mutates it",
        "== 3. The kubelet",
        "== 4. Entra ID",
        "== 5. Key Vault",
    ] {
        assert!(out.contains(step), "{step}: {out}");
    }
    assert!(
        out.contains("AZURE_CLIENT_ID=3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34"),
        "{out}"
    );
    // What the demo says of the mutation is read from the mutated pod.
    let volume = format!(
        "volume azure-identity-token: projected serviceAccountToken path=azure-identity-token \
         audience={} expirationSeconds=3600",
        azure_wi_core::names::DEFAULT_AUDIENCE
    );
    for line in [
        volume.as_str(),
        "containers/api: token mounted at /var/run/secrets/azure/tokens read-only",
        "initContainers/migrate: token mounted at /var/run/secrets/azure/tokens read-only",
        "containers/istio-proxy: no token mount (listed in \
         azure.workload.identity/skip-containers \"istio-proxy\")",
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d holds Key Vault Secrets User on orders-kv",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }
    assert!(out.contains("= s3cr3t-from-key-vault"), "{out}");
}

#[test]
fn each_broken_link_shows_its_error_and_fix() {
    let cases = [
        ("subject", "AADSTS700213"),
        ("audience", "AADSTS700212"),
        ("issuer", "AADSTS700211"),
        ("client-id", "AADSTS700016"),
        ("role", "ForbiddenByRbac"),
        ("expired", "AADSTS700024"),
        ("label", "AZURE_CLIENT_ID is not set"),
    ];
    for (link, expected) in cases {
        let (ok, out) = demo(&["--break", link]);
        assert!(ok, "{link}: {out}");
        assert!(
            out.contains("!! This is what the workload sees:"),
            "{link}: {out}"
        );
        assert!(out.contains(expected), "{link}: {out}");
        assert!(out.contains("-> Fix: "), "{link}: {out}");
        assert!(!out.contains("s3cr3t-from-key-vault"), "{link}: {out}");
    }
}

#[test]
fn the_demo_shows_the_audience_the_mutated_pod_really_has() {
    let (_, out) = demo(&["--break", "audience"]);
    let staging = format!(
        "audience={}-staging expirationSeconds=3600",
        azure_wi_core::names::DEFAULT_AUDIENCE
    );
    assert!(out.contains(&staging), "{out}");
}
