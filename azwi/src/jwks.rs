//! JSON Web Key Sets as kube-apiserver serves them at `/openid/v1/jwks`,
//! built from key files, so that a self-managed cluster's published JWKS
//! carries the same `kid` as the tokens the cluster signs.
//!
//! The `kid` is the unpadded base64url SHA-256 of the key's PKIX DER, the
//! derivation in kubernetes `pkg/serviceaccount/openidmetadata.go` (and in
//! Azure/azure-workload-identity's `azwi jwks`). Entra selects the key for a
//! token by that `kid`, so a different derivation fails every exchange.

use base64::Engine as _;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use rsa::traits::PublicKeyParts as _;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::keys::PublicKey;

/// A JWS signing algorithm, chosen by the key type as kube-apiserver does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, for any RSA key.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// ECDSA on P-521 with SHA-512.
    Es512,
}

/// One key of a JWKS, with the fields (and no others) that kube-apiserver
/// publishes: `use`, `kty`, `kid`, `alg`, then `n`/`e` or `crv`/`x`/`y`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// `RSA` or `EC`.
    pub kty: String,
    /// The key id tokens name in their header.
    pub kid: String,
    /// The signing algorithm.
    pub alg: String,
    /// RSA modulus, base64url big-endian.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<String>,
    /// RSA public exponent, base64url big-endian.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e: Option<String>,
    /// EC curve name (`P-256`, `P-384`, `P-521`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crv: Option<String>,
    /// EC point x, base64url, padded to the field size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub x: Option<String>,
    /// EC point y, base64url, padded to the field size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
}

/// A JSON Web Key Set: `{"keys": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys, in the order given.
    pub keys: Vec<Jwk>,
}

// === impl Algorithm ===

impl Algorithm {
    /// The JOSE name, e.g. `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl PublicKey (JWK) ===

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl PublicKey {
    /// The `kid` kube-apiserver gives this key: unpadded base64url of the
    /// SHA-256 of its PKIX DER.
    pub fn key_id(&self) -> String {
        b64(&sha2::Sha256::digest(self.pkix_der()))
    }

    /// The algorithm kube-apiserver signs with for this key.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Rsa(_) => Algorithm::Rs256,
            Self::P256(_) => Algorithm::Es256,
            Self::P384(_) => Algorithm::Es384,
            Self::P521(_) => Algorithm::Es512,
        }
    }

    /// The key as a JWK with `use: sig`.
    pub fn to_jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            use_: "sig".to_owned(),
            kty: String::new(),
            kid: self.key_id(),
            alg: self.algorithm().as_str().to_owned(),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        };
        let (crv, point) = match self {
            Self::Rsa(k) => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(b64(&k.n().to_bytes_be()));
                jwk.e = Some(b64(&k.e().to_bytes_be()));
                return jwk;
            }
            Self::P256(k) => ("P-256", k.to_encoded_point(false).as_bytes().to_vec()),
            Self::P384(k) => ("P-384", k.to_encoded_point(false).as_bytes().to_vec()),
            Self::P521(k) => ("P-521", k.to_encoded_point(false).as_bytes().to_vec()),
        };
        // An uncompressed SEC1 point is 0x04 || x || y, each the field size.
        let coordinates = &point[1..];
        let (x, y) = coordinates.split_at(coordinates.len() / 2);
        jwk.kty = "EC".to_owned();
        jwk.crv = Some(crv.to_owned());
        jwk.x = Some(b64(x));
        jwk.y = Some(b64(y));
        jwk
    }
}

// === impl Jwks ===

impl Jwks {
    /// The set for these keys, in order, without duplicates (the same key
    /// given twice, e.g. as private and public file, appears once).
    pub fn from_keys<'a>(keys: impl IntoIterator<Item = &'a PublicKey>) -> Self {
        let mut set = Self::default();
        for key in keys {
            let jwk = key.to_jwk();
            if !set.keys.iter().any(|k| k.kid == jwk.kid) {
                set.keys.push(jwk);
            }
        }
        set
    }

    /// Indented JSON with a trailing newline, as `azwi jwks` prints it.
    pub fn to_pretty_json(&self) -> String {
        let mut text =
            serde_json::to_string_pretty(self).expect("a JWKS of strings always serialises");
        text.push('\n');
        text
    }

    /// The distinct algorithms of the keys, sorted, for a discovery
    /// document's `id_token_signing_alg_values_supported`.
    pub fn algorithms(&self) -> Vec<String> {
        let mut algs: Vec<String> = self.keys.iter().map(|k| k.alg.clone()).collect();
        algs.sort();
        algs.dedup();
        algs
    }
}

#[cfg(test)]
mod tests;
