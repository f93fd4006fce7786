//! What ESO's azurekv provider makes of a pushed value for `key/` and
//! `cert/` targets: the JSON Web Key it imports (`getKeyFromValue`, then
//! `jwk.FromRaw`), whether that key is the vault's already
//! (`equalKeys`), and the certificate a value holds (`getCertificateFromValue`:
//! PKCS#12 with the empty password, DER, or the first PEM block that is a
//! certificate), compared with the vault's by its DER.
//!
//! Facts from external-secrets/external-secrets,
//! `providers/v1/azure/keyvault/keyvault.go`, and Go's `encoding/pem`
//! (`Decode` skips text before a block) and lestrrat-go/jwx (`jwk.FromRaw`:
//! RSA `n e d p q dp dq qi`, EC `crv x y d` with coordinates padded to the
//! curve's size, a non-PEM value an `oct` key).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use zeroize::Zeroizing;

/// A private JSON Web Key to import: `Debug` never shows it.
pub struct PrivateJwk(Value);

impl PrivateJwk {
    /// The JWK, for the import request.
    #[must_use]
    pub fn json(&self) -> &Value {
        &self.0
    }
}

impl std::ops::Deref for PrivateJwk {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl std::fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrivateJwk({} redacted)", self.0["kty"])
    }
}

/// Why a pushed value is not a key or certificate ESO would import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaterialError {
    /// A PEM block of a type `getKeyFromValue` does not read.
    #[error("could not load private key {name}: key type {kind} is not supported")]
    KeyType {
        /// The key's name in the vault.
        name: String,
        /// The PEM block's type.
        kind: String,
    },
    /// A key block that does not parse.
    #[error("could not load private key {name}: {reason}")]
    Key {
        /// The key's name in the vault.
        name: String,
        /// What is wrong with it (never its bytes).
        reason: String,
    },
    /// Not PKCS#12, DER or PEM holding a certificate.
    #[error(
        "value from secret is not a valid certificate: could not parse certificate value as PKCS#12, DER or PEM"
    )]
    Certificate,
}

/// One PEM block as Go's `pem.Decode` finds it.
struct Block {
    kind: String,
    der: Zeroizing<Vec<u8>>,
}

