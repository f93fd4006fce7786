//! ESO's PKCS#12 functions: reading a PFX's key and certificates
//! (`pkcs12key`, `pkcs12cert` and their `Pass` forms) and writing PEM
//! certificates and keys as a PFX (`pemToPkcs12`, `fullPemToPkcs12`,
//! `pemTruststoreToPKCS12` and their `Pass` forms).
//!
//! Sources: external-secrets/external-secrets
//! `runtime/template/v2/pkcs12.go` (the functions, their order of
//! certificates and their errors) and SSLMate/go-pkcs12 v0.7.0, which
//! ESO uses (`DecodeChain`; `Modern.Encode` and `Modern.EncodeTrustStore`:
//! PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, 2048 iterations,
//! 16-byte salts, an HMAC-SHA-256 MAC; reading also the legacy PBE with
//! 3DES and RC2, SHA-1 and SHA-512 MACs and PBMAC1). Salts and IVs come
//! from the injected random source, in the order go-pkcs12 reads them.
//! Friendly names of trust stores are Go's `pkix.Name.String()` of the
//! subject (golang/go `src/crypto/x509/pkix/pkix.go`).

use base64::Engine as _;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyIvInit as _};
use hmac::Mac as _;
use sha2::Digest as _;

use super::pem::{
    self, Certificate, NIL_DEREFERENCE, PrivateKey, TYPE_CERTIFICATE, TYPE_PRIVATE_KEY, der,
};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("pkcs12key", &[Param::Str], None, pkcs12key);
    r.add(
        "pkcs12keyPass",
        &[Param::Str, Param::Str],
        None,
        pkcs12key_pass,
    );
    r.add("pkcs12cert", &[Param::Str], None, pkcs12cert);
    r.add(
        "pkcs12certPass",
        &[Param::Str, Param::Str],
        None,
        pkcs12cert_pass,
    );
    r.add(
        "pemToPkcs12",
        &[Param::Str, Param::Str],
        None,
        pem_to_pkcs12,
    );
    r.add(
        "pemToPkcs12Pass",
        &[Param::Str, Param::Str, Param::Str],
        None,
        pem_to_pkcs12_pass,
    );
    r.add(
        "fullPemToPkcs12",
        &[Param::Str, Param::Str],
        None,
        full_pem_to_pkcs12,
    );
    r.add(
        "fullPemToPkcs12Pass",
        &[Param::Str, Param::Str, Param::Str],
        None,
        full_pem_to_pkcs12_pass,
    );
    r.add(
        "pemTruststoreToPKCS12",
        &[Param::Str],
        None,
        pem_truststore_to_pkcs12,
    );
    r.add(
        "pemTruststoreToPKCS12Pass",
        &[Param::Str, Param::Str],
        None,
        pem_truststore_to_pkcs12_pass,
    );
}

fn str_arg(args: &[Value], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// Why go-pkcs12 failed: an `error` (ESO wraps it), or a Go panic that
/// `text/template` turns into the call's error as it is.
#[derive(Debug, PartialEq, Eq)]
enum Failure {
    Error(String),
    Panic(String),
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Error(e)
    }
}

impl From<&str> for Failure {
    fn from(e: &str) -> Self {
        Failure::Error(e.to_string())
    }
}

fn wrapped(prefix: &str) -> impl Fn(Failure) -> FuncError + '_ {
    move |f| match f {
        Failure::Error(e) => FuncError::new(format!("{prefix}{e}")),
        Failure::Panic(p) => FuncError::new(p),
    }
}

fn plain(f: Failure) -> FuncError {
    match f {
        Failure::Error(e) | Failure::Panic(e) => FuncError::new(e),
    }
}

// ---------------------------------------------------------------------
// The template functions.

/// `pkcs12key(input string) (string, error)`.
fn pkcs12key(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let input = args.into_iter().next().unwrap_or_default();
    pkcs12key_pass(env, vec![Value::str(""), input])
}

/// `pkcs12keyPass(pass, input string) (string, error)`: the PFX's private
/// key as a PKCS#8 `PRIVATE KEY` PEM block.
fn pkcs12key_pass(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let decoded = decode_chain(str_arg(&args, 1), str_arg(&args, 0))
        .map_err(wrapped("unable to decode pkcs12 with password: "))?;
    let der = pem::marshal_pkcs8(&decoded.key).map_err(FuncError::new)?;
    Ok(Value::str(pem::encode(TYPE_PRIVATE_KEY, &der)))
}

/// `pkcs12cert(input string) (string, error)`.
fn pkcs12cert(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let input = args.into_iter().next().unwrap_or_default();
    pkcs12cert_pass(env, vec![Value::str(""), input])
}

/// `pkcs12certPass(pass, input string) (string, error)`: the PFX's
/// certificate and CA certificates as PEM, ordered leaf to root when
/// they make one chain, else as the PFX holds them.
fn pkcs12cert_pass(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let decoded = decode_chain(str_arg(&args, 1), str_arg(&args, 0)).map_err(wrapped(
        "unable to decode pkcs12 certificate with password: ",
    ))?;
    let mut pem_data = pem::encode(TYPE_CERTIFICATE, &decoded.cert.raw);
    for ca in &decoded.ca {
        pem_data.extend_from_slice(&pem::encode(TYPE_CERTIFICATE, &ca.raw));
    }
    // ESO orders the chain when it can; with several leaves or
    // disjunct certificates it keeps the PFX's order.
    Ok(Value::str(match pem::order_chain(&pem_data) {
        Ok(ordered) => ordered
            .iter()
            .flat_map(|c| pem::encode(TYPE_CERTIFICATE, &c.raw))
            .collect(),
        Err(_) => pem_data,
    }))
}

/// `pemToPkcs12(cert, key string) (string, error)`.
fn pem_to_pkcs12(env: &mut Env<'_>, mut args: Vec<Value>) -> Result<Value, FuncError> {
    args.push(Value::str(""));
    pem_to_pkcs12_pass(env, args)
}

/// `pemToPkcs12Pass(cert, key, pass string) (string, error)`: the first
/// PEM block of `cert` and of `key` as a base64 PFX.
fn pem_to_pkcs12_pass(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (Some(block), _) = pem::decode(str_arg(&args, 0)) else {
        return Err(FuncError::new(NIL_DEREFERENCE));
    };
    let cert = pem::parse_certificate(&block.bytes).map_err(FuncError::new)?;
    certs_key_to_pkcs12(env, &cert, str_arg(&args, 1), &[], str_arg(&args, 2))
}

/// `fullPemToPkcs12(cert, key string) (string, error)`.
fn full_pem_to_pkcs12(env: &mut Env<'_>, mut args: Vec<Value>) -> Result<Value, FuncError> {
    args.push(Value::str(""));
    full_pem_to_pkcs12_pass(env, args)
}

/// `fullPemToPkcs12Pass(cert, key, pass string) (string, error)`: as
/// `pemToPkcs12Pass`, with every further block of `cert` as a CA
/// certificate.
fn full_pem_to_pkcs12_pass(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (Some(block), rest) = pem::decode(str_arg(&args, 0)) else {
        return Err(FuncError::new(NIL_DEREFERENCE));
    };
    let cert = pem::parse_certificate(&block.bytes).map_err(FuncError::new)?;
    let cas = parse_ca_certs(rest)?;
    certs_key_to_pkcs12(env, &cert, str_arg(&args, 1), &cas, str_arg(&args, 2))
}

/// `pemTruststoreToPKCS12(cert string) (string, error)`.
fn pem_truststore_to_pkcs12(env: &mut Env<'_>, mut args: Vec<Value>) -> Result<Value, FuncError> {
    args.push(Value::str(""));
    pem_truststore_to_pkcs12_pass(env, args)
}

/// `pemTruststoreToPKCS12Pass(cert, password string) (string, error)`:
/// every PEM block of `cert` as a trusted certificate of a Java trust
/// store, base64.
fn pem_truststore_to_pkcs12_pass(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let cas = parse_ca_certs(str_arg(&args, 0))?;
    let pfx = encode_trust_store(env, &cas, str_arg(&args, 1)).map_err(plain)?;
    Ok(Value::str(
        base64::engine::general_purpose::STANDARD.encode(pfx),
    ))
}

