//! A real Kubernetes control plane for tests: etcd and kube-apiserver on
//! loopback, in a temporary folder, owned by the test that started them.
//!
//! What it is not: a cluster. There is no controller manager, scheduler or
//! kubelet, so namespaces get no `default` ServiceAccount (create the ones
//! pods name), pods stay `Pending` and deleted namespaces stay `Terminating`.
//! Admission, storage, RBAC, TokenRequest and the ServiceAccount issuer's
//! discovery documents are the real thing, which is what the webhook and the
//! trust chain meet in a cluster.
//!
//! The binaries come from `KUBEBUILDER_ASSETS` (a folder holding `etcd` and
//! `kube-apiserver`, as envtest lays it out) or, when that is unset, from
//! `tests/control-plane/install.sh`, which builds and caches them. Nothing is
//! skipped: a missing control plane is an error that says how to get one.
//!
//! ```no_run
//! # async fn run() -> Result<(), azure_wi_control_plane::Error> {
//! let plane = azure_wi_control_plane::ControlPlane::start().await?;
//! let client = plane.client().await?;
//! let version = client.apiserver_version().await.expect("the apiserver answers");
//! println!("{} at {}", version.git_version, plane.url());
//! # Ok(()) }
//! ```

mod assets;
mod error;
pub mod manifests;
mod pki;
mod process;

use std::{
    net::{Ipv4Addr, SocketAddr, TcpListener},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

pub use error::Error;
use process::Supervised;

/// Audience the workload identity token is requested for.
pub use azure_wi_core::names::DEFAULT_AUDIENCE as TOKEN_EXCHANGE_AUDIENCE;

/// How long the apiserver gets to answer `/readyz` after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// A running etcd and kube-apiserver. Dropping it stops both (also when the
/// test panics) and removes their folder.
pub struct ControlPlane {
    // Field order is drop order: the apiserver stops before etcd, and the
    // folder goes last.
    apiserver: Supervised,
    etcd: Supervised,
    url: String,
    kubeconfig: PathBuf,
    ca_pem: String,
    sa_key: PathBuf,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("url", &self.url)
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver on free loopback ports and waits until
    /// the apiserver is ready.
    ///
    /// # Errors
    ///
    /// [`Error::Assets`] when no binaries can be found or built,
    /// [`Error::Start`] when a process cannot be started, [`Error::NotReady`]
    /// (with the tail of its log) when the apiserver does not become ready.
    pub async fn start() -> Result<Self, Error> {
        let assets = assets::locate()?;
        let dir = tempfile::Builder::new()
            .prefix("azwi-control-plane-")
            .tempdir()
            .map_err(|source| Error::Io {
                what: "creating the control plane's folder".to_owned(),
                source,
            })?;
        let pki = pki::Pki::write(dir.path())?;

        let etcd_client = free_port()?;
        let etcd_peer = free_port()?;
        let etcd = Supervised::spawn(
            "etcd",
            &assets.join("etcd"),
            &etcd_args(dir.path(), etcd_client, etcd_peer),
            dir.path(),
        )?;

        let port = free_port()?;
        let url = format!("https://127.0.0.1:{port}");
        let apiserver = Supervised::spawn(
            "kube-apiserver",
            &assets.join("kube-apiserver"),
            &apiserver_args(&pki, &url, port, etcd_client),
            dir.path(),
        )?;

        let kubeconfig = dir.path().join("kubeconfig");
        write_file(&kubeconfig, &pki.kubeconfig(&url))?;
        let plane = Self {
            apiserver,
            etcd,
            url,
            kubeconfig,
            ca_pem: pki.ca_pem.clone(),
            sa_key: pki.sa_key.clone(),
            dir,
        };
        plane.wait_ready().await?;
        plane.publish_issuer_discovery().await?;
        Ok(plane)
    }

    /// The apiserver's URL, `https://127.0.0.1:<port>`. It is also the
    /// ServiceAccount token issuer.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The ServiceAccount issuer (`iss` of the tokens the apiserver signs);
    /// its discovery document is served to anonymous callers.
    pub fn issuer(&self) -> &str {
        &self.url
    }

    /// A kubeconfig file for a `system:masters` client, for processes under
    /// test (set `KUBECONFIG` to it).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The CA that signed the apiserver's serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The PKCS#8 PEM RSA private key the apiserver signs ServiceAccount
    /// tokens with (its `--service-account-signing-key-file` and
    /// `--service-account-key-file`), so tests can derive what the
    /// apiserver publishes at `/openid/v1/jwks` on their own and compare.
    pub fn service_account_key_file(&self) -> &Path {
        &self.sa_key
    }

    /// The folder the control plane keeps its files and logs in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A client with `system:masters` rights.
    ///
    /// # Errors
    ///
    /// [`Error::Client`] when the kubeconfig cannot be turned into a client.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        let text = std::fs::read_to_string(&self.kubeconfig).map_err(|source| Error::Io {
            what: format!("reading {}", self.kubeconfig.display()),
            source,
        })?;
        let kubeconfig =
            kube::config::Kubeconfig::from_yaml(&text).map_err(|e| Error::Client(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| Error::Client(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| Error::Client(e.to_string()))
    }

    /// The kube-apiserver's process id, for tests that stop it for a while
    /// (`SIGSTOP`, then `SIGCONT`): connections stay open and calls hang,
    /// as when the control plane is overloaded or partitioned.
    pub fn apiserver_pid(&self) -> u32 {
        self.apiserver.pid()
    }

    /// The last lines the apiserver logged, for failure messages.
    pub fn apiserver_log_tail(&self) -> String {
        self.apiserver.log_tail()
    }

    async fn wait_ready(&self) -> Result<(), Error> {
        let started = Instant::now();
        let mut last = String::from("no answer yet");
        while started.elapsed() < READY_TIMEOUT {
            if let Some(exit) = self.etcd.exited() {
                return Err(self.not_ready(format!("etcd exited ({exit})"), &self.etcd));
            }
            if let Some(exit) = self.apiserver.exited() {
                return Err(
                    self.not_ready(format!("kube-apiserver exited ({exit})"), &self.apiserver)
                );
            }
            match self.client().await {
                Ok(client) => {
                    let request = http_get("/readyz");
                    match client.request_text(request).await {
                        Ok(body) if body.trim() == "ok" => return Ok(()),
                        Ok(body) => last = body,
                        Err(e) => last = e.to_string(),
                    }
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(self.not_ready(
            format!("not ready after {READY_TIMEOUT:?}: {last}"),
            &self.apiserver,
        ))
    }

    fn not_ready(&self, reason: String, process: &Supervised) -> Error {
        Error::NotReady {
            reason,
            log_tail: process.log_tail(),
        }
    }

    /// Lets anonymous callers read the issuer's discovery document and JWKS,
    /// as clusters that publish their issuer do (Entra fetches them).
    async fn publish_issuer_discovery(&self) -> Result<(), Error> {
        use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
        let client = self.client().await?;
        let binding: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "azwi-test-issuer-discovery"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:service-account-issuer-discovery"
            },
            "subjects": [{
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Group",
                "name": "system:unauthenticated"
            }]
        }))
        .map_err(|e| Error::Client(e.to_string()))?;
        kube::Api::<ClusterRoleBinding>::all(client)
            .create(&kube::api::PostParams::default(), &binding)
            .await
            .map_err(|e| Error::Client(format!("binding issuer discovery: {e}")))?;
        Ok(())
    }
}

