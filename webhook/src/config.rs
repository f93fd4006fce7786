//! What the operator configures: tenant, cloud, token audience and layout,
//! the IMDS proxy's images and the custom token endpoint.
//!
//! Each value is one of the contract's validated types
//! ([`azure_wi_core`]), so a typo in a flag or ConfigMap stops the webhook at
//! start-up instead of producing pods that fail later at token exchange.

use azure_wi_core::{Audience, AzureCloud, TenantId, TokenLayout, names};

/// Everything the mutation needs besides the pod and its ServiceAccount.
///
/// ```
/// use azure_wi_core::AzureCloud;
/// use webhook::config::MutationConfig;
///
/// let config = MutationConfig::default()
///     .with_tenant_id("72f988bf-0000-4000-8000-000000000001".parse()?)
///     .with_cloud("AzureChinaCloud".parse()?);
/// assert_eq!(config.cloud(), AzureCloud::China);
/// # Ok::<(), azure_wi_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MutationConfig {
    tenant_id: Option<TenantId>,
    cloud: AzureCloud,
    audience: Audience,
    proxy: ProxySettings,
    custom_endpoint: Option<CustomTokenEndpoint>,
    layout: TokenLayout,
}

/// How the IMDS proxy is injected into pods annotated
/// `azure.workload.identity/inject-proxy-sidecar`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// Image of the `azwi-proxy` container (`PROXY_IMAGE`).
    pub image: String,
    /// Image of the `azwi-proxy-init` container (`PROXY_INIT_IMAGE`).
    pub init_image: String,
    /// Whether the proxy runs as a native sidecar (an init container with
    /// `restartPolicy: Always`, Kubernetes 1.32 and newer as the reference
    /// decides), so a Job's pod completes; otherwise it is the first
    /// container.
    pub native_sidecar: bool,
    /// The proxy's `--log-level`: the webhook's own, as the reference passes
    /// it.
    pub log_level: String,
}

/// The proxy image `deploy/` builds, when `PROXY_IMAGE` is not set.
pub const DEFAULT_PROXY_IMAGE: &str = "azure-wi-proxy:latest";
/// The proxy init image `deploy/` builds, when `PROXY_INIT_IMAGE` is not set.
pub const DEFAULT_PROXY_INIT_IMAGE: &str = "azure-wi-proxy-init:latest";

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            image: DEFAULT_PROXY_IMAGE.to_owned(),
            init_image: DEFAULT_PROXY_INIT_IMAGE.to_owned(),
            native_sidecar: false,
            log_level: "info".to_owned(),
        }
    }
}

impl MutationConfig {
    /// Sets the tenant used when a ServiceAccount has no tenant-id annotation.
    #[must_use]
    pub fn with_tenant_id(mut self, tenant_id: TenantId) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    /// Sets the cloud, which decides `AZURE_AUTHORITY_HOST`.
    #[must_use]
    pub fn with_cloud(mut self, cloud: AzureCloud) -> Self {
        self.cloud = cloud;
        self
    }

    /// Sets the audience of the projected token.
    #[must_use]
    pub fn with_audience(mut self, audience: Audience) -> Self {
        self.audience = audience;
        self
    }

    /// Sets how the IMDS proxy is injected.
    #[must_use]
    pub fn with_proxy(mut self, proxy: ProxySettings) -> Self {
        self.proxy = proxy;
        self
    }

    /// How the IMDS proxy is injected.
    pub fn proxy(&self) -> &ProxySettings {
        &self.proxy
    }

    /// Sets the custom token endpoint (AKS identity bindings).
    #[must_use]
    pub fn with_custom_token_endpoint(mut self, endpoint: Option<CustomTokenEndpoint>) -> Self {
        self.custom_endpoint = endpoint;
        self
    }

    /// The custom token endpoint, if configured.
    pub fn custom_token_endpoint(&self) -> Option<&CustomTokenEndpoint> {
        self.custom_endpoint.as_ref()
    }