/// ESO's `parseCaCerts`: each PEM block of `certs` a certificate; bytes
/// left that are not a block make Go dereference nil.
fn parse_ca_certs(mut certs: &[u8]) -> Result<Vec<Certificate>, FuncError> {
    let mut out = Vec::new();
    while !certs.is_empty() {
        let (Some(block), rest) = pem::decode(certs) else {
            return Err(FuncError::new(NIL_DEREFERENCE));
        };
        certs = rest;
        out.push(pem::parse_certificate(&block.bytes).map_err(FuncError::new)?);
    }
    Ok(out)
}

/// ESO's `certsKeyToPkcs12`.
fn certs_key_to_pkcs12(
    env: &mut Env<'_>,
    cert: &Certificate,
    key: &[u8],
    cas: &[Certificate],
    password: &[u8],
) -> Result<Value, FuncError> {
    let (Some(block), _) = pem::decode(key) else {
        return Err(FuncError::new(NIL_DEREFERENCE));
    };
    let Some(key) = pem::parse_private_key(&block.bytes) else {
        return Err(FuncError::new("unable to parse private key type"));
    };
    let pfx = encode(env, &key, cert, cas, password).map_err(plain)?;
    Ok(Value::str(
        base64::engine::general_purpose::STANDARD.encode(pfx),
    ))
}

// ---------------------------------------------------------------------
// OIDs (DER contents).

mod oid {
    pub(super) const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    pub(super) const ENCRYPTED_DATA: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
    pub(super) const FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
    pub(super) const LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
    pub(super) const JAVA_TRUST_STORE: &[u8] = &[
        0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
    ];
    pub(super) const ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];
    pub(super) const CERT_TYPE_X509: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
    pub(super) const KEY_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x01,
    ];
    pub(super) const SHROUDED_KEY_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
    ];
    pub(super) const CERT_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
    ];
    pub(super) const PBE_SHA_3DES: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
    pub(super) const PBE_SHA_RC2_128: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x05];
    pub(super) const PBE_SHA_RC2_40: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x06];
    pub(super) const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
    pub(super) const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
    pub(super) const PBMAC1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0e];
    pub(super) const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
    pub(super) const HMAC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09];
    pub(super) const HMAC_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x0b];
    pub(super) const AES128_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x02];
    pub(super) const AES192_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x16];
    pub(super) const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
    pub(super) const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
    pub(super) const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub(super) const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
}

// ---------------------------------------------------------------------
// Hashes, PBKDF2 and the PKCS#12 key derivation.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
    Sha512,
}

macro_rules! per_hash {
    ($hash:expr, $d:ident => $body:expr) => {
        match $hash {
            Hash::Sha1 => {
                type $d = sha1_010::Sha1;
                $body
            }
            Hash::Sha256 => {
                type $d = sha2::Sha256;
                $body
            }
            Hash::Sha512 => {
                type $d = sha2::Sha512;
                $body
            }
        }
    };
}

impl Hash {
    /// The output size `u` and block size `v` of RFC 7292 B.2, in bytes.
    fn sizes(self) -> (usize, usize) {
        match self {
            Hash::Sha1 => (20, 64),
            Hash::Sha256 => (32, 64),
            Hash::Sha512 => (64, 128),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        per_hash!(self, D => D::digest(data).to_vec())
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        per_hash!(self, D => {
            // HMAC takes a key of any length.
            match hmac::Hmac::<D>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        })
    }

    /// PBKDF2 (RFC 8018) with HMAC over this hash.
    fn pbkdf2(self, password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
        per_hash!(self, D => {
            let Ok(mac) = hmac::Hmac::<D>::new_from_slice(password) else {
                return Vec::new();
            };
            let mut out = Vec::with_capacity(len);
            let mut block: u32 = 1;
            while out.len() < len {
                let mut m = mac.clone();
                m.update(salt);
                m.update(&block.to_be_bytes());
                let mut u = m.finalize().into_bytes();
                let mut t = u;
                for _ in 1..iterations {
                    let mut m = mac.clone();
                    m.update(&u);
                    u = m.finalize().into_bytes();
                    for (a, b) in t.iter_mut().zip(u.iter()) {
                        *a ^= b;
                    }
                }
                let take = (len - out.len()).min(t.len());
                out.extend_from_slice(&t[..take]);
                block += 1;
            }
            out
        })
    }

    /// go-pkcs12's `pbkdf`: RFC 7292 appendix B.2 with diversifier `id`
    /// (1 key, 2 IV, 3 MAC key).
    fn pkcs12_kdf(
        self,
        salt: &[u8],
        password: &[u8],
        iterations: u32,
        id: u8,
        size: usize,
    ) -> Vec<u8> {
        let (u, v) = self.sizes();
        let fill = |pattern: &[u8]| -> Vec<u8> {
            if pattern.is_empty() {
                return Vec::new();
            }
            let len = v * pattern.len().div_ceil(v);
            pattern.iter().copied().cycle().take(len).collect()
        };
        let d = vec![id; v];
        let mut i_buf = fill(salt);
        i_buf.extend(fill(password));
        let c = size.div_ceil(u);
        let mut a = Vec::with_capacity(c * u);
        for round in 0..c {
            let mut input = d.clone();
            input.extend_from_slice(&i_buf);
            let mut ai = self.digest(&input);
            for _ in 1..iterations {
                ai = self.digest(&ai);
            }
            a.extend_from_slice(&ai);
            if round + 1 < c {
                let b: Vec<u8> = ai.iter().copied().cycle().take(v).collect();
                // I_j = (I_j + B + 1) mod 2^(8v), big-endian.
                for block in i_buf.chunks_mut(v) {
                    let mut carry: u16 = 1;
                    for (x, y) in block.iter_mut().zip(b.iter()).rev() {
                        let sum = u16::from(*x) + u16::from(*y) + carry;
                        *x = sum as u8;
                        carry = sum >> 8;
                    }
                }
            }
        }
        a.truncate(size);
        a
    }
}

/// The most iterations of a key derivation accepted: a PFX asking for
/// more would hold the controller, not protect a key.
const MAX_ITERATIONS: i64 = 10_000_000;

fn rounds(iterations: i64) -> Result<u32, Failure> {
    if iterations > MAX_ITERATIONS {
        return Err("pkcs12: iteration count too large".into());
    }
    Ok(u32::try_from(iterations.max(1)).unwrap_or(1))
}

// ---------------------------------------------------------------------
// BMP strings.

/// go-pkcs12's `bmpString`: UCS-2 big-endian; characters outside the
/// BMP are refused.
fn bmp_string(s: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    for c in pem::go_string_lossy(s).chars() {
        let Ok(unit) = u16::try_from(u32::from(c)) else {
            return Err(
                "pkcs12: string contains characters that cannot be encoded in UCS-2".into(),
            );
        };
        out.extend_from_slice(&unit.to_be_bytes());
    }
    Ok(out)
}

fn bmp_string_zero_terminated(s: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut out = bmp_string(s)?;
    out.extend_from_slice(&[0, 0]);
    Ok(out)
}

/// go-pkcs12's `decodeBMPString`, as UTF-8 (the password PBES2 and
/// PBMAC1 take).
fn decode_bmp_string(bmp: &[u8]) -> Result<Vec<u8>, Failure> {
    if !bmp.len().is_multiple_of(2) {
        return Err("pkcs12: odd-length BMP string".into());
    }
    let bmp = match bmp {
        [rest @ .., 0, 0] => rest,
        other => other,
    };
    let units: Vec<u16> = bmp
        .chunks(2)
        .map(|c| u16::from(c[0]) << 8 | u16::from(c.get(1).copied().unwrap_or(0)))
        .collect();
    Ok(char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .into_bytes())
}

// ---------------------------------------------------------------------
// Decoding (DecodeChain).

struct Decoded {
    key: PrivateKey,
    cert: Certificate,
    ca: Vec<Certificate>,
}

/// go-pkcs12's `unmarshal`: one element and nothing after it.
fn unmarshal_one(data: &[u8]) -> Result<der::Tlv<'_>, Failure> {
    let mut r = der::Reader::new(data);
    let tlv = r.read()?;
    if !r.is_empty() {
        return Err("pkcs12: trailing data found".into());
    }
    Ok(tlv)
}

