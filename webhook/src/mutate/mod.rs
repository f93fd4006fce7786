//! The mutation: a pure function of (pod, ServiceAccount, config) that returns
//! a JSON Patch and warnings, or a denial.
//!
//! It reads a lean view of the pod (the fields it needs, decoded and checked
//! straight from the JSON text; see `view.rs`) and writes its patch as paths
//! into that JSON: every operation is an `add` at a
//! path this module owns, so fields it does not know survive untouched and
//! nothing it did not add is ever removed. The one exception is a volume
//! already named as the token volume (`azure-identity-token`, or in the
//! v1.6 layout `azure-workload-identity-reserved-…`) that is not the
//! canonical one: it is `replace`d whole, since the name is this webhook's
//! and the token it projects must be the configured one (see `volume.rs`). Running
//! it on its own output, as the API server does under
//! `reinvocationPolicy: IfNeeded`, yields an empty patch.

mod containers;
mod expiration;
mod patch;
mod proxy;
mod view;
mod volume;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use azure_wi_core::{ServiceAccountInfo, TenantId, describe_decode_error, is_guid, names};

use crate::config::{CaSource, CustomTokenEndpoint, MutationConfig};
use patch::{PatchBuilder, PatchJson, Pointer};
use view::{PodView, text};

pub use containers::MAX_MUTATED_CONTAINERS;
pub use expiration::Origin as ExpirationOrigin;

/// Why a pod is refused. Every variant maps to HTTP 400 in the
/// AdmissionResponse, as the reference webhook answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The admission request carried no object to mutate.
    #[error("admission request has no object: expected a Pod")]
    MissingObject,
    /// The object is not a Pod this webhook can read.
    #[error("could not decode the pod: {0}")]
    UndecodablePod(String),
    /// The pod's ServiceAccount does not exist in its namespace.
    #[error("serviceaccounts \"{name}\" not found")]
    ServiceAccountNotFound {
        /// Name of the missing ServiceAccount.
        name: String,
    },
    /// The ServiceAccount could not be fetched (API server error or
    /// timeout); the pod may be admitted when its creation is retried.
    #[error("could not get ServiceAccount {namespace}/{name}: {reason}")]
    ServiceAccountUnavailable {
        /// Namespace of the ServiceAccount.
        namespace: String,
        /// Name of the ServiceAccount.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// The token expiration annotation is not an integer in range.
    #[error("{message} ({origin})")]
    InvalidTokenExpiration {
        /// Text compatible with the reference webhook's.
        message: String,
        /// The annotation to fix.
        origin: ExpirationOrigin,
    },
    /// Another volume is mounted where the token goes, which the API server
    /// would refuse as a duplicate mount path.
    #[error(
        "container \"{container}\" mounts volume \"{volume}\" at {path}, where the workload \
         identity token is mounted; move that mount or list the container in {annotation}",
        annotation = names::SKIP_CONTAINERS_ANNOTATION
    )]
    TokenMountPathTaken {
        /// The container holding the conflicting mount.
        container: String,
        /// The volume mounted there.
        volume: String,
        /// The token's mount path in the configured layout.
        path: &'static str,
    },
    /// The token volume's name is taken by a volume that cannot be made the
    /// token volume without losing what it holds.
    #[error(
        "volume \"{volume}\" is reserved for the workload identity token, but the pod {problem}; \
         rename that volume"
    )]
    TokenVolumeConflict {
        /// The token volume's name in the configured layout.
        volume: String,
        /// What the pod's volume is, in words.
        problem: String,
    },
    /// More containers would be mutated than a pod can hold once mutated.
    #[error(
        "the pod has {count} containers to give the workload identity, more than the {max} this \
         webhook mutates (each adds its environment and token mount, and the pod would pass the \
         size Kubernetes can store); list the containers that need no identity in {annotation}",
        max = containers::MAX_MUTATED_CONTAINERS,
        annotation = names::SKIP_CONTAINERS_ANNOTATION
    )]
    TooManyContainers {
        /// How many containers would be mutated.
        count: usize,
    },
    /// The IMDS proxy was asked for on a pod that uses the node's network,
    /// whose NAT rules would redirect the node's IMDS traffic (the
    /// reference's text).
    #[error("hostNetwork is set to true, cannot inject proxy sidecar")]
    ProxyWithHostNetwork,
    /// The proxy port annotation is not a port.
    #[error("failed to parse proxy sidecar port: {reason}")]
    InvalidProxyPort {
        /// Go's `strconv.ParseInt` text, or why the number is not a port.
        reason: String,
    },
}

