//! Scale benchmark of the controller on a real control plane:
//! `cargo bench -p secret-sync --bench scale`.
//!
//! A real etcd and kube-apiserver (tests/control-plane), the emulator
//! trusting the apiserver's issuer, and the `secret-sync` release binary as
//! a child process (kubeconfig to the apiserver, `HTTPS_PROXY` to the
//! emulator). 10,000 ExternalSecrets over 100 ServiceAccounts (one
//! SecretStore and one Entra identity each) read one vault of 100 secrets
//! with `refreshInterval: 1m`; ExternalSecret `i` reads through store
//! `i % 100` secret `(i / 100) % 100`, so every identity reads every secret
//! and no two ExternalSecrets read the same secret as the same identity.
//! Every tenth ExternalSecret has a template (`spec.target.template.data`).
//! Sizes: `SCALE_ES`, `SCALE_ACCOUNTS`, `SCALE_REMOTE` (secrets in the
//! vault) and `SCALE_MINUTES` (steady refresh minutes measured; 0 stops
//! after the first sync) override 10,000, 100, 100 and 10, for a quick
//! run; `SCALE_CONCURRENCY` passes `--concurrency` to the controller;
//! `SCALE_WRAP` runs it under a tool (e.g. `valgrind --tool=massif
//! --massif-out-file=/tmp/massif.%p` for a heap profile).
//!
//! What it counts, all from the emulator's request log
//! (`Emulator::request_log`, per request kind), with the controller's own
//! `/metrics` beside it:
//!
//! - the time to first sync of every ExternalSecret, created beforehand,
//!   from the controller's start until the last Secret holds its value
//!   (the bench watches the Secrets), against the floor the controller's
//!   Key Vault budget sets (3,000 requests per 10 s by default) for the
//!   requests it made; beside it the controller's CPU, the emulator's time
//!   per answer, and the latency of one small API server write a second
//!   (what each of the controller's writes waits for);
//! - Entra exchanges and TokenRequests;
//! - Key Vault requests in each refresh minute with nothing changed, split
//!   into listings, their pages and secret GETs, with the syncs the
//!   controller counted (quiet refreshes included). Minutes are 60 s windows
//!   whose start is placed in the widest gap between the identities'
//!   refresh slots (`secret_sync::schedule::slot`), so each window holds
//!   every identity's refresh once and none straddles a boundary. The
//!   first window after the first sync is a warm-up; `SCALE_MINUTES`
//!   windows after it (by default ten; each ExternalSecret's place in the
//!   cycle of full reads is a hash of its uid, so each window holds about
//!   a thirtieth of them at the default `--full-read-every`) give the
//!   mean;
//! - then 1% of the vault's secrets get a new version at the start of a
//!   window: the requests of that window (GETs of the changed secrets
//!   apart), and how many of the affected Secrets hold the new value by
//!   its end (plus 10 s);
//! - 429s; the controller's resident memory: idle (the same binary with no
//!   ExternalSecret, started and stopped before they are created), after
//!   the first sync, after the steady minutes, after the change, and its
//!   peak; and the size of one synced ExternalSecret as the API server
//!   serves it (what the controller's cache holds per object), with
//!   `SCALE_CACHE_COST` set also what holding all of them costs a process
//!   with and without their `managedFields`;
//! - the CPU a template adds to a sync: the template rendered 10,000 times
//!   in-process, against the controller's CPU per ExternalSecret over the
//!   first sync.

#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    collections::HashMap,
    io::{Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use azure_wi_control_plane::ControlPlane;
use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator,
    config::{
        DEMO_TENANT, FederatedCredential, Identity, Role, RoleAssignment, SecretSeed, Vault,
        VersionSeed,
    },
    requests::{RequestCounts, RequestKind, RequestRecord},
};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::{
    api::{
        authentication::v1::TokenRequest,
        core::v1::{ConfigMap, Namespace, Secret, ServiceAccount},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, ResourceExt as _,
    api::{ListParams, Patch, PatchParams, PostParams},
    runtime::{WatchStreamExt as _, watcher},
};
use secret_sync::api::{ExternalSecret, SecretStore, crd};
use serde_json::json;

const NAMESPACE: &str = "bench";
const VAULT: &str = "bench-kv";
const REFRESH: Duration = Duration::from_secs(60);
/// After the change minute, how long the Secrets may take to show it.
const SLACK: Duration = Duration::from_secs(10);
/// The label the controller puts on the Secrets it manages.
const MANAGED: &str = "reconcile.external-secrets.io/managed=true";
/// The template every tenth ExternalSecret carries.
const TEMPLATE: &str = "{{ printf \"postgres://app:%s@db:5432/orders?sslmode=require\" .value }}";

/// The run's sizes, from the environment or the issue's.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    external_secrets: usize,
    accounts: usize,
    remote: usize,
    minutes: usize,
    /// `--concurrency` when set (`SCALE_CONCURRENCY`); the controller's
    /// default otherwise.
    concurrency: Option<usize>,
}

