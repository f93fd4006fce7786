//! The reference webhook v1.6.0's own test cases for what v1.6 added
//! (Azure/azure-workload-identity `pkg/webhook/webhook_test.go`): the proxy
//! (`TestInjectProxyInitContainer`, `TestInjectProxySidecarContainer`,
//! `TestShouldInjectProxySidecar`, `TestGetProxyPort`, the proxy cases of
//! `TestHandleError`) and the token layout (`TestAddProjectedVolume`,
//! `TestAddProjectServiceAccountTokenVolumeMount`,
//! `TestAddEnvironmentVariables`, `TestMutateContainers`, `TestHandle`,
//! with `--token-layout v1.6`), each run through `webhook mutate` as a
//! process with the matching flags. The reference tests call its inject
//! functions alone;
//! here the whole mutation runs, so the proxy's containers are listed in
//! `skip-containers` where a case compares them field for field (the
//! identity environment and token mount are what every container gets).
//! The containers also carry `resources: {}`, which Go's JSON writes for
//! the reference's (its `Resources` is a struct).
// Test code: a file that cannot be written is a failed test.
#![allow(clippy::unwrap_used)]

use std::{
    io::Write as _,
    process::{Command, Stdio},
};

use azure_wi_core::names;
use serde_json::{Value, json};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const REGISTRY: &str = "my.proxy-image-registry.io/azwi";

/// `webhook mutate` of `pod` (the reference's ServiceAccount `sa` in `ns1`),
/// with `flags`: its exit code and stdout as JSON (the pod, or the review
/// for a denial).
fn mutate(pod: &Value, flags: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let pod_path = dir.path().join("pod.json");
    let sa_path = dir.path().join("sa.json");
    std::fs::write(&pod_path, pod.to_string()).unwrap();
    std::fs::write(
        &sa_path,
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "sa", "namespace": "ns1",
                            "annotations": {"azure.workload.identity/client-id": "clientID"}}})
        .to_string(),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_webhook"));
    command
        .args([
            "mutate",
            "--namespace",
            "ns1",
            "--tenant-id",
            TENANT,
            "--pod",
        ])
        .arg(&pod_path)
        .arg("--service-account")
        .arg(&sa_path)
        .args(flags)
        .env_remove(names::PROXY_IMAGE_ENV)
        .env_remove(names::PROXY_INIT_IMAGE_ENV)
        .env_remove(names::TENANT_ID_ENV)
        .env_remove(names::ENVIRONMENT_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = command.output().unwrap();
    let _ = std::io::stderr().write_all(&output.stderr);
    let stdout: Value = if output.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&output.stdout).unwrap()
    };
    (output.status.code().unwrap_or(-1), stdout)
}

/// The reference's `newPodRaw`-like pod: one container, annotations as
/// given, `hostNetwork` as given.
fn pod(annotations: Value, init: Value, containers: Value, host_network: bool) -> Value {
    let mut pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pod", "namespace": "ns1",
                     "labels": {"azure.workload.identity/use": "true"}},
        "spec": {"serviceAccountName": "sa", "hostNetwork": host_network},
    });
    pod["metadata"]["annotations"] = annotations;
    pod["spec"]["initContainers"] = init;
    pod["spec"]["containers"] = containers;
    pod
}

fn images() -> Vec<String> {
    vec![
        format!("--proxy-image={REGISTRY}/proxy:v1.0.0"),
        format!("--proxy-init-image={REGISTRY}/proxy-init:v1.0.0"),
    ]
}

/// `proxyInitContainer` of `TestInjectProxyInitContainer` (port 8080).
fn proxy_init_container() -> Value {
    json!({
        "name": "azwi-proxy-init",
        "image": format!("{REGISTRY}/proxy-init:v1.0.0"),
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
            "privileged": true, "runAsNonRoot": false, "runAsUser": 0,
        },
        "env": [{"name": "PROXY_PORT", "value": "8080"}],
        "resources": {},
    })
}

/// `proxySidecarContainer` of `TestInjectProxySidecarContainer` (port 8081,
/// the webhook at debug).
fn proxy_sidecar_container(native: bool) -> Value {
    let mut container = json!({
        "name": "azwi-proxy",
        "image": format!("{REGISTRY}/proxy:v1.0.0"),
        "imagePullPolicy": "IfNotPresent",
        "args": ["--proxy-port=8081", "--log-level=debug"],
        "ports": [{"containerPort": 8081}],
        "lifecycle": {"postStart": {"exec": {"command":
            ["/proxy", "--proxy-port=8081", "--probe", "--log-level=debug"]}}},
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
        },
        "resources": {},
    });
    if native {
        container["restartPolicy"] = "Always".into();
    }
    container
}

