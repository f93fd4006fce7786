//! Shared pieces of the end-to-end tests: a `webhook serve` process on
//! loopback, a client that trusts only the generated CA, and review bodies.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    reason = "test support: each test file uses a different part, and fails loudly"
)]

use std::{
    io::{BufRead as _, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const CLIENT_ID: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";

/// Writes a CA and a serving pair for 127.0.0.1 into `dir` with
/// `webhook certs`, returning the CA PEM.
pub fn generate_certs(dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args(["certs", "--out"])
        .arg(dir)
        .args(["--extra-san", "127.0.0.1", "--extra-san", "localhost"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(dir.join("ca.crt")).unwrap()
}

/// ServiceAccounts served from a file.
pub fn write_service_accounts(dir: &Path) -> PathBuf {
    write_service_accounts_with(dir, CLIENT_ID)
}

/// ServiceAccounts served from a file, `app`'s client id being `client_id`
/// (which is injected into every container as it is, even when it is not a
/// GUID: a long one makes a large patch).
pub fn write_service_accounts_with(dir: &Path, client_id: &str) -> PathBuf {
    let path = dir.join("serviceaccounts.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: team-a\n  annotations:\n    azure.workload.identity/client-id: {client_id}\n"
        ),
    )
    .unwrap();
    path
}

/// A client id of `len` characters: not a GUID, so the webhook warns, but
/// injects it into every container, which makes the patch as large as a
/// test needs.
pub fn long_client_id(len: usize) -> String {
    "x".repeat(len)
}

/// A running `webhook serve`; killed when dropped.
pub struct Webhook {
    child: Child,
    pub webhook: SocketAddr,
    pub health: SocketAddr,
    pub metrics: SocketAddr,
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    /// Starts `webhook serve` with files for certificates and
    /// ServiceAccounts, all listeners on loopback port 0, plus `extra` args.
    pub fn start(cert_dir: &Path, service_accounts: &Path, extra: &[&str]) -> Self {
        Self::launch(|command| {
            command
                .arg("--disable-cert-rotation")
                .arg("--webhook-cert-dir")
                .arg(cert_dir)
                .arg("--service-accounts")
                .arg(service_accounts)
                .args(extra);
        })
    }

    /// Starts `webhook serve` against the cluster `kubeconfig` names (its
    /// ServiceAccount watch, and self-managed certificates unless `extra`
    /// says `--disable-cert-rotation`), listeners on loopback port 0.
    pub fn start_in_cluster(cert_dir: &Path, kubeconfig: &Path, extra: &[&str]) -> Self {
        Self::start_in_cluster_with_env(cert_dir, kubeconfig, extra, &[])
    }

    /// [`start_in_cluster`](Self::start_in_cluster) with variables set,
    /// as a ConfigMap's `envFrom` sets them.
    pub fn start_in_cluster_with_env(
        cert_dir: &Path,
        kubeconfig: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        Self::launch(|command| {
            command
                .arg("--webhook-cert-dir")
                .arg(cert_dir)
                .args(extra)
                .envs(env.iter().copied())
                .env("KUBECONFIG", kubeconfig);
        })
    }

    fn launch(configure: impl FnOnce(&mut Command)) -> Self {
        provider();
        let mut command = Command::new(env!("CARGO_BIN_EXE_webhook"));
        command
            .arg("serve")
            .args([
                "--webhook-addr",
                "127.0.0.1:0",
                "--health-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(["--log-level", "info"])
            .envs(deployed_tuning())
            .env("AZURE_TENANT_ID", TENANT)
            .env_remove("AZURE_ENVIRONMENT")
            .env_remove("KUBECONFIG")
            .env_remove("POD_NAMESPACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        configure(&mut command);
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(entry) = serde_json::from_str::<Value>(&line)
                    && entry["fields"]["message"] == "serving"
                {
                    let _ = tx.send(entry["fields"].clone());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let fields = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server logs its addresses");
        let addr = |k: &str| fields[k].as_str().unwrap().parse().unwrap();
        Self {
            webhook: addr("webhook"),
            health: addr("health"),
            metrics: addr("metrics"),
            child,
            logs,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, returning its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/mutate-v1-pod", self.webhook.port())
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let url = format!("http://{}/readyz", self.health);
        for _ in 0..1500 {
            if let Ok(r) = client.get(&url).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the webhook never became ready");
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ring provider, for every rustls config in the tests. Also installs
/// it as the process default (once), which reqwest's plain-HTTP clients need.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client config that trusts only `ca_pem`.
pub fn tls_trusting(
    ca_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> rustls::ClientConfig {
    use rustls::pki_types::{CertificateDer, pem::PemObject as _};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A TLS 1.3 connection to the webhook on loopback `port`, trusting only
/// `ca_pem`: for tests that write raw HTTP.
pub async fn tls_connect(
    port: u16,
    ca_pem: &str,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let config = tls_trusting(ca_pem, &[&rustls::version::TLS13]);
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// An HTTP client that trusts only `ca_pem`.
pub fn client_trusting(ca_pem: &str) -> reqwest::Client {
    client_trusting_for(ca_pem, Duration::from_secs(10))
}

/// An HTTP client that trusts only `ca_pem` and gives up on a request
/// after `timeout`.
pub fn client_trusting_for(ca_pem: &str, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls_trusting(ca_pem, rustls::ALL_VERSIONS))
        .timeout(timeout)
        .build()
        .unwrap()
}

pub type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// Sends the headers of an admission declaring `length` body bytes and
/// one byte of it.
pub async fn upload_declaring(port: u16, ca: &str, length: usize) -> TlsStream {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = tls_connect(port, ca).await;
    let head = format!(
        "POST /mutate-v1-pod HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// Everything the server sends until it closes the connection, and how
/// long that took; `None` if it is still open after `limit`.
pub async fn until_closed<S>(stream: &mut S, limit: Duration) -> Option<(String, Duration)>
where
    S: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt as _;
    let started = Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| {
        (
            String::from_utf8_lossy(&received).into_owned(),
            started.elapsed(),
        )
    })
}

/// A figure of `/proc/PID/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// The highest resident memory of process `pid` so far, in MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmHWM") as f64 / 1024.0
}

/// The resident memory of process `pid` now, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

/// Polls `/readyz` on a new connection every 100 ms, as the kubelet does,
/// until finished; records the slowest answer and any that was not 200.
pub struct ReadyzProbe {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<(Duration, usize, Vec<String>)>,
}

impl ReadyzProbe {
    pub fn start(health: SocketAddr) -> Self {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let url = format!("http://{health}/readyz");
        let task = tokio::spawn(async move {
            let (mut slowest, mut probes, mut failures) = (Duration::ZERO, 0, Vec::new());
            while !stopped.load(Ordering::Relaxed) {
                let started = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures.push(format!("status {}", r.status())),
                    Err(e) => failures.push(format!("{e:?}")),
                }
                slowest = slowest.max(started.elapsed());
                probes += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (slowest, probes, failures)
        });
        Self { stop, task }
    }

    /// Stops probing: the slowest answer (a probe that failed counts with
    /// the time it took to fail) and the probes that did not answer 200.
    pub async fn finish(self) -> (Duration, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (slowest, probes, mut failures) = self.task.await.unwrap();
        if probes == 0 {
            failures.push("no /readyz probe ran".to_owned());
        }
        (slowest, failures)
    }
}

/// Small good admissions posted in a loop by `workers` tasks until
/// finished, each timed.
pub struct GoodTraffic {
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, Vec<String>)>>,
}

impl GoodTraffic {
    pub fn start(client: &reqwest::Client, url: &str, workers: usize) -> Self {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = (0..workers)
            .map(|worker| {
                let (client, url, stop) = (client.clone(), url.to_owned(), Arc::clone(&stop));
                tokio::spawn(async move {
                    let (mut took, mut failed, mut n) = (Vec::new(), Vec::new(), 0);
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        let started = Instant::now();
                        match admit(&client, &url, &format!("good-{worker}-{n}")).await {
                            Ok(_) => took.push(started.elapsed()),
                            Err(e) => failed.push(e),
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    (took, failed)
                })
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stops: (admissions that succeeded, their p99, the failures).
    pub async fn finish(self) -> (usize, Duration, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (mut took, mut failed) = (Vec::new(), Vec::new());
        for task in self.tasks {
            let (t, f) = task.await.unwrap();
            took.extend(t);
            failed.extend(f);
        }
        took.sort();
        let p99 = took
            .get((took.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default();
        (took.len(), p99, failed)
    }
}

/// An AdmissionReview for a pod of ServiceAccount `app` in `team-a`.
pub fn review(version: &str, uid: &str) -> Value {
    json!({
        "apiVersion": version, "kind": "AdmissionReview",
        "request": {
            "uid": uid, "namespace": "team-a", "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"metadata": {"generateName": "app-"}, "spec": {
                "serviceAccountName": "app",
                "containers": [{"name": "app", "image": "app:1"}]}}
        }
    })
}

/// Posts `body` to `url` as JSON, as the API server posts a review.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Posts a review and returns the response review.
pub async fn admit(client: &reqwest::Client, url: &str, uid: &str) -> Result<Value, String> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(review("admission.k8s.io/v1", uid).to_string())
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!(
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        ));
    }
    let review: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if review["response"]["uid"] != uid || review["response"]["allowed"] != true {
        return Err(format!("unexpected response {review}"));
    }
    Ok(review)
}

/// Runs `workers` loops posting reviews until `stop` returns true; returns
/// (successes, failures with their errors). Bounded by `limit`.
pub async fn load<F>(
    client: reqwest::Client,
    url: String,
    workers: usize,
    limit: Duration,
    stop: F,
) -> (usize, Vec<String>)
where
    F: Fn() -> bool + Send + Sync + 'static,
{
    let stop = Arc::new(stop);
    let deadline = Instant::now() + limit;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (client, url, stop) = (client.clone(), url.clone(), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0usize, Vec::new());
            let mut n = 0u64;
            while !stop() && Instant::now() < deadline {
                n += 1;
                match admit(&client, &url, &format!("w{worker}-{n}")).await {
                    Ok(_) => ok += 1,
                    Err(e) => failed.push(e),
                }
            }
            (ok, failed)
        }));
    }
    let mut total = (0, Vec::new());
    for task in tasks {
        let (ok, failed) = task.await.unwrap();
        total.0 += ok;
        total.1.extend(failed);
    }
    total
}

/// Sockets process `pid` holds open (listeners included).
pub fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Whether process `pid` still holds its end of the loopback TCP
/// connection between its port `server_port` and a client's `client_port`
/// (from `/proc/net/tcp`: a socket the process has closed is either gone
/// or orphaned, with inode 0, while the kernel still flushes it).
pub fn holds_connection(pid: u32, server_port: u16, client_port: u16) -> bool {
    let port = |address: &str| {
        address
            .rsplit(':')
            .next()
            .and_then(|hex| u16::from_str_radix(hex, 16).ok())
    };
    let inode = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .map(|line| {
                    line.split_whitespace()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .find(|fields| {
            fields.len() > 9
                && port(&fields[1]) == Some(server_port)
                && port(&fields[2]) == Some(client_port)
        })
        .map(|fields| fields[9].clone());
    let Some(inode) = inode.filter(|inode| inode != "0") else {
        return false;
    };
    let wanted = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(Result::ok)
        .any(|entry| {
            std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy() == wanted)
        })
}

/// A labelled pod of ServiceAccount `app` in `team-a` with `containers`
/// containers: its patch adds environment variables and a volume mount to
/// every one, so the response grows with the count.
pub fn review_with_containers(uid: &str, containers: usize) -> Value {
    let containers: Vec<Value> = (0..containers)
        .map(|i| json!({"name": format!("c{i}"), "image": "app:1"}))
        .collect();
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid, "namespace": "team-a", "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {
                "metadata": {"generateName": "app-", "labels": {"azure.workload.identity/use": "true"}},
                "spec": {"serviceAccountName": "app", "containers": containers}
            }
        }
    })
}

/// The raw HTTP/1.1 request posting `body` to the admission path.
pub fn raw_admission(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /mutate-v1-pod HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// The process settings the Deployment in `deploy/base` gives the webhook
/// (its literal `env` values but `POD_NAMESPACE`'s, which the tests set
/// themselves): the tests run the binary as it is deployed.
pub fn deployed_tuning() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/base/deployment.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let deployment: Value = yaml_serde::from_str(&text).unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| {
            Some((
                var["name"].as_str()?.to_owned(),
                var["value"].as_str()?.to_owned(),
            ))
        })
        .collect()
}
