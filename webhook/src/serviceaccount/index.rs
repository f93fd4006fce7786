//! The ServiceAccounts of the cluster as a pure index, shaped like kubert's
//! indexes: the watcher feeds it `apply`, `delete` and `reset` (a re-list),
//! lookups read it. It does no I/O, so its semantics are unit-tested here
//! without an API server.

use std::{collections::HashMap, sync::Arc};

use azure_wi_core::ServiceAccountInfo;

/// ServiceAccounts by namespace and name.
///
/// Sized for every ServiceAccount of a large cluster, most of which carry
/// no workload identity annotation: such an account is held as its name
/// alone, in one sorted string of such names per namespace, and a lookup
/// builds its [`ServiceAccountInfo`] (sharing the namespace's name, copying
/// its own).
/// An account with a kept annotation is held whole, behind an `Arc` that a
/// lookup hands out as is. The namespace's name is held once: its map key
/// and every account in it share one `Arc<str>`.
#[derive(Debug, Default)]
pub struct ServiceAccountIndex {
    namespaces: HashMap<Arc<str>, Namespace>,
    len: usize,
}

/// The accounts of one namespace, each in exactly one of the two lists.
#[derive(Debug, Default)]
struct Namespace {
    /// Names of the accounts without kept annotations.
    plain: Names,
    /// Accounts with at least one kept annotation, sorted by name.
    annotated: Vec<Arc<ServiceAccountInfo>>,
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
        let namespace = self
            .namespaces
            .entry(Arc::clone(account.namespace_arc()))
            .or_default();
        let (removed, added) = namespace.apply(account);
        self.len = self.len - usize::from(removed) + usize::from(added);
    }

    /// Removes `namespace/name` if held (a watch `Delete`).
    pub fn delete(&mut self, namespace: &str, name: &str) {
        let Some(held) = self.namespaces.get_mut(namespace) else {
            return;
        };
        if held.remove(name) {
            self.len -= 1;
        }
        if held.is_empty() {
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
        self.shrink_to_fit();
    }

    /// Gives back the room that growing by `apply` left unused: for an
    /// index built by a re-list, once it is complete.
    pub fn shrink_to_fit(&mut self) {
        self.namespaces.shrink_to_fit();
        for namespace in self.namespaces.values_mut() {
            namespace.plain.shrink_to_fit();
            namespace.annotated.shrink_to_fit();
        }
    }

    /// The account at `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<ServiceAccountInfo>> {
        let (shared, held) = self.namespaces.get_key_value(namespace)?;
        if let Ok(i) = held.find_annotated(name) {
            return Some(Arc::clone(&held.annotated[i]));
        }
        held.find_plain(name).ok().map(|_| {
            Arc::new(ServiceAccountInfo::new(
                Arc::clone(shared),
                name,
                std::iter::empty(),
            ))
        })
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

// === impl Namespace ===

impl Namespace {
    /// Holds `account` in the list its annotations call for, out of the
    /// other; returns whether an account of its name was removed and
    /// whether one was added, for the index's count.
    fn apply(&mut self, account: ServiceAccountInfo) -> (bool, bool) {
        let name = account.name();
        if account.annotations().len() == 0 {
            let removed = self.remove_annotated(name);
            match self.find_plain(name) {
                Ok(_) => (removed, removed),
                Err(i) => {
                    self.plain.insert(i, name);
                    (removed, true)
                }
            }
        } else {
            let removed = self.remove_plain(name);
            match self.find_annotated(name) {
                Ok(i) => {
                    self.annotated[i] = Arc::new(account);
                    (removed, removed)
                }
                Err(i) => {
                    self.annotated.insert(i, Arc::new(account));
                    (removed, true)
                }
            }
        }
    }

    /// Removes the account `name`; whether it was held.
    fn remove(&mut self, name: &str) -> bool {
        self.remove_plain(name) || self.remove_annotated(name)
    }

    fn remove_plain(&mut self, name: &str) -> bool {
        self.find_plain(name).map(|i| self.plain.remove(i)).is_ok()
    }

    fn remove_annotated(&mut self, name: &str) -> bool {
        self.find_annotated(name)
            .map(|i| self.annotated.remove(i))
            .is_ok()
    }

    fn find_plain(&self, name: &str) -> Result<usize, usize> {
        self.plain.find(name)
    }

    fn find_annotated(&self, name: &str) -> Result<usize, usize> {
        self.annotated
            .binary_search_by(|held| held.name().cmp(name))
    }

    fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.annotated.is_empty()
    }
}

// === impl Names ===

