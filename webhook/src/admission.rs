//! AdmissionReview in and out, for `admission.k8s.io/v1` and `v1beta1`.
//!
//! The request's `object` is kept as raw JSON, so that a pod this webhook
//! cannot decode still gets a proper denial carrying the request's `uid`
//! (the API server discards a response whose `uid` does not match). The one
//! place where a mutation result becomes a response is
//! [`AdmissionResponse::with_result`].

use serde::{Deserialize, Serialize};
use serde_json::{Value, value::RawValue};

use crate::{
    config::MutationConfig,
    mutate::{AdmissionPod, DecodedPod, Denial, Mutation, mutate},
    serviceaccount::ServiceAccountLookup,
};

/// `kind` of every AdmissionReview.
const KIND: &str = "AdmissionReview";

/// Why a body is not an AdmissionReview this webhook can answer. The server
/// answers these with HTTP 400; they never reach the mutation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReviewError {
    /// The body is not JSON of the AdmissionReview shape.
    #[error("body is not a valid AdmissionReview: {0}")]
    Malformed(String),
    /// `kind` is something other than `AdmissionReview`.
    #[error("expected kind AdmissionReview, got {0:?}")]
    WrongKind(String),
    /// `apiVersion` is neither `admission.k8s.io/v1` nor `admission.k8s.io/v1beta1`.
    #[error(
        "unsupported apiVersion {0:?}: expected admission.k8s.io/v1 or admission.k8s.io/v1beta1"
    )]
    UnsupportedVersion(String),
    /// The review has no `request`.
    #[error("AdmissionReview has no request")]
    MissingRequest,
    /// The request has an empty `uid`, which the response must echo.
    #[error("AdmissionReview request has no uid")]
    MissingUid,
    /// `uid` or `namespace` is longer than any the API server sends: an
    /// object's uid is a UUID, a namespace name a DNS label of at most 63
    /// characters. Refused before either reaches a log line or a metric.
    #[error(
        "AdmissionReview request {field} is {length} characters long, more than the {max} a Kubernetes {field} can be"
    )]
    TooLong {
        /// `uid` or `namespace`.
        field: &'static str,
        /// Its length in characters.
        length: usize,
        /// The most accepted.
        max: usize,
    },
}

/// Longest `request.uid` accepted: UUIDs are 36 characters; some room is
/// left for clients of the `webhook mutate` dry run that write their own.
const MAX_UID_CHARS: usize = 128;

/// Longest `request.namespace` accepted: a DNS-1123 label.
const MAX_NAMESPACE_CHARS: usize = 63;

/// Refuses a `uid` or `namespace` no API server sends.
fn check_length(field: &'static str, value: &str, max: usize) -> Result<(), ReviewError> {
    let length = value.chars().count();
    if length > max {
        return Err(ReviewError::TooLong { field, length, max });
    }
    Ok(())
}

/// Which AdmissionReview version a request came in, echoed in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewVersion {
    /// `admission.k8s.io/v1`.
    V1,
    /// `admission.k8s.io/v1beta1`, still sent by older API servers.
    V1Beta1,
}

