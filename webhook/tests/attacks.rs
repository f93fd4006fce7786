//! Issue 15's attacks on a running `webhook serve`, one test per row of
//! its table, scaled down to run in bounded time on a small machine. Each
//! starts the real binary over TLS on loopback and asserts the bounds the
//! deployment needs: peak resident memory (`VmHWM`) at most [`RSS_BOUND_MIB`]
//! (the container's limit is 256 MiB), `/readyz` answering within a second
//! throughout (the readinessProbe's timeout, polled every 100 ms on a new
//! connection), good admissions succeeding during the attack, and held
//! connections closed by their deadline. Each prints one line of figures,
//! `attack: ...`, for README's operations section.
//!
//! Run with `--nocapture` to see the figures.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use support::{
    GoodTraffic, ReadyzProbe, TlsStream, Webhook, client_trusting, client_trusting_for,
    generate_certs, until_closed, upload_declaring, write_service_accounts,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Peak resident memory allowed: the deployment's 256 MiB limit less a
/// quarter of headroom.
const RSS_BOUND_MIB: f64 = 192.0;

/// The slowest `/readyz` answer allowed: the readinessProbe's timeout.
const READYZ_BOUND: Duration = Duration::from_secs(1);

/// The request deadline of the attacks on uploads, shortened from the
/// default 12 s to keep the file fast; the bound is the same shape.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// 6.9 MiB: the large bodies of the issue, just under the 7 MiB limit.
const LARGE_BODY: usize = 7_235_174;

/// A running webhook with its CA, and the attack's measurements.
struct Scene {
    _dir: tempfile::TempDir,
    ca: String,
    webhook: Webhook,
    readyz: ReadyzProbe,
    good: GoodTraffic,
}

impl Scene {
    /// Starts the webhook with `extra` flags, waits for it to be ready,
    /// then starts probing `/readyz` and posting good admissions (two
    /// workers).
    async fn start(extra: &[&str]) -> Self {
        Self::start_with_client_id(extra, support::CLIENT_ID).await
    }

    /// [`start`](Self::start) with `client_id` as the client id of the
    /// ServiceAccount every admission uses.
    async fn start_with_client_id(extra: &[&str], client_id: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = generate_certs(dir.path());
        let accounts = support::write_service_accounts_with(dir.path(), client_id);
        let webhook = Webhook::start(dir.path(), &accounts, extra);
        webhook.wait_ready().await;
        let readyz = ReadyzProbe::start(webhook.health);
        let good = GoodTraffic::start(&client_trusting(&ca), &webhook.url(), 2);
        Self {
            _dir: dir,
            ca,
            webhook,
            readyz,
            good,
        }
    }

    fn port(&self) -> u16 {
        self.webhook.webhook.port()
    }

    /// Ends the measurements, prints `attack: {what}: ...` with `extra`
    /// figures, and returns the bounds that did not hold (all of them, so
    /// one failing bound does not hide the others' figures).
    async fn finish(self, what: &str, extra: &str) -> (Webhook, Vec<String>) {
        let (readyz, readyz_failed) = self.readyz.finish().await;
        let (admitted, p99, failed) = self.good.finish().await;
        let peak = support::peak_rss_mib(self.webhook.pid());
        println!(
            "attack: {what}: peak RSS {peak:.0} MiB, readyz max {} ms, good admissions {admitted} \
             (p99 {} ms, {} failed){extra}",
            readyz.as_millis(),
            p99.as_millis(),
            failed.len(),
        );
        let mut broken = Vec::new();
        if peak > RSS_BOUND_MIB {
            broken.push(format!(
                "peak RSS {peak:.0} MiB is over {RSS_BOUND_MIB} MiB"
            ));
        }
        if readyz >= READYZ_BOUND {
            broken.push(format!("/readyz took {readyz:?}"));
        }
        if !readyz_failed.is_empty() {
            broken.push(format!("/readyz failed: {readyz_failed:?}"));
        }
        if admitted == 0 || !failed.is_empty() {
            broken.push(format!(
                "good admissions: {admitted} succeeded, failed: {:?}",
                &failed[..failed.len().min(3)]
            ));
        }
        (self.webhook, broken)
    }
}

/// Fails with every bound that did not hold.
fn assert_held(broken: &[String]) {
    assert!(broken.is_empty(), "bounds broken: {broken:#?}");
}

