//! The `webhook mutate` dry run as a user runs it: real process, real files,
//! exit codes and the split between stdout and stderr.

use std::{
    io::Write as _,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use base64::Engine as _;
use serde_json::Value;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

fn repo(path: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

fn webhook(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args(args)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_ENVIRONMENT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("the binary finishes")
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn example_args<'a>(pod: &'a str, sa: &'a str) -> Vec<&'a str> {
    vec![
        "mutate",
        "--pod",
        pod,
        "--service-account",
        sa,
        "--tenant-id",
        TENANT,
    ]
}

#[test]
fn prints_the_mutated_pod_with_no_warnings_for_a_correct_setup() {
    let (pod, sa) = (
        repo("examples/pod.yaml"),
        repo("examples/serviceaccount.yaml"),
    );
    let out = webhook(&example_args(&pod, &sa), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let mutated = stdout_json(&out);
    let api = &mutated["spec"]["containers"][0];
    assert_eq!(api["env"][0]["name"], "KEYVAULT_URL");
    assert_eq!(
        api["env"][1]["value"],
        "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34"
    );
    assert_eq!(api["env"][2]["value"], TENANT);
    // The skipped sidecar is untouched, the native sidecar keeps its policy.
    assert!(mutated["spec"]["containers"][1].get("env").is_none());
    assert_eq!(
        mutated["spec"]["initContainers"][1]["restartPolicy"],
        "Always"
    );
    assert_eq!(
        mutated["spec"]["volumes"][1]["name"],
        "azure-identity-token"
    );
}

#[test]
fn prints_the_patch_or_the_review_on_request() {
    let (pod, sa) = (
        repo("examples/pod.yaml"),
        repo("examples/serviceaccount.yaml"),
    );
    let mut args = example_args(&pod, &sa);
    args.extend(["--output", "patch"]);
    let out = webhook(&args, None);
    assert_eq!(out.status.code(), Some(0));
    let patch = stdout_json(&out);
    let ops = patch.as_array().expect("a JSON Patch is an array");
    assert_eq!(ops.len(), 10);
    assert!(ops.iter().all(|op| op["op"] == "add"));

    let mut args = example_args(&pod, &sa);
    args.extend(["--output", "review"]);
    let review = stdout_json(&webhook(&args, None));
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["response"]["allowed"], true);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(review["response"]["patch"].as_str().expect("patch"))
        .expect("base64");
    assert_eq!(
        serde_json::from_slice::<Value>(&decoded).expect("json"),
        patch
    );
}

#[test]
fn denial_exits_1_with_the_message_on_stderr() {
    let pod = repo("examples/pod.yaml");
    let out = webhook(&["mutate", "--pod", &pod], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out)
            .contains("admission denied (code 400): serviceaccounts \"orders-api\" not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn service_account_lists_are_searched_by_namespace_and_name() {
    let pod = repo("examples/pod.yaml");
    let sas = repo("webhook/tests/cli/serviceaccounts.yaml");
    let out = webhook(&example_args(&pod, &sas), None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout_json(&out)["spec"]["containers"][0]["env"][1]["value"],
        "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34"
    );

    let out = webhook(
        &[
            "mutate",
            "--pod",
            &pod,
            "--service-account",
            &sas,
            "--namespace",
            "team-c",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("note: the pod uses ServiceAccount team-c/orders-api; --service-account holds team-a/billing, team-a/orders-api, team-b/orders-api"), "{}", stderr(&out));
}

#[test]
fn reads_pods_from_stdin_and_explains_a_missing_label() {
    let sa = repo("examples/serviceaccount.yaml");
    let pod = r#"{"metadata": {"name": "p", "namespace": "team-a", "annotations": {"azure.workload.identity/use": "true"}},
                  "spec": {"serviceAccountName": "orders-api", "containers": [{"name": "c", "image": "i"}]}}"#;
    let out = webhook(
        &["mutate", "--pod", "-", "--service-account", &sa],
        Some(pod),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("note: the pod has no label azure.workload.identity/use: \"true\", so in a cluster the webhook is not called for it (it is set as an annotation; it must be a label)"), "{err}");
    assert!(err.contains("Warning: ServiceAccount team-a/orders-api has no azure.workload.identity/tenant-id annotation and the webhook has no tenant configured"), "{err}");
}

#[test]
fn review_mode_echoes_version_and_uid() {
    let review = repo("webhook/tests/cli/review-v1beta1.json");
    let sa = repo("examples/serviceaccount.yaml");
    let out = webhook(
        &[
            "mutate",
            "--review",
            &review,
            "--service-account",
            &sa,
            "--tenant-id",
            TENANT,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let response = stdout_json(&out);
    assert_eq!(response["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(
        response["response"]["uid"],
        "3f9a6c1e-2b7d-4e8f-a1c3-5d6e7f8a9b0c"
    );
    assert_eq!(response["response"]["patchType"], "JSONPatch");

    let out = webhook(&["mutate", "--review", &review], None);
    assert_eq!(out.status.code(), Some(1));
    let response = stdout_json(&out);
    assert_eq!(
        response["response"]["status"]["message"],
        "serviceaccounts \"orders-api\" not found"
    );
}

#[test]
fn unusable_input_exits_2_naming_what_is_wrong() {
    let pod = repo("examples/pod.yaml");
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (
            vec!["mutate", "--pod", "/nonexistent/pod.yaml"],
            None,
            "error: cannot read /nonexistent/pod.yaml:",
        ),
        (
            vec!["mutate", "--pod", "-"],
            Some("spec: [unclosed"),
            "error: standard input is not valid YAML:",
        ),
        (
            vec!["mutate", "--pod", "-"],
            Some("{\"spec\": "),
            "error: standard input is not valid JSON:",
        ),
        (
            vec!["mutate", "--pod", "-"],
            Some("a: 1\n---\nb: 2\n"),
            "error: standard input holds 2 documents, expected exactly one",
        ),
        (
            vec!["mutate", "--pod", "-"],
            Some(""),
            "error: standard input holds no document",
        ),
        (
            vec![
                "mutate",
                "--pod",
                &pod,
                "--azure-environment",
                "AzureMoonCloud",
            ],
            None,
            "unknown Azure environment \"AzureMoonCloud\"",
        ),
        (
            vec!["mutate", "--pod", &pod, "--tenant-id", "a b"],
            None,
            "invalid tenant id \"a b\"",
        ),
        (
            vec!["mutate", "--pod", &pod, "--service-account", "-"],
            Some("kind: Pod\nmetadata: {name: x}\n"),
            "error: standard input: document 1: not a valid ServiceAccount: invalid value: string \"Pod\", expected ServiceAccount",
        ),
        (
            vec!["mutate", "--review", "-"],
            Some("{\"kind\": \"AdmissionReview\"}"),
            "error: standard input: unsupported apiVersion \"\"",
        ),
        (vec!["mutate"], None, "--pod <FILE>"),
    ];
    for (args, stdin, expected) in cases {
        let out = webhook(&args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn serve_refuses_to_start_without_a_usable_configuration() {
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_webhook"));
        command
            .args([
                "serve",
                "--disable-cert-rotation",
                "--service-accounts",
                "/nonexistent",
            ])
            .args(extra)
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_ENVIRONMENT");
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("the binary runs")
    };
    let out = run(&[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("error: AZURE_TENANT_ID is not set: the webhook needs the Entra tenant"),
        "{}",
        stderr(&out)
    );
    let out = run(&[("AZURE_TENANT_ID", " ")], &[]);
    assert!(
        stderr(&out).contains("AZURE_TENANT_ID is not set"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &[
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_ENVIRONMENT", "AzureMoonCloud"),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown Azure environment \"AzureMoonCloud\""),
        "{}",
        stderr(&out)
    );
    let out = run(
        &[("AZURE_TENANT_ID", TENANT)],
        &["--tls-min-version", "1.1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unsupported TLS version \"1.1\": expected 1.2 or 1.3"),
        "{}",
        stderr(&out)
    );
    for count in ["0", "many"] {
        let out = run(
            &[("AZURE_TENANT_ID", TENANT)],
            &["--max-connections", count],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains(&format!("'{count}' for '--max-connections <N>'")),
            "{}",
            stderr(&out)
        );
    }
    let out = run(&[("AZURE_TENANT_ID", TENANT)], &["--log-level", "loud"]);
    assert!(
        stderr(&out).contains("error: --log-level \"loud\""),
        "{}",
        stderr(&out)
    );
    let out = run(&[("AZURE_TENANT_ID", TENANT)], &[]);
    assert!(
        stderr(&out).contains("error: cannot read /nonexistent"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn certs_writes_a_pair_and_prints_the_ca_bundle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = webhook(
        &[
            "certs",
            "--service",
            "wi",
            "--namespace",
            "infra",
            "--extra-san",
            "127.0.0.1",
            "--out",
            dir.path().to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ca = std::fs::read_to_string(dir.path().join("ca.crt")).expect("ca.crt");
    let bundle = String::from_utf8(out.stdout).expect("utf-8");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(bundle.trim())
        .expect("base64");
    assert_eq!(decoded, ca.as_bytes());
    let cert = std::fs::read_to_string(dir.path().join("tls.crt")).expect("tls.crt");
    let key = std::fs::read_to_string(dir.path().join("tls.key")).expect("tls.key");
    certs::check_pair(&cert, &key).expect("the key matches the certificate");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("tls.key"))
        .expect("key")
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the private key is readable by others: {mode:o}"
    );
}

/// The custom token endpoint's flags are checked at start, with the
/// reference's texts, by `mutate` as by `serve`.
#[test]
fn custom_token_endpoint_flags_are_checked_at_start() {
    let out = webhook(
        &[
            "mutate",
            "--pod",
            "-",
            "--custom-token-endpoint-audience",
            "api://AKSIdentityBinding",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "custom token endpoint annotation suffix cannot be empty when audience is set"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_token_layout_comes_from_its_flag_or_variable_and_is_checked() {
    let (pod, sa) = (
        repo("examples/pod.yaml"),
        repo("examples/serviceaccount.yaml"),
    );
    let mut args = example_args(&pod, &sa);
    args.extend(["--token-layout", "v1.6"]);
    let out = webhook(&args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let mutated = stdout_json(&out);
    assert_eq!(
        mutated["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["mountPath"],
        "/var/run/secrets/azure/wi"
    );

    // The ConfigMap's variable, as `serve` reads it from deploy/.
    let out = Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args(example_args(&pod, &sa))
        .env(azure_wi_core::names::TOKEN_LAYOUT_ENV, "v1.6")
        .env_remove("AZURE_TENANT_ID")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("/var/run/secrets/azure/wi/token/azure-identity-token"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let mut args = example_args(&pod, &sa);
    args.extend(["--token-layout", "v2"]);
    let out = webhook(&args, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown token layout \"v2\": expected one of v1.5, v1.6"),
        "{}",
        stderr(&out)
    );
}
