//! The two ways a key is written: `POST /keys/{name}/create`
//! (`KeyCreateParameters`) and `PUT /keys/{name}` (`KeyImportParameters`,
//! a JSON Web Key with its private parts), as Key Vault's `keys.json`
//! data-plane specification in Azure/azure-rest-api-specs names their
//! fields. Pure: a request body in, the key material and what the bundle
//! shows of it out.
//!
//! Only software keys are made (`kty` `RSA` or `EC`): the emulator has no
//! HSM, so `RSA-HSM`, `EC-HSM` and `oct` are refused rather than served as
//! something they are not.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::material::KeyMaterial;
use super::shapes::{Window, WindowError};
use crate::config::{Curve, KeySpec};

/// Why a key request is refused (400 `BadParameter`). The messages are the
/// emulator's own words: Key Vault's are not in a public source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum KeyRequestError {
    /// The body is not a JSON object.
    #[error("The request body is not a JSON object.")]
    Body,
    /// `kty` absent, or a type the emulator cannot hold.
    #[error("Unsupported key type {0:?}: the emulator makes software RSA and EC keys only.")]
    KeyType(String),
    /// `crv` names no curve Key Vault knows.
    #[error("Unsupported elliptic curve {0:?}.")]
    Curve(String),
    /// `key_size` for RSA is not 2048, 3072 or 4096, or given for EC.
    #[error("Invalid key_size {0}.")]
    KeySize(String),
    /// A JSON Web Key field is missing or not base64url.
    #[error("The key's {0} is missing or not base64url.")]
    Field(&'static str),
    /// The private key does not make a key, or its public part is not
    /// the one given with it.
    #[error("The key is not valid: {0}")]
    Key(String),
    /// `key_ops` is not an array of strings.
    #[error("key_ops must be an array of strings.")]
    KeyOps,
    /// `attributes.nbf` or `exp` is not Unix seconds.
    #[error(transparent)]
    Window(#[from] WindowError),
}

/// A key as a request asks for it.
#[derive(Debug, Clone)]
pub(super) struct KeyRequest {
    /// The private key.
    pub(super) material: KeyMaterial,
    /// `key_ops`: as asked, or the defaults for the type.
    pub(super) key_ops: Vec<String>,
    /// `attributes.enabled`, true when absent.
    pub(super) enabled: bool,
    /// `tags`, when an object.
    pub(super) tags: Option<Value>,
    /// `attributes.nbf` and `exp`.
    pub(super) window: Window,
}

fn curve(name: &str) -> Result<Curve, KeyRequestError> {
    serde_json::from_value(Value::String(name.to_owned()))
        .map_err(|_| KeyRequestError::Curve(name.to_owned()))
}

fn key_ops(given: &Value, material: &KeyMaterial) -> Result<Vec<String>, KeyRequestError> {
    match given {
        Value::Null => Ok(material
            .default_key_ops()
            .iter()
            .map(|s| (*s).to_owned())
            .collect()),
        Value::Array(ops) => ops
            .iter()
            .map(|op| {
                op.as_str()
                    .map(str::to_owned)
                    .ok_or(KeyRequestError::KeyOps)
            })
            .collect(),
        _ => Err(KeyRequestError::KeyOps),
    }
}

fn common(
    request: &Value,
    material: KeyMaterial,
    ops: &Value,
) -> Result<KeyRequest, KeyRequestError> {
    Ok(KeyRequest {
        key_ops: key_ops(ops, &material)?,
        material,
        enabled: request["attributes"]["enabled"].as_bool().unwrap_or(true),
        tags: request.get("tags").filter(|t| t.is_object()).cloned(),
        window: Window::from_attributes(&request["attributes"])?,
    })
}

/// A fresh key from `KeyCreateParameters`: `kty`, `key_size` (RSA,
/// 2048 when absent), `crv` (EC, P-256 when absent, as azure-keyvault-keys'
/// `create_ec_key` documents), `key_ops`, `attributes.enabled`, `nbf`,
/// `exp`, `tags`.
pub(super) fn create(request: &Value) -> Result<KeyRequest, KeyRequestError> {
    if !request.is_object() {
        return Err(KeyRequestError::Body);
    }
    let kty = request["kty"].as_str().unwrap_or_default();
    let spec = match kty {
        "RSA" => {
            let size = match &request["key_size"] {
                Value::Null => None,
                v => Some(
                    v.as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .filter(|n| matches!(n, 2048 | 3072 | 4096))
                        .ok_or_else(|| KeyRequestError::KeySize(v.to_string()))?,
                ),
            };
            KeySpec::rsa(size.unwrap_or(2048))
        }
        "EC" => {
            if !request["key_size"].is_null() {
                return Err(KeyRequestError::KeySize(request["key_size"].to_string()));
            }
            KeySpec::ec(match request["crv"].as_str() {
                None => Curve::P256,
                Some(name) => curve(name)?,
            })
        }
        other => return Err(KeyRequestError::KeyType(other.to_owned())),
    };
    let material = KeyMaterial::from_spec(&spec).map_err(KeyRequestError::Key)?;
    common(request, material, &request["key_ops"])
}

/// A given key from `KeyImportParameters`: `key` is a JSON Web Key with
/// its private parts (EC: `crv`, `x`, `y`, `d`; RSA: `n`, `e`, `d`, `p`,
/// `q`), checked to be one consistent key; `key.key_ops`,
/// `attributes.enabled`, `tags`.
pub(super) fn import(request: &Value) -> Result<KeyRequest, KeyRequestError> {
    if !request.is_object() {
        return Err(KeyRequestError::Body);
    }
    let jwk = &request["key"];
    let field = |name: &'static str| {
        jwk[name]
            .as_str()
            .and_then(|s| URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok())
            .filter(|b| !b.is_empty())
            .ok_or(KeyRequestError::Field(name))
    };
    let material = match jwk["kty"].as_str().unwrap_or_default() {
        "EC" => {
            let crv = curve(jwk["crv"].as_str().ok_or(KeyRequestError::Field("crv"))?)?;
            let (x, y) = (field("x")?, field("y")?);
            let material =
                KeyMaterial::from_ec_scalar(crv, &field("d")?).map_err(KeyRequestError::Key)?;
            let strip =
                |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|v| *v == 0).collect() };
            match material.public() {
                super::material::PublicKey::Ec { x: px, y: py, .. }
                    if strip(px) == strip(&x) && strip(py) == strip(&y) => {}
                _ => {
                    return Err(KeyRequestError::Key(
                        "x and y are not the public point of d".to_owned(),
                    ));
                }
            }
            material
        }
        "RSA" => KeyMaterial::from_rsa_components(
            &field("n")?,
            &field("e")?,
            &field("d")?,
            &field("p")?,
            &field("q")?,
        )
        .map_err(KeyRequestError::Key)?,
        other => return Err(KeyRequestError::KeyType(other.to_owned())),
    };
    common(request, material, &jwk["key_ops"])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvault::material::PublicKey;
    use serde_json::json;

    fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    #[test]
    fn creates_p256k_and_defaults_ec_to_p256() {
        let made = create(&json!({"kty": "EC", "crv": "P-256K", "tags": {"a": "b"}})).unwrap();
        let PublicKey::Ec { crv, x, y } = made.material.public() else {
            panic!("not EC");
        };
        assert_eq!((*crv, x.len(), y.len()), (Curve::P256K, 32, 32));
        assert_eq!(made.key_ops, vec!["sign", "verify"]);
        assert_eq!(made.tags, Some(json!({"a": "b"})));
        assert!(made.enabled);
        let jwk = made.material.jwk("kid", &made.key_ops);
        assert_eq!(jwk["crv"], "P-256K");
        let plain = create(&json!({"kty": "EC", "attributes": {"enabled": false}})).unwrap();
        assert!(matches!(
            plain.material.public(),
            PublicKey::Ec {
                crv: Curve::P256,
                ..
            }
        ));
        assert!(!plain.enabled);
    }

    #[test]
    fn refuses_what_it_cannot_make() {
        for (body, want) in [
            (
                json!({"kty": "EC-HSM"}),
                KeyRequestError::KeyType("EC-HSM".into()),
            ),
            (
                json!({"kty": "oct"}),
                KeyRequestError::KeyType("oct".into()),
            ),
            (json!({}), KeyRequestError::KeyType(String::new())),
            (
                json!({"kty": "EC", "crv": "P-192"}),
                KeyRequestError::Curve("P-192".into()),
            ),
            (
                json!({"kty": "RSA", "key_size": 1024}),
                KeyRequestError::KeySize("1024".into()),
            ),
            (
                json!({"kty": "EC", "key_size": 256}),
                KeyRequestError::KeySize("256".into()),
            ),
            (
                json!({"kty": "EC", "key_ops": "sign"}),
                KeyRequestError::KeyOps,
            ),
            (json!([1]), KeyRequestError::Body),
        ] {
            assert_eq!(create(&body).unwrap_err(), want, "{body}");
        }
    }

    fn k256_jwk() -> (k256::SecretKey, Value) {
        use k256::elliptic_curve::sec1::ToEncodedPoint as _;
        let key = k256::SecretKey::random(&mut rand::rngs::OsRng);
        let point = key.public_key().to_encoded_point(false);
        let jwk = json!({
            "kty": "EC", "crv": "P-256K", "key_ops": ["sign"],
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()),
            "d": b64(&key.to_bytes()),
        });
        (key, jwk)
    }

    #[test]
    fn imports_a_p256k_key_and_checks_its_public_point() {
        let (key, jwk) = k256_jwk();
        let got = import(&json!({"key": jwk.clone(), "tags": {"t": "1"}})).unwrap();
        use k256::pkcs8::EncodePrivateKey as _;
        assert_eq!(
            got.material.pkcs8_der(),
            key.to_pkcs8_der().unwrap().as_bytes()
        );
        assert_eq!(got.key_ops, vec!["sign"]);
        assert_eq!(got.tags, Some(json!({"t": "1"})));

        let (_, other) = k256_jwk();
        let mut mismatched = jwk.clone();
        mismatched["x"] = other["x"].clone();
        assert!(matches!(
            import(&json!({"key": mismatched})).unwrap_err(),
            KeyRequestError::Key(_)
        ));
        let mut on_p256 = jwk.clone();
        on_p256["crv"] = "P-256".into();
        assert!(matches!(
            import(&json!({"key": on_p256})).unwrap_err(),
            KeyRequestError::Key(_)
        ));
        let mut no_d = jwk;
        no_d.as_object_mut().unwrap().remove("d");
        assert_eq!(
            import(&json!({"key": no_d})).unwrap_err(),
            KeyRequestError::Field("d")
        );
    }

    #[test]
    fn imports_an_rsa_key_from_its_components() {
        use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let jwk = json!({
            "kty": "RSA",
            "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
            "d": b64(&key.d().to_bytes_be()),
            "p": b64(&key.primes()[0].to_bytes_be()), "q": b64(&key.primes()[1].to_bytes_be()),
        });
        let got = import(&json!({"key": jwk.clone()})).unwrap();
        assert_eq!(got.material.rsa_bits(), Some(2048));
        assert_eq!(got.key_ops.len(), 6, "RSA defaults");
        let mut wrong = jwk;
        wrong["d"] = b64(&[3]).into();
        assert!(matches!(
            import(&json!({"key": wrong})).unwrap_err(),
            KeyRequestError::Key(_)
        ));
    }
}