/// A valid review of a labelled pod of `app` whose spec holds `bytes`
/// worth of `emptyDir` volumes; returns it and the volume count.
fn review_with_volumes(uid: &str, bytes: usize) -> (String, usize) {
    let mut volumes = String::with_capacity(bytes + 64);
    let mut count = 0;
    while volumes.len() < bytes {
        if count > 0 {
            volumes.push(',');
        }
        write!(volumes, r#"{{"name":"v{count:06}","emptyDir":{{}}}}"#).unwrap();
        count += 1;
    }
    let review = format!(
        r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"{uid}","namespace":"team-a","operation":"CREATE","kind":{{"group":"","version":"v1","kind":"Pod"}},"object":{{"metadata":{{"generateName":"app-","labels":{{"azure.workload.identity/use":"true"}}}},"spec":{{"serviceAccountName":"app","containers":[{{"name":"app","image":"app:1"}}],"volumes":[{volumes}]}}}}}}}}"#
    );
    (review, count)
}

/// Posts `body` and asserts an allowing answer; returns how long it took.
async fn post_allowed(client: &reqwest::Client, url: &str, body: String) -> Duration {
    let started = Instant::now();
    let answer = support::post_json(client, url, body).await;
    let status = answer.status();
    let review: serde_json::Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(status, 200, "{review}");
    assert_eq!(review["response"]["allowed"], true, "{review}");
    started.elapsed()
}

