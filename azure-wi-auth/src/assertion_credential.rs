//! [`AssertionCredential`]: the federated client-assertion exchange for a
//! process that acts for many workloads (a node daemon such as a CSI
//! provider), each call bringing its own identity and assertion.

use std::{sync::Arc, time::SystemTime};

use crate::{
    AccessToken, Assertion, AssertionClaims, AuthorityHost, ClientId, ClientRequestId,
    DiagnosisInput, Error, Scope, TenantId, TokenRequest,
    cache::{CacheKey, Subject, TokenCache},
    clock::Clock,
    credential::send_token_request,
    exchange::{Exchange, ExchangeSettings, exchange_setters},
    flight::get_or_exchange,
    retry::driver,
    transport::SharedTransport,
};

/// The Entra ID application (or user-assigned managed identity) a token is
/// asked for: the tenant it lives in and its client id. Its federated
/// identity credentials decide which assertions it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FederatedIdentity {
    tenant_id: TenantId,
    client_id: ClientId,
}

impl FederatedIdentity {
    /// The application `client_id` in `tenant_id`.
    #[must_use]
    pub fn new(tenant_id: TenantId, client_id: ClientId) -> Self {
        Self {
            tenant_id,
            client_id,
        }
    }

    /// The tenant the token is asked from.
    #[must_use]
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The application the token is for.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }
}

/// Gets Entra ID access tokens for assertions handed to it per call, e.g.
/// the ServiceAccount tokens the kubelet passes a CSI provider on each
/// mount.
///
/// Unlike [`WorkloadIdentityCredential`](crate::WorkloadIdentityCredential),
/// which serves one pod from its token file, one `AssertionCredential`
/// serves every pod on a node, so its cache must never hand one pod's token
/// to another:
///
/// * A cached token is keyed by the tenant, the client id, and the
///   assertion's `iss`, `sub` and `aud` claims (what Entra ID matches a
///   federated identity credential on), besides the scopes and claims
///   request. The claims are read **unverified**, only to pick the cache
///   entry; Entra ID verifies the assertion when it is exchanged. The
///   assertion itself is never a key, never logged, never in an error.
/// * Replicas of one ServiceAccount present different assertions with the
///   same issuer and subject: they share one exchange (single flight) and
///   its token, until the token nears expiry and the next caller's
///   assertion is exchanged for a new one in the background.
/// * Assertions from different subjects never share a token, nor do two
///   client ids or tenants with the same subject.
/// * An assertion without `iss` or `sub`, or whose `exp` has passed, is
///   refused locally ([`Error::AssertionClaimMissing`],
///   [`Error::AssertionExpired`]) before any cache lookup: Entra ID would
///   refuse it, so it must not be able to reach a token cached for a valid
///   one.
///
/// Retries, the transport and the clock work as for
/// [`WorkloadIdentityCredential`](crate::WorkloadIdentityCredential).
/// Cloning is cheap and shares the cache.
///
/// ```no_run
/// # async fn run(service_account_token: String) -> Result<(), azure_wi_auth::Error> {
/// use azure_wi_auth::{Assertion, AssertionCredential, FederatedIdentity, Scope};
///
/// let credential = AssertionCredential::builder().build()?;
/// let identity = FederatedIdentity::new(
///     "72f988bf-0000-4000-8000-000000000001".parse()?,
///     "11111111-2222-3333-4444-555555555555".parse()?,
/// );
/// let scope: Scope = "https://vault.azure.net/.default".parse()?;
/// let assertion = Assertion::new(service_account_token)?;
/// let token = credential.get_token(&identity, &assertion, &[scope]).await?;
/// # let _ = token;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AssertionCredential {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AssertionCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cache holds tokens: left out.
        f.debug_struct("AssertionCredential")
            .field("authority_host", &self.inner.authority_host)
            .field("retry", &self.inner.exchange.retry)
            .finish_non_exhaustive()
    }
}

