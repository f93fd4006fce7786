//! Turning the token endpoint's answer into an [`AccessToken`] or an
//! [`Error`] (with Entra's error kept as an [`EntraError`]).

use std::time::{Duration, SystemTime};

use serde_json::Value;

pub use crate::entra::EntraError;
use crate::{AccessToken, Error};

/// Longest part of an unrecognised error body quoted in an error, in characters.
const EXCERPT_CHARS: usize = 200;

/// Parses the token endpoint's answer, received at `now`.
///
/// A 2xx answer must hold `access_token`, `token_type` (`Bearer`) and
/// `expires_in`; `expires_in` and the optional `refresh_in` may be JSON
/// numbers or numeric strings (`"3599"`), as MSAL accepts. `ext_expires_in`
/// is ignored. Any other answer is read as Entra's error body.
///
/// # Errors
/// * [`Error::Entra`] for Entra's error JSON, whatever the status;
/// * [`Error::MalformedTokenResponse`] for a 2xx body that is not a usable
///   token (the body is not quoted: it may hold a token);
/// * [`Error::UnrecognizedErrorResponse`] for a non-2xx body that is not
///   Entra's error JSON (the first ~200 characters are quoted).
///
/// # Example
/// ```
/// use std::time::{Duration, SystemTime};
/// use azure_wi_auth::parse_token_response;
///
/// let now = SystemTime::now();
/// let body = br#"{"token_type":"Bearer","expires_in":"3599","ext_expires_in":3599,"access_token":"eyJ0eXAi"}"#;
/// let token = parse_token_response(200, body, now)?;
/// assert_eq!(token.expires_on(), now + Duration::from_secs(3599));
/// # Ok::<(), azure_wi_auth::Error>(())
/// ```
pub fn parse_token_response(
    status: u16,
    body: &[u8],
    now: SystemTime,
) -> Result<AccessToken, Error> {
    let json = serde_json::from_slice::<Value>(body).ok();
    if (200..300).contains(&status) {
        let malformed = |problem: String| Error::MalformedTokenResponse { status, problem };
        let Some(json) = json else {
            return Err(malformed("it is not JSON".to_owned()));
        };
        if json.get("access_token").is_none()
            && let Some(entra) = EntraError::from_json(status, &json)
        {
            return Err(entra_error(entra));
        }
        return parse_success(&json, now).map_err(malformed);
    }
    match json {
        Some(json) => match EntraError::from_json(status, &json) {
            Some(entra) => Err(entra_error(entra)),
            None if json.get("access_token").is_some() => Err(Error::UnrecognizedErrorResponse {
                status,
                problem: "JSON with an access_token but an error status",
                excerpt: "(not quoted: it holds a token)".to_owned(),
            }),
            None => Err(unrecognized(
                status,
                "JSON without Entra's \"error\" field",
                body,
            )),
        },
        None if body.is_empty() => Err(unrecognized(status, "empty", body)),
        None => Err(unrecognized(status, "not JSON", body)),
    }
}

fn entra_error(entra: EntraError) -> Error {
    Error::Entra {
        entra: Box::new(entra),
        diagnosis: None,
    }
}

fn unrecognized(status: u16, problem: &'static str, body: &[u8]) -> Error {
    let text = String::from_utf8_lossy(body);
    let mut excerpt: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        excerpt.push('…');
    }
    Error::UnrecognizedErrorResponse {
        status,
        problem,
        excerpt,
    }
}

/// Reads a success body. Problems are described without quoting values,
/// since the body holds a token.
fn parse_success(json: &Value, now: SystemTime) -> Result<AccessToken, String> {
    let secret = match json.get("access_token") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) => return Err("access_token is empty".to_owned()),
        Some(_) => return Err("access_token is not a string".to_owned()),
        None => return Err("it has no access_token".to_owned()),
    };
    match json.get("token_type").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(_) => return Err("token_type is not Bearer".to_owned()),
        None => return Err("token_type is missing or not a string".to_owned()),
    }
    let expires_in = seconds(json, "expires_in")?.ok_or("it has no expires_in")?;
    let expires_on = now
        .checked_add(expires_in)
        .ok_or("expires_in is too large to be a time")?;
    let refresh_on = seconds(json, "refresh_in")?
        .and_then(|refresh_in| now.checked_add(refresh_in))
        .map(|refresh_on| refresh_on.min(expires_on));
    Ok(AccessToken::new(secret, expires_on, refresh_on))
}

