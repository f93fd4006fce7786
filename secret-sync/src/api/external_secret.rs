//! `ExternalSecret`: which remote values become which keys of which
//! Kubernetes Secret, and how often.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, Unsupported};

/// ESO's `ExternalSecretSpec`, the fields Azure Key Vault users write.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ExternalSecret",
    namespaced,
    status = "ExternalSecretStatus",
    shortname = "es",
    category = "external-secrets",
    printcolumn = r#"{"name":"StoreType","type":"string","jsonPath":".spec.secretStoreRef.kind"}"#,
    printcolumn = r#"{"name":"Store","type":"string","jsonPath":".spec.secretStoreRef.name"}"#,
    printcolumn = r#"{"name":"Refresh Interval","type":"string","jsonPath":".spec.refreshInterval"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Last Sync","type":"date","jsonPath":".status.refreshTime"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// The store to read from.
    pub secret_store_ref: SecretStoreRef,
    /// How often to read again: a Go duration (`30s`, `1h`, `1h0m0s`);
    /// `0` reads once. Default one hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    /// The Secret to write.
    #[serde(default)]
    pub target: Target,
    /// Single remote values, each to one key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ExternalSecretData>,
    /// Many keys at once: `extract` (a JSON object's fields) or `find`
    /// (secrets by name pattern and tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_from: Vec<DataFrom>,
    /// When the values are read again: `Periodic` (the default, every
    /// `refreshInterval`), `CreatedOnce` (once; again only if the Secret
    /// goes or is edited), `OnChange` (when the ExternalSecret changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<RefreshPolicy>,
    /// Fields this controller does not serve (`syncWindows`, ...).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `secretStoreRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreRef {
    /// The store's name.
    pub name: String,
    /// `SecretStore` (default) or `ClusterSecretStore`.
    #[serde(default)]
    pub kind: StoreKind,
}

/// `secretStoreRef.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum StoreKind {
    /// In the ExternalSecret's namespace.
    #[default]
    SecretStore,
    /// Cluster-wide.
    ClusterSecretStore,
}

/// `target`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// The Secret's name; default the ExternalSecret's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Who owns the Secret.
    #[serde(default)]
    pub creation_policy: CreationPolicy,
    /// What happens to the Secret when the remote values are gone.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// The Secret's type and metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TargetTemplate>,
    /// Fields this controller does not serve (`manifest`, `immutable`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `spec.refreshPolicy`, ESO's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum RefreshPolicy {
    /// Read once; again only if the Secret is missing or not what was
    /// written.
    CreatedOnce,
    /// Read every `refreshInterval` and when the ExternalSecret changes.
    #[default]
    Periodic,
    /// Read when the ExternalSecret (spec, labels, annotations) changes.
    OnChange,
}

/// `target.creationPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum CreationPolicy {
    /// Created and owned (garbage-collected with the ExternalSecret).
    #[default]
    Owner,
    /// Created, not owned.
    Orphan,
    /// Only keys merged into an existing Secret.
    Merge,
    /// No Secret written.
    None,
}

/// `target.deletionPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum DeletionPolicy {
    /// Keep the Secret as it was.
    #[default]
    Retain,
    /// Delete the Secret (or its keys).
    Delete,
    /// Remove the keys, keep the Secret.
    Merge,
}

/// `target.template`: how the Secret is built from what was read
/// (ESO's `ExternalSecretTemplate`, engine v2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetTemplate {
    /// The Secret's `type` (default `Opaque`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// `v2` (ESO's default and only engine today); `v1` is refused by a
    /// condition naming it, not by the API server, so a manifest written
    /// for an old ESO says what to change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<EngineVersion>,
    /// Labels, annotations (both rendered as templates) and finalizers of
    /// the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TargetMetadata>,
    /// `Replace` (the default): the Secret holds only what the templates
    /// make; `Merge`: the values read too, templates winning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_policy: Option<MergePolicy>,
    /// Secret keys and their templates (these win over `templateFrom`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Templates kept elsewhere: a ConfigMap's or Secret's keys, or a
    /// literal, rendered in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_from: Vec<TemplateFrom>,
    /// Fields this controller does not serve.
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `target.template.engineVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum EngineVersion {
    /// The first engine, removed from ESO; refused with a condition.
    #[serde(rename = "v1")]
    V1,
    /// Go templates with Sprig's and ESO's functions.
    #[default]
    #[serde(rename = "v2")]
    V2,
}

/// `target.template.mergePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum MergePolicy {
    /// Only the rendered keys.
    #[default]
    Replace,
    /// The keys read, then the rendered keys over them.
    Merge,
}

/// One `target.template.templateFrom` entry: exactly one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Keys of a ConfigMap in the ExternalSecret's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Keys of a Secret in the ExternalSecret's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// Where the result goes: `Data` (the default), `Annotations` or
    /// `Labels` (matched case-insensitively, as ESO does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A template rendering YAML of keys and values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// How each rendered value is decoded before it is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_decoding_strategy: Option<DecodingStrategy>,
}

/// `templateFrom[].configMap`/`.secret`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRef {
    /// The ConfigMap's or Secret's name.
    pub name: String,
    /// Which of its keys are templates.
    pub items: Vec<TemplateRefItem>,
}

/// One key of a [`TemplateRef`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// The key.
    pub key: String,
    /// `Values` (the default: the key's value is one template, stored
    /// under the same key) or `KeysAndValues` (it renders YAML of keys and
    /// values).
    #[serde(default)]
    pub template_as: TemplateScope,
}

