//! The conditions the secret-delivery controllers report themselves.
//!
//! Our `secret-sync` controller and External Secrets Operator serve the same
//! API (`external-secrets.io`) and both set a `Ready` condition on every
//! `ExternalSecret`, `SecretStore` and `ClusterSecretStore` they reconcile.
//! Its message already says what is wrong (a vault that refused the token,
//! a key that does not exist), so a `Ready: False` is reported with its
//! reason and message verbatim. An object with no status yet (not
//! reconciled, or no controller running) says nothing.

use serde::Serialize;

use super::{Area, Finding, Severity, subject};

/// An `external-secrets.io` object and its `Ready` condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadyCondition {
    /// `ExternalSecret`, `SecretStore` or `ClusterSecretStore`.
    pub kind: String,
    /// Its namespace (empty for a ClusterSecretStore).
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `status.conditions[type=Ready]`, when the controller set one.
    pub ready: Option<Condition>,
}

/// One status condition, as the controller wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// The CamelCase reason (`SecretSyncedError`, `InvalidProviderConfig`).
    pub reason: String,
    /// The controller's message.
    pub message: String,
    /// `lastTransitionTime`, when set.
    pub since: Option<String>,
}

/// A finding for each object whose controller reports `Ready: False`.
#[must_use]
pub fn check(objects: &[ReadyCondition]) -> Vec<Finding> {
    objects
        .iter()
        .filter_map(|o| {
            let ready = o.ready.as_ref().filter(|c| c.status == "False")?;
            let (rule, summary) = if o.kind == "ExternalSecret" {
                (
                    "external-secret-not-ready",
                    "its controller reports Ready False: the target Secret is not synced (or is stale)",
                )
            } else {
                (
                    "secret-store-not-ready",
                    "its controller reports Ready False: ExternalSecrets that use this store cannot sync",
                )
            };
            let since = ready
                .since
                .as_deref()
                .map(|t| format!(" since {t}"))
                .unwrap_or_default();
            let namespace = if o.namespace.is_empty() {
                String::new()
            } else {
                format!("-n {} ", o.namespace)
            };
            Some(
                Finding::new(
                    Severity::Warning,
                    Area::Delivery,
                    rule,
                    subject(&o.kind, &o.namespace, &o.name),
                    summary,
                )
                .evidence(format!(
                    "status.conditions[Ready]: False, reason {}{since}",
                    if ready.reason.is_empty() {
                        "(none)"
                    } else {
                        &ready.reason
                    }
                ))
                .evidence(format!("message: {}", ready.message))
                .fix(format!(
                    "follow the message above; kubectl {namespace}describe {} {} shows the controller's events",
                    o.kind.to_lowercase(),
                    o.name
                )),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str =
        "could not get secret data from provider: key \"db-password\" not found in vault orders-kv";

    fn object(kind: &str, status: Option<&str>) -> ReadyCondition {
        ReadyCondition {
            kind: kind.to_owned(),
            namespace: if kind == "ClusterSecretStore" {
                ""
            } else {
                "app"
            }
            .to_owned(),
            name: "orders".to_owned(),
            ready: status.map(|s| Condition {
                status: s.to_owned(),
                reason: "SecretSyncedError".to_owned(),
                message: MESSAGE.to_owned(),
                since: Some("2026-11-30T17:00:00Z".to_owned()),
            }),
        }
    }

    #[test]
    fn a_not_ready_external_secret_quotes_the_controller_verbatim() {
        let findings = check(&[object("ExternalSecret", Some("False"))]);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity),
            ("external-secret-not-ready", Severity::Warning)
        );
        assert_eq!(f.subject, "ExternalSecret app/orders");
        assert_eq!(
            f.evidence,
            [
                "status.conditions[Ready]: False, reason SecretSyncedError since 2026-11-30T17:00:00Z"
                    .to_owned(),
                format!("message: {MESSAGE}"),
            ]
        );
        assert!(
            f.fix
                .contains("kubectl -n app describe externalsecret orders"),
            "{f:?}"
        );
    }

    #[test]
    fn not_ready_stores_are_found_and_a_cluster_store_has_no_namespace() {
        let findings = check(&[
            object("SecretStore", Some("False")),
            object("ClusterSecretStore", Some("False")),
        ]);
        assert_eq!(findings.len(), 2);
        assert!(findings.iter().all(|f| f.rule == "secret-store-not-ready"));
        assert!(
            findings[0]
                .fix
                .contains("kubectl -n app describe secretstore orders")
        );
        assert!(
            findings[1]
                .fix
                .contains("kubectl describe clustersecretstore orders")
        );
    }

    #[test]
    fn ready_unknown_and_unreconciled_objects_have_no_findings() {
        assert!(
            check(&[
                object("ExternalSecret", Some("True")),
                object("ExternalSecret", Some("Unknown")),
                object("ExternalSecret", None),
                object("SecretStore", Some("True")),
                object("ClusterSecretStore", None),
            ])
            .is_empty()
        );
    }
}
