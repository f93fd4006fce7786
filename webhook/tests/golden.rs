//! Golden cases for the mutation: one folder per case under `tests/golden/`.
//!
//! A case holds `pod.yaml`, optionally `serviceaccount.yaml` (absent means the
//! ServiceAccount does not exist) and `config.yaml`, and `expected.yaml` with
//! either the mutated pod and warnings or the denial. The runner answers the
//! pod's creation request with [`webhook::admission::admit`], and requires
//! [`webhook::admission::admit_review`], which the server runs on the
//! review's body, to answer the same; applies the returned patch to the raw input, compares JSON
//! values, checks the result is a valid Pod with no duplicate volume or
//! mount, then answers the result again and requires no patch and the same
//! warnings. `UPDATE_GOLDEN=1` rewrites `expected.yaml` for review.

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
};

use azure_wi_core::{Audience, AzureCloud, ServiceAccountInfo, TenantId, TokenLayout};
use k8s_openapi::api::core::v1::Pod;
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::{Value, json};
use webhook::{
    admission::{AdmissionRequest, admit, admit_review},
    config::{MutationConfig, ProxySettings},
    serviceaccount::StaticServiceAccounts,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CaseConfig {
    #[serde(default = "default_namespace")]
    namespace: String,
    #[serde(default = "default_tenant")]
    tenant_id: Option<String>,
    #[serde(default)]
    azure_environment: String,
    #[serde(default)]
    audience: Option<String>,
    /// The IMDS proxy's settings (`PROXY_IMAGE`, `PROXY_INIT_IMAGE`, the
    /// API server's version, `--log-level`); the defaults when absent.
    #[serde(default)]
    proxy_image: Option<String>,
    #[serde(default)]
    proxy_init_image: Option<String>,
    #[serde(default)]
    native_sidecars: bool,
    #[serde(default)]
    log_level: Option<String>,
    /// `--custom-token-endpoint-annotation-suffix`, `...-audience` and the
    /// `AZURE_KUBERNETES_*` variables.
    #[serde(default)]
    custom_token_endpoint: Option<CustomEndpointCase>,
    /// `--token-layout`: `v1.5` when absent.
    #[serde(default)]
    token_layout: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CustomEndpointCase {
    annotation_suffix: String,
    audience: String,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
}

fn default_namespace() -> String {
    "team-a".to_owned()
}

fn default_tenant() -> Option<String> {
    Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_owned())
}

fn read_yaml(path: &Path) -> Result<Value, Failed> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    yaml_serde::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn run_case(dir: &Path) -> Result<(), Failed> {
    let raw = read_yaml(&dir.join("pod.yaml"))?;
    let config: CaseConfig = if dir.join("config.yaml").exists() {
        serde_json::from_value(read_yaml(&dir.join("config.yaml"))?).map_err(|e| e.to_string())?
    } else {
        serde_json::from_value(json!({})).map_err(|e| e.to_string())?
    };
    let sa = match dir.join("serviceaccount.yaml") {
        p if p.exists() => Some(
            ServiceAccountInfo::from_value(&read_yaml(&p)?, &config.namespace)
                .map_err(|e| e.to_string())?,
        ),
        _ => None,
    };
    let mut mutation_config = MutationConfig::default().with_cloud(
        config
            .azure_environment
            .parse::<AzureCloud>()
            .map_err(|e| e.to_string())?,
    );
    if let Some(tenant) = &config.tenant_id {
        mutation_config =
            mutation_config.with_tenant_id(tenant.parse::<TenantId>().map_err(|e| e.to_string())?);
    }
    if let Some(audience) = &config.audience {
        mutation_config =
            mutation_config.with_audience(audience.parse::<Audience>().map_err(|e| e.to_string())?);
    }

    if let Some(layout) = &config.token_layout {
        mutation_config = mutation_config
            .with_token_layout(layout.parse::<TokenLayout>().map_err(|e| e.to_string())?);
    }

    let defaults = ProxySettings::default();
    mutation_config = mutation_config.with_proxy(ProxySettings {
        image: config.proxy_image.clone().unwrap_or(defaults.image),
        init_image: config
            .proxy_init_image
            .clone()
            .unwrap_or(defaults.init_image),
        native_sidecar: config.native_sidecars,
        log_level: config.log_level.clone().unwrap_or(defaults.log_level),
    });

    if let Some(case) = &config.custom_token_endpoint {
        let endpoint = webhook::config::custom_token_endpoint(
            &case.annotation_suffix,
            &case.audience,
            |name| case.env.get(name).cloned(),
        )
        .map_err(|e| e.to_string())?;
        mutation_config = mutation_config.with_custom_token_endpoint(endpoint);
    }

    // Through the server's own flow: the pod arrives as the API server sends
    // it on creation, and its ServiceAccount is looked up as a
    // `--service-accounts` file would serve it.
    let accounts = StaticServiceAccounts::new(sa);
    let answer = |pod: &Value| {
        let request = AdmissionRequest::pod_creation("golden", config.namespace.as_str(), pod);
        futures::executor::block_on(admit(&request, &mutation_config, &accounts))
    };
    let response = answer(&raw);
    // The server reads the review and its pod in one pass: the same answer.
    let body = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "golden", "namespace": config.namespace, "operation": "CREATE",
                    "object": raw, "dryRun": false},
    });
    let (served, _) = futures::executor::block_on(admit_review(
        body.to_string().as_bytes(),
        &mutation_config,
        &accounts,
    ))
    .map_err(|e| format!("the server would refuse the review: {e}"))?;
    if served != response {
        return Err(format!("the server answers otherwise: {served:?}").into());
    }

    let actual = match response.denial() {
        None => {
            let mut mutated = raw.clone();
            if let Some(patch) = response.patch() {
                json_patch::patch(&mut mutated, &patch.0)
                    .map_err(|e| format!("patch does not apply: {e}"))?;
            }
            json!({"pod": mutated, "warnings": response.warnings()})
        }
        Some((code, message)) => json!({"denial": {"code": code, "message": message}}),
    };

    let expected_path = dir.join("expected.yaml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = yaml_serde::to_string(&actual).map_err(|e| e.to_string())?;
        fs::write(&expected_path, text).map_err(|e| e.to_string())?;
    }
    let expected = read_yaml(&expected_path)?;
    if actual != expected {
        return Err(format!(
            "output differs from {}\n--- expected\n{}\n--- actual\n{}",
            expected_path.display(),
            serde_json::to_string_pretty(&expected).unwrap_or_default(),
            serde_json::to_string_pretty(&actual).unwrap_or_default()
        )
        .into());
    }

    if response.is_allowed() {
        let mutated = &actual["pod"];
        check_valid(mutated)?;
        let second = answer(mutated);
        if let Some((code, message)) = second.denial() {
            return Err(format!("second run denied ({code}): {message}").into());
        }
        if let Some(patch) = second.patch() {
            return Err(format!("not idempotent: second run patched {patch}").into());
        }
        // The same warnings, but for the one about sources dropped from
        // the token volume: only the run that dropped them can say so.
        let lasting: Vec<&String> = response
            .warnings()
            .iter()
            .filter(|w| !w.contains("other sources were dropped"))
            .collect();
        if second.warnings().iter().collect::<Vec<_>>() != lasting {
            return Err("second run gave different warnings".into());
        }
    }
    Ok(())
}

/// The mutated pod decodes as a Pod, with unique volume names and unique
/// mount paths per container, as the API server's validation requires.
fn check_valid(pod: &Value) -> Result<(), Failed> {
    let typed: Pod = serde_json::from_value(pod.clone()).map_err(|e| format!("not a Pod: {e}"))?;
    let spec = typed.spec.unwrap_or_default();
    let mut names = HashSet::new();
    for volume in spec.volumes.iter().flatten() {
        if !names.insert(&volume.name) {
            return Err(format!("duplicate volume {}", volume.name).into());
        }
    }
    for container in spec
        .init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
    {
        let mut paths = HashSet::new();
        for mount in container.volume_mounts.iter().flatten() {
            if !paths.insert(mount.mount_path.trim_end_matches('/')) {
                return Err(format!(
                    "duplicate mount path {} in {}",
                    mount.mount_path, container.name
                )
                .into());
            }
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/golden exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("pod.yaml").exists())
        .collect();
    cases.sort();
    assert!(
        !cases.is_empty(),
        "no golden cases under {}",
        root.display()
    );
    let trials = cases
        .into_iter()
        .map(|dir| {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || run_case(&dir))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
