//! The slice of a ServiceAccount that workload identity reads.
//!
//! Only the name, namespace and `azure.workload.identity/*` annotations are
//! kept: that is all the mutation and the diagnostics need, and it keeps a
//! cache of every ServiceAccount in a large cluster small.

use std::collections::BTreeMap;

use crate::names;

/// A ServiceAccount as workload identity sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccountInfo {
    namespace: String,
    name: String,
    annotations: BTreeMap<String, String>,
}

impl ServiceAccountInfo {
    /// Builds the view from its parts, keeping only the annotations this
    /// project reads.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        annotations: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            annotations: annotations
                .into_iter()
                .filter(|(k, _)| k.starts_with(names::ANNOTATION_PREFIX))
                .collect(),
        }
    }

    /// Namespace of the ServiceAccount.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Name of the ServiceAccount.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Value of one `azure.workload.identity/*` annotation; `Some("")` when
    /// the key exists with an empty value, which the tenant rule tells apart.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    /// The kept annotations.
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }
}

#[cfg(feature = "k8s")]
mod k8s {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use serde_json::Value;

    use super::ServiceAccountInfo;
    use crate::{Error, describe_decode_error};

    impl ServiceAccountInfo {
        /// Reads a ServiceAccount document (JSON value of a `v1 ServiceAccount`).
        ///
        /// A document without `metadata.namespace` is placed in
        /// `default_namespace`, as `kubectl apply` would place it.
        ///
        /// # Errors
        /// [`Error::InvalidServiceAccount`] naming the field at fault, or
        /// [`Error::ServiceAccountWithoutName`].
        pub fn from_value(doc: &Value, default_namespace: &str) -> Result<Self, Error> {
            let sa: ServiceAccount = serde_path_to_error::deserialize(doc).map_err(|e| {
                Error::InvalidServiceAccount {
                    reason: describe_decode_error(&e),
                }
            })?;
            let mut info = Self::from(sa);
            if info.name.is_empty() {
                return Err(Error::ServiceAccountWithoutName);
            }
            if info.namespace.is_empty() {
                default_namespace.clone_into(&mut info.namespace);
            }
            Ok(info)
        }
    }

    impl From<ServiceAccount> for ServiceAccountInfo {
        fn from(sa: ServiceAccount) -> Self {
            let meta = sa.metadata;
            Self::new(
                meta.namespace.unwrap_or_default(),
                meta.name.unwrap_or_default(),
                meta.annotations.unwrap_or_default(),
            )
        }
    }

    #[cfg(test)]
    mod tests {
        use serde_json::json;

        use super::*;
        use crate::names;

        #[test]
        fn keeps_only_workload_identity_annotations() {
            let doc = json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "app", "namespace": "team", "annotations": {
                    "azure.workload.identity/client-id": "c",
                    "kubectl.kubernetes.io/last-applied-configuration": "{...}"
                }}
            });
            let sa = ServiceAccountInfo::from_value(&doc, "default").unwrap();
            assert_eq!(sa.namespace(), "team");
            assert_eq!(sa.name(), "app");
            assert_eq!(sa.annotations().len(), 1);
            assert_eq!(sa.annotation(names::CLIENT_ID_ANNOTATION), Some("c"));
        }

        #[test]
        fn missing_namespace_takes_the_default() {
            let doc = json!({"metadata": {"name": "app"}});
            let sa = ServiceAccountInfo::from_value(&doc, "ns1").unwrap();
            assert_eq!(sa.namespace(), "ns1");
        }

        #[test]
        fn wrong_kind_and_missing_name_are_errors() {
            let err = ServiceAccountInfo::from_value(&json!({"kind": "Pod"}), "d").unwrap_err();
            assert_eq!(
                err.to_string(),
                "not a valid ServiceAccount: invalid value: string \"Pod\", expected ServiceAccount"
            );
            let err = ServiceAccountInfo::from_value(&json!({"metadata": {}}), "d").unwrap_err();
            assert_eq!(err, Error::ServiceAccountWithoutName);
        }
    }
}
