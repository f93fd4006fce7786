//! A small private certificate authority that signs the webhook's serving
//! certificates.
//!
//! The API server trusts whatever CA the webhook configuration's `caBundle`
//! names, so a self-managed webhook does not need a public CA: it makes its
//! own, keeps it (the caller stores the PEM, typically in a Secret), and
//! publishes its certificate as the `caBundle`.

use std::fmt;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::PrivateKeyDer;

use crate::{Error, PrivateKeyPem, Result, clock, pem};

/// How far back certificates' `notBefore` is set, so that nodes and API
/// servers whose clocks run a little behind still accept a brand-new
/// certificate.
pub(crate) const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// A suggested CA lifetime: ten years. Replacing the CA changes the
/// `caBundle` every client must trust, so it should happen rarely; serving
/// certificates (one year by default) are renewed many times under one CA.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 86_400);

/// A CA certificate together with its signing key.
///
/// Holding both in one value makes it impossible to sign with a key that does
/// not belong to the certificate published in the `caBundle`: both
/// constructors check the pair.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    key_pem: PrivateKeyPem,
    not_after: SystemTime,
}

impl CertificateAuthority {
    /// Create a new CA with an ECDSA P-256 key, valid from now (minus a few
    /// minutes for clock skew) for `validity`.
    ///
    /// The certificate carries `basicConstraints: CA` and the `keyCertSign`
    /// and `cRLSign` key usages, which is what verifiers require of an
    /// issuer. `common_name` only labels the CA for humans; it must not be
    /// empty.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for an empty common name,
    /// [`Error::InvalidValidity`] for a zero or absurd validity, and
    /// [`Error::Generate`] if rcgen fails.
    pub fn generate(common_name: &str, validity: Duration) -> Result<Self> {
        if common_name.trim().is_empty() {
            return Err(Error::InvalidName {
                what: "CA common name",
                value: common_name.to_owned(),
                reason: "must not be empty",
            });
        }
        if validity.is_zero() {
            return Err(Error::InvalidValidity {
                validity,
                reason: "must be longer than zero",
            });
        }
        let now = SystemTime::now();
        let (not_before, _) = clock::shifted(now, BACKDATE, true)?;
        let (not_after_date, not_after) = clock::shifted(now, validity, false)?;

        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, common_name);
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = not_before;
        params.not_after = not_after_date;

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = params.self_signed(&key)?;
        let key_pem = PrivateKeyPem::new(key.serialize_pem());
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
            key_pem,
            not_after,
        })
    }

    /// Load an existing CA from PEM, for example the `ca.crt`/`ca.key` of a
    /// Secret in which an earlier run stored the CA it generated.
    ///
    /// Only the first certificate of `cert_pem` is used. It must be a CA
    /// (basicConstraints CA) and the key must match it. Both are stored
    /// re-encoded, so [`cert_pem`](Self::cert_pem) is always exactly one
    /// certificate, ready for the `caBundle`.
    ///
    /// The key must be PKCS#8 (`BEGIN PRIVATE KEY`), which is what
    /// [`CertificateAuthority::generate`] writes: rcgen on the ring provider
    /// cannot sign with SEC1 or PKCS#1 keys, so convert such a key to PKCS#8
    /// once before storing it.
    ///
    /// # Errors
    ///
    /// A parse error naming `CA certificate PEM` or `CA key PEM`,
    /// [`Error::NotAnAuthority`], or [`Error::KeyMismatch`].
    pub fn from_pem(cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<Self> {
        const CERT: &str = "CA certificate PEM";
        const KEY: &str = "CA key PEM";
        let chain = pem::certificates(cert_pem.as_ref(), CERT)?;
        let der = chain.first().ok_or_else(|| Error::NoCertificate {
            origin: CERT.to_owned(),
        })?;
        let cert = pem::x509(der, CERT)?;
        if !cert.is_ca() {
            return Err(Error::NotAnAuthority {
                origin: CERT.to_owned(),
            });
        }
        let key_der = pem::private_key(key_pem.as_ref(), KEY)?;
        let signer = pem::signing_key(key_der.clone_key(), KEY)?;
        pem::ensure_pair(&cert, signer.as_ref(), CERT, KEY)?;

        let key = match &key_der {
            PrivateKeyDer::Pkcs8(_) => {
                KeyPair::try_from(&key_der).map_err(|err| Error::InvalidPrivateKey {
                    origin: KEY.to_owned(),
                    reason: err.to_string(),
                })?
            }
            _ => {
                return Err(Error::InvalidPrivateKey {
                    origin: KEY.to_owned(),
                    reason: "a CA key must be PKCS#8 (BEGIN PRIVATE KEY) to sign with".to_owned(),
                });
            }
        };
        let key_pem = PrivateKeyPem::new(key.serialize_pem());
        Ok(Self {
            issuer: Issuer::from_ca_cert_der(der, key)?,
            cert_pem: pem::encode_certificate(der),
            key_pem,
            not_after: pem::not_after(&cert),
        })
    }

    /// The CA certificate as PEM: what goes into `ca.crt` and, base64
    /// encoded, into the webhook configuration's `caBundle`.
    #[must_use]
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA's private key as PEM, for storing the CA so the next run can
    /// [load](CertificateAuthority::from_pem) it instead of rotating the
    /// `caBundle`.
    #[must_use]
    pub fn key_pem(&self) -> &PrivateKeyPem {
        &self.key_pem
    }

    /// When the CA certificate expires; serving certificates may not outlive
    /// it.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// The rcgen issuer used to sign serving certificates.
    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("not_after", &self.not_after)
            .field("key_pem", &self.key_pem)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn generated_ca_is_a_ca_with_the_requested_expiry() {
        let before = SystemTime::now();
        let ca = CertificateAuthority::generate("test-ca", 30 * DAY).unwrap();
        let der = pem::certificates(ca.cert_pem().as_bytes(), "ca").unwrap();
        let cert = pem::x509(&der[0], "ca").unwrap();
        assert!(cert.is_ca());
        let usage = cert.key_usage().unwrap().unwrap().value;
        assert!(usage.key_cert_sign());
        assert_eq!(pem::not_after(&cert), ca.not_after());
        let expected = (before + 30 * DAY).duration_since(ca.not_after());
        assert!(
            expected.is_ok_and(|d| d < Duration::from_secs(2)),
            "{:?}",
            ca.not_after()
        );
        assert!(ca.key_pem().as_str().contains("BEGIN PRIVATE KEY"));
    }

    #[test]
    fn from_pem_round_trips_and_checks_inputs() {
        let ca = CertificateAuthority::generate("test-ca", DAY).unwrap();
        let loaded = CertificateAuthority::from_pem(ca.cert_pem(), ca.key_pem().as_str()).unwrap();
        assert_eq!(loaded.not_after(), ca.not_after());

        let other = CertificateAuthority::generate("other-ca", DAY).unwrap();
        let err =
            CertificateAuthority::from_pem(ca.cert_pem(), other.key_pem().as_str()).unwrap_err();
        assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");

        let err = CertificateAuthority::from_pem(ca.key_pem().as_str(), ca.key_pem().as_str())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "CA certificate PEM holds no PEM certificate"
        );
    }

    #[test]
    fn from_pem_refuses_a_leaf_certificate() {
        let ca = CertificateAuthority::generate("test-ca", DAY).unwrap();
        let leaf = crate::serving::ServingCertificate::for_service("svc", "ns")
            .unwrap()
            .with_validity(DAY / 2)
            .issue(&ca)
            .unwrap();
        let err =
            CertificateAuthority::from_pem(leaf.cert_pem(), leaf.key_pem().as_str()).unwrap_err();
        assert!(matches!(err, Error::NotAnAuthority { .. }), "{err}");
    }

    #[test]
    fn refuses_empty_name_and_zero_validity_and_hides_the_key() {
        assert!(matches!(
            CertificateAuthority::generate(" ", DAY),
            Err(Error::InvalidName { .. })
        ));
        assert!(matches!(
            CertificateAuthority::generate("ca", Duration::ZERO),
            Err(Error::InvalidValidity { .. })
        ));
        let ca = CertificateAuthority::generate("ca", DAY).unwrap();
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }
}