impl ReviewVersion {
    /// The `apiVersion` string.
    pub fn api_version(self) -> &'static str {
        match self {
            Self::V1 => "admission.k8s.io/v1",
            Self::V1Beta1 => "admission.k8s.io/v1beta1",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewIn<R> {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    request: Option<R>,
}

impl<R> ReviewIn<R> {
    /// Checks the envelope; the one place its rules live.
    fn open(self) -> Result<(ReviewVersion, R), ReviewError> {
        if self.kind != KIND {
            return Err(ReviewError::WrongKind(self.kind));
        }
        let version = match self.api_version.as_str() {
            "admission.k8s.io/v1" => ReviewVersion::V1,
            "admission.k8s.io/v1beta1" => ReviewVersion::V1Beta1,
            _ => return Err(ReviewError::UnsupportedVersion(self.api_version)),
        };
        let request = self.request.ok_or(ReviewError::MissingRequest)?;
        Ok((version, request))
    }
}

/// A request read for its uid only: every other field, the object
/// included, is skipped by the parser without being built.
#[derive(Deserialize)]
struct UidOnly {
    #[serde(default)]
    uid: String,
}

/// The version and uid of an AdmissionReview, read without building its
/// object: what an allowing answer with nothing to add needs, at a fraction
/// of the cost of [`AdmissionRequest::from_review_slice`].
///
/// # Errors
///
/// The same [`ReviewError`]s as a full read, for the same envelopes.
pub fn review_envelope(body: &[u8]) -> Result<(ReviewVersion, String), ReviewError> {
    let review: ReviewIn<UidOnly> =
        serde_json::from_slice(body).map_err(|e| ReviewError::Malformed(e.to_string()))?;
    let (version, request) = review.open()?;
    if request.uid.is_empty() {
        return Err(ReviewError::MissingUid);
    }
    check_length("uid", &request.uid, MAX_UID_CHARS)?;
    Ok((version, request.uid))
}

/// An AdmissionRequest as read, its object as `O`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "O: Deserialize<'de>"))]
struct RequestIn<O> {
    uid: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    operation: String,
    #[serde(default)]
    object: Option<O>,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// The fields of an AdmissionRequest this webhook uses.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AdmissionRequest {
    /// Identifier the response must echo.
    pub uid: String,
    /// Namespace the object is created in.
    pub namespace: String,
    /// Operation. The webhook is registered for `CREATE` only, and only a
    /// creation is mutated (see [`is_creation`](Self::is_creation)).
    pub operation: String,
    /// The object, as the JSON text it arrived in (`None` when absent or
    /// `null`): decoded only as far as the answer needs, never into a tree
    /// of the whole object.
    pub object: Option<Box<RawValue>>,
    /// Whether the request is a dry run (`kubectl apply --dry-run=server`).
    ///
    /// The webhook has no side effects (it is registered with
    /// `sideEffects: None`): answering reads a ServiceAccount at most and
    /// writes nothing anywhere. So a dry run is answered exactly as a real
    /// request, touching nothing; the flag only shows in the server's log.
    pub dry_run: Option<bool>,
    /// Version of the review it arrived in.
    pub version: ReviewVersion,
}

impl AdmissionRequest {
    /// Reads an AdmissionReview request body.
    pub fn from_review_slice(body: &[u8]) -> Result<Self, ReviewError> {
        let review: ReviewIn<RequestIn<Box<RawValue>>> =
            serde_json::from_slice(body).map_err(|e| ReviewError::Malformed(e.to_string()))?;
        let (version, request) = review.open()?;
        Self::new(version, request, |raw| {
            Ok(Some(raw).filter(|r| r.get() != "null"))
        })
    }

    /// Reads an AdmissionReview and decodes its object as a pod in the same
    /// pass over the body; the request's `object` is left `None`, the pod
    /// is returned instead. `None` when that pass fails, for whatever
    /// reason: reading the body again with
    /// [`from_review_slice`](Self::from_review_slice) then says what is
    /// wrong (a review error, or a pod the mutation cannot read, which
    /// [`admit`] denies with the path of the field at fault).
    fn with_pod(body: &[u8]) -> Option<(Self, Option<DecodedPod<'_>>)> {
        // The whole body is checked to be UTF-8 first: the two-pass read
        // refuses an object with invalid UTF-8 even in a member the pod's
        // decoding skips, which the parser's skipping does not check.
        let body = std::str::from_utf8(body).ok()?;
        let review: ReviewIn<RequestIn<DecodedPod<'_>>> = serde_json::from_str(body).ok()?;
        let (version, mut request) = review.open().ok()?;
        let pod = request.object.take();
        let request = Self::new(version, request, |_| Ok(None)).ok()?;
        Some((request, pod))
    }

    /// Reads an AdmissionReview request already parsed as JSON.
    pub fn from_review_value(body: Value) -> Result<Self, ReviewError> {
        let review: ReviewIn<RequestIn<Value>> = serde_path_to_error::deserialize(body)
            .map_err(|e| ReviewError::Malformed(format!("{}: {}", e.path(), e.inner())))?;
        let (version, request) = review.open()?;
        Self::new(version, request, |object| raw_object(&object))
    }

    fn new<O>(
        version: ReviewVersion,
        request: RequestIn<O>,
        raw: impl FnOnce(O) -> Result<Option<Box<RawValue>>, ReviewError>,
    ) -> Result<Self, ReviewError> {
        if request.uid.is_empty() {
            return Err(ReviewError::MissingUid);
        }
        check_length("uid", &request.uid, MAX_UID_CHARS)?;
        check_length("namespace", &request.namespace, MAX_NAMESPACE_CHARS)?;
        Ok(Self {
            uid: request.uid,
            namespace: request.namespace,
            operation: request.operation,
            object: request.object.map(raw).transpose()?.flatten(),
            dry_run: request.dry_run,
            version,
        })
    }

    /// Whether the request creates its object: `operation` is `CREATE`, or
    /// absent, as in a hand-written review.
    ///
    /// Any other operation (`UPDATE`, `DELETE`, `CONNECT`) reaches the
    /// webhook only through a MutatingWebhookConfiguration widened by hand,
    /// and is allowed without a patch: a running pod's spec cannot take a
    /// new volume (the API server would refuse the update), and a `DELETE`
    /// carries no object, so mutating or denying would only break updates
    /// and deletions.
    pub fn is_creation(&self) -> bool {
        self.operation.is_empty() || self.operation == "CREATE"
    }

    /// Whether the request is a dry run; see [`dry_run`](Self::dry_run).
    pub fn is_dry_run(&self) -> bool {
        self.dry_run.unwrap_or(false)
    }

    /// The request the API server sends when `pod` is created in
    /// `namespace` (`admission.k8s.io/v1`, `CREATE`, not a dry run): how the
    /// dry run and the golden tests feed a bare pod to [`admit`].
    pub fn pod_creation(uid: impl Into<String>, namespace: impl Into<String>, pod: &Value) -> Self {
        Self {
            uid: uid.into(),
            namespace: namespace.into(),
            operation: "CREATE".to_owned(),
            object: raw_object(pod).expect("a JSON value always serializes"),
            dry_run: Some(false),
            version: ReviewVersion::V1,
        }
    }
}

/// The JSON text of an object held as a value; `None` for `null`.
fn raw_object(object: &Value) -> Result<Option<Box<RawValue>>, ReviewError> {
    if object.is_null() {
        return Ok(None);
    }
    serde_json::value::to_raw_value(object)
        .map(Some)
        .map_err(|e| ReviewError::Malformed(format!("object: {e}")))
}

/// Longest warning sent, in characters: the API server truncates longer
/// ones to 256 anyway (its `warning` handling, and the AdmissionResponse
/// API docs: "Warnings over 256 characters ... may be truncated").
pub const MAX_WARNING_CHARS: usize = 256;

/// Most characters of warnings sent for one request: the API server keeps
/// about 4 KiB of warnings per response and drops the rest.
pub const MAX_WARNINGS_CHARS: usize = 4096;

/// Longest denial message sent, in characters: a denial quotes values from
/// the pod, which may be huge.
pub const MAX_DENIAL_CHARS: usize = 1024;

/// Cuts `text` to at most `max` characters, marking the cut.
fn truncated(mut text: String, max: usize) -> String {
    if text.chars().count() > max
        && let Some((at, _)) = text.char_indices().nth(max.saturating_sub(3))
    {
        text.truncate(at);
        text.push_str("...");
    }
    text
}

/// Bounds `warnings` as the API server would keep them: each at most
/// [`MAX_WARNING_CHARS`], all together at most [`MAX_WARNINGS_CHARS`]; the
/// ones past that are counted in one last warning instead.
fn bounded(warnings: Vec<String>) -> Vec<String> {
    let total = warnings.len();
    let mut kept = Vec::new();
    let mut used = 0;
    for warning in warnings {
        let warning = truncated(warning, MAX_WARNING_CHARS);
        let chars = warning.chars().count();
        // Room is left for the summary line.
        if used + chars > MAX_WARNINGS_CHARS - 64 {
            break;
        }
        used += chars;
        kept.push(warning);
    }
    if kept.len() < total {
        kept.push(format!("{} more warnings not shown", total - kept.len()));
    }
    kept
}

/// The answer to one AdmissionRequest, built like a sentence:
/// `AdmissionResponse::for_request(&req).with_result(result)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionResponse {
    version: ReviewVersion,
    uid: String,
    allowed: bool,
    /// The JSON Patch, as the bytes of its JSON text.
    patch: Option<Vec<u8>>,
    warnings: Vec<String>,
    denial: Option<(u16, String)>,
}

impl AdmissionResponse {
    /// An allowing response with no patch, echoing the request's uid and version.
    #[must_use]
    pub fn for_request(request: &AdmissionRequest) -> Self {
        Self::allowed(request.version, request.uid.clone())
    }

