//! The crate's single error type.

use std::{path::PathBuf, sync::Arc};

use azure_wi_core::names::{
    CLIENT_ID_ANNOTATION, CLIENT_ID_ENV, EXTRA_CA_FILE_ENV, FEDERATED_TOKEN_FILE_ENV,
    SKIP_CONTAINERS_ANNOTATION, TENANT_ID_ANNOTATION, TENANT_ID_ENV, USE_LABEL,
};

use crate::response::EntraError;

/// Everything that can go wrong in this crate, in one enum so that callers
/// match in one place.
///
/// Every message names the input at fault (an environment variable, a file
/// path, a tenant, a client id) and says what to check. No variant holds an
/// access token or a client assertion, so printing an `Error` with `{}` or
/// `{:?}` never leaks a credential. The enum is `#[non_exhaustive]` because
/// new failure kinds can be added without breaking callers.
///
/// It is `Clone` (the few foreign errors it holds are behind an [`Arc`]) so
/// that when many callers wait for one token request, each of them gets the
/// request's own error, variant and all, to match on.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A required environment variable is missing or empty. In a pod it
    /// means the workload identity webhook did not mutate the pod.
    #[error("{name} is not set: {}", env_hint(name))]
    EnvVarMissing {
        /// Name of the variable, e.g. `AZURE_CLIENT_ID`.
        name: &'static str,
    },

    /// An environment variable holds bytes that are not UTF-8.
    #[error("{name} is not valid UTF-8; it must hold plain text")]
    EnvVarNotUnicode {
        /// Name of the variable.
        name: &'static str,
    },

    /// An environment variable is set but its value is rejected.
    #[error("{name} is invalid: {reason}")]
    EnvVarInvalid {
        /// Name of the variable.
        name: &'static str,
        /// Why the value was rejected (an `Invalid*` variant).
        reason: Box<Error>,
    },

    /// `WorkloadIdentityConfig::builder()` was asked to build without a
    /// required value.
    #[error(
        "WorkloadIdentityConfig builder: {field} was not set or is empty; call .{field}(..) before .build()"
    )]
    BuilderFieldMissing {
        /// Name of the builder method that was not called.
        field: &'static str,
    },

    /// A client id was empty or contained whitespace.
    #[error("client id {value:?} is invalid: {reason}")]
    InvalidClientId {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A tenant id was empty or contained characters Entra ID never uses.
    #[error("tenant id {value:?} is invalid: {reason}")]
    InvalidTenantId {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Another value of the workload identity contract was refused (a cloud
    /// name, an audience); the inner error names it.
    #[error(transparent)]
    InvalidContractValue(azure_wi_core::Error),

    /// An authority host was not an absolute `https` URL.
    #[error("authority host {value:?} is invalid: {reason}")]
    InvalidAuthorityHost {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A scope was empty or contained whitespace (scopes are space-joined on
    /// the wire, so a space would split one scope into two).
    #[error("scope {value:?} is invalid: {reason}")]
    InvalidScope {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A client request id was not a UUID in its usual text form.
    #[error(
        "client request id {value:?} is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (hex digits)"
    )]
    InvalidClientRequestId {
        /// The rejected value.
        value: String,
    },

    /// A token request was built with an empty list of scopes.
    #[error("a token request needs at least one scope, e.g. https://vault.azure.net/.default")]
    NoScopes,

    /// The federated token file could not be read.
    #[error("cannot read the federated token file {}: {error}; it should be the projected ServiceAccount token that {FEDERATED_TOKEN_FILE_ENV} points at", path.display())]
    TokenFileUnreadable {
        /// The file that was read.
        path: PathBuf,
        /// The operating system's reason (shared, so that the error can be
        /// cloned).
        error: Arc<std::io::Error>,
    },

    /// The federated token file exists but holds nothing but whitespace.
    #[error("the federated token file {} is empty; the kubelet writes the projected ServiceAccount token there, so check the pod's projected volume", path.display())]
    TokenFileEmpty {
        /// The file that was read.
        path: PathBuf,
    },

    /// The federated token file is not UTF-8 text, so it cannot be a JWT.
    #[error("the federated token file {} is not UTF-8 text, so it is not a ServiceAccount token (JWT); check {FEDERATED_TOKEN_FILE_ENV}", path.display())]
    TokenFileNotUtf8 {
        /// The file that was read.
        path: PathBuf,
    },

    /// A client assertion given directly (not from a file) was empty.
    #[error(
        "the client assertion is empty; it must be a JWT such as a Kubernetes ServiceAccount token"
    )]
    EmptyAssertion,

    /// The client assertion could not be decoded as a JWT locally. The reason
    /// never quotes the assertion.
    #[error("the client assertion is not a readable JWT: {reason}")]
    AssertionNotJwt {
        /// What is wrong with it.
        reason: String,
    },

    /// A client assertion given per call lacks a claim that Entra ID matches
    /// federated identity credentials on, so no token can be asked for it
    /// (nor served from the cache).
    #[error(
        "the client assertion has no {claim} claim; Entra ID matches federated identity credentials on the issuer (iss) and subject (sub), so pass the workload's Kubernetes ServiceAccount token"
    )]
    AssertionClaimMissing {
        /// `iss` or `sub`.
        claim: &'static str,
    },

    /// A client assertion given per call has expired: Entra ID would refuse
    /// it (AADSTS700024), so it gets no token, cached or new.
    #[error(
        "the client assertion for {subject} expired at {exp} (Unix seconds); pass the token the kubelet provided for this request, not a stored one"
    )]
    AssertionExpired {
        /// The assertion's `sub` claim (not a secret).
        subject: String,
        /// Its `exp` claim, Unix seconds.
        exp: i64,
    },

    /// Entra ID rejected the token request with its usual error body.
    #[error("{entra}{}", diagnosis_suffix(diagnosis.as_deref()))]
    Entra {
        /// Entra ID's error: AADSTS code, description, trace and correlation ids.
        entra: Box<EntraError>,
        /// A local explanation of the failure, when this crate knows the code
        /// (see [`Error::with_diagnosis`]).
        diagnosis: Option<String>,
    },

    /// The token endpoint answered 2xx, but the body is not a usable token
    /// response. The body is not quoted: it may hold a token.
    #[error(
        "the token endpoint answered HTTP {status} but the body is not a valid token response: {problem}"
    )]
    MalformedTokenResponse {
        /// HTTP status of the response.
        status: u16,
        /// What is wrong with the body.
        problem: String,
    },

    /// The token endpoint answered an error status with a body that is not
    /// Entra ID's error JSON, as proxies and gateways do. The start of the
    /// body is quoted to help find who answered.
    #[error(
        "the token endpoint answered HTTP {status} with a body that is {problem}; the body starts with {excerpt:?}; check AZURE_AUTHORITY_HOST and any proxy between this pod and Entra ID"
    )]
    UnrecognizedErrorResponse {
        /// HTTP status of the response.
        status: u16,
        /// Why the body was not understood.
        problem: &'static str,
        /// At most about 200 characters of the body.
        excerpt: String,
    },

    /// The HTTP request could not be sent or its answer not read (connect,
    /// TLS, time-out). Retried; this is the last attempt's reason.
    #[error("request to {url} failed: {message}")]
    Transport {
        /// Where the request went (never with a query that holds a secret).
        url: String,
        /// The network-level reason.
        message: String,
    },

    /// The HTTP client could not be built (e.g. an unusable extra root CA).
    #[error("HTTP client: {reason}")]
    HttpClient {
        /// What went wrong.
        reason: String,
    },

    /// The file of extra root CAs named by `AZURE_WI_EXTRA_CA_FILE` (see
    /// [`EXTRA_CA_FILE_ENV`]) cannot be used. The default transport fails
    /// rather than ignore it: a trust the operator asked for that silently
    /// does not happen only shows up later as a TLS error far from its cause.
    #[error("{EXTRA_CA_FILE_ENV} names {}, which {problem}; it must be a PEM file of root CA certificates to trust (a TLS-inspecting proxy's, or the emulator's)", path.display())]
    ExtraCaFile {
        /// The file the variable names.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },

    /// The identity binding's token proxy settings cannot be used (the
    /// `AZURE_KUBERNETES_*` variables, or the builder's
    /// [`TokenProxy`](crate::TokenProxy)).
    #[error("{variable}: {problem}")]
    TokenProxy {
        /// The variable at fault.
        variable: &'static str,
        /// What is wrong, in the SDKs' words where they have them.
        problem: String,
    },

    /// A vault URL that is not an absolute `https` URL without a path.
    #[error("vault URL {value:?} is invalid: {reason}")]
    InvalidVaultUrl {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Key Vault's authentication challenge was missing, malformed or not
    /// to be trusted.
    #[error("Key Vault {vault}: {problem}")]
    Challenge {
        /// The vault's URL.
        vault: String,
        /// What is wrong.
        problem: String,
    },

    /// The secret (or that version of it) does not exist.
    #[error("secret {name}{} was not found in Key Vault {vault} (SecretNotFound); check the name, or whether it was deleted", version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default())]
    SecretNotFound {
        /// The vault's URL.
        vault: String,
        /// The secret's name.
        name: String,
        /// The version asked for, if any.
        version: Option<String>,
    },

    /// The key (or that version of it) does not exist.
    #[error("key {name}{} was not found in Key Vault {vault} (KeyNotFound); check the name, or whether it was deleted", version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default())]
    KeyNotFound {
        /// The vault's URL.
        vault: String,
        /// The key's name.
        name: String,
        /// The version asked for, if any.
        version: Option<String>,
    },

    /// The certificate (or that version of it) does not exist.
    #[error("certificate {name}{} was not found in Key Vault {vault} (CertificateNotFound); check the name, or whether it was deleted", version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default())]
    CertificateNotFound {
        /// The vault's URL.
        vault: String,
        /// The certificate's name.
        name: String,
        /// The version asked for, if any.
        version: Option<String>,
    },

    /// Key Vault refused the identity (403).
    #[error(
        "Key Vault {vault} refused {what} ({code}): {message}{}",
        role_hint(role)
    )]
    Forbidden {
        /// The vault's URL.
        vault: String,
        /// What was attempted, naming the object.
        what: String,
        /// `innererror.code` when present (`ForbiddenByRbac`, `SecretDisabled`), else `error.code`.
        code: String,
        /// Key Vault's message (first line).
        message: String,
        /// The role that grants it, when the refusal is about a role.
        role: Option<&'static str>,
    },

    /// Any other error answer from Key Vault.
    #[error("Key Vault {vault} answered HTTP {status} to {what}: {code}: {message}")]
    KeyVault {
        /// The vault's URL.
        vault: String,
        /// What was attempted.
        what: String,
        /// HTTP status.
        status: u16,
        /// `error.code`.
        code: String,
        /// `error.message`.
        message: String,
        /// How long the vault asked callers to wait (`Retry-After` on a
        /// 429 or 503), after this client's own retries ran out: a caller
        /// with its own deadline (a CSI mount) can still wait it out.
        retry_after: Option<std::time::Duration>,
    },
}

