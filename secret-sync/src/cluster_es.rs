//! The decisions of a ClusterExternalSecret's reconcile, apart from the API
//! server: which namespaces it selects, the ExternalSecret it writes in
//! each, which ExternalSecrets it deletes, and its status. The controller
//! (`controller::cluster_external_secret`) only reads and writes.
//!
//! The behaviour is ESO's (external-secrets/external-secrets
//! `pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller.go`
//! and `util.go`, and `runtime/esutils/utils.go` `GetTargetNamespaces`);
//! label selectors are parsed as apimachinery's `LabelSelectorAsSelector`
//! and `labels.NewRequirement` do, with their error texts.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    time::Duration,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource as _, ResourceExt as _};

use crate::{
    api::{
        ClusterExternalSecret, ClusterExternalSecretCondition, ClusterExternalSecretSpec,
        ClusterExternalSecretStatus, ExternalSecret, GROUP, LabelSelector, NamespaceFailure,
    },
    duration::parse_go_duration,
};

/// The annotation a ClusterExternalSecret passes on to its ExternalSecrets
/// (and removes from them when it loses it): ESO's `AnnotationForceSync`.
pub const FORCE_SYNC: &str = "external-secrets.io/force-sync";

/// How often the namespaces are looked at again without `refreshTime`
/// (ESO's controller is started with one hour).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

/// ESO's reason for a namespace holding an ExternalSecret of that name
/// that this ClusterExternalSecret did not write.
pub const ALREADY_EXISTS: &str = "external secret already exists in namespace";

/// ESO's `Ready=False` message (`errNamespacesFailed`).
pub const NAMESPACES_FAILED: &str = "one or more namespaces failed";

/// The namespace ESO lists a failure under when the namespaces themselves
/// could not be chosen.
pub const UNKNOWN_NAMESPACE: &str = "unknown";

/// A field of the spec that cannot be served: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The field's path (`spec.namespaceSelectors[1].matchExpressions[0]`).
    pub field: String,
    /// apimachinery's text, or what is wrong with a duration.
    pub reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for SpecError {}

