//! Real key material for Key Vault keys and certificates: RSA and EC keys
//! (generated or given as PKCS#8 PEM), their public JSON Web Keys, X.509
//! certificates signed by themselves or by the emulator's Key Vault CA, and
//! the two shapes Key Vault stores a certificate's secret in (PKCS#12 and
//! PEM). Pure functions over bytes; the store decides what to keep.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber, SignatureAlgorithm,
};
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rsa::traits::PublicKeyParts as _;
use rustls::pki_types::PrivatePkcs8KeyDer;
use serde_json::{Value, json};
use sha1::Digest as _;

use crate::config::{Curve, KeySpec, KeyType};

/// A private key and what Key Vault shows of it.
#[derive(Clone)]
pub struct KeyMaterial {
    pkcs8_der: Vec<u8>,
    public: PublicKey,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// The public half, as a JSON Web Key carries it (big-endian integers and
/// coordinates, no leading zeros for RSA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// `kty: RSA`.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// `kty: EC`.
    Ec {
        /// Curve.
        crv: Curve,
        /// X coordinate, padded to the field size.
        x: Vec<u8>,
        /// Y coordinate, padded to the field size.
        y: Vec<u8>,
    },
}

impl KeyMaterial {
    /// A key as `spec` asks: the given PKCS#8 PEM (checked against the
    /// declared type), or a fresh one.
    ///
    /// # Errors
    ///
    /// What is wrong with the spec or the PEM.
    pub fn from_spec(spec: &KeySpec) -> Result<Self, String> {
        let key = match &spec.pkcs8_pem {
            Some(pem) => Self::from_pkcs8_pem(pem)?,
            None => Self::generate(spec)?,
        };
        let declared = spec.kty.as_str();
        match (&key.public, declared) {
            (PublicKey::Rsa { n, .. }, "RSA") => {
                if let Some(size) = spec.size
                    && n.len() * 8 != size as usize
                {
                    return Err(format!(
                        "the given key has {} bits, not the declared {size}",
                        n.len() * 8
                    ));
                }
            }
            (PublicKey::Ec { crv, .. }, "EC") => {
                if let Some(declared) = spec.curve
                    && declared != *crv
                {
                    return Err(format!(
                        "the given key is on {}, not the declared {}",
                        crv.name(),
                        declared.name()
                    ));
                }
            }
            _ => return Err(format!("the given key is not of kty {declared}")),
        }
        Ok(key)
    }

    fn generate(spec: &KeySpec) -> Result<Self, String> {
        let mut rng = rand::rngs::OsRng;
        match spec.kty {
            KeyType::Rsa => {
                let bits = spec.size.unwrap_or(2048);
                let key = rsa::RsaPrivateKey::new(&mut rng, bits as usize)
                    .map_err(|e| format!("RSA key generation failed: {e}"))?;
                Self::from_rsa(&key)
            }
            KeyType::Ec => match spec.curve.unwrap_or(Curve::P256) {
                Curve::P256 => Self::from_ec_p256(&p256::SecretKey::random(&mut rng)),
                Curve::P256K => Self::from_ec_k256(&k256::SecretKey::random(&mut rng)),
                Curve::P384 => Self::from_ec_p384(&p384::SecretKey::random(&mut rng)),
                Curve::P521 => Self::from_ec_p521(&p521::SecretKey::random(&mut rng)),
            },
        }
    }

