//! Key Vault's `WWW-Authenticate` challenge: which scope to ask a token
//! for, from which tenant, and whether the vault may ask for it.

use url::Url;

/// A parsed `Bearer` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scope to request (`scope`, else `resource` + `/.default`).
    pub scope: String,
    /// The tenant named by `authorization` / `authorization_uri`, if any.
    pub tenant: Option<String>,
    /// The resource's host (`vault.azure.net`), checked against the vault.
    pub resource_host: String,
}

/// Parses `Bearer authorization="...", resource="..."` (or `scope=`,
/// `authorization_uri=`). Parameters may be separated by commas, spaces or
/// both; values may be quoted.
///
/// # Errors
///
/// A description of what is missing.
pub fn parse(header: &str) -> Result<Challenge, String> {
    let rest = header
        .trim()
        .strip_prefix("Bearer")
        .or_else(|| header.trim().strip_prefix("bearer"))
        .ok_or_else(|| format!("the challenge is not a Bearer challenge: {header:?}"))?;
    let mut params = std::collections::HashMap::new();
    for part in rest.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        if let Some((key, value)) = part.split_once('=') {
            params.insert(
                key.trim().to_ascii_lowercase(),
                value.trim().trim_matches('"').to_owned(),
            );
        }
    }
    let resource_or_scope = params
        .get("scope")
        .or_else(|| params.get("resource"))
        .ok_or_else(|| format!("the challenge names neither resource nor scope: {header:?}"))?;
    let scope = match params.get("scope") {
        Some(scope) => scope.clone(),
        None => format!("{}/.default", resource_or_scope.trim_end_matches('/')),
    };
    let resource = Url::parse(resource_or_scope)
        .map_err(|e| format!("the challenge's resource {resource_or_scope:?} is not a URL: {e}"))?;
    let resource_host = resource
        .host_str()
        .ok_or_else(|| format!("the challenge's resource {resource_or_scope:?} has no host"))?
        .to_ascii_lowercase();
    let tenant = params
        .get("authorization")
        .or_else(|| params.get("authorization_uri"))
        .and_then(|uri| Url::parse(uri).ok())
        .and_then(|uri| {
            uri.path_segments()
                .and_then(|mut s| s.next())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        });
    Ok(Challenge {
        scope,
        tenant,
        resource_host,
    })
}

/// Whether a vault at `vault_host` may send a challenge for
/// `resource_host`: the vault's host must be a subdomain of the resource's
/// (`orders-kv.vault.azure.net` for `vault.azure.net`), so a hostile
/// endpoint cannot obtain a token for another service.
pub fn resource_matches(vault_host: &str, resource_host: &str) -> bool {
    vault_host
        .to_ascii_lowercase()
        .ends_with(&format!(".{}", resource_host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_key_vault_sends() {
        let c = parse(r#"Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net""#).unwrap();
        assert_eq!(c.scope, "https://vault.azure.net/.default");
        assert_eq!(
            c.tenant.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(c.resource_host, "vault.azure.net");
        let c = parse(r#"Bearer authorization_uri="https://login.windows.net/t1" scope="https://vault.azure.net/.default""#).unwrap();
        assert_eq!(c.scope, "https://vault.azure.net/.default");
        assert_eq!(c.tenant.as_deref(), Some("t1"));
        assert!(parse("Basic realm=x").is_err());
        assert!(parse("Bearer authorization=\"https://login.microsoftonline.com/t\"").is_err());
    }

    #[test]
    fn the_vault_must_live_under_the_resource() {
        assert!(resource_matches(
            "orders-kv.vault.azure.net",
            "vault.azure.net"
        ));
        assert!(resource_matches(
            "Orders-KV.Vault.Azure.Net",
            "vault.azure.net"
        ));
        assert!(!resource_matches("evil.example", "vault.azure.net"));
        assert!(!resource_matches("vault.azure.net", "vault.azure.net"));
        assert!(!resource_matches("xvault.azure.net", "vault.azure.net"));
    }
}
