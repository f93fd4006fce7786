//! Reading the claims of the client assertion, for diagnosis only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use serde_json::Value;

use crate::{Assertion, Error};

/// The claims of the client assertion that decide whether Entra ID accepts
/// it: who issued it, for whom, for which audience, and when it is valid.
///
/// They are decoded **without verifying the signature**, so nothing here may
/// be used to trust the token; Entra ID does the verifying. They only serve
/// to explain Entra ID's refusals (see [`crate::diagnose`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AssertionClaims {
    /// `iss`: the cluster's OIDC issuer URL.
    pub iss: Option<String>,
    /// `sub`: `system:serviceaccount:<namespace>:<name>` for a ServiceAccount.
    pub sub: Option<String>,
    /// `aud`: a single string or an array in the token; always a list here.
    pub aud: Vec<String>,
    /// `iat`: issued at, Unix seconds.
    pub iat: Option<i64>,
    /// `nbf`: not valid before, Unix seconds.
    pub nbf: Option<i64>,
    /// `exp`: not valid after, Unix seconds.
    pub exp: Option<i64>,
}

impl AssertionClaims {
    /// Decodes the payload of a compact JWS (`header.payload.signature`,
    /// base64url) **without verifying it**. Padding is tolerated.
    ///
    /// # Errors
    /// [`Error::AssertionNotJwt`] saying which part is wrong; the message
    /// never quotes the assertion.
    ///
    /// # Example
    /// ```
    /// use azure_wi_auth::{Assertion, AssertionClaims};
    ///
    /// // {"alg":"none"} . {"sub":"system:serviceaccount:default:app","aud":<the default audience>} . fake signature
    /// let jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAiLCJhdWQiOiJhcGk6Ly9BenVyZUFEVG9rZW5FeGNoYW5nZSJ9.c2ln";
    /// let claims = AssertionClaims::decode_unverified(&Assertion::new(jwt)?)?;
    /// assert_eq!(claims.sub.as_deref(), Some("system:serviceaccount:default:app"));
    /// assert_eq!(claims.aud, [azure_wi_auth::names::DEFAULT_AUDIENCE]);
    /// # Ok::<(), azure_wi_auth::Error>(())
    /// ```
    pub fn decode_unverified(assertion: &Assertion) -> Result<Self, Error> {
        let not_jwt = |reason: String| Error::AssertionNotJwt { reason };
        let parts: Vec<&str> = assertion.secret().split('.').collect();
        match parts.len() {
            3 => {}
            5 => {
                return Err(not_jwt(
                    "it has 5 parts, so it is an encrypted JWT (JWE), not a signed one".into(),
                ));
            }
            n => {
                return Err(not_jwt(format!(
                    "a JWT has 3 parts separated by '.', this has {n}"
                )));
            }
        }
        let payload = URL_SAFE_NO_PAD_INDIFFERENT
            .decode(parts[1])
            .map_err(|e| not_jwt(format!("its payload is not base64url ({e})")))?;
        let json: Value = serde_json::from_slice(&payload)
            .map_err(|_| not_jwt("its payload is not JSON".into()))?;
        if !json.is_object() {
            return Err(not_jwt("its payload is not a JSON object".into()));
        }
        let text = |name: &str| -> Result<Option<String>, Error> {
            match json.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(not_jwt(format!("its {name} claim is not a string"))),
            }
        };
        let time = |name: &str| -> Result<Option<i64>, Error> {
            match json.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    // NumericDate may have a fraction; whole seconds are enough here.
                    .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                    .map(Some)
                    .ok_or_else(|| not_jwt(format!("its {name} claim is not a time"))),
                Some(_) => Err(not_jwt(format!("its {name} claim is not a number"))),
            }
        };
        let aud = match json.get("aud") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    not_jwt("its aud claim holds a value that is not a string".into())
                })?,
            Some(_) => {
                return Err(not_jwt(
                    "its aud claim is neither a string nor an array".into(),
                ));
            }
        };
        Ok(Self {
            iss: text("iss")?,
            sub: text("sub")?,
            aud,
            iat: time("iat")?,
            nbf: time("nbf")?,
            exp: time("exp")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{AUDIENCE, FAKE_SIGNATURE, ISSUER, SUBJECT, jwt, sa_claims};
    use serde_json::json;

    fn decode(jwt: &str) -> Result<AssertionClaims, Error> {
        AssertionClaims::decode_unverified(&Assertion::new(jwt).unwrap())
    }

    #[test]
    fn decodes_a_projected_service_account_token() {
        let claims = decode(&jwt(&sa_claims(1_700_000_000, 1_700_003_600))).unwrap();
        assert_eq!(claims.iss.as_deref(), Some(ISSUER));
        assert_eq!(claims.sub.as_deref(), Some(SUBJECT));
        assert_eq!(claims.aud, [AUDIENCE]);
        assert_eq!(
            (claims.iat, claims.nbf, claims.exp),
            (
                Some(1_700_000_000),
                Some(1_700_000_000),
                Some(1_700_003_600)
            )
        );
    }

    #[test]
    fn audience_may_be_a_string_or_an_array() {
        assert_eq!(decode(&jwt(&json!({"aud": "a"}))).unwrap().aud, ["a"]);
        assert_eq!(
            decode(&jwt(&json!({"aud": ["a", "b"]}))).unwrap().aud,
            ["a", "b"]
        );
        assert!(decode(&jwt(&json!({"aud": [1]}))).is_err());
        assert_eq!(
            decode(&jwt(&json!({}))).unwrap(),
            AssertionClaims::default()
        );
    }

    #[test]
    fn fractional_times_are_truncated() {
        assert_eq!(
            decode(&jwt(&json!({"exp": 1_700_000_000.75}))).unwrap().exp,
            Some(1_700_000_000)
        );
    }

    #[test]
    fn padded_payload_is_tolerated() {
        let token = jwt(&json!({"sub": "x"}));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        while !parts[1].len().is_multiple_of(4) {
            parts[1].push('=');
        }
        assert_eq!(decode(&parts.join(".")).unwrap().sub.as_deref(), Some("x"));
    }

    #[test]
    fn errors_say_what_is_wrong_without_quoting_the_token() {
        for (token, want) in [
            ("not-a-jwt".to_owned(), "3 parts"),
            ("a.b.c.d.e".to_owned(), "encrypted"),
            (
                format!("eyJhbGciOiJub25lIn0.***.{FAKE_SIGNATURE}"),
                "not base64url",
            ),
            (
                format!("eyJhbGciOiJub25lIn0.bm90IGpzb24.{FAKE_SIGNATURE}"),
                "not JSON",
            ),
            (jwt(&json!(["array"])), "not a JSON object"),
            (
                jwt(&json!({"exp": "tomorrow"})),
                "exp claim is not a number",
            ),
            (jwt(&json!({"iss": 5})), "iss claim is not a string"),
        ] {
            let msg = decode(&token).unwrap_err().to_string();
            assert!(msg.contains(want), "{msg}");
            assert!(
                !msg.contains(FAKE_SIGNATURE) && !msg.contains("eyJ"),
                "{msg}"
            );
        }
    }
}
