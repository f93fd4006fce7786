//! What each fetched object becomes on disk, byte for byte as the Azure
//! provider (Azure/secrets-store-csi-driver-provider-azure) writes it:
//!
//! * `secret`: the value after `objectEncoding` (utf-8 as is, hex and
//!   base64 decoded). A secret backing a certificate is switched on its
//!   content type: `application/x-pem-file` is written as stored;
//!   `application/x-pkcs12` is converted to PEM, private key(s) first as
//!   PKCS#8 `PRIVATE KEY`, then the certificates leaf, intermediate(s),
//!   root; with `objectFormat: pfx` the base64 text is kept (add
//!   `objectEncoding: base64` for binary PFX).
//! * `key`: the public key as PKIX `PUBLIC KEY` PEM (RSA, EC P-256/384/521).
//! * `cert`: the certificate as one `CERTIFICATE` PEM.
//!
//! PEM is written as Go's `pem.Encode` does: 64-column base64, LF endings.

use azure_wi_auth::{EcCurve, JsonWebKey, Secret};
use base64::Engine;
use der::{Encode, asn1::BitString, oid::ObjectIdentifier};
use p12_keystore::Certificate;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::{
    Error,
    gopem::split_cert_and_key,
    objects::{Encoding, Format, ObjectSpec},
};

/// `contentType` of a certificate stored as PEM.
pub const PEM_CONTENT_TYPE: &str = "application/x-pem-file";
/// `contentType` of a certificate stored as PKCS#12.
pub const PKCS12_CONTENT_TYPE: &str = "application/x-pkcs12";

/// rsaEncryption.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey.
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// PEM as Go's `pem.EncodeToMemory` writes it.
fn pem(label: &str, der: &[u8]) -> Vec<u8> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .expect("PEM labels here are constant and valid")
        .into_bytes()
}

/// The file content of a `secret` object.
///
/// # Errors
///
/// [`Error::UnknownContentType`] for a certificate's secret in another
/// format, [`Error::InvalidSecretContent`] for an unreadable PKCS#12,
/// [`Error::SecretDecoding`] when the value is not in `objectEncoding`.
pub fn secret_file(spec: &ObjectSpec, secret: &Secret) -> Result<Vec<u8>, Error> {
    decode(&spec.name, spec.encoding, secret_text(spec, secret)?)
}

/// The files of a `secret` object with `--write-cert-and-key-in-separate-files`,
/// as the Go provider's `getSecret` gives them (`pkg/provider/provider.go`):
/// for a certificate's secret (one with a `kid`), `<file>.crt` with its
/// `CERTIFICATE` blocks and `<file>.key` with the other blocks, then the
/// usual file; any other secret gives the usual file only. Each is decoded
/// with `objectEncoding` as the usual file is. A PFX kept as is
/// (`objectFormat: pfx`) holds no PEM, so its `.crt` and `.key` are empty,
/// as the Go provider writes them.
///
/// # Errors
///
/// As [`secret_file`].
pub fn secret_files_separated(
    spec: &ObjectSpec,
    secret: &Secret,
) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    let text = secret_text(spec, secret)?;
    let mut files = Vec::with_capacity(3);
    if secret.properties.key_id.is_some() {
        let (certs, keys) = split_cert_and_key(&text);
        files.push((".crt", decode(&spec.name, spec.encoding, certs)?));
        files.push((".key", decode(&spec.name, spec.encoding, keys)?));
    }
    files.push(("", decode(&spec.name, spec.encoding, text)?));
    Ok(files)
}

/// A secret's text before `objectEncoding`: a certificate's PKCS#12
/// converted to PEM unless `objectFormat: pfx`.
fn secret_text(spec: &ObjectSpec, secret: &Secret) -> Result<Vec<u8>, Error> {
    let value = secret.value.expose();
    let properties = &secret.properties;
    let text: Vec<u8> = match (&properties.key_id, properties.content_type.as_deref()) {
        (None, _) => value.as_bytes().to_vec(),
        (Some(_), Some(PEM_CONTENT_TYPE)) => value.as_bytes().to_vec(),
        (Some(_), Some(PKCS12_CONTENT_TYPE)) if spec.format == Format::Pfx => {
            value.as_bytes().to_vec()
        }
        (Some(_), Some(PKCS12_CONTENT_TYPE)) => pkcs12_to_pem(&spec.name, value)?,
        (Some(_), other) => {
            return Err(Error::UnknownContentType {
                name: spec.name.clone(),
                content_type: other.unwrap_or("").to_owned(),
            });
        }
    };
    Ok(text)
}

