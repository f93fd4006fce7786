//! The probes beyond plain reads: the issuer's documents (through the API
//! server, and anonymously at the issuer URL as Entra fetches them), a
//! TokenRequest whose header and claims are compared (the token itself is
//! never printed or kept), and `--check-entra`'s real exchange.

use std::{sync::Arc, time::SystemTime};

use azure_wi_auth::{
    Assertion, AssertionCredential, AuthorityHost, DiagnosisInput, FederatedIdentity, Scope,
    WorkloadIdentityConfig,
};
use azure_wi_core::names::DEFAULT_AUDIENCE;
use base64::Engine as _;
use k8s_openapi::api::{authentication::v1::TokenRequest, core::v1::ServiceAccount};
use kube::{Api, Client, api::PostParams};
use serde_json::Value;

use super::{
    Area, Note,
    federated::{EntraOutcome, EntraVerdict},
    issuer::{Anonymous, IssuedToken, IssuerFacts},
};

/// Shortest lifetime the API server grants a token (seconds).
const TOKEN_SECONDS: i64 = 600;

fn get(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path)
        .body(Vec::new())
        .expect("a GET with a static path is a valid request")
}

fn forbidden_or(error: &kube::Error, what: &str, need: &str) -> Note {
    match error {
        kube::Error::Api(status) if status.code == 403 => Note::could_not_check(
            Area::Issuer,
            format!("could not check {what}: forbidden ({need})"),
        ),
        other => Note::could_not_check(Area::Issuer, format!("could not check {what}: {other}")),
    }
}

/// The discovery document and JWKS as the API server serves them, and the
/// anonymous fetch. `None` (and a note) when the document cannot be read.
pub(crate) async fn issuer(
    client: &Client,
    config: &kube::Config,
    notes: &mut Vec<Note>,
) -> Option<IssuerFacts> {
    let discovery = match client
        .request_text(get("/.well-known/openid-configuration"))
        .await
    {
        Ok(text) => serde_json::from_str::<Value>(&text).unwrap_or_default(),
        Err(e) => {
            notes.push(forbidden_or(
                &e,
                "the issuer",
                "need get on the non-resource URL /.well-known/openid-configuration, ClusterRole system:service-account-issuer-discovery",
            ));
            return None;
        }
    };
    let issuer = discovery["issuer"].as_str().unwrap_or_default().to_owned();
    if issuer.is_empty() {
        notes.push(Note::could_not_check(
            Area::Issuer,
            "could not check the issuer: the API server's /.well-known/openid-configuration names none (is --service-account-issuer set?)",
        ));
        return None;
    }
    let jwks_uri = discovery["jwks_uri"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let jwks_kids = match client.request_text(get("/openid/v1/jwks")).await {
        Ok(text) => Some(kids(&serde_json::from_str(&text).unwrap_or_default())),
        Err(e) => {
            notes.push(forbidden_or(&e, "the JWKS", "need get on /openid/v1/jwks"));
            None
        }
    };
    let anonymous = fetch_anonymously(&issuer, config).await;
    Some(IssuerFacts {
        issuer,
        jwks_uri,
        anonymous,
        token: None,
        jwks_kids,
    })
}

/// Fetches the discovery document at `<issuer>/.well-known/openid-configuration`
/// and then its `jwks_uri` without credentials, as Entra does, trusting the
/// kubeconfig's CA for the API server's own URLs and the platform's roots
/// otherwise.
async fn fetch_anonymously(issuer: &str, config: &kube::Config) -> Anonymous {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let doc = match get_json(&url, config).await {
        Ok(doc) => doc,
        Err(why) => return Anonymous::Failed(why),
    };
    if doc["issuer"].as_str() != Some(issuer) {
        return Anonymous::Failed(format!(
            "GET {url}: the document names issuer {}",
            doc["issuer"]
        ));
    }
    let Some(jwks_uri) = doc["jwks_uri"].as_str() else {
        return Anonymous::Failed(format!("GET {url}: the document has no jwks_uri"));
    };
    match get_json(jwks_uri, config).await {
        Ok(jwks) => Anonymous::Reachable {
            published_kids: kids(&jwks),
        },
        Err(why) => Anonymous::Failed(why),
    }
}

/// The `kid`s of a JWKS document.
fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["kid"].as_str().map(str::to_owned))
        .collect()
}

/// An unauthenticated GET of a JSON document; the error names the URL.
async fn get_json(url: &str, config: &kube::Config) -> Result<Value, String> {
    let client = http_client(url, config).map_err(|e| format!("GET {url}: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", describe(&e)))?;
    if !response.status().is_success() {
        return Err(format!("GET {url}: HTTP {}", response.status()));
    }
    response
        .json::<Value>()
        .await
        .map_err(|e| format!("GET {url}: not a JSON document: {e}"))
}

