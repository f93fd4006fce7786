//! The two documents a self-managed cluster publishes for its
//! ServiceAccount issuer, laid out in a folder for upload (for example to an
//! Azure Storage static website), and a self-check that proves them.
//!
//! Entra fetches `{issuer}/.well-known/openid-configuration`, follows its
//! `jwks_uri` to `{issuer}/openid/v1/jwks`, and validates the cluster's
//! tokens with the key their `kid` names (Azure/azure-workload-identity,
//! "self-managed clusters"). The `issuer` must equal kube-apiserver's
//! `--service-account-issuer` and the federated credential's issuer byte for
//! byte, so it is written exactly as given; only `jwks_uri` drops a trailing
//! slash before appending its path, as kube-apiserver does.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{
    Error,
    jwks::{Algorithm, Jwks},
    keys::PrivateKey,
};

/// Where the discovery document goes, relative to the upload folder.
pub const DISCOVERY_PATH: &str = ".well-known/openid-configuration";
/// Where the JWKS goes, relative to the upload folder.
pub const JWKS_PATH: &str = "openid/v1/jwks";
/// Audience of the self-check token: the one Entra's token exchange asks for.
pub const SELF_CHECK_AUDIENCE: &str = azure_wi_core::names::DEFAULT_AUDIENCE;
/// Subject of the self-check token, shaped like a ServiceAccount's.
pub const SELF_CHECK_SUBJECT: &str = "system:serviceaccount:azwi:self-check";

/// An OpenID Connect discovery document with the fields kube-apiserver
/// serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryDocument {
    /// The issuer, exactly as given.
    pub issuer: String,
    /// `{issuer without trailing slash}/openid/v1/jwks`.
    pub jwks_uri: String,
    /// Always `["id_token"]`.
    pub response_types_supported: Vec<String>,
    /// Always `["public"]`.
    pub subject_types_supported: Vec<String>,
    /// The algorithms of the keys in the JWKS.
    pub id_token_signing_alg_values_supported: Vec<String>,
}

/// Checks that `issuer` is a URL Entra will fetch: HTTPS, with a host, and
/// no query or fragment (which kube-apiserver also refuses).
///
/// # Errors
///
/// [`Error::IssuerUrl`] saying what is wrong.
pub fn check_issuer(issuer: &str) -> Result<(), Error> {
    let bad = |what: &str| {
        Err(Error::IssuerUrl {
            url: issuer.to_owned(),
            what: what.to_owned(),
        })
    };
    let Some(rest) = issuer.strip_prefix("https://") else {
        return bad("must start with https:// (Entra fetches the documents over HTTPS)");
    };
    if rest.is_empty() || rest.starts_with('/') {
        return bad("has no host");
    }
    if issuer.contains(['?', '#']) {
        return bad("must not have a query or fragment");
    }
    if issuer.chars().any(char::is_whitespace) {
        return bad("contains whitespace");
    }
    Ok(())
}

/// The discovery document for `issuer` and `jwks`.
///
/// # Errors
///
/// [`Error::IssuerUrl`] when [`check_issuer`] refuses the issuer.
pub fn discovery(issuer: &str, jwks: &Jwks) -> Result<DiscoveryDocument, Error> {
    check_issuer(issuer)?;
    Ok(DiscoveryDocument {
        issuer: issuer.to_owned(),
        jwks_uri: format!("{}/{JWKS_PATH}", issuer.trim_end_matches('/')),
        response_types_supported: vec!["id_token".to_owned()],
        subject_types_supported: vec!["public".to_owned()],
        id_token_signing_alg_values_supported: jwks.algorithms(),
    })
}

/// Writes both documents under `out`, creating the folders; returns the
/// paths written.
///
/// # Errors
///
/// [`Error::Write`] naming the file or folder.
pub fn write_documents(
    out: &Path,
    discovery: &DiscoveryDocument,
    jwks: &Jwks,
) -> Result<[PathBuf; 2], Error> {
    let discovery_text = serde_json::to_string_pretty(discovery)
        .expect("a discovery document of strings always serialises");
    let files = [
        (out.join(DISCOVERY_PATH), discovery_text + "\n"),
        (out.join(JWKS_PATH), jwks.to_pretty_json()),
    ];
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    let [(a, _), (b, _)] = files;
    Ok([a, b])
}

