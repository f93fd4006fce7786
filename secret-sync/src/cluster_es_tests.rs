//! ESO's ClusterExternalSecret controller cases
//! (external-secrets/external-secrets
//! `pkg/controllers/clusterexternalsecret/clusterexternalsecret_controller_test.go`)
//! as the decisions they rest on; `tests/cluster_external_secret.rs` runs
//! them through the controller on a real API server.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::api::{
    ExternalSecretData, ExternalSecretMetadata, ExternalSecretSpec, LabelSelector,
    LabelSelectorRequirement, RemoteRef, SecretStoreRef, Target,
};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// ESO's `defaultClusterExternalSecret`: store `test-store`, target
/// `test-secret`, one data entry.
fn default_ces(name: &str) -> ClusterExternalSecret {
    let es_spec = ExternalSecretSpec {
        secret_store_ref: SecretStoreRef {
            name: "test-store".to_owned(),
            ..SecretStoreRef::default()
        },
        target: Target {
            name: Some("test-secret".to_owned()),
            ..Target::default()
        },
        data: vec![ExternalSecretData {
            secret_key: "test-secret-key".to_owned(),
            remote_ref: RemoteRef {
                key: "test-remote-key".to_owned(),
                ..RemoteRef::default()
            },
            unsupported: crate::api::Unsupported::default(),
        }],
        ..ExternalSecretSpec::default()
    };
    let mut ces = ClusterExternalSecret::new(
        name,
        ClusterExternalSecretSpec {
            external_secret_spec: es_spec,
            ..ClusterExternalSecretSpec::default()
        },
    );
    ces.metadata.uid = Some("uid-1".to_owned());
    ces
}

fn by_name(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: labels(&[("kubernetes.io/metadata.name", name)]),
        ..LabelSelector::default()
    }
}

fn ns(name: &str, l: &[(&str, &str)]) -> (String, BTreeMap<String, String>) {
    let mut all = labels(l);
    all.insert("kubernetes.io/metadata.name".to_owned(), name.to_owned());
    (name.to_owned(), all)
}

fn ready_true() -> Vec<ClusterExternalSecretCondition> {
    vec![ClusterExternalSecretCondition {
        type_: "Ready".to_owned(),
        status: "True".to_owned(),
        message: None,
    }]
}

#[test]
fn uses_the_cluster_external_secret_name_if_external_secret_name_is_not_defined() {
    let mut ces = default_ces("test-ces");
    ces.spec.namespace_selector = Some(by_name("ns-a"));
    let name = external_secret_name(&ces);
    assert_eq!(name, "test-ces");
    let selected = selected_namespaces(&ces.spec, &[ns("ns-a", &[]), ns("ns-b", &[])]).unwrap();
    assert_eq!(selected, ["ns-a"]);
    let es = desired(&ces, "ns-a", &name);
    assert_eq!(es.metadata.name.as_deref(), Some("test-ces"));
    assert_eq!(es.metadata.namespace.as_deref(), Some("ns-a"));
    assert_eq!(es.metadata.labels, None);
    assert_eq!(es.metadata.annotations, None);
    assert_eq!(es.spec, ces.spec.external_secret_spec);
    assert!(owned_by(&es, "test-ces"));
    let s = status(&name, selected, &BTreeMap::new());
    assert_eq!(
        s,
        ClusterExternalSecretStatus {
            external_secret_name: Some("test-ces".to_owned()),
            provisioned_namespaces: vec!["ns-a".to_owned()],
            conditions: ready_true(),
            ..ClusterExternalSecretStatus::default()
        }
    );
}

#[test]
fn sets_external_secret_name_and_metadata_if_the_fields_are_set() {
    let mut ces = default_ces("test-ces");
    ces.spec.external_secret_name = Some("test-es".to_owned());
    let meta = ExternalSecretMetadata {
        labels: labels(&[
            ("test-label-key1", "test-label-value1"),
            ("test-label-key2", "test-label-value2"),
        ]),
        annotations: labels(&[
            ("test-annotation-key1", "test-annotation-value1"),
            ("test-annotation-key2", "test-annotation-value2"),
        ]),
    };
    ces.spec.external_secret_metadata = Some(meta.clone());
    let name = external_secret_name(&ces);
    assert_eq!(name, "test-es");
    let es = desired(&ces, "ns-a", &name);
    assert_eq!(es.metadata.labels, Some(meta.labels));
    assert_eq!(es.metadata.annotations, Some(meta.annotations));
    assert_eq!(
        status(&name, vec!["ns-a".to_owned()], &BTreeMap::new()).external_secret_name,
        Some("test-es".to_owned())
    );
}

