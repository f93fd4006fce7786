//! The mutation: a pure function of (pod, ServiceAccount, config) that returns
//! a JSON Patch and warnings, or a denial.
//!
//! It reads a typed view of the pod (which also validates it) but writes its
//! patch against the raw JSON it was given: every operation is an `add` at a
//! path this module owns, so fields it does not know survive untouched and
//! nothing it did not add is ever removed. The one exception is a volume
//! already named `azure-identity-token` that is not the canonical token
//! volume: it is `replace`d whole, since the name is this webhook's and the
//! token it projects must be the configured one (see `volume.rs`). Running
//! it on its own output, as the API server does under
//! `reinvocationPolicy: IfNeeded`, yields an empty patch.

mod containers;
mod expiration;
mod patch;
mod volume;

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use azure_wi_core::{ServiceAccountInfo, TenantId, describe_decode_error, is_guid, names};

use crate::config::MutationConfig;
use patch::PatchBuilder;

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
        path = names::TOKEN_MOUNT_PATH,
        annotation = names::SKIP_CONTAINERS_ANNOTATION
    )]
    TokenMountPathTaken {
        /// The container holding the conflicting mount.
        container: String,
        /// The volume mounted there.
        volume: String,
    },
    /// A volume named `azure-identity-token` exists and cannot be made the
    /// token volume without losing what it holds.
    #[error(
        "volume \"{volume}\" is reserved for the workload identity token, but the pod {problem}; \
         rename that volume",
        volume = names::TOKEN_VOLUME
    )]
    TokenVolumeConflict {
        /// What the pod's volume is, in words.
        problem: String,
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
/// may need I/O) before calling the pure [`mutate`].
#[derive(Debug)]
pub struct AdmissionPod<'a> {
    raw: &'a Value,
    pod: Pod,
    namespace: String,
}

impl<'a> AdmissionPod<'a> {
    /// Decodes `raw` as a v1 Pod created in `request_namespace`.
    ///
    /// The request namespace wins, as in the reference: pods created by
    /// controllers carry no `metadata.namespace`.
    pub fn parse(raw: &'a Value, request_namespace: &str) -> Result<Self, Denial> {
        let pod: Pod = serde_path_to_error::deserialize(raw)
            .map_err(|e| Denial::UndecodablePod(describe_decode_error(&e)))?;
        let namespace = if request_namespace.is_empty() {
            pod.metadata.namespace.clone().unwrap_or_default()
        } else {
            request_namespace.to_owned()
        };
        Ok(Self {
            raw,
            pod,
            namespace,
        })
    }

    /// Namespace the pod is created in, where its ServiceAccount is looked up.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `spec.serviceAccountName`, or `default` when it is empty, which is the
    /// account Kubernetes assigns.
    pub fn service_account_name(&self) -> &str {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.as_deref())
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
    }

    /// The pod's name for logs: `metadata.name`, or `generateName` with
    /// ` (prefix)` for pods whose name the API server has not chosen yet.
    pub fn display_name(&self) -> String {
        match (&self.pod.metadata.name, &self.pod.metadata.generate_name) {
            (Some(name), _) if !name.is_empty() => name.clone(),
            (_, Some(prefix)) if !prefix.is_empty() => format!("{prefix} (prefix)"),
            _ => String::new(),
        }
    }

    /// The raw JSON the pod was decoded from.
    pub fn raw(&self) -> &'a Value {
        self.raw
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    }
}

/// The outcome of an allowed admission: the patch and what the user should
/// be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    patch: json_patch::Patch,
    warnings: Vec<String>,
}

impl Mutation {
    /// The RFC 6902 patch to apply to the raw pod; empty when the pod is
    /// already mutated.
    pub fn patch(&self) -> &json_patch::Patch {
        &self.patch
    }

    /// Consumes the mutation, returning its patch.
    pub fn into_patch(self) -> json_patch::Patch {
        self.patch
    }