/// Applies `objectEncoding`.
fn decode(name: &str, encoding: Encoding, text: Vec<u8>) -> Result<Vec<u8>, Error> {
    let failed = |reason: String| Error::SecretDecoding {
        name: name.to_owned(),
        encoding: encoding.as_str(),
        reason,
    };
    match encoding {
        Encoding::Utf8 => Ok(text),
        Encoding::Hex => {
            let text = text.trim_ascii();
            if !text.len().is_multiple_of(2) {
                return Err(failed(format!("odd number of hex digits ({})", text.len())));
            }
            text.chunks(2)
                .enumerate()
                .map(|(i, pair)| {
                    std::str::from_utf8(pair)
                        .ok()
                        .and_then(|p| u8::from_str_radix(p, 16).ok())
                        .ok_or_else(|| failed(format!("not a hex digit pair at offset {}", i * 2)))
                })
                .collect()
        }
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(text.trim_ascii())
            // The base64 error names an offset and, for an invalid byte,
            // the byte; one byte of a value the user stored as base64 is
            // not the secret, but keep to the offset to be safe.
            .map_err(|e| failed(base64_reason(&e))),
    }
}

/// Where base64 decoding failed, without the offending byte.
fn base64_reason(e: &base64::DecodeError) -> String {
    match e {
        base64::DecodeError::InvalidByte(offset, _) => {
            format!("invalid character at offset {offset}")
        }
        base64::DecodeError::InvalidLength(len) => format!("invalid length {len}"),
        base64::DecodeError::InvalidLastSymbol { offset, .. } => {
            format!("invalid last character at offset {offset}")
        }
        base64::DecodeError::InvalidPadding => "invalid padding".to_owned(),
    }
}

/// Converts a certificate's PKCS#12 (base64, empty password, as Key Vault
/// stores it) to PEM: the private keys as PKCS#8, then the chain.
fn pkcs12_to_pem(name: &str, base64_text: &str) -> Result<Vec<u8>, Error> {
    let invalid = |reason: String| Error::InvalidSecretContent {
        name: name.to_owned(),
        reason: format!("its content type is {PKCS12_CONTENT_TYPE} but {reason}"),
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_text.trim())
        .map_err(|e| invalid(format!("the value is not base64 ({})", base64_reason(&e))))?;
    let archive = azure_wi_auth::pfx::read(&der, "").map_err(|e| {
        invalid(format!(
            "the PKCS#12 cannot be read with an empty password: {e}"
        ))
    })?;
    let mut out = Vec::new();
    for key in &archive.keys {
        out.extend(pem("PRIVATE KEY", &go_pkcs8(key)));
    }
    let certs = archive
        .certs
        .iter()
        .map(|der| {
            Certificate::from_der(der)
                .map_err(|e| invalid(format!("a certificate in it does not parse ({e})")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let certs: Vec<&Certificate> = certs.iter().collect();
    for cert in chain_order(&certs) {
        out.extend(pem("CERTIFICATE", cert.as_der()));
    }
    Ok(out)
}

/// A PKCS#8 private key as Go's `x509.MarshalPKCS8PrivateKey` writes it,
/// which the Go provider applies to every key of a PFX: no attributes (a
/// PFX made on Windows carries its key usage there), RSA with NULL
/// parameters, an EC key without the curve inside (it is in the algorithm).
/// A key this cannot read is kept as it came.
fn go_pkcs8(key: &[u8]) -> Zeroizing<Vec<u8>> {
    use der::Decode as _;
    let canonical = || -> Option<Vec<u8>> {
        let info = pkcs8::PrivateKeyInfo::from_der(key).ok()?;
        let oid = info.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            let rsa = pkcs8::PrivateKeyInfo {
                algorithm: pkcs8::AlgorithmIdentifierRef {
                    oid,
                    parameters: Some(pkcs8::der::asn1::AnyRef::NULL),
                },
                private_key: info.private_key,
                public_key: None,
            };
            rsa.to_der().ok()
        } else if oid == EC_PUBLIC_KEY {
            let mut ec = sec1::EcPrivateKey::from_der(info.private_key).ok()?;
            ec.parameters = None;
            let inner = Zeroizing::new(ec.to_der().ok()?);
            pkcs8::PrivateKeyInfo {
                algorithm: info.algorithm,
                private_key: &inner,
                public_key: None,
            }
            .to_der()
            .ok()
        } else {
            None
        }
    };
    Zeroizing::new(canonical().unwrap_or_else(|| key.to_vec()))
}

/// Orders certificates leaf first, then each issuer up to the root, as the
/// Go provider's `--construct-pem-chain` does. The leaf is the first
/// certificate that issued none of the others. Certificates outside that
/// chain keep their archive order after it, so nothing is dropped.
fn chain_order<'a>(certs: &[&'a Certificate]) -> Vec<&'a Certificate> {
    let self_signed = |c: &Certificate| c.subject() == c.issuer();
    let issued_another = |c: &Certificate| {
        certs.iter().any(|other| {
            !std::ptr::eq(*other, c) && !self_signed(other) && other.issuer() == c.subject()
        })
    };
    let mut used = vec![false; certs.len()];
    let mut ordered = Vec::with_capacity(certs.len());
    if let Some(mut at) = certs.iter().position(|c| !issued_another(c)) {
        loop {
            used[at] = true;
            ordered.push(certs[at]);
            let current = certs[at];
            if self_signed(current) {
                break;
            }
            match (0..certs.len()).find(|&i| !used[i] && certs[i].subject() == current.issuer()) {
                Some(next) => at = next,
                None => break,
            }
        }
    }
    ordered.extend(
        certs
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(c, _)| *c),
    );
    ordered
}

