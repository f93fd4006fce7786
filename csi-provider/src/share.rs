//! Which Key Vault reads the mounts of a rotation sweep may share, with
//! whom, and for how long: the decisions of [`crate::shared_reads`], as
//! functions of their inputs.
//!
//! The replicas of a Deployment mount the same objects as the same Entra
//! identity, and the driver's rotation reconciler mounts them all again
//! every `--rotation-poll-interval`: 100 pods of 5 objects are 500 Key
//! Vault GETs for 5 distinct answers. A read is shared when everything
//! Key Vault decides its answer on is the same:
//!
//! - the request: a `GET` of one URL, so the vault, the object kind and
//!   name, the version (or none, for the latest) and the API version;
//! - the caller: the Entra identity of the access token the request
//!   carries ([`Reader`]: its tenant `tid`, object id `oid` and, as Key
//!   Vault's access policies match a compound identity on it, its
//!   application `appid` or `azp`). The token is the one the pod's own
//!   exchange got: a request only reaches this step with a token, so a pod
//!   whose assertion Entra refuses never joins a read, and a pod that names
//!   another identity's `clientID` without being trusted by it never gets
//!   that identity's token. A request without a bearer token (the challenge
//!   probe), or whose token has no `tid` or `oid`, is never shared.
//! - the moment: a read serves the callers arriving within the window
//!   after it was sent ([`ShareWindow`], `--read-sharing-window`); the
//!   first caller after it sends a new one, so a version written meanwhile
//!   is served at the next read after the window.
//!
//! What is kept, and what is not ([`keep`], [`share_in_flight`]):
//!
//! - A `200` answer is kept until the window ends, then dropped (its body
//!   zeroized).
//! - Callers that joined a read in flight take its answer whatever it is,
//!   a 403, a 404, a 429 or a network failure included: the same identity
//!   asked the same thing at the same moment, and a throttled vault asked
//!   again by every waiting mount at once is the stampede throttling asks
//!   to avoid (each mount then waits out `Retry-After` itself). A `401` is
//!   the exception: it is about the token presented, not the identity, so
//!   each caller then presents its own.
//! - A failure is not kept once answered: the next read asks Key Vault
//!   again, so a role just granted, an object just created or a vault
//!   recovered from throttling is seen at the next mount, and no failure
//!   outlives the mount that saw it.

use std::time::Duration;

use azure_wi_auth::transport::{HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::Deserialize;
use tokio::time::Instant;

/// The window when none is given: a rotation sweep of a node's pods fits
/// in it, and the driver's default `--rotation-poll-interval` (2m) is 24
/// times as long.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5);

/// The longest window accepted: half the driver's default
/// `--rotation-poll-interval` (2m), so a sweep never serves the previous
/// sweep's answers.
pub const MAX_WINDOW: Duration = Duration::from_secs(60);

/// How long a Key Vault read serves the mounts that ask for the same
/// thing as the same identity; zero turns sharing off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareWindow(Duration);

/// A window longer than [`MAX_WINDOW`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a read sharing window of {given:?} is longer than {MAX_WINDOW:?}: keep it shorter than the \
     driver's --rotation-poll-interval (2m by default), so each rotation reads Key Vault again; \
     0s turns sharing off"
)]
pub struct WindowTooLong {
    /// The window asked for.
    pub given: Duration,
}

impl ShareWindow {
    /// No sharing: every mount reads Key Vault itself.
    pub const OFF: Self = Self(Duration::ZERO);

    /// `window`, checked.
    ///
    /// # Errors
    ///
    /// [`WindowTooLong`] past [`MAX_WINDOW`].
    pub fn new(window: Duration) -> Result<Self, WindowTooLong> {
        if window > MAX_WINDOW {
            return Err(WindowTooLong { given: window });
        }
        Ok(Self(window))
    }

    /// The window's length.
    #[must_use]
    pub fn duration(self) -> Duration {
        self.0
    }

    /// Whether reads are shared at all.
    #[must_use]
    pub fn is_on(self) -> bool {
        !self.0.is_zero()
    }

    /// Whether a read sent at `started` serves a caller arriving at `now`:
    /// only within the window after it was sent, whether it is still in
    /// flight or answered.
    #[must_use]
    pub fn serves(self, started: Instant, now: Instant) -> bool {
        now >= started && now < self.expiry(started)
    }

    /// When a read sent at `started` stops serving, and a kept answer is
    /// dropped.
    #[must_use]
    pub fn expiry(self, started: Instant) -> Instant {
        started + self.0
    }
}

impl Default for ShareWindow {
    fn default() -> Self {
        Self(DEFAULT_WINDOW)
    }
}

/// The Entra identity a request reads as, from its access token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reader {
    /// `tid`: the tenant.
    pub tenant: String,
    /// `oid`: the identity's object id, what Key Vault's role assignments
    /// name.
    pub object_id: String,
    /// `appid` (v1 tokens) or `azp` (v2): the application the token was
    /// issued to, which access policies may name with the object id.
    pub application: Option<String>,
}

