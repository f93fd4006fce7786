//! Scale benchmark of the controller on a real control plane:
//! `cargo bench -p secret-sync --bench scale`.
//!
//! A real etcd and kube-apiserver (tests/control-plane), the emulator
//! trusting the apiserver's issuer, and the `secret-sync` release binary as
//! a child process (kubeconfig to the apiserver, `HTTPS_PROXY` to the
//! emulator). 1,000 ExternalSecrets over 10 ServiceAccounts (one
//! SecretStore each) read one vault with a one-minute refresh. Printed:
//! time until all 1,000 Secrets exist, Entra token requests and
//! TokenRequests against syncs (ESO makes one of each per sync), Key Vault
//! requests in the following minute, 429s received, and the controller's
//! resident memory, idle (the baseline) and after. Every tenth
//! ExternalSecret has a template (`spec.target.template.data`); the CPU a
//! template adds to a sync is measured in-process (the same template
//! rendered 10,000 times) against the controller's CPU per sync.

#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, FederatedCredential, Role, RoleAssignment,
        SecretSeed, Vault, VersionSeed,
    },
};
use k8s_openapi::{
    api::core::v1::{Namespace, Secret, ServiceAccount},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, ResourceExt,
    api::{ListParams, PostParams},
};
use secret_sync::api::{ExternalSecret, SecretStore, crd};
use serde_json::json;

const ACCOUNTS: usize = 10;
const EXTERNAL_SECRETS: usize = 1000;
const REMOTE_SECRETS: usize = 100;
const NAMESPACE: &str = "bench";

fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The process's user + system CPU time, from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // The kernel's USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// The template every tenth ExternalSecret carries.
const TEMPLATE: &str = "{{ printf \"postgres://app:%s@db:5432/orders?sslmode=require\" .value }}";

/// Mean time to render [`TEMPLATE`] as a sync does (parse and execute).
fn render_cost() -> Duration {
    use secret_sync::render::{Engine, Sources, render};
    let template: secret_sync::api::TargetTemplate =
        serde_json::from_value(json!({"data": {"url": TEMPLATE}})).unwrap();
    let funcs = azure_wi_template::functions();
    let engine = Engine {
        funcs: &funcs,
        delims: &azure_wi_template::Delims::default(),
        limits: &azure_wi_template::Limits::default(),
    };
    let fetched = [("value".to_owned(), b"s3cr3t-value".to_vec())].into();
    let mut random = |b: &mut [u8]| b.fill(0);
    let mut env = azure_wi_template::Env {
        now: time::OffsetDateTime::UNIX_EPOCH,
        random: &mut random,
    };
    const N: u32 = 10_000;
    let started = Instant::now();
    for _ in 0..N {
        let out = render(&template, &fetched, &Sources::default(), &engine, &mut env).unwrap();
        assert_eq!(out.data.len(), 1);
    }
    started.elapsed() / N
}

fn metric(port: u16, name: &str) -> u64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

