//! The HTTPS listener: one certificate for every host the emulator plays,
//! requests routed by `Host` to the issuer, Entra or a vault.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Instant, SystemTime},
};

use axum::{
    body::Bytes,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    binding,
    config::Config,
    entra::{self, AadError},
    faults::{Counters, Endpoint, Faults},
    hosts,
    issuer::{Issuer, with_slash},
    keys::SigningKey,
    keyvault::{self, KvError, Store},
    requests::{self, Listener, RequestLog},
};

/// Everything the handlers share.
pub(crate) struct Shared {
    pub(crate) config: RwLock<Config>,
    pub(crate) issuer: Arc<Issuer>,
    pub(crate) entra_key: SigningKey,
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
    /// What was answered: counts, and records when asked.
    pub(crate) requests: RequestLog,
    /// Fetches assertion issuers' discovery documents, as Entra does.
    pub(crate) fetch: reqwest::Client,
    pub(crate) issuer_host: String,
    pub(crate) issuer_path: String,
}

impl Shared {
    pub(crate) fn config(&self) -> std::sync::RwLockReadGuard<'_, Config> {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Serves TLS connections from `listener` until `stop`.
pub(crate) async fn run(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: axum::Router,
    stop: CancellationToken,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _)) = accepted else { continue };
        // Small request/response exchanges: without this, Nagle's algorithm
        // meets the client's delayed ACK and a response waits ~40 ms.
        let _ = tcp.set_nodelay(true);
        let (acceptor, router, stop) = (acceptor.clone(), router.clone(), stop.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router));
            tokio::select! {
                _ = connection => {}
                () = stop.cancelled() => {}
            }
        });
    }
}

/// The issuer, Entra and Key Vault, told apart by the request's host.
pub(crate) fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new().fallback(dispatch).with_state(shared)
}

/// The identity-binding token proxy: its own listener, reached by address
/// with the TLS name [`hosts::identity_binding`], as AKS gives it to pods.
pub(crate) fn identity_binding_router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .fallback(identity_binding)
        .with_state(shared)
}

async fn identity_binding(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let started = shared.requests.detailed().then(Instant::now);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 4 * 1024 * 1024).await;
    let response = match &body {
        Ok(body) => identity_binding_answer(&shared, &parts, body).await,
        Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response(),
    };
    shared.requests.answered(
        requests::classify(
            Listener::IdentityBinding,
            parts.method.as_str(),
            parts.uri.path(),
        ),
        &parts,
        body.as_deref().unwrap_or_default(),
        &response,
        started,
    );
    response
}

async fn identity_binding_answer(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> Response {
    let segments: Vec<&str> = parts
        .uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::POST, [tenant, "oauth2", "v2.0", "token"]) => {
            token(
                shared,
                TokenMode::IdentityBinding,
                tenant,
                &parts.headers,
                body,
            )
            .await
        }
        _ => (
            StatusCode::NOT_FOUND,
            format!(
                "the token proxy serves POST /<tenant>/oauth2/v2.0/token, not {} {}\n",
                parts.method,
                parts.uri.path()
            ),
        )
            .into_response(),
    }
}

fn host_of(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(ToString::to_string))
        .unwrap_or_default()
}

