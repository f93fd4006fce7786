//! PEM and DER parsing shared by [`crate::inspect`], [`crate::authority`] and
//! [`crate::reload`]. Every function takes an `origin` (a file path or a
//! description of the input) so errors can say which input was wrong.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::SigningKey;
use x509_parser::prelude::{FromDer, GeneralName, SubjectPublicKeyInfo, X509Certificate};

use crate::{Error, Result};

/// PEM text for one DER certificate, in the usual 64-column layout.
pub(crate) fn encode_certificate(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Every `CERTIFICATE` section of `pem`, leaf first. A truncated or otherwise
/// broken section anywhere fails the whole input, so a half-written chain is
/// never accepted.
pub(crate) fn certificates(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| Error::MalformedCertificatePem {
            origin: origin.to_owned(),
            detail: err.to_string(),
        })?;
    if chain.is_empty() {
        return Err(Error::NoCertificate {
            origin: origin.to_owned(),
        });
    }
    Ok(chain)
}

/// The first private key in `pem`, in whichever of PKCS#8, SEC1 or PKCS#1
/// form it was written.
pub(crate) fn private_key(pem: &[u8], origin: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|err| match err {
        pem::Error::NoItemsFound => Error::NoPrivateKey {
            origin: origin.to_owned(),
        },
        // The decoder's own message may quote bytes of the input: leave it out.
        _ => Error::InvalidPrivateKey {
            origin: origin.to_owned(),
            reason: "the PEM section is malformed or truncated".to_owned(),
        },
    })
}

/// Turn a private key into a rustls signing key with the ring provider; this
/// also proves the key is one rustls can serve with.
pub(crate) fn signing_key(
    key: PrivateKeyDer<'static>,
    origin: &str,
) -> Result<Arc<dyn SigningKey>> {
    rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|err| Error::InvalidPrivateKey {
            origin: origin.to_owned(),
            reason: err.to_string(),
        })
}

/// Parse one DER certificate.
pub(crate) fn x509<'a>(der: &'a CertificateDer<'_>, origin: &str) -> Result<X509Certificate<'a>> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|err| Error::InvalidCertificate {
            origin: origin.to_owned(),
            detail: err.to_string(),
        })
}

/// When `cert` stops being valid.
pub(crate) fn not_after(cert: &X509Certificate<'_>) -> SystemTime {
    crate::clock::from_unix_seconds(cert.validity().not_after.timestamp())
}

/// The DNS names and IP addresses among `cert`'s subject alternative names,
/// in certificate order. Other name kinds (e-mail, URI) are skipped: TLS
/// clients never match a server against them.
pub(crate) fn subject_alt_names(
    cert: &X509Certificate<'_>,
    origin: &str,
) -> Result<(Vec<String>, Vec<IpAddr>)> {
    let extension = cert
        .subject_alternative_name()
        .map_err(|err| Error::InvalidCertificate {
            origin: origin.to_owned(),
            detail: err.to_string(),
        })?;
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    for name in extension.iter().flat_map(|ext| &ext.value.general_names) {
        match name {
            GeneralName::DNSName(name) => dns.push((*name).to_owned()),
            GeneralName::IPAddress(bytes) => {
                if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                    ips.push(IpAddr::from(v4));
                } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                    ips.push(IpAddr::from(v6));
                }
            }
            _ => {}
        }
    }
    Ok((dns, ips))
}

/// Fail unless `key` is the private half of the public key in `cert`.
///
/// The algorithm and key bits are compared rather than the whole
/// SubjectPublicKeyInfo encoding, so that harmless encoding differences (an
/// absent versus a NULL RSA parameter) do not count as a mismatch.
pub(crate) fn ensure_pair(
    cert: &X509Certificate<'_>,
    key: &dyn SigningKey,
    cert_origin: &str,
    key_origin: &str,
) -> Result<()> {
    let mismatch = || Error::KeyMismatch {
        cert_origin: cert_origin.to_owned(),
        key_origin: key_origin.to_owned(),
    };
    let spki_der = key.public_key().ok_or_else(|| Error::InvalidPrivateKey {
        origin: key_origin.to_owned(),
        reason: "its public key cannot be derived".to_owned(),
    })?;
    let (_, from_key) = SubjectPublicKeyInfo::from_der(&spki_der).map_err(|_| mismatch())?;
    let from_cert = cert.public_key();
    let same = from_key.algorithm.algorithm == from_cert.algorithm.algorithm
        && from_key.subject_public_key.data == from_cert.subject_public_key.data;
    if same { Ok(()) } else { Err(mismatch()) }
}

/// Check a PEM certificate (chain) against a PEM key and return what the
/// callers need next: the chain, the signing key and the leaf's expiry.
pub(crate) fn matched_pair(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_origin: &str,
    key_origin: &str,
) -> Result<(
    Vec<CertificateDer<'static>>,
    Arc<dyn SigningKey>,
    SystemTime,
)> {
    let chain = certificates(cert_pem, cert_origin)?;
    let signing = signing_key(private_key(key_pem, key_origin)?, key_origin)?;
    let not_after = {
        let leaf = chain.first().ok_or_else(|| Error::NoCertificate {
            origin: cert_origin.to_owned(),
        })?;
        let leaf = x509(leaf, cert_origin)?;
        ensure_pair(&leaf, signing.as_ref(), cert_origin, key_origin)?;
        not_after(&leaf)
    };
    Ok((chain, signing, not_after))
}