    /// An allowing response for a request known only by version and uid.
    #[must_use]
    pub fn allowed(version: ReviewVersion, uid: String) -> Self {
        Self {
            version,
            uid,
            allowed: true,
            patch: None,
            warnings: Vec::new(),
            denial: None,
        }
    }

    /// Applies the outcome of [`mutate`]: its patch and warnings, or its
    /// denial. This is the one place a [`Denial`] becomes a response.
    #[must_use]
    pub fn with_result(self, result: Result<Mutation, Denial>) -> Self {
        match result {
            Ok(mutation) => {
                let warnings = bounded(mutation.warnings().to_vec());
                Self {
                    patch: mutation.into_patch_json(),
                    warnings,
                    ..self
                }
            }
            Err(denial) => Self {
                allowed: false,
                patch: None,
                denial: Some((
                    denial.code(),
                    truncated(denial.to_string(), MAX_DENIAL_CHARS),
                )),
                ..self
            },
        }
    }

    /// Adds warnings for the user (`kubectl` prints each as `Warning: ...`)
    /// to an allowing response: how the warn-only workload path answers.
    #[must_use]
    pub fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings.extend(warnings);
        self.warnings = bounded(std::mem::take(&mut self.warnings));
        self
    }

    /// Whether the pod is admitted.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// The patch as the JSON text sent (before base64), when the pod is
    /// admitted and needs one.
    pub fn patch_json(&self) -> Option<&str> {
        self.patch
            .as_deref()
            .map(|json| std::str::from_utf8(json).expect("the patch is written from UTF-8 text"))
    }

