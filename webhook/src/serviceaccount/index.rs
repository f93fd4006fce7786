//! The ServiceAccounts of the cluster as a pure index, shaped like kubert's
//! indexes: the watcher feeds it `apply`, `delete` and `reset` (a re-list),
//! lookups read it. It does no I/O, so its semantics are unit-tested here
//! without an API server.

use std::{
    borrow::Borrow,
    collections::{HashMap, HashSet},
    hash::{Hash, Hasher},
    sync::Arc,
};

use azure_wi_core::ServiceAccountInfo;

/// ServiceAccounts by namespace and name.
///
/// Each account is held once, behind an `Arc` that a lookup hands out as
/// is, so a lookup copies no string. The name is not stored a second time
/// as a map key: each namespace holds a set of accounts hashed by name. The
/// namespace's name is held once too: its map key and every account in it
/// share one `Arc<str>`.
#[derive(Debug, Default)]
pub struct ServiceAccountIndex {
    namespaces: HashMap<Arc<str>, HashSet<ByName>>,
    len: usize,
}

impl ServiceAccountIndex {
    /// Inserts `account`, or replaces the one of the same namespace and name
    /// (a watch `Apply`). An account without a name (which the API server
    /// never sends) is ignored.
    pub fn apply(&mut self, mut account: ServiceAccountInfo) {
        if account.name().is_empty() {
            return;
        }
        if let Some((shared, _)) = self.namespaces.get_key_value(account.namespace()) {
            let shared = Arc::clone(shared);
            account.share_namespace(&shared);
        }
        let names = self
            .namespaces
            .entry(Arc::clone(account.namespace_arc()))
            .or_default();
        if names.replace(ByName(Arc::new(account))).is_none() {
            self.len += 1;
        }
    }

    /// Removes `namespace/name` if held (a watch `Delete`).
    pub fn delete(&mut self, namespace: &str, name: &str) {
        let Some(names) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if names.remove(name) {
            self.len -= 1;
        }
        if names.is_empty() {
            self.namespaces.remove(namespace);
        }
    }

    /// Replaces the whole content with `accounts` (a completed re-list):
    /// accounts deleted while the watch was down are gone afterwards.
    pub fn reset(&mut self, accounts: impl IntoIterator<Item = ServiceAccountInfo>) {
        *self = Self::default();
        for account in accounts {
            self.apply(account);
        }
    }

    /// The account at `namespace/name`, shared.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<ServiceAccountInfo>> {
        self.namespaces
            .get(namespace)?
            .get(name)
            .map(|held| Arc::clone(&held.0))
    }

    /// How many accounts are held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether any account of `namespace` is held: every namespace of a
    /// cluster has at least its `default` ServiceAccount, so this is the
    /// set of namespaces that exist.
    pub fn has_namespace(&self, namespace: &str) -> bool {
        self.namespaces.contains_key(namespace)
    }

    /// Whether no account is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// An account in its namespace's set, equal and hashed by name alone so the
/// set can be searched with a `&str`.
#[derive(Debug)]
struct ByName(Arc<ServiceAccountInfo>);

impl PartialEq for ByName {
    fn eq(&self, other: &Self) -> bool {
        self.0.name() == other.0.name()
    }
}

impl Eq for ByName {}

impl Hash for ByName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly as the `str` it borrows as.
        self.0.name().hash(state);
    }
}

impl Borrow<str> for ByName {
    fn borrow(&self) -> &str {
        self.0.name()
    }
}

#[cfg(test)]
mod tests {
    use azure_wi_core::names::CLIENT_ID_ANNOTATION;

    use super::*;

    fn sa(namespace: &str, name: &str, client_id: &str) -> ServiceAccountInfo {
        ServiceAccountInfo::new(
            namespace,
            name,
            [(CLIENT_ID_ANNOTATION.to_owned(), client_id.to_owned())],
        )
    }

