//! Load benchmark of the admission server: `cargo bench -p webhook --bench load`.
//!
//! Part 1 serves the real admission router (plus a `POST /noop` route
//! returning an empty 200) over TLS on loopback, through
//! `server::serve_https`, the listener code of `server::run`, and measures, for both routes in the same
//! run: admissions per second and p50/p99 latency at saturation (closed
//! loop) and at a fixed rate (open loop, latency measured from the scheduled
//! time whenever the previous response was late, so a slow server cannot
//! hide its queueing). The server and the
//! load generator each get one runtime thread, so on a 2-core machine each
//! has roughly one core.
//!
//! Part 2 starts the real `webhook serve` binary against a fake API server
//! that lists 100,000 ServiceAccounts and reports its resident memory once
//! the cache has synced, next to the same binary with none.

use std::{
    io::Write as _,
    net::SocketAddr,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{Router, routing::post};
use azure_wi_core::ServiceAccountInfo;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use webhook::{
    config::MutationConfig,
    metrics::Metrics,
    server::{AdmissionState, ServerOptions, admission_router},
    serviceaccount::StaticServiceAccounts,
};

const CONNECTIONS: usize = 16;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const FIXED_RATE: u64 = 2_000;

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = certs::CertificateAuthority::generate("bench-ca", Duration::from_secs(86_400 * 800))
        .expect("CA");
    let issued = certs::ServingCertificate::for_service("webhook", "bench")
        .expect("names")
        .with_ip("127.0.0.1".parse().expect("ip"))
        .issue(&ca)
        .expect("serving pair");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tls.crt"), issued.cert_pem()).expect("write");
    std::fs::write(dir.path().join("tls.key"), issued.key_pem().as_str()).expect("write");

    let addr = start_server(dir.path());
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    let body = Bytes::from(review_body());
    println!(
        "admission server on {addr}, {CONNECTIONS} keep-alive TLS connections, {} s per run",
        MEASURE.as_secs()
    );
    println!(
        "{:<16} {:<10} {:>12} {:>10} {:>10}",
        "route", "load", "req/s", "p50 µs", "p99 µs"
    );
    for path in ["/noop", "/mutate-v1-pod"] {
        let (rate, hist) = client.block_on(saturate(addr, ca.cert_pem(), path, body.clone()));
        println!(
            "{path:<16} {:<10} {rate:>12.0} {:>10} {:>10}",
            "saturation",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
    }
    for path in ["/noop", "/mutate-v1-pod"] {
        let (rate, hist) = client.block_on(fixed_rate(addr, ca.cert_pem(), path, body.clone()));
        println!(
            "{path:<16} {:<10} {rate:>12.0} {:>10} {:>10}",
            format!("{FIXED_RATE}/s"),
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
    }

    println!();
    for count in [0usize, 100_000] {
        let rss = client.block_on(resident_memory(dir.path(), count));
        println!(
            "webhook serve, {count:>7} ServiceAccounts cached: resident memory {:.1} MiB",
            rss as f64 / 1024.0 / 1024.0
        );
    }
}

fn review_body() -> Vec<u8> {
    let pod: serde_json::Value =
        yaml_serde::from_str(include_str!("../../examples/pod.yaml")).expect("example pod");
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "namespace": "team-a", "operation": "CREATE",
                    "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": pod}
    }))
    .expect("serializes")
}

/// Runs the server on its own one-thread runtime; returns its address.
fn start_server(cert_dir: &std::path::Path) -> SocketAddr {
    let resolver = Arc::new(certs::ReloadingCertResolver::load(cert_dir).expect("certificates"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let sa = ServiceAccountInfo::new(
                "team-a",
                "orders-api",
                [(
                    "azure.workload.identity/client-id".to_owned(),
                    "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34".to_owned(),
                )],
            );
            let state = Arc::new(AdmissionState {
                config: MutationConfig::default().with_tenant_id(
                    "72f988bf-86f1-41af-91ab-2d7cd011db47"
                        .parse()
                        .expect("tenant"),
                ),
                service_accounts: StaticServiceAccounts::new([sa]),
                metrics: Arc::new(Metrics::new()),
            });
            // The server's admission router and a no-op route on one
            // listener, served by the same connection code as `run`.
            let router = admission_router(state).route("/noop", post(|| async { "" }));
            webhook::server::serve_https(
                listener,
                router,
                resolver,
                &ServerOptions::default(),
                CancellationToken::new(),
            )
            .await
            .expect("server");
        });
    });
    rx.recv().expect("server address")
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr, ca: &str) -> Sender {
    use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
        .await
        .expect("handshake");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http1");
    tokio::spawn(connection);
    sender
}

