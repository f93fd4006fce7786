//! `azure-wi-auth` end to end against the emulator: the credential and the
//! Key Vault client over real sockets and TLS, reaching the emulator under
//! the real Azure names, for every success path and every refusal.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use azure_wi_auth::{
    Assertion, AssertionCredential, Error, FederatedIdentity, RetryPolicy, SecretClient,
    WorkloadIdentityCredential, names,
};
use azure_wi_emulator::{
    Config, Emulator, Endpoint, Failure, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use futures::TryStreamExt as _;

struct Pod {
    dir: tempfile::TempDir,
    credential: WorkloadIdentityCredential,
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(20),
    }
}

/// A pod's token file and credential, configured as the webhook would.
fn pod(emulator: &Emulator, spec: &TokenSpec, client_id: &str) -> Pod {
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(&dir.path().join("tokens"), spec)
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, client_id, token_file)
        .unwrap()
        .with_retry_policy(fast_retries())
        .build()
        .unwrap();
    Pod { dir, credential }
}

/// The vault client, on the credential's transport (no client of its own).
fn vault(emulator: &Emulator, pod: &Pod) -> SecretClient {
    SecretClient::builder(&emulator.vault_url("orders-kv"), pod.credential.clone())
        .with_retry_policy(fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn reads_versions_lists_and_writes() {
    let mut config = Config::demo();
    config.max_page_size = 1;
    config.role_assignments.push(RoleAssignment {
        principal_id: DEMO_OBJECT_ID.into(),
        role: Role::SecretsOfficer,
        scope: "orders-kv/secrets/rotated".into(),
    });
    let emulator = Emulator::start(config).await.unwrap();
    let pod = pod(
        &emulator,
        &TokenSpec::new("team-a", "orders-api"),
        DEMO_CLIENT_ID,
    );
    let client = vault(&emulator, &pod);

    let secret = client.get_secret("db-password").await.unwrap();
    assert_eq!(secret.value.expose(), "s3cr3t-from-key-vault");
    assert!(!format!("{secret:?}").contains("s3cr3t"));
    let version = secret.properties.version.clone().unwrap();
    assert_eq!(
        client
            .get_secret_version("db-password", &version)
            .await
            .unwrap()
            .value
            .expose(),
        "s3cr3t-from-key-vault"
    );
    let names: Vec<String> = client
        .list_secret_properties()
        .map_ok(|p| p.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["api-key", "db-password"]);
    let versions: Vec<_> = client
        .list_secret_versions("db-password")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        client
            .set_secret("rotated", "v2")
            .await
            .unwrap()
            .value
            .expose(),
        "v2"
    );
    assert_eq!(
        client.get_secret("rotated").await.unwrap().value.expose(),
        "v2"
    );
    // One token served every call: the challenge and the token were cached.
    assert_eq!(emulator.counters().tokens_issued(), 1);
}

/// A node daemon's credential, given each pod's ServiceAccount token per
/// call: replicas of one ServiceAccount share one exchange, and another
/// ServiceAccount presenting itself for the same client id is not served
/// that token but refused by Entra ID.
#[tokio::test]
async fn a_node_daemon_exchanges_once_per_service_account_and_never_across() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let daemon = AssertionCredential::builder()
        .with_authority_host(emulator.authority_host().parse().unwrap())
        .with_http_client(emulator.client().unwrap())
        .with_retry_policy(fast_retries())
        .build()
        .unwrap();
    let identity = FederatedIdentity::new(
        DEMO_TENANT.parse().unwrap(),
        DEMO_CLIENT_ID.parse().unwrap(),
    );
    let replica = |issued_ago: u64| {
        let spec = TokenSpec::new("team-a", "orders-api")
            .issued_at(SystemTime::now() - Duration::from_secs(issued_ago));
        Assertion::new(emulator.mint(&spec).unwrap()).unwrap()
    };
    let (first, second) = (replica(0), replica(30));
    assert_ne!(first.secret(), second.secret());
    for assertion in [first, second] {
        let bound = daemon.for_workload(identity.clone(), assertion);
        let client = SecretClient::builder(&emulator.vault_url("orders-kv"), bound)
            .with_retry_policy(fast_retries())
            .build()
            .unwrap();
        let secret = client.get_secret("db-password").await.unwrap();
        assert_eq!(secret.value.expose(), "s3cr3t-from-key-vault");
    }
    assert_eq!(emulator.counters().tokens_issued(), 1);

    let intruder = emulator.mint(&TokenSpec::new("team-b", "billing")).unwrap();
    let error = daemon
        .get_token(
            &identity,
            &Assertion::new(intruder).unwrap(),
            &["https://vault.azure.net/.default".parse().unwrap()],
        )
        .await
        .unwrap_err();
    let code = error.entra().and_then(|e| e.code());
    assert!(matches!(code, Some(70021 | 700_213)), "{error}");
    assert_eq!(emulator.counters().tokens_issued(), 1);
}

