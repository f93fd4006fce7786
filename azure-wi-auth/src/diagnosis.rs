//! Explaining Entra ID's refusals with what this pod can see locally: the
//! configuration, the assertion's (unverified) claims and the token file's age.
//!
//! A diagnosis quotes decoded claim values only, never the assertion itself
//! or its signature.

use std::path::Path;
use std::time::{Duration, SystemTime};

use azure_wi_core::names::{CLIENT_ID_ANNOTATION, DEFAULT_AUDIENCE, FEDERATED_TOKEN_FILE_ENV};

use crate::timefmt::{human_duration, rfc3339, rfc3339_unix, unix_seconds};
use crate::{
    Assertion, AssertionClaims, AuthorityHost, ClientId, EntraError, Error, TenantId,
    WorkloadIdentityConfig,
};

/// The AADSTS codes of a federated identity credential that does not match
/// the presented token: none matches (70021), none has its issuer
/// (700211), audience (700212) or subject (700213), or one differs from its
/// subject only in letter case (7002138).
pub(crate) const FEDERATED_MISMATCH_CODES: [u32; 5] = [70021, 700_211, 700_212, 700_213, 7_002_138];

/// Lifetime assumed for a token without `iat`/`exp`: the webhook's default
/// projected token lifetime.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// What [`diagnose`] looks at besides Entra's error: the configuration the
/// request was built from, the assertion that was sent, the time, and
/// optionally how long ago the token file was last written.
#[derive(Debug, Clone, Copy)]
pub struct DiagnosisInput<'a> {
    client_id: &'a ClientId,
    tenant_id: &'a TenantId,
    authority_host: &'a AuthorityHost,
    /// Where the assertion was read from; `None` when the caller passed it
    /// (a node daemon or controller holding a ServiceAccount token).
    token_file: Option<&'a Path>,
    assertion: &'a Assertion,
    now: SystemTime,
    token_file_age: Option<Duration>,
}

impl<'a> DiagnosisInput<'a> {
    /// The facts every diagnosis can use.
    #[must_use]
    pub fn new(
        config: &'a WorkloadIdentityConfig,
        assertion: &'a Assertion,
        now: SystemTime,
    ) -> Self {
        Self {
            client_id: config.client_id(),
            tenant_id: config.tenant_id(),
            authority_host: config.authority_host(),
            token_file: Some(config.token_file()),
            assertion,
            now,
            token_file_age: None,
        }
    }

    /// The facts of an exchange whose assertion the caller passed
    /// ([`AssertionCredential`](crate::AssertionCredential)): no token file
    /// to give advice about.
    #[must_use]
    pub fn for_assertion(
        identity: &'a crate::FederatedIdentity,
        authority_host: &'a AuthorityHost,
        assertion: &'a Assertion,
        now: SystemTime,
    ) -> Self {
        Self {
            client_id: identity.client_id(),
            tenant_id: identity.tenant_id(),
            authority_host,
            token_file: None,
            assertion,
            now,
            token_file_age: None,
        }
    }

    /// Adds the time since the token file was last modified (see
    /// [`token_file_age`]), which tells whether the kubelet still rotates it.
    #[must_use]
    pub fn with_token_file_age(mut self, age: Duration) -> Self {
        self.token_file_age = Some(age);
        self
    }
}

/// Time since `path` was last modified, as seen at `now`; `None` when the
/// file or its modification time cannot be read, or lies in the future.
#[must_use]
pub fn token_file_age(path: &Path, now: SystemTime) -> Option<Duration> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    now.duration_since(modified).ok()
}

/// Explains an Entra ID error from local facts, for the AADSTS codes where
/// that helps: 70021, 700211, 700212, 700213 and 7002138 (no matching
/// federated identity credential), 700024 (assertion outside its validity
/// window), 700016 (unknown client), 90002 (unknown tenant) and 50027
/// (malformed assertion). `None` for other codes.
///
/// The assertion's claims are decoded without verifying the signature; they
/// are only quoted, never trusted.
#[must_use]
pub fn diagnose(error: &EntraError, input: &DiagnosisInput<'_>) -> Option<String> {
    match error.code()? {
        code if FEDERATED_MISMATCH_CODES.contains(&code) => Some(credential_mismatch(code, input)),
        700_024 => Some(validity_window(input)),
        700_016 => Some(format!(
            "client id {} was not found in tenant {}: check that AZURE_CLIENT_ID (the ServiceAccount's \
             {CLIENT_ID_ANNOTATION} annotation) is the application (client) id of an app \
             registration or user-assigned managed identity in that tenant, and that AZURE_TENANT_ID \
             is the tenant it belongs to.",
            input.client_id, input.tenant_id
        )),
        90002 => Some(format!(
            "tenant {} was not found at {}: check AZURE_TENANT_ID, and that AZURE_AUTHORITY_HOST is the \
             cloud the tenant lives in (e.g. https://login.microsoftonline.us/ for Azure US Government, \
             https://login.chinacloudapi.cn/ for Azure China).",
            input.tenant_id, input.authority_host
        )),
        50027 => Some(malformed_assertion(input)),
        _ => None,
    }
}

impl Error {
    /// Attaches [`diagnose`]'s explanation to an [`Error::Entra`] (shown
    /// after Entra's message); any other error is returned unchanged.
    #[must_use]
    pub fn with_diagnosis(self, input: &DiagnosisInput<'_>) -> Self {
        match self {
            Error::Entra { entra, .. } => {
                let diagnosis = diagnose(&entra, input);
                Error::Entra { entra, diagnosis }
            }
            other => other,
        }
    }
}

