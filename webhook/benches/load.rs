//! Load benchmark of the admission server: `cargo bench -p webhook --bench load`.
//!
//! Part 1 serves the real admission router (plus a `POST /noop` route
//! returning an empty 200, and a `POST /wire` route that reads the body and
//! answers with the admission's own response bytes, computed once) over TLS
//! on loopback, through `server::serve_https`, the listener code of
//! `server::run`, and measures, for the routes in the same
//! run: admissions per second and p50/p99 latency at saturation (closed
//! loop) and at a fixed rate (open loop, latency measured from the scheduled
//! time whenever the previous response was late, so a slow server cannot
//! hide its queueing; the two routes' fixed-rate runs alternate in
//! one-second blocks, so both tails are taken over the same stretch of a
//! shared machine). The server and the
//! load generator each get one runtime thread, so on a 2-core machine each
//! has roughly one core; the server's own CPU per request is read from its
//! threads' times in `/proc`, so it does not depend on the generator. The
//! process logs as `webhook serve` does (JSON at `info`), into a sink.
//!
//! Part 2 starts the real `webhook serve` binary against a fake API server
//! that lists 100,000 ServiceAccounts and reports its resident memory once
//! the cache has synced, next to the same binary with none.
//!
//! Part 3, the soak, drives that binary (100,000 ServiceAccounts cached) at
//! saturation for 60 s with the admission of part 1 and reports the errors
//! (any answer but a 200, any transport error) and its resident memory after
//! the warm-up, at the end and at its peak.
//!
//! Each part can be run alone by naming it: `-- throughput`, `-- memory`,
//! `-- soak` (several names run several parts); no name runs all three.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use azure_wi_core::ServiceAccountInfo;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use webhook::{
    admission::admit_review,
    config::MutationConfig,
    metrics::Metrics,
    server::{AdmissionState, ServerOptions, admission_router},
    serviceaccount::StaticServiceAccounts,
};

const CONNECTIONS: usize = 16;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const FIXED_RATE: u64 = 2_000;
/// The fixed-rate runs alternate between the two routes in blocks of
/// `FIXED_BLOCK`, `FIXED_ROUNDS` times, each route's blocks merged: a
/// disturbance of the shared machine lasting a few seconds then falls on
/// both routes' tails alike, rather than on whichever route ran then.
const FIXED_ROUNDS: u32 = 5;
const FIXED_BLOCK: Duration = Duration::from_secs(1);
/// Each fixed-rate block's warm-up (new connections), not measured.
const FIXED_WARMUP: Duration = Duration::from_millis(200);

#[path = "load/served.rs"]
mod served;

/// The parts a name on the command line selects.
const PARTS: [&str; 3] = ["throughput", "memory", "soak"];

fn main() {
    // `cargo bench` passes --bench (ignored with every other flag); any
    // other argument names a part to run.
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for name in &named {
        assert!(
            PARTS.contains(&name.as_str()),
            "unknown part {name:?}: name one of {PARTS:?}, or none to run all"
        );
    }
    let runs = |part: &str| named.is_empty() || named.iter().any(|n| n == part);
    // The server logs as `webhook serve` does (JSON at `info`, what an
    // admission logs in its span), into a sink: logging is part of what an
    // admission costs.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(std::io::sink)
        .init();
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

    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    let body = Bytes::from(review_body());
    if runs("throughput") {
        throughput(dir.path(), &ca, &client, &body);
    }
    if runs("memory") {
        println!();
        for count in [0usize, served::MANY] {
            let [rss, anon, file] = client.block_on(served::resident_memory(dir.path(), count));
            println!(
                "webhook serve, {count:>7} ServiceAccounts cached: resident memory {:.1} MiB \
                 (anonymous {:.1} MiB, file {:.1} MiB)",
                served::mib(rss),
                served::mib(anon),
                served::mib(file)
            );
        }
    }
    if runs("soak") {
        println!();
        client.block_on(served::soak(dir.path(), ca.cert_pem(), body));
    }
}

