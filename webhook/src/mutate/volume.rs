//! The projected ServiceAccount token volume.

use serde_json::{Map, Value, json};

use super::{AdmissionPod, Denial, PatchBuilder};
use azure_wi_core::names;

/// Makes sure the pod has exactly one volume named `azure-identity-token`
/// that projects the ServiceAccount token with the configured audience and
/// lifetime.
///
/// The volume is added even when every container is skipped, as the
/// reference does. An existing volume of that name is made canonical in
/// place; one that holds something else is refused rather than overwritten,
/// so nothing the user wrote is lost.
pub(super) fn ensure_token_volume(
    pod: &AdmissionPod<'_>,
    expiration: i64,
    audience: &str,
    patch: &mut PatchBuilder,
) -> Result<(), Denial> {
    let token = json!({
        "path": names::TOKEN_VOLUME,
        "expirationSeconds": expiration,
        "audience": audience,
    });
    let spec = pod.raw.get("spec");
    let volumes = spec.and_then(|s| s.get("volumes"));
    let ours: Vec<(usize, &Value)> = volumes
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| v.get("name").and_then(Value::as_str) == Some(names::TOKEN_VOLUME))
        .collect();

    match ours.as_slice() {
        [] => {
            let volume = json!({
                "name": names::TOKEN_VOLUME,
                "projected": { "sources": [{ "serviceAccountToken": token }] },
            });
            match spec {
                Some(Value::Object(_)) => {
                    patch.append(&["spec".to_owned()], "volumes", volumes, vec![volume]);
                }
                _ => patch.add(&["spec"], json!({ "volumes": [volume] })),
            }
            Ok(())
        }
        [(index, volume)] => canonicalize(*index, volume, &token, patch),
        more => Err(Denial::TokenVolumeConflict {
            problem: format!("defines it {} times", more.len()),
        }),
    }
}

fn canonicalize(
    index: usize,
    volume: &Value,
    token: &Value,
    patch: &mut PatchBuilder,
) -> Result<(), Denial> {
    let empty = Map::new();
    let fields = volume.as_object().unwrap_or(&empty);
    if let Some(kind) = fields
        .iter()
        .find(|(k, v)| *k != "name" && *k != "projected" && !v.is_null())
        .map(|(k, _)| k)
    {
        return Err(Denial::TokenVolumeConflict {
            problem: format!("defines it as a {kind} volume"),
        });
    }
    let Some(projected) = fields.get("projected").filter(|p| p.is_object()) else {
        return Err(Denial::TokenVolumeConflict {
            problem: "defines it without a source, which Kubernetes makes an emptyDir".to_owned(),
        });
    };

    let base = vec![
        "spec".to_owned(),
        "volumes".to_owned(),
        index.to_string(),
        "projected".to_owned(),
    ];
    let sources = projected.get("sources");
    let projecting_token: Vec<(usize, &Value)> = sources
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, s)| {
            s.pointer("/serviceAccountToken/path")
                .and_then(Value::as_str)
                == Some(names::TOKEN_VOLUME)
        })
        .collect();

    match projecting_token.as_slice() {
        [] => patch.append(
            &base,
            "sources",
            sources,
            vec![json!({ "serviceAccountToken": token })],
        ),
        [(source, existing)] => {
            for field in ["expirationSeconds", "audience"] {
                let want = &token[field];
                if existing["serviceAccountToken"].get(field) != Some(want) {
                    let mut path = base.clone();
                    path.extend([
                        "sources".to_owned(),
                        source.to_string(),
                        "serviceAccountToken".to_owned(),
                        field.to_owned(),
                    ]);
                    patch.add(&path, want.clone());
                }
            }
        }
        more => {
            return Err(Denial::TokenVolumeConflict {
                problem: format!(
                    "projects the file {} {} times in it",
                    names::TOKEN_VOLUME,
                    more.len()
                ),
            });
        }
    }
    Ok(())
}
