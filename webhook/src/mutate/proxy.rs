//! The IMDS proxy of a pod annotated `azure.workload.identity/inject-proxy-sidecar`,
//! as the reference webhook v1.6.0 injects it (`pkg/webhook/webhook.go`):
//! `azwi-proxy-init` (redirects the pod's IMDS traffic to the proxy) at the
//! end of the init containers, and `azwi-proxy` first among the containers,
//! or first among the init containers with `restartPolicy: Always` where
//! native sidecars are used. Each is added only when no container of that
//! name is in that list, and each gets the identity environment and the
//! token mount as every other container does (unless skipped by name).

use serde_json::{Value, json};

use azure_wi_core::names;

use super::{
    AdmissionPod, Denial, Names,
    containers::token_mount,
    patch::{PatchBuilder, Pointer},
};
use crate::config::ProxySettings;

/// The proxy a pod asks for: its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Proxy {
    port: u16,
}

/// Whether `pod` asks for the proxy, and on which port.
///
/// # Errors
///
/// [`Denial::ProxyWithHostNetwork`] for a pod on the node's network (its
/// NAT rules would redirect the node's IMDS traffic),
/// [`Denial::InvalidProxyPort`] for a port annotation that is not a port.
pub(super) fn plan(pod: &AdmissionPod<'_>) -> Result<Option<Proxy>, Denial> {
    let annotations = pod.annotations();
    if annotations.is_none_or(|a| a.inject_proxy_sidecar.is_none()) {
        return Ok(None);
    }
    let host_network = pod
        .view
        .spec
        .as_ref()
        .and_then(|s| s.host_network)
        .unwrap_or(false);
    if host_network {
        return Err(Denial::ProxyWithHostNetwork);
    }
    let port = match annotations.and_then(|a| a.proxy_sidecar_port.as_deref()) {
        None => names::DEFAULT_PROXY_PORT,
        Some(value) => parse_port(value)?,
    };
    Ok(Some(Proxy { port }))
}

/// The annotation as the reference reads it (`strconv.ParseInt(s, 10, 32)`,
/// with Go's error text), then checked to be a port, which the reference
/// leaves to the API server's refusal of the pod.
fn parse_port(value: &str) -> Result<u16, Denial> {
    let invalid = |reason: String| Denial::InvalidProxyPort { reason };
    let number = super::expiration::go_parse_int(value, 32).map_err(invalid)?;
    u16::try_from(number)
        .ok()
        .filter(|port| *port > 0)
        .ok_or_else(|| {
            invalid(format!(
                "{number} is not a port: expected 1 to 65535 ({})",
                names::PROXY_SIDECAR_PORT_ANNOTATION
            ))
        })
}

/// Adds the proxy's containers. Runs after every existing container's
/// operations, so their indices are still the ones read from the pod.
pub(super) fn inject(
    pod: &AdmissionPod<'_>,
    proxy: Proxy,
    settings: &ProxySettings,
    place: &super::volume::TokenPlace<'_>,
    env: &[(&str, &str); super::IDENTITY_ENV],
    skip: &Names<'_>,
    patch: &mut PatchBuilder,
) {
    let spec = pod.view.spec.as_ref();
    let has = |list: Option<&Vec<super::view::Container<'_>>>, name: &str| {
        list.is_some_and(|l| l.iter().any(|c| c.name() == name))
    };
    let init = spec.and_then(|s| s.init_containers.as_ref());
    let containers = spec.and_then(|s| s.containers.as_ref());
    let with_identity = |mut container: Value, name: &str| {
        if !skip.contains(name) {
            let vars: Vec<Value> = env
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            match container["env"].as_array_mut() {
                Some(existing) => existing.extend(vars),
                None if vars.is_empty() => {}
                None => container["env"] = Value::Array(vars),
            }
            container["volumeMounts"] = json!([token_mount(place)]);
        }
        container
    };

    let spec_path = Pointer::new(&["spec"]);
    if !has(init, names::PROXY_INIT_CONTAINER) {
        let container = with_identity(init_container(proxy, settings), names::PROXY_INIT_CONTAINER);
        patch.append(
            &spec_path,
            "initContainers",
            init.is_some(),
            [container],
            |json, c| super::patch::write_value(json, &c),
        );
    }
    let (list, present) = if settings.native_sidecar {
        ("initContainers", has(init, names::PROXY_CONTAINER))
    } else {
        ("containers", has(containers, names::PROXY_CONTAINER))
    };
    if !present {
        let container = with_identity(proxy_container(proxy, settings), names::PROXY_CONTAINER);
        // The list exists by now: init containers were just given the
        // init container, and a pod always has containers (one without
        // gets an array made for it).
        let exists = list == "initContainers" || containers.is_some();
        if exists {
            patch.add(&spec_path, &[list, "0"], &container);
        } else {
            patch.add(&spec_path, &[list], &json!([container]));
        }
    }
}

/// `azwi-proxy-init`, field for field as the reference writes it.
fn init_container(proxy: Proxy, settings: &ProxySettings) -> Value {
    json!({
        "name": names::PROXY_INIT_CONTAINER,
        "image": settings.init_image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
            "privileged": true,
            "runAsNonRoot": false,
            "runAsUser": 0,
        },
        "env": [{"name": names::PROXY_PORT_ENV, "value": proxy.port.to_string()}],
        "resources": {},
    })
}

/// `azwi-proxy`, field for field as the reference writes it: its
/// arguments carry the webhook's log level, and `postStart` runs the
/// image's `/proxy --probe` so the app's containers start once it answers.
fn proxy_container(proxy: Proxy, settings: &ProxySettings) -> Value {
    let port = format!("--proxy-port={}", proxy.port);
    let log_level = format!("--log-level={}", settings.log_level);
    let mut container = json!({
        "name": names::PROXY_CONTAINER,
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [port, log_level],
        "ports": [{"containerPort": proxy.port}],
        "lifecycle": {"postStart": {"exec": {"command": ["/proxy", port, "--probe", log_level]}}},
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
        },
        "resources": {},
    });
    if settings.native_sidecar {
        container["restartPolicy"] = "Always".into();
    }
    container
}
