use super::*;

fn es(yaml: &str) -> ExternalSecret {
    yaml_serde::from_str(yaml).unwrap()
}

/// Walkthrough 1, option A, placeholders filled.
const PATTERN: &str = r#"
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: app-secrets
  namespace: app
spec:
  refreshInterval: 30s
  secretStoreRef:
    kind: SecretStore
    name: azure-store
  target:
    name: app-k8s-secrets
    creationPolicy: Owner
  dataFrom:
  - find:
      name:
        regexp: ".*(password|secret|key).*"
"#;

/// Walkthrough 3, placeholders filled: no namespace, no creationPolicy.
const MINIMAL: &str = r#"
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata:
  name: my-secret
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: azure-secret-store
    kind: SecretStore
  target:
    name: my-k8s-secret
  data:
  - secretKey: db-password
    remoteRef:
      key: database-password
"#;

#[test]
fn walkthrough_external_secrets_plan_as_eso_reads_them() {
    let pattern = plan(&es(PATTERN)).unwrap();
    assert_eq!(
        pattern.store,
        ("azure-store".into(), StoreKind::SecretStore)
    );
    assert_eq!(pattern.target, "app-k8s-secrets");
    assert_eq!(pattern.refresh, Some(Duration::from_secs(30)));
    assert_eq!(pattern.finds.len(), 1);
    let find = &pattern.finds[0];
    let none = BTreeMap::new();
    // Unanchored, as Go's regexp.MatchString.
    assert!(find.matches("db-password", &none));
    assert!(find.matches("api-key-prod", &none));
    assert!(!find.matches("username", &none));

    let minimal = plan(&es(MINIMAL)).unwrap();
    assert_eq!(minimal.target, "my-k8s-secret");
    assert_eq!(minimal.creation, CreationPolicy::Owner);
    assert_eq!(minimal.deletion, DeletionPolicy::Retain);
    assert_eq!(minimal.secret_type, "Opaque");
    assert_eq!(minimal.reads[0].secret_key, "db-password");
    assert_eq!(minimal.reads[0].remote.name, "database-password");
    assert_eq!(minimal.reads[0].remote.kind, ObjectKind::Secret);

    // Option B: `name: {}` finds every secret.
    let every = plan(&es(&PATTERN.replace(
        "name:\n        regexp: \".*(password|secret|key).*\"",
        "name: {}",
    )))
    .unwrap();
    assert!(every.finds[0].matches("anything", &none));
}

