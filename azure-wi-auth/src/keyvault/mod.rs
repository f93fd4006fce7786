//! Key Vault clients: [`SecretClient`] for secrets, and [`KeyClient`] and
//! [`CertificateClient`] reading keys and certificates through the same
//! vault connection, with challenge-based authentication, paging that
//! follows `nextLink`, and retries of throttled requests.

pub mod challenge;
mod credential;
mod model;
mod objects;
mod pool;
mod target;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use futures::{Stream, StreamExt as _, stream};
use serde_json::{Value, json};
use url::Url;

pub use challenge::Challenge;
pub use credential::{BoundAssertion, VaultCredential};
pub use model::{Secret, SecretProperties};
pub use objects::{
    Certificate, CertificateClient, CertificateProperties, EcCurve, JsonWebKey, Key, KeyClient,
    KeyProperties,
};
pub use pool::WorkloadVaults;
use target::{Target, segment};

use crate::{
    Error, Scope,
    clock::Clock,
    retry::{
        RetryPolicy,
        driver::{self, Failure},
        retry_after,
    },
    transport::{HttpRequest, HttpResponse, ReqwestTransport, SharedTransport, Transport},
};

/// The Key Vault REST API version this client speaks: the latest stable
/// version in Microsoft's published specification of the secrets API.
pub const API_VERSION: &str = "2025-07-01";

/// What a secret write sets besides the value (Key Vault's
/// `SecretSetParameters`). A field left at its default is left out of the
/// request, so the vault applies its own default (enabled, no expiry, no
/// content type, no tags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetSecretOptions {
    /// `contentType`: how a reader should take the value.
    pub content_type: Option<String>,
    /// `attributes.enabled`.
    pub enabled: Option<bool>,
    /// `attributes.exp`: when the secret expires (whole seconds; Key
    /// Vault still serves an expired secret).
    pub expires: Option<SystemTime>,
    /// `tags`: the new version's tag set, whole.
    pub tags: BTreeMap<String, String>,
}

/// Key Vault's time attributes: Unix seconds (before 1970, negative).
pub(crate) fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// Reads and writes the secrets of one vault.
///
/// The first request goes out without a token; the vault answers 401 with
/// a challenge naming the resource and tenant, and the client asks the
/// credential for a token for exactly that scope, after checking that the
/// vault's host belongs to the resource (so no other endpoint can collect
/// a token) and that the tenant is the credential's. The challenge is then
/// reused. 408, 429 and 5xx answers are retried honouring `Retry-After`,
/// by the same retry loop as the credential's and on its clock.
///
/// By default the client sends its requests through the credential's
/// transport: one connection pool, one proxy and one set of trusted roots
/// (`AZURE_WI_EXTRA_CA_FILE` included) for Entra ID and the vault.
///
/// ```no_run
/// # async fn run() -> Result<(), azure_wi_auth::Error> {
/// use azure_wi_auth::{SecretClient, WorkloadIdentityCredential};
/// let credential = WorkloadIdentityCredential::from_env()?;
/// let client = SecretClient::new("https://orders-kv.vault.azure.net", credential)?;
/// let secret = client.get_secret("db-password").await?;
/// let password: &str = secret.value.expose();
/// # let _ = password; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SecretClient {
    inner: Arc<ClientInner>,
}

#[derive(Debug)]
struct ClientInner {
    vault: Url,
    credential: VaultCredential,
    transport: SharedTransport,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    challenge: Mutex<Option<Challenge>>,
}

/// Options for a [`SecretClient`].
#[derive(Debug)]
#[must_use = "call .build() to get the client"]
pub struct SecretClientBuilder {
    vault_url: String,
    credential: VaultCredential,
    transport: Option<SharedTransport>,
    retry: RetryPolicy,
    challenge: Option<Challenge>,
}

