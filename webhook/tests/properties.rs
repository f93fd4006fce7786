//! Property tests of the mutation over generated pods and ServiceAccounts.
//!
//! The oracle is a model: the rules written again, plainly, on typed
//! k8s-openapi structs. The mutation's patch, applied to the raw input by the
//! `json-patch` crate, must give exactly the model's pod; mutating twice must
//! equal mutating once; nothing in the input may disappear but the foreign
//! sources of the reserved token volume, and those only with a warning; no
//! input panics.

use std::collections::BTreeSet;

use azure_wi_core::{ServiceAccountInfo, names};
use futures::executor::block_on;
use k8s_openapi::api::core::v1::{
    Container, EnvVar, Pod, ServiceAccountTokenProjection, Volume, VolumeMount, VolumeProjection,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use webhook::{
    admission::{AdmissionRequest, admit, admit_review},
    config::MutationConfig,
    mutate::{AdmissionPod, mutate},
    serviceaccount::StaticServiceAccounts,
};

const NAMESPACE: &str = "team-a";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

// === generators ===

fn pick<T: Clone + std::fmt::Debug + 'static>(
    items: &[T],
) -> impl Strategy<Value = T> + Clone + use<T> {
    proptest::sample::select(items.to_vec())
}

fn maybe_array(items: impl Strategy<Value = Vec<Value>>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(Value::Null)),
        4 => items.prop_map(|v| Some(Value::Array(v))),
    ]
}