/// A whole number of seconds given as a JSON number or a numeric string.
fn seconds(json: &Value, field: &str) -> Result<Option<Duration>, String> {
    let invalid = || format!("{field} is not a whole number of seconds");
    let secs = match json.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(invalid)?,
        Some(Value::String(s)) => s.parse::<u64>().map_err(|_| invalid())?,
        Some(_) => return Err(invalid()),
    };
    Ok(Some(Duration::from_secs(secs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Retry;
    use crate::testdata;
    use std::time::UNIX_EPOCH;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn ok(body: &str) -> AccessToken {
        parse_token_response(200, body.as_bytes(), now()).unwrap()
    }

    fn err(status: u16, body: &str) -> Error {
        parse_token_response(status, body.as_bytes(), now()).unwrap_err()
    }

    #[test]
    fn success_with_numbers() {
        let token = ok(
            r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0eXAi.x.y"}"#,
        );
        assert_eq!(token.secret(), "eyJ0eXAi.x.y");
        assert_eq!(token.expires_on(), now() + Duration::from_secs(3599));
        assert_eq!(token.refresh_on(), None);
    }

    #[test]
    fn success_with_numeric_strings_and_refresh_in() {
        let token = ok(
            r#"{"token_type":"bearer","expires_in":"86399","refresh_in":"43199","access_token":"t"}"#,
        );
        assert_eq!(token.expires_on(), now() + Duration::from_secs(86_399));
        assert_eq!(
            token.refresh_on(),
            Some(now() + Duration::from_secs(43_199))
        );
    }

    #[test]
    fn refresh_on_never_after_expiry() {
        let token =
            ok(r#"{"token_type":"Bearer","expires_in":60,"refresh_in":600,"access_token":"t"}"#);
        assert_eq!(token.refresh_on(), Some(token.expires_on()));
    }

    #[test]
    fn bad_success_bodies_are_described_without_quoting_the_token() {
        let secret = "eyJTOKENSECRET";
        for (body, problem) in [
            (
                format!(r#"{{"token_type":"Bearer","access_token":"{secret}"}}"#),
                "no expires_in",
            ),
            (
                format!(
                    r#"{{"token_type":"Bearer","expires_in":"soon","access_token":"{secret}"}}"#
                ),
                "expires_in is not a whole number",
            ),
            (
                format!(r#"{{"token_type":"Bearer","expires_in":-1,"access_token":"{secret}"}}"#),
                "expires_in is not a whole number",
            ),
            (
                format!(r#"{{"token_type":"pop","expires_in":1,"access_token":"{secret}"}}"#),
                "token_type is not Bearer",
            ),
            (
                format!(r#"{{"token_type":"Bearer","expires_in":1,"access_token":"{secret}""#),
                "not JSON",
            ),
            (
                r#"{"token_type":"Bearer","expires_in":1}"#.to_owned(),
                "no access_token",
            ),
        ] {
            let e = err(200, &body);
            let msg = e.to_string();
            assert!(
                matches!(e, Error::MalformedTokenResponse { status: 200, .. }),
                "{msg}"
            );
            assert!(msg.contains(problem), "{msg}");
            assert!(
                !msg.contains(secret) && !format!("{e:?}").contains(secret),
                "{msg}"
            );
        }
    }

    #[test]
    fn entra_error_body_becomes_entra_error() {
        let e = err(400, &testdata::aadsts70021());
        let entra = e.entra().unwrap();
        assert_eq!(entra.code(), Some(70021));
        assert_eq!(entra.status(), 400);
        assert!(
            e.to_string()
                .starts_with("AADSTS70021: No matching federated identity record"),
            "{e}"
        );
        assert_eq!(e.retry(), Retry::Never);
    }

    #[test]
    fn entra_error_with_2xx_status_is_still_an_error() {
        let e = err(200, testdata::AADSTS90002);
        assert_eq!(e.entra().unwrap().code(), Some(90002));
    }

    #[test]
    fn non_json_error_body_is_quoted_briefly() {
        let html = format!(
            "<html><body>502 Bad Gateway{}</body></html>",
            "x".repeat(500)
        );
        let e = err(502, &html);
        let msg = e.to_string();
        assert!(
            msg.contains("HTTP 502 with a body that is not JSON"),
            "{msg}"
        );
        assert!(msg.contains("<html><body>502 Bad Gateway"), "{msg}");
        assert!(!msg.contains(&"x".repeat(200)), "excerpt too long: {msg}");
        assert!(msg.contains('…'), "{msg}");
        assert_eq!(e.retry(), Retry::Retryable);
        assert!(err(503, "").to_string().contains("that is empty"));
    }

    #[test]
    fn json_error_body_of_another_shape_is_quoted() {
        let msg = err(404, r#"{"message":"no route"}"#).to_string();
        assert!(msg.contains("JSON without Entra's"), "{msg}");
        assert!(msg.contains("no route"), "{msg}");
        let msg = err(500, r#"{"access_token":"eyJSECRET"}"#).to_string();
        assert!(!msg.contains("eyJSECRET"), "{msg}");
    }
}