impl SecretClientBuilder {
    /// Starts from a challenge this vault already gave another client
    /// ([`SecretClient::challenge`]), so the first request carries a token
    /// instead of going out bare to collect the 401. A service that builds
    /// a client per caller (the CSI provider, per mount) saves one request
    /// per client this way. The challenge is vetted as one from the vault
    /// itself would be.
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// Sends requests with this `reqwest::Client` instead of the
    /// credential's transport.
    pub fn with_http_client(mut self, client: reqwest::Client) -> Self {
        self.transport = Some(Arc::new(ReqwestTransport::new(client)));
        self
    }

    /// Sends requests through any [`Transport`] instead of the
    /// credential's.
    pub fn with_transport(mut self, transport: impl Transport) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Sends requests through a transport already shared with others.
    pub(crate) fn with_shared_transport(mut self, transport: SharedTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Retries throttled and failed requests within `policy`.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVaultUrl`] unless the URL is `https://<host>` (a
    /// trailing slash is fine).
    pub fn build(self) -> Result<SecretClient, Error> {
        let invalid = |reason: &str| Error::InvalidVaultUrl {
            value: self.vault_url.clone(),
            reason: reason.to_owned(),
        };
        let vault = Url::parse(&self.vault_url).map_err(|e| invalid(&e.to_string()))?;
        if vault.scheme() != "https" {
            return Err(invalid(
                "Key Vault is only reached over https: a bearer token is never sent in clear text",
            ));
        }
        if vault.host_str().is_none()
            || !vault.path().trim_matches('/').is_empty()
            || vault.query().is_some()
        {
            return Err(invalid(
                "expected https://<vault-name>.vault.azure.net with no path",
            ));
        }
        let transport = self
            .transport
            .unwrap_or_else(|| Arc::clone(self.credential.transport()));
        let clock = Arc::clone(self.credential.clock());
        if let Some(challenge) = &self.challenge {
            vet(&vault, self.credential.tenant_id().as_str(), challenge).map_err(|problem| {
                Error::Challenge {
                    vault: self.vault_url.trim_end_matches('/').to_owned(),
                    problem,
                }
            })?;
        }
        Ok(SecretClient {
            inner: Arc::new(ClientInner {
                vault,
                credential: self.credential,
                transport,
                clock,
                retry: self.retry,
                challenge: Mutex::new(self.challenge),
            }),
        })
    }
}

impl SecretClient {
    /// A client for `vault_url` (`https://<name>.vault.azure.net`).
    ///
    /// # Errors
    ///
    /// As [`SecretClientBuilder::build`].
    pub fn new(vault_url: &str, credential: impl Into<VaultCredential>) -> Result<Self, Error> {
        Self::builder(vault_url, credential).build()
    }

    /// A builder with options.
    pub fn builder(vault_url: &str, credential: impl Into<VaultCredential>) -> SecretClientBuilder {
        SecretClientBuilder {
            vault_url: vault_url.to_owned(),
            credential: credential.into(),
            transport: None,
            retry: RetryPolicy::default(),
            challenge: None,
        }
    }

