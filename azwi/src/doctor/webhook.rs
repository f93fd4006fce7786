//! The mutating webhook's wiring: a MutatingWebhookConfiguration that sends
//! labelled pods to it, with a CA bundle the API server can verify it by,
//! and a Service with ready endpoints behind it.

use azure_wi_core::names::USE_LABEL;
use serde::Serialize;

use super::{Area, Finding, Severity, subject};

/// One MutatingWebhookConfiguration, reduced to what the rules read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookConfig {
    /// Its name.
    pub name: String,
    /// Its webhooks.
    pub webhooks: Vec<Webhook>,
}

/// One entry of `webhooks[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Its name.
    pub name: String,
    /// Whether a rule matches CREATE of `pods` (core group, `*` included).
    pub matches_pod_create: bool,
    /// Whether its `objectSelector` selects on the label (matchLabels or a
    /// matchExpressions entry for the key).
    pub selects_label: bool,
    /// Whether `clientConfig.caBundle` is set and not empty.
    pub has_ca_bundle: bool,
    /// Where the API server sends the review.
    pub target: Target,
}

/// `clientConfig`: a URL or a Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// `clientConfig.url`.
    Url(String),
    /// `clientConfig.service`, with the number of ready endpoints its
    /// EndpointSlices list (`None` when they could not be read).
    Service {
        /// The Service's namespace.
        namespace: String,
        /// The Service's name.
        name: String,
        /// Ready endpoints across its EndpointSlices.
        ready_endpoints: Option<usize>,
    },
}

/// Whether a webhook entry is the workload identity webhook's pod entry.
fn is_ours(webhook: &Webhook) -> bool {
    webhook.matches_pod_create && webhook.selects_label
}

/// The webhook findings over every MutatingWebhookConfiguration.
#[must_use]
pub fn check(configs: &[WebhookConfig]) -> Vec<Finding> {
    let ours: Vec<(&WebhookConfig, &Webhook)> = configs
        .iter()
        .flat_map(|c| c.webhooks.iter().map(move |w| (c, w)))
        .filter(|(_, w)| is_ours(w))
        .collect();
    if ours.is_empty() {
        return vec![
            Finding::new(
                Severity::Error,
                Area::Webhook,
                "no-webhook",
                "MutatingWebhookConfigurations",
                "no mutating webhook receives pods labelled for workload identity, so no pod gets a token",
            )
            .evidence(format!(
                "{} MutatingWebhookConfiguration(s), none with a pod CREATE rule and an objectSelector on {USE_LABEL}",
                configs.len()
            ))
            .fix("install the workload identity webhook (deploy/ in this repository, or the azure-workload-identity Helm chart)"),
        ];
    }
    let mut findings = Vec::new();
    for (config, webhook) in ours {
        let who = format!(
            "{} (webhook {})",
            subject("MutatingWebhookConfiguration", "", &config.name),
            webhook.name
        );
        if !webhook.has_ca_bundle && matches!(webhook.target, Target::Service { .. }) {
            findings.push(
                Finding::new(
                    Severity::Error,
                    Area::Webhook,
                    "webhook-no-ca-bundle",
                    &who,
                    "the webhook has no caBundle, so the API server cannot verify it and pod creation fails or skips the mutation",
                )
                .evidence("clientConfig.caBundle is empty")
                .fix("set clientConfig.caBundle to the base64 PEM of the CA that signed the webhook's serving certificate (the webhook's certificate controller or cert-manager's cainjector does this)"),
            );
        }
        if let Target::Service {
            namespace,
            name,
            ready_endpoints: Some(0),
        } = &webhook.target
        {
            findings.push(
                Finding::new(
                    Severity::Error,
                    Area::Webhook,
                    "webhook-no-endpoints",
                    &who,
                    "the webhook's Service has no ready endpoints, so pods are created unmutated (failurePolicy Ignore) or not at all (Fail)",
                )
                .evidence(format!(
                    "the EndpointSlices of Service {namespace}/{name} list no ready endpoint"
                ))
                .fix(format!(
                    "check the webhook's pods: kubectl -n {namespace} get pods,endpointslices -l kubernetes.io/service-name={name}"
                )),
            );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(webhook: Webhook) -> WebhookConfig {
        WebhookConfig {
            name: "azure-wi-webhook".to_owned(),
            webhooks: vec![webhook],
        }
    }

    fn good() -> Webhook {
        Webhook {
            name: "mutation.azure-workload-identity.io".to_owned(),
            matches_pod_create: true,
            selects_label: true,
            has_ca_bundle: true,
            target: Target::Service {
                namespace: "azure-workload-identity-system".to_owned(),
                name: "webhook".to_owned(),
                ready_endpoints: Some(1),
            },
        }
    }

    fn rules(configs: &[WebhookConfig]) -> Vec<&'static str> {
        check(configs).iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_wired_webhook_has_no_findings() {
        assert!(check(&[config(good())]).is_empty());
    }

    #[test]
    fn no_webhook_selecting_the_label_is_an_error() {
        assert_eq!(rules(&[]), ["no-webhook"]);
        let mut other = good();
        other.selects_label = false;
        assert_eq!(rules(&[config(other)]), ["no-webhook"]);
    }

    #[test]
    fn a_missing_ca_bundle_is_an_error() {
        let mut webhook = good();
        webhook.has_ca_bundle = false;
        assert_eq!(rules(&[config(webhook)]), ["webhook-no-ca-bundle"]);
    }

    #[test]
    fn a_service_without_ready_endpoints_is_an_error() {
        let mut webhook = good();
        if let Target::Service {
            ready_endpoints, ..
        } = &mut webhook.target
        {
            *ready_endpoints = Some(0);
        }
        assert_eq!(rules(&[config(webhook)]), ["webhook-no-endpoints"]);
    }
}