fn my_container() -> Value {
    json!({"name": "my-container", "image": "my-image"})
}

/// Annotations asking for the proxy on `port`, its containers left as the
/// reference's inject functions write them.
fn asking(port: &str) -> Value {
    json!({
        "azure.workload.identity/inject-proxy-sidecar": "true",
        "azure.workload.identity/proxy-sidecar-port": port,
        "azure.workload.identity/skip-containers": "azwi-proxy;azwi-proxy-init;my-container",
    })
}

#[test]
fn inject_proxy_init_container() {
    let mut flags = images();
    flags.push("--log-level=debug".to_owned());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    for (name, init, expected) in [
        (
            "no init containers",
            json!([]),
            json!([proxy_init_container()]),
        ),
        (
            "proxy init container manually injected",
            json!([proxy_init_container()]),
            json!([proxy_init_container()]),
        ),
        (
            "inject proxy init container to existing init containers",
            json!([my_container()]),
            json!([my_container(), proxy_init_container()]),
        ),
    ] {
        let (code, out) = mutate(
            &pod(
                asking("8080"),
                init,
                json!([{"name": "app", "image": "app"}]),
                false,
            ),
            &flags,
        );
        assert_eq!(code, 0, "{name}: {out}");
        assert_eq!(out["spec"]["initContainers"], expected, "{name}");
    }
}

#[test]
fn inject_proxy_sidecar_container() {
    for native in [false, true] {
        let mut flags = images();
        flags.push("--log-level=debug".to_owned());
        if native {
            flags.push("--native-sidecars".to_owned());
        }
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let list = if native {
            "initContainers"
        } else {
            "containers"
        };
        let cases = [
            (
                "no containers",
                json!([]),
                json!([proxy_sidecar_container(native)]),
            ),
            (
                "proxy sidecar container manually injected",
                json!([proxy_sidecar_container(native)]),
                json!([proxy_sidecar_container(native)]),
            ),
            (
                "inject proxy sidecar container to existing containers",
                json!([my_container()]),
                json!([proxy_sidecar_container(native), my_container()]),
            ),
        ];
        for (name, existing, expected) in cases {
            // The list under test holds `existing`; the other one holds
            // what a pod needs (its init container is the proxy's own).
            let (init, containers) = if native {
                (existing, json!([my_container()]))
            } else {
                (json!([]), existing)
            };
            let (code, out) = mutate(&pod(asking("8081"), init, containers, false), &flags);
            assert_eq!(code, 0, "{name} (native {native}): {out}");
            let mut got = out["spec"][list].clone();
            if native {
                // The init container the mutation also appends.
                let items = got.as_array_mut().unwrap();
                assert_eq!(items.pop().unwrap()["name"], "azwi-proxy-init", "{name}");
            }
            assert_eq!(got, expected, "{name} (native {native})");
        }
    }
}

#[test]
fn should_inject_proxy_sidecar() {
    let containers = json!([{"name": "app", "image": "app"}]);
    let (code, out) = mutate(&pod(json!({}), json!([]), containers.clone(), false), &[]);
    assert_eq!(code, 0);
    assert_eq!(
        out["spec"]["containers"].as_array().unwrap().len(),
        1,
        "pod not annotated"
    );
    let annotated = json!({"azure.workload.identity/inject-proxy-sidecar": "true"});
    let (code, out) = mutate(&pod(annotated, json!([]), containers, false), &[]);
    assert_eq!(code, 0);
    assert_eq!(out["spec"]["containers"][0]["name"], "azwi-proxy");
}

