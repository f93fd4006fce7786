//! ESO's JWK functions: a JSON Web Key as a PEM public key (PKIX) or
//! private key (PKCS#8).
//!
//! Sources: external-secrets/external-secrets `runtime/template/v2/jwk.go`
//! (lestrrat-go/jwx v2's `jwk.ParseKey` and `Raw`, then Go's
//! `x509.MarshalPKIXPublicKey` / `MarshalPKCS8PrivateKey`);
//! lestrrat-go/jwx v2 `jwk/jwk.go` (the key-type hint), `jwk/*_gen.go`
//! (required fields and error texts), `jwk/rsa.go`, `jwk/ecdsa.go`,
//! `jwk/okp.go` (building the raw keys) and `internal/base64` (base64 in
//! any of its four alphabets and paddings).

use base64::Engine as _;
use rsa::BigUint;
use serde_json::Value as Json;

use super::pem::{self, Curve, PrivateKey, PublicKey};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("jwkPublicKeyPem", &[Param::Str], None, jwk_public_key_pem);
    r.add("jwkPrivateKeyPem", &[Param::Str], None, jwk_private_key_pem);
}

fn str_arg(args: &[Value]) -> &[u8] {
    match args.first() {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// `jwkPublicKeyPem(jwkjson string) (string, error)`: the key (which must
/// be a public one) as a `PUBLIC KEY` PEM block.
fn jwk_public_key_pem(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = parse_key(str_arg(&args)).map_err(FuncError::new)?;
    let public = match key {
        Raw::RsaPublic { n, e } => PublicKey::Rsa { n, e },
        Raw::EcPublic { curve, point } => PublicKey::Ec { curve, point },
        Raw::Ed25519Public(x) => PublicKey::Ed25519(x),
        other => {
            return Err(FuncError::new(format!(
                "x509: unsupported public key type: {}",
                other.go_type()
            )));
        }
    };
    let der = pem::marshal_pkix_public_key(&public).map_err(FuncError::new)?;
    Ok(Value::str(pem::encode("PUBLIC KEY", &der)))
}

/// `jwkPrivateKeyPem(jwkjson string) (string, error)`: the key (which
/// must be a private one) as a PKCS#8 `PRIVATE KEY` PEM block.
fn jwk_private_key_pem(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let key = parse_key(str_arg(&args)).map_err(FuncError::new)?;
    let private = match key {
        Raw::RsaPrivate(k) => PrivateKey::Rsa(k),
        Raw::EcPrivate { curve, d, point } => {
            // Go's `D.FillBytes` into the curve's size panics when the
            // scalar is longer.
            let d = strip_zeros(&d);
            if d.len() > curve.size() {
                return Err(FuncError::new("math/big: buffer too small to fit value"));
            }
            let mut padded = vec![0u8; curve.size() - d.len()];
            padded.extend_from_slice(d);
            PrivateKey::Ec {
                curve,
                d: padded,
                point,
            }
        }
        Raw::Ed25519Private(seed) => PrivateKey::Ed25519(seed),
        other => {
            return Err(FuncError::new(format!(
                "x509: unknown key type while marshaling PKCS#8: {}",
                other.go_type()
            )));
        }
    };
    let der = pem::marshal_pkcs8(&private).map_err(FuncError::new)?;
    Ok(Value::str(pem::encode("PRIVATE KEY", &der)))
}

/// What jwx's `Raw` gives for each kind of key.
enum Raw {
    RsaPublic {
        n: BigUint,
        e: BigUint,
    },
    RsaPrivate(Box<rsa::RsaPrivateKey>),
    EcPublic {
        curve: Curve,
        point: Vec<u8>,
    },
    EcPrivate {
        curve: Curve,
        d: Vec<u8>,
        point: Vec<u8>,
    },
    Ed25519Public(Vec<u8>),
    Ed25519Private([u8; 32]),
    X25519Public,
    X25519Private,
    Symmetric,
}

impl Raw {
    /// Go's `%T` of the raw key.
    fn go_type(&self) -> &'static str {
        match self {
            Raw::RsaPublic { .. } => "*rsa.PublicKey",
            Raw::RsaPrivate(_) => "*rsa.PrivateKey",
            Raw::EcPublic { .. } => "*ecdsa.PublicKey",
            Raw::EcPrivate { .. } => "*ecdsa.PrivateKey",
            Raw::Ed25519Public(_) => "ed25519.PublicKey",
            Raw::Ed25519Private(_) => "ed25519.PrivateKey",
            Raw::X25519Public => "x25519.PublicKey",
            Raw::X25519Private => "x25519.PrivateKey",
            Raw::Symmetric => "[]uint8",
        }
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let skip = b.iter().take_while(|&&x| x == 0).count();
    b.get(skip..).unwrap_or_default()
}

/// A JSON value's kind as Go's `encoding/json` names it in errors.
fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// jwx's base64 decoding: the encoding guessed from padding and alphabet.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let clean: String = s.chars().filter(|&c| c != '\r' && c != '\n').collect();
    let raw = !clean.ends_with('=');
    let url = !clean.contains(['+', '/']);
    let config = GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(if raw {
            DecodePaddingMode::RequireNone
        } else {
            DecodePaddingMode::RequireCanonical
        });
    let alphabet = if url {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config).decode(clean).ok()
}

/// jwx's `ParseKey` and `Raw`.
fn parse_key(input: &[u8]) -> Result<Raw, String> {
    let json: Json = serde_json::from_slice(input).map_err(|e| {
        format!(
            "failed to unmarshal JSON into key hint: {}",
            if e.is_eof() {
                "unexpected end of JSON input"
            } else {
                "invalid JSON"
            }
        )
    })?;
    let empty = serde_json::Map::new();
    let map = match &json {
        Json::Object(m) => m,
        Json::Null => &empty,
        other => {
            return Err(format!(
                "failed to unmarshal JSON into key hint: json: cannot unmarshal {} into Go value of type struct {{ Kty string \"json:\\\"kty\\\"\"; D json.RawMessage \"json:\\\"d\\\"\" }}",
                json_kind(other)
            ));
        }
    };
    // Go's encoding/json matches the hint's fields ignoring case; the
    // last matching member wins.
    let mut kty = String::new();
    let mut has_d = false;
    for (k, v) in map {
        if k.eq_ignore_ascii_case("kty") {
            match v {
                Json::String(s) => kty = s.clone(),
                Json::Null => {}
                other => {
                    return Err(format!(
                        "failed to unmarshal JSON into key hint: json: cannot unmarshal {} into Go struct field .kty of type string",
                        json_kind(other)
                    ));
                }
            }
        } else if k.eq_ignore_ascii_case("d") {
            has_d = true;
        }
    }
    let type_name = match (kty.as_str(), has_d) {
        ("RSA", true) => "*jwk.rsaPrivateKey",
        ("RSA", false) => "*jwk.rsaPublicKey",
        ("EC", true) => "*jwk.ecdsaPrivateKey",
        ("EC", false) => "*jwk.ecdsaPublicKey",
        ("oct", _) => "*jwk.symmetricKey",
        ("OKP", true) => "*jwk.okpPrivateKey",
        ("OKP", false) => "*jwk.okpPublicKey",
        _ => return Err(format!("invalid key type from JSON ({kty})")),
    };
    let fields = Fields {
        map,
        type_name,
        kty: &kty,
    };
    fields.check_kty()?;
    match (kty.as_str(), has_d) {
        ("RSA", private) => {
            let d = if private {
                Some(fields.required_after("d")?)
            } else {
                None
            };
            let e = fields.bytes("e")?;
            let n = fields.bytes("n")?;
            let e = e.ok_or_else(|| fields.missing("e"))?;
            let n = n.ok_or_else(|| fields.missing("n"))?;
            let p = fields.bytes("p")?.unwrap_or_default();
            let q = fields.bytes("q")?.unwrap_or_default();
            for opt in ["dp", "dq", "qi"] {
                fields.bytes(opt)?;
            }
            // Go keeps the exponent as an int: the low 64 bits.
            let e_low = {
                let mut buf = [0u8; 8];
                let tail = &e[e.len().saturating_sub(8)..];
                buf[8 - tail.len()..].copy_from_slice(tail);
                u64::from_be_bytes(buf)
            };
            let n = BigUint::from_bytes_be(&n);
            match d {
                None => Ok(Raw::RsaPublic {
                    n,
                    e: BigUint::from(e_low),
                }),
                Some(d) => {
                    let key = rsa::RsaPrivateKey::from_components(
                        n,
                        BigUint::from(e_low),
                        BigUint::from_bytes_be(&d),
                        vec![BigUint::from_bytes_be(&p), BigUint::from_bytes_be(&q)],
                    )
                    .map_err(|e| format!("crypto/rsa: invalid private key: {e}"))?;
                    Ok(Raw::RsaPrivate(Box::new(key)))
                }
            }
        }
        ("EC", private) => {
            let crv = fields.string("crv")?;
            let d = fields.bytes("d")?;
            let x = fields.bytes("x")?;
            let y = fields.bytes("y")?;
            let crv = crv.ok_or_else(|| fields.missing("crv"))?;
            let d = if private {
                Some(d.ok_or_else(|| fields.missing("d"))?)
            } else {
                None
            };
            let x = x.ok_or_else(|| fields.missing("x"))?;
            let y = y.ok_or_else(|| fields.missing("y"))?;
            let curve = match crv.as_str() {
                "P-256" => Curve::P256,
                "P-384" => Curve::P384,
                "P-521" => Curve::P521,
                other => {
                    return Err(format!(
                        "failed to build public key: invalid curve algorithm {other}"
                    ));
                }
            };
            // elliptic.Marshal pads the coordinates; a coordinate longer
            // than the field is off the curve.
            let mut point = vec![4u8];
            for c in [&x, &y] {
                let c = strip_zeros(c);
                if c.len() > curve.size() {
                    point.clear();
                    break;
                }
                point.extend(std::iter::repeat_n(0, curve.size() - c.len()));
                point.extend_from_slice(c);
            }
            Ok(match d {
                None => Raw::EcPublic { curve, point },
                Some(d) => Raw::EcPrivate { curve, d, point },
            })
        }
        ("oct", _) => {
            fields.bytes("k")?.ok_or_else(|| fields.missing("k"))?;
            Ok(Raw::Symmetric)
        }
        (_, private) => {
            let crv = fields.string("crv")?;
            let d = fields.bytes("d")?;
            let x = fields.bytes("x")?;
            let crv = crv.ok_or_else(|| fields.missing("crv"))?;
            let d = if private {
                Some(d.ok_or_else(|| fields.missing("d"))?)
            } else {
                None
            };
            let x = x.ok_or_else(|| fields.missing("x"))?;
            let ed25519 = match crv.as_str() {
                "Ed25519" => true,
                "X25519" => false,
                other => {
                    return Err(format!(
                        "failed to build public key: invalid curve algorithm {other}"
                    ));
                }
            };
            let Some(d) = d else {
                return Ok(if ed25519 {
                    Raw::Ed25519Public(x)
                } else {
                    Raw::X25519Public
                });
            };
            if d.is_empty() {
                return Err("failed to build public key: cannot use empty seed".into());
            }
            if ed25519 {
                let Ok(seed) = <[u8; 32]>::try_from(d.as_slice()) else {
                    return Err("failed to build public key: wrong private key size".into());
                };
                let public = ed25519_dalek::SigningKey::from_bytes(&seed)
                    .verifying_key()
                    .to_bytes();
                if x != public {
                    return Err("failed to build public key: invalid x value given d value".into());
                }
                Ok(Raw::Ed25519Private(seed))
            } else {
                let Ok(seed) = <[u8; 32]>::try_from(d.as_slice()) else {
                    return Err(format!(
                        "failed to build public key: unable to construct x25519 private key from seed: unexpected seed size: {}",
                        d.len()
                    ));
                };
                let public = curve25519_dalek::MontgomeryPoint::mul_base_clamped(seed).to_bytes();
                if x != public {
                    return Err("failed to build public key: invalid x value given d value".into());
                }
                Ok(Raw::X25519Private)
            }
        }
    }
}

/// A JWK's members, read as jwx's generated `UnmarshalJSON` reads them.
struct Fields<'a> {
    map: &'a serde_json::Map<String, Json>,
    type_name: &'static str,
    kty: &'a str,
}

