//! The Azure host names the emulator plays, taken from the contract's
//! public cloud so they are spelled in one place.

use azure_wi_core::AzureCloud;

/// The cloud whose names the emulator answers to.
const CLOUD: AzureCloud = AzureCloud::Public;

/// Entra's host, `login.microsoftonline.com`.
pub fn entra() -> &'static str {
    CLOUD.authority_hostname()
}

/// The authority URL without its trailing slash, as Entra writes it in
/// discovery documents and Key Vault in its challenge.
pub fn authority() -> &'static str {
    CLOUD.authority_host().trim_end_matches('/')
}

/// The DNS suffix of vaults, `vault.azure.net`.
pub fn vault_suffix() -> &'static str {
    CLOUD.key_vault_dns_suffix()
}

/// The host of vault `name`.
pub fn vault(name: &str) -> String {
    format!("{name}.{}", vault_suffix())
}

/// The vault name of `host`, when it is a vault's host.
pub fn vault_name(host: &str) -> Option<&str> {
    host.strip_suffix(vault_suffix())?.strip_suffix('.')
}

/// The resource (audience) of Key Vault tokens, `https://vault.azure.net`.
pub fn key_vault_resource() -> String {
    format!("https://{}", vault_suffix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_public_clouds() {
        assert_eq!(entra(), "login.microsoftonline.com");
        assert_eq!(authority(), "https://login.microsoftonline.com");
        assert_eq!(vault("orders-kv"), "orders-kv.vault.azure.net");
        assert_eq!(vault_name("orders-kv.vault.azure.net"), Some("orders-kv"));
        assert_eq!(vault_name("vault.azure.net"), None);
        assert_eq!(vault_name("evil.example"), None);
        assert_eq!(key_vault_resource(), "https://vault.azure.net");
    }
}
