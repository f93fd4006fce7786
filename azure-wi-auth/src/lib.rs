//! Azure workload identity for applications running in a pod that the
//! `webhook` crate mutated, and for node daemons acting for many pods:
//! Microsoft Entra ID access tokens for a workload's identity, and Key
//! Vault clients (secrets, keys, certificates) that use them.
//!
//! The webhook gives the pod its client id, tenant id, authority host and
//! the path of a projected Kubernetes ServiceAccount token (a JWT the
//! kubelet rotates), in the variables named in [`names`]. The credential
//! exchanges that JWT at Entra ID for an access token: an OAuth 2.0 client
//! credentials request whose client assertion is the JWT.
//!
//! # Reading a secret in a pod
//!
//! ```no_run
//! use azure_wi_auth::{SecretClient, WorkloadIdentityCredential};
//!
//! # async fn run() -> Result<(), azure_wi_auth::Error> {
//! let credential = WorkloadIdentityCredential::from_env()?;
//! let client = SecretClient::new("https://orders-kv.vault.azure.net", credential)?;
//! let secret = client.get_secret("db-password").await?;
//! let password: &str = secret.value.expose();
//! # let _ = password;
//! # Ok(())
//! # }
//! ```
//!
//! Nothing else is needed in a pod, and the same code runs against the
//! emulator or behind a TLS-inspecting proxy: `HTTPS_PROXY` and
//! `AZURE_WI_EXTRA_CA_FILE` (a PEM file of extra root CAs) are read by the
//! default transport.
//!
//! # Design
//!
//! * **Credential** ([`WorkloadIdentityCredential`]): reads the token file
//!   for every exchange (without blocking the async runtime), because the
//!   kubelet rotates it; sends the token request; turns Entra ID's refusals
//!   into an [`Error::Entra`] with a local [diagnosis](diagnose) of the
//!   common AADSTS codes.
//! * **Identity bindings** ([`TokenProxy`]): in a pod given
//!   `AZURE_KUBERNETES_TOKEN_PROXY`, the exchange goes to AKS's token proxy
//!   with its TLS name and CA, by the rules of Microsoft's SDKs.
//! * **Per-call assertions** ([`AssertionCredential`]): for a node daemon
//!   (a CSI provider) acting for many pods, each call brings the pod's
//!   [`FederatedIdentity`] and ServiceAccount token. Tokens are cached per
//!   tenant, client id and the assertion's issuer, subject and audience
//!   (read unverified, never the token itself), so replicas of one
//!   ServiceAccount share one exchange and two pods never share a token
//!   unless they present the same identity. [`AssertionCredential::for_workload`]
//!   binds it to one pod for a Key Vault client ([`VaultCredential`]).
//! * **Cache**: one entry per identity, scopes and claims. Concurrent callers
//!   on a cold entry cause one request and each get its outcome; a token is
//!   refreshed in the background ahead of expiry while the current one is
//!   still served.
//! * **Retries**: one retry loop for Entra ID and Key Vault, for 408, 429,
//!   5xx and network errors, honouring `Retry-After`, bounded by a
//!   [`RetryPolicy`], timed on the injected [`clock::Clock`].
//! * **Transport** ([`transport`]): a [`transport::Transport`] trait with a
//!   reqwest implementation, [`transport::ReqwestTransport::from_env`]:
//!   rustls on the *ring* provider, passed to the client's TLS config (the
//!   crate installs no process-wide provider), the platform's roots plus
//!   `AZURE_WI_EXTRA_CA_FILE`'s, `HTTPS_PROXY` honoured.
//! * **Key Vault** ([`SecretClient`]): read, write and list secrets, with
//!   the vault's authentication challenge checked before any token is sent;
//!   it shares the credential's transport and clock. [`KeyClient`] and
//!   [`CertificateClient`], made from it, read keys (public JSON Web Keys,
//!   RSA or EC) and certificates (the leaf DER and the ids of its key and
//!   secret) with their versions; a certificate's private key is its
//!   secret, whose `content_type` and `key_id` say so.
//! * **Delivery services** ([`delivery`]): what the CSI provider and
//!   secret-sync read Key Vault through, defined once: the
//!   [`delivery::VaultObjects`] trait (secret, key, certificate, versions,
//!   a vault's secrets with tags), each call made as a workload presenting
//!   its ServiceAccount token or as the process's own identity
//!   ([`delivery::ReadAs`]); [`WorkloadVaults`] implements it, sharing one
//!   credential per cloud and learning each vault's challenge once, by
//!   itself; failures come as one classified [`delivery::VaultError`]
//!   (not found, a role to grant, disabled, throttled with the wait, a
//!   federated credential mismatch with its diagnosis, ...). With feature
//!   `memory-vault`, [`delivery::memory::MemoryVault`] is the contract in
//!   memory, for those services' tests.
//! * With feature `pfx`, `pfx::read` reads a certificate's PKCS#12 as Key
//!   Vault serves it (its empty password is the zero-length one, which
//!   readers that follow RFC 7292 alone refuse): the keys and certificates
//!   the CSI provider mounts and the emulator imports.
//! * **The exchange as pure functions**, for callers with their own HTTP
//!   stack: [`WorkloadIdentityConfig`], [`Assertion`], [`TokenRequest`],
//!   [`parse_token_response`], [`retry_class`] and [`diagnose`].
//! * With feature `azure_core`, the credential is also a `TokenCredential`
//!   of Microsoft's official Rust SDK.
//!
//! # Errors
//!
//! One [`Error`] enum, `Clone`, whose messages name the input at fault (a
//! variable, a file, a tenant, a secret) and say what to check. Callers match
//! its variants directly, including on errors that several callers of
//! [`WorkloadIdentityCredential::get_token`] shared.
//!
//! Secrets stay secret: `Debug` and `Display` of [`AccessToken`],
//! [`Assertion`], [`TokenRequest`], [`SecretValue`] and [`Error`] never show
//! a token, an assertion or a secret value.
//!
//! # The exchange without this crate's HTTP client
//!
//! ```
//! use std::time::SystemTime;
//! use azure_wi_auth::{
//!     names, parse_token_response, Assertion, ClientRequestId, DiagnosisInput, Scope,
//!     TokenRequest, WorkloadIdentityConfig,
//! };
//!
//! let config = WorkloadIdentityConfig::from_env_with(|name| match name {
//!     names::CLIENT_ID_ENV => Some("11111111-2222-3333-4444-555555555555".into()),
//!     names::TENANT_ID_ENV => Some("72f988bf-0000-4000-8000-000000000001".into()),
//!     names::FEDERATED_TOKEN_FILE_ENV => Some(names::TOKEN_FILE_PATH.into()),
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

