//! One admission of a typical pod: three containers (an init container, a
//! native sidecar and the app, one of them skipped) with env, mounts and
//! volumes, as `examples/pod.yaml` describes it.
//!
//! `admission/json_parse` is the baseline: the same body parsed into a
//! `serde_json::Value`, nothing else.
//! `admission/review_bytes` is the whole CPU path of a request in the server:
//! [`webhook::admission::admit_review`] on the body (read the AdmissionReview
//! and its pod in one pass, look up the ServiceAccount, here in a
//! [`StaticServiceAccounts`], mutate), and serialize the response.
//! `admission/two_pass` is the same through
//! [`AdmissionRequest::from_review_slice`] and [`webhook::admission::admit`],
//! the dry run's path, which finds where the pod ends before decoding it.
//! `admission/mutate` is the mutation alone on an already decoded pod.
//!
//! `workload/unlabelled` is the warn-only workload check's CPU path for a
//! Deployment (the example pod as its template) that does not mention the
//! label: one byte search of the body, the envelope read for the uid, and
//! the allowing response serialized. `workload/labelled` is the same
//! Deployment labelled on its own metadata: full decode and the warning.

use std::hint::black_box;

use azure_wi_core::{ServiceAccountInfo, names};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use webhook::{
    admission::{AdmissionRequest, AdmissionResponse, admit, admit_review, review_envelope},
    config::MutationConfig,
    mutate::{AdmissionPod, mutate},
    serviceaccount::StaticServiceAccounts,
    workload::{may_be_labelled, review_workload},
};

fn example_pod() -> Value {
    let text = include_str!("../../examples/pod.yaml");
    yaml_serde::from_str(text).expect("the example pod is valid YAML")
}

fn deployment(pod: &Value, labelled: bool) -> Value {
    let mut template = pod.clone();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(names::USE_LABEL);
    }
    let mut labels = json!({"app": "orders-api"});
    if labelled {
        labels[names::USE_LABEL] = "true".into();
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "orders-api", "namespace": "team-a", "labels": labels},
        "spec": {"replicas": 3, "template": {"metadata": template["metadata"], "spec": template["spec"]}}
    })
}

fn review_body(pod: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "team-a",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": pod,
            "dryRun": false
        }
    }))
    .expect("serializes")
}

fn service_accounts() -> StaticServiceAccounts {
    StaticServiceAccounts::new([ServiceAccountInfo::new(
        "team-a",
        "orders-api",
        [(
            names::CLIENT_ID_ANNOTATION.to_owned(),
            "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34".to_owned(),
        )],
    )])
}

fn bench(c: &mut Criterion) {
    let pod = example_pod();
    let body = review_body(&pod);
    let accounts = service_accounts();
    let config = MutationConfig::default().with_tenant_id(
        "72f988bf-86f1-41af-91ab-2d7cd011db47"
            .parse()
            .expect("valid tenant"),
    );

    let mut group = c.benchmark_group("admission");
    // The baseline: one parse of the same body into a `serde_json::Value`,
    // which any webhook reading its request must at least match.
    group.bench_function("json_parse", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&body)).expect("valid JSON"));
    });
    group.bench_function("review_bytes", |b| {
        b.iter(|| {
            // The static lookup is ready at once: no runtime needed.
            let (response, _) =
                futures::executor::block_on(admit_review(black_box(&body), &config, &accounts))
                    .expect("valid review");
            assert!(response.patch_json().is_some(), "the pod is mutated");
            response.to_body()
        });
    });
    group.bench_function("two_pass", |b| {
        b.iter(|| {
            let request =
                AdmissionRequest::from_review_slice(black_box(&body)).expect("valid review");
            // The static lookup is ready at once: no runtime needed.
            let response = futures::executor::block_on(admit(&request, &config, &accounts));
            assert!(response.patch_json().is_some(), "the pod is mutated");
            response.to_body()
        });
    });

    let parsed = AdmissionPod::parse(&pod, "team-a").expect("decodes");
    let sa = accounts.get("team-a", "orders-api").map(|sa| &**sa);
    group.bench_function("mutate", |b| {
        b.iter(|| mutate(black_box(&parsed), sa, &config).expect("admitted"));
    });
    group.finish();

    let mut group = c.benchmark_group("workload");
    let unlabelled = review_body(&deployment(&pod, false));
    assert!(
        !may_be_labelled(&unlabelled),
        "the unlabelled case takes the fast path"
    );
    group.bench_function("unlabelled", |b| {
        b.iter(|| {
            let body = black_box(&unlabelled);
            assert!(!may_be_labelled(body));
            let (version, uid) = review_envelope(body).expect("valid review");
            AdmissionResponse::allowed(version, uid).to_body()
        });
    });
    let labelled = review_body(&deployment(&pod, true));
    group.bench_function("labelled", |b| {
        b.iter(|| {
            let body = black_box(&labelled);
            assert!(may_be_labelled(body));
            let request = AdmissionRequest::from_review_slice(body).expect("valid review");
            let response = futures::executor::block_on(review_workload(&request, &accounts));
            assert_eq!(response.warnings().len(), 1);
            response.to_body()
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