    /// A PKCS#8 DER private key (RSA, or EC on P-256, P-256K, P-384,
    /// P-521).
    ///
    /// # Errors
    ///
    /// When it is none of those.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        Self::from_pkcs8_pem(&pem("PRIVATE KEY", der))
    }

    fn from_pkcs8_pem(pem: &str) -> Result<Self, String> {
        if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            return Self::from_rsa(&key);
        }
        if let Ok(key) = p256::SecretKey::from_pkcs8_pem(pem) {
            return Self::from_ec_p256(&key);
        }
        if let Ok(key) = p384::SecretKey::from_pkcs8_pem(pem) {
            return Self::from_ec_p384(&key);
        }
        if let Ok(key) = p521::SecretKey::from_pkcs8_pem(pem) {
            return Self::from_ec_p521(&key);
        }
        if let Ok(key) = k256::SecretKey::from_pkcs8_pem(pem) {
            return Self::from_ec_k256(&key);
        }
        Err(
            "pkcs8Pem is not a PKCS#8 RSA or EC (P-256, P-256K, P-384, P-521) private key"
                .to_owned(),
        )
    }

    /// An EC private key on `crv` from its scalar `d` (big-endian, as a
    /// JSON Web Key's `d`).
    ///
    /// # Errors
    ///
    /// When `d` is not a valid scalar of the curve.
    pub fn from_ec_scalar(crv: Curve, d: &[u8]) -> Result<Self, String> {
        let bad = |e: k256::elliptic_curve::Error| format!("d is not a {} scalar: {e}", crv.name());
        match crv {
            Curve::P256 => Self::from_ec_p256(&p256::SecretKey::from_slice(d).map_err(bad)?),
            Curve::P256K => Self::from_ec_k256(&k256::SecretKey::from_slice(d).map_err(bad)?),
            Curve::P384 => Self::from_ec_p384(&p384::SecretKey::from_slice(d).map_err(bad)?),
            Curve::P521 => Self::from_ec_p521(&p521::SecretKey::from_slice(d).map_err(bad)?),
        }
    }

    /// An RSA private key from a JSON Web Key's big-endian components.
    ///
    /// # Errors
    ///
    /// When they do not make a consistent RSA key.
    pub fn from_rsa_components(
        n: &[u8],
        e: &[u8],
        d: &[u8],
        p: &[u8],
        q: &[u8],
    ) -> Result<Self, String> {
        let int = rsa::BigUint::from_bytes_be;
        let key = rsa::RsaPrivateKey::from_components(int(n), int(e), int(d), vec![int(p), int(q)])
            .map_err(|e| format!("not an RSA key: {e}"))?;
        key.validate().map_err(|e| format!("not an RSA key: {e}"))?;
        Self::from_rsa(&key)
    }

    fn from_rsa(key: &rsa::RsaPrivateKey) -> Result<Self, String> {
        let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
        Ok(Self {
            pkcs8_der: der.as_bytes().to_vec(),
            public: PublicKey::Rsa {
                n: key.n().to_bytes_be(),
                e: key.e().to_bytes_be(),
            },
        })
    }

    fn from_ec_p256(key: &p256::SecretKey) -> Result<Self, String> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let point = key.public_key().to_encoded_point(false);
        Self::ec(
            Curve::P256,
            key.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes(),
            point.x(),
            point.y(),
        )
    }

    fn from_ec_k256(key: &k256::SecretKey) -> Result<Self, String> {
        use k256::elliptic_curve::sec1::ToEncodedPoint as _;
        let point = key.public_key().to_encoded_point(false);
        Self::ec(
            Curve::P256K,
            key.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes(),
            point.x(),
            point.y(),
        )
    }

    fn from_ec_p384(key: &p384::SecretKey) -> Result<Self, String> {
        use p384::elliptic_curve::sec1::ToEncodedPoint as _;
        let point = key.public_key().to_encoded_point(false);
        Self::ec(
            Curve::P384,
            key.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes(),
            point.x(),
            point.y(),
        )
    }

    fn from_ec_p521(key: &p521::SecretKey) -> Result<Self, String> {
        use p521::elliptic_curve::sec1::ToEncodedPoint as _;
        let point = key.public_key().to_encoded_point(false);
        Self::ec(
            Curve::P521,
            key.to_pkcs8_der().map_err(|e| e.to_string())?.as_bytes(),
            point.x(),
            point.y(),
        )
    }

    fn ec(
        crv: Curve,
        der: &[u8],
        x: Option<&impl AsRef<[u8]>>,
        y: Option<&impl AsRef<[u8]>>,
    ) -> Result<Self, String> {
        let (Some(x), Some(y)) = (x, y) else {
            return Err("the EC public key is the point at infinity".to_owned());
        };
        Ok(Self {
            pkcs8_der: der.to_vec(),
            public: PublicKey::Ec {
                crv,
                x: x.as_ref().to_vec(),
                y: y.as_ref().to_vec(),
            },
        })
    }

    /// The public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The private key as PKCS#8 DER.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8_der
    }

    /// Key Vault's `kty` (software keys).
    pub fn kty(&self) -> &'static str {
        match self.public {
            PublicKey::Rsa { .. } => "RSA",
            PublicKey::Ec { .. } => "EC",
        }
    }

    /// The operations Key Vault lists for a key it created with default
    /// options: RSA keys may do everything, EC keys sign and verify.
    pub fn default_key_ops(&self) -> &'static [&'static str] {
        match self.public {
            PublicKey::Rsa { .. } => &[
                "encrypt",
                "decrypt",
                "sign",
                "verify",
                "wrapKey",
                "unwrapKey",
            ],
            PublicKey::Ec { .. } => &["sign", "verify"],
        }
    }

    /// The JSON Web Key Key Vault returns: public parts only, base64url.
    pub fn jwk(&self, kid: &str, key_ops: &[String]) -> Value {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        match &self.public {
            PublicKey::Rsa { n, e } => json!({
                "kid": kid, "kty": "RSA", "key_ops": key_ops, "n": b64(n), "e": b64(e),
            }),
            PublicKey::Ec { crv, x, y } => json!({
                "kid": kid, "kty": "EC", "key_ops": key_ops, "crv": crv.name(),
                "x": b64(x), "y": b64(y),
            }),
        }
    }

    /// The bits of an RSA modulus, for a certificate policy's `key_size`.
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.public {
            PublicKey::Rsa { n, .. } => Some(n.len() * 8),
            PublicKey::Ec { .. } => None,
        }
    }

    /// The PKCS#8 `PRIVATE KEY` PEM.
    pub fn pkcs8_pem(&self) -> String {
        pem("PRIVATE KEY", &self.pkcs8_der)
    }

    fn signing_key(&self) -> Result<KeyPair, String> {
        let alg: &'static SignatureAlgorithm = match &self.public {
            PublicKey::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            PublicKey::Ec {
                crv: Curve::P256, ..
            } => &rcgen::PKCS_ECDSA_P256_SHA256,
            PublicKey::Ec {
                crv: Curve::P384, ..
            } => &rcgen::PKCS_ECDSA_P384_SHA384,
            PublicKey::Ec {
                crv: crv @ (Curve::P521 | Curve::P256K),
                ..
            } => {
                return Err(format!(
                    "certificates on {} cannot be signed by the emulator (ring has no {}); use P-256, P-384 or RSA",
                    crv.name(),
                    crv.name()
                ));
            }
        };
        KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(self.pkcs8_der.clone()),
            alg,
        )
        .map_err(|e| format!("the key cannot sign: {e}"))
    }
}

