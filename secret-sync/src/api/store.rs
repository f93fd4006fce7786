//! `SecretStore` and `ClusterSecretStore`: where secrets come from and as
//! which identity.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Condition, Unsupported};

/// The spec both store kinds share (ESO's `SecretStoreSpec`).
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "SecretStore",
    namespaced,
    status = "SecretStoreStatus",
    shortname = "ss",
    category = "external-secrets",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// Which controller class serves this store; empty for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// Exactly one provider; this controller serves `azurekv`.
    pub provider: StoreProvider,
    /// Seconds between store validations (ESO's default 5 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<i64>,
    /// ClusterSecretStore only: which namespaces may use the store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ClusterStoreCondition>,
    /// Fields this controller does not serve (`retrySettings`, ...).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// A cluster-wide store: the same spec, honouring
/// `serviceAccountRef.namespace` and `conditions`.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ClusterSecretStore",
    status = "SecretStoreStatus",
    shortname = "css",
    category = "external-secrets",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreSpec {
    /// The shared store spec.
    #[serde(flatten)]
    pub store: SecretStoreSpec,
}

/// The provider block: `azurekv`, or another provider's key kept so it can
/// be reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct StoreProvider {
    /// Azure Key Vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azurekv: Option<AzureKvProvider>,
    /// Any other provider (`aws`, `vault`, ...): not served here.
    #[serde(flatten)]
    pub other: Unsupported,
}

/// `spec.provider.azurekv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AzureKvProvider {
    /// How to authenticate; only `WorkloadIdentity` is served.
    #[serde(default)]
    pub auth_type: AuthType,
    /// `https://<name>.vault.azure.net` (a trailing slash is fine).
    pub vault_url: String,
    /// The identity's tenant; else the ServiceAccount's annotation or the
    /// controller's `AZURE_TENANT_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Which Azure cloud.
    #[serde(default)]
    pub environment_type: AzureEnvironment,
    /// The ServiceAccount whose token is exchanged; without it, the
    /// controller's own workload identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// The identity's client id (and tenant) from a Kubernetes Secret
    /// instead of the ServiceAccount's annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_ref: Option<AuthSecretRef>,
    /// Fields this controller does not serve (`identityId`, `useAzureSDK`,
    /// `customCloudConfig`).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// `authSecretRef`, as workload identity reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct AuthSecretRef {
    /// The key holding the client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<SecretKeySelector>,
    /// The key holding the tenant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<SecretKeySelector>,
    /// Fields this controller does not serve (`clientSecret`,
    /// `clientCertificate`: service principal credentials).
    #[serde(flatten)]
    pub unsupported: Unsupported,
}

/// A key of a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// The Secret.
    pub name: String,
    /// The key in its data.
    pub key: String,
    /// Its namespace: honoured for a ClusterSecretStore only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `authType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum AuthType {
    /// A client secret or certificate (ESO's default): not served.
    #[default]
    ServicePrincipal,
    /// A VM or pod managed identity: not served.
    ManagedIdentity,
    /// A federated ServiceAccount token: what this controller does.
    WorkloadIdentity,
}

/// `environmentType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum AzureEnvironment {
    /// Azure public cloud.
    #[default]
    PublicCloud,
    /// Azure US Government.
    USGovernmentCloud,
    /// Azure China (21Vianet).
    ChinaCloud,
    /// The retired Azure Germany.
    GermanCloud,
    /// Azure Stack: needs `customCloudConfig`, not served.
    AzureStackCloud,
}

/// `serviceAccountRef`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountSelector {
    /// The ServiceAccount.
    pub name: String,
    /// Its namespace: honoured for a ClusterSecretStore only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Audiences requested besides the token-exchange audience.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
}

/// One entry of a ClusterSecretStore's `conditions`: a namespace may use
/// the store when it matches any entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStoreCondition {
    /// Namespaces whose labels match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Namespaces whose name matches a regular expression.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_regexes: Vec<String>,
}

/// A label selector (`matchLabels` and `matchExpressions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Labels that must be equal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    /// The label.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A store's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreStatus {
    /// `Ready`, with reasons `Valid`, `InvalidProviderConfig`,
    /// `ValidationUnknown`, `InvalidStoreConfiguration`, `ValidationFailed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `ReadWrite` for azurekv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
}