#[test]
fn deletes_old_external_secrets_if_the_name_has_changed() {
    let before = ClusterExternalSecretStatus {
        external_secret_name: Some("old-es-name".to_owned()),
        provisioned_namespaces: vec!["ns-a".to_owned()],
        conditions: ready_true(),
        ..ClusterExternalSecretStatus::default()
    };
    assert_eq!(
        renamed(Some(&before), "new-es-name"),
        Some(("old-es-name".to_owned(), vec!["ns-a".to_owned()]))
    );
    assert_eq!(renamed(Some(&before), "old-es-name"), None);
    assert_eq!(renamed(None, "new-es-name"), None);
    let first = ClusterExternalSecretStatus::default();
    assert_eq!(renamed(Some(&first), "new-es-name"), None);
}

#[test]
fn updates_the_external_secret_if_the_fields_change() {
    let ces = default_ces("test-ces");
    let existing = desired(&ces, "ns-a", "test-ces");
    assert!(
        updated(&existing, &ces).is_none(),
        "nothing to write when current"
    );
    let mut changed = ces.clone();
    changed.spec.external_secret_metadata = Some(ExternalSecretMetadata {
        labels: labels(&[("test-label-key", "test-label-value")]),
        annotations: labels(&[("test-annotation-key", "test-annotation-value")]),
    });
    changed.spec.external_secret_spec.secret_store_ref.name = "updated-test-store".to_owned();
    let next = updated(&existing, &changed).unwrap();
    assert_eq!(
        next.metadata.labels,
        Some(labels(&[("test-label-key", "test-label-value")]))
    );
    assert_eq!(
        next.metadata.annotations,
        Some(labels(&[("test-annotation-key", "test-annotation-value")]))
    );
    assert_eq!(next.spec.secret_store_ref.name, "updated-test-store");
    assert_eq!(
        next.metadata.owner_references.as_ref().map(Vec::len),
        Some(1)
    );
    // A label someone added by hand is replaced, as ESO's mutation sets
    // the labels whole.
    let mut edited = existing.clone();
    edited.metadata.labels = Some(labels(&[("by-hand", "x")]));
    assert_eq!(updated(&edited, &ces).unwrap().metadata.labels, None);
}

#[test]
fn does_not_overwrite_an_existing_external_secret_it_did_not_write() {
    let ces = default_ces("test-ces");
    let foreign = ExternalSecret::new("test-ces", ExternalSecretSpec::default());
    assert!(!owned_by(&foreign, "test-ces"));
    // Written by another ClusterExternalSecret, or owned without being the
    // controller: not ours either.
    let other = desired(&default_ces("other-ces"), "ns-a", "test-ces");
    assert!(!owned_by(&other, "test-ces"));
    let mut not_controller = desired(&ces, "ns-a", "test-ces");
    if let Some(owners) = &mut not_controller.metadata.owner_references {
        for o in owners {
            o.controller = None;
        }
    }
    assert!(!owned_by(&not_controller, "test-ces"));
    let failed = BTreeMap::from([("ns-a".to_owned(), ALREADY_EXISTS.to_owned())]);
    assert_eq!(
        status("test-ces", Vec::new(), &failed),
        ClusterExternalSecretStatus {
            external_secret_name: Some("test-ces".to_owned()),
            failed_namespaces: vec![NamespaceFailure {
                namespace: "ns-a".to_owned(),
                reason: Some("external secret already exists in namespace".to_owned()),
            }],
            conditions: vec![ClusterExternalSecretCondition {
                type_: "Ready".to_owned(),
                status: "False".to_owned(),
                message: Some("one or more namespaces failed".to_owned()),
            }],
            ..ClusterExternalSecretStatus::default()
        }
    );
}

