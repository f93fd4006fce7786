//! Sprig's crypto functions (`crypto.go` in ESO's vendored Sprig,
//! `runtime/template/v2/sprig/crypto.go`): digests (`sha1sum`,
//! `sha256sum`, `sha512sum`, `adler32sum`), `bcrypt`, `htpasswd`,
//! `derivePassword`, `randBytes`, `encryptAES`/`decryptAES`,
//! `genPrivateKey`, and the certificate builders (`buildCustomCert`,
//! `genCA`, `genSelfSignedCert`, `genSignedCert` and their `WithKey`
//! forms), which return Sprig's `certificate` struct as a map with `Cert`
//! and `Key`.
//!
//! Every random byte (salts, IVs, keys, serial numbers) comes from the
//! injected source and the validity period starts at the injected `now`.
//!
//! Keys are RustCrypto's (RSA, ECDSA P-256/P-384, Ed25519, DSA); the
//! certificates are assembled by rcgen with these keys as its signers, as
//! Go's `x509.CreateCertificate` would lay them out from Sprig's template
//! (CN, DNS and IP SANs, serial below 2^128, key usages, server and client
//! auth, basic constraints, SHA-256-based subject key id for CAs).
//! Limits against Go: P-224 and P-521 keys, which Go's `x509` takes, are
//! refused (rcgen has no P-521 signature on its ring backend); DSA keys
//! are generated and parsed but, as in Go, cannot make certificates; a
//! leaf certificate also carries a subject key identifier (rcgen writes one
//! whenever it writes basic constraints), which Go leaves out. Error texts
//! are Go's, less any value they would quote (an IP, a DNS name).

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyUsagePurpose, PublicKeyData, SanType,
    SignatureAlgorithm, SigningKey,
};
use sha2::Digest as _;

use super::random::{EnvRng, MAX_RANDOM_LEN};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("sha1sum", &[Param::Str], None, sha1sum);
    r.add("sha256sum", &[Param::Str], None, sha256sum);
    r.add("sha512sum", &[Param::Str], None, sha512sum);
    r.add("adler32sum", &[Param::Str], None, adler32sum);
    r.add("bcrypt", &[Param::Str], None, bcrypt);
    r.add(
        "htpasswd",
        &[Param::Str, Param::Str, Param::Str],
        None,
        htpasswd,
    );
    r.add(
        "derivePassword",
        &[Param::Int, Param::Str, Param::Str, Param::Str, Param::Str],
        None,
        derive_password,
    );
    r.add("randBytes", &[Param::Int], None, rand_bytes);
    r.add("encryptAES", &[Param::Str, Param::Str], None, encrypt_aes);
    r.add("decryptAES", &[Param::Str, Param::Str], None, decrypt_aes);
    r.add("genPrivateKey", &[Param::Str], None, gen_private_key);
    r.add(
        "buildCustomCert",
        &[Param::Str, Param::Str],
        None,
        build_custom_cert,
    );
    r.add("genCA", &[Param::Str, Param::Int], None, gen_ca);
    r.add(
        "genCAWithKey",
        &[Param::Str, Param::Int, Param::Str],
        None,
        gen_ca_with_key,
    );
    r.add(
        "genSelfSignedCert",
        &[Param::Str, Param::List, Param::List, Param::Int],
        None,
        gen_self_signed_cert,
    );
    r.add(
        "genSelfSignedCertWithKey",
        &[Param::Str, Param::List, Param::List, Param::Int, Param::Str],
        None,
        gen_self_signed_cert_with_key,
    );
    r.add(
        "genSignedCert",
        &[Param::Str, Param::List, Param::List, Param::Int, Param::Map],
        None,
        gen_signed_cert,
    );
    r.add(
        "genSignedCertWithKey",
        &[
            Param::Str,
            Param::List,
            Param::List,
            Param::Int,
            Param::Map,
            Param::Str,
        ],
        None,
        gen_signed_cert_with_key,
    );
}

fn str_arg(args: &[Value], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

fn int_arg(args: &[Value], i: usize) -> i64 {
    match args.get(i) {
        Some(Value::Int(n)) => *n,
        _ => 0,
    }
}

fn list_arg(args: &[Value], i: usize) -> &[Value] {
    match args.get(i) {
        Some(Value::List(l)) => l,
        _ => &[],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------
// Digests

fn sha1sum(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    use sha1::Digest as _;
    Ok(Value::str(hex(&sha1::Sha1::digest(str_arg(&args, 0)))))
}

fn sha256sum(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(hex(&sha2::Sha256::digest(str_arg(&args, 0)))))
}

fn sha512sum(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(hex(&sha2::Sha512::digest(str_arg(&args, 0)))))
}

/// Go's `hash/adler32.Checksum` (RFC 1950).
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that cannot overflow before the modulo.
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

fn adler32sum(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(adler32(str_arg(&args, 0)).to_string()))
}

// ---------------------------------------------------------------------
// Passwords

/// golang.org/x/crypto/bcrypt's `DefaultCost`.
const BCRYPT_COST: u32 = 10;

/// Sprig's `bcrypt`: golang.org/x/crypto/bcrypt's
/// `GenerateFromPassword(input, DefaultCost)` (`$2a$10$`, a 16-byte random
/// salt), or the failure as text, as Sprig returns it.
fn bcrypt_hash(env: &mut Env<'_>, password: &[u8]) -> String {
    if password.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .to_string();
    }
    let mut salt = [0u8; 16];
    (env.random)(&mut salt);
    // The key is the password and a NUL, as the original bcrypt takes it.
    let mut key = password.to_vec();
    key.push(0);
    key.truncate(72);
    let hash = bcrypt::bcrypt(BCRYPT_COST, salt, &key);
    let engine = bcrypt::BASE_64;
    format!(
        "$2a${BCRYPT_COST:02}${}{}",
        engine.encode(salt),
        engine.encode(&hash[..23])
    )
}

fn bcrypt(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(bcrypt_hash(env, str_arg(&args, 0))))
}

/// Sprig's `htpasswd username password hashAlgorithm`: an htpasswd line,
/// `{SHA}` + base64 SHA-1 for `sha`, bcrypt otherwise.
fn htpasswd(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let user = str_arg(&args, 0);
    let password = str_arg(&args, 1);
    let mut out = Vec::new();
    if user.contains(&b':') {
        out.extend_from_slice(b"invalid username: ");
        out.extend_from_slice(user);
        return Ok(Value::str(out));
    }
    out.extend_from_slice(user);
    out.push(b':');
    if str_arg(&args, 2) == b"sha" {
        use sha1::Digest as _;
        out.extend_from_slice(b"{SHA}");
        out.extend_from_slice(b64(&sha1::Sha1::digest(password)).as_bytes());
    } else {
        out.extend_from_slice(bcrypt_hash(env, password).as_bytes());
    }
    Ok(Value::str(out))
}

/// The Master Password algorithm's seed (Sprig's `masterPasswordSeed`).
const MASTER_PASSWORD_SEED: &[u8] = b"com.lyndir.masterpassword";

/// Sprig's `passwordTypeTemplates`.
fn password_templates(kind: &[u8]) -> Option<&'static [&'static str]> {
    Some(match kind {
        b"maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        b"long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        b"medium" => &["CvcnoCvc", "CvcCvcno"],
        b"short" => &["Cvcn"],
        b"basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        b"pin" => &["nnnn"],
        _ => return None,
    })
}

/// Sprig's `templateCharacters`.
fn template_characters(class: u8) -> &'static [u8] {
    match class {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        b'x' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => b"",
    }
}

fn be_len(buf: &mut Vec<u8>, len: usize) {
    buf.extend_from_slice(&(len as u32).to_be_bytes());
}

/// The Master Password algorithm's user key: scrypt (N=32768, r=8, p=2,
/// 64 bytes) of the password, salted with the seed and the user.
fn master_key(password: &[u8], user: &[u8]) -> Result<[u8; 64], String> {
    let mut salt = MASTER_PASSWORD_SEED.to_vec();
    be_len(&mut salt, user.len());
    salt.extend_from_slice(user);
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2).map_err(|e| e.to_string())?;
    scrypt::scrypt(password, &salt, &params, &mut key).map_err(|e| e.to_string())?;
    Ok(key)
}

/// The site's password from the user key: HMAC-SHA256 over the seed, the
/// site and the counter picks the template and each character.
fn site_password(key: &[u8; 64], templates: &[&str], site: &[u8], counter: u32) -> Vec<u8> {
    use hmac::Mac as _;
    let mut message = MASTER_PASSWORD_SEED.to_vec();
    be_len(&mut message, site.len());
    message.extend_from_slice(site);
    message.extend_from_slice(&counter.to_be_bytes());
    // The key is SHA-256's block size, so it is HMAC's key as it is.
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(key.into());
    mac.update(&message);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    template
        .bytes()
        .zip(seed.iter().skip(1))
        .map(|(class, &s)| {
            let chars = template_characters(class);
            chars[usize::from(s) % chars.len()]
        })
        .collect()
}

