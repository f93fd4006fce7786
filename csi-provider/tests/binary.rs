//! The `azure-wi-csi-provider` process as a DaemonSet runs it: its socket,
//! `/healthz`, `/readyz`, `/metrics` and SIGTERM, reaching the emulated
//! Entra ID and Key Vault only through `HTTPS_PROXY` and
//! `AZURE_WI_EXTRA_CA_FILE`, and mounting walkthrough 4's
//! `SecretProviderClass` unchanged.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    MemoryVault, driver_request, objects,
    process::{Running, http_get, start, start_with},
};

use std::{
    process::{Command, ExitStatus},
    sync::Arc,
    time::{Duration, Instant},
};

use azure_wi_core::names;
use azure_wi_csi_provider::limits::{
    MAX_OBJECTS_BYTES, MAX_OBJECTS_DEPTH, MAX_OBJECTS_FLOW_DEPTH, MAX_REQUEST_JSON_BYTES,
};
use azure_wi_csi_provider::{
    http::{self, HealthCheck},
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    proto::{CSIDriverProviderClient, MountRequest},
    server,
};
use azure_wi_emulator::{
    Config, Emulator, Endpoint, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_ISSUER, DEMO_TENANT, FederatedCredential},
};
use azure_wi_runtime::{Readiness, admin};
use tokio_util::sync::CancellationToken;

/// Walkthrough 4's `SecretProviderClass`: the class a public AKS tutorial
/// for the Secrets Store CSI Driver has its readers apply, in the shape the
/// Azure provider documents for workload identity
/// (<https://azure.github.io/secrets-store-csi-driver-provider-azure/docs/configurations/identity-access-modes/workload-identity-mode/>),
/// as published, its placeholders filled in: the older `tenantId`
/// spelling and `usePodIdentity: "false"` included.
fn walkthrough_4_parameters() -> serde_json::Map<String, serde_json::Value> {
    let manifest = format!(
        r#"apiVersion: secrets-store.csi.x-k8s.io/v1
kind: SecretProviderClass
metadata:
  name: azure-keyvault-provider
  namespace: robot-shop
spec:
  provider: azure
  parameters:
    usePodIdentity: "false"
    clientID: "{DEMO_CLIENT_ID}"
    keyvaultName: "orders-kv"
    objects: |
      array:
        - |
          objectName: db-password
          objectType: secret
    tenantId: "{DEMO_TENANT}"          # the older spelling of tenantID
"#
    );
    let spc: serde_json::Value = yaml_serde::from_str(&manifest).unwrap();
    spc["spec"]["parameters"].as_object().unwrap().clone()
}

/// What the driver sends for a pod of `robot-shop/workload-identity-sa`
/// mounting that class: its parameters plus the pod's attributes and the
/// token kubelet requested for the CSIDriver's `tokenRequests`.
fn walkthrough_4_request(token: &str) -> MountRequest {
    let mut attributes = walkthrough_4_parameters();
    for (key, value) in [
        ("secretProviderClass", "azure-keyvault-provider"),
        ("csi.storage.k8s.io/pod.name", "app-0"),
        ("csi.storage.k8s.io/pod.namespace", "robot-shop"),
        (
            "csi.storage.k8s.io/pod.uid",
            "0b5cf4a2-0000-4000-8000-000000000004",
        ),
        (
            "csi.storage.k8s.io/serviceAccount.name",
            "workload-identity-sa",
        ),
        ("csi.storage.k8s.io/ephemeral", "false"),
    ] {
        attributes.insert(key.into(), value.into());
    }
    let tokens = serde_json::json!({
        names::DEFAULT_AUDIENCE: {"token": token, "expirationTimestamp": "2026-12-01T12:00:00Z"},
    });
    attributes.insert(
        "csi.storage.k8s.io/serviceAccount.tokens".into(),
        tokens.to_string().into(),
    );
    MountRequest {
        attributes: serde_json::Value::Object(attributes).to_string(),
        secrets: "null".into(),
        target_path: "/var/lib/kubelet/pods/0b5cf4a2-0000-4000-8000-000000000004/volumes/kubernetes.io~csi/secrets-store/mount".into(),
        permission: "420".into(),
        current_object_version: vec![],
    }
}

