//! From a MountRequest to a validated plan: what to fetch, as whom, and
//! which file each object becomes with which mode. Everything that can be
//! wrong with the request is found here, before any network call.

use azure_wi_core::names::{DEFAULT_AUDIENCE, IDENTITY_BINDING_AUDIENCE};

use crate::{
    Error,
    attributes::SERVICE_ACCOUNT_TOKENS,
    attributes::{Attributes, PodInfo},
    identity::Identity,
    mode::FileMode,
    objects::ObjectSpec,
    parameters::{IdentityMode, Parameters, Vault},
    paths::{overlaps, path_problem},
};

/// One object to fetch and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject {
    /// The object's parameters.
    pub spec: ObjectSpec,
    /// The file path (or, with version history, the directory of
    /// `<path>/<index>` files).
    pub path: String,
    /// The mode of its file(s): `filePermission`, else the driver's default.
    pub mode: FileMode,
}

/// A mount, validated: the vault, the identity and the objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    /// Where to fetch from.
    pub vault: Vault,
    /// Whom to fetch as.
    pub identity: Identity,
    /// What to fetch, in the order of `objects`.
    pub objects: Vec<PlannedObject>,
    /// The pod, for logs.
    pub pod: PodInfo,
}

impl MountPlan {
    /// Builds the plan from a request's `attributes` and `permission`.
    ///
    /// Checked in the order a user fixes things: the pod-info attributes
    /// (first, as the Go provider checks them), the identity mode and
    /// parameters, the file layout, then the ServiceAccount token. An
    /// `array:` without objects plans nothing, as the Go provider mounts
    /// nothing for it.
    ///
    /// # Errors
    ///
    /// The first [`Error`] found, naming the parameter, object, path or
    /// CSIDriver setting at fault.
    pub fn from_request(attributes: &str, permission: &str) -> Result<Self, Error> {
        let attributes = Attributes::parse(attributes)?;
        // JSON `null` leaves Go's os.FileMode at 0 (`pkg/server/server.go`
        // unmarshals `permission` into one), so it means mode 0 here too.
        let default_mode = if permission.trim() == "null" {
            FileMode::new(0).expect("0 is a mode")
        } else {
            FileMode::from_json_number(permission).ok_or_else(|| Error::InvalidPermission {
                value: permission.to_owned(),
            })?
        };
        attributes.require_pod()?;
        let parameters = Parameters::from_attributes(&attributes)?;
        let objects = plan_files(parameters.objects, default_mode)?;
        let token = match parameters.mode {
            IdentityMode::WorkloadIdentity => attributes.token_for(DEFAULT_AUDIENCE)?,
            IdentityMode::AzureTokenProxy => {
                if attributes.get(SERVICE_ACCOUNT_TOKENS).is_none() {
                    return Err(Error::MissingBindingTokens);
                }
                attributes.token_for(IDENTITY_BINDING_AUDIENCE)?
            }
        };
        Ok(Self {
            identity: Identity {
                tenant: parameters.tenant,
                client_id: parameters.client_id,
                cloud: parameters.vault.cloud,
                mode: parameters.mode,
                token,
            },
            vault: parameters.vault,
            objects,
            pod: attributes.pod(),
        })
    }
}