async fn token_error(emulator: &Emulator, spec: &TokenSpec, client_id: &str) -> Error {
    let pod = pod(emulator, spec, client_id);
    vault(emulator, &pod)
        .get_secret("db-password")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn every_entra_refusal_arrives_with_its_code_and_a_diagnosis() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let old = SystemTime::now() - Duration::from_secs(7200);
    let cases = [
        (
            TokenSpec::new("team-a", "someone-else"),
            DEMO_CLIENT_ID,
            700213,
            "system:serviceaccount:team-a:someone-else",
        ),
        (
            TokenSpec::new("team-a", "Orders-Api"),
            DEMO_CLIENT_ID,
            7002138,
            "case",
        ),
        (
            TokenSpec::new("team-a", "orders-api").audience("api://other"),
            DEMO_CLIENT_ID,
            700212,
            "api://other",
        ),
        (
            TokenSpec::new("team-a", "orders-api").issued_at(old),
            DEMO_CLIENT_ID,
            700024,
            "expired",
        ),
        (
            TokenSpec::new("team-a", "orders-api"),
            "11111111-2222-3333-4444-555555555555",
            700016,
            "11111111-2222-3333-4444-555555555555",
        ),
    ];
    for (spec, client_id, code, hint) in cases {
        let requests = emulator.counters().token_requests();
        let error = token_error(&emulator, &spec, client_id).await;
        let entra = error.entra().unwrap_or_else(|| panic!("{code}: {error}"));
        assert_eq!(entra.code(), Some(code), "{error}");
        let text = error.to_string();
        assert!(text.contains(&format!("AADSTS{code}")), "{text}");
        assert!(
            error.diagnosis().is_some_and(|d| d.contains(hint)) || text.contains(hint),
            "{code}: {text}"
        );
        // Configuration errors are not retried.
        assert_eq!(emulator.counters().token_requests(), requests + 1, "{code}");
    }

    // Another cluster's issuer, and a token signed by a key the issuer does
    // not publish.
    let stranger = Emulator::start(Config {
        issuer: "https://other-cluster.localhost/".into(),
        ..Config::demo()
    })
    .await
    .unwrap();
    let forged_dir = tempfile::tempdir().unwrap();
    let forged = stranger
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let unknown_issuer = pod_with_assertion(&emulator, &forged_dir, &forged);
    assert_eq!(code_of(&emulator, &unknown_issuer).await, 50166);
    let impostor = Emulator::start(Config::demo()).await.unwrap();
    let signed_elsewhere = impostor
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        code_of(
            &emulator,
            &pod_with_assertion(&emulator, &dir, &signed_elsewhere)
        )
        .await,
        700027
    );
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        code_of(
            &emulator,
            &pod_with_assertion(&emulator, &dir, "not.a-jwt.at-all")
        )
        .await,
        50027
    );
}

fn pod_with_assertion(
    emulator: &Emulator,
    dir: &tempfile::TempDir,
    assertion: &str,
) -> WorkloadIdentityCredential {
    let file = azure_wi_emulator::issuer::write_token_file(dir.path(), assertion).unwrap();
    emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, file)
        .unwrap()
        .with_retry_policy(fast_retries())
        .build()
        .unwrap()
}

async fn code_of(emulator: &Emulator, credential: &WorkloadIdentityCredential) -> u32 {
    let scope = ["https://vault.azure.net/.default".parse().unwrap()];
    let error = credential.get_token(&scope).await.unwrap_err();
    let _ = emulator;
    error
        .entra()
        .and_then(|e| e.code())
        .unwrap_or_else(|| panic!("{error}"))
}

#[tokio::test]
async fn unknown_tenant_and_unknown_resource() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let credential = emulator
        .credential_builder(
            "00000000-0000-0000-0000-000000000000",
            DEMO_CLIENT_ID,
            &token_file,
        )
        .unwrap()
        .build()
        .unwrap();
    let error = credential
        .get_token(&["https://vault.azure.net/.default".parse().unwrap()])
        .await
        .unwrap_err();
    assert_eq!(error.entra().unwrap().code(), Some(90002), "{error}");
    let good = pod(
        &emulator,
        &TokenSpec::new("team-a", "orders-api"),
        DEMO_CLIENT_ID,
    );
    let error = good
        .credential
        .get_token(&["https://management.azure.com/.default".parse().unwrap()])
        .await
        .unwrap_err();
    assert_eq!(error.entra().unwrap().code(), Some(500011), "{error}");
}

