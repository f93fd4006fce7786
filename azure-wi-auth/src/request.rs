//! The token exchange request, built without sending it: whoever owns the
//! HTTP client sends [`TokenRequest::method`], [`TokenRequest::url`],
//! [`TokenRequest::headers`] and [`TokenRequest::body`] as they are.

use std::fmt;

use url::Url;
use url::form_urlencoded;

use crate::{
    Assertion, AuthorityHost, ClientId, ClientRequestId, Error, Scope, TenantId,
    WorkloadIdentityConfig,
};

/// `client_assertion_type` of a JWT bearer client assertion (RFC 7523).
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// `user-agent` sent with every request: this crate and its version.
pub const USER_AGENT: &str = concat!("azure-wi-auth/", env!("CARGO_PKG_VERSION"));

/// A ready-to-send `POST {authority}{tenant}/oauth2/v2.0/token` that
/// exchanges the client assertion for an access token (OAuth 2.0 client
/// credentials grant with a JWT client assertion).
///
/// `Debug` shows the form fields with `client_assertion` redacted.
#[derive(Clone)]
pub struct TokenRequest {
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl TokenRequest {
    /// Builds the request. `claims` is the JSON claims challenge or client
    /// capabilities (e.g. `{"access_token":{"xms_cc":{"values":["CP1"]}}}`),
    /// sent only when given and not blank.
    ///
    /// # Errors
    /// [`Error::NoScopes`] when `scopes` is empty.
    ///
    /// # Example
    /// ```
    /// use azure_wi_auth::{Assertion, ClientRequestId, Scope, TokenRequest, WorkloadIdentityConfig};
    ///
    /// let config = WorkloadIdentityConfig::builder()
    ///     .client_id("11111111-2222-3333-4444-555555555555")
    ///     .tenant_id("72f988bf-0000-4000-8000-000000000001")
    ///     .token_file("/var/run/secrets/azure/tokens/azure-identity-token")
    ///     .build()?;
    /// let assertion = Assertion::new("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")?;
    /// let scopes: [Scope; 1] = ["https://vault.azure.net/.default".parse()?];
    /// let id = ClientRequestId::from_random_bytes([7; 16]);
    /// let request = TokenRequest::new(&config, &assertion, &scopes, None, &id)?;
    /// assert_eq!(
    ///     request.url().as_str(),
    ///     "https://login.microsoftonline.com/72f988bf-0000-4000-8000-000000000001/oauth2/v2.0/token"
    /// );
    /// assert!(!format!("{request:?}").contains("eyJ"));
    /// # Ok::<(), azure_wi_auth::Error>(())
    /// ```
    pub fn new(
        config: &WorkloadIdentityConfig,
        assertion: &Assertion,
        scopes: &[Scope],
        claims: Option<&str>,
        request_id: &ClientRequestId,
    ) -> Result<Self, Error> {
        Self::for_client(
            config.authority_host(),
            config.tenant_id(),
            config.client_id(),
            assertion,
            scopes,
            claims,
            request_id,
        )
    }

    /// The same request from its parts, for a credential that is given its
    /// client and assertion per call rather than by a configuration.
    pub(crate) fn for_client(
        authority_host: &AuthorityHost,
        tenant_id: &TenantId,
        client_id: &ClientId,
        assertion: &Assertion,
        scopes: &[Scope],
        claims: Option<&str>,
        request_id: &ClientRequestId,
    ) -> Result<Self, Error> {
        if scopes.is_empty() {
            return Err(Error::NoScopes);
        }
        let url = authority_host
            .as_url()
            .join(&format!("{tenant_id}/oauth2/v2.0/token"))
            .expect(
                "an https authority ending in '/' joined with a tenant of [A-Za-z0-9.-] is a URL",
            );
        let scope = scopes
            .iter()
            .map(Scope::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", client_id.as_str())
            .append_pair("client_assertion_type", JWT_BEARER_ASSERTION_TYPE)
            .append_pair("client_assertion", assertion.secret())
            .append_pair("scope", &scope);
        if let Some(claims) = claims.filter(|c| !c.trim().is_empty()) {
            form.append_pair("claims", claims);
        }
        let headers = vec![
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("accept", "application/json".to_owned()),
            ("x-ms-client-request-id", request_id.as_str().to_owned()),
            ("user-agent", USER_AGENT.to_owned()),
        ];
        Ok(Self {
            url,
            headers,
            body: form.finish(),
        })
    }

    /// Always `POST`.
    #[must_use]
    pub fn method(&self) -> &'static str {
        "POST"
    }

    /// The tenant's token endpoint.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Headers to send, names in lower case.
    #[must_use]
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The value of one header, by lower-case name.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `application/x-www-form-urlencoded` body. It contains the
    /// assertion: do not log it.
    #[must_use]
    pub fn body(&self) -> &str {
        &self.body
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form: Vec<(String, String)> = form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| {
                let v = if k == "client_assertion" {
                    "<redacted>".into()
                } else {
                    v
                };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        f.debug_struct("TokenRequest")
            .field("method", &self.method())
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .field("form", &form)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASSERTION: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.ZmFrZS1zaWc";
    const REQUEST_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    fn config(authority: &str) -> WorkloadIdentityConfig {
        WorkloadIdentityConfig::builder()
            .client_id("11111111-2222-3333-4444-555555555555")
            .tenant_id("72f988bf-0000-4000-8000-000000000001")
            .token_file("/token")
            .authority_host(authority)
            .build()
            .unwrap()
    }

    fn scopes(list: &[&str]) -> Vec<Scope> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn build(authority: &str, scope_list: &[&str], claims: Option<&str>) -> TokenRequest {
        TokenRequest::new(
            &config(authority),
            &Assertion::new(ASSERTION).unwrap(),
            &scopes(scope_list),
            claims,
            &REQUEST_ID.parse().unwrap(),
        )
        .unwrap()
    }

    fn form(request: &TokenRequest) -> Vec<(String, String)> {
        form_urlencoded::parse(request.body().as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn url_method_and_headers() {
        let request = build(
            "https://login.microsoftonline.com",
            &["https://vault.azure.net/.default"],
            None,
        );
        assert_eq!(request.method(), "POST");
        assert_eq!(
            request.url().as_str(),
            "https://login.microsoftonline.com/72f988bf-0000-4000-8000-000000000001/oauth2/v2.0/token"
        );
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.header("accept"), Some("application/json"));
        assert_eq!(request.header("x-ms-client-request-id"), Some(REQUEST_ID));
        assert_eq!(request.header("user-agent"), Some("azure-wi-auth/0.1.0"));
    }

    #[test]
    fn authority_with_path_keeps_it() {
        let request = build("https://127.0.0.1:18443/entra", &["s"], None);
        assert_eq!(
            request.url().as_str(),
            "https://127.0.0.1:18443/entra/72f988bf-0000-4000-8000-000000000001/oauth2/v2.0/token"
        );
    }

    #[test]
    fn body_has_the_federated_client_credentials_fields() {
        let request = build(
            "https://login.microsoftonline.com/",
            &["https://vault.azure.net/.default", "offline"],
            None,
        );
        let want: Vec<(String, String)> = [
            ("grant_type", "client_credentials"),
            ("client_id", "11111111-2222-3333-4444-555555555555"),
            ("client_assertion_type", JWT_BEARER_ASSERTION_TYPE),
            ("client_assertion", ASSERTION),
            ("scope", "https://vault.azure.net/.default offline"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(form(&request), want);
        assert!(request.body().contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        ));
        assert!(
            request
                .body()
                .contains("scope=https%3A%2F%2Fvault.azure.net%2F.default+offline")
        );
    }

    #[test]
    fn claims_only_when_given() {
        let claims = r#"{"access_token":{"xms_cc":{"values":["CP1"]}}}"#;
        let request = build("https://login.microsoftonline.com/", &["s"], Some(claims));
        let last = form(&request).pop().unwrap();
        assert_eq!(last, ("claims".to_owned(), claims.to_owned()));
        for none in [None, Some(""), Some(" ")] {
            let request = build("https://login.microsoftonline.com/", &["s"], none);
            assert!(!form(&request).iter().any(|(k, _)| k == "claims"));
        }
    }

    #[test]
    fn debug_redacts_the_assertion() {
        let request = build("https://login.microsoftonline.com/", &["s"], None);
        let debug = format!("{request:?}");
        assert!(!debug.contains("eyJ"), "{debug}");
        assert!(!debug.contains("ZmFrZS1zaWc"), "{debug}");
        assert!(
            debug.contains(r#"("client_assertion", "<redacted>")"#),
            "{debug}"
        );
        assert!(debug.contains("client_credentials"), "{debug}");
    }

    #[test]
    fn no_scopes_is_an_error() {
        let err = TokenRequest::new(
            &config("https://login.microsoftonline.com/"),
            &Assertion::new(ASSERTION).unwrap(),
            &[],
            None,
            &REQUEST_ID.parse().unwrap(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("at least one scope"), "{err}");
    }
}
