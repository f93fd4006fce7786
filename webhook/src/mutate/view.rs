//! The pod as the mutation reads it: only the fields it looks at, decoded
//! straight from the request's JSON text, with strings borrowed from it.
//!
//! A pod may be megabytes of JSON (a real one up to the API server's 3 MiB
//! request limit, a hostile one up to the body limit); building a
//! `serde_json::Value` tree and then a typed `Pod` of all of it cost about
//! 125 bytes of memory per byte of body and most of an admission's time.
//! Every field not listed here is skipped by the parser without being built;
//! the patch is written against paths, so nothing the view leaves out needs
//! to be kept.
//!
//! The fields that are read are checked as the typed `Pod` of `k8s-openapi`
//! would check them (a string where a string belongs, `kind: Pod`,
//! `apiVersion: v1`), with the same messages, so a pod the API server could
//! not have sent is still refused with the path of the field at fault.

use std::{borrow::Cow, fmt, ops::Deref};

use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, Unexpected, Visitor},
};
use serde_json::Value;

use azure_wi_core::{TokenLayout, names};

/// Declares a struct of optional members decoded from a JSON object, with
/// the members not listed skipped unbuilt. As in the typed `Pod`, only an
/// object (or `null`, read as absent where the struct is optional) decodes,
/// a member that is `null` is absent, and the last of duplicate keys wins.
macro_rules! lean_struct {
    (
        $(#[$meta:meta])*
        $name:ident<$lt:lifetime>, $expecting:literal {
            $($field:ident: $ty:ty = $key:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub(super) struct $name<$lt> {
            $(pub(super) $field: Option<$ty>,)*
        }

        impl<'de: $lt, $lt> Deserialize<'de> for $name<$lt> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor<$lt>(std::marker::PhantomData<&$lt ()>);
                impl<'de: $lt, $lt> Visitor<'de> for ObjectVisitor<$lt> {
                    type Value = $name<$lt>;

                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<Self::Value, A::Error> {
                        let mut object = $name::default();
                        while let Some(key) = map.next_key::<Str<'de>>()? {
                            match &*key {
                                $($key => object.$field = map.next_value()?,)*
                                _ => {
                                    map.next_value::<IgnoredAny>()?;
                                }
                            }
                        }
                        Ok(object)
                    }
                }
                deserializer.deserialize_map(ObjectVisitor(std::marker::PhantomData))
            }
        }
    };
}

/// A JSON string, borrowed from the input unless it holds escapes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Str<'a>(Cow<'a, str>);

impl Deref for Str<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = Str<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

/// The string of an optional field, `""` when absent or `null`, as the
/// typed `Pod` defaults a missing required string.
pub(super) fn text<'s>(field: &'s Option<Str<'_>>) -> &'s str {
    field.as_deref().unwrap_or("")
}

/// The pod: `metadata` and `spec` are `None` when absent or `null`, and
/// present exactly when the JSON holds an object there.
#[derive(Debug, Default)]
pub(super) struct PodView<'a> {
    pub metadata: Option<Metadata<'a>>,
    pub spec: Option<Spec<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for PodView<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PodVisitor;
        impl<'de> Visitor<'de> for PodVisitor {
            type Value = PodView<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Pod")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pod = PodView::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match &*key {
                        "apiVersion" => expect_value(&mut map, "v1")?,
                        "kind" => expect_value(&mut map, "Pod")?,
                        "metadata" => pod.metadata = map.next_value()?,
                        "spec" => pod.spec = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(pod)
            }
        }
        deserializer.deserialize_map(PodVisitor)
    }
}

/// Reads a string that must be `expected`, refusing another with the
/// message the typed `Pod` gives.
fn expect_value<'de, A: MapAccess<'de>>(map: &mut A, expected: &str) -> Result<(), A::Error> {
    let value: Str<'de> = map.next_value()?;
    if &*value == expected {
        Ok(())
    } else {
        Err(de::Error::invalid_value(Unexpected::Str(&value), &expected))
    }
}

lean_struct! {
    /// `metadata`.
    Metadata<'a>, "ObjectMeta" {
        name: Str<'a> = "name",
        generate_name: Str<'a> = "generateName",
        namespace: Str<'a> = "namespace",
        annotations: Annotations<'a> = "annotations",
    }
}