fn env_var() -> impl Strategy<Value = Value> {
    (
        pick(&[
            names::CLIENT_ID_ENV,
            names::TENANT_ID_ENV,
            names::FEDERATED_TOKEN_FILE_ENV,
            names::AUTHORITY_HOST_ENV,
            "FOO",
            "BAR",
        ]),
        any::<bool>(),
    )
        .prop_map(|(name, plain)| {
            if plain {
                json!({"name": name, "value": "user"})
            } else {
                json!({"name": name, "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}})
            }
        })
}

fn mount() -> impl Strategy<Value = Value> {
    (
        pick(&[names::TOKEN_VOLUME, "data", "cfg"]),
        pick(&[
            "/var/run/secrets/azure/tokens",
            "/var/run/secrets/azure/tokens/",
            "/data",
            "/tokens",
        ]),
        pick(&[None, Some(true), Some(false)]),
    )
        .prop_map(|(name, path, read_only)| {
            let mut m = json!({"name": name, "mountPath": path});
            if let Some(ro) = read_only {
                m["readOnly"] = json!(ro);
            }
            m
        })
}

fn container() -> impl Strategy<Value = Value> {
    (
        pick(&["app", "sidecar", "proxy", "init"]),
        maybe_array(proptest::collection::vec(env_var(), 0..4)),
        maybe_array(proptest::collection::vec(mount(), 0..3)),
        pick(&[None, Some("Always")]),
    )
        .prop_map(|(name, env, mounts, restart)| {
            let mut c = json!({"name": name, "image": "img"});
            if let Some(env) = env {
                c["env"] = env;
            }
            if let Some(mounts) = mounts {
                c["volumeMounts"] = mounts;
            }
            if let Some(policy) = restart {
                c["restartPolicy"] = json!(policy);
            }
            c
        })
}

fn token_source() -> impl Strategy<Value = Value> {
    (
        pick(&[names::TOKEN_VOLUME, "other-token"]),
        pick(&[None, Some(3600), Some(7200)]),
        pick(&[None, Some(names::DEFAULT_AUDIENCE), Some("api://Old")]),
    )
        .prop_map(|(path, exp, aud)| {
            let mut t = json!({"path": path});
            if let Some(e) = exp {
                t["expirationSeconds"] = json!(e);
            }
            if let Some(a) = aud {
                t["audience"] = json!(a);
            }
            json!({"serviceAccountToken": t})
        })
}

fn volume() -> impl Strategy<Value = Value> {
    let source = prop_oneof![
        Just(json!({"emptyDir": {}})),
        Just(json!({"configMap": {"name": "cm"}})),
        (
            proptest::collection::vec(
                prop_oneof![
                    3 => token_source(),
                    1 => Just(json!({"configMap": {"name": "ca"}})),
                ],
                0..3
            ),
            pick(&[None, Some(420)])
        )
            .prop_map(|(sources, mode)| {
                let mut p = json!({"sources": sources});
                if let Some(m) = mode {
                    p["defaultMode"] = json!(m);
                }
                json!({"projected": p})
            }),
    ];
    (pick(&[names::TOKEN_VOLUME, "data", "cfg"]), source).prop_map(|(name, source)| {
        let mut v = source;
        v["name"] = json!(name);
        v
    })
}

fn expiration_value() -> impl Strategy<Value = Option<&'static str>> {
    pick(&[
        None,
        None,
        Some(""),
        Some("3600"),
        Some("7200"),
        Some("+4000"),
        Some("3599"),
        Some("86401"),
        Some("1h"),
    ])
}

#[derive(Debug, Clone)]
struct Case {
    pod: Value,
    sa: Option<ServiceAccountInfo>,
}

fn case() -> impl Strategy<Value = Case> {
    let spec = (
        maybe_array(proptest::collection::vec(container(), 0..3)),
        proptest::collection::vec(container(), 0..4),
        maybe_array(proptest::collection::vec(volume(), 0..3)),
    );
    let meta = (
        pick(&[None, Some(""), Some(NAMESPACE)]),
        proptest::collection::vec(pick(&["app", " sidecar ", "proxy", "ghost", ""]), 0..3),
        expiration_value(),
    );
    let sa = (
        pick(&[
            None,
            Some(""),
            Some("3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34"),
            Some("not-a-guid"),
        ]),
        pick(&[None, Some(""), Some("contoso.onmicrosoft.com")]),
        expiration_value(),
        0..10u8,
    );
    (spec, meta, sa, any::<bool>()).prop_map(
        |(
            (init, containers, volumes),
            (ns, skip, pod_exp),
            (client, tenant, sa_exp, exists),
            unknown,
        )| {
            let mut annotations = Map::new();
            if !skip.is_empty() {
                annotations.insert(
                    names::SKIP_CONTAINERS_ANNOTATION.into(),
                    json!(skip.join(";")),
                );
            }
            if let Some(e) = pod_exp {
                annotations.insert(names::TOKEN_EXPIRATION_ANNOTATION.into(), json!(e));
            }
            let mut pod = json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "annotations": annotations},
                "spec": {"serviceAccountName": "app", "containers": containers},
            });
            if let Some(ns) = ns {
                pod["metadata"]["namespace"] = json!(ns);
            }
            if let Some(init) = init {
                pod["spec"]["initContainers"] = init;
            }
            if let Some(volumes) = volumes {
                pod["spec"]["volumes"] = volumes;
            }
            if unknown {
                pod["metadata"]["futureField"] = json!({"x": 1});
                pod["spec"]["futureField"] = json!([1, 2]);
                if let Some(Value::Object(c)) = pod.pointer_mut("/spec/containers/0") {
                    c.insert("futureField".into(), json!("kept"));
                }
            }
            let sa_annotations = [
                client.map(|c| (names::CLIENT_ID_ANNOTATION, c)),
                tenant.map(|t| (names::TENANT_ID_ANNOTATION, t)),
                sa_exp.map(|e| (names::TOKEN_EXPIRATION_ANNOTATION, e)),
            ]
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
            let sa =
                (exists > 0).then(|| ServiceAccountInfo::new(NAMESPACE, "app", sa_annotations));
            Case { pod, sa }
        },
    )
}

// === the model ===

