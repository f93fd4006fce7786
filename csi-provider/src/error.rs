//! The one error type of the provider, and its mapping to a gRPC status.
//!
//! Kubelet shows a failed mount's status text in the pod's events
//! (`MountVolume.SetUp failed … desc = <text>`), so every message names what
//! to fix: the parameter, the object, the CSIDriver field, the role to
//! grant. No message ever contains a token, an assertion or a secret value:
//! variants hold names, ids and reasons built from non-secret inputs only.

use std::time::Duration;

use azure_wi_core::names::{DEFAULT_AUDIENCE, IDENTITY_BINDING_AUDIENCE};

use crate::objects::ObjectType;

/// The CSIDriver object the Secrets Store CSI Driver installs.
pub const CSI_DRIVER_NAME: &str = "secrets-store.csi.k8s.io";

/// Why a mount was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `attributes` is not a JSON object of strings.
    #[error("the driver's attributes are not a JSON object of strings: {reason}")]
    InvalidAttributes {
        /// Where the JSON is wrong (never a value).
        reason: String,
    },
    /// `permission` is not the JSON number of a file mode.
    #[error(
        "the driver's permission {value:?} is not a file mode: expected a decimal number \
         from 0 to 511 (\"420\" is 0644)"
    )]
    InvalidPermission {
        /// The text received.
        value: String,
    },
    /// The driver's `secrets` (the `nodePublishSecretRef` Secret's data)
    /// are not JSON. The Go provider refuses them the same way
    /// (`pkg/server/server.go`: "failed to unmarshal secrets"), even though
    /// workload identity never reads them.
    #[error(
        "failed to unmarshal secrets: the driver's secrets (from nodePublishSecretRef) are not \
         a JSON object of strings: {reason}"
    )]
    InvalidSecrets {
        /// Where the JSON is wrong (never a value).
        reason: String,
    },
    /// A pod-info attribute is missing: the CSIDriver lacks
    /// `podInfoOnMount: true`. The Go provider refuses such a mount
    /// (`pkg/provider/provider.go`: "pod name is not provided", "pod
    /// namespace is not provided"); the driver's own CSIDriver always has it.
    #[error(
        "{what} is not provided: the mount request has no {attribute} attribute; the CSIDriver \
         {CSI_DRIVER_NAME} must have `podInfoOnMount: true`; check it with \
         `kubectl get csidriver {CSI_DRIVER_NAME} -o yaml`"
    )]
    MissingPodInfo {
        /// `pod name` or `pod namespace`, the Go provider's words.
        what: &'static str,
        /// The attribute key.
        attribute: &'static str,
    },
    /// A JSON field of the request is larger than any real one, so it is
    /// refused before it is parsed.
    #[error(
        "the driver's {field} are {size} bytes, more than this provider's limit of {limit} \
         bytes; no SecretProviderClass comes near it, so the request was not parsed"
    )]
    RequestFieldTooLarge {
        /// `attributes` or `secrets`.
        field: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The `objects` parameter is larger than any real one.
    #[error(
        "SecretProviderClass parameter objects is {size} bytes, more than this provider's \
         limit of {limit} bytes (hundreds of objects); it was not parsed: split the objects \
         across several SecretProviderClasses"
    )]
    ObjectsTooLarge {
        /// Its size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The `objects` parameter (or one of its entries) nests deeper than
    /// any real one.
    #[error(
        "SecretProviderClass parameter objects{at} nests at least {depth} levels deep in \
         {counted}, more than this provider's limit of {limit}; it was not parsed: write each \
         object as a flat mapping of objectName, objectType, ...",
        at = index.map(|i| format!(" (objects[{i}])")).unwrap_or_default()
    )]
    ObjectsTooDeep {
        /// The entry, or `None` for the whole parameter.
        index: Option<usize>,
        /// The depth reached when the scan stopped.
        depth: usize,
        /// How it was counted: flow brackets, or block indentation.
        counted: &'static str,
        /// The limit.
        limit: usize,
    },
    /// No ServiceAccount tokens in the attributes: the CSIDriver has no
    /// `tokenRequests`, so kubelet sent none.
    #[error(
        "no ServiceAccount token in the mount request (attribute \
         csi.storage.k8s.io/serviceAccount.tokens is missing): the CSIDriver {CSI_DRIVER_NAME} \
         must list `tokenRequests: [{{audience: {DEFAULT_AUDIENCE}}}]`; check it with \
         `kubectl get csidriver {CSI_DRIVER_NAME} -o yaml`"
    )]
    MissingTokens,
    /// The tokens attribute is not the JSON map kubelet writes.
    #[error(
        "the csi.storage.k8s.io/serviceAccount.tokens attribute is not a JSON map of audience \
         to {{token, expirationTimestamp}}: {reason}"
    )]
    InvalidTokens {
        /// Where the JSON is wrong (never a value).
        reason: String,
    },
    /// Kubelet sent tokens, but none for the audience the mode needs
    /// (Entra's, or the identity binding's).
    #[error(
        "the ServiceAccount tokens in the mount request have no token for audience \
         {audience} (audiences present: {present}): add `{{audience: {audience}}}` \
         to the tokenRequests of the CSIDriver {CSI_DRIVER_NAME}; check it with \
         `kubectl get csidriver {CSI_DRIVER_NAME} -o yaml`",
        present = if audiences.is_empty() { "none".to_owned() } else { audiences.join(", ") }
    )]
    TokenAudienceMissing {
        /// The audience needed.
        audience: &'static str,
        /// The audiences kubelet did send.
        audiences: Vec<String>,
    },
    /// `useAzureTokenProxy` without any ServiceAccount token in the request
    /// (the Go provider's words first).
    #[error(
        "service account tokens are required for identity binding: the CSIDriver \
         {CSI_DRIVER_NAME} must list `tokenRequests: [{{audience: {IDENTITY_BINDING_AUDIENCE}}}]`; \
         check it with `kubectl get csidriver {CSI_DRIVER_NAME} -o yaml`"
    )]
    MissingBindingTokens,
    /// An identity switch is not a Go boolean (the Go provider's words
    /// first).
    #[error(
        "failed to parse {parameter} flag, error: strconv.ParseBool: parsing {value:?}: invalid \
         syntax (SecretProviderClass parameter {parameter} takes \"true\" or \"false\")"
    )]
    InvalidSwitch {
        /// The switch.
        parameter: &'static str,
        /// Its value (parameters are never secret).
        value: String,
    },
    /// More than one identity switch is on.
    #[error(
        "only one identity mode can be enabled at a time: usePodIdentity, useVMManagedIdentity, \
         or useAzureTokenProxy"
    )]
    ConflictingIdentityModes,
    /// A required SecretProviderClass parameter is missing or empty.
    #[error("SecretProviderClass parameter {parameter} is not set: {hint}")]
    MissingParameter {
        /// The parameter key.
        parameter: &'static str,
        /// What it should hold.
        hint: &'static str,
    },
    /// A SecretProviderClass parameter has a value this provider refuses.
    #[error("SecretProviderClass parameter {parameter} is {value:?}: {expected}")]
    InvalidParameter {
        /// The parameter key.
        parameter: &'static str,
        /// The value as given (parameters are never secret).
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// An identity mode other than workload identity was asked for.
    #[error(
        "SecretProviderClass parameter {parameter} is \"true\", but this provider serves \
         workload identity only: {mode} is not supported. Remove {parameter} (or set it to \
         \"false\") and set clientID to the client id of the identity whose federated \
         credential trusts the pod's ServiceAccount"
    )]
    UnsupportedIdentityMode {
        /// The parameter that asked for it.
        parameter: &'static str,
        /// The mode it selects.
        mode: &'static str,
    },
    /// The `objects` parameter is not the YAML the Azure provider reads.
    #[error(
        "SecretProviderClass parameter objects is not valid: {reason}; expected YAML \
         `array:` followed by a list of strings, each a YAML mapping with objectName and \
         objectType"
    )]
    InvalidObjects {
        /// What is wrong, with its location.
        reason: String,
    },
    /// One field of one object is wrong.
    #[error("objects[{index}] ({name}): {field} {value:?} is not valid: {expected}")]
    InvalidObjectField {
        /// Position in the `array:` list, from 0.
        index: usize,
        /// The objectName, or `no objectName`.
        name: String,
        /// The field key.
        field: &'static str,
        /// The value as given.
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// `objectType` is not one of the three Key Vault object types.
    #[error(
        "objects[{index}] ({name}): objectType {value:?} is not valid: expected secret, key \
         or cert{hint}",
        hint = object_type_hint(value)
    )]
    UnknownObjectType {
        /// Position in the `array:` list, from 0.
        index: usize,
        /// The objectName.
        name: String,
        /// The value as given.
        value: String,
    },
    /// An object's file name would escape or not match the volume layout.
    #[error(
        "objects[{index}] ({name}): file path {path:?} (from {field}) is not allowed: {reason}"
    )]
    InvalidFilePath {
        /// Position in the `array:` list, from 0.
        index: usize,
        /// The objectName.
        name: String,
        /// `objectAlias` or `objectName`, whichever gave the path.
        field: &'static str,
        /// The path.
        path: String,
        /// What is wrong and how to write it.
        reason: String,
    },
    /// Two objects would write the same file, or one's file would be the
    /// other's directory.
    #[error(
        "objects[{first}] and objects[{second}] both write {path:?}: give one of them a \
         different objectAlias"
    )]
    FilePathCollision {
        /// The earlier object's index.
        first: usize,
        /// The later object's index.
        second: usize,
        /// The path they share.
        path: String,
    },
    /// A secret's value cannot be decoded with its `objectEncoding`.
    #[error(
        "secret {name}: the value is not valid {encoding} ({reason}); fix objectEncoding or \
         the secret's value"
    )]
    SecretDecoding {
        /// The objectName.
        name: String,
        /// The encoding asked for.
        encoding: &'static str,
        /// What is wrong (never the value).
        reason: String,
    },
    /// A secret value is not UTF-8 text where text is needed.
    #[error("secret {name}: {reason}")]
    InvalidSecretContent {
        /// The objectName.
        name: String,
        /// What is wrong (never the value).
        reason: String,
    },
    /// A certificate-backed secret has a content type the provider cannot
    /// convert.
    #[error(
        "secret {name} backs a certificate with unknown content type {content_type:?}: \
         expected application/x-pem-file or application/x-pkcs12"
    )]
    UnknownContentType {
        /// The objectName.
        name: String,
        /// The content type Key Vault returned.
        content_type: String,
    },
    /// A key's JWK cannot be written as a public key.
    #[error("key {name}: {reason}")]
    InvalidKey {
        /// The objectName.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate object holds no usable DER certificate.
    #[error("cert {name}: {reason}")]
    InvalidCertificate {
        /// The objectName.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The version history has no usable version to start from.
    #[error(
        "{object_type} {name}: objectVersion {version:?} is not an enabled version of the \
         object, so its objectVersionHistory cannot start there"
    )]
    HistoryStartNotFound {
        /// The object type.
        object_type: ObjectType,
        /// The objectName.
        name: String,
        /// The objectVersion asked for.
        version: String,
    },
    /// The response would exceed what the driver accepts.
    #[error(
        "the mounted files add up to {size} bytes, more than the {limit} bytes the driver \
         accepts by default (--max-call-recv-msg-size); mount fewer or smaller objects, or \
         raise that driver flag"
    )]
    ResponseTooLarge {
        /// Encoded size of the response's files.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Key Vault refused the identity (HTTP 403).
    #[error(
        "Key Vault {vault} refused {object_type} {name} to client {client_id} (403 Forbidden): \
         grant it the role {role} with scope the vault (`az keyvault show --name {vault} \
         --query id -o tsv`), or on a vault using access policies the {object_type} get \
         permission{list}",
        role = object_type.reader_role(),
        list = if *listing { " and list" } else { "" }
    )]
    Forbidden {
        /// The vault name.
        vault: String,
        /// The object type.
        object_type: ObjectType,
        /// The objectName.
        name: String,
        /// The client id the request was made as.
        client_id: String,
        /// Whether the refused call listed versions (needs list rights).
        listing: bool,
    },
    /// Key Vault has no such object or version (HTTP 404).
    #[error(
        "{object_type} {name}{at} not found in Key Vault {vault}: check objectName, \
         objectType and objectVersion",
        at = version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default()
    )]
    ObjectNotFound {
        /// The vault name.
        vault: String,
        /// The object type.
        object_type: ObjectType,
        /// The objectName.
        name: String,
        /// The version asked for, `None` for the latest.
        version: Option<String>,
    },
    /// Entra found no federated identity credential matching the token
    /// (AADSTS70021 and its family), with `azure-wi-auth`'s diagnosis:
    /// which claim to compare first, or that only the letter case differs.
    #[error(
        "AADSTS{code}: Entra ID found no federated identity credential on client {client_id} \
         (tenant {tenant}) matching the pod's token; the token presents issuer {issuer:?} and \
         subject {subject:?}, so a federated credential must hold exactly that issuer, that \
         subject and audience {DEFAULT_AUDIENCE}\ndiagnosis: {diagnosis}"
    )]
    FederatedCredentialMismatch {
        /// The AADSTS code Entra returned (70021, 700213, ...).
        code: u32,
        /// The tenant asked.
        tenant: String,
        /// The client id asked for.
        client_id: String,
        /// The token's `iss` claim.
        issuer: String,
        /// The token's `sub` claim.
        subject: String,
        /// `azure-wi-auth`'s explanation ([`azure_wi_auth::diagnose`]).
        diagnosis: Box<str>,
    },
    /// Entra refused the token exchange for another reason.
    #[error(
        "Entra ID refused the token exchange for client {client_id} (tenant {tenant}): {description}"
    )]
    Entra {
        /// The tenant asked.
        tenant: String,
        /// The client id asked for.
        client_id: String,
        /// Entra's error description (it never echoes the assertion).
        description: String,
    },
    /// Key Vault kept throttling past the mount's deadline.
    #[error(
        "Key Vault {vault} is throttling requests (HTTP {status}) and asked to wait {}s, past \
         this mount's deadline; the mount will be retried",
        retry_after.as_secs()
    )]
    Throttled {
        /// The vault name.
        vault: String,
        /// 429 or 503.
        status: u16,
        /// How long Key Vault asked to wait.
        retry_after: Duration,
    },
    /// Key Vault answered with another error.
    #[error("Key Vault {vault} failed for {object_type} {name}: HTTP {status}: {message}")]
    KeyVault {
        /// The vault name.
        vault: String,
        /// The object type.
        object_type: ObjectType,
        /// The objectName.
        name: String,
        /// The HTTP status.
        status: u16,
        /// Key Vault's error message.
        message: String,
    },
    /// The mount's fetches did not finish within its deadline.
    #[error(
        "Key Vault {vault} did not deliver every object within this mount's deadline of {}s; \
         the mount will be retried",
        deadline.as_secs()
    )]
    DeadlineExceeded {
        /// The vault name.
        vault: String,
        /// The deadline.
        deadline: Duration,
    },
    /// `--endpoint` is not a `unix://` path.
    #[error(
        "--endpoint {value:?} is not valid: expected unix:///path/to/socket, such as unix:///provider/azure.sock"
    )]
    InvalidEndpoint {
        /// The value given.
        value: String,
    },
    /// The provider socket could not be created.
    #[error("cannot listen on unix socket {path}: {reason}")]
    Socket {
        /// The socket path.
        path: String,
        /// What failed.
        reason: String,
    },
    /// A mount with `useAzureTokenProxy`, but the token proxy could not be
    /// set up at start-up (the Go provider's words first).
    #[error(
        "proxy transport not available: {reason}; set the provider's --token-proxy-url and \
         --sni-name, or check its ServiceAccount CA"
    )]
    TokenProxyUnavailable {
        /// Why.
        reason: String,
    },
    /// The vault or Entra could not be reached.
    #[error("cannot reach {host}: {reason}; check DNS, egress rules and private endpoints")]
    Unreachable {
        /// The host called.
        host: String,
        /// The transport error.
        reason: String,
    },
}