#[test]
fn get_proxy_port() {
    let containers = json!([{"name": "app", "image": "app"}]);
    for (name, annotations, port) in [
        (
            "pod has no azure.workload.identity/proxy-sidecar-port annotation",
            json!({"azure.workload.identity/inject-proxy-sidecar": "true", "test": "test"}),
            8000,
        ),
        (
            "pod is annotated with azure.workload.identity/proxy-sidecar-port=8080",
            json!({"azure.workload.identity/inject-proxy-sidecar": "true",
                   "azure.workload.identity/proxy-sidecar-port": "8080"}),
            8080,
        ),
    ] {
        let (code, out) = mutate(&pod(annotations, json!([]), containers.clone(), false), &[]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(
            out["spec"]["containers"][0]["ports"][0]["containerPort"], port,
            "{name}"
        );
        assert_eq!(
            out["spec"]["initContainers"][0]["env"][0],
            json!({"name": "PROXY_PORT", "value": port.to_string()}),
            "{name}"
        );
    }
}

/// `TestHandleError`'s "pod has host network" and "invalid proxy port".
#[test]
fn handle_error() {
    let containers = json!([{"name": "app", "image": "app"}]);
    for (name, annotations, host_network, message) in [
        (
            "pod has host network",
            json!({"azure.workload.identity/inject-proxy-sidecar": "true"}),
            true,
            "hostNetwork is set to true, cannot inject proxy sidecar",
        ),
        (
            "invalid proxy port",
            json!({"azure.workload.identity/inject-proxy-sidecar": "true",
                   "azure.workload.identity/proxy-sidecar-port": "invalid"}),
            false,
            r#"failed to parse proxy sidecar port: strconv.ParseInt: parsing "invalid": invalid syntax"#,
        ),
    ] {
        let (code, out) = mutate(
            &pod(annotations, json!([]), containers.clone(), host_network),
            &["--output", "review"],
        );
        assert_eq!(code, 1, "{name}: {out}");
        assert_eq!(out["response"]["allowed"], false, "{name}");
        assert_eq!(out["response"]["status"]["code"], 400, "{name}");
        assert_eq!(out["response"]["status"]["message"], message, "{name}");
    }
}

/// The reference tests' `testVolumeName`: a reserved volume the pod already
/// has is the token volume, whatever its suffix.
const TEST_VOLUME_NAME: &str =
    "azure-workload-identity-reserved-2eb503ce-4af0-45d3-82b1-d79bdfe63d38";
/// `buildVolumeName("pod")`: the prefix and the first 30 hex digits of
/// SHA-256("pod") (computed apart, with Python's hashlib).
const POD_VOLUME_NAME: &str = "azure-workload-identity-reserved-425c89ed5bb78a7623fae60fd8a6f6";
const V1_6: [&str; 2] = ["--token-layout", "v1.6"];

/// The v1.6 token source, with the default audience and lifetime.
fn v1_6_volume(name: &str) -> Value {
    json!({"name": name, "projected": {"sources": [{"serviceAccountToken": {
        "path": "token/azure-identity-token",
        "expirationSeconds": 3600,
        "audience": names::DEFAULT_AUDIENCE,
    }}]}})
}

fn v1_6_mount(name: &str) -> Value {
    json!({"name": name, "mountPath": "/var/run/secrets/azure/wi", "readOnly": true})
}

#[test]
fn add_projected_volume() {
    let containers = json!([my_container()]);
    // "no volumes in the pod": named from the pod's name.
    let (code, out) = mutate(&pod(json!({}), json!([]), containers.clone(), false), &V1_6);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["spec"]["volumes"],
        json!([v1_6_volume(POD_VOLUME_NAME)])
    );

    // "azure-identity-token projected volume already exists": kept as it is.
    let mut existing = pod(json!({}), json!([]), containers.clone(), false);
    existing["spec"]["volumes"] = json!([v1_6_volume(TEST_VOLUME_NAME)]);
    let (code, out) = mutate(&existing, &V1_6);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["spec"]["volumes"],
        json!([v1_6_volume(TEST_VOLUME_NAME)])
    );
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([v1_6_mount(TEST_VOLUME_NAME)])
    );

    // "existing projected service account token volume overridden with
    // desired audience".
    let mut other = pod(json!({}), json!([]), containers, false);
    other["spec"]["volumes"] = json!([{"name": TEST_VOLUME_NAME, "projected": {"sources": [
        {"serviceAccountToken": {"path": "my-projected-volume", "expirationSeconds": 3600,
                                 "audience": "aud"}}]}}]);
    let (code, out) = mutate(&other, &V1_6);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["spec"]["volumes"],
        json!([v1_6_volume(TEST_VOLUME_NAME)])
    );
}

#[test]
fn add_project_service_account_token_volume_mount() {
    // "volume mount added to container".
    let (code, out) = mutate(
        &pod(
            json!({}),
            json!([]),
            json!([{"name": "cont1", "image": "image"}]),
            false,
        ),
        &V1_6,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([v1_6_mount(POD_VOLUME_NAME)])
    );
    // "volume mount added to existing volume mounts for container".
    let with_mount = json!([{"name": "cont1", "image": "image", "volumeMounts": [
        {"name": "my-volume-mount", "mountPath": "/var/run/pods"}]}]);
    let mut pod = pod(json!({}), json!([]), with_mount, false);
    pod["spec"]["volumes"] = json!([{"name": "my-volume-mount", "emptyDir": {}}]);
    let (code, out) = mutate(&pod, &V1_6);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["spec"]["containers"][0]["volumeMounts"],
        json!([{"name": "my-volume-mount", "mountPath": "/var/run/pods"},
               v1_6_mount(POD_VOLUME_NAME)])
    );
}

