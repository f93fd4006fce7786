//! Secret delivery that depends on workload identity tokens the pod itself
//! does not hold:
//!
//! - the Secrets Store CSI driver only hands providers a token when its
//!   `CSIDriver` object lists the audience in `tokenRequests`; the Azure
//!   provider needs it for every `SecretProviderClass` with a `clientID`;
//! - External Secrets ignores `serviceAccountRef.namespace` in a namespaced
//!   `SecretStore` (only a `ClusterSecretStore` honours it), so the token is
//!   requested for a ServiceAccount in the store's own namespace.

use azure_wi_core::names::DEFAULT_AUDIENCE;
use serde::Serialize;

use super::{Area, Finding, Severity, subject};

/// The name of the Secrets Store CSI driver's `CSIDriver` object.
pub const CSI_DRIVER_NAME: &str = "secrets-store.csi.k8s.io";

/// The CSI driver and the classes that use it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CsiFacts {
    /// The audiences of the `CSIDriver`'s `tokenRequests`; `None` when the
    /// object does not exist (or was not read).
    pub driver_audiences: Option<Vec<String>>,
    /// SecretProviderClasses in scope.
    pub classes: Vec<ProviderClass>,
}

/// A `SecretProviderClass`, reduced to what the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderClass {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `spec.provider`.
    pub provider: String,
    /// `spec.parameters.clientID`, when set and not empty.
    pub client_id: Option<String>,
}

/// A `SecretStore` or `ClusterSecretStore` of External Secrets, reduced to
/// its azurekv workload identity settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretStore {
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: String,
    /// Its namespace (empty for a ClusterSecretStore).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether `spec.provider.azurekv.authType` is `WorkloadIdentity`.
    pub workload_identity: bool,
    /// `serviceAccountRef.name`, if set.
    pub service_account: Option<String>,
    /// `serviceAccountRef.namespace`, if set.
    pub service_account_namespace: Option<String>,
}

/// The CSI findings.
#[must_use]
pub fn check_csi(facts: &CsiFacts) -> Vec<Finding> {
    let users: Vec<String> = facts
        .classes
        .iter()
        .filter(|c| c.provider == "azure" && c.client_id.is_some())
        .map(|c| subject("SecretProviderClass", &c.namespace, &c.name))
        .collect();
    if users.is_empty() {
        return Vec::new();
    }
    let who = subject("CSIDriver", "", CSI_DRIVER_NAME);
    let used_by = format!(
        "workload identity (clientID set, provider azure) is used by {}",
        users.join(", ")
    );
    match &facts.driver_audiences {
        Some(audiences) if audiences.iter().any(|a| a == DEFAULT_AUDIENCE) => Vec::new(),
        Some(audiences) => vec![
            Finding::new(
                Severity::Error,
                Area::Delivery,
                "csi-no-token-requests",
                who,
                format!("the CSI driver does not request tokens for {DEFAULT_AUDIENCE}, so the Azure provider fails with \"service account tokens not found\""),
            )
            .evidence(format!("spec.tokenRequests audiences: {audiences:?}"))
            .evidence(used_by)
            .fix(format!(
                "add {{audience: {DEFAULT_AUDIENCE}}} to the CSIDriver's spec.tokenRequests (Helm: --set tokenRequests[0].audience={DEFAULT_AUDIENCE}); if the API server refuses the change, delete and recreate the CSIDriver"
            )),
        ],
        None => vec![
            Finding::new(
                Severity::Warning,
                Area::Delivery,
                "csi-driver-missing",
                who,
                "SecretProviderClasses exist but the Secrets Store CSI driver is not installed",
            )
            .evidence(used_by)
            .fix(format!(
                "install the Secrets Store CSI driver with tokenRequests for {DEFAULT_AUDIENCE}"
            )),
        ],
    }
}