impl Denial {
    /// HTTP status code of the denial in the AdmissionResponse: 500 when the
    /// webhook could not do its work, 400 (as the reference) otherwise.
    pub fn code(&self) -> u16 {
        match self {
            Self::ServiceAccountUnavailable { .. } => 500,
            _ => 400,
        }
    }
}

/// A pod decoded from an AdmissionRequest, ready to be looked up and mutated.
///
/// Parsing first lets the caller learn which ServiceAccount to fetch (which
/// may need I/O) before calling the pure [`mutate`]. Only the fields the
/// mutation reads are decoded, borrowing their strings from the input.
#[derive(Debug)]
pub struct AdmissionPod<'a> {
    view: PodView<'a>,
    namespace: String,
}

impl<'a> AdmissionPod<'a> {
    /// Decodes the pod from its JSON text, as an AdmissionRequest carries
    /// it: what the server does, without building a tree of the whole pod.
    ///
    /// The request namespace wins, as in the reference: pods created by
    /// controllers carry no `metadata.namespace`.
    pub fn from_json(json: &'a str, request_namespace: &str) -> Result<Self, Denial> {
        // The path of a failing field is tracked only once decoding has
        // failed: tracking it on every pod would cost a third of the parse.
        let view = match serde_json::from_str(json) {
            Ok(view) => view,
            Err(error) => {
                let mut deserializer = serde_json::Deserializer::from_str(json);
                let reason =
                    match serde_path_to_error::deserialize::<_, PodView<'_>>(&mut deserializer) {
                        Err(e) => describe_decode_error(&e),
                        Ok(_) => error.to_string(),
                    };
                return Err(Denial::UndecodablePod(reason));
            }
        };
        Ok(Self::new(view, request_namespace))
    }

    /// Decodes `raw` as a v1 Pod created in `request_namespace`, like
    /// [`from_json`](Self::from_json) for a pod already held as a JSON value.
    pub fn parse(raw: &'a Value, request_namespace: &str) -> Result<Self, Denial> {
        let view = serde_path_to_error::deserialize(raw)
            .map_err(|e| Denial::UndecodablePod(describe_decode_error(&e)))?;
        Ok(Self::new(view, request_namespace))
    }

    /// The pod decoded inside a larger document (see [`DecodedPod`]),
    /// created in `request_namespace`.
    pub fn from_decoded(pod: DecodedPod<'a>, request_namespace: &str) -> Self {
        Self::new(pod.0, request_namespace)
    }

    fn new(view: PodView<'a>, request_namespace: &str) -> Self {
        let namespace = if request_namespace.is_empty() {
            view.metadata
                .as_ref()
                .map_or("", |m| text(&m.namespace))
                .to_owned()
        } else {
            request_namespace.to_owned()
        };
        Self { view, namespace }
    }

    /// Namespace the pod is created in, where its ServiceAccount is looked up.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `spec.serviceAccountName`, or `default` when it is empty, which is the
    /// account Kubernetes assigns.
    pub fn service_account_name(&self) -> &str {
        self.view
            .spec
            .as_ref()
            .map(|s| text(&s.service_account_name))
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
    }

    /// The pod's name for logs: `metadata.name`, or `generateName` with
    /// ` (prefix)` for pods whose name the API server has not chosen yet.
    pub fn display_name(&self) -> String {
        let Some(metadata) = &self.view.metadata else {
            return String::new();
        };
        match (text(&metadata.name), text(&metadata.generate_name)) {
            (name, _) if !name.is_empty() => name.to_owned(),
            (_, prefix) if !prefix.is_empty() => format!("{prefix} (prefix)"),
            _ => String::new(),
        }
    }

    fn annotations(&self) -> Option<&view::Annotations<'a>> {
        self.view.metadata.as_ref()?.annotations.as_ref()
    }
}

