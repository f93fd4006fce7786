use super::*;
fn spec(yaml: &str) -> SecretStoreSpec {
    let doc: serde_json::Value = yaml_serde::from_str(yaml).unwrap();
    serde_json::from_value(doc["spec"].clone()).unwrap()
}

/// Walkthrough 2's store, as written: `serviceAccountRef.namespace` in a
/// namespaced SecretStore.
const WALKTHROUGH_2: &str = r#"
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata:
  name: azure-kv
  namespace: app
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://kv-prod.vault.azure.net
      serviceAccountRef:
        name: external-secrets
        namespace: external-secrets
"#;

#[test]
fn walkthrough_stores_are_served() {
    let store = check(&spec(WALKTHROUGH_2), false).unwrap();
    assert_eq!(store.vault_url, "https://kv-prod.vault.azure.net");
    assert_eq!(store.cloud, AzureCloud::Public);
    assert_eq!(
        store.service_account.as_ref().unwrap().name,
        "external-secrets"
    );
    assert_eq!(store.warnings.len(), 1);
    assert!(
        store.warnings[0].contains("is ignored in a SecretStore"),
        "{:?}",
        store.warnings
    );
    // As a ClusterSecretStore the namespace is honoured: no warning.
    assert!(
        check(&spec(WALKTHROUGH_2), true)
            .unwrap()
            .warnings
            .is_empty()
    );

    // Walkthrough 1: tenantId and a trailing slash.
    let one = check(
        &spec(
            r#"
kind: SecretStore
spec:
  provider:
    azurekv:
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47"
      vaultUrl: "https://kv1.vault.azure.net/"
      authType: WorkloadIdentity
      serviceAccountRef:
        name: app
"#,
        ),
        false,
    )
    .unwrap();
    assert_eq!(one.vault_url, "https://kv1.vault.azure.net");
    assert_eq!(
        one.tenant_id.as_deref(),
        Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
    );
    assert!(one.warnings.is_empty());
}

#[test]
fn what_is_not_served_is_refused_by_name() {
    let err = |yaml: &str| check(&spec(yaml), false).unwrap_err().to_string();
    let aws = err("spec: {provider: {aws: {region: eu-west-1}}}");
    assert!(
        aws.contains("provider is aws") && aws.contains("azurekv"),
        "{aws}"
    );
    let sp = err("spec: {provider: {azurekv: {vaultUrl: 'https://kv.vault.azure.net'}}}");
    assert!(
        sp.contains("authType ServicePrincipal is not served"),
        "{sp}"
    );
    assert!(sp.contains("authType: WorkloadIdentity"), "{sp}");
    let stack = err(
        "spec: {provider: {azurekv: {authType: WorkloadIdentity, environmentType: AzureStackCloud, vaultUrl: 'https://kv.vault.azure.net'}}}",
    );
    assert!(stack.contains("AzureStackCloud"), "{stack}");
    let extra = err(
        "spec: {retrySettings: {maxRetries: 3}, provider: {azurekv: {authType: WorkloadIdentity, useAzureSDK: true, vaultUrl: 'https://kv.vault.azure.net'}}}",
    );
    assert!(
        extra.contains("spec.retrySettings, spec.provider.azurekv.useAzureSDK not supported"),
        "{extra}"
    );
    let conditions = err(
        "spec: {conditions: [{namespaces: [a]}], provider: {azurekv: {authType: WorkloadIdentity, vaultUrl: 'https://kv.vault.azure.net'}}}",
    );
    assert!(conditions.contains("spec.conditions"), "{conditions}");
}

#[test]
fn cluster_store_conditions_select_namespaces() {
    let conditions: Vec<ClusterStoreCondition> = serde_json::from_value(serde_json::json!([
        {"namespaces": ["app"]},
        {"namespaceRegexes": ["^team-"]},
        {"namespaceSelector": {"matchLabels": {"secrets": "azure"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]}]}},
    ]))
    .unwrap();
    let none = BTreeMap::new();
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(allows(&[], "anything", &none).unwrap());
    assert!(allows(&conditions, "app", &none).unwrap());
    assert!(allows(&conditions, "team-a", &none).unwrap());
    assert!(!allows(&conditions, "other", &none).unwrap());
    assert!(
        allows(
            &conditions,
            "other",
            &labels(&[("secrets", "azure"), ("env", "prod")])
        )
        .unwrap()
    );
    assert!(
        !allows(
            &conditions,
            "other",
            &labels(&[("secrets", "azure"), ("env", "dev")])
        )
        .unwrap()
    );
    let bad: Vec<ClusterStoreCondition> =
        serde_json::from_value(serde_json::json!([{"namespaceRegexes": ["("]}])).unwrap();
    assert!(
        allows(&bad, "x", &none)
            .unwrap_err()
            .to_string()
            .contains("namespaceRegexes")
    );
}

/// `namespaceRegexes` are Go's (ESO's `regexp.MatchString`): `\Q…\E`
/// quotes, which the `regex` crate refuses; what Go refuses is refused
/// with Go's text.
#[test]
fn namespace_regexes_are_gos() {
    let conditions = |pattern: &str| -> Vec<ClusterStoreCondition> {
        serde_json::from_value(serde_json::json!([{ "namespaceRegexes": [pattern] }])).unwrap()
    };
    let none = BTreeMap::new();
    let quoted = conditions(r"^\Qteam.\E");
    assert!(allows(&quoted, "team.a", &none).unwrap());
    assert!(!allows(&quoted, "team-a", &none).unwrap());
    assert_eq!(
        allows(&conditions("team-(a"), "team-a", &none)
            .unwrap_err()
            .to_string(),
        "spec.conditions[].namespaceRegexes \"team-(a\" is not a regular expression: error parsing regexp: missing closing ): `team-(a`"
    );
}
