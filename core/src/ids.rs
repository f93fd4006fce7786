//! Validated identifiers: client id, tenant id and token audience.
//!
//! Each is a newtype so a tenant id cannot be passed where a client id is
//! expected, and each is checked once, where it enters the program, by the
//! same rules in every component: the webhook's warning that "Azure SDKs
//! will refuse" a tenant fires for exactly the values `azure-wi-auth`
//! refuses.

use std::{fmt, str::FromStr};

use crate::{Error, names};

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

/// Whether `s` is a GUID written as 8-4-4-4-12 hex digits, the form Entra
/// gives client, tenant and object ids in.
#[must_use]
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Application (client) id of the app registration or user-assigned managed
/// identity whose federated identity credential trusts the pod's
/// ServiceAccount. Sent as `client_id` in the token request.
///
/// Only checked to be non-empty and free of whitespace: Entra decides
/// whether it exists. [`ClientId::is_guid`] tells whether it has the form
/// Entra issues, for warnings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);
string_newtype!(ClientId);

impl ClientId {
    /// Whether the id is a GUID, as every client id Entra issues is.
    #[must_use]
    pub fn is_guid(&self) -> bool {
        is_guid(&self.0)
    }
}

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

impl TenantId {
    /// Whether `s` would be accepted, for callers that only warn.
    #[must_use]
    pub fn is_valid(s: &str) -> bool {
        tenant_problem(s).is_none()
    }
}

/// What is wrong with `s` as a tenant, or `None`.
fn tenant_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".to_owned());
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
    {
        return Some(format!(
            "it contains {c:?}; only ASCII letters, digits, '.' and '-' are allowed \
             (use the directory id GUID or a domain such as contoso.onmicrosoft.com)"
        ));
    }
    if s == "." || s == ".." {
        return Some("'.' and '..' are not tenants".to_owned());
    }
    None
}

impl FromStr for TenantId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match tenant_problem(s) {
            None => Ok(Self(s.to_owned())),
            Some(reason) => Err(Error::InvalidTenantId {
                value: s.to_owned(),
                reason,
            }),
        }
    }
}

/// Audience of the projected ServiceAccount token; Entra's federated
/// identity credentials must list the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Audience(String);
string_newtype!(Audience);

impl Default for Audience {
    /// [`names::DEFAULT_AUDIENCE`], `api://AzureADTokenExchange`.
    fn default() -> Self {
        Self(names::DEFAULT_AUDIENCE.to_owned())
    }
}

impl FromStr for Audience {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.is_empty() || s.chars().any(char::is_whitespace) {
            Err(Error::InvalidAudience {
                value: s.to_owned(),
            })
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

/// One OAuth 2.0 scope to request, e.g. `https://vault.azure.net/.default`
/// ([`AzureCloud::key_vault_scope`](crate::AzureCloud::key_vault_scope)).
///
/// Scopes are joined with spaces in the request, so a scope must not be
/// empty or contain whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(String);
string_newtype!(Scope);

impl Scope {
    /// A scope built here from constants, which cannot hold whitespace.
    pub(crate) fn known(scope: String) -> Self {
        debug_assert!(!scope.is_empty() && !scope.chars().any(char::is_whitespace));
        Self(scope)
    }
}

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
    fn guids_are_8_4_4_4_12_hex() {
        assert!(is_guid("11111111-2222-3333-4444-555555555555"));
        assert!(is_guid("ABCDEF01-2222-3333-4444-555555555555"));
        for bad in [
            "",
            "11111111222233334444555555555555",
            "11111111-2222-3333-4444-55555555555g",
            "{11111111-2222-3333-4444-555555555555}",
            "11111111-2222-3333-4444-5555555555555",
            "1111111-2222-3333-4444-5555555555555",
        ] {
            assert!(!is_guid(bad), "{bad}");
        }
    }

    #[test]
    fn client_id_round_trips_and_rejects_empty_or_spaces() {
        let id: ClientId = "11111111-2222-3333-4444-555555555555".parse().unwrap();
        assert_eq!(id.to_string(), "11111111-2222-3333-4444-555555555555");
        assert!(id.is_guid());
        assert!(!"my-app".parse::<ClientId>().unwrap().is_guid());
        assert_eq!(err::<ClientId>(""), "invalid client id \"\": it is empty");
        assert!(err::<ClientId>("abc\n").contains("whitespace"));
    }

    #[test]
    fn tenant_id_accepts_guid_and_domain() {
        for t in [
            "72f988bf-0000-4000-8000-000000000001",
            "contoso.onmicrosoft.com",
        ] {
            assert_eq!(t.parse::<TenantId>().unwrap().as_str(), t);
            assert!(TenantId::is_valid(t));
        }
    }

    #[test]
    fn tenant_id_rejects_other_characters_naming_them() {
        assert!(err::<TenantId>("").contains("empty"));
        let msg = err::<TenantId>("contoso/../x");
        assert!(msg.contains("'/'"), "{msg}");
        assert!(err::<TenantId>("a b").starts_with("invalid tenant id \"a b\": it contains ' '"));
        assert!(err::<TenantId>("tenant?x=1").contains("'?'"));
    }

    #[test]
    fn dot_segments_are_not_tenants_for_any_caller() {
        // The webhook's warning and the library's refusal share this rule.
        for dots in [".", ".."] {
            assert!(err::<TenantId>(dots).contains("not tenants"));
            assert!(!TenantId::is_valid(dots));
        }
    }

    #[test]
    fn scope_rejects_empty_and_whitespace() {
        let scope: Scope = "https://vault.azure.net/.default".parse().unwrap();
        assert_eq!(scope.as_str(), "https://vault.azure.net/.default");
        assert!(err::<Scope>("").contains("empty"));
        assert!(err::<Scope>("a b").contains("separate values"));
    }

    #[test]
    fn audience_must_be_non_empty_without_whitespace() {
        assert_eq!(Audience::default().as_str(), "api://AzureADTokenExchange");
        assert!("api://custom".parse::<Audience>().is_ok());
        assert!(err::<Audience>("").starts_with("invalid token audience \"\""));
        assert!("api://a b".parse::<Audience>().is_err());
    }
}
