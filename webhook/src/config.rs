//! What the operator configures: tenant, cloud and token audience.
//!
//! Each value is a newtype that validates itself on parse, so a typo in a
//! flag or ConfigMap stops the webhook at start-up instead of producing pods
//! that fail later at token exchange.

use std::{fmt, str::FromStr};

use crate::names;

/// Why a configuration value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cloud name is not one the webhook knows an authority host for.
    #[error(
        "unknown Azure environment {0:?}: expected one of AzurePublicCloud, \
         AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud (case-insensitive)"
    )]
    UnknownCloud(String),
    /// The tenant id is empty or has characters Entra never uses.
    #[error(
        "invalid tenant id {0:?}: expected a GUID or domain made of letters, digits, '.' and '-'"
    )]
    InvalidTenantId(String),
    /// The audience is empty or contains whitespace.
    #[error("invalid token audience {0:?}: expected a non-empty value without whitespace")]
    InvalidAudience(String),
}

/// The Azure cloud whose Entra authority pods are told to use.
///
/// Parsed case-insensitively from the names the reference webhook accepts in
/// `AZURE_ENVIRONMENT`; an empty value means the public cloud, an unknown one
/// is an error rather than a silent default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AzureCloud {
    /// Azure public cloud.
    #[default]
    Public,
    /// Azure US Government.
    UsGovernment,
    /// Azure operated by 21Vianet in China.
    China,
    /// The retired Azure Germany cloud, still accepted for old configs.
    Germany,
}

impl AzureCloud {
    /// Value of `AZURE_AUTHORITY_HOST` for this cloud.
    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Public => "https://login.microsoftonline.com/",
            Self::UsGovernment => "https://login.microsoftonline.us/",
            Self::China => "https://login.chinacloudapi.cn/",
            Self::Germany => "https://login.microsoftonline.de/",
        }
    }

    /// The canonical name, as written in `AZURE_ENVIRONMENT`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "AzurePublicCloud",
            Self::UsGovernment => "AzureUSGovernmentCloud",
            Self::China => "AzureChinaCloud",
            Self::Germany => "AzureGermanCloud",
        }
    }
}

impl FromStr for AzureCloud {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The aliases are the names go-autorest's EnvironmentFromName accepts,
        // which is what the reference webhook parses this value with.
        match s.trim().to_ascii_uppercase().as_str() {
            "" | "AZUREPUBLICCLOUD" | "AZURECLOUD" => Ok(Self::Public),
            "AZUREUSGOVERNMENTCLOUD" | "AZUREUSGOVERNMENT" => Ok(Self::UsGovernment),
            "AZURECHINACLOUD" => Ok(Self::China),
            "AZUREGERMANCLOUD" => Ok(Self::Germany),
            _ => Err(ConfigError::UnknownCloud(s.to_owned())),
        }
    }
}

impl fmt::Display for AzureCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An Entra tenant: a GUID or a verified domain such as `contoso.onmicrosoft.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    /// The tenant as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `s` uses only the characters the Azure SDKs accept in a tenant,
    /// so a pod given it will not fail inside the SDK.
    pub fn is_valid(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    }
}

impl FromStr for TenantId {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if Self::is_valid(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ConfigError::InvalidTenantId(s.to_owned()))
        }
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Audience of the projected ServiceAccount token; Entra's federated
/// identity credentials must list the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(String);

impl Audience {
    /// The audience as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Audience {
    fn default() -> Self {
        Self(names::DEFAULT_AUDIENCE.to_owned())
    }
}

impl FromStr for Audience {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            Err(ConfigError::InvalidAudience(s.to_owned()))
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything the mutation needs besides the pod and its ServiceAccount.
///
/// ```
/// use webhook::config::{AzureCloud, MutationConfig};
///
/// let config = MutationConfig::default()
///     .with_tenant_id("72f988bf-0000-4000-8000-000000000001".parse()?)
///     .with_cloud("AzureChinaCloud".parse()?);
/// assert_eq!(config.cloud(), AzureCloud::China);
/// # Ok::<(), webhook::config::ConfigError>(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_names_are_case_insensitive_and_empty_means_public() {
        for (name, cloud) in [
            ("", AzureCloud::Public),
            ("AzurePublicCloud", AzureCloud::Public),
            ("azurepubliccloud", AzureCloud::Public),
            ("AZUREUSGOVERNMENTCLOUD", AzureCloud::UsGovernment),
            ("AzureChinaCloud", AzureCloud::China),
            ("azureGermanCloud", AzureCloud::Germany),
        ] {
            assert_eq!(name.parse::<AzureCloud>(), Ok(cloud), "{name:?}");
        }
    }

    #[test]
    fn authority_hosts_match_the_reference() {
        assert_eq!(
            AzureCloud::Public.authority_host(),
            "https://login.microsoftonline.com/"
        );
        assert_eq!(
            AzureCloud::UsGovernment.authority_host(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(
            AzureCloud::China.authority_host(),
            "https://login.chinacloudapi.cn/"
        );
        assert_eq!(
            AzureCloud::Germany.authority_host(),
            "https://login.microsoftonline.de/"
        );
    }

    #[test]
    fn unknown_cloud_is_an_error_naming_the_value() {
        let err = "AzureMoonCloud".parse::<AzureCloud>().unwrap_err();
        assert_eq!(err, ConfigError::UnknownCloud("AzureMoonCloud".into()));
        assert!(err.to_string().contains("\"AzureMoonCloud\""));
        assert!(err.to_string().contains("AzureUSGovernmentCloud"));
    }

    #[test]
    fn tenant_ids_accept_guids_and_domains_only() {
        assert!(
            "72f988bf-86f1-41af-91ab-2d7cd011db47"
                .parse::<TenantId>()
                .is_ok()
        );
        assert!("contoso.onmicrosoft.com".parse::<TenantId>().is_ok());
        for bad in ["", "  ", "tenant/evil", "a b", "tenant?x=1"] {
            assert!(bad.parse::<TenantId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn audience_must_be_non_empty_without_whitespace() {
        assert_eq!(Audience::default().as_str(), "api://AzureADTokenExchange");
        assert!("api://custom".parse::<Audience>().is_ok());
        assert!("".parse::<Audience>().is_err());
        assert!("api://a b".parse::<Audience>().is_err());
    }
}