#[tokio::test]
async fn key_vault_refusals_name_the_secret_vault_and_role() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let pod = pod(
        &emulator,
        &TokenSpec::new("team-a", "orders-api"),
        DEMO_CLIENT_ID,
    );
    let client = vault(&emulator, &pod);

    let missing = client.get_secret("nope").await.unwrap_err();
    assert!(
        matches!(missing, Error::SecretNotFound { .. }),
        "{missing:?}"
    );
    assert_eq!(
        missing.to_string(),
        "secret nope was not found in Key Vault https://orders-kv.vault.azure.net (SecretNotFound); check the name, or whether it was deleted"
    );
    let write = client.set_secret("db-password", "x").await.unwrap_err();
    let text = write.to_string();
    assert!(
        text.contains("refused writing secret db-password (ForbiddenByRbac)"),
        "{text}"
    );
    assert!(
        text.contains("needs the Key Vault Secrets Officer role"),
        "{text}"
    );

    emulator
        .update_config(|c| c.role_assignments.clear())
        .unwrap();
    let read = client
        .get_secret("db-password")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        read.contains("needs the Key Vault Secrets User role"),
        "{read}"
    );
}

#[tokio::test]
async fn throttling_and_outages_are_ridden_out() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let first = pod(
        &emulator,
        &TokenSpec::new("team-a", "orders-api"),
        DEMO_CLIENT_ID,
    );
    let client = vault(&emulator, &first);
    emulator.faults().fail_next(
        Endpoint::Entra,
        2,
        Failure {
            status: 503,
            retry_after: None,
        },
    );
    emulator.faults().fail_next(
        Endpoint::KeyVault,
        1,
        Failure {
            status: 429,
            retry_after: Some(1),
        },
    );
    let before = emulator.counters().vault_requests();
    assert_eq!(
        client
            .get_secret("db-password")
            .await
            .unwrap()
            .value
            .expose(),
        "s3cr3t-from-key-vault"
    );
    assert_eq!(emulator.counters().token_requests(), 3);
    // The throttled probe, its retry (the challenge), and the read.
    assert_eq!(emulator.counters().vault_requests() - before, 3);

    // The vault's own budget: the third read in the window is throttled
    // (429 with the seconds left in the window), and the client waits it
    // out instead of failing.
    let mut config = Config::demo();
    config.throttle.reads_per_10s = 2;
    let tight = Emulator::start(config).await.unwrap();
    let tight_pod = pod(
        &tight,
        &TokenSpec::new("team-a", "orders-api"),
        DEMO_CLIENT_ID,
    );
    let client = SecretClient::builder(&tight.vault_url("orders-kv"), tight_pod.credential.clone())
        .with_retry_policy(RetryPolicy {
            max_total: Duration::from_secs(30),
            max_delay: Duration::from_secs(15),
            ..fast_retries()
        })
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            client.get_secret("api-key").await.unwrap().value.expose(),
            "k-123"
        );
    }
    // Probe, 2 reads, the throttled read and its retry.
    assert_eq!(tight.counters().vault_requests(), 5);
    assert!(!tight_pod.dir.path().as_os_str().is_empty());
}

/// Set in the environment of the child process that plays the pod: the
/// vault to read.
const POD_VAULT: &str = "AZURE_WI_E2E_POD_VAULT";