fn expect_one(data: &[u8], tag: u8) -> Result<&[u8], Failure> {
    let tlv = unmarshal_one(data)?;
    if tlv.tag != tag {
        return Err(der::structure("tags don't match").into());
    }
    Ok(tlv.content)
}

/// An AlgorithmIdentifier: the OID and the parameters' element.
fn algorithm(content: &[u8]) -> Result<(&[u8], Option<der::Tlv<'_>>), Failure> {
    let mut r = der::Reader::new(content);
    let oid = r.expect(der::OID)?;
    let params = if r.is_empty() { None } else { Some(r.read()?) };
    Ok((oid, params))
}

struct Bag<'a> {
    id: &'a [u8],
    /// The element inside the bag's `[0]`.
    value: &'a [u8],
}

/// go-pkcs12's `DecodeChain`.
fn decode_chain(pfx: &[u8], password: &[u8]) -> Result<Decoded, Failure> {
    let encoded = bmp_string_zero_terminated(password)?;
    let mut safe_contents = Vec::new();
    let password = get_safe_contents(pfx, encoded, 1, 2, &mut safe_contents)?;
    let mut bags = Vec::new();
    for data in &safe_contents {
        parse_safe_contents(data, &mut bags)?;
    }
    let mut key = None;
    let mut cert = None;
    let mut ca = Vec::new();
    for bag in bags {
        match bag.id {
            oid::CERT_BAG => {
                let certs = pem::parse_certificates(decode_cert_bag(bag.value)?)?;
                let [c] = <[Certificate; 1]>::try_from(certs).map_err(|_| {
                    Failure::from("pkcs12: expected exactly one certificate in the certBag")
                })?;
                if cert.is_none() {
                    cert = Some(c);
                } else {
                    ca.push(c);
                }
            }
            oid::KEY_BAG => {
                if key.is_some() {
                    return Err("pkcs12: expected exactly one key bag".into());
                }
                key = Some(pem::parse_pkcs8_private_key(bag.value)?);
            }
            oid::SHROUDED_KEY_BAG => {
                if key.is_some() {
                    return Err("pkcs12: expected exactly one key bag".into());
                }
                key = Some(decode_shrouded_key_bag(bag.value, &password)?);
            }
            _ => {}
        }
    }
    let Some(cert) = cert else {
        return Err("pkcs12: certificate missing".into());
    };
    let Some(key) = key else {
        return Err("pkcs12: private key missing".into());
    };
    Ok(Decoded { key, cert, ca })
}

/// go-pkcs12's `getSafeContents`: checks the MAC and decrypts the
/// authenticated safe's contents into `out`; returns the password that
/// verified (an empty password is tried as no bytes at all too).
fn get_safe_contents(
    pfx: &[u8],
    password: Vec<u8>,
    min: usize,
    max: usize,
    out: &mut Vec<Vec<u8>>,
) -> Result<Vec<u8>, Failure> {
    let reading = |e: Failure| match e {
        Failure::Error(e) => Failure::Error(format!("pkcs12: error reading P12 data: {e}")),
        p => p,
    };
    let outer = expect_one(pfx, der::SEQUENCE).map_err(reading)?;
    let mut r = der::Reader::new(outer);
    let version = der::int(
        r.expect(der::INTEGER)
            .map_err(Failure::from)
            .map_err(reading)?,
    )
    .map_err(Failure::from)
    .map_err(reading)?;
    let auth_safe = r
        .expect(der::SEQUENCE)
        .map_err(Failure::from)
        .map_err(reading)?;
    let mac_data = r
        .optional(der::SEQUENCE)
        .map_err(Failure::from)
        .map_err(reading)?;
    if version != 3 {
        return Err("pkcs12: can only decode v3 PFX PDU's".into());
    }
    let mut ci = der::Reader::new(auth_safe);
    let content_type = ci.expect(der::OID)?;
    let content = ci.optional(der::context(0, true))?.unwrap_or_default();
    if content_type != oid::DATA {
        return Err("pkcs12: only password-protected PFX is implemented".into());
    }
    // The [0]'s element (an OCTET STRING) holds the authenticated safe.
    let content = unmarshal_one(content)?.content;

    let mut password = password;
    match mac_data {
        None => {
            if password != [0, 0] {
                return Err("pkcs12: no MAC in data".into());
            }
        }
        Some(mac_data) => match verify_mac(mac_data, content, &password) {
            Ok(()) => {}
            Err(Failure::Error(e)) if e == INCORRECT_PASSWORD && password == [0, 0] => {
                // Some writers use no bytes at all for an empty password.
                password = Vec::new();
                verify_mac(mac_data, content, &password)?;
            }
            Err(e) => return Err(e),
        },
    }

    let mut safe = der::Reader::new(expect_one(content, der::SEQUENCE)?);
    let mut infos = Vec::new();
    while !safe.is_empty() {
        infos.push(safe.expect(der::SEQUENCE)?);
    }
    if infos.len() < min || infos.len() > max {
        return Err(Failure::Error(if min == max {
            format!(
                "pkcs12: expected exactly {min} items in the authenticated safe, but this file has {}",
                infos.len()
            )
        } else {
            format!(
                "pkcs12: expected between {min} and {max} items in the authenticated safe, but this file has {}",
                infos.len()
            )
        }));
    }
    for info in infos {
        let mut ci = der::Reader::new(info);
        let content_type = ci.expect(der::OID)?;
        let content = ci.optional(der::context(0, true))?.unwrap_or_default();
        let data = match content_type {
            oid::DATA => expect_one(content, der::OCTET_STRING)?.to_vec(),
            oid::ENCRYPTED_DATA => {
                let mut ed = der::Reader::new(expect_one(content, der::SEQUENCE)?);
                let version = der::int(ed.expect(der::INTEGER)?)?;
                let mut eci = der::Reader::new(ed.expect(der::SEQUENCE)?);
                eci.expect(der::OID)?;
                let algo = eci.expect(der::SEQUENCE)?;
                let encrypted = eci.optional(der::context(0, false))?.unwrap_or_default();
                if version != 0 {
                    return Err("pkcs12: only version 0 of EncryptedData is supported".into());
                }
                pb_decrypt(algo, encrypted, &password)?
            }
            _ => {
                return Err(
                    "pkcs12: only data and encryptedData content types are supported in authenticated safe"
                        .into(),
                );
            }
        };
        out.push(data);
    }
    Ok(password)
}

/// The SafeBags of one SafeContents.
fn parse_safe_contents<'a>(data: &'a [u8], bags: &mut Vec<Bag<'a>>) -> Result<(), Failure> {
    let mut r = der::Reader::new(expect_one(data, der::SEQUENCE)?);
    while !r.is_empty() {
        let mut bag = der::Reader::new(r.expect(der::SEQUENCE)?);
        let id = bag.expect(der::OID)?;
        let value = bag.expect(der::context(0, true))?;
        if let Some(attributes) = bag.optional(der::SET)? {
            let mut attrs = der::Reader::new(attributes);
            while !attrs.is_empty() {
                let mut attr = der::Reader::new(attrs.expect(der::SEQUENCE)?);
                attr.expect(der::OID)?;
                attr.read()?;
            }
        }
        bags.push(Bag { id, value });
    }
    Ok(())
}

/// go-pkcs12's `decodeCertBag`: the DER certificate(s).
fn decode_cert_bag(value: &[u8]) -> Result<&[u8], Failure> {
    let parse = || -> Result<(&[u8], &[u8]), Failure> {
        let mut r = der::Reader::new(expect_one(value, der::SEQUENCE)?);
        let id = r.expect(der::OID)?;
        let data = expect_one(r.expect(der::context(0, true))?, der::OCTET_STRING)?;
        Ok((id, data))
    };
    let (id, data) = parse().map_err(|e| match e {
        Failure::Error(e) => Failure::Error(format!("pkcs12: error decoding cert bag: {e}")),
        p => p,
    })?;
    if id != oid::CERT_TYPE_X509 {
        return Err("pkcs12: only X509 certificates are supported in cert bags".into());
    }
    Ok(data)
}

