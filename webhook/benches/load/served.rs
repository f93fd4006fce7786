//! The parts of the load benchmark that run the real `webhook serve` binary
//! against a fake API server, so the resident memory read is the server's
//! own: part 2 (memory with 100,000 cached ServiceAccounts) and part 3 (a
//! 60-second saturation soak).

use std::{
    io::Write as _,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::Router;
use http_body_util::BodyExt as _;
use hyper::body::Bytes;
use serde_json::json;

use super::{Sender, connect, connector, review_post};

/// How many ServiceAccounts the fake API server lists in part 2 and the soak.
pub(crate) const MANY: usize = 100_000;
const SOAK_CONNECTIONS: usize = 16;
const SOAK_WARMUP: Duration = Duration::from_secs(5);
const SOAK: Duration = Duration::from_secs(60);

/// Part 2: resident memory of `webhook serve` after syncing `count`
/// ServiceAccounts from a fake API server: the whole, then its anonymous
/// (heap, stacks) and file-backed (the binary's pages) parts.
pub(crate) async fn resident_memory(cert_dir: &Path, count: usize) -> [u64; 3] {
    let api = FakeApiServer::start(count, false);
    let server = WebhookProcess::start(cert_dir, api.addr).await;
    // Let allocator caches settle before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    ["VmRSS", "RssAnon", "RssFile"].map(|field| server.memory(field))
}

/// Part 3: drives `webhook serve` (with [`MANY`] ServiceAccounts cached)
/// at saturation for [`SOAK`] with `body`, counting every answer that is
/// not a 200 and every transport error, and reports its resident memory
/// after the warm-up, at the end, and its peak.
pub(crate) async fn soak(cert_dir: &Path, ca: &str, body: Bytes) {
    let api = FakeApiServer::start(MANY, true);
    let server = WebhookProcess::start(cert_dir, api.addr).await;
    let connector = Arc::new(connector(ca));
    check_mutates(&connector, server.webhook, body.clone()).await;
    let admissions = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + SOAK_WARMUP + SOAK;
    let mut tasks = Vec::new();
    for _ in 0..SOAK_CONNECTIONS {
        let (connector, body) = (Arc::clone(&connector), body.clone());
        let (admissions, errors) = (Arc::clone(&admissions), Arc::clone(&errors));
        let addr = server.webhook;
        tasks.push(tokio::spawn(async move {
            let mut sender = None;
            while Instant::now() < end {
                let ok = match sender.as_mut() {
                    Some(s) => admit(s, body.clone()).await,
                    None => match connect(&connector, addr).await {
                        Ok(s) => {
                            sender = Some(s);
                            continue;
                        }
                        Err(_) => false,
                    },
                };
                if ok {
                    admissions.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    // The connection may be broken: start a new one.
                    sender = None;
                }
            }
        }));
    }
    tokio::time::sleep_until((start + SOAK_WARMUP).into()).await;
    let rss_start = server.memory("VmRSS");
    let (admitted_before, errors_before) = (
        admissions.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    );
    for task in tasks {
        task.await.expect("soak worker");
    }
    let measured = start.elapsed() - SOAK_WARMUP;
    let rss_end = server.memory("VmRSS");
    let peak = server.memory("VmHWM");
    let admitted = admissions.load(Ordering::Relaxed) - admitted_before;
    let failed = errors.load(Ordering::Relaxed) - errors_before;
    println!(
        "soak {} s: {admitted} admissions ({:.0}/s), errors {failed}{}, RSS start {:.1} MiB end {:.1} MiB (peak {:.1} MiB)",
        SOAK.as_secs(),
        admitted as f64 / measured.as_secs_f64(),
        if errors_before > 0 {
            format!(" (and {errors_before} during warm-up)")
        } else {
            String::new()
        },
        mib(rss_start),
        mib(rss_end),
        mib(peak),
    );
}

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

// === impl FakeApiServer ===

/// An API server that knows only `GET /api/v1/serviceaccounts`: a paged
/// list of `count` generated ServiceAccounts, with the example pod's
/// `team-a/orders-api` after them if `with_example`, and a watch that never
/// sends an event.
struct FakeApiServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl FakeApiServer {
    fn start(count: usize, with_example: bool) -> Self {
        let router = Router::new().route(
            "/api/v1/serviceaccounts",
            axum::routing::get(move |query: axum::extract::RawQuery| async move {
                let query = query.0.unwrap_or_default();
                if query.contains("watch=true") {
                    return axum::body::Body::from_stream(futures::stream::pending::<
                        Result<Bytes, std::io::Error>,
                    >());
                }
                // Pages of `limit` items with a continue token, as the API
                // server answers the watcher's paginated list.
                let param = |name: &str| {
                    query
                        .split('&')
                        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                        .and_then(|v| v.parse::<usize>().ok())
                };
                let limit = param("limit").unwrap_or(count).max(1);
                let from = param("continue").unwrap_or(0);
                axum::body::Body::from(service_account_page(from, limit, count, with_example))
            }),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("fake API server");
        });
        Self { addr, task }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Items `from..from + limit` of `count` ServiceAccounts in namespaces of
/// 20, one in ten annotated with a client id, half carrying a kubectl
/// last-applied annotation (dropped by the cache), as a ServiceAccountList
/// page; if `with_example`, the last page also holds `team-a/orders-api`
/// with a client id.
fn service_account_page(from: usize, limit: usize, count: usize, with_example: bool) -> Vec<u8> {
    let to = (from + limit).min(count);
    let mut items: Vec<serde_json::Value> = (from..to)
        .map(|i| {
            let mut annotations = serde_json::Map::new();
            if i % 10 == 0 {
                annotations.insert("azure.workload.identity/client-id".into(), json!(format!("3f2b9c1e-8d4a-4b6f-9e2d-{i:012}")));
            }
            if i % 2 == 0 {
                annotations.insert("kubectl.kubernetes.io/last-applied-configuration".into(),
                    json!(format!("{{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{{\"name\":\"sa-{i}\",\"namespace\":\"ns-{}\"}}}}", i / 20)));
            }
            json!({"metadata": {"name": format!("sa-{i}"), "namespace": format!("ns-{}", i / 20),
                "uid": format!("00000000-0000-0000-0000-{i:012}"), "resourceVersion": "1", "annotations": annotations},
                "secrets": [{"name": format!("sa-{i}-token")}]})
        })
        .collect();
    let mut metadata = json!({"resourceVersion": "100"});
    if to < count {
        metadata["continue"] = json!(to.to_string());
    } else if with_example {
        items.push(json!({"metadata": {"name": "orders-api", "namespace": "team-a",
            "uid": "00000000-0000-0000-0001-000000000000", "resourceVersion": "1",
            "annotations": {"azure.workload.identity/client-id": "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34"}}}));
    }
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ServiceAccountList", "metadata": metadata, "items": items}))
        .expect("serializes")
}

// === impl WebhookProcess ===

/// The `webhook serve` binary, serving the certificate of `cert_dir` and
/// caching the ServiceAccounts of the API server at `api`; killed on drop.
struct WebhookProcess {
    child: Child,
    webhook: SocketAddr,
    _kubeconfig: tempfile::NamedTempFile,
}

impl WebhookProcess {
    /// Starts the binary and waits until `/readyz` says its cache synced.
    async fn start(cert_dir: &Path, api: SocketAddr) -> Self {
        let kubeconfig = tempfile::NamedTempFile::new().expect("kubeconfig");
        write!(kubeconfig.as_file(), "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://{api}\"}}}}]\nusers: [{{name: u, user: {{}}}}]\ncontexts: [{{name: c, context: {{cluster: fake, user: u}}}}]\ncurrent-context: c\n").expect("write");
        let (webhook, health) = (free_port(), free_port());
        let child = Command::new(env!("CARGO_BIN_EXE_webhook"))
            .args([
                "serve",
                "--disable-cert-rotation",
                "--log-level",
                "warn",
                "--shutdown-delay",
                "0s",
            ])
            .arg("--webhook-cert-dir")
            .arg(cert_dir)
            .arg("--webhook-addr")
            .arg(webhook.to_string())
            .arg("--health-addr")
            .arg(health.to_string())
            .args(["--metrics-addr", "127.0.0.1:0"])
            .env("KUBECONFIG", kubeconfig.path())
            .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
            .stdout(Stdio::null())
            .spawn()
            .expect("webhook serve starts");
        let server = Self {
            child,
            webhook,
            _kubeconfig: kubeconfig,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(
                Instant::now() < deadline,
                "webhook serve never became ready"
            );
            if let Ok(body) = http_get(health, "/readyz").await
                && body.ends_with("ok")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// A size line of `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
    fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"));
        kib * 1024
    }
}

impl Drop for WebhookProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address free a moment ago, for a listener of the child.
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
}

async fn http_get(addr: SocketAddr, path: &str) -> Result<String, std::io::Error> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut out = String::new();
    stream.read_to_string(&mut out).await?;
    Ok(out)
}

// === the soak's checks ===

/// Makes sure the soak measures mutations: the first admission must be
/// allowed with a patch, which needs the cached `team-a/orders-api`.
async fn check_mutates(connector: &tokio_rustls::TlsConnector, addr: SocketAddr, body: Bytes) {
    let mut sender = connect(connector, addr).await.expect("connects");
    let response = sender
        .send_request(review_post("/mutate-v1-pod", body))
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let review: serde_json::Value = serde_json::from_slice(&bytes).expect("AdmissionReview");
    assert_eq!(review["response"]["allowed"], true, "{review}");
    assert!(review["response"]["patch"].is_string(), "{review}");
}

/// One admission: whether it came back a 200 with its whole body.
async fn admit(sender: &mut Sender, body: Bytes) -> bool {
    match sender
        .send_request(review_post("/mutate-v1-pod", body))
        .await
    {
        Ok(response) if response.status() == 200 => response.into_body().collect().await.is_ok(),
        _ => false,
    }
}