impl Sizes {
    fn from_env() -> Self {
        let read = |name: &str, least: usize| {
            std::env::var(name)
                .ok()
                .filter(|text| !text.trim().is_empty())
                .map(|text| {
                    text.trim()
                        .replace([',', '_'], "")
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n >= least)
                        .unwrap_or_else(|| {
                            panic!("{name}={text:?}: a whole number, at least {least}")
                        })
                })
        };
        Self {
            external_secrets: read("SCALE_ES", 1).unwrap_or(10_000),
            accounts: read("SCALE_ACCOUNTS", 1).unwrap_or(100),
            remote: read("SCALE_REMOTE", 1).unwrap_or(100),
            minutes: read("SCALE_MINUTES", 0).unwrap_or(10),
            concurrency: read("SCALE_CONCURRENCY", 1),
        }
    }

    /// The store (and ServiceAccount) ExternalSecret `i` reads through.
    fn account_of(self, i: usize) -> usize {
        i % self.accounts
    }

    /// The remote secret ExternalSecret `i` reads.
    fn remote_of(self, i: usize) -> usize {
        (i / self.accounts) % self.remote
    }

    /// The secrets given a new version: 1% of the vault, at least one.
    fn changed(self) -> usize {
        self.remote.div_ceil(100)
    }
}

fn client_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012x}")
}

fn object_id(i: usize) -> String {
    format!("00000000-0000-4000-9000-{i:012x}")
}

const WRITER: &str = "writer";
const WRITER_CLIENT_ID: &str = "ffffffff-0000-4000-8000-000000000000";
const WRITER_OBJECT_ID: &str = "ffffffff-0000-4000-9000-000000000000";

fn value(k: usize, generation: u32) -> String {
    format!("value-{k}-v{generation}")
}

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

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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