    /// The patch, decoded from [`patch_json`](Self::patch_json), when the
    /// pod is admitted and needs one.
    pub fn patch(&self) -> Option<json_patch::Patch> {
        self.patch.as_deref().map(|json| {
            serde_json::from_slice(json).expect("the mutation writes a valid JSON Patch")
        })
    }

    /// Warnings shown to the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Code and message of a denial.
    pub fn denial(&self) -> Option<(u16, &str)> {
        self.denial.as_ref().map(|(c, m)| (*c, m.as_str()))
    }

    /// The full AdmissionReview to send back, as a JSON value.
    pub fn into_review(self) -> Value {
        serde_json::from_slice(&self.to_body()).expect("the response body is JSON")
    }

    /// The full AdmissionReview to send back, as the JSON body of the
    /// response. Written directly: the patch's base64 text needs no
    /// escaping, and encoding it as a JSON string would scan it again.
    pub fn to_body(&self) -> Vec<u8> {
        let patch_len = self.patch.as_ref().map_or(0, |p| p.len() / 3 * 4 + 4);
        let mut body = Vec::with_capacity(256 + patch_len);
        body.extend_from_slice(b"{\"apiVersion\":\"");
        body.extend_from_slice(self.version.api_version().as_bytes());
        body.extend_from_slice(b"\",\"kind\":\"");
        body.extend_from_slice(KIND.as_bytes());
        body.extend_from_slice(b"\",\"response\":{\"uid\":");
        write_json(&mut body, &self.uid);
        body.extend_from_slice(if self.allowed {
            b",\"allowed\":true"
        } else {
            b",\"allowed\":false"
        });
        if let Some(patch) = &self.patch {
            body.extend_from_slice(b",\"patchType\":\"JSONPatch\",\"patch\":\"");
            base64_simd::STANDARD.encode_append(patch, &mut body);
            body.push(b'"');
        }
        if !self.warnings.is_empty() {
            body.extend_from_slice(b",\"warnings\":");
            write_json(&mut body, &self.warnings);
        }
        if let Some((code, message)) = &self.denial {
            #[derive(Serialize)]
            struct Status<'a> {
                code: u16,
                message: &'a str,
            }
            body.extend_from_slice(b",\"status\":");
            write_json(
                &mut body,
                &Status {
                    code: *code,
                    message,
                },
            );
        }
        body.extend_from_slice(b"}}");
        body
    }
}

