//! Realistic Entra ID bodies and test JWTs with a fake signature, shared by
//! the unit tests.
//!
//! The bodies follow the error response of the OAuth 2.0 client credentials
//! flow (<https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow#error-response>:
//! `error`, `error_description`, `error_codes`, `timestamp`, `trace_id`,
//! `correlation_id`, `error_uri`) and the wording of Microsoft's Entra ID
//! error code reference (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>);
//! trace, correlation, tenant and client ids are made up.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub(crate) const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
pub(crate) const ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/72f988bf-0000-4000-8000-000000000001/0d1f2a3b-aaaa-bbbb-cccc-000000000000/";
pub(crate) const SUBJECT: &str = "system:serviceaccount:default:default";
pub(crate) const AUDIENCE: &str = azure_wi_core::names::DEFAULT_AUDIENCE;
/// base64url of "fake-signature": must never appear in any output.
pub(crate) const FAKE_SIGNATURE: &str = "ZmFrZS1zaWduYXR1cmU";

/// Builds an error body the way Entra does, with the ids appended to the
/// description in the newer space-separated style.
fn body(error: &str, code: u32, message: &str) -> String {
    serde_json::json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {message} Trace ID: 0b5a1c1e-1d3f-4c6e-9f10-8a7b6c5d4e3f \
             Correlation ID: 5e1d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b Timestamp: 2023-05-30 05:19:20Z"
        ),
        "error_codes": [code],
        "timestamp": "2023-05-30 05:19:20Z",
        "trace_id": "0b5a1c1e-1d3f-4c6e-9f10-8a7b6c5d4e3f",
        "correlation_id": "5e1d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b",
    })
    .to_string()
}

/// An AADSTS70021 body in the older style: ids appended to the description
/// with `\r\n` separators, and an `error_uri`.
pub(crate) fn aadsts70021() -> String {
    format!(
        r#"{{"error":"invalid_request","error_description":"AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://westeurope.oic.prod-aks.azure.com/72f988bf-0000-4000-8000-000000000001/0d1f2a3b-aaaa-bbbb-cccc-000000000000/'. Assertion Subject: 'system:serviceaccount:default:default'. Assertion Audience: '{AUDIENCE}'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation\r\nTrace ID: 77e765d4-6bd2-4a2c-9c55-2f1c6e0b5a00\r\nCorrelation ID: 81e13db7-0c4f-4e2b-8a2a-9b1e2c3d4e5f\r\nTimestamp: 2023-01-19 13:59:24Z","error_codes":[70021],"timestamp":"2023-01-19 13:59:24Z","trace_id":"77e765d4-6bd2-4a2c-9c55-2f1c6e0b5a00","correlation_id":"81e13db7-0c4f-4e2b-8a2a-9b1e2c3d4e5f","error_uri":"https://login.microsoftonline.com/error?code=70021"}}"#
    )
}

pub(crate) const AADSTS90002: &str = r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant '72f988bf-0000-4000-8000-000000000001' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant. Trace ID: 0b5a1c1e Correlation ID: 5e1d2c3b Timestamp: 2023-05-30 05:19:20Z","error_codes":[90002],"timestamp":"2023-05-30 05:19:20Z","trace_id":"0b5a1c1e","correlation_id":"5e1d2c3b"}"#;

/// Status and body for each AADSTS code this crate diagnoses, as the error
/// code reference words them.
pub(crate) fn entra_body(code: u32) -> (u16, String) {
    let fic = "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation";
    match code {
        70021 => (400, aadsts70021()),
        700_211 => (
            401,
            body(
                "invalid_client",
                code,
                &format!(
                    "No matching federated identity record found for presented assertion issuer '{ISSUER}'. {fic}"
                ),
            ),
        ),
        700_212 => (
            401,
            body(
                "invalid_client",
                code,
                &format!(
                    "No matching federated identity record found for presented assertion audience '{AUDIENCE}'. {fic}"
                ),
            ),
        ),
        700_213 => (
            401,
            body(
                "invalid_client",
                code,
                &format!(
                    "No matching federated identity record found for presented assertion subject '{SUBJECT}'. {fic}"
                ),
            ),
        ),
        7_002_138 => (
            401,
            body(
                "invalid_client",
                code,
                &format!(
                    "No matching federated identity record found for presented assertion subject '{SUBJECT}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. {fic}"
                ),
            ),
        ),
        700_024 => (
            401,
            body(
                "invalid_client",
                code,
                "Client assertion is not within its valid time range. Current time: 2023-05-30T05:19:20.3135329Z, assertion valid from 2023-02-28T08:57:37.0000000Z, expiry time of assertion 2023-02-28T09:57:37.0000000Z. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .",
            ),
        ),
        700_016 => (
            400,
            body(
                "unauthorized_client",
                code,
                &format!(
                    "Application with identifier '{CLIENT}' was not found in the directory '{TENANT}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            ),
        ),
        90002 => (400, AADSTS90002.to_owned()),
        50027 => (
            400,
            body(
                "invalid_request",
                code,
                "JWT token is invalid or malformed.",
            ),
        ),
        700_027 => (
            401,
            body(
                "invalid_client",
                code,
                "Client assertion failed signature validation.",
            ),
        ),
        _ => panic!("no test body for AADSTS{code}"),
    }
}

fn b64(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// A JWT with the given payload and a fake signature.
pub(crate) fn jwt(payload: &serde_json::Value) -> String {
    let header =
        serde_json::json!({"alg": "RS256", "kid": "Xb0lUvCw4AYuCQn4ZX1qO9Ew6W5-iOv8kR0oXvC2kIk"});
    format!("{}.{}.{FAKE_SIGNATURE}", b64(&header), b64(payload))
}

/// A projected ServiceAccount token's claims, valid `iat..exp` (unix seconds).
pub(crate) fn sa_claims(iat: i64, exp: i64) -> serde_json::Value {
    serde_json::json!({
        "aud": [AUDIENCE],
        "exp": exp,
        "iat": iat,
        "iss": ISSUER,
        "kubernetes.io": {
            "namespace": "default",
            "pod": {"name": "app-7d9c", "uid": "2f4e6b1a-0000-4000-8000-000000000002"},
            "serviceaccount": {"name": "default", "uid": "9a8b7c6d-0000-4000-8000-000000000003"}
        },
        "nbf": iat,
        "sub": SUBJECT,
    })
}
