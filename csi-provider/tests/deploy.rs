//! `deploy/components/csi-provider`: it renders, validates against the
//! Kubernetes schemas, lays the socket out where the driver looks for the
//! `azure` provider, probes the health endpoint the flags open, and passes
//! flags the binary accepts.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use azure_wi_control_plane::manifests::{container_args, find, render, validate};
use serde_json::Value;

fn container(docs: &[Value]) -> &Value {
    &find(docs, "DaemonSet", "azure-wi-csi-provider")["spec"]["template"]["spec"]["containers"][0]
}

fn args(docs: &[Value]) -> Vec<String> {
    container_args(find(docs, "DaemonSet", "azure-wi-csi-provider"))
}

fn flag<'a>(args: &'a [String], name: &str) -> &'a str {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
        .unwrap_or_else(|| panic!("--{name} is not set: {args:?}"))
}

#[test]
fn the_daemonset_serves_the_azure_socket_where_the_driver_looks() {
    let (text, docs) = render("deploy/overlays/csi-provider");
    for version in ["1.33.0", "1.37.0"] {
        validate(&text, version);
    }
    let daemonset = find(&docs, "DaemonSet", "azure-wi-csi-provider");
    assert_eq!(daemonset["metadata"]["namespace"], "kube-system");
    let pod = &daemonset["spec"]["template"]["spec"];
    let args = args(&docs);

    // The driver dials <provider dir>/<provider name>.sock: the hostPath is
    // its default --provider-volume, the socket is named for `provider: azure`.
    let endpoint = flag(&args, "endpoint");
    let socket = endpoint.strip_prefix("unix://").unwrap();
    let (dir, file) = socket.rsplit_once('/').unwrap();
    assert_eq!(file, "azure.sock");
    let mount = &container(&docs)["volumeMounts"][0];
    assert_eq!(mount["mountPath"], dir);
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap();
    assert_eq!(
        volume["hostPath"]["path"],
        "/var/run/secrets-store-csi-providers"
    );

    // Probes reach the health endpoint the flags open.
    let ports = container(&docs)["ports"].as_array().unwrap();
    let port = |name: &str| {
        ports.iter().find(|p| p["name"] == name).unwrap()["containerPort"]
            .as_u64()
            .unwrap()
            .to_string()
    };
    assert_eq!(port("healthz"), flag(&args, "healthz-port"));
    assert_eq!(port("metrics"), flag(&args, "prometheus-port"));
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &container(&docs)[probe]["httpGet"];
        assert_eq!(get["path"], flag(&args, "healthz-path"), "{probe}");
        assert_eq!(get["port"], "healthz", "{probe}");
    }

    // Least privilege: no API access, no capabilities, read-only root.
    assert_eq!(pod["automountServiceAccountToken"], false);
    let security = &container(&docs)["securityContext"];
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert!(container(&docs)["resources"]["limits"]["memory"].is_string());
}

#[test]
fn the_daemonset_passes_flags_the_binary_accepts() {
    let (_, docs) = render("deploy/overlays/csi-provider");
    let dir = tempfile::tempdir().unwrap();
    // The manifest's flags, with the socket and ports moved to this test's
    // own: the binary parses every flag, opens both ports, then fails to
    // bind a socket in a folder that does not exist, with its own message.
    let mut args: Vec<String> = args(&docs)
        .into_iter()
        .map(|a| match a.split_once('=') {
            Some(("--endpoint", _)) => format!(
                "--endpoint=unix://{}/missing/azure.sock",
                dir.path().display()
            ),
            Some(("--healthz-port" | "--prometheus-port", _)) => {
                format!("{}=0", a.split_once('=').unwrap().0)
            }
            _ => a,
        })
        .collect();
    args.push("--http-address=127.0.0.1".into());
    let out = Command::new(env!("CARGO_BIN_EXE_azure-wi-csi-provider"))
        .args(&args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing/azure.sock"), "{args:?}: {stderr}");
    assert!(stderr.contains("binding"), "{args:?}: {stderr}");
}
