//! One error type: each variant's text is what the user reads in the
//! ExternalSecret's or store's `Ready` condition and events, so it says
//! what is wrong and, where it can, what to fix. ESO's own texts are kept
//! where users search for them.

use azure_wi_core::names;

/// Why a store could not be used or an ExternalSecret could not be synced.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `remoteRef.key` has a prefix other than `secret/`, `cert/`, `key/`.
    /// ESO's text names the object (the token after the prefix); the key
    /// as written follows, so the prefix at fault is seen.
    #[error(
        "unknown Azure Keyvault object Type for {name}: remoteRef.key {key} has none of the prefixes secret/, cert/, key/; use <name>, secret/<name>, cert/<name> or key/<name>"
    )]
    UnknownObjectType {
        /// The object's name: what follows the prefix.
        name: String,
        /// The key as written.
        key: String,
    },
    /// `property` found nothing.
    #[error("property {property} does not exist in key {key}")]
    PropertyNotFound {
        /// The path.
        property: String,
        /// The remote key.
        key: String,
    },
    /// `metadataPolicy: Fetch` with a `property` that names no tag of the
    /// object (nor `<tag>.<path>` of one); ESO's text.
    #[error("tag {tag} does not exist")]
    TagNotFound {
        /// The `property` as written.
        tag: String,
    },
    /// `decodingStrategy` asked for an encoding the value is not in.
    #[error(
        "the value of {key} is not {encoding} (decodingStrategy); set decodingStrategy: None to store it as it is"
    )]
    Decoding {
        /// The remote key.
        key: String,
        /// `base64` or `base64url`.
        encoding: String,
    },
    /// `dataFrom.extract` of a value that is not a JSON object: ESO's
    /// `error unmarshalling json data:` and Go's `encoding/json` reason
    /// (which, unlike Go's, never quotes a character of the value).
    #[error(
        "error unmarshalling json data: {reason}: dataFrom.extract needs the secret {key} to hold a JSON object; use data with a secretKey for a plain value"
    )]
    NotAJsonObject {
        /// The remote key.
        key: String,
        /// Go's reason: `invalid character looking for beginning of
        /// value`, `unexpected end of JSON input`, `json: cannot unmarshal
        /// array into Go value of type map[string]json.RawMessage`.
        reason: String,
    },
    /// `dataFrom` of a certificate or key.
    #[error(
        "cannot get use dataFrom to get {kind} secret: dataFrom reads secrets only; use data with cert/ or key/"
    )]
    DataFromNotSecret {
        /// `certificate` or `key`.
        kind: &'static str,
    },
    /// A field of the object is not one this controller serves.
    #[error("{} not supported by this controller (it serves the azurekv WorkloadIdentity subset of External Secrets); remove {}", fields.join(", "), if fields.len() == 1 { "it" } else { "them" })]
    Unsupported {
        /// Where each field is (`spec.target.immutable`).
        fields: Vec<String>,
    },
    /// The store's provider is not `azurekv`.
    #[error("the store's provider is {provider}; this controller serves provider azurekv only")]
    NotAzureKv {
        /// The provider key found, or `none`.
        provider: String,
    },
    /// The store's `authType` is not `WorkloadIdentity`.
    #[error(
        "authType {auth_type} is not served: this controller authenticates with workload identity only; set authType: WorkloadIdentity and a serviceAccountRef whose ServiceAccount has a federated credential"
    )]
    NotWorkloadIdentity {
        /// The authType found.
        auth_type: String,
    },
    /// `environmentType` this controller cannot serve.
    #[error(
        "environmentType {0} is not served (it needs customCloudConfig); use PublicCloud, USGovernmentCloud, ChinaCloud or GermanCloud"
    )]
    UnsupportedEnvironment(String),
    /// A duration field that does not parse.
    #[error(
        "{field} {value:?} is not a duration: write it as Go does (30s, 5m, 1h, 1h30m; 0 to sync once)"
    )]
    InvalidDuration {
        /// The field.
        field: &'static str,
        /// As written.
        value: String,
    },
    /// A `find.name.regexp` or `namespaceRegexes` entry that does not compile.
    #[error("{field} {value:?} is not a regular expression: {reason}")]
    InvalidRegexp {
        /// The field.
        field: &'static str,
        /// As written.
        value: String,
        /// The parser's reason.
        reason: String,
    },
    /// The ServiceAccount has no client-id annotation.
    #[error(
        "missing clientID: ServiceAccount {service_account} has no annotation {}; annotate it with the managed identity's client id",
        names::CLIENT_ID_ANNOTATION
    )]
    MissingClientId {
        /// `<namespace>/<name>`.
        service_account: String,
    },
    /// `authSecretRef` without `clientId` (ESO's text, which names the
    /// fields of another provider).
    #[error(
        "missing accessKeyID/secretAccessKey in store config: authSecretRef needs clientId (a key of a Secret holding the client id)"
    )]
    MissingClientIdSecret,
    /// A client id in `authSecretRef` and on the ServiceAccount (ESO's
    /// text).
    #[error(
        "multiple clientID found. Check secretRef and serviceAccountRef: keep the client id in authSecretRef or in the {} annotation of ServiceAccount {service_account}, not both",
        names::CLIENT_ID_ANNOTATION
    )]
    MultipleClientIds {
        /// `<namespace>/<name>`.
        service_account: String,
    },
    /// No tenant anywhere.
    #[error(
        "missing tenantID in store config: set the store's tenantId, annotate ServiceAccount {service_account} with {}, or give the controller {}",
        names::TENANT_ID_ANNOTATION,
        names::TENANT_ID_ENV
    )]
    MissingTenantId {
        /// `<namespace>/<name>`.
        service_account: String,
    },
    /// The store and the ServiceAccount name different tenants.
    #[error(
        "multiple tenantID found: the store says {store} and ServiceAccount {service_account}'s {} says {annotation}; keep one",
        names::TENANT_ID_ANNOTATION
    )]
    ConflictingTenants {
        /// `<namespace>/<name>`.
        service_account: String,
        /// The store's tenantId.
        store: String,
        /// The annotation's.
        annotation: String,
    },
    /// A client or tenant id that is not a GUID (or a tenant name).
    #[error("{what}: {reason}")]
    InvalidId {
        /// Where the value came from.
        what: String,
        /// Why it is not usable.
        reason: String,
    },
    /// A `dataFrom[].rewrite` operation failed (ESO's texts).
    #[error("error applying rewrite to keys: failed rewrite operation[{index}]: {reason}")]
    Rewrite {
        /// Which operation, from 0.
        index: usize,
        /// Why.
        reason: String,
    },
    /// `conversionStrategy` made two keys one.
    #[error(
        "error applying conversion strategy {strategy} to keys: secret name collision during conversion: {key}"
    )]
    KeyConversion {
        /// `Default` or `Unicode`.
        strategy: String,
        /// The key both became.
        key: String,
    },
    /// A key a Secret cannot hold (ESO's text and tip).
    #[error("invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): {0}")]
    InvalidKeys(String),
}