/// Runs [`pod_process`] in a child process with a mutated pod's
/// environment, plus `HTTPS_PROXY` to the emulator and, if given,
/// `AZURE_WI_EXTRA_CA_FILE`, and `extra`. Returns whether it succeeded and
/// its stderr.
async fn run_pod_process(
    emulator: &Emulator,
    token_file: &Path,
    ca_file: Option<&Path>,
    extra: &[(&str, &std::ffi::OsStr)],
) -> (bool, String) {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command.args([
        "pod_process",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        names::EXTRA_CA_FILE_ENV,
        names::KUBERNETES_TOKEN_PROXY_ENV,
        names::KUBERNETES_SNI_NAME_ENV,
        names::KUBERNETES_CA_FILE_ENV,
        names::KUBERNETES_CA_DATA_ENV,
    ] {
        command.env_remove(var);
    }
    command.envs(extra.iter().copied());
    command
        .env(names::CLIENT_ID_ENV, DEMO_CLIENT_ID)
        .env(names::TENANT_ID_ENV, DEMO_TENANT)
        .env(names::FEDERATED_TOKEN_FILE_ENV, token_file)
        .env(names::AUTHORITY_HOST_ENV, emulator.authority_host())
        .env("HTTPS_PROXY", emulator.proxy_url())
        .env(POD_VAULT, emulator.vault_url("orders-kv"));
    if let Some(ca_file) = ca_file {
        command.env(names::EXTRA_CA_FILE_ENV, ca_file);
    }
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    // The child runs exactly one test: proof that the filter matched.
    assert!(stdout.contains("running 1 test"), "{stdout}\n{stderr}");
    (output.status.success(), stderr)
}

/// A separate process that only has the environment (as a pod, or the
/// `read_secret` example, does) trusts the emulator's CA through
/// `AZURE_WI_EXTRA_CA_FILE`, read by the library's default transport, and
/// reaches it through `HTTPS_PROXY`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_process_trusts_the_ca_named_by_the_extra_ca_file_variable() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(
            &dir.path().join("tokens"),
            &TokenSpec::new("team-a", "orders-api"),
        )
        .unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();

    let (ok, stderr) = run_pod_process(&emulator, &token_file, Some(&ca_file), &[]).await;
    assert!(ok, "{stderr}");

    // Without the variable the emulator's certificate is not trusted.
    let (ok, stderr) = run_pod_process(&emulator, &token_file, None, &[]).await;
    assert!(!ok);
    assert!(stderr.contains("certificate"), "{stderr}");

    // A variable naming a missing file is an error naming both.
    let missing = dir.path().join("missing.pem");
    let (ok, stderr) = run_pod_process(&emulator, &token_file, Some(&missing), &[]).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "AZURE_WI_EXTRA_CA_FILE names {}, which cannot be read",
            missing.display()
        )),
        "{stderr}"
    );
}

/// A pod given an identity binding: its token, for the token proxy's
/// audience, is for a ServiceAccount no federated credential names, so only
/// the emulated token proxy exchanges it; `from_env` goes there because the
/// webhook's `AZURE_KUBERNETES_*` variables are set. A ServiceAccount
/// without a binding is refused by the proxy, which names what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_with_an_identity_binding_reads_through_the_token_proxy() {
    let mut config = Config::demo();
    config.bind(DEMO_CLIENT_ID, "team-b", "reports");
    let emulator = Emulator::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    let url = emulator.identity_binding_url();
    let sni = azure_wi_emulator::hosts::identity_binding();
    let binding_env = [
        (names::KUBERNETES_TOKEN_PROXY_ENV, url.as_ref()),
        (names::KUBERNETES_SNI_NAME_ENV, sni.as_ref()),
        (names::KUBERNETES_CA_FILE_ENV, ca_file.as_os_str()),
    ];
    let token = |service_account: &str| {
        emulator
            .write_token_file(
                &dir.path().join(service_account),
                &TokenSpec::new("team-b", service_account)
                    .audience(azure_wi_emulator::binding::AUDIENCE),
            )
            .unwrap()
    };

    let bound = token("reports");
    let (ok, stderr) = run_pod_process(&emulator, &bound, Some(&ca_file), &binding_env).await;
    assert!(ok, "{stderr}");

    // Without the binding variables the same token goes to Entra, which
    // has no federated credential for it.
    let (ok, stderr) = run_pod_process(&emulator, &bound, Some(&ca_file), &[]).await;
    assert!(!ok);
    assert!(stderr.contains("AADSTS700213"), "{stderr}");

    let unbound = token("other");
    let (ok, stderr) = run_pod_process(&emulator, &unbound, Some(&ca_file), &binding_env).await;
    assert!(!ok);
    assert!(
        stderr.contains("ServiceAccount team-b/other may not use managed identity"),
        "{stderr}"
    );
}

/// The pod: `from_env` and `SecretClient::new`, nothing else; errors are
/// shown as a user sees them (`Display`). Ignored in a
/// normal run; [`a_pod_process_trusts_the_ca_named_by_the_extra_ca_file_variable`]
/// runs it in a child process with the environment set.
#[tokio::test]
#[ignore = "runs as a child process of a_pod_process_trusts_the_ca_named_by_the_extra_ca_file_variable"]
async fn pod_process() {
    let vault = std::env::var(POD_VAULT)
        .expect("run by a_pod_process_trusts_the_ca_named_by_the_extra_ca_file_variable");
    let credential = WorkloadIdentityCredential::from_env().unwrap_or_else(|e| panic!("{e}"));
    let client = SecretClient::new(&vault, credential).unwrap_or_else(|e| panic!("{e}"));
    let secret = client
        .get_secret("db-password")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(secret.value.expose(), "s3cr3t-from-key-vault");
}
