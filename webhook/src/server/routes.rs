//! HTTP routes of the admission endpoint; `/healthz`, `/readyz` and
//! `/metrics` are the process shell's (`azure_wi_runtime::admin`).

use std::{panic::AssertUnwindSafe, sync::Arc, time::Instant};

use axum::{
    Router,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use futures::FutureExt as _;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use tracing::Instrument as _;

use super::budget::declared_length;
use crate::{
    admission::{AdmissionRequest, AdmissionResponse, admit_review, review_envelope},
    config::MutationConfig,
    metrics::{BadRequest, Metrics, Outcome},
    serviceaccount::ServiceAccountLookup,
    workload::{may_be_labelled, review_workload},
};

/// Path the MutatingWebhookConfiguration points at, as in the reference.
pub const MUTATE_PATH: &str = "/mutate-v1-pod";

/// Path the warn-only ValidatingWebhookConfiguration for workloads
/// (Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs)
/// points at.
pub const VALIDATE_WORKLOADS_PATH: &str = "/validate-workloads";

/// Largest AdmissionReview body accepted; larger ones get 413. The API
/// server's own request limit is 3 MiB, doubled by the review envelope.
pub const MAX_BODY_BYTES: usize = 7 * 1024 * 1024;

/// The `namespace` label of admissions in namespaces the ServiceAccount
/// source does not know; not a valid namespace name, so it cannot collide
/// with one.
pub const OTHER_NAMESPACE_LABEL: &str = "(other)";

/// What the admission handler shares across requests.
#[derive(Debug)]
pub struct AdmissionState<L> {
    /// Mutation settings.
    pub config: MutationConfig,
    /// Where ServiceAccounts come from.
    pub service_accounts: L,
    /// Metrics to update.
    pub metrics: Arc<Metrics>,
}

/// The router of the HTTPS webhook listener.
pub fn admission_router<L: ServiceAccountLookup>(state: Arc<AdmissionState<L>>) -> Router {
    Router::new()
        // Each handler catches its own panics (see `catching_panics`).
        .route(
            MUTATE_PATH,
            post(|state, body| catching_panics(mutate_pod::<L>(state, body))),
        )
        .route(
            VALIDATE_WORKLOADS_PATH,
            post(|state, body| catching_panics(validate_workload::<L>(state, body))),
        )
        .with_state(state)
}

/// Runs a handler, answering a panic in it with 500: a bug met by one
/// admission costs that request, not its connection. Caught in the handler
/// rather than by a layer, which the router would box on its own at an
/// allocation and a boxed future per request.
async fn catching_panics(handler: impl Future<Output = Response>) -> Response {
    AssertUnwindSafe(handler)
        .catch_unwind()
        .await
        .unwrap_or_else(panic_response)
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "catch_unwind hands the panic payload over by value"
)]
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %detail, "admission handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error while handling the admission request",
    )
        .into_response()
}

fn bad_request(metrics: &Metrics, reason: BadRequest, message: String) -> Response {
    metrics.bad_request(reason);
    tracing::warn!(reason = %message, "refused a request that is not a usable AdmissionReview");
    (StatusCode::BAD_REQUEST, message).into_response()
}

async fn mutate_pod<L: ServiceAccountLookup>(
    State(state): State<Arc<AdmissionState<L>>>,
    ReviewBody(body): ReviewBody,
) -> Response {
    let started = Instant::now();
    let _in_flight = state.metrics.in_flight();
    // What the admission logs is logged in its own span (uid, namespace,
    // pod, ServiceAccount).
    let (response, namespace) =
        match admit_review(&body, &state.config, &state.service_accounts).await {
            Ok(answered) => answered,
            Err(error) => {
                return bad_request(&state.metrics, BadRequest::Review, error.to_string());
            }
        };
    let outcome = if response.is_allowed() {
        Outcome::Allowed
    } else {
        Outcome::Denied
    };
    // The namespace label only for namespaces that exist: a client posting
    // reviews with made-up namespaces cannot grow the metrics without bound.
    let namespace = if state.service_accounts.has_namespace(&namespace) {
        namespace.as_str()
    } else {
        OTHER_NAMESPACE_LABEL
    };
    state
        .metrics
        .observe(namespace, started.elapsed().as_secs_f64(), outcome);
    review_response(&response)
}

fn review_response(response: &AdmissionResponse) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        response.to_body(),
    )
        .into_response()
}

/// The body of an admission request: JSON, read whole, at most
/// [`MAX_BODY_BYTES`]. A larger declared length is answered with 413 before
/// any of the body is read, so it is never buffered; a chunked body is cut
/// off with 413 when it passes the limit; another media type gets 400.
///
/// Read here rather than by axum's `Bytes` extractor, whose own default
/// limit must otherwise be lifted by a layer that adds an extension to
/// every request, and behind a body-limit layer that boxes the body again.
struct ReviewBody(Bytes);

impl<L: ServiceAccountLookup> FromRequest<Arc<AdmissionState<L>>> for ReviewBody {
    type Rejection = Response;

    async fn from_request(
        request: Request,
        state: &Arc<AdmissionState<L>>,
    ) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        if declared_length(&parts.headers).is_some_and(|length| length > MAX_BODY_BYTES) {
            return Err(too_large());
        }
        if let Some(response) =
            refuse_non_json(&state.metrics, parts.headers.get(header::CONTENT_TYPE))
        {
            return Err(response);
        }
        match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => Ok(Self(collected.to_bytes())),
            Err(error) if error.is::<LengthLimitError>() => Err(too_large()),
            Err(error) => Err((
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {error}"),
            )
                .into_response()),
        }
    }
}

/// The 413 answer to a body past [`MAX_BODY_BYTES`].
fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is longer than the {MAX_BODY_BYTES} bytes an AdmissionReview may be"
        ),
    )
        .into_response()
}

/// The 400 answer to a request that is not JSON, or `None` when it is.
fn refuse_non_json(metrics: &Metrics, content_type: Option<&HeaderValue>) -> Option<Response> {
    let content_type = content_type.and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    (!media_type.eq_ignore_ascii_case("application/json")).then(|| {
        bad_request(
            metrics,
            BadRequest::ContentType,
            format!("expected Content-Type application/json, got {content_type:?}"),
        )
    })
}

/// The warn-only workload check. Most workloads do not mention the label at
/// all; for them the body is searched once and only the review's envelope
/// is read, so the check costs the cluster next to nothing. It is not
/// counted in the pod admission metrics.
async fn validate_workload<L: ServiceAccountLookup>(
    State(state): State<Arc<AdmissionState<L>>>,
    ReviewBody(body): ReviewBody,
) -> Response {
    if !may_be_labelled(&body) {
        return match review_envelope(&body) {
            Ok((version, uid)) => review_response(&AdmissionResponse::allowed(version, uid)),
            Err(error) => bad_request(&state.metrics, BadRequest::Review, error.to_string()),
        };
    }
    let request = match AdmissionRequest::from_review_slice(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(&state.metrics, BadRequest::Review, error.to_string()),
    };
    let span = tracing::info_span!(
        "workload",
        uid = %request.uid,
        namespace = %request.namespace,
        operation = %request.operation,
    );
    let response = review_workload(&request, &state.service_accounts)
        .instrument(span)
        .await;
    review_response(&response)
}