/// go-pkcs12's `decodePkcs8ShroudedKeyBag`.
fn decode_shrouded_key_bag(value: &[u8], password: &[u8]) -> Result<PrivateKey, Failure> {
    let with = |prefix: &'static str| {
        move |e: Failure| match e {
            Failure::Error(e) => Failure::Error(format!("{prefix}{e}")),
            p => p,
        }
    };
    let (algo, encrypted) = (|| -> Result<(&[u8], &[u8]), Failure> {
        let mut r = der::Reader::new(expect_one(value, der::SEQUENCE)?);
        let algo = r.expect(der::SEQUENCE)?;
        let encrypted = r.expect(der::OCTET_STRING)?;
        Ok((algo, encrypted))
    })()
    .map_err(with("pkcs12: error decoding PKCS#8 shrouded key bag: "))?;
    let pk = pb_decrypt(algo, encrypted, password)
        .map_err(with("pkcs12: error decrypting PKCS#8 shrouded key bag: "))?;
    unmarshal_one(&pk).map_err(with("pkcs12: error unmarshaling decrypted private key: "))?;
    pem::parse_pkcs8_private_key(&pk)
        .map_err(Failure::from)
        .map_err(with("pkcs12: error parsing PKCS#8 private key: "))
}

const INCORRECT_PASSWORD: &str = "pkcs12: decryption password incorrect";
const DECRYPTION_ERROR: &str = "pkcs12: decryption error, incorrect padding";

/// go-pkcs12's `verifyMac`.
fn verify_mac(mac_data: &[u8], message: &[u8], password: &[u8]) -> Result<(), Failure> {
    let mut r = der::Reader::new(mac_data);
    let mut digest_info = der::Reader::new(r.expect(der::SEQUENCE)?);
    let (algo_oid, algo_params) = algorithm(digest_info.expect(der::SEQUENCE)?)?;
    let digest = digest_info.expect(der::OCTET_STRING)?;
    let salt = r.optional(der::OCTET_STRING)?.unwrap_or_default();
    let iterations = match r.optional(der::INTEGER)? {
        Some(i) => der::int(i)?,
        None => 1,
    };
    let expected = if algo_oid == oid::PBMAC1 {
        let utf8 = decode_bmp_string(password)?;
        pbmac1(algo_params, message, &utf8)?
    } else {
        let hash = match algo_oid {
            oid::SHA1 => Hash::Sha1,
            oid::SHA256 => Hash::Sha256,
            oid::SHA512 => Hash::Sha512,
            other => {
                return Err(Failure::Error(format!(
                    "pkcs12: MAC digest algorithm not supported: {}",
                    pem::oid_string(other)
                )));
            }
        };
        let key = hash.pkcs12_kdf(salt, password, rounds(iterations)?, 3, hash.sizes().0);
        hash.hmac(&key, message)
    };
    if expected.len() != digest.len() || !constant_eq(&expected, digest) {
        return Err(INCORRECT_PASSWORD.into());
    }
    Ok(())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// PBKDF2's parameters: salt, iterations, key length and PRF.
struct Pbkdf2Params<'a> {
    salt: &'a [u8],
    iterations: i64,
    key_length: i64,
    prf: Option<&'a [u8]>,
    salt_is_octets: bool,
}

fn pbkdf2_params(params: Option<der::Tlv<'_>>) -> Result<Pbkdf2Params<'_>, Failure> {
    let content = params.map(|p| p.content).unwrap_or_default();
    let mut r = der::Reader::new(content);
    let salt = r.read()?;
    let iterations = der::int(r.expect(der::INTEGER)?)?;
    let key_length = match r.optional(der::INTEGER)? {
        Some(k) => der::int(k)?,
        None => 0,
    };
    let prf = match r.optional(der::SEQUENCE)? {
        Some(a) => Some(algorithm(a)?.0),
        None => None,
    };
    Ok(Pbkdf2Params {
        salt: salt.content,
        iterations,
        key_length,
        prf,
        salt_is_octets: salt.tag == der::OCTET_STRING,
    })
}

fn prf_hash(prf: Option<&[u8]>, what: &str) -> Result<Hash, Failure> {
    match prf {
        Some(oid::HMAC_SHA256) => Ok(Hash::Sha256),
        Some(oid::HMAC_SHA512) => Ok(Hash::Sha512),
        Some(oid::HMAC_SHA1) | None => Ok(Hash::Sha1),
        Some(other) => Err(Failure::Error(format!(
            "pkcs12: {what} {} is not supported",
            pem::oid_string(other)
        ))),
    }
}

/// go-pkcs12's `doPBMAC1` (RFC 9579).
fn pbmac1(
    params: Option<der::Tlv<'_>>,
    message: &[u8],
    password: &[u8],
) -> Result<Vec<u8>, Failure> {
    let content = params.map(|p| p.content).unwrap_or_default();
    let parsed = (|| -> Result<_, Failure> {
        let mut r = der::Reader::new(content);
        let kdf = algorithm(r.expect(der::SEQUENCE)?)?;
        let mac = algorithm(r.expect(der::SEQUENCE)?)?.0;
        Ok((kdf, mac))
    })()
    .map_err(|e| match e {
        Failure::Error(e) => Failure::Error(format!("error decoding PBMAC1 parameters: {e}")),
        p => p,
    })?;
    let ((kdf_oid, kdf_params), mac_oid) = parsed;
    if kdf_oid != oid::PBKDF2 {
        return Err(Failure::Error(format!(
            "pkcs12: PBMAC1 KDF algorithm {} is not supported",
            pem::oid_string(kdf_oid)
        )));
    }
    let kdf = pbkdf2_params(kdf_params)?;
    if !kdf.salt_is_octets {
        return Err("pkcs12: only octet string salts are supported for PBMAC1/PBKDF2".into());
    }
    let prf = prf_hash(kdf.prf, "PBMAC1 PRF")?;
    let mac_hash = match mac_oid {
        oid::HMAC_SHA1 => Hash::Sha1,
        oid::HMAC_SHA256 => Hash::Sha256,
        oid::HMAC_SHA512 => Hash::Sha512,
        other => {
            return Err(Failure::Error(format!(
                "pkcs12: PBMAC1 MAC algorithm {} is not supported",
                pem::oid_string(other)
            )));
        }
    };
    if kdf.key_length <= 0 {
        return Err(
            "pkcs12: PBMAC1 requires explicit KeyLength parameter in PBKDF2 parameters".into(),
        );
    }
    let key_length = usize::try_from(kdf.key_length.min(1 << 16)).unwrap_or(0);
    let key = prf.pbkdf2(password, kdf.salt, rounds(kdf.iterations)?, key_length);
    Ok(mac_hash.hmac(&key, message))
}

/// The block cipher and IV an encryption AlgorithmIdentifier names.
enum Cipher {
    TripleDes(Vec<u8>),
    Rc2(Vec<u8>),
    Aes(Vec<u8>),
}

impl Cipher {
    fn block_size(&self) -> usize {
        match self {
            Cipher::Aes(_) => 16,
            _ => 8,
        }
    }
}

/// go-pkcs12's `pbeCipherFor`: the cipher with its key, and the IV.
fn pbe_cipher(algo: &[u8], password: &[u8]) -> Result<(Cipher, Vec<u8>), Failure> {
    let (algo_oid, params) = algorithm(algo)?;
    let legacy =
        |key_len: usize, make: fn(Vec<u8>) -> Cipher| -> Result<(Cipher, Vec<u8>), Failure> {
            let content = expect_one(params.map(|p| p.raw).unwrap_or_default(), der::SEQUENCE)?;
            let mut r = der::Reader::new(content);
            let salt = r.expect(der::OCTET_STRING)?;
            let iterations = rounds(der::int(r.expect(der::INTEGER)?)?)?;
            let key = Hash::Sha1.pkcs12_kdf(salt, password, iterations, 1, key_len);
            let iv = Hash::Sha1.pkcs12_kdf(salt, password, iterations, 2, 8);
            Ok((make(key), iv))
        };
    match algo_oid {
        oid::PBE_SHA_3DES => legacy(24, Cipher::TripleDes),
        oid::PBE_SHA_RC2_128 => legacy(16, Cipher::Rc2),
        oid::PBE_SHA_RC2_40 => legacy(5, Cipher::Rc2),
        oid::PBES2 => {
            // PBES2 takes the password as UTF-8 (RFC 8018), not BMP.
            let utf8 = decode_bmp_string(password)?;
            let content = expect_one(params.map(|p| p.raw).unwrap_or_default(), der::SEQUENCE)?;
            let mut r = der::Reader::new(content);
            let (kdf_oid, kdf_params) = algorithm(r.expect(der::SEQUENCE)?)?;
            let (enc_oid, enc_params) = algorithm(r.expect(der::SEQUENCE)?)?;
            if kdf_oid != oid::PBKDF2 {
                return Err(Failure::Error(format!(
                    "pkcs12: pbes2 kdf algorithm {} is not supported",
                    pem::oid_string(kdf_oid)
                )));
            }
            let kdf = pbkdf2_params(kdf_params)?;
            if !kdf.salt_is_octets {
                return Err(
                    "pkcs12: only octet string salts are supported for pbes2/pbkdf2".into(),
                );
            }
            let prf = prf_hash(kdf.prf, "pbes2 prf")?;
            let key_len = match enc_oid {
                oid::AES256_CBC => 32,
                oid::AES192_CBC => 24,
                oid::AES128_CBC => 16,
                other => {
                    return Err(Failure::Error(format!(
                        "pkcs12: pbes2 algorithm {} is not supported",
                        pem::oid_string(other)
                    )));
                }
            };
            let key = prf.pbkdf2(&utf8, kdf.salt, rounds(kdf.iterations)?, key_len);
            let iv = enc_params.map(|p| p.content.to_vec()).unwrap_or_default();
            Ok((Cipher::Aes(key), iv))
        }
        other => Err(Failure::Error(format!(
            "pkcs12: pbe algorithm {} is not supported",
            pem::oid_string(other)
        ))),
    }
}

/// go-pkcs12's `pbDecrypt`: CBC with PKCS#7 padding checked as Go does.
fn pb_decrypt(algo: &[u8], encrypted: &[u8], password: &[u8]) -> Result<Vec<u8>, Failure> {
    let (cipher, iv) = pbe_cipher(algo, password)?;
    let block_size = cipher.block_size();
    if iv.len() != block_size {
        // Go's cipher.NewCBCDecrypter panics.
        return Err(Failure::Panic(
            "cipher.NewCBCDecrypter: IV length must equal block size".into(),
        ));
    }
    if encrypted.is_empty() {
        return Err("pkcs12: empty encrypted data".into());
    }
    if !encrypted.len().is_multiple_of(block_size) {
        return Err("pkcs12: input is not a multiple of the block size".into());
    }
    let decrypted = match &cipher {
        Cipher::TripleDes(key) => cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, &iv)
            .map(|d| d.decrypt_padded_vec::<NoPadding>(encrypted)),
        Cipher::Rc2(key) => cbc::Decryptor::<rc2::Rc2>::new_from_slices(key, &iv)
            .map(|d| d.decrypt_padded_vec::<NoPadding>(encrypted)),
        Cipher::Aes(key) => match key.len() {
            16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, &iv)
                .map(|d| d.decrypt_padded_vec::<NoPadding>(encrypted)),
            24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, &iv)
                .map(|d| d.decrypt_padded_vec::<NoPadding>(encrypted)),
            _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, &iv)
                .map(|d| d.decrypt_padded_vec::<NoPadding>(encrypted)),
        },
    };
    let Ok(Ok(mut decrypted)) = decrypted else {
        return Err(DECRYPTION_ERROR.into());
    };
    let ps_len = usize::from(decrypted.last().copied().unwrap_or(0));
    if ps_len == 0 || ps_len > block_size || decrypted.len() < ps_len {
        return Err(DECRYPTION_ERROR.into());
    }
    let cut = decrypted.len() - ps_len;
    if decrypted[cut..].iter().any(|&b| usize::from(b) != ps_len) {
        return Err(DECRYPTION_ERROR.into());
    }
    decrypted.truncate(cut);
    Ok(decrypted)
}