impl Fields<'_> {
    fn wrap(&self, e: String) -> String {
        format!(
            "failed to unmarshal JSON into key ({}): {e}",
            self.type_name
        )
    }

    fn missing(&self, name: &str) -> String {
        self.wrap(format!("required field {name} is missing"))
    }

    /// jwx compares `kty` (named exactly) with the key's type.
    fn check_kty(&self) -> Result<(), String> {
        match self.map.get("kty") {
            None => Ok(()),
            Some(Json::String(s)) if s == self.kty => Ok(()),
            Some(Json::String(s)) => Err(self.wrap(format!(
                "invalid kty value for RSAPublicKey ({s})"
            ))),
            Some(other) => Err(self.wrap(format!(
                "error reading token: error reading next value: json: cannot unmarshal {} into Go value of type string",
                json_kind(other)
            ))),
        }
    }

    /// A base64 member (`null` reads as empty).
    fn bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Json::Null) => Ok(Some(Vec::new())),
            Some(Json::String(s)) => decode_base64(s).map(Some).ok_or_else(|| {
                self.wrap(format!(
                    "failed to decode value for key {name}: expected base64 encoded []byte (string)"
                ))
            }),
            Some(other) => Err(self.wrap(format!(
                "failed to decode value for key {name}: error reading next value: json: cannot unmarshal {} into Go value of type string",
                json_kind(other)
            ))),
        }
    }

    /// A member that must be there (checked first, as jwx checks `d`).
    fn required_after(&self, name: &str) -> Result<Vec<u8>, String> {
        self.bytes(name)?.ok_or_else(|| self.missing(name))
    }

    /// A string member.
    fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.map.get(name) {
            None => Ok(None),
            Some(Json::Null) => Ok(Some(String::new())),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrap(format!(
                "failed to decode value for key {name}: json: cannot unmarshal {} into Go value of type jwa.EllipticCurveAlgorithm",
                json_kind(other)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::pem::tests::{call, s};
    use super::*;

    const PUB_RSA: &str = include_str!("../../tests/data/eso/jwkPubRSA.json");
    const PUB_RSA_PKIX: &str = include_str!("../../tests/data/eso/jwkPubRSAPKIX.pem");
    const PRIV_RSA: &str = include_str!("../../tests/data/eso/jwkPrivRSA.json");
    const PRIV_RSA_PKCS8: &str = include_str!("../../tests/data/eso/jwkPrivRSAPKCS8.pem");
    const PUB_EC: &str = include_str!("../../tests/data/eso/jwkPubEC.json");
    const PUB_EC_PKIX: &str = include_str!("../../tests/data/eso/jwkPubECPKIX.pem");
    const PRIV_EC: &str = include_str!("../../tests/data/eso/jwkPrivEC.json");
    const PRIV_EC_PKCS8: &str = include_str!("../../tests/data/eso/jwkPrivECPKCS8.pem");

    fn text(v: Result<Value, FuncError>) -> String {
        String::from_utf8(v.unwrap().as_str().unwrap().as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn template_cases() {
        // ESO: template_test.go TestExecute "jwk rsa pub pem", "jwk rsa
        // priv pem", "jwk ecdsa pub pem", "jwk ecdsa priv pem".
        for (name, func, jwk, want) in [
            ("jwk rsa pub pem", "jwkPublicKeyPem", PUB_RSA, PUB_RSA_PKIX),
            (
                "jwk rsa priv pem",
                "jwkPrivateKeyPem",
                PRIV_RSA,
                PRIV_RSA_PKCS8,
            ),
            ("jwk ecdsa pub pem", "jwkPublicKeyPem", PUB_EC, PUB_EC_PKIX),
            (
                "jwk ecdsa priv pem",
                "jwkPrivateKeyPem",
                PRIV_EC,
                PRIV_EC_PKCS8,
            ),
        ] {
            assert_eq!(text(call(func, vec![s(jwk)])), want, "{name}");
        }
    }

    #[test]
    fn okp_keys() {
        // RFC 8037 appendix A.1/A.2: an Ed25519 key and its public half.
        let private = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let public =
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let key = text(call("jwkPrivateKeyPem", vec![s(private)]));
        let (block, _) = pem::decode(key.as_bytes());
        let block = block.unwrap();
        let parsed = pem::parse_pkcs8_private_key(&block.bytes).unwrap();
        assert!(matches!(parsed, PrivateKey::Ed25519(_)));
        let pub_pem = text(call("jwkPublicKeyPem", vec![s(public)]));
        let (pub_block, _) = pem::decode(pub_pem.as_bytes());
        assert_eq!(
            pub_block.unwrap().bytes,
            pem::marshal_pkix_public_key(&parsed.public().unwrap()).unwrap()
        );
        // A d that does not give x.
        let wrong = private.replace("nWGx", "AWGx");
        assert_eq!(
            call("jwkPrivateKeyPem", vec![s(&wrong)]).unwrap_err(),
            FuncError::new("failed to build public key: invalid x value given d value")
        );
        // X25519 (RFC 7748 6.1's Alice): jwx's own types, which x509 refuses.
        let x25519 = r#"{"kty":"OKP","crv":"X25519","d":"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}"#;
        assert_eq!(
            call("jwkPrivateKeyPem", vec![s(x25519)]).unwrap_err(),
            FuncError::new("x509: unknown key type while marshaling PKCS#8: x25519.PrivateKey")
        );
    }

    #[test]
    fn wrong_kinds_and_bad_input() {
        for (func, jwk, want) in [
            (
                "jwkPublicKeyPem",
                PRIV_RSA,
                "x509: unsupported public key type: *rsa.PrivateKey",
            ),
            (
                "jwkPrivateKeyPem",
                PUB_RSA,
                "x509: unknown key type while marshaling PKCS#8: *rsa.PublicKey",
            ),
            (
                "jwkPrivateKeyPem",
                PUB_EC,
                "x509: unknown key type while marshaling PKCS#8: *ecdsa.PublicKey",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"kty":"oct","k":"AAEC"}"#,
                "x509: unsupported public key type: []uint8",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"kty":"XYZ"}"#,
                "invalid key type from JSON (XYZ)",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"n":"AQAB"}"#,
                "invalid key type from JSON ()",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"kty":"RSA","e":"AQAB"}"#,
                "failed to unmarshal JSON into key (*jwk.rsaPublicKey): required field n is missing",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"kty":"RSA","e":"AQAB","n":"!!"}"#,
                "failed to unmarshal JSON into key (*jwk.rsaPublicKey): failed to decode value for key n: expected base64 encoded []byte (string)",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"kty":"EC","crv":"P-999","x":"AQ","y":"AQ"}"#,
                "failed to build public key: invalid curve algorithm P-999",
            ),
            (
                "jwkPublicKeyPem",
                r#"{"kty":"EC","crv":"P-256","x":"AQ","y":"AQ"}"#,
                "x509: invalid elliptic curve public key",
            ),
            (
                "jwkPublicKeyPem",
                "{",
                "failed to unmarshal JSON into key hint: unexpected end of JSON input",
            ),
        ] {
            assert_eq!(
                call(func, vec![s(jwk)]).unwrap_err(),
                FuncError::new(want),
                "{jwk}"
            );
        }
    }

    #[test]
    fn base64_alphabets() {
        assert_eq!(decode_base64("-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("+/8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_base64("-_8=").unwrap(), [0xfb, 0xff]);
        assert!(decode_base64("-_8==").is_none());
    }
}
