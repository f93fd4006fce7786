//! Secret delivery that depends on workload identity tokens the pod itself
//! does not hold:
//!
//! - the Secrets Store CSI driver only hands providers a token when its
//!   `CSIDriver` object lists the audience in `tokenRequests`; the Azure
//!   provider needs it for every `SecretProviderClass` with a `clientID`;
//! - External Secrets ignores `serviceAccountRef.namespace` in a namespaced
//!   `SecretStore` (only a `ClusterSecretStore` honours it), so the token is
//!   requested for a ServiceAccount in the store's own namespace;
//! - the driver hands each mount to a provider by name: an azure
//!   `SecretProviderClass` needs an Azure provider DaemonSet (ours,
//!   `azure-wi-csi-provider`, or Microsoft's) with a ready pod on the node.

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
    /// The Azure provider DaemonSets found in any namespace; `None` when
    /// they could not be listed.
    pub providers: Option<Vec<ProviderDaemonSet>>,
}

/// The name (and `app.kubernetes.io/name` label) of this project's CSI
/// provider DaemonSet.
pub const OUR_PROVIDER: &str = "azure-wi-csi-provider";

/// How Microsoft's Azure provider DaemonSet is named: the Helm chart's
/// `csi-secrets-store-provider-azure` (prefixed by a release name that does
/// not contain it) and the AKS add-on's `aks-secrets-store-provider-azure`.
pub const MICROSOFT_PROVIDER_SUFFIX: &str = "secrets-store-provider-azure";

/// An Azure provider DaemonSet (this project's or Microsoft's), reduced to
/// its rollout status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderDaemonSet {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `status.desiredNumberScheduled`.
    pub desired: i32,
    /// `status.numberReady`.
    pub ready: i32,
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

/// The Azure provider findings: a provider DaemonSet with fewer ready pods
/// than nodes it should run on (mounts on those nodes fail; none ready is
/// an error), and azure SecretProviderClasses with no Azure provider at all.
#[must_use]
pub fn check_csi_providers(facts: &CsiFacts) -> Vec<Finding> {
    let Some(providers) = &facts.providers else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for p in providers.iter().filter(|p| p.ready < p.desired) {
        let (severity, summary) = if p.ready <= 0 {
            (
                Severity::Error,
                "no pod of the Azure CSI provider is ready: every Key Vault mount fails",
            )
        } else {
            (
                Severity::Warning,
                "some pods of the Azure CSI provider are not ready: Key Vault mounts on their nodes fail",
            )
        };
        let ns = &p.namespace;
        let name = &p.name;
        findings.push(
            Finding::new(
                severity,
                Area::Delivery,
                "csi-provider-not-ready",
                subject("DaemonSet", ns, name),
                summary,
            )
            .evidence(format!(
                "{} of {} desired pods ready (status.numberReady/desiredNumberScheduled) in namespace {ns}",
                p.ready, p.desired
            ))
            .fix(format!(
                "kubectl -n {ns} describe daemonset {name}; kubectl -n {ns} logs ds/{name}"
            )),
        );
    }
    let azure: Vec<String> = facts
        .classes
        .iter()
        .filter(|c| c.provider == "azure")
        .map(|c| subject("SecretProviderClass", &c.namespace, &c.name))
        .collect();
    if providers.is_empty() && !azure.is_empty() {
        findings.push(
            Finding::new(
                Severity::Warning,
                Area::Delivery,
                "csi-provider-missing",
                subject("DaemonSet", "", OUR_PROVIDER),
                "SecretProviderClasses name provider azure but no Azure CSI provider runs: their mounts fail with \"provider not found\"",
            )
            .evidence(format!("provider azure is used by {}", azure.join(", ")))
            .evidence(format!(
                "no DaemonSet {OUR_PROVIDER} (or labelled app.kubernetes.io/name={OUR_PROVIDER}) nor *{MICROSOFT_PROVIDER_SUFFIX} in any namespace"
            ))
            .fix(format!(
                "install the provider (deploy/components/csi-provider: DaemonSet {OUR_PROVIDER}, usually in kube-system) where the Secrets Store CSI driver runs"
            )),
        );
    }
    findings
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
            providers: None,
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

    fn provider(desired: i32, ready: i32) -> ProviderDaemonSet {
        ProviderDaemonSet {
            namespace: "kube-system".to_owned(),
            name: OUR_PROVIDER.to_owned(),
            desired,
            ready,
        }
    }

    fn with_providers(providers: Option<Vec<ProviderDaemonSet>>) -> CsiFacts {
        CsiFacts {
            providers,
            ..csi(Some(&[DEFAULT_AUDIENCE]), None)
        }
    }

    #[test]
    fn a_provider_with_fewer_ready_pods_than_desired_is_found_with_its_fix() {
        let findings = check_csi_providers(&with_providers(Some(vec![provider(1, 0)])));
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity),
            ("csi-provider-not-ready", Severity::Error)
        );
        assert_eq!(f.subject, "DaemonSet kube-system/azure-wi-csi-provider");
        assert!(
            f.evidence[0].starts_with("0 of 1 desired pods ready"),
            "{f:?}"
        );
        assert!(f.evidence[0].ends_with("in namespace kube-system"), "{f:?}");
        assert!(
            f.fix
                .contains("kubectl -n kube-system describe daemonset azure-wi-csi-provider")
                && f.fix
                    .contains("kubectl -n kube-system logs ds/azure-wi-csi-provider"),
            "{f:?}"
        );
        let partial = check_csi_providers(&with_providers(Some(vec![provider(3, 2)])));
        assert_eq!(partial[0].severity, Severity::Warning);
    }

    #[test]
    fn a_ready_provider_or_none_read_has_no_findings() {
        assert!(check_csi_providers(&with_providers(Some(vec![provider(2, 2)]))).is_empty());
        // Not scheduled anywhere yet (or no status): nothing to say.
        assert!(check_csi_providers(&with_providers(Some(vec![provider(0, 0)]))).is_empty());
        assert!(check_csi_providers(&with_providers(None)).is_empty());
    }

    #[test]
    fn azure_classes_without_any_provider_are_found() {
        let findings = check_csi_providers(&with_providers(Some(Vec::new())));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "csi-provider-missing");
        assert!(findings[0].summary.contains("provider not found"));
        assert!(
            findings[0].evidence[0]
                .contains("SecretProviderClass robot-shop/azure-keyvault-provider")
        );
        // Microsoft's provider serves them as well.
        let mut microsoft = provider(1, 1);
        microsoft.name = "csi-secrets-store-provider-azure".to_owned();
        assert!(check_csi_providers(&with_providers(Some(vec![microsoft]))).is_empty());
        // No azure class: no provider needed.
        let mut other = with_providers(Some(Vec::new()));
        other.classes[0].provider = "vault".to_owned();
        assert!(check_csi_providers(&other).is_empty());
        other.classes.clear();
        assert!(check_csi_providers(&other).is_empty());
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