/// `reviews` concurrent huge-pod reviews of `bytes` each.
async fn huge_pods(reviews: usize, bytes: usize, what: &str) {
    let scene = Scene::start(&["--request-timeout", "60s"]).await;
    let before = support::rss_kib(scene.webhook.pid()) as f64 / 1024.0;
    let client = client_trusting_for(&scene.ca, Duration::from_secs(90));
    let (mut volumes, mut tasks) = (0, Vec::new());
    for i in 0..reviews {
        let (review, count) = review_with_volumes(&format!("huge-{i}"), bytes);
        volumes = count;
        let (client, url) = (client.clone(), scene.webhook.url());
        tasks.push(tokio::spawn(async move {
            post_allowed(&client, &url, review).await
        }));
    }
    let mut slowest = Duration::ZERO;
    for task in tasks {
        slowest = slowest.max(task.await.unwrap());
    }
    let pid = scene.webhook.pid();
    // Memory goes back once the burst is over: the pods were never built
    // into trees of small allocations that the allocator would keep.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = support::rss_kib(pid) as f64 / 1024.0;
    let peak = support::peak_rss_mib(pid);
    let what = format!("{what} ({volumes} volumes each)");
    let (_webhook, mut broken) = scene
        .finish(
            &what,
            &format!(
                ", answered in {} ms, {after:.0} MiB resident 0.5 s later (before: {before:.0} MiB)",
                slowest.as_millis(),
            ),
        )
        .await;
    if after - before > (peak - before) / 2.0 {
        broken.push(format!(
            "{after:.0} MiB still resident after the burst: less than half of the {:.0} MiB it \
             grew by ({before:.0} -> {peak:.0} MiB) went back",
            peak - before
        ));
    }
    assert_held(&broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_3_mib_review_of_a_pod_with_95_000_volumes() {
    huge_pods(1, 3 << 20, "one 3 MiB review").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_6_9_mib_review_of_a_pod_with_220_000_volumes() {
    huge_pods(1, LARGE_BODY - 300, "one 6.9 MiB review").await;
}

/// Also the row on `/readyz` starved by parsing: the probe runs throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_concurrent_3_mib_reviews() {
    huge_pods(4, 3 << 20, "4 concurrent 3 MiB reviews").await;
}

/// How an attacking upload sends its body.
#[derive(Debug, Clone, Copy)]
struct Upload {
    /// The Content-Length declared.
    declared: usize,
    /// Bytes of body sent before stalling (at most `declared`).
    total: usize,
    /// Bytes sent at a time...
    chunk: usize,
    /// ...and the pause after each.
    every: Duration,
}

/// Sends the headers of `shape`'s admission and its body as it says, then
/// stalls; returns when the server has closed the connection (or after
/// `limit`), with its answer and how long that took.
async fn upload(
    port: u16,
    ca: String,
    shape: Upload,
    limit: Duration,
) -> Option<(String, Duration)> {
    let Upload {
        declared,
        total,
        chunk,
        every,
    } = shape;
    let started = Instant::now();
    let stream = upload_declaring(port, &ca, declared).await;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let sending = tokio::spawn(async move {
        let piece = vec![b' '; chunk];
        let mut sent = 1;
        while sent < total {
            let n = chunk.min(total - sent);
            if writer.write_all(&piece[..n]).await.is_err() || writer.flush().await.is_err() {
                break;
            }
            sent += n;
            tokio::time::sleep(every).await;
        }
        // Hold the connection open, stalled, until the server closes it.
        std::future::pending::<()>().await;
    });
    let closed = until_closed(&mut reader, limit).await;
    sending.abort();
    closed.map(|(answer, _)| (answer, started.elapsed()))
}

/// `connections` uploads of `shape` at once; asserts each is answered 408
/// (cut off at the deadline) or 503 (refused by the body budget) and
/// closed by the deadline plus `margin`.
async fn uploads(connections: usize, shape: Upload, margin: Duration, what: &str) {
    let timeout = format!("{}s", REQUEST_TIMEOUT.as_secs());
    let scene = Scene::start(&["--request-timeout", &timeout]).await;
    let limit = REQUEST_TIMEOUT + margin;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            tokio::spawn(upload(
                scene.port(),
                scene.ca.clone(),
                shape,
                limit + Duration::from_secs(5),
            ))
        })
        .collect();
    let (mut cut, mut refused, mut latest, mut broken) = (0, 0, Duration::ZERO, Vec::new());
    for task in tasks {
        match task.await.unwrap() {
            None => broken.push("a connection was still open 5 s past its bound".to_owned()),
            Some((answer, took)) => {
                latest = latest.max(took);
                if answer.starts_with("HTTP/1.1 408") {
                    cut += 1;
                } else if answer.starts_with("HTTP/1.1 503") {
                    refused += 1;
                } else {
                    broken.push(format!(
                        "unexpected answer {:?}",
                        &answer[..answer.len().min(80)]
                    ));
                }
            }
        }
    }
    if latest > limit {
        broken.push(format!(
            "the last connection closed after {latest:?}, past {limit:?}"
        ));
    }
    let (_webhook, mut held) = scene
        .finish(
            what,
            &format!(
                ", {cut} cut off with 408, {refused} refused with 503, all closed within {} ms \
                 (deadline {} s)",
                latest.as_millis(),
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .await;
    held.extend(broken);
    assert_held(&held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_connections_trickling_6_9_mib_bodies() {
    // 64 KiB every 100 ms: the whole body would take 11 s.
    uploads(
        30,
        Upload {
            declared: LARGE_BODY,
            total: LARGE_BODY,
            chunk: 64 << 10,
            every: Duration::from_millis(100),
        },
        Duration::from_secs(3),
        "30 connections trickling 6.9 MiB bodies",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_connections_that_send_all_but_one_byte_and_stall() {
    uploads(
        30,
        Upload {
            declared: LARGE_BODY,
            total: LARGE_BODY - 1,
            chunk: 256 << 10,
            every: Duration::ZERO,
        },
        Duration::from_secs(4),
        "30 connections sending 6.9 MiB - 1 byte, then stalling",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_connections_sending_a_byte_a_second() {
    // Small declared bodies, so the body budget admits every one and the
    // request deadline is what cuts them off.
    uploads(
        20,
        Upload {
            declared: 1000,
            total: 1000,
            chunk: 1,
            every: Duration::from_secs(1),
        },
        Duration::from_secs(2),
        "20 connections sending 1 byte/s",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_containers_annotation_naming_200_000_containers() {
    let scene = Scene::start(&["--request-timeout", "60s"]).await;
    let names: Vec<String> = (0..200_000).map(|i| format!("c{i}")).collect();
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "skip", "namespace": "team-a", "operation": "CREATE",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {
                "metadata": {
                    "generateName": "app-",
                    "labels": {"azure.workload.identity/use": "true"},
                    "annotations": {"azure.workload.identity/skip-containers": names.join(";")}
                },
                "spec": {"serviceAccountName": "app", "containers": [{"name": "app", "image": "app:1"}]}
            }
        }
    })
    .to_string();
    let body_bytes = review.len();
    let logged_before: usize = scene
        .webhook
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(String::len)
        .sum();
    let started = Instant::now();
    let client = client_trusting_for(&scene.ca, Duration::from_secs(60));
    let answer = support::post_json(&client, &scene.webhook.url(), review).await;
    assert_eq!(answer.status(), 200);
    let response = answer.bytes().await.unwrap();
    let took = started.elapsed();
    let parsed: serde_json::Value = serde_json::from_slice(&response).unwrap();
    let warnings = parsed["response"]["warnings"]
        .as_array()
        .map_or(0, Vec::len);
    // Let the log lines of the request arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logged: usize = scene
        .webhook
        .logs
        .lock()
        .unwrap()
        .iter()
        .map(String::len)
        .sum();
    let logged = logged - logged_before;
    let (_webhook, mut broken) = scene
        .finish(
            "a 200,000-name skip-containers annotation",
            &format!(
                ", {:.1} MB body answered in {} ms, response {} bytes ({warnings} warnings), \
                 {logged} bytes of log",
                body_bytes as f64 / 1e6,
                took.as_millis(),
                response.len()
            ),
        )
        .await;
    // The warnings are capped at 4,096 characters; the patch is small.
    if response.len() > 16 << 10 {
        broken.push(format!("the response is {} bytes", response.len()));
    }
    // Log lines of all the traffic during the attack, bounded.
    if logged > 64 << 10 {
        broken.push(format!("{logged} bytes were logged"));
    }
    assert_held(&broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_clients_that_never_read_the_largest_response() {
    // The largest response a pod can cause: the patch for as many
    // containers as the webhook mutates (more are refused with a short
    // denial). A larger one needs a ServiceAccount with huge annotations,
    // which only the cluster's administrators write; the write deadline
    // for a response larger than the socket buffers is proven in
    // serve_limits.rs.
    let scene = Scene::start(&["--response-write-timeout", "2s"]).await;
    let pid = scene.webhook.pid();
    let body = support::review_with_containers("unread", webhook::mutate::MAX_MUTATED_CONTAINERS)
        .to_string();
    // The whole response, as a client that reads gets it.
    let client = client_trusting_for(&scene.ca, Duration::from_secs(60));
    let whole = support::post_json(&client, &scene.webhook.url(), body.clone())
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    let request = support::raw_admission(body.as_bytes());
    let started = Instant::now();
    let (mut unread, mut refused): (Vec<TlsStream>, Vec<String>) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        let mut stream = support::tls_connect(scene.port(), &scene.ca).await;
        match stream.write_all(&request).await {
            Ok(()) => unread.push(stream),
            // Closed by the server before the request was sent: say why.
            Err(error) => refused.push(format!(
                "{error}: {:?}",
                until_closed(&mut stream, Duration::from_secs(1)).await
            )),
        }
    }
    // Until the process holds none of their connections.
    let ports: Vec<u16> = unread
        .iter()
        .map(|stream| stream.get_ref().0.local_addr().unwrap().port())
        .collect();
    let held_at_first = ports
        .iter()
        .filter(|&&client| support::holds_connection(pid, scene.port(), client))
        .count();
    let limit = Duration::from_secs(30);
    while ports
        .iter()
        .any(|&client| support::holds_connection(pid, scene.port(), client))
        && started.elapsed() < limit
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let closed_after = started.elapsed();
    // Reading now gets what the kernel still held, then the end: never
    // the whole response.
    let mut delivered = Vec::new();
    for stream in &mut unread {
        let mut received = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
            .await
            .is_ok();
        delivered.push((ended, received.len()));
    }
    let (_webhook, mut broken) = scene
        .finish(
            &format!(
                "40 clients that never read a {:.1} MB response",
                whole as f64 / 1e6
            ),
            &format!(
                ", their connections closed after {} ms (write deadline 2 s), at most {:.1} MB \
                 of it delivered",
                closed_after.as_millis(),
                delivered.iter().map(|d| d.1).max().unwrap_or(0) as f64 / 1e6
            ),
        )
        .await;
    if held_at_first == 0 {
        broken.push("none of the connections was seen held: the check is blind".to_owned());
    }
    if whole < 3_000_000 {
        broken.push(format!(
            "the response is only {whole} bytes: too small to fill the socket buffers"
        ));
    }
    if closed_after >= limit {
        broken.push(format!("connections still held after {limit:?}"));
    }
    if !refused.is_empty() {
        broken.push(format!("requests refused: {refused:?}"));
    }
    // What the kernel had already taken may still arrive; the process
    // holds nothing, and every connection ends.
    if delivered.iter().any(|&(ended, _)| !ended) {
        broken.push(format!(
            "a connection did not end: (ended, bytes read) {delivered:?}"
        ));
    }
    assert_held(&broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_a_connection_holds_an_incomplete_body() {
    let dir = tempfile::tempdir().unwrap();
    let ca = generate_certs(dir.path());
    let mut webhook = Webhook::start(
        dir.path(),
        &write_service_accounts(dir.path()),
        &[
            "--shutdown-delay",
            "0s",
            "--drain-timeout",
            "1s",
            "--request-timeout",
            "60s",
        ],
    );
    webhook.wait_ready().await;
    let mut stalled = upload_declaring(webhook.webhook.port(), &ca, LARGE_BODY).await;
    // The upload is in the server's hands before the signal.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sigterm = Instant::now();
    webhook.terminate();
    let code = webhook.wait_exit(Duration::from_secs(10));
    let took = sigterm.elapsed();
    println!(
        "attack: SIGTERM with an incomplete body held: exit {code:?} after {} ms (drain 1 s)",
        took.as_millis()
    );
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(5), "exit took {took:?}");
    assert!(
        until_closed(&mut stalled, Duration::from_secs(2))
            .await
            .is_some(),
        "the stalled connection outlived the process"
    );
    let logs = webhook.logs.lock().unwrap().join("\n");
    assert!(
        logs.contains("closed a connection still open at the end of the drain"),
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_with_made_up_namespaces_do_not_grow_the_metrics() {
    let scene = Scene::start(&[]).await;
    let scrape = reqwest::Client::new();
    let metrics_url = format!("http://{}/metrics", scene.webhook.metrics);
    let scraped = || async {
        scrape
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = scraped().await;
    let client = client_trusting_for(&scene.ca, Duration::from_secs(30));
    let post = |namespace: String| {
        let mut review = support::review("admission.k8s.io/v1", "made-up");
        review["request"]["namespace"] = namespace.into();
        let body = review.to_string();
        let (client, url) = (client.clone(), scene.webhook.url());
        async move {
            // Whatever the answer: only the metrics matter here.
            let _ = support::post_json(&client, &url, body).await.bytes().await;
        }
    };
    for i in 0..500 {
        post(format!("made-up-{i}")).await;
    }
    for i in 0..2 {
        post(format!("{i}{}", "n".repeat(6 << 20))).await;
    }
    let after = scraped().await;
    let (_webhook, mut broken) = scene
        .finish(
            "500 made-up and two 6 MiB namespaces",
            &format!(", /metrics {before} bytes before, {after} bytes after"),
        )
        .await;
    if after > before + (4 << 10) {
        broken.push(format!("/metrics grew from {before} to {after} bytes"));
    }
    assert_held(&broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_review_is_logged_with_one_message_field() {
    let scene = Scene::start(&[]).await;
    let answer = support::post_json(
        &client_trusting(&scene.ca),
        &scene.webhook.url(),
        r#"{"kind": "NotAReview"}"#,
    )
    .await;
    assert_eq!(answer.status(), 400);
    let logs = std::sync::Arc::clone(&scene.webhook.logs);
    let line = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let found = logs
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains("not a usable AdmissionReview"))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    let messages = line.matches("\"message\"").count();
    let (_webhook, mut broken) = scene
        .finish(
            "a body that is not a review",
            &format!(", its log line has {messages} message field(s)"),
        )
        .await;
    if messages != 1 {
        broken.push(line.clone());
    }
    let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        parsed["fields"]["message"],
        "refused a request that is not a usable AdmissionReview"
    );
    assert_held(&broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_idle_tls_connections_and_a_hundred_slowloris() {
    let scene = Scene::start(&["--header-read-timeout", "2s"]).await;
    let pid = scene.webhook.pid();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = support::rss_kib(pid);
    let started = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(support::tls_connect(scene.port(), &scene.ca).await);
    }
    let per_connection_kib = support::rss_kib(pid).saturating_sub(rss_before) as f64 / 300.0;
    let slow: Vec<_> = (0..100)
        .map(|_| {
            let (port, ca) = (scene.port(), scene.ca.clone());
            tokio::spawn(async move {
                let stream = support::tls_connect(port, &ca).await;
                let (mut reader, mut writer) = tokio::io::split(stream);
                let dribble = tokio::spawn(async move {
                    let head = b"POST /mutate-v1-pod HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
                    let _ = writer.write_all(head).await;
                    while writer.write_all(b"a").await.is_ok() && writer.flush().await.is_ok() {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                });
                let closed = until_closed(&mut reader, Duration::from_secs(10)).await;
                dribble.abort();
                closed
            })
        })
        .collect();
    let mut latest = Duration::ZERO;
    let mut still_open = 0;
    for stream in &mut idle {
        match until_closed(stream, Duration::from_secs(10)).await {
            Some(_) => latest = latest.max(started.elapsed()),
            None => still_open += 1,
        }
    }
    for task in slow {
        match task.await.unwrap() {
            Some(_) => latest = latest.max(started.elapsed()),
            None => still_open += 1,
        }
    }
    let (_webhook, mut broken) = scene
        .finish(
            "300 idle TLS connections and 100 slowloris",
            &format!(
                ", {per_connection_kib:.0} KiB per idle TLS connection, all closed within {} ms \
                 (header-read timeout 2 s)",
                latest.as_millis()
            ),
        )
        .await;
    if still_open > 0 {
        broken.push(format!("{still_open} connections still open"));
    }
    assert_held(&broken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunked_non_tls_and_http2_input_is_refused_cleanly() {
    let scene = Scene::start(&[]).await;
    let port = scene.port();
    let limit = Duration::from_secs(5);

    // A declared length past the limit: 413 before any body.
    let mut oversized = support::tls_connect(port, &scene.ca).await;
    oversized
        .write_all(b"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n")
        .await
        .unwrap();
    let (oversized, _) = until_closed(&mut oversized, limit).await.unwrap();

    // A chunked body past the limit: 413 once it passes, connection closed.
    let chunked = support::tls_connect(port, &scene.ca).await;
    let (mut reader, mut writer) = tokio::io::split(chunked);
    let feeding = tokio::spawn(async move {
        let _ = writer
            .write_all(b"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
        for _ in 0..200 {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    });
    let (chunked, _) = until_closed(&mut reader, limit).await.unwrap();
    feeding.abort();

    // Not TLS at all.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    plain
        .write_all(b"POST /mutate-v1-pod HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (not_tls, _) = until_closed(&mut plain, limit).await.unwrap();

    // An HTTP/2 preface over TLS.
    let mut h2 = support::tls_connect(port, &scene.ca).await;
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let (http2, _) = until_closed(&mut h2, limit).await.unwrap();

    let status = |answer: &str| match answer.lines().next() {
        None => "(closed)".to_owned(),
        Some(line) if line.starts_with("HTTP/") => line.to_owned(),
        Some(_) if answer.starts_with('\u{15}') => "(a TLS alert)".to_owned(),
        Some(_) => format!("(not HTTP: {} bytes)", answer.len()),
    };
    let (_webhook, mut broken) = scene
        .finish(
            "oversized, chunked > 7 MiB, non-TLS and HTTP/2 input",
            &format!(
                ", answered {:?}, {:?}, {:?}, {:?}",
                status(&oversized),
                status(&chunked),
                status(&not_tls),
                status(&http2)
            ),
        )
        .await;
    for (what, answer, expected) in [
        ("oversized", &oversized, Some("HTTP/1.1 413")),
        ("chunked", &chunked, Some("HTTP/1.1 413")),
        ("plain HTTP", &not_tls, None),
    ] {
        let fine = match expected {
            Some(status) => answer.starts_with(status),
            None => !answer.contains("HTTP/1.1 200"),
        };
        if !fine {
            broken.push(format!("{what}: {answer:?}"));
        }
    }
    if http2.contains("HTTP/1.1 200") {
        broken.push(format!("HTTP/2 preface: {http2:?}"));
    }
    assert_held(&broken);
}
