//! `deploy/components/secret-sync`: it renders, validates against the
//! Kubernetes schemas, holds the CRDs the types generate, runs two
//! replicas under leader election with the webhook label on the pod
//! template, and passes flags the binary accepts.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use azure_wi_control_plane::manifests::{container_args, find, find_all, render, validate};
use kube::ResourceExt as _;

#[test]
fn the_component_renders_validates_and_says_what_the_design_requires() {
    let (text, docs) = render("deploy/overlays/secret-sync");
    for version in ["1.33.0", "1.37.0"] {
        validate(&text, version);
    }
    let mut rendered: Vec<String> = find_all(&docs, "CustomResourceDefinition")
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    let mut generated: Vec<String> = secret_sync::api::crd::all()
        .iter()
        .map(|c| c.name_any())
        .collect();
    rendered.sort();
    generated.sort();
    assert_eq!(rendered, generated);

    let deployment = find(&docs, "Deployment", "secret-sync");
    assert_eq!(deployment["metadata"]["namespace"], "external-secrets");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"][azure_wi_core::names::USE_LABEL],
        "true"
    );
    assert!(
        deployment["metadata"]["labels"]
            .get(azure_wi_core::names::USE_LABEL)
            .is_none()
    );
    let args = pod["spec"]["containers"][0]["args"].as_array().unwrap();
    assert!(args.iter().any(|a| a == "--leader-elect"), "{args:?}");

    // The role grants what the controller does, and no more than that.
    let role = find(&docs, "ClusterRole", "secret-sync");
    let rules = role["rules"].as_array().unwrap();
    let grants = |resource: &str, verb: &str| {
        rules.iter().any(|r| {
            r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x == resource)
                && r["verbs"].as_array().unwrap().iter().any(|x| x == verb)
        })
    };
    assert!(grants("serviceaccounts/token", "create"));
    assert!(grants("externalsecrets/status", "patch"));
    assert!(grants("secrets", "patch"));
    assert!(!grants("serviceaccounts", "create"));
    assert!(!grants("secrets", "deletecollection"));
    let binding = find(&docs, "ClusterRoleBinding", "secret-sync");
    assert_eq!(binding["subjects"][0]["namespace"], "external-secrets");
}

#[test]
fn the_deployment_passes_flags_the_binary_accepts() {
    let (_, docs) = render("deploy/overlays/secret-sync");
    let deployment = find(&docs, "Deployment", "secret-sync");
    let args = container_args(deployment);
    // With no kubeconfig and no in-cluster service account, the binary
    // stops right after parsing every flag, with its own message: an
    // unknown flag would fail earlier. (An API server that is configured
    // but unreachable is waited for, unready: tests/leader_election.rs.)
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_secret-sync"))
        .args(&args)
        .env("KUBECONFIG", dir.path().join("missing"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot configure the Kubernetes client"),
        "{args:?}: {stderr}"
    );

    // `secret-sync crds` prints what deploy/ holds.
    let out = Command::new(env!("CARGO_BIN_EXE_secret-sync"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        secret_sync::api::crd::yaml()
    );
}
