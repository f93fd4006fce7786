//! Validated identifiers: client id, tenant id, authority host and scope.
//!
//! Each is a newtype so a tenant id cannot be passed where a client id is
//! expected, and so a value is checked once, when it enters the program,
//! with an error that says what is wrong with it.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::Error;

/// Authority host of Azure's public cloud, used when `AZURE_AUTHORITY_HOST`
/// is not set.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com/";

/// Implements `as_str`, `Display` and `AsRef<str>` for a `String` newtype.
macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The value as text, as it is sent on the wire.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// Application (client) id of the app registration or user-assigned managed
/// identity whose federated identity credential trusts the pod's
/// ServiceAccount. Sent as `client_id` in the token request.
///
/// Only checked to be non-empty and free of whitespace: Entra ID decides
/// whether it exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);
string_newtype!(ClientId);

impl FromStr for ClientId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidClientId {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(invalid("it is empty"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(invalid("it contains whitespace"));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Directory (tenant) id or domain name; it becomes a path segment of the
/// token endpoint URL.
///
/// Like the Azure SDKs, only ASCII letters, digits, `.` and `-` are accepted.
/// `.` and `..` alone are refused too: as path segments they would change
/// which URL is called.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);
string_newtype!(TenantId);

impl FromStr for TenantId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidTenantId {
            value: s.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(invalid("it is empty".to_owned()));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
        {
            return Err(invalid(format!(
                "it contains {c:?}; only ASCII letters, digits, '.' and '-' are allowed \
                 (use the directory id GUID or a domain such as contoso.onmicrosoft.com)"
            )));
        }
        if s == "." || s == ".." {
            return Err(invalid("'.' and '..' are not tenants".to_owned()));
        }
        Ok(Self(s.to_owned()))
    }
}

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

/// One OAuth 2.0 scope to request, e.g. `https://vault.azure.net/.default`.
///
/// Scopes are joined with spaces in the request, so a scope must not be
/// empty or contain whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(String);
string_newtype!(Scope);

impl FromStr for Scope {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidScope {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(invalid("it is empty"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(invalid(
                "it contains whitespace; pass several scopes as separate values",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: FromStr<Err = Error> + fmt::Debug>(s: &str) -> String {
        s.parse::<T>().expect_err(s).to_string()
    }

    #[test]
    fn client_id_round_trips_and_rejects_empty_or_spaces() {
        let id: ClientId = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        assert_eq!(id.to_string(), "11111111-2222-3333-4444-555555555555");
        assert_eq!(
            err::<ClientId>(""),
            "client id \"\" is invalid: it is empty"
        );
        assert!(err::<ClientId>("abc\n").contains("whitespace"));
    }

    #[test]
    fn tenant_id_accepts_guid_and_domain() {
        for t in [
            "72f988bf-0000-4000-8000-000000000001",
            "contoso.onmicrosoft.com",
        ] {
            assert_eq!(t.parse::<TenantId>().unwrap().as_str(), t);
        }
    }

    #[test]
    fn tenant_id_rejects_other_characters_naming_them() {
        assert!(err::<TenantId>("").contains("empty"));
        let msg = err::<TenantId>("contoso/../x");
        assert!(msg.contains("'/'"), "{msg}");
        assert!(err::<TenantId>("a b").contains("' '"));
        assert!(err::<TenantId>("..").contains("not tenants"));
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

    #[test]
    fn scope_rejects_empty_and_whitespace() {
        let scope: Scope = "https://vault.azure.net/.default".parse().unwrap();
        assert_eq!(scope.as_str(), "https://vault.azure.net/.default");
        assert!(err::<Scope>("").contains("empty"));
        assert!(err::<Scope>("a b").contains("separate values"));
    }
}
