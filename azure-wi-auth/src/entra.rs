//! Entra ID's error body, kept with the facts support needs.

use std::fmt;

use serde_json::Value;

/// An error answer from Entra ID's token endpoint, e.g.
/// `{"error":"invalid_request","error_description":"AADSTS70021: ...","error_codes":[70021],...}`.
///
/// It keeps the AADSTS code (what went wrong), the description, and the
/// trace and correlation ids that Microsoft support asks for. Entra error
/// bodies never contain a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraError {
    status: u16,
    error: String,
    code: Option<u32>,
    description: String,
    trace_id: Option<String>,
    correlation_id: Option<String>,
    timestamp: Option<String>,
    error_uri: Option<String>,
}

impl EntraError {
    /// Reads an Entra error from a parsed body; `None` when the JSON has no
    /// string `error` field, i.e. is not Entra's error shape.
    pub(crate) fn from_json(status: u16, body: &Value) -> Option<Self> {
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let error = text("error")?;
        let description = text("error_description").unwrap_or_default();
        let code = body
            .get("error_codes")
            .and_then(Value::as_array)
            .and_then(|codes| codes.first())
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .or_else(|| code_from_description(&description));
        Some(Self {
            status,
            error,
            code,
            description,
            trace_id: text("trace_id"),
            correlation_id: text("correlation_id"),
            timestamp: text("timestamp"),
            error_uri: text("error_uri"),
        })
    }

    /// HTTP status of the answer.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The OAuth error, e.g. `invalid_client` or `invalid_request`.
    #[must_use]
    pub fn error(&self) -> &str {
        &self.error
    }

    /// The AADSTS code, e.g. `70021`, from `error_codes[0]` or else from the
    /// `AADSTSnnnn:` prefix of the description.
    #[must_use]
    pub fn code(&self) -> Option<u32> {
        self.code
    }

    /// `error_description` exactly as sent, including Entra's trailing
    /// `Trace ID: … Correlation ID: … Timestamp: …`.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The description without its `AADSTSnnnn:` prefix and without the
    /// trailing ids (which [`trace_id`](Self::trace_id) and
    /// [`correlation_id`](Self::correlation_id) give), for display.
    #[must_use]
    pub fn message(&self) -> &str {
        let mut text = self.description.trim();
        if let Some(rest) = text.strip_prefix("AADSTS") {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0
                && let Some(after) = rest[digits..].strip_prefix(':')
            {
                text = after.trim_start();
            }
        }
        if self.trace_id.is_some()
            && let Some(at) = text.find("Trace ID:")
        {
            text = text[..at].trim_end();
        }
        text
    }

    /// Entra's trace id, for Microsoft support.
    #[must_use]
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// Entra's correlation id, for Microsoft support.
    #[must_use]
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    /// When Entra answered, as it wrote it (`2023-01-19 13:59:24Z`).
    #[must_use]
    pub fn timestamp(&self) -> Option<&str> {
        self.timestamp.as_deref()
    }

    /// Entra's page about the code, when it sent one.
    #[must_use]
    pub fn error_uri(&self) -> Option<&str> {
        self.error_uri.as_deref()
    }
}

/// The digits of a leading `AADSTSnnnn:`.
fn code_from_description(description: &str) -> Option<u32> {
    let rest = description.trim_start().strip_prefix("AADSTS")?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    if rest[end..].starts_with(':') {
        rest[..end].parse().ok()
    } else {
        None
    }
}

impl fmt::Display for EntraError {
    /// `AADSTS70021: No matching federated identity record … (HTTP 400
    /// invalid_request; trace ID …; correlation ID …; at …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "AADSTS{code}: ")?,
            None => write!(f, "{}: ", self.error)?,
        }
        let message = self.message();
        f.write_str(if message.is_empty() {
            "(no description)"
        } else {
            message
        })?;
        write!(f, " (HTTP {} {}", self.status, self.error)?;
        if let Some(id) = &self.trace_id {
            write!(f, "; trace ID {id}")?;
        }
        if let Some(id) = &self.correlation_id {
            write!(f, "; correlation ID {id}")?;
        }
        if let Some(at) = &self.timestamp {
            write!(f, "; at {at}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::aadsts70021;

    fn parse(status: u16, body: &str) -> EntraError {
        EntraError::from_json(status, &serde_json::from_str(body).unwrap()).unwrap()
    }

    #[test]
    fn keeps_code_ids_and_status() {
        let e = parse(400, &aadsts70021());
        assert_eq!(e.status(), 400);
        assert_eq!(e.error(), "invalid_request");
        assert_eq!(e.code(), Some(70021));
        assert_eq!(e.trace_id(), Some("77e765d4-6bd2-4a2c-9c55-2f1c6e0b5a00"));
        assert_eq!(
            e.correlation_id(),
            Some("81e13db7-0c4f-4e2b-8a2a-9b1e2c3d4e5f")
        );
        assert_eq!(e.timestamp(), Some("2023-01-19 13:59:24Z"));
        assert_eq!(
            e.error_uri(),
            Some("https://login.microsoftonline.com/error?code=70021")
        );
        assert!(e.description().starts_with("AADSTS70021: No matching"));
        assert!(
            e.message()
                .starts_with("No matching federated identity record")
        );
        assert!(
            e.message().ends_with("workload-identity-federation"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn display_shows_code_once_and_ids() {
        let shown = parse(400, &aadsts70021()).to_string();
        assert!(
            shown.starts_with("AADSTS70021: No matching federated identity record"),
            "{shown}"
        );
        assert_eq!(shown.matches("AADSTS70021").count(), 1, "{shown}");
        assert!(
            shown.contains("(HTTP 400 invalid_request; trace ID 77e765d4-"),
            "{shown}"
        );
        assert!(shown.contains("correlation ID 81e13db7-"), "{shown}");
        assert!(!shown.contains('\r'), "{shown}");
    }

    #[test]
    fn code_from_description_when_error_codes_absent() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS700024: Client assertion is not within its valid time range. Trace ID: t Correlation ID: c Timestamp: 2023-05-30 05:19:20Z","trace_id":"t"}"#;
        let e = parse(401, body);
        assert_eq!(e.code(), Some(700_024));
        assert_eq!(
            e.message(),
            "Client assertion is not within its valid time range."
        );
    }

    #[test]
    fn no_code_anywhere_shows_oauth_error() {
        let e = parse(
            400,
            r#"{"error":"invalid_scope","error_description":"The scope is not valid."}"#,
        );
        assert_eq!(e.code(), None);
        assert_eq!(
            e.to_string(),
            "invalid_scope: The scope is not valid. (HTTP 400 invalid_scope)"
        );
    }

    #[test]
    fn json_without_error_field_is_not_entra() {
        let body = serde_json::json!({"message": "Bad gateway"});
        assert!(EntraError::from_json(502, &body).is_none());
    }
}
