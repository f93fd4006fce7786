//! A store, checked: what this controller can serve of a `SecretStore` or
//! `ClusterSecretStore` spec, or the error its `Ready` condition shows.
//! Pure: the controller calls it on every store change.

use std::collections::BTreeMap;

use azure_wi_core::AzureCloud;

use crate::{
    Error,
    api::{
        AuthSecretRef, AuthType, AzureEnvironment, ClusterStoreCondition, LabelSelector,
        SecretStoreSpec, ServiceAccountSelector, unsupported_names,
    },
};

/// A store this controller serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureStore {
    /// `https://<name>.vault.azure.net`, without a trailing slash.
    pub vault_url: String,
    /// The cloud `environmentType` names.
    pub cloud: AzureCloud,
    /// `tenantId`, if set.
    pub tenant_id: Option<String>,
    /// The ServiceAccount whose token is exchanged; `None` for the
    /// controller's own identity.
    pub service_account: Option<ServiceAccountSelector>,
    /// `authSecretRef`: the client id (and tenant) from Secrets.
    pub auth_secret: Option<AuthSecretRef>,
    /// Whether it is a ClusterSecretStore.
    pub cluster: bool,
    /// What works but is not what the user meant: a Warning event and the
    /// condition's message carry it.
    pub warnings: Vec<String>,
}

/// Checks `spec` (`cluster` for a ClusterSecretStore).
///
/// # Errors
///
/// [`Error::NotAzureKv`], [`Error::NotWorkloadIdentity`],
/// [`Error::UnsupportedEnvironment`] or [`Error::Unsupported`] naming each
/// field this controller does not serve.
pub fn check(spec: &SecretStoreSpec, cluster: bool) -> Result<AzureStore, Error> {
    let Some(azurekv) = &spec.provider.azurekv else {
        let provider = spec
            .provider
            .other
            .keys()
            .next()
            .cloned()
            .unwrap_or_else(|| "none".to_owned());
        return Err(Error::NotAzureKv { provider });
    };
    if azurekv.auth_type != AuthType::WorkloadIdentity {
        return Err(Error::NotWorkloadIdentity {
            auth_type: format!("{:?}", azurekv.auth_type),
        });
    }
    let cloud = match azurekv.environment_type {
        AzureEnvironment::PublicCloud => AzureCloud::Public,
        AzureEnvironment::USGovernmentCloud => AzureCloud::UsGovernment,
        AzureEnvironment::ChinaCloud => AzureCloud::China,
        AzureEnvironment::GermanCloud => AzureCloud::Germany,
        AzureEnvironment::AzureStackCloud => {
            return Err(Error::UnsupportedEnvironment("AzureStackCloud".to_owned()));
        }
    };
    let mut fields = unsupported_names("spec.", &spec.unsupported);
    fields.extend(unsupported_names("spec.provider.", &spec.provider.other));
    fields.extend(unsupported_names(
        "spec.provider.azurekv.",
        &azurekv.unsupported,
    ));
    if let Some(auth) = &azurekv.auth_secret_ref {
        fields.extend(unsupported_names(
            "spec.provider.azurekv.authSecretRef.",
            &auth.unsupported,
        ));
    }
    if !cluster && !spec.conditions.is_empty() {
        fields.push("spec.conditions (a ClusterSecretStore field)".to_owned());
    }
    if !fields.is_empty() {
        return Err(Error::Unsupported { fields });
    }
    let mut warnings = Vec::new();
    if let Some(namespace) = azurekv
        .service_account_ref
        .as_ref()
        .and_then(|r| r.namespace.as_deref())
        .filter(|_| !cluster)
    {
        warnings.push(format!(
            "serviceAccountRef.namespace {namespace:?} is ignored in a SecretStore: the ServiceAccount is looked up in each ExternalSecret's namespace; remove the field, or use a ClusterSecretStore to name another namespace"
        ));
    }
    Ok(AzureStore {
        vault_url: azurekv.vault_url.trim_end_matches('/').to_owned(),
        cloud,
        tenant_id: azurekv.tenant_id.clone().filter(|t| !t.is_empty()),
        service_account: azurekv.service_account_ref.clone(),
        auth_secret: azurekv.auth_secret_ref.clone(),
        cluster,
        warnings,
    })
}

/// Whether a ClusterSecretStore with `conditions` serves ExternalSecrets of
/// `namespace` (labelled `labels`): with no conditions every namespace;
/// otherwise any condition whose names, regular expressions or label
/// selector match.
///
/// # Errors
///
/// [`Error::InvalidRegexp`] for a `namespaceRegexes` entry that does not
/// compile.
pub fn allows(
    conditions: &[ClusterStoreCondition],
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Result<bool, Error> {
    if conditions.is_empty() {
        return Ok(true);
    }
    for condition in conditions {
        if condition.namespaces.iter().any(|n| n == namespace) {
            return Ok(true);
        }
        for pattern in &condition.namespace_regexes {
            // ESO's regexp.MatchString: Go's syntax and meaning.
            let regex = azure_wi_template::go_regexp::Regex::new(pattern).map_err(|e| {
                Error::InvalidRegexp {
                    field: "spec.conditions[].namespaceRegexes",
                    value: pattern.clone(),
                    reason: e.to_string(),
                }
            })?;
            if regex.is_match(namespace) {
                return Ok(true);
            }
        }
        if let Some(selector) = &condition.namespace_selector
            && selects(selector, labels)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    selector
        .match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().all(|e| {
            let value = labels.get(&e.key);
            match e.operator.as_str() {
                "In" => value.is_some_and(|v| e.values.contains(v)),
                "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