/// The claims of an access token the share is keyed on.
#[derive(Deserialize)]
struct AccessClaims {
    tid: Option<String>,
    oid: Option<String>,
    appid: Option<String>,
    azp: Option<String>,
}

impl Reader {
    /// The identity of `authorization`, an `Authorization` header value
    /// `Bearer <JWT>`; `None` for another scheme, a token that is not a
    /// JWT, or one without `tid` or `oid`.
    ///
    /// The token is read without checking its signature: it is not the
    /// pod's, but the one Entra (or the identity binding's token proxy)
    /// answered this process's exchange of the pod's assertion with.
    #[must_use]
    pub fn from_authorization(authorization: &str) -> Option<Self> {
        let (scheme, token) = authorization.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let mut parts = token.trim().split('.');
        let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .ok()?;
        let claims: AccessClaims = serde_json::from_slice(&json).ok()?;
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        Some(Self {
            tenant: nonempty(claims.tid)?.to_ascii_lowercase(),
            object_id: nonempty(claims.oid)?.to_ascii_lowercase(),
            application: nonempty(claims.appid)
                .or_else(|| nonempty(claims.azp))
                .map(|a| a.to_ascii_lowercase()),
        })
    }
}

/// What makes two requests the same read: the URL and the reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShareKey {
    /// The whole URL: vault, kind, name, version, API version, page.
    pub url: String,
    /// Whom Key Vault answers.
    pub reader: Reader,
}

impl ShareKey {
    /// The key of `request`, or `None` when it is never shared: anything
    /// but a `GET`, or a request without an access token naming its
    /// identity (the unauthenticated challenge probe among them).
    #[must_use]
    pub fn of(request: &HttpRequest) -> Option<Self> {
        if request.method != "GET" || !request.body.is_empty() {
            return None;
        }
        let mut authorizations = request
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        let (_, authorization) = authorizations.next()?;
        if authorizations.next().is_some() {
            return None;
        }
        Some(Self {
            url: request.url.as_str().to_owned(),
            reader: Reader::from_authorization(authorization)?,
        })
    }
}

/// Whether an answer is kept for the rest of the window, to serve the
/// callers that arrive after it: a `200` only.
#[must_use]
pub fn keep(answer: &Result<HttpResponse, String>) -> bool {
    matches!(answer, Ok(response) if response.status == 200)
}

