//! The projected ServiceAccount token volume.

use serde_json::{Map, Value};

use super::{
    AdmissionPod, Denial,
    patch::{PatchBuilder, Pointer, write_str, write_value},
    view::Volume,
};
use crate::config::CaSource;
use azure_wi_core::names;

/// Makes sure the pod has exactly one volume named `azure-identity-token`,
/// and that it is canonical: a projected volume whose only source is the
/// ServiceAccount token with the configured audience and lifetime.
///
/// The volume is added even when every container is skipped, as the
/// reference does. An existing projected volume of that name that is not
/// canonical (left by an older manifest, or holding another audience, path
/// or source) is replaced by the canonical one, as the reference replaces
/// it: the token the SDKs read must be the one this webhook configured.
/// Whatever other source it held is dropped, with a warning naming it; its
/// `defaultMode` (file permissions, which the API server defaults anyway)
/// is kept. A volume of that name that is not projected, or that projects
/// the token file twice, is refused instead, since it is plainly something
/// else or invalid.
pub(super) fn ensure_token_volume(
    pod: &AdmissionPod<'_>,
    expiration: i64,
    audience: &str,
    ca: Option<&CaSource>,
    patch: &mut PatchBuilder,
    warnings: &mut Vec<String>,
) -> Result<(), Denial> {
    let token = TokenSource {
        expiration,
        audience,
        ca,
    };
    let spec = pod.view.spec.as_ref();
    let volumes = spec.and_then(|s| s.volumes.as_deref());
    let ours: Vec<(usize, &Volume<'_>)> = volumes
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| v.name() == names::TOKEN_VOLUME)
        .collect();

    match ours.as_slice() {
        [] => {
            // Written straight into the patch: the volume every pod gets.
            let spec_path = Pointer::new(&["spec"]);
            match spec {
                Some(_) => {
                    let exists = volumes.is_some();
                    patch.append(
                        &spec_path,
                        "volumes",
                        exists,
                        [token],
                        TokenSource::write_volume,
                    );
                }
                None => patch.add_with(&spec_path, &[], |json| {
                    json.extend_from_slice(b"{\"volumes\":[");
                    TokenSource::write_volume(json, token);
                    json.extend_from_slice(b"]}");
                }),
            }
            Ok(())
        }
        [(index, volume)] => canonicalize(*index, volume, token, patch, warnings),
        more => Err(Denial::TokenVolumeConflict {
            problem: format!("defines it {} times", more.len()),
        }),
    }
}

fn canonicalize(
    index: usize,
    volume: &Volume<'_>,
    token: TokenSource<'_>,
    patch: &mut PatchBuilder,
    warnings: &mut Vec<String>,
) -> Result<(), Denial> {
    if let Some(kind) = volume.other_kind.as_deref() {
        return Err(Denial::TokenVolumeConflict {
            problem: format!("defines it as a {kind} volume"),
        });
    }
    let Some(projected) = volume.projected.as_ref().filter(|p| p.is_object()) else {
        return Err(Denial::TokenVolumeConflict {
            problem: "defines it without a source, which Kubernetes makes an emptyDir".to_owned(),
        });
    };

    let sources = projected
        .get("sources")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    // The token proxy's CA, when the volume is to carry it, is not foreign.
    let ca = token.ca_source();
    let (token_file, foreign): (Vec<&Value>, Vec<&Value>) = sources
        .iter()
        .filter(|s| ca.as_ref() != Some(*s))
        .partition(|s| projects_token_file(s));
    if token_file.len() > 1 {
        return Err(Denial::TokenVolumeConflict {
            problem: format!(
                "projects the file {} {} times in it",
                names::TOKEN_VOLUME,
                token_file.len()
            ),
        });
    }

    // The volume a pod without one gets, keeping this one's `defaultMode`.
    let mut canonical = token.volume_value();
    let canonical_projected = &mut canonical["projected"];
    if let Some(mode) = projected.get("defaultMode").filter(|m| !m.is_null()) {
        // First, where it always was in the patch.
        let mut with_mode = Map::new();
        with_mode.insert("defaultMode".to_owned(), mode.clone());
        if let Value::Object(sources) = canonical_projected.take() {
            with_mode.extend(sources);
        }
        *canonical_projected = Value::Object(with_mode);
    }
    // Canonical already: nothing but its name and exactly that source.
    if !volume.has_other_members && projected == canonical_projected {
        return Ok(());
    }
    if !foreign.is_empty() {
        let dropped: Vec<String> = foreign.iter().map(|s| describe_source(s)).collect();
        warnings.push(format!(
            "volume \"{}\" is reserved for the workload identity token; its other sources were \
             dropped: {}",
            names::TOKEN_VOLUME,
            dropped.join(", ")
        ));
    }
    patch.replace_token_volume(index, &canonical);
    Ok(())
}

