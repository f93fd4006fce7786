//! The thin shell that reads the cluster with kube-rs and fills [`Inputs`].
//!
//! Every read is on its own: one that RBAC forbids becomes a [`Note`]
//! ("could not check pods: forbidden (need list on pods)") and the other
//! checks still run; a CRD that is not installed becomes a "not installed"
//! note. Only an API server that cannot be reached at all is an error. The
//! one write is a TokenRequest, for the issuer's `kid` check and
//! `--check-entra`; the token is never printed.

use std::str::FromStr;

use azure_wi_core::names::{
    CLIENT_ID_ANNOTATION, CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV, USE_LABEL,
};
use k8s_openapi::{
    api::{
        admissionregistration::v1::MutatingWebhookConfiguration,
        apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet},
        batch::v1::{CronJob, Job},
        core::v1::{Pod as KubePod, PodTemplateSpec, ServiceAccount as KubeServiceAccount},
        storage::v1::CSIDriver,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, ListParams},
};

use super::{
    Area, Inputs, Note,
    delivery::{CSI_DRIVER_NAME, CsiFacts, ProviderClass, SecretStore},
    webhook::{Target as WebhookTarget, Webhook, WebhookConfig},
    workloads::{Container, EnvValue, Pod, ServiceAccount, Workload},
};

/// Which namespaces to look in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespaces {
    /// One namespace (`-n`, or the kubeconfig's).
    One(String),
    /// Every namespace (`-A`).
    All,
}

/// The one object to look at, `pod/NAME`, `sa/NAME` or `deploy/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A pod and its ServiceAccount.
    Pod(String),
    /// A ServiceAccount and the pods and workloads that run as it.
    ServiceAccount(String),
    /// A Deployment, its ServiceAccount and its labelled pods.
    Deployment(String),
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, name) = s
            .split_once('/')
            .filter(|(_, name)| !name.is_empty())
            .ok_or_else(|| format!("{s:?}: expected pod/NAME, sa/NAME or deploy/NAME"))?;
        match kind {
            "pod" | "pods" | "po" => Ok(Self::Pod(name.to_owned())),
            "sa" | "serviceaccount" | "serviceaccounts" => {
                Ok(Self::ServiceAccount(name.to_owned()))
            }
            "deploy" | "deployment" | "deployments" => Ok(Self::Deployment(name.to_owned())),
            other => Err(format!(
                "{s:?}: kind {other:?} is not one of pod, sa, deploy"
            )),
        }
    }
}

/// A read that did not happen: forbidden, not installed, or failed.
enum Unread {
    /// RBAC said no, or another error: a check could not run.
    Failed(Note),
    /// 404 on a collection: the CRD is not installed.
    NotInstalled,
}

/// Turns a kube error into a note for `what` (`list pods`).
fn unread(area: Area, verb: &str, resource: &str, error: &kube::Error) -> Unread {
    match error {
        kube::Error::Api(status) if status.code == 404 => Unread::NotInstalled,
        kube::Error::Api(status) if status.code == 403 => Unread::Failed(Note::could_not_check(
            area,
            format!("could not check {resource}: forbidden (need {verb} on {resource})"),
        )),
        other => Unread::Failed(Note::could_not_check(
            area,
            format!("could not check {resource}: {other}"),
        )),
    }
}