/// A pod's JSON decoded as [`AdmissionPod::from_json`] decodes it, as a
/// member of a larger document: how the server reads an AdmissionReview and
/// its pod in one pass over the body, rather than finding where the pod
/// ends first and decoding it after.
#[derive(Debug)]
pub struct DecodedPod<'a>(PodView<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for DecodedPod<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PodView::deserialize(deserializer).map(Self)
    }
}

/// The outcome of an allowed admission: the patch and what the user should
/// be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    patch: PatchJson,
    warnings: Vec<String>,
}

impl Mutation {
    /// The RFC 6902 patch to apply to the raw pod, decoded from
    /// [`patch_json`](Self::patch_json); empty when the pod is already
    /// mutated.
    pub fn patch(&self) -> json_patch::Patch {
        serde_json::from_slice(&self.patch.json).expect("the mutation writes a valid JSON Patch")
    }

    /// The patch as the JSON text sent to the API server.
    pub fn patch_json(&self) -> &str {
        self.patch.text()
    }

    /// How many operations the patch holds; 0 when the pod is already
    /// mutated.
    pub fn operations(&self) -> usize {
        self.patch.operations
    }

    /// Consumes the mutation, returning its patch as the bytes of its JSON
    /// text, or `None` when it is empty.
    pub fn into_patch_json(self) -> Option<Vec<u8>> {
        (self.patch.operations > 0).then_some(self.patch.json)
    }

    /// Warnings for the AdmissionResponse, which kubectl prints. A correctly
    /// configured pod gets none.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The pod after the patch, as the API server would store it.
    pub fn apply_to(&self, raw: &Value) -> Result<Value, json_patch::PatchError> {
        let mut pod = raw.clone();
        json_patch::patch(&mut pod, &self.patch().0)?;
        Ok(pod)
    }
}

/// Mutates `pod` for workload identity.
///
/// `service_account` is the result of looking up
/// [`AdmissionPod::service_account_name`] in [`AdmissionPod::namespace`]:
/// `None` when it does not exist, which denies the pod.
///
/// ```
/// use serde_json::json;
/// use azure_wi_core::ServiceAccountInfo;
/// use webhook::mutate::{mutate, AdmissionPod};
///
/// let raw = json!({"metadata": {"name": "app"}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
/// let pod = AdmissionPod::parse(&raw, "team").unwrap();
/// let sa = ServiceAccountInfo::new("team", "default", [(
///     azure_wi_core::names::CLIENT_ID_ANNOTATION.to_owned(),
///     "11111111-2222-3333-4444-555555555555".to_owned(),
/// )]);
/// let config = webhook::config::MutationConfig::default()
///     .with_tenant_id("72f988bf-0000-4000-8000-000000000001".parse().unwrap());
/// let mutation = mutate(&pod, Some(&sa), &config).unwrap();
/// let mutated = mutation.apply_to(&raw).unwrap();
/// assert_eq!(mutated["spec"]["containers"][0]["env"][0]["name"], "AZURE_CLIENT_ID");
/// assert!(mutation.warnings().is_empty());
/// ```
pub fn mutate(
    pod: &AdmissionPod<'_>,
    service_account: Option<&ServiceAccountInfo>,
    config: &MutationConfig,
) -> Result<Mutation, Denial> {
    let Some(sa) = service_account else {
        return Err(Denial::ServiceAccountNotFound {
            name: pod.service_account_name().to_owned(),
        });
    };
    debug_assert_eq!(sa.name(), pod.service_account_name());

    // The reference decides the proxy before the token's lifetime.
    let proxy = proxy::plan(pod)?;
    let expiration = expiration::token_expiration(
        pod.annotations()
            .and_then(|a| a.token_expiration.as_deref()),
        sa,
    )?;
    let mut warnings = Vec::new();
    let endpoint = custom_endpoint(pod, config);
    let layout = config.token_layout();
    let env = identity_env(sa, config, endpoint, &mut warnings);
    let skip = skip_containers(pod, proxy.is_some(), &mut warnings);
    let place = volume::TokenPlace::of(pod, layout);

    let mut patch = PatchBuilder::default();
    set_namespace(pod, &mut patch);
    containers::inject(pod, &place, &env, &skip, &mut patch)?;
    if let Some(proxy) = proxy {
        proxy::inject(pod, proxy, config.proxy(), &place, &env, &skip, &mut patch);
    }
    let token = volume::TokenSource {
        expiration,
        audience: endpoint.map_or(config.audience().as_str(), |e| e.audience.as_str()),
        ca: endpoint.map(|e| &e.ca),
    };
    volume::ensure_token_volume(pod, &place, token, &mut patch, &mut warnings)?;

    Ok(Mutation {
        patch: patch.build(),
        warnings,
    })
}

