//! `POST /certificates/{name}/import`: a PFX (base64, with or without a
//! password) or a PEM bundle (PKCS#8 key and certificates), read into the
//! key, the leaf and its chain Key Vault keeps. Pure over the request body.
//!
//! Key Vault's refusals, as users have quoted them in public issues:
//! a PFX it cannot read (corrupt, or the wrong password), "The specified
//! PKCS#12 X.509 certificate content can not be read. Please check if
//! certificate is in valid PKCS#12 format." (damienbod/AspNetCoreCertificates
//! #38, hashicorp/terraform-provider-azurerm #15914); a PEM it cannot use
//! (a PKCS#1 `RSA PRIVATE KEY`, no key), "The specified PEM X.509
//! certificate content is in an unexpected format. Please check if
//! certificate is in valid PEM format." (Azure/azure-cli #19017; only
//! PKCS#8 keys are accepted, per Key Vault's "formats of import we
//! support").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::material::{KeyMaterial, PublicKey};

/// `secret_props.contentType` for a PFX.
pub(super) const PKCS12: &str = "application/x-pkcs12";
/// `secret_props.contentType` for a PEM bundle.
pub(super) const PEM: &str = "application/x-pem-file";

const PKCS12_UNREADABLE: &str = "The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid PKCS#12 format.";
const PEM_UNEXPECTED: &str = "The specified PEM X.509 certificate content is in an unexpected format. Please check if certificate is in valid PEM format.";

/// Why an import is refused; `Display` is Key Vault's message, the
/// variant the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ImportError {
    /// The body is not the JSON `CertificateImportParameters`.
    #[error("{0}")]
    Body(String),
    /// `value` is not base64.
    #[error("{PKCS12_UNREADABLE}")]
    NotBase64,
    /// The PFX does not parse, or its MAC or encryption refuses the
    /// password.
    #[error("{PKCS12_UNREADABLE}")]
    Pkcs12Unreadable,
    /// The PFX holds no private key.
    #[error("{PKCS12_UNREADABLE}")]
    Pkcs12WithoutKey,
    /// A PEM block Key Vault does not take (a PKCS#1 or SEC1 key, or
    /// anything but `PRIVATE KEY` and `CERTIFICATE`).
    #[error("{PEM_UNEXPECTED}")]
    PemUnexpectedBlock,
    /// No `PRIVATE KEY` block, or more than one.
    #[error("{PEM_UNEXPECTED}")]
    PemKeyCount,
    /// A block whose base64 does not decode.
    #[error("{PEM_UNEXPECTED}")]
    PemBase64,
    /// The key is not an RSA or EC (P-256/384/521) PKCS#8 key.
    #[error("{}", if *.0 { PKCS12_UNREADABLE } else { PEM_UNEXPECTED })]
    Key(bool),
    /// No certificate at all, or none whose public key is the key's.
    #[error("{}", if *.0 { PKCS12_UNREADABLE } else { PEM_UNEXPECTED })]
    NoMatchingCertificate(bool),
    /// `secret_props.contentType` is neither PKCS#12 nor PEM.
    #[error("Unsupported secret content type: {0}.")]
    ContentType(String),
}

/// What an import brings in.
#[derive(Debug, Clone)]
pub(super) struct Imported {
    /// The private key.
    pub(super) key: KeyMaterial,
    /// The leaf (the certificate of the key), DER.
    pub(super) leaf: Vec<u8>,
    /// The other certificates, in the order given.
    pub(super) chain: Vec<Vec<u8>>,
    /// The content type the secret is served in.
    pub(super) content_type: &'static str,
}

/// Reads `value` (and `pwd`, for a PFX) as `content_type` says.
///
/// # Errors
///
/// [`ImportError`], in Key Vault's words.
pub(super) fn read(
    value: &str,
    pwd: Option<&str>,
    content_type: &str,
) -> Result<Imported, ImportError> {
    let (pkcs8, certs, content_type) = match content_type {
        PKCS12 => {
            let der = STANDARD
                .decode(value.split_whitespace().collect::<String>())
                .map_err(|_| ImportError::NotBase64)?;
            // Key Vault reads what Windows writes: an empty password may
            // be the zero-length one (see azure_wi_auth::pfx).
            let archive = azure_wi_auth::pfx::read(&der, pwd.unwrap_or(""))
                .map_err(|_| ImportError::Pkcs12Unreadable)?;
            let key = archive
                .keys
                .first()
                .ok_or(ImportError::Pkcs12WithoutKey)?
                .to_vec();
            (key, archive.certs, PKCS12)
        }
        PEM => {
            // The PEM text itself (.NET, the REST examples) or base64 of
            // it (azure-keyvault-certificates' `import_certificate`
            // base64-encodes whatever bytes it is given).
            let decoded;
            let text = if value.contains("-----BEGIN") {
                value
            } else {
                decoded = STANDARD
                    .decode(value.split_whitespace().collect::<String>())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or(ImportError::PemBase64)?;
                &decoded
            };
            let (keys, certs) = pem_blocks(text)?;
            let [key] = <[Vec<u8>; 1]>::try_from(keys).map_err(|_| ImportError::PemKeyCount)?;
            (key, certs, PEM)
        }
        other => return Err(ImportError::ContentType(other.to_owned())),
    };
    let pfx = content_type == PKCS12;
    let key = KeyMaterial::from_pkcs8_der(&pkcs8).map_err(|_| ImportError::Key(pfx))?;
    let leaf_at = certs
        .iter()
        .position(|der| certifies(der, key.public()))
        .ok_or(ImportError::NoMatchingCertificate(pfx))?;
    let mut chain = certs;
    let leaf = chain.remove(leaf_at);
    Ok(Imported {
        key,
        leaf,
        chain,
        content_type,
    })
}