/// Signs a token as the cluster would (`iss` = `issuer`, the token-exchange
/// audience, `kid` of `key`) and validates it against the documents read
/// back from `out`, as Entra would: discovery `issuer`, the key selected by
/// `kid` from the JWKS, signature, `iss` and `aud`.
///
/// # Errors
///
/// [`Error::SelfCheck`] saying which step failed, including a written
/// document that cannot be read back.
pub fn self_check(out: &Path, issuer: &str, key: &PrivateKey) -> Result<(), Error> {
    let fail = |what: String| Error::SelfCheck(what);
    let read = |relative: &str| {
        let path = out.join(relative);
        std::fs::read(&path)
            .map_err(|e| Error::SelfCheck(format!("cannot read back {}: {e}", path.display())))
    };
    let discovery: DiscoveryDocument = serde_json::from_slice(&read(DISCOVERY_PATH)?)
        .map_err(|e| fail(format!("{DISCOVERY_PATH} is not a discovery document: {e}")))?;
    if discovery.issuer != issuer {
        return Err(fail(format!(
            "{DISCOVERY_PATH} has issuer {:?}, not {issuer:?}",
            discovery.issuer
        )));
    }
    let jwks: Jwks = serde_json::from_slice(&read(JWKS_PATH)?)
        .map_err(|e| fail(format!("{JWKS_PATH} is not a JWKS: {e}")))?;

    let public = key.public_key();
    let kid = public.key_id();
    let algorithm = jwt_algorithm(public.algorithm())?;
    let token = sign(issuer, key, &kid, algorithm)?;

    let header = jsonwebtoken::decode_header(&token).map_err(|e| fail(e.to_string()))?;
    let token_kid = header.kid.unwrap_or_default();
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == token_kid)
        .ok_or_else(|| {
            fail(format!(
                "the private key's kid {token_kid} is not in {JWKS_PATH}: the key does not match \
             the public keys given"
            ))
        })?;
    let decoding = match (
        jwk.n.as_deref(),
        jwk.e.as_deref(),
        jwk.x.as_deref(),
        jwk.y.as_deref(),
    ) {
        (Some(n), Some(e), _, _) => jsonwebtoken::DecodingKey::from_rsa_components(n, e),
        (_, _, Some(x), Some(y)) => jsonwebtoken::DecodingKey::from_ec_components(x, y),
        _ => return Err(fail(format!("JWK {token_kid} has neither n/e nor x/y"))),
    }
    .map_err(|e| fail(format!("JWK {token_kid}: {e}")))?;
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[SELF_CHECK_AUDIENCE]);
    jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).map_err(|e| {
        fail(format!(
            "the token does not validate against JWK {token_kid}: {e}"
        ))
    })?;
    Ok(())
}

fn jwt_algorithm(algorithm: Algorithm) -> Result<jsonwebtoken::Algorithm, Error> {
    match algorithm {
        Algorithm::Rs256 => Ok(jsonwebtoken::Algorithm::RS256),
        Algorithm::Es256 => Ok(jsonwebtoken::Algorithm::ES256),
        Algorithm::Es384 => Ok(jsonwebtoken::Algorithm::ES384),
        Algorithm::Es512 => Err(Error::SelfCheck(
            "ES512 (P-521) tokens cannot be signed by this build's JWT library; the documents \
             were written, check them with a token from the cluster"
                .to_owned(),
        )),
    }
}

fn sign(
    issuer: &str,
    key: &PrivateKey,
    kid: &str,
    algorithm: jsonwebtoken::Algorithm,
) -> Result<String, Error> {
    use pkcs8::EncodePrivateKey as _;
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    let fail = |e: &dyn std::fmt::Display| Error::SelfCheck(format!("signing the test token: {e}"));
    let encoding = match key {
        PrivateKey::Rsa(k) => {
            let der = k.to_pkcs1_der().map_err(|e| fail(&e))?;
            jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes())
        }
        PrivateKey::P256(k) => jsonwebtoken::EncodingKey::from_ec_der(
            k.to_pkcs8_der().map_err(|e| fail(&e))?.as_bytes(),
        ),
        PrivateKey::P384(k) => jsonwebtoken::EncodingKey::from_ec_der(
            k.to_pkcs8_der().map_err(|e| fail(&e))?.as_bytes(),
        ),
        PrivateKey::P521(_) => return Err(fail(&"ES512 is not supported")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = serde_json::json!({
        "iss": issuer,
        "sub": SELF_CHECK_SUBJECT,
        "aud": [SELF_CHECK_AUDIENCE],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    });
    let mut header = jsonwebtoken::Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, &claims, &encoding).map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::parse_pem_keys;

    fn jwks_of(pem: &str) -> Jwks {
        let keys = parse_pem_keys(pem.as_bytes()).expect("fixture");
        Jwks::from_keys(keys.iter().map(|k| &k.public))
    }

    #[test]
    fn discovery_keeps_the_issuer_and_derives_jwks_uri() {
        let jwks = jwks_of(include_str!("../tests/keys/rsa.pub"));
        for (issuer, uri) in [
            (
                "https://acct.blob.core.windows.net/$web/",
                "https://acct.blob.core.windows.net/$web/openid/v1/jwks",
            ),
            (
                "https://issuer.example.com",
                "https://issuer.example.com/openid/v1/jwks",
            ),
        ] {
            let doc = discovery(issuer, &jwks).expect("valid issuer");
            assert_eq!(doc.issuer, issuer);
            assert_eq!(doc.jwks_uri, uri);
            assert_eq!(doc.response_types_supported, ["id_token"]);
            assert_eq!(doc.subject_types_supported, ["public"]);
            assert_eq!(doc.id_token_signing_alg_values_supported, ["RS256"]);
        }
    }

    #[test]
    fn issuers_entra_cannot_fetch_are_refused() {
        for (issuer, says) in [
            ("http://issuer.example.com/", "https://"),
            ("https://", "no host"),
            ("https://issuer.example.com/?x=1", "query"),
            ("https://issuer .example.com/", "whitespace"),
        ] {
            let error = check_issuer(issuer).expect_err("refused").to_string();
            assert!(error.contains(says), "{error}");
        }
    }
}
