//! The validated identifier this crate adds to the contract's client and
//! tenant ids and scope ([`azure_wi_core`]): the authority host.
//!
//! Each is a newtype so a value is checked once, when it enters the program,
//! with an error that says what is wrong with it.

use std::fmt;
use std::str::FromStr;

use url::Url;

pub use azure_wi_core::{ClientId, DEFAULT_AUTHORITY_HOST, Scope, TenantId};

use crate::Error;

/// Base URL of the Entra ID authority, e.g. `https://login.microsoftonline.com/`
/// or a sovereign cloud's.
///
/// Must be an absolute `https` URL (the Azure SDKs refuse anything else,
/// because the request carries a credential) without user info, query or
/// fragment. It is kept with exactly one trailing `/`, so that
/// `{authority}{tenant}/...` is always a well-formed URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthorityHost(Url);

impl AuthorityHost {
    /// The normalised URL, ending with `/`.
    #[must_use]
    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The normalised URL as text, ending with `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Default for AuthorityHost {
    /// The public cloud, [`DEFAULT_AUTHORITY_HOST`].
    fn default() -> Self {
        DEFAULT_AUTHORITY_HOST
            .parse()
            .expect("DEFAULT_AUTHORITY_HOST is a valid https URL")
    }
}

impl FromStr for AuthorityHost {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidAuthorityHost {
            value: s.to_owned(),
            reason,
        };
        let mut url = Url::parse(s).map_err(|e| {
            invalid(format!(
                "it is not an absolute URL ({e}); expected e.g. {DEFAULT_AUTHORITY_HOST}"
            ))
        })?;
        if url.scheme() != "https" {
            return Err(invalid(format!(
                "authority host must use https, not {:?}, because the token request carries a credential",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host".to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "it must not contain a user name or password".to_owned(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it must not have a query or fragment".to_owned()));
        }
        let path = format!("{}/", url.path().trim_end_matches('/'));
        url.set_path(&path);
        Ok(Self(url))
    }
}

impl fmt::Display for AuthorityHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: FromStr<Err = Error> + fmt::Debug>(s: &str) -> String {
        s.parse::<T>().expect_err(s).to_string()
    }

    #[test]
    fn authority_host_requires_https() {
        let msg = err::<AuthorityHost>("http://127.0.0.1:18443");
        assert!(msg.contains("authority host must use https"), "{msg}");
        assert!(msg.contains("http://127.0.0.1:18443"), "{msg}");
        assert!(err::<AuthorityHost>("login.microsoftonline.com").contains("not an absolute URL"));
        assert!(err::<AuthorityHost>("").contains("not an absolute URL"));
    }

    #[test]
    fn authority_host_rejects_credentials_query_and_fragment() {
        assert!(err::<AuthorityHost>("https://u:p@login.example/").contains("user name"));
        assert!(err::<AuthorityHost>("https://login.example/?x=1").contains("query"));
        assert!(err::<AuthorityHost>("https://login.example/#f").contains("fragment"));
    }

    #[test]
    fn authority_host_ends_with_exactly_one_slash() {
        for (input, want) in [
            (
                "https://login.microsoftonline.com",
                "https://login.microsoftonline.com/",
            ),
            (
                "https://login.microsoftonline.com/",
                "https://login.microsoftonline.com/",
            ),
            ("https://LOGIN.example//", "https://login.example/"),
            (
                "https://127.0.0.1:18443/prefix",
                "https://127.0.0.1:18443/prefix/",
            ),
            (
                "https://127.0.0.1:18443/prefix///",
                "https://127.0.0.1:18443/prefix/",
            ),
        ] {
            assert_eq!(input.parse::<AuthorityHost>().unwrap().to_string(), want);
        }
    }

    #[test]
    fn default_authority_is_public_cloud() {
        assert_eq!(AuthorityHost::default().as_str(), DEFAULT_AUTHORITY_HOST);
    }
}