async fn dispatch(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let started = shared.requests.detailed().then(Instant::now);
    let (parts, body) = request.into_parts();
    let host = host_of(&parts.headers, &parts.uri);
    let hostname = host
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = axum::body::to_bytes(body, 4 * 1024 * 1024).await;
    let response = match &body {
        Ok(body) => answer(&shared, &host, &hostname, &parts, body).await,
        Err(e) => (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let listener = Listener::Main {
        host: &hostname,
        issuer_host: &shared.issuer_host,
        issuer_path: &shared.issuer_path,
    };
    shared.requests.answered(
        requests::classify(listener, parts.method.as_str(), parts.uri.path()),
        &parts,
        body.as_deref().unwrap_or_default(),
        &response,
        started,
    );
    response
}

async fn answer(
    shared: &Shared,
    host: &str,
    hostname: &str,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> Response {
    if let Some(cloud) = hosts::entra_cloud(hostname) {
        entra_route(
            shared,
            hosts::authority_of(cloud),
            &parts.method,
            parts.uri.path(),
            &parts.headers,
            body,
        )
        .await
    } else if let Some((cloud, vault)) = hosts::vault_of(hostname) {
        let authority = hosts::authority_of(cloud);
        vault_route(shared, authority, vault, host, parts, body).await
    } else if hostname == shared.issuer_host {
        issuer_route(shared, parts.uri.path())
    } else {
        (
            StatusCode::NOT_FOUND,
            format!("the emulator does not serve host {host:?}\n"),
        )
            .into_response()
    }
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn issuer_route(shared: &Shared, path: &str) -> Response {
    let base = with_slash(&shared.issuer_path);
    match path.strip_prefix(base.as_str()) {
        Some(".well-known/openid-configuration") => json_response(200, &shared.issuer.discovery()),
        Some("openid/v1/jwks") => json_response(200, &shared.issuer.jwks()),
        _ => (StatusCode::NOT_FOUND, "not an issuer document\n").into_response(),
    }
}

// === Entra ===

/// Entra at `authority`, the cloud of the host the request came to: its
/// discovery documents name that authority, as each cloud's Entra does.
async fn entra_route(
    shared: &Shared,
    authority: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, [tenant, "oauth2", "v2.0", "token"]) => {
            token(shared, TokenMode::Entra(authority), tenant, headers, body).await
        }
        (&Method::GET, [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
            if shared.config().tenants.iter().any(|t| t == tenant) {
                json_response(200, &entra::tenant_discovery(authority, tenant))
            } else {
                aad_response(&tenant_not_found(tenant), headers)
            }
        }
        (&Method::GET, [_, "discovery", "v2.0", "keys"]) => {
            json_response(200, &shared.entra_key.jwks())
        }
        _ => (
            StatusCode::NOT_FOUND,
            format!("no Entra endpoint at {method} {path}\n"),
        )
            .into_response(),
    }
}

fn tenant_not_found(tenant: &str) -> AadError {
    let config = Config {
        tenants: vec![String::new()],
        ..Config::demo()
    };
    match entra::precheck(&config, tenant, &HashMap::new()) {
        Err(e) => e,
        Ok(_) => unreachable!("an empty form never passes the checks"),
    }
}

fn aad_response(error: &AadError, headers: &HeaderMap) -> Response {
    let correlation = headers
        .get("client-request-id")
        .or_else(|| headers.get("x-ms-client-request-id"))
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let trace = uuid::Uuid::new_v4().to_string();
    let mut response = json_response(
        error.status,
        &error.body(&trace, &correlation, SystemTime::now()),
    );
    if let Ok(value) = HeaderValue::from_str(&trace) {
        response.headers_mut().insert("x-ms-request-id", value);
    }
    response
}

async fn apply_faults(shared: &Shared, endpoint: Endpoint) -> Option<(u16, Option<u64>)> {
    shared.counters.count(endpoint);
    let (latency, failure) = shared.faults.take(endpoint);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    failure.map(|f| (f.status, f.retry_after))
}

fn with_retry_after(mut response: Response, retry_after: Option<u64>) -> Response {
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Who answers a token request.
#[derive(Clone, Copy)]
enum TokenMode<'a> {
    /// Entra at this authority.
    Entra(&'a str),
    /// AKS's token proxy, in front of the public cloud's Entra.
    IdentityBinding,
}

async fn token(
    shared: &Shared,
    mode: TokenMode<'_>,
    tenant: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    if let Some((status, retry_after)) = apply_faults(shared, Endpoint::Entra).await {
        let error = AadError {
            status,
            error: if status == 429 {
                "temporarily_unavailable"
            } else {
                "server_error"
            },
            code: 50000,
            text: "There was an error issuing a token or an issue with our sign-in service."
                .to_owned(),
        };
        return with_retry_after(aad_response(&error, headers), retry_after);
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let config = shared.config().clone();
    let authority = match mode {
        TokenMode::Entra(authority) => authority,
        TokenMode::IdentityBinding => hosts::authority(),
    };
    let key_vault = hosts::key_vault_resource_at(authority);
    let pre = match entra::precheck_at(&config, tenant, &form, &key_vault) {
        Ok(pre) => pre,
        Err(error) => return aad_response(&error, headers),
    };
    let Some(jwks) = fetch_issuer_keys(&shared.fetch, pre.issuer()).await else {
        return aad_response(&entra::external_oidc_failed(), headers);
    };
    let now = SystemTime::now();
    let claims = match mode {
        TokenMode::Entra(_) => entra::validate(&pre, &jwks, &config, now),
        TokenMode::IdentityBinding => {
            let verified = match entra::verify_assertion(&pre, &jwks, now) {
                Ok(verified) => verified,
                Err(error) => return aad_response(&error, headers),
            };
            if let Err(refusal) = binding::authorize(&config, &pre.identity.client_id, &verified) {
                return json_response(binding::Refusal::STATUS, &refusal.body());
            }
            Ok(entra::access_token_claims(
                &pre,
                &config,
                crate::issuer::unix(now),
            ))
        }
    };
    let claims = match claims {
        Ok(claims) => claims,
        Err(error) => return aad_response(&error, headers),
    };
    match shared.entra_key.sign(&claims) {
        Ok(access_token) => {
            shared.counters.issued();
            json_response(200, &entra::token_response(&access_token, &config))
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// The issuer's JWKS, found through its discovery document over HTTPS;
/// `None` for anything Entra would call a failed external OIDC request.
async fn fetch_issuer_keys(fetch: &reqwest::Client, issuer: &str) -> Option<Value> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    if !url.starts_with("https://") {
        return None;
    }
    let discovery: Value = fetch
        .get(&url)
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    if discovery["issuer"].as_str() != Some(issuer) {
        return None;
    }
    let jwks_uri = discovery["jwks_uri"].as_str()?;
    fetch
        .get(jwks_uri)
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()
}

// === Key Vault ===

/// Key Vault's answer for `error`; a challenge points to `authority`, the
/// Entra of the vault's cloud, so clients fetch their token there.
fn kv_response(error: &KvError, authority: &str, tenant: &str) -> Response {
    let mut response = with_retry_after(
        json_response(error.status, &error.body()),
        error.retry_after,
    );
    if error.challenge
        && let Ok(value) = HeaderValue::from_str(&keyvault::challenge(authority, tenant))
    {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

async fn vault_route(
    shared: &Shared,
    authority: &str,
    vault: &str,
    host: &str,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> Response {
    let mut response = vault_answer(shared, authority, vault, host, parts, body).await;
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-ms-request-id", id);
    }
    headers.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static("1.9.2915.1"),
    );
    headers.insert("x-ms-keyvault-region", HeaderValue::from_static("emulator"));
    response
}

async fn vault_answer(
    shared: &Shared,
    authority: &str,
    vault: &str,
    host: &str,
    parts: &axum::http::request::Parts,
    body: &Bytes,
) -> Response {
    let config = shared.config().clone();
    let Some(vault_config) = config.vaults.iter().find(|v| v.name == vault) else {
        return (
            StatusCode::NOT_FOUND,
            format!("the emulator has no vault named {vault:?}\n"),
        )
            .into_response();
    };
    let tenant = config.vault_tenant(vault_config);
    if let Some((status, retry_after)) = apply_faults(shared, Endpoint::KeyVault).await {
        let error = KvError {
            status,
            code: "ServiceUnavailable",
            message: "The service is temporarily unavailable. Retry the request.".to_owned(),
            inner: None,
            retry_after,
            challenge: false,
        };
        return kv_response(&error, authority, &tenant);
    }
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let claims = match keyvault::authenticate(
        authorization,
        &shared.entra_key.jwks(),
        &hosts::key_vault_resource_at(authority),
        &tenant,
        SystemTime::now(),
    ) {
        Ok(claims) => claims,
        Err(error) => return kv_response(&error, authority, &tenant),
    };
    if query.get("api-version").is_none_or(String::is_empty) {
        let error = KvError {
            status: 400,
            code: "BadParameter",
            message: "The 'api-version' query parameter is required.".to_owned(),
            inner: None,
            retry_after: None,
            challenge: false,
        };
        return kv_response(&error, authority, &tenant);
    }
    let result = keyvault::route(parts.method.as_str(), parts.uri.path()).and_then(|op| {
        let mut store = shared
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.admit(&config, vault, &op, Instant::now())?;
        keyvault::authorize(&config, vault, &op, &claims)?;
        store.execute(
            &config,
            vault,
            &op,
            &format!("https://{host}"),
            &query,
            body,
        )
    });
    match result {
        Ok(value) => json_response(200, &value),
        Err(error) => kv_response(&error, authority, &tenant),
    }
}