/// PEM armour, 64 columns, `\n` line ends.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The emulator's Key Vault certificate authority, standing in for an
/// integrated issuer (DigiCert, GlobalSign) for certificates whose policy
/// names one.
pub struct CertificateAuthority {
    der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// A fresh EC P-256 root, valid ten years.
    ///
    /// # Errors
    ///
    /// When rcgen cannot sign (never with ring and P-256).
    pub fn new() -> Result<Self, String> {
        let key =
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| e.to_string())?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Azure WI Emulator Key Vault CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // A root names itself as its authority: AKI = its SKI (rcgen
        // writes the SKI of every CA).
        params.use_authority_key_identifier_extension = true;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(3650);
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(Self {
            der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

/// A certificate as Key Vault holds it: the leaf and the chain above it.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The leaf, DER (`cer`).
    pub leaf: Vec<u8>,
    /// Issuers above the leaf, nearest first (empty when self-signed).
    pub chain: Vec<Vec<u8>>,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// Not after, Unix seconds.
    pub exp: u64,
}

/// Issues a leaf for `key`: `subject` as `CN=<name>`, `dns_names` as SANs,
/// valid `validity_months` from now, self-signed or by `ca`.
///
/// # Errors
///
/// A subject that is not `CN=...`, or a key rcgen cannot sign with.
pub fn issue(
    key: &KeyMaterial,
    subject: &str,
    dns_names: &[String],
    validity_months: u32,
    ca: Option<&CertificateAuthority>,
) -> Result<IssuedCertificate, String> {
    let cn = subject
        .strip_prefix("CN=")
        .filter(|cn| !cn.is_empty() && !cn.contains(','))
        .ok_or_else(|| format!("subject {subject:?}: expected CN=<name>"))?;
    let mut params = CertificateParams::new(dns_names.to_vec()).map_err(|e| e.to_string())?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 ns is valid");
    params.not_before = now;
    params.not_after = add_months(now, validity_months);
    params.serial_number = Some(SerialNumber::from_slice(&rand::random::<[u8; 16]>()));
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    // As Key Vault issues a leaf (its self-signed certificate recorded by
    // Azure/azure-sdk-for-js, "can get a certificate's secret in PKCS#12
    // format", 2020-06-25): basic constraints CA:FALSE, a Subject Key
    // Identifier, and an Authority Key Identifier equal to the issuer's
    // SKI (its own when self-signed). rcgen writes the SKI only for an
    // explicit CA:FALSE.
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    let signing = key.signing_key()?;
    let (leaf, chain) = match ca {
        Some(ca) => (
            params
                .signed_by(&signing, &ca.issuer)
                .map_err(|e| e.to_string())?,
            vec![ca.der.clone()],
        ),
        None => (
            params.self_signed(&signing).map_err(|e| e.to_string())?,
            Vec::new(),
        ),
    };
    let unix = |t: time::OffsetDateTime| u64::try_from(t.unix_timestamp()).unwrap_or(0);
    Ok(IssuedCertificate {
        leaf: leaf.der().to_vec(),
        chain,
        nbf: unix(params.not_before),
        exp: unix(params.not_after),
    })
}

fn add_months(t: time::OffsetDateTime, months: u32) -> time::OffsetDateTime {
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month()) - 1) + i64::from(months);
    let year = i32::try_from(total / 12).unwrap_or(9999);
    let month = time::Month::try_from(u8::try_from(total % 12 + 1).unwrap_or(1))
        .unwrap_or(time::Month::January);
    let last_day = time::util::days_in_month(month, year);
    let date = time::Date::from_calendar_date(year, month, t.day().min(last_day))
        .expect("a day clamped to its month is a date");
    t.replace_date(date)
}