    /// The challenge the vault answered with (resource scope and tenant),
    /// once a request has been through it; see
    /// [`SecretClientBuilder::with_challenge`].
    pub fn challenge(&self) -> Option<Challenge> {
        self.inner
            .challenge
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The tenant of the identity the client reads as.
    pub fn tenant_id(&self) -> &crate::TenantId {
        self.inner.credential.tenant_id()
    }

    /// The vault's URL.
    pub fn vault_url(&self) -> &str {
        self.inner.vault.as_str().trim_end_matches('/')
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self
            .inner
            .vault
            .join(path)
            .expect("a secret path joins a vault URL");
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        url
    }

    /// The current version of secret `name`.
    ///
    /// # Errors
    ///
    /// [`Error::SecretNotFound`], [`Error::Forbidden`] (naming the role
    /// needed), a credential error, or [`Error::KeyVault`].
    pub async fn get_secret(&self, name: &str) -> Result<Secret, Error> {
        self.get(name, None).await
    }

    /// Version `version` of secret `name`.
    ///
    /// # Errors
    ///
    /// As [`SecretClient::get_secret`].
    pub async fn get_secret_version(&self, name: &str, version: &str) -> Result<Secret, Error> {
        self.get(name, Some(version)).await
    }

    async fn get(&self, name: &str, version: Option<&str>) -> Result<Secret, Error> {
        let what = Target::Secret { name, version };
        let json = self.get_json("secrets", name, version, &what).await?;
        model::secret(&json).ok_or_else(|| what.malformed(self.vault_url()))
    }

    /// `GET /{collection}/{name}/{version}` (empty version for the current
    /// one, the form the SDKs send).
    async fn get_json(
        &self,
        collection: &str,
        name: &str,
        version: Option<&str>,
        what: &Target<'_>,
    ) -> Result<Value, Error> {
        let path = format!(
            "{collection}/{}/{}",
            segment(name),
            version.map(segment).unwrap_or_default()
        );
        self.inner.request("GET", self.url(&path), None, what).await
    }

    /// A client for this vault's keys, sharing this client's challenge,
    /// credential, transport and retries.
    #[must_use]
    pub fn key_client(&self) -> KeyClient {
        KeyClient::from_vault(self.clone())
    }

    /// A client for this vault's certificates, sharing this client's
    /// challenge, credential, transport and retries.
    #[must_use]
    pub fn certificate_client(&self) -> CertificateClient {
        CertificateClient::from_vault(self.clone())
    }

    /// Writes a new version of secret `name` holding `value`.
    ///
    /// # Errors
    ///
    /// As [`SecretClient::get_secret`]; writing needs the Key Vault Secrets
    /// Officer role.
    pub async fn set_secret(&self, name: &str, value: &str) -> Result<Secret, Error> {
        self.set_secret_with(name, value, &SetSecretOptions::default())
            .await
    }

    /// Writes a new version of secret `name` holding `value`, with the
    /// content type, attributes and tags of `options` (Key Vault's
    /// `SecretSetParameters`): what a writer that marks its own objects,
    /// as the External Secrets Operator's PushSecret does with its
    /// `managed-by` tag, needs in one request.
    ///
    /// # Errors
    ///
    /// As [`SecretClient::set_secret`].
    pub async fn set_secret_with(
        &self,
        name: &str,
        value: &str,
        options: &SetSecretOptions,
    ) -> Result<Secret, Error> {
        let what = Target::Set { name };
        let mut body = json!({ "value": value });
        if let Some(content_type) = &options.content_type {
            body["contentType"] = content_type.as_str().into();
        }
        let mut attributes = serde_json::Map::new();
        if let Some(enabled) = options.enabled {
            attributes.insert("enabled".to_owned(), enabled.into());
        }
        if let Some(expires) = options.expires {
            attributes.insert("exp".to_owned(), unix_seconds(expires).into());
        }
        if !attributes.is_empty() {
            body["attributes"] = Value::Object(attributes);
        }
        if !options.tags.is_empty() {
            body["tags"] = json!(options.tags);
        }
        let json = self
            .write("PUT", &format!("secrets/{}", segment(name)), body, &what)
            .await?;
        model::secret(&json).ok_or_else(|| what.malformed(self.vault_url()))
    }

    /// Deletes secret `name` (every version; soft delete where the vault
    /// keeps deleted objects, so it can be recovered).
    ///
    /// # Errors
    ///
    /// [`Error::SecretNotFound`] when there is none, [`Error::Forbidden`]
    /// (deleting needs the Key Vault Secrets Officer role), a credential
    /// error, or [`Error::KeyVault`].
    pub async fn delete_secret(&self, name: &str) -> Result<(), Error> {
        self.delete("secrets", name).await
    }

    /// `DELETE /{collection}/{name}`; the deleted bundle is not needed.
    async fn delete(&self, collection: &'static str, name: &str) -> Result<(), Error> {
        let what = Target::Delete { collection, name };
        self.inner
            .request(
                "DELETE",
                self.url(&format!("{collection}/{}", segment(name))),
                None,
                &what,
            )
            .await
            .map(drop)
    }

    /// A write: `method` on `path` with a JSON `body`, the JSON answer.
    async fn write(
        &self,
        method: &'static str,
        path: &str,
        body: Value,
        what: &Target<'_>,
    ) -> Result<Value, Error> {
        self.inner
            .request(
                method,
                self.url(path),
                Some(body.to_string().into_bytes()),
                what,
            )
            .await
    }

    /// Every secret's metadata (no values), page by page as the caller
    /// consumes the stream.
    pub fn list_secret_properties(
        &self,
    ) -> impl Stream<Item = Result<SecretProperties, Error>> + Send + 'static {
        self.pages(self.url("secrets"), Target::List, model::properties)
    }