/// Sorted names packed into one string, with where each ends: about the
/// name's own bytes and four more per name, where a `Vec<Box<str>>` costs
/// an allocation (at least 32 bytes) and a 16-byte pointer.
#[derive(Debug, Default)]
struct Names {
    text: String,
    /// `ends[i]` is where name `i` ends in `text` (and name `i + 1` starts).
    ends: Vec<u32>,
}

impl Names {
    fn start(&self, i: usize) -> usize {
        i.checked_sub(1)
            .map_or(0, |before| self.ends[before] as usize)
    }

    fn name(&self, i: usize) -> &str {
        &self.text[self.start(i)..self.ends[i] as usize]
    }

    /// Where `name` is (`Ok`) or would be inserted (`Err`), as
    /// `binary_search` answers.
    fn find(&self, name: &str) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.name(middle).cmp(name) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(middle),
            }
        }
        Err(low)
    }

    /// Inserts `name` as name `i`, where `find` said it belongs.
    fn insert(&mut self, i: usize, name: &str) {
        let start = self.start(i);
        let len = offset(name.len());
        self.text.insert_str(start, name);
        self.ends.insert(i, offset(start) + len);
        for end in &mut self.ends[i + 1..] {
            *end += len;
        }
    }

    /// Removes name `i`.
    fn remove(&mut self, i: usize) {
        let (start, end) = (self.start(i), self.ends[i] as usize);
        self.text.replace_range(start..end, "");
        self.ends.remove(i);
        let len = offset(end - start);
        for end in &mut self.ends[i..] {
            *end -= len;
        }
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// A position in a namespace's packed names: Kubernetes names are at most
/// 253 bytes, so 4 GiB would take some 17 million accounts in one namespace.
fn offset(position: usize) -> u32 {
    u32::try_from(position).expect("a namespace's names total less than 4 GiB")
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
    fn accounts_without_kept_annotations_are_found_by_name() {
        let mut index = ServiceAccountIndex::default();
        index.apply(ServiceAccountInfo::new("team", "plain", []));
        index.apply(ServiceAccountInfo::new(
            "team",
            "other",
            [("example.com/unrelated".to_owned(), "x".to_owned())],
        ));
        index.apply(sa("team", "annotated", "1"));
        assert_eq!(index.len(), 3);
        let plain = index.get("team", "plain").unwrap();
        assert_eq!((plain.namespace(), plain.name()), ("team", "plain"));
        assert_eq!(plain.annotations().len(), 0);
        let annotated = index.get("team", "annotated").unwrap();
        assert!(Arc::ptr_eq(
            plain.namespace_arc(),
            annotated.namespace_arc()
        ));
        assert!(index.get("team", "plai").is_none());
        assert!(index.get("team", "plainer").is_none());
    }

    #[test]
    fn an_account_gaining_or_losing_its_annotations_is_held_once() {
        let mut index = ServiceAccountIndex::default();
        index.apply(ServiceAccountInfo::new("team", "app", []));
        index.apply(ServiceAccountInfo::new("team", "app", []));
        assert_eq!(index.len(), 1);
        index.apply(sa("team", "app", "1"));
        assert_eq!(index.len(), 1);
        assert_eq!(client_id(&index, "team", "app").as_deref(), Some("1"));
        index.apply(ServiceAccountInfo::new("team", "app", []));
        assert_eq!(index.len(), 1);
        assert_eq!(client_id(&index, "team", "app"), None);
        assert!(index.get("team", "app").is_some());
        index.delete("team", "app");
        assert!(index.is_empty());
        assert!(index.get("team", "app").is_none());
        assert!(!index.has_namespace("team"));
    }

    #[test]
    fn packed_names_follow_a_sorted_set() {
        let mut names = Names::default();
        let mut model = std::collections::BTreeSet::new();
        // Inserts and removals in a scrambled order, names of varied length.
        for step in 0..600u32 {
            let name = format!("sa-{}", (step * 7_919) % 211);
            match (names.find(&name), step % 3) {
                (Ok(i), 0) => {
                    names.remove(i);
                    assert!(model.remove(&name));
                }
                (Ok(_), _) => assert!(model.contains(&name)),
                (Err(i), _) => {
                    names.insert(i, &name);
                    assert!(model.insert(name));
                }
            }
            let held: Vec<&str> = (0..names.ends.len()).map(|i| names.name(i)).collect();
            let expected: Vec<&str> = model.iter().map(String::as_str).collect();
            assert_eq!(held, expected, "after step {step}");
        }
        assert!(names.find("").is_err());
        assert!(names.find("sa-").is_err());
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