/// Sprig's `derivePassword counter type password user site`: the Master
/// Password algorithm.
fn derive_password(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let counter = int_arg(&args, 0);
    // Go's uint32 parameter: text/template refuses what does not fit.
    let counter = u32::try_from(counter).map_err(|_| {
        FuncError::new(if counter < 0 {
            "expected unsigned integer"
        } else {
            "counter overflows uint32"
        })
    })?;
    let kind = str_arg(&args, 1);
    let Some(templates) = password_templates(kind) else {
        let mut out = b"cannot find password template ".to_vec();
        out.extend_from_slice(kind);
        return Ok(Value::str(out));
    };
    match master_key(str_arg(&args, 2), str_arg(&args, 3)) {
        Ok(key) => Ok(Value::str(site_password(
            &key,
            templates,
            str_arg(&args, 4),
            counter,
        ))),
        Err(e) => Ok(Value::str(format!("failed to derive password: {e}"))),
    }
}

/// Sprig's `randBytes count`: `count` random bytes, base64-encoded.
fn rand_bytes(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let count = int_arg(&args, 0);
    if count < 0 {
        // Go's make([]byte, count) panics; text/template reports it.
        return Err(FuncError::new("runtime error: makeslice: len out of range"));
    }
    if count > MAX_RANDOM_LEN {
        return Err(FuncError::new(format!(
            "randBytes: length exceeds the limit of {MAX_RANDOM_LEN}"
        )));
    }
    let mut buf = vec![0u8; count as usize];
    (env.random)(&mut buf);
    Ok(Value::str(b64(&buf)))
}

// ---------------------------------------------------------------------
// Base64 and PEM as Go decodes them

/// Go's `base64.StdEncoding.DecodeString`: padding required, `\r` and `\n`
/// skipped anywhere, trailing bits ignored; the error is Go's
/// `CorruptInputError` offset.
fn go_base64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let skip_newlines = |mut si: usize| {
        while matches!(src.get(si), Some(b'\n' | b'\r')) {
            si += 1;
        }
        si
    };
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    loop {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut trailing: Option<usize> = None;
        let mut j = 0;
        while j < 4 {
            let Some(&c) = src.get(si) else {
                if j == 0 {
                    return Ok(out);
                }
                // Padding is required.
                return Err(si - j);
            };
            si += 1;
            if let Some(v) = value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(si - 1);
            }
            if j == 2 {
                // "==": the second `=` after any newlines.
                si = skip_newlines(si);
                match src.get(si) {
                    None => return Err(src.len()),
                    Some(b'=') => si += 1,
                    Some(_) => return Err(si - 1),
                }
            }
            si = skip_newlines(si);
            if si < src.len() {
                trailing = Some(si);
            }
            dlen = j;
            break;
        }
        let val = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(at) = trailing {
            return Err(at);
        }
        if dlen < 4 {
            return Ok(out);
        }
    }
}

/// A PEM block as Go's `encoding/pem.Decode` finds it.
struct PemBlock {
    kind: Vec<u8>,
    bytes: Vec<u8>,
}

/// Go's `pem.Decode` (the crate's one reading of it, ESO's PEM functions'),
/// the first block only.
fn pem_decode(data: &[u8]) -> Option<PemBlock> {
    let (block, _) = crate::eso::pem::decode(data);
    block.map(|b| PemBlock {
        kind: b.typ,
        bytes: b.bytes,
    })
}

/// Go's `pem.EncodeToMemory` (no headers), as a string.
fn pem_encode(kind: &str, der: &[u8]) -> String {
    String::from_utf8_lossy(&crate::eso::pem::encode(kind, der)).into_owned()
}

// ---------------------------------------------------------------------
// AES

/// The AES-256 key Sprig makes of a password: its bytes, zero-padded or
/// cut to 32.
fn aes_key(password: &[u8]) -> Result<aes::Aes256, FuncError> {
    use aes::cipher::KeyInit as _;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password[..n]);
    aes::Aes256::new_from_slice(&key).map_err(|_| FuncError::new("crypto/aes: invalid key size"))
}

/// Sprig's `encryptAES password plaintext`: AES-256-CBC with PKCS#7
/// padding and a random IV, base64 of IV and ciphertext; `""` stays `""`.
fn encrypt_aes(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    use aes::cipher::BlockCipherEncrypt as _;
    let plaintext = str_arg(&args, 1);
    if plaintext.is_empty() {
        return Ok(Value::str(""));
    }
    let cipher = aes_key(str_arg(&args, 0))?;
    let pad = 16 - plaintext.len() % 16;
    let mut content = plaintext.to_vec();
    content.resize(plaintext.len() + pad, pad as u8);
    let mut out = vec![0u8; 16];
    (env.random)(&mut out);
    let mut prev = aes::Block::default();
    prev.copy_from_slice(&out);
    for chunk in content.chunks(16) {
        let mut block = aes::Block::default();
        for (b, (&p, &c)) in block.iter_mut().zip(chunk.iter().zip(prev.iter())) {
            *b = p ^ c;
        }
        cipher.encrypt_block(&mut block);
        out.extend_from_slice(&block);
        prev = block;
    }
    Ok(Value::str(b64(&out)))
}

/// Sprig's `decryptAES password ciphertext`, as lax as Go's: the padding
/// is dropped by its last byte without checking it, and input Go would
/// panic on fails with the panic's text.
fn decrypt_aes(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    use aes::cipher::BlockCipherDecrypt as _;
    let crypt64 = str_arg(&args, 1);
    if crypt64.is_empty() {
        return Ok(Value::str(""));
    }
    let cipher = aes_key(str_arg(&args, 0))?;
    let crypt = go_base64_decode(crypt64)
        .map_err(|at| FuncError::new(format!("illegal base64 data at input byte {at}")))?;
    if crypt.len() < 16 {
        // Go slices crypt[:16]; the capacity is DecodedLen of the input.
        let cap = crypt64.len() / 4 * 3;
        return Err(FuncError::new(if cap < 16 {
            format!("runtime error: slice bounds out of range [:16] with capacity {cap}")
        } else {
            format!(
                "runtime error: slice bounds out of range [16:{}]",
                crypt.len()
            )
        }));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(FuncError::new("crypto/cipher: input not full blocks"));
    }
    let mut prev = aes::Block::default();
    prev.copy_from_slice(iv);
    let mut decrypted = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut block = aes::Block::default();
        block.copy_from_slice(chunk);
        let next = block;
        cipher.decrypt_block(&mut block);
        decrypted.extend(block.iter().zip(prev.iter()).map(|(&b, &p)| b ^ p));
        prev = next;
    }
    let Some(&pad) = decrypted.last() else {
        return Err(FuncError::new("runtime error: index out of range [-1]"));
    };
    let keep = decrypted.len() as i64 - i64::from(pad);
    if keep < 0 {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        )));
    }
    decrypted.truncate(keep as usize);
    Ok(Value::str(decrypted))
}

// ---------------------------------------------------------------------
// Keys

/// A private key of a kind Go's `parsePrivateKeyPEM` returns.
enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    P256(p256::SecretKey),
    P384(p384::SecretKey),
    Ed25519(ed25519_dalek::SigningKey),
    /// DSA: Go parses it, and then cannot make a certificate with it.
    Dsa,
}

/// DER helpers for the structures written by hand (OpenSSL's DSA key, the
/// PKCS#8 Ed25519 key Go writes).
fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of an unsigned big-endian number.
fn der_uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let digits = &be[skip..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    der_tlv(0x02, &content)
}

/// One DER element: its tag, content, and what follows it.
fn der_read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (content, after) = rest.split_at_checked(len)?;
    Some((tag, content, after))
}

/// The PKCS#8 prefix of an Ed25519 key as Go's `MarshalPKCS8PrivateKey`
/// writes it (version 0, id-Ed25519, the 32-byte seed in an OCTET STRING).
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// OIDs Go's key parsers recognise.
mod oid {
    use pkcs8::ObjectIdentifier;

    pub(super) const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    pub(super) const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    pub(super) const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
    pub(super) const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    pub(super) const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
    pub(super) const P224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.33");
    pub(super) const P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
}

/// Go's `x509.ParsePKCS1PrivateKey`.
fn parse_pkcs1(der: &[u8]) -> Result<Key, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    rsa::RsaPrivateKey::from_pkcs1_der(der)
        .map(|k| Key::Rsa(Box::new(k)))
        .map_err(|_| {
            if pkcs8::PrivateKeyInfo::try_from(der).is_ok() {
                "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"
            } else if sec1::EcPrivateKey::try_from(der).is_ok() {
                "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"
            } else {
                "x509: malformed private key"
            }
            .to_string()
        })
}

/// Go's `x509.ParseECPrivateKey` (with the curve named by the PKCS#8
/// wrapper, if any).
fn parse_sec1(der: &[u8], curve: Option<pkcs8::ObjectIdentifier>) -> Result<Key, String> {
    let ec = sec1::EcPrivateKey::try_from(der).map_err(|_| {
        if pkcs8::PrivateKeyInfo::try_from(der).is_ok() {
            "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"
                .to_string()
        } else {
            "x509: failed to parse EC private key".to_string()
        }
    })?;
    let curve = curve.or_else(|| ec.parameters.and_then(|p| p.named_curve()));
    let bad = |_| "x509: invalid elliptic curve private key value".to_string();
    match curve {
        Some(c) if c == oid::P256 => p256::SecretKey::from_slice(ec.private_key)
            .map(Key::P256)
            .map_err(bad),
        Some(c) if c == oid::P384 => p384::SecretKey::from_slice(ec.private_key)
            .map(Key::P384)
            .map_err(bad),
        Some(c) if c == oid::P224 || c == oid::P521 => {
            Err("x509: P-224 and P-521 keys are not supported here".to_string())
        }
        _ => Err("x509: unknown elliptic curve".to_string()),
    }
}