struct Inner {
    authority_host: AuthorityHost,
    exchange: Exchange,
    cache: TokenCache,
}

/// Builds an [`AssertionCredential`].
#[derive(Debug)]
#[must_use = "call .build() to get the credential"]
pub struct AssertionCredentialBuilder {
    authority_host: AuthorityHost,
    settings: ExchangeSettings,
}

impl AssertionCredentialBuilder {
    /// Asks this Entra ID authority (default: the public cloud's), e.g. a
    /// sovereign cloud's from [`azure_wi_core::AzureCloud::authority_host`].
    pub fn with_authority_host(mut self, authority_host: AuthorityHost) -> Self {
        self.authority_host = authority_host;
        self
    }

    exchange_setters!();

    /// The credential.
    ///
    /// # Errors
    ///
    /// Without a custom client or transport, those of
    /// [`WorkloadIdentityCredentialBuilder::build`](crate::WorkloadIdentityCredentialBuilder::build).
    pub fn build(self) -> Result<AssertionCredential, Error> {
        Ok(AssertionCredential {
            inner: Arc::new(Inner {
                authority_host: self.authority_host,
                exchange: self.settings.resolve()?,
                cache: TokenCache::default(),
            }),
        })
    }
}

impl AssertionCredential {
    /// A builder with the public cloud's authority, the default transport,
    /// the system clock and the default retry policy.
    pub fn builder() -> AssertionCredentialBuilder {
        AssertionCredentialBuilder {
            authority_host: AuthorityHost::default(),
            settings: ExchangeSettings::default(),
        }
    }

    /// The authority tokens are asked from.
    pub fn authority_host(&self) -> &AuthorityHost {
        &self.inner.authority_host
    }

    /// The transport, for a client that should share its connection pool.
    pub(crate) fn transport(&self) -> &SharedTransport {
        &self.inner.exchange.transport
    }

    /// The clock, for a client that should read time the same way.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.exchange.clock
    }

    /// A token for `identity` and `scopes`, obtained with `assertion` unless
    /// one for the same identity and assertion subject is cached.
    ///
    /// # Errors
    ///
    /// [`Error::AssertionNotJwt`], [`Error::AssertionClaimMissing`] or
    /// [`Error::AssertionExpired`] for an assertion refused locally;
    /// otherwise as
    /// [`WorkloadIdentityCredential::get_token`](crate::WorkloadIdentityCredential::get_token)
    /// (Entra ID's refusal, the last network error, [`Error::NoScopes`]).
    pub async fn get_token(
        &self,
        identity: &FederatedIdentity,
        assertion: &Assertion,
        scopes: &[Scope],
    ) -> Result<AccessToken, Error> {
        self.get_token_with_claims(identity, assertion, scopes, None)
            .await
    }

    /// As [`get_token`](Self::get_token), with a claims request (a CAE
    /// challenge or client capabilities); cached apart from tokens without.
    ///
    /// # Errors
    ///
    /// As [`get_token`](Self::get_token).
    pub async fn get_token_with_claims(
        &self,
        identity: &FederatedIdentity,
        assertion: &Assertion,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Result<AccessToken, Error> {
        if scopes.is_empty() {
            return Err(Error::NoScopes);
        }
        let subject = subject_of(assertion, self.inner.exchange.clock.now())?;
        let key = CacheKey::new(
            identity.tenant_id(),
            identity.client_id(),
            Some(subject),
            scopes,
            claims,
        );
        get_or_exchange(&self.inner.cache, &key, &self.inner.exchange.clock, || {
            let inner = Arc::clone(&self.inner);
            let identity = identity.clone();
            let assertion = assertion.clone();
            let scopes = scopes.to_vec();
            let claims = claims.map(str::to_owned);
            Box::pin(async move {
                inner
                    .exchange(&identity, &assertion, &scopes, claims.as_deref())
                    .await
            })
        })
        .await
    }
}