/// The custom token endpoint, when the webhook serves one and the pod's
/// annotation for it is `true` (any case), as the reference decides.
fn custom_endpoint<'c>(
    pod: &AdmissionPod<'_>,
    config: &'c MutationConfig,
) -> Option<&'c CustomTokenEndpoint> {
    let endpoint = config.custom_token_endpoint()?;
    let annotations = pod.annotations()?;
    // The last of duplicate keys wins, as in a decoded map.
    let value = annotations
        .custom_endpoint
        .iter()
        .rev()
        .find(|(key, _)| **key == *endpoint.annotation)?;
    value.1.eq_ignore_ascii_case("true").then_some(endpoint)
}

/// How many variables a container may be given.
pub(super) const IDENTITY_ENV: usize = 8;

/// The environment variables to inject, in order; one whose value is empty
/// is left out (see `containers::inject`). With the custom token endpoint,
/// the token proxy's four follow the identity's, as the reference adds
/// them.
fn identity_env<'c>(
    sa: &'c ServiceAccountInfo,
    config: &'c MutationConfig,
    endpoint: Option<&'c CustomTokenEndpoint>,
    warnings: &mut Vec<String>,
) -> [(&'static str, &'c str); IDENTITY_ENV] {
    // Named only in a warning: most pods get none.
    let who = || format!("ServiceAccount {}/{}", sa.namespace(), sa.name());
    let client_id = sa.annotation(names::CLIENT_ID_ANNOTATION).unwrap_or("");
    if client_id.is_empty() {
        warnings.push(format!(
            "{} has no {} annotation: {} is not injected, and Azure SDKs may fall back to \
             another identity",
            who(),
            names::CLIENT_ID_ANNOTATION,
            names::CLIENT_ID_ENV
        ));
    } else if !is_guid(client_id) {
        warnings.push(format!(
            "{} {client_id:?} on {} is not a GUID: Entra will not find that client",
            names::CLIENT_ID_ANNOTATION,
            who()
        ));
    }

    let tenant_id = match sa.annotation(names::TENANT_ID_ANNOTATION) {
        Some("") => {
            warnings.push(format!(
                "{} has an empty {} annotation: {} is not injected; remove the annotation to \
                 use the webhook's tenant",
                who(),
                names::TENANT_ID_ANNOTATION,
                names::TENANT_ID_ENV
            ));
            ""
        }
        Some(tenant) => {
            if !TenantId::is_valid(tenant) {
                warnings.push(format!(
                    "{} {tenant:?} on {} is not a valid tenant id: Azure SDKs will refuse it",
                    names::TENANT_ID_ANNOTATION,
                    who()
                ));
            }
            tenant
        }
        None => match config.tenant_id() {
            Some(tenant) => tenant.as_str(),
            None => {
                warnings.push(format!(
                    "{} has no {} annotation and the webhook has no tenant configured: {} is \
                     not injected",
                    who(),
                    names::TENANT_ID_ANNOTATION,
                    names::TENANT_ID_ENV
                ));
                ""
            }
        },
    };

    // The CA file only where the volume projects one, the CA data only
    // where it is configured: Microsoft's SDKs refuse both at once
    // (azure-identity 1.27: "Both AZURE_KUBERNETES_CA_FILE and
    // AZURE_KUBERNETES_CA_DATA are set"), which the reference's
    // always-injected CA file leads to.
    let (proxy, sni, ca_file, ca_data) = match endpoint {
        Some(e) => {
            let (file, data) = match &e.ca {
                CaSource::Data(data) => ("", data.as_str()),
                CaSource::ConfigMap(_) | CaSource::ClusterTrustBundle { .. } => {
                    (config.token_layout().ca_file(), "")
                }
                CaSource::None => ("", ""),
            };
            (e.token_proxy.as_str(), e.sni_name.as_str(), file, data)
        }
        None => ("", "", "", ""),
    };
    [
        (names::CLIENT_ID_ENV, client_id),
        (names::TENANT_ID_ENV, tenant_id),
        (
            names::FEDERATED_TOKEN_FILE_ENV,
            config.token_layout().token_file(),
        ),
        (names::AUTHORITY_HOST_ENV, config.cloud().authority_host()),
        (names::KUBERNETES_TOKEN_PROXY_ENV, proxy),
        (names::KUBERNETES_SNI_NAME_ENV, sni),
        (names::KUBERNETES_CA_FILE_ENV, ca_file),
        (names::KUBERNETES_CA_DATA_ENV, ca_data),
    ]
}