/// The External Secrets findings.
#[must_use]
pub fn check_secret_stores(stores: &[SecretStore]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for store in stores.iter().filter(|s| s.workload_identity) {
        let who = subject(&store.kind, &store.namespace, &store.name);
        let Some(account) = &store.service_account else {
            continue;
        };
        match (store.kind.as_str(), &store.service_account_namespace) {
            ("SecretStore", Some(namespace)) if *namespace != store.namespace => findings.push(
                Finding::new(
                    Severity::Warning,
                    Area::Delivery,
                    "secret-store-namespace-ignored",
                    &who,
                    "serviceAccountRef.namespace is ignored in a namespaced SecretStore: the token is requested for the ServiceAccount of that name in the store's own namespace",
                )
                .evidence(format!(
                    "serviceAccountRef {{name: {account}, namespace: {namespace}}}; the ServiceAccount used is {}/{account}",
                    store.namespace
                ))
                .fix(format!(
                    "remove serviceAccountRef.namespace and create ServiceAccount {account} (annotated with its client id) in namespace {}, with its own federated credential; or use a ClusterSecretStore",
                    store.namespace
                )),
            ),
            ("ClusterSecretStore", None) => findings.push(
                Finding::new(
                    Severity::Info,
                    Area::Delivery,
                    "cluster-secret-store-referent",
                    &who,
                    format!(
                        "serviceAccountRef has no namespace: ServiceAccount {account} is looked up in each ExternalSecret's namespace, and each needs its own federated credential"
                    ),
                )
                .fix("set serviceAccountRef.namespace if one ServiceAccount should serve every namespace"),
            ),
            _ => {}
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(client_id: Option<&str>) -> ProviderClass {
        ProviderClass {
            namespace: "robot-shop".to_owned(),
            name: "azure-keyvault-provider".to_owned(),
            provider: "azure".to_owned(),
            client_id: client_id.map(str::to_owned),
        }
    }

    fn csi(audiences: Option<&[&str]>, client_id: Option<&str>) -> CsiFacts {
        CsiFacts {
            driver_audiences: audiences.map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
            classes: vec![class(client_id)],
        }
    }

    fn store(kind: &str, namespace: Option<&str>) -> SecretStore {
        SecretStore {
            kind: kind.to_owned(),
            namespace: if kind == "SecretStore" { "app" } else { "" }.to_owned(),
            name: "azure-kv".to_owned(),
            workload_identity: true,
            service_account: Some("external-secrets".to_owned()),
            service_account_namespace: namespace.map(str::to_owned),
        }
    }

    #[test]
    fn a_driver_requesting_the_audience_has_no_findings() {
        assert!(check_csi(&csi(Some(&[DEFAULT_AUDIENCE]), Some("c"))).is_empty());
    }

    #[test]
    fn a_driver_without_the_audience_is_an_error_only_when_a_class_uses_client_id() {
        let findings = check_csi(&csi(Some(&[]), Some("c")));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "csi-no-token-requests");
        assert!(
            findings[0].evidence[1]
                .contains("SecretProviderClass robot-shop/azure-keyvault-provider")
        );
        assert!(check_csi(&csi(Some(&[]), None)).is_empty());
        let mut other = csi(Some(&[]), Some("c"));
        other.classes[0].provider = "vault".to_owned();
        assert!(check_csi(&other).is_empty());
    }

    #[test]
    fn classes_without_a_driver_are_a_warning() {
        assert_eq!(
            check_csi(&csi(None, Some("c")))[0].rule,
            "csi-driver-missing"
        );
    }

    #[test]
    fn a_namespace_in_a_secret_stores_account_ref_is_ignored() {
        let findings = check_secret_stores(&[store("SecretStore", Some("external-secrets"))]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "secret-store-namespace-ignored");
        assert!(check_secret_stores(&[store("SecretStore", None)]).is_empty());
        assert!(check_secret_stores(&[store("SecretStore", Some("app"))]).is_empty());
        assert!(
            check_secret_stores(&[store("ClusterSecretStore", Some("external-secrets"))])
                .is_empty()
        );
        let mut not_wi = store("SecretStore", Some("external-secrets"));
        not_wi.workload_identity = false;
        assert!(check_secret_stores(&[not_wi]).is_empty());
    }

    #[test]
    fn a_referent_cluster_secret_store_is_info() {
        let findings = check_secret_stores(&[store("ClusterSecretStore", None)]);
        assert_eq!(findings[0].severity, Severity::Info);
    }
}