pub(super) fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn http_client(url: &str, config: &kube::Config) -> Result<reqwest::Client, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?;
    let is_apiserver = url::Url::parse(url).ok().is_some_and(|u| {
        let cluster = &config.cluster_url;
        u.host_str() == cluster.host()
            && u.port_or_known_default() == cluster.port_u16().or(Some(443))
    });
    let tls = match config.root_cert.as_ref().filter(|_| is_apiserver) {
        Some(ders) => {
            let mut roots = rustls::RootCertStore::empty();
            for der in ders {
                roots
                    .add(rustls::pki_types::CertificateDer::from(der.clone()))
                    .map_err(|e| format!("the kubeconfig's CA: {e}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| format!("loading the platform's root certificates: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth()
        }
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| describe(&e))
}

/// A token issued now for `namespace/name` with the exchange audience.
pub(crate) async fn token(client: &Client, namespace: &str, name: &str) -> Result<String, Note> {
    let api = Api::<ServiceAccount>::namespaced(client.clone(), namespace);
    let mut request = TokenRequest::default();
    request.spec.audiences = vec![DEFAULT_AUDIENCE.to_owned()];
    request.spec.expiration_seconds = Some(TOKEN_SECONDS);
    match api
        .create_token_request(name, &PostParams::default(), &request)
        .await
    {
        Ok(answer) => answer
            .status
            .map(|s| s.token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Note::could_not_check(
                    Area::Issuer,
                    format!("the TokenRequest for {namespace}/{name} returned no token"),
                )
            }),
        Err(kube::Error::Api(status)) if status.code == 403 => Err(Note::could_not_check(
            Area::Issuer,
            format!(
                "could not request a token for ServiceAccount {namespace}/{name}: forbidden (need create on serviceaccounts/token)"
            ),
        )),
        Err(e) => Err(Note::could_not_check(
            Area::Issuer,
            format!("could not request a token for ServiceAccount {namespace}/{name}: {e}"),
        )),
    }
}

/// The `kid` and `iss` of a token, decoded without verification.
pub(crate) fn issued(service_account: &str, token: &str) -> IssuedToken {
    let part = |i: usize| -> Value {
        token
            .split('.')
            .nth(i)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    IssuedToken {
        service_account: service_account.to_owned(),
        iss: text(&part(1)["iss"]),
        kid: text(&part(0)["kid"]),
    }
}

/// The identity an exchange is made for.
#[derive(Debug, Clone)]
pub(crate) struct ExchangeFor<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) name: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) tenant_id: &'a str,
}

/// Exchanges `token` at the authority (`AZURE_AUTHORITY_HOST`, HTTPS_PROXY
/// and `AZURE_WI_EXTRA_CA_FILE` honoured by `azure-wi-auth`).
pub(crate) async fn exchange(
    who: &ExchangeFor<'_>,
    token: String,
    authority_host: &str,
    scope: &Scope,
) -> EntraVerdict {
    let verdict = |outcome| EntraVerdict {
        namespace: who.namespace.to_owned(),
        name: who.name.to_owned(),
        client_id: who.client_id.to_owned(),
        tenant_id: who.tenant_id.to_owned(),
        outcome,
    };
    let refused = |error: String, diagnosis: Option<String>| {
        verdict(EntraOutcome::Refused { error, diagnosis })
    };
    let prepared = (|| {
        let config = WorkloadIdentityConfig::builder()
            .client_id(who.client_id)
            .tenant_id(who.tenant_id)
            // Only named in diagnoses: the assertion comes from a TokenRequest.
            .token_file(format!(
                "(a TokenRequest for {}/{})",
                who.namespace, who.name
            ))
            .authority_host(authority_host)
            .build()?;
        let assertion = Assertion::new(token)?;
        let credential = AssertionCredential::builder()
            .with_authority_host(authority_host.parse::<AuthorityHost>()?)
            .build()?;
        Ok::<_, azure_wi_auth::Error>((config, assertion, credential))
    })();
    let (config, assertion, credential) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => return refused(e.to_string(), None),
    };
    let identity = FederatedIdentity::new(config.tenant_id().clone(), config.client_id().clone());
    match credential
        .get_token(&identity, &assertion, std::slice::from_ref(scope))
        .await
    {
        Ok(_) => verdict(EntraOutcome::Accepted),
        Err(e) => {
            let e = e.with_diagnosis(&DiagnosisInput::new(&config, &assertion, SystemTime::now()));
            match e.entra() {
                Some(entra) => refused(entra.to_string(), e.diagnosis().map(str::to_owned)),
                None => refused(e.to_string(), None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_reads_kid_and_iss_without_verifying() {
        let encode =
            |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!(
            "{}.{}.c2ln",
            encode(serde_json::json!({"alg": "RS256", "kid": "k1"})),
            encode(serde_json::json!({"iss": "https://issuer.example/", "sub": "x"}))
        );
        let issued = issued("team-a/orders-api", &token);
        assert_eq!(issued.kid, "k1");
        assert_eq!(issued.iss, "https://issuer.example/");
        assert_eq!(issued.service_account, "team-a/orders-api");
        let garbage = super::issued("a/b", "not-a-jwt");
        assert_eq!((garbage.kid.as_str(), garbage.iss.as_str()), ("", ""));
    }
}
