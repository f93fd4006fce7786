//! The Secrets Store CSI Driver's provider protocol, `v1alpha1`.
//!
//! Messages are written by hand from kubernetes-sigs/secrets-store-csi-driver
//! `provider/v1alpha1/service.proto`: same package, names and field numbers,
//! so the driver's generated Go client talks to this server unchanged. The
//! service (`/v1alpha1.CSIDriverProvider/Version` and `/Mount`) is generated
//! by `build.rs` without `protoc`.
//!
//! `Debug` of [`MountRequest`] and [`File`] is written here and redacts:
//! the request's `attributes` carry the ServiceAccount tokens and its
//! `secrets` the nodePublishSecretRef data; a file's contents are the secret.

use std::fmt;

/// `VersionRequest`: the driver sends its API version, `"v1alpha1"`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct VersionRequest {
    /// The API version the driver speaks.
    #[prost(string, tag = "1")]
    pub version: String,
}

/// `VersionResponse`: the provider's API version and runtime.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct VersionResponse {
    /// The API version the provider speaks, `"v1alpha1"`.
    #[prost(string, tag = "1")]
    pub version: String,
    /// Name of the provider implementation.
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    /// Version of the provider implementation; semver-compatible per the proto.
    #[prost(string, tag = "3")]
    pub runtime_version: String,
}

/// `MountRequest`: one volume publish (or republish) of one pod.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct MountRequest {
    /// JSON object (string → string): the SecretProviderClass parameters, the
    /// pod's volume attributes and pod-info keys, and the ServiceAccount
    /// tokens attribute.
    #[prost(string, tag = "1")]
    pub attributes: String,
    /// JSON object of the nodePublishSecretRef secret data (`{}` or `null`
    /// when none is set).
    #[prost(string, tag = "2")]
    pub secrets: String,
    /// The kubelet publish path; informational, the driver writes the files.
    #[prost(string, tag = "3")]
    pub target_path: String,
    /// Default file mode as JSON number text, `"420"` for 0644.
    #[prost(string, tag = "4")]
    pub permission: String,
    /// Versions of the objects currently mounted (always empty from driver
    /// v1.6 on; ignored).
    #[prost(message, repeated, tag = "5")]
    pub current_object_version: Vec<ObjectVersion>,
}

/// `MountResponse`: the whole content of the volume.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MountResponse {
    /// One entry per file; the driver refuses a response without any.
    #[prost(message, repeated, tag = "1")]
    pub object_version: Vec<ObjectVersion>,
    /// A metric reason code; non-empty fails the mount. This provider
    /// reports failures as gRPC status text instead, which users can read.
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    /// Every file of the volume.
    #[prost(message, repeated, tag = "3")]
    pub files: Vec<File>,
}

/// `File`: one file the driver writes into the volume.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct File {
    /// Relative path, equal to its clean form, without `..`.
    #[prost(string, tag = "1")]
    pub path: String,
    /// File mode in decimal (0644 is 420).
    #[prost(int32, tag = "2")]
    pub mode: i32,
    /// The file's bytes.
    #[prost(bytes = "vec", tag = "3")]
    pub contents: Vec<u8>,
}

/// `ObjectVersion`: which version of an object a file holds.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct ObjectVersion {
    /// Unique id, `<type>/<name>` (or `<type>/<name>/<index>` for history).
    #[prost(string, tag = "1")]
    pub id: String,
    /// The Key Vault version id.
    #[prost(string, tag = "2")]
    pub version: String,
}

/// `Error`: the driver's metric reason code.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Error {
    /// The reason code.
    #[prost(string, tag = "1")]
    pub code: String,
}

// === impl MountRequest ===

impl fmt::Debug for MountRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MountRequest")
            .field(
                "attributes",
                &format_args!("<{} bytes>", self.attributes.len()),
            )
            .field("secrets", &format_args!("<{} bytes>", self.secrets.len()))
            .field("target_path", &self.target_path)
            .field("permission", &self.permission)
            .field("current_object_version", &self.current_object_version)
            .finish()
    }
}

// === impl File ===

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("contents", &format_args!("<{} bytes>", self.contents.len()))
            .finish()
    }
}

/// The service generated by `build.rs`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/v1alpha1.CSIDriverProvider.rs"));
}
/// The client, as the driver uses it; for tests and health checks.
pub use generated::c_s_i_driver_provider_client::CSIDriverProviderClient;
/// The server: implement [`CSIDriverProvider`] and wrap it in
/// [`CSIDriverProviderServer`].
pub use generated::c_s_i_driver_provider_server::{CSIDriverProvider, CSIDriverProviderServer};

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn field_numbers_match_the_driver_proto() {
        // Hand-encoded: field 1 (len) "a", field 4 (len) "420", field 5 (msg)
        // {1:"i",2:"v"}; decoding proves the numbers and wire types.
        let bytes = [
            0x0a, 1, b'a', 0x22, 3, b'4', b'2', b'0', 0x2a, 6, 0x0a, 1, b'i', 0x12, 1, b'v',
        ];
        let req = MountRequest::decode(&bytes[..]).expect("valid encoding");
        assert_eq!(req.attributes, "a");
        assert_eq!(req.permission, "420");
        assert_eq!(req.current_object_version[0].id, "i");
        assert_eq!(req.current_object_version[0].version, "v");

        let resp = MountResponse {
            object_version: vec![ObjectVersion {
                id: "i".into(),
                version: "v".into(),
            }],
            error: None,
            files: vec![File {
                path: "p".into(),
                mode: 420,
                contents: b"c".to_vec(),
            }],
        };
        // object_version = 1, files = 3; File path 1, mode 2 (varint 420), contents 3.
        assert_eq!(
            resp.encode_to_vec(),
            [
                0x0a, 6, 0x0a, 1, b'i', 0x12, 1, b'v', 0x1a, 9, 0x0a, 1, b'p', 0x10, 0xa4, 0x03,
                0x1a, 1, b'c'
            ]
        );
        let version = VersionResponse {
            version: "v1alpha1".into(),
            runtime_name: "n".into(),
            runtime_version: "1".into(),
        };
        assert_eq!(
            version.encode_to_vec()[..2],
            [0x0a, 8],
            "version is field 1"
        );
    }

    #[test]
    fn debug_never_shows_attributes_secrets_or_contents() {
        let req = MountRequest {
            attributes: r#"{"csi.storage.k8s.io/serviceAccount.tokens":"eyJhbGciOi"}"#.into(),
            secrets: r#"{"clientsecret":"hunter2"}"#.into(),
            permission: "420".into(),
            ..Default::default()
        };
        let text = format!("{req:?}");
        assert!(!text.contains("eyJ") && !text.contains("hunter2"), "{text}");
        let file = File {
            path: "db".into(),
            mode: 420,
            contents: b"hunter2".to_vec(),
        };
        let text = format!(
            "{:?}",
            MountResponse {
                files: vec![file],
                ..Default::default()
            }
        );
        assert!(
            !text.contains("hunter2") && text.contains("0o644"),
            "{text}"
        );
    }
}