/// Gives each object its path and mode, refusing paths that would escape
/// the volume or collide.
fn plan_files(specs: Vec<ObjectSpec>, default_mode: FileMode) -> Result<Vec<PlannedObject>, Error> {
    let mut planned: Vec<PlannedObject> = Vec::with_capacity(specs.len());
    for (index, spec) in specs.into_iter().enumerate() {
        let path = spec.file_name().to_owned();
        if let Some(reason) = path_problem(&path) {
            return Err(Error::InvalidFilePath {
                index,
                name: spec.name.clone(),
                field: spec.file_name_field(),
                path,
                reason,
            });
        }
        if let Some(first) = planned.iter().position(|p| overlaps(&p.path, &path)) {
            return Err(Error::FilePathCollision {
                first,
                second: index,
                path: if planned[first].path.len() < path.len() {
                    planned[first].path.clone()
                } else {
                    path
                },
            });
        }
        let mode = spec.file_permission.unwrap_or(default_mode);
        planned.push(PlannedObject { spec, path, mode });
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::{SERVICE_ACCOUNT_TOKENS, tests::tokens_attribute};
    use crate::identity::tests::jwt;

    fn request(objects: &str, extra: &[(&str, &str)]) -> String {
        let mut map = serde_json::json!({
            "keyvaultName": "kv1",
            "tenantID": "72f988bf-0000-4000-8000-000000000001",
            "clientID": "11111111-2222-3333-4444-555555555555",
            "objects": objects,
            "csi.storage.k8s.io/pod.name": "web-0",
            "csi.storage.k8s.io/pod.namespace": "shop",
            SERVICE_ACCOUNT_TOKENS: tokens_attribute(&[(DEFAULT_AUDIENCE, &jwt("https://i/", "system:serviceaccount:shop:web"))]),
        });
        for (k, v) in extra {
            map[*k] = serde_json::Value::String((*v).to_owned());
        }
        map.to_string()
    }

    fn objects(entries: &[&str]) -> String {
        let mut text = "array:\n".to_owned();
        for entry in entries {
            text.push_str("  - |\n");
            for line in entry.split(';') {
                text.push_str(&format!("    {}\n", line.trim()));
            }
        }
        text
    }

    #[test]
    fn paths_and_modes_come_from_alias_name_and_permissions() {
        let plan = MountPlan::from_request(
            &request(
                &objects(&[
                    "objectName: db;objectType: secret",
                    "objectName: tls;objectType: cert;objectAlias: certs/tls.crt;filePermission: 0600",
                ]),
                &[],
            ),
            "420",
        )
        .unwrap();
        let layout: Vec<_> = plan
            .objects
            .iter()
            .map(|o| (o.path.as_str(), o.mode.bits()))
            .collect();
        assert_eq!(layout, [("db", 0o644), ("certs/tls.crt", 0o600)]);
        assert_eq!(plan.pod.pod_ref(), "shop/web-0");
        assert_eq!(plan.vault.name.as_str(), "kv1");
        let plan = MountPlan::from_request(
            &request(&objects(&["objectName: db;objectType: secret"]), &[]),
            "256",
        )
        .unwrap();
        assert_eq!(plan.objects[0].mode.bits(), 0o400);
    }

    #[test]
    fn bad_permission_is_refused() {
        let err = MountPlan::from_request(
            &request(&objects(&["objectName: a;objectType: secret"]), &[]),
            "0644",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the driver's permission \"0644\" is not a file mode"),
            "{err}"
        );
        // "0644" is not JSON number text; "" is not either.
        assert!(MountPlan::from_request("{}", "").is_err());
    }

    #[test]
    fn escaping_paths_are_refused_before_anything_is_fetched() {
        for (alias, reason) in [
            ("/etc/passwd", "absolute"),
            ("../x", "`..`"),
            ("a/./b", "clean form"),
        ] {
            let err = MountPlan::from_request(
                &request(
                    &objects(&[&format!(
                        "objectName: db;objectType: secret;objectAlias: '{alias}'"
                    )]),
                    &[],
                ),
                "420",
            )
            .unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "objects[0] (db): file path {alias:?} (from objectAlias)"
                )),
                "{text}"
            );
            assert!(text.contains(reason), "{text}");
        }
    }

    #[test]
    fn colliding_files_are_refused() {
        let err = MountPlan::from_request(
            &request(
                &objects(&[
                    "objectName: db;objectType: secret",
                    "objectName: other;objectType: secret;objectAlias: db",
                ]),
                &[],
            ),
            "420",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "objects[0] and objects[1] both write \"db\": give one of them a different objectAlias"
        );
        // A history directory and a file inside it.
        let err = MountPlan::from_request(
            &request(
                &objects(&[
                    "objectName: db;objectType: secret;objectVersionHistory: 3",
                    "objectName: x;objectType: key;objectAlias: db/0",
                ]),
                &[],
            ),
            "420",
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::FilePathCollision {
                    first: 0,
                    second: 1,
                    ..
                }
            ),
            "{err}"
        );
        // Same name, different types, collide too (the Go provider would
        // silently overwrite one).
        let err = MountPlan::from_request(
            &request(
                &objects(&[
                    "objectName: tls;objectType: secret",
                    "objectName: tls;objectType: cert",
                ]),
                &[],
            ),
            "420",
        )
        .unwrap_err();
        assert!(matches!(err, Error::FilePathCollision { .. }), "{err}");
    }

    #[test]
    fn parameters_are_checked_before_tokens() {
        let mut attributes: serde_json::Value = serde_json::from_str(&request(
            &objects(&["objectName: a;objectType: secret"]),
            &[("usePodIdentity", "true")],
        ))
        .unwrap();
        attributes
            .as_object_mut()
            .unwrap()
            .remove(SERVICE_ACCOUNT_TOKENS);
        let err = MountPlan::from_request(&attributes.to_string(), "420").unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedIdentityMode {
                    parameter: "usePodIdentity",
                    ..
                }
            ),
            "{err}"
        );
        attributes.as_object_mut().unwrap().remove("usePodIdentity");
        let err = MountPlan::from_request(&attributes.to_string(), "420").unwrap_err();
        assert_eq!(err, Error::MissingTokens);
    }

    #[test]
    fn volume_attributes_override_parameters_as_the_driver_merges_them() {
        // The driver merges volumeAttributes over parameters before sending;
        // the provider sees one map. A per-pod keyvaultName is honoured.
        let plan = MountPlan::from_request(
            &request(
                &objects(&["objectName: a;objectType: secret"]),
                &[("keyvaultName", "kv-pod")],
            ),
            "420",
        )
        .unwrap();
        assert_eq!(plan.vault.name.as_str(), "kv-pod");
    }
}