    /// Sets where the token goes in the pod (`--token-layout`).
    #[must_use]
    pub fn with_token_layout(mut self, layout: TokenLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Where the token goes in the pod.
    pub fn token_layout(&self) -> TokenLayout {
        self.layout
    }

    /// The default tenant, if one is configured (`webhook serve` requires one;
    /// the `mutate` dry run does not).
    pub fn tenant_id(&self) -> Option<&TenantId> {
        self.tenant_id.as_ref()
    }

    /// The configured cloud.
    pub fn cloud(&self) -> AzureCloud {
        self.cloud
    }

    /// The configured token audience.
    pub fn audience(&self) -> &Audience {
        &self.audience
    }
}

/// The first Kubernetes version whose pods get the proxy as a native
/// sidecar: sidecar containers went beta in 1.29, and with the kubelet up
/// to three minor versions behind the API server, 1.32 is the first whose
/// every kubelet runs them (the reference webhook's rule).
pub const NATIVE_SIDECAR_MIN_VERSION: (u64, u64) = (1, 32);

/// Whether an API server of `git_version` (`/version`'s `gitVersion`, such
/// as `v1.32.1` or `v1.31.4-gke.1`) gets native sidecars: its version read
/// as semantic versioning (a pre-release of 1.32.0 is older than 1.32.0) at
/// least [`NATIVE_SIDECAR_MIN_VERSION`].
///
/// # Errors
///
/// The reason, when `git_version` is not a semantic version.
pub fn native_sidecars(git_version: &str) -> Result<bool, String> {
    let bad = || format!("API server version {git_version:?} is not a semantic version");
    let text = git_version.strip_prefix('v').unwrap_or(git_version);
    let text = text.split_once('+').map_or(text, |(core, _build)| core);
    let (core, pre_release) = match text.split_once('-') {
        Some((core, pre)) => (core, !pre.is_empty()),
        None => (text, false),
    };
    let numbers: Vec<u64> = core
        .split('.')
        .map(|n| {
            (!n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == "0" || !n.starts_with('0')))
            .then(|| n.parse().ok())
            .flatten()
        })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let [major, minor, patch] = numbers[..] else {
        return Err(bad());
    };
    let (want_major, want_minor) = NATIVE_SIDECAR_MIN_VERSION;
    Ok(match (major, minor).cmp(&(want_major, want_minor)) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => patch > 0 || !pre_release,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_wi_core::names;

    /// The reference's `TestServerVersionGTE` cases, with 1.32 as the bound
    /// they are checked against in the webhook, and the forms providers
    /// report.
    #[test]
    fn native_sidecars_from_1_32_as_semantic_versions_compare() {
        for (version, native) in [
            ("v1.32.0", true),
            ("v2.0.0", true),
            ("v1.33.2", true),
            ("v1.31.9", false),
            ("v0.40.0", false),
            ("v1.32.1-gke.1000", true),
            ("v1.32.0-rc.1", false),
            ("v1.31.4+k3s1", false),
            ("v1.32.2+k3s1", true),
            ("1.32.0", true),
        ] {
            assert_eq!(native_sidecars(version), Ok(native), "{version}");
        }
        for bad in ["", "v1.32", "v1.x.0", "v01.32.0", "latest"] {
            assert!(native_sidecars(bad).is_err(), "{bad}");
        }
    }

    /// The reference's start-up checks of the custom token endpoint and
    /// its `AZURE_KUBERNETES_*` configuration, with its texts.
    #[test]
    fn custom_token_endpoint_settings_are_checked_as_the_reference_checks_them() {
        let check = |suffix: &str, audience: &str, vars: &[(&str, &str)]| {
            custom_token_endpoint(suffix, audience, |name| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        assert_eq!(check("", "", &[]), Ok(None));
        let error = |s, a, v| check(s, a, v).unwrap_err().to_string();
        assert_eq!(
            error("", "api://AKSIdentityBinding", &[]),
            "custom token endpoint annotation suffix cannot be empty when audience is set"
        );
        assert_eq!(
            error("ib", "", &[]),
            "custom token endpoint audience cannot be empty when annotation suffix is set"
        );
        let default_upper = names::DEFAULT_AUDIENCE.to_ascii_uppercase();
        assert_eq!(
            error("ib", &default_upper, &[]),
            format!(
                "custom token endpoint audience cannot be equal to default audience {:?}",
                names::DEFAULT_AUDIENCE
            )
        );
        assert!(error("bad_", "api://x", &[]).starts_with(
            "custom token endpoint annotation key \"azure.workload.identity/use-bad_\" is not valid"
        ));
        assert_eq!(
            error(
                "",
                "",
                &[
                    ("AZURE_KUBERNETES_CA_DATA", "x"),
                    ("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "y")
                ]
            ),
            "only one of AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_CONFIGMAP_NAME or AZURE_KUBERNETES_CA_CTB_SIGNER_NAME can be set"
        );
        assert_eq!(
            error("", "", &[("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR", "{}")]),
            "AZURE_KUBERNETES_CA_CTB_SIGNER_NAME needs to be set when AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is set"
        );
        let endpoint = check(
            "IB",
            "api://AKSIdentityBinding",
            &[("AZURE_KUBERNETES_CA_CONFIGMAP_NAME", "ca")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(endpoint.annotation, "azure.workload.identity/use-IB");
        assert_eq!(endpoint.ca, CaSource::ConfigMap("ca".into()));
    }
}

/// Where the identity-binding token proxy's CA comes from
/// (`AZURE_KUBERNETES_CA_*`, at most one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CaSource {
    /// None configured.
    #[default]
    None,
    /// `AZURE_KUBERNETES_CA_DATA`: injected as `AZURE_KUBERNETES_CA_DATA`.
    Data(String),
    /// `AZURE_KUBERNETES_CA_CONFIGMAP_NAME`: the ConfigMap's `ca.crt`
    /// projected into the token volume.
    ConfigMap(String),
    /// `AZURE_KUBERNETES_CA_CTB_SIGNER_NAME` (and
    /// `..._LABEL_SELECTOR`, a JSON label selector): a ClusterTrustBundle
    /// projected into the token volume.
    ClusterTrustBundle {
        /// The signer.
        signer: String,
        /// The label selector, as given.
        label_selector: Option<serde_json::Value>,
    },
}

/// The custom token endpoint (AKS identity bindings) the reference v1.6.0
/// webhook serves: pods annotated `azure.workload.identity/use-<suffix>:
/// "true"` get a token for `audience` and the token proxy's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomTokenEndpoint {
    /// The pod annotation's key.
    pub annotation: String,
    /// The token's audience for those pods.
    pub audience: String,
    /// `AZURE_KUBERNETES_TOKEN_PROXY`.
    pub token_proxy: String,
    /// `AZURE_KUBERNETES_SNI_NAME`.
    pub sni_name: String,
    /// The proxy's CA.
    pub ca: CaSource,
}

/// Why the custom token endpoint settings cannot be used (the reference's
/// texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointConfigError {
    /// An audience without a suffix.
    #[error("custom token endpoint annotation suffix cannot be empty when audience is set")]
    MissingSuffix,
    /// A suffix without an audience.
    #[error("custom token endpoint audience cannot be empty when annotation suffix is set")]
    MissingAudience,
    /// The default audience given.
    #[error("custom token endpoint audience cannot be equal to default audience {0:?}")]
    DefaultAudience(String),
    /// The annotation key is not a valid key.
    #[error("custom token endpoint annotation key {key:?} is not valid: {reason}")]
    InvalidAnnotation {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// More than one CA source.
    #[error(
        "only one of AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_CONFIGMAP_NAME or AZURE_KUBERNETES_CA_CTB_SIGNER_NAME can be set"
    )]
    SeveralCaSources,
    /// A label selector without a signer.
    #[error(
        "AZURE_KUBERNETES_CA_CTB_SIGNER_NAME needs to be set when AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is set"
    )]
    SelectorWithoutSigner,
    /// A label selector that is not JSON.
    #[error("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR: failed to decode LabelSelector: {0}")]
    Selector(String),
}

