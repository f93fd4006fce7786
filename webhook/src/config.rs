//! What the operator configures: tenant, cloud and token audience.
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
