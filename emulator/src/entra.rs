//! Microsoft Entra ID's token endpoint for the federated client-credentials
//! flow, as pure functions: the checks Entra makes, in order, and the
//! answers it gives (its JSON error body with the real AADSTS codes and
//! texts, or an access token's claims).
//!
//! Order of the checks, cheapest first as the service does: tenant (90002),
//! request fields (900144, 7000218, 70003), client id in that tenant
//! (700016), scope (500011), assertion is a JWT (50027), then — after the
//! caller fetched the issuer's discovery document and JWKS (50166 when that
//! fails) — signature (700027), time window with 60 s of skew (700024), and
//! the federated identity credential match, exact and case-sensitive:
//! no credential with this issuer is 700211, issuer but no subject is 700213
//! (7002138 when only the case differs), issuer and subject but not the
//! audience is 700212, and an identity without any federated credential is
//! the generic 70021.

use std::{collections::HashMap, time::SystemTime};

use serde_json::{Value, json};
use time::{format_description::BorrowedFormatItem, macros::format_description};

use crate::{
    config::{Config, Identity},
    issuer::unix,
    keys::{SignatureProblem, decode_unverified, verify},
};

/// The assertion type of the federated flow.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew tolerated on an assertion's `nbf` and `exp`.
pub const SKEW_SECONDS: u64 = 60;
const WIF_DOCS: &str = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

/// A refusal, as Entra words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AadError {
    /// HTTP status.
    pub status: u16,
    /// OAuth `error`.
    pub error: &'static str,
    /// AADSTS code.
    pub code: u32,
    /// The text after `AADSTSnnnn: `.
    pub text: String,
}

impl AadError {
    fn new(status: u16, error: &'static str, code: u32, text: impl Into<String>) -> Self {
        Self {
            status,
            error,
            code,
            text: text.into(),
        }
    }

    /// The JSON body Entra sends.
    pub fn body(&self, trace_id: &str, correlation_id: &str, now: SystemTime) -> Value {
        let timestamp = format_time(now, TIMESTAMP);
        json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}",
                self.code, self.text
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{}/error?code={}", crate::hosts::authority(), self.code),
        })
    }
}

/// `timestamp` of error bodies: `2023-01-19 13:59:24Z`.
const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
/// Times inside AADSTS700024: `2023-05-30T05:19:20.3135329Z`.
const PRECISE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z");

/// Formats `at` in UTC.
fn format_time(at: SystemTime, format: &[BorrowedFormatItem<'_>]) -> String {
    time::OffsetDateTime::from(at)
        .format(format)
        .unwrap_or_default()
}

fn entra_time(unix_seconds: u64) -> String {
    let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(unix_seconds);
    format_time(at, PRECISE)
}

/// What passed the checks that need no network.
#[derive(Debug, Clone)]
pub struct Prechecked<'c> {
    /// The identity the client id names.
    pub identity: &'c Identity,
    /// The assertion as sent.
    pub assertion: String,
    /// Its claims, not yet verified.
    pub claims: Value,
    /// The resource of the one scope.
    pub resource: String,
    /// Whether the client asked for CAE (`claims` with `xms_cc`).
    pub cae: bool,
}

impl Prechecked<'_> {
    /// The assertion's `iss`, whose discovery document comes next.
    pub fn issuer(&self) -> &str {
        self.claims["iss"].as_str().unwrap_or_default()
    }
}

/// The checks before any network call: tenant, fields, client, scope and
/// the assertion's shape.
///
/// # Errors
///
/// The [`AadError`] Entra would answer.
pub fn precheck<'c>(
    config: &'c Config,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<Prechecked<'c>, AadError> {
    precheck_at(config, tenant, form, &crate::hosts::key_vault_resource())
}