fn model(input: &Pod, sa: Option<&ServiceAccountInfo>, config: &MutationConfig) -> Option<Pod> {
    let sa = sa?;
    let annotations = input.metadata.annotations.clone().unwrap_or_default();
    let pick_exp = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
    let expiration = match pick_exp(
        annotations
            .get(names::TOKEN_EXPIRATION_ANNOTATION)
            .map(String::as_str),
    )
    .or_else(|| pick_exp(sa.annotation(names::TOKEN_EXPIRATION_ANNOTATION)))
    {
        None => 3600,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (3600..=86400).contains(n))?,
    };
    let skip: BTreeSet<String> = annotations
        .get(names::SKIP_CONTAINERS_ANNOTATION)
        .map(|s| s.split(';').map(|n| n.trim().to_owned()).collect())
        .unwrap_or_default();
    let tenant = match sa.annotation(names::TENANT_ID_ANNOTATION) {
        Some(t) => t.to_owned(),
        None => config
            .tenant_id()
            .map(|t| t.to_string())
            .unwrap_or_default(),
    };
    let env = [
        (
            names::CLIENT_ID_ENV,
            sa.annotation(names::CLIENT_ID_ANNOTATION)
                .unwrap_or("")
                .to_owned(),
        ),
        (names::TENANT_ID_ENV, tenant),
        (
            names::FEDERATED_TOKEN_FILE_ENV,
            names::TOKEN_FILE_PATH.to_owned(),
        ),
        (
            names::AUTHORITY_HOST_ENV,
            config.cloud().authority_host().to_owned(),
        ),
    ];

    let mut pod = input.clone();
    if pod.metadata.namespace.as_deref().unwrap_or("").is_empty() {
        pod.metadata.namespace = Some(NAMESPACE.to_owned());
    }
    let spec = pod.spec.get_or_insert_with(Default::default);
    let at_path = |p: &str| p.trim_end_matches('/') == names::TOKEN_MOUNT_PATH;
    let mutate_container = |c: &mut Container| -> Option<()> {
        if skip.contains(&c.name) {
            return Some(());
        }
        let vars = c.env.get_or_insert_with(Vec::new);
        for (name, value) in &env {
            if !value.is_empty() && !vars.iter().any(|v| v.name == *name) {
                vars.push(EnvVar {
                    name: (*name).to_owned(),
                    value: Some(value.clone()),
                    value_from: None,
                });
            }
        }
        let mounts = c.volume_mounts.get_or_insert_with(Vec::new);
        if mounts
            .iter()
            .any(|m| m.name != names::TOKEN_VOLUME && at_path(&m.mount_path))
        {
            return None;
        }
        let ours = mounts
            .iter()
            .position(|m| m.name == names::TOKEN_VOLUME && at_path(&m.mount_path))
            .or_else(|| mounts.iter().position(|m| m.name == names::TOKEN_VOLUME));
        match ours {
            Some(i) => {
                mounts[i].mount_path = names::TOKEN_MOUNT_PATH.to_owned();
                mounts[i].read_only = Some(true);
            }
            None => mounts.push(VolumeMount {
                name: names::TOKEN_VOLUME.to_owned(),
                mount_path: names::TOKEN_MOUNT_PATH.to_owned(),
                read_only: Some(true),
                ..Default::default()
            }),
        }
        Some(())
    };
    for c in spec
        .init_containers
        .iter_mut()
        .flatten()
        .chain(spec.containers.iter_mut())
    {
        mutate_container(c)?;
    }

    let token = ServiceAccountTokenProjection {
        audience: Some(config.audience().to_string()),
        expiration_seconds: Some(expiration),
        path: names::TOKEN_VOLUME.to_owned(),
    };
    let volumes = spec.volumes.get_or_insert_with(Vec::new);
    let ours: Vec<usize> = (0..volumes.len())
        .filter(|i| volumes[*i].name == names::TOKEN_VOLUME)
        .collect();
    match ours.as_slice() {
        [] => volumes.push(Volume {
            name: names::TOKEN_VOLUME.to_owned(),
            projected: Some(k8s_openapi::api::core::v1::ProjectedVolumeSource {
                sources: Some(vec![VolumeProjection {
                    service_account_token: Some(token),
                    ..Default::default()
                }]),
                default_mode: None,
            }),
            ..Default::default()
        }),
        [i] => {
            let kinds = serde_json::to_value(&volumes[*i]).ok()?;
            if kinds
                .as_object()?
                .keys()
                .any(|k| k != "name" && k != "projected")
            {
                return None;
            }
            let sources = volumes[*i]
                .projected
                .as_mut()?
                .sources
                .get_or_insert_with(Vec::new);
            let matching: Vec<usize> = (0..sources.len())
                .filter(|j| {
                    sources[*j]
                        .service_account_token
                        .as_ref()
                        .is_some_and(|t| t.path == names::TOKEN_VOLUME)
                })
                .collect();
            // The reserved volume ends up holding exactly the token: every
            // other source is dropped; its defaultMode stays.
            if matching.len() > 1 {
                return None;
            }
            *sources = vec![VolumeProjection {
                service_account_token: Some(token),
                ..Default::default()
            }];
        }
        _ => return None,
    }
    Some(pod)
}