    /// Warnings for the AdmissionResponse, which kubectl prints. A correctly
    /// configured pod gets none.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The pod after the patch, as the API server would store it.
    pub fn apply_to(&self, raw: &Value) -> Result<Value, json_patch::PatchError> {
        let mut pod = raw.clone();
        json_patch::patch(&mut pod, &self.patch.0)?;
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

    let expiration =
        expiration::token_expiration(pod.annotation(names::TOKEN_EXPIRATION_ANNOTATION), sa)?;
    let mut warnings = Vec::new();
    let env = identity_env(sa, config, &mut warnings);
    let skip = skip_containers(pod, &mut warnings);

    let mut patch = PatchBuilder::default();
    set_namespace(pod, &mut patch);
    containers::inject(pod, &env, &skip, &mut patch)?;
    volume::ensure_token_volume(
        pod,
        expiration,
        config.audience().as_str(),
        &mut patch,
        &mut warnings,
    )?;

    Ok(Mutation {
        patch: patch.build(),
        warnings,
    })
}

/// The environment variables to inject, in order, leaving out empty values.
fn identity_env<'c>(
    sa: &'c ServiceAccountInfo,
    config: &'c MutationConfig,
    warnings: &mut Vec<String>,
) -> Vec<(&'static str, &'c str)> {
    let who = format!("ServiceAccount {}/{}", sa.namespace(), sa.name());
    let client_id = sa.annotation(names::CLIENT_ID_ANNOTATION).unwrap_or("");
    if client_id.is_empty() {
        warnings.push(format!(
            "{who} has no {} annotation: {} is not injected, and Azure SDKs may fall back to \
             another identity",
            names::CLIENT_ID_ANNOTATION,
            names::CLIENT_ID_ENV
        ));
    } else if !is_guid(client_id) {
        warnings.push(format!(
            "{} {client_id:?} on {who} is not a GUID: Entra will not find that client",
            names::CLIENT_ID_ANNOTATION
        ));
    }

    let tenant_id = match sa.annotation(names::TENANT_ID_ANNOTATION) {
        Some("") => {
            warnings.push(format!(
                "{who} has an empty {} annotation: {} is not injected; remove the annotation to \
                 use the webhook's tenant",
                names::TENANT_ID_ANNOTATION,
                names::TENANT_ID_ENV
            ));
            ""
        }
        Some(tenant) => {
            if !TenantId::is_valid(tenant) {
                warnings.push(format!(
                    "{} {tenant:?} on {who} is not a valid tenant id: Azure SDKs will refuse it",
                    names::TENANT_ID_ANNOTATION
                ));
            }
            tenant
        }
        None => match config.tenant_id() {
            Some(tenant) => tenant.as_str(),
            None => {
                warnings.push(format!(
                    "{who} has no {} annotation and the webhook has no tenant configured: {} is \
                     not injected",
                    names::TENANT_ID_ANNOTATION,
                    names::TENANT_ID_ENV
                ));
                ""
            }
        },
    };

    [
        (names::CLIENT_ID_ENV, client_id),
        (names::TENANT_ID_ENV, tenant_id),
        (names::FEDERATED_TOKEN_FILE_ENV, names::TOKEN_FILE_PATH),
        (names::AUTHORITY_HOST_ENV, config.cloud().authority_host()),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect()
}

/// Unknown skip-containers names warned about one by one; the rest are
/// counted in one warning, so a pod naming thousands cannot flood the
/// response or the log.
const MAX_NAMED_UNKNOWN: usize = 5;

/// Names in the skip-containers annotation, warning about the ones that match
/// no container (a typo there silently injects the container).
fn skip_containers(pod: &AdmissionPod<'_>, warnings: &mut Vec<String>) -> BTreeSet<String> {
    let skip: BTreeSet<String> = pod
        .annotation(names::SKIP_CONTAINERS_ANNOTATION)
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    let known: BTreeSet<&str> = containers::all(pod).map(|c| c.name.as_str()).collect();
    let unknown: Vec<&String> = skip
        .iter()
        .filter(|n| !known.contains(n.as_str()))
        .collect();
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

/// Gives a pod without `metadata.namespace` the request namespace.
fn set_namespace(pod: &AdmissionPod<'_>, patch: &mut PatchBuilder) {
    let current = pod.pod.metadata.namespace.as_deref().unwrap_or("");
    if !current.is_empty() || pod.namespace.is_empty() {
        return;
    }
    let namespace = Value::String(pod.namespace.clone());
    match pod.raw.get("metadata") {
        Some(Value::Object(_)) => patch.add(&["metadata", "namespace"], namespace),
        _ => patch.add(&["metadata"], serde_json::json!({ "namespace": namespace })),
    }
}

#[cfg(test)]
mod tests;
