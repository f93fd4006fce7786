//! The Kubernetes side of self-managed certificates.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use futures::StreamExt as _;
use k8s_openapi::{
    ByteString,
    api::{
        admissionregistration::v1::{
            MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
        },
        core::v1::Secret,
    },
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
    runtime::{WatchStreamExt as _, watcher},
};
use tokio_util::sync::CancellationToken;

use certs::reload::{CERT_FILE, KEY_FILE};

use super::plan::{Plan, StoredCertificates, plan};
use super::{CA_CERT_FILE, CA_KEY_FILE, defaults};

/// How often the Secret is checked for renewal even when nothing changes.
const RECHECK: Duration = Duration::from_secs(300);
/// Attempts at converging before giving up for this round.
const ATTEMPTS: usize = 8;

/// The objects self-managed certificates concern, and the extra names the
/// serving certificate must carry. `webhook serve` fills it from flags
/// whose defaults are in [`defaults`].
#[derive(Debug, Clone)]
pub struct WebhookResources {
    /// Namespace of the webhook (`POD_NAMESPACE`), of its Secret and Service.
    pub namespace: String,
    /// Secret holding `ca.crt`, `ca.key`, `tls.crt`, `tls.key`.
    pub secret: String,
    /// Service the API server calls.
    pub service: String,
    /// MutatingWebhookConfiguration whose `caBundle`s are kept filled.
    pub webhook_configuration: String,
    /// ValidatingWebhookConfiguration of the warn-only workload check, whose
    /// `caBundle`s are kept filled too; empty for none.
    pub validating_webhook_configuration: String,
    /// Extra DNS names and IP addresses for the serving certificate (for
    /// example `127.0.0.1` when the API server calls a URL on loopback).
    pub extra_sans: Vec<String>,
}

impl WebhookResources {
    /// The serving certificate this configuration asks for: the Service's
    /// DNS names plus the extra SANs. Both the check of a stored
    /// certificate and the issue of a new one use it, so they cannot
    /// disagree about the names.
    fn serving_request(&self) -> Result<certs::ServingCertificate, certs::Error> {
        self.extra_sans.iter().try_fold(
            certs::ServingCertificate::for_service(&self.service, &self.namespace)?,
            |request, san| request.with_subject_alt_name(san),
        )
    }
}

/// Why a round of rotation failed; the next round retries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// A Kubernetes API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being done.
        action: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// Generating a certificate failed.
    #[error("generating certificates: {0}")]
    Certs(#[from] certs::Error),
    /// Writing the pair into the certificate directory failed.
    #[error("writing {path}: {source}")]
    Write {
        /// File being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Other replicas kept changing the Secret.
    #[error("Secret {0} kept changing under concurrent updates; retrying later")]
    Contended(String),
}

/// Keeps the Secret, the certificate files and the `caBundle`s in step.
#[derive(Clone)]
pub struct SelfManaged {
    client: Client,
    resources: WebhookResources,
    cert_dir: PathBuf,
}

impl std::fmt::Debug for SelfManaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfManaged")
            .field("resources", &self.resources)
            .field("cert_dir", &self.cert_dir)
            .finish_non_exhaustive()
    }
}

impl SelfManaged {
    /// Works with `resources` through `client`, writing the pair into
    /// `cert_dir`.
    pub fn new(client: Client, resources: WebhookResources, cert_dir: impl Into<PathBuf>) -> Self {
        Self {
            client,
            resources,
            cert_dir: cert_dir.into(),
        }
    }

    /// One round: converge the Secret, write the files, fill the
    /// `caBundle`s. Returns the CA in PEM.
    pub async fn ensure(&self) -> Result<String, RotationError> {
        let stored = self.converge_secret().await?;
        let (ca, cert, key) = (
            stored
                .ca_cert
                .as_ref()
                .expect("a converged Secret holds the CA"),
            stored
                .tls_cert
                .as_ref()
                .expect("a converged Secret holds tls.crt"),
            stored
                .tls_key
                .as_ref()
                .expect("a converged Secret holds tls.key"),
        );
        write_pair(&self.cert_dir, cert, key)?;
        self.fill_ca_bundles(ca).await?;
        Ok(ca.clone())
    }