/// The `secret-sync` release binary, stopped when dropped (SIGTERM, as
/// the kubelet stops it, so a wrapping profiler writes its report; killed
/// after 60 s).
struct Controller {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Controller {
    fn start(
        plane: &ControlPlane,
        emulator: &Emulator,
        dir: &Path,
        name: &str,
        concurrency: Option<usize>,
    ) -> Self {
        let ca_file = dir.join("emulator-ca.pem");
        std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        // The defaults but for the log level (and `--concurrency` when
        // SCALE_CONCURRENCY is set).
        // SCALE_WRAP runs it under a tool (its words before the binary's
        // path), e.g. `valgrind --tool=massif --massif-out-file=F` for a
        // heap profile, written when the controller stops.
        let wrap = std::env::var("SCALE_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut command = match words.next() {
            Some(tool) => {
                let mut command = Command::new(tool);
                command.args(words).arg(env!("CARGO_BIN_EXE_secret-sync"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_secret-sync")),
        };
        command.args(["run", "--log-level", "warn"]);
        if let Some(concurrency) = concurrency {
            command.args(["--concurrency", &concurrency.to_string()]);
        }
        let child = command
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .env("KUBECONFIG", plane.kubeconfig())
            .env("HTTPS_PROXY", emulator.proxy_url())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env(names::EXTRA_CA_FILE_ENV, &ca_file)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, port, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn metric(&self, name: &str) -> u64 {
        metric(self.port, name)
    }

    /// Panics with the log's tail when the process has exited.
    fn alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!("secret-sync exited with {status}:\n{tail}");
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Each managed Secret's values (joined) and when the bench first saw
/// them, from a watch.
type Seen = Arc<Mutex<HashMap<String, (String, Instant)>>>;

fn watch_secrets(client: kube::Client) -> (Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Arc::default();
    let record = Arc::clone(&seen);
    let watching = tokio::spawn(async move {
        let api: Api<Secret> = Api::namespaced(client, NAMESPACE);
        let mut events = std::pin::pin!(
            watcher(api, watcher::Config::default().labels(MANAGED)).default_backoff()
        );
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(secret) | watcher::Event::InitApply(secret)) => {
                    let values = secret
                        .data
                        .iter()
                        .flatten()
                        .map(|(_, v)| String::from_utf8_lossy(&v.0).into_owned())
                        .collect::<Vec<_>>()
                        .join("\n");
                    let mut seen = record.lock().unwrap_or_else(PoisonError::into_inner);
                    let name = secret.name_any();
                    if seen.get(&name).is_none_or(|(old, _)| *old != values) {
                        seen.insert(name, (values, Instant::now()));
                    }
                }
                Ok(watcher::Event::Delete(secret)) => {
                    record
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .remove(&secret.name_any());
                }
                Ok(_) => {}
                Err(error) => eprintln!("watching Secrets: {error}"),
            }
        }
    });
    (seen, watching)
}

/// The ExternalSecrets among `which` whose Secret holds the value
/// `expected` gives for its remote secret, and the latest time one of them
/// was seen changing.
fn holding(
    seen: &Seen,
    sizes: Sizes,
    which: impl Iterator<Item = usize>,
    expected: impl Fn(usize) -> String,
) -> (usize, Option<Instant>) {
    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
    let mut count = 0;
    let mut last = None;
    for i in which {
        if let Some((values, at)) = seen.get(&format!("secret-{i}"))
            && values.contains(&expected(sizes.remote_of(i)))
        {
            count += 1;
            last = last.max(Some(*at));
        }
    }
    (count, last)
}

/// Key Vault requests of one stretch, split as the issue asks.
#[derive(Debug, Clone, Copy, Default)]
struct Reads {
    /// Listings made (first pages).
    listings: u64,
    /// Every page of them, first pages included.
    pages: u64,
    /// `GET /secrets/{name}`.
    gets: u64,
    /// Of those, GETs of the secrets given a new version.
    changed_gets: u64,
    /// Every other Key Vault request but writes (none expected).
    other: u64,
    /// All Key Vault requests but writes.
    total: u64,
    /// Key Vault's 429s.
    throttled: u64,
}

impl Reads {
    /// The requests of `counts` and `records`, the first `changed`
    /// secrets having a new version.
    fn of(counts: &RequestCounts, records: &[RequestRecord], changed: usize) -> Self {
        let all = counts.key_vault();
        let writes = counts.sum(RequestKind::is_write);
        let total = all.answered - writes.answered;
        let pages = counts.get(RequestKind::SecretList).answered;
        let gets = counts.get(RequestKind::SecretGet).answered;
        let listings = records
            .iter()
            .filter(|r| r.kind == RequestKind::SecretList && !r.next_page)
            .count() as u64;
        let changed_gets = records
            .iter()
            .filter(|r| r.kind == RequestKind::SecretGet)
            .filter_map(|r| r.name.as_deref()?.strip_prefix("secret-")?.parse().ok())
            .filter(|k: &usize| *k < changed)
            .count() as u64;
        Self {
            listings,
            pages,
            gets,
            changed_gets,
            other: total - pages - gets,
            total,
            throttled: all.throttled,
        }
    }

    /// A row of the per-minute table, with the syncs the controller
    /// counted (quiet refreshes included).
    fn row(&self, label: &str, syncs: u64) -> String {
        format!(
            "| {label} | {syncs} | {} | {} | {} | {} | {} | {} | {} |",
            self.listings,
            self.pages,
            self.gets,
            self.changed_gets,
            self.other,
            self.total,
            self.throttled
        )
    }
}

/// A snapshot of the emulator's log and the controller at a window's edge.
struct Edge {
    counts: RequestCounts,
    records: Vec<RequestRecord>,
}

fn edge(emulator: &Emulator) -> Edge {
    Edge {
        counts: emulator.request_log().counts(),
        records: emulator.request_log().take_records(),
    }
}

fn unix_secs(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn unix_ms(at: SystemTime) -> u64 {
    u64::try_from(
        at.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn sleep_until(at: SystemTime) {
    if let Ok(wait) = at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
}

/// Where windows start, in seconds past each minute: in the widest gap
/// between the identities' refresh slots, three quarters of the way
/// through it (a slot's reconciles run about a second after it, after
/// kube-rs's debounce). Also the gap's size.
fn window_phase(sizes: Sizes) -> (f64, f64) {
    let vault_url = format!("https://{VAULT}.vault.azure.net");
    let mut slots: Vec<f64> = (0..sizes.accounts)
        .map(|i| {
            let sa = format!("sa-{i}");
            let seed = secret_sync::change::identity_key(&vault_url, Some((NAMESPACE, &sa)));
            secret_sync::schedule::slot(&seed, REFRESH).as_secs_f64()
        })
        .collect();
    slots.sort_by(f64::total_cmp);
    let period = REFRESH.as_secs_f64();
    let (mut start, mut gap) = (
        slots[slots.len() - 1],
        slots[0] + period - slots[slots.len() - 1],
    );
    for pair in slots.windows(2) {
        if pair[1] - pair[0] > gap {
            (start, gap) = (pair[0], pair[1] - pair[0]);
        }
    }
    ((start + 0.75 * gap) % period, gap)
}

/// The first window edge at or after `after`.
fn next_edge(after: SystemTime, phase: f64) -> SystemTime {
    let period = REFRESH.as_secs_f64();
    let k = ((unix_secs(after) - phase) / period).ceil();
    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(phase + k * period)
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(Sizes::from_env()));
}

fn emulator_config(plane: &ControlPlane, sizes: Sizes) -> Config {
    let federated = |name: &str| FederatedCredential {
        name: name.to_owned(),
        issuer: plane.issuer().to_owned(),
        subject: names::service_account_subject(NAMESPACE, name),
        audiences: vec![names::DEFAULT_AUDIENCE.to_owned()],
    };
    let mut config = Config::demo();
    config.issuer = plane.issuer().to_owned();
    config.trusted_issuer_ca_pems = vec![plane.ca_pem().to_owned()];
    config.identities = (0..sizes.accounts)
        .map(|i| Identity {
            name: format!("sa-{i}"),
            tenant: DEMO_TENANT.to_owned(),
            client_id: client_id(i),
            object_id: object_id(i),
            federated_credentials: vec![federated(&format!("sa-{i}"))],
        })
        .chain([Identity {
            name: WRITER.to_owned(),
            tenant: DEMO_TENANT.to_owned(),
            client_id: WRITER_CLIENT_ID.to_owned(),
            object_id: WRITER_OBJECT_ID.to_owned(),
            federated_credentials: vec![federated(WRITER)],
        }])
        .collect();
    config.vaults = vec![Vault {
        name: VAULT.to_owned(),
        tenant: None,
        secrets: (0..sizes.remote)
            .map(|k| SecretSeed {
                name: format!("secret-{k}"),
                versions: vec![VersionSeed {
                    value: value(k, 1),
                    content_type: None,
                    enabled: true,
                }],
            })
            .collect(),
        keys: Vec::new(),
        certificates: Vec::new(),
    }];
    config.role_assignments = (0..sizes.accounts)
        .map(|i| RoleAssignment {
            principal_id: object_id(i),
            role: Role::SecretsUser,
            scope: VAULT.to_owned(),
        })
        .chain([RoleAssignment {
            principal_id: WRITER_OBJECT_ID.to_owned(),
            role: Role::SecretsOfficer,
            scope: VAULT.to_owned(),
        }])
        .collect();
    config
}

/// A client of the vault as the writer identity, its token already taken.
async fn writer(
    client: &kube::Client,
    emulator: &Emulator,
    dir: &Path,
) -> azure_wi_auth::SecretClient {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    let sa = serde_json::from_value(json!({"metadata": {"name": WRITER}})).unwrap();
    accounts.create(&PostParams::default(), &sa).await.unwrap();
    let request: TokenRequest = serde_json::from_value(json!({
        "spec": {"audiences": [names::DEFAULT_AUDIENCE], "expirationSeconds": 7200}
    }))
    .unwrap();
    let issued = accounts
        .create_token_request(WRITER, &PostParams::default(), &request)
        .await
        .unwrap();
    let token = dir.join("writer-token");
    std::fs::write(&token, issued.status.unwrap().token).unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, WRITER_CLIENT_ID, token)
        .unwrap()
        .build()
        .unwrap();
    let writer = azure_wi_auth::SecretClient::builder(&emulator.vault_url(VAULT), credential)
        .build()
        .unwrap();
    // The challenge and the token exchange now, before anything is counted.
    let secret = writer.get_secret("secret-0").await.unwrap();
    assert_eq!(secret.value.expose(), value(0, 1));
    writer
}

/// What holding every ExternalSecret costs a process (`SCALE_CACHE_COST`):
/// the bench's own resident memory before and after listing them all (in
/// pages of 500, as a watcher does) into memory, as the API server serves
/// them and with `metadata.managedFields` dropped, twice each. An RSS
/// difference, so a rough figure.
async fn cache_cost(external_secrets: &Api<ExternalSecret>) {
    let me = std::process::id();
    let mut held = Vec::new();
    for strip in [false, false, true, true] {
        let before = memory_kib(me).0;
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(500);
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let page = external_secrets.list(&params).await.unwrap();
            all.extend(page.items.into_iter().map(|mut es| {
                if strip {
                    es.metadata.managed_fields = None;
                }
                es
            }));
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        all.shrink_to_fit();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let grown = memory_kib(me).0.saturating_sub(before);
        say(&format!(
            "{} ExternalSecrets held in a process{}: its RSS +{:.1} MiB, {:.2} KiB each",
            all.len(),
            if strip {
                ", managedFields dropped"
            } else {
                " as served"
            },
            mib(grown),
            grown as f64 / all.len().max(1) as f64
        ));
        held.push(all);
    }
}

/// Prints a line of the report as soon as it is known.
fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

#[allow(clippy::too_many_lines)]
async fn run(sizes: Sizes) {
    let Sizes {
        external_secrets: n,
        accounts,
        remote,
        minutes,
        concurrency,
    } = sizes;
    let plane = ControlPlane::start().await.unwrap();
    let client = plane.client().await.unwrap();
    let emulator = Emulator::start(emulator_config(&plane, sizes))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

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
    let accounts_api: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    let stores: Api<SecretStore> = Api::namespaced(client.clone(), NAMESPACE);
    for i in 0..accounts {
        let sa = serde_json::from_value(json!({"metadata": {"name": format!("sa-{i}"),
            "annotations": {names::CLIENT_ID_ANNOTATION: client_id(i)}}}))
        .unwrap();
        accounts_api
            .create(&PostParams::default(), &sa)
            .await
            .unwrap();
        let store = serde_json::from_value(json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
            "metadata": {"name": format!("store-{i}")},
            "spec": {"provider": {"azurekv": {"authType": "WorkloadIdentity", "tenantId": DEMO_TENANT,
                "vaultUrl": format!("https://{VAULT}.vault.azure.net"), "serviceAccountRef": {"name": format!("sa-{i}")}}}}}))
        .unwrap();
        stores.create(&PostParams::default(), &store).await.unwrap();
    }
    let writer = writer(&client, &emulator, dir.path()).await;
    let (seen, watching) = watch_secrets(client.clone());

    // The controller with nothing to sync: its idle memory.
    let idle = {
        let mut idle = Controller::start(&plane, &emulator, dir.path(), "idle", concurrency);
        tokio::time::sleep(Duration::from_secs(5)).await;
        idle.alive();
        memory_kib(idle.pid())
    };

    // Every ExternalSecret, before the controller that syncs them starts.
    let external_secrets: Api<ExternalSecret> = Api::namespaced(client.clone(), NAMESPACE);
    let creating = Instant::now();
    futures::stream::iter(0..n)
        .map(|i| {
            let api = external_secrets.clone();
            let mut es = json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i}")},
                "spec": {"refreshInterval": "1m", "secretStoreRef": {"name": format!("store-{}", sizes.account_of(i))},
                    "target": {"name": format!("secret-{i}")},
                    "data": [{"secretKey": "value", "remoteRef": {"key": format!("secret-{}", sizes.remote_of(i))}}]}});
            if i.is_multiple_of(10) {
                es["spec"]["target"]["template"] = json!({"data": {"url": TEMPLATE}});
            }
            let es: ExternalSecret = serde_json::from_value(es).unwrap();
            async move { api.create(&PostParams::default(), &es).await.map(drop) }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    let created = creating.elapsed();
    let budget = u64::from(secret_sync::budget::KEY_VAULT_LIMIT * 3 / 4);
    say(&format!(
        "{n} ExternalSecrets over {accounts} ServiceAccounts (one SecretStore and one Entra identity each), \
         one vault of {remote} secrets, refreshInterval 1m, every tenth with a template; \
         the controller as a child process with its defaults (concurrency {}, {budget} Key Vault requests per 10 s, \
         a full read every {} refreshes)\n",
        concurrency.unwrap_or(usize::from(secret_sync::controller::DEFAULT_CONCURRENCY)),
        secret_sync::change::DEFAULT_FULL_READ_EVERY
    ));
    say(&format!(
        "created the {n} ExternalSecrets in {:.1} s, before the controller started",
        created.as_secs_f64()
    ));

