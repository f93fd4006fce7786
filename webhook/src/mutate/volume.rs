//! The projected ServiceAccount token volume, and where it is in the pod.

use std::{borrow::Cow, fmt::Write as _};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{
    AdmissionPod, Denial,
    patch::{PatchBuilder, Pointer, write_str, write_value},
    view::{Volume, text},
};
use crate::config::CaSource;
use azure_wi_core::{RESERVED_VOLUME_HASH_LEN, RESERVED_VOLUME_PREFIX, TokenLayout, names};

/// Where the token goes in this pod: the layout, and the token volume's
/// name in it.
#[derive(Debug, Clone)]
pub(super) struct TokenPlace<'p> {
    pub layout: TokenLayout,
    pub volume: Cow<'p, str>,
}

impl<'p> TokenPlace<'p> {
    /// The token's place in `pod` under `layout`. For v1.6 a volume the pod
    /// already has with the reserved prefix is the token volume, whatever
    /// pod name its hash came from: a pod mutated before it was named
    /// (`generateName`), then again after another webhook named it, keeps
    /// one volume and one mount (the reference's bug #1744 adds a second
    /// and the API server refuses the duplicate mount path). Otherwise the
    /// name is the reference v1.6.0's: the prefix and the first hex digits
    /// of the SHA-256 of the pod's name, or of its `generateName` followed
    /// by ` (prefix)`.
    pub(super) fn of(pod: &'p AdmissionPod<'_>, layout: TokenLayout) -> Self {
        let volume = match layout.fixed_volume() {
            Some(name) => Cow::Borrowed(name),
            None => pod
                .view
                .spec
                .as_ref()
                .and_then(|s| s.volumes.as_deref())
                .into_iter()
                .flatten()
                .map(Volume::name)
                .find(|name| layout.is_token_volume(name))
                .map_or_else(|| Cow::Owned(hashed_volume_name(pod)), Cow::Borrowed),
        };
        Self { layout, volume }
    }
}

/// The reference v1.6.0's volume name for a pod that has none yet.
fn hashed_volume_name(pod: &AdmissionPod<'_>) -> String {
    let metadata = pod.view.metadata.as_ref();
    let name = metadata.map_or("", |m| text(&m.name));
    let digest = if name.is_empty() {
        let prefix = metadata.map_or("", |m| text(&m.generate_name));
        Sha256::new()
            .chain_update(prefix)
            .chain_update(" (prefix)")
            .finalize()
    } else {
        Sha256::digest(name)
    };
    let mut volume = RESERVED_VOLUME_PREFIX.to_owned();
    for byte in digest.iter().take(RESERVED_VOLUME_HASH_LEN.div_ceil(2)) {
        let _ = write!(volume, "{byte:02x}");
    }
    volume.truncate(RESERVED_VOLUME_PREFIX.len() + RESERVED_VOLUME_HASH_LEN);
    volume
}

/// Makes sure the pod has exactly one token volume, and that it is
/// canonical: a projected volume whose only source is the ServiceAccount
/// token with the configured audience and lifetime (and the token proxy's
/// CA, for a pod using the custom token endpoint).
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
    place: &TokenPlace<'_>,
    token: TokenSource<'_>,
    patch: &mut PatchBuilder,
    warnings: &mut Vec<String>,
) -> Result<(), Denial> {
    let token = Token {
        source: token,
        place,
    };
    let spec = pod.view.spec.as_ref();
    let volumes = spec.and_then(|s| s.volumes.as_deref());
    let ours: Vec<(usize, &Volume<'_>)> = volumes
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, v)| place.layout.is_token_volume(v.name()))
        .collect();

    match ours.as_slice() {
        [] => {
            // Written straight into the patch: the volume every pod gets.
            let spec_path = Pointer::new(&["spec"]);
            match spec {
                Some(_) => {
                    let exists = volumes.is_some();
                    patch.append(&spec_path, "volumes", exists, [token], Token::write_volume);
                }
                None => patch.add_with(&spec_path, &[], |json| {
                    json.extend_from_slice(b"{\"volumes\":[");
                    Token::write_volume(json, token);
                    json.extend_from_slice(b"]}");
                }),
            }
            Ok(())
        }
        [(index, volume)] => canonicalize(*index, volume, token, patch, warnings),
        more if more.iter().all(|(_, v)| v.name() == place.volume) => {
            Err(Denial::TokenVolumeConflict {
                volume: place.volume.to_string(),
                problem: format!("defines it {} times", more.len()),
            })
        }
        more => Err(Denial::TokenVolumeConflict {
            volume: place.volume.to_string(),
            problem: format!(
                "defines {} volumes named {RESERVED_VOLUME_PREFIX}…, where one token volume goes",
                more.len()
            ),
        }),
    }
}

