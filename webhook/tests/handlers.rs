//! The server's routes without sockets, through `tower::ServiceExt::oneshot`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::sync::Arc;

use axum::{
    body::{Body, to_bytes},
    http::{Request, StatusCode, header},
};
use azure_wi_core::ServiceAccountInfo;
use azure_wi_runtime::admin::{EncodeMetrics as _, metrics_router};
use base64::Engine as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use webhook::{
    config::MutationConfig,
    metrics::Metrics,
    server::{
        AdmissionState, MAX_BODY_BYTES, MUTATE_PATH, OTHER_NAMESPACE_LABEL, Readiness,
        VALIDATE_WORKLOADS_PATH, admission_router, health_router,
    },
    serviceaccount::{LookupError, ServiceAccountLookup, StaticServiceAccounts},
};

const UID: &str = "9d0b1c2e-3f40-4a5b-8c6d-7e8f9a0b1c2d";

fn accounts() -> StaticServiceAccounts {
    StaticServiceAccounts::new([ServiceAccountInfo::new(
        "team-a",
        "app",
        [(
            "azure.workload.identity/client-id".to_owned(),
            "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34".to_owned(),
        )],
    )])
}

fn state<L: ServiceAccountLookup>(lookup: L) -> Arc<AdmissionState<L>> {
    Arc::new(AdmissionState {
        config: MutationConfig::default()
            .with_tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47".parse().unwrap()),
        service_accounts: lookup,
        metrics: Arc::new(Metrics::new()),
    })
}

fn review(version: &str, service_account: &str) -> Value {
    json!({
        "apiVersion": version, "kind": "AdmissionReview",
        "request": {
            "uid": UID, "namespace": "team-a", "operation": "CREATE",
            "object": {"metadata": {"name": "p"}, "spec": {
                "serviceAccountName": service_account,
                "containers": [{"name": "c", "image": "i"}]}}
        }
    })
}

fn post(body: impl Into<Body>, content_type: &str) -> Request<Body> {
    Request::post(MUTATE_PATH)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

async fn send(router: axum::Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
}

#[tokio::test]
async fn admits_with_a_patch_and_echoes_uid_and_version() {
    for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
        let router = admission_router(state(accounts()));
        let body = review(version, "app").to_string();
        let (status, body) = send(router, post(body, "application/json; charset=utf-8")).await;
        assert_eq!(status, StatusCode::OK);
        let out: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(out["apiVersion"], version);
        assert_eq!(out["response"]["uid"], UID);
        assert_eq!(out["response"]["allowed"], true);
        let patch = base64::engine::general_purpose::STANDARD
            .decode(out["response"]["patch"].as_str().unwrap())
            .unwrap();
        let patch: Vec<Value> = serde_json::from_slice(&patch).unwrap();
        assert_eq!(patch[0]["path"], "/metadata/namespace");
    }
}