/// One parsed label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Self::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Self::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Self::Exists(k) => labels.contains_key(k),
            Self::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// Go's `%#v` of a `[]string` as apimachinery's field error prints it.
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_owned();
    }
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// apimachinery's `qualifiedNameFmt` and the texts built on it
/// (k8s.io/apimachinery `pkg/util/validation/validation.go`).
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// apimachinery's `RegexError`: the message, examples and pattern.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let quoted: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        quoted.join(" or ")
    )
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, whole.
fn is_qualified_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    matches!((bytes.first(), bytes.last()), (Some(a), Some(b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
        && bytes
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// apimachinery's `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        matches!((b.first(), b.last()), (Some(x), Some(y)) if x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    };
    if !s.split('.').all(label_ok) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// apimachinery's `IsQualifiedName`: a label key.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let name_regex_error = || {
        regex_error(
            QUALIFIED_NAME_MSG,
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let parts: Vec<&str> = key.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                name_regex_error()
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_owned());
    }
    if !is_qualified_part(name) {
        errs.push(format!("name part {}", name_regex_error()));
    }
    errs
}

/// apimachinery's `IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !value.is_empty() && !is_qualified_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            &format!("({QUALIFIED_NAME_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// The operators of a requirement, as apimachinery's `selection` has them.
#[derive(Clone, Copy)]
enum Op {
    Equals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// apimachinery's `labels.NewRequirement`: the key, the number of values
/// for the operator and each value checked, every error kept
/// (`field.Invalid` texts, aggregated as `[a, b]` when more than one).
fn requirement(key: &str, op: Op, values: &[String]) -> Result<Requirement, String> {
    let mut errs = Vec::new();
    let key_errs = qualified_name_errors(key);
    if !key_errs.is_empty() {
        errs.push(format!(
            "key: Invalid value: {key:?}: {}",
            key_errs.join("; ")
        ));
    }
    let values_invalid = |detail: &str| {
        format!(
            "values: Invalid value: {}: {detail}",
            go_string_slice(values)
        )
    };
    match op {
        Op::In | Op::NotIn if values.is_empty() => {
            errs.push(values_invalid(
                "for 'in', 'notin' operators, values set can't be empty",
            ));
        }
        Op::Equals if values.len() != 1 => {
            errs.push(values_invalid(
                "exact-match compatibility requires one single value",
            ));
        }
        Op::Exists | Op::DoesNotExist if !values.is_empty() => {
            errs.push(values_invalid(
                "values set must be empty for exists and does not exist",
            ));
        }
        _ => {}
    }
    for (i, value) in values.iter().enumerate() {
        let value_errs = label_value_errors(value);
        if !value_errs.is_empty() {
            errs.push(format!(
                "values[{i}][{key}]: Invalid value: {value:?}: {}",
                value_errs.join("; ")
            ));
        }
    }
    match errs.len() {
        0 => Ok(match op {
            Op::Equals | Op::In => Requirement::In(key.to_owned(), values.to_vec()),
            Op::NotIn => Requirement::NotIn(key.to_owned(), values.to_vec()),
            Op::Exists => Requirement::Exists(key.to_owned()),
            Op::DoesNotExist => Requirement::DoesNotExist(key.to_owned()),
        }),
        1 => Err(errs.concat()),
        _ => Err(format!("[{}]", errs.join(", "))),
    }
}

/// A selector as apimachinery's `LabelSelectorAsSelector` parses it
/// (`matchLabels` as equality, then each `matchExpressions` operator as
/// its requirement); `at` names the field for the error.
fn parse_selector(selector: &LabelSelector, at: &str) -> Result<Vec<Requirement>, SpecError> {
    let mut out = Vec::new();
    for (key, value) in &selector.match_labels {
        let parsed =
            requirement(key, Op::Equals, std::slice::from_ref(value)).map_err(|reason| {
                SpecError {
                    field: format!("{at}.matchLabels"),
                    reason,
                }
            })?;
        out.push(parsed);
    }
    for (i, e) in selector.match_expressions.iter().enumerate() {
        let err = |reason: String| SpecError {
            field: format!("{at}.matchExpressions[{i}]"),
            reason,
        };
        let op = match e.operator.as_str() {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            other => {
                return Err(err(format!(
                    "{other:?} is not a valid label selector operator"
                )));
            }
        };
        out.push(requirement(&e.key, op, &e.values).map_err(err)?);
    }
    Ok(out)
}

/// The ExternalSecrets' name: `externalSecretName`, else the
/// ClusterExternalSecret's own.
#[must_use]
pub fn external_secret_name(ces: &ClusterExternalSecret) -> String {
    ces.spec
        .external_secret_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| ces.name_any())
}

/// How long until the next look at the namespaces: `refreshTime`, else
/// [`DEFAULT_REFRESH`].
///
/// # Errors
///
/// `refreshTime` is not a Go duration.
pub fn refresh(spec: &ClusterExternalSecretSpec) -> Result<Duration, SpecError> {
    match &spec.refresh_time {
        None => Ok(DEFAULT_REFRESH),
        Some(text) => parse_go_duration(text).ok_or_else(|| SpecError {
            field: "spec.refreshTime".to_owned(),
            reason: format!("time: invalid duration {text:?}"),
        }),
    }
}

/// The namespaces selected, sorted, out of `namespaces` (each name with
/// its labels): those named in `namespaces` that exist, and those any
/// selector (`namespaceSelector` or one of `namespaceSelectors`) matches.
/// ESO selects a name through the `kubernetes.io/metadata.name` label the
/// API server sets; the name is matched here directly, the same on
/// servers that set the label and on the 1.20 servers that do not yet.
///
/// # Errors
///
/// A selector that does not parse, named by its field; nothing is
/// selected then (ESO's `GetTargetNamespaces` stops too).
pub fn selected_namespaces(
    spec: &ClusterExternalSecretSpec,
    namespaces: &[(String, BTreeMap<String, String>)],
) -> Result<Vec<String>, SpecError> {
    let mut selectors = Vec::new();
    if let Some(selector) = &spec.namespace_selector {
        selectors.push(parse_selector(selector, "spec.namespaceSelector")?);
    }
    for (i, selector) in spec.namespace_selectors.iter().enumerate() {
        selectors.push(parse_selector(
            selector,
            &format!("spec.namespaceSelectors[{i}]"),
        )?);
    }
    let chosen: BTreeSet<String> = namespaces
        .iter()
        .filter(|(name, labels)| {
            spec.namespaces.contains(name)
                || selectors
                    .iter()
                    .any(|requirements| requirements.iter().all(|r| r.matches(labels)))
        })
        .map(|(name, _)| name.clone())
        .collect();
    Ok(chosen.into_iter().collect())
}

/// Namespaces provisioned before and no longer selected, whose
/// ExternalSecret is deleted (ESO's `getRemovedNamespaces`).
#[must_use]
pub fn removed_namespaces(selected: &[String], provisioned: &[String]) -> Vec<String> {
    provisioned
        .iter()
        .filter(|ns| !selected.contains(ns))
        .cloned()
        .collect()
}

/// When `externalSecretName` changed since the last status, the old name
/// and the namespaces its ExternalSecrets are in, to delete them.
#[must_use]
pub fn renamed(
    status: Option<&ClusterExternalSecretStatus>,
    name: &str,
) -> Option<(String, Vec<String>)> {
    let status = status?;
    let previous = status.external_secret_name.as_deref()?;
    (!previous.is_empty() && previous != name)
        .then(|| (previous.to_owned(), status.provisioned_namespaces.clone()))
}

/// Whether `es` is controlled by the ClusterExternalSecret `ces_name`
/// (ESO's `isExternalSecretOwnedBy`: the controller reference's group,
/// kind and name). One that is not is never written over nor deleted.
#[must_use]
pub fn owned_by(es: &ExternalSecret, ces_name: &str) -> bool {
    es.owner_references().iter().any(|o| {
        o.controller == Some(true)
            && o.kind == "ClusterExternalSecret"
            && o.api_version.split('/').next() == Some(GROUP)
            && o.name == ces_name
    })
}

/// The controller reference an ExternalSecret of `ces` carries.
fn controller_reference(ces: &ClusterExternalSecret) -> OwnerReference {
    OwnerReference {
        api_version: ClusterExternalSecret::api_version(&()).into_owned(),
        kind: ClusterExternalSecret::kind(&()).into_owned(),
        name: ces.name_any(),
        uid: ces.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// Labels and annotations from `externalSecretMetadata`, with the
/// ClusterExternalSecret's force-sync annotation if it has one.
fn metadata_of(
    ces: &ClusterExternalSecret,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let metadata = ces
        .spec
        .external_secret_metadata
        .clone()
        .unwrap_or_default();
    let mut annotations = metadata.annotations;
    if let Some(value) = ces.annotations().get(FORCE_SYNC) {
        annotations.insert(FORCE_SYNC.to_owned(), value.clone());
    } else {
        annotations.remove(FORCE_SYNC);
    }
    (metadata.labels, annotations)
}

/// The ExternalSecret `ces` writes into `namespace` under `name`: its
/// metadata, its spec, controlled by `ces`.
#[must_use]
pub fn desired(ces: &ClusterExternalSecret, namespace: &str, name: &str) -> ExternalSecret {
    let (labels, annotations) = metadata_of(ces);
    let mut es = ExternalSecret::new(name, ces.spec.external_secret_spec.clone());
    es.metadata = ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: (!labels.is_empty()).then_some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        owner_references: Some(vec![controller_reference(ces)]),
        ..ObjectMeta::default()
    };
    es
}

/// `existing` (written by `ces`) brought to what `ces` says: labels and
/// annotations replaced, the spec replaced, the controller reference set
/// (other owners kept), as ESO's `CreateOrUpdate` mutation does; `None`
/// when it already is, so nothing is written.
#[must_use]
pub fn updated(existing: &ExternalSecret, ces: &ClusterExternalSecret) -> Option<ExternalSecret> {
    let (labels, annotations) = metadata_of(ces);
    let mut next = existing.clone();
    next.metadata.labels = (!labels.is_empty()).then_some(labels);
    next.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    next.spec = ces.spec.external_secret_spec.clone();
    let reference = controller_reference(ces);
    let owners = next.metadata.owner_references.get_or_insert_with(Vec::new);
    owners.retain(|o| o.controller != Some(true));
    owners.push(reference);
    let same_owners = {
        let mut a = existing
            .metadata
            .owner_references
            .clone()
            .unwrap_or_default();
        let mut b = owners.clone();
        a.sort_by(|x, y| x.uid.cmp(&y.uid));
        b.sort_by(|x, y| x.uid.cmp(&y.uid));
        a == b
    };
    let empty_is_none = |m: &Option<BTreeMap<String, String>>| m.clone().filter(|m| !m.is_empty());
    let unchanged = same_owners
        && empty_is_none(&existing.metadata.labels) == next.metadata.labels
        && empty_is_none(&existing.metadata.annotations) == next.metadata.annotations
        && existing.spec == next.spec;
    (!unchanged).then_some(next)
}

/// The `Ready` condition: `True` with no failure, else `False` with ESO's
/// message.
fn ready(failed: bool, message: Option<String>) -> ClusterExternalSecretCondition {
    ClusterExternalSecretCondition {
        type_: "Ready".to_owned(),
        status: if failed { "False" } else { "True" }.to_owned(),
        message: failed.then(|| message.unwrap_or_else(|| NAMESPACES_FAILED.to_owned())),
    }
}

/// The status after a reconcile: the name written under, the namespaces
/// provisioned and failed (each sorted), `Ready`.
#[must_use]
pub fn status(
    name: &str,
    mut provisioned: Vec<String>,
    failed: &BTreeMap<String, String>,
) -> ClusterExternalSecretStatus {
    provisioned.sort();
    provisioned.dedup();
    ClusterExternalSecretStatus {
        external_secret_name: Some(name.to_owned()),
        failed_namespaces: failed
            .iter()
            .map(|(namespace, reason)| NamespaceFailure {
                namespace: namespace.clone(),
                reason: Some(reason.clone()),
            })
            .collect(),
        provisioned_namespaces: provisioned,
        conditions: vec![ready(!failed.is_empty(), None)],
    }
}

/// The status when the spec cannot be served: the failure under
/// [`UNKNOWN_NAMESPACE`] as ESO lists it, and a `Ready=False` message
/// naming the object, the field and the reason. The namespaces provisioned
/// before are kept, as their ExternalSecrets are: nothing is deleted on
/// input that does not parse.
#[must_use]
pub fn spec_error_status(
    ces: &ClusterExternalSecret,
    name: &str,
    error: &SpecError,
) -> ClusterExternalSecretStatus {
    let provisioned = ces
        .status
        .as_ref()
        .map(|s| s.provisioned_namespaces.clone())
        .unwrap_or_default();
    let reason = format!("ClusterExternalSecret {:?}: {error}", ces.name_any());
    ClusterExternalSecretStatus {
        external_secret_name: Some(name.to_owned()),
        failed_namespaces: vec![NamespaceFailure {
            namespace: UNKNOWN_NAMESPACE.to_owned(),
            reason: Some(reason.clone()),
        }],
        provisioned_namespaces: provisioned,
        conditions: vec![ready(true, Some(format!("{NAMESPACES_FAILED}: {reason}")))],
    }
}

#[cfg(test)]
#[path = "cluster_es_tests.rs"]
mod tests;