    fn client_id(index: &ServiceAccountIndex, namespace: &str, name: &str) -> Option<String> {
        index
            .get(namespace, name)
            .and_then(|sa| sa.annotation(CLIENT_ID_ANNOTATION).map(str::to_owned))
    }

    #[test]
    fn apply_inserts_and_replaces_by_namespace_and_name() {
        let mut index = ServiceAccountIndex::default();
        assert!(index.is_empty());
        index.apply(sa("a", "app", "1"));
        index.apply(sa("b", "app", "2"));
        index.apply(sa("a", "other", "3"));
        assert_eq!(index.len(), 3);
        index.apply(sa("a", "app", "4"));
        assert_eq!(index.len(), 3);
        assert_eq!(client_id(&index, "a", "app").as_deref(), Some("4"));
        assert_eq!(client_id(&index, "b", "app").as_deref(), Some("2"));
        assert!(index.get("c", "app").is_none());
        assert!(index.get("a", "missing").is_none());
    }

    #[test]
    fn nameless_accounts_are_ignored() {
        let mut index = ServiceAccountIndex::default();
        index.apply(sa("a", "", "1"));
        assert!(index.is_empty());
        assert!(index.get("a", "").is_none());
    }

    #[test]
    fn delete_removes_only_what_is_named_and_tolerates_unknowns() {
        let mut index = ServiceAccountIndex::default();
        index.apply(sa("a", "app", "1"));
        index.apply(sa("a", "other", "2"));
        index.delete("a", "app");
        index.delete("a", "app");
        index.delete("zz", "app");
        assert_eq!(index.len(), 1);
        assert!(index.get("a", "app").is_none());
        assert!(index.get("a", "other").is_some());
        index.delete("a", "other");
        assert!(index.is_empty());
        assert!(index.namespaces.is_empty(), "empty namespaces are dropped");
    }

    #[test]
    fn reset_is_a_relist_that_drops_vanished_accounts() {
        let mut index = ServiceAccountIndex::default();
        index.apply(sa("a", "kept", "1"));
        index.apply(sa("a", "vanished", "2"));
        index.apply(sa("gone", "app", "3"));
        index.reset([sa("a", "kept", "5"), sa("new", "app", "6")]);
        assert_eq!(index.len(), 2);
        assert_eq!(client_id(&index, "a", "kept").as_deref(), Some("5"));
        assert_eq!(client_id(&index, "new", "app").as_deref(), Some("6"));
        assert!(index.get("a", "vanished").is_none());
        assert!(index.get("gone", "app").is_none());
        index.reset([]);
        assert!(index.is_empty());
    }

    #[test]
    fn lookups_share_the_held_account() {
        let mut index = ServiceAccountIndex::default();
        index.apply(sa("a", "app", "1"));
        let first = index.get("a", "app").unwrap();
        let second = index.get("a", "app").unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        // A replacement does not change what an earlier lookup holds.
        index.apply(sa("a", "app", "2"));
        assert_eq!(first.annotation(CLIENT_ID_ANNOTATION), Some("1"));
    }

    #[test]
    fn accounts_of_one_namespace_share_its_name() {
        let mut index = ServiceAccountIndex::default();
        index.apply(sa("team", "a", "1"));
        index.apply(sa("team", "b", "2"));
        index.apply(sa("team", "a", "3"));
        let a = index.get("team", "a").unwrap();
        let b = index.get("team", "b").unwrap();
        assert!(Arc::ptr_eq(a.namespace_arc(), b.namespace_arc()));
        let (key, _) = index.namespaces.get_key_value("team").unwrap();
        assert!(Arc::ptr_eq(key, a.namespace_arc()));
    }

    #[test]
    fn namespaces_exist_while_they_hold_an_account() {
        let mut index = ServiceAccountIndex::default();
        assert!(!index.has_namespace("team-a"));
        index.apply(sa("team-a", "default", "c1"));
        assert!(index.has_namespace("team-a"));
        assert!(!index.has_namespace("team-b"));
        index.delete("team-a", "default");
        assert!(!index.has_namespace("team-a"));
    }
}