/// The emulator's demo, with walkthrough 4's ServiceAccount federated.
async fn walkthrough_4_emulator() -> Emulator {
    let mut config = Config::demo();
    config.identities[0]
        .federated_credentials
        .push(FederatedCredential {
            name: "robot-shop".into(),
            issuer: DEMO_ISSUER.into(),
            subject: azure_wi_core::names::service_account_subject(
                "robot-shop",
                "workload-identity-sa",
            ),
            audiences: vec![names::DEFAULT_AUDIENCE.into()],
        });
    Emulator::start(config).await.unwrap()
}

/// Sends SIGTERM to the provider and waits (10 s at most) for it to exit.
fn terminate(provider: &mut Running) -> ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &provider.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    loop {
        if let Some(status) = provider.child.try_wait().unwrap() {
            return status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls `path` on `port` (5 s at most) until it answers other than `from`,
/// and returns that answer: a state change, not a snapshot.
fn next_answer(port: u16, path: &str, from: (u16, &str)) -> (u16, String) {
    let started = Instant::now();
    loop {
        let (code, body) = http_get(port, path);
        if (code, body.as_str()) != from {
            return (code, body);
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path} still answers {from:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_process_mounts_walkthrough_4_and_stops_on_sigterm() {
    let emulator = walkthrough_4_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut provider = start(&emulator, dir.path());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&provider.socket).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the socket is the owner's only");

    let token = emulator
        .mint(&TokenSpec::new("robot-shop", "workload-identity-sa"))
        .unwrap();
    let channel = server::connect(&provider.socket).await.unwrap();
    let mut client = CSIDriverProviderClient::new(channel);
    let response = client
        .mount(walkthrough_4_request(&token))
        .await
        .unwrap_or_else(|s| panic!("{}\n{}", s.message(), provider.log()))
        .into_inner();
    assert_eq!(response.files.len(), 1);
    assert_eq!(response.files[0].path, "db-password");
    assert_eq!(response.files[0].mode, 0o644);
    assert_eq!(response.files[0].contents, b"s3cr3t-from-key-vault");
    assert_eq!(response.object_version[0].id, "secret/db-password");

    // A pod whose ServiceAccount has no federated credential: the message
    // names the subject it presented.
    let stranger = emulator
        .mint(&TokenSpec::new("robot-shop", "default"))
        .unwrap();
    let status = client
        .mount(walkthrough_4_request(&stranger))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(
        status
            .message()
            .contains("system:serviceaccount:robot-shop:default"),
        "{}",
        status.message()
    );

    let (code, body) = http_get(provider.healthz, "/healthz");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, metrics) = http_get(provider.metrics, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("azure_wi_csi_mounts_total{outcome=\"ok\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("azure_wi_csi_mounts_total{outcome=\"federated_credential_mismatch\"} 1\n"),
        "{metrics}"
    );
    assert_eq!(emulator.counters().tokens_issued(), 1);

    let status = terminate(&mut provider);
    let log = provider.log();
    assert!(status.success(), "{status}: {log}");
    assert!(!provider.socket.exists(), "the socket is removed on exit");
    assert!(log.contains("SIGTERM received"), "{log}");
    // Neither pod's token reached the log.
    for secret in [&token, &stranger] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!log.contains(signature), "a token is in the log");
    }
    assert!(!log.contains("s3cr3t-from-key-vault"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_ready_once_the_socket_serves_and_unready_while_shutdown_drains_mounts() {
    let emulator = walkthrough_4_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let mut provider = start(&emulator, dir.path());
    // Whatever it answered before, it turns ready, and stays so.
    let before = http_get(provider.healthz, "/readyz");
    if before.0 != 200 {
        assert_eq!(
            (before.0, before.1.as_str()),
            (503, "not ready: provider socket not serving")
        );
        let after = next_answer(provider.healthz, "/readyz", (503, &before.1));
        assert_eq!(
            (after.0, after.1.as_str()),
            (200, "ok"),
            "{}",
            provider.log()
        );
    }
    assert_eq!(
        http_get(provider.healthz, "/readyz"),
        (200, "ok".to_owned())
    );

    // A mount held in flight by a slow Key Vault, then SIGTERM.
    emulator
        .faults()
        .set_latency(Endpoint::KeyVault, Duration::from_secs(3));
    let token = emulator
        .mint(&TokenSpec::new("robot-shop", "workload-identity-sa"))
        .unwrap();
    let mut client = CSIDriverProviderClient::new(server::connect(&provider.socket).await.unwrap());
    let mount = tokio::spawn(async move { client.mount(walkthrough_4_request(&token)).await });
    let started = Instant::now();
    while !http_get(provider.metrics, "/metrics")
        .1
        .contains("azure_wi_csi_mounts_in_flight 1\n")
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no mount in flight"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill")
        .args(["-TERM", &provider.child.id().to_string()])
        .status()
        .unwrap();

    // Unready at once, while the mount still runs; the mount then completes.
    let (code, body) = next_answer(provider.healthz, "/readyz", (200, "ok"));
    assert_eq!(
        (code, body.as_str()),
        (503, "not ready: shutting down"),
        "{}",
        provider.log()
    );
    assert!(
        !mount.is_finished(),
        "the mount ended before shutdown was seen"
    );
    let response = mount
        .await
        .unwrap()
        .unwrap_or_else(|s| panic!("{}\n{}", s.message(), provider.log()))
        .into_inner();
    assert_eq!(response.files[0].contents, b"s3cr3t-from-key-vault");
    let status = terminate(&mut provider);
    assert!(status.success(), "{status}: {}", provider.log());
}

/// `/readyz` of the health port as the binary wires it, around the real
/// gRPC server: unready while the socket is not there, however long that
/// lasts, ready as soon as it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_unready_until_the_provider_socket_serves() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("azure.sock");
    let readiness = Readiness::default();
    let serving = readiness.condition(http::NOT_SERVING);
    let check = HealthCheck {
        socket: socket.clone(),
        timeout: Duration::from_secs(1),
    };
    let router = http::router("/healthz", check.clone(), readiness).unwrap();
    let listener = admin::bind("--healthz-port", "127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = CancellationToken::new();
    let http_server = tokio::spawn(admin::serve(listener, router, stop.clone()));
    let ready = tokio::spawn(http::ready_once_serving(check, serving));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let get = |path: &'static str| tokio::task::spawn_blocking(move || http_get(port, path));
    assert_eq!(
        get("/readyz").await.unwrap(),
        (503, "not ready: provider socket not serving".to_owned())
    );
    assert_eq!(get("/healthz").await.unwrap().0, 503);
    assert!(!ready.is_finished());

    let grpc = server::bind(&socket).unwrap();
    let mounter = Arc::new(Mounter::new(
        MemoryVault::default(),
        MountOptions::default(),
    ));
    let grpc_server = tokio::spawn(server::serve(
        grpc,
        mounter,
        Arc::new(Metrics::new()),
        stop.clone().cancelled_owned(),
    ));
    tokio::time::timeout(Duration::from_secs(5), ready)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(get("/readyz").await.unwrap(), (200, "ok".to_owned()));
    assert_eq!(get("/healthz").await.unwrap(), (200, "ok\n".to_owned()));

    stop.cancel();
    grpc_server.await.unwrap().unwrap();
    http_server.await.unwrap().unwrap();
}

#[test]
fn unusable_flags_are_refused_with_the_reason() {
    for (flags, expected) in [
        (
            vec!["--endpoint", "tcp://0.0.0.0:80"],
            "unix:///provider/azure.sock",
        ),
        (vec!["--construct-pem-chain=false"], "only true is valid"),
        (
            vec!["--write-cert-and-key-in-separate-files=yes"],
            "expected true or false",
        ),
        (vec!["--metrics-backend", "OpenCensus"], "Prometheus"),
        (
            vec!["--healthz-path", "/readyz"],
            "/readyz reports readiness on the same port",
        ),
        (vec!["--log-level", "verbose"], "--log-level \"verbose\""),
        (
            vec!["--read-sharing-window", "2m"],
            "shorter than the driver's --rotation-poll-interval",
        ),
        (
            vec!["--read-sharing-window", "soon"],
            "--read-sharing-window",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_azure-wi-csi-provider"))
            .args(&flags)
            .args(["--healthz-port", "0", "--prometheus-port", "0"])
            .args(["--http-address", "127.0.0.1"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_cert_and_key_in_separate_files_writes_crt_and_key_beside_the_bundle() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The Azure provider's Helm value writeCertAndKeyInSeparateFiles: true.
    let provider = start_with(
        &emulator,
        dir.path(),
        "--write-cert-and-key-in-separate-files=true",
    );
    let token = emulator
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let request = driver_request(
        &[
            ("keyvaultName", "orders-kv"),
            ("tenantID", DEMO_TENANT),
            ("clientID", DEMO_CLIENT_ID),
            (
                "objects",
                &objects(&[
                    "objectName: web-tls; objectType: secret; objectAlias: web-tls.pem",
                    "objectName: web-tls; objectType: cert",
                    "objectName: db-password; objectType: secret",
                ]),
            ),
        ],
        Some(&token),
    );
    let mut client = CSIDriverProviderClient::new(server::connect(&provider.socket).await.unwrap());
    let response = client
        .mount(request)
        .await
        .unwrap_or_else(|s| panic!("{}\n{}", s.message(), provider.log()))
        .into_inner();
    let text = |i: usize| std::str::from_utf8(&response.files[i].contents).unwrap();
    let paths: Vec<_> = response.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "web-tls.pem.crt",
            "web-tls.pem.key",
            "web-tls.pem",
            "web-tls",
            "db-password"
        ]
    );
    let (crt, key, bundle, cert) = (text(0), text(1), text(2), text(3));
    // The bundle is the key, then the chain; the two files are its halves.
    assert_eq!(bundle, format!("{key}{crt}"));
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    assert!(!key.contains("CERTIFICATE"), "{key}");
    assert!(crt.starts_with(cert), "the leaf first: {crt}");
    let ids: Vec<_> = response
        .object_version
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "secret/web-tls",
            "secret/web-tls",
            "secret/web-tls",
            "cert/web-tls",
            "secret/db-password"
        ]
    );
    assert!(
        provider
            .log()
            .contains("\"write_cert_and_key_in_separate_files\":true"),
        "{}",
        provider.log()
    );
}

/// Polls `/healthz` every 5 ms until `done`, and returns every answer that
/// was not 200 with how many answers there were.
fn watch_healthz(
    port: u16,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<(u16, String)>)> {
    std::thread::spawn(move || {
        let (mut answers, mut bad) = (0, Vec::new());
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let (code, body) = http_get(port, "/healthz");
            answers += 1;
            if code != 200 {
                bad.push((code, body));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        (answers, bad)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_objects_are_refused_before_parsing_while_healthz_answers() {
    let emulator = walkthrough_4_emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let provider = start(&emulator, dir.path());
    let token = emulator
        .mint(&TokenSpec::new("robot-shop", "workload-identity-sa"))
        .unwrap();
    let mut client = CSIDriverProviderClient::new(server::connect(&provider.socket).await.unwrap());
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = watch_healthz(provider.healthz, Arc::clone(&done));

    let mib = 1 << 20;
    let block_nesting: String = (0..700)
        .map(|i| format!("{}- a{i}:\n", " ".repeat(i % 100)))
        .collect();
    let cases: Vec<(&str, String, String)> = vec![
        (
            "array: then 1 MiB of [",
            format!("array: {}", "[".repeat(mib)),
            format!("limit of {MAX_OBJECTS_BYTES} bytes"),
        ),
        (
            "array: then 60 KiB of [",
            format!("array: {}", "[".repeat(60 << 10)),
            format!(
                "nests at least {} levels deep in open `[`/`{{` brackets, more than this \
                 provider's limit of {MAX_OBJECTS_FLOW_DEPTH}",
                MAX_OBJECTS_FLOW_DEPTH + 1
            ),
        ),
        (
            "1 MiB of nested flow mappings",
            format!("array: {}", "{a: ".repeat(mib / 4)),
            format!("limit of {MAX_OBJECTS_BYTES} bytes"),
        ),
        (
            "deeply nested block YAML",
            format!("array:\n{block_nesting}"),
            format!("more than this provider's limit of {MAX_OBJECTS_DEPTH}"),
        ),
        (
            "3 MiB of attributes",
            format!("array: {}", "#".repeat(3 * mib)),
            format!("more than this provider's limit of {MAX_REQUEST_JSON_BYTES} bytes"),
        ),
    ];
    for (what, objects, expected) in cases {
        let request = driver_request(
            &[("objects", objects.as_str()), ("keyvaultName", "orders-kv")],
            Some(&token),
        );
        let started = Instant::now();
        let status = client.mount(request).await.unwrap_err();
        let took = started.elapsed();
        println!("{what}: refused in {took:?} (round trip, debug build)");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{what}");
        assert!(
            status.message().contains(&expected),
            "{what}: {}",
            status.message()
        );
    }
    // A real mount still works on the same process.
    let response = client
        .mount(walkthrough_4_request(&token))
        .await
        .unwrap_or_else(|s| panic!("{}\n{}", s.message(), provider.log()))
        .into_inner();
    assert_eq!(response.files[0].contents, b"s3cr3t-from-key-vault");

    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (answers, bad) = watcher.join().unwrap();
    assert!(answers > 0, "/healthz was polled");
    assert_eq!(bad, [], "/healthz answered other than 200");
}
