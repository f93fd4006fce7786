//! Flags shared by `mutate` and `serve`, so the dry run is configured exactly
//! like the server (same names, same environment variables).

use azure_wi_core::{Audience, AzureCloud, TenantId, TokenLayout, names};
use clap::Args;
use webhook::config::{
    DEFAULT_PROXY_IMAGE, DEFAULT_PROXY_INIT_IMAGE, MutationConfig, ProxySettings,
};

/// The mutation's settings.
#[derive(Debug, Args)]
pub(crate) struct MutationFlags {
    /// Tenant injected when a ServiceAccount has no tenant-id annotation
    /// (required by `serve`).
    #[arg(long, env = names::TENANT_ID_ENV, value_name = "T")]
    tenant_id: Option<String>,
    /// Cloud whose authority host is injected (AzurePublicCloud,
    /// AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud).
    #[arg(
        long,
        env = names::ENVIRONMENT_ENV,
        value_name = "NAME",
        default_value = "AzurePublicCloud"
    )]
    azure_environment: AzureCloud,
    /// Audience of the projected ServiceAccount token.
    #[arg(long, value_name = "A", default_value = names::DEFAULT_AUDIENCE)]
    audience: Audience,
    /// Where the token goes: v1.5 (volume `azure-identity-token` at
    /// /var/run/secrets/azure/tokens, what AKS documents) or v1.6 (the
    /// reference v1.6.0's reserved volume at /var/run/secrets/azure/wi).
    #[arg(long, env = names::TOKEN_LAYOUT_ENV, value_name = "LAYOUT", default_value = "v1.5")]
    token_layout: TokenLayout,
    /// Log filter: a level (error, warn, info, debug, trace) or a tracing
    /// directive list; the IMDS proxy injected into pods runs at it too.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub(crate) log_level: String,
    /// Image of the IMDS proxy container (`azwi-proxy`).
    #[arg(long, env = names::PROXY_IMAGE_ENV, value_name = "IMAGE", default_value = DEFAULT_PROXY_IMAGE)]
    proxy_image: String,
    /// Suffix of the pod annotation `azure.workload.identity/use-<suffix>`
    /// that asks for the custom token endpoint (AKS identity bindings);
    /// with --custom-token-endpoint-audience.
    #[arg(long, value_name = "S", default_value = "")]
    custom_token_endpoint_annotation_suffix: String,
    /// Audience of those pods' tokens (not the default audience).
    #[arg(long, value_name = "A", default_value = "")]
    custom_token_endpoint_audience: String,
    /// Image of the IMDS proxy's init container (`azwi-proxy-init`).
    #[arg(long, env = names::PROXY_INIT_IMAGE_ENV, value_name = "IMAGE", default_value = DEFAULT_PROXY_INIT_IMAGE)]
    proxy_init_image: String,
}

/// Why the mutation's settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FlagError {
    #[error(
        "AZURE_TENANT_ID is not set: the webhook needs the Entra tenant to inject into pods \
         whose ServiceAccount has no azure.workload.identity/tenant-id annotation"
    )]
    Missing,
    #[error("AZURE_TENANT_ID: {0}")]
    Invalid(#[from] azure_wi_core::Error),
    /// The custom token endpoint's flags or `AZURE_KUBERNETES_*` variables.
    #[error(transparent)]
    CustomEndpoint(#[from] webhook::config::EndpointConfigError),
}

impl MutationFlags {
    /// The mutation config. An empty tenant counts as none; `require_tenant`
    /// makes none an error, as the server needs one. `native_sidecar` is
    /// how the IMDS proxy runs (learnt from the API server by `serve`).
    pub(crate) fn config(
        &self,
        require_tenant: bool,
        native_sidecar: bool,
    ) -> Result<MutationConfig, FlagError> {
        let endpoint = webhook::config::custom_token_endpoint(
            &self.custom_token_endpoint_annotation_suffix,
            &self.custom_token_endpoint_audience,
            |name| std::env::var(name).ok(),
        )?;
        let config = MutationConfig::default()
            .with_custom_token_endpoint(endpoint)
            .with_cloud(self.azure_environment)
            .with_audience(self.audience.clone())
            .with_token_layout(self.token_layout)
            .with_proxy(ProxySettings {
                image: self.proxy_image.clone(),
                init_image: self.proxy_init_image.clone(),
                native_sidecar,
                log_level: self.log_level.clone(),
            });
        match self
            .tenant_id
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(tenant) => Ok(config.with_tenant_id(tenant.parse::<TenantId>()?)),
            None if require_tenant => Err(FlagError::Missing),
            None => Ok(config),
        }
    }
}
