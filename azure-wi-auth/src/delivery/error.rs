//! [`VaultError`]: a failed read, classified once for every delivery
//! service.

use std::time::Duration;

use azure_wi_core::names::{CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV, TENANT_ID_ENV, USE_LABEL};

use super::ObjectKind;
use crate::{Error, diagnosis::FEDERATED_MISMATCH_CODES};

/// The wait assumed when Key Vault throttles (429, or 503) without a
/// `Retry-After`. Key Vault counts its limits per vault over 10-second
/// windows, so 10 s is the shortest wait certain to reach a window the
/// throttled requests did not fill; a shorter guess risks being refused
/// again, which only prolongs the throttling.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Why a read from Key Vault failed, in the classes a caller acts on.
///
/// Every variant but [`VaultError::NoOwnIdentity`] and
/// [`VaultError::TokenProxyUnavailable`] keeps the error it was
/// classified from as its `source`, and shows that error's message, which
/// names the object, the vault and the fix; neither ever holds a token, an
/// assertion or a secret value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The object, or that version of it, does not exist (404).
    #[error("{source}")]
    NotFound {
        /// What kind of object was asked for.
        kind: ObjectKind,
        /// The vault's URL.
        vault: String,
        /// The object's name.
        name: String,
        /// The version asked for, `None` for the current one.
        version: Option<String>,
        /// Key Vault's answer.
        source: Box<Error>,
    },
    /// Key Vault refused the identity (403): a role to grant.
    #[error("{source}")]
    Forbidden {
        /// The vault's URL.
        vault: String,
        /// The role that grants the read, when the refusal is about a role
        /// (`ForbiddenByRbac`, `AccessDenied`).
        role: Option<&'static str>,
        /// Key Vault's answer.
        source: Box<Error>,
    },
    /// The object is disabled: Key Vault refuses it with 403, but no role
    /// cures it; it must be enabled.
    #[error("{source}")]
    Disabled {
        /// The vault's URL.
        vault: String,
        /// Key Vault's answer.
        source: Box<Error>,
    },
    /// Key Vault is throttling (429, or 503): ask again after
    /// `retry_after`, the vault's `Retry-After` or [`DEFAULT_RETRY_AFTER`].
    #[error("{source}")]
    Throttled {
        /// The vault's URL.
        vault: String,
        /// 429 or 503.
        status: u16,
        /// How long to wait.
        retry_after: Duration,
        /// Key Vault's answer.
        source: Box<Error>,
    },
    /// Entra ID found no federated identity credential matching the token
    /// (AADSTS70021 and its family).
    #[error("{source}")]
    FederatedCredentialMismatch {
        /// The AADSTS code.
        code: u32,
        /// [`diagnose`](crate::diagnose)'s explanation: which claim to
        /// compare first (issuer, audience, subject), or that only the
        /// letter case differs, with the token's claims next to what the
        /// credential must hold.
        diagnosis: String,
        /// Entra's refusal.
        source: Box<Error>,
    },
    /// Entra ID refused the token exchange otherwise, or it failed before
    /// Entra could answer with its error (an unusable ServiceAccount token,
    /// an answer that is not Entra's).
    #[error("{source}")]
    Entra {
        /// What failed.
        source: Box<Error>,
    },
    /// Key Vault or Entra could not be reached (DNS, connect, TLS,
    /// time-out).
    #[error("{source}")]
    Unreachable {
        /// The host called.
        host: String,
        /// The network-level reason.
        reason: String,
        /// The transport's error.
        source: Box<Error>,
    },
    /// Any other answer from Key Vault (a 5xx, a 400, a body that is not
    /// Key Vault's).
    #[error("{source}")]
    KeyVault {
        /// The vault's URL.
        vault: String,
        /// The HTTP status.
        status: u16,
        /// Key Vault's `error.code`.
        code: String,
        /// Key Vault's answer.
        source: Box<Error>,
    },
    /// The request could not be made as asked: a vault URL that is not
    /// one, a challenge from the vault that is not to be trusted, an HTTP
    /// client that cannot be built.
    #[error("{source}")]
    Other {
        /// What is wrong.
        source: Box<Error>,
    },
    /// A read was asked as this process's own identity, which it does not
    /// have.
    #[error(
        "this process has no workload identity of its own to read as: {CLIENT_ID_ENV}, \
         {TENANT_ID_ENV} and {FEDERATED_TOKEN_FILE_ENV} must all be set (label its pod \
         {USE_LABEL}: \"true\" for the webhook to set them), or the read must name a workload \
         identity (in secret-sync, the store's serviceAccountRef)"
    )]
    NoOwnIdentity,
    /// A read through an identity binding, without a usable token proxy.
    #[error("identity binding: proxy transport not available: {reason}")]
    TokenProxyUnavailable {
        /// Why there is none.
        reason: String,
    },
}

