//! Events (`events.k8s.io/v1`), published as kube-runtime's `Recorder`
//! publishes them (an event named `<object>.<nanoseconds in hex>`, the
//! reporting controller and instance, the same event again a `series` on
//! the first) at the cost a controller of 10,000 objects can carry.
//!
//! kube-runtime's recorder keeps every event it made for six minutes, whole,
//! and sweeps that cache under one write lock at every publish: a first sync
//! of 10,000 ExternalSecrets held 10,000 events and made every publish walk
//! all of them, one at a time. Here an event is remembered by the hash of
//! what makes it the same (the object, type, reason, action and note) with
//! only its name, count and when it was last seen; the sweep runs at most
//! once per [`SWEEP_EVERY`].

use std::{
    collections::HashMap,
    hash::{Hash as _, Hasher as _},
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::{core::v1::ObjectReference, events::v1::Event as K8sEvent},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

/// How long an event may be continued as a series (kube-runtime's and
/// client-go's six minutes).
pub const SERIES_FOR: Duration = Duration::from_secs(6 * 60);

/// How often remembered events older than [`SERIES_FOR`] are dropped.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// An event to publish about an object.
#[derive(Debug, Clone, Copy)]
pub struct Note<'a> {
    /// `Warning` rather than `Normal`.
    pub warning: bool,
    /// The event's `reason`.
    pub reason: &'a str,
    /// The event's `action`.
    pub action: &'a str,
    /// The event's `note`.
    pub note: &'a str,
}

/// One remembered event: where it is, how often it happened.
#[derive(Debug)]
struct Seen {
    name: String,
    count: i32,
    last: Instant,
}

#[derive(Debug)]
struct Memory {
    seen: HashMap<u64, Seen>,
    swept: Instant,
}

/// Publishes events as `controller` (`instance`: the pod's name).
pub struct Events {
    client: kube::Client,
    controller: String,
    instance: String,
    memory: Mutex<Memory>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("controller", &self.controller)
            .field("instance", &self.instance)
            .field("remembered", &self.remembered())
            .finish_non_exhaustive()
    }
}

/// What becomes of a publish, given what is remembered.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// A new event.
    Create,
    /// The event `name` happened again: its series is now `count`.
    Continue { name: String, count: i32 },
}

impl Events {
    /// Publishing as `controller`, from `instance` when given.
    #[must_use]
    pub fn new(client: kube::Client, controller: &str, instance: Option<String>) -> Self {
        Self {
            client,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
            memory: Mutex::new(Memory {
                seen: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    /// Publishes `note` about `regarding`: created, or the series of the
    /// same event made within [`SERIES_FOR`] continued.
    ///
    /// # Errors
    ///
    /// The API server's refusal.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        note: Note<'_>,
    ) -> Result<(), kube::Error> {
        let key = key(regarding, note);
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), namespace);
        let now = Timestamp::now();
        if let Step::Continue { name, count } = self.step(key, Instant::now()) {
            let series = json!({"series": {"count": count, "lastObservedTime": MicroTime(now)}});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&series))
                .await
            {
                Ok(_) => return Ok(()),
                // Gone already (the API server's event TTL): a new one.
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(error),
            }
        }
        let name = format!(
            "{}.{:x}",
            regarding.name.as_deref().unwrap_or(&self.controller),
            now.as_nanosecond()
        );
        let event = K8sEvent {
            action: Some(note.action.to_owned()),
            reason: Some(note.reason.to_owned()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: Some(note.note.to_owned()),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(name.clone()),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(if note.warning { "Warning" } else { "Normal" }.to_owned()),
            ..K8sEvent::default()
        };
        api.create(&PostParams::default(), &event).await?;
        self.remember(key, name, Instant::now());
        Ok(())
    }