    /// The metadata of every version of secret `name`.
    pub fn list_secret_versions(
        &self,
        name: &str,
    ) -> impl Stream<Item = Result<SecretProperties, Error>> + Send + 'static {
        let url = self.url(&format!("secrets/{}/versions", segment(name)));
        self.pages(
            url,
            Target::Versions {
                name: name.to_owned(),
            },
            model::properties,
        )
    }

    /// The items of a list, `parse`d one by one, fetching the next page as
    /// the caller reaches it.
    fn pages<T: Send + 'static>(
        &self,
        first: Url,
        what: Target<'static>,
        parse: fn(&Value) -> Option<T>,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
        let inner = Arc::clone(&self.inner);
        stream::unfold(Some(first), move |next| {
            let inner = Arc::clone(&inner);
            let what = what.clone();
            async move {
                let url = next?;
                let page = match inner.request("GET", url, None, &what).await {
                    Ok(page) => page,
                    Err(error) => return Some((vec![Err(error)], None)),
                };
                let vault = inner.vault.as_str().trim_end_matches('/').to_owned();
                let mut items: Vec<Result<T, Error>> = page["value"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|item| parse(item).ok_or_else(|| what.malformed(&vault)))
                            .collect()
                    })
                    .unwrap_or_default();
                let next = match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                    None => None,
                    Some(link) => match inner.next_url(link) {
                        Ok(url) => Some(url),
                        Err(error) => {
                            items.push(Err(error));
                            None
                        }
                    },
                };
                Some((items, next))
            }
        })
        .flat_map(stream::iter)
    }
}

impl ClientInner {
    fn vault_str(&self) -> &str {
        self.vault.as_str().trim_end_matches('/')
    }

    /// A `nextLink` turned into the next request: same host as the vault
    /// (a token is never sent elsewhere), our api-version.
    fn next_url(&self, link: &str) -> Result<Url, Error> {
        let bad = |problem: String| Error::Challenge {
            vault: self.vault_str().to_owned(),
            problem,
        };
        let mut url =
            Url::parse(link).map_err(|e| bad(format!("nextLink {link:?} is not a URL: {e}")))?;
        if url.scheme() != "https"
            || url.host_str() != self.vault.host_str()
            || url.port_or_known_default() != self.vault.port_or_known_default()
        {
            return Err(bad(format!(
                "nextLink {link:?} points away from the vault; not following it"
            )));
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "api-version")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .append_pair("api-version", API_VERSION)
            .extend_pairs(pairs);
        Ok(url)
    }

    async fn request(
        &self,
        method: &'static str,
        url: Url,
        body: Option<Vec<u8>>,
        what: &Target<'_>,
    ) -> Result<Value, Error> {
        driver::run(
            &self.retry,
            self.clock.as_ref(),
            "Key Vault request",
            || self.attempt(method, &url, body.as_deref(), what),
        )
        .await
    }

    /// One request. Only Key Vault's own answers are retried: a credential
    /// error has been through the credential's retries already, and a
    /// network error to the vault is reported as it is.
    async fn attempt(
        &self,
        method: &'static str,
        url: &Url,
        body: Option<&[u8]>,
        what: &Target<'_>,
    ) -> Result<Value, Failure> {
        let response = self
            .authorized(method, url, body, what)
            .await
            .map_err(Failure::last)?;
        if (200..300).contains(&response.status) {
            return serde_json::from_slice(&response.body)
                .map_err(|_| Failure::last(what.malformed(self.vault_str())));
        }
        let wait = retry_after(&response, self.clock.now());
        Err(Failure::new(
            what.error(self.vault_str(), &response, wait),
            wait,
        ))
    }

