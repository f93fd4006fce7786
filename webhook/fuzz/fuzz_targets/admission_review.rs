//! Fuzzes the whole admission path on raw bytes: AdmissionReview parsing,
//! then [`webhook::admission::admit`] (pod decoding, the ServiceAccount
//! lookup, the mutation), and the response encoding; and checks that
//! [`webhook::admission::admit_review`], which the server runs, reading the
//! review and its pod in one pass, gives the same answer or the same error.
//!
//! Besides "never panics", it checks what the API server relies on: the
//! response echoes the uid, an allowed response's patch applies to the
//! object it was computed for, and answering its own output again gives no
//! further patch.

#![no_main]

use azure_wi_core::ServiceAccountInfo;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::Arc;
use webhook::{
    admission::{AdmissionRequest, AdmissionResponse, admit, admit_review},
    config::MutationConfig,
    serviceaccount::{LookupError, ServiceAccountLookup},
};

/// Every ServiceAccount exists and has a client id, so the fuzzer reaches
/// the mutation whatever name the pod uses.
struct EveryAccount;

impl ServiceAccountLookup for EveryAccount {
    async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<ServiceAccountInfo>>, LookupError> {
        Ok(Some(Arc::new(ServiceAccountInfo::new(
            namespace,
            name,
            [(
                "azure.workload.identity/client-id".to_owned(),
                "11111111-2222-3333-4444-555555555555".to_owned(),
            )],
        ))))
    }
}

fuzz_target!(|data: &[u8]| {
    let config = MutationConfig::default().with_tenant_id(
        "72f988bf-86f1-41af-91ab-2d7cd011db47"
            .parse()
            .expect("valid tenant"),
    );
    // The server reads the review and its pod in one pass; it must answer
    // exactly as reading the review, then decoding its pod, does.
    let served = futures::executor::block_on(admit_review(data, &config, &EveryAccount));
    let request = match AdmissionRequest::from_review_slice(data) {
        Ok(request) => request,
        Err(error) => {
            let served = served.err().map(|e| e.to_string());
            assert_eq!(served, Some(error.to_string()));
            return;
        }
    };
    let response = futures::executor::block_on(admit(&request, &config, &EveryAccount));
    let (served, namespace) = served.expect("the one-pass read accepts the review too");
    assert_eq!(served, response);
    assert_eq!(namespace, request.namespace);
    check_patch(&request, &response, &config);
    let review = response.into_review();
    assert_eq!(
        review["response"]["uid"].as_str(),
        Some(request.uid.as_str())
    );
});

/// An allowed response's patch applies to the object it was computed for,
/// and answering the patched object again gives no further patch.
fn check_patch(request: &AdmissionRequest, response: &AdmissionResponse, config: &MutationConfig) {
    let (true, Some(patch), Some(raw)) = (
        response.is_allowed(),
        response.patch(),
        request.object.as_deref(),
    ) else {
        return;
    };
    // The object is passed through as the JSON text it came in; a
    // `serde_json::Value` cannot hold every JSON number (1e400, say, which
    // no API server sends and the webhook never reads), and then the patch
    // cannot be applied here to check it.
    let Ok(mut mutated) = serde_json::from_str::<Value>(raw.get()) else {
        return;
    };
    json_patch::patch(&mut mutated, &patch.0).expect("the patch applies to its own input");
    let mut again = request.clone();
    again.object = Some(serde_json::value::to_raw_value(&mutated).expect("serializes"));
    let second = futures::executor::block_on(admit(&again, config, &EveryAccount));
    assert!(
        second.is_allowed(),
        "the output is denied: {:?}",
        second.denial()
    );
    assert!(
        second.patch().is_none(),
        "not idempotent: {:?}",
        second.patch()
    );
}
