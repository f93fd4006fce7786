//! Two `secret-sync run --leader-elect` processes, as the Deployment runs
//! them, on a real kube-apiserver against the emulated Entra ID and Key
//! Vault. Each replica reaches the API server through a proxy of its own
//! that records every request it forwards (so the test sees who wrote
//! what, when) and can hold back the replica's Lease requests or its reads
//! of ExternalSecrets.
//!
//! The scenarios, in order, on one cluster: (d) over several refresh
//! cycles only the leader writes, and each Secret is written once; (a) a
//! leader stopped with SIGSTOP is replaced within the lease duration plus
//! one retry period, and writes nothing once resumed; (b) a leader sent
//! SIGTERM hands over within 3 s; (e) a leader whose renewals hang stops
//! writing before the standby starts; (c) the API server stopped for 20 s
//! kills neither replica and both resume; (f) a replica started while its
//! API server is unreachable stays up and unready, and turns ready when it
//! appears; (g) a leader sent SIGTERM before its caches filled hands over
//! within 3 s too.
#![allow(clippy::unwrap_used)]

mod support;

use std::{
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
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
use http_body_util::BodyExt as _;
use k8s_openapi::api::{coordination::v1::Lease, core::v1::Secret};
use kube::{
    Api, Client, ResourceExt,
    api::{Patch, PatchParams},
};
use secret_sync::api::ExternalSecret;
use serde_json::json;

const LEASE: &str = "secret-sync-leader";
const LEASE_DURATION: Duration = Duration::from_secs(6);
const RENEW_DEADLINE: Duration = Duration::from_secs(4);
const RETRY_PERIOD: Duration = Duration::from_secs(1);
/// What the test's own observation adds: the Lease or proxy polled every
/// 100 ms, process start-up and scheduling on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(1500);
const EXTERNAL_SECRETS: usize = 3;

/// One request a replica sent to the API server.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    method: http::Method,
    path: String,
}

impl Seen {
    /// A write other than to the Lease: what a reconcile sends.
    fn is_work_write(&self) -> bool {
        self.method != http::Method::GET && !self.path.contains("/leases")
    }
}

/// A replica's way to the API server.
#[derive(Clone)]
struct ApiProxy {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    hold_leases: Arc<AtomicBool>,
    /// Holds back reads of ExternalSecrets: a controller whose cache never
    /// fills.
    hold_external_secrets: Arc<AtomicBool>,
}

impl ApiProxy {
    /// A proxy on a free port, not yet listening.
    fn reserve() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self {
            port,
            seen: Arc::default(),
            hold_leases: Arc::default(),
            hold_external_secrets: Arc::default(),
        }
    }

    /// Starts forwarding to the API server as `upstream`.
    async fn listen(&self, upstream: Client) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        let proxy = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let proxy = proxy.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let proxy = proxy.clone();
                        let upstream = upstream.clone();
                        async move { Ok::<_, Infallible>(proxy.forward(upstream, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    }

    async fn forward(
        &self,
        upstream: Client,
        request: http::Request<hyper::body::Incoming>,
    ) -> http::Response<
        http_body_util::combinators::UnsyncBoxBody<
            bytes::Bytes,
            Box<dyn std::error::Error + Send + Sync>,
        >,
    > {
        let path = request.uri().path().to_owned();
        self.seen.lock().unwrap().push(Seen {
            at: Instant::now(),
            method: request.method().clone(),
            path: path.clone(),
        });
        while path.contains("/leases") && self.hold_leases.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while path.ends_with("/externalsecrets")
            && self.hold_external_secrets.load(Ordering::SeqCst)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let mut outgoing = http::Request::builder()
            .method(parts.method)
            .uri(parts.uri.path_and_query().map_or("/", |p| p.as_str()));
        for name in [http::header::CONTENT_TYPE, http::header::ACCEPT] {
            if let Some(value) = parts.headers.get(&name) {
                outgoing = outgoing.header(name, value);
            }
        }
        let outgoing = outgoing
            .body(kube::client::Body::from(body.to_vec()))
            .unwrap();
        match upstream.send(outgoing).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                http::Response::from_parts(parts, body.map_err(|e| Box::new(e) as _).boxed_unsync())
            }
            Err(error) => http::Response::builder()
                .status(502)
                .body(
                    http_body_util::Full::new(bytes::Bytes::from(error.to_string()))
                        .map_err(|e| match e {})
                        .boxed_unsync(),
                )
                .unwrap(),
        }
    }

    fn work_writes_since(&self, since: Instant) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.at >= since && s.is_work_write())
            .cloned()
            .collect()
    }

    fn kubeconfig(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(format!("{name}.kubeconfig"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"http://127.0.0.1:{}\"}}}}]\nusers: [{{name: u, user: {{}}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u, namespace: default}}}}]\ncurrent-context: x\n",
                self.port
            ),
        )
        .unwrap();
        path
    }
}