/// What the cache is keyed on besides tenant and client: the assertion's
/// unverified `iss`, `sub` and `aud`; refuses assertions that Entra ID
/// would refuse for lacking them or for having expired.
fn subject_of(assertion: &Assertion, now: SystemTime) -> Result<Subject, Error> {
    let claims = AssertionClaims::decode_unverified(assertion)?;
    let required = |value: Option<String>, claim: &'static str| {
        value
            .filter(|v| !v.is_empty())
            .ok_or(Error::AssertionClaimMissing { claim })
    };
    let issuer = required(claims.iss, "iss")?;
    let subject = required(claims.sub, "sub")?;
    if let Some(exp) = claims.exp {
        let now_unix = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        if exp <= now_unix {
            return Err(Error::AssertionExpired { subject, exp });
        }
    }
    let mut audiences = claims.aud;
    audiences.sort();
    Ok(Subject {
        issuer,
        subject,
        audiences,
    })
}

impl Inner {
    /// One exchange for `identity` with `assertion`, with retries.
    async fn exchange(
        &self,
        identity: &FederatedIdentity,
        assertion: &Assertion,
        scopes: &[Scope],
        claims: Option<&str>,
    ) -> Result<AccessToken, Error> {
        driver::run(
            &self.exchange.retry,
            self.exchange.clock.as_ref(),
            "token request",
            || async {
                let request = TokenRequest::for_client(
                    &self.authority_host,
                    identity.tenant_id(),
                    identity.client_id(),
                    assertion,
                    scopes,
                    claims,
                    &ClientRequestId::from_random_bytes(rand::random()),
                )?;
                send_token_request(
                    self.exchange.token_transport.as_ref(),
                    self.exchange.clock.as_ref(),
                    &request,
                )
                .await
            },
        )
        .await
        .map_err(|error| {
            error.with_diagnosis(&DiagnosisInput::for_assertion(
                identity,
                &self.authority_host,
                assertion,
                self.exchange.clock.now(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{ISSUER, SUBJECT, jwt, sa_claims};
    use serde_json::json;
    use std::time::Duration;

    const T: i64 = 1_700_000_000;

    fn at(unix: i64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix.unsigned_abs())
    }

    fn assertion(claims: &serde_json::Value) -> Assertion {
        Assertion::new(jwt(claims)).expect("a JWT")
    }

    #[test]
    fn the_subject_is_issuer_subject_and_audiences() {
        let subject = subject_of(&assertion(&sa_claims(T, T + 3600)), at(T + 10)).expect("valid");
        assert_eq!(subject.issuer, ISSUER);
        assert_eq!(subject.subject, SUBJECT);
        // Audience order does not split the cache.
        let a = subject_of(
            &assertion(&json!({"iss":"i","sub":"s","aud":["a","b"]})),
            at(T),
        );
        let b = subject_of(
            &assertion(&json!({"iss":"i","sub":"s","aud":["b","a"]})),
            at(T),
        );
        assert_eq!(a.expect("valid"), b.expect("valid"));
    }

    #[test]
    fn assertions_without_issuer_or_subject_or_expired_are_refused() {
        for (claims, want) in [
            (json!({"sub": "s"}), "iss"),
            (json!({"iss": "i"}), "sub"),
            (json!({"iss": "i", "sub": ""}), "sub"),
        ] {
            match subject_of(&assertion(&claims), at(T)) {
                Err(Error::AssertionClaimMissing { claim }) => assert_eq!(claim, want),
                other => panic!("{claims}: {other:?}"),
            }
        }
        let expired = subject_of(&assertion(&sa_claims(T - 3600, T)), at(T));
        assert!(
            matches!(&expired, Err(Error::AssertionExpired { subject, exp }) if subject == SUBJECT && *exp == T),
            "{expired:?}"
        );
        assert!(subject_of(&assertion(&sa_claims(T - 3600, T)), at(T - 1)).is_ok());
    }
}