#[test]
fn defaults_and_intervals() {
    let once = plan(&es(
        &MINIMAL.replace("refreshInterval: 1h", "refreshInterval: \"0\"")
    ))
    .unwrap();
    assert_eq!(once.refresh, None);
    let default = plan(&es(&MINIMAL.replace("  refreshInterval: 1h\n", ""))).unwrap();
    assert_eq!(default.refresh, Some(DEFAULT_REFRESH));
    let unnamed = plan(&es(&MINIMAL.replace("    name: my-k8s-secret\n", ""))).unwrap();
    assert_eq!(unnamed.target, "my-secret");
    let err = plan(&es(
        &MINIMAL.replace("refreshInterval: 1h", "refreshInterval: 1d")
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("spec.refreshInterval \"1d\" is not a duration"),
        "{err}"
    );
}

#[test]
fn what_cannot_be_served_is_refused_before_any_read() {
    let err = |yaml: String| plan(&es(&yaml)).unwrap_err().to_string();
    let unsupported = err(MINIMAL
        .replace(
            "  refreshInterval: 1h\n",
            "  refreshInterval: 1h\n  syncWindows:\n    kind: Deny\n",
        )
        .replace(
            "      key: database-password\n",
            "      key: database-password\n      nullBytePolicy: Fail\n",
        ));
    assert!(
        unsupported
            .contains("spec.syncWindows, spec.data[0].remoteRef.nullBytePolicy not supported"),
        "{unsupported}"
    );
    let prefix = err(MINIMAL.replace("key: database-password", "key: blob/database-password"));
    assert!(
        prefix.contains("unknown Azure Keyvault object Type"),
        "{prefix}"
    );
    let regexp = err(PATTERN.replace(".*(password|secret|key).*", "(unclosed"));
    assert!(regexp.contains("is not a regular expression"), "{regexp}");
    let cert_extract = err(MINIMAL.replace(
        "  data:\n  - secretKey: db-password\n    remoteRef:\n      key: database-password\n",
        "  dataFrom:\n  - extract:\n      key: cert/web\n",
    ));
    assert!(
        cert_extract.contains("cannot get use dataFrom to get certificate secret"),
        "{cert_extract}"
    );
}

/// ESO's `setMetadata`: without a template the Secret gets the
/// ExternalSecret's own labels and annotations; with one, only the
/// template's, and the template's finalizers.
#[test]
fn metadata_comes_from_the_external_secret_or_its_template_as_eso_takes_it() {
    let without = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: app
  labels: {team: payments}
  annotations: {owner: "db-team"}
spec:
  secretStoreRef: {name: kv}
  data:
  - secretKey: password
    remoteRef: {key: db-password}
"#))
    .unwrap();
    assert_eq!(without.labels["team"], "payments");
    assert_eq!(without.annotations["owner"], "db-team");
    assert!(without.finalizers.is_empty());

    let with = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: app
  labels: {team: payments}
spec:
  secretStoreRef: {name: kv}
  target:
    template:
      type: kubernetes.io/basic-auth
      metadata:
        labels: {app: db}
        finalizers: [example.com/keep]
  data:
  - secretKey: password
    remoteRef: {key: db-password}
"#))
    .unwrap();
    assert_eq!(with.labels.len(), 1);
    assert_eq!(with.labels["app"], "db");
    assert!(with.annotations.is_empty());
    assert_eq!(with.finalizers, ["example.com/keep"]);
}

/// `rewrite` is planned with its expressions checked and its templates
/// parsed; an entry with two operations is refused.
#[test]
fn rewrite_is_planned_and_what_is_not_served_is_named() {
    let planned = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  dataFrom:
  - find: {name: {regexp: "^db-"}}
    rewrite:
    - regexp: {source: "^db-", target: ""}
"#))
    .unwrap();
    assert!(
        matches!(&planned.finds[0].keys.ops[0], crate::keys::KeyOp::Regexp { source, .. } if source.as_str() == "^db-")
    );
    let transform = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  dataFrom:
  - extract: {key: json}
    rewrite:
    - transform: {template: "{{ .value | nosuchfunction }}"}
"#))
    .unwrap_err()
    .to_string();
    assert!(
        transform.contains(r#"failed rewrite operation[0]: transform failed with failed to parse template: template: transform:1: function "nosuchfunction" not defined"#),
        "{transform}"
    );
    let refused = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  dataFrom:
  - extract: {key: json}
    rewrite:
    - transform: {template: "{{ .value }}"}
      regexp: {source: a, target: b}
"#))
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains(
            "spec.dataFrom[].rewrite[0] with not exactly one of merge, regexp and transform"
        ),
        "{refused}"
    );
    let bad = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  dataFrom:
  - extract: {key: json}
    rewrite:
    - regexp: {source: "(unclosed", target: ""}
"#))
    .unwrap_err()
    .to_string();
    assert!(bad.contains("is not a regular expression"), "{bad}");
}

/// ESO compiles `find.name.regexp` and `rewrite[].regexp.source` with Go's
/// `regexp`, whose RE2 reads some patterns otherwise than the `regex`
/// crate: `\d` is ASCII (ARABIC-INDIC DIGIT THREE is no digit to Go),
/// `\Q…\E` quotes (the crate refuses it), and what Go refuses (`a**`,
/// which the crate takes) is refused with Go's text.
#[test]
fn patterns_are_compiled_and_matched_as_go_does() {
    let planned = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  dataFrom:
  - find: {name: {regexp: '^db\d+\Q.\E'}}
    rewrite:
    - regexp: {source: '\d', target: '_'}
    - regexp: {source: '\Q.\E', target: '-'}
"#))
    .unwrap();
    let find = &planned.finds[0];
    let none = BTreeMap::new();
    assert!(find.matches("db12.x", &none));
    assert!(!find.matches("db12x", &none));
    assert!(!find.matches("db\u{663}.x", &none));
    let keys = |names: &[&str]| -> BTreeMap<String, Vec<u8>> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), Vec::new()))
            .collect()
    };
    assert_eq!(
        crate::keys::rewrite(&find.keys.ops, keys(&["a1.b", "a\u{663}.b"])).unwrap(),
        keys(&["a_-b", "a\u{663}-b"])
    );

    let refused = |pattern: &str| {
        let find = format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: db}}\nspec:\n  secretStoreRef: {{name: kv}}\n  dataFrom:\n  - find: {{name: {{regexp: '{pattern}'}}}}\n"
        );
        let rewrite = format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: db}}\nspec:\n  secretStoreRef: {{name: kv}}\n  dataFrom:\n  - extract: {{key: json}}\n    rewrite:\n    - regexp: {{source: '{pattern}', target: ''}}\n"
        );
        [
            plan(&es(&find)).unwrap_err().to_string(),
            plan(&es(&rewrite)).unwrap_err().to_string(),
        ]
    };
    assert_eq!(
        refused("a**"),
        [
            "spec.dataFrom[].find.name.regexp \"a**\" is not a regular expression: error parsing regexp: invalid nested repetition operator: `**`",
            "spec.dataFrom[].rewrite[].regexp.source \"a**\" is not a regular expression: error parsing regexp: invalid nested repetition operator: `**`",
        ]
    );
    assert_eq!(
        refused("(unclosed")[0],
        "spec.dataFrom[].find.name.regexp \"(unclosed\" is not a regular expression: error parsing regexp: missing closing ): `(unclosed`"
    );
}

/// `metadataPolicy` is planned for `data` and `dataFrom.extract`, `None`
/// unless written; `dataFrom` of a certificate or key is refused with it
/// too, as ESO's `GetSecretMap` refuses it before looking at the policy.
#[test]
fn metadata_policy_is_planned_per_reference() {
    let planned = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  data:
  - secretKey: owner
    remoteRef: {key: cert/web, property: owner, metadataPolicy: Fetch}
  - secretKey: value
    remoteRef: {key: db-password, metadataPolicy: None}
  - secretKey: plain
    remoteRef: {key: db-password}
  dataFrom:
  - extract: {key: db-password, metadataPolicy: Fetch}
"#))
    .unwrap();
    let policies: Vec<MetadataPolicy> = planned.reads.iter().map(|r| r.metadata).collect();
    assert_eq!(
        policies,
        [
            MetadataPolicy::Fetch,
            MetadataPolicy::None,
            MetadataPolicy::None
        ]
    );
    assert_eq!(planned.reads[0].remote.kind, ObjectKind::Cert);
    assert_eq!(planned.extracts[0].metadata, MetadataPolicy::Fetch);
    let refused = plan(&es(r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  secretStoreRef: {name: kv}
  dataFrom:
  - extract: {key: key/signing, metadataPolicy: Fetch}
"#))
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("cannot get use dataFrom to get key secret"),
        "{refused}"
    );
    let unknown = yaml_serde::from_str::<ExternalSecret>(&MINIMAL.replace(
        "      key: database-password\n",
        "      key: database-password\n      metadataPolicy: Always\n",
    ));
    assert!(unknown.is_err(), "ESO's values only");
}