/// Go's `x509.ParsePKCS8PrivateKey` for the kinds that can sign.
fn parse_pkcs8(der: &[u8]) -> Result<Key, String> {
    let info = pkcs8::PrivateKeyInfo::try_from(der).map_err(|_| {
        if sec1::EcPrivateKey::try_from(der).is_ok() {
            "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)"
        } else if <rsa::RsaPrivateKey as rsa::pkcs1::DecodeRsaPrivateKey>::from_pkcs1_der(der)
            .is_ok()
        {
            "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)"
        } else {
            "x509: malformed PKCS#8 private key"
        }
        .to_string()
    })?;
    let alg = info.algorithm.oid;
    if alg == oid::RSA {
        return parse_pkcs1(info.private_key)
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}"));
    }
    if alg == oid::EC {
        let curve = info.algorithm.parameters_oid().ok();
        return parse_sec1(info.private_key, curve)
            .map_err(|e| format!("x509: failed to parse EC private key embedded in PKCS#8: {e}"));
    }
    if alg == oid::ED25519 {
        let seed = match der_read(info.private_key) {
            Some((0x04, seed, [])) => <[u8; 32]>::try_from(seed).ok(),
            _ => None,
        };
        return seed
            .map(|s| Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&s)))
            .ok_or_else(|| "x509: invalid Ed25519 private key".to_string());
    }
    Err(format!(
        "x509: PKCS#8 wrapping contained private key with unknown algorithm: {alg}"
    ))
}

/// Go's DSA private key as Sprig parses it: a SEQUENCE of six INTEGERs
/// (version, p, q, g, y, x).
fn parse_dsa(der: &[u8]) -> Result<Key, String> {
    let err = || "asn1: structure error: malformed DSA private key".to_string();
    let (tag, mut body, _) = der_read(der).ok_or_else(err)?;
    if tag != 0x30 {
        return Err(err());
    }
    for _ in 0..6 {
        let (tag, _, rest) = der_read(body).ok_or_else(err)?;
        if tag != 0x02 {
            return Err(err());
        }
        body = rest;
    }
    Ok(Key::Dsa)
}

/// Sprig's `parsePrivateKeyPEM`.
fn parse_private_key_pem(pem: &[u8]) -> Result<Key, String> {
    let block = pem_decode(pem).ok_or_else(|| "no PEM data in input".to_string())?;
    let kind = String::from_utf8_lossy(&block.kind).into_owned();
    if kind == "PRIVATE KEY" {
        return parse_pkcs8(&block.bytes).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(prefix) = kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {kind}"));
    };
    match prefix {
        "RSA" => {
            parse_pkcs1(&block.bytes).map_err(|e| format!("parsing RSA private key from PEM: {e}"))
        }
        "EC" => parse_sec1(&block.bytes, None)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
        "DSA" => {
            parse_dsa(&block.bytes).map_err(|e| format!("parsing DSA private key from PEM: {e}"))
        }
        _ => Err(format!("invalid private key type {kind}")),
    }
}

/// Sprig's `pemBlockForKey`: RSA as PKCS#1, ECDSA as SEC 1, Ed25519 as
/// PKCS#8.
fn pem_for_key(key: &Key) -> Result<String, String> {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    Ok(match key {
        Key::Rsa(k) => {
            let der = k.to_pkcs1_der().map_err(|e| e.to_string())?;
            pem_encode("RSA PRIVATE KEY", der.as_bytes())
        }
        Key::P256(k) => {
            use p256::elliptic_curve::sec1::ToEncodedPoint as _;
            let point = k.public_key().to_encoded_point(false);
            pem_encode(
                "EC PRIVATE KEY",
                &sec1_der(&k.to_bytes(), oid::P256, point.as_bytes())?,
            )
        }
        Key::P384(k) => {
            use p384::elliptic_curve::sec1::ToEncodedPoint as _;
            let point = k.public_key().to_encoded_point(false);
            pem_encode(
                "EC PRIVATE KEY",
                &sec1_der(&k.to_bytes(), oid::P384, point.as_bytes())?,
            )
        }
        Key::Ed25519(k) => {
            let mut der = ED25519_PKCS8_PREFIX.to_vec();
            der.extend_from_slice(k.as_bytes());
            pem_encode("PRIVATE KEY", &der)
        }
        Key::Dsa => {
            return Err("x509: unknown key type while marshaling PKCS#8: *dsa.PrivateKey".into());
        }
    })
}

/// Go's `x509.MarshalECPrivateKey`: SEC 1 with the curve named and the
/// uncompressed public point.
fn sec1_der(d: &[u8], curve: pkcs8::ObjectIdentifier, point: &[u8]) -> Result<Vec<u8>, String> {
    use sec1::der::Encode as _;
    sec1::EcPrivateKey {
        private_key: d,
        parameters: Some(sec1::EcParameters::NamedCurve(curve)),
        public_key: Some(point),
    }
    .to_der()
    .map_err(|e| e.to_string())
}

/// An RSA key of `bits` bits from the injected random source.
fn generate_rsa(env: &mut Env<'_>, bits: usize) -> Result<Key, String> {
    rsa::RsaPrivateKey::new(&mut EnvRng::new(env), bits)
        .map(|k| Key::Rsa(Box::new(k)))
        .map_err(|e| e.to_string())
}

/// A DSA key (L2048N256) in OpenSSL's `DSA PRIVATE KEY` form.
fn generate_dsa_pem(env: &mut Env<'_>) -> String {
    let mut rng = EnvRng::new(env);
    let components = dsa::Components::generate(&mut rng, dsa::KeySize::DSA_2048_256);
    let key = dsa::SigningKey::generate(&mut rng, components);
    let public = key.verifying_key();
    let c = public.components();
    let mut body = der_uint(&[0]);
    for n in [c.p(), c.q(), c.g(), public.y(), key.x()] {
        body.extend(der_uint(&n.to_bytes_be()));
    }
    pem_encode("DSA PRIVATE KEY", &der_tlv(0x30, &body))
}

/// Sprig's `genPrivateKey type`: `rsa` (4096 bits, also for `""`), `dsa`,
/// `ecdsa` (P-256) or `ed25519`, as PEM.
fn gen_private_key(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let kind = str_arg(&args, 0);
    let key = match kind {
        b"" | b"rsa" => generate_rsa(env, 4096),
        b"dsa" => return Ok(Value::str(generate_dsa_pem(env))),
        b"ecdsa" => Ok(Key::P256(p256::SecretKey::random(&mut EnvRng::new(env)))),
        b"ed25519" => {
            let mut seed = [0u8; 32];
            (env.random)(&mut seed);
            Ok(Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
        }
        _ => {
            let mut out = b"Unknown type ".to_vec();
            out.extend_from_slice(kind);
            return Ok(Value::str(out));
        }
    };
    let pem = key.and_then(|k| pem_for_key(&k));
    Ok(Value::str(match pem {
        Ok(pem) => pem,
        Err(e) => format!("failed to generate private key: {e}"),
    }))
}

// ---------------------------------------------------------------------
// Certificates

/// A key as rcgen's signer: its public key and Go's signature algorithm
/// for it (SHA-256 with RSA, ECDSA with the curve's hash, Ed25519).
struct KeySigner<'k> {
    key: &'k Key,
    public: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl<'k> KeySigner<'k> {
    /// The signer for `key`; DSA keys have none (Go: no `crypto.Signer`, no
    /// certificate public key).
    fn new(key: &'k Key) -> Option<Self> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        let (public, alg) = match key {
            Key::Rsa(k) => (
                k.to_public_key().to_pkcs1_der().ok()?.as_bytes().to_vec(),
                &rcgen::PKCS_RSA_SHA256,
            ),
            Key::P256(k) => (
                k.public_key().to_encoded_point(false).as_bytes().to_vec(),
                &rcgen::PKCS_ECDSA_P256_SHA256,
            ),
            Key::P384(k) => (
                k.public_key().to_encoded_point(false).as_bytes().to_vec(),
                &rcgen::PKCS_ECDSA_P384_SHA384,
            ),
            Key::Ed25519(k) => (k.verifying_key().to_bytes().to_vec(), &rcgen::PKCS_ED25519),
            Key::Dsa => return None,
        };
        Some(KeySigner { key, public, alg })
    }
}

impl PublicKeyData for KeySigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