    // First sync: from the controller's start to every Secret holding its
    // value.
    emulator.request_log().keep_records(true);
    let before = edge(&emulator);
    let started = Instant::now();
    let mut controller =
        Controller::start(&plane, &emulator, dir.path(), "secret-sync", concurrency);
    let pid = controller.pid();
    let initial = |k| value(k, 1);
    let deadline = Duration::from_secs(120) + Duration::from_millis(60 * n as u64);
    let mut progress = Vec::new();
    // What each of the controller's writes waits for: one small write to
    // the API server a second, timed.
    let probe: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    probe
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "probe"}})).unwrap(),
        )
        .await
        .unwrap();
    let mut write_latency = Vec::new();
    let mut probed = u64::MAX;
    loop {
        controller.alive();
        let (count, _) = holding(&seen, sizes, 0..n, initial);
        if count == n {
            break;
        }
        assert!(
            started.elapsed() < deadline,
            "only {count} of {n} Secrets after {deadline:?}"
        );
        let second = started.elapsed().as_secs();
        if second.is_multiple_of(10) && progress.last().is_none_or(|(s, _)| *s != second) {
            progress.push((second, count));
        }
        if second != probed {
            probed = second;
            let patch = json!({"data": {"second": second.to_string()}});
            let writing = Instant::now();
            probe
                .patch("probe", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap();
            write_latency.push(writing.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    write_latency.sort();
    let quantile = |q: f64| write_latency[((write_latency.len() - 1) as f64 * q).round() as usize];
    let first_sync = started.elapsed();
    let synced_at_ms = unix_ms(SystemTime::now());
    let cpu_first = cpu_time(pid);
    let after_first = memory_kib(pid);
    let first = edge(&emulator);
    let first_counts = first.counts.since(&before.counts);
    let first_reads = Reads::of(&first_counts, &first.records, 0);
    let kv_records = || first.records.iter().filter(|r| r.kind.is_key_vault());
    // From the controller's first Key Vault request to the last Secret.
    let from_first_request = Duration::from_millis(
        synced_at_ms.saturating_sub(kv_records().map(|r| r.unix_ms).min().unwrap()),
    );
    let served_us =
        kv_records().map(|r| r.elapsed_us).sum::<u64>() as f64 / kv_records().count().max(1) as f64;
    let spent_first = controller.metric("secret_sync_key_vault_requests_total");
    let syncs_first = controller.metric("secret_sync_syncs_total{result=\"ok\"}");
    let floor = Duration::from_secs_f64(spent_first as f64 * 10.0 / budget as f64);
    // Fixed 10 s windows: the last window opens after this long.
    let last_window = Duration::from_secs(10 * (spent_first.saturating_sub(1) / budget));
    let ratio = first_sync.as_secs_f64() / floor.as_secs_f64();
    say(&format!(
        "first sync: all {n} Secrets held their values {:.1} s after the controller started \
         ({:.1} s after its first Key Vault request); {syncs_first} syncs, {:.0} per second; the controller spent \
         {spent_first} requests of its budget, which allows them in {:.1} s ({budget} per 10 s; in its fixed \
         windows the last opens at {} s): {ratio:.2}x the floor",
        first_sync.as_secs_f64(),
        from_first_request.as_secs_f64(),
        syncs_first as f64 / first_sync.as_secs_f64(),
        floor.as_secs_f64(),
        last_window.as_secs(),
    ));
    say(&format!(
        "first sync's Key Vault requests: {} GETs ({} answered 2xx), {} listing pages, {} other, {} in all, \
         {} 429s; the emulator took {served_us:.0} µs on average to answer one; the controller used {:.2} s of \
         CPU ({:.0}% of one core over the first sync)",
        first_reads.gets,
        first_counts.get(RequestKind::SecretGet).succeeded,
        first_reads.pages,
        first_reads.other,
        first_reads.total,
        first_reads.throttled,
        cpu_first.as_secs_f64(),
        100.0 * cpu_first.as_secs_f64() / first_sync.as_secs_f64()
    ));
    say(&format!(
        "an API server write during the first sync (one a second, {} in all): median {:.1} ms, p90 {:.1} ms, \
         max {:.1} ms",
        write_latency.len(),
        quantile(0.5).as_secs_f64() * 1e3,
        quantile(0.9).as_secs_f64() * 1e3,
        quantile(1.0).as_secs_f64() * 1e3
    ));
    say(&format!(
        "Secrets holding their values every 10 s: {}",
        progress
            .iter()
            .map(|(s, c)| format!("{s} s: {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // What the controller's cache of ExternalSecrets holds per object: the
    // object as the API server serves it, its managedFields apart.
    {
        let es = external_secrets.get("es-1").await.unwrap();
        let whole = serde_json::to_vec(&es).unwrap().len();
        let managed = serde_json::to_vec(&es.metadata.managed_fields)
            .unwrap()
            .len();
        say(&format!(
            "one synced ExternalSecret as the API server serves it: {whole} bytes of JSON, {managed} of them \
             metadata.managedFields ({} entries)",
            es.metadata.managed_fields.as_ref().map_or(0, Vec::len)
        ));
    }

    if std::env::var_os("SCALE_CACHE_COST").is_some() {
        cache_cost(&external_secrets).await;
    }

    let goal = |met: bool| if met { "met" } else { "MISSED" };
    let mut summary = vec![format!(
        "| time to first sync of all {n} | {:.1} s = {ratio:.2}x the budget floor ({:.1} s for {spent_first} requests) | within 1.2x | {} |",
        first_sync.as_secs_f64(),
        floor.as_secs_f64(),
        goal(ratio <= 1.2)
    )];

    let mut after_steady = None;
    let mut steady_cpu = None;
    if minutes > 0 {
        // Steady state: a warm-up window, then `minutes` windows.
        let (phase, gap) = window_phase(sizes);
        let mut at = next_edge(SystemTime::now(), phase);
        sleep_until(at).await;
        let mut edges = vec![edge(&emulator)];
        let mut cpu = vec![cpu_time(pid)];
        let ok_syncs = "secret_sync_syncs_total{result=\"ok\"}";
        let mut syncs = vec![controller.metric(ok_syncs)];
        say(&format!(
            "\nKey Vault requests per refresh minute, nothing changed (windows start {phase:.1} s past the minute, \
             in a {gap:.1} s gap between the identities' slots; minute 0 is the warm-up, not in the mean):\n"
        ));
        say(
            "| minute | syncs | listings | list pages | secret GETs | of changed secrets | other | Key Vault requests | 429s |",
        );
        say("|---|---|---|---|---|---|---|---|---|");
        let mut windows = Vec::new();
        for m in 0..=minutes {
            at += REFRESH;
            sleep_until(at).await;
            controller.alive();
            edges.push(edge(&emulator));
            cpu.push(cpu_time(pid));
            syncs.push(controller.metric(ok_syncs));
            let [earlier, later] = &edges[m..m + 2] else {
                unreachable!()
            };
            let reads = Reads::of(&later.counts.since(&earlier.counts), &later.records, 0);
            say(&reads.row(&m.to_string(), syncs[m + 1] - syncs[m]));
            windows.push(reads);
        }
        after_steady = Some(memory_kib(pid));
        let steady = &windows[1..];
        let mean = |pick: fn(&Reads) -> u64| {
            steady.iter().map(pick).sum::<u64>() as f64 / steady.len() as f64
        };
        say(&format!(
            "| mean of 1-{minutes} | {:.1} | {:.1} | {:.1} | {:.1} | | {:.1} | {:.1} | {:.1} |",
            (syncs[syncs.len() - 1] - syncs[1]) as f64 / minutes as f64,
            mean(|r| r.listings),
            mean(|r| r.pages),
            mean(|r| r.gets),
            mean(|r| r.other),
            mean(|r| r.total),
            mean(|r| r.throttled)
        ));
        steady_cpu = Some((cpu[cpu.len() - 1] - cpu[1]) / u32::try_from(minutes).unwrap());

        // 1% of the vault's secrets get a new version at the window's
        // start.
        let changed = sizes.changed();
        let write_started = Instant::now();
        for k in 0..changed {
            writer
                .set_secret(&format!("secret-{k}"), &value(k, 2))
                .await
                .unwrap();
        }
        let written = Instant::now();
        let write_took = written - write_started;
        at += REFRESH;
        sleep_until(at).await;
        let change_end = edge(&emulator);
        let change_reads = Reads::of(
            &change_end.counts.since(&edges[edges.len() - 1].counts),
            &change_end.records,
            changed,
        );
        say(&change_reads.row(
            &format!("{changed} of {remote} secrets changed"),
            controller.metric(ok_syncs) - syncs[syncs.len() - 1],
        ));
        let affected = || (0..n).filter(|i| sizes.remote_of(*i) < changed);
        let current = |k| value(k, if k < changed { 2 } else { 1 });
        let (by_end, _) = holding(&seen, sizes, affected(), current);
        tokio::time::sleep(SLACK).await;
        controller.alive();
        let (with_slack, last_seen) = holding(&seen, sizes, affected(), current);
        let affected_count = affected().count();
        let (unaffected_right, _) = holding(
            &seen,
            sizes,
            (0..n).filter(|i| sizes.remote_of(*i) >= changed),
            current,
        );
        say(&format!(
            "\nthe change: {changed} new version(s) written in {:.0} ms at the window's start; {affected_count} \
             ExternalSecrets read them; {by_end} of their Secrets held the new value at the window's end, \
             {with_slack} {} s later (the last seen {:.1} s after the write); {unaffected_right} of the other {} \
             still held their values",
            write_took.as_secs_f64() * 1e3,
            SLACK.as_secs(),
            last_seen.map_or(f64::NAN, |at| at
                .saturating_duration_since(written)
                .as_secs_f64()),
            n - affected_count
        ));

        let steady_goal = n as f64 * 0.05;
        let minute_totals = steady.iter().map(|r| r.total);
        summary.push(format!(
            "| Key Vault requests per refresh minute, nothing changed (mean of {minutes}) | {:.0} ({:.0} listing pages of {:.0} listings, {:.0} GETs); minutes from {} to {} | ≤ {steady_goal:.0} (5% of one GET per ExternalSecret) | {} |",
            mean(|r| r.total),
            mean(|r| r.pages),
            mean(|r| r.listings),
            mean(|r| r.gets),
            minute_totals.clone().min().unwrap(),
            minute_totals.max().unwrap(),
            goal(mean(|r| r.total) <= steady_goal)
        ));
        // The changed secrets' GETs on top of what a quiet minute reads
        // anyway (its listing and checks, and the full reads spread over
        // every minute).
        let quiet = mean(|r| r.total);
        let expected = affected_count as f64 + quiet;
        summary.push(format!(
            "| Key Vault requests in the minute after 1% changed | {} ({} listing pages of {} listings, {} GETs: {} of the changed secrets, {} of others) | ≤ {expected:.0} ({affected_count} GETs on top of the quiet minutes' {quiet:.0}) | {} |",
            change_reads.total,
            change_reads.pages,
            change_reads.listings,
            change_reads.gets,
            change_reads.changed_gets,
            change_reads.gets - change_reads.changed_gets,
            goal(change_reads.total as f64 <= expected)
        ));
        summary.push(format!(
            "| affected Secrets with the new value by the minute's end + {} s | {with_slack} of {affected_count} | all | {} |",
            SLACK.as_secs(),
            goal(with_slack == affected_count)
        ));
    }

    let after_all = memory_kib(pid);
    let end = edge(&emulator);
    let whole = end.counts.since(&before.counts);
    let throttled_seen = whole.key_vault().throttled;
    let exchanges = whole.get(RequestKind::Token);
    let token_requests = controller.metric("secret_sync_token_requests_total");
    let throttled_controller = controller.metric("secret_sync_key_vault_throttled_total");
    let failed = controller.metric("secret_sync_syncs_total{result=\"error\"}");
    let syncs = controller.metric("secret_sync_syncs_total{result=\"ok\"}");
    drop(controller);
    watching.abort();

    let per_sync = cpu_first / u32::try_from(syncs_first.max(1)).unwrap();
    let per_template = render_cost();
    say(&format!(
        "whole run from the controller's start: {} Entra exchanges ({} answered 2xx), {token_requests} \
         TokenRequests, {syncs} syncs (quiet refreshes included), {failed} failed; 429s: {throttled_seen} \
         answered by the vault, {throttled_controller} received by the controller",
        exchanges.answered, exchanges.succeeded
    ));
    say(&format!(
        "controller CPU {:.2} s over the first sync = {:.0} µs per ExternalSecret{}; one template rendered \
         (parse and execute, in-process) {:.1} µs = {:.3}x a sync's CPU",
        cpu_first.as_secs_f64(),
        per_sync.as_secs_f64() * 1e6,
        steady_cpu.map_or_else(String::new, |cpu| format!(
            "; {:.2} s per steady minute",
            cpu.as_secs_f64()
        )),
        per_template.as_secs_f64() * 1e6,
        per_template.as_secs_f64() / per_sync.as_secs_f64().max(1e-9)
    ));
    let mut memory = vec![
        ("idle (no ExternalSecret)", idle),
        ("after the first sync", after_first),
    ];
    if let Some(steady) = after_steady {
        memory.push(("after the steady minutes", steady));
        memory.push(("after the change", after_all));
    }
    for (name, (rss, peak)) in &memory {
        say(&format!(
            "controller memory {name:<25} RSS {:>5.1} MiB   peak {:>5.1} MiB",
            mib(*rss),
            mib(*peak)
        ));
    }

    summary.insert(
        1,
        format!(
            "| Entra exchanges / TokenRequests | {} / {token_requests} | {accounts} (one per ServiceAccount) | {} |",
            exchanges.answered,
            goal(exchanges.answered == accounts as u64)
        ),
    );
    summary.push(format!(
        "| 429s | {throttled_seen} | 0 | {} |",
        goal(throttled_seen == 0)
    ));
    let peak = mib(after_all.1);
    summary.push(format!(
        "| controller peak RSS | {peak:.1} MiB ({}) | ≤ 60 MiB | {} |",
        memory
            .iter()
            .map(|(name, (rss, _))| format!("{name} {:.1}", mib(*rss)))
            .collect::<Vec<_>>()
            .join(", "),
        goal(peak <= 60.0)
    ));
    summary.push(format!(
        "| CPU a template adds to a sync | {:.1} µs = {:.3}x the controller's {:.0} µs per ExternalSecret in the first sync | | |",
        per_template.as_secs_f64() * 1e6,
        per_template.as_secs_f64() / per_sync.as_secs_f64().max(1e-9),
        per_sync.as_secs_f64() * 1e6
    ));
    say("\n| measure | figure | goal | |\n|---|---|---|---|");
    for row in summary {
        say(&row);
    }
}