/// The projected ServiceAccount token source of the token volume: the
/// configured audience and lifetime, at the token file's path. Written as
/// JSON text straight into the patch (this webhook's own names need no
/// escaping; the audience goes through the JSON string writer).
#[derive(Clone, Copy)]
struct TokenSource<'a> {
    expiration: i64,
    audience: &'a str,
    /// The custom token endpoint's CA, projected beside the token from a
    /// ConfigMap or a ClusterTrustBundle.
    ca: Option<&'a CaSource>,
}

impl TokenSource<'_> {
    /// `{"path": ..., "expirationSeconds": ..., "audience": ...}`.
    fn write(self, json: &mut Vec<u8>) {
        json.extend_from_slice(b"{\"path\":");
        write_str(json, names::TOKEN_VOLUME);
        json.extend_from_slice(b",\"expirationSeconds\":");
        json.extend_from_slice(itoa::Buffer::new().format(self.expiration).as_bytes());
        json.extend_from_slice(b",\"audience\":");
        write_str(json, self.audience);
        json.push(b'}');
    }

    /// The volume a pod without one gets: named `azure-identity-token`,
    /// projecting this source alone.
    fn write_volume(json: &mut Vec<u8>, token: Self) {
        json.extend_from_slice(b"{\"name\":");
        write_str(json, names::TOKEN_VOLUME);
        json.extend_from_slice(b",\"projected\":{\"sources\":[{\"serviceAccountToken\":");
        token.write(json);
        json.push(b'}');
        if let Some(ca) = token.ca_source() {
            json.push(b',');
            write_value(json, &ca);
        }
        json.extend_from_slice(b"]}}");
    }

    /// [`write_volume`](Self::write_volume)'s volume as a JSON value, to
    /// compare with and replace a token volume the pod has.
    /// The CA's projection, as the reference writes it.
    fn ca_source(self) -> Option<Value> {
        let path = names::KUBERNETES_CA_FILE_PATH;
        match self.ca? {
            CaSource::ConfigMap(name) => Some(serde_json::json!({"configMap": {
                "name": name,
                "items": [{"key": "ca.crt", "path": path}],
                "optional": false,
            }})),
            CaSource::ClusterTrustBundle {
                signer,
                label_selector,
            } => {
                let mut bundle = serde_json::json!({
                    "signerName": signer, "path": path, "optional": false,
                });
                if let Some(selector) = label_selector {
                    bundle["labelSelector"] = selector.clone();
                }
                Some(serde_json::json!({"clusterTrustBundle": bundle}))
            }
            CaSource::None | CaSource::Data(_) => None,
        }
    }

    fn volume_value(self) -> Value {
        let mut json = Vec::new();
        Self::write_volume(&mut json, self);
        serde_json::from_slice(&json).expect("the token volume is JSON")
    }
}

/// Whether a projected source writes the token file, whatever its audience
/// or lifetime.
fn projects_token_file(source: &Value) -> bool {
    source
        .pointer("/serviceAccountToken/path")
        .and_then(Value::as_str)
        == Some(names::TOKEN_VOLUME)
}

/// A dropped source in words for the warning: its kind, and for a token its
/// path and audience (names and paths only, never contents).
fn describe_source(source: &Value) -> String {
    let kind = source
        .as_object()
        .and_then(|s| s.iter().find(|(_, v)| !v.is_null()))
        .map_or("empty", |(k, _)| k.as_str());
    match source.get("serviceAccountToken") {
        Some(token) if kind == "serviceAccountToken" => {
            let field = |name: &str| {
                token
                    .get(name)
                    .and_then(Value::as_str)
                    .map_or_else(|| "unset".to_owned(), |v| format!("{v:?}"))
            };
            format!(
                "serviceAccountToken (path {}, audience {})",
                field("path"),
                field("audience")
            )
        }
        _ => kind.to_owned(),
    }
}
