//! `spec.target.template` through the real controller on a real
//! kube-apiserver, against the emulated Entra ID and Key Vault: ESO's
//! ExternalSecret controller template cases (external-secrets/
//! external-secrets `pkg/controllers/externalsecret/
//! externalsecret_controller_test.go`: `syncWithTemplate`,
//! `syncWithTemplatePrecedence`, `syncTemplateFromKeysAndValues`,
//! `syncTemplateFromLiteral`, `templateShouldMerge`,
//! `templateShouldRewrite`, `syncWithDataFromTemplate`), a TLS Secret made
//! from a Key Vault certificate's PFX by ESO's documented template, and a
//! template that fails: a condition and an event naming the key, the
//! Secret kept as it was.
#![allow(clippy::unwrap_used)]

#[path = "support/key_vault.rs"]
mod key_vault;
mod support;

use std::time::Duration;

use azure_wi_control_plane::ControlPlane;
use azure_wi_emulator::{
    Config,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use key_vault::secret_seed;
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use secret_sync::api::ExternalSecret;
use serde_json::json;
use support::{
    Cluster, apply, data_of, events_about, eventually, ready, secret, service_account, trusting,
};

const NS: &str = "tpl";

fn config(plane: &ControlPlane) -> Config {
    let mut config = trusting(
        Config::demo_with_keys_and_certificates(),
        plane,
        NS,
        "tpl-sa",
    );
    let vault = config
        .vaults
        .iter_mut()
        .find(|v| v.name == "orders-kv")
        .unwrap();
    vault
        .secrets
        .push(secret_seed("targetProperty", &["someValue"]));
    vault
        .secrets
        .push(secret_seed("registry-token", &["t0ken"]));
    vault.secrets.push(secret_seed(
        "datamap",
        &[
            r#"{"targetProperty": "map-foo-value", "bar": "map-bar-value", "targetKey": "map-foo-value", "targetValue": "map-bar-value", "complex": "{\"nested\":\"json\",\"can\":\"be\",\"templated\":\"successfully\"}"}"#,
        ],
    ));
    config
}

const OBJECTS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {name: template-cm, namespace: tpl}
data:
  tpl-from-key: "tpl-from-value: {{ .targetProperty | toString }} // {{ .bar | toString }}"
  kv-key: "{{ .targetKey }}-cm: {{ .targetValue }}"
---
apiVersion: v1
kind: Secret
metadata: {name: template-secret, namespace: tpl}
stringData:
  tpl-from-sec-key: "tpl-from-sec-value: {{ .targetProperty | toString }} // {{ .bar | toString }}"
---
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: kv, namespace: tpl}
spec:
  provider:
    azurekv:
      authType: WorkloadIdentity
      tenantId: TENANT
      vaultUrl: https://orders-kv.vault.azure.net
      serviceAccountRef: {name: tpl-sa}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: with-template
  namespace: tpl
  labels: {fooobar: bazz}
  annotations: {hihihih: hehehe}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      type: Opaque
      engineVersion: v2
      metadata:
        labels: {foos: ball}
        annotations: {hihi: ga}
        finalizers: [example.com/finalizer]
      data:
        targetProperty: "{{ .targetProperty | toString | upper }} was templated"
        tplstatickey: tplstaticvalue
  data:
  - secretKey: targetProperty
    remoteRef: {key: targetProperty}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: precedence, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      type: Opaque
      templateFrom:
      - configMap:
          name: template-cm
          items: [{key: tpl-from-key}]
      - secret:
          name: template-secret
          items: [{key: tpl-from-sec-key}]
      data:
        targetProperty: "{{ .targetProperty | toString | upper }} was templated"
        bar: "value from map: {{ .bar | toString }}"
        tplstatickey: tplstaticvalue
  data:
  - secretKey: targetProperty
    remoteRef: {key: targetProperty}
  dataFrom:
  - extract: {key: datamap}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: literal, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      type: Opaque
      templateFrom:
      - configMap:
          name: template-cm
          items: [{key: kv-key, templateAs: KeysAndValues}]
      - literal: "{{ .targetKey }}-literal: {{ .targetValue }}"
      - literal: |

          {{- range $k, $v := ( .complex | fromJson )}}
          {{ $k }}: {{ $v }}
          {{- end }}
      - target: Annotations
        literal: "{{ .targetKey }}-annotations: {{ .targetValue }}"
      - target: Labels
        literal: "{{ .targetKey }}-labels: {{ .targetValue }}"
  dataFrom:
  - extract: {key: datamap}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: merge, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      mergePolicy: Merge
      data:
        key: "{{.targetProperty}}-foo"
  data:
  - secretKey: targetProperty
    remoteRef: {key: targetProperty}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: type-only, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      type: kubernetes.io/tls
  data:
  - secretKey: tls.crt
    remoteRef: {key: targetProperty}
  - secretKey: tls.key
    remoteRef: {key: targetProperty}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: tls, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      type: kubernetes.io/tls
      engineVersion: v2
      data:
        tls.crt: "{{ .cert | b64dec | pkcs12cert }}"
        tls.key: "{{ .cert | b64dec | pkcs12key }}"
  data:
  - secretKey: cert
    remoteRef: {key: secret/web-tls}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: registry, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      type: kubernetes.io/dockerconfigjson
      data:
        .dockerconfigjson: |
          {"auths": {"myregistry.azurecr.io": {"auth": "{{ printf "%s:%s" "robot" .token | b64enc }}"}}}
  data:
  - secretKey: token
    remoteRef: {key: registry-token}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: rewrite, namespace: tpl}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: kv}
  target:
    template:
      data:
        key: "{{.targetProperty}}-foo"
  data:
  - secretKey: targetProperty
    remoteRef: {key: targetProperty}
