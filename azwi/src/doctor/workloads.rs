//! Workloads and pods whose label, ServiceAccount or environment keeps them
//! from the identity they were meant to have.
//!
//! - the label on a workload's own metadata but not on its pod template,
//!   where the webhook never sees it;
//! - labelled pods without [`FEDERATED_TOKEN_FILE_ENV`]: created before the
//!   webhook, or the webhook skipped them;
//! - labelled pods and pod templates whose ServiceAccount is missing, has no
//!   client-id annotation or a value that is not a GUID (one finding per
//!   ServiceAccount, naming every user);
//! - containers that set `AZURE_CLIENT_ID` themselves, shadowing the
//!   annotation (the webhook never overwrites a variable a container sets);
//! - `automountServiceAccountToken: false`, which does not matter, said so.

use std::collections::BTreeMap;

use azure_wi_core::{
    is_guid,
    names::{CLIENT_ID_ANNOTATION, CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV, USE_LABEL},
};
use serde::Serialize;

use super::{Area, Finding, Severity, subject};

/// A Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// Its kind, e.g. `Deployment`.
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether its own `metadata.labels` has the label set to `"true"`.
    pub labelled_self: bool,
    /// Whether its pod template's labels have it.
    pub labelled_template: bool,
    /// The pod template's ServiceAccount (`default` when unset).
    pub service_account: String,
    /// The dotted path of its pod template, e.g. `spec.template`.
    pub template_path: String,
}

/// A pod, reduced to what the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pod {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether it has the label set to `"true"`.
    pub labelled: bool,
    /// Its ServiceAccount.
    pub service_account: String,
    /// Whether `automountServiceAccountToken` is `false`.
    pub automount_disabled: bool,
    /// Its containers and init containers.
    pub containers: Vec<Container>,
}

/// One container of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    /// Its name.
    pub name: String,
    /// Whether it has [`FEDERATED_TOKEN_FILE_ENV`] in `env`.
    pub has_token_file_env: bool,
    /// Its own `AZURE_CLIENT_ID`, if it sets one.
    pub client_id_env: Option<EnvValue>,
}

/// An environment variable's value as the pod spec gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnvValue {
    /// A literal `value`.
    Value(String),
    /// `valueFrom` a Secret, ConfigMap or field: not known here.
    ValueFrom,
}

/// A ServiceAccount, reduced to its client-id annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAccount {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its `client-id` annotation, if any.
    pub client_id: Option<String>,
    /// Its `tenant-id` annotation, if set and not empty (`--check-entra`
    /// exchanges in that tenant).
    pub tenant_id: Option<String>,
}

impl ServiceAccount {
    fn find<'a>(accounts: &'a [Self], namespace: &str, name: &str) -> Option<&'a Self> {
        accounts
            .iter()
            .find(|sa| sa.namespace == namespace && sa.name == name)
    }
}

/// Findings about workloads whose label sits on their own metadata only.
#[must_use]
pub fn check_workloads(workloads: &[Workload]) -> Vec<Finding> {
    workloads
        .iter()
        .filter(|w| w.labelled_self && !w.labelled_template)
        .map(|w| {
            Finding::new(
                Severity::Warning,
                Area::Workloads,
                "label-on-workload-only",
                subject(&w.kind, &w.namespace, &w.name),
                format!(
                    "the {USE_LABEL} label is on the {}'s own metadata, where nothing reads it: its pods get no token",
                    w.kind
                ),
            )
            .evidence(format!(
                "metadata.labels has {USE_LABEL}: \"true\"; {}.metadata.labels does not",
                w.template_path
            ))
            .fix(format!(
                "move the label to {}.metadata.labels (the pods are recreated with a token)",
                w.template_path
            ))
        })
        .collect()
}

