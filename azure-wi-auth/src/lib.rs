//! Azure workload identity for applications running in a pod that the
//! `webhook` crate mutated.
//!
//! The webhook gives the pod `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
//! `AZURE_FEDERATED_TOKEN_FILE` (a Kubernetes ServiceAccount JWT that the
//! kubelet rotates) and `AZURE_AUTHORITY_HOST`. An application exchanges that
//! JWT at Microsoft Entra ID for an access token: an OAuth 2.0 client
//! credentials request whose client assertion is the JWT.
//!
//! # What this version does
//!
//! It is the pure core of that exchange; nothing here opens a socket:
//!
//! * [`WorkloadIdentityConfig`] reads and validates the settings, from the
//!   environment or a builder, with errors that name the variable at fault;
//! * [`Assertion::read_token_file`] reads the token file (blocking file I/O);
//! * [`TokenRequest`] builds the token request (method, URL, headers, body);
//! * [`parse_token_response`] turns the answer into an [`AccessToken`] or an
//!   [`Error`], and [`retry_class`] says whether a failure is transient;
//! * [`diagnose`] explains the common AADSTS errors (no matching federated
//!   credential, expired assertion, unknown client or tenant) from the
//!   assertion's claims, decoded **without** verifying them.
//!
//! Secrets stay secret: `Debug` and `Display` of [`AccessToken`],
//! [`Assertion`], [`TokenRequest`] and [`Error`] never show a token.
//!
//! # What it does not do yet
//!
//! No HTTP client, no async runtime, no token cache, no retry loop and no
//! Key Vault client: the caller sends the [`TokenRequest`] with its own
//! client and passes the status and body to [`parse_token_response`].
//! Time is always an argument (`now`), so callers own the clock.
//!
//! # Example
//!
//! ```
//! use std::time::SystemTime;
//! use azure_wi_auth::{
//!     parse_token_response, Assertion, ClientRequestId, DiagnosisInput, Scope, TokenRequest,
//!     WorkloadIdentityConfig,
//! };
//!
//! let config = WorkloadIdentityConfig::from_env_with(|name| match name {
//!     "AZURE_CLIENT_ID" => Some("11111111-2222-3333-4444-555555555555".into()),
//!     "AZURE_TENANT_ID" => Some("72f988bf-0000-4000-8000-000000000001".into()),
//!     "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/secrets/azure/tokens/azure-identity-token".into()),
//!     _ => None,
//! })?;
//! // In a pod: Assertion::read_token_file(config.token_file())?
//! let assertion = Assertion::new("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")?;
//! let scopes: [Scope; 1] = ["https://vault.azure.net/.default".parse()?];
//! let request = TokenRequest::new(
//!     &config, &assertion, &scopes, None, &ClientRequestId::from_random_bytes([42; 16]),
//! )?;
//! assert_eq!(request.method(), "POST");
//!
//! // ... send `request` with any HTTP client; suppose Entra ID answers:
//! let (status, body) = (400, br#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found.","error_codes":[90002]}"#);
//! let now = SystemTime::now();
//! let err = parse_token_response(status, body, now)
//!     .unwrap_err()
//!     .with_diagnosis(&DiagnosisInput::new(&config, &assertion, now));
//! assert!(err.to_string().starts_with("AADSTS90002: Tenant not found."));
//! assert!(err.diagnosis().unwrap().contains("check AZURE_TENANT_ID"));
//! # Ok::<(), azure_wi_auth::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "azure_core")]
mod azure_core_adapter;
mod backoff;
mod cache;
mod claims;
pub mod clock;
mod config;
mod credential;
mod diagnosis;
mod entra;
mod error;
mod ids;
pub mod keyvault;
mod request;
mod request_id;
mod response;
mod retry;
mod secret;
mod timefmt;
mod token;
pub mod transport;

#[cfg(test)]
mod testdata;

pub use backoff::{RetryPolicy, retry_after};
pub use claims::AssertionClaims;
pub use config::{
    AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_TENANT_ID,
    WorkloadIdentityConfig, WorkloadIdentityConfigBuilder,
};
pub use credential::{WorkloadIdentityCredential, WorkloadIdentityCredentialBuilder};
pub use diagnosis::{DiagnosisInput, diagnose, token_file_age};
pub use error::Error;
pub use ids::{AuthorityHost, ClientId, DEFAULT_AUTHORITY_HOST, Scope, TenantId};
pub use keyvault::{Secret, SecretClient, SecretClientBuilder, SecretProperties};
pub use request::{JWT_BEARER_ASSERTION_TYPE, TokenRequest, USER_AGENT};
pub use request_id::ClientRequestId;
pub use response::{EntraError, parse_token_response};
pub use retry::{Retry, retry_class};
pub use secret::SecretValue;
pub use token::{AccessToken, Assertion};
