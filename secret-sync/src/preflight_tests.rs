#![allow(clippy::unwrap_used)]

use super::*;

fn check_(kind: Kind, object: &Value) -> Vec<Finding> {
    check(kind, object, &ConfigMaps::new())
}

fn report_(objects: &[(Kind, Vec<Value>)], notes: Vec<String>) -> Report {
    report(&Cluster {
        objects: objects.to_vec(),
        config_maps: ConfigMaps::new(),
        notes,
    })
}

fn object(yaml: &str) -> Value {
    yaml_serde::from_str(yaml).unwrap()
}

/// `(field, what)` of each finding, in order.
fn fields(findings: &[Finding]) -> Vec<(String, String)> {
    findings
        .iter()
        .map(|f| (f.field.clone(), f.what.clone()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// ESO's `docs/snippets/azkv-workload-identity.yaml`'s store.
const WORKLOAD_IDENTITY_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: azure-store
  namespace: app
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: "https://xx-xxxx-xx.vault.azure.net"
      serviceAccountRef:
        name: workload-identity-sa
"#;

/// ESO's `docs/snippets/gitops/crs/clusterSecretStore.yaml`.
const VAULT_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend-global
spec:
  provider:
    vault:
      server: "https://vault.your-domain.com"
      path: secret
      version: v2
      auth:
        tokenSecretRef:
          name: "vault-token-global"
          key: "token"
          namespace: external-secrets
"#;

/// ESO's `docs/snippets/aws-sm-store.yaml`.
const AWS_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: aws-secretsmanager
  namespace: app
spec:
  provider:
    aws:
      service: SecretsManager
      role: arn:aws:iam::123456789012:role/external-secrets
      region: eu-central-1
      auth:
        secretRef:
          accessKeyIDSecretRef:
            name: awssm-secret
            key: access-key
          secretAccessKeySecretRef:
            name: awssm-secret
            key: secret-access-key
"#;

/// ESO's `docs/snippets/azkv-secret-store-mi.yaml`.
const MANAGED_IDENTITY_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: azure-store
  namespace: app
spec:
  provider:
    azurekv:
      authType: ManagedIdentity
      identityId: "00000000-0000-0000-0000-000000000000"
      vaultUrl: "https://my-keyvault-name.vault.azure.net"
"#;

/// ESO's `docs/snippets/azkv-secret-store-spn-certificate.yaml`: no
/// `authType`, so ESO's default `ServicePrincipal`.
const SERVICE_PRINCIPAL_STORE: &str = r#"
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata:
  name: azure-store-spn-certificate
  namespace: app
spec:
  provider:
    azurekv:
      tenantId: "2ed1d494-6c5a-4c5d-aa24-479446fb844d"
      vaultUrl: "https://kvtestpushsecret.vault.azure.net"
      authSecretRef:
        clientId:
          name: azure-secret-sp
          key: ClientID
        clientCertificate:
          name: azure-secret-sp
          key: ClientCertificate
"#;

#[test]
fn stores_another_provider_or_auth_type_are_named_with_the_controllers_text() {
    type Case = (&'static str, Kind, &'static [(&'static str, &'static str)]);
    let cases: [Case; 5] = [
        (WORKLOAD_IDENTITY_STORE, Kind::SecretStore, &[]),
        (
            VAULT_STORE,
            Kind::ClusterSecretStore,
            &[("spec.provider.vault", "provider vault")],
        ),
        (
            AWS_STORE,
            Kind::SecretStore,
            &[("spec.provider.aws", "provider aws")],
        ),
        (
            MANAGED_IDENTITY_STORE,
            Kind::SecretStore,
            &[
                ("spec.provider.azurekv.authType", "authType ManagedIdentity"),
                ("spec.provider.azurekv.identityId", "field not served"),
            ],
        ),
        (
            SERVICE_PRINCIPAL_STORE,
            Kind::SecretStore,
            &[
                (
                    "spec.provider.azurekv.authType",
                    "authType ServicePrincipal",
                ),
                (
                    "spec.provider.azurekv.authSecretRef.clientCertificate",
                    "field not served",
                ),
            ],
        ),
    ];
    for (yaml, kind, expected) in cases {
        let found = check_(kind, &object(yaml));
        assert_eq!(fields(&found), pairs(expected), "{yaml}");
        assert!(found.iter().all(|f| f.level == Level::NotServed));
        assert!(found.iter().all(|f| f.kind == kind));
    }
    let aws = check_(Kind::SecretStore, &object(AWS_STORE));
    assert_eq!(aws[0].namespace.as_deref(), Some("app"));
    assert_eq!(aws[0].name, "aws-secretsmanager");
    assert_eq!(
        aws[0].why,
        "the store's provider is aws; this controller serves provider azurekv only"
    );
    let vault = check_(Kind::ClusterSecretStore, &object(VAULT_STORE));
    assert_eq!(vault[0].namespace, None);
    let mi = check_(Kind::SecretStore, &object(MANAGED_IDENTITY_STORE));
    assert!(
        mi[0]
            .why
            .starts_with("authType ManagedIdentity is not served"),
        "{}",
        mi[0].why
    );
    assert_eq!(
        mi[1].why,
        "spec.provider.azurekv.identityId not supported by this controller (it serves the azurekv WorkloadIdentity subset of External Secrets); remove it"
    );
}

#[test]
fn a_store_refused_for_several_reasons_lists_them_all() {
    let store = object(
        r#"
apiVersion: external-secrets.io/v1beta1
kind: ClusterSecretStore
metadata:
  name: stack
spec:
  retrySettings:
    maxRetries: 5
  provider:
    azurekv:
      authType: ManagedIdentity
      environmentType: AzureStackCloud
      vaultUrl: "https://kv.vault.azure.net"
      customCloudConfig:
        activeDirectoryEndpoint: https://login.example
"#,
    );
    assert_eq!(
        fields(&check_(Kind::ClusterSecretStore, &store)),
        pairs(&[
            ("spec.provider.azurekv.authType", "authType ManagedIdentity"),
            (
                "spec.provider.azurekv.environmentType",
                "environmentType AzureStackCloud"
            ),
            ("spec.retrySettings", "field not served"),
            (
                "spec.provider.azurekv.customCloudConfig",
                "field not served"
            ),
        ])
    );
    // A value no secret-sync type reads is a finding too.
    let unknown = object(
        "kind: SecretStore\nmetadata: {name: s, namespace: a}\nspec:\n  provider:\n    azurekv:\n      authType: ClientSecret\n      vaultUrl: https://kv.vault.azure.net\n",
    );
    let found = check_(Kind::SecretStore, &unknown);
    assert_eq!(
        fields(&found),
        pairs(&[("spec", "not readable as secret-sync's store")])
    );
    assert!(
        found[0].why.contains("unknown variant `ClientSecret`"),
        "{}",
        found[0].why
    );
}

#[test]
fn a_store_field_ignored_is_served_differently() {
    let store = object(
        "kind: SecretStore\nmetadata: {name: s, namespace: a}\nspec:\n  provider:\n    azurekv:\n      authType: WorkloadIdentity\n      vaultUrl: https://kv.vault.azure.net\n      serviceAccountRef: {name: sa, namespace: other}\n",
    );
    let found = check_(Kind::SecretStore, &store);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].level, Level::Differs);
    assert_eq!(
        found[0].field,
        "spec.provider.azurekv.serviceAccountRef.namespace"
    );
    let report = report_(&[(Kind::SecretStore, vec![store])], Vec::new());
    assert!(report.served());
    assert!(
        report
            .text()
            .contains("0 objects not served, 1 served differently"),
        "{}",
        report.text()
    );
}

/// ESO's `docs/api/externalsecret.md` business-hours example, with the
/// store and data it leaves out.
const SYNC_WINDOWS: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: example
  namespace: app
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: azure-store
  syncWindows:
    kind: allow
    windows:
      - schedule: "0 9 * * 1-5"
        duration: 8h
  data:
  - secretKey: password
    remoteRef:
      key: db-password
      nullBytePolicy: Fail
"#;

#[test]
fn external_secret_fields_not_served_are_listed_from_the_plan() {
    let found = check_(Kind::ExternalSecret, &object(SYNC_WINDOWS));
    assert_eq!(
        fields(&found),
        pairs(&[
            ("spec.syncWindows", "field not served"),
            ("spec.data[0].remoteRef.nullBytePolicy", "field not served"),
        ])
    );
    assert_eq!(
        found[0].why,
        "spec.syncWindows not supported by this controller (it serves the azurekv WorkloadIdentity subset of External Secrets); remove it"
    );
    // What the plan would refuse next is listed too.
    let both = SYNC_WINDOWS.replace("refreshInterval: 1h", "refreshInterval: 1 hour");
    assert_eq!(
        fields(&check_(Kind::ExternalSecret, &object(&both))),
        pairs(&[
            ("spec.syncWindows", "field not served"),
            ("spec.data[0].remoteRef.nullBytePolicy", "field not served"),
            ("spec.refreshInterval", "not a duration"),
        ])
    );
}

/// ESO's engine v2 lacks `getHostByName` and `env`
/// (`runtime/template/v2/template_test.go` checks `getHostByName` is not in
/// its FuncMap); so does secret-sync.
#[test]
fn a_template_function_secret_sync_lacks_is_reported_with_the_parse_error() {
    let es = object(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: templated
  namespace: app
spec:
  secretStoreRef:
    name: azure-store
  target:
    template:
      data:
        host: '{{ getHostByName "example.com" }}'
        fine: '{{ .password | b64enc }}'
      metadata:
        labels:
          stage: '{{ env "STAGE" }}'
      templateFrom:
      - literal: |
          a: {{ .password | nosuchfunction }}
  data:
  - secretKey: password
    remoteRef:
      key: db-password
  dataFrom:
  - find:
      name:
        regexp: "^app-"
    rewrite:
    - transform:
        template: '{{ .value | upper }}'
    - transform:
        template: '{{ .value | expandenv }}'
"#,
    );
    let found = check_(Kind::ExternalSecret, &es);
    assert_eq!(
        fields(&found),
        pairs(&[
            (
                "spec.target.template.data.host",
                "template function getHostByName"
            ),
            (
                "spec.target.template.metadata.labels.stage",
                "template function env"
            ),
            (
                "spec.target.template.templateFrom[0].literal",
                "template function nosuchfunction"
            ),
            (
                "spec.dataFrom[0].rewrite[1].transform.template",
                "template function expandenv"
            ),
        ])
    );
    assert_eq!(
        found[0].why,
        "template: spec.target.template.data.host:1: function \"getHostByName\" not defined"
    );
    // A template that is not Go syntax says so.
    let broken = object(
        "kind: ExternalSecret\nmetadata: {name: b, namespace: a}\nspec:\n  secretStoreRef: {name: s}\n  target:\n    template:\n      data:\n        k: '{{ if .x }}'\n",
    );
    let found = check_(Kind::ExternalSecret, &broken);
    assert_eq!(
        fields(&found),
        pairs(&[("spec.target.template.data.k", "template does not parse")])
    );
    // ESO's refusals of a template, as the controller gives them.
    let v1 = object(
        "kind: ExternalSecret\nmetadata: {name: b, namespace: a}\nspec:\n  secretStoreRef: {name: s}\n  target:\n    template:\n      engineVersion: v1\n",
    );
    let found = check_(Kind::ExternalSecret, &v1);
    assert_eq!(
        fields(&found),
        pairs(&[("spec.target.template", "template refused")])
    );
    assert!(found[0].why.contains("engineVersion v1 is not served"));
}

fn walkthrough(yaml: &str) -> Report {
    use serde::Deserialize as _;
    let mut objects: BTreeMap<Kind, Vec<Value>> = BTreeMap::new();
    for doc in yaml_serde::Deserializer::from_str(yaml) {
        let value = Value::deserialize(doc).unwrap();
        let kind = match value["kind"].as_str() {
            Some("SecretStore") => Kind::SecretStore,
            Some("ClusterSecretStore") => Kind::ClusterSecretStore,
            Some("ExternalSecret") => Kind::ExternalSecret,
            _ => continue,
        };
        objects.entry(kind).or_default().push(value);
    }
    assert!(!objects.is_empty());
    report_(&objects.into_iter().collect::<Vec<_>>(), Vec::new())
}

#[test]
fn walkthrough_manifests_are_served() {
    for yaml in [
        include_str!("../tests/walkthroughs/1.yaml"),
        include_str!("../tests/walkthroughs/3.yaml"),
    ] {
        let report = walkthrough(yaml);
        assert_eq!(report.findings, [], "{yaml}");
        assert!(report.served());
        assert!(
            report.text().ends_with(": everything is served\n"),
            "{}",
            report.text()
        );
    }
    // Walkthrough 2's SecretStore names the ServiceAccount's namespace,
    // which a SecretStore ignores (as ESO does): served, differently.
    let report = walkthrough(include_str!("../tests/walkthroughs/2.yaml"));
    assert!(report.served());
    assert_eq!(
        fields(&report.findings),
        pairs(&[(
            "spec.provider.azurekv.serviceAccountRef.namespace",
            "ignored field"
        )])
    );
    assert_eq!(report.findings[0].level, Level::Differs);
}

#[test]
fn push_secrets_are_served_and_what_they_lack_is_named() {
    // ESO's `docs/snippets/azkv-pushsecret-secret.yaml`: served as written.
    let push = object(
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata:
  name: pushsecret-example
  namespace: default
spec:
  refreshInterval: 1h0m0s
  deletionPolicy: Delete
  secretStoreRefs:
    - name: azure-store
      kind: SecretStore
  selector:
    secret:
      name: source-secret
  data:
    - match:
        secretKey: source-key
        remoteRef:
          remoteKey: my-azkv-secret-name
"#,
    );
    assert_eq!(check_(Kind::PushSecret, &push), []);
    // A generator source, a template function secret-sync lacks, a dataTo
    // naming a store it does not push to.
    let lacking = object(
        r#"
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: lacking, namespace: default}
spec:
  secretStoreRefs: [{name: azure-store}]
  selector:
    generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}
  template:
    data:
      host: "{{ getHostByName .host }}"
  dataTo:
    - storeRef: {name: elsewhere}
"#,
    );
    let found = check_(Kind::PushSecret, &lacking);
    assert_eq!(
        fields(&found),
        pairs(&[
            ("spec.selector.generatorRef", "field not served"),
            ("spec.template.data.host", "template function getHostByName"),
            ("spec.dataTo", "refused"),
        ])
    );
    assert_eq!(
        found[0].why,
        "secret-sync does not serve spec.selector.generatorRef of a PushSecret"
    );
    assert_eq!(
        found[2].why,
        "dataTo[0]: storeRef \"elsewhere\" not found in secretStoreRefs"
    );
}