/// A `secret-sync run --leader-elect` process.
struct Replica {
    name: String,
    child: Child,
    log: PathBuf,
    admin: SocketAddr,
    proxy: ApiProxy,
}

impl Replica {
    fn start(name: &str, proxy: ApiProxy, dir: &Path, emulator: &Emulator) -> Self {
        let admin = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let ca = dir.join("emulator-ca.pem");
        std::fs::write(&ca, emulator.ca_pem()).unwrap();
        let log_path = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_secret-sync"))
            .args([
                "run",
                "--leader-elect",
                "--leader-elect-namespace=default",
                &format!("--metrics-addr={admin}"),
                &format!(
                    "--leader-elect-lease-duration={}s",
                    LEASE_DURATION.as_secs()
                ),
                &format!(
                    "--leader-elect-renew-deadline={}s",
                    RENEW_DEADLINE.as_secs()
                ),
                &format!("--leader-elect-retry-period={}s", RETRY_PERIOD.as_secs()),
                "--log-level=info",
            ])
            .env("KUBECONFIG", proxy.kubeconfig(dir, name))
            .env("POD_NAME", name)
            .env("HTTPS_PROXY", emulator.proxy_url())
            .env(names::EXTRA_CA_FILE_ENV, &ca)
            .env(names::TENANT_ID_ENV, DEMO_TENANT)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self {
            name: name.to_owned(),
            child,
            log: log_path,
            admin,
            proxy,
        }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The exit status and the last lines the replica logged, for a
    /// failure message.
    fn post_mortem(&mut self) -> String {
        let status = self.child.try_wait().unwrap();
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        // Log lines and a panic's message, not its backtrace.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with('{') || l.contains("panicked") || !l.starts_with(' '))
            .collect();
        format!(
            "{} ({:?})\n{}",
            self.name,
            status,
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }

    async fn readyz(&self) -> Option<u16> {
        let response = reqwest::get(format!("http://{}/readyz", self.admin))
            .await
            .ok()?;
        Some(response.status().as_u16())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn holder(client: &Client) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), "default")
        .get_opt(LEASE)
        .await
        .ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

/// Waits up to `within` for `check`; the instant it held.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F) -> Instant
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return Instant::now();
        }
        assert!(
            started.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn emulator_config(plane: &ControlPlane) -> Config {
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities[0].federated_credentials = vec![FederatedCredential {
        name: "sync".to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject("sync", "sync-sa"),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    }];
    config.vaults = vec![Vault {
        name: "kv1".to_owned(),
        tenant: None,
        secrets: vec![SecretSeed {
            name: "db-password".to_owned(),
            versions: vec![VersionSeed {
                value: "pw-1".to_owned(),
                content_type: None,
                enabled: true,
            }],
        }],
        keys: Vec::new(),
        certificates: Vec::new(),
    }];
    config.role_assignments = vec![RoleAssignment {
        principal_id: DEMO_OBJECT_ID.to_owned(),
        role: Role::SecretsUser,
        scope: "kv1".to_owned(),
    }];
    config
}

async fn install(client: &Client) {
    support::install_crds(client).await;
    let apply = |value: serde_json::Value| {
        let client = client.clone();
        async move {
            let object: kube::api::DynamicObject = serde_json::from_value(value).unwrap();
            let gvk =
                kube::api::GroupVersionKind::try_from(object.types.as_ref().unwrap()).unwrap();
            let resource = kube::api::ApiResource::from_gvk(&gvk);
            let api: Api<kube::api::DynamicObject> = match object.namespace() {
                Some(ns) => Api::namespaced_with(client, &ns, &resource),
                None => Api::all_with(client, &resource),
            };
            api.patch(
                &object.name_any(),
                &PatchParams::apply("test").force(),
                &Patch::Apply(&object),
            )
            .await
            .unwrap();
        }
    };
    apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sync"}})).await;
    apply(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "sync-sa", "namespace": "sync",
            "annotations": {names::CLIENT_ID_ANNOTATION: DEMO_CLIENT_ID}}}))
    .await;
    apply(json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "store", "namespace": "sync"},
        "spec": {"provider": {"azurekv": {"authType": "WorkloadIdentity",
            "vaultUrl": "https://kv1.vault.azure.net", "serviceAccountRef": {"name": "sync-sa"}}}}}))
    .await;
    for i in 0..EXTERNAL_SECRETS {
        apply(
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
            "metadata": {"name": format!("es-{i}"), "namespace": "sync"},
            "spec": {"refreshInterval": "1s",
                "secretStoreRef": {"name": "store", "kind": "SecretStore"},
                "target": {"name": format!("target-{i}")},
                "data": [{"secretKey": "password", "remoteRef": {"key": "db-password"}}]}}),
        )
        .await;
    }
}

