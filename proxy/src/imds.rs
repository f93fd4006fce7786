//! IMDS's token API as the reference proxy (Azure/azure-workload-identity
//! v1.6.0, `pkg/proxy/proxy.go`) serves it, as pure functions: which
//! handler a path goes to, what a token request asks for, and the JSON
//! answered.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/metadata/identity/oauth2/token` (`metadata` in any case, matched
    /// as a prefix, as the reference's router does): answered with the
    /// pod's workload identity.
    Token,
    /// `/readyz` (a prefix): the proxy answers `ok`.
    Readyz,
    /// Any other `/metadata/identity` path: the node's own managed
    /// identity, which no pod should reach through its proxy. Refused.
    NodeIdentity,
    /// Everything else (instance metadata, scheduled events, ...): sent on
    /// to IMDS as it came, as the reference does.
    Forward,
}

/// The path the token API is served at (its `metadata` in any case).
pub const TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// The readiness path `--probe` asks.
pub const READYZ_PATH: &str = "/readyz";
/// IMDS's address, which the pod's NAT rules send to the proxy.
pub const IMDS_ADDRESS: &str = "169.254.169.254:80";

/// The route of `path`.
pub fn route(path: &str) -> Route {
    let lower = path.to_ascii_lowercase();
    // Only the first segment is case-insensitive in the reference's
    // pattern (`/{type:(?i:metadata)}/identity/oauth2/token`).
    let first_segment_end = path
        .get(1..)
        .and_then(|p| p.find('/'))
        .map_or(path.len(), |i| i + 1);
    let rest = path.get(first_segment_end..).unwrap_or("");
    if lower.starts_with("/metadata/") && rest.starts_with("/identity/oauth2/token") {
        Route::Token
    } else if path.starts_with(READYZ_PATH) {
        Route::Readyz
    } else if lower.starts_with("/metadata/identity") {
        Route::NodeIdentity
    } else {
        Route::Forward
    }
}

/// What a token request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The identity's client id: `client_id`, else the pod's
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// The resource (`https://vault.azure.net`), as asked.
    pub resource: String,
}

/// Why a token request is refused before any exchange; the texts are the
/// reference proxy's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No `client_id` and no `AZURE_CLIENT_ID`.
    #[error("The client_id parameter or AZURE_CLIENT_ID environment variable must be set")]
    MissingClientId,
    /// No `resource`.
    #[error("The resource parameter is required.")]
    MissingResource,
}

impl TokenRequest {
    /// Reads `client_id` and `resource` from the query pairs, the client id
    /// falling back to `default_client_id`. Empty values count as absent,
    /// as Go's `Query().Get` gives them.
    ///
    /// # Errors
    ///
    /// [`RequestError`], the client id checked first as the reference does.
    pub fn from_query<'q>(
        pairs: impl IntoIterator<Item = (&'q str, &'q str)>,
        default_client_id: Option<&str>,
    ) -> Result<Self, RequestError> {
        let mut client_id = None;
        let mut resource = None;
        // Go's `Get` takes the first value of a key.
        for (key, value) in pairs {
            match key {
                "client_id" if client_id.is_none() => client_id = Some(value),
                "resource" if resource.is_none() => resource = Some(value),
                _ => {}
            }
        }
        let client_id = client_id
            .filter(|v| !v.is_empty())
            .or(default_client_id.filter(|v| !v.is_empty()))
            .ok_or(RequestError::MissingClientId)?;
        let resource = resource
            .filter(|v| !v.is_empty())
            .ok_or(RequestError::MissingResource)?;
        Ok(Self {
            client_id: client_id.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// The scope asked of Entra: the resource with `/.default`, unless it
    /// ends so already.
    pub fn scope(&self) -> String {
        if self.resource.ends_with("/.default") {
            self.resource.clone()
        } else {
            format!("{}/.default", self.resource)
        }
    }
}

/// The token answer, field for field and in the reference's order:
/// `expires_in` a number (seconds left, less ten), `expires_on` a string
/// (Unix seconds), `not_before` 0 and `refresh_token` empty.
#[derive(Serialize)]
pub struct TokenResponse<'a> {
    access_token: &'a str,
    refresh_token: &'static str,
    expires_in: i64,
    expires_on: String,
    not_before: u8,
    resource: &'a str,
    token_type: &'static str,
}

impl std::fmt::Debug for TokenResponse<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl<'a> TokenResponse<'a> {
    /// The answer for `access_token` expiring at `expires_on`, asked for
    /// `resource`, at `now`.
    pub fn new(
        access_token: &'a str,
        expires_on: SystemTime,
        resource: &'a str,
        now: SystemTime,
    ) -> Self {
        let left = expires_on.duration_since(now).unwrap_or(Duration::ZERO);
        let unix = expires_on
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        Self {
            access_token,
            refresh_token: "",
            expires_in: i64::try_from(left.as_secs()).unwrap_or(i64::MAX) - 10,
            expires_on: unix.to_string(),
            not_before: 0,
            resource,
            token_type: "Bearer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_as_the_reference_router() {
        for (path, expected) in [
            ("/metadata/identity/oauth2/token", Route::Token),
            ("/METADATA/identity/oauth2/token", Route::Token),
            ("/Metadata/identity/oauth2/tokenx", Route::Token),
            ("/metadata/Identity/oauth2/token", Route::NodeIdentity),
            ("/metadata/identity/info", Route::NodeIdentity),
            ("/metadata/identity", Route::NodeIdentity),
            ("/readyz", Route::Readyz),
            ("/metadata/instance", Route::Forward),
            ("/metadata/scheduledevents", Route::Forward),
            ("/", Route::Forward),
        ] {
            assert_eq!(route(path), expected, "{path}");
        }
    }

    #[test]
    fn token_requests_are_read_as_the_reference_reads_them() {
        let asked = TokenRequest::from_query(
            [
                ("api-version", "2018-02-01"),
                ("resource", "https://vault.azure.net"),
                ("client_id", "c1"),
                ("client_id", "c2"),
            ],
            Some("env"),
        )
        .unwrap();
        assert_eq!(asked.client_id, "c1");
        assert_eq!(asked.scope(), "https://vault.azure.net/.default");
        let defaulted =
            TokenRequest::from_query([("resource", "api://x/.default")], Some("env")).unwrap();
        assert_eq!(defaulted.client_id, "env");
        assert_eq!(defaulted.scope(), "api://x/.default");
        assert_eq!(
            TokenRequest::from_query([("resource", "r"), ("client_id", "")], None),
            Err(RequestError::MissingClientId)
        );
        assert_eq!(
            TokenRequest::from_query([("resource", "")], Some("env")),
            Err(RequestError::MissingResource)
        );
        // Client id first, as the reference checks.
        assert_eq!(
            TokenRequest::from_query([], None),
            Err(RequestError::MissingClientId)
        );
    }

    #[test]
    fn the_answer_has_the_reference_fields_in_order() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let response = TokenResponse::new(
            "eyJ.token",
            now + Duration::from_secs(3600),
            "https://vault.azure.net",
            now,
        );
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"access_token":"eyJ.token","refresh_token":"","expires_in":3590,"expires_on":"1700003600","not_before":0,"resource":"https://vault.azure.net","token_type":"Bearer"}"#
        );
        assert!(!format!("{response:?}").contains("eyJ"));
    }
}
