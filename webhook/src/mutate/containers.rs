//! Environment variables and the token mount, per container.

use std::{borrow::Cow, ops::Range, sync::LazyLock};

use serde::Serialize;

use super::{
    AdmissionPod, Denial, Names,
    patch::{PatchBuilder, Pointer, write_str},
    view::{Container, text},
    volume::TokenPlace,
};
use azure_wi_core::{TokenLayout, names};

/// The container lists that are mutated, in the reference's order.
/// `ephemeralContainers` are never touched: they are added later through
/// their own subresource and cannot declare volume mounts of their own here.
const LISTS: [&str; 2] = ["initContainers", "containers"];

/// Every container the annotation `skip-containers` may name.
pub(super) fn all<'p, 'a>(
    pod: &'p AdmissionPod<'a>,
) -> impl Iterator<Item = &'p Container<'a>> + use<'p, 'a> {
    LISTS.into_iter().flat_map(|list| containers(pod, list))
}

fn containers<'p, 'a>(pod: &'p AdmissionPod<'a>, list: &str) -> &'p [Container<'a>] {
    let Some(spec) = pod.view.spec.as_ref() else {
        return &[];
    };
    let list = match list {
        "initContainers" => &spec.init_containers,
        _ => &spec.containers,
    };
    list.as_deref().unwrap_or_default()
}

/// Most containers one pod may have mutated. Each one mutated grows the
/// stored pod by about 400 bytes (four variables and a mount), so some
/// 3,900 alone take the 1.5 MiB an object may have in etcd: a pod past
/// this bound could never be stored once mutated. The bound keeps a hostile
/// review of hundreds of thousands of empty containers from costing the
/// webhook a patch of hundreds of megabytes.
pub const MAX_MUTATED_CONTAINERS: usize = 5_000;

/// Adds the identity environment and the token mount to every container not
/// in `skip`. Native sidecars (init containers with `restartPolicy: Always`)
/// are init containers like any other; their fields are left as they are.
pub(super) fn inject(
    pod: &AdmissionPod<'_>,
    place: &TokenPlace<'_>,
    env: &[(&str, &str); super::IDENTITY_ENV],
    skip: &Names<'_>,
    patch: &mut PatchBuilder,
) -> Result<(), Denial> {
    let mutated = all(pod).filter(|c| !skip.contains(c.name())).count();
    if mutated > MAX_MUTATED_CONTAINERS {
        return Err(Denial::TooManyContainers { count: mutated });
    }
    let env = EnvJson::new(env);
    let mount = MountJson::new(place);
    let mut path = Pointer::new(&["spec"]);
    for list in LISTS {
        let list_len = path.push(list);
        for (index, container) in containers(pod, list).iter().enumerate() {
            if skip.contains(container.name()) {
                continue;
            }
            let container_len = path.push_index(index);
            add_env(container, &env, &path, patch);
            mount_token(container, &mount, &path, patch)?;
            path.truncate(container_len);
        }
        path.truncate(list_len);
    }
    Ok(())
}

/// The variables to inject as JSON text: written once per pod, copied into
/// every container. A variable whose value is empty is left out.
struct EnvJson<'e> {
    json: Vec<u8>,
    /// Each variable's name and where its JSON is in `json`.
    items: [Option<(&'e str, Range<usize>)>; super::IDENTITY_ENV],
}

impl<'e> EnvJson<'e> {
    fn new(env: &[(&'e str, &str); super::IDENTITY_ENV]) -> Self {
        let mut json = Vec::with_capacity(512);
        let items = env.each_ref().map(|&(name, value)| {
            if value.is_empty() {
                return None;
            }
            let start = json.len();
            json.extend_from_slice(b"{\"name\":");
            write_str(&mut json, name);
            json.extend_from_slice(b",\"value\":");
            write_str(&mut json, value);
            json.push(b'}');
            Some((name, start..json.len()))
        });
        Self { json, items }
    }
}

/// Appends each variable the container does not already define, by `value`
/// or `valueFrom`: what the user set is never overridden.
fn add_env(container: &Container<'_>, env: &EnvJson<'_>, path: &Pointer, patch: &mut PatchBuilder) {
    let defined = container.env.as_deref().unwrap_or_default();
    let missing = env
        .items
        .iter()
        .flatten()
        .filter(|(name, _)| !defined.iter().any(|var| text(&var.name) == *name));
    patch.append(
        path,
        "env",
        container.env.is_some(),
        missing,
        |json, (_, range)| json.extend_from_slice(&env.json[range.clone()]),
    );
}

/// The token mount, once per pod: where it goes, and its JSON text as
/// every container gets it.
struct MountJson<'p> {
    volume: &'p str,
    path: &'static str,
    json: Cow<'static, [u8]>,
}

/// The v1.5 mount's JSON, the same in every pod.
static V1_5_MOUNT_JSON: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let place = TokenPlace {
        layout: TokenLayout::V1_5,
        volume: Cow::Borrowed(names::TOKEN_VOLUME),
    };
    serde_json::to_vec(&token_mount(&place)).expect("the mount always serializes")
});

impl<'p> MountJson<'p> {
    fn new(place: &'p TokenPlace<'_>) -> Self {
        let json = if place.layout == TokenLayout::V1_5 {
            Cow::Borrowed(V1_5_MOUNT_JSON.as_slice())
        } else {
            let json = serde_json::to_vec(&token_mount(place));
            Cow::Owned(json.expect("the mount always serializes"))
        };
        Self {
            volume: &place.volume,
            path: place.layout.mount_path(),
            json,
        }
    }
}

/// Makes sure the token volume is mounted read-only at the token path.
///
/// A mount of the token volume that is already there is made canonical in
/// place rather than duplicated; a different volume at the token path is a
/// conflict the API server would reject, so it is refused with a clear reason.
fn mount_token(
    container: &Container<'_>,
    mount: &MountJson<'_>,
    path: &Pointer,
    patch: &mut PatchBuilder,
) -> Result<(), Denial> {
    let mounts = container.volume_mounts.as_deref().unwrap_or_default();
    let at_token_path = |mount_path: &str| mount_path.trim_end_matches('/') == mount.path;

    if let Some(other) = mounts
        .iter()
        .find(|m| text(&m.name) != mount.volume && at_token_path(text(&m.mount_path)))
    {
        return Err(Denial::TokenMountPathTaken {
            container: container.name().to_owned(),
            volume: text(&other.name).to_owned(),
            path: mount.path,
        });
    }

    let mut ours = mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| text(&m.name) == mount.volume);
    let existing = ours
        .clone()
        .find(|(_, m)| at_token_path(text(&m.mount_path)))
        .or_else(|| ours.next());

    match existing {
        Some((index, existing)) => {
            let index = index.to_string();
            if text(&existing.mount_path) != mount.path {
                let field = ["volumeMounts", index.as_str(), "mountPath"];
                patch.add(path, &field, &mount.path);
            }
            if existing.read_only != Some(true) {
                patch.add(path, &["volumeMounts", index.as_str(), "readOnly"], &true);
            }
        }
        None => patch.append(
            path,
            "volumeMounts",
            container.volume_mounts.is_some(),
            [&*mount.json],
            Vec::extend_from_slice,
        ),
    }
    Ok(())
}

/// The token mount, as written into the patch.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TokenMount<'p> {
    name: &'p str,
    mount_path: &'static str,
    read_only: bool,
}

/// The token mount of every container.
pub(super) fn token_mount<'p>(place: &'p TokenPlace<'_>) -> TokenMount<'p> {
    TokenMount {
        name: &place.volume,
        mount_path: place.layout.mount_path(),
        read_only: true,
    }
}