/// DER contents of PEM blocks of one label.
type Blocks = Vec<Vec<u8>>;

/// The `PRIVATE KEY` and `CERTIFICATE` blocks of a PEM text, DER.
fn pem_blocks(text: &str) -> Result<(Blocks, Blocks), ImportError> {
    let (mut keys, mut certs) = (Vec::new(), Vec::new());
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let body: String = lines
            .by_ref()
            .take_while(|l| *l != end)
            .collect::<Vec<_>>()
            .concat();
        let der = STANDARD.decode(body).map_err(|_| ImportError::PemBase64)?;
        match label {
            "PRIVATE KEY" => keys.push(der),
            "CERTIFICATE" => certs.push(der),
            _ => return Err(ImportError::PemUnexpectedBlock),
        }
    }
    Ok((keys, certs))
}

/// Whether the certificate `der` is for `key`.
fn certifies(der: &[u8], key: &PublicKey) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let Ok(parsed) = cert.public_key().parsed() else {
        return false;
    };
    let strip = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|x| *x == 0).collect() };
    match (parsed, key) {
        (x509_parser::public_key::PublicKey::RSA(rsa), PublicKey::Rsa { n, e }) => {
            strip(rsa.modulus) == strip(n) && strip(rsa.exponent) == strip(e)
        }
        (x509_parser::public_key::PublicKey::EC(point), PublicKey::Ec { x, y, .. }) => {
            point.data() == [&[4u8][..], x, y].concat()
        }
        _ => false,
    }
}

/// What the policy of an imported certificate shows of the leaf, as Key
/// Vault derives it (an import recorded by Azure/azure-sdk-for-python,
/// `test_import_certificate_not_password_encoded_no_policy[7.3].json`:
/// subject in the certificate's own order, its EKUs and key usages, the
/// validity in months rounded up, issuer `Unknown`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LeafFacts {
    /// `x509_props.subject`.
    pub(super) subject: String,
    /// `x509_props.sans.dns_names`.
    pub(super) dns_names: Vec<String>,
    /// `x509_props.ekus`.
    pub(super) ekus: Vec<String>,
    /// `x509_props.key_usage`, Key Vault's names.
    pub(super) key_usage: Vec<&'static str>,
    /// `x509_props.validity_months`.
    pub(super) validity_months: u32,
    /// `basic_constraints.ca`.
    pub(super) ca: bool,
    /// Not before, Unix seconds.
    pub(super) nbf: u64,
    /// Not after, Unix seconds.
    pub(super) exp: u64,
}

