//! Token latency and memory of the proxy process:
//! `cargo bench -p azure-wi-proxy --bench tokens`.
//!
//! The `azure-wi-proxy` binary runs as a child process, as its sidecar
//! runs, reaching the in-process emulator's Entra ID through `HTTPS_PROXY`.
//! After one exchange fills the credential's cache, 20,000 token requests
//! are sent one after another on one keep-alive connection, as an SDK's
//! client sends them; printed: p50 and p99 latency, and Entra token
//! requests (one expected). The baseline, in the same run and on the same
//! connection: as many `/readyz` requests, what the HTTP round trip costs
//! with no token in it; the token figure is reported as a ratio to it.
//! Then the proxy's resident memory (now and peak, from /proc).

#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};

const REQUESTS: usize = 20_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// Times `REQUESTS` GETs of `path` on one keep-alive connection, written
/// and read by hand so the client's own cost stays small next to the
/// proxy's.
fn timed(port: u16, path: &str) -> Vec<Duration> {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n\r\n");
    let mut times = Vec::with_capacity(REQUESTS);
    let mut line = String::new();
    let mut body = Vec::new();
    for _ in 0..REQUESTS {
        let started = Instant::now();
        writer.write_all(request.as_bytes()).unwrap();
        let mut length = 0usize;
        let mut status_ok = false;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.starts_with("HTTP/1.1 ") {
                status_ok = line.starts_with("HTTP/1.1 200");
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).unwrap();
        times.push(started.elapsed());
        assert!(status_ok, "{}", String::from_utf8_lossy(&body));
    }
    times.sort();
    times
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, emulator.ca_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_azure-wi-proxy"))
        .arg(format!("--proxy-port={port}"))
        .arg("--log-level=")
        .env(names::CLIENT_ID_ENV, DEMO_CLIENT_ID)
        .env(names::TENANT_ID_ENV, DEMO_TENANT)
        .env(names::FEDERATED_TOKEN_FILE_ENV, &token_file)
        .env(names::AUTHORITY_HOST_ENV, emulator.authority_host())
        .env("HTTPS_PROXY", emulator.proxy_url())
        .env(names::EXTRA_CA_FILE_ENV, &ca)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the proxy did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let idle = rss_kib(pid);
    let token_url = format!(
        "{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"
    );
    let first = client
        .get(&token_url)
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert!(
        first.status().is_success(),
        "{}",
        first.text().await.unwrap()
    );

    let token_path =
        "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net";
    let (readyz, tokens) =
        tokio::task::spawn_blocking(move || (timed(port, "/readyz"), timed(port, token_path)))
            .await
            .unwrap();
    let busy = rss_kib(pid);
    let (r50, r99) = (percentile(&readyz, 0.5), percentile(&readyz, 0.99));
    let (t50, t99) = (percentile(&tokens, 0.5), percentile(&tokens, 0.99));
    println!("proxy: {REQUESTS} cached token requests, one keep-alive connection");
    println!(
        "  /readyz (baseline)   p50 {:>7.1} µs  p99 {:>7.1} µs",
        r50.as_secs_f64() * 1e6,
        r99.as_secs_f64() * 1e6
    );
    println!(
        "  token (cached)       p50 {:>7.1} µs  p99 {:>7.1} µs  ({:.2}x the baseline's p99)",
        t50.as_secs_f64() * 1e6,
        t99.as_secs_f64() * 1e6,
        t99.as_secs_f64() / r99.as_secs_f64()
    );
    println!(
        "  Entra token requests: {}",
        emulator.counters().token_requests()
    );
    println!(
        "  resident memory: idle {} KiB, after {} requests {} KiB (peak {} KiB)",
        idle.0,
        2 * REQUESTS,
        busy.0,
        busy.1
    );
    let _ = child.kill();
    let _ = child.wait();
}