    /// Events remembered now.
    #[must_use]
    pub fn remembered(&self) -> usize {
        self.lock().seen.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the event of `key` continues a series, counting it if so.
    fn step(&self, key: u64, now: Instant) -> Step {
        let mut memory = self.lock();
        if now.duration_since(memory.swept) >= SWEEP_EVERY {
            memory
                .seen
                .retain(|_, seen| now.duration_since(seen.last) < SERIES_FOR);
            memory.swept = now;
        }
        match memory.seen.get_mut(&key) {
            Some(seen) if now.duration_since(seen.last) < SERIES_FOR => {
                seen.count = seen.count.saturating_add(1);
                seen.last = now;
                Step::Continue {
                    name: seen.name.clone(),
                    count: seen.count,
                }
            }
            _ => Step::Create,
        }
    }

    fn remember(&self, key: u64, name: String, now: Instant) {
        self.lock().seen.insert(
            key,
            Seen {
                name,
                count: 1,
                last: now,
            },
        );
    }
}

/// What makes two events the same: the object (by uid, else by kind,
/// namespace and name), the type, reason, action and note.
fn key(regarding: &ObjectReference, note: Note<'_>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    match &regarding.uid {
        Some(uid) => uid.hash(&mut hasher),
        None => (&regarding.kind, &regarding.namespace, &regarding.name).hash(&mut hasher),
    }
    (note.warning, note.reason, note.action, note.note).hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(uid: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("ExternalSecret".to_owned()),
            namespace: Some("team-a".to_owned()),
            name: Some("db".to_owned()),
            uid: Some(uid.to_owned()),
            ..ObjectReference::default()
        }
    }

    const UPDATED: Note<'static> = Note {
        warning: false,
        reason: "Updated",
        action: "Reconcile",
        note: "Updated Secret",
    };

    fn events() -> Events {
        // Never reached: step and remember make no request.
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        Events::new(kube::Client::try_from(config).unwrap(), "secret-sync", None)
    }

    #[tokio::test]
    async fn the_same_event_again_continues_its_series_and_another_does_not() {
        let events = events();
        let t0 = Instant::now();
        let a = key(&object("uid-1"), UPDATED);
        assert_eq!(events.step(a, t0), Step::Create);
        events.remember(a, "db.1".to_owned(), t0);
        assert_eq!(
            events.step(a, t0 + Duration::from_secs(1)),
            Step::Continue {
                name: "db.1".to_owned(),
                count: 2
            }
        );
        assert_eq!(
            events.step(a, t0 + Duration::from_secs(2)),
            Step::Continue {
                name: "db.1".to_owned(),
                count: 3
            }
        );
        // Another note, another object, another type: each its own event.
        let other_note = Note {
            note: "secret synced",
            ..UPDATED
        };
        let warning = Note {
            warning: true,
            ..UPDATED
        };
        for other in [
            key(&object("uid-1"), other_note),
            key(&object("uid-2"), UPDATED),
            key(&object("uid-1"), warning),
        ] {
            assert_ne!(other, a);
            assert_eq!(events.step(other, t0), Step::Create);
        }
    }

    #[tokio::test]
    async fn a_series_ends_after_six_minutes_and_old_events_are_swept() {
        let events = events();
        let t0 = Instant::now();
        let a = key(&object("uid-1"), UPDATED);
        events.remember(a, "db.1".to_owned(), t0);
        for i in 0..1_000 {
            events.remember(
                key(&object(&format!("old-{i}")), UPDATED),
                format!("x.{i}"),
                t0,
            );
        }
        assert_eq!(events.remembered(), 1_001);
        // Six minutes later the same event starts anew, and the sweep has
        // dropped every event not seen since.
        assert_eq!(events.step(a, t0 + SERIES_FOR), Step::Create);
        assert_eq!(events.remembered(), 0);
        // A sweep runs at most every SWEEP_EVERY.
        let b = key(&object("uid-2"), UPDATED);
        let t1 = t0 + SERIES_FOR;
        events.remember(b, "db.2".to_owned(), t1);
        events.remember(
            a,
            "db.3".to_owned(),
            t1 - SERIES_FOR + Duration::from_secs(1),
        );
        assert_eq!(
            events.step(b, t1 + Duration::from_secs(2)),
            Step::Continue {
                name: "db.2".to_owned(),
                count: 2
            }
        );
        assert_eq!(events.remembered(), 2, "no sweep within SWEEP_EVERY");
        assert_eq!(
            events.step(b, t1 + SWEEP_EVERY),
            Step::Continue {
                name: "db.2".to_owned(),
                count: 3
            }
        );
        assert_eq!(events.remembered(), 1, "the old one swept");
    }
}