/// The custom token endpoint from the flags (`suffix`, `audience`) and the
/// `AZURE_KUBERNETES_*` variables `env` gives, checked as the reference
/// checks them at start: `None` when neither flag is set. The CA variables
/// are checked either way, as the reference's config parsing does.
///
/// # Errors
///
/// [`EndpointConfigError`].
pub fn custom_token_endpoint(
    suffix: &str,
    audience: &str,
    mut env: impl FnMut(&str) -> Option<String>,
) -> Result<Option<CustomTokenEndpoint>, EndpointConfigError> {
    let mut get = |name: &str| env(name).filter(|v| !v.is_empty());
    let data = get(names::KUBERNETES_CA_DATA_ENV);
    let config_map = get("AZURE_KUBERNETES_CA_CONFIGMAP_NAME");
    let signer = get("AZURE_KUBERNETES_CA_CTB_SIGNER_NAME");
    let selector = get("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR").filter(|s| !s.trim().is_empty());
    let token_proxy = get(names::KUBERNETES_TOKEN_PROXY_ENV).unwrap_or_default();
    let sni_name = get(names::KUBERNETES_SNI_NAME_ENV).unwrap_or_default();
    if [&data, &config_map, &signer]
        .iter()
        .filter(|v| v.is_some())
        .count()
        > 1
    {
        return Err(EndpointConfigError::SeveralCaSources);
    }
    let label_selector = selector
        .map(|text| {
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| EndpointConfigError::Selector(e.to_string()))
        })
        .transpose()?;
    if label_selector.is_some() && signer.is_none() {
        return Err(EndpointConfigError::SelectorWithoutSigner);
    }
    if suffix.is_empty() && audience.is_empty() {
        return Ok(None);
    }
    if suffix.is_empty() {
        return Err(EndpointConfigError::MissingSuffix);
    }
    if audience.is_empty() {
        return Err(EndpointConfigError::MissingAudience);
    }
    if audience.eq_ignore_ascii_case(azure_wi_core::names::DEFAULT_AUDIENCE) {
        return Err(EndpointConfigError::DefaultAudience(
            azure_wi_core::names::DEFAULT_AUDIENCE.to_owned(),
        ));
    }
    let annotation = format!(
        "{}{suffix}",
        azure_wi_core::names::CUSTOM_TOKEN_ENDPOINT_ANNOTATION_PREFIX
    );
    check_qualified_name(&annotation.to_ascii_lowercase()).map_err(|reason| {
        EndpointConfigError::InvalidAnnotation {
            key: annotation.clone(),
            reason,
        }
    })?;
    let ca = match (data, config_map, signer) {
        (Some(data), _, _) => CaSource::Data(data),
        (_, Some(name), _) => CaSource::ConfigMap(name),
        (_, _, Some(signer)) => CaSource::ClusterTrustBundle {
            signer,
            label_selector,
        },
        _ => CaSource::None,
    };
    Ok(Some(CustomTokenEndpoint {
        annotation,
        audience: audience.to_owned(),
        token_proxy,
        sni_name,
        ca,
    }))
}

/// Kubernetes' rule for a label or annotation key's name part (after the
/// prefix's `/`): 1 to 63 characters, alphanumerics with `-`, `_`, `.`
/// inside, starting and ending alphanumeric.
fn check_qualified_name(key: &str) -> Result<(), String> {
    let name = key.rsplit_once('/').map_or(key, |(_, name)| name);
    if name.is_empty() {
        return Err("name part must be non-empty".to_owned());
    }
    if name.len() > 63 {
        return Err("name part must be no more than 63 characters".to_owned());
    }
    let alnum = |c: char| c.is_ascii_alphanumeric();
    let ok = name
        .chars()
        .all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && name.starts_with(alnum)
        && name.ends_with(alnum);
    if ok {
        Ok(())
    } else {
        Err("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_owned())
    }
}
