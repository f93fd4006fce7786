//! ServiceAccount tokens for the exchange, one TokenRequest per
//! (namespace, ServiceAccount, audiences) reused until it nears expiry,
//! however many ExternalSecrets use that ServiceAccount. ESO's azurekv
//! provider asks for a new one whenever it builds a client
//! (`providers/v1/azure/keyvault/keyvault.go` in
//! external-secrets/external-secrets), and ESO builds one on every
//! reconcile.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use k8s_openapi::api::{
    authentication::v1::{TokenRequest, TokenRequestSpec},
    core::v1::ServiceAccount,
};
use kube::{Api, api::PostParams};
use zeroize::Zeroizing;

/// The lifetime asked for: the apiserver's default, an hour.
pub const REQUESTED_LIFETIME: Duration = Duration::from_secs(3600);

/// A token is renewed once this share of its lifetime has passed.
const RENEW_AT: f64 = 0.8;

/// A token and when it was issued and expires.
#[derive(Clone)]
pub struct IssuedToken {
    token: Arc<Zeroizing<String>>,
    issued: SystemTime,
    expires: SystemTime,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("issued", &self.issued)
            .field("expires", &self.expires)
            .finish()
    }
}

impl IssuedToken {
    /// The token itself: a credential, never logged.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.token
    }

    /// Whether it is still worth presenting at `now`: before 80% of its
    /// lifetime, so Entra never sees one about to expire.
    #[must_use]
    pub fn fresh(&self, now: SystemTime) -> bool {
        let lifetime = self.expires.duration_since(self.issued).unwrap_or_default();
        now >= self.issued && now < self.issued + lifetime.mul_f64(RENEW_AT)
    }
}

type Key = (String, String, Vec<String>);

/// Why no token could be had for a ServiceAccount; each text names it and
/// what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The ServiceAccount does not exist.
    #[error(
        "ServiceAccount {namespace}/{name} (the store's serviceAccountRef) does not exist; create it, annotated with the managed identity's client id"
    )]
    NotFound {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The controller's RBAC lacks `create` on `serviceaccounts/token`.
    #[error(
        "the controller may not request tokens for ServiceAccount {namespace}/{name}: its ClusterRole needs create on serviceaccounts/token ({message})"
    )]
    Forbidden {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API server's message.
        message: String,
    },
    /// Any other refusal or a network error.
    #[error("could not request a token for ServiceAccount {namespace}/{name}: {source}")]
    Failed {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The API server answered without a token.
    #[error("the TokenRequest for ServiceAccount {namespace}/{name} came back without a token")]
    Empty {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

/// The cache, with one lock per key so that concurrent reconciles of one
/// ServiceAccount make one TokenRequest.
#[derive(Default)]
pub struct Tokens {
    entries: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<Option<IssuedToken>>>>>,
    requests: AtomicU64,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// TokenRequests made so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A fresh token of `namespace/name` for `audiences`.
    ///
    /// # Errors
    ///
    /// [`TokenError`], naming the ServiceAccount and, for 403, the
    /// permission the controller lacks.
    pub async fn token(
        &self,
        client: &kube::Client,
        namespace: &str,
        name: &str,
        audiences: &[String],
    ) -> Result<IssuedToken, TokenError> {
        let key = (namespace.to_owned(), name.to_owned(), audiences.to_vec());
        let slot = Arc::clone(
            self.entries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key)
                .or_default(),
        );
        let mut slot = slot.lock().await;
        if let Some(token) = slot.as_ref().filter(|t| t.fresh(SystemTime::now())) {
            return Ok(token.clone());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let issued = SystemTime::now();
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audiences.to_vec(),
                expiration_seconds: i64::try_from(REQUESTED_LIFETIME.as_secs()).ok(),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let answer = Api::<ServiceAccount>::namespaced(client.clone(), namespace)
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|e| describe(e, namespace, name))?;
        let status = answer.status.ok_or_else(|| TokenError::Empty {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })?;
        let token = IssuedToken {
            token: Arc::new(Zeroizing::new(status.token)),
            issued,
            expires: SystemTime::from(status.expiration_timestamp.0),
        };
        *slot = Some(token.clone());
        Ok(token)
    }
}

fn describe(error: kube::Error, namespace: &str, name: &str) -> TokenError {
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    match error {
        kube::Error::Api(status) if status.code == 404 => TokenError::NotFound { namespace, name },
        kube::Error::Api(status) if status.code == 403 => TokenError::Forbidden {
            namespace,
            name,
            message: status.message,
        },
        source => TokenError::Failed {
            namespace,
            name,
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_at_four_fifths_of_its_life_and_never_shown() {
        let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let token = IssuedToken {
            token: Arc::new(Zeroizing::new("eyJ.secret.sig".into())),
            issued,
            expires: issued + Duration::from_secs(3600),
        };
        assert!(token.fresh(issued));
        assert!(token.fresh(issued + Duration::from_secs(2879)));
        assert!(!token.fresh(issued + Duration::from_secs(2880)));
        assert!(!token.fresh(issued - Duration::from_secs(1)));
        assert!(!format!("{token:?}").contains("secret"));
    }
}
