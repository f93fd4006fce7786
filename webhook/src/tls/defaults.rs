//! The names of the objects a deployment of the webhook consists of, as the
//! reference webhook's manifests create them.
//!
//! `webhook serve` and `webhook certs` use them as flag defaults, so a
//! deployment made from the reference manifests needs no flags; they are
//! defined once here so the two commands and the self-managed certificates
//! cannot drift apart.

/// Namespace the reference manifests install the webhook into.
pub const NAMESPACE: &str = "azure-workload-identity-system";
/// Secret holding the self-managed CA and serving pair.
pub const SECRET_NAME: &str = "azure-wi-webhook-server-cert";
/// Service the API server calls; serving certificates name it.
pub const SERVICE_NAME: &str = "azure-wi-webhook-webhook-service";
/// MutatingWebhookConfiguration whose `caBundle` names the CA.
pub const WEBHOOK_CONFIGURATION_NAME: &str = "azure-wi-webhook-mutating-webhook-configuration";
/// ValidatingWebhookConfiguration of the warn-only workload check, whose
/// `caBundle` names the CA too.
pub const VALIDATING_WEBHOOK_CONFIGURATION_NAME: &str =
    "azure-wi-webhook-validating-webhook-configuration";
/// Common name of a CA the webhook generates; it only labels the CA for
/// people reading certificates.
pub const CA_COMMON_NAME: &str = "azure-workload-identity-ca";
