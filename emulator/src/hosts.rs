//! The Azure host names the emulator plays: the Entra authority and the
//! Key Vault DNS suffix of every cloud [`AzureCloud`] names, taken from the
//! contract so they are spelled in one place.
//!
//! The emulator plays every cloud at once: one tenant list, one Entra
//! signing key and the same vaults under each cloud's suffix, so a client
//! configured for Azure China or US Government reaches it exactly as one
//! configured for the public cloud does. The cloud of a request is the
//! cloud of the host it was sent to.

use azure_wi_core::AzureCloud;

/// The cloud whose names the single-cloud helpers below give: what an
/// unconfigured SDK uses.
const DEFAULT_CLOUD: AzureCloud = AzureCloud::Public;

/// Every cloud the emulator serves: all that core names.
pub fn clouds() -> impl Iterator<Item = AzureCloud> {
    AzureCloud::ALL.into_iter()
}

/// The public cloud's Entra host, `login.microsoftonline.com`.
pub fn entra() -> &'static str {
    DEFAULT_CLOUD.authority_hostname()
}

/// The public cloud's authority URL without its trailing slash, as Entra
/// writes it in discovery documents and Key Vault in its challenge.
pub fn authority() -> &'static str {
    authority_of(DEFAULT_CLOUD)
}

/// `cloud`'s authority URL without its trailing slash, e.g.
/// `https://login.chinacloudapi.cn`.
pub fn authority_of(cloud: AzureCloud) -> &'static str {
    cloud.authority_host().trim_end_matches('/')
}

/// The cloud whose Entra host is `host`, when it is one.
pub fn entra_cloud(host: &str) -> Option<AzureCloud> {
    clouds().find(|cloud| cloud.authority_hostname().eq_ignore_ascii_case(host))
}

/// The public cloud's vault DNS suffix, `vault.azure.net`.
pub fn vault_suffix() -> &'static str {
    DEFAULT_CLOUD.key_vault_dns_suffix()
}

/// The public cloud's host of vault `name`.
pub fn vault(name: &str) -> String {
    vault_in(DEFAULT_CLOUD, name)
}

/// The host of vault `name` in `cloud`, e.g. `orders-kv.vault.azure.cn`.
pub fn vault_in(cloud: AzureCloud, name: &str) -> String {
    format!("{name}.{}", cloud.key_vault_dns_suffix())
}

/// The vault name of `host`, when it is a vault's host in the public cloud.
pub fn vault_name(host: &str) -> Option<&str> {
    vault_of(host).and_then(|(cloud, name)| (cloud == DEFAULT_CLOUD).then_some(name))
}

/// The cloud and vault name of `host`, when it is a vault's host in any
/// cloud. `host` is expected in lower case, as DNS names are compared.
pub fn vault_of(host: &str) -> Option<(AzureCloud, &str)> {
    clouds().find_map(|cloud| {
        let name = host
            .strip_suffix(cloud.key_vault_dns_suffix())?
            .strip_suffix('.')?;
        (!name.is_empty() && !name.contains('.')).then_some((cloud, name))
    })
}

/// The public cloud's Key Vault resource (token audience),
/// `https://vault.azure.net`.
pub fn key_vault_resource() -> String {
    key_vault_resource_of(DEFAULT_CLOUD)
}

/// `cloud`'s Key Vault resource, the scope core requests without its
/// `/.default`: `https://vault.azure.cn` for China.
pub fn key_vault_resource_of(cloud: AzureCloud) -> String {
    format!("https://{}", cloud.key_vault_dns_suffix())
}

/// The Key Vault resource of the cloud whose authority is `authority`
/// (with or without its trailing slash), so that a vault's challenge names
/// the resource of the cloud its `authorization` points to. The emulator
/// only passes its own clouds' authorities; anything else is the public
/// cloud's, what an SDK assumes without configuration.
pub fn key_vault_resource_at(authority: &str) -> String {
    let authority = authority.trim_end_matches('/');
    let cloud = clouds()
        .find(|cloud| authority_of(*cloud).eq_ignore_ascii_case(authority))
        .unwrap_or(DEFAULT_CLOUD);
    key_vault_resource_of(cloud)
}

/// Every name the emulator's certificate must cover for the clouds: each
/// Entra host and a wildcard for each vault suffix.
pub fn certificate_names() -> Vec<String> {
    clouds()
        .flat_map(|cloud| {
            [
                cloud.authority_hostname().to_owned(),
                format!("*.{}", cloud.key_vault_dns_suffix()),
            ]
        })
        .chain([identity_binding().to_owned()])
        .collect()
}

/// The TLS name of the emulated AKS token proxy (`AZURE_KUBERNETES_SNI_NAME`),
/// which only the emulator serves.
#[must_use]
pub fn identity_binding() -> &'static str {
    "identity-binding.emulator.localhost"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_the_public_clouds() {
        assert_eq!(entra(), "login.microsoftonline.com");
        assert_eq!(authority(), "https://login.microsoftonline.com");
        assert_eq!(vault("orders-kv"), "orders-kv.vault.azure.net");
        assert_eq!(vault_name("orders-kv.vault.azure.net"), Some("orders-kv"));
        assert_eq!(vault_name("orders-kv.vault.azure.cn"), None);
        assert_eq!(vault_name("vault.azure.net"), None);
        assert_eq!(vault_name("evil.example"), None);
        assert_eq!(key_vault_resource(), "https://vault.azure.net");
    }

    #[test]
    fn every_cloud_maps_its_entra_and_vault_hosts_back_to_itself() {
        for cloud in AzureCloud::ALL {
            assert_eq!(entra_cloud(cloud.authority_hostname()), Some(cloud));
            assert_eq!(
                vault_of(&vault_in(cloud, "orders-kv")),
                Some((cloud, "orders-kv"))
            );
            assert_eq!(
                key_vault_resource_at(cloud.authority_host()),
                key_vault_resource_of(cloud)
            );
            assert_eq!(
                format!("{}/.default", key_vault_resource_of(cloud)),
                cloud.key_vault_scope().as_str()
            );
        }
        assert_eq!(
            vault_of("orders-kv.vault.azure.cn"),
            Some((AzureCloud::China, "orders-kv"))
        );
        assert_eq!(
            vault_of("orders-kv.vault.usgovcloudapi.net"),
            Some((AzureCloud::UsGovernment, "orders-kv"))
        );
        assert_eq!(
            entra_cloud("login.chinacloudapi.cn"),
            Some(AzureCloud::China)
        );
        assert_eq!(
            key_vault_resource_at("https://login.microsoftonline.us"),
            "https://vault.usgovcloudapi.net"
        );
    }

    #[test]
    fn look_alike_hosts_are_not_served() {
        for host in [
            "vault.azure.cn",
            ".vault.azure.cn",
            "a.b.vault.azure.net",
            "orders-kvvault.azure.net",
            "login.chinacloudapi.cn.evil.example",
            "evil.example",
        ] {
            assert_eq!(vault_of(host), None, "{host}");
            assert_eq!(entra_cloud(host), None, "{host}");
        }
    }

    #[test]
    fn the_certificate_covers_each_clouds_entra_and_vaults() {
        let names = certificate_names();
        for cloud in AzureCloud::ALL {
            assert!(names.iter().any(|n| n == cloud.authority_hostname()));
            assert!(
                names
                    .iter()
                    .any(|n| *n == format!("*.{}", cloud.key_vault_dns_suffix()))
            );
        }
        assert!(names.iter().any(|n| n == "login.chinacloudapi.cn"));
        assert!(names.iter().any(|n| n == "*.vault.usgovcloudapi.net"));
    }
}