    async fn send(
        &self,
        method: &'static str,
        url: &Url,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<HttpResponse, Error> {
        let request = HttpRequest {
            method,
            url: url.clone(),
            headers,
            body,
        };
        self.transport
            .send(request)
            .await
            .map_err(|message| Error::Transport {
                url: url.as_str().to_owned(),
                message,
            })
    }

    /// Sends with a token, going through the challenge first when none is
    /// cached, and once more when the vault answers 401 with a new one.
    async fn authorized(
        &self,
        method: &'static str,
        url: &Url,
        body: Option<&[u8]>,
        what: &Target<'_>,
    ) -> Result<HttpResponse, Error> {
        let json = || vec![("content-type".to_owned(), "application/json".to_owned())];
        let cached = self
            .challenge
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let mut challenge = match cached {
            Some(challenge) => challenge,
            None => {
                // The probe carries no token and no body, as the SDKs do.
                let probe = self.send(method, url, json(), Vec::new()).await?;
                if probe.status != 401 {
                    return Ok(probe);
                }
                self.accept(&probe)?
            }
        };
        for round in 0..2 {
            let scope: Scope = challenge.scope.parse()?;
            let token = self.credential.get_token(&[scope]).await?;
            let mut headers = json();
            headers.push((
                "authorization".to_owned(),
                format!("Bearer {}", token.secret()),
            ));
            let response = self
                .send(method, url, headers, body.unwrap_or_default().to_vec())
                .await?;
            if response.status != 401 || round == 1 {
                if response.status == 401 {
                    return Err(Error::Challenge {
                        vault: self.vault_str().to_owned(),
                        problem: format!(
                            "the vault refused the token while {}: {}",
                            what.describe(),
                            what.error(self.vault_str(), &response, None)
                        ),
                    });
                }
                return Ok(response);
            }
            challenge = self.accept(&response)?;
        }
        unreachable!("the loop returns in its second round")
    }

    /// Checks and caches the challenge of a 401 answer.
    fn accept(&self, response: &HttpResponse) -> Result<Challenge, Error> {
        let vault = self.vault_str().to_owned();
        let bad = |problem: String| Error::Challenge {
            vault: vault.clone(),
            problem,
        };
        let header = response
            .header("www-authenticate")
            .ok_or_else(|| bad("answered 401 without a WWW-Authenticate challenge".to_owned()))?;
        let challenge = challenge::parse(header).map_err(bad)?;
        vet(
            &self.vault,
            self.credential.tenant_id().as_str(),
            &challenge,
        )
        .map_err(bad)?;
        *self
            .challenge
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(challenge.clone());
        Ok(challenge)
    }
}

/// Whether a token for `challenge` may be sent to `vault`: its host must
/// belong to the challenge's resource (so no other endpoint can collect a
/// token), and the vault's tenant must be the identity's `tenant`.
fn vet(vault: &Url, tenant: &str, challenge: &Challenge) -> Result<(), String> {
    let host = vault.host_str().unwrap_or_default();
    if !challenge::resource_matches(host, &challenge.resource_host) {
        return Err(format!(
            "the challenge asks for a token for {}, which does not match the vault's host {host}; not sending one",
            challenge.resource_host
        ));
    }
    if let Some(challenged) = &challenge.tenant
        && !challenged.eq_ignore_ascii_case(tenant)
    {
        return Err(format!(
            "the vault belongs to tenant {challenged} but the identity's tenant (AZURE_TENANT_ID in a pod) is {tenant}; the identity and the vault must be in one tenant"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn time_attributes_are_unix_seconds_either_side_of_1970() {
        let epoch = SystemTime::UNIX_EPOCH;
        for (at, seconds) in [
            (epoch, 0),
            (
                epoch + Duration::from_millis(1_924_992_000_900),
                1_924_992_000,
            ),
            (epoch - Duration::from_secs(86_400), -86_400),
        ] {
            assert_eq!(unix_seconds(at), seconds);
        }
    }
}