#[allow(clippy::too_many_lines)]
async fn run() {
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = (0..ACCOUNTS)
        .map(|i| FederatedCredential {
            name: format!("sa-{i}"),
            issuer: plane.issuer().to_owned(),
            subject: names::service_account_subject(NAMESPACE, &format!("sa-{i}")),
            audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
        })
        .collect();
    config.vaults = vec![Vault {
        name: "bench-kv".to_owned(),
        tenant: None,
        secrets: (0..REMOTE_SECRETS)
            .map(|i| SecretSeed {
                name: format!("secret-{i}"),
                versions: vec![VersionSeed {
                    value: format!("value-{i}"),
                    content_type: None,
                    enabled: true,
                }],
            })
            .collect(),
        keys: Vec::new(),
        certificates: Vec::new(),
    }];
    config.role_assignments = vec![RoleAssignment {
        principal_id: DEMO_OBJECT_ID.to_owned(),
        role: Role::SecretsUser,
        scope: "bench-kv".to_owned(),
    }];
    let emulator = Emulator::start(config).await.unwrap();

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for definition in crd::all() {
        crds.create(&PostParams::default(), &definition)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), NAMESPACE);
    for i in 0..ACCOUNTS {
        let sa = serde_json::from_value(json!({"metadata": {"name": format!("sa-{i}"),
            "annotations": {names::CLIENT_ID_ANNOTATION: DEMO_CLIENT_ID}}}))
        .unwrap();
        accounts.create(&PostParams::default(), &sa).await.unwrap();
        let store = serde_json::from_value(json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": format!("store-{i}")},
            "spec": {"provider": {"azurekv": {"authType": "WorkloadIdentity", "tenantId": DEMO_TENANT,
                "vaultUrl": "https://bench-kv.vault.azure.net", "serviceAccountRef": {"name": format!("sa-{i}")}}}}}))
        .unwrap();
        stores.create(&PostParams::default(), &store).await.unwrap();
    }

    // The controller process.
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("emulator-ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("secret-sync.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_secret-sync"))
        .args(["run", "--concurrency", "8", "--log-level", "warn"])
        .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
        .env("KUBECONFIG", plane.kubeconfig())
        .env("HTTPS_PROXY", emulator.proxy_url())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env(names::EXTRA_CA_FILE_ENV, &ca_file)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let pid = child.id();
    tokio::time::sleep(Duration::from_secs(3)).await;
    if let Some(status) = child.try_wait().unwrap() {
        panic!(
            "secret-sync exited with {status}: {}",
            std::fs::read_to_string(dir.path().join("secret-sync.log")).unwrap_or_default()
        );
    }
    let idle = memory_kib(pid);

    let external_secrets: Api<ExternalSecret> = Api::namespaced(client.clone(), NAMESPACE);
    let started = Instant::now();
    for i in 0..EXTERNAL_SECRETS {
        let mut es = json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": format!("es-{i}")},
            "spec": {"refreshInterval": "1m", "secretStoreRef": {"name": format!("store-{}", i % ACCOUNTS)},
                "target": {"name": format!("secret-{i}")},
                "data": [{"secretKey": "value", "remoteRef": {"key": format!("secret-{}", i % REMOTE_SECRETS)}}]}});
        if i % 10 == 0 {
            es["spec"]["target"]["template"] = json!({"data": {"url": TEMPLATE}});
        }
        let es: ExternalSecret = serde_json::from_value(es).unwrap();
        external_secrets
            .create(&PostParams::default(), &es)
            .await
            .unwrap();
    }
    let created = started.elapsed();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NAMESPACE);
    let managed = ListParams::default().labels("reconcile.external-secrets.io/managed=true");
    loop {
        let count = secrets.list_metadata(&managed).await.unwrap().items.len();
        if count >= EXTERNAL_SECRETS {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {count} Secrets"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let first_sync = started.elapsed();
    let after_first = memory_kib(pid);
    let entra_first = emulator.counters().token_requests();
    let vault_first = emulator.counters().vault_requests();
    let syncs_first = metric(port, "secret_sync_syncs_total{result=\"ok\"}");

    // One refresh period with every ExternalSecret due once.
    tokio::time::sleep(Duration::from_secs(75)).await;
    let entra = emulator.counters().token_requests();
    let vault_minute = emulator.counters().vault_requests() - vault_first;
    let syncs = metric(port, "secret_sync_syncs_total{result=\"ok\"}");
    let token_requests = metric(port, "secret_sync_token_requests_total");
    let throttled = metric(port, "secret_sync_key_vault_throttled_total");
    let failed = metric(port, "secret_sync_syncs_total{result=\"error\"}");
    let after_refresh = memory_kib(pid);
    let cpu = cpu_time(pid);
    let _ = child.kill();
    let _ = child.wait();

    println!(
        "{EXTERNAL_SECRETS} ExternalSecrets over {ACCOUNTS} ServiceAccounts, one vault, refreshInterval 1m; controller as a child process\n"
    );
    println!(
        "created in {:.1} s; all {EXTERNAL_SECRETS} Secrets written {:.1} s after the first create",
        created.as_secs_f64(),
        first_sync.as_secs_f64()
    );
    println!(
        "first sync: {syncs_first} syncs, {entra_first} Entra token requests, {vault_first} Key Vault requests"
    );
    println!(
        "after one more minute: {syncs} syncs in all, {entra} Entra token requests, {token_requests} TokenRequests \
         (ESO: one of each per sync, {syncs}); Key Vault requests in that minute {vault_minute}; 429s received {throttled}; failed syncs {failed}"
    );
    let per_sync = cpu / u32::try_from(syncs.max(1)).unwrap();
    let per_template = render_cost();
    println!(
        "controller CPU {:.2} s over {syncs} syncs = {:.0} µs per sync; one template rendered (parse and execute, in-process) {:.1} µs = {:.3}x a sync's CPU",
        cpu.as_secs_f64(),
        per_sync.as_secs_f64() * 1e6,
        per_template.as_secs_f64() * 1e6,
        per_template.as_secs_f64() / per_sync.as_secs_f64().max(1e-9)
    );
    for (name, (rss, peak)) in [
        ("idle (baseline)", idle),
        ("after first sync", after_first),
        ("after a refresh", after_refresh),
    ] {
        println!(
            "controller memory {name:<17} RSS {:>5.1} MiB   peak {:>5.1} MiB",
            rss as f64 / 1024.0,
            peak as f64 / 1024.0
        );
    }
    let _ = ResourceExt::name_any(&ns);
}
