//! The warning texts, word for word, per kind and case.

use serde_json::{Value, json};

use super::*;

fn labels(labelled: bool) -> Value {
    if labelled {
        json!({ names::USE_LABEL: "true" })
    } else {
        json!({"app": "orders"})
    }
}

fn pod_template(labelled: bool, service_account: Option<&str>) -> Value {
    let mut spec = json!({"containers": [{"name": "app", "image": "app:1"}]});
    if let Some(sa) = service_account {
        spec["serviceAccountName"] = sa.into();
    }
    json!({"metadata": {"labels": labels(labelled)}, "spec": spec})
}

fn workload(kind: &str, on_workload: bool, on_template: bool, sa: Option<&str>) -> Value {
    let template = pod_template(on_template, sa);
    let spec = if kind == "CronJob" {
        json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
    } else {
        json!({"template": template})
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "orders", "namespace": "team-a", "labels": labels(on_workload)},
        "spec": spec
    })
}

fn account(client_id: Option<&str>) -> ServiceAccountInfo {
    ServiceAccountInfo::new(
        "team-a",
        "orders",
        client_id.map(|id| (names::CLIENT_ID_ANNOTATION.to_owned(), id.to_owned())),
    )
}

const CLIENT_ID: &str = "00000000-0000-0000-0000-000000000001";

#[test]
fn label_on_the_workload_only_says_where_to_move_it() {
    let object = workload("Deployment", true, false, Some("orders"));
    assert_eq!(
        workload_warnings("Deployment", &object, "team-a", None),
        [
            "Deployment team-a/orders has label azure.workload.identity/use on its own metadata, \
          where it does nothing: put it on spec.template.metadata.labels so its pods get the \
          workload identity"
        ]
    );
    let object = workload("CronJob", true, false, None);
    assert_eq!(
        workload_warnings("CronJob", &object, "team-a", None),
        [
            "CronJob team-a/orders has label azure.workload.identity/use on its own metadata, \
          where it does nothing: put it on spec.jobTemplate.spec.template.metadata.labels so \
          its pods get the workload identity"
        ]
    );
}

#[test]
fn every_workload_kind_is_checked_at_its_template() {
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "CronJob",
    ] {
        let wrong = workload(kind, true, false, None);
        let warnings = workload_warnings(kind, &wrong, "team-a", None);
        assert_eq!(warnings.len(), 1, "{kind}");
        assert!(warnings[0].starts_with(&format!("{kind} team-a/orders has label")));
        let right = workload(kind, true, true, None);
        assert_eq!(
            workload_warnings(kind, &right, "team-a", None),
            Vec::<String>::new()
        );
    }
}

#[test]
fn other_kinds_and_templateless_objects_get_nothing() {
    let pod = json!({"kind": "Pod", "metadata": {"labels": labels(true)}});
    assert!(workload_warnings("Pod", &pod, "team-a", None).is_empty());
    let broken = json!({"kind": "Deployment", "metadata": {"labels": labels(true)}, "spec": {"template": "x"}});
    assert!(workload_warnings("Deployment", &broken, "team-a", None).is_empty());
    assert!(workload_warnings("Deployment", &json!(null), "team-a", None).is_empty());
}

#[test]
fn only_the_value_true_counts_as_labelled() {
    let mut object = workload("Deployment", false, false, None);
    object["metadata"]["labels"][names::USE_LABEL] = "false".into();
    assert!(workload_warnings("Deployment", &object, "team-a", None).is_empty());
}

#[test]
fn template_service_account_without_client_id_is_named() {
    let object = workload("StatefulSet", false, true, Some("orders"));
    assert_eq!(
        template_service_account("StatefulSet", &object),
        Some("orders")
    );
    assert_eq!(
        workload_warnings("StatefulSet", &object, "team-a", Some(&account(None))),
        [
            "StatefulSet team-a/orders: its pod template's ServiceAccount team-a/orders has no \
          azure.workload.identity/client-id annotation, so its pods get no AZURE_CLIENT_ID: \
          annotate the ServiceAccount with the client id of the managed identity or app \
          registration"
        ]
    );
    assert_eq!(
        workload_warnings("StatefulSet", &object, "team-a", Some(&account(Some("")))).len(),
        1
    );
    assert!(
        workload_warnings(
            "StatefulSet",
            &object,
            "team-a",
            Some(&account(Some(CLIENT_ID)))
        )
        .is_empty()
    );
}

#[test]
fn service_account_is_only_checked_for_a_labelled_template() {
    let object = workload("Job", false, false, Some("orders"));
    assert_eq!(template_service_account("Job", &object), None);
    assert!(workload_warnings("Job", &object, "team-a", Some(&account(None))).is_empty());
    let defaulted = workload("Job", false, true, None);
    assert_eq!(template_service_account("Job", &defaulted), Some("default"));
}

#[test]
fn raw_search_finds_the_label_key_or_rules_it_out() {
    let labelled =
        serde_json::to_vec(&workload("Deployment", true, false, None)).unwrap_or_default();
    assert!(may_be_labelled(&labelled));
    let plain = serde_json::to_vec(&workload("Deployment", false, false, None)).unwrap_or_default();
    assert!(!may_be_labelled(&plain));
}

#[test]
fn generated_names_are_shown_as_a_prefix() {
    let mut object = workload("Job", true, false, None);
    object["metadata"] = json!({"generateName": "orders-", "labels": labels(true)});
    let warnings = workload_warnings("Job", &object, "team-a", None);
    assert!(
        warnings[0].starts_with("Job team-a/orders-* has label"),
        "{warnings:?}"
    );
}
