//! The proxy's HTTP server: a thin shell over [`crate::imds`]. Token
//! requests are answered from one cached `WorkloadIdentityCredential` per
//! client id (the credential single-flights and caches its tokens);
//! `/readyz` answers `ok`; the node's identity paths are refused; anything
//! else is sent on to IMDS as it came.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::SystemTime,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use azure_wi_auth::{Retry, WorkloadIdentityConfig, WorkloadIdentityCredential};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::imds::{RequestError, Route, TokenRequest, TokenResponse, route};

/// The `Server` header the proxy answers with.
const SERVER: &str = concat!("azure-wi-proxy/", env!("CARGO_PKG_VERSION"));

/// Everything the proxy needs besides the request.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// The pod's `AZURE_CLIENT_ID`, used when a request names none.
    pub default_client_id: Option<String>,
    /// The pod's `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// The pod's token file ([`azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV`]).
    pub token_file: std::path::PathBuf,
    /// The pod's `AZURE_AUTHORITY_HOST`, if set.
    pub authority_host: Option<String>,
    /// Where requests for other paths go (IMDS, `169.254.169.254:80`).
    pub imds_address: String,
}

/// The server's state.
struct Proxy {
    settings: ProxySettings,
    /// The client the credentials exchange through; `None` for
    /// azure-wi-auth's default (`HTTPS_PROXY` and `AZURE_WI_EXTRA_CA_FILE`
    /// honoured).
    entra_client: Option<reqwest::Client>,
    /// The client requests are forwarded with: straight to IMDS, never
    /// through a proxy.
    imds_client: reqwest::Client,
    credentials: Mutex<HashMap<String, WorkloadIdentityCredential>>,
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The listener failed.
    #[error("the proxy stopped serving: {0}")]
    Serve(#[from] std::io::Error),
}

/// The proxy's router over `settings`, exchanging through `entra_client`
/// (`None`: azure-wi-auth's default transport).
///
/// # Errors
///
/// [`ServerError::Client`] if the forwarding client cannot be built.
pub fn router(
    settings: ProxySettings,
    entra_client: Option<reqwest::Client>,
) -> Result<Router, ServerError> {
    let imds_client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| ServerError::Client(e.to_string()))?;
    let state = Arc::new(Proxy {
        settings,
        entra_client,
        imds_client,
        credentials: Mutex::default(),
    });
    Ok(Router::new().fallback(handle).with_state(state))
}

/// Serves `router` on `listener` until `stop`.
///
/// # Errors
///
/// [`ServerError::Serve`] if the listener fails.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    stop: CancellationToken,
) -> Result<(), ServerError> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    Ok(())
}

async fn handle(State(proxy): State<Arc<Proxy>>, request: Request) -> Response {
    let mut response = match route(request.uri().path()) {
        Route::Token => {
            let uri = request.uri().clone();
            token(&proxy, &uri).await
        }
        Route::Readyz => (StatusCode::OK, "ok").into_response(),
        Route::NodeIdentity => {
            tracing::info!(path = request.uri().path(), "refused a node identity path");
            text(
                StatusCode::FORBIDDEN,
                "this proxy serves the pod's workload identity only: the node's identity \
                 endpoints are not reachable through it",
            )
        }
        Route::Forward => forward(&proxy, request).await,
    };
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static(SERVER));
    response
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut body = body.into();
    body.push('\n');
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn token(proxy: &Proxy, uri: &axum::http::Uri) -> Response {
    let query = uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> = url_pairs(query);
    let asked = match TokenRequest::from_query(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        proxy.settings.default_client_id.as_deref(),
    ) {
        Ok(asked) => asked,
        Err(error @ (RequestError::MissingClientId | RequestError::MissingResource)) => {
            return text(StatusCode::BAD_REQUEST, error.to_string());
        }
    };
    let credential = match proxy.credential(&asked.client_id) {
        Ok(credential) => credential,
        Err(error) => return text(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let scope = match asked.scope().parse() {
        Ok(scope) => scope,
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("resource: {error}")),
    };
    match credential.get_token(&[scope]).await {
        Ok(token) => {
            let body = TokenResponse::new(
                token.secret(),
                token.expires_on(),
                &asked.resource,
                SystemTime::now(),
            );
            tracing::info!(client_id = %asked.client_id, resource = %asked.resource, "token answered");
            match serde_json::to_vec(&body) {
                Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
                Err(error) => text(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
            }
        }
        Err(error) => {
            // A refusal Entra will repeat is IMDS's 400 (the SDKs stop); a
            // passing failure a 500 (they retry).
            let status = match error.retry() {
                Retry::Retryable => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::warn!(client_id = %asked.client_id, resource = %asked.resource, error = %error, "token exchange failed");
            text(status, error.to_string())
        }
    }
}

impl Proxy {
    /// The credential of `client_id`, made once.
    fn credential(
        &self,
        client_id: &str,
    ) -> Result<WorkloadIdentityCredential, azure_wi_auth::Error> {
        let mut credentials = self
            .credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(found) = credentials.get(client_id) {
            return Ok(found.clone());
        }
        let mut config = WorkloadIdentityConfig::builder()
            .client_id(client_id)
            .tenant_id(self.settings.tenant_id.clone())
            .token_file(self.settings.token_file.clone());
        if let Some(host) = &self.settings.authority_host {
            config = config.authority_host(host.clone());
        }
        let mut builder = WorkloadIdentityCredential::builder(config.build()?);
        if let Some(client) = &self.entra_client {
            builder = builder.with_http_client(client.clone());
        }
        let credential = builder.build()?;
        credentials.insert(client_id.to_owned(), credential.clone());
        Ok(credential)
    }
}

/// The query's pairs, percent-decoded as Go's `url.ParseQuery` gives them
/// (`+` a space).
fn url_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// Sends `request` on to IMDS, method, path, query, headers and body as
/// they came, and answers what IMDS answers.
async fn forward(proxy: &Proxy, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str);
    let url = format!("http://{}{path}", proxy.settings.imds_address);
    let body = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(body) => body,
        Err(error) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("cannot read the request body: {error}"),
            );
        }
    };
    let mut headers = parts.headers.clone();
    headers.remove(header::HOST);
    let sent = proxy
        .imds_client
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let status = answer.status();
            let headers: HeaderMap = answer.headers().clone();
            let body: Bytes = answer.bytes().await.unwrap_or_default();
            tracing::info!(method = %parts.method, path, status = status.as_u16(), "forwarded to IMDS");
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = status;
            for (name, value) in &headers {
                if name != header::TRANSFER_ENCODING && name != header::CONTENT_LENGTH {
                    response.headers_mut().append(name, value.clone());
                }
            }
            response
        }
        Err(error) => {
            tracing::warn!(method = %parts.method, path, error = %error, "IMDS did not answer");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("IMDS did not answer: {error}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_as_go_reads_them() {
        assert_eq!(
            url_pairs("resource=https%3A%2F%2Fvault.azure.net&client_id=a+b&x"),
            [
                ("resource".to_owned(), "https://vault.azure.net".to_owned()),
                ("client_id".to_owned(), "a b".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        assert_eq!(url_pairs("v=100%")[0].1, "100%");
        assert_eq!(url_pairs("v=%zz")[0].1, "%zz");
    }
}
