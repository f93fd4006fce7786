//! Unit tests of the individual rules. Whole pods are covered by the golden
//! cases under `webhook/tests/golden`.

use serde_json::{Value, json};

use super::*;
use azure_wi_core::AzureCloud;

use crate::config::MutationConfig;

const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";

fn config() -> MutationConfig {
    MutationConfig::default().with_tenant_id(TENANT.parse().unwrap())
}

fn sa(annotations: &[(&str, &str)]) -> ServiceAccountInfo {
    ServiceAccountInfo::new(
        "team",
        "default",
        annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

fn with_client() -> ServiceAccountInfo {
    sa(&[(names::CLIENT_ID_ANNOTATION, CLIENT)])
}

fn pod(spec: Value) -> Value {
    let mut pod =
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "team"}});
    pod["spec"] = spec;
    pod
}

fn run(
    raw: &Value,
    sa: Option<&ServiceAccountInfo>,
    config: &MutationConfig,
) -> Result<(Value, Mutation), Denial> {
    let pod = AdmissionPod::parse(raw, "team")?;
    let mutation = mutate(&pod, sa, config)?;
    let mutated = mutation.apply_to(raw).expect("patch applies to its input");
    Ok((mutated, mutation))
}

fn env_names(container: &Value) -> Vec<&str> {
    container["env"]
        .as_array()
        .map(|vars| vars.iter().filter_map(|v| v["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn service_account_not_found_uses_the_reference_message() {
    let raw = pod(json!({"serviceAccountName": "app", "containers": [{"name": "c"}]}));
    let denial = run(&raw, None, &config()).unwrap_err();
    assert_eq!(denial.to_string(), r#"serviceaccounts "app" not found"#);
    assert_eq!(denial.code(), 400);
}

#[test]
fn empty_service_account_name_means_default() {
    let raw = pod(json!({"serviceAccountName": "", "containers": []}));
    let parsed = AdmissionPod::parse(&raw, "team").unwrap();
    assert_eq!(parsed.service_account_name(), "default");
}

#[test]
fn undecodable_pod_names_the_field() {
    let raw = pod(json!({"containers": [{"name": "c", "env": [{"name": 5}]}]}));
    let denial = run(&raw, Some(&with_client()), &config()).unwrap_err();
    let text = denial.to_string();
    assert!(
        text.starts_with(
            "could not decode the pod: spec.containers[0].env[0].name: invalid type: integer `5`"
        ),
        "{text}"
    );

    let denial = run(&json!({"kind": "Deployment"}), None, &config()).unwrap_err();
    assert_eq!(
        denial.to_string(),
        "could not decode the pod: invalid value: string \"Deployment\", expected Pod"
    );
}

#[test]
fn tenant_annotation_wins_even_when_empty() {
    let raw = pod(json!({"containers": [{"name": "c"}]}));
    let other = sa(&[
        (names::CLIENT_ID_ANNOTATION, CLIENT),
        (names::TENANT_ID_ANNOTATION, "contoso.onmicrosoft.com"),
    ]);
    let (mutated, m) = run(&raw, Some(&other), &config()).unwrap();
    assert_eq!(
        mutated["spec"]["containers"][0]["env"][1],
        json!({"name": "AZURE_TENANT_ID", "value": "contoso.onmicrosoft.com"})
    );
    assert!(m.warnings().is_empty());

    let empty = sa(&[
        (names::CLIENT_ID_ANNOTATION, CLIENT),
        (names::TENANT_ID_ANNOTATION, ""),
    ]);
    let (mutated, m) = run(&raw, Some(&empty), &config()).unwrap();
    assert_eq!(
        env_names(&mutated["spec"]["containers"][0]),
        [
            names::CLIENT_ID_ENV,
            names::FEDERATED_TOKEN_FILE_ENV,
            names::AUTHORITY_HOST_ENV
        ]
    );
    assert_eq!(m.warnings().len(), 1);
    assert!(
        m.warnings()[0].contains("empty azure.workload.identity/tenant-id"),
        "{:?}",
        m.warnings()
    );
}

#[test]
fn missing_client_id_is_not_injected_and_warns() {
    let raw = pod(json!({"containers": [{"name": "c"}]}));
    let (mutated, m) = run(&raw, Some(&sa(&[])), &config()).unwrap();
    assert_eq!(
        env_names(&mutated["spec"]["containers"][0]),
        [
            names::TENANT_ID_ENV,
            names::FEDERATED_TOKEN_FILE_ENV,
            names::AUTHORITY_HOST_ENV
        ]
    );
    assert_eq!(m.warnings().len(), 1);
    assert!(m.warnings()[0].starts_with(
        "ServiceAccount team/default has no azure.workload.identity/client-id annotation"
    ));
}

#[test]
fn suspicious_ids_warn() {
    let raw = pod(json!({"containers": [{"name": "c"}]}));
    let bad = sa(&[
        (names::CLIENT_ID_ANNOTATION, "my-app"),
        (names::TENANT_ID_ANNOTATION, "a/b"),
    ]);
    let (_, m) = run(&raw, Some(&bad), &config()).unwrap();
    assert_eq!(m.warnings().len(), 2, "{:?}", m.warnings());
    assert!(m.warnings()[0].contains("is not a GUID"));
    assert!(m.warnings()[1].contains("is not a valid tenant id"));

    let (_, m) = run(&raw, Some(&with_client()), &MutationConfig::default()).unwrap();
    assert_eq!(m.warnings().len(), 1);
    assert!(m.warnings()[0].contains("the webhook has no tenant configured"));
}

#[test]
fn cloud_decides_the_authority_host() {
    let raw = pod(json!({"containers": [{"name": "c"}]}));
    let (mutated, _) = run(
        &raw,
        Some(&with_client()),
        &config().with_cloud(AzureCloud::UsGovernment),
    )
    .unwrap();
    assert_eq!(
        mutated["spec"]["containers"][0]["env"][3]["value"],
        "https://login.microsoftonline.us/"
    );
}

#[test]
fn namespace_is_filled_from_the_request() {
    let raw =
        json!({"metadata": {"generateName": "web-"}, "spec": {"containers": [{"name": "c"}]}});
    let parsed = AdmissionPod::parse(&raw, "team").unwrap();
    assert_eq!(parsed.display_name(), "web- (prefix)");
    let mutation = mutate(&parsed, Some(&with_client()), &config()).unwrap();
    let mutated = mutation.apply_to(&raw).unwrap();
    assert_eq!(mutated["metadata"]["namespace"], "team");

    let no_meta = json!({"spec": {"containers": [{"name": "c"}]}});
    let parsed = AdmissionPod::parse(&no_meta, "team").unwrap();
    let mutated = mutate(&parsed, Some(&with_client()), &config())
        .unwrap()
        .apply_to(&no_meta)
        .unwrap();
    assert_eq!(mutated["metadata"], json!({"namespace": "team"}));
}

#[test]
fn other_volume_at_the_token_path_is_refused() {
    let raw = pod(json!({"containers": [{"name": "app", "volumeMounts": [
        {"name": "mine", "mountPath": "/var/run/secrets/azure/tokens/"}
    ]}]}));
    let denial = run(&raw, Some(&with_client()), &config()).unwrap_err();
    assert_eq!(
        denial.to_string(),
        "container \"app\" mounts volume \"mine\" at /var/run/secrets/azure/tokens, where the \
         workload identity token is mounted; move that mount or list the container in \
         azure.workload.identity/skip-containers"
    );
}

#[test]
fn token_volume_name_holding_something_else_is_refused() {
    for (volume, problem) in [
        (
            json!({"name": "azure-identity-token", "emptyDir": {}}),
            "defines it as a emptyDir volume",
        ),
        (
            json!({"name": "azure-identity-token"}),
            "defines it without a source",
        ),
        (
            json!({"name": "azure-identity-token", "projected": {"sources": [
            {"serviceAccountToken": {"path": "azure-identity-token"}},
            {"serviceAccountToken": {"path": "azure-identity-token"}}]}}),
            "projects the file azure-identity-token 2 times",
        ),
    ] {
        let raw = pod(json!({"containers": [{"name": "c"}], "volumes": [volume]}));
        let denial = run(&raw, Some(&with_client()), &config()).unwrap_err();
        assert!(denial.to_string().contains(problem), "{denial}");
        assert!(
            denial
                .to_string()
                .starts_with("volume \"azure-identity-token\" is reserved")
        );
    }
    let twice = pod(json!({"containers": [{"name": "c"}], "volumes": [
        {"name": "azure-identity-token", "emptyDir": {}}, {"name": "azure-identity-token", "emptyDir": {}}]}));
    let denial = run(&twice, Some(&with_client()), &config()).unwrap_err();
    assert!(
        denial.to_string().contains("defines it 2 times"),
        "{denial}"
    );
}

#[test]
fn foreign_token_volume_is_replaced_whole_with_a_warning() {
    let raw = pod(json!({"containers": [{"name": "c"}], "volumes": [
        {"name": "azure-identity-token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"path": "token", "audience": "api://Old"}},
            {"configMap": {"name": "ca"}}
        ]}}
    ]}));
    let (mutated, mutation) = run(&raw, Some(&with_client()), &config()).unwrap();
    assert_eq!(
        mutated["spec"]["volumes"],
        json!([{"name": "azure-identity-token", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {
                "path": "azure-identity-token",
                "expirationSeconds": 3600,
                "audience": names::DEFAULT_AUDIENCE
            }}
        ]}}])
    );
    let ops = serde_json::to_value(mutation.patch()).unwrap();
    let volume_ops: Vec<&Value> = ops
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["path"].as_str().unwrap().starts_with("/spec/volumes"))
        .collect();
    assert_eq!(volume_ops.len(), 1, "{ops}");
    assert_eq!(volume_ops[0]["op"], "replace");
    assert_eq!(volume_ops[0]["path"], "/spec/volumes/0");
    assert!(
        ops.as_array()
            .unwrap()
            .iter()
            .filter(|op| op["op"] != "add")
            .all(|op| op == volume_ops[0])
    );
    assert_eq!(
        mutation.warnings(),
        [
            "volume \"azure-identity-token\" is reserved for the workload identity token; its \
          other sources were dropped: serviceAccountToken (path \"token\", audience \
          \"api://Old\"), configMap"
        ]
    );

    // The canonical volume is left alone, including its defaultMode.
    let (_, again) = run(&mutated, Some(&with_client()), &config()).unwrap();
    assert!(again.patch().0.is_empty(), "{}", again.patch());
    assert!(again.warnings().is_empty());
}