mod assertion_credential;
#[cfg(feature = "azure_core")]
mod azure_core_adapter;
mod cache;
mod claims;
pub mod clock;
mod config;
mod credential;
pub mod delivery;
mod diagnosis;
mod entra;
mod error;
mod exchange;
mod flight;
mod ids;
pub mod keyvault;
#[cfg(feature = "pfx")]
pub mod pfx;
mod request;
mod request_id;
mod response;
mod retry;
mod secret;
mod timefmt;
mod token;
mod token_proxy;
pub mod transport;

#[cfg(test)]
mod testdata;

/// The names of the workload identity contract (environment variables,
/// annotations, the default audience), from `azure-wi-core`.
pub use azure_wi_core::names;

pub use assertion_credential::{
    AssertionCredential, AssertionCredentialBuilder, FederatedIdentity,
};
pub use claims::AssertionClaims;
pub use config::{WorkloadIdentityConfig, WorkloadIdentityConfigBuilder};
pub use credential::{
    SINGLE_FLIGHT_TRACE_TARGET, WorkloadIdentityCredential, WorkloadIdentityCredentialBuilder,
};
pub use diagnosis::{DiagnosisInput, diagnose, token_file_age};
pub use error::Error;
pub use ids::{AuthorityHost, ClientId, DEFAULT_AUTHORITY_HOST, Scope, TenantId};
pub use keyvault::{
    BoundAssertion, Certificate, CertificateClient, CertificateProperties, Challenge, EcCurve,
    JsonWebKey, Key, KeyClient, KeyProperties, Secret, SecretClient, SecretClientBuilder,
    SecretProperties, SetSecretOptions, VaultCredential, WorkloadVaults,
};
pub use request::{JWT_BEARER_ASSERTION_TYPE, TokenRequest, USER_AGENT};
pub use request_id::ClientRequestId;
pub use response::{EntraError, parse_token_response};
pub use retry::{Retry, RetryPolicy, retry_after, retry_class};
pub use secret::SecretValue;
pub use token::{AccessToken, Assertion};
pub use token_proxy::{TokenProxy, TokenProxyCa};
