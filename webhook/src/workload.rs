//! Warnings for workloads whose pods will not get the workload identity the
//! user meant them to have: the warn-only validating path.
//!
//! The mutating webhook sees pods only, selected by the
//! `azure.workload.identity/use: "true"` label on the pod. The most common
//! mistake is to put that label on the Deployment (or other workload) itself,
//! where nothing reads it: the pods come up without a token and the SDK
//! fails far from the cause. Registered as a `ValidatingWebhookConfiguration`
//! with `failurePolicy: Ignore`, this path always allows and returns
//! admission warnings, which `kubectl apply` prints as `Warning: ...`.
//!
//! [`workload_warnings`] holds the rules and does no I/O;
//! [`review_workload`] is the async shell that looks up the ServiceAccount.
//! [`may_be_labelled`] is the fast path: a workload whose review does not
//! mention the label at all is answered without decoding its object.

use azure_wi_core::{ServiceAccountInfo, names};
use serde_json::Value;

use crate::{
    admission::{AdmissionRequest, AdmissionResponse},
    serviceaccount::ServiceAccountLookup,
};

/// The kinds warned about, with the path of their pod template. Other kinds
/// get no warnings.
const KINDS: [(&str, &[&str]); 6] = [
    ("Deployment", &["spec", "template"]),
    ("StatefulSet", &["spec", "template"]),
    ("DaemonSet", &["spec", "template"]),
    ("ReplicaSet", &["spec", "template"]),
    ("Job", &["spec", "template"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template"]),
];

/// Whether a raw AdmissionReview body can hold the label at all: a plain
/// byte search for `azure.workload.identity/use`, with no JSON decoding.
///
/// The API server writes JSON with Go's encoder, which escapes neither `/`
/// nor letters, so a labelled object always contains the key verbatim. A
/// `false` answer is exact; a `true` one (the key somewhere, perhaps in an
/// annotation or a value) is checked by decoding.
pub fn may_be_labelled(body: &[u8]) -> bool {
    let needle = names::USE_LABEL.as_bytes();
    body.windows(needle.len()).any(|w| w == needle)
}

/// The ServiceAccount the workload's pods run as, when its pod template
/// carries the label (the only case where the ServiceAccount matters):
/// `serviceAccountName`, else the deprecated `serviceAccount`, else
/// `default`, as the API server fills it.
pub fn template_service_account<'a>(kind: &str, object: &'a Value) -> Option<&'a str> {
    let template = template(kind, object)?;
    if !is_labelled(template) {
        return None;
    }
    let spec = template.get("spec");
    let name = ["serviceAccountName", "serviceAccount"]
        .iter()
        .filter_map(|key| spec?.get(key)?.as_str())
        .find(|name| !name.is_empty());
    Some(name.unwrap_or("default"))
}

/// The warnings for one workload object of `kind` in `namespace`.
///
/// - The label on the workload's own metadata but not on its pod template:
///   it does nothing there, so say where to move it.
/// - The label on the pod template, and the template's ServiceAccount
///   (`service_account`, as found by the caller) without a client-id
///   annotation: the pods get a token but no `AZURE_CLIENT_ID`.
///
/// `service_account` is `None` when the ServiceAccount was not found or
/// could not be looked up: a missing one is often created later in the same
/// `kubectl apply`, and a failed lookup says nothing about the workload, so
/// neither is a warning. Kinds other than the six workload kinds, and
/// objects without a pod template, get none.
pub fn workload_warnings(
    kind: &str,
    object: &Value,
    namespace: &str,
    service_account: Option<&ServiceAccountInfo>,
) -> Vec<String> {
    let Some(template) = template(kind, object) else {
        return Vec::new();
    };
    let path = template_path(kind).join(".");
    let who = format!("{kind} {namespace}/{}", display_name(object));
    let mut warnings = Vec::new();
    let template_labelled = is_labelled(template);
    if is_labelled(object) && !template_labelled {
        warnings.push(format!(
            "{who} has label {label} on its own metadata, where it does nothing: put it on \
             {path}.metadata.labels so its pods get the workload identity",
            label = names::USE_LABEL,
        ));
    }
    if let Some(sa) = service_account.filter(|_| template_labelled) {
        let client_id = sa.annotation(names::CLIENT_ID_ANNOTATION).unwrap_or("");
        if client_id.is_empty() {
            warnings.push(format!(
                "{who}: its pod template's ServiceAccount {}/{} has no {} annotation, so its \
                 pods get no {}: annotate the ServiceAccount with the client id of the managed \
                 identity or app registration",
                sa.namespace(),
                sa.name(),
                names::CLIENT_ID_ANNOTATION,
                names::CLIENT_ID_ENV,
            ));
        }
    }
    warnings
}

/// Answers one AdmissionRequest for a workload: always allowed, with the
/// [`workload_warnings`]. The ServiceAccount is looked up only when the pod
/// template carries the label.
pub async fn review_workload<L: ServiceAccountLookup>(
    request: &AdmissionRequest,
    service_accounts: &L,
) -> AdmissionResponse {
    let response = AdmissionResponse::for_request(request);
    let Some(raw) = request.object.as_deref() else {
        return response;
    };
    let object = &prune::workload_object(raw.get());
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let namespace = match request.namespace.as_str() {
        "" => object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or(""),
        namespace => namespace,
    };
    let service_account = match template_service_account(kind, object) {
        Some(name) => match service_accounts.lookup(namespace, name).await {
            Ok(found) => found,
            Err(error) => {
                tracing::info!(%error, "no ServiceAccount check: the lookup failed");
                None
            }
        },
        None => None,
    };
    let warnings = workload_warnings(kind, object, namespace, service_account.as_deref());
    for warning in &warnings {
        tracing::info!(%warning, "workload admitted with a warning");
    }
    response.with_warnings(warnings)
}

fn template_path(kind: &str) -> &'static [&'static str] {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, path)| path)
}

fn template<'a>(kind: &str, object: &'a Value) -> Option<&'a Value> {
    let path = template_path(kind);
    if path.is_empty() {
        return None;
    }
    path.iter()
        .try_fold(object, |value, key| value.get(key))
        .filter(|t| t.is_object())
}

/// Whether `value.metadata.labels` has the label set to `"true"`, the value
/// the MutatingWebhookConfiguration's `objectSelector` matches.
fn is_labelled(value: &Value) -> bool {
    value
        .pointer("/metadata/labels")
        .and_then(|labels| labels.get(names::USE_LABEL))
        .and_then(Value::as_str)
        == Some("true")
}

fn display_name(object: &Value) -> String {
    let metadata = object.get("metadata");
    let field = |key| metadata.and_then(|m| m.get(key)).and_then(Value::as_str);
    match (field("name"), field("generateName")) {
        (Some(name), _) if !name.is_empty() => name.to_owned(),
        (_, Some(prefix)) => format!("{prefix}*"),
        _ => "<unnamed>".to_owned(),
    }
}

mod prune;
#[cfg(test)]
mod tests;
