//! Conditions and events as ESO writes them.

use k8s_openapi::jiff::Timestamp;

use crate::api::Condition;

/// `Ready`'s reasons on an ExternalSecret.
pub(crate) mod reason {
    pub(crate) const SYNCED: &str = "SecretSynced";
    pub(crate) const SYNC_ERROR: &str = "SecretSyncedError";
    pub(crate) const DELETED: &str = "SecretDeleted";
    pub(crate) const MISSING: &str = "SecretMissing";
    pub(crate) const VALID: &str = "Valid";
    pub(crate) const INVALID_PROVIDER_CONFIG: &str = "InvalidProviderConfig";
    pub(crate) const INVALID_STORE_CONFIGURATION: &str = "InvalidStoreConfiguration";
}

/// The `Ready` condition with `ok`, `reason` and `message`, keeping the
/// previous transition time when the status did not change.
pub(crate) fn ready(previous: &[Condition], ok: bool, reason: &str, message: &str) -> Condition {
    let status = if ok { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Timestamp::now().to_string());
    Condition {
        type_: "Ready".to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_transition_time: Some(last_transition_time),
    }
}

/// Publishes an event; a failure to publish is logged, never fatal.
pub(crate) async fn publish(
    events: &super::events::Events,
    object: &k8s_openapi::api::core::v1::ObjectReference,
    warning: bool,
    reason: &str,
    note: &str,
) {
    let event = super::events::Note {
        warning,
        reason,
        action: "Reconcile",
        note,
    };
    if let Err(error) = events.publish(object, event).await {
        tracing::warn!(%error, reason, "could not publish an event");
    }
}