fn http_get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path)
        .body(Vec::new())
        .expect("a GET with a static path is a valid request")
}

fn etcd_args(dir: &Path, client: u16, peer: u16) -> Vec<String> {
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    vec![
        "--name=default".into(),
        format!("--data-dir={}", dir.join("etcd").display()),
        format!("--listen-client-urls={client_url}"),
        format!("--advertise-client-urls={client_url}"),
        format!("--listen-peer-urls={peer_url}"),
        format!("--initial-advertise-peer-urls={peer_url}"),
        format!("--initial-cluster=default={peer_url}"),
        "--log-level=warn".into(),
    ]
}

fn apiserver_args(pki: &pki::Pki, url: &str, port: u16, etcd_client: u16) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    vec![
        format!("--etcd-servers=http://127.0.0.1:{etcd_client}"),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        format!("--secure-port={port}"),
        // Loopback addresses are not allowed in Endpoints.
        "--endpoint-reconciler-type=none".into(),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        format!("--cert-dir={}", path(&pki.dir)),
        format!("--tls-cert-file={}", path(&pki.serving_cert)),
        format!("--tls-private-key-file={}", path(&pki.serving_key)),
        format!("--client-ca-file={}", path(&pki.ca_cert)),
        "--authorization-mode=RBAC".into(),
        // As kubeadm and AKS run it: pods may ask for privileged containers
        // (the IMDS proxy's init container, which sets NAT rules, does).
        "--allow-privileged=true".into(),
        format!("--service-account-issuer={url}"),
        format!("--service-account-key-file={}", path(&pki.sa_key)),
        format!("--service-account-signing-key-file={}", path(&pki.sa_key)),
        format!("--api-audiences={url},{TOKEN_EXCHANGE_AUDIENCE}"),
        "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook".into(),
        // CSIServiceAccountToken: the CSIDriver's `tokenRequests`, kept by
        // the apiserver (beta and on by default from 1.21; this build is
        // 1.20, where it is alpha and the field would be dropped).
        "--feature-gates=BoundServiceAccountTokenVolume=true,CSIServiceAccountToken=true".into(),
    ]
}

fn free_port() -> Result<u16, Error> {
    let listener =
        TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).map_err(|source| {
            Error::Io {
                what: "finding a free loopback port".to_owned(),
                source,
            }
        })?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| Error::Io {
            what: "finding a free loopback port".to_owned(),
            source,
        })
}

pub(crate) fn write_file(path: &Path, contents: &str) -> Result<(), Error> {
    std::fs::write(path, contents).map_err(|source| Error::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}