fn write_json(body: &mut Vec<u8>, value: &impl Serialize) {
    serde_json::to_writer(body, value).expect("strings always serialize");
}

/// Answers the AdmissionReview `body`, the server's pod admission: as
/// [`AdmissionRequest::from_review_slice`] and then [`admit`] would, with
/// the review and its pod read in one pass over the body. Returns the
/// response and the request's namespace.
///
/// # Errors
///
/// The [`ReviewError`] of a body that is not an AdmissionReview this
/// webhook can answer (HTTP 400).
pub async fn admit_review<L: ServiceAccountLookup>(
    body: &[u8],
    config: &MutationConfig,
    service_accounts: &L,
) -> Result<(AdmissionResponse, String), ReviewError> {
    let (request, pod) = match AdmissionRequest::with_pod(body) {
        Some((request, pod)) => {
            let pod = request.is_creation().then(|| {
                pod.map(|pod| AdmissionPod::from_decoded(pod, &request.namespace))
                    .ok_or(Denial::MissingObject)
            });
            (request, pod)
        }
        // Anything the one pass could not read is read again as `admit`
        // reads it, which tells what is wrong.
        None => {
            let request = AdmissionRequest::from_review_slice(body)?;
            let response = admit(&request, config, service_accounts).await;
            return Ok((response, request.namespace));
        }
    };
    let response = answer(&request, pod, config, service_accounts).await;
    Ok((response, request.namespace))
}

/// Answers one AdmissionRequest: decode the pod, look up its ServiceAccount,
/// mutate, respond.
///
/// This is the only admission flow. The `mutate` dry run, the golden tests
/// and the fuzz target call it; the server calls [`admit_review`], which
/// differs only in reading the pod in the same pass as the review and runs
/// the same steps after (the golden, property and fuzz tests hold the two
/// to the same answers), so what they exercise is what serves. With
/// [`StaticServiceAccounts`](crate::serviceaccount::StaticServiceAccounts)
/// the lookup is ready at once, so a caller without a runtime can drive it
/// with `futures::executor::block_on`.
///
/// Only a creation is mutated; any other operation is allowed unchanged
/// (see [`AdmissionRequest::is_creation`]). A dry run is answered like any
/// request, since answering has no side effects.
///
/// What an admission logs (its outcome when there is anything to say: a
/// denial, a warning, a request it leaves alone, or `admitted` at `debug`)
/// is logged in an `admission` tracing span carrying the request's `uid`,
/// `namespace` and `dry_run`, and the pod's name and ServiceAccount (`pod`,
/// `service_account`) once it decodes.
pub async fn admit<L: ServiceAccountLookup>(
    request: &AdmissionRequest,
    config: &MutationConfig,
    service_accounts: &L,
) -> AdmissionResponse {
    let pod = request
        .is_creation()
        .then(|| match request.object.as_deref() {
            None => Err(Denial::MissingObject),
            Some(raw) => AdmissionPod::from_json(raw.get(), &request.namespace),
        });
    answer(request, pod, config, service_accounts).await
}

/// [`admit`] once the pod is decoded (`None` for an operation other than a
/// creation).
async fn answer<L: ServiceAccountLookup>(
    request: &AdmissionRequest,
    pod: Option<Result<AdmissionPod<'_>, Denial>>,
    config: &MutationConfig,
    service_accounts: &L,
) -> AdmissionResponse {
    let Some(pod) = pod else {
        admission_span(request, None).in_scope(|| {
            tracing::info!(
                operation = %request.operation,
                "allowed unchanged: only pod creations are mutated"
            );
        });
        return AdmissionResponse::for_request(request);
    };
    let result = match &pod {
        Err(denial) => Err(denial.clone()),
        Ok(pod) => match service_accounts
            .lookup(pod.namespace(), pod.service_account_name())
            .await
        {
            Ok(sa) => mutate(pod, sa.as_deref(), config),
            Err(error) => Err(Denial::ServiceAccountUnavailable {
                namespace: pod.namespace().to_owned(),
                name: pod.service_account_name().to_owned(),
                reason: error.to_string(),
            }),
        },
    };
    log_outcome(request, pod.as_ref().ok(), &result);
    AdmissionResponse::for_request(request).with_result(result)
}

