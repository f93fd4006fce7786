//! What the operator configures: tenant, cloud, token audience and the IMDS
//! proxy's images.
//!
//! Each value is one of the contract's validated types
//! ([`azure_wi_core`]), so a typo in a flag or ConfigMap stops the webhook at
//! start-up instead of producing pods that fail later at token exchange.

use azure_wi_core::{Audience, AzureCloud, TenantId};

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
}