#[test]
fn deletes_external_secrets_when_namespaces_no_longer_match() {
    let mut ces = default_ces("test-ces");
    ces.spec.refresh_time = Some("100ms".to_owned());
    ces.spec.namespace_selector = Some(LabelSelector {
        match_labels: labels(&[("no-longer-match-label-key", "no-longer-match-label-value")]),
        ..LabelSelector::default()
    });
    assert_eq!(refresh(&ces.spec).unwrap(), Duration::from_millis(100));
    let both = [
        ns(
            "ns-a",
            &[("no-longer-match-label-key", "no-longer-match-label-value")],
        ),
        ns(
            "ns-b",
            &[("no-longer-match-label-key", "no-longer-match-label-value")],
        ),
    ];
    let provisioned = selected_namespaces(&ces.spec, &both).unwrap();
    assert_eq!(provisioned, ["ns-a", "ns-b"]);
    let after = [
        ns("ns-a", &[]),
        ns(
            "ns-b",
            &[("no-longer-match-label-key", "no-longer-match-label-value")],
        ),
    ];
    let selected = selected_namespaces(&ces.spec, &after).unwrap();
    assert_eq!(selected, ["ns-b"]);
    assert_eq!(removed_namespaces(&selected, &provisioned), ["ns-a"]);
}

#[test]
fn syncs_with_a_match_expression() {
    let mut ces = default_ces("test-ces");
    ces.spec.namespace_selector = Some(LabelSelector {
        match_expressions: vec![LabelSelectorRequirement {
            key: "prefix".to_owned(),
            operator: "In".to_owned(),
            values: vec!["foo".to_owned(), "bar".to_owned()],
        }],
        ..LabelSelector::default()
    });
    let all = [
        ns("ns-c", &[("prefix", "foo")]),
        ns("ns-a", &[("prefix", "bar")]),
        ns("ns-b", &[("prefix", "baz")]),
    ];
    assert_eq!(
        selected_namespaces(&ces.spec, &all).unwrap(),
        ["ns-a", "ns-c"],
        "sorted, baz excluded"
    );
}

#[test]
fn every_operator_matches_as_apimachinery_does() {
    let req = |op: &str, values: &[&str]| LabelSelector {
        match_expressions: vec![LabelSelectorRequirement {
            key: "k".to_owned(),
            operator: op.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }],
        ..LabelSelector::default()
    };
    let all = [
        ns("with", &[("k", "v")]),
        ns("other", &[("k", "w")]),
        ns("without", &[]),
    ];
    let cases: [(LabelSelector, &[&str]); 5] = [
        (req("In", &["v"]), &["with"]),
        (req("NotIn", &["v"]), &["other", "without"]),
        (req("Exists", &[]), &["other", "with"]),
        (req("DoesNotExist", &[]), &["without"]),
        (LabelSelector::default(), &["other", "with", "without"]),
    ];
    for (selector, want) in cases {
        let spec = ClusterExternalSecretSpec {
            namespace_selectors: vec![selector.clone()],
            ..ClusterExternalSecretSpec::default()
        };
        assert_eq!(
            selected_namespaces(&spec, &all).unwrap(),
            want,
            "{selector:?}"
        );
    }
}

#[test]
fn is_ready_if_no_namespace_matches() {
    let mut ces = default_ces("test-ces");
    ces.spec.namespace_selector = Some(by_name("no-namespace-matches"));
    let selected = selected_namespaces(&ces.spec, &[ns("ns-a", &[])]).unwrap();
    assert!(selected.is_empty());
    assert_eq!(
        status("test-ces", selected, &BTreeMap::new()),
        ClusterExternalSecretStatus {
            external_secret_name: Some("test-ces".to_owned()),
            conditions: ready_true(),
            ..ClusterExternalSecretStatus::default()
        }
    );
}