/// Logs the outcome of an admission in its span. The span is made only when
/// a line is written: a log subscriber formats a span's fields as it is
/// made, which for a pod admitted without a word cost more than its
/// mutation.
fn log_outcome(
    request: &AdmissionRequest,
    pod: Option<&AdmissionPod<'_>>,
    result: &Result<Mutation, Denial>,
) {
    let silent = matches!(result, Ok(mutation) if mutation.warnings().is_empty());
    if silent && !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let _entered = admission_span(request, pod).entered();
    match result {
        Ok(mutation) => {
            // One line per kept warning at most: a pod cannot flood the log.
            for warning in bounded(mutation.warnings().to_vec()) {
                tracing::info!(%warning, "admitted with a warning");
            }
            tracing::debug!(operations = mutation.operations(), "admitted");
        }
        Err(denial) => tracing::info!(code = denial.code(), reason = %denial, "denied"),
    }
}

/// The span an admission logs in.
fn admission_span(request: &AdmissionRequest, pod: Option<&AdmissionPod<'_>>) -> tracing::Span {
    tracing::info_span!(
        "admission",
        uid = %request.uid,
        namespace = %request.namespace,
        dry_run = request.is_dry_run(),
        pod = pod.map(AdmissionPod::display_name),
        service_account = pod.map(AdmissionPod::service_account_name),
    )
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use serde_json::json;

    use super::*;
    use crate::serviceaccount::StaticServiceAccounts;
    use azure_wi_core::ServiceAccountInfo;

    fn review(version: &str, object: Value) -> Value {
        let mut review = json!({
            "apiVersion": version, "kind": "AdmissionReview",
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "team", "operation": "CREATE",
                "userInfo": {"username": "admin"},
                "dryRun": false
            }
        });
        review["request"]["object"] = object;
        review
    }

    fn sa() -> ServiceAccountInfo {
        ServiceAccountInfo::new(
            "team",
            "default",
            [(
                azure_wi_core::names::CLIENT_ID_ANNOTATION.to_owned(),
                "11111111-2222-3333-4444-555555555555".to_owned(),
            )],
        )
    }

    fn answer(body: &Value) -> Value {
        let request = AdmissionRequest::from_review_slice(body.to_string().as_bytes()).unwrap();
        let accounts = StaticServiceAccounts::new([sa()]);
        let config = MutationConfig::default()
            .with_tenant_id("72f988bf-0000-4000-8000-000000000001".parse().unwrap());
        futures::executor::block_on(admit(&request, &config, &accounts)).into_review()
    }

    #[test]
    fn response_echoes_version_and_uid_and_carries_a_base64_patch() {
        for version in ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] {
            let out = answer(&review(
                version,
                json!({"spec": {"containers": [{"name": "c"}]}}),
            ));
            assert_eq!(out["apiVersion"], version);
            assert_eq!(out["kind"], "AdmissionReview");
            let response = &out["response"];
            assert_eq!(response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
            assert_eq!(response["allowed"], true);
            assert_eq!(response["patchType"], "JSONPatch");
            let patch = base64::engine::general_purpose::STANDARD
                .decode(response["patch"].as_str().unwrap())
                .unwrap();
            let patch: Vec<Value> = serde_json::from_slice(&patch).unwrap();
            assert!(patch.iter().all(|op| op["op"] == "add"), "{patch:?}");
            assert!(response.get("status").is_none());
        }
    }

    #[test]
    fn denial_carries_code_and_message_and_no_patch() {
        let out = answer(&review(
            "admission.k8s.io/v1",
            json!({"spec": {"serviceAccountName": "ghost", "containers": []}}),
        ));
        assert_eq!(
            out["response"],
            json!({
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "allowed": false,
                "status": {"code": 400, "message": "serviceaccounts \"ghost\" not found"}
            })
        );
    }

    #[test]
    fn undecodable_or_missing_object_is_denied_with_the_uid() {
        let out = answer(&review(
            "admission.k8s.io/v1",
            json!({"spec": {"containers": "no"}}),
        ));
        assert_eq!(
            out["response"]["uid"],
            "705ab4f5-6393-11e8-b7cc-42010a800002"
        );
        assert_eq!(out["response"]["status"]["code"], 400);
        let message = out["response"]["status"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("could not decode the pod: spec.containers: invalid type"),
            "{message}"
        );

        let out = answer(&review("admission.k8s.io/v1", Value::Null));
        assert_eq!(
            out["response"]["status"]["message"],
            "admission request has no object: expected a Pod"
        );
    }

    #[test]
    fn already_mutated_pod_gets_no_patch() {
        let first = answer(&review(
            "admission.k8s.io/v1",
            json!({"spec": {"containers": [{"name": "c"}]}}),
        ));
        let patch = base64::engine::general_purpose::STANDARD
            .decode(first["response"]["patch"].as_str().unwrap())
            .unwrap();
        let patch: json_patch::Patch = serde_json::from_slice(&patch).unwrap();
        let mut pod = json!({"spec": {"containers": [{"name": "c"}]}});
        json_patch::patch(&mut pod, &patch.0).unwrap();
        let second = answer(&review("admission.k8s.io/v1", pod));
        assert_eq!(second["response"]["allowed"], true);
        assert!(second["response"].get("patch").is_none());
        assert!(second["response"].get("patchType").is_none());
    }

    #[test]
    fn only_creations_are_mutated_other_operations_pass_unchanged() {
        let pod = json!({"spec": {"containers": [{"name": "c"}]}});
        for (operation, object) in [
            ("UPDATE", pod.clone()),
            ("DELETE", Value::Null),
            ("CONNECT", Value::Null),
        ] {
            let mut body = review("admission.k8s.io/v1", object);
            body["request"]["operation"] = json!(operation);
            assert_eq!(
                answer(&body)["response"],
                json!({"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": true}),
                "{operation}"
            );
        }
        // A review without an operation is taken as the creation it is
        // registered for.
        let mut body = review("admission.k8s.io/v1", pod);
        body["request"].as_object_mut().unwrap().remove("operation");
        assert_eq!(answer(&body)["response"]["patchType"], "JSONPatch");
    }

    #[test]
    fn a_dry_run_is_answered_exactly_as_a_real_request() {
        for object in [
            json!({"spec": {"containers": [{"name": "c"}]}}),
            json!({"spec": {"serviceAccountName": "ghost", "containers": []}}),
        ] {
            let real = review("admission.k8s.io/v1", object);
            let mut dry = real.clone();
            dry["request"]["dryRun"] = json!(true);
            let request = AdmissionRequest::from_review_value(dry.clone()).unwrap();
            assert!(request.is_dry_run());
            assert_eq!(answer(&dry), answer(&real));
        }
    }

    #[test]
    fn bad_reviews_say_what_is_wrong() {
        let err = |body: &str| {
            AdmissionRequest::from_review_slice(body.as_bytes())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("not json"),
            "body is not a valid AdmissionReview: expected ident at line 1 column 2"
        );
        assert_eq!(
            err(r#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u"}}"#),
            "expected kind AdmissionReview, got \"Pod\""
        );
        assert!(err(r#"{"apiVersion":"admission.k8s.io/v2","kind":"AdmissionReview","request":{"uid":"u"}}"#)
            .starts_with("unsupported apiVersion \"admission.k8s.io/v2\""));
        assert_eq!(
            err(r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#),
            "AdmissionReview has no request"
        );
        assert_eq!(
            err(
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":""}}"#
            ),
            "AdmissionReview request has no uid"
        );
        let long_namespace = format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","namespace":"{}"}}}}"#,
            "n".repeat(64)
        );
        assert_eq!(
            err(&long_namespace),
            "AdmissionReview request namespace is 64 characters long, more than the 63 a \
             Kubernetes namespace can be"
        );
        let long_uid = format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"{}"}}}}"#,
            "u".repeat(129)
        );
        assert!(err(&long_uid).starts_with("AdmissionReview request uid is 129 characters"));
        assert!(review_envelope(long_uid.as_bytes()).is_err());
    }

    #[test]
    fn warnings_and_denials_are_bounded_as_the_api_server_keeps_them() {
        let long = "x".repeat(10_000);
        assert_eq!(
            truncated(long.clone(), MAX_WARNING_CHARS).chars().count(),
            MAX_WARNING_CHARS
        );
        assert!(truncated(long.clone(), 10).ends_with("..."));
        assert_eq!(truncated("short".to_owned(), 10), "short");
        // Multi-byte characters are cut on a boundary.
        assert_eq!(truncated("é".repeat(300), 256).chars().count(), 256);

        let many: Vec<String> = (0..1000)
            .map(|i| format!("warning {i}: {}", "y".repeat(100)))
            .collect();
        let kept = bounded(many);
        let chars: usize = kept.iter().map(|w| w.chars().count()).sum();
        assert!(chars <= MAX_WARNINGS_CHARS, "{chars}");
        let last = kept.last().unwrap();
        assert!(last.ends_with("more warnings not shown"), "{last}");
        let shown = kept.len() - 1;
        assert_eq!(last, &format!("{} more warnings not shown", 1000 - shown));
        // A few short warnings pass unchanged.
        let few = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(bounded(few.clone()), few);

        let response =
            AdmissionResponse::allowed(ReviewVersion::V1, "u".into()).with_warnings(vec![long; 50]);
        let total: usize = response.warnings().iter().map(|w| w.chars().count()).sum();
        assert!(total <= MAX_WARNINGS_CHARS, "{total}");

        let denied = AdmissionResponse::allowed(ReviewVersion::V1, "u".into()).with_result(Err(
            Denial::ServiceAccountUnavailable {
                namespace: "team".into(),
                name: "z".repeat(100_000),
                reason: "timed out".into(),
            },
        ));
        let (code, text) = denied.denial().unwrap();
        assert_eq!(
            code,
            Denial::ServiceAccountUnavailable {
                namespace: String::new(),
                name: String::new(),
                reason: String::new(),
            }
            .code()
        );
        assert_eq!(text.chars().count(), MAX_DENIAL_CHARS);
        assert!(text.ends_with("..."));
    }

    /// `admit_review` (the server's one-pass read) and `admit` on the
    /// review read first give the same answer, or the same error.
    fn both_ways(body: &[u8]) -> Result<AdmissionResponse, String> {
        let accounts = StaticServiceAccounts::new([sa()]);
        let config = MutationConfig::default()
            .with_tenant_id("72f988bf-0000-4000-8000-000000000001".parse().unwrap());
        let served = futures::executor::block_on(admit_review(body, &config, &accounts))
            .map(|(response, _)| response)
            .map_err(|e| e.to_string());
        let read = AdmissionRequest::from_review_slice(body)
            .map(|request| futures::executor::block_on(admit(&request, &config, &accounts)))
            .map_err(|e| e.to_string());
        assert_eq!(served, read, "{}", String::from_utf8_lossy(body));
        served
    }

    #[test]
    fn one_pass_read_answers_as_the_two_pass_read() {
        let pod = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
        let good = review("admission.k8s.io/v1", pod.clone()).to_string();
        assert!(both_ways(good.as_bytes()).unwrap().patch().is_some());

        // A pod that does not decode is denied with the field at fault.
        let bad = review(
            "admission.k8s.io/v1",
            json!({"spec": {"containers": [{"name": 5}]}}),
        );
        let denied = both_ways(bad.to_string().as_bytes()).unwrap();
        assert!(
            denied
                .denial()
                .unwrap()
                .1
                .contains("spec.containers[0].name")
        );

        // A null object, no object, another operation, a broken envelope.
        let null = review("admission.k8s.io/v1", Value::Null);
        assert!(!both_ways(null.to_string().as_bytes()).unwrap().is_allowed());
        let mut update = review("admission.k8s.io/v1", json!({"spec": []}));
        update["request"]["operation"] = "UPDATE".into();
        assert!(
            both_ways(update.to_string().as_bytes())
                .unwrap()
                .is_allowed()
        );
        let mut no_uid = review("admission.k8s.io/v1", pod);
        no_uid["request"]["uid"] = "".into();
        assert!(both_ways(no_uid.to_string().as_bytes()).is_err());

        // Invalid UTF-8 in a member the pod's decoding skips: the two-pass
        // read refuses the body, so the one-pass read must too.
        let mut bytes = good
            .replace("\"image\":\"i\"", "\"image\":\"i?\"")
            .into_bytes();
        let at = bytes.iter().position(|&b| b == b'?').unwrap();
        bytes[at] = 0xa6;
        let error = both_ways(&bytes).unwrap_err();
        assert!(error.contains("invalid unicode code point"), "{error}");
    }
}