/// `x5t`: the base64url SHA-1 thumbprint of the DER certificate.
pub fn x5t(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(der))
}

/// The secret value of a certificate with content type
/// `application/x-pkcs12`: base64 of a PKCS#12 with an empty password
/// holding the key and the chain (leaf first), in Key Vault's algorithms
/// (see [`super::pfx`]).
///
/// # Errors
///
/// When the PKCS#12 key derivation fails.
pub fn pkcs12_base64(key: &KeyMaterial, cert: &IssuedCertificate) -> Result<String, String> {
    let certs: Vec<Vec<u8>> = std::iter::once(&cert.leaf)
        .chain(&cert.chain)
        .cloned()
        .collect();
    let der = super::pfx::write(key.pkcs8_der(), &certs).map_err(|e| e.to_string())?;
    Ok(STANDARD.encode(der))
}

/// The secret value of a certificate with content type
/// `application/x-pem-file`: the PKCS#8 private key, then the chain, leaf
/// first.
pub fn pem_bundle(key: &KeyMaterial, cert: &IssuedCertificate) -> String {
    let mut out = key.pkcs8_pem();
    for der in std::iter::once(&cert.leaf).chain(&cert.chain) {
        out.push_str(&pem("CERTIFICATE", der));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeySpec;
    use x509_parser::extensions::ParsedExtension;

    /// (SKI, AKI key id) of a DER certificate.
    fn key_ids(der: &[u8]) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parses");
        let (mut ski, mut aki) = (None, None);
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(id.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    aki = a.key_identifier.as_ref().map(|id| id.0.to_vec());
                }
                _ => {}
            }
        }
        (ski, aki)
    }

    #[test]
    fn the_leaf_names_its_issuer_by_the_issuers_subject_key_identifier() {
        let ca = CertificateAuthority::new().expect("ca");
        let (ca_ski, ca_aki) = key_ids(ca.der());
        let ca_ski = ca_ski.expect("the CA has an SKI");
        assert_eq!(ca_ski.len(), 20);
        assert_eq!(
            ca_aki.as_ref(),
            Some(&ca_ski),
            "a root is its own authority"
        );

        let key = KeyMaterial::from_spec(&KeySpec::rsa(2048)).expect("key");
        let leaf = issue(&key, "CN=leaf", &[], 12, Some(&ca)).expect("issued");
        let (leaf_ski, leaf_aki) = key_ids(&leaf.leaf);
        let leaf_ski = leaf_ski.expect("the leaf has an SKI");
        assert_eq!(leaf_aki, Some(ca_ski.clone()), "AKI = the CA's SKI");
        assert_ne!(leaf_ski, ca_ski);

        let own = issue(&key, "CN=self", &[], 12, None).expect("self-signed");
        let (own_ski, own_aki) = key_ids(&own.leaf);
        assert!(own_ski.is_some());
        assert_eq!(
            own_aki, own_ski,
            "self-signed: AKI = its own SKI, as Key Vault's"
        );
        let (_, cert) = x509_parser::parse_x509_certificate(&own.leaf).expect("parses");
        assert_eq!(
            cert.basic_constraints().expect("one").map(|b| b.value.ca),
            Some(false)
        );
    }
}