/// Pointer to the one volume named azure-identity-token, if there is one.
fn token_volume_pointer(pod: &Value) -> Option<String> {
    let volumes = pod.pointer("/spec/volumes")?.as_array()?;
    let mut ours = volumes
        .iter()
        .enumerate()
        .filter(|(_, v)| v["name"] == names::TOKEN_VOLUME);
    match (ours.next(), ours.next()) {
        (Some((i, _)), None) => Some(format!("/spec/volumes/{i}")),
        _ => None,
    }
}

/// How many sources of the reserved volume are not a token at its path.
fn foreign_sources(pod: &Value) -> usize {
    token_volume_pointer(pod)
        .and_then(|v| {
            pod.pointer(&format!("{v}/projected/sources"))?
                .as_array()
                .cloned()
        })
        .unwrap_or_default()
        .iter()
        .filter(|s| s.pointer("/serviceAccountToken/path") != Some(&json!(names::TOKEN_VOLUME)))
        .count()
}

/// Every JSON pointer to a leaf or container in `v`.
fn paths(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            paths(
                v,
                format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| paths(v, format!("{prefix}/{i}"), out)),
        _ => {}
    }
    out.push(prefix);
}

fn config() -> MutationConfig {
    MutationConfig::default().with_tenant_id(TENANT.parse().expect("valid tenant"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn patch_gives_the_model_pod_and_is_idempotent(case in case()) {
        let config = config();
        let parsed = AdmissionPod::parse(&case.pod, NAMESPACE).expect("generated pods decode");
        let outcome = mutate(&parsed, case.sa.as_ref(), &config);
        let typed_input: Pod = serde_json::from_value(case.pod.clone()).expect("decodes");
        let expected = model(&typed_input, case.sa.as_ref(), &config);

        match (outcome, expected) {
            (Err(denial), None) => prop_assert!(!denial.to_string().is_empty()),
            (Err(denial), Some(_)) => prop_assert!(false, "denied but the model admits: {denial}"),
            (Ok(m), None) => prop_assert!(false, "admitted but the model denies: {}", m.patch()),
            (Ok(mutation), Some(expected)) => {
                let mut mutated = case.pod.clone();
                json_patch::patch(&mut mutated, &mutation.patch().0).expect("patch applies");
                // Every operation is an `add`, except one `replace` of the
                // volume already named azure-identity-token.
                let token_volume = token_volume_pointer(&case.pod);
                for op in &mutation.patch().0 {
                    match op {
                        json_patch::PatchOperation::Add(_) => {}
                        json_patch::PatchOperation::Replace(r) => prop_assert_eq!(
                            Some(r.path.to_string()),
                            token_volume.clone(),
                            "replace outside the token volume"
                        ),
                        other => prop_assert!(false, "unexpected operation {}", other),
                    }
                }

                // Exactly the model's pod, compared as typed Pods.
                let typed: Pod = serde_json::from_value(mutated.clone()).expect("result is a Pod");
                prop_assert_eq!(serde_json::to_value(&typed).unwrap(), serde_json::to_value(&expected).unwrap());

                // A source other than the token is dropped from the reserved
                // volume exactly when it held one, and then with a warning.
                let foreign = foreign_sources(&case.pod);
                let warned = mutation.warnings().iter().any(|w| w.contains("other sources were dropped"));
                prop_assert_eq!(warned, foreign > 0, "warnings: {:?}", mutation.warnings());

                // Nothing in the input disappears, but for those dropped
                // sources; unknown fields are untouched.
                let mut before = Vec::new();
                paths(&case.pod, String::new(), &mut before);
                let droppable = token_volume.map(|v| format!("{v}/projected/sources/"));
                for p in before {
                    let dropped_source = foreign > 0
                        && droppable.as_ref().is_some_and(|d| p.starts_with(d.as_str()));
                    prop_assert!(mutated.pointer(&p).is_some() || dropped_source, "{} was removed", p);
                }
                for p in ["/metadata/futureField", "/spec/futureField", "/spec/containers/0/futureField"] {
                    prop_assert_eq!(case.pod.pointer(p), mutated.pointer(p));
                }

                // Mutating twice equals mutating once.
                let again = AdmissionPod::parse(&mutated, NAMESPACE).expect("decodes");
                let second = mutate(&again, case.sa.as_ref(), &config).expect("admitted again");
                prop_assert!(second.patch().0.is_empty(), "second patch: {}", second.patch());
            }
        }
    }

    #[test]
    fn arbitrary_json_never_panics(doc in arbitrary_json(), ns in "[a-z]{0,3}") {
        if let Ok(pod) = AdmissionPod::parse(&doc, &ns) {
            let sa = ServiceAccountInfo::new(pod.namespace(), pod.service_account_name(), []);
            if let Ok(m) = mutate(&pod, Some(&sa), &config()) {
                prop_assert!(m.apply_to(&doc).is_ok());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The server reads an AdmissionReview and its pod in one pass
    /// (`admit_review`); it must answer every review exactly as reading the
    /// review and then decoding its pod (`admit`) does, denials and errors
    /// included.
    #[test]
    fn one_pass_review_answers_as_two_passes(
        object in prop_oneof![arbitrary_json(), case().prop_map(|c| c.pod)],
        namespace in pick(&["", NAMESPACE, "x"]),
        operation in pick(&["CREATE", "UPDATE", ""]),
        envelope in pick(&[("admission.k8s.io/v1", "AdmissionReview"), ("admission.k8s.io/v1beta1", "AdmissionReview"), ("v1", "AdmissionReview"), ("admission.k8s.io/v1", "Pod")]),
    ) {
        let (api_version, kind) = envelope;
        let body = json!({
            "apiVersion": api_version, "kind": kind,
            "request": {"uid": "u-1", "namespace": namespace, "operation": operation, "object": object},
        })
        .to_string();
        let accounts = StaticServiceAccounts::new([ServiceAccountInfo::new(
            NAMESPACE,
            "default",
            [(names::CLIENT_ID_ANNOTATION.to_owned(), "11111111-2222-3333-4444-555555555555".to_owned())],
        )]);
        let config = config();
        let served = block_on(admit_review(body.as_bytes(), &config, &accounts));
        match AdmissionRequest::from_review_slice(body.as_bytes()) {
            Err(error) => prop_assert_eq!(served.err().map(|e| e.to_string()), Some(error.to_string())),
            Ok(request) => {
                let (response, served_namespace) = served.expect("both read the review");
                prop_assert_eq!(response, block_on(admit(&request, &config, &accounts)));
                prop_assert_eq!(served_namespace, request.namespace);
            }
        }
    }
}

/// JSON trees biased towards pod-shaped keys, so decoding gets deep enough to
/// reach the mutation.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z/.-]{0,8}".prop_map(Value::String),
        Just(json!(names::TOKEN_VOLUME)),
        Just(json!(names::TOKEN_MOUNT_PATH)),
    ];
    let keys = pick(&[
        "metadata",
        "spec",
        "containers",
        "initContainers",
        "volumes",
        "volumeMounts",
        "env",
        "name",
        "mountPath",
        "projected",
        "sources",
        "serviceAccountToken",
        "path",
        "annotations",
        "namespace",
        "x",
    ]);
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys.clone(), inner, 0..5).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}