impl From<Error> for VaultError {
    /// The one mapping from this crate's errors to the classes delivery
    /// services act on.
    fn from(error: Error) -> Self {
        match error {
            Error::SecretNotFound {
                ref vault,
                ref name,
                ref version,
            } => not_found(ObjectKind::Secret, vault, name, version, error.clone()),
            Error::KeyNotFound {
                ref vault,
                ref name,
                ref version,
            } => not_found(ObjectKind::Key, vault, name, version, error.clone()),
            Error::CertificateNotFound {
                ref vault,
                ref name,
                ref version,
            } => not_found(ObjectKind::Cert, vault, name, version, error.clone()),
            Error::Forbidden {
                ref vault,
                ref code,
                ..
            } if code.ends_with("Disabled") => Self::Disabled {
                vault: vault.clone(),
                source: Box::new(error),
            },
            Error::Forbidden {
                ref vault, role, ..
            } => Self::Forbidden {
                vault: vault.clone(),
                role,
                source: Box::new(error),
            },
            Error::KeyVault {
                ref vault,
                status: status @ (429 | 503),
                retry_after,
                ..
            } => Self::Throttled {
                vault: vault.clone(),
                status,
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
                source: Box::new(error),
            },
            Error::KeyVault {
                ref vault,
                status,
                ref code,
                ..
            } => Self::KeyVault {
                vault: vault.clone(),
                status,
                code: code.clone(),
                source: Box::new(error),
            },
            Error::Transport {
                ref url,
                ref message,
            } => Self::Unreachable {
                host: url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_else(|| url.clone()),
                reason: message.clone(),
                source: Box::new(error),
            },
            Error::Entra { .. } => match (
                error.entra().and_then(|e| e.code()),
                error.diagnosis().map(str::to_owned),
            ) {
                (Some(code), Some(diagnosis)) if FEDERATED_MISMATCH_CODES.contains(&code) => {
                    Self::FederatedCredentialMismatch {
                        code,
                        diagnosis,
                        source: Box::new(error),
                    }
                }
                _ => Self::Entra {
                    source: Box::new(error),
                },
            },
            Error::EmptyAssertion
            | Error::AssertionNotJwt { .. }
            | Error::AssertionClaimMissing { .. }
            | Error::AssertionExpired { .. }
            | Error::MalformedTokenResponse { .. }
            | Error::UnrecognizedErrorResponse { .. } => Self::Entra {
                source: Box::new(error),
            },
            other => Self::Other {
                source: Box::new(other),
            },
        }
    }
}

