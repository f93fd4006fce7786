//! Fuzzes the whole admission path on raw bytes: AdmissionReview parsing,
//! pod decoding, the mutation and the response encoding.
//!
//! Besides "never panics", it checks what the API server relies on: an
//! allowed response's patch applies to the object it was computed for, and
//! applying it again to its own output yields no further change.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use webhook::{
    admission::{AdmissionRequest, AdmissionResponse},
    config::MutationConfig,
    mutate::{AdmissionPod, mutate},
};
use azure_wi_core::ServiceAccountInfo;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = AdmissionRequest::from_review_slice(data) else {
        return;
    };
    let config = MutationConfig::default()
        .with_tenant_id("72f988bf-86f1-41af-91ab-2d7cd011db47".parse().expect("valid tenant"));
    let Some(raw) = request.object.clone().filter(|o| !o.is_null()) else {
        return;
    };
    let result = AdmissionPod::parse(&raw, &request.namespace).and_then(|pod| {
        // Every ServiceAccount exists and has a client id, so the fuzzer
        // reaches the mutation whatever name the pod uses.
        let sa = ServiceAccountInfo::new(
            pod.namespace(),
            pod.service_account_name(),
            [(
                "azure.workload.identity/client-id".to_owned(),
                "11111111-2222-3333-4444-555555555555".to_owned(),
            )],
        );
        mutate(&pod, Some(&sa), &config).map(|m| (m, sa))
    });

    if let Ok((mutation, sa)) = &result {
        let mutated: Value = mutation.apply_to(&raw).expect("the patch applies to its own input");
        let again = AdmissionPod::parse(&mutated, &request.namespace).expect("the output decodes");
        let second = mutate(&again, Some(sa), &config).expect("the output is admitted");
        assert!(second.patch().0.is_empty(), "not idempotent: {}", second.patch());
    }
    let review = AdmissionResponse::for_request(&request)
        .with_result(result.map(|(m, _)| m))
        .into_review();
    assert_eq!(review["response"]["uid"].as_str(), Some(request.uid.as_str()));
});