impl From<azure_wi_core::Error> for Error {
    /// Keeps the id variants callers already match on.
    fn from(e: azure_wi_core::Error) -> Self {
        match e {
            azure_wi_core::Error::InvalidClientId { value, reason } => {
                Error::InvalidClientId { value, reason }
            }
            azure_wi_core::Error::InvalidTenantId { value, reason } => {
                Error::InvalidTenantId { value, reason }
            }
            azure_wi_core::Error::InvalidScope { value, reason } => {
                Error::InvalidScope { value, reason }
            }
            other => Error::InvalidContractValue(other),
        }
    }
}

impl Error {
    /// Entra ID's error, when the token endpoint sent one; `None` for every
    /// other kind of error.
    #[must_use]
    pub fn entra(&self) -> Option<&EntraError> {
        match self {
            Error::Entra { entra, .. } => Some(entra),
            _ => None,
        }
    }

    /// The local diagnosis attached by [`Error::with_diagnosis`], if any.
    #[must_use]
    pub fn diagnosis(&self) -> Option<&str> {
        match self {
            Error::Entra { diagnosis, .. } => diagnosis.as_deref(),
            _ => None,
        }
    }
}

fn role_hint(role: &Option<&'static str>) -> String {
    role.map(|r| {
        format!("; the identity needs the {r} role on the vault or the object (Azure RBAC)")
    })
    .unwrap_or_default()
}