/// [`precheck`] at the authority of a cloud whose Key Vault resource is
/// `key_vault_resource` (`https://vault.azure.cn` at China's): each
/// cloud's Entra knows its own cloud's Key Vault and no other, so a scope
/// for another cloud's vault is refused with AADSTS500011.
///
/// # Errors
///
/// As [`precheck`].
pub fn precheck_at<'c>(
    config: &'c Config,
    tenant: &str,
    form: &HashMap<String, String>,
    key_vault_resource: &str,
) -> Result<Prechecked<'c>, AadError> {
    if !config.tenants.iter().any(|t| t == tenant) {
        return Err(AadError::new(
            400,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        ));
    }
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let missing = |name: &str| {
        AadError::new(
            400,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let grant = field("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant != "client_credentials" {
        return Err(AadError::new(
            400,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
    let assertion = match (field("client_assertion_type"), field("client_assertion")) {
        (Some(JWT_BEARER), Some(assertion)) => assertion,
        _ => {
            return Err(AadError::new(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    };
    let scope = field("scope").ok_or_else(|| missing("scope"))?;
    let identity = config
        .identities
        .iter()
        .find(|i| i.client_id == client_id && i.tenant == tenant)
        .ok_or_else(|| {
            AadError::new(
                400,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            )
        })?;
    let resource = resource_of(scope, tenant, key_vault_resource)?;
    let claims = decode_unverified(assertion).ok_or_else(|| {
        AadError::new(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        )
    })?;
    if !claims["iss"].is_string() {
        return Err(AadError::new(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ));
    }
    let cae = form
        .get("claims")
        .is_some_and(|c| c.contains("xms_cc") && c.contains("CP1"));
    Ok(Prechecked {
        identity,
        assertion: assertion.to_owned(),
        claims,
        resource,
        cae,
    })
}

/// The resource of a client-credentials scope: exactly one
/// `<resource>/.default` of a resource the tenant knows.
fn resource_of(scope: &str, tenant: &str, key_vault_resource: &str) -> Result<String, AadError> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource = match scopes.as_slice() {
        [one] => one.strip_suffix("/.default"),
        _ => None,
    };
    let Some(resource) = resource else {
        return Err(AadError::new(
            400,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    };
    let resource = resource.trim_end_matches('/');
    if resource != key_vault_resource {
        return Err(AadError::new(
            400,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        ));
    }
    Ok(resource.to_owned())
}

/// 50166: the issuer's discovery document or JWKS could not be used.
pub fn external_oidc_failed() -> AadError {
    AadError::new(
        401,
        "invalid_client",
        50166,
        "Request to External OIDC endpoint failed.",
    )
}

/// The checks after the issuer's keys are known: signature, time window and
/// the federated credential match. Returns the access token's claims.
///
/// # Errors
///
/// The [`AadError`] Entra would answer.
pub fn validate(
    pre: &Prechecked<'_>,
    jwks: &Value,
    config: &Config,
    now: SystemTime,
) -> Result<Value, AadError> {
    let claims = verify_assertion(pre, jwks, now)?;
    match_federated_credential(pre.identity, &claims)?;
    Ok(access_token_claims(pre, config, unix(now)))
}

/// The assertion's signature and time window, as Entra checks them (50027,
/// 700027, 700024); its verified claims.
///
/// # Errors
///
/// The [`AadError`] Entra would answer.
pub fn verify_assertion(
    pre: &Prechecked<'_>,
    jwks: &Value,
    now: SystemTime,
) -> Result<Value, AadError> {
    let claims = verify(&pre.assertion, jwks).map_err(|problem| match problem {
        SignatureProblem::Malformed => AadError::new(
            400,
            "invalid_request",
            50027,
            "JWT token is invalid or malformed.",
        ),
        SignatureProblem::Invalid => AadError::new(
            401,
            "invalid_client",
            700027,
            "Client assertion failed signature validation.",
        ),
    })?;
    let now_s = unix(now);
    let nbf = claims["nbf"]
        .as_u64()
        .or(claims["iat"].as_u64())
        .unwrap_or(0);
    let exp = claims["exp"].as_u64().unwrap_or(0);
    if now_s + SKEW_SECONDS < nbf || now_s >= exp + SKEW_SECONDS {
        return Err(AadError::new(
            401,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
                format_time(now, PRECISE),
                entra_time(nbf),
                entra_time(exp),
            ),
        ));
    }
    Ok(claims)
}

/// Finds the federated identity credential the assertion matches.
///
/// # Errors
///
/// 70021, 700211, 700212, 700213 or 7002138 as described in the module doc.
pub fn match_federated_credential(identity: &Identity, claims: &Value) -> Result<(), AadError> {
    let iss = claims["iss"].as_str().unwrap_or_default();
    let sub = claims["sub"].as_str().unwrap_or_default();
    let auds: Vec<&str> = match &claims["aud"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let aud_text = auds.join(",");
    let fics = &identity.federated_credentials;
    if fics.is_empty() {
        return Err(AadError::new(
            400,
            "invalid_request",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud_text}'. {WIF_DOCS}"
            ),
        ));
    }
    let by_issuer: Vec<_> = fics.iter().filter(|f| f.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(AadError::new(
            401,
            "invalid_client",
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOCS}"
            ),
        ));
    }
    let by_subject: Vec<_> = by_issuer.iter().filter(|f| f.subject == sub).collect();
    if by_subject.is_empty() {
        if by_issuer
            .iter()
            .any(|f| f.subject.eq_ignore_ascii_case(sub))
        {
            return Err(AadError::new(
                401,
                "invalid_client",
                7002138,
                format!(
                    "No matching federated identity record found for presented assertion subject '{sub}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. {WIF_DOCS}"
                ),
            ));
        }
        return Err(AadError::new(
            401,
            "invalid_client",
            700213,
            format!(
                "No matching federated identity record found for presented assertion subject '{sub}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOCS}"
            ),
        ));
    }
    if !by_subject
        .iter()
        .any(|f| auds.iter().any(|a| f.audiences.iter().any(|x| x == a)))
    {
        return Err(AadError::new(
            401,
            "invalid_client",
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{aud_text}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {WIF_DOCS}"
            ),
        ));
    }
    Ok(())
}

/// The claims of the access token Entra issues to `pre`'s identity.
pub fn access_token_claims(pre: &Prechecked<'_>, config: &Config, now: u64) -> Value {
    let identity = pre.identity;
    let mut claims = json!({
        "aud": pre.resource,
        "iss": format!("https://sts.windows.net/{}/", identity.tenant),
        "iat": now,
        "nbf": now,
        "exp": now + config.token_lifetime_seconds,
        "appid": identity.client_id,
        "appidacr": "2",
        "idtyp": "app",
        "oid": identity.object_id,
        "sub": identity.object_id,
        "tid": identity.tenant,
        "ver": "1.0",
    });
    if pre.cae {
        claims["xms_cc"] = json!(["CP1"]);
    }
    claims
}

/// The success body for a signed access token.
pub fn token_response(access_token: &str, config: &Config) -> Value {
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": config.token_lifetime_seconds,
        "ext_expires_in": config.token_lifetime_seconds,
        "access_token": access_token,
    });
    if let Some(refresh_in) = config.refresh_in_seconds {
        body["refresh_in"] = refresh_in.into();
    }
    body
}

/// Entra's tenant discovery document for `authority` (scheme and host).
pub fn tenant_discovery(authority: &str, tenant: &str) -> Value {
    json!({
        "issuer": format!("{authority}/{tenant}/v2.0"),
        "token_endpoint": format!("{authority}/{tenant}/oauth2/v2.0/token"),
        "authorization_endpoint": format!("{authority}/{tenant}/oauth2/v2.0/authorize"),
        "jwks_uri": format!("{authority}/{tenant}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "tenant_region_scope": "NA",
    })
}

#[cfg(test)]
mod tests;