/// Every PEM block in `data`, in order, skipping text around them and
/// blocks whose body is not base64 (Go's `pem.Decode` looping on `rest`).
fn pem_blocks(data: &[u8]) -> Vec<Block> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(at) = rest.find("-----BEGIN ") {
        let after = &rest[at + "-----BEGIN ".len()..];
        let Some(type_end) = after.find("-----") else {
            break;
        };
        let kind = &after[..type_end];
        let body_start = &after[type_end + "-----".len()..];
        let end_marker = format!("-----END {kind}-----");
        let Some(body_end) = body_start.find(&end_marker) else {
            rest = body_start;
            continue;
        };
        let body: String = body_start[..body_end]
            .lines()
            .filter(|line| !line.contains(':'))
            .flat_map(|line| line.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        if !kind.contains('\n')
            && let Ok(der) = STANDARD.decode(body.as_bytes())
        {
            out.push(Block {
                kind: kind.to_owned(),
                der: Zeroizing::new(der),
            });
        }
        rest = &body_start[body_end + end_marker.len()..];
    }
    out
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The private JSON Web Key ESO imports for a `key/` push of `value`
/// (`name` only words errors): the first PEM block read as PKCS#8 (`PRIVATE
/// KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC 1 (`EC PRIVATE KEY`); a value
/// with no PEM block is a symmetric (`oct`) key, which Key Vault's standard
/// vaults refuse.
///
/// # Errors
///
/// [`MaterialError`] with ESO's text for another block type or a key that
/// does not parse.
pub fn private_jwk(name: &str, value: &[u8]) -> Result<PrivateJwk, MaterialError> {
    let Some(block) = pem_blocks(value).into_iter().next() else {
        return Ok(PrivateJwk(json!({"kty": "oct", "k": b64(value)})));
    };
    let bad = |reason: &str| MaterialError::Key {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    match block.kind.as_str() {
        "PRIVATE KEY" => pkcs8_jwk(&block.der).ok_or_else(|| {
            bad("x509: failed to parse private key (not an RSA or ECDSA key on P-256, P-384 or P-521)")
        }),
        "RSA PRIVATE KEY" => {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            rsa::RsaPrivateKey::from_pkcs1_der(&block.der)
                .map(|key| rsa_jwk(&key))
                .map_err(|_| bad("x509: failed to parse RSA private key"))
        }
        "EC PRIVATE KEY" => ec_sec1_jwk(&block.der)
            .ok_or_else(|| bad("x509: failed to parse EC private key")),
        other => Err(MaterialError::KeyType {
            name: name.to_owned(),
            kind: other.to_owned(),
        }),
    }
}

fn pkcs8_jwk(der: &[u8]) -> Option<PrivateJwk> {
    use rsa::pkcs8::DecodePrivateKey as _;
    if let Ok(key) = rsa::RsaPrivateKey::from_pkcs8_der(der) {
        return Some(rsa_jwk(&key));
    }
    if let Ok(key) = p256::SecretKey::from_pkcs8_der(der) {
        return Some(ec_jwk(
            "P-256",
            &key.public_key().to_sec1_bytes(),
            &key.to_bytes(),
        ));
    }
    if let Ok(key) = p384::SecretKey::from_pkcs8_der(der) {
        return Some(ec_jwk(
            "P-384",
            &key.public_key().to_sec1_bytes(),
            &key.to_bytes(),
        ));
    }
    if let Ok(key) = p521::SecretKey::from_pkcs8_der(der) {
        return Some(ec_jwk(
            "P-521",
            &key.public_key().to_sec1_bytes(),
            &key.to_bytes(),
        ));
    }
    None
}

fn ec_sec1_jwk(der: &[u8]) -> Option<PrivateJwk> {
    if let Ok(key) = p256::SecretKey::from_sec1_der(der) {
        return Some(ec_jwk(
            "P-256",
            &key.public_key().to_sec1_bytes(),
            &key.to_bytes(),
        ));
    }
    if let Ok(key) = p384::SecretKey::from_sec1_der(der) {
        return Some(ec_jwk(
            "P-384",
            &key.public_key().to_sec1_bytes(),
            &key.to_bytes(),
        ));
    }
    if let Ok(key) = p521::SecretKey::from_sec1_der(der) {
        return Some(ec_jwk(
            "P-521",
            &key.public_key().to_sec1_bytes(),
            &key.to_bytes(),
        ));
    }
    None
}

/// An EC JWK from the uncompressed SEC 1 point (`04 || x || y`, each the
/// curve's size) and the scalar (the curve's size, as jwx pads it).
fn ec_jwk(crv: &str, point: &[u8], d: &[u8]) -> PrivateJwk {
    let coordinates = point.get(1..).unwrap_or_default();
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    PrivateJwk(json!({"kty": "EC", "crv": crv, "x": b64(x), "y": b64(y), "d": b64(d)}))
}

fn rsa_jwk(key: &rsa::RsaPrivateKey) -> PrivateJwk {
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
    let uint = |n: &rsa::BigUint| b64(&n.to_bytes_be());
    let primes = key.primes();
    let (p, q) = match primes {
        [p, q, ..] => (uint(p), uint(q)),
        _ => (String::new(), String::new()),
    };
    let mut jwk = json!({
        "kty": "RSA",
        "n": uint(key.n()),
        "e": uint(key.e()),
        "d": uint(key.d()),
        "p": p,
        "q": q,
    });
    if let (Some(dp), Some(dq)) = (key.dp(), key.dq()) {
        jwk["dp"] = uint(dp).into();
        jwk["dq"] = uint(dq).into();
    }
    if let Some(qi) = key.crt_coefficient() {
        jwk["qi"] = uint(&qi).into();
    }
    PrivateJwk(jwk)
}

/// ESO's `equalKeys`: the kind is the same and, for RSA, `n` and `e` are;
/// an EC key is never found equal (ESO also asks for the HSM token `t`,
/// which Key Vault's keys do not have), so ESO imports an EC key again on
/// every push, and so does this.
#[must_use]
pub fn same_key(jwk: &Value, vault: &azure_wi_auth::JsonWebKey) -> bool {
    let field = |name: &str| {
        jwk[name]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
    };
    match vault {
        azure_wi_auth::JsonWebKey::Rsa { n, e, hsm: false } => {
            jwk["kty"] == "RSA"
                && field("n").as_deref() == Some(n.as_slice())
                && field("e").as_deref() == Some(e.as_slice())
        }
        _ => false,
    }
}

/// The certificate (DER) a `cert/` push's value holds, as ESO finds it: a
/// PKCS#12 with the empty password (its first certificate, a key
/// required), else the value as DER, else the first PEM block that is a
/// certificate.
///
/// # Errors
///
/// [`MaterialError::Certificate`] with ESO's text.
pub fn certificate_der(value: &[u8]) -> Result<Vec<u8>, MaterialError> {
    if let Ok(contents) = azure_wi_auth::pfx::read(value, "")
        && !contents.keys.is_empty()
        && let Some(leaf) = contents.certs.into_iter().next()
        && is_certificate(&leaf)
    {
        return Ok(leaf);
    }
    if is_certificate(value) {
        return Ok(value.to_vec());
    }
    pem_blocks(value)
        .into_iter()
        .find(|block| is_certificate(&block.der))
        .map(|block| block.der.to_vec())
        .ok_or(MaterialError::Certificate)
}

/// Whether `der` is exactly one X.509 certificate.
fn is_certificate(der: &[u8]) -> bool {
    matches!(x509_parser::parse_x509_certificate(der), Ok((rest, _)) if rest.is_empty())
}

#[cfg(test)]
#[path = "push_material_tests.rs"]
mod tests;