fn canonicalize(
    index: usize,
    volume: &Volume<'_>,
    token: Token<'_, '_>,
    patch: &mut PatchBuilder,
    warnings: &mut Vec<String>,
) -> Result<(), Denial> {
    let conflict = |problem: String| Denial::TokenVolumeConflict {
        volume: token.place.volume.to_string(),
        problem,
    };
    if let Some(kind) = volume.other_kind.as_deref() {
        return Err(conflict(format!("defines it as a {kind} volume")));
    }
    let Some(projected) = volume.projected.as_ref().filter(|p| p.is_object()) else {
        return Err(conflict(
            "defines it without a source, which Kubernetes makes an emptyDir".to_owned(),
        ));
    };

    let sources = projected
        .get("sources")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    // The token proxy's CA, when the volume is to carry it, is not foreign.
    let ca = token.source.ca_source();
    let token_path = token.place.layout.token_path();
    let (token_file, foreign): (Vec<&Value>, Vec<&Value>) = sources
        .iter()
        .filter(|s| ca.as_ref() != Some(*s))
        .partition(|s| projects_file(s, token_path));
    if token_file.len() > 1 {
        return Err(conflict(format!(
            "projects the file {token_path} {} times in it",
            token_file.len()
        )));
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
            token.place.volume,
            dropped.join(", ")
        ));
    }
    patch.replace_token_volume(index, &canonical);
    Ok(())
}

/// The projected ServiceAccount token source of the token volume: the
/// configured audience and lifetime, and the custom token endpoint's CA.
#[derive(Clone, Copy)]
pub(super) struct TokenSource<'a> {
    pub expiration: i64,
    pub audience: &'a str,
    /// The custom token endpoint's CA, projected beside the token from a
    /// ConfigMap or a ClusterTrustBundle.
    pub ca: Option<&'a CaSource>,
}

impl TokenSource<'_> {
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
}

/// The token volume of one pod: its source at its place. Written as JSON
/// text straight into the patch (this webhook's own names need no escaping;
/// the volume's name and the audience go through the JSON string writer).
#[derive(Clone, Copy)]
struct Token<'a, 'p> {
    source: TokenSource<'a>,
    place: &'a TokenPlace<'p>,
}

impl Token<'_, '_> {
    /// `{"path": ..., "expirationSeconds": ..., "audience": ...}`.
    fn write_source(self, json: &mut Vec<u8>) {
        json.extend_from_slice(b"{\"path\":");
        write_str(json, self.place.layout.token_path());
        json.extend_from_slice(b",\"expirationSeconds\":");
        json.extend_from_slice(
            itoa::Buffer::new()
                .format(self.source.expiration)
                .as_bytes(),
        );
        json.extend_from_slice(b",\"audience\":");
        write_str(json, self.source.audience);
        json.push(b'}');
    }

    /// The volume a pod without one gets: the place's name, projecting the
    /// token (and the CA) alone.
    fn write_volume(json: &mut Vec<u8>, token: Self) {
        json.extend_from_slice(b"{\"name\":");
        write_str(json, &token.place.volume);
        json.extend_from_slice(b",\"projected\":{\"sources\":[{\"serviceAccountToken\":");
        token.write_source(json);
        json.push(b'}');
        if let Some(ca) = token.source.ca_source() {
            json.push(b',');
            write_value(json, &ca);
        }
        json.extend_from_slice(b"]}}");
    }

    /// [`write_volume`](Self::write_volume)'s volume as a JSON value, to
    /// compare with and replace a token volume the pod has.
    fn volume_value(self) -> Value {
        let mut json = Vec::new();
        Self::write_volume(&mut json, self);
        serde_json::from_slice(&json).expect("the token volume is JSON")
    }
}

/// Whether a projected source writes the file at `path`, whatever its
/// audience or lifetime.
fn projects_file(source: &Value, path: &str) -> bool {
    source
        .pointer("/serviceAccountToken/path")
        .and_then(Value::as_str)
        == Some(path)
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
