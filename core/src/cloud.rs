//! The Azure clouds: their names as manifests write them and the hosts each
//! one uses for Entra ID and Key Vault.

use std::{fmt, str::FromStr};

use crate::{Error, Scope};

/// Authority host of Azure's public cloud, what an SDK uses when
/// `AZURE_AUTHORITY_HOST` is not set.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";

/// An Azure cloud, which decides the Entra authority pods are told to use
/// and the DNS suffix of its vaults.
///
/// Parsed case-insensitively from the go-autorest names the reference webhook
/// accepts in `AZURE_ENVIRONMENT` (and the CSI provider in `cloudName`); an
/// empty value means the public cloud, an unknown one is an error rather
/// than a silent default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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
    /// Every cloud, in the order error messages list them.
    pub const ALL: [Self; 4] = [Self::Public, Self::UsGovernment, Self::China, Self::Germany];

    /// Value of `AZURE_AUTHORITY_HOST` for this cloud (with its trailing `/`).
    #[must_use]
    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Public => DEFAULT_AUTHORITY_HOST,
            Self::UsGovernment => "https://login.microsoftonline.us/",
            Self::China => "https://login.chinacloudapi.cn/",
            Self::Germany => "https://login.microsoftonline.de/",
        }
    }

    /// The Entra host alone, e.g. `login.microsoftonline.com`: what a TLS
    /// client connects to and a proxy routes on.
    #[must_use]
    pub fn authority_hostname(self) -> &'static str {
        let host = self.authority_host();
        let host = host.strip_prefix("https://").unwrap_or(host);
        host.strip_suffix('/').unwrap_or(host)
    }

    /// DNS suffix of the cloud's vaults: a vault named `v` is
    /// `https://v.<suffix>/`, and tokens for it are requested for
    /// `https://<suffix>/.default`.
    #[must_use]
    pub fn key_vault_dns_suffix(self) -> &'static str {
        match self {
            Self::Public => "vault.azure.net",
            Self::UsGovernment => "vault.usgovcloudapi.net",
            Self::China => "vault.azure.cn",
            Self::Germany => "vault.microsoftazure.de",
        }
    }

    /// The scope to request a Key Vault token for in this cloud,
    /// `https://<suffix>/.default`.
    #[must_use]
    pub fn key_vault_scope(self) -> Scope {
        Scope::known(format!("https://{}/.default", self.key_vault_dns_suffix()))
    }

    /// The canonical name, as written in `AZURE_ENVIRONMENT`.
    #[must_use]
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
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The aliases are the names go-autorest's EnvironmentFromName accepts,
        // which is what the reference webhook parses this value with.
        match s.trim().to_ascii_uppercase().as_str() {
            "" | "AZUREPUBLICCLOUD" | "AZURECLOUD" => Ok(Self::Public),
            "AZUREUSGOVERNMENTCLOUD" | "AZUREUSGOVERNMENT" => Ok(Self::UsGovernment),
            "AZURECHINACLOUD" => Ok(Self::China),
            "AZUREGERMANCLOUD" => Ok(Self::Germany),
            _ => Err(Error::UnknownCloud {
                value: s.to_owned(),
            }),
        }
    }
}

impl fmt::Display for AzureCloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
            ("AzureCloud", AzureCloud::Public),
            ("AZUREUSGOVERNMENTCLOUD", AzureCloud::UsGovernment),
            ("AzureUSGovernment", AzureCloud::UsGovernment),
            ("AzureChinaCloud", AzureCloud::China),
            ("azureGermanCloud", AzureCloud::Germany),
        ] {
            assert_eq!(name.parse::<AzureCloud>(), Ok(cloud), "{name:?}");
        }
        for cloud in AzureCloud::ALL {
            assert_eq!(cloud.name().parse::<AzureCloud>(), Ok(cloud));
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
    fn authority_hostnames_are_the_hosts_of_the_authority_urls() {
        assert_eq!(
            AzureCloud::Public.authority_hostname(),
            "login.microsoftonline.com"
        );
        for cloud in AzureCloud::ALL {
            assert_eq!(
                format!("https://{}/", cloud.authority_hostname()),
                cloud.authority_host()
            );
        }
    }

    #[test]
    fn key_vault_suffixes_are_the_clouds_own() {
        assert_eq!(AzureCloud::Public.key_vault_dns_suffix(), "vault.azure.net");
        assert_eq!(
            AzureCloud::UsGovernment.key_vault_dns_suffix(),
            "vault.usgovcloudapi.net"
        );
        assert_eq!(AzureCloud::China.key_vault_dns_suffix(), "vault.azure.cn");
        assert_eq!(
            AzureCloud::Public.key_vault_scope().as_str(),
            "https://vault.azure.net/.default"
        );
    }

    #[test]
    fn unknown_cloud_is_an_error_naming_the_value_and_the_choices() {
        let err = "AzureMoonCloud".parse::<AzureCloud>().unwrap_err();
        assert_eq!(
            err,
            Error::UnknownCloud {
                value: "AzureMoonCloud".into()
            }
        );
        let text = err.to_string();
        assert!(text.contains("\"AzureMoonCloud\""), "{text}");
        for cloud in AzureCloud::ALL {
            assert!(text.contains(cloud.name()), "{text}");
        }
    }
}