async fn all_synced(client: &Client) -> bool {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "sync");
    let external: Api<ExternalSecret> = Api::namespaced(client.clone(), "sync");
    for i in 0..EXTERNAL_SECRETS {
        let Ok(Some(_)) = secrets.get_opt(&format!("target-{i}")).await else {
            return false;
        };
        let Ok(es) = external.get(&format!("es-{i}")).await else {
            return false;
        };
        let ready = es
            .status
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if !ready {
            return false;
        }
    }
    true
}

fn pick<'a>(replicas: &'a mut [Replica], name: &str) -> &'a mut Replica {
    replicas.iter_mut().find(|r| r.name == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_never_write_at_once_and_survive_the_api_server() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(emulator_config(&plane)).await.unwrap();
    install(&client).await;
    let dir = tempfile::tempdir().unwrap();

    let mut replicas = Vec::new();
    for name in ["replica-a", "replica-b"] {
        let proxy = ApiProxy::reserve();
        proxy.listen(plane.client().await.unwrap()).await;
        replicas.push(Replica::start(name, proxy, dir.path(), &emulator));
    }
    eventually(
        Duration::from_secs(60),
        "every ExternalSecret synced",
        || all_synced(&client),
    )
    .await;

    // (d) Over three refresh cycles, only the leader writes, and each
    // Secret was written once since the start.
    let leader = holder(&client).await.unwrap();
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    for replica in &replicas {
        let writes = replica.proxy.work_writes_since(window);
        if replica.name == leader {
            assert!(!writes.is_empty(), "the leader refreshed nothing");
        } else {
            assert!(
                writes.is_empty(),
                "the standby {} wrote: {writes:?}",
                replica.name
            );
        }
    }
    let secret_writes: usize = replicas
        .iter()
        .map(|r| {
            r.proxy
                .work_writes_since(window - Duration::from_secs(3600))
                .iter()
                .filter(|s| s.path.contains("/secrets/target-"))
                .count()
        })
        .sum();
    assert_eq!(
        secret_writes, EXTERNAL_SECRETS,
        "each Secret is written once"
    );
    for replica in &replicas {
        assert_eq!(
            replica.readyz().await,
            Some(200),
            "{} is leader or healthy standby",
            replica.name
        );
    }

    // (a) SIGSTOP the leader: the standby leads within the lease duration
    // plus one retry period; resumed, the old leader writes nothing.
    let stopped = leader.clone();
    pick(&mut replicas, &stopped).signal("STOP");
    let paused = Instant::now();
    let taken = eventually(
        LEASE_DURATION + RETRY_PERIOD + SLACK + Duration::from_secs(5),
        "the standby to lead",
        || async { holder(&client).await.is_some_and(|h| h != stopped) },
    )
    .await;
    assert!(
        taken - paused <= LEASE_DURATION + RETRY_PERIOD + SLACK,
        "took over after {:?}",
        taken - paused
    );
    eprintln!(
        "figure (a): a SIGSTOPped leader replaced after {:?} (lease {LEASE_DURATION:?}, retry {RETRY_PERIOD:?})",
        taken - paused
    );
    pick(&mut replicas, &stopped).signal("CONT");
    let resumed = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = pick(&mut replicas, &stopped)
        .proxy
        .work_writes_since(resumed);
    assert!(late.is_empty(), "the resumed old leader wrote: {late:?}");
    let leader = holder(&client).await.unwrap();
    assert_ne!(leader, stopped);

    // (b) SIGTERM the leader: it releases the lease and the standby leads
    // within 3 s; it exits 0.
    let terminated = leader.clone();
    pick(&mut replicas, &terminated).signal("TERM");
    let sent = Instant::now();
    let taken = eventually(
        Duration::from_secs(10),
        "the standby to lead after SIGTERM",
        || async { holder(&client).await.is_some_and(|h| h != terminated) },
    )
    .await;
    if taken - sent > Duration::from_secs(3) {
        let _ = pick(&mut replicas, &terminated).child.wait();
        let logs: Vec<String> = replicas.iter_mut().map(Replica::post_mortem).collect();
        panic!("took over after {:?}\n{}", taken - sent, logs.join("\n\n"));
    }
    eprintln!("figure (b): SIGTERM to a new leader in {:?}", taken - sent);
    let status = pick(&mut replicas, &terminated).child.wait().unwrap();
    assert!(status.success(), "{terminated} exited with {status}");
    // It comes back, as the Deployment would restart it.
    let proxy = pick(&mut replicas, &terminated).proxy.clone();
    replicas.retain(|r| r.name != terminated);
    replicas.push(Replica::start(&terminated, proxy, dir.path(), &emulator));
    let leader = holder(&client).await.unwrap();
    let standby = replicas
        .iter()
        .find(|r| r.name != leader)
        .unwrap()
        .name
        .clone();
    eventually(
        Duration::from_secs(30),
        "the restarted replica to stand by",
        || {
            let replica = replicas.iter().find(|r| r.name == standby).unwrap();
            async move { replica.readyz().await == Some(200) }
        },
    )
    .await;

    // (e) The leader's renewals hang: it stops writing before the standby
    // starts.
    let hung = pick(&mut replicas, &leader).proxy.clone();
    let other = pick(&mut replicas, &standby).proxy.clone();
    hung.hold_leases.store(true, Ordering::SeqCst);
    let held = Instant::now();
    eventually(
        LEASE_DURATION + RETRY_PERIOD + SLACK + Duration::from_secs(5),
        "the standby to lead past a hung renewal",
        || async { holder(&client).await.as_deref() == Some(standby.as_str()) },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let old = hung.work_writes_since(held);
    let new = other.work_writes_since(held);
    let first_new = new.first().expect("the new leader writes").at;
    eprintln!(
        "figure (e): renewals held at 0; the old leader's last write at {:?}, the new leader's first at {:?}",
        old.last().map(|w| w.at - held),
        first_new - held
    );
    if let Some(last_old) = old.last() {
        assert!(
            last_old.at < first_new,
            "the old leader wrote {:?} after the new one began",
            last_old.at - first_new
        );
        assert!(
            last_old.at - held <= RENEW_DEADLINE,
            "the old leader wrote {:?} after its renewals hung",
            last_old.at - held
        );
    }
    hung.hold_leases.store(false, Ordering::SeqCst);

    // (c) The API server stops answering for 20 s: both replicas live on
    // and one of them leads again, all synced, none restarted.
    let pid = plane.apiserver_pid().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .unwrap()
            .success()
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .unwrap()
            .success()
    );
    for replica in &mut replicas {
        let alive = replica.alive();
        assert!(
            alive,
            "a replica exited while the API server was stopped: {}",
            replica.post_mortem()
        );
    }
    eventually(
        Duration::from_secs(60),
        "a leader after the outage",
        || async { holder(&client).await.is_some() },
    )
    .await;
    let external: Api<ExternalSecret> = Api::namespaced(client.clone(), "sync");
    let refreshed = |es: &ExternalSecret| {
        es.status
            .as_ref()
            .and_then(|s| s.refresh_time.as_deref())
            .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
    };
    let before = refreshed(&external.get("es-0").await.unwrap());
    eventually(Duration::from_secs(30), "refreshes to resume", || async {
        refreshed(&external.get("es-0").await.unwrap()) > before
    })
    .await;
    for replica in &mut replicas {
        let alive = replica.alive();
        assert!(
            alive,
            "a replica exited after the outage: {}",
            replica.post_mortem()
        );
    }

    // (f) A replica whose API server is unreachable at start stays up and
    // unready, then turns ready when it appears.
    let late_proxy = ApiProxy::reserve();
    let mut late = Replica::start("replica-c", late_proxy.clone(), dir.path(), &emulator);
    eventually(
        Duration::from_secs(20),
        "replica-c's admin port",
        || async { late.readyz().await.is_some() },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        late.readyz().await,
        Some(503),
        "unready without an API server"
    );
    assert!(late.alive(), "exited without an API server");
    late_proxy.listen(plane.client().await.unwrap()).await;
    eventually(
        Duration::from_secs(20),
        "replica-c ready once the API server answers",
        || async { late.readyz().await == Some(200) },
    )
    .await;
    assert!(late.alive());

    // (g) A leader told to stop before its caches filled hands over at
    // once: the standbys cannot list ExternalSecrets, the leader is
    // stopped, and the one that takes over, unsynced, is stopped in turn.
    replicas.push(late);
    let first = holder(&client).await.unwrap();
    for replica in replicas.iter().filter(|r| r.name != first) {
        replica
            .proxy
            .hold_external_secrets
            .store(true, Ordering::SeqCst);
    }
    pick(&mut replicas, &first).signal("TERM");
    eventually(
        Duration::from_secs(10),
        "a standby to lead after SIGTERM",
        || async { holder(&client).await.is_some_and(|h| h != first) },
    )
    .await;
    let second = holder(&client).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    pick(&mut replicas, &second).signal("TERM");
    let sent = Instant::now();
    let taken = eventually(
        Duration::from_secs(10),
        "the last standby to lead after the unsynced leader's SIGTERM",
        || async {
            holder(&client)
                .await
                .is_some_and(|h| h != first && h != second)
        },
    )
    .await;
    if taken - sent > Duration::from_secs(3) {
        let logs: Vec<String> = replicas.iter_mut().map(Replica::post_mortem).collect();
        panic!(
            "a leader stopped before its caches filled handed over after {:?}\n{}",
            taken - sent,
            logs.join("\n\n")
        );
    }
    eprintln!(
        "figure (g): an unsynced leader's SIGTERM to a new leader in {:?}",
        taken - sent
    );
    for name in [&first, &second] {
        let replica = pick(&mut replicas, name);
        let status = replica.child.wait().unwrap();
        assert!(status.success(), "{name} exited with {status}");
    }
}
