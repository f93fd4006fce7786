//! Mount benchmark of the provider process:
//! `cargo bench -p azure-wi-csi-provider --bench mounts`.
//!
//! The `azure-wi-csi-provider` binary runs as a child process, as its
//! DaemonSet runs it, reaching the in-process emulator (Entra ID and Key
//! Vault) through `HTTPS_PROXY`. 100 pods of one ServiceAccount, each with
//! its own token, mount the same 5 objects (two secrets, an EC key, a
//! certificate and its certificate-backed secret) through the provider
//! socket, 10 at a time as kubelet's volume workers would; then, once the
//! read sharing window (`--read-sharing-window`, 5 s by default) has
//! passed, a rotation sweep mounts all 100 again with their current object
//! versions, as the driver's rotation reconciler does. Printed per phase:
//! mounts per second, p50 and p99 latency, Entra token requests and Key
//! Vault requests (the emulator's request log); the Key Vault requests of
//! the sweep (the Go provider makes one per object per pod: 500); and the
//! provider's resident memory (now and peak) idle, after the mounts and
//! after the sweep.
//!
//! The baseline, in the same run: the same 500 reads done directly with
//! `azure-wi-auth` clients sharing one token and one challenge, through
//! the same proxy, at the same concurrency: what the reads cost with no
//! provider in between. The provider's rate is reported as a ratio to it,
//! with its reads shared and, in a second provider process started with
//! `--read-sharing-window=0s`, without: the provider's own cost per mount.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/process.rs"]
mod process;

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use azure_wi_auth::SecretClient;
use azure_wi_core::names;
use azure_wi_csi_provider::{
    proto::{CSIDriverProviderClient, MountRequest, ObjectVersion},
    server, share,
};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use futures::{StreamExt as _, stream};
use tonic::transport::Channel;

const PODS: usize = 100;
const CONCURRENCY: usize = 10;
const OBJECTS: &str = "array:
  - |
    objectName: db-password
    objectType: secret
  - |
    objectName: api-key
    objectType: secret
  - |
    objectName: signing-ec
    objectType: key
  - |
    objectName: web-tls
    objectType: cert
    objectAlias: web-tls.crt
  - |
    objectName: web-tls
    objectType: secret
    objectAlias: web-tls.pem
";

fn request(token: &str, pod: usize, current: Vec<ObjectVersion>) -> MountRequest {
    let tokens = serde_json::json!({
        names::DEFAULT_AUDIENCE: {"token": token, "expirationTimestamp": "2026-12-01T12:00:00Z"},
    });
    let attributes = serde_json::json!({
        "keyvaultName": "orders-kv",
        "tenantID": DEMO_TENANT,
        "clientID": DEMO_CLIENT_ID,
        "objects": OBJECTS,
        "secretProviderClass": "orders",
        "csi.storage.k8s.io/pod.name": format!("orders-api-{pod}"),
        "csi.storage.k8s.io/pod.namespace": "team-a",
        "csi.storage.k8s.io/pod.uid": format!("00000000-0000-4000-8000-{pod:012}"),
        "csi.storage.k8s.io/serviceAccount.name": "orders-api",
        "csi.storage.k8s.io/serviceAccount.tokens": tokens.to_string(),
    });
    MountRequest {
        attributes: attributes.to_string(),
        secrets: "null".into(),
        target_path: format!("/var/lib/kubelet/pods/{pod}/volumes/kubernetes.io~csi/kv/mount"),
        permission: "420".into(),
        current_object_version: current,
    }
}

struct Phase {
    name: &'static str,
    took: Duration,
    latencies: Vec<Duration>,
    entra: u64,
    vault: u64,
}

impl Phase {
    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.took.as_secs_f64()
    }

    fn print(&self, unit: &str) {
        println!(
            "{:<22} {:>7.0} {unit}/s   p50 {:>6.1} ms   p99 {:>6.1} ms   Entra requests {:>3}   Key Vault requests {:>4}",
            self.name,
            self.per_second(),
            self.percentile(50.0).as_secs_f64() * 1e3,
            self.percentile(99.0).as_secs_f64() * 1e3,
            self.entra,
            self.vault,
        );
    }
}