/// Reads everything the rules need, in `namespaces`, narrowed to `target`.
/// Issuer and Entra probes are done separately (see `super::probe`).
pub(crate) async fn read_cluster(
    client: &Client,
    namespaces: &Namespaces,
    target: Option<&Target>,
    inputs: &mut Inputs,
    notes: &mut Vec<Note>,
) {
    let api = |client: &Client| -> (Api<KubePod>, Api<KubeServiceAccount>) {
        match namespaces {
            Namespaces::One(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            Namespaces::All => (Api::all(client.clone()), Api::all(client.clone())),
        }
    };
    let (pods_api, accounts_api) = api(client);

    let mut workloads = read_workloads(client, namespaces, notes).await;
    let mut pods = match pods_api.list(&ListParams::default()).await {
        Ok(list) => list.items.iter().map(pod).collect(),
        Err(e) => {
            notes.push(note_for(Area::Workloads, "list", "pods", &e));
            Vec::new()
        }
    };
    narrow(target, &mut workloads, &mut pods);
    let accounts = match accounts_api.list(&ListParams::default()).await {
        Ok(list) => Some(
            list.items
                .iter()
                .map(service_account)
                .filter(|sa| in_scope(sa, target, &workloads, &pods))
                .collect(),
        ),
        Err(e) => {
            notes.push(note_for(Area::Workloads, "list", "serviceaccounts", &e));
            None
        }
    };
    inputs.workloads = workloads;
    inputs.pods = pods;
    inputs.service_accounts = accounts;
    inputs.webhooks = read_webhooks(client, notes).await;
    inputs.csi = read_csi(client, namespaces, notes).await;
    inputs.secret_stores = read_secret_stores(client, namespaces, notes).await;
}

/// The note for an unread collection: could not check, or (404) "not
/// served", which only `--verbose` and JSON show.
fn note_for(area: Area, verb: &str, resource: &str, error: &kube::Error) -> Note {
    match unread(area, verb, resource, error) {
        Unread::Failed(note) => note,
        Unread::NotInstalled => {
            Note::skipped(area, format!("{resource}: not served by this API server"))
        }
    }
}

fn namespaced<K>(client: &Client, namespaces: &Namespaces) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match namespaces {
        Namespaces::One(ns) => Api::namespaced(client.clone(), ns),
        Namespaces::All => Api::all(client.clone()),
    }
}

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

async fn read_workloads(
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

fn is_labelled(meta: &ObjectMeta) -> bool {
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

fn pod(pod: &KubePod) -> Pod {
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

fn service_account(sa: &KubeServiceAccount) -> ServiceAccount {
    ServiceAccount {
        namespace: sa.metadata.namespace.clone().unwrap_or_default(),
        name: sa.metadata.name.clone().unwrap_or_default(),
        client_id: sa
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CLIENT_ID_ANNOTATION))
            .cloned(),
    }
}

/// Keeps only the workloads and pods `target` is about.
fn narrow(target: Option<&Target>, workloads: &mut Vec<Workload>, pods: &mut Vec<Pod>) {
    match target {
        None => {}
        Some(Target::Pod(name)) => {
            workloads.clear();
            pods.retain(|p| p.name == *name);
        }
        Some(Target::ServiceAccount(name)) => {
            workloads.retain(|w| w.service_account == *name);
            pods.retain(|p| p.service_account == *name);
        }
        Some(Target::Deployment(name)) => {
            workloads.retain(|w| w.kind == "Deployment" && w.name == *name);
            let accounts: Vec<(String, String)> = workloads
                .iter()
                .map(|w| (w.namespace.clone(), w.service_account.clone()))
                .collect();
            pods.retain(|p| {
                accounts
                    .iter()
                    .any(|(ns, sa)| p.namespace == *ns && p.service_account == *sa)
            });
        }
    }
}

/// Whether a ServiceAccount is one the report is about: the target, or one
/// a labelled pod or pod template runs as, or one annotated with a client id.
fn in_scope(
    sa: &ServiceAccount,
    target: Option<&Target>,
    workloads: &[Workload],
    pods: &[Pod],
) -> bool {
    let used = workloads
        .iter()
        .filter(|w| w.labelled_template)
        .any(|w| w.namespace == sa.namespace && w.service_account == sa.name)
        || pods
            .iter()
            .filter(|p| p.labelled)
            .any(|p| p.namespace == sa.namespace && p.service_account == sa.name);
    match target {
        None => used || sa.client_id.is_some(),
        Some(Target::ServiceAccount(name)) => sa.name == *name,
        Some(_) => {
            used || workloads
                .iter()
                .any(|w| w.namespace == sa.namespace && w.service_account == sa.name)
                || pods
                    .iter()
                    .any(|p| p.namespace == sa.namespace && p.service_account == sa.name)
        }
    }
}

async fn read_webhooks(client: &Client, notes: &mut Vec<Note>) -> Option<Vec<WebhookConfig>> {
    let api = Api::<MutatingWebhookConfiguration>::all(client.clone());
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            notes.push(note_for(
                Area::Webhook,
                "list",
                "mutatingwebhookconfigurations",
                &e,
            ));
            return None;
        }
    };
    let mut configs = Vec::new();
    for config in &list {
        let mut webhooks = Vec::new();
        for w in config.webhooks.iter().flatten() {
            let mut webhook = Webhook {
                name: w.name.clone(),
                matches_pod_create: w.rules.iter().flatten().any(|r| {
                    let has = |list: Option<&Vec<String>>, want: &str| {
                        list.is_some_and(|l| l.iter().any(|v| v == want || v == "*"))
                    };
                    has(r.operations.as_ref(), "CREATE")
                        && has(r.resources.as_ref(), "pods")
                        && has(r.api_groups.as_ref(), "")
                }),
                selects_label: w.object_selector.as_ref().is_some_and(|s| {
                    s.match_labels
                        .as_ref()
                        .is_some_and(|l| l.get(USE_LABEL).is_some_and(|v| v == "true"))
                        || s.match_expressions
                            .iter()
                            .flatten()
                            .any(|e| e.key == USE_LABEL)
                }),
                has_ca_bundle: w
                    .client_config
                    .ca_bundle
                    .as_ref()
                    .is_some_and(|b| !b.0.is_empty()),
                target: match (&w.client_config.service, &w.client_config.url) {
                    (Some(s), _) => WebhookTarget::Service {
                        namespace: s.namespace.clone(),
                        name: s.name.clone(),
                        ready_endpoints: None,
                    },
                    (None, url) => WebhookTarget::Url(url.clone().unwrap_or_default()),
                },
            };
            if let WebhookTarget::Service {
                namespace,
                name,
                ready_endpoints,
            } = &mut webhook.target
                && webhook.matches_pod_create
                && webhook.selects_label
            {
                *ready_endpoints = count_ready(client, namespace, name, notes).await;
            }
            webhooks.push(webhook);
        }
        configs.push(WebhookConfig {
            name: config.metadata.name.clone().unwrap_or_default(),
            webhooks,
        });
    }
    Some(configs)
}