#[test]
fn a_cluster_external_secrets_spec_is_planned_as_an_external_secret() {
    // After ESO's `docs/snippets/full-cluster-external-secret.yaml`.
    let ces = object(
        r#"
apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata:
  name: hello-world
spec:
  externalSecretName: hello-world-es
  namespaceSelectors:
  - matchLabels:
      cool: label
  refreshTime: "1m"
  externalSecretSpec:
    secretStoreRef:
      name: secret-store-name
      kind: SecretStore
    refreshPolicy: Periodic
    refreshInterval: "1h0m0s"
    target:
      name: my-secret
      creationPolicy: 'Merge'
      immutable: true
      template:
        type: kubernetes.io/dockerconfigjson
        data:
          h: '{{ getHostByName "x" }}'
    data:
    - secretKey: secret-key-to-be-managed
      remoteRef:
        key: provider-key
        version: provider-key-version
        property: provider-key-property
"#,
    );
    let found = check_(Kind::ClusterExternalSecret, &ces);
    assert_eq!(
        fields(&found),
        pairs(&[
            (
                "spec.externalSecretSpec.target.immutable",
                "field not served"
            ),
            (
                "spec.externalSecretSpec.target.template.data.h",
                "template function getHostByName"
            ),
        ])
    );
    assert_eq!(found[0].namespace, None);
    assert_eq!(found[0].name, "hello-world");
    assert_eq!(
        found[0].why,
        "spec.externalSecretSpec.target.immutable not supported by this controller (it serves the azurekv WorkloadIdentity subset of External Secrets); remove it"
    );
}