/// Runs `work(i)` for `0..PODS`, `CONCURRENCY` at a time, timing each.
async fn timed<F, Fut, T>(emulator: &Emulator, name: &'static str, work: F) -> (Phase, Vec<T>)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T>,
{
    let before = emulator.request_log().counts();
    let started = Instant::now();
    let results: Vec<(Duration, T)> = stream::iter(0..PODS)
        .map(|i| {
            let run = work(i);
            async move {
                let at = Instant::now();
                let out = run.await;
                (at.elapsed(), out)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let took = started.elapsed();
    let (latencies, outputs) = results.into_iter().unzip();
    let counts = emulator.request_log().counts().since(&before);
    let phase = Phase {
        name,
        took,
        latencies,
        entra: counts.tokens().answered,
        vault: counts.key_vault().answered,
    };
    (phase, outputs)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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

async fn run() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens: Arc<Vec<String>> = Arc::new(
        (0..PODS)
            .map(|i| {
                let mut spec = TokenSpec::new("team-a", "orders-api")
                    .issued_at(SystemTime::now() - Duration::from_secs(i as u64));
                spec.pod = format!("orders-api-{i}");
                emulator.mint(&spec).unwrap()
            })
            .collect(),
    );

    // Baseline: the reads themselves, one client per pod sharing one
    // credential (one token) and the vault's challenge.
    let token_file = emulator
        .write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let credential = emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, &token_file)
        .unwrap()
        .build()
        .unwrap();
    // Through the emulator's proxy, as the provider reaches it.
    let http = emulator
        .client_builder()
        .unwrap()
        .proxy(reqwest::Proxy::https(emulator.proxy_url()).unwrap())
        .build()
        .unwrap();
    let warm = SecretClient::builder(&emulator.vault_url("orders-kv"), credential.clone())
        .with_http_client(http.clone())
        .build()
        .unwrap();
    warm.get_secret("db-password").await.unwrap();
    let challenge = warm.challenge().unwrap();
    let (baseline, _) = timed(&emulator, "baseline: direct reads", |_| {
        let client = SecretClient::builder(&emulator.vault_url("orders-kv"), credential.clone())
            .with_http_client(http.clone())
            .with_challenge(challenge.clone())
            .build()
            .unwrap();
        async move {
            let (keys, certificates) = (client.key_client(), client.certificate_client());
            let (a, b, c, d, e) = tokio::join!(
                client.get_secret("db-password"),
                client.get_secret("api-key"),
                keys.get_key("signing-ec"),
                certificates.get_certificate("web-tls"),
                client.get_secret("web-tls"),
            );
            a.unwrap();
            b.unwrap();
            c.unwrap();
            d.unwrap();
            e.unwrap();
        }
    })
    .await;

    let mount = |client: &CSIDriverProviderClient<Channel>, current: Vec<Vec<ObjectVersion>>| {
        let current = Arc::new(current);
        let tokens = Arc::clone(&tokens);
        let client = client.clone();
        move |i: usize| {
            let mut client = client.clone();
            let request = request(&tokens[i], i, current.get(i).cloned().unwrap_or_default());
            async move {
                let response = client
                    .mount(request)
                    .await
                    .unwrap_or_else(|s| panic!("{}", s.message()))
                    .into_inner();
                assert_eq!(response.files.len(), 5);
                response.object_version
            }
        }
    };

    // The provider as deployed: reads shared within the default window.
    let provider = process::start(&emulator, dir.path());
    let client = CSIDriverProviderClient::new(server::connect(&provider.socket).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = provider.memory_kib();
    let (mounts, versions) =
        timed(&emulator, "mounts (100 pods)", mount(&client, Vec::new())).await;
    let mounted = provider.memory_kib();
    // The sweep comes a rotation interval later (2m by default): past the
    // window of the mounts' reads.
    tokio::time::sleep(share::DEFAULT_WINDOW + Duration::from_millis(500)).await;
    let (rotation, _) = timed(
        &emulator,
        "rotation sweep",
        mount(&client, versions.clone()),
    )
    .await;
    let rotated = provider.memory_kib();
    drop(provider);

    // The same provider reading for each mount: its own cost per mount.
    let unshared_dir = tempfile::tempdir().unwrap();
    let unshared = process::start_with_args(
        &emulator,
        unshared_dir.path(),
        &["--read-sharing-window=0s"],
    );
    let client = CSIDriverProviderClient::new(server::connect(&unshared.socket).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (unshared_mounts, _) =
        timed(&emulator, "unshared: mounts", mount(&client, Vec::new())).await;
    let (unshared_rotation, _) =
        timed(&emulator, "unshared: rotation", mount(&client, versions)).await;
    drop(unshared);

    println!(
        "{PODS} pods of one ServiceAccount, 5 objects each, {CONCURRENCY} at a time; provider as a child process\n"
    );
    baseline.print("pods");
    mounts.print("mounts");
    rotation.print("mounts");
    unshared_mounts.print("mounts");
    unshared_rotation.print("mounts");
    println!(
        "\nKey Vault requests in the rotation sweep of {PODS} pods x 5 objects of one identity: {} \
         (goal 5; the Go provider: {})",
        rotation.vault,
        PODS * 5
    );
    let ratio = |phase: &Phase| phase.per_second() / baseline.per_second();
    println!(
        "mounts per second vs direct reads: mounts {:.2}x, rotation {:.2}x; \
         reads not shared (--read-sharing-window=0s): mounts {:.2}x, rotation {:.2}x",
        ratio(&mounts),
        ratio(&rotation),
        ratio(&unshared_mounts),
        ratio(&unshared_rotation),
    );
    println!(
        "Entra token requests for {} mounts: {} (one per mount would be {})",
        2 * PODS,
        mounts.entra + rotation.entra,
        2 * PODS
    );
    for (name, (rss, peak)) in [
        ("idle", idle),
        ("after mounts", mounted),
        ("after rotation", rotated),
    ] {
        println!(
            "provider memory {name:<15} RSS {:>5.1} MiB   peak {:>5.1} MiB",
            mib(rss),
            mib(peak)
        );
    }
}