/// Reads [`LeafFacts`] from a DER certificate; `None` if it does not
/// parse (never for a leaf [`read`] matched).
pub(super) fn leaf_facts(der: &[u8]) -> Option<LeafFacts> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let nbf = cert.validity().not_before.to_datetime();
    let exp = cert.validity().not_after.to_datetime();
    let mut months = (exp.year() - nbf.year()) * 12 + i32::from(u8::from(exp.month()))
        - i32::from(u8::from(nbf.month()));
    if (exp.day(), exp.time()) > (nbf.day(), nbf.time()) {
        months += 1;
    }
    let mut ekus = Vec::new();
    let mut key_usage = Vec::new();
    let mut dns_names = Vec::new();
    let mut ca = false;
    for ext in cert.extensions() {
        use x509_parser::extensions::{GeneralName, ParsedExtension};
        match ext.parsed_extension() {
            ParsedExtension::ExtendedKeyUsage(eku) => {
                ekus.extend(eku.other.iter().map(ToString::to_string));
                for (set, oid) in [
                    (eku.server_auth, "1.3.6.1.5.5.7.3.1"),
                    (eku.client_auth, "1.3.6.1.5.5.7.3.2"),
                    (eku.code_signing, "1.3.6.1.5.5.7.3.3"),
                    (eku.email_protection, "1.3.6.1.5.5.7.3.4"),
                    (eku.time_stamping, "1.3.6.1.5.5.7.3.8"),
                    (eku.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
                ] {
                    if set {
                        ekus.push(oid.to_owned());
                    }
                }
            }
            ParsedExtension::KeyUsage(ku) => {
                for (set, name) in [
                    (ku.digital_signature(), "digitalSignature"),
                    (ku.non_repudiation(), "nonRepudiation"),
                    (ku.key_encipherment(), "keyEncipherment"),
                    (ku.data_encipherment(), "dataEncipherment"),
                    (ku.key_agreement(), "keyAgreement"),
                    (ku.key_cert_sign(), "keyCertSign"),
                    (ku.crl_sign(), "cRLSign"),
                    (ku.encipher_only(), "encipherOnly"),
                    (ku.decipher_only(), "decipherOnly"),
                ] {
                    if set {
                        key_usage.push(name);
                    }
                }
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    if let GeneralName::DNSName(dns) = name {
                        dns_names.push((*dns).to_owned());
                    }
                }
            }
            ParsedExtension::BasicConstraints(bc) => ca = bc.ca,
            _ => {}
        }
    }
    let unix = |t: time::OffsetDateTime| u64::try_from(t.unix_timestamp()).unwrap_or(0);
    Some(LeafFacts {
        subject: cert.subject().to_string(),
        dns_names,
        ekus,
        key_usage,
        validity_months: u32::try_from(months).unwrap_or(0),
        ca,
        nbf: unix(nbf),
        exp: unix(exp),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeySpec;
    use crate::keyvault::material::{self, pem};

    fn key_and_leaf() -> (KeyMaterial, material::IssuedCertificate) {
        let key = KeyMaterial::from_spec(&KeySpec::rsa(2048)).expect("key");
        let leaf =
            material::issue(&key, "CN=imp", &["imp.example".to_owned()], 3, None).expect("leaf");
        (key, leaf)
    }

    #[test]
    fn a_pfx_without_password_brings_its_key_and_leaf() {
        let (key, leaf) = key_and_leaf();
        let b64 = material::pkcs12_base64(&key, &leaf).expect("pfx");
        let got = read(&b64, None, PKCS12).expect("imported");
        assert_eq!(got.key.pkcs8_der(), key.pkcs8_der());
        assert_eq!(got.leaf, leaf.leaf);
        assert!(got.chain.is_empty());
        assert_eq!(got.content_type, PKCS12);
        assert_eq!(
            read(&b64, Some("not-it"), PKCS12).unwrap_err(),
            ImportError::Pkcs12Unreadable
        );
        assert_eq!(
            read("%%%", None, PKCS12).unwrap_err(),
            ImportError::NotBase64
        );
        assert_eq!(
            read(&b64[..200], None, PKCS12).unwrap_err(),
            ImportError::Pkcs12Unreadable
        );
    }

    #[test]
    fn a_pem_bundle_as_text_or_base64_puts_the_keys_certificate_first() {
        let (key, leaf) = key_and_leaf();
        let (_, other) = key_and_leaf();
        // The leaf after an unrelated certificate: found by its key.
        let text = format!(
            "{}{}{}",
            key.pkcs8_pem(),
            pem("CERTIFICATE", &other.leaf),
            pem("CERTIFICATE", &leaf.leaf)
        );
        for value in [text.clone(), STANDARD.encode(&text)] {
            let got = read(&value, None, PEM).expect("imported");
            assert_eq!(got.leaf, leaf.leaf);
            assert_eq!(got.chain, vec![other.leaf.clone()]);
        }
    }

    #[test]
    fn pem_refusals_say_why() {
        let (key, leaf) = key_and_leaf();
        let cert = pem("CERTIFICATE", &leaf.leaf);
        let refused = read(&cert, None, PEM).unwrap_err();
        assert_eq!(refused, ImportError::PemKeyCount);
        assert_eq!(refused.to_string(), PEM_UNEXPECTED);
        let pkcs1 = format!("{}{cert}", pem("RSA PRIVATE KEY", &[0x30, 0x00]));
        assert_eq!(
            read(&pkcs1, None, PEM).unwrap_err(),
            ImportError::PemUnexpectedBlock
        );
        let (other, _) = key_and_leaf();
        let mismatched = format!("{}{cert}", other.pkcs8_pem());
        assert_eq!(
            read(&mismatched, None, PEM).unwrap_err(),
            ImportError::NoMatchingCertificate(false)
        );
        assert_eq!(
            read(&key.pkcs8_pem(), None, PEM).unwrap_err(),
            ImportError::NoMatchingCertificate(false)
        );
        assert_eq!(
            read("x", None, "text/plain").unwrap_err(),
            ImportError::ContentType("text/plain".to_owned())
        );
    }

    #[test]
    fn leaf_facts_are_what_the_policy_shows() {
        let (_, leaf) = key_and_leaf();
        let facts = leaf_facts(&leaf.leaf).expect("parses");
        assert_eq!(facts.subject, "CN=imp");
        assert_eq!(facts.dns_names, vec!["imp.example".to_owned()]);
        assert_eq!(facts.ekus, vec!["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
        assert_eq!(facts.key_usage, vec!["digitalSignature", "keyEncipherment"]);
        assert_eq!(facts.validity_months, 3, "three months to the second");
        assert!(!facts.ca);
        assert_eq!((facts.nbf, facts.exp), (leaf.nbf, leaf.exp));
    }
}
