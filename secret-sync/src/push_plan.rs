//! ESO's PushSecret controller decisions that do not need the API server:
//! the key of each store and entry in `status.syncedPushSecrets`, how a new
//! sync state is merged with the old one and which entries a `Delete`
//! deletion policy removes from the vault, when a PushSecret is due, the
//! Ready condition's messages, and one entry's push with `updatePolicy`
//! (`IfNotExists` asks the vault first and leaves an existing object
//! alone, whoever made it).
//!
//! Facts from external-secrets/external-secrets,
//! `pkg/controllers/pushsecret/pushsecret_controller.go` (`statusRef`,
//! `mergeSecretState`, `DeleteSecretFromProviders`, `shouldRefresh`,
//! `markAsDone`, `markAsFailed`, `pushSecretEntry`, its error texts).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use azure_wi_auth::SecretClient;

use crate::api::{PushSecretData, PushUpdatePolicy};
use crate::push_data;
use crate::push_vault::{self, ProviderError};

/// The finalizer ESO puts on a PushSecret whose `deletionPolicy` is
/// `Delete`, so its pushed objects are deleted before it goes.
pub const FINALIZER: &str = "pushsecret.externalsecrets.io/finalizer";
/// The Ready condition's message when the source Secret cannot be read.
pub const ERR_FAILED_GET_SECRET: &str = "could not get source secret";
/// The Ready condition's message once the source Secret is gone and the
/// pushed objects were deleted.
pub const SOURCE_DELETED: &str = "source secret deleted; provider secrets cleaned up";

/// `status.syncedPushSecrets`: by store (`Kind/name`), by entry
/// ([`status_ref`]).
pub type Synced = BTreeMap<String, BTreeMap<String, PushSecretData>>;

