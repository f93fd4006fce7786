//! One admission of a typical pod: three containers (an init container, a
//! native sidecar and the app, one of them skipped) with env, mounts and
//! volumes, as `examples/pod.yaml` describes it.
//!
//! `admission/review_bytes` is the whole CPU path of a request in the server:
//! parse the AdmissionReview body, decode the pod, look up its ServiceAccount
//! in a map, mutate, and serialize the response. `admission/mutate` is the
//! mutation alone on an already decoded pod.

use std::{collections::HashMap, hint::black_box};

use azure_wi_core::ServiceAccountInfo;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use webhook::{
    admission::{AdmissionRequest, AdmissionResponse},
    config::MutationConfig,
    mutate::{AdmissionPod, mutate},
};

fn example_pod() -> Value {
    let text = include_str!("../../examples/pod.yaml");
    yaml_serde::from_str(text).expect("the example pod is valid YAML")
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

fn service_accounts() -> HashMap<(String, String), ServiceAccountInfo> {
    let sa = ServiceAccountInfo::new(
        "team-a",
        "orders-api",
        [(
            "azure.workload.identity/client-id".to_owned(),
            "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34".to_owned(),
        )],
    );
    HashMap::from([(("team-a".to_owned(), "orders-api".to_owned()), sa)])
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
    group.bench_function("review_bytes", |b| {
        b.iter(|| {
            let request =
                AdmissionRequest::from_review_slice(black_box(&body)).expect("valid review");
            let raw = request.object.as_ref().expect("has an object");
            let result = AdmissionPod::parse(raw, &request.namespace).and_then(|pod| {
                let key = (
                    pod.namespace().to_owned(),
                    pod.service_account_name().to_owned(),
                );
                mutate(&pod, accounts.get(&key), &config)
            });
            let review = AdmissionResponse::for_request(&request)
                .with_result(result)
                .into_review();
            serde_json::to_vec(&review).expect("serializes")
        });
    });

    let parsed = AdmissionPod::parse(&pod, "team-a").expect("decodes");
    let sa = accounts.values().next();
    group.bench_function("mutate", |b| {
        b.iter(|| mutate(black_box(&parsed), sa, &config).expect("admitted"));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
