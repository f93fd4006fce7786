//! The slice of a ServiceAccount that workload identity reads.
//!
//! Only the name, namespace and `azure.workload.identity/*` annotations are
//! kept: that is all the mutation and the diagnostics need, and it keeps a
//! cache of every ServiceAccount in a large cluster small.

use std::sync::Arc;

use crate::names;

/// A ServiceAccount as workload identity sees it.
///
/// Sized for a cache of every ServiceAccount in a large cluster: the
/// namespace is an `Arc<str>` that a cache shares among the accounts of one
/// namespace ([`ServiceAccountInfo::share_namespace`]), and the kept
/// annotations (usually none, at most a handful) are a boxed slice that
/// allocates nothing when empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceAccountInfo {
    namespace: Arc<str>,
    name: Box<str>,
    /// Sorted by key, keys unique.
    annotations: Box<[(Box<str>, Box<str>)]>,
}

impl ServiceAccountInfo {
    /// Builds the view from its parts, keeping only the annotations this
    /// project reads. When a key repeats, the last value wins, as in a map.
    pub fn new(
        namespace: impl Into<Arc<str>>,
        name: impl Into<String>,
        annotations: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        let mut kept: Vec<(Box<str>, Box<str>)> = Vec::new();
        for (key, value) in annotations {
            if !key.starts_with(names::ANNOTATION_PREFIX) {
                continue;
            }
            match kept.binary_search_by(|(k, _)| k.as_ref().cmp(key.as_str())) {
                Ok(i) => kept[i].1 = value.into_boxed_str(),
                Err(i) => kept.insert(i, (key.into_boxed_str(), value.into_boxed_str())),
            }
        }
        Self {
            namespace: namespace.into(),
            name: name.into().into_boxed_str(),
            annotations: kept.into_boxed_slice(),
        }
    }

    /// Namespace of the ServiceAccount.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Makes this account hold `shared` as its namespace when the two are
    /// equal, so a cache keeps one copy of each namespace's name.
    pub fn share_namespace(&mut self, shared: &Arc<str>) {
        if *self.namespace == **shared {
            self.namespace = Arc::clone(shared);
        }
    }

    /// The namespace as the shared string this account holds.
    pub fn namespace_arc(&self) -> &Arc<str> {
        &self.namespace
    }

    /// Name of the ServiceAccount.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Value of one `azure.workload.identity/*` annotation; `Some("")` when
    /// the key exists with an empty value, which the tenant rule tells apart.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()
            .map(|i| self.annotations[i].1.as_ref())
    }

    /// The kept annotations, sorted by key.
    pub fn annotations(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.annotations
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
    }
}

#[cfg(feature = "k8s")]
mod k8s {
    use std::sync::Arc;

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
                info.namespace = Arc::from(default_namespace);
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
        fn annotations_are_found_by_key_and_an_empty_value_is_kept() {
            let sa = ServiceAccountInfo::new(
                "team",
                "app",
                [
                    (names::TENANT_ID_ANNOTATION.to_owned(), String::new()),
                    (names::CLIENT_ID_ANNOTATION.to_owned(), "old".to_owned()),
                    ("other/key".to_owned(), "x".to_owned()),
                    (names::CLIENT_ID_ANNOTATION.to_owned(), "new".to_owned()),
                ],
            );
            assert_eq!(sa.annotation(names::CLIENT_ID_ANNOTATION), Some("new"));
            assert_eq!(sa.annotation(names::TENANT_ID_ANNOTATION), Some(""));
            assert_eq!(sa.annotation("other/key"), None);
            assert_eq!(sa.annotation(names::SKIP_CONTAINERS_ANNOTATION), None);
            assert_eq!(sa.annotations().len(), 2);
        }

        #[test]
        fn a_shared_namespace_is_taken_only_when_equal() {
            let shared: Arc<str> = Arc::from("team");
            let mut sa = ServiceAccountInfo::new("team", "app", []);
            sa.share_namespace(&shared);
            assert!(Arc::ptr_eq(sa.namespace_arc(), &shared));
            let mut other = ServiceAccountInfo::new("elsewhere", "app", []);
            other.share_namespace(&shared);
            assert_eq!(other.namespace(), "elsewhere");
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
