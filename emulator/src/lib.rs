//! A strict local emulator of the workload identity trust chain: the
//! cluster's OIDC issuer, Microsoft Entra ID's token endpoint and Key Vault's
//! data plane (secrets read and written; keys and certificates read,
//! certificates imported), over
//! HTTPS with a CA it generates.
//!
//! Keys and certificates hold real material made at start-up from the
//! world config ([`config::KeySeed`], [`config::CertificateSeed`]): RSA
//! 2048/3072/4096 and EC P-256/P-384/P-521 keys, X.509 certificates signed
//! by themselves or by an emulator CA, each certificate version also a
//! managed key and a PKCS#12 or PEM secret of the same name and version, as
//! Key Vault keeps them ([`keyvault::material`]). Disabled key and
//! certificate versions are listed and readable with `enabled: false`, as
//! Key Vault shows them; a disabled certificate's secret is refused.
//!
//! It is strict on purpose: it refuses what the real services refuse, with
//! their status codes, error bodies and AADSTS texts (see [`entra`] and
//! [`keyvault`]), so that what passes here passes against Azure. It does not
//! emulate anything else of Azure: no management plane, no other
//! resources, no interactive sign-in.
//!
//! Clients reach it under the real names: one TLS listener serves every
//! cloud's Entra host (`login.microsoftonline.com`, `login.chinacloudapi.cn`,
//! ...), every vault under every cloud's suffix (`<vault>.vault.azure.net`,
//! `<vault>.vault.azure.cn`, ...) and the issuer's host with one
//! certificate, routing by `Host` (see [`hosts`]). Rust clients map those
//! names to the listener ([`Emulator::client`], [`Emulator::resolve_overrides`]);
//! other clients go through its `CONNECT` proxy ([`Emulator::proxy_url`]),
//! so the environment the webhook injects works unchanged.
//!
//! A second listener is AKS's identity-binding token proxy
//! ([`Emulator::identity_binding_url`], [`binding`]): reached by address
//! with the TLS name [`hosts::identity_binding`], it exchanges tokens of
//! the emulated cluster for `api://AKSIdentityBinding` for the identity a
//! ServiceAccount is bound to ([`config::IdentityBinding`]).
//!
//! ```no_run
//! # async fn run() -> Result<(), azure_wi_emulator::Error> {
//! use azure_wi_emulator::{Config, Emulator, TokenSpec};
//! let emulator = Emulator::start(Config::demo()).await?;
//! let dir = tempfile::tempdir().expect("a temporary folder");
//! let token_file = emulator.write_token_file(dir.path(), &TokenSpec::new("team-a", "orders-api"))?;
//! println!("{}={}", azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV, token_file.display());
//! println!("vault: {}", emulator.vault_url("orders-kv"));
//! # Ok(()) }
//! ```

pub mod binding;
pub mod config;
pub mod demo;
pub mod entra;
mod error;
pub mod faults;
pub mod hosts;
pub mod issuer;
pub mod keys;
pub mod keyvault;
mod proxy;
pub mod requests;
mod server;

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, RwLock},
};

pub use config::Config;
pub use error::Error;
pub use faults::{Counters, Endpoint, Failure, Faults};
pub use issuer::{Issuer, TokenSpec};
pub use requests::{KindCount, RequestCounts, RequestKind, RequestLog, RequestRecord};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running emulator; dropping it stops its listeners.
pub struct Emulator {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    identity_binding_addr: SocketAddr,
    proxy_addr: SocketAddr,
    ca_pem: String,
    stop: CancellationToken,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("proxy_addr", &self.proxy_addr)
            .finish_non_exhaustive()
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

impl Emulator {
    /// Starts the emulator on free loopback ports.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an invalid configuration, [`Error::Listen`]
    /// when a port cannot be bound, [`Error::Key`] or [`Error::Tls`] when
    /// keys or certificates cannot be made.
    pub async fn start(config: Config) -> Result<Self, Error> {
        Self::start_on(config, loopback(), loopback()).await
    }