#[test]
fn mutate_containers() {
    // "one container and one skip container" (and so "one container").
    let containers = json!([{"name": "my-container", "image": "my-image"},
                            {"name": "skip-container", "image": "skip-image"}]);
    let (code, out) = mutate(
        &pod(
            json!({"azure.workload.identity/skip-containers": "skip-container"}),
            json!([]),
            containers,
            false,
        ),
        &V1_6,
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out["spec"]["containers"],
        json!([{
            "name": "my-container", "image": "my-image",
            "env": [
                {"name": names::CLIENT_ID_ENV, "value": "clientID"},
                {"name": names::TENANT_ID_ENV, "value": TENANT},
                {"name": names::FEDERATED_TOKEN_FILE_ENV,
                 "value": "/var/run/secrets/azure/wi/token/azure-identity-token"},
                {"name": names::AUTHORITY_HOST_ENV, "value": "https://login.microsoftonline.com/"},
            ],
            "volumeMounts": [v1_6_mount(POD_VOLUME_NAME)],
        }, {"name": "skip-container", "image": "skip-image"}])
    );
}

#[test]
fn handle() {
    // `TestHandle`: every pod allowed, no patch removes anything. Its
    // ServiceAccount cache cases are the server's (`mutate` reads a file);
    // its default-ServiceAccount cases differ only in the account's name.
    let plain = || json!([{"name": "container", "image": "image"}]);
    let init = || json!([{"name": "init-container", "image": "init-container-image"}]);
    let native_init = json!([{"name": "init-container", "image": "init-container-image",
                              "restartPolicy": "Always"}]);
    for (name, pod) in [
        (
            "pod has the required label, no warnings",
            pod(json!({}), init(), plain(), false),
        ),
        (
            "pod has the required label, restart policy in init container",
            pod(
                json!({}),
                native_init,
                json!([{"name": "container", "image": "image",
                                                "resources": {}}]),
                false,
            ),
        ),
    ] {
        let (code, out) = mutate(&pod, &["--token-layout", "v1.6", "--output", "review"]);
        assert_eq!(code, 0, "{name}: {out}");
        assert_eq!(out["response"]["allowed"], true, "{name}");
        let patch = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            out["response"]["patch"].as_str().unwrap(),
        )
        .unwrap();
        let patch: Vec<Value> = serde_json::from_slice(&patch).unwrap();
        assert!(
            patch.iter().all(|op| op["op"] != "remove"),
            "{name}: {patch:?}"
        );
        let (_, mutated) = mutate(&pod, &V1_6);
        for list in ["initContainers", "containers"] {
            for container in mutated["spec"][list].as_array().unwrap() {
                assert_eq!(
                    container["volumeMounts"],
                    json!([v1_6_mount(POD_VOLUME_NAME)]),
                    "{name}: {list}"
                );
            }
        }
    }
}

#[test]
fn add_environment_variables() {
    // `TestAddEnvironmentVariables` with v1.6's token path (its
    // "not added when empty" case needs an empty authority host, which no
    // configuration gives here).
    let identity = |client: &str, tenant: &str| {
        vec![
            json!({"name": names::CLIENT_ID_ENV, "value": client}),
            json!({"name": names::TENANT_ID_ENV, "value": tenant}),
            json!({"name": names::FEDERATED_TOKEN_FILE_ENV,
                   "value": "/var/run/secrets/azure/wi/token/azure-identity-token"}),
            json!({"name": names::AUTHORITY_HOST_ENV, "value": "https://login.microsoftonline.com/"}),
        ]
    };
    let mine = json!({"name": "MY_ENV_VAR", "value": "test"});
    let mut with_mine = vec![mine.clone()];
    with_mine.extend(identity("clientID", TENANT));
    for (name, env, expected) in [
        (
            "environment variables added to container",
            None,
            Value::Array(identity("clientID", TENANT)),
        ),
        (
            "existing environment variables not replaced",
            Some(Value::Array(identity("myClientID", "myTenantID"))),
            Value::Array(identity("myClientID", "myTenantID")),
        ),
        (
            "environment variables added to existing list",
            Some(json!([mine])),
            Value::Array(with_mine.clone()),
        ),
    ] {
        let mut container = json!({"name": "cont1", "image": "image"});
        if let Some(env) = env {
            container["env"] = env;
        }
        let (code, out) = mutate(&pod(json!({}), json!([]), json!([container]), false), &V1_6);
        assert_eq!(code, 0, "{name}: {out}");
        assert_eq!(out["spec"]["containers"][0]["env"], expected, "{name}");
    }
}
