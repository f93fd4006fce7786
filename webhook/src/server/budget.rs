//! A bound on request-body bytes buffered at once across every in-flight
//! admission: a request takes its declared size (the 7 MiB limit when it
//! declares none) from the budget before its body is read, and gives it
//! back when its response is ready. When the budget is spent the request
//! is answered at once with 503 and `Retry-After`, which the API server
//! treats as a webhook call to retry or fail by its policy, instead of
//! the process growing until the kubelet kills it.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::sync::Semaphore;

use super::routes::MAX_BODY_BYTES;

/// The budget, shared by every connection of the admission listener.
#[derive(Debug, Clone)]
pub(crate) struct BodyBudget {
    permits: Arc<Semaphore>,
    bytes: usize,
}

impl BodyBudget {
    /// At most `bytes` of bodies buffered at once (at least one body of
    /// the largest size accepted, so a lone maximal request always fits).
    pub(crate) fn new(bytes: usize) -> Self {
        let bytes = bytes.max(MAX_BODY_BYTES);
        Self {
            permits: Arc::new(Semaphore::new(bytes)),
            bytes,
        }
    }
}

/// The size a request is charged: its Content-Length within the body
/// limit, or the limit itself when it declares none (chunked).
fn charge(request: &Request) -> u32 {
    let declared = declared_length(request.headers()).unwrap_or(MAX_BODY_BYTES);
    u32::try_from(declared.clamp(1, MAX_BODY_BYTES)).unwrap_or(u32::MAX)
}

/// The body length a request declares (`Content-Length`), when it declares
/// one that parses (saturating past `usize::MAX`).
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<usize> {
    let text = headers.get(header::CONTENT_LENGTH)?.to_str().ok()?;
    let length = text.parse::<u64>().ok()?;
    Some(usize::try_from(length).unwrap_or(usize::MAX))
}

/// The middleware: charge, serve, give back; or 503 when spent.
pub(crate) async fn limit(
    State(budget): State<BodyBudget>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = Arc::clone(&budget.permits).try_acquire_many_owned(charge(&request)) else {
        tracing::warn!(
            budget_bytes = budget.bytes,
            "request-body budget spent; answered 503"
        );
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            Body::from(format!(
                "the webhook is already buffering its limit of {} bytes of request bodies; retry shortly",
                budget.bytes
            )),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let response = next.run(request).await;
    drop(permit);
    response
}