"#;

fn text(data: &std::collections::BTreeMap<String, Vec<u8>>, key: &str) -> String {
    String::from_utf8(data.get(key).cloned().unwrap_or_default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_render_as_esos_controller_renders_them() {
    let cluster = Cluster::start(config, &[NS]).await;
    let client = cluster.client.clone();

    apply(
        &client,
        NS,
        &format!(
            "{}---\n{}",
            service_account(NS, "tpl-sa", DEMO_CLIENT_ID),
            OBJECTS.replace("TENANT", DEMO_TENANT)
        ),
    )
    .await;
    let synced = |name: &'static str| {
        let client = client.clone();
        async move {
            eventually(
                Duration::from_secs(30),
                &format!("{name} to sync"),
                || async {
                    if let Some((status, reason, message)) = ready(&client, NS, name).await {
                        assert_ne!(status, "False", "{name}: {reason}: {message}");
                    }
                    secret(&client, NS, name).await
                },
            )
            .await
        }
    };

    // syncWithTemplate.
    let s = synced("with-template").await;
    let data = data_of(&s);
    assert_eq!(text(&data, "targetProperty"), "SOMEVALUE was templated");
    assert_eq!(text(&data, "tplstatickey"), "tplstaticvalue");
    assert_eq!(
        data.len(),
        2,
        "mergePolicy Replace keeps only the rendered keys"
    );
    let labels = s.metadata.labels.clone().unwrap_or_default();
    let annotations = s.metadata.annotations.clone().unwrap_or_default();
    assert_eq!(labels.get("foos").map(String::as_str), Some("ball"));
    assert!(
        !labels.contains_key("fooobar"),
        "with a template the ExternalSecret's own labels are not copied"
    );
    assert_eq!(annotations.get("hihi").map(String::as_str), Some("ga"));
    assert!(
        s.metadata
            .finalizers
            .clone()
            .unwrap_or_default()
            .contains(&"example.com/finalizer".to_owned())
    );

    // syncWithTemplatePrecedence.
    let data = data_of(&synced("precedence").await);
    assert_eq!(text(&data, "targetProperty"), "SOMEVALUE was templated");
    assert_eq!(text(&data, "tplstatickey"), "tplstaticvalue");
    assert_eq!(text(&data, "bar"), "value from map: map-bar-value");
    assert_eq!(
        text(&data, "tpl-from-key"),
        "tpl-from-value: someValue // map-bar-value"
    );
    assert_eq!(
        text(&data, "tpl-from-sec-key"),
        "tpl-from-sec-value: someValue // map-bar-value"
    );

    // syncTemplateFromKeysAndValues and syncTemplateFromLiteral.
    let s = synced("literal").await;
    let data = data_of(&s);
    assert_eq!(text(&data, "map-foo-value-cm"), "map-bar-value");
    assert_eq!(text(&data, "map-foo-value-literal"), "map-bar-value");
    assert_eq!(text(&data, "nested"), "json");
    assert_eq!(text(&data, "can"), "be");
    assert_eq!(text(&data, "templated"), "successfully");
    assert_eq!(
        s.metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .get("map-foo-value-annotations")
            .map(String::as_str),
        Some("map-bar-value")
    );
    assert_eq!(
        s.metadata
            .labels
            .clone()
            .unwrap_or_default()
            .get("map-foo-value-labels")
            .map(String::as_str),
        Some("map-bar-value")
    );

    // templateShouldMerge.
    let data = data_of(&synced("merge").await);
    assert_eq!(text(&data, "key"), "someValue-foo");
    assert_eq!(text(&data, "targetProperty"), "someValue");

    // syncWithDataFromTemplate's shape: a type-only template keeps the keys.
    let s = synced("type-only").await;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(text(&data_of(&s), "tls.crt"), "someValue");

    // A TLS Secret from the certificate's PFX, by ESO's documented template.
    let s = synced("tls").await;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
    let data = data_of(&s);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&data["tls.crt"])
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!chain.is_empty(), "tls.crt holds PEM certificates");
    let key = PrivateKeyDer::from_pem_slice(&data["tls.key"]).unwrap();
    let signing = rustls::crypto::ring::sign::any_supported_type(&key).unwrap();
    let certified = rustls::sign::CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .expect("tls.key is the key of tls.crt's leaf");

    // README's pull secret: a valid kubernetes.io/dockerconfigjson (the
    // API server checks the JSON).
    let s = synced("registry").await;
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/dockerconfigjson"));
    assert_eq!(
        text(&data_of(&s), ".dockerconfigjson"),
        "{\"auths\": {\"myregistry.azurecr.io\": {\"auth\": \"cm9ib3Q6dDBrZW4=\"}}}\n"
    );

    // templateShouldRewrite: a changed template replaces the keys.
    let es_api: Api<ExternalSecret> = Api::namespaced(client.clone(), NS);
    assert_eq!(
        text(&data_of(&synced("rewrite").await), "key"),
        "someValue-foo"
    );
    es_api
        .patch(
            "rewrite",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"target": {"template": {"data": {"key": null, "new": "foo"}}}}}),
            ),
        )
        .await
        .unwrap();
    let data = eventually(
        Duration::from_secs(30),
        "the rewritten template",
        || async {
            secret(&client, NS, "rewrite")
                .await
                .map(|s| data_of(&s))
                .filter(|d| d.contains_key("new"))
        },
    )
    .await;
    assert_eq!(text(&data, "new"), "foo");
    assert!(
        !data.contains_key("key"),
        "a key the template no longer makes leaves the Secret"
    );

    // A template that fails: the condition and the event name the key
    // and the reason; the Secret keeps what it had.
    es_api
        .patch(
            "rewrite",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"spec": {"target": {"template": {"data": {"broken": "{{ .nosuchkey }}"}}}}}),
            ),
        )
        .await
        .unwrap();
    let message = eventually(
        Duration::from_secs(30),
        "the failed template's condition",
        || async {
            ready(&client, NS, "rewrite")
                .await
                .filter(|(status, _, _)| status == "False")
                .map(|(_, reason, message)| {
                    assert_eq!(reason, "SecretSyncedError");
                    message
                })
        },
    )
    .await;
    assert!(
        message.contains("unable to execute template at key broken")
            && message.contains(r#"map has no entry for key "nosuchkey""#),
        "{message}"
    );
    let events = eventually(Duration::from_secs(10), "an UpdateFailed event", || async {
        let found = events_about(&client, NS, "rewrite", "UpdateFailed").await;
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert!(events.iter().any(|e| {
        e.note
            .as_deref()
            .is_some_and(|n| n.contains("at key broken"))
    }));
    assert_eq!(
        data_of(&secret(&client, NS, "rewrite").await.unwrap()),
        data,
        "the Secret keeps what it had"
    );

    cluster.stop().await;
}