/// Unknown skip-containers names warned about one by one; the rest are
/// counted in one warning, so a pod naming thousands cannot flood the
/// response or the log.
const MAX_NAMED_UNKNOWN: usize = 5;

/// Names in the skip-containers annotation, warning about the ones that match
/// no container (a typo there silently injects the container); with the
/// IMDS proxy asked for, its containers are known too.
fn skip_containers<'p>(
    pod: &'p AdmissionPod<'_>,
    proxy: bool,
    warnings: &mut Vec<String>,
) -> Names<'p> {
    let skip: Names<'_> = pod
        .annotations()
        .and_then(|a| a.skip_containers.as_deref())
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    if skip.is_empty() {
        return skip;
    }
    let injected = [names::PROXY_CONTAINER, names::PROXY_INIT_CONTAINER];
    let known: Names<'_> = containers::all(pod)
        .map(view::Container::name)
        .chain(injected.into_iter().filter(|_| proxy))
        .collect();
    let unknown: Vec<&str> = skip.iter().filter(|n| !known.contains(n)).collect();
    for name in unknown.iter().take(MAX_NAMED_UNKNOWN) {
        warnings.push(format!(
            "{} names {name:?}, which is not a container of this pod",
            names::SKIP_CONTAINERS_ANNOTATION
        ));
    }
    if unknown.len() > MAX_NAMED_UNKNOWN {
        warnings.push(format!(
            "{} names {} more names that are not containers of this pod",
            names::SKIP_CONTAINERS_ANNOTATION,
            unknown.len() - MAX_NAMED_UNKNOWN
        ));
    }
    skip
}

/// A set of names, held sorted in one vector and searched by bisection:
/// a pod names a handful, and a hostile one hundreds of thousands.
#[derive(Debug, Default)]
struct Names<'a>(Vec<&'a str>);

impl<'a> FromIterator<&'a str> for Names<'a> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Self {
        let mut names: Vec<&str> = names.into_iter().collect();
        names.sort_unstable();
        names.dedup();
        Self(names)
    }
}

impl<'a> Names<'a> {
    fn contains(&self, name: &str) -> bool {
        self.0.binary_search(&name).is_ok()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names in order.
    fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.0.iter().copied()
    }
}

/// Gives a pod without `metadata.namespace` the request namespace.
fn set_namespace(pod: &AdmissionPod<'_>, patch: &mut PatchBuilder) {
    let metadata = pod.view.metadata.as_ref();
    let current = metadata.map_or("", |m| text(&m.namespace));
    if !current.is_empty() || pod.namespace.is_empty() {
        return;
    }
    let namespace = Value::String(pod.namespace.clone());
    match metadata {
        Some(_) => patch.add(&Pointer::new(&["metadata"]), &["namespace"], &namespace),
        None => patch.add(
            &Pointer::new(&["metadata"]),
            &[],
            &serde_json::json!({ "namespace": namespace }),
        ),
    }
}

#[cfg(test)]
mod tests;