// ---------------------------------------------------------------------
// Encoding (Modern.Encode, Modern.EncodeTrustStore).

const MODERN_ITERATIONS: u32 = 2048;
const MODERN_SALT_LEN: usize = 16;

fn random(env: &mut Env<'_>, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    (env.random)(&mut buf);
    buf
}

/// An attribute: `SEQUENCE { OID, SET { value } }`.
fn attribute(id: &[u8], value: &[u8]) -> Vec<u8> {
    der::seq(&[&der::tlv(der::OID, id), &der::tlv(der::SET, value)])
}

/// A SafeBag; its attributes a SET OF, sorted as DER (and Go) sort them.
fn safe_bag(id: &[u8], value: &[u8], attributes: &[Vec<u8>]) -> Vec<u8> {
    let mut attrs = attributes.to_vec();
    attrs.sort();
    der::seq(&[
        &der::tlv(der::OID, id),
        &der::tlv(der::context(0, true), value),
        &der::tlv(der::SET, &attrs.concat()),
    ])
}

fn cert_bag(raw: &[u8], attributes: &[Vec<u8>]) -> Vec<u8> {
    let value = der::seq(&[
        &der::tlv(der::OID, oid::CERT_TYPE_X509),
        &der::tlv(der::context(0, true), &der::tlv(der::OCTET_STRING, raw)),
    ]);
    safe_bag(oid::CERT_BAG, &value, attributes)
}

/// `data` encrypted with PBES2 (go-pkcs12's `makePBES2Parameters`, the
/// IV read after the salt, and `pbEncrypt`): the AlgorithmIdentifier and
/// the ciphertext.
fn pbes2_encrypt(
    env: &mut Env<'_>,
    salt: &[u8],
    password: &[u8],
    data: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    let iv = random(env, 16);
    let kdf_params = der::seq(&[
        &der::tlv(der::OCTET_STRING, salt),
        &der::int_of(i64::from(MODERN_ITERATIONS)),
        &der::seq(&[&der::tlv(der::OID, oid::HMAC_SHA256)]),
    ]);
    let params = der::seq(&[
        &der::seq(&[&der::tlv(der::OID, oid::PBKDF2), &kdf_params]),
        &der::seq(&[
            &der::tlv(der::OID, oid::AES256_CBC),
            &der::tlv(der::OCTET_STRING, &iv),
        ]),
    ]);
    let algorithm = der::seq(&[&der::tlv(der::OID, oid::PBES2), &params]);
    let utf8 = decode_bmp_string(password)?;
    let key = Hash::Sha256.pbkdf2(&utf8, salt, MODERN_ITERATIONS, 32);
    Ok((algorithm, aes256_cbc_encrypt(&key, &iv, data)?))
}

/// PBES2 encryption with PKCS#7 padding (go-pkcs12's `pbEncrypt`).
fn aes256_cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, Failure> {
    let pad = 16 - data.len() % 16;
    let mut padded = data.to_vec();
    padded.extend(std::iter::repeat_n(pad as u8, pad));
    cbc::Encryptor::<aes::Aes256>::new_from_slices(key, iv)
        .map(|e| e.encrypt_padded_vec::<NoPadding>(&padded))
        .map_err(|_| Failure::from("crypto/aes: invalid key size"))
}

