//! The cluster's ServiceAccount token issuer: tokens shaped like those the
//! kube-apiserver's TokenRequest returns, its OIDC discovery documents, and
//! a token file written the way the kubelet writes a projected volume.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use azure_wi_core::names::DEFAULT_AUDIENCE;

use crate::{Error, keys::SigningKey};

/// File name of the token in its volume, as the webhook projects it.
pub const TOKEN_FILE_NAME: &str = "azure-identity-token";

/// What a ServiceAccount token says: who, for whom, and when.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Namespace of the ServiceAccount.
    pub namespace: String,
    /// ServiceAccount name.
    pub service_account: String,
    /// Pod the token is bound to.
    pub pod: String,
    /// `aud`.
    pub audience: String,
    /// `iat` and `nbf`.
    pub issued_at: SystemTime,
    /// `exp - iat`.
    pub lifetime: Duration,
}

impl TokenSpec {
    /// A token for `<namespace>/<service_account>` with the workload
    /// identity audience, issued now, valid for an hour (the webhook's
    /// default expiration).
    pub fn new(namespace: impl Into<String>, service_account: impl Into<String>) -> Self {
        let service_account = service_account.into();
        Self {
            namespace: namespace.into(),
            pod: format!("{service_account}-7d9f8b6c5-x2k4q"),
            service_account,
            audience: DEFAULT_AUDIENCE.to_owned(),
            issued_at: SystemTime::now(),
            lifetime: Duration::from_secs(3600),
        }
    }

    /// With another audience.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = audience.into();
        self
    }

    /// Issued at another time (in the past for an expired token).
    #[must_use]
    pub fn issued_at(mut self, at: SystemTime) -> Self {
        self.issued_at = at;
        self
    }

    /// With another lifetime.
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// `system:serviceaccount:<namespace>:<name>`.
    pub fn subject(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }

    /// The claims a kube-apiserver puts in such a token.
    pub fn claims(&self, issuer: &str) -> Value {
        let iat = unix(self.issued_at);
        // Stable uids derived from the names, like objects that exist.
        let uid = |what: &str| {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(what.as_bytes());
            let mut bytes = [0_u8; 16];
            bytes.copy_from_slice(&digest[..16]);
            uuid::Uuid::from_bytes(bytes).to_string()
        };
        json!({
            "aud": [self.audience],
            "exp": iat + self.lifetime.as_secs(),
            "iat": iat,
            "iss": issuer,
            "kubernetes.io": {
                "namespace": self.namespace,
                "pod": {"name": self.pod, "uid": uid(&format!("pod/{}/{}", self.namespace, self.pod))},
                "serviceaccount": {
                    "name": self.service_account,
                    "uid": uid(&format!("sa/{}/{}", self.namespace, self.service_account))
                }
            },
            "nbf": iat,
            "sub": self.subject(),
        })
    }
}

/// Seconds since the epoch (0 before it).
pub fn unix(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The issuer: its URL and signing key.
#[derive(Debug)]
pub struct Issuer {
    url: String,
    key: SigningKey,
}

impl Issuer {
    /// An issuer at `url` with a fresh key.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if the key cannot be generated.
    pub fn new(url: impl Into<String>) -> Result<Self, Error> {
        Ok(Self {
            url: url.into(),
            key: SigningKey::generate()?,
        })
    }

    /// The `iss` of its tokens.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Signs a token for `spec`.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if signing fails.
    pub fn mint(&self, spec: &TokenSpec) -> Result<String, Error> {
        self.key.sign(&spec.claims(&self.url))
    }

    /// `/.well-known/openid-configuration`, as kube-apiserver serves it.
    pub fn discovery(&self) -> Value {
        json!({
            "issuer": self.url,
            "jwks_uri": format!("{}openid/v1/jwks", with_slash(&self.url)),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
    }

    /// The JWKS.
    pub fn jwks(&self) -> Value {
        self.key.jwks()
    }
}

/// `url` ending in exactly one slash.
pub fn with_slash(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// Writes `token` into `dir` the way the kubelet updates a projected
/// volume: into a fresh timestamped folder, then an atomic rename of the
/// `..data` symlink, with `azure-identity-token -> ..data/azure-identity-token`.
/// Readers never see a half-written file. Returns the token file's path.
///
/// # Errors
///
/// [`Error::Io`] naming the path that failed.
pub fn write_token_file(dir: &Path, token: &str) -> Result<PathBuf, Error> {
    let io = |what: &Path| {
        let what = what.display().to_string();
        move |source| Error::Io { what, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let stamp = format!(
        "..{}_{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
        std::process::id()
    );
    let data = dir.join(&stamp);
    std::fs::create_dir(&data).map_err(io(&data))?;
    let file = data.join(TOKEN_FILE_NAME);
    std::fs::write(&file, token).map_err(io(&file))?;
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp).map_err(io(&tmp))?;
    let previous = std::fs::read_link(dir.join("..data")).ok();
    std::fs::rename(&tmp, dir.join("..data")).map_err(io(&dir.join("..data")))?;
    let link = dir.join(TOKEN_FILE_NAME);
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(Path::new("..data").join(TOKEN_FILE_NAME), &link)
            .map_err(io(&link))?;
    }
    if let Some(previous) = previous {
        let _ = std::fs::remove_dir_all(dir.join(previous));
    }
    Ok(link)
}

/// Keeps a token file fresh like the kubelet: a new token once 80% of the
/// current one's lifetime has passed. Stops when `stop` is cancelled.
pub fn spawn_rotation(
    issuer: Arc<Issuer>,
    spec: TokenSpec,
    dir: PathBuf,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let wait = spec.lifetime.mul_f64(0.8);
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            let fresh = spec.clone().issued_at(SystemTime::now());
            match issuer.mint(&fresh) {
                Ok(token) => {
                    if let Err(error) = write_token_file(&dir, &token) {
                        tracing::warn!(%error, "token rotation failed");
                    }
                }
                Err(error) => tracing::warn!(%error, "token rotation failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{decode_unverified, verify};

    #[test]
    fn tokens_carry_the_claims_of_a_token_request() {
        let issuer = Issuer::new("https://issuer.example/").unwrap();
        let spec = TokenSpec::new("team-a", "orders-api");
        let token = issuer.mint(&spec).unwrap();
        let claims = verify(&token, &issuer.jwks()).unwrap();
        assert_eq!(claims["iss"], "https://issuer.example/");
        assert_eq!(claims["sub"], "system:serviceaccount:team-a:orders-api");
        assert_eq!(
            claims["aud"],
            json!([azure_wi_core::names::DEFAULT_AUDIENCE])
        );
        assert_eq!(
            claims["kubernetes.io"]["serviceaccount"]["name"],
            "orders-api"
        );
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
        assert_eq!(
            issuer.discovery()["jwks_uri"],
            "https://issuer.example/openid/v1/jwks"
        );
    }

    #[test]
    fn the_token_file_is_swapped_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let issuer = Issuer::new("https://issuer.example/").unwrap();
        let first = issuer.mint(&TokenSpec::new("a", "b")).unwrap();
        let path = write_token_file(dir.path(), &first).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
        let second = issuer
            .mint(&TokenSpec::new("a", "b").lifetime(Duration::from_secs(7200)))
            .unwrap();
        assert_eq!(write_token_file(dir.path(), &second).unwrap(), path);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), second);
        assert!(
            std::fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // Only the current data folder is left.
        let folders = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.starts_with("..") && name != "..data"
            })
            .count();
        assert_eq!(folders, 1);
        assert!(decode_unverified(&second).is_some());
    }
}