impl SigningKey for KeySigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use ed25519_dalek::Signer as _;
        use p256::ecdsa::signature::SignatureEncoding as _;
        let failed = |_| rcgen::Error::RemoteKeyError;
        match self.key {
            Key::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
                let sig: rsa::pkcs1v15::Signature = signer.try_sign(msg).map_err(failed)?;
                Ok(sig.to_vec())
            }
            Key::P256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(k)
                    .try_sign(msg)
                    .map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Key::P384(k) => {
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k)
                    .try_sign(msg)
                    .map_err(failed)?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Key::Ed25519(k) => Ok(k.sign(msg).to_bytes().to_vec()),
            Key::Dsa => Err(rcgen::Error::RemoteKeyError),
        }
    }
}

/// Sprig's `getBaseCertTemplate`, what varies of it.
struct CertSpec {
    cn: String,
    ips: Vec<IpAddr>,
    dns: Vec<String>,
    serial: [u8; 16],
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
    is_ca: bool,
}

/// Go's `net.ParseIP` for the SAN list, IPv4-mapped addresses written as
/// IPv4 as Go's `x509` does.
fn parse_ip(s: &[u8]) -> Option<IpAddr> {
    let ip: IpAddr = std::str::from_utf8(s).ok()?.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// Sprig's `getBaseCertTemplate(cn, ips, alternateDNS, daysValid)`.
fn base_cert_template(
    env: &mut Env<'_>,
    cn: &[u8],
    ips: &[Value],
    dns: &[Value],
    days: i64,
) -> Result<CertSpec, FuncError> {
    let ips =
        ips.iter()
            .map(|ip| match ip {
                Value::Str(s) => parse_ip(s.as_bytes())
                    .ok_or_else(|| FuncError::new("error parsing ip: invalid")),
                _ => Err(FuncError::new("error parsing ip: not a string")),
            })
            .collect::<Result<Vec<_>, _>>()?;
    let dns = dns
        .iter()
        .map(|d| match d {
            Value::Str(s) => Ok(s.to_str_lossy().into_owned()),
            _ => Err(FuncError::new(
                "error processing alternate dns name: not a string",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // crypto/rand.Int(rand.Reader, 2^128): sixteen random bytes.
    let mut serial = [0u8; 16];
    (env.random)(&mut serial);
    // Go: time.Now().Add(time.Hour * 24 * time.Duration(daysValid)), the
    // product wrapping as Go's int64 does.
    let validity = 86_400_000_000_000i64.wrapping_mul(days);
    // x509 writes the times in UTC.
    let out_of_range = || FuncError::new("error creating certificate: validity out of range");
    let not_before = env
        .now
        .checked_to_offset(time::UtcOffset::UTC)
        .ok_or_else(out_of_range)?;
    let not_after = not_before
        .checked_add(time::Duration::nanoseconds(validity))
        .ok_or_else(out_of_range)?;
    let cn = std::str::from_utf8(cn)
        .map_err(|_| FuncError::new("error creating certificate: asn1: string not valid UTF-8"))?
        .to_string();
    Ok(CertSpec {
        cn,
        ips,
        dns,
        serial,
        not_before,
        not_after,
        is_ca: false,
    })
}

/// The issuer of a certificate: the template itself, or a parsed CA.
enum Parent<'a> {
    SelfSigned,
    Ca { der: &'a [u8] },
}

/// Go's `asn1` choice for a string: PrintableString when every character
/// is in its set (without `*` and `&`), else UTF8String.
fn dn_value(s: &str) -> DnValue {
    match rcgen::string::PrintableString::try_from(s) {
        Ok(p) => DnValue::PrintableString(p),
        Err(_) => DnValue::Utf8String(s.to_string()),
    }
}

/// Whether a CA's subject is exactly `CN=cn` (Go writes an AKI only when
/// issuer and subject differ).
fn subject_is(ca: &x509_parser::certificate::X509Certificate<'_>, cn: &str) -> bool {
    let subject = ca.subject();
    let attrs: Vec<_> = subject.iter_attributes().collect();
    match attrs.as_slice() {
        [] => cn.is_empty(),
        [a] => {
            a.attr_type() == &x509_parser::oid_registry::OID_X509_COMMON_NAME
                && a.as_str().ok() == Some(cn)
        }
        _ => false,
    }
}

fn create_error(e: impl std::fmt::Display) -> FuncError {
    FuncError::new(format!("error creating certificate: {e}"))
}

/// Sprig's `getCertAndKey`: Go's `x509.CreateCertificate` from the template
/// over `signee`'s public key, signed by `signing` (the template itself or
/// `parent`), both PEM-encoded.
fn cert_and_key(
    spec: &CertSpec,
    signee: &Key,
    parent: Parent<'_>,
    signing: &Key,
) -> Result<Value, FuncError> {
    let signer = KeySigner::new(signing).ok_or_else(|| {
        create_error("x509: certificate private key does not implement crypto.Signer")
    })?;
    let public = KeySigner::new(signee)
        .ok_or_else(|| create_error("x509: unsupported public key type: *dsa.PublicKey"))?;
    if let Key::Rsa(k) = signing {
        use rsa::traits::PublicKeyParts as _;
        // Go 1.24 and later refuse to sign with RSA keys under 1024 bits.
        let bits = k.n().bits();
        if bits < 1024 {
            return Err(create_error(format!(
                "crypto/rsa: {bits}-bit keys are insecure \
                 (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
            )));
        }
    }

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if !spec.cn.is_empty() {
        dn.push(DnType::CommonName, dn_value(&spec.cn));
    }
    params.distinguished_name = dn;
    params.serial_number = Some(spec.serial.to_vec().into());
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    let mut sans = Vec::with_capacity(spec.dns.len() + spec.ips.len());
    for name in &spec.dns {
        let name = rcgen::string::Ia5String::try_from(name.as_str())
            .map_err(|_| create_error("x509: a DNS name cannot be encoded as an IA5String"))?;
        sans.push(SanType::DnsName(name));
    }
    sans.extend(spec.ips.iter().map(|&ip| SanType::IpAddress(ip)));
    params.subject_alt_names = sans;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    if spec.is_ca {
        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    } else {
        params.is_ca = IsCa::ExplicitNoCa;
    }
    // Go 1.25 and later: the first 160 bits of SHA-256 of the public key.
    params.key_identifier_method =
        KeyIdMethod::PreSpecified(sha2::Sha256::digest(&public.public)[..20].to_vec());

    let cert = match parent {
        Parent::SelfSigned => params.self_signed(&signer).map_err(create_error)?,
        Parent::Ca { der } => {
            let (_, ca) = x509_parser::parse_x509_certificate(der)
                .map_err(|_| create_error("x509: malformed certificate"))?;
            let ca_key = ca.public_key();
            if ca_key.subject_public_key.data.as_ref() != signer.public.as_slice() {
                return Err(create_error(
                    "x509: provided PrivateKey doesn't match parent's PublicKey",
                ));
            }
            let has_ski = ca.iter_extensions().any(|e| {
                matches!(
                    e.parsed_extension(),
                    x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(_)
                )
            });
            params.use_authority_key_identifier_extension = has_ski && !subject_is(&ca, &spec.cn);
            let issuer = Issuer::from_ca_cert_der(&der.into(), &signer)
                .map_err(|_| create_error("x509: unsupported issuer name"))?;
            params.signed_by(&public, &issuer).map_err(create_error)?
        }
    };
    let key_pem =
        pem_for_key(signee).map_err(|e| FuncError::new(format!("error pem-encoding key: {e}")))?;
    Ok(certificate(pem_encode("CERTIFICATE", cert.der()), key_pem))
}

/// Sprig's `certificate{Cert, Key}` as a map.
fn certificate(cert: impl Into<crate::value::Str>, key: impl Into<crate::value::Str>) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Cert".to_string(), Value::Str(cert.into()));
    m.insert("Key".to_string(), Value::Str(key.into()));
    Value::map(m)
}

/// Go's `x509.ParseCertificate`, for validation.
fn parse_certificate(der: &[u8]) -> Result<(), String> {
    match x509_parser::parse_x509_certificate(der) {
        Ok(([], _)) => Ok(()),
        Ok(_) => Err("x509: trailing data".to_string()),
        Err(_) => Err("x509: malformed certificate".to_string()),
    }
}

/// Sprig's `buildCustomCert base64Cert base64Key`: the pair, checked to be
/// a PEM certificate and a PEM private key.
fn build_custom_cert(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let cert = go_base64_decode(str_arg(&args, 0))
        .map_err(|_| FuncError::new("unable to decode base64 certificate"))?;
    let key = go_base64_decode(str_arg(&args, 1))
        .map_err(|_| FuncError::new("unable to decode base64 private key"))?;
    let block = pem_decode(&cert).ok_or_else(|| FuncError::new("unable to decode certificate"))?;
    parse_certificate(&block.bytes).map_err(|e| {
        FuncError::new(format!("error parsing certificate: decodedCert.Bytes: {e}"))
    })?;
    parse_private_key_pem(&key)
        .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
    Ok(certificate(cert, key))
}

fn generated_rsa_2048(env: &mut Env<'_>) -> Result<Key, FuncError> {
    generate_rsa(env, 2048).map_err(|e| FuncError::new(format!("error generating rsa key: {e}")))
}

fn key_from_pem(pem: &[u8]) -> Result<Key, FuncError> {
    parse_private_key_pem(pem).map_err(|e| FuncError::new(format!("parsing private key: {e}")))
}

/// Sprig's `generateCertificateAuthorityWithKeyInternal`.
fn ca_with_key(env: &mut Env<'_>, args: &[Value], key: &Key) -> Result<Value, FuncError> {
    let mut spec = base_cert_template(env, str_arg(args, 0), &[], &[], int_arg(args, 1))?;
    spec.is_ca = true;
    cert_and_key(&spec, key, Parent::SelfSigned, key)
}

/// `genCA cn days`: a self-signed CA over a new 2048-bit RSA key.
fn gen_ca(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = generated_rsa_2048(env)?;
    ca_with_key(env, &args, &key)
}

/// `genCAWithKey cn days key`: a self-signed CA over a PEM key.
fn gen_ca_with_key(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = key_from_pem(str_arg(&args, 2))?;
    ca_with_key(env, &args, &key)
}

/// Sprig's `generateSelfSignedCertificateWithKeyInternal`.
fn self_signed_with_key(env: &mut Env<'_>, args: &[Value], key: &Key) -> Result<Value, FuncError> {
    let spec = base_cert_template(
        env,
        str_arg(args, 0),
        list_arg(args, 1),
        list_arg(args, 2),
        int_arg(args, 3),
    )?;
    cert_and_key(&spec, key, Parent::SelfSigned, key)
}

/// `genSelfSignedCert cn ips dns days`.
fn gen_self_signed_cert(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = generated_rsa_2048(env)?;
    self_signed_with_key(env, &args, &key)
}

/// `genSelfSignedCertWithKey cn ips dns days key`.
fn gen_self_signed_cert_with_key(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = key_from_pem(str_arg(&args, 4))?;
    self_signed_with_key(env, &args, &key)
}

/// Sprig's `generateSignedCertificateWithKeyInternal`: the CA is a
/// `certificate` map (`Cert`, `Key`).
fn signed_with_key(env: &mut Env<'_>, args: &[Value], key: &Key) -> Result<Value, FuncError> {
    let ca_field = |name: &str| -> &[u8] {
        match args.get(4) {
            Some(Value::Map(m)) => match m.get(name) {
                Some(Value::Str(s)) => s.as_bytes(),
                _ => &[],
            },
            _ => &[],
        }
    };
    let block = pem_decode(ca_field("Cert"))
        .ok_or_else(|| FuncError::new("unable to decode certificate"))?;
    parse_certificate(&block.bytes).map_err(|e| {
        FuncError::new(format!(
            "error parsing certificate: decodedSignerCert.Bytes: {e}"
        ))
    })?;
    let signer_key = parse_private_key_pem(ca_field("Key"))
        .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
    let spec = base_cert_template(
        env,
        str_arg(args, 0),
        list_arg(args, 1),
        list_arg(args, 2),
        int_arg(args, 3),
    )?;
    cert_and_key(&spec, key, Parent::Ca { der: &block.bytes }, &signer_key)
}

/// `genSignedCert cn ips dns days ca`.
fn gen_signed_cert(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = generated_rsa_2048(env)?;
    signed_with_key(env, &args, &key)
}

/// `genSignedCertWithKey cn ips dns days ca key`.
fn gen_signed_cert_with_key(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = key_from_pem(str_arg(&args, 5))?;
    signed_with_key(env, &args, &key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::random::testing::{fixed_now, with_env, with_script};
    use super::*;

    fn call(env: &mut Env<'_>, name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        (r.get(name).unwrap().body)(env, args)
    }

    fn call0(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        with_env(0, |env| call(env, name, args))
    }

    fn text(v: Value) -> String {
        String::from_utf8(v.to_go_string()).unwrap()
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn unhex(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    fn field(v: &Value, key: &str) -> String {
        match v {
            Value::Map(m) => String::from_utf8(m[key].to_go_string()).unwrap(),
            _ => panic!("not a certificate"),
        }
    }

    // Sprig crypto_test.go TestSha512Sum, TestSha256Sum, TestSha1Sum,
    // TestAdler32Sum; and adler32 over a longer input.
    #[test]
    fn digests() {
        for (f, input, want) in [
            (
                "sha512sum",
                "abc",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            ),
            (
                "sha256sum",
                "abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            ("sha1sum", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("adler32sum", "abc", "38600999"),
            ("adler32sum", "Wikipedia", "300286872"),
        ] {
            assert_eq!(text(call0(f, vec![s(input)]).unwrap()), want, "{f}");
        }
        let long = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &long {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(u64::from(adler32(&long)), (b << 16) | a);
    }

    // ESO template_test.go "hexdec": `{{ .example | sha256sum | hexdec |
    // b64enc }}` of "example".
    #[test]
    fn eso_hexdec() {
        let hex = text(call0("sha256sum", vec![s("example")]).unwrap());
        assert_eq!(
            b64(&unhex(&hex)),
            "UNhY4JhezH9gQYqvDMWrWH9CwlcKiECVqejMrND2VFw="
        );
    }

    /// Checks a `$2a$` hash against a password by recomputing it with the
    /// salt the hash carries.
    fn bcrypt_matches(hash: &str, password: &[u8]) -> bool {
        let Some(rest) = hash.strip_prefix("$2a$10$") else {
            return false;
        };
        let (salt, digest) = rest.split_at(22);
        let salt: [u8; 16] = bcrypt::BASE_64.decode(salt).unwrap().try_into().unwrap();
        let mut key = password.to_vec();
        key.push(0);
        key.truncate(72);
        bcrypt::BASE_64.encode(&bcrypt::bcrypt(10, salt, &key)[..23]) == digest
    }

    // golang.org/x/crypto/bcrypt's known vector (TestBcryptingIsCorrect)
    // and OpenBSD's, with their salts as the random bytes.
    #[test]
    fn bcrypt_known_vectors() {
        for (password, hash) in [
            (
                "allmine",
                "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga",
            ),
            (
                "abc",
                "$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi",
            ),
        ] {
            let salt = bcrypt::BASE_64.decode(&hash[7..29]).unwrap();
            let got = with_script(&salt, |env| {
                text(call(env, "bcrypt", vec![s(password)]).unwrap())
            });
            assert_eq!(got, hash);
        }
    }

    // Sprig crypto_test.go TestBcrypt, and x/crypto's length limit.
    #[test]
    fn bcrypt_hashes_verify() {
        let out = text(call0("bcrypt", vec![s("abc")]).unwrap());
        assert_eq!(out.len(), 60);
        assert!(bcrypt_matches(&out, b"abc"));
        assert!(!bcrypt_matches(&out, b"abd"));
        let long = "x".repeat(73);
        assert_eq!(
            text(call0("bcrypt", vec![s(&long)]).unwrap()),
            "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
        );
    }

    // Sprig crypto_test.go TestHtpasswd and ESO template_test.go
    // "htpasswd with sha1".
    #[test]
    fn htpasswd() {
        assert_eq!(
            text(
                call0(
                    "htpasswd",
                    vec![s("foo1"), s("FZ4jR;l]ON;pHKi=_'zh79P"), s("sha")]
                )
                .unwrap()
            ),
            "foo1:{SHA}wtdJD6OIjUniEJkTlewnKzfFxA4="
        );
        for (user, password, algorithm, valid) in [
            ("myUser", "myPassword", "bcrypt", true),
            (
                "special'o79Cv_*qFe,)<user",
                "special<j7+3p#6-.Jx2U:m8G;kGypassword",
                "bcrypt",
                true,
            ),
            ("wrongus:er", "doesn'tmatter", "bcrypt", false),
            ("mySahUser", "myShaPassword", "sha", true),
            ("myDefaultUser", "defaulthashpass", "", true),
        ] {
            let out = text(call0("htpasswd", vec![s(user), s(password), s(algorithm)]).unwrap());
            if !valid {
                assert_eq!(out, format!("invalid username: {user}"));
                continue;
            }
            let (got_user, hash) = out.split_once(':').unwrap();
            assert_eq!(got_user, user);
            if algorithm == "sha" {
                use sha1::Digest as _;
                assert_eq!(
                    hash.strip_prefix("{SHA}").unwrap(),
                    b64(&sha1::Sha1::digest(password.as_bytes()))
                );
            } else {
                assert!(bcrypt_matches(hash, password.as_bytes()), "{user}");
            }
        }
    }

    // Sprig crypto_test.go TestDerivePassword. The first case runs the
    // whole function; the others share its scrypt key (password "password",
    // user "user"), computed once, as scrypt is slow in a debug build.
    #[test]
    fn derive_password() {
        let got = call0(
            "derivePassword",
            vec![
                Value::Int(1),
                s("long"),
                s("password"),
                s("user"),
                s("example.com"),
            ],
        )
        .unwrap();
        assert_eq!(text(got), "ZedaFaxcZaso9*");
        let key = master_key(b"password", b"user").unwrap();
        for (counter, kind, want) in [
            (1, "long", "ZedaFaxcZaso9*"),
            (2, "long", "Fovi2@JifpTupx"),
            (1, "maximum", "pf4zS1LjCg&LjhsZ7T2~"),
            (1, "medium", "ZedJuz8$"),
            (1, "basic", "pIS54PLs"),
            (1, "short", "Zed5"),
            (1, "pin", "6685"),
        ] {
            let templates = password_templates(kind.as_bytes()).unwrap();
            let got = site_password(&key, templates, b"example.com", counter);
            assert_eq!(String::from_utf8(got).unwrap(), want, "{counter} {kind}");
        }
        let args = |counter, kind| vec![Value::Int(counter), s(kind), s("p"), s("u"), s("s")];
        assert_eq!(
            text(call0("derivePassword", args(1, "bogus")).unwrap()),
            "cannot find password template bogus"
        );
        assert_eq!(
            call0("derivePassword", args(-1, "pin")).unwrap_err().0,
            "expected unsigned integer"
        );
        assert_eq!(
            call0("derivePassword", args(1 << 32, "pin")).unwrap_err().0,
            "counter overflows uint32"
        );
    }

    // Sprig crypto_test.go TestRandBytes.
    #[test]
    fn rand_bytes() {
        let (a, b) = with_env(4, |env| {
            (
                text(call(env, "randBytes", vec![Value::Int(12)]).unwrap()),
                text(call(env, "randBytes", vec![Value::Int(12)]).unwrap()),
            )
        });
        assert_eq!(go_base64_decode(a.as_bytes()).unwrap().len(), 12);
        assert_ne!(a, b);
        assert_eq!(
            with_script(&[0xfb, 0xff], |env| text(
                call(env, "randBytes", vec![Value::Int(3)]).unwrap()
            )),
            "+//7"
        );
        assert_eq!(
            call0("randBytes", vec![Value::Int(-1)]).unwrap_err().0,
            "runtime error: makeslice: len out of range"
        );
    }

    // Go encoding/base64 base64_test.go TestDecodeCorrupt,
    // TestNewLineCharacters and TestDecoderIssue7733.
    #[test]
    fn go_base64() {
        for (input, offset) in [
            ("", None),
            ("\n", None),
            ("AAA=\n", None),
            ("AAAA\n", None),
            ("!!!!", Some(0)),
            ("====", Some(0)),
            ("x===", Some(1)),
            ("=AAA", Some(0)),
            ("A=AA", Some(1)),
            ("AA=A", Some(2)),
            ("AA==A", Some(4)),
            ("AAA=AAAA", Some(4)),
            ("AAAAA", Some(4)),
            ("AAAAAA", Some(4)),
            ("A=", Some(1)),
            ("A==", Some(1)),
            ("AA=", Some(3)),
            ("AA==", None),
            ("AAA=", None),
            ("AAAA", None),
            ("AAAAAA=", Some(7)),
            ("YWJjZA=====", Some(8)),
            ("A!\n", Some(1)),
            ("A=\n", Some(1)),
        ] {
            assert_eq!(
                go_base64_decode(input.as_bytes()).err(),
                offset,
                "{input:?}"
            );
        }
        for e in [
            "c3VyZQ==",
            "c3VyZQ==\r",
            "c3VyZQ==\n",
            "c3VyZQ==\r\n",
            "c3VyZ\r\nQ==",
            "c3V\ryZ\nQ==",
            "c3V\nyZ\rQ==",
            "c3VyZ\nQ==",
            "c3VyZQ\n==",
            "c3VyZQ=\n=",
            "c3VyZQ=\r\n\r\n=",
        ] {
            assert_eq!(go_base64_decode(e.as_bytes()).unwrap(), b"sure", "{e:?}");
        }
        // Trailing bits are ignored unless strict (TestDecoderIssue15656).
        assert!(go_base64_decode(b"WvLTlMrX9NpYDQlEIFlnDB==").is_ok());
    }

    const NIST_KEY: &str = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4";
    const NIST_IV: &str = "000102030405060708090a0b0c0d0e0f";
    const NIST_PLAIN: &str = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710";
    const NIST_CIPHER: &str = "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b";

    // NIST SP 800-38A F.2.5 (CBC-AES256): encryptAES with that key as the
    // password and that IV as the random bytes gives its ciphertext, then
    // a block of PKCS#7 padding.
    #[test]
    fn encrypt_aes_is_aes_256_cbc() {
        let key = Value::str(unhex(NIST_KEY));
        let plain = Value::str(unhex(NIST_PLAIN));
        let out = with_script(&unhex(NIST_IV), |env| {
            text(call(env, "encryptAES", vec![key.clone(), plain.clone()]).unwrap())
        });
        let raw = go_base64_decode(out.as_bytes()).unwrap();
        assert_eq!(raw.len(), 16 + 64 + 16);
        assert_eq!(hex(&raw[..16]), NIST_IV);
        assert_eq!(hex(&raw[16..80]), NIST_CIPHER);
        // Sprig decrypts its own output.
        let back = call0("decryptAES", vec![key, Value::str(out)]).unwrap();
        assert_eq!(
            back.as_str().unwrap().as_bytes(),
            unhex(NIST_PLAIN).as_slice()
        );
    }

    // decryptAES drops as many bytes as the last one says, unchecked: the
    // NIST plaintext ends in 0x10.
    #[test]
    fn decrypt_aes_strips_padding_as_go_does() {
        let input = b64(&[unhex(NIST_IV), unhex(NIST_CIPHER)].concat());
        let out = call0("decryptAES", vec![Value::str(unhex(NIST_KEY)), s(&input)]).unwrap();
        assert_eq!(out.as_str().unwrap().as_bytes(), &unhex(NIST_PLAIN)[..48]);
    }

    // Sprig crypto_test.go TestEncryptDecryptAES, and the round trip for
    // other lengths and keys (short, long, empty).
    #[test]
    fn aes_round_trip() {
        with_env(6, |env| {
            for (key, plain) in [
                ("secretkey", "plaintext"),
                ("", "x"),
                (
                    "a key longer than thirty-two bytes, cut",
                    "0123456789abcdef",
                ),
                (
                    "k",
                    "a longer plaintext over several blocks of sixteen bytes",
                ),
            ] {
                let enc = call(env, "encryptAES", vec![s(key), s(plain)]).unwrap();
                let dec = call(env, "decryptAES", vec![s(key), enc]).unwrap();
                assert_eq!(text(dec), plain);
            }
        });
        assert_eq!(text(call0("encryptAES", vec![s("k"), s("")]).unwrap()), "");
        assert_eq!(text(call0("decryptAES", vec![s("k"), s("")]).unwrap()), "");
    }

    // What Go's decryptAES panics on, with text/template's recovered text.
    #[test]
    fn decrypt_aes_failures() {
        for (input, want) in [
            ("!!!!", "illegal base64 data at input byte 0"),
            (
                "AAAA",
                "runtime error: slice bounds out of range [:16] with capacity 3",
            ),
            (
                "AAAAAAAAAAAAAAAAAAAAAA==",
                "runtime error: index out of range [-1]",
            ),
            (
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                "crypto/cipher: input not full blocks",
            ),
        ] {
            assert_eq!(
                call0("decryptAES", vec![s("k"), s(input)]).unwrap_err().0,
                want,
                "{input}"
            );
        }
    }

    // Go's pem.Decode: text around the block, headers, CRLF.
    #[test]
    fn pem_decode_as_go() {
        let block = pem_decode(
            b"junk\n-----BEGIN THING-----\r\nProc-Type: 4,ENCRYPTED\n\nAQID\n-----END THING-----\nrest",
        )
        .unwrap();
        assert_eq!(
            (block.kind.as_slice(), block.bytes.as_slice()),
            (&b"THING"[..], &[1u8, 2, 3][..])
        );
        let block = pem_decode(b"-----BEGIN A-----\nAQID\n-----END A-----").unwrap();
        assert_eq!(block.bytes, [1, 2, 3]);
        // Go 1.26: a BEGIN after junk on its line is not a block; a BEGIN
        // with no END before the next one's is skipped; a block may be
        // empty.
        assert!(pem_decode(b"junk -----BEGIN A-----\nAQID\n-----END A-----\n").is_none());
        let block =
            pem_decode(b"-----BEGIN A-----\n-----BEGIN B-----\nAQID\n-----END B-----\n").unwrap();
        assert_eq!(block.kind, b"B");
        let block = pem_decode(b"-----BEGIN A-----\n-----END A-----\n").unwrap();
        assert!(block.bytes.is_empty());
        // Headers need an empty line before the END line.
        assert!(pem_decode(b"-----BEGIN A-----\nk: v\n-----END A-----\n").is_none());
        assert!(pem_decode(b"-----BEGIN A-----\nk: v\n\n-----END A-----\n").is_some());
        assert!(pem_decode(b"-----BEGIN A-----\nAQID\n-----END B-----\n").is_none());
        assert!(pem_decode(b"no pem here").is_none());
        assert_eq!(
            pem_encode("X", &[0u8; 60]),
            format!(
                "-----BEGIN X-----\n{}\n{}\n-----END X-----\n",
                "A".repeat(64),
                "A".repeat(16)
            )
        );
    }

    #[test]
    fn private_key_pem_errors() {
        for (pem, want) in [
            ("nothing", "no PEM data in input"),
            (
                "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n",
                "no private key data in PEM block of type CERTIFICATE",
            ),
            (
                "-----BEGIN FOO PRIVATE KEY-----\nAQID\n-----END FOO PRIVATE KEY-----\n",
                "invalid private key type FOO PRIVATE KEY",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nAQID\n-----END RSA PRIVATE KEY-----\n",
                "parsing RSA private key from PEM: x509: malformed private key",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n",
                "decoding PEM as PKCS#8: x509: malformed PKCS#8 private key",
            ),
        ] {
            assert_eq!(parse_private_key_pem(pem.as_bytes()).err().unwrap(), want);
        }
    }

    fn gen_key(env: &mut Env<'_>, kind: &str) -> String {
        text(call(env, "genPrivateKey", vec![s(kind)]).unwrap())
    }

    // Sprig crypto_test.go TestGenPrivateKey: each kind's PEM type, an
    // unknown kind's text; and each key parses back as Go would read it,
    // with its own parser too.
    #[test]
    fn gen_private_key() {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        with_env(8, |env| {
            for (kind, label, bits) in [
                ("", "RSA PRIVATE KEY", 4096),
                ("rsa", "RSA PRIVATE KEY", 4096),
            ] {
                let pem = gen_key(env, kind);
                assert!(
                    pem.starts_with(&format!("-----BEGIN {label}-----\n")),
                    "{kind}"
                );
                let key = rsa::RsaPrivateKey::from_pkcs1_pem(&pem).unwrap();
                assert_eq!(key.n().bits(), bits);
                assert!(matches!(
                    parse_private_key_pem(pem.as_bytes()),
                    Ok(Key::Rsa(_))
                ));
            }
            let pem = gen_key(env, "ecdsa");
            assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
            let der = pem_decode(pem.as_bytes()).unwrap().bytes;
            let ec = sec1::EcPrivateKey::try_from(der.as_slice()).unwrap();
            assert_eq!(ec.parameters.unwrap().named_curve(), Some(oid::P256));
            assert_eq!(ec.public_key.unwrap()[0], 4, "uncompressed point");
            assert!(matches!(
                parse_private_key_pem(pem.as_bytes()),
                Ok(Key::P256(_))
            ));

            let pem = gen_key(env, "ed25519");
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let der = pem_decode(pem.as_bytes()).unwrap().bytes;
            let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
            assert_eq!(info.algorithm.oid, oid::ED25519);
            assert!(matches!(
                parse_private_key_pem(pem.as_bytes()),
                Ok(Key::Ed25519(_))
            ));

            assert_eq!(gen_key(env, "bad"), "Unknown type bad");
        });
    }

    // Sprig crypto_test.go TestGenPrivateKey's "dsa" case: OpenSSL's DSA
    // key (version, p, q, g, y, x) with L=2048, N=256, and y = g^x mod p.
    #[test]
    fn gen_private_key_dsa() {
        let pem = with_env(12, |env| gen_key(env, "dsa"));
        assert!(pem.starts_with("-----BEGIN DSA PRIVATE KEY-----\n"));
        let der = pem_decode(pem.as_bytes()).unwrap().bytes;
        let (tag, mut body, rest) = der_read(&der).unwrap();
        assert_eq!((tag, rest.len()), (0x30, 0));
        let mut ints = Vec::new();
        while !body.is_empty() {
            let (tag, value, next) = der_read(body).unwrap();
            assert_eq!(tag, 0x02);
            ints.push(x509_parser::num_bigint::BigUint::from_bytes_be(value));
            body = next;
        }
        assert_eq!(ints.len(), 6);
        let [version, p, q, g, y, x] = <[_; 6]>::try_from(ints).unwrap();
        assert_eq!(version, 0u32.into());
        assert_eq!((p.bits(), q.bits()), (2048, 256));
        assert_eq!(g.modpow(&x, &p), y);
        assert!(matches!(
            parse_private_key_pem(pem.as_bytes()),
            Ok(Key::Dsa)
        ));
        // As in Go, a DSA key makes no certificate.
        let err = with_env(1, |env| {
            call(
                env,
                "genCAWithKey",
                vec![s("ca"), Value::Int(1), Value::str(pem.clone())],
            )
        })
        .unwrap_err();
        assert_eq!(
            err.0,
            "error creating certificate: x509: certificate private key does not implement crypto.Signer"
        );
    }

    /// The certificate in a `certificate` map's `Cert`, parsed.
    fn parse_cert(cert: &Value) -> Vec<u8> {
        let pem = field(cert, "Cert");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
        pem_decode(pem.as_bytes()).unwrap().bytes
    }

    /// Verifies `cert`'s signature with the issuer's public key.
    fn verify_signature(
        cert: &x509_parser::certificate::X509Certificate<'_>,
        issuer: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
    ) {
        use p256::ecdsa::signature::Verifier as _;
        let msg = cert.tbs_certificate.as_ref();
        let sig = cert.signature_value.data.as_ref();
        let key = issuer.subject_public_key.data.as_ref();
        let alg = issuer.algorithm.algorithm.to_id_string();
        match alg.as_str() {
            "1.2.840.113549.1.1.1" => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                let pk = rsa::RsaPublicKey::from_pkcs1_der(key).unwrap();
                let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(pk);
                vk.verify(msg, &rsa::pkcs1v15::Signature::try_from(sig).unwrap())
                    .unwrap();
            }
            "1.2.840.10045.2.1" => {
                let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key).unwrap();
                let sig = p256::ecdsa::Signature::from_der(sig).unwrap();
                vk.verify(msg, &sig).unwrap();
            }
            "1.3.101.112" => {
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.try_into().unwrap()).unwrap();
                vk.verify(msg, &ed25519_dalek::Signature::from_slice(sig).unwrap())
                    .unwrap();
            }
            other => panic!("unexpected key algorithm {other}"),
        }
    }

    /// The checks Sprig's tests make of a generated certificate, and the
    /// properties Go's template gives it.
    struct Expect<'a> {
        cn: &'a str,
        ca: bool,
        ips: &'a [&'a str],
        dns: &'a [&'a str],
        days: i64,
    }

    fn check_cert(cert: &Value, expect: &Expect<'_>, issuer_der: Option<&[u8]>) {
        use x509_parser::extensions::GeneralName;
        let der = parse_cert(cert);
        let (rest, x) = x509_parser::parse_x509_certificate(&der).unwrap();
        assert!(rest.is_empty());
        let cn = x
            .subject()
            .iter_common_name()
            .next()
            .map(|a| a.as_str().unwrap().to_string());
        assert_eq!(cn.as_deref(), Some(expect.cn));
        assert_eq!(x.is_ca(), expect.ca);
        assert!(x.tbs_certificate.serial > 0u32.into());
        assert!(x.raw_serial().len() <= 17);
        let now = fixed_now();
        assert_eq!(x.validity().not_before.timestamp(), now.unix_timestamp());
        assert_eq!(
            x.validity().not_after.timestamp(),
            now.unix_timestamp() + expect.days * 86_400
        );
        let mut ips = Vec::new();
        let mut dns = Vec::new();
        if let Some(san) = x.subject_alternative_name().unwrap() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => dns.push(d.to_string()),
                    GeneralName::IPAddress(ip) => {
                        let ip: [u8; 4] = (*ip).try_into().unwrap();
                        ips.push(std::net::Ipv4Addr::from(ip).to_string());
                    }
                    other => panic!("unexpected SAN {other:?}"),
                }
            }
        }
        assert_eq!(ips, expect.ips);
        assert_eq!(dns, expect.dns);
        let ku = x.key_usage().unwrap().unwrap();
        assert!(ku.critical && ku.value.digital_signature() && ku.value.key_encipherment());
        assert_eq!(ku.value.key_cert_sign(), expect.ca);
        let eku = x.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        // The key in Key is the certificate's.
        let key = parse_private_key_pem(field(cert, "Key").as_bytes()).unwrap();
        let signer = KeySigner::new(&key).unwrap();
        assert_eq!(
            x.public_key().subject_public_key.data.as_ref(),
            signer.public.as_slice()
        );
        // Signed by the issuer (itself when self-signed), named as issuer.
        match issuer_der {
            None => {
                assert_eq!(x.issuer().as_raw(), x.subject().as_raw());
                verify_signature(&x, x.public_key());
            }
            Some(ca) => {
                let (_, ca) = x509_parser::parse_x509_certificate(ca).unwrap();
                assert_eq!(x.issuer().as_raw(), ca.subject().as_raw());
                verify_signature(&x, ca.public_key());
            }
        }
    }

    fn list(items: &[&str]) -> Value {
        Value::list(items.iter().map(|i| s(i)).collect())
    }

    const IPS: [&str; 2] = ["10.0.0.1", "10.0.0.2"];
    const DNS: [&str; 2] = ["bar.com", "bat.com"];

    // Sprig crypto_test.go TestGenCA and TestGenCAWithKey (ecdsa, ed25519).
    #[test]
    fn gen_ca() {
        with_env(21, |env| {
            let expect = Expect {
                cn: "foo-ca",
                ca: true,
                ips: &[],
                dns: &[],
                days: 365,
            };
            let ca = call(env, "genCA", vec![s("foo-ca"), Value::Int(365)]).unwrap();
            check_cert(&ca, &expect, None);
            assert!(field(&ca, "Key").starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
            for kind in ["ecdsa", "ed25519"] {
                let key = gen_key(env, kind);
                let ca = call(
                    env,
                    "genCAWithKey",
                    vec![s("foo-ca"), Value::Int(365), s(&key)],
                )
                .unwrap();
                check_cert(&ca, &expect, None);
                assert_eq!(field(&ca, "Key"), key);
            }
        });
    }

    // Sprig crypto_test.go TestGenSelfSignedCert and
    // TestGenSelfSignedCertWithKey (ecdsa, ed25519).
    #[test]
    fn gen_self_signed_cert() {
        with_env(22, |env| {
            let expect = Expect {
                cn: "foo.com",
                ca: false,
                ips: &IPS,
                dns: &DNS,
                days: 365,
            };
            let args = || vec![s("foo.com"), list(&IPS), list(&DNS), Value::Int(365)];
            let cert = call(env, "genSelfSignedCert", args()).unwrap();
            check_cert(&cert, &expect, None);
            for kind in ["ecdsa", "ed25519"] {
                let key = gen_key(env, kind);
                let mut a = args();
                a.push(s(&key));
                let cert = call(env, "genSelfSignedCertWithKey", a).unwrap();
                check_cert(&cert, &expect, None);
            }
        });
    }

    // Sprig crypto_test.go TestGenSignedCert and TestGenSignedCertWithKey
    // (every pair of ecdsa and ed25519 for the CA and the certificate).
    #[test]
    fn gen_signed_cert() {
        with_env(23, |env| {
            let expect = Expect {
                cn: "foo.com",
                ca: false,
                ips: &IPS,
                dns: &DNS,
                days: 365,
            };
            let args = |ca: &Value| {
                vec![
                    s("foo.com"),
                    list(&IPS),
                    list(&DNS),
                    Value::Int(365),
                    ca.clone(),
                ]
            };
            let ca = call(env, "genCA", vec![s("foo"), Value::Int(365)]).unwrap();
            let cert = call(env, "genSignedCert", args(&ca)).unwrap();
            check_cert(&cert, &expect, Some(&parse_cert(&ca)));
            for ca_kind in ["ecdsa", "ed25519"] {
                for cert_kind in ["ecdsa", "ed25519"] {
                    let ca_key = gen_key(env, ca_kind);
                    let ca = call(
                        env,
                        "genCAWithKey",
                        vec![s("foo"), Value::Int(365), s(&ca_key)],
                    )
                    .unwrap();
                    let key = gen_key(env, cert_kind);
                    let mut a = args(&ca);
                    a.push(s(&key));
                    let cert = call(env, "genSignedCertWithKey", a).unwrap();
                    check_cert(&cert, &expect, Some(&parse_cert(&ca)));
                    // The CA's key id is the certificate's authority key id.
                    let ca_der = parse_cert(&ca);
                    let (_, ca_x) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
                    let der = parse_cert(&cert);
                    let (_, x) = x509_parser::parse_x509_certificate(&der).unwrap();
                    let ski = ca_x
                        .iter_extensions()
                        .find_map(|e| match e.parsed_extension() {
                            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                                Some(k.0.to_vec())
                            }
                            _ => None,
                        });
                    let aki = x
                        .iter_extensions()
                        .find_map(|e| match e.parsed_extension() {
                            x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(k) => {
                                k.key_identifier.as_ref().map(|k| k.0.to_vec())
                            }
                            _ => None,
                        });
                    assert!(ski.is_some());
                    assert_eq!(aki, ski);
                }
            }
        });
    }

    #[test]
    fn signed_cert_failures() {
        with_env(24, |env| {
            let args = |ca: Value| vec![s("x"), list(&[]), list(&[]), Value::Int(1), ca, s("")];
            let no_ca = certificate("", "");
            let mut a = args(no_ca);
            a.truncate(5);
            assert_eq!(
                call(env, "genSignedCert", a).unwrap_err().0,
                "unable to decode certificate"
            );
            // A CA key that is not the CA certificate's.
            let ca_key = gen_key(env, "ecdsa");
            let other = gen_key(env, "ecdsa");
            let ca = call(
                env,
                "genCAWithKey",
                vec![s("ca"), Value::Int(1), s(&ca_key)],
            )
            .unwrap();
            let wrong = certificate(field(&ca, "Cert"), other.clone());
            let mut a = args(wrong);
            a[5] = s(&other);
            assert_eq!(
                call(env, "genSignedCertWithKey", a).unwrap_err().0,
                "error creating certificate: x509: provided PrivateKey doesn't match parent's PublicKey"
            );
            // Bad SAN entries.
            let key = gen_key(env, "ed25519");
            for (ips, dns, want) in [
                (
                    vec![Value::Int(1)],
                    vec![],
                    "error parsing ip: not a string",
                ),
                (vec![s("10.0.0.300")], vec![], "error parsing ip: invalid"),
                (
                    vec![],
                    vec![Value::Nil],
                    "error processing alternate dns name: not a string",
                ),
                (
                    vec![],
                    vec![s("bücher.de")],
                    "error creating certificate: x509: a DNS name cannot be encoded as an IA5String",
                ),
            ] {
                let a = vec![
                    s("x"),
                    Value::list(ips),
                    Value::list(dns),
                    Value::Int(1),
                    s(&key),
                ];
                assert_eq!(
                    call(env, "genSelfSignedCertWithKey", a).unwrap_err().0,
                    want
                );
            }
            assert_eq!(
                call(env, "genCAWithKey", vec![s("x"), Value::Int(1), s("junk")])
                    .unwrap_err()
                    .0,
                "parsing private key: no PEM data in input"
            );
        });
    }

    // Sprig crypto_test.go TestBuildCustomCert: the pair comes back as
    // given; a certificate that is not one fails.
    #[test]
    fn build_custom_cert() {
        with_env(25, |env| {
            let key = gen_key(env, "ecdsa");
            let ca = call(
                env,
                "genCAWithKey",
                vec![s("example.com"), Value::Int(365), s(&key)],
            )
            .unwrap();
            let (cert, key) = (field(&ca, "Cert"), field(&ca, "Key"));
            let built = call(
                env,
                "buildCustomCert",
                vec![s(&b64(cert.as_bytes())), s(&b64(key.as_bytes()))],
            )
            .unwrap();
            assert_eq!(field(&built, "Cert"), cert);
            assert_eq!(field(&built, "Key"), key);
            for (c, k, want) in [
                (
                    b64(b"fail"),
                    b64(key.as_bytes()),
                    "unable to decode certificate".to_string(),
                ),
                (
                    "!".to_string(),
                    b64(key.as_bytes()),
                    "unable to decode base64 certificate".to_string(),
                ),
                (
                    b64(cert.as_bytes()),
                    "!".to_string(),
                    "unable to decode base64 private key".to_string(),
                ),
                (
                    b64(cert.as_bytes()),
                    b64(b"junk"),
                    "error parsing private key: no PEM data in input".to_string(),
                ),
                (
                    b64(pem_encode("CERTIFICATE", b"\x30\x00").as_bytes()),
                    b64(key.as_bytes()),
                    "error parsing certificate: decodedCert.Bytes: x509: malformed certificate"
                        .to_string(),
                ),
            ] {
                assert_eq!(
                    call(env, "buildCustomCert", vec![s(&c), s(&k)])
                        .unwrap_err()
                        .0,
                    want
                );
            }
        });
    }

    // Go 1.24 and later refuse RSA keys under 1024 bits for signing.
    #[test]
    fn small_rsa_keys_do_not_sign() {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        with_env(27, |env| {
            let Key::Rsa(k) = generate_rsa(env, 512).unwrap() else {
                panic!("not rsa")
            };
            let pem = pem_encode("RSA PRIVATE KEY", k.to_pkcs1_der().unwrap().as_bytes());
            assert_eq!(
                call(env, "genCAWithKey", vec![s("ca"), Value::Int(1), s(&pem)])
                    .unwrap_err()
                    .0,
                "error creating certificate: crypto/rsa: 512-bit keys are insecure \
                 (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
            );
        });
    }

    // A PKCS#8 RSA key works as a signer and comes back as PKCS#1, as
    // Sprig's pemBlockForKey writes it.
    #[test]
    fn pkcs8_rsa_key_is_reencoded_as_pkcs1() {
        use rsa::pkcs8::EncodePrivateKey as _;
        with_env(26, |env| {
            let Key::Rsa(k) = generate_rsa(env, 2048).unwrap() else {
                panic!("not rsa")
            };
            let pkcs8 = k.to_pkcs8_der().unwrap();
            let pem = pem_encode("PRIVATE KEY", pkcs8.as_bytes());
            let ca = call(env, "genCAWithKey", vec![s("ca"), Value::Int(2), s(&pem)]).unwrap();
            let expect = Expect {
                cn: "ca",
                ca: true,
                ips: &[],
                dns: &[],
                days: 2,
            };
            check_cert(&ca, &expect, None);
            assert!(field(&ca, "Key").starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        });
    }
}