/// go-pkcs12's `makeSafeContents` with PBES2: an encryptedData
/// ContentInfo of `bags`.
fn encrypted_safe_contents(
    env: &mut Env<'_>,
    bags: &[Vec<u8>],
    password: &[u8],
) -> Result<Vec<u8>, Failure> {
    let data = der::seq(&bags.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let salt = random(env, MODERN_SALT_LEN);
    let (algorithm, encrypted) = pbes2_encrypt(env, &salt, password, &data)?;
    let encrypted_data = der::seq(&[
        &der::int_of(0),
        &der::seq(&[
            &der::tlv(der::OID, oid::DATA),
            &algorithm,
            &der::tlv(der::context(0, false), &encrypted),
        ]),
    ]);
    Ok(der::seq(&[
        &der::tlv(der::OID, oid::ENCRYPTED_DATA),
        &der::tlv(der::context(0, true), &encrypted_data),
    ]))
}

/// The PFX around `auth_safe` (a SEQUENCE of ContentInfo) with an
/// HMAC-SHA-256 MAC (salt read last).
fn pfx(env: &mut Env<'_>, auth_safe: &[u8], password: &[u8]) -> Result<Vec<u8>, Failure> {
    let mac_salt = random(env, MODERN_SALT_LEN);
    let key = Hash::Sha256.pkcs12_kdf(&mac_salt, password, MODERN_ITERATIONS, 3, 32);
    let mac = Hash::Sha256.hmac(&key, auth_safe);
    let mac_data = der::seq(&[
        &der::seq(&[
            &der::seq(&[&der::tlv(der::OID, oid::SHA256)]),
            &der::tlv(der::OCTET_STRING, &mac),
        ]),
        &der::tlv(der::OCTET_STRING, &mac_salt),
        &der::int_of(i64::from(MODERN_ITERATIONS)),
    ]);
    Ok(der::seq(&[
        &der::int_of(3),
        &der::seq(&[
            &der::tlv(der::OID, oid::DATA),
            &der::tlv(
                der::context(0, true),
                &der::tlv(der::OCTET_STRING, auth_safe),
            ),
        ]),
        &mac_data,
    ]))
}

/// go-pkcs12's `Modern.Encode`: the certificates encrypted, the key
/// shrouded, both bags of the leaf marked with the SHA-1 of the leaf.
fn encode(
    env: &mut Env<'_>,
    key: &PrivateKey,
    cert: &Certificate,
    cas: &[Certificate],
    password: &[u8],
) -> Result<Vec<u8>, Failure> {
    let password = bmp_string_zero_terminated(password)?;
    let fingerprint = sha1_010::Sha1::digest(&cert.raw);
    let local_key_id = attribute(
        oid::LOCAL_KEY_ID,
        &der::tlv(der::OCTET_STRING, &fingerprint),
    );

    let mut cert_bags = vec![cert_bag(&cert.raw, std::slice::from_ref(&local_key_id))];
    for ca in cas {
        cert_bags.push(cert_bag(&ca.raw, &[]));
    }

    let pkcs8 = pem::marshal_pkcs8(key)
        .map_err(|e| Failure::Error(format!("pkcs12: error encoding PKCS#8 private key: {e}")))?;
    let salt = random(env, MODERN_SALT_LEN);
    let (algorithm, encrypted) = pbes2_encrypt(env, &salt, &password, &pkcs8)?;
    let shrouded = der::seq(&[&algorithm, &der::tlv(der::OCTET_STRING, &encrypted)]);
    let key_bag = safe_bag(oid::SHROUDED_KEY_BAG, &shrouded, &[local_key_id]);

    let certs_info = encrypted_safe_contents(env, &cert_bags, &password)?;
    let key_info = der::seq(&[
        &der::tlv(der::OID, oid::DATA),
        &der::tlv(
            der::context(0, true),
            &der::tlv(der::OCTET_STRING, &der::seq(&[&key_bag])),
        ),
    ]);
    let auth_safe = der::seq(&[&certs_info, &key_info]);
    pfx(env, &auth_safe, &password)
}

/// go-pkcs12's `Modern.EncodeTrustStore`: each certificate marked as a
/// Java trust anchor for any purpose, its subject as friendly name.
fn encode_trust_store(
    env: &mut Env<'_>,
    certs: &[Certificate],
    password: &[u8],
) -> Result<Vec<u8>, Failure> {
    let password = bmp_string_zero_terminated(password)?;
    let trusted = attribute(
        oid::JAVA_TRUST_STORE,
        &der::tlv(der::OID, oid::ANY_EXTENDED_KEY_USAGE),
    );
    let mut bags = Vec::new();
    for cert in certs {
        let name = name_string(&cert.subject)?;
        let bmp = bmp_string(name.as_bytes())?;
        let friendly = attribute(oid::FRIENDLY_NAME, &der::tlv(der::BMP_STRING, &bmp));
        bags.push(cert_bag(&cert.raw, &[trusted.clone(), friendly]));
    }
    let info = encrypted_safe_contents(env, &bags, &password)?;
    let auth_safe = der::seq(&[&info]);
    pfx(env, &auth_safe, &password)
}

// ---------------------------------------------------------------------
// pkix.Name.String().

/// Go's `x509` `parseASN1String`: the attribute value types a name may
/// hold.
fn asn1_string(tag: u8, value: &[u8]) -> Result<String, Failure> {
    let invalid = || Failure::from("x509: invalid RDNSequence: invalid attribute value");
    match tag {
        // T.61 read as Latin-1, as Go (and BoringSSL) do.
        der::T61_STRING => Ok(value.iter().map(|&b| char::from(b)).collect()),
        der::PRINTABLE_STRING => {
            if value.iter().all(|&b| is_printable(b, true, true)) {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err(invalid())
            }
        }
        der::UTF8_STRING => String::from_utf8(value.to_vec()).map_err(|_| invalid()),
        der::BMP_STRING => {
            let value = match value {
                [rest @ .., 0, 0] => rest,
                other => other,
            };
            if value.len() % 2 != 0 {
                return Err(invalid());
            }
            let units: Vec<u16> = value
                .chunks(2)
                .map(|c| u16::from(c[0]) << 8 | u16::from(c.get(1).copied().unwrap_or(0)))
                .collect();
            Ok(char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect())
        }
        der::IA5_STRING => {
            if value.is_ascii() {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err(invalid())
            }
        }
        der::NUMERIC_STRING => {
            if value.iter().all(|&b| b.is_ascii_digit() || b == b' ') {
                Ok(String::from_utf8_lossy(value).into_owned())
            } else {
                Err(invalid())
            }
        }
        _ => Err(invalid()),
    }
}

/// Go's `encoding/asn1` `isPrintable`.
fn is_printable(b: u8, asterisk: bool, ampersand: bool) -> bool {
    b.is_ascii_alphanumeric()
        || (b'\''..=b')').contains(&b)
        || (b'+'..=b'/').contains(&b)
        || matches!(b, b' ' | b':' | b'=' | b'?')
        || (asterisk && b == b'*')
        || (ampersand && b == b'&')
}

/// The attribute types `pkix.Name` holds in fields, with the names
/// `RDNSequence.String()` prints (2.5.4.x).
fn standard_name(id: &[u8]) -> Option<&'static str> {
    match id {
        [0x55, 0x04, 0x03] => Some("CN"),
        [0x55, 0x04, 0x05] => Some("SERIALNUMBER"),
        [0x55, 0x04, 0x06] => Some("C"),
        [0x55, 0x04, 0x07] => Some("L"),
        [0x55, 0x04, 0x08] => Some("ST"),
        [0x55, 0x04, 0x09] => Some("STREET"),
        [0x55, 0x04, 0x0a] => Some("O"),
        [0x55, 0x04, 0x0b] => Some("OU"),
        [0x55, 0x04, 0x11] => Some("POSTALCODE"),
        _ => None,
    }
}

/// One attribute as `RDNSequence.String()` prints it.
fn atv_string(id: &[u8], value: &str) -> String {
    let Some(name) = standard_name(id) else {
        // Unknown types print as `oid=#` and the hex of Go's
        // `asn1.Marshal(value)`: a PrintableString when it can be one,
        // else a UTF8String.
        let tag = if value.bytes().all(|b| is_printable(b, false, false)) {
            der::PRINTABLE_STRING
        } else {
            der::UTF8_STRING
        };
        let encoded = der::tlv(tag, value.as_bytes());
        let hex: String = encoded.iter().map(|b| format!("{b:02x}")).collect();
        return format!("{}=#{hex}", pem::oid_string(id));
    };
    let last = value.len().saturating_sub(1);
    let mut escaped = String::with_capacity(value.len());
    for (k, c) in value.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("{name}={escaped}")
}

