//! Environment variables and the token mount, per container.

use std::collections::{BTreeSet, HashSet};

use k8s_openapi::api::core::v1::Container;
use serde_json::{Value, json};

use super::{AdmissionPod, Denial, PatchBuilder};
use azure_wi_core::names;

/// The container lists that are mutated, in the reference's order.
/// `ephemeralContainers` are never touched: they are added later through
/// their own subresource and cannot declare volume mounts of their own here.
const LISTS: [&str; 2] = ["initContainers", "containers"];

/// Every container the annotation `skip-containers` may name.
pub(super) fn all<'p>(pod: &'p AdmissionPod<'_>) -> impl Iterator<Item = &'p Container> {
    LISTS.into_iter().flat_map(|list| containers(pod, list))
}

fn containers<'p>(pod: &'p AdmissionPod<'_>, list: &str) -> &'p [Container] {
    let Some(spec) = pod.pod.spec.as_ref() else {
        return &[];
    };
    match list {
        "initContainers" => spec.init_containers.as_deref().unwrap_or_default(),
        _ => &spec.containers,
    }
}

/// Adds the identity environment and the token mount to every container not
/// in `skip`. Native sidecars (init containers with `restartPolicy: Always`)
/// are init containers like any other; their fields are left as they are.
pub(super) fn inject(
    pod: &AdmissionPod<'_>,
    env: &[(&str, &str)],
    skip: &BTreeSet<String>,
    patch: &mut PatchBuilder,
) -> Result<(), Denial> {
    for list in LISTS {
        for (index, container) in containers(pod, list).iter().enumerate() {
            if skip.contains(&container.name) {
                continue;
            }
            let raw = &pod.raw["spec"][list][index];
            let path = vec!["spec".to_owned(), list.to_owned(), index.to_string()];
            add_env(container, raw, env, &path, patch);
            mount_token(container, raw, &path, patch)?;
        }
    }
    Ok(())
}

/// Appends each variable the container does not already define, by `value`
/// or `valueFrom`: what the user set is never overridden.
fn add_env(
    container: &Container,
    raw: &Value,
    env: &[(&str, &str)],
    path: &[String],
    patch: &mut PatchBuilder,
) {
    let defined: HashSet<&str> = container
        .env
        .iter()
        .flatten()
        .map(|var| var.name.as_str())
        .collect();
    let missing = env
        .iter()
        .filter(|(name, _)| !defined.contains(name))
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    patch.append(path, "env", raw.get("env"), missing);
}

/// Makes sure the token volume is mounted read-only at the token path.
///
/// A mount of the token volume that is already there is made canonical in
/// place rather than duplicated; a different volume at the token path is a
/// conflict the API server would reject, so it is refused with a clear reason.
fn mount_token(
    container: &Container,
    raw: &Value,
    path: &[String],
    patch: &mut PatchBuilder,
) -> Result<(), Denial> {
    let mounts = container.volume_mounts.as_deref().unwrap_or_default();
    let at_token_path =
        |mount_path: &str| mount_path.trim_end_matches('/') == names::TOKEN_MOUNT_PATH;

    if let Some(other) = mounts
        .iter()
        .find(|m| m.name != names::TOKEN_VOLUME && at_token_path(&m.mount_path))
    {
        return Err(Denial::TokenMountPathTaken {
            container: container.name.clone(),
            volume: other.name.clone(),
        });
    }

    let mut ours = mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| m.name == names::TOKEN_VOLUME);
    let existing = ours
        .clone()
        .find(|(_, m)| at_token_path(&m.mount_path))
        .or_else(|| ours.next());

    match existing {
        Some((index, mount)) => {
            let base = |field: &str| {
                let mut p = path.to_vec();
                p.extend([
                    "volumeMounts".to_owned(),
                    index.to_string(),
                    field.to_owned(),
                ]);
                p
            };
            if mount.mount_path != names::TOKEN_MOUNT_PATH {
                patch.add(&base("mountPath"), json!(names::TOKEN_MOUNT_PATH));
            }
            if mount.read_only != Some(true) {
                patch.add(&base("readOnly"), json!(true));
            }
        }
        None => patch.append(
            path,
            "volumeMounts",
            raw.get("volumeMounts"),
            vec![json!({
                "name": names::TOKEN_VOLUME,
                "mountPath": names::TOKEN_MOUNT_PATH,
                "readOnly": true,
            })],
        ),
    }
    Ok(())
}
