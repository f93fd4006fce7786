//! The slice of the External Secrets API (`external-secrets.io`) that Azure
//! Key Vault users write, as Rust types: [`SecretStore`],
//! [`ClusterSecretStore`], [`ExternalSecret`] and
//! [`ClusterExternalSecret`], served as `v1` (stored)
//! and `v1beta1` (the walkthroughs' version, same schema) by [`crd`], and
//! [`PushSecret`], served as `v1alpha1` as ESO serves it.
//!
//! Field names, defaults and enum values are ESO's
//! (external-secrets/external-secrets `apis/externalsecrets/v1`). Fields
//! ESO has and this controller does not serve are kept in each object's
//! `unsupported` map (the schema preserves them) so they are reported in a
//! condition instead of being pruned and silently ignored.

mod cluster_external_secret;
pub mod crd;
mod external_secret;
mod push_secret;
mod store;

pub use cluster_external_secret::{
    ClusterExternalSecret, ClusterExternalSecretCondition, ClusterExternalSecretSpec,
    ClusterExternalSecretStatus, ExternalSecretMetadata, NamespaceFailure,
};
pub use external_secret::{
    Binding, ConversionStrategy, CreationPolicy, DataFrom, DecodingStrategy, DeletionPolicy,
    EngineVersion, ExternalSecret, ExternalSecretData, ExternalSecretSpec, ExternalSecretStatus,
    FindName, FindSpec, MergeConflictPolicy, MergePolicy, MergePriorityPolicy, MergeStrategy,
    MetadataPolicy, RefreshPolicy, RemoteRef, Rewrite, RewriteMerge, RewriteRegexp,
    RewriteTransform, SecretStoreRef, StoreKind, Target, TargetMetadata, TargetTemplate,
    TemplateFrom, TemplateRef, TemplateRefItem, TemplateScope,
};
pub use push_secret::{
    PushConversionStrategy, PushDeletionPolicy, PushSecret, PushSecretData, PushSecretDataTo,
    PushSecretDataToMatch, PushSecretMatch, PushSecretRemoteRef, PushSecretRewrite,
    PushSecretSelector, PushSecretSource, PushSecretSpec, PushSecretStatus, PushSecretStoreRef,
    PushUpdatePolicy,
};
pub use store::{
    AuthSecretRef, AuthType, AzureEnvironment, AzureKvProvider, ClusterSecretStore,
    ClusterSecretStoreSpec, ClusterStoreCondition, LabelSelector, LabelSelectorRequirement,
    SecretKeySelector, SecretStore, SecretStoreSpec, SecretStoreStatus, ServiceAccountSelector,
    StoreProvider,
};

use std::collections::BTreeMap;

/// The API group.
pub const GROUP: &str = "external-secrets.io";

/// Fields an object carries that this controller does not serve, by name.
pub type Unsupported = BTreeMap<String, serde_json::Value>;

/// A `Ready` (or `Deleted`) condition, as ESO writes them.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready` or `Deleted`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason (`SecretSynced`, `SecretSyncedError`, `Valid`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What happened, and for a failure what to fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// The names of every unsupported field in `fields`, prefixed by `at`
/// (`spec.target.`), for a condition message.
pub(crate) fn unsupported_names(at: &str, fields: &Unsupported) -> Vec<String> {
    fields.keys().map(|k| format!("{at}{k}")).collect()
}