    /// Runs rounds until `stop`: at start, whenever the webhook
    /// configuration changes, and every few minutes for renewal.
    pub async fn run(self, stop: CancellationToken) {
        let by_name =
            |name: &str| watcher::Config::default().fields(&format!("metadata.name={name}"));
        let mutating = watcher(
            Api::<MutatingWebhookConfiguration>::all(self.client.clone()),
            by_name(&self.resources.webhook_configuration),
        )
        .default_backoff()
        .map(|event| event.map(|e| relevant(&e)))
        .boxed();
        let validating = if self.resources.validating_webhook_configuration.is_empty() {
            futures::stream::pending().boxed()
        } else {
            watcher(
                Api::<ValidatingWebhookConfiguration>::all(self.client.clone()),
                by_name(&self.resources.validating_webhook_configuration),
            )
            .default_backoff()
            .map(|event| event.map(|e| relevant(&e)))
            .boxed()
        };
        let mut changes = futures::stream::select(mutating, validating);
        let mut recheck = tokio::time::interval(RECHECK);
        loop {
            if let Err(error) = self.ensure().await {
                tracing::warn!(%error, "certificate rotation round failed");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                _ = recheck.tick() => {}
                event = changes.next() => match event {
                    Some(Ok(true)) => {}
                    Some(Ok(false)) => continue,
                    Some(Err(error)) => tracing::debug!(%error, "webhook configuration watch error"),
                    None => tokio::time::sleep(Duration::from_secs(5)).await,
                },
            }
        }
    }

    async fn converge_secret(&self) -> Result<StoredCertificates, RotationError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.resources.namespace);
        let name = &self.resources.secret;
        for _ in 0..ATTEMPTS {
            let existing = api
                .get_opt(name)
                .await
                .map_err(|source| RotationError::Kube {
                    action: format!("reading Secret {}/{name}", self.resources.namespace),
                    source,
                })?;
            let stored = existing
                .as_ref()
                .map(stored_certificates)
                .unwrap_or_default();
            let request = self.resources.serving_request()?;
            let fresh = match plan(
                &stored,
                &request,
                SystemTime::now(),
                certs::inspect::DEFAULT_RENEWAL_WINDOW,
            ) {
                Plan::Keep => return Ok(stored),
                Plan::IssueServing(reason) => {
                    tracing::info!(%reason, "issuing a new serving certificate");
                    let ca = certs::CertificateAuthority::from_pem(
                        stored
                            .ca_cert
                            .as_deref()
                            .expect("the plan keeps only a present CA"),
                        stored
                            .ca_key
                            .as_deref()
                            .expect("the plan keeps only a present CA key"),
                    )?;
                    with_serving(&request, &ca, stored.clone())?
                }
                Plan::NewAuthority(reason) => {
                    tracing::info!(%reason, "creating a new CA and serving certificate");
                    let ca = certs::CertificateAuthority::generate(
                        defaults::CA_COMMON_NAME,
                        certs::authority::DEFAULT_VALIDITY,
                    )?;
                    let stored = StoredCertificates {
                        ca_cert: Some(ca.cert_pem().to_owned()),
                        ca_key: Some(ca.key_pem().as_str().to_owned()),
                        ..StoredCertificates::default()
                    };
                    with_serving(&request, &ca, stored)?
                }
            };
            let result = match existing {
                None => {
                    let secret = Secret {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            namespace: Some(self.resources.namespace.clone()),
                            ..ObjectMeta::default()
                        },
                        type_: Some("kubernetes.io/tls".to_owned()),
                        data: Some(secret_data(&fresh)),
                        ..Secret::default()
                    };
                    api.create(&PostParams::default(), &secret).await
                }
                Some(mut secret) => {
                    // resourceVersion is kept: a concurrent writer makes this
                    // fail with Conflict instead of being overwritten.
                    secret.data = Some(secret_data(&fresh));
                    api.replace(name, &PostParams::default(), &secret).await
                }
            };
            match result {
                Ok(_) => return Ok(fresh),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    tracing::debug!(reason = %status.reason, "lost a race on the Secret; reading it again");
                }
                Err(source) => {
                    return Err(RotationError::Kube {
                        action: format!("writing Secret {}/{name}", self.resources.namespace),
                        source,
                    });
                }
            }
        }
        Err(RotationError::Contended(format!(
            "{}/{name}",
            self.resources.namespace
        )))
    }

    async fn fill_ca_bundles(&self, ca_pem: &str) -> Result<(), RotationError> {
        self.fill_ca_bundle::<MutatingWebhookConfiguration>(
            &self.resources.webhook_configuration,
            ca_pem,
        )
        .await?;
        if !self.resources.validating_webhook_configuration.is_empty() {
            self.fill_ca_bundle::<ValidatingWebhookConfiguration>(
                &self.resources.validating_webhook_configuration,
                ca_pem,
            )
            .await?;
        }
        Ok(())
    }

    async fn fill_ca_bundle<K: WebhookConfiguration>(
        &self,
        name: &str,
        ca_pem: &str,
    ) -> Result<(), RotationError> {
        let api: Api<K> = Api::all(self.client.clone());
        let kind = K::KIND;
        let action = || format!("updating the caBundle of {kind} {name}");
        for _ in 0..ATTEMPTS {
            let Some(mut config) =
                api.get_opt(name)
                    .await
                    .map_err(|source| RotationError::Kube {
                        action: action(),
                        source,
                    })?
            else {
                tracing::warn!(%name, %kind, "webhook configuration not found; the CA bundle will be written once it exists");
                return Ok(());
            };
            let wanted = ByteString(ca_pem.as_bytes().to_vec());
            let mut changed = false;
            for client_config in config.client_configs() {
                if client_config.ca_bundle.as_ref() != Some(&wanted) {
                    client_config.ca_bundle = Some(wanted.clone());
                    changed = true;
                }
            }
            if !changed {
                return Ok(());
            }
            match api.replace(name, &PostParams::default(), &config).await {
                Ok(_) => {
                    tracing::info!(%name, %kind, "CA bundle written into the webhook configuration");
                    return Ok(());
                }
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                Err(source) => {
                    return Err(RotationError::Kube {
                        action: action(),
                        source,
                    });
                }
            }
        }
        Err(RotationError::Contended(name.to_owned()))
    }
}