async fn send(sender: &mut Sender, path: &str, body: Bytes) {
    let request = hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200, "{path}");
    response.into_body().collect().await.expect("body");
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

/// Closed loop: every connection sends back to back.
async fn saturate(
    addr: SocketAddr,
    ca: &str,
    path: &'static str,
    body: Bytes,
) -> (f64, Histogram<u64>) {
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..CONNECTIONS {
        let mut sender = connect(addr, ca).await;
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut count = 0u64;
            loop {
                let sent = Instant::now();
                let elapsed = sent - start;
                if elapsed > WARMUP + MEASURE {
                    break;
                }
                send(&mut sender, path, body.clone()).await;
                if elapsed > WARMUP {
                    hist.record(micros(sent.elapsed())).expect("record");
                    count += 1;
                }
            }
            (count, hist)
        }));
    }
    collect(tasks).await
}

/// Open loop: requests are due on a fixed schedule; a request sent late
/// because the server was slow is charged from when it was due.
async fn fixed_rate(
    addr: SocketAddr,
    ca: &str,
    path: &'static str,
    body: Bytes,
) -> (f64, Histogram<u64>) {
    let interval = Duration::from_nanos(1_000_000_000 * CONNECTIONS as u64 / FIXED_RATE);
    let mut tasks = Vec::new();
    let start = Instant::now() + Duration::from_millis(100);
    for connection in 0..CONNECTIONS {
        let mut sender = connect(addr, ca).await;
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut count = 0u64;
            let mut due = start
                + interval * u32::try_from(connection).expect("small")
                    / u32::try_from(CONNECTIONS).expect("small");
            while due < start + WARMUP + MEASURE {
                // When the previous response came back after this request was
                // due, the wait is the server's (queueing): count from `due`.
                // Otherwise count from the actual send, so the timer's 1 ms
                // granularity is not charged to the server.
                let from = if Instant::now() >= due {
                    due
                } else {
                    tokio::time::sleep_until(due.into()).await;
                    Instant::now()
                };
                send(&mut sender, path, body.clone()).await;
                if due > start + WARMUP {
                    hist.record(micros(from.elapsed())).expect("record");
                    count += 1;
                }
                due += interval;
            }
            (count, hist)
        }));
    }
    collect(tasks).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(u64, Histogram<u64>)>>,
) -> (f64, Histogram<u64>) {
    let mut hist = histogram();
    let mut total = 0;
    for task in tasks {
        let (count, h) = task.await.expect("worker");
        total += count;
        hist.add(h).expect("merge");
    }
    (total as f64 / MEASURE.as_secs_f64(), hist)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Resident memory of `webhook serve` after syncing `count` ServiceAccounts
/// from a fake API server.
async fn resident_memory(cert_dir: &std::path::Path, count: usize) -> u64 {
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
            axum::body::Body::from(service_account_page(from, limit, count))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("fake API server")
    });

    let kubeconfig = tempfile::NamedTempFile::new().expect("kubeconfig");
    write!(kubeconfig.as_file(), "apiVersion: v1\nkind: Config\nclusters: [{{name: fake, cluster: {{server: \"http://{api}\"}}}}]\nusers: [{{name: u, user: {{}}}}]\ncontexts: [{{name: c, context: {{cluster: fake, user: u}}}}]\ncurrent-context: c\n").expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_webhook"))
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
        .args([
            "--webhook-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:19440",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .env("KUBECONFIG", kubeconfig.path())
        .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .stdout(Stdio::null())
        .spawn()
        .expect("webhook serve starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "webhook serve never became ready"
        );
        if let Ok(body) = http_get("127.0.0.1:19440", "/readyz").await
            && body.ends_with("ok")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cached = http_get("127.0.0.1:19440", "/readyz")
        .await
        .expect("readyz");
    assert!(cached.ends_with("ok"), "{cached}");
    // Let allocator caches settle before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("proc status");
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    rss_kib * 1024
}

async fn http_get(addr: &str, path: &str) -> Result<String, std::io::Error> {
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

/// Items `from..from + limit` of `count` ServiceAccounts in namespaces of
/// 20, one in ten annotated with a client id, half carrying a kubectl
/// last-applied annotation (dropped by the cache), as a ServiceAccountList
/// page.
fn service_account_page(from: usize, limit: usize, count: usize) -> Vec<u8> {
    let to = (from + limit).min(count);
    let items: Vec<serde_json::Value> = (from..to)
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
    }
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "ServiceAccountList", "metadata": metadata, "items": items}))
        .expect("serializes")
}
