//! The webhook's registration and the readiness of its Service.

use azure_wi_core::names::USE_LABEL;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, ListParams},
};

use super::{Unread, note_for, unread};
use crate::doctor::{
    Area, Note,
    webhook::{Target as WebhookTarget, Webhook, WebhookConfig},
};

pub(super) async fn read_webhooks(
    client: &Client,
    notes: &mut Vec<Note>,
) -> Option<Vec<WebhookConfig>> {
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