    /// Starts the emulator with its TLS listener on `listen` and its proxy
    /// on `proxy_listen`.
    ///
    /// # Errors
    ///
    /// As [`Emulator::start`].
    pub async fn start_on(
        config: Config,
        listen: SocketAddr,
        proxy_listen: SocketAddr,
    ) -> Result<Self, Error> {
        config.validate()?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let issuer_url = url::Url::parse(&config.issuer)
            .map_err(|e| Error::Config(format!("issuer {:?}: {e}", config.issuer)))?;
        let issuer_host = issuer_url
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let issuer_path = issuer_url.path().to_owned();

        let (ca_pem, tls) = tls_config(&issuer_host)?;
        let bind = |addr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| Error::Listen { addr, source })
        };
        let listener = bind(listen).await?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            addr: listen,
            source,
        })?;
        let proxy = bind(proxy_listen).await?;
        let identity_binding = bind(loopback()).await?;
        let identity_binding_addr =
            identity_binding
                .local_addr()
                .map_err(|source| Error::Listen {
                    addr: loopback(),
                    source,
                })?;
        let proxy_addr = proxy.local_addr().map_err(|source| Error::Listen {
            addr: proxy_listen,
            source,
        })?;

        let fetch = fetch_client(&ca_pem, &config.trusted_issuer_ca_pems, &issuer_host, addr)?;
        let shared = Arc::new(server::Shared {
            store: Mutex::new(keyvault::Store::new(&config)?),
            issuer: Arc::new(Issuer::new(config.issuer.clone())?),
            entra_key: keys::SigningKey::generate()?,
            config: RwLock::new(config),
            faults: Faults::default(),
            counters: Counters::default(),
            requests: requests::RequestLog::default(),
            fetch,
            issuer_host: issuer_host.clone(),
            issuer_path,
        });
        let stop = CancellationToken::new();
        tokio::spawn(server::run(
            listener,
            Arc::clone(&tls),
            server::router(Arc::clone(&shared)),
            stop.clone(),
        ));
        tokio::spawn(server::run(
            identity_binding,
            tls,
            server::identity_binding_router(Arc::clone(&shared)),
            stop.clone(),
        ));
        tokio::spawn(proxy::run(proxy, addr, issuer_host, stop.clone()));
        Ok(Self {
            shared,
            addr,
            identity_binding_addr,
            proxy_addr,
            ca_pem,
            stop,
        })
    }

    /// The identity-binding token proxy's URL (`AZURE_KUBERNETES_TOKEN_PROXY`):
    /// its own loopback listener, reached by address as AKS's is, whose
    /// certificate carries the TLS name [`hosts::identity_binding`]
    /// (`AZURE_KUBERNETES_SNI_NAME`) and is signed by [`Self::ca_pem`].
    pub fn identity_binding_url(&self) -> String {
        format!("https://{}", self.identity_binding_addr)
    }

    /// The CA that signed the emulator's certificate, in PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The TLS listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `AZURE_AUTHORITY_HOST` as the webhook injects it for the public cloud.
    pub fn authority_host(&self) -> String {
        azure_wi_core::DEFAULT_AUTHORITY_HOST.to_owned()
    }

    /// `AZURE_AUTHORITY_HOST` as the webhook injects it for `cloud`: the
    /// emulator answers at every cloud's authority.
    pub fn authority_host_in(&self, cloud: azure_wi_core::AzureCloud) -> String {
        cloud.authority_host().to_owned()
    }

    /// The URL of vault `name` in the public cloud.
    pub fn vault_url(&self, name: &str) -> String {
        format!("https://{}", hosts::vault(name))
    }

    /// The URL of vault `name` in `cloud`: the same vault under each
    /// cloud's suffix.
    pub fn vault_url_in(&self, cloud: azure_wi_core::AzureCloud, name: &str) -> String {
        format!("https://{}", hosts::vault_in(cloud, name))
    }

    /// The ServiceAccount token issuer (`iss`).
    pub fn issuer(&self) -> String {
        self.shared.issuer.url().to_owned()
    }

    /// `HTTPS_PROXY` for clients that cannot map names themselves.
    pub fn proxy_url(&self) -> String {
        format!("http://{}", self.proxy_addr)
    }

    /// The host names to map to [`Emulator::addr`]: every cloud's Entra
    /// host, every vault under every cloud's suffix, and the issuer.
    pub fn resolve_overrides(&self) -> Vec<(String, SocketAddr)> {
        let config = self.shared.config();
        let mut names = vec![self.shared.issuer_host.clone()];
        for cloud in hosts::clouds() {
            names.push(cloud.authority_hostname().to_owned());
            names.extend(
                config
                    .vaults
                    .iter()
                    .map(|v| hosts::vault_in(cloud, &v.name)),
            );
        }
        names.into_iter().map(|h| (h, self.addr)).collect()
    }

    /// A `reqwest::ClientBuilder` that reaches the emulator under the real
    /// names and trusts only its CA.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] if the CA cannot be parsed.
    pub fn client_builder(&self) -> Result<reqwest::ClientBuilder, Error> {
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes())
            .map_err(|e| Error::Tls(e.to_string()))?;
        let mut builder = reqwest::Client::builder().tls_certs_only([ca]);
        for (host, addr) in self.resolve_overrides() {
            builder = builder.resolve(&host, addr);
        }
        Ok(builder)
    }

    /// A client built from [`Emulator::client_builder`].
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] if the client cannot be built.
    pub fn client(&self) -> Result<reqwest::Client, Error> {
        self.client_builder()?
            .build()
            .map_err(|e| Error::Tls(e.to_string()))
    }

    /// A credential set up as in a pod the webhook mutated for `tenant` and
    /// `client_id`, whose token the kubelet keeps at `token_file`, talking
    /// to this emulator (its CA trusted, its host names mapped). A builder,
    /// so a test can still choose retries or a clock.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when `tenant` or `client_id` is not a valid id,
    /// [`Error::Tls`] as [`Emulator::client`].
    pub fn credential_builder(
        &self,
        tenant: &str,
        client_id: &str,
        token_file: impl Into<PathBuf>,
    ) -> Result<azure_wi_auth::WorkloadIdentityCredentialBuilder, Error> {
        let config = azure_wi_auth::WorkloadIdentityConfig::builder()
            .client_id(client_id)
            .tenant_id(tenant)
            .token_file(token_file)
            .authority_host(self.authority_host())
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(azure_wi_auth::WorkloadIdentityCredential::builder(config)
            .with_http_client(self.client()?))
    }

    /// A ServiceAccount token from the emulated cluster's issuer.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if signing fails.
    pub fn mint(&self, spec: &TokenSpec) -> Result<String, Error> {
        self.shared.issuer.mint(spec)
    }

    /// Writes a token for `spec` into `dir` as the kubelet would, returning
    /// the token file's path.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] or [`Error::Io`].
    pub fn write_token_file(&self, dir: &Path, spec: &TokenSpec) -> Result<PathBuf, Error> {
        issuer::write_token_file(dir, &self.mint(spec)?)
    }

    /// Writes a token now and keeps replacing it at 80% of its lifetime,
    /// like the kubelet, until the emulator stops.
    ///
    /// # Errors
    ///
    /// As [`Emulator::write_token_file`].
    pub fn project_token(&self, dir: &Path, spec: &TokenSpec) -> Result<PathBuf, Error> {
        let path = self.write_token_file(dir, spec)?;
        issuer::spawn_rotation(
            Arc::clone(&self.shared.issuer),
            spec.clone(),
            dir.to_owned(),
            self.stop.clone(),
        );
        Ok(path)
    }

    /// Switches for injected latency and failures.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Counts of requests received.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// What the emulator answered: per-kind counts always, and each
    /// request's record when asked ([`RequestLog::keep_records`],
    /// [`RequestLog::log_to_stderr`]); see [`requests`].
    pub fn request_log(&self) -> &RequestLog {
        &self.shared.requests
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> Config {
        self.shared.config().clone()
    }

    /// Changes the world while running (remove a role assignment, add a
    /// federated credential...). Secrets are not reseeded.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the result is invalid; nothing changes then.
    pub fn update_config(&self, change: impl FnOnce(&mut Config)) -> Result<(), Error> {
        let mut config = self
            .shared
            .config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut next = config.clone();
        change(&mut next);
        next.validate()?;
        *config = next;
        Ok(())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A CA and one serving certificate for every name the emulator plays.
fn tls_config(issuer_host: &str) -> Result<(String, Arc<rustls::ServerConfig>), Error> {
    let tls = |e: &dyn std::fmt::Display| Error::Tls(e.to_string());
    let ca = certs::CertificateAuthority::generate(
        "azure-wi emulator CA",
        std::time::Duration::from_secs(7 * 24 * 3600),
    )
    .map_err(|e| tls(&e))?;
    let mut request = certs::ServingCertificate::for_service("emulator", "azure-wi")
        .map_err(|e| tls(&e))?
        .with_ip(Ipv4Addr::LOCALHOST.into())
        .with_validity(std::time::Duration::from_secs(24 * 3600));
    let mut names = hosts::certificate_names();
    names.extend(["localhost".to_owned(), issuer_host.to_owned()]);
    for name in &names {
        if !name.is_empty() && name.parse::<std::net::IpAddr>().is_err() {
            request = request.with_dns_name(name).map_err(|e| tls(&e))?;
        }
    }
    let issued = request.issue(&ca).map_err(|e| tls(&e))?;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
    let chain = CertificateDer::pem_slice_iter(issued.cert_pem().as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls(&e))?;
    let key =
        PrivateKeyDer::from_pem_slice(issued.key_pem().as_str().as_bytes()).map_err(|e| tls(&e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls(&e))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((ca.cert_pem().to_owned(), Arc::new(config)))
}

/// The client Entra uses to fetch issuers' documents: trusts the emulator's
/// CA and any configured extra CA, and maps the emulated issuer's host to
/// the listener.
fn fetch_client(
    ca_pem: &str,
    extra: &[String],
    issuer_host: &str,
    addr: SocketAddr,
) -> Result<reqwest::Client, Error> {
    let tls = |e: &dyn std::fmt::Display| Error::Tls(e.to_string());
    let mut roots = vec![reqwest::Certificate::from_pem(ca_pem.as_bytes()).map_err(|e| tls(&e))?];
    for pem in extra {
        roots.extend(reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| tls(&e))?);
    }
    let mut builder = reqwest::Client::builder()
        .tls_certs_only(roots)
        .timeout(std::time::Duration::from_secs(5));
    if !issuer_host.is_empty() && issuer_host.parse::<std::net::IpAddr>().is_err() {
        builder = builder.resolve(issuer_host, addr);
    }
    builder.build().map_err(|e| tls(&e))
}