/// A Mutating- or ValidatingWebhookConfiguration: both carry a
/// `clientConfig` per webhook, whose `caBundle` must name our CA.
trait WebhookConfiguration:
    kube::Resource<DynamicType = (), Scope = k8s_openapi::ClusterResourceScope>
    + Clone
    + serde::de::DeserializeOwned
    + serde::Serialize
    + std::fmt::Debug
{
    /// The kind, for messages.
    const KIND: &'static str;
    /// Every webhook's client config.
    fn client_configs(&mut self) -> Vec<&mut WebhookClientConfig>;
}

impl WebhookConfiguration for MutatingWebhookConfiguration {
    const KIND: &'static str = "MutatingWebhookConfiguration";
    fn client_configs(&mut self) -> Vec<&mut WebhookClientConfig> {
        self.webhooks
            .iter_mut()
            .flatten()
            .map(|w| &mut w.client_config)
            .collect()
    }
}

impl WebhookConfiguration for ValidatingWebhookConfiguration {
    const KIND: &'static str = "ValidatingWebhookConfiguration";
    fn client_configs(&mut self) -> Vec<&mut WebhookClientConfig> {
        self.webhooks
            .iter_mut()
            .flatten()
            .map(|w| &mut w.client_config)
            .collect()
    }
}

/// Whether a watch event is a change of the object; the initial listing is
/// what the round handles anyway.
fn relevant<K>(event: &watcher::Event<K>) -> bool {
    matches!(event, watcher::Event::Apply(_) | watcher::Event::InitDone)
}

/// `stored` with a new serving pair issued by `ca` for `request` (valid for
/// [`certs::serving::DEFAULT_VALIDITY`]).
fn with_serving(
    request: &certs::ServingCertificate,
    ca: &certs::CertificateAuthority,
    mut stored: StoredCertificates,
) -> Result<StoredCertificates, RotationError> {
    let issued = request.issue(ca)?;
    stored.tls_cert = Some(issued.cert_pem().to_owned());
    stored.tls_key = Some(issued.key_pem().as_str().to_owned());
    Ok(stored)
}

fn stored_certificates(secret: &Secret) -> StoredCertificates {
    let field = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|v| String::from_utf8(v.0.clone()).ok())
    };
    StoredCertificates {
        ca_cert: field(CA_CERT_FILE),
        ca_key: field(CA_KEY_FILE),
        tls_cert: field(CERT_FILE),
        tls_key: field(KEY_FILE),
    }
}

fn secret_data(stored: &StoredCertificates) -> BTreeMap<String, ByteString> {
    [
        (CA_CERT_FILE, &stored.ca_cert),
        (CA_KEY_FILE, &stored.ca_key),
        (CERT_FILE, &stored.tls_cert),
        (KEY_FILE, &stored.tls_key),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .map(|v| (k.to_owned(), ByteString(v.as_bytes().to_vec())))
    })
    .collect()
}

/// Writes the pair so that each file changes in one rename; the reloader
/// refuses a certificate whose key has not been written yet.
fn write_pair(dir: &Path, cert: &str, key: &str) -> Result<(), RotationError> {
    for (file, contents) in [(KEY_FILE, key), (CERT_FILE, cert)] {
        let path = dir.join(file);
        if std::fs::read_to_string(&path).is_ok_and(|current| current == contents) {
            continue;
        }
        let tmp = dir.join(format!(".{file}.tmp"));
        let write = |p: &Path| {
            std::fs::write(p, contents).map_err(|source| RotationError::Write {
                path: p.to_owned(),
                source,
            })
        };
        write(&tmp)?;
        std::fs::rename(&tmp, &path).map_err(|source| RotationError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}