/// Whether the callers that joined a read in flight take its answer:
/// anything but a `401`, which is about the token presented.
#[must_use]
pub fn share_in_flight(answer: &Result<HttpResponse, String>) -> bool {
    !matches!(answer, Ok(response) if response.status == 401)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JWT with `claims` as its payload, as Entra's access tokens are
    /// shaped (header, payload, signature).
    fn token(claims: &serde_json::Value) -> String {
        let b64 = |s: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(br#"{"typ":"JWT","alg":"RS256","kid":"k"}"#),
            b64(claims.to_string().as_bytes())
        )
    }

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const OID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    const APP: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";

    fn access_token() -> String {
        token(&serde_json::json!({
            "aud": "https://vault.azure.net", "tid": TID, "oid": OID, "appid": APP,
            "iss": format!("https://sts.windows.net/{TID}/"),
        }))
    }

    fn get(url: &str, authorization: Option<&str>) -> HttpRequest {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(value) = authorization {
            headers.push(("authorization".to_owned(), value.to_owned()));
        }
        HttpRequest {
            method: "GET",
            url: url.parse().unwrap(),
            headers,
            body: Vec::new(),
        }
    }

    const SECRET: &str = "https://orders-kv.vault.azure.net/secrets/db-password?api-version=7.5";

    #[test]
    fn the_reader_is_the_access_tokens_tenant_object_id_and_application() {
        let reader = Reader::from_authorization(&format!("Bearer {}", access_token())).unwrap();
        assert_eq!(
            reader,
            Reader {
                tenant: TID.into(),
                object_id: OID.into(),
                application: Some(APP.into()),
            }
        );
        // v2 tokens name the application azp; the case of ids is not theirs.
        let v2 = token(&serde_json::json!({"tid": TID.to_uppercase(), "oid": OID, "azp": APP}));
        assert_eq!(
            Reader::from_authorization(&format!("bearer {v2}")),
            Some(reader)
        );
    }

    #[test]
    fn no_identity_no_reader() {
        for authorization in [
            String::new(),
            "Bearer".to_owned(),
            format!("Basic {}", access_token()),
            "Bearer not-a-jwt".to_owned(),
            "Bearer a.!!!.c".to_owned(),
            "Bearer a.bm90IGpzb24.c".to_owned(),
            format!("Bearer {}.extra", access_token()),
            format!("Bearer {}", token(&serde_json::json!({"tid": TID}))),
            format!("Bearer {}", token(&serde_json::json!({"oid": OID}))),
            format!(
                "Bearer {}",
                token(&serde_json::json!({"tid": TID, "oid": ""}))
            ),
            format!(
                "Bearer {}",
                token(&serde_json::json!({"tid": TID, "oid": 7}))
            ),
        ] {
            assert_eq!(
                Reader::from_authorization(&authorization),
                None,
                "{authorization}"
            );
        }
    }

    #[test]
    fn only_gets_with_an_identity_are_keyed_and_the_url_is_the_whole_url() {
        let bearer = format!("Bearer {}", access_token());
        let key = ShareKey::of(&get(SECRET, Some(&bearer))).unwrap();
        assert_eq!(key.url, SECRET);
        assert_eq!(key.reader.object_id, OID);

        // The challenge probe carries no token.
        assert_eq!(ShareKey::of(&get(SECRET, None)), None);
        let mut put = get(SECRET, Some(&bearer));
        put.method = "PUT";
        assert_eq!(ShareKey::of(&put), None);
        let mut with_body = get(SECRET, Some(&bearer));
        with_body.body = b"{}".to_vec();
        assert_eq!(ShareKey::of(&with_body), None);
        let mut twice = get(SECRET, Some(&bearer));
        twice
            .headers
            .push(("Authorization".to_owned(), bearer.clone()));
        assert_eq!(ShareKey::of(&twice), None);

        // Each part of the URL and of the identity tells reads apart.
        let mut keys = std::collections::HashSet::new();
        for url in [
            SECRET,
            "https://orders-kv.vault.azure.net/secrets/db-password/0123?api-version=7.5",
            "https://orders-kv.vault.azure.net/secrets/api-key?api-version=7.5",
            "https://orders-kv.vault.azure.net/keys/db-password?api-version=7.5",
            "https://orders-kv.vault.azure.net/certificates/db-password?api-version=7.5",
            "https://other-kv.vault.azure.net/secrets/db-password?api-version=7.5",
            "https://orders-kv.vault.azure.cn/secrets/db-password?api-version=7.5",
            "https://orders-kv.vault.azure.net/secrets/db-password?api-version=7.4",
        ] {
            assert!(keys.insert(ShareKey::of(&get(url, Some(&bearer))).unwrap()));
        }
        for claims in [
            serde_json::json!({"tid": TID, "oid": "another-object", "appid": APP}),
            serde_json::json!({"tid": "another-tenant", "oid": OID, "appid": APP}),
            serde_json::json!({"tid": TID, "oid": OID, "appid": "another-app"}),
            serde_json::json!({"tid": TID, "oid": OID}),
        ] {
            let other = format!("Bearer {}", token(&claims));
            assert!(keys.insert(ShareKey::of(&get(SECRET, Some(&other))).unwrap()));
        }
        // The same identity with another token (a replica's, a refreshed
        // one) is the same read.
        let refreshed = token(&serde_json::json!({
            "tid": TID, "oid": OID, "appid": APP, "exp": 1, "uti": "other",
        }));
        assert!(
            !keys.insert(ShareKey::of(&get(SECRET, Some(&format!("Bearer {refreshed}")))).unwrap())
        );
    }

    #[test]
    fn a_read_serves_the_window_after_it_was_sent_and_no_longer() {
        let window = ShareWindow::new(Duration::from_secs(5)).unwrap();
        let sent = Instant::now();
        assert!(window.serves(sent, sent));
        assert!(window.serves(sent, sent + Duration::from_millis(4_999)));
        assert!(!window.serves(sent, sent + Duration::from_secs(5)));
        assert!(!window.serves(sent, sent + Duration::from_secs(60)));
        assert_eq!(window.expiry(sent), sent + Duration::from_secs(5));
        // A read sent after the caller arrived is not one it may take.
        assert!(!window.serves(sent + Duration::from_millis(1), sent));

        assert!(!ShareWindow::OFF.is_on());
        assert!(!ShareWindow::OFF.serves(sent, sent));
        assert!(window.is_on());
        assert_eq!(ShareWindow::default().duration(), DEFAULT_WINDOW);
    }

    #[test]
    fn a_window_past_the_maximum_is_refused_naming_the_rotation_interval() {
        assert_eq!(ShareWindow::new(MAX_WINDOW).unwrap().duration(), MAX_WINDOW);
        let error = ShareWindow::new(Duration::from_secs(61)).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("61s") && text.contains("60s"), "{text}");
        assert!(text.contains("--rotation-poll-interval"), "{text}");
        assert!(DEFAULT_WINDOW <= MAX_WINDOW);
    }

    fn answer(status: u16) -> Result<HttpResponse, String> {
        Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    #[test]
    fn only_successes_are_kept_and_only_a_401_is_not_shared_in_flight() {
        assert!(keep(&answer(200)));
        for status in [201, 204, 304, 401, 403, 404, 429, 500, 503] {
            assert!(!keep(&answer(status)), "{status}");
        }
        assert!(!keep(&Err("connection reset".to_owned())));

        for status in [200, 403, 404, 429, 500, 503] {
            assert!(share_in_flight(&answer(status)), "{status}");
        }
        assert!(share_in_flight(&Err("timed out".to_owned())));
        assert!(!share_in_flight(&answer(401)));
    }
}