/// The annotations the mutation reads; the others are skipped.
#[derive(Debug, Default)]
pub(super) struct Annotations<'a> {
    pub token_expiration: Option<Str<'a>>,
    pub skip_containers: Option<Str<'a>>,
    pub inject_proxy_sidecar: Option<Str<'a>>,
    pub proxy_sidecar_port: Option<Str<'a>>,
    /// `azure.workload.identity/use-<suffix>` annotations: which one asks
    /// for the custom token endpoint depends on the webhook's flags.
    pub custom_endpoint: Vec<(Str<'a>, Str<'a>)>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Annotations<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnnotationsVisitor;
        impl<'de> Visitor<'de> for AnnotationsVisitor {
            type Value = Annotations<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kept = Annotations::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    let slot = match &*key {
                        names::TOKEN_EXPIRATION_ANNOTATION => &mut kept.token_expiration,
                        names::SKIP_CONTAINERS_ANNOTATION => &mut kept.skip_containers,
                        names::INJECT_PROXY_SIDECAR_ANNOTATION => &mut kept.inject_proxy_sidecar,
                        names::PROXY_SIDECAR_PORT_ANNOTATION => &mut kept.proxy_sidecar_port,
                        k if k.starts_with(names::CUSTOM_TOKEN_ENDPOINT_ANNOTATION_PREFIX) => {
                            let value: Str<'de> = map.next_value()?;
                            kept.custom_endpoint.push((key, value));
                            continue;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    // The last of duplicate keys wins, as in a decoded map.
                    *slot = Some(map.next_value()?);
                }
                Ok(kept)
            }
        }
        deserializer.deserialize_map(AnnotationsVisitor)
    }
}

lean_struct! {
    /// `spec`.
    Spec<'a>, "PodSpec" {
        service_account_name: Str<'a> = "serviceAccountName",
        host_network: bool = "hostNetwork",
        init_containers: Vec<Container<'a>> = "initContainers",
        containers: Vec<Container<'a>> = "containers",
        volumes: Vec<Volume<'a>> = "volumes",
    }
}

lean_struct! {
    /// A container: `env` and `volumeMounts` are `None` when absent or
    /// `null`, `Some` exactly when the JSON holds an array there.
    Container<'a>, "Container" {
        name: Str<'a> = "name",
        env: Vec<EnvVar<'a>> = "env",
        volume_mounts: Vec<VolumeMount<'a>> = "volumeMounts",
    }
}

impl Container<'_> {
    /// `name`, `""` when unset.
    pub(super) fn name(&self) -> &str {
        text(&self.name)
    }
}

lean_struct! {
    /// An environment variable. Its `value` is not read by the mutation,
    /// but checked to be a string as the typed `Pod` checks it: a literal
    /// `value: 5` is the commonest manifest typo.
    EnvVar<'a>, "EnvVar" {
        name: Str<'a> = "name",
        value: Str<'a> = "value",
    }
}

lean_struct! {
    /// A volume mount.
    VolumeMount<'a>, "VolumeMount" {
        name: Str<'a> = "name",
        mount_path: Str<'a> = "mountPath",
        read_only: bool = "readOnly",
    }
}

/// A volume: its name, and what the token volume's rules need of it.
///
/// Only a volume named `azure-identity-token` is looked into, so its
/// `projected` source is kept as JSON; for any other volume it is skipped
/// (the API server writes `name` first, so this is known in time; a
/// hand-written review with `name` last only costs the decoding).
#[derive(Debug, Default)]
pub(super) struct Volume<'a> {
    pub name: Option<Str<'a>>,
    /// `projected`, when it is not `null`.
    pub projected: Option<Value>,
    /// The first member other than `name` and `projected` that is not
    /// `null`: the volume's kind when it is not a projected one.
    pub other_kind: Option<Str<'a>>,
    /// Whether the volume has any member besides `name` and `projected`,
    /// even a `null` one.
    pub has_other_members: bool,
}