/// The claims, or why they cannot be read (without the error's prefix).
fn claims(input: &DiagnosisInput<'_>) -> Result<AssertionClaims, String> {
    AssertionClaims::decode_unverified(input.assertion).map_err(|e| match e {
        Error::AssertionNotJwt { reason } => reason,
        other => other.to_string(),
    })
}

fn quoted(value: Option<&str>) -> String {
    value.map_or_else(|| "(missing)".to_owned(), |v| format!("'{v}'"))
}

fn credential_mismatch(code: u32, input: &DiagnosisInput<'_>) -> String {
    let audience_lead = format!(
        "no federated identity credential has the token's audience: compare the audience first \
         (webhook-projected tokens are for {DEFAULT_AUDIENCE})."
    );
    let lead = match code {
        700_211 => {
            "no federated identity credential has the token's issuer: compare the issuer first \
             (a trailing '/' counts; AKS issuers end with '/')."
        }
        700_212 => audience_lead.as_str(),
        700_213 => {
            "no federated identity credential has the token's subject: compare the subject first \
             (system:serviceaccount:<namespace>:<serviceaccount name>)."
        }
        7_002_138 => {
            "a federated identity credential's subject differs from the token's subject only in \
             letter case, and Entra ID compares subjects case-sensitively."
        }
        _ => {
            "no federated identity credential matches the token (one created in the last few \
             minutes may not have propagated yet)."
        }
    };
    let client = input.client_id;
    match claims(input) {
        Ok(claims) => {
            let audience = match claims.aud.as_slice() {
                [] => "audience is (missing)".to_owned(),
                [one] => format!("audience is '{one}'"),
                many => format!("audiences are '{}'", many.join("', '")),
            };
            format!(
                "{lead} The token's issuer is {}, subject is {}, {audience}; a federated identity \
                 credential on client {client} must match them exactly, case included.",
                quoted(claims.iss.as_deref()),
                quoted(claims.sub.as_deref()),
            )
        }
        Err(e) => format!(
            "{lead} The token's claims could not be read here ({e}); a federated identity credential \
             on client {client} must match its issuer, subject and audience exactly, case included."
        ),
    }
}

fn validity_window(input: &DiagnosisInput<'_>) -> String {
    let (mut text, expired, lifetime) = match claims(input) {
        Ok(claims) => window(&claims, input.now),
        Err(e) => (
            format!("the token's validity window could not be read here ({e})."),
            false,
            DEFAULT_TOKEN_LIFETIME,
        ),
    };
    let Some(path) = input.token_file.map(Path::display) else {
        return text
            + " The ServiceAccount token presented must be a current one: request a new token \
               (TokenRequest) rather than reusing an old one.";
    };
    text += &match input.token_file_age {
        Some(age) if age > lifetime => format!(
            " The token file {path} was last modified {} ago. The kubelet rotates the projected \
             token (at about 80% of its lifetime); a file that old means the token is not being \
             refreshed or was copied.",
            human_duration(age)
        ),
        Some(age) if expired => format!(
            " The token file {path} was last modified only {} ago, so the token sent was read from \
             it long before, or the file holds a copied token: read the file again for each token \
             request.",
            human_duration(age)
        ),
        Some(age) => format!(
            " The token file {path} was last modified {} ago.",
            human_duration(age)
        ),
        None => format!(
            " The kubelet rotates the projected token: check that {path} is the projected volume, \
             not a copy, and that it is read again for each token request."
        ),
    };
    text
}

/// The validity window compared with `now`; also whether the token has
/// expired and how long tokens from this issuer live.
fn window(claims: &AssertionClaims, now: SystemTime) -> (String, bool, Duration) {
    let now_s = unix_seconds(now);
    let from = claims.nbf.or(claims.iat);
    let show = |t: Option<i64>| t.map_or_else(|| "(missing)".to_owned(), rfc3339_unix);
    let gap = |a: i64, b: i64| human_duration(Duration::from_secs(a.abs_diff(b)));
    let head = format!(
        "the token's validity window is {} to {}, and now is {}",
        show(from),
        show(claims.exp),
        rfc3339(now)
    );
    let expired = claims.exp.is_some_and(|exp| now_s >= exp);
    let verdict = match (from, claims.exp) {
        (_, Some(exp)) if expired => format!(": it expired {} ago.", gap(now_s, exp)),
        (Some(from), _) if now_s < from => format!(
            ": it only becomes valid in {}, so this node's clock is behind; check time \
             synchronisation.",
            gap(from, now_s)
        ),
        (Some(_), Some(_)) => ": by this node's clock it is valid, so this clock or Entra ID's is \
                               off; check time synchronisation."
            .to_owned(),
        _ => ".".to_owned(),
    };
    let lifetime = match (claims.iat, claims.exp) {
        (Some(iat), Some(exp)) if exp > iat => Duration::from_secs(exp.abs_diff(iat)),
        _ => DEFAULT_TOKEN_LIFETIME,
    };
    (head + &verdict, expired, lifetime)
}

fn malformed_assertion(input: &DiagnosisInput<'_>) -> String {
    let lead = match input.token_file {
        Some(path) => format!(
            "Entra ID could not read the client assertion as a JWT: check that {FEDERATED_TOKEN_FILE_ENV} \
             ({}) is the projected ServiceAccount token.",
            path.display()
        ),
        None => "Entra ID could not read the client assertion as a JWT: the ServiceAccount token \
                 presented is not one."
            .to_owned(),
    };
    match claims(input) {
        Err(e) => format!("{lead} It is not a JWT here either: {e}."),
        Ok(claims) => format!(
            "{lead} It decodes here (issuer {}), so it may have been truncated or altered.",
            quoted(claims.iss.as_deref())
        ),
    }
}

#[cfg(test)]
#[path = "diagnosis_tests.rs"]
mod tests;