/// Part 1: the admission router in-process, at saturation and at a fixed
/// rate.
fn throughput(
    cert_dir: &std::path::Path,
    ca: &certs::CertificateAuthority,
    client: &tokio::runtime::Runtime,
    body: &Bytes,
) {
    let addr = start_server(cert_dir);
    println!(
        "admission server on {addr}, {CONNECTIONS} keep-alive TLS connections, {} s per run",
        MEASURE.as_secs()
    );
    println!(
        "{:<16} {:<10} {:>12} {:>10} {:>10}",
        "route", "load", "req/s", "p50 µs", "p99 µs"
    );
    let mut rates = Vec::new();
    let mut cpu_per_request = Vec::new();
    for path in ["/noop", WIRE_PATH, "/mutate-v1-pod"] {
        let cpu_before = threads_cpu(SERVER_THREAD);
        let (rate, hist, sent) = client.block_on(saturate(addr, ca.cert_pem(), path, body.clone()));
        let cpu = threads_cpu(SERVER_THREAD).saturating_sub(cpu_before);
        #[expect(clippy::cast_precision_loss, reason = "a request count")]
        let per_request = cpu.as_secs_f64() * 1e6 / sent as f64;
        println!(
            "{path:<16} {:<10} {rate:>12.0} {:>10} {:>10}   server CPU {per_request:.1} µs/request \
             ({:.0} requests/s per core)",
            "saturation",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            1e6 / per_request
        );
        rates.push(rate);
        cpu_per_request.push(per_request);
    }
    let mut p99 = Vec::new();
    let paths = ["/noop", "/mutate-v1-pod"];
    let mut merged = [(0.0, histogram()), (0.0, histogram())];
    for _ in 0..FIXED_ROUNDS {
        for (path, (rate, hist)) in paths.iter().zip(&mut merged) {
            let (block_rate, block, _) = client.block_on(fixed_rate(
                addr,
                ca.cert_pem(),
                path,
                body.clone(),
                FIXED_BLOCK,
            ));
            *rate += block_rate / f64::from(FIXED_ROUNDS);
            hist.add(block).expect("merge");
        }
    }
    for (path, (rate, hist)) in paths.iter().zip(merged) {
        println!(
            "{path:<16} {:<10} {rate:>12.0} {:>10} {:>10}",
            format!("{FIXED_RATE}/s"),
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99)
        );
        #[expect(clippy::cast_precision_loss, reason = "microseconds")]
        p99.push(hist.value_at_quantile(0.99) as f64);
    }
    println!(
        "admissions against the no-op route, this run: {:.2}x its throughput at saturation \
         (load generator included), {:.2}x its requests per server core (the server's own CPU \
         per request), {:.2}x its p99 at {FIXED_RATE}/s",
        rates[2] / rates[0],
        cpu_per_request[0] / cpu_per_request[2],
        p99[1] / p99[0]
    );
    println!(
        "of the server's {:.1} µs per admission, {:.1} µs is reading its body and sending its \
         response ({WIRE_PATH}: {:.2}x the no-op route's requests per core) and {:.1} µs the \
         admission itself",
        cpu_per_request[2],
        cpu_per_request[1],
        cpu_per_request[0] / cpu_per_request[1],
        cpu_per_request[2] - cpu_per_request[1]
    );
}

/// A route that reads the request's body and answers with the bytes the
/// admission answers this benchmark's review with, computed once: what
/// carrying an admission costs the server without admitting anything.
const WIRE_PATH: &str = "/wire";

/// Name of the server's threads (its runtime's worker and the thread that
/// drives its accept loop), by which their CPU time is found.
const SERVER_THREAD: &str = "bench-server";