/// Findings about labelled pods and the ServiceAccounts of labelled pods
/// and pod templates. `service_accounts` is `None` when they could not be
/// read, which skips the ServiceAccount rules.
#[must_use]
pub fn check_pods(
    pods: &[Pod],
    workloads: &[Workload],
    service_accounts: Option<&[ServiceAccount]>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    // ServiceAccount (namespace, name) -> who uses it with the label.
    let mut users: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for w in workloads.iter().filter(|w| w.labelled_template) {
        users
            .entry((&w.namespace, &w.service_account))
            .or_default()
            .push(subject(&w.kind, &w.namespace, &w.name));
    }
    for pod in pods.iter().filter(|p| p.labelled) {
        let who = subject("Pod", &pod.namespace, &pod.name);
        users
            .entry((&pod.namespace, &pod.service_account))
            .or_default()
            .push(who.clone());
        if !pod.containers.iter().any(|c| c.has_token_file_env) {
            findings.push(
                Finding::new(
                    Severity::Error,
                    Area::Workloads,
                    "pod-not-mutated",
                    &who,
                    "the pod is labelled but was not mutated: it has no token file and no Azure environment",
                )
                .evidence(format!(
                    "no container has {FEDERATED_TOKEN_FILE_ENV} (containers: {})",
                    pod.containers
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .fix("the pod was created before the webhook was ready, or the webhook skipped it (failurePolicy Ignore): check the webhook findings, then delete the pod so its controller recreates it"),
            );
        }
        if pod.automount_disabled {
            findings.push(
                Finding::new(
                    Severity::Info,
                    Area::Workloads,
                    "automount-disabled-harmless",
                    &who,
                    "automountServiceAccountToken: false does not matter for workload identity",
                )
                .evidence("spec.automountServiceAccountToken is false")
                .fix("nothing to do: the webhook mounts its own projected token for the Entra audience"),
            );
        }
        let annotation = service_accounts
            .and_then(|sas| ServiceAccount::find(sas, &pod.namespace, &pod.service_account))
            .and_then(|sa| sa.client_id.as_deref());
        for container in &pod.containers {
            let shadowing = match (&container.client_id_env, annotation) {
                (Some(EnvValue::Value(own)), Some(annotated)) if own != annotated => {
                    Some(format!("{CLIENT_ID_ENV}={own:?}"))
                }
                (Some(EnvValue::ValueFrom), Some(_)) => {
                    Some(format!("{CLIENT_ID_ENV} from valueFrom"))
                }
                _ => None,
            };
            if let Some(own) = shadowing {
                findings.push(
                    Finding::new(
                        Severity::Warning,
                        Area::Workloads,
                        "client-id-shadowed",
                        &who,
                        format!(
                            "container {} sets its own {CLIENT_ID_ENV}, which the webhook does not overwrite: the annotation's client id is not used",
                            container.name
                        ),
                    )
                    .evidence(format!(
                        "container {}: {own}; ServiceAccount {}/{} has {CLIENT_ID_ANNOTATION}: {:?}",
                        container.name,
                        pod.namespace,
                        pod.service_account,
                        annotation.unwrap_or_default()
                    ))
                    .fix(format!(
                        "remove {CLIENT_ID_ENV} from container {}'s env, or make the ServiceAccount annotation the id you mean",
                        container.name
                    )),
                );
            }
        }
    }
    if let Some(accounts) = service_accounts {
        for ((namespace, name), users) in users {
            findings.extend(service_account_finding(accounts, namespace, name, &users));
        }
    }
    findings
}

fn service_account_finding(
    accounts: &[ServiceAccount],
    namespace: &str,
    name: &str,
    users: &[String],
) -> Option<Finding> {
    let who = subject("ServiceAccount", namespace, name);
    let used_by = format!("used with the label by {}", users.join(", "));
    let finding = |rule, summary: String| {
        Finding::new(Severity::Error, Area::Workloads, rule, &who, summary)
            .evidence(used_by.clone())
    };
    let annotate = format!(
        "kubectl -n {namespace} annotate serviceaccount {name} --overwrite {CLIENT_ID_ANNOTATION}=<client id of the managed identity or app registration>"
    );
    match ServiceAccount::find(accounts, namespace, name) {
        None => Some(
            finding(
                "service-account-missing",
                "the ServiceAccount does not exist, so the pods cannot be created".to_owned(),
            )
            .fix(format!("kubectl -n {namespace} create serviceaccount {name}, then: {annotate}")),
        ),
        Some(sa) => match sa.client_id.as_deref() {
            None | Some("") => Some(
                finding(
                    "no-client-id",
                    format!(
                        "the ServiceAccount has no {CLIENT_ID_ANNOTATION} annotation, so its pods get no {CLIENT_ID_ENV}"
                    ),
                )
                .fix(annotate),
            ),
            Some(id) if !is_guid(id) => Some(
                finding(
                    "client-id-not-guid",
                    format!("the {CLIENT_ID_ANNOTATION} annotation is not a GUID, so Entra will not find the client"),
                )
                .evidence(format!("{CLIENT_ID_ANNOTATION}: {id:?}"))
                .fix(annotate),
            ),
            Some(_) => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "11111111-2222-3333-4444-555555555555";

    fn sa(client_id: Option<&str>) -> ServiceAccount {
        ServiceAccount {
            namespace: "team-a".to_owned(),
            name: "orders-api".to_owned(),
            client_id: client_id.map(str::to_owned),
            tenant_id: None,
        }
    }

    fn pod() -> Pod {
        Pod {
            namespace: "team-a".to_owned(),
            name: "orders-api-1".to_owned(),
            labelled: true,
            service_account: "orders-api".to_owned(),
            automount_disabled: false,
            containers: vec![Container {
                name: "app".to_owned(),
                has_token_file_env: true,
                client_id_env: Some(EnvValue::Value(ID.to_owned())),
            }],
        }
    }

    fn workload(labelled_self: bool, labelled_template: bool) -> Workload {
        Workload {
            kind: "Deployment".to_owned(),
            namespace: "team-a".to_owned(),
            name: "orders-api".to_owned(),
            labelled_self,
            labelled_template,
            service_account: "orders-api".to_owned(),
            template_path: "spec.template".to_owned(),
        }
    }

    fn rules(pods: &[Pod], workloads: &[Workload], sas: &[ServiceAccount]) -> Vec<&'static str> {
        let mut rules: Vec<_> = check_workloads(workloads)
            .into_iter()
            .chain(check_pods(pods, workloads, Some(sas)))
            .map(|f| f.rule)
            .collect();
        rules.sort_unstable();
        rules
    }

    #[test]
    fn a_mutated_pod_with_an_annotated_account_has_no_findings() {
        let none: &[&str] = &[];
        assert_eq!(
            rules(&[pod()], &[workload(true, true)], &[sa(Some(ID))]),
            none
        );
    }

    #[test]
    fn the_label_on_the_workload_only_is_a_warning() {
        let findings = check_workloads(&[workload(true, false)]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "label-on-workload-only");
        assert!(findings[0].fix.contains("spec.template.metadata.labels"));
        assert!(check_workloads(&[workload(false, true), workload(false, false)]).is_empty());
    }

    #[test]
    fn a_labelled_pod_without_the_token_env_was_not_mutated() {
        let mut unmutated = pod();
        unmutated.containers[0].has_token_file_env = false;
        assert_eq!(
            rules(&[unmutated.clone()], &[], &[sa(Some(ID))]),
            ["pod-not-mutated"]
        );
        unmutated.labelled = false;
        assert!(rules(&[unmutated], &[], &[sa(Some(ID))]).is_empty());
    }

    #[test]
    fn account_problems_are_one_finding_per_account_naming_its_users() {
        let findings = check_pods(&[pod()], &[workload(false, true)], Some(&[sa(None)]));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].rule, "no-client-id");
        assert_eq!(
            findings[0].evidence,
            ["used with the label by Deployment team-a/orders-api, Pod team-a/orders-api-1"]
        );
        // As mutated: the webhook copied the annotation into the env.
        let mut mutated = pod();
        mutated.containers[0].client_id_env = Some(EnvValue::Value("orders".to_owned()));
        assert_eq!(
            rules(&[mutated], &[], &[sa(Some("orders"))]),
            ["client-id-not-guid"]
        );
        assert_eq!(rules(&[pod()], &[], &[]), ["service-account-missing"]);
        // Unread accounts: no account rules at all.
        assert!(check_pods(&[pod()], &[], None).is_empty());
    }

    #[test]
    fn a_container_client_id_differing_from_the_annotation_shadows_it() {
        let other = "99999999-2222-3333-4444-555555555555";
        assert_eq!(
            rules(&[pod()], &[], &[sa(Some(other))]),
            ["client-id-shadowed"]
        );
        let mut from = pod();
        from.containers[0].client_id_env = Some(EnvValue::ValueFrom);
        assert_eq!(rules(&[from], &[], &[sa(Some(ID))]), ["client-id-shadowed"]);
    }

    #[test]
    fn automount_disabled_is_only_info() {
        let mut p = pod();
        p.automount_disabled = true;
        let findings = check_pods(&[p], &[], Some(&[sa(Some(ID))]));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Info);
        assert_eq!(findings[0].rule, "automount-disabled-harmless");
    }
}
