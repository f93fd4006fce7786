//! Classification: whether a failure is worth retrying at all (the
//! [`driver`](super::driver) asks this of every failed attempt).

use crate::Error;

/// Whether a failed token request may succeed if sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retry {
    /// A transient failure: time-out (408), throttling (429) or a server
    /// error (5xx). Network errors, which have no status, belong here too.
    Retryable,
    /// The request itself is wrong (e.g. an AADSTS 4xx such as an unknown
    /// client or an unmatched federated credential): sending it again gives
    /// the same answer, and only fixing the configuration helps.
    Never,
}

impl Retry {
    /// `true` for [`Retry::Retryable`].
    #[must_use]
    pub fn is_retryable(self) -> bool {
        self == Retry::Retryable
    }
}

/// Classifies an HTTP status of the token endpoint: 408, 429 and 5xx are
/// retryable, everything else is not (the Azure SDKs retry the same set).
#[must_use]
pub fn retry_class(status: u16) -> Retry {
    match status {
        408 | 429 | 500..=599 => Retry::Retryable,
        _ => Retry::Never,
    }
}

impl Error {
    /// Whether the operation that failed with this error may succeed if
    /// repeated unchanged: only for answers with a retryable status.
    #[must_use]
    pub fn retry(&self) -> Retry {
        match self {
            Error::Entra { entra, .. } => retry_class(entra.status()),
            Error::UnrecognizedErrorResponse { status, .. } => retry_class(*status),
            Error::KeyVault { status, .. } => retry_class(*status),
            Error::Transport { .. } => Retry::Retryable,
            _ => Retry::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_token_response;

    #[test]
    fn retry_classes() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(retry_class(s).is_retryable(), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 409] {
            assert_eq!(retry_class(s), Retry::Never, "{s}");
        }
    }

    #[test]
    fn errors_retry_by_status() {
        let now = std::time::SystemTime::now();
        let parse =
            |status, body: &str| parse_token_response(status, body.as_bytes(), now).unwrap_err();
        let throttled = parse(
            429,
            r#"{"error":"temporarily_unavailable","error_codes":[50196]}"#,
        );
        assert_eq!(throttled.retry(), Retry::Retryable);
        assert_eq!(
            parse(400, &crate::testdata::aadsts70021()).retry(),
            Retry::Never
        );
        assert_eq!(
            parse(502, "<html>Bad Gateway</html>").retry(),
            Retry::Retryable
        );
        assert_eq!(Error::NoScopes.retry(), Retry::Never);
    }
}