#[test]
fn an_external_secret_of_a_store_not_served_is_not_served() {
    let es = |name: &str, store: &str, kind: &str| {
        object(&format!(
            "kind: ExternalSecret\nmetadata: {{name: {name}, namespace: app}}\nspec:\n  secretStoreRef: {{name: {store}, kind: {kind}}}\n  data:\n  - secretKey: k\n    remoteRef: {{key: k}}\n"
        ))
    };
    let report = report_(
        &[
            (
                Kind::SecretStore,
                vec![object(AWS_STORE), object(WORKLOAD_IDENTITY_STORE)],
            ),
            (Kind::ClusterSecretStore, vec![object(VAULT_STORE)]),
            (
                Kind::ExternalSecret,
                vec![
                    es("on-aws", "aws-secretsmanager", "SecretStore"),
                    es("on-vault", "vault-backend-global", "ClusterSecretStore"),
                    es("on-azure", "azure-store", "SecretStore"),
                ],
            ),
            (Kind::PushSecret, Vec::new()),
        ],
        vec!["ClusterExternalSecret: not installed".to_owned()],
    );
    let objects: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.name.as_str(), f.field.as_str(), f.what.as_str()))
        .collect();
    assert_eq!(
        objects,
        [
            (
                Kind::SecretStore,
                "aws-secretsmanager",
                "spec.provider.aws",
                "provider aws"
            ),
            (
                Kind::ClusterSecretStore,
                "vault-backend-global",
                "spec.provider.vault",
                "provider vault"
            ),
            (
                Kind::ExternalSecret,
                "on-aws",
                "spec.secretStoreRef",
                "store SecretStore app/aws-secretsmanager"
            ),
            (
                Kind::ExternalSecret,
                "on-vault",
                "spec.secretStoreRef",
                "store ClusterSecretStore vault-backend-global"
            ),
        ]
    );
    assert!(!report.served());
    assert_eq!(
        report.text(),
        "SecretStore app/aws-secretsmanager
  not served: spec.provider.aws: provider aws: the store's provider is aws; this controller serves provider azurekv only
ClusterSecretStore vault-backend-global
  not served: spec.provider.vault: provider vault: the store's provider is vault; this controller serves provider azurekv only
ExternalSecret app/on-aws
  not served: spec.secretStoreRef: store SecretStore app/aws-secretsmanager: its store SecretStore app/aws-secretsmanager is not served (see the store's findings)
ExternalSecret app/on-vault
  not served: spec.secretStoreRef: store ClusterSecretStore vault-backend-global: its store ClusterSecretStore vault-backend-global is not served (see the store's findings)
note: ClusterExternalSecret: not installed
checked 2 SecretStore, 1 ClusterSecretStore, 3 ExternalSecret, 0 PushSecret: 4 objects not served, 0 served differently
"
    );
    let json = report.json();
    assert_eq!(json["served"], false);
    assert_eq!(
        json["checked"],
        serde_json::json!({"SecretStore": 2, "ClusterSecretStore": 1, "ExternalSecret": 3, "PushSecret": 0})
    );
    assert_eq!(
        json["findings"][0],
        serde_json::json!({
            "kind": "SecretStore",
            "namespace": "app",
            "name": "aws-secretsmanager",
            "field": "spec.provider.aws",
            "what": "provider aws",
            "why": "the store's provider is aws; this controller serves provider azurekv only",
            "level": "not-served",
        })
    );
    assert_eq!(json["findings"][1].get("namespace"), None);
    assert_eq!(
        json["notes"],
        serde_json::json!(["ClusterExternalSecret: not installed"])
    );
}

/// ESO's `docs/snippets/template-v2-from-secret.yaml`: the ConfigMap's
/// templates and the ExternalSecret reading them (its remote keys as
/// Key Vault names).
const GRAFANA_CONFIG_MAP: &str = r#"
datasources:
  - name: Graphite
    type: graphite
    access: proxy
    url: "{{ .uri }}"
    password: "{{ .password }}"
    user: "{{ .user }}"
"#;

const GRAFANA_TEMPLATED: &str = r#" # key and value templated
 my-application-{{ .user}}: {{ .password | b64enc }}
 # conditional keys
 {{- if hasPrefix "oci://" .uri }}
 enableOCI: true
 {{- else }}
 enableOCI: false
 {{- end }}
 # Fixed values
 application-type: grafana
"#;

const GRAFANA_ES: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: my-template-example
  namespace: grafana
spec:
  secretStoreRef:
    name: azure-store
  target:
    name: secret-to-be-created
    template:
      engineVersion: v2
      templateFrom:
      - target: Data
        configMap:
          name: grafana-config-tpl
          items:
          - key: config.yaml
            templateAs: Values
          - key: templated
            templateAs: KeysAndValues
      - target: Annotations
        configMap:
          name: grafana-config-tpl
          items:
          - key: annotations
            templateAs: KeysAndValues
  data:
  - secretKey: user
    remoteRef:
      key: grafana-user
"#;

#[test]
fn templates_kept_in_config_maps_are_parsed_when_read() {
    let es = object(GRAFANA_ES);
    assert_eq!(
        config_maps_named(&[(Kind::ExternalSecret, vec![es.clone()])]),
        [("grafana".to_owned(), "grafana-config-tpl".to_owned())]
    );
    let at = ("grafana".to_owned(), "grafana-config-tpl".to_owned());
    let with = |annotations: &str| {
        let data: BTreeMap<String, String> = [
            ("config.yaml", GRAFANA_CONFIG_MAP),
            ("templated", GRAFANA_TEMPLATED),
            ("annotations", annotations),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        ConfigMaps::from([(at.clone(), Some(data))])
    };
    // As ESO's docs have it: served.
    let docs = with("last-synced-for-user/{{ .user }}: {{ now }}\n");
    assert_eq!(check(Kind::ExternalSecret, &es, &docs), []);
    // A function secret-sync lacks, in the ConfigMap.
    let env = with("home: {{ env \"HOME\" }}\n");
    let found = check(Kind::ExternalSecret, &es, &env);
    assert_eq!(
        fields(&found),
        pairs(&[(
            "spec.target.template.templateFrom[1].configMap.items[0]",
            "template function env"
        )])
    );
    assert_eq!(
        found[0].why,
        "template: configmap/grafana-config-tpl/annotations:1: function \"env\" not defined"
    );
    // The ConfigMap missing, or a key of it: the controller's texts.
    let gone = ConfigMaps::from([(at.clone(), None)]);
    let found = check(Kind::ExternalSecret, &es, &gone);
    assert_eq!(
        fields(&found),
        pairs(&[
            (
                "spec.target.template.templateFrom[0].configMap.name",
                "ConfigMap grafana-config-tpl not found"
            ),
            (
                "spec.target.template.templateFrom[1].configMap.name",
                "ConfigMap grafana-config-tpl not found"
            ),
        ])
    );
    assert_eq!(
        found[0].why,
        "error fetching templateFrom data: configmaps \"grafana-config-tpl\" not found"
    );
    let partial = ConfigMaps::from([(
        at,
        Some(BTreeMap::from([(
            "config.yaml".to_owned(),
            GRAFANA_CONFIG_MAP.to_owned(),
        )])),
    )]);
    let found = check(Kind::ExternalSecret, &es, &partial);
    assert_eq!(
        fields(&found),
        pairs(&[
            (
                "spec.target.template.templateFrom[0].configMap.items[1].key",
                "key templated not in ConfigMap grafana-config-tpl"
            ),
            (
                "spec.target.template.templateFrom[1].configMap.items[0].key",
                "key annotations not in ConfigMap grafana-config-tpl"
            ),
        ])
    );
    assert_eq!(
        found[0].why,
        "error fetching templateFrom data: error in configmap grafana-config-tpl: missing key templated"
    );
    // Not read (forbidden): nothing said of it here; the reader's note
    // says it.
    assert_eq!(check(Kind::ExternalSecret, &es, &ConfigMaps::new()), []);
}

/// ESO serves a store whose `controller` names a class only from a
/// controller of that class (`pkg/controllers/secretstore/common.go`
/// `ShouldProcessStore`); secret-sync has no classes.
#[test]
fn a_store_of_a_controller_class_is_served_differently() {
    let store = WORKLOAD_IDENTITY_STORE.replace("spec:\n", "spec:\n  controller: dev\n");
    let found = check_(Kind::SecretStore, &object(&store));
    assert_eq!(
        fields(&found),
        pairs(&[("spec.controller", "controller class dev")])
    );
    assert_eq!(found[0].level, Level::Differs);
    let empty = WORKLOAD_IDENTITY_STORE.replace("spec:\n", "spec:\n  controller: \"\"\n");
    assert_eq!(check_(Kind::SecretStore, &object(&empty)), []);
}

#[test]
fn a_cluster_store_namespace_regex_that_does_not_compile_is_named() {
    let store = object(
        r#"
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: shared
spec:
  conditions:
  - namespaceRegexes: ["^team-.*$", "team-(a"]
  provider:
    azurekv:
      authType: WorkloadIdentity
      vaultUrl: https://kv.vault.azure.net
"#,
    );
    let found = check_(Kind::ClusterSecretStore, &store);
    assert_eq!(
        fields(&found),
        pairs(&[(
            "spec.conditions[0].namespaceRegexes[1]",
            "not a regular expression"
        )])
    );
    assert!(
        found[0].why.starts_with(
            "spec.conditions[].namespaceRegexes \"team-(a\" is not a regular expression: "
        ),
        "{}",
        found[0].why
    );
}