/// Go's `pkix.Name.String()` of a certificate's raw subject: the
/// attributes without a field first (in their order), then C, ST, L,
/// STREET, POSTALCODE, O, OU (each type's values as one RDN), CN and
/// SERIALNUMBER (the last value of each); printed last RDN first.
fn name_string(subject: &[u8]) -> Result<String, Failure> {
    let mut atvs: Vec<(Vec<u8>, String)> = Vec::new();
    let mut rdns = der::Reader::new(expect_one(subject, der::SEQUENCE)?);
    while !rdns.is_empty() {
        let mut set = der::Reader::new(rdns.expect(der::SET)?);
        while !set.is_empty() {
            let mut atv = der::Reader::new(set.expect(der::SEQUENCE)?);
            let id = atv.expect(der::OID)?.to_vec();
            let value = atv.read()?;
            atvs.push((id, asn1_string(value.tag, value.content)?));
        }
    }
    // Each RDN: its attributes.
    let mut seq: Vec<Vec<(&[u8], &str)>> = Vec::new();
    for (id, v) in &atvs {
        if standard_name(id).is_none() {
            seq.push(vec![(id.as_slice(), v.as_str())]);
        }
    }
    let values_of = |tag: u8| -> Vec<(&[u8], &str)> {
        atvs.iter()
            .filter(|(id, _)| id.as_slice() == [0x55, 0x04, tag])
            .map(|(id, v)| (id.as_slice(), v.as_str()))
            .collect()
    };
    for tag in [0x06, 0x08, 0x07, 0x09, 0x11, 0x0a, 0x0b] {
        let values = values_of(tag);
        if !values.is_empty() {
            seq.push(values);
        }
    }
    for tag in [0x03, 0x05] {
        if let Some(last) = values_of(tag).pop()
            && !last.1.is_empty()
        {
            seq.push(vec![last]);
        }
    }
    Ok(seq
        .iter()
        .rev()
        .map(|rdn| {
            rdn.iter()
                .map(|(id, v)| atv_string(id, v))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(","))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::type_complexity)]

    use super::super::pem::tests::{
        CERT_DATA, FOO_CRT, INTERMEDIATE_CRT, KEY_DATA, OTHER_CERT, ROOT_CRT, s, spki,
    };
    use super::*;

    const CONTENT_NO_PASS: &str = include_str!("../../tests/data/eso/pkcs12ContentNoPass.b64");
    const CONTENT_WITH_PASS: &str = include_str!("../../tests/data/eso/pkcs12ContentWithPass.b64");
    const EXPECTED_PFX: &str = include_str!("../../tests/data/eso/expectedPfx.b64");
    const EXPECTED_PFX_CA: &str = include_str!("../../tests/data/eso/expectedPfxCa.b64");
    const EXPECTED_PFX_CAS: &str = include_str!("../../tests/data/eso/expectedPfxCAs.b64");
    const FOO_NOPASS: &[u8] = include_bytes!("../../tests/data/eso/foo-nopass.pfx");
    const FOO_WITHPASS_1234: &[u8] = include_bytes!("../../tests/data/eso/foo-withpass-1234.pfx");
    const FOO_MULTIBAG: &[u8] = include_bytes!("../../tests/data/eso/foo-multibag-nopass.pfx");
    const FOO_DISJUNCT: &[u8] = include_bytes!("../../tests/data/eso/foo-disjunct-nopass.pfx");
    const DISJUNCT_ROOT_CRT: &str = include_str!("../../tests/data/eso/disjunct-root-ca.crt");
    const FOO_KEY: &str = include_str!("../../tests/data/eso/foo.key");

    fn b64(text: &str) -> Vec<u8> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .unwrap()
    }

    /// ESO's `MockRandomReader`: every read copies `"0123456789"` (with
    /// its quotes) into a fresh zeroed buffer.
    fn call_mock(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        let mut random = |buf: &mut [u8]| {
            let src = b"\"0123456789\"";
            let n = src.len().min(buf.len());
            buf[..n].copy_from_slice(&src[..n]);
        };
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        (r.get(name).unwrap().body)(&mut env, args)
    }

    /// A random source that fills with a counter, for round trips.
    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        let mut n = 0u8;
        let mut random = |buf: &mut [u8]| {
            for b in buf.iter_mut() {
                n = n.wrapping_add(1);
                *b = n;
            }
        };
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        (r.get(name).unwrap().body)(&mut env, args)
    }

    fn text(v: Result<Value, FuncError>) -> String {
        String::from_utf8(v.unwrap().as_str().unwrap().as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn pem_to_pkcs12_is_gos_bytes() {
        // ESO: pkcs12_test.go TestPemToPkcs12.
        let out = call_mock(
            "pemToPkcs12Pass",
            vec![s(CERT_DATA), s(KEY_DATA), s("password")],
        );
        assert_eq!(text(out), EXPECTED_PFX);
    }

    #[test]
    fn full_pem_to_pkcs12_is_gos_bytes() {
        // ESO: pkcs12_test.go TestFullPemToPkcs12.
        let out = call_mock(
            "fullPemToPkcs12Pass",
            vec![
                s(&format!("{CERT_DATA}\n{OTHER_CERT}")),
                s(KEY_DATA),
                s("password"),
            ],
        );
        assert_eq!(text(out), EXPECTED_PFX_CA);
    }

    #[test]
    fn pem_truststore_to_pkcs12_is_gos_bytes() {
        // ESO: pkcs12_test.go TestPemTruststoreToPKCS12.
        let out = call_mock(
            "pemTruststoreToPKCS12Pass",
            vec![s(&format!("{CERT_DATA}\n{OTHER_CERT}")), s("password")],
        );
        assert_eq!(text(out), EXPECTED_PFX_CAS);
    }

    #[test]
    fn base64_pkcs12_extract() {
        // ESO: template_test.go TestExecute "base64 pkcs12 extract".
        let pfx = Value::str(b64(CONTENT_NO_PASS));
        assert_eq!(text(call("pkcs12key", vec![pfx.clone()])), KEY_DATA);
        assert_eq!(text(call("pkcs12cert", vec![pfx])), CERT_DATA);
    }

    #[test]
    fn base64_pkcs12_extract_with_password() {
        // ESO: template_test.go TestExecute "base64 pkcs12 extract with
        // password".
        let pfx = Value::str(b64(CONTENT_WITH_PASS));
        assert_eq!(
            text(call("pkcs12keyPass", vec![s("123456"), pfx.clone()])),
            KEY_DATA
        );
        assert_eq!(
            text(call("pkcs12certPass", vec![s("123456"), pfx])),
            CERT_DATA
        );
    }

    #[test]
    fn wrong_password() {
        // ESO: template_test.go TestExecute "pkcs12 key wrong password" and
        // "pkcs12 cert wrong password".
        let pfx = Value::str(b64(CONTENT_WITH_PASS));
        assert_eq!(
            call("pkcs12keyPass", vec![s("wrong"), pfx.clone()]).unwrap_err(),
            FuncError::new(
                "unable to decode pkcs12 with password: pkcs12: decryption password incorrect"
            )
        );
        assert_eq!(
            call("pkcs12certPass", vec![s("wrong"), pfx]).unwrap_err(),
            FuncError::new(
                "unable to decode pkcs12 certificate with password: pkcs12: decryption password incorrect"
            )
        );
    }

    #[test]
    fn pkcs12_cert_pass_orders_the_chain() {
        // ESO: template_test.go TestPkcs12certPass.
        let cases: Vec<(&str, &str, &[u8], Option<Vec<&str>>)> = vec![
            (
                "read file without password",
                "",
                FOO_NOPASS,
                Some(vec![FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT]),
            ),
            (
                "read file with password",
                "1234",
                FOO_WITHPASS_1234,
                Some(vec![FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT]),
            ),
            (
                "read multibag cert chain",
                "",
                FOO_MULTIBAG,
                Some(vec![FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT]),
            ),
            (
                "read disjunct cert chain",
                "",
                FOO_DISJUNCT,
                Some(vec![FOO_CRT, ROOT_CRT, INTERMEDIATE_CRT, DISJUNCT_ROOT_CRT]),
            ),
            (
                "read file wrong password",
                "wrongpass",
                FOO_WITHPASS_1234,
                None,
            ),
        ];
        for (name, pass, pfx, want) in cases {
            let got = call("pkcs12certPass", vec![s(pass), Value::str(pfx)]);
            match want {
                Some(want) => assert_eq!(text(got), want.concat(), "{name}"),
                None => assert!(got.is_err(), "{name}"),
            }
        }
    }

    #[test]
    fn documented_tls_template_gives_a_matching_key_and_ordered_chain() {
        // ESO's documented template for a TLS Secret from a PFX:
        // tls.crt: {{ .cert | b64dec | pkcs12cert }}
        // tls.key: {{ .cert | b64dec | pkcs12key }}
        let pfx = Value::str(FOO_NOPASS);
        let crt = text(call("pkcs12cert", vec![pfx.clone()]));
        let key = text(call("pkcs12key", vec![pfx]));
        assert_eq!(crt, [FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT].concat());
        let (block, _) = pem::decode(key.as_bytes());
        let block = block.unwrap();
        assert_eq!(block.typ, b"PRIVATE KEY");
        let key = pem::parse_pkcs8_private_key(&block.bytes).unwrap();
        let (leaf, _) = pem::decode(crt.as_bytes());
        assert_eq!(
            pem::marshal_pkix_public_key(&key.public().unwrap()).unwrap(),
            spki(&leaf.unwrap().bytes)
        );
        // The PFX holds foo.key: the same key, as PKCS#8.
        let (foo, _) = pem::decode(FOO_KEY.as_bytes());
        let foo = pem::parse_private_key(&foo.unwrap().bytes).unwrap();
        assert_eq!(pem::marshal_pkcs8(&foo).unwrap(), block.bytes);
    }

    #[test]
    fn written_pfx_reads_back() {
        // What pemToPkcs12 and fullPemToPkcs12 write, pkcs12key and
        // pkcs12cert read (PBES2/AES-256-CBC, HMAC-SHA-256 MAC).
        for pass in ["", "s3cret", "päss"] {
            let b64_pfx = text(call(
                "fullPemToPkcs12Pass",
                vec![
                    s(&[FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT].concat()),
                    s(FOO_KEY),
                    s(pass),
                ],
            ));
            let pfx = Value::str(b64(&b64_pfx));
            let key = text(call("pkcs12keyPass", vec![s(pass), pfx.clone()]));
            let (foo, _) = pem::decode(FOO_KEY.as_bytes());
            let foo = pem::parse_private_key(&foo.unwrap().bytes).unwrap();
            assert_eq!(
                key.as_bytes(),
                pem::encode("PRIVATE KEY", &pem::marshal_pkcs8(&foo).unwrap())
            );
            assert_eq!(
                text(call("pkcs12certPass", vec![s(pass), pfx.clone()])),
                [FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT].concat()
            );
            assert!(call("pkcs12keyPass", vec![s("other"), pfx]).is_err());
        }
        // pemToPkcs12 without a password.
        let b64_pfx = text(call("pemToPkcs12", vec![s(CERT_DATA), s(KEY_DATA)]));
        let pfx = Value::str(b64(&b64_pfx));
        assert_eq!(text(call("pkcs12key", vec![pfx.clone()])), KEY_DATA);
        assert_eq!(text(call("pkcs12cert", vec![pfx])), CERT_DATA);
        // The trust store holds the certificates, marked trusted.
        let b64_pfx = text(call(
            "pemTruststoreToPKCS12",
            vec![s(&[CERT_DATA, OTHER_CERT].concat())],
        ));
        let encoded = bmp_string_zero_terminated(b"").unwrap();
        let mut contents = Vec::new();
        get_safe_contents(&b64(&b64_pfx), encoded, 1, 1, &mut contents).unwrap();
        let mut bags = Vec::new();
        parse_safe_contents(&contents[0], &mut bags).unwrap();
        assert_eq!(bags.len(), 2);
        assert!(bags.iter().all(|b| b.id == oid::CERT_BAG));
    }

    #[test]
    fn rfc9579_pbmac1_files() {
        // go-pkcs12 v0.7.0 pkcs12_pbmac1_test.go: RFC 9579 A.1 and A.2 read
        // with "1234"; A.4's iteration count fails the MAC; A.6 lacks the
        // key length.
        for file in [
            include_str!("../../tests/data/eso/rfc9579-a1.txt"),
            include_str!("../../tests/data/eso/rfc9579-a2.txt"),
        ] {
            let pfx = Value::str(b64(file));
            let key = text(call("pkcs12keyPass", vec![s("1234"), pfx.clone()]));
            assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let cert = text(call("pkcs12certPass", vec![s("1234"), pfx]));
            assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
        }
        let a4 = Value::str(b64(include_str!("../../tests/data/eso/rfc9579-a4.txt")));
        assert_eq!(
            call("pkcs12keyPass", vec![s("1234"), a4]).unwrap_err(),
            FuncError::new(
                "unable to decode pkcs12 with password: pkcs12: decryption password incorrect"
            )
        );
        let a6 = Value::str(b64(include_str!("../../tests/data/eso/rfc9579-a6.txt")));
        assert_eq!(
            call("pkcs12keyPass", vec![s("1234"), a6]).unwrap_err(),
            FuncError::new(
                "unable to decode pkcs12 with password: pkcs12: PBMAC1 requires explicit KeyLength parameter in PBKDF2 parameters"
            )
        );
    }

    #[test]
    fn bad_input_errors() {
        assert_eq!(
            call("pkcs12key", vec![s("not a pfx")]).unwrap_err().0,
            "unable to decode pkcs12 with password: pkcs12: error reading P12 data: asn1: syntax error: data truncated"
        );
        // A nil PEM block, as Go's panic reads.
        assert_eq!(
            call("pemToPkcs12", vec![s("junk"), s(KEY_DATA)]).unwrap_err(),
            FuncError::new(NIL_DEREFERENCE)
        );
        assert_eq!(
            call("pemToPkcs12", vec![s(CERT_DATA), s("junk")]).unwrap_err(),
            FuncError::new(NIL_DEREFERENCE)
        );
        // A blank line after the last CA certificate is not a block.
        assert_eq!(
            call(
                "fullPemToPkcs12",
                vec![s(&format!("{CERT_DATA}{OTHER_CERT}\n")), s(KEY_DATA)]
            )
            .unwrap_err(),
            FuncError::new(NIL_DEREFERENCE)
        );
        assert_eq!(
            call("pemToPkcs12", vec![s(CERT_DATA), s(CERT_DATA)]).unwrap_err(),
            FuncError::new("unable to parse private key type")
        );
        assert_eq!(
            call(
                "pemToPkcs12Pass",
                vec![s(CERT_DATA), s(KEY_DATA), s("\u{1F600}")]
            )
            .unwrap_err(),
            FuncError::new("pkcs12: string contains characters that cannot be encoded in UCS-2")
        );
    }

    #[test]
    fn kdfs_match_known_values() {
        // RFC 6070's PBKDF2-HMAC-SHA1 vector.
        assert_eq!(
            Hash::Sha1.pbkdf2(b"password", b"salt", 2, 20),
            [
                0xea, 0x6c, 0x01, 0x4d, 0xc7, 0x2d, 0x6f, 0x8c, 0xcd, 0x1e, 0xd9, 0x2a, 0xce, 0x1d,
                0x41, 0xf0, 0xd8, 0xde, 0x89, 0x57
            ]
        );
        // Longer than one hash output: the I_j update runs.
        let k = Hash::Sha1.pkcs12_kdf(
            b"salt",
            &bmp_string_zero_terminated(b"pw").unwrap(),
            1,
            1,
            24,
        );
        assert_eq!(k.len(), 24);
        assert_eq!(
            k[..20],
            Hash::Sha1.pkcs12_kdf(
                b"salt",
                &bmp_string_zero_terminated(b"pw").unwrap(),
                1,
                1,
                20
            )
        );
    }

    #[test]
    fn names_print_as_go() {
        let name = |cert: &str| {
            let (b, _) = pem::decode(cert.as_bytes());
            name_string(&pem::parse_certificate(&b.unwrap().bytes).unwrap().subject).unwrap()
        };
        assert_eq!(name(CERT_DATA), "O=Acme Co");
        assert_eq!(name(OTHER_CERT), "CN=foo");
        // Escapes; unknown types in hex; fields' order.
        let subject = der::seq(&[
            &der::tlv(
                der::SET,
                &der::seq(&[
                    &der::tlv(der::OID, &[0x55, 0x04, 0x03]),
                    &der::tlv(der::UTF8_STRING, b" a,b "),
                ]),
            ),
            &der::tlv(
                der::SET,
                &der::seq(&[
                    &der::tlv(der::OID, &[0x55, 0x04, 0x06]),
                    &der::tlv(der::PRINTABLE_STRING, b"DE"),
                ]),
            ),
            &der::tlv(
                der::SET,
                &der::seq(&[
                    &der::tlv(
                        der::OID,
                        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
                    ),
                    &der::tlv(der::IA5_STRING, b"a@b"),
                ]),
            ),
        ]);
        assert_eq!(
            name_string(&subject).unwrap(),
            "CN=\\ a\\,b\\ ,C=DE,1.2.840.113549.1.9.1=#0c03614062"
        );
    }
}