/// An extra sentence when `objectType` holds something users confuse it
/// with: a Kubernetes Secret type or a capitalised Key Vault type.
fn object_type_hint(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if value.starts_with("kubernetes.io/")
        || value == "Opaque"
        || value.starts_with("bootstrap.kubernetes.io/")
    {
        format!(
            " ({value} is a Kubernetes Secret type: it belongs in the SecretProviderClass's \
             spec.secretObjects[].type, while objectType names the Key Vault object)"
        )
    } else if matches!(lower.as_str(), "secret" | "key" | "cert") {
        format!(" (objectType is case-sensitive: write {lower})")
    } else if matches!(lower.as_str(), "certificate" | "certificates") {
        " (use cert for the certificate, or secret for the certificate with its private key)"
            .to_owned()
    } else {
        String::new()
    }
}

// === impl Error ===

impl Error {
    /// The gRPC status code for this error.
    ///
    /// The driver retries only `UNAVAILABLE` (three attempts, about a second
    /// apart), so only failures a second later may cure use it; throttling
    /// is `RESOURCE_EXHAUSTED` so the driver does not hammer the vault.
    #[must_use]
    pub fn code(&self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::Forbidden { .. }
            | Self::FederatedCredentialMismatch { .. }
            | Self::Entra { .. } => Code::PermissionDenied,
            Self::ObjectNotFound { .. } | Self::HistoryStartNotFound { .. } => Code::NotFound,
            Self::Throttled { .. } | Self::ResponseTooLarge { .. } => Code::ResourceExhausted,
            Self::Unreachable { .. } | Self::TokenProxyUnavailable { .. } => Code::Unavailable,
            Self::DeadlineExceeded { .. } => Code::DeadlineExceeded,
            Self::Socket { .. } => Code::Internal,
            Self::KeyVault { status, .. } if *status >= 500 => Code::Unavailable,
            Self::KeyVault { .. } => Code::Unknown,
            Self::SecretDecoding { .. }
            | Self::InvalidSecretContent { .. }
            | Self::UnknownContentType { .. }
            | Self::InvalidKey { .. }
            | Self::InvalidCertificate { .. } => Code::FailedPrecondition,
            _ => Code::InvalidArgument,
        }
    }

    /// A short, stable name for the kind of failure: the `outcome` label of
    /// the provider's mount metrics, so a dashboard tells a missing role
    /// from throttling without parsing messages.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidAttributes { .. } => "invalid_attributes",
            Self::InvalidPermission { .. } => "invalid_permission",
            Self::MissingTokens => "missing_tokens",
            Self::InvalidTokens { .. } => "invalid_tokens",
            Self::TokenAudienceMissing { .. } => "token_audience_missing",
            Self::MissingParameter { .. } => "missing_parameter",
            Self::InvalidParameter { .. } => "invalid_parameter",
            Self::UnsupportedIdentityMode { .. } | Self::ConflictingIdentityModes => {
                "unsupported_identity_mode"
            }
            Self::InvalidSwitch { .. } => "invalid_parameter",
            Self::MissingBindingTokens => "missing_tokens",
            Self::InvalidObjects { .. } | Self::InvalidObjectField { .. } => "invalid_objects",
            Self::InvalidSecrets { .. } => "invalid_secrets",
            Self::MissingPodInfo { .. } => "missing_pod_info",
            Self::RequestFieldTooLarge { .. } | Self::ObjectsTooLarge { .. } => "too_large",
            Self::ObjectsTooDeep { .. } => "too_deep",
            Self::UnknownObjectType { .. } => "unknown_object_type",
            Self::InvalidFilePath { .. } | Self::FilePathCollision { .. } => "invalid_file_path",
            Self::SecretDecoding { .. }
            | Self::InvalidSecretContent { .. }
            | Self::UnknownContentType { .. }
            | Self::InvalidKey { .. }
            | Self::InvalidCertificate { .. } => "invalid_content",
            Self::HistoryStartNotFound { .. } | Self::ObjectNotFound { .. } => "not_found",
            Self::ResponseTooLarge { .. } => "response_too_large",
            Self::Forbidden { .. } => "forbidden",
            Self::FederatedCredentialMismatch { .. } => "federated_credential_mismatch",
            Self::Entra { .. } => "entra",
            Self::Throttled { .. } => "throttled",
            Self::KeyVault { .. } => "key_vault",
            Self::DeadlineExceeded { .. } => "deadline_exceeded",
            Self::InvalidEndpoint { .. } | Self::Socket { .. } => "socket",
            Self::Unreachable { .. } => "unreachable",
            Self::TokenProxyUnavailable { .. } => "token_proxy_unavailable",
        }
    }

    /// The gRPC status the driver receives; its text is what kubelet shows
    /// in the pod's events.
    #[must_use]
    pub fn to_status(&self) -> tonic::Status {
        tonic::Status::new(self.code(), format!("failed to mount objects: {self}"))
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        e.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tokens_names_the_csidriver_audience_and_kubectl_command() {
        let text = Error::MissingTokens.to_string();
        assert!(text.contains("tokenRequests"), "{text}");
        assert!(text.contains(DEFAULT_AUDIENCE), "{text}");
        assert!(
            text.contains("kubectl get csidriver secrets-store.csi.k8s.io -o yaml"),
            "{text}"
        );
    }

    #[test]
    fn tokens_without_the_audience_list_what_came() {
        let text = Error::TokenAudienceMissing {
            audience: DEFAULT_AUDIENCE,
            audiences: vec!["api://AKSIdentityBinding".into()],
        }
        .to_string();
        assert!(text.contains("api://AKSIdentityBinding"), "{text}");
        assert!(
            text.contains(&format!("no token for audience {DEFAULT_AUDIENCE}")),
            "{text}"
        );
        assert!(text.contains("kubectl get csidriver"), "{text}");
        let none = Error::TokenAudienceMissing {
            audience: DEFAULT_AUDIENCE,
            audiences: vec![],
        }
        .to_string();
        assert!(none.contains("audiences present: none"), "{none}");
    }

    #[test]
    fn unknown_object_type_lists_the_valid_values_with_hints() {
        let err = |value: &str| {
            Error::UnknownObjectType {
                index: 0,
                name: "regcred".into(),
                value: value.into(),
            }
            .to_string()
        };
        let docker = err("kubernetes.io/dockerconfigjson");
        assert!(docker.contains("expected secret, key or cert"), "{docker}");
        assert!(docker.contains("Kubernetes Secret type"), "{docker}");
        assert!(docker.contains("spec.secretObjects[].type"), "{docker}");
        assert!(err("Secret").contains("case-sensitive: write secret"));
        assert!(err("certificate").contains("use cert"));
        let plain = err("blob");
        assert!(plain.ends_with("expected secret, key or cert"), "{plain}");
    }

    #[test]
    fn forbidden_names_the_role_and_scope() {
        let err = Error::Forbidden {
            vault: "kv1".into(),
            object_type: ObjectType::Secret,
            name: "db".into(),
            client_id: "c1".into(),
            listing: false,
        };
        let text = err.to_string();
        assert!(text.contains("Key Vault Secrets User"), "{text}");
        assert!(
            text.contains("az keyvault show --name kv1 --query id -o tsv"),
            "{text}"
        );
        assert!(text.contains("client c1"), "{text}");
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
        let key = Error::Forbidden {
            vault: "kv1".into(),
            object_type: ObjectType::Key,
            name: "signing".into(),
            client_id: "c1".into(),
            listing: true,
        };
        let text = key.to_string();
        assert!(
            text.contains("Key Vault Crypto User") && text.contains("get permission and list"),
            "{text}"
        );
    }

    #[test]
    fn not_found_names_object_version_and_vault() {
        let text = Error::ObjectNotFound {
            vault: "kv1".into(),
            object_type: ObjectType::Cert,
            name: "tls".into(),
            version: Some("abc".into()),
        }
        .to_string();
        assert_eq!(
            text,
            "cert tls version abc not found in Key Vault kv1: check objectName, objectType and objectVersion"
        );
    }

    #[test]
    fn federated_mismatch_shows_presented_issuer_and_subject() {
        let text = Error::FederatedCredentialMismatch {
            code: 70021,
            tenant: "t".into(),
            client_id: "c".into(),
            issuer: "https://oidc.example/".into(),
            subject: "system:serviceaccount:shop:web".into(),
            diagnosis: "no federated identity credential has the token's issuer: compare the \
                        issuer first."
                .into(),
        }
        .to_string();
        assert!(text.starts_with("AADSTS70021: "), "{text}");
        assert!(
            text.ends_with(&format!(
                "audience {DEFAULT_AUDIENCE}\ndiagnosis: no federated identity credential has \
                 the token's issuer: compare the issuer first."
            )),
            "the golden text, then the diagnosis: {text}"
        );
        assert!(text.contains("issuer \"https://oidc.example/\""), "{text}");
        assert!(
            text.contains("subject \"system:serviceaccount:shop:web\""),
            "{text}"
        );
        assert!(
            text.contains(&format!("audience {DEFAULT_AUDIENCE}")),
            "{text}"
        );
    }

    #[test]
    fn statuses_carry_the_message_and_a_code_the_driver_handles() {
        let status = Error::MissingTokens.to_status();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("failed to mount objects: no ServiceAccount token")
        );
        let throttled = Error::Throttled {
            vault: "kv".into(),
            status: 429,
            retry_after: Duration::from_secs(30),
        };
        assert_eq!(throttled.code(), tonic::Code::ResourceExhausted);
        assert!(throttled.to_string().contains("asked to wait 30s"));
        let too_large = Error::ResponseTooLarge {
            size: 5 << 20,
            limit: 4 << 20,
        };
        assert!(too_large.to_string().contains("4194304 bytes"));
        assert!(too_large.to_string().contains("--max-call-recv-msg-size"));
    }
}
