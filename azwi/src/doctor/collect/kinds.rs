//! Workloads, pods and ServiceAccounts, reduced to what the rules read.

use azure_wi_core::names::{
    CLIENT_ID_ANNOTATION, CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV, TENANT_ID_ANNOTATION, USE_LABEL,
};
use k8s_openapi::{
    api::{
        apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
        batch::v1::{CronJob, Job},
        core::v1::{Pod as KubePod, PodTemplateSpec, ServiceAccount as KubeServiceAccount},
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{Client, api::ListParams};

use super::{Namespaces, namespaced, note_for};
use crate::doctor::{
    Area, Note,
    workloads::{Container, EnvValue, Pod, ServiceAccount, Workload},
};

/// Lists one workload kind and reduces each object with `reduce`.
async fn list_kind<K, F>(
    client: &Client,
    namespaces: &Namespaces,
    resource: &str,
    notes: &mut Vec<Note>,
    reduce: F,
) -> Vec<Workload>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
    F: Fn(&K) -> Workload,
{
    match namespaced::<K>(client, namespaces)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => list.items.iter().map(reduce).collect(),
        Err(e) => {
            notes.push(note_for(Area::Workloads, "list", resource, &e));
            Vec::new()
        }
    }
}

pub(super) async fn read_workloads(
    client: &Client,
    namespaces: &Namespaces,
    notes: &mut Vec<Note>,
) -> Vec<Workload> {
    let t = "spec.template";
    let mut all = Vec::new();
    all.extend(
        list_kind::<Deployment, _>(client, namespaces, "deployments", notes, |o| {
            workload(
                "Deployment",
                &o.metadata,
                o.spec.as_ref().map(|s| &s.template),
                t,
            )
        })
        .await,
    );
    all.extend(
        list_kind::<StatefulSet, _>(client, namespaces, "statefulsets", notes, |o| {
            workload(
                "StatefulSet",
                &o.metadata,
                o.spec.as_ref().map(|s| &s.template),
                t,
            )
        })
        .await,
    );
    all.extend(
        list_kind::<DaemonSet, _>(client, namespaces, "daemonsets", notes, |o| {
            workload(
                "DaemonSet",
                &o.metadata,
                o.spec.as_ref().map(|s| &s.template),
                t,
            )
        })
        .await,
    );
    all.extend(
        list_kind::<ReplicaSet, _>(client, namespaces, "replicasets", notes, |o| {
            workload(
                "ReplicaSet",
                &o.metadata,
                o.spec.as_ref().and_then(|s| s.template.as_ref()),
                t,
            )
        })
        .await,
    );
    all.extend(
        list_kind::<Job, _>(client, namespaces, "jobs", notes, |o| {
            workload("Job", &o.metadata, o.spec.as_ref().map(|s| &s.template), t)
        })
        .await,
    );
    all.extend(
        list_kind::<CronJob, _>(client, namespaces, "cronjobs", notes, |o| {
            workload(
                "CronJob",
                &o.metadata,
                o.spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template),
                "spec.jobTemplate.spec.template",
            )
        })
        .await,
    );
    all
}

pub(super) fn is_labelled(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(USE_LABEL))
        .is_some_and(|v| v == "true")
}

fn workload(
    kind: &str,
    meta: &ObjectMeta,
    template: Option<&PodTemplateSpec>,
    path: &str,
) -> Workload {
    let spec = template.and_then(|t| t.spec.as_ref());
    Workload {
        kind: kind.to_owned(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
        labelled_self: is_labelled(meta),
        labelled_template: template
            .and_then(|t| t.metadata.as_ref())
            .is_some_and(is_labelled),
        service_account: service_account_name(
            spec.and_then(|s| s.service_account_name.as_deref()),
            spec.and_then(|s| s.service_account.as_deref()),
        ),
        template_path: path.to_owned(),
    }
}

fn service_account_name(name: Option<&str>, deprecated: Option<&str>) -> String {
    [name, deprecated]
        .into_iter()
        .flatten()
        .find(|n| !n.is_empty())
        .unwrap_or("default")
        .to_owned()
}

pub(super) fn pod(pod: &KubePod) -> Pod {
    let spec = pod.spec.as_ref();
    let containers = spec
        .into_iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .map(|c| {
            let env = c.env.as_deref().unwrap_or_default();
            Container {
                name: c.name.clone(),
                has_token_file_env: env.iter().any(|e| e.name == FEDERATED_TOKEN_FILE_ENV),
                client_id_env: env.iter().find(|e| e.name == CLIENT_ID_ENV).map(|e| {
                    match (&e.value, &e.value_from) {
                        (_, Some(_)) => EnvValue::ValueFrom,
                        (value, None) => EnvValue::Value(value.clone().unwrap_or_default()),
                    }
                }),
            }
        })
        .collect();
    Pod {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        labelled: is_labelled(&pod.metadata),
        service_account: service_account_name(
            spec.and_then(|s| s.service_account_name.as_deref()),
            spec.and_then(|s| s.service_account.as_deref()),
        ),
        automount_disabled: spec.and_then(|s| s.automount_service_account_token) == Some(false),
        containers,
    }
}

pub(super) fn service_account(sa: &KubeServiceAccount) -> ServiceAccount {
    let annotation = |key| {
        sa.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .cloned()
    };
    ServiceAccount {
        namespace: sa.metadata.namespace.clone().unwrap_or_default(),
        name: sa.metadata.name.clone().unwrap_or_default(),
        client_id: annotation(CLIENT_ID_ANNOTATION),
        tenant_id: annotation(TENANT_ID_ANNOTATION).filter(|t| !t.is_empty()),
    }
}