/// The file content of a `key` object: its public key as PKIX PEM.
///
/// # Errors
///
/// [`Error::InvalidKey`] for a key whose public key has no PEM here (a
/// `P-256K` curve), or whose numbers do not fit its type.
pub fn key_file(name: &str, jwk: &JsonWebKey) -> Result<Vec<u8>, Error> {
    let invalid = |reason: String| Error::InvalidKey {
        name: name.to_owned(),
        reason,
    };
    let spki = match jwk {
        JsonWebKey::Rsa { n, e, .. } => {
            let der_error =
                |e: der::Error| invalid(format!("its RSA numbers cannot be encoded ({e})"));
            let key = pkcs1::RsaPublicKey {
                modulus: pkcs1::UintRef::new(n).map_err(der_error)?,
                public_exponent: pkcs1::UintRef::new(e).map_err(der_error)?,
            };
            SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: RSA_ENCRYPTION,
                    parameters: Some(der::Any::null()),
                },
                subject_public_key: BitString::from_bytes(&key.to_der().map_err(der_error)?)
                    .map_err(der_error)?,
            }
        }
        JsonWebKey::Ec { crv, x, y, .. } => {
            let (curve, size) = match crv {
                EcCurve::P256 => ("1.2.840.10045.3.1.7", 32),
                EcCurve::P384 => ("1.3.132.0.34", 48),
                EcCurve::P521 => ("1.3.132.0.35", 66),
                other => {
                    return Err(invalid(format!(
                        "curve {:?} is not supported: expected P-256, P-384 or P-521",
                        other.as_str()
                    )));
                }
            };
            let mut point = vec![0x04];
            for (label, coordinate) in [("x", x), ("y", y)] {
                if coordinate.len() > size {
                    return Err(invalid(format!(
                        "its {label} is longer than {size} bytes for {}",
                        crv.as_str()
                    )));
                }
                point.resize(point.len() + size - coordinate.len(), 0);
                point.extend(coordinate);
            }
            let der_error =
                |e: der::Error| invalid(format!("its EC point cannot be encoded ({e})"));
            SubjectPublicKeyInfoOwned {
                algorithm: AlgorithmIdentifierOwned {
                    oid: EC_PUBLIC_KEY,
                    parameters: Some(ObjectIdentifier::new_unwrap(curve).into()),
                },
                subject_public_key: BitString::from_bytes(&point).map_err(der_error)?,
            }
        }
        other => {
            return Err(invalid(format!(
                "key type {other:?} has no public key to write: expected RSA, RSA-HSM, EC or EC-HSM"
            )));
        }
    };
    let der = spki
        .to_der()
        .map_err(|e| invalid(format!("its public key cannot be encoded ({e})")))?;
    Ok(pem("PUBLIC KEY", &der))
}

/// The file content of a `cert` object: the certificate as PEM.
///
/// # Errors
///
/// [`Error::InvalidCertificate`] when `cer` is not a DER certificate.
pub fn cert_file(name: &str, cert: &azure_wi_auth::Certificate) -> Result<Vec<u8>, Error> {
    Certificate::from_der(&cert.cer).map_err(|e| Error::InvalidCertificate {
        name: name.to_owned(),
        reason: format!("its cer is not a DER X.509 certificate ({e})"),
    })?;
    Ok(pem("CERTIFICATE", &cert.cer))
}

#[cfg(test)]
#[path = "content_tests.rs"]
mod tests;