impl Volume<'_> {
    /// `name`, `""` when unset.
    pub(super) fn name(&self) -> &str {
        text(&self.name)
    }

    /// Whether the name is a token volume's in either layout (decoding its
    /// sources costs only for these).
    fn is_token_volume(&self) -> bool {
        TokenLayout::ALL
            .into_iter()
            .any(|layout| layout.is_token_volume(self.name()))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Volume<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VolumeVisitor;
        impl<'de> Visitor<'de> for VolumeVisitor {
            type Value = Volume<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Volume")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut volume = Volume::default();
                while let Some(key) = map.next_key::<Str<'de>>()? {
                    match &*key {
                        "name" => volume.name = map.next_value()?,
                        "projected" if volume.name.is_none() || volume.is_token_volume() => {
                            volume.projected =
                                Some(map.next_value::<Value>()?).filter(|p| !p.is_null());
                        }
                        "projected" => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        _ => {
                            volume.has_other_members = true;
                            let set = map.next_value::<Option<IgnoredAny>>()?.is_some();
                            if set && volume.other_kind.is_none() {
                                volume.other_kind = Some(key);
                            }
                        }
                    }
                }
                if !volume.is_token_volume() {
                    volume.projected = None;
                }
                Ok(volume)
            }
        }
        deserializer.deserialize_map(VolumeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view(text: &str) -> Result<PodView<'_>, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let text = r#"{"metadata": {"name": "plain", "generateName": "esc\"aped"}}"#;
        let pod = view(text).unwrap();
        let meta = pod.metadata.unwrap();
        assert!(matches!(meta.name.unwrap().0, Cow::Borrowed("plain")));
        assert!(matches!(meta.generate_name.unwrap().0, Cow::Owned(s) if s == "esc\"aped"));
    }

    #[test]
    fn only_the_annotations_read_are_kept() {
        let text = json!({"metadata": {"annotations": {
            "other": "x",
            names::SKIP_CONTAINERS_ANNOTATION: "a;b",
        }}})
        .to_string();
        let pod = view(&text).unwrap();
        let annotations = pod.metadata.unwrap().annotations.unwrap();
        assert_eq!(annotations.skip_containers.as_deref(), Some("a;b"));
        assert!(annotations.token_expiration.is_none());
    }

    #[test]
    fn kind_and_api_version_are_checked_as_the_typed_pod_checks_them() {
        let err = view(r#"{"kind": "Deployment"}"#).unwrap_err();
        assert!(
            err.starts_with(r#"invalid value: string "Deployment", expected Pod"#),
            "{err}"
        );
        let err = view(r#"{"apiVersion": "apps/v1"}"#).unwrap_err();
        assert!(
            err.starts_with(r#"invalid value: string "apps/v1", expected v1"#),
            "{err}"
        );
        assert!(view(r#"{"apiVersion": "v1", "kind": "Pod"}"#).is_ok());
    }

    #[test]
    fn only_the_token_volume_keeps_its_projected_source() {
        let text = json!({"spec": {"volumes": [
            {"name": "kube-api-access", "projected": {"sources": []}},
            {"projected": {"sources": []}, "name": names::TOKEN_VOLUME},
            {"name": "data", "emptyDir": {}, "hostPath": null},
            {"name": "n", "secret": null},
        ]}})
        .to_string();
        let pod = view(&text).unwrap();
        let volumes = pod.spec.unwrap().volumes.unwrap();
        assert!(volumes[0].projected.is_none());
        assert_eq!(volumes[1].projected, Some(json!({"sources": []})));
        assert!(!volumes[1].has_other_members);
        assert_eq!(volumes[2].other_kind.as_deref(), Some("emptyDir"));
        assert!(volumes[3].has_other_members && volumes[3].other_kind.is_none());
    }

    #[test]
    fn fields_read_are_type_checked_and_others_skipped() {
        let err = view(r#"{"spec": {"containers": [{"name": 5}]}}"#).unwrap_err();
        assert!(
            err.starts_with("invalid type: integer `5`, expected a string"),
            "{err}"
        );
        let pod = view(r#"{"spec": {"containers": [{"name": "c", "image": 5}], "x": [1]}}"#);
        assert!(pod.is_ok());
        // An object is an object: an array does not decode as one.
        let err = view(r#"{"metadata": []}"#).unwrap_err();
        assert!(
            err.starts_with("invalid type: sequence, expected ObjectMeta"),
            "{err}"
        );
        let err = view(r#"{"spec": {"volumes": [[]]}}"#).unwrap_err();
        assert!(
            err.starts_with("invalid type: sequence, expected Volume"),
            "{err}"
        );
    }
}
