//! The two credentials this crate handles, wrapped so that they cannot be
//! printed by accident: the access token Entra ID returns, and the client
//! assertion (the pod's ServiceAccount token) it is exchanged for.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::Error;
use crate::timefmt::rfc3339;

const REDACTED: &str = "<redacted>";

/// An Entra ID access token and when to stop (or start to stop) using it.
///
/// `Debug` and `Display` never show the token itself; call
/// [`secret`](Self::secret) where it must be sent, e.g. in an
/// `Authorization: Bearer` header.
///
/// Cloning is cheap (the secret is shared, not copied): a cached token is
/// handed to every caller.
#[derive(Clone)]
pub struct AccessToken {
    secret: Arc<str>,
    expires_on: SystemTime,
    refresh_on: Option<SystemTime>,
}

impl AccessToken {
    /// Wraps a token, e.g. one read back from a cache.
    pub fn new(
        secret: impl Into<String>,
        expires_on: SystemTime,
        refresh_on: Option<SystemTime>,
    ) -> Self {
        Self {
            secret: Arc::from(secret.into()),
            expires_on,
            refresh_on,
        }
    }

    /// The bearer token itself. Keep it out of logs.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// When Entra ID says the token stops being accepted.
    #[must_use]
    pub fn expires_on(&self) -> SystemTime {
        self.expires_on
    }

    /// When Entra ID suggests fetching a new token (from `refresh_in`), if
    /// it said; never later than [`expires_on`](Self::expires_on).
    #[must_use]
    pub fn refresh_on(&self) -> Option<SystemTime> {
        self.refresh_on
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &REDACTED)
            .field("expires_on", &rfc3339(self.expires_on))
            .field("refresh_on", &self.refresh_on.map(rfc3339))
            .finish()
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "access token <redacted>, expires {}",
            rfc3339(self.expires_on)
        )?;
        if let Some(refresh_on) = self.refresh_on {
            write!(f, ", refresh from {}", rfc3339(refresh_on))?;
        }
        Ok(())
    }
}

/// The client assertion: a JWT, normally the Kubernetes ServiceAccount token
/// the kubelet projects into the file that the webhook's token file variable
/// ([`FEDERATED_TOKEN_FILE_ENV`](azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV)) names.
///
/// It is a credential (anyone holding it can get the pod's Entra ID
/// tokens until it expires), so `Debug` and `Display` never show it. The
/// kubelet rotates the file, so read it again for each token request rather
/// than keeping one `Assertion` for the life of the process.
#[derive(Clone)]
pub struct Assertion(String);

impl Assertion {
    /// Wraps an assertion obtained some other way. Surrounding whitespace is
    /// removed.
    ///
    /// # Errors
    /// [`Error::EmptyAssertion`] when nothing but whitespace is given.
    pub fn new(jwt: impl Into<String>) -> Result<Self, Error> {
        let jwt = jwt.into();
        let trimmed = jwt.trim();
        if trimmed.is_empty() {
            return Err(Error::EmptyAssertion);
        }
        Ok(Self(if trimmed.len() == jwt.len() {
            jwt
        } else {
            trimmed.to_owned()
        }))
    }

    /// Builds the assertion from the bytes of the token file at `path`,
    /// which errors name. Pure: the caller did the reading.
    ///
    /// # Errors
    /// [`Error::TokenFileNotUtf8`] or [`Error::TokenFileEmpty`].
    pub fn from_token_file_contents(path: &Path, contents: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(contents).map_err(|_| Error::TokenFileNotUtf8 {
            path: path.to_owned(),
        })?;
        Self::new(text).map_err(|_| Error::TokenFileEmpty {
            path: path.to_owned(),
        })
    }

    /// Reads the token file at `path` with blocking file I/O, for callers
    /// outside an async runtime; the credential reads it with tokio's
    /// non-blocking file API and [`from_token_file_contents`](Self::from_token_file_contents).
    ///
    /// # Errors
    /// [`Error::TokenFileUnreadable`], or those of
    /// [`from_token_file_contents`](Self::from_token_file_contents).
    pub fn read_token_file(path: &Path) -> Result<Self, Error> {
        let contents = std::fs::read(path).map_err(|error| Error::TokenFileUnreadable {
            path: path.to_owned(),
            error: std::sync::Arc::new(error),
        })?;
        Self::from_token_file_contents(path, &contents)
    }

    /// The JWT text, to put in the token request. Keep it out of logs.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Assertion").field(&REDACTED).finish()
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("client assertion <redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2ln";

    #[test]
    fn access_token_debug_and_display_hide_the_secret() {
        let expires = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = AccessToken::new(SECRET, expires, Some(expires - Duration::from_secs(60)));
        let debug = format!("{token:?}");
        let display = token.to_string();
        for text in [&debug, &display, &format!("{token:#?}")] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains("c2VjcmV0"), "{text}");
        }
        assert_eq!(
            debug,
            "AccessToken { secret: \"<redacted>\", expires_on: \"2023-11-14T22:13:20Z\", \
             refresh_on: Some(\"2023-11-14T22:12:20Z\") }"
        );
        assert_eq!(
            display,
            "access token <redacted>, expires 2023-11-14T22:13:20Z, refresh from 2023-11-14T22:12:20Z"
        );
        assert_eq!(token.secret(), SECRET);
    }

    #[test]
    fn assertion_debug_and_display_hide_the_jwt() {
        let assertion = Assertion::new(format!("{SECRET}\n")).unwrap();
        assert_eq!(assertion.secret(), SECRET);
        assert_eq!(format!("{assertion:?}"), "Assertion(\"<redacted>\")");
        assert!(!assertion.to_string().contains("eyJ"));
    }

    #[test]
    fn empty_assertion_is_refused() {
        assert!(matches!(Assertion::new(" \n"), Err(Error::EmptyAssertion)));
    }

    #[test]
    fn token_file_errors_name_the_path() {
        let path = Path::new("/var/run/secrets/azure/tokens/azure-identity-token");
        let msg = Assertion::from_token_file_contents(path, b"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("/var/run/secrets/azure/tokens/azure-identity-token is empty"),
            "{msg}"
        );
        let msg = Assertion::from_token_file_contents(path, &[0xff, 0xfe])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("azure-identity-token is not UTF-8"), "{msg}");
    }

    #[test]
    fn reads_a_real_token_file_and_names_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("azure-wi-auth-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, format!("{SECRET}\n")).unwrap();
        assert_eq!(Assertion::read_token_file(&path).unwrap().secret(), SECRET);

        let missing = dir.join("missing");
        let err = Assertion::read_token_file(&missing).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
        assert!(
            msg.contains(azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV),
            "{msg}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