/// A store's key in the sync state: `SecretStore/name`.
#[must_use]
pub fn store_key(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

/// An entry's key in the sync state (`statusRef`): the remote key, with
/// `/property` when a property is named.
#[must_use]
pub fn status_ref(entry: &PushSecretData) -> String {
    let remote_key = &entry.match_.remote_ref.remote_key;
    match push_data::property(entry) {
        "" => remote_key.clone(),
        property => format!("{remote_key}/{property}"),
    }
}

/// `mergeSecretState`: no new state keeps the old; otherwise the union,
/// where an entry in both takes the old entry's value (as ESO's
/// `maps.Insert` of the old map into the new does).
#[must_use]
pub fn merge_state(new: Option<&Synced>, old: &Synced) -> Synced {
    let Some(new) = new else {
        return old.clone();
    };
    let mut out = new.clone();
    for (store, entries) in old {
        let merged = out.entry(store.clone()).or_default();
        for (entry, data) in entries {
            merged.insert(entry.clone(), data.clone());
        }
    }
    out
}

/// What `DeleteSecretFromProviders` deletes with `deletionPolicy:
/// Delete`: each old entry not in the new state (every entry of a store
/// no longer pushed to), as `(store key, entry)` in order.
#[must_use]
pub fn stale_entries(old: &Synced, new: &Synced) -> Vec<(String, PushSecretData)> {
    let mut out = Vec::new();
    for (store, entries) in old {
        let kept = new.get(store);
        for (entry, data) in entries {
            if kept.is_none_or(|k| !k.contains_key(entry)) {
                out.push((store.clone(), data.clone()));
            }
        }
    }
    out
}

/// `shouldRefresh`: a changed spec (resource version) always; with no
/// refresh interval, only then; otherwise once the interval since the
/// last sync has passed (or there was none).
#[must_use]
pub fn should_refresh(
    synced_resource_version: &str,
    resource_version: &str,
    refresh_interval: Duration,
    refresh_time: Option<SystemTime>,
    now: SystemTime,
) -> bool {
    if synced_resource_version != resource_version {
        return true;
    }
    if refresh_interval.is_zero() && !synced_resource_version.is_empty() {
        return false;
    }
    match refresh_time {
        None => true,
        Some(at) => at + refresh_interval < now,
    }
}

/// The Ready condition's message after a sync (`markAsDone`).
#[must_use]
pub fn done_message(policy: PushUpdatePolicy) -> String {
    let mut message = "PushSecret synced successfully".to_owned();
    if policy == PushUpdatePolicy::IfNotExists {
        message.push_str(". Existing secrets in providers unchanged.");
    }
    message
}

/// The Ready condition's message after a failed push (`errFailedSetSecret`).
#[must_use]
pub fn failed_message(error: &str) -> String {
    format!("set secret failed: {error}")
}

/// The Ready condition's message after a failed delete of stale entries.
#[must_use]
pub fn delete_failed_message(error: &str) -> String {
    format!("Failed to Delete Secrets from Provider: {error}")
}

/// Why one entry was not pushed, with ESO's texts (`pushSecretEntry`).
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// `match.secretKey` names no key of the Secret.
    #[error("secret key {0} does not exist")]
    MissingKey(String),
    /// `IfNotExists` could not learn whether the object exists.
    #[error("could not verify if secret exists in store: {0}")]
    Exists(#[source] ProviderError),
    /// The provider's push failed (ESO names the Secret's key there).
    #[error("could not write remote ref {key} to target secretstore {store}: {source}")]
    Write {
        /// `match.secretKey`.
        key: String,
        /// The store's name.
        store: String,
        /// Why.
        #[source]
        source: ProviderError,
    },
}

/// `pushSecretEntry` for one store, `data` being the entry's source
/// ([`push_data::entry_source`]): the named key must be in it; with
/// `IfNotExists` an object the vault has is left alone (`Ok(false)`);
/// otherwise the provider's push (`Ok(true)`, whether or not it had to
/// write).
///
/// # Errors
///
/// [`EntryError`], nothing written.
pub async fn push_entry(
    client: &SecretClient,
    data: &BTreeMap<String, Vec<u8>>,
    entry: &PushSecretData,
    policy: PushUpdatePolicy,
    store_name: &str,
) -> Result<bool, EntryError> {
    let key = push_data::secret_key(entry);
    let remote_key = &entry.match_.remote_ref.remote_key;
    if !key.is_empty() && !data.contains_key(key) {
        return Err(EntryError::MissingKey(key.to_owned()));
    }
    if policy == PushUpdatePolicy::IfNotExists {
        let exists = push_vault::secret_exists(client, remote_key)
            .await
            .map_err(EntryError::Exists)?;
        if exists {
            return Ok(false);
        }
    }
    push_vault::push_secret(
        client,
        data,
        Some(key).filter(|k| !k.is_empty()),
        remote_key,
        entry.metadata.as_ref(),
    )
    .await
    .map_err(|source| EntryError::Write {
        key: key.to_owned(),
        store: store_name.to_owned(),
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::api::{PushSecretMatch, PushSecretRemoteRef};

    fn entry(remote: &str) -> PushSecretData {
        PushSecretData {
            match_: PushSecretMatch {
                secret_key: Some("key".to_owned()),
                remote_ref: PushSecretRemoteRef {
                    remote_key: remote.to_owned(),
                    property: None,
                },
            },
            metadata: None,
            conversion_strategy: None,
        }
    }

    fn state(stores: &[(&str, &[&str])]) -> Synced {
        stores
            .iter()
            .map(|(store, remotes)| {
                (
                    (*store).to_owned(),
                    remotes
                        .iter()
                        .map(|r| ((*r).to_owned(), entry(r)))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn entries_are_keyed_by_remote_key_and_property() {
        assert_eq!(status_ref(&entry("db")), "db");
        let mut with_property = entry("db");
        with_property.match_.remote_ref.property = Some("password".to_owned());
        assert_eq!(status_ref(&with_property), "db/password");
        assert_eq!(store_key("SecretStore", "kv"), "SecretStore/kv");
    }

    #[test]
    fn sync_state_merges_as_eso_merges_it() {
        let old = state(&[("SecretStore/a", &["x", "y"]), ("SecretStore/b", &["z"])]);
        assert_eq!(merge_state(None, &old), old);
        let new = state(&[("SecretStore/a", &["x", "w"])]);
        let merged = merge_state(Some(&new), &old);
        assert_eq!(
            merged,
            state(&[
                ("SecretStore/a", &["w", "x", "y"]),
                ("SecretStore/b", &["z"])
            ])
        );
        // An entry in both keeps the old one's data.
        let mut changed = new.clone();
        changed
            .get_mut("SecretStore/a")
            .unwrap()
            .get_mut("x")
            .unwrap()
            .match_
            .secret_key = Some("other".to_owned());
        assert_eq!(
            merge_state(Some(&changed), &old)["SecretStore/a"]["x"]
                .match_
                .secret_key
                .as_deref(),
            Some("key")
        );
    }

    #[test]
    fn a_delete_policy_removes_what_is_no_longer_pushed() {
        let old = state(&[("SecretStore/a", &["x", "y"]), ("SecretStore/b", &["z"])]);
        let new = state(&[("SecretStore/a", &["x"])]);
        let stale: Vec<(String, String)> = stale_entries(&old, &new)
            .into_iter()
            .map(|(store, e)| (store, e.match_.remote_ref.remote_key))
            .collect();
        assert_eq!(
            stale,
            [
                ("SecretStore/a".to_owned(), "y".to_owned()),
                ("SecretStore/b".to_owned(), "z".to_owned())
            ]
        );
        assert!(stale_entries(&new, &old).is_empty());
    }

    #[test]
    fn refreshes_when_eso_would() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let hour = Duration::from_secs(3600);
        let ago = |s: u64| Some(now - Duration::from_secs(s));
        for (synced, current, interval, last, due) in [
            ("1", "2", hour, ago(1), true),
            ("2", "2", Duration::ZERO, ago(1), false),
            ("", "", Duration::ZERO, None, true),
            ("2", "2", hour, None, true),
            ("2", "2", hour, ago(60), false),
            ("2", "2", hour, ago(3601), true),
        ] {
            assert_eq!(
                should_refresh(synced, current, interval, last, now),
                due,
                "{synced} {current} {interval:?} {last:?}"
            );
        }
    }

    #[test]
    fn messages_are_esos() {
        assert_eq!(
            done_message(PushUpdatePolicy::Replace),
            "PushSecret synced successfully"
        );
        assert_eq!(
            done_message(PushUpdatePolicy::IfNotExists),
            "PushSecret synced successfully. Existing secrets in providers unchanged."
        );
        assert_eq!(failed_message("boom"), "set secret failed: boom");
        assert_eq!(
            delete_failed_message("boom"),
            "Failed to Delete Secrets from Provider: boom"
        );
    }
}
