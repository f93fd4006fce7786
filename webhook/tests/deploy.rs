//! The manifests in `deploy/`: they render with kustomize, validate against
//! the Kubernetes schemas, say what the design requires, and pass flags the
//! binary accepts.
//!
//! Needs `kubectl` (kustomize is built in) and `kubernetes-validate` from
//! PyPI; `.ci/run` installs the latter.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::process::Command;

use azure_wi_control_plane::manifests::{container_args, find, find_all, render, validate};

#[test]
fn base_renders_validates_and_says_what_the_design_requires() {
    let (text, docs) = render("deploy/base");
    for version in ["1.33.0", "1.37.0"] {
        validate(&text, version);
    }

    let ns = find(&docs, "Namespace", "azure-workload-identity-system");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );

    let config = find(
        &docs,
        "MutatingWebhookConfiguration",
        "azure-wi-webhook-mutating-webhook-configuration",
    );
    let webhook = &config["webhooks"][0];
    assert_eq!(webhook["name"], "mutation.azure-workload-identity.io");
    assert_eq!(webhook["failurePolicy"], "Fail");
    assert_eq!(
        webhook["objectSelector"]["matchLabels"]["azure.workload.identity/use"],
        "true"
    );
    assert_eq!(webhook["reinvocationPolicy"], "IfNeeded");
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(webhook["matchPolicy"], "Equivalent");
    assert_eq!(
        webhook["admissionReviewVersions"],
        serde_json::json!(["v1", "v1beta1"])
    );
    assert_eq!(
        webhook["rules"],
        serde_json::json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}])
    );
    assert_eq!(webhook["clientConfig"]["service"]["path"], "/mutate-v1-pod");
    assert_eq!(webhook["timeoutSeconds"], 5);

    // The warn-only workload check: never in the way of a rollout.
    let validating = find(
        &docs,
        "ValidatingWebhookConfiguration",
        "azure-wi-webhook-validating-webhook-configuration",
    );
    let check = &validating["webhooks"][0];
    assert_eq!(check["failurePolicy"], "Ignore");
    assert_eq!(check["sideEffects"], "None");
    assert_eq!(
        check["admissionReviewVersions"],
        serde_json::json!(["v1", "v1beta1"])
    );
    assert!(check["timeoutSeconds"].as_i64().unwrap() <= 5);
    assert_eq!(
        check["clientConfig"]["service"],
        webhook["clientConfig"]["service"]
            .as_object()
            .map(|s| {
                let mut s = s.clone();
                s.insert("path".into(), "/validate-workloads".into());
                serde_json::Value::Object(s)
            })
            .unwrap()
    );
    assert_eq!(
        check["rules"],
        serde_json::json!([
            {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
             "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"]},
            {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
             "resources": ["jobs", "cronjobs"]}
        ])
    );
    assert_eq!(check["namespaceSelector"], webhook["namespaceSelector"]);

    let deployment = find(&docs, "Deployment", "azure-wi-webhook-controller-manager");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"]["memory"].is_string());

    let service = find(&docs, "Service", "azure-wi-webhook-webhook-service");
    assert_eq!(service["spec"]["ports"][0]["port"], 443);
    let target = service["spec"]["ports"][0]["targetPort"].as_str().unwrap();
    let port = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == target)
        .unwrap();
    assert_eq!(port["containerPort"], 9443);

    let pdb = find(&docs, "PodDisruptionBudget", "azure-wi-webhook");
    assert_eq!(pdb["spec"]["minAvailable"], 1);

    // Least privilege: ServiceAccounts are only read; writes are limited to
    // the webhook's own Secret and configuration, by name.
    let cluster_role = find(&docs, "ClusterRole", "azure-wi-webhook-manager-role");
    for rule in cluster_role["rules"].as_array().unwrap() {
        let writes = rule["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v != "get" && v != "list" && v != "watch");
        if writes {
            let own = [
                serde_json::json!(["azure-wi-webhook-mutating-webhook-configuration"]),
                serde_json::json!(["azure-wi-webhook-validating-webhook-configuration"]),
            ];
            assert!(own.contains(&rule["resourceNames"]), "{rule}");
        }
        assert!(
            !rule["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "*"),
            "{rule}"
        );
    }
    let role = find(&docs, "Role", "azure-wi-webhook-manager-role");
    for rule in role["rules"].as_array().unwrap() {
        assert_eq!(rule["resources"], serde_json::json!(["secrets"]));
        if rule["verbs"] != serde_json::json!(["create"]) {
            assert_eq!(
                rule["resourceNames"],
                serde_json::json!(["azure-wi-webhook-server-cert"])
            );
        }
    }
}

#[test]
fn the_deployment_passes_flags_the_binary_accepts() {
    let (_, docs) = render("deploy/base");
    let deployment = find(&docs, "Deployment", "azure-wi-webhook-controller-manager");
    let args = container_args(deployment);
    // Without POD_NAMESPACE the self-managed mode stops right after the flags
    // are parsed, with its own message: any unknown flag would fail earlier.
    let out = Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args(&args)
        .env("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .env_remove("POD_NAMESPACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("self-managed certificates need POD_NAMESPACE"),
        "{args:?}: {stderr}"
    );
}

#[test]
fn cert_manager_overlay_serves_the_issued_secret_with_less_privilege() {
    let (text, docs) = render("deploy/overlays/cert-manager");
    validate(&text, "1.33.0");

    let deployment = find(&docs, "Deployment", "azure-wi-webhook-controller-manager");
    let pod = &deployment["spec"]["template"]["spec"];
    let args = pod["containers"][0]["args"].as_array().unwrap();
    assert!(
        args.iter().any(|a| a == "--disable-cert-rotation"),
        "{args:?}"
    );
    assert_eq!(
        pod["volumes"][0]["secret"]["secretName"],
        "azure-wi-webhook-server-cert"
    );

    let config = find(
        &docs,
        "MutatingWebhookConfiguration",
        "azure-wi-webhook-mutating-webhook-configuration",
    );
    assert_eq!(
        config["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "azure-workload-identity-system/azure-wi-webhook-serving-cert"
    );
    let validating = find(
        &docs,
        "ValidatingWebhookConfiguration",
        "azure-wi-webhook-validating-webhook-configuration",
    );
    assert_eq!(
        validating["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "azure-workload-identity-system/azure-wi-webhook-serving-cert"
    );
    // The CA injector's source names the Service the API server calls.
    let serving = find(&docs, "Certificate", "azure-wi-webhook-serving-cert");
    assert_eq!(
        serving["spec"]["secretName"],
        "azure-wi-webhook-server-cert"
    );
    let names = serving["spec"]["dnsNames"].as_array().unwrap();
    assert!(
        names
            .iter()
            .any(|n| n == "azure-wi-webhook-webhook-service.azure-workload-identity-system.svc")
    );
    assert_eq!(serving["spec"]["issuerRef"]["name"], "azure-wi-webhook-ca");
    find(&docs, "Issuer", "azure-wi-webhook-ca");
    assert_eq!(
        find(&docs, "Certificate", "azure-wi-webhook-ca")["spec"]["isCA"],
        true
    );

    // The webhook writes nothing in this mode.
    assert!(find_all(&docs, "Role").is_empty());
    assert!(find_all(&docs, "RoleBinding").is_empty());
    let cluster_role = find(&docs, "ClusterRole", "azure-wi-webhook-manager-role");
    assert_eq!(
        cluster_role["rules"],
        serde_json::json!([{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}])
    );
}

/// The container port `port` names: a number as is, a name looked up in
/// the container's `ports`.
fn container_port(container: &serde_json::Value, port: &serde_json::Value) -> i64 {
    if let Some(number) = port.as_i64() {
        return number;
    }
    let name = port.as_str().unwrap();
    container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("the container has no port named {name}"))["containerPort"]
        .as_i64()
        .unwrap()
}

/// The port the webhook listens on for `flag` (`--metrics-addr`): the value
/// the Deployment passes, else the binary's own default from `serve --help`.
fn listen_port(args: &[String], flag: &str) -> i64 {
    let given = args
        .iter()
        .find_map(|a| a.strip_prefix(flag)?.strip_prefix('=').map(str::to_owned));
    let addr = given.unwrap_or_else(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_webhook"))
            .args(["serve", "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        let from_flag = &help[help.find(flag).unwrap_or_else(|| panic!("{flag}: {help}"))..];
        let default = &from_flag[from_flag.find("[default: ").unwrap() + "[default: ".len()..];
        default[..default.find(']').unwrap()].to_owned()
    });
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn network_policy_overlay_admits_each_port_only_from_its_caller() {
    let (text, docs) = render("deploy/overlays/network-policy");
    for version in ["1.33.0", "1.37.0"] {
        validate(&text, version);
    }

    assert_eq!(find_all(&docs, "NetworkPolicy").len(), 1);
    let policy = find(&docs, "NetworkPolicy", "azure-wi-webhook");
    let deployment = find(&docs, "Deployment", "azure-wi-webhook-controller-manager");
    assert_eq!(
        policy["metadata"]["namespace"],
        deployment["metadata"]["namespace"]
    );

    // It selects the webhook's pods, the same ones the Deployment owns.
    let selector = &policy["spec"]["podSelector"];
    assert_eq!(
        selector.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["matchLabels"],
        "{selector}"
    );
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let match_labels = selector["matchLabels"].as_object().unwrap();
    assert!(!match_labels.is_empty());
    for (key, value) in match_labels {
        assert_eq!(&labels[key], value, "pod template label {key}");
    }
    assert_eq!(
        selector["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );

    // Ingress only: the webhook must still reach the API server.
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress"])
    );
    assert!(policy["spec"].get("egress").is_none());

    // One rule per port; each names its sources (an empty `from` admits
    // everyone) and nothing admits the whole internet.
    let rules = policy["spec"]["ingress"].as_array().unwrap();
    let rule_for = |port: i64| {
        let found: Vec<_> = rules
            .iter()
            .filter(|r| {
                r["ports"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["port"] == port)
            })
            .collect();
        assert_eq!(found.len(), 1, "rules admitting port {port}: {found:?}");
        found[0]
    };
    for rule in rules {
        let ports = rule["ports"].as_array().unwrap();
        assert_eq!(ports.len(), 1, "{rule}");
        assert_eq!(ports[0]["protocol"], "TCP", "{rule}");
        let from = rule["from"].as_array().unwrap();
        assert!(!from.is_empty(), "{rule}");
        for peer in from {
            assert_ne!(peer["ipBlock"]["cidr"], "0.0.0.0/0", "{rule}");
            assert_ne!(peer["ipBlock"]["cidr"], "::/0", "{rule}");
        }
    }

    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args = container_args(deployment);

    // Admission: the container port the Service sends the API server's
    // calls to, only from the (patched) control-plane source.
    let service = find(&docs, "Service", "azure-wi-webhook-webhook-service");
    let webhook_port = container_port(container, &service["spec"]["ports"][0]["targetPort"]);
    assert_eq!(webhook_port, listen_port(&args, "--webhook-addr"));
    let admission = rule_for(webhook_port);
    assert!(
        admission["from"][0]["ipBlock"]["cidr"].is_string(),
        "{admission}"
    );

    // Health: the port both probes call, which the binary serves.
    let health_port = container_port(container, &container["livenessProbe"]["httpGet"]["port"]);
    assert_eq!(
        health_port,
        container_port(container, &container["readinessProbe"]["httpGet"]["port"])
    );
    assert_eq!(health_port, listen_port(&args, "--health-addr"));
    rule_for(health_port);

    // Metrics: the port the binary serves /metrics on, from the scraper's
    // namespace only.
    let metrics_port = listen_port(&args, "--metrics-addr");
    let metrics = rule_for(metrics_port);
    assert!(
        metrics["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            .is_string(),
        "{metrics}"
    );

    // No other port is admitted, and none the pod serves is left out.
    assert_eq!(rules.len(), 3);
    let mut declared: Vec<i64> = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["containerPort"].as_i64().unwrap())
        .collect();
    declared.sort_unstable();
    let mut admitted = vec![webhook_port, health_port, metrics_port];
    admitted.sort_unstable();
    assert_eq!(admitted, declared);

    // The overlay adds the policy and changes nothing else.
    let (_, base) = render("deploy/base");
    let rest: Vec<_> = docs
        .iter()
        .filter(|d| d["kind"] != "NetworkPolicy")
        .cloned()
        .collect();
    assert_eq!(rest, base);
}

#[test]
fn the_default_install_has_no_network_policy() {
    let (_, docs) = render("deploy/base");
    assert!(find_all(&docs, "NetworkPolicy").is_empty());
    find(&docs, "Deployment", "azure-wi-webhook-controller-manager");
}