#[test]
fn is_ready_if_namespaces_are_selected_via_the_namespace_selectors() {
    let mut ces = default_ces("test-ces");
    ces.spec.namespace_selectors = vec![
        LabelSelector {
            match_labels: labels(&[("key", "value1")]),
            ..LabelSelector::default()
        },
        LabelSelector {
            match_labels: labels(&[("key", "value2")]),
            ..LabelSelector::default()
        },
    ];
    let all = [
        ns("namespace1", &[("key", "value1")]),
        ns("namespace2", &[("key", "value2")]),
        ns("namespace3", &[("key", "value3")]),
    ];
    assert_eq!(
        selected_namespaces(&ces.spec, &all).unwrap(),
        ["namespace1", "namespace2"]
    );
}

#[test]
fn is_ready_if_a_namespace_is_selected_via_namespaces() {
    let mut ces = default_ces("test-ces");
    ces.spec.namespaces = vec![
        "does-not-exist".to_owned(),
        "not-matching-namespace".to_owned(),
    ];
    let all = [(
        "not-matching-namespace".to_owned(),
        BTreeMap::new(), // no kubernetes.io/metadata.name label (1.20)
    )];
    assert_eq!(
        selected_namespaces(&ces.spec, &all).unwrap(),
        ["not-matching-namespace"]
    );
}

#[test]
fn propagates_and_prunes_the_force_sync_annotation() {
    let mut ces = default_ces("test-ces");
    ces.metadata.annotations = Some(labels(&[(FORCE_SYNC, "true")]));
    let es = desired(&ces, "ns-a", "test-ces");
    assert_eq!(
        es.metadata.annotations,
        Some(labels(&[(FORCE_SYNC, "true")]))
    );
    ces.metadata.annotations = None;
    let next = updated(&es, &ces).unwrap();
    assert_eq!(next.metadata.annotations, None);
    // externalSecretMetadata cannot set it either without the
    // ClusterExternalSecret carrying it.
    ces.spec.external_secret_metadata = Some(ExternalSecretMetadata {
        annotations: labels(&[(FORCE_SYNC, "yes"), ("a", "b")]),
        ..ExternalSecretMetadata::default()
    });
    assert_eq!(
        desired(&ces, "ns-a", "x").metadata.annotations,
        Some(labels(&[("a", "b")]))
    );
}

#[test]
fn failures_are_sorted_by_namespace() {
    let failed = BTreeMap::from([
        ("zeta".to_owned(), ALREADY_EXISTS.to_owned()),
        (
            "alpha".to_owned(),
            "could not create or update ExternalSecret: x".to_owned(),
        ),
    ]);
    let s = status("n", vec!["m".to_owned(), "b".to_owned()], &failed);
    let names: Vec<_> = s
        .failed_namespaces
        .iter()
        .map(|f| f.namespace.as_str())
        .collect();
    assert_eq!(names, ["alpha", "zeta"]);
    assert_eq!(s.provisioned_namespaces, ["b", "m"]);
}

#[test]
fn a_selector_that_does_not_parse_names_the_object_field_and_reason() {
    let expr = |op: &str, values: &[&str]| LabelSelector {
        match_expressions: vec![LabelSelectorRequirement {
            key: "k".to_owned(),
            operator: op.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }],
        ..LabelSelector::default()
    };
    let cases = [
        (
            expr("Foo", &["a"]),
            "\"Foo\" is not a valid label selector operator",
        ),
        (
            expr("In", &[]),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            expr("NotIn", &[]),
            "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
        ),
        (
            expr("Exists", &["a", "b"]),
            "values: Invalid value: []string{\"a\", \"b\"}: values set must be empty for exists and does not exist",
        ),
    ];
    for (bad, reason) in cases {
        let mut ces = default_ces("test-ces");
        ces.spec.namespace_selectors = vec![LabelSelector::default(), bad];
        let err = selected_namespaces(&ces.spec, &[ns("ns-a", &[])]).unwrap_err();
        assert_eq!(err.field, "spec.namespaceSelectors[1].matchExpressions[0]");
        assert_eq!(err.reason, reason);
        ces.status = Some(status(
            "test-ces",
            vec!["ns-a".to_owned()],
            &BTreeMap::new(),
        ));
        let s = spec_error_status(&ces, "test-ces", &err);
        let message = format!(
            "one or more namespaces failed: ClusterExternalSecret \"test-ces\": \
             spec.namespaceSelectors[1].matchExpressions[0]: {reason}"
        );
        assert_eq!(s.conditions[0].status, "False");
        assert_eq!(s.conditions[0].message.as_deref(), Some(message.as_str()));
        assert_eq!(s.failed_namespaces[0].namespace, "unknown");
        assert_eq!(s.provisioned_namespaces, ["ns-a"], "nothing is lost");
    }
    let mut ces = default_ces("test-ces");
    ces.spec.namespace_selector = Some(expr("Bad", &[]));
    let err = selected_namespaces(&ces.spec, &[]).unwrap_err();
    assert_eq!(err.field, "spec.namespaceSelector.matchExpressions[0]");
    ces.spec.refresh_time = Some("soon".to_owned());
    assert_eq!(
        refresh(&ces.spec).unwrap_err().to_string(),
        "spec.refreshTime: time: invalid duration \"soon\""
    );
    ces.spec.refresh_time = None;
    assert_eq!(refresh(&ces.spec).unwrap(), DEFAULT_REFRESH);
}