/// Ready endpoints across the EndpointSlices of Service `namespace/name`;
/// an endpoint whose readiness is unknown counts as ready, as the API says.
/// Read as `discovery.k8s.io/v1`, or `v1beta1` on clusters before 1.21
/// (the endpoint fields the count reads are the same).
async fn count_ready(
    client: &Client,
    namespace: &str,
    name: &str,
    notes: &mut Vec<Note>,
) -> Option<usize> {
    let params = ListParams::default().labels(&format!("kubernetes.io/service-name={name}"));
    let mut last = None;
    for version in ["v1", "v1beta1"] {
        let resource = ApiResource {
            group: "discovery.k8s.io".to_owned(),
            version: version.to_owned(),
            api_version: format!("discovery.k8s.io/{version}"),
            kind: "EndpointSlice".to_owned(),
            plural: "endpointslices".to_owned(),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
        match api.list(&params).await {
            Ok(list) => {
                return Some(
                    list.items
                        .iter()
                        .flat_map(|s| s.data["endpoints"].as_array().into_iter().flatten())
                        .filter(|e| e["conditions"]["ready"].as_bool() != Some(false))
                        .count(),
                );
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        let what = format!("endpointslices in namespace {namespace}");
        match unread(Area::Webhook, "list", &what, &e) {
            Unread::Failed(note) => notes.push(note),
            Unread::NotInstalled => notes.push(Note::could_not_check(
                Area::Webhook,
                format!("could not check {what}: the API server serves no EndpointSlices"),
            )),
        }
    }
    None
}

async fn read_csi(client: &Client, namespaces: &Namespaces, notes: &mut Vec<Note>) -> CsiFacts {
    let resource = ApiResource {
        group: "secrets-store.csi.x-k8s.io".to_owned(),
        version: "v1".to_owned(),
        api_version: "secrets-store.csi.x-k8s.io/v1".to_owned(),
        kind: "SecretProviderClass".to_owned(),
        plural: "secretproviderclasses".to_owned(),
    };
    let classes: Vec<ProviderClass> = match list_dynamic(client, namespaces, &resource).await {
        Ok(items) => items
            .iter()
            .map(|o| {
                let spec = &o.data["spec"];
                ProviderClass {
                    namespace: o.metadata.namespace.clone().unwrap_or_default(),
                    name: o.metadata.name.clone().unwrap_or_default(),
                    provider: spec["provider"].as_str().unwrap_or_default().to_owned(),
                    client_id: spec["parameters"]["clientID"]
                        .as_str()
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                }
            })
            .collect(),
        Err(e) => {
            match unread(Area::Delivery, "list", "secretproviderclasses", &e) {
                Unread::NotInstalled => notes.push(Note::skipped(
                    Area::Delivery,
                    "Secrets Store CSI driver: SecretProviderClass CRD not installed",
                )),
                Unread::Failed(note) => notes.push(note),
            }
            return CsiFacts::default();
        }
    };
    let driver_audiences = if classes.is_empty() {
        None
    } else {
        match Api::<CSIDriver>::all(client.clone())
            .get_opt(CSI_DRIVER_NAME)
            .await
        {
            Ok(driver) => driver.map(|d| {
                d.spec
                    .token_requests
                    .iter()
                    .flatten()
                    .map(|t| t.audience.clone())
                    .collect()
            }),
            Err(e) => {
                notes.push(note_for(Area::Delivery, "get", "csidrivers", &e));
                // Unknown: no finding either way.
                return CsiFacts::default();
            }
        }
    };
    CsiFacts {
        driver_audiences,
        classes,
    }
}

async fn list_dynamic(
    client: &Client,
    namespaces: &Namespaces,
    resource: &ApiResource,
) -> Result<Vec<DynamicObject>, kube::Error> {
    let api: Api<DynamicObject> = match namespaces {
        Namespaces::One(ns) => Api::namespaced_with(client.clone(), ns, resource),
        Namespaces::All => Api::all_with(client.clone(), resource),
    };
    Ok(api.list(&ListParams::default()).await?.items)
}

/// External Secrets stores, from `external-secrets.io/v1` or, on older
/// installations, `v1beta1`.
async fn read_secret_stores(
    client: &Client,
    namespaces: &Namespaces,
    notes: &mut Vec<Note>,
) -> Vec<SecretStore> {
    let mut stores = Vec::new();
    for (kind, plural, cluster) in [
        ("SecretStore", "secretstores", false),
        ("ClusterSecretStore", "clustersecretstores", true),
    ] {
        let mut last = None;
        for version in ["v1", "v1beta1"] {
            let resource = ApiResource {
                group: "external-secrets.io".to_owned(),
                version: version.to_owned(),
                api_version: format!("external-secrets.io/{version}"),
                kind: kind.to_owned(),
                plural: plural.to_owned(),
            };
            let scope = if cluster {
                &Namespaces::All
            } else {
                namespaces
            };
            match list_dynamic(client, scope, &resource).await {
                Ok(items) => {
                    stores.extend(items.iter().map(|o| secret_store(kind, o)));
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            match unread(Area::Delivery, "list", plural, &e) {
                Unread::NotInstalled => notes.push(Note::skipped(
                    Area::Delivery,
                    format!("External Secrets: {kind} CRD not installed"),
                )),
                Unread::Failed(note) => notes.push(note),
            }
        }
    }
    stores
}

fn secret_store(kind: &str, object: &DynamicObject) -> SecretStore {
    let azure = &object.data["spec"]["provider"]["azurekv"];
    let account = &azure["serviceAccountRef"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    SecretStore {
        kind: kind.to_owned(),
        namespace: object.metadata.namespace.clone().unwrap_or_default(),
        name: object.metadata.name.clone().unwrap_or_default(),
        workload_identity: azure["authType"].as_str() == Some("WorkloadIdentity"),
        service_account: text(&account["name"]),
        service_account_namespace: text(&account["namespace"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_kubectl_kinds() {
        assert_eq!("pod/a".parse(), Ok(Target::Pod("a".to_owned())));
        assert_eq!("sa/a".parse(), Ok(Target::ServiceAccount("a".to_owned())));
        assert_eq!("deploy/a".parse(), Ok(Target::Deployment("a".to_owned())));
        assert!("svc/a".parse::<Target>().is_err());
        assert!("pod/".parse::<Target>().is_err());
        assert!("a".parse::<Target>().is_err());
    }
}
