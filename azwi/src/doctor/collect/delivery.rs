//! The Secrets Store CSI driver, SecretProviderClasses, the Azure CSI
//! provider DaemonSets and External Secrets objects; the custom resources
//! are read as dynamic objects.

use k8s_openapi::api::{apps::v1::DaemonSet, storage::v1::CSIDriver};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, ListParams},
};

use super::{Namespaces, Unread, list_dynamic, note_for, unread};
use crate::doctor::{
    Area, Note,
    conditions::{Condition, ReadyCondition},
    delivery::{
        CSI_DRIVER_NAME, CsiFacts, MICROSOFT_PROVIDER_SUFFIX, OUR_PROVIDER, ProviderClass,
        ProviderDaemonSet, SecretStore,
    },
};

pub(super) async fn read_csi(
    client: &Client,
    namespaces: &Namespaces,
    notes: &mut Vec<Note>,
) -> CsiFacts {
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
        providers: None,
    }
}

/// The Azure CSI provider DaemonSets, looked for in every namespace (the
/// provider usually runs in kube-system, but not always): ours by name or
/// `app.kubernetes.io/name` label, Microsoft's by its name's or `app`
/// label's suffix. `None` when DaemonSets cannot be listed cluster-wide.
pub(super) async fn read_csi_providers(
    client: &Client,
    notes: &mut Vec<Note>,
) -> Option<Vec<ProviderDaemonSet>> {
    match Api::<DaemonSet>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(list) => Some(
            list.items
                .iter()
                .filter(|d| is_azure_provider(d))
                .map(|d| {
                    let status = d.status.as_ref();
                    ProviderDaemonSet {
                        namespace: d.metadata.namespace.clone().unwrap_or_default(),
                        name: d.metadata.name.clone().unwrap_or_default(),
                        desired: status.map_or(0, |s| s.desired_number_scheduled),
                        ready: status.map_or(0, |s| s.number_ready),
                    }
                })
                .collect(),
        ),
        Err(kube::Error::Api(status)) if status.code == 403 => {
            notes.push(Note::could_not_check(
                Area::Delivery,
                "could not check the Azure CSI provider: forbidden (need list on daemonsets in all namespaces)",
            ));
            None
        }
        Err(e) => {
            notes.push(note_for(Area::Delivery, "list", "daemonsets", &e));
            None
        }
    }
}

fn is_azure_provider(daemon_set: &DaemonSet) -> bool {
    let name = daemon_set.metadata.name.as_deref().unwrap_or_default();
    let label = |key: &str| {
        daemon_set
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(key))
            .map(String::as_str)
    };
    name == OUR_PROVIDER
        || label("app.kubernetes.io/name") == Some(OUR_PROVIDER)
        || name.ends_with(MICROSOFT_PROVIDER_SUFFIX)
        || [label("app"), label("app.kubernetes.io/name")]
            .into_iter()
            .flatten()
            .any(|v| v.ends_with(MICROSOFT_PROVIDER_SUFFIX))
}

/// External Secrets objects, from `external-secrets.io/v1` or, on older
/// installations, `v1beta1`: the stores (reduced for their azurekv settings)
/// and the `Ready` condition of every store and ExternalSecret.
pub(super) async fn read_external_secrets(
    client: &Client,
    namespaces: &Namespaces,
    notes: &mut Vec<Note>,
) -> (Vec<SecretStore>, Vec<ReadyCondition>) {
    let mut stores = Vec::new();
    let mut conditions = Vec::new();
    for (kind, plural, cluster) in [
        ("SecretStore", "secretstores", false),
        ("ClusterSecretStore", "clustersecretstores", true),
        ("ExternalSecret", "externalsecrets", false),
    ] {
        let scope = if cluster {
            &Namespaces::All
        } else {
            namespaces
        };
        let Some(items) = list_external_secrets_io(client, scope, kind, plural, notes).await else {
            continue;
        };
        if kind != "ExternalSecret" {
            stores.extend(items.iter().map(|o| secret_store(kind, o)));
        }
        conditions.extend(items.iter().map(|o| ready_condition(kind, o)));
    }
    (stores, conditions)
}

/// Lists one `external-secrets.io` kind, `v1` first and `v1beta1` only when
/// `v1` is not served; `None` (and a note) when neither could be listed.
async fn list_external_secrets_io(
    client: &Client,
    scope: &Namespaces,
    kind: &str,
    plural: &str,
    notes: &mut Vec<Note>,
) -> Option<Vec<DynamicObject>> {
    let mut last = None;
    for version in ["v1", "v1beta1"] {
        let resource = ApiResource {
            group: "external-secrets.io".to_owned(),
            version: version.to_owned(),
            api_version: format!("external-secrets.io/{version}"),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
        };
        match list_dynamic(client, scope, &resource).await {
            Ok(items) => return Some(items),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                last = Some(kube::Error::Api(status));
            }
            Err(e) => {
                last = Some(e);
                break;
            }
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
    None
}

fn ready_condition(kind: &str, object: &DynamicObject) -> ReadyCondition {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let ready = object.data["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"].as_str() == Some("Ready"))
        .map(|c| Condition {
            status: text(&c["status"]),
            reason: text(&c["reason"]),
            message: text(&c["message"]),
            since: c["lastTransitionTime"].as_str().map(str::to_owned),
        });
    ReadyCondition {
        kind: kind.to_owned(),
        namespace: object.metadata.namespace.clone().unwrap_or_default(),
        name: object.metadata.name.clone().unwrap_or_default(),
        ready,
    }
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
