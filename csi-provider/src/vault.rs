//! The fetch step: what the mount flow needs from Key Vault, as a trait.
//!
//! The mount flow is generic over [`VaultObjects`], so everything around
//! the network (plan, content, layout, limits, server) is tested with an
//! in-memory vault, and the Key Vault client is plugged in by the binary.
//! Each call receives the [`Identity`] of the mount (tenant, client id and
//! the pod's ServiceAccount token as client assertion): there is no ambient
//! credential, each pod reads as itself.
//!
//! An implementation reports failures as this crate's [`Error`] with the
//! variant that tells the user what to fix: [`Error::Forbidden`] for 403,
//! [`Error::ObjectNotFound`] for 404, [`Error::Throttled`] for 429/503
//! (the mount flow waits `retry_after` and calls again while the mount's
//! deadline allows), [`Identity::federated_credential_mismatch`] for
//! AADSTS70021 and its family, [`Error::Entra`], [`Error::KeyVault`] and
//! [`Error::Unreachable`] otherwise.

use std::{fmt, future::Future, time::SystemTime};

use zeroize::Zeroizing;

use crate::{Error, identity::Identity, objects::ObjectType, parameters::Vault};

/// A secret's value. `Debug` and `Display` redact it; it is cleared from
/// memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wraps a value read from Key Vault.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The value. Never log it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret as Key Vault returns it (`GET /secrets/{name}/{version}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedSecret {
    /// `id`: `https://<vault>/secrets/<name>/<version>`.
    pub id: String,
    /// `value`.
    pub value: SecretValue,
    /// `contentType`: for a certificate's secret, `application/x-pkcs12` or
    /// `application/x-pem-file`.
    pub content_type: Option<String>,
    /// `kid`: set when the secret backs a certificate.
    pub kid: Option<String>,
}

/// A key's public JSON Web Key (`GET /keys/{name}/{version}`, field `key`),
/// with the base64url fields as Key Vault returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonWebKey {
    /// `kid`: `https://<vault>/keys/<name>/<version>`.
    pub kid: String,
    /// `kty`: `RSA`, `RSA-HSM`, `EC` or `EC-HSM`.
    pub kty: String,
    /// `crv` for EC keys: `P-256`, `P-384` or `P-521`.
    pub crv: Option<String>,
    /// `n`, the RSA modulus.
    pub n: Option<String>,
    /// `e`, the RSA public exponent.
    pub e: Option<String>,
    /// `x`, the EC point's x coordinate.
    pub x: Option<String>,
    /// `y`, the EC point's y coordinate.
    pub y: Option<String>,
}

/// A certificate (`GET /certificates/{name}/{version}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedCertificate {
    /// `id`: `https://<vault>/certificates/<name>/<version>`.
    pub id: String,
    /// `cer`, base64-decoded: the leaf certificate's DER.
    pub cer: Vec<u8>,
}

/// One version of an object, from a versions listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version id (the last segment of the object id).
    pub version: String,
    /// `attributes.enabled`; disabled versions are skipped.
    pub enabled: bool,
    /// `attributes.created`; history is ordered newest first.
    pub created: Option<SystemTime>,
}

/// Reads objects from Key Vault as a given identity.
///
/// `version` is `None` for the latest version. Implementations must be
/// cheap to share: the server holds one for all mounts.
pub trait VaultObjects: Send + Sync + 'static {
    /// A secret (`objectType: secret`).
    fn secret(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<FetchedSecret, Error>> + Send;

    /// A key's public part (`objectType: key`).
    fn key(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<JsonWebKey, Error>> + Send;

    /// A certificate without its key (`objectType: cert`).
    fn certificate(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> impl Future<Output = Result<FetchedCertificate, Error>> + Send;

    /// Every version of an object, in any order, for
    /// `objectVersionHistory` (needs the list permission).
    fn versions(
        &self,
        vault: &Vault,
        identity: &Identity,
        object_type: ObjectType,
        name: &str,
    ) -> impl Future<Output = Result<Vec<VersionInfo>, Error>> + Send;
}

/// The last path segment of a Key Vault object id: its version. The Go
/// provider reports this as `ObjectVersion.version`.
#[must_use]
pub fn version_of(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_last_segment_of_the_id() {
        assert_eq!(
            version_of("https://kv1.vault.azure.net/secrets/db/0123456789abcdef0123456789abcdef"),
            "0123456789abcdef0123456789abcdef"
        );
        assert_eq!(version_of("https://kv1.vault.azure.net/keys/k/v2/"), "v2");
        assert_eq!(version_of(""), "");
    }

    #[test]
    fn secret_value_is_redacted() {
        let value = SecretValue::new("hunter2".into());
        assert_eq!(format!("{value:?}"), "SecretValue(<redacted>)");
        assert_eq!(value.to_string(), "<redacted>");
        let fetched = FetchedSecret {
            id: "i".into(),
            value,
            content_type: None,
            kid: None,
        };
        assert!(!format!("{fetched:?}").contains("hunter2"));
    }
}
