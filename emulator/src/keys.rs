//! RSA signing keys (RS256) and the JWKS that publishes them: one for the
//! cluster issuer, one for Entra's access tokens.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::{pkcs1::EncodeRsaPrivateKey as _, traits::PublicKeyParts as _};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::Error;

/// A private RSA key with its key id.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    n: String,
    e: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// Generates a 2048-bit key; its id is the base64url SHA-256 of the
    /// public modulus and exponent, as kube-apiserver derives its own.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if generation fails.
    pub fn generate() -> Result<Self, Error> {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .map_err(|e| Error::Key(e.to_string()))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| Error::Key(e.to_string()))?;
        let n = private.n().to_bytes_be();
        let e = private.e().to_bytes_be();
        let mut digest = sha2::Sha256::new();
        digest.update(&n);
        digest.update(&e);
        Ok(Self {
            kid: b64(&digest.finalize()),
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            n: b64(&n),
            e: b64(&e),
        })
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as an RS256 JWT with `typ` set to `JWT`.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] if signing fails.
    pub fn sign(&self, claims: &Value) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| Error::Key(e.to_string()))
    }

    /// The public half as a JWK.
    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }

    /// A JWKS holding only this key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }
}

/// Why a JWT's signature could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// Not three base64url parts with a JSON header and payload.
    Malformed,
    /// No key in the set has the token's `kid`, or the signature does not
    /// verify, or the algorithm is not RS256.
    Invalid,
}

/// Verifies an RS256 JWT against a JWKS, returning its claims. Time, issuer
/// and audience are the caller's to check: each has its own error.
///
/// # Errors
///
/// [`SignatureProblem`] saying whether the token is not a JWT at all or its
/// signature does not verify.
pub fn verify(token: &str, jwks: &Value) -> Result<Value, SignatureProblem> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| SignatureProblem::Malformed)?;
    decode_unverified(token).ok_or(SignatureProblem::Malformed)?;
    if header.alg != Algorithm::RS256 {
        return Err(SignatureProblem::Invalid);
    }
    let keys = jwks["keys"].as_array().ok_or(SignatureProblem::Invalid)?;
    let key = keys
        .iter()
        .find(|k| header.kid.is_none() || k["kid"].as_str() == header.kid.as_deref())
        .ok_or(SignatureProblem::Invalid)?;
    let (Some(n), Some(e)) = (key["n"].as_str(), key["e"].as_str()) else {
        return Err(SignatureProblem::Invalid);
    };
    let decoding = DecodingKey::from_rsa_components(n, e).map_err(|_| SignatureProblem::Invalid)?;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|_| SignatureProblem::Invalid)
}

/// The claims of a JWT, without checking anything: `None` when it is not a
/// JWT (three dot-separated base64url parts, a JSON object in the middle).
pub fn decode_unverified(token: &str) -> Option<Value> {
    let mut parts = token.trim().split('.');
    let (Some(header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
    };
    decode(header).filter(Value::is_object)?;
    decode(payload).filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_tells_malformed_from_forged() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let token = key.sign(&json!({"sub": "x"})).unwrap();
        assert_eq!(verify(&token, &key.jwks()).unwrap()["sub"], "x");
        assert_eq!(
            verify(&token, &other.jwks()),
            Err(SignatureProblem::Invalid)
        );
        let mut forged_jwks = other.jwks();
        forged_jwks["keys"][0]["kid"] = key.kid().into();
        assert_eq!(verify(&token, &forged_jwks), Err(SignatureProblem::Invalid));
        assert_eq!(
            verify("not a jwt", &key.jwks()),
            Err(SignatureProblem::Malformed)
        );
        assert_eq!(
            verify("a.b.c", &key.jwks()),
            Err(SignatureProblem::Malformed)
        );
    }
}