/// Keys and values as apimachinery's `IsQualifiedName` and
/// `IsValidLabelValue` check them, through `NewRequirement`'s
/// `field.Invalid` texts (aggregated as `[a, b]`).
#[test]
fn label_keys_and_values_are_checked_as_apimachinery_checks_them() {
    let name_part = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let value_msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let prefix = "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
    let by_labels = |k: &str, v: &str| LabelSelector {
        match_labels: labels(&[(k, v)]),
        ..LabelSelector::default()
    };
    let cases: Vec<(LabelSelector, &str, String)> = vec![
        (
            by_labels("bad key", "v"),
            "spec.namespaceSelectors[0].matchLabels",
            format!("key: Invalid value: \"bad key\": {name_part}"),
        ),
        (
            by_labels("k", "bad value"),
            "spec.namespaceSelectors[0].matchLabels",
            format!("values[0][k]: Invalid value: \"bad value\": {value_msg}"),
        ),
        (
            by_labels("Example.com/tier", "v"),
            "spec.namespaceSelectors[0].matchLabels",
            format!("key: Invalid value: \"Example.com/tier\": {prefix}"),
        ),
        (
            by_labels("/tier", "v"),
            "spec.namespaceSelectors[0].matchLabels",
            "key: Invalid value: \"/tier\": prefix part must be non-empty".to_owned(),
        ),
        (
            by_labels("a/b/c", "v"),
            "spec.namespaceSelectors[0].matchLabels",
            format!(
                "key: Invalid value: \"a/b/c\": a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                name_part.trim_start_matches("name part ")
            ),
        ),
        (
            by_labels(&"k".repeat(64), "v"),
            "spec.namespaceSelectors[0].matchLabels",
            format!(
                "key: Invalid value: \"{}\": name part must be no more than 63 characters",
                "k".repeat(64)
            ),
        ),
        (
            LabelSelector {
                match_expressions: vec![LabelSelectorRequirement {
                    key: "-k".to_owned(),
                    operator: "In".to_owned(),
                    values: Vec::new(),
                }],
                ..LabelSelector::default()
            },
            "spec.namespaceSelectors[0].matchExpressions[0]",
            format!(
                "[key: Invalid value: \"-k\": {name_part}, values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty]"
            ),
        ),
    ];
    for (selector, field, reason) in cases {
        let spec = ClusterExternalSecretSpec {
            namespace_selectors: vec![selector],
            ..ClusterExternalSecretSpec::default()
        };
        let err = selected_namespaces(&spec, &[]).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.as_str()),
            (field, reason.as_str())
        );
    }
    // A prefixed key and an empty value are labels.
    let spec = ClusterExternalSecretSpec {
        namespace_selectors: vec![by_labels("example.com/tier", "")],
        ..ClusterExternalSecretSpec::default()
    };
    let all = [ns("tagged", &[("example.com/tier", "")]), ns("plain", &[])];
    assert_eq!(selected_namespaces(&spec, &all).unwrap(), ["tagged"]);
}