fn not_found(
    kind: ObjectKind,
    vault: &str,
    name: &str,
    version: &Option<String>,
    source: Error,
) -> VaultError {
    VaultError::NotFound {
        kind,
        vault: vault.to_owned(),
        name: name.to_owned(),
        version: version.clone(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Assertion, AuthorityHost, DiagnosisInput, FederatedIdentity, parse_token_response,
    };

    const VAULT: &str = "https://kv1.vault.azure.net";

    fn key_vault(status: u16, retry_after: Option<Duration>) -> Error {
        Error::KeyVault {
            vault: VAULT.into(),
            what: "reading secret db".into(),
            status,
            code: "Throttled".into(),
            message: "slow down".into(),
            retry_after,
        }
    }

    /// Entra's refusal with `code`, diagnosed as the assertion credential
    /// diagnoses it.
    fn entra(code: u32) -> Error {
        let (status, body) = crate::testdata::entra_body(code);
        let identity = FederatedIdentity::new(
            "72f988bf-0000-4000-8000-000000000001".parse().unwrap(),
            "11111111-2222-3333-4444-555555555555".parse().unwrap(),
        );
        let authority: AuthorityHost = "https://login.microsoftonline.com/".parse().unwrap();
        let assertion = Assertion::new(crate::testdata::jwt(&crate::testdata::sa_claims(
            1_700_000_000,
            1_700_003_600,
        )))
        .unwrap();
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_100);
        parse_token_response(status, body.as_bytes(), now)
            .unwrap_err()
            .with_diagnosis(&DiagnosisInput::for_assertion(
                &identity, &authority, &assertion, now,
            ))
    }

    #[test]
    fn not_found_keeps_the_kind_name_and_version() {
        let classified = VaultError::from(Error::KeyNotFound {
            vault: VAULT.into(),
            name: "signing".into(),
            version: Some("v1".into()),
        });
        assert!(
            matches!(&classified, VaultError::NotFound { kind: ObjectKind::Key, name, version: Some(v), .. } if name == "signing" && v == "v1"),
            "{classified:?}"
        );
        assert!(
            classified.to_string().contains("KeyNotFound"),
            "{classified}"
        );
        assert!(std::error::Error::source(&classified).is_some());
    }

    #[test]
    fn a_403_is_a_role_unless_the_object_is_disabled() {
        let refusal = |code: &str, role| Error::Forbidden {
            vault: VAULT.into(),
            what: "reading secret db".into(),
            code: code.into(),
            message: "denied".into(),
            role,
        };
        assert!(matches!(
            VaultError::from(refusal("ForbiddenByRbac", Some("Key Vault Secrets User"))),
            VaultError::Forbidden {
                role: Some("Key Vault Secrets User"),
                ..
            }
        ));
        assert!(matches!(
            VaultError::from(refusal("SecretDisabled", None)),
            VaultError::Disabled { .. }
        ));
    }

    #[test]
    fn throttling_waits_as_asked_or_one_window() {
        for (status, asked, waited) in [
            (429, Some(Duration::from_secs(3)), Duration::from_secs(3)),
            (503, None, DEFAULT_RETRY_AFTER),
        ] {
            let classified = VaultError::from(key_vault(status, asked));
            assert!(
                matches!(classified, VaultError::Throttled { status: s, retry_after, .. } if s == status && retry_after == waited),
                "{classified:?}"
            );
        }
        assert!(matches!(
            VaultError::from(key_vault(500, None)),
            VaultError::KeyVault { status: 500, .. }
        ));
    }

    #[test]
    fn a_network_failure_names_the_host() {
        let classified = VaultError::from(Error::Transport {
            url: "https://kv1.vault.azure.net/secrets/db?api-version=1".into(),
            message: "connection refused".into(),
        });
        assert!(
            matches!(&classified, VaultError::Unreachable { host, reason, .. } if host == "kv1.vault.azure.net" && reason == "connection refused"),
            "{classified:?}"
        );
    }

    #[test]
    fn federated_credential_mismatches_carry_the_diagnosis_with_its_lead() {
        for (code, lead) in [
            (700_211, "compare the issuer first"),
            (700_212, "compare the audience first"),
            (7_002_138, "only in letter case"),
            (70021, "no federated identity credential matches the token"),
        ] {
            let classified = VaultError::from(entra(code));
            let VaultError::FederatedCredentialMismatch {
                code: got,
                diagnosis,
                ..
            } = &classified
            else {
                panic!("{classified:?}");
            };
            assert_eq!(*got, code);
            assert!(diagnosis.contains(lead), "{code}: {diagnosis}");
            assert!(diagnosis.contains(crate::testdata::SUBJECT), "{diagnosis}");
            assert!(
                classified.to_string().contains("diagnosis:"),
                "{classified}"
            );
        }
        assert!(matches!(
            VaultError::from(entra(700_016)),
            VaultError::Entra { .. }
        ));
        assert!(matches!(
            VaultError::from(Error::EmptyAssertion),
            VaultError::Entra { .. }
        ));
    }

    #[test]
    fn nothing_shows_a_token() {
        let classified = VaultError::from(entra(700_213));
        let shown = format!("{classified} {classified:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
    }
}
