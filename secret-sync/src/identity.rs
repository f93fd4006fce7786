//! Whose token an ExternalSecret's reads use: the ServiceAccount a store
//! references, with client id and tenant found in the order ESO's azurekv
//! provider looks for them (`providers/v1/azure/keyvault/keyvault.go` in
//! external-secrets/external-secrets), or the controller's own identity.
//! Pure: the controller fetches the ServiceAccount and passes it in.

use azure_wi_core::{AzureCloud, ClientId, ServiceAccountInfo, TenantId, is_guid, names};

use crate::{Error, store::AzureStore};

/// A ServiceAccount's workload identity, everything an exchange needs
/// besides the token. Equal identities share one TokenRequest and one
/// Entra exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkloadIdentity {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// The ServiceAccount.
    pub service_account: String,
    /// The token's audiences: the exchange audience first, then the
    /// store's extras.
    pub audiences: Vec<String>,
    /// The managed identity's client id.
    pub client_id: ClientId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The cloud (Entra authority and Key Vault scope).
    pub cloud: AzureCloud,
}

/// Where the ServiceAccount of `store` is for an ExternalSecret in
/// `namespace`: the store's `serviceAccountRef`, in the ExternalSecret's
/// namespace unless a ClusterSecretStore names one. `None` when the store
/// uses the controller's own identity.
#[must_use]
pub fn service_account_of(store: &AzureStore, namespace: &str) -> Option<(String, String)> {
    let selector = store.service_account.as_ref()?;
    let namespace = match (&selector.namespace, store.cluster) {
        (Some(named), true) => named.clone(),
        _ => namespace.to_owned(),
    };
    Some((namespace, selector.name.clone()))
}

/// The values `authSecretRef` names, read from their Secrets by the
/// caller (`None` where it names none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FromSecrets {
    /// `authSecretRef.clientId`'s value.
    pub client_id: Option<String>,
    /// `authSecretRef.tenantId`'s value.
    pub tenant_id: Option<String>,
}

/// One key `authSecretRef` names, where it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeyRef {
    /// The field naming it (`clientId`, `tenantId`), for messages.
    pub field: &'static str,
    /// The Secret's namespace.
    pub namespace: String,
    /// The Secret.
    pub name: String,
    /// The key in its data.
    pub key: String,
}

/// Where `authSecretRef`'s keys are for an ExternalSecret in `namespace`
/// (client id, tenant id); a selector's `namespace` counts for a
/// ClusterSecretStore only (ESO's `SecretKeyRef`).
#[must_use]
pub fn auth_secret_keys(
    store: &AzureStore,
    namespace: &str,
) -> (Option<SecretKeyRef>, Option<SecretKeyRef>) {
    let Some(auth) = &store.auth_secret else {
        return (None, None);
    };
    let at = |field, selector: &Option<crate::api::SecretKeySelector>| {
        let selector = selector.as_ref()?;
        let namespace = match (&selector.namespace, store.cluster) {
            (Some(named), true) => named.clone(),
            _ => namespace.to_owned(),
        };
        Some(SecretKeyRef {
            field,
            namespace,
            name: selector.name.clone(),
            key: selector.key.clone(),
        })
    };
    (
        at("clientId", &auth.client_id),
        at("tenantId", &auth.tenant_id),
    )
}

/// The identity of `account` for `store`, in ESO's order
/// (`authorizerForWorkloadIdentity`): the client id from `authSecretRef`
/// or else the ServiceAccount's `client-id` annotation, never both; the
/// tenant from `authSecretRef`, else the store's `tenantId`, else the
/// `tenant-id` annotation (one that differs from the first two is an
/// error), else the controller's `AZURE_TENANT_ID` (`controller_tenant`).
///
/// # Errors
///
/// [`Error::MissingClientId`], [`Error::MissingClientIdSecret`],
/// [`Error::MultipleClientIds`], [`Error::InvalidId`],
/// [`Error::ConflictingTenants`] or [`Error::MissingTenantId`], each
/// naming the ServiceAccount.
pub fn resolve(
    store: &AzureStore,
    account: &ServiceAccountInfo,
    from_secrets: &FromSecrets,
    controller_tenant: Option<&str>,
) -> Result<WorkloadIdentity, Error> {
    let who = || format!("{}/{}", account.namespace(), account.name());
    if store
        .auth_secret
        .as_ref()
        .is_some_and(|auth| auth.client_id.is_none())
    {
        return Err(Error::MissingClientIdSecret);
    }
    let annotated_client = account.annotation(names::CLIENT_ID_ANNOTATION);
    let client_text = match (from_secrets.client_id.as_deref(), annotated_client) {
        (Some(_), Some(_)) => {
            return Err(Error::MultipleClientIds {
                service_account: who(),
            });
        }
        (Some(secret), None) => secret.trim(),
        (None, annotation) => {
            annotation
                .filter(|v| !v.is_empty())
                .ok_or_else(|| Error::MissingClientId {
                    service_account: who(),
                })?
        }
    };
    let invalid_client = |reason: String| Error::InvalidId {
        what: format!(
            "annotation {} of ServiceAccount {}",
            names::CLIENT_ID_ANNOTATION,
            who()
        ),
        reason,
    };
    if !is_guid(client_text) {
        return Err(invalid_client(format!(
            "{client_text:?} is not a client id (a GUID such as 3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34); put the managed identity's client id there"
        )));
    }
    let client_id: ClientId = client_text
        .parse()
        .map_err(|e: azure_wi_core::Error| invalid_client(e.to_string()))?;
    let annotated = account
        .annotation(names::TENANT_ID_ANNOTATION)
        .filter(|v| !v.is_empty());
    let configured = match from_secrets.tenant_id.as_deref().map(str::trim) {
        Some(secret) if !secret.is_empty() => Some((secret, "authSecretRef.tenantId")),
        _ => store
            .tenant_id
            .as_deref()
            .map(|spec| (spec, "the store's tenantId")),
    };
    let (tenant_text, from) = match (configured, annotated) {
        (Some((spec, _)), Some(annotation)) if !spec.eq_ignore_ascii_case(annotation) => {
            return Err(Error::ConflictingTenants {
                service_account: who(),
                store: spec.to_owned(),
                annotation: annotation.to_owned(),
            });
        }
        (Some((spec, from)), _) => (spec, from.to_owned()),
        (None, Some(annotation)) => (
            annotation,
            format!(
                "annotation {} of ServiceAccount {}",
                names::TENANT_ID_ANNOTATION,
                who()
            ),
        ),
        (None, None) => match controller_tenant.filter(|t| !t.is_empty()) {
            Some(env) => (env, format!("the controller's {}", names::TENANT_ID_ENV)),
            None => {
                return Err(Error::MissingTenantId {
                    service_account: who(),
                });
            }
        },
    };
    let tenant_id: TenantId =
        tenant_text
            .parse()
            .map_err(|e: azure_wi_core::Error| Error::InvalidId {
                what: from,
                reason: e.to_string(),
            })?;
    let mut audiences = vec![names::DEFAULT_AUDIENCE.to_owned()];
    for extra in store
        .service_account
        .iter()
        .flat_map(|s| s.audiences.iter())
    {
        if !audiences.contains(extra) {
            audiences.push(extra.clone());
        }
    }
    Ok(WorkloadIdentity {
        namespace: account.namespace().to_owned(),
        service_account: account.name().to_owned(),
        audiences,
        client_id,
        tenant_id,
        cloud: store.cloud,
    })
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