#[test]
fn thousands_of_unknown_skip_names_give_five_warnings_and_a_count() {
    let names: Vec<String> = (0..200_000).map(|i| format!("ghost-{i}")).collect();
    let mut raw = pod(json!({"containers": [{"name": "app"}]}));
    raw["metadata"]["annotations"] =
        json!({ (names::SKIP_CONTAINERS_ANNOTATION): format!("app;{}", names.join(";")) });
    let (_, mutation) = run(&raw, Some(&with_client()), &config()).unwrap();
    let warnings = mutation.warnings();
    assert_eq!(warnings.len(), 6, "{warnings:?}");
    assert!(warnings[0].contains("\"ghost-0\""), "{}", warnings[0]);
    assert_eq!(
        warnings[5],
        format!(
            "{} names 199995 more names that are not containers of this pod",
            names::SKIP_CONTAINERS_ANNOTATION
        )
    );
}

#[test]
fn too_many_containers_are_refused_before_a_patch_is_built() {
    let many: Vec<Value> = (0..=MAX_MUTATED_CONTAINERS)
        .map(|i| json!({"name": format!("c{i}")}))
        .collect();
    let raw = pod(json!({ "containers": many }));
    let denial = run(&raw, Some(&with_client()), &config()).unwrap_err();
    assert_eq!(
        denial,
        Denial::TooManyContainers {
            count: MAX_MUTATED_CONTAINERS + 1
        }
    );
    assert!(
        denial
            .to_string()
            .contains(names::SKIP_CONTAINERS_ANNOTATION),
        "{denial}"
    );

    // Skipping one brings the pod back under the bound.
    let mut raw = raw;
    raw["metadata"]["annotations"] = json!({ names::SKIP_CONTAINERS_ANNOTATION: "c0" });
    assert!(run(&raw, Some(&with_client()), &config()).is_ok());
}