/// `templateAs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum TemplateScope {
    /// One template per key.
    #[default]
    Values,
    /// One template whose output is YAML of keys and values.
    KeysAndValues,
}

/// `target.template.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TargetMetadata {
    /// Labels added to the Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to the Secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Finalizers added to the Secret (ESO adds them while the Secret is
    /// not being deleted, and never removes one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// One `data` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// The key in the Secret.
    #[schemars(regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub secret_key: String,
    /// The remote value.
    pub remote_ref: RemoteRef,
    /// Fields this controller does not serve (`sourceRef`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `remoteRef` (and `dataFrom[].extract`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRef {
    /// `<name>`, `secret/<name>`, `cert/<name>` or `key/<name>`.
    pub key: String,
    /// A Key Vault version; empty for the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A path into the JSON value (gjson syntax: `a.b`, `a\.b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// How the value is decoded before it is stored.
    #[serde(default)]
    pub decoding_strategy: DecodingStrategy,
    /// Whether the object's value is read or its metadata (tags).
    #[serde(default)]
    pub metadata_policy: MetadataPolicy,
    /// `extract`: what happens to characters a Secret key may not hold
    /// (`data` ignores it, as ESO does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Fields this controller does not serve (`nullBytePolicy`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `remoteRef.metadataPolicy`, ESO's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum MetadataPolicy {
    /// The object's value.
    #[default]
    None,
    /// The object's tags instead of its value (with `attribute.expires`,
    /// `attribute.created`, `attribute.updated` and `attribute.notBefore`
    /// among them, as ESO's azurekv provider gives them): one tag by
    /// `property`, or all of them as a JSON object.
    Fetch,
}

/// `decodingStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum DecodingStrategy {
    /// The value as it is.
    #[default]
    None,
    /// Standard base64, padded.
    Base64,
    /// URL-safe base64.
    Base64URL,
    /// Base64 or base64url when the value decodes as one, else as it is.
    Auto,
}

/// One `dataFrom` entry: exactly one of `extract` and `find`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct DataFrom {
    /// A secret holding a JSON object, each field a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<RemoteRef>,
    /// Every enabled secret whose name and tags match, each a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<FindSpec>,
    /// The keys rewritten, operation after operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<Rewrite>,
    /// Fields this controller does not serve (`sourceRef`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `dataFrom[].rewrite[]`: one operation on the keys (exactly one of its
/// fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct Rewrite {
    /// The values (JSON objects) merged into keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<RewriteMerge>,
    /// Each key replaced as Go's `regexp.ReplaceAllString` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Each key replaced by a template's output (`.value` is the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
    /// Fields this controller does not serve.
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `rewrite[].regexp`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RewriteRegexp {
    /// The expression (RE2 syntax).
    pub source: String,
    /// The replacement: `$1`, `${name}` expand groups, `$$` is a `$`.
    pub target: String,
}

/// `rewrite[].transform`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RewriteTransform {
    /// A Go template; `.value` is the key, its output the new key.
    pub template: String,
}

/// `rewrite[].merge`: each value read as a JSON object, merged in key
/// order (the `priority` keys last, in their order, so they win).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct RewriteMerge {
    /// The key that holds the merged JSON (`strategy: JSON` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<String>,
    /// Keys merged last, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<String>,
    /// `Strict` (the default: a `priority` key not read is an error) or
    /// `IgnoreNotFound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_policy: Option<MergePriorityPolicy>,
    /// `Error` (the default: a field in two values is an error) or
    /// `Ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_policy: Option<MergeConflictPolicy>,
    /// `Extract` (the default: each merged field a key) or `JSON` (the
    /// merged object under `into`, beside the keys read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<MergeStrategy>,
}

/// `merge.priorityPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum MergePriorityPolicy {
    /// A missing priority key is an error.
    #[default]
    Strict,
    /// A missing priority key is skipped.
    IgnoreNotFound,
}

/// `merge.conflictPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum MergeConflictPolicy {
    /// A field in two values is an error.
    #[default]
    Error,
    /// The later value wins.
    Ignore,
}

/// `merge.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum MergeStrategy {
    /// Each merged field a key.
    #[default]
    Extract,
    /// The merged object as JSON under `into`.
    #[serde(rename = "JSON")]
    Json,
}

/// `conversionStrategy` of `extract` and `find`: what happens to a
/// character a Secret key may not hold when no `rewrite` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub enum ConversionStrategy {
    /// Replaced by `_`.
    #[default]
    Default,
    /// Replaced by `_U<hex>_`.
    Unicode,
}

/// `dataFrom[].find`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FindSpec {
    /// The name pattern (`name: {}` matches every secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FindName>,
    /// Tags a secret must all carry with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// How each value is decoded.
    #[serde(default)]
    pub decoding_strategy: DecodingStrategy,
    /// What happens to characters a Secret key may not hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<ConversionStrategy>,
    /// Fields this controller does not serve (`path` is ignored by
    /// azurekv, `nullBytePolicy`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `find.name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FindName {
    /// A regular expression matched anywhere in the name (unanchored, as
    /// Go's `regexp.MatchString`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// An ExternalSecret's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatus {
    /// When the last fetch started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_time: Option<String>,
    /// `<generation>-<hash of labels and annotations>` of the synced spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// The Secret written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
    /// `Ready` with `SecretSynced`, `SecretSyncedError`, `SecretDeleted`,
    /// `SecretMissing`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// `status.binding`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct Binding {
    /// The Secret's name.
    pub name: String,
}
