//! The thin shell that reads the cluster with kube-rs and fills [`Inputs`].
//!
//! Every read is on its own: one that RBAC forbids becomes a [`Note`]
//! ("could not check pods: forbidden (need list on pods)") and the other
//! checks still run; a CRD that is not installed becomes a "not installed"
//! note. Only an API server that cannot be reached at all is an error. The
//! one write is a TokenRequest, for the issuer's `kid` check and
//! `--check-entra`; the token is never printed.

//!
//! The readers are grouped by what they read: `kinds` (workloads, pods,
//! ServiceAccounts), `wiring` (the webhook registration and its Service),
//! `delivery` (the CSI driver and its Azure provider, External Secrets
//! objects as dynamic objects).

mod delivery;
mod kinds;
mod wiring;

use std::str::FromStr;

use k8s_openapi::api::core::v1::{Pod as KubePod, ServiceAccount as KubeServiceAccount};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, ListParams},
};

use super::{
    Area, Inputs, Note,
    workloads::{Pod, ServiceAccount, Workload},
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

    let mut workloads = kinds::read_workloads(client, namespaces, notes).await;
    let mut pods = match pods_api.list(&ListParams::default()).await {
        Ok(list) => list.items.iter().map(kinds::pod).collect(),
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
                .map(kinds::service_account)
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
    inputs.webhooks = wiring::read_webhooks(client, notes).await;
    inputs.csi = delivery::read_csi(client, namespaces, notes).await;
    inputs.csi.providers = delivery::read_csi_providers(client, notes).await;
    (inputs.secret_stores, inputs.conditions) =
        delivery::read_external_secrets(client, namespaces, notes).await;
}

/// The note for an unread collection: could not check, or (404) "not
/// served", which only `--verbose` and JSON show.
pub(super) fn note_for(area: Area, verb: &str, resource: &str, error: &kube::Error) -> Note {
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
