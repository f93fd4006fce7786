//! Who may call: the challenge, the bearer token's checks and Azure RBAC.

use std::time::SystemTime;

use serde_json::Value;

use super::{KvError, Op};
use crate::{config::Config, issuer::unix, keys::verify};

/// The `WWW-Authenticate` value for a vault in `tenant`, with `authority`
/// the Entra host clients should use (`https://login.microsoftonline.com`).
pub fn challenge(authority: &str, tenant: &str) -> String {
    format!(
        "Bearer authorization=\"{}/{tenant}\", resource=\"{}\"",
        authority.trim_end_matches('/'),
        crate::hosts::key_vault_resource_at(authority)
    )
}

/// Checks the bearer token: present, signed by Entra, for `resource` (the
/// Key Vault of the vault's own cloud: a token for another cloud's Key
/// Vault is refused), from the vault's tenant, not expired. Returns its
/// claims.
///
/// # Errors
///
/// 401 with the challenge.
pub fn authenticate(
    authorization: Option<&str>,
    entra_jwks: &Value,
    resource: &str,
    vault_tenant: &str,
    now: SystemTime,
) -> Result<Value, KvError> {
    let Some(token) = authorization.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    }) else {
        return Err(KvError::unauthorized(
            "AKV10000: Request is missing a Bearer or PoP token.",
        ));
    };
    let claims = verify(token.trim(), entra_jwks)
        .map_err(|_| KvError::unauthorized("AKV10031: Invalid token signature."))?;
    let aud = claims["aud"].as_str().unwrap_or_default();
    if aud.trim_end_matches('/') != resource {
        return Err(KvError::unauthorized(format!(
            "AKV10022: Invalid audience. Expected {resource}, found: {aud}."
        )));
    }
    let iss = claims["iss"].as_str().unwrap_or_default();
    let expected_iss = format!("https://sts.windows.net/{vault_tenant}/");
    if iss != expected_iss {
        return Err(KvError::unauthorized(format!(
            "AKV10032: Invalid issuer. Expected one of {expected_iss}, found {iss}."
        )));
    }
    if claims["exp"].as_u64().unwrap_or(0) <= unix(now) {
        return Err(KvError::unauthorized(
            "AKV10021: Invalid token: the token has expired.",
        ));
    }
    Ok(claims)
}

/// Checks Azure RBAC for `op` by the token's `oid`.
///
/// # Errors
///
/// 403 `Forbidden` / `ForbiddenByRbac` with the service's message.
pub fn authorize(config: &Config, vault: &str, op: &Op, claims: &Value) -> Result<(), KvError> {
    let oid = claims["oid"].as_str().unwrap_or_default();
    let object_scope = op
        .object()
        .map(|(collection, name)| format!("{vault}/{collection}/{name}"));
    let allowed = config.role_assignments.iter().any(|a| {
        a.principal_id == oid
            && (a.scope == vault || Some(&a.scope) == object_scope.as_ref())
            && a.role.grants(op.action())
    });
    if allowed {
        return Ok(());
    }
    let appid = claims["appid"].as_str().unwrap_or_default();
    let iss = claims["iss"].as_str().unwrap_or_default();
    let resource = match op.object() {
        Some((collection, name)) => format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/microsoft.keyvault/vaults/{vault}/{collection}/{name}"
        ),
        None => format!(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/emulator/providers/microsoft.keyvault/vaults/{vault}"
        ),
    };
    Err(KvError {
        inner: Some("ForbiddenByRbac"),
        ..KvError::new(
            403,
            "Forbidden",
            format!(
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid={appid};oid={oid};iss={iss}\r\nAction: '{}'\r\nResource: '{resource}'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: {vault};location=emulator\r\n",
                op.action()
            ),
        )
    })
}