/// CPU time (user and system) the threads of this process named `name`
/// have used so far, from `/proc/self/task/*/stat` (in clock ticks of
/// 10 ms: over a run of seconds that is a fraction of a percent).
fn threads_cpu(name: &str) -> Duration {
    let mut ticks = 0u64;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = task.expect("task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the command's closing parenthesis start at field 3
        // (state); utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        for index in [11, 12] {
            ticks += fields
                .get(index)
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_millis(ticks * 10)
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
    let server = std::thread::Builder::new().name(SERVER_THREAD.to_owned());
    let _ = server.spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(SERVER_THREAD)
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
            let (answer, _) = admit_review(&review_body(), &state.config, &state.service_accounts)
                .await
                .expect("the benchmark's review is valid");
            let answer = Bytes::from(answer.to_body());
            // The server's admission router, a no-op route and the wire
            // route on one listener, served by the same connection code as
            // `run`.
            let router = admission_router(state)
                .route("/noop", axum::routing::post(|| async { "" }))
                .route(
                    WIRE_PATH,
                    axum::routing::post(move |body: Bytes| async move {
                        drop(body);
                        (
                            [(axum::http::header::CONTENT_TYPE, "application/json")],
                            answer,
                        )
                    }),
                );
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

// === the client, shared by every part ===

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// A TLS connector that trusts only `ca`.
fn connector(ca: &str) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
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
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// A keep-alive HTTPS connection to `addr`; an error is the caller's to
/// count or to fail on.
async fn connect(
    connector: &tokio_rustls::TlsConnector,
    addr: SocketAddr,
) -> Result<Sender, Box<dyn std::error::Error + Send + Sync>> {
    use rustls::pki_types::ServerName;
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let tls = connector
        .connect(ServerName::try_from("127.0.0.1")?, tcp)
        .await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// `body` posted to `path` as the API server posts an AdmissionReview.
fn review_post(path: &str, body: Bytes) -> hyper::Request<Full<Bytes>> {
    hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("request")
}

async fn send(sender: &mut Sender, path: &str, body: Bytes) {
    let response = sender
        .send_request(review_post(path, body))
        .await
        .expect("response");
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
) -> (f64, Histogram<u64>, u64) {
    let mut tasks = Vec::new();
    let connector = connector(ca);
    let start = Instant::now();
    for _ in 0..CONNECTIONS {
        let mut sender = connect(&connector, addr).await.expect("connects");
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let (mut count, mut all) = (0u64, 0u64);
            loop {
                let sent = Instant::now();
                let elapsed = sent - start;
                if elapsed > WARMUP + MEASURE {
                    break;
                }
                send(&mut sender, path, body.clone()).await;
                all += 1;
                if elapsed > WARMUP {
                    hist.record(micros(sent.elapsed())).expect("record");
                    count += 1;
                }
            }
            (count, hist, all)
        }));
    }
    collect(tasks, MEASURE).await
}

/// Open loop: requests are due on a fixed schedule; a request sent late
/// because the server was slow is charged from when it was due.
async fn fixed_rate(
    addr: SocketAddr,
    ca: &str,
    path: &'static str,
    body: Bytes,
    measure: Duration,
) -> (f64, Histogram<u64>, u64) {
    let interval = Duration::from_nanos(1_000_000_000 * CONNECTIONS as u64 / FIXED_RATE);
    let mut tasks = Vec::new();
    let start = Instant::now() + Duration::from_millis(100);
    let connector = connector(ca);
    for connection in 0..CONNECTIONS {
        let mut sender = connect(&connector, addr).await.expect("connects");
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let (mut count, mut all) = (0u64, 0u64);
            let mut due = start
                + interval * u32::try_from(connection).expect("small")
                    / u32::try_from(CONNECTIONS).expect("small");
            while due < start + FIXED_WARMUP + measure {
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
                all += 1;
                if due > start + FIXED_WARMUP {
                    hist.record(micros(from.elapsed())).expect("record");
                    count += 1;
                }
                due += interval;
            }
            (count, hist, all)
        }));
    }
    collect(tasks, measure).await
}

/// Merges the connections' figures: the rate and latencies measured after
/// the warm-up, and every request sent, warm-up included.
async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(u64, Histogram<u64>, u64)>>,
    measure: Duration,
) -> (f64, Histogram<u64>, u64) {
    let mut hist = histogram();
    let (mut total, mut sent) = (0, 0);
    for task in tasks {
        let (count, h, all) = task.await.expect("worker");
        total += count;
        sent += all;
        hist.add(h).expect("merge");
    }
    (total as f64 / measure.as_secs_f64(), hist, sent)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}