/// Where each variable normally comes from, so the message says what to fix.
fn env_hint(name: &str) -> String {
    let pods = format!("pods labelled {USE_LABEL}=\"true\"");
    match name {
        CLIENT_ID_ENV => format!(
            "the azure-workload-identity webhook injects it into {pods} whose ServiceAccount has \
             the {CLIENT_ID_ANNOTATION} annotation"
        ),
        TENANT_ID_ENV => format!(
            "the azure-workload-identity webhook injects it into {pods}, from the \
             ServiceAccount's {TENANT_ID_ANNOTATION} annotation or the webhook's default tenant"
        ),
        FEDERATED_TOKEN_FILE_ENV => format!(
            "the azure-workload-identity webhook injects it, with the projected ServiceAccount \
             token volume it points at, into {pods} (containers listed in \
             {SKIP_CONTAINERS_ANNOTATION} get nothing)"
        ),
        _ => "the azure-workload-identity webhook sets it in mutated pods".to_owned(),
    }
}

fn diagnosis_suffix(diagnosis: Option<&str>) -> String {
    diagnosis.map_or_else(String::new, |d| format!("\ndiagnosis: {d}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_client_id_names_variable_and_webhook() {
        let msg = Error::EnvVarMissing {
            name: CLIENT_ID_ENV,
        }
        .to_string();
        assert!(msg.starts_with("AZURE_CLIENT_ID is not set: "), "{msg}");
        assert!(
            msg.contains("azure.workload.identity/use=\"true\""),
            "{msg}"
        );
        assert!(msg.contains(CLIENT_ID_ANNOTATION), "{msg}");
    }

    #[test]
    fn invalid_env_var_shows_variable_and_reason() {
        let msg = Error::EnvVarInvalid {
            name: "AZURE_TENANT_ID",
            reason: Box::new(Error::InvalidTenantId {
                value: "a b".into(),
                reason: "bad char".into(),
            }),
        }
        .to_string();
        assert_eq!(
            msg,
            "AZURE_TENANT_ID is invalid: tenant id \"a b\" is invalid: bad char"
        );
    }

    #[test]
    fn unrecognized_body_quotes_excerpt_on_one_line() {
        let msg = Error::UnrecognizedErrorResponse {
            status: 502,
            problem: "not JSON",
            excerpt: "<html>\r\nBad Gateway".into(),
        }
        .to_string();
        assert!(msg.contains("HTTP 502"), "{msg}");
        assert!(msg.contains(r#""<html>\r\nBad Gateway""#), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