#[tokio::test]
async fn missing_service_account_is_a_400_denial_in_a_200_response() {
    let router = admission_router(state(accounts()));
    let (status, body) = send(
        router,
        post(
            review("admission.k8s.io/v1", "ghost").to_string(),
            "application/json",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(out["response"]["allowed"], false);
    assert_eq!(
        out["response"]["status"],
        json!({"code": 400, "message": "serviceaccounts \"ghost\" not found"})
    );
}

#[tokio::test]
async fn wrong_content_type_and_garbage_are_400_with_the_reason() {
    let router = admission_router(state(accounts()));
    let (status, body) = send(
        router.clone(),
        post(
            review("admission.k8s.io/v1", "app").to_string(),
            "text/plain",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "expected Content-Type application/json, got \"text/plain\""
    );

    let (status, body) = send(
        router.clone(),
        post("{\"kind\":\"Pod\"}", "application/json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "expected kind AdmissionReview, got \"Pod\""
    );

    let (status, body) = send(router, post("not json", "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        String::from_utf8(body)
            .unwrap()
            .starts_with("body is not a valid AdmissionReview")
    );
}

#[tokio::test]
async fn bodies_over_7_mib_get_413() {
    let router = admission_router(state(accounts()));
    // A body with no declared length is cut off when it passes the limit.
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let (status, text) = send(router.clone(), post(big, "application/json")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let limit = format!("longer than the {MAX_BODY_BYTES} bytes");
    assert!(String::from_utf8(text).unwrap().contains(&limit));
    // A declared length past the limit is refused on its header alone,
    // whatever the media type, before a byte of the body is read.
    let mut declared = post("{}", "text/plain");
    declared.headers_mut().insert(
        header::CONTENT_LENGTH,
        (MAX_BODY_BYTES + 1).to_string().parse().unwrap(),
    );
    let (status, text) = send(router.clone(), declared).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8(text).unwrap().contains(&limit));
    // Just under the limit is read (and refused for what it is, not its size).
    let (status, _) = send(router, post(vec![b' '; MAX_BODY_BYTES], "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A lookup that fails, or panics, on demand.
struct Faulty {
    panic: bool,
}

impl ServiceAccountLookup for Faulty {
    async fn lookup(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<Arc<ServiceAccountInfo>>, LookupError> {
        assert!(!self.panic, "lookup exploded");
        Err(LookupError::Timeout(std::time::Duration::from_secs(2)))
    }
}

#[tokio::test]
async fn lookup_failure_is_a_500_denial_naming_the_service_account() {
    let router = admission_router(state(Faulty { panic: false }));
    let (status, body) = send(
        router,
        post(
            review("admission.k8s.io/v1", "app").to_string(),
            "application/json",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        out["response"]["status"],
        json!({"code": 500, "message": "could not get ServiceAccount team-a/app: the API server did not answer within 2s"})
    );
}

#[tokio::test]
async fn a_panic_becomes_a_500_and_the_router_keeps_serving() {
    let state = state(Faulty { panic: true });
    let router = admission_router(Arc::clone(&state));
    let (status, body) = send(
        router.clone(),
        post(
            review("admission.k8s.io/v1", "app").to_string(),
            "application/json",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "internal error while handling the admission request"
    );
    // The in-flight gauge was released by the unwinding handler.
    assert!(
        state
            .metrics
            .encode()
            .contains("azwi_admission_in_flight_requests 0")
    );
    let (status, _) = send(router, post("{}", "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn readyz_lists_what_is_missing() {
    let readiness = Readiness::default();
    let router = health_router(&readiness);
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    assert_eq!(
        send(router.clone(), get("/healthz")).await.0,
        StatusCode::OK
    );
    let (status, body) = send(router.clone(), get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "not ready: serving certificate not loaded; ServiceAccount cache not synced"
    );
    readiness.set_certificate_loaded();
    readiness.set_service_accounts_synced(true);
    assert_eq!(send(router.clone(), get("/readyz")).await.0, StatusCode::OK);
    readiness.set_shutting_down();
    let (status, body) = send(router, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(String::from_utf8(body).unwrap(), "not ready: shutting down");
}

#[tokio::test]
async fn metrics_count_outcomes_per_namespace() {
    let state = state(accounts());
    let router = admission_router(Arc::clone(&state));
    send(
        router.clone(),
        post(
            review("admission.k8s.io/v1", "app").to_string(),
            "application/json",
        ),
    )
    .await;
    send(
        router.clone(),
        post(
            review("admission.k8s.io/v1", "ghost").to_string(),
            "application/json",
        ),
    )
    .await;
    send(router.clone(), post("{}", "application/json")).await;
    // Namespaces nobody created (reviews posted straight to the port) are
    // counted under one label, however many there are.
    for i in 0..50 {
        let mut made_up = review("admission.k8s.io/v1", "app");
        made_up["request"]["namespace"] = json!(format!("made-up-{i}-{}", "x".repeat(40)));
        send(
            router.clone(),
            post(made_up.to_string(), "application/json"),
        )
        .await;
    }
    // A namespace longer than any Kubernetes name is refused before it is
    // an admission: a bad request, in no series of its own.
    let mut too_long = review("admission.k8s.io/v1", "app");
    too_long["request"]["namespace"] = json!(format!("made-up-{}", "x".repeat(200)));
    let (status, _) = send(
        router.clone(),
        post(too_long.to_string(), "application/json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let metrics = metrics_router(Arc::clone(&state.metrics));
    let (status, body) = send(
        metrics,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("azwi_mutation_request_count{namespace=\"team-a\"} 2"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "azwi_mutation_request_count{{namespace=\"{OTHER_NAMESPACE_LABEL}\"}} 50"
        )),
        "{text}"
    );
    assert!(!text.contains("made-up"), "{text}");
    assert!(
        text.contains("azwi_admission_requests_total{outcome=\"allowed\"} 1"),
        "{text}"
    );
    assert!(
        // ghost, and the 50 whose namespaces hold no ServiceAccount.
        text.contains("azwi_admission_requests_total{outcome=\"denied\"} 51"),
        "{text}"
    );
    assert!(
        // `{}`, and the over-long namespace.
        text.contains("azwi_admission_bad_requests_total{reason=\"review\"} 2"),
        "{text}"
    );
    // A bad request is not an admission: it adds no outcome and no
    // namespace-less latency sample.
    assert!(!text.contains("outcome=\"error\""), "{text}");
    assert!(!text.contains("namespace=\"\""), "{text}");
}

fn deployment_review(version: &str, on_workload: bool, on_template: bool, sa: &str) -> Value {
    let labels = |labelled: bool| {
        if labelled {
            json!({"azure.workload.identity/use": "true"})
        } else {
            json!({"app": "orders"})
        }
    };
    json!({
        "apiVersion": version, "kind": "AdmissionReview",
        "request": {
            "uid": UID, "namespace": "team-a", "operation": "CREATE",
            "object": {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "orders", "namespace": "team-a", "labels": labels(on_workload)},
                "spec": {"template": {
                    "metadata": {"labels": labels(on_template)},
                    "spec": {"serviceAccountName": sa, "containers": [{"name": "c", "image": "i"}]}
                }}
            }
        }
    })
}

async fn validate_workload(body: &Value) -> Value {
    let router = admission_router(state(StaticServiceAccounts::new([
        ServiceAccountInfo::new("team-a", "bare", []),
    ])));
    let request = Request::post(VALIDATE_WORKLOADS_PATH)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, body) = send(router, request).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn workload_check_always_allows_and_warns_where_the_label_does_nothing() {
    for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
        let out = validate_workload(&deployment_review(version, true, false, "app")).await;
        assert_eq!(out["apiVersion"], version);
        assert_eq!(out["response"]["uid"], UID);
        assert_eq!(out["response"]["allowed"], true);
        assert!(out["response"].get("patch").is_none());
        let warnings = out["response"]["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].as_str().unwrap().starts_with(
                "Deployment team-a/orders has label azure.workload.identity/use on its own metadata"
            ),
            "{warnings:?}"
        );
    }
}

#[tokio::test]
async fn workload_check_names_a_service_account_without_client_id() {
    let out = validate_workload(&deployment_review(
        "admission.k8s.io/v1",
        false,
        true,
        "bare",
    ))
    .await;
    assert_eq!(out["response"]["allowed"], true);
    let warnings = out["response"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().unwrap().contains(
        "ServiceAccount team-a/bare has no azure.workload.identity/client-id annotation"
    ));

    // An unknown ServiceAccount (perhaps created later in the same apply)
    // and a correctly labelled workload get nothing.
    for body in [
        deployment_review("admission.k8s.io/v1", true, true, "ghost"),
        deployment_review("admission.k8s.io/v1", false, false, "bare"),
    ] {
        let out = validate_workload(&body).await;
        assert_eq!(out["response"]["allowed"], true);
        assert!(out["response"].get("warnings").is_none(), "{out}");
    }
}

#[tokio::test]
async fn workload_check_refuses_what_is_not_a_review_on_both_paths() {
    // Without the label the fast path reads only the envelope, and still
    // refuses a broken one.
    for body in [
        json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {"uid": ""}}),
        json!({"kind": "Pod", "apiVersion": "admission.k8s.io/v1", "request": {"uid": "x", "object": {"metadata": {"labels": {"azure.workload.identity/use": "true"}}}}}),
    ] {
        let router = admission_router(state(accounts()));
        let request = Request::post(VALIDATE_WORKLOADS_PATH)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (status, _) = send(router, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
}
