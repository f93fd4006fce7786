//! The PushSecret reconciler: reads the source Secret and the stores,
//! pushes each entry into each store's vault, deletes what is no longer
//! pushed when `deletionPolicy: Delete` asks, and writes the status. The
//! decisions are [`crate::push_data`]'s, [`crate::push_plan`]'s and
//! [`crate::push_vault`]'s; this file reads and writes the API server and
//! the vault in the order of ESO's reconcile
//! (external-secrets/external-secrets
//! `pkg/controllers/pushsecret/pushsecret_controller.go`), with its
//! conditions, events and texts.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use k8s_openapi::{api::core::v1::Secret, jiff::Timestamp};
use kube::{
    Api, Resource as _, ResourceExt,
    api::{ListParams, Patch, PatchParams},
    runtime::controller::Action,
};
use serde_json::{Value, json};

use super::{
    Context,
    external_secret::{ReconcileError, Stop, SyncFailure, apply_template, identity_of, load_store},
    status::{publish, ready},
};
use crate::{
    api::{
        ClusterSecretStore, Condition, MergePolicy, PushDeletionPolicy, PushSecret,
        PushSecretStatus, SecretStore, StoreKind,
    },
    duration::parse_go_duration,
    fetch::{Caller, FetchError},
    push_data::{self, StoreInfo},
    push_plan::{self, Synced},
    push_vault,
    schedule::spec_version,
    selector::LabelQuery,
};

/// `Ready`'s reasons on a PushSecret (ESO's `ReasonSynced`,
/// `ReasonErrored`, `ReasonSourceDeleted`), also its events' reasons.
mod reason {
    pub(super) const SYNCED: &str = "Synced";
    pub(super) const ERRORED: &str = "Errored";
    pub(super) const SOURCE_DELETED: &str = "SourceDeleted";
}

/// ESO's default `refreshInterval`.
const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

fn kube_error(what: &'static str) -> impl Fn(kube::Error) -> ReconcileError {
    move |source| ReconcileError::Kube { what, source }
}

/// A store pushed to, as the reconcile resolved it.
struct Store {
    name: String,
    kind: StoreKind,
    labels: BTreeMap<String, String>,
}

impl Store {
    fn info(&self) -> StoreInfo<'_> {
        StoreInfo {
            name: &self.name,
            kind: self.kind,
            labels: &self.labels,
        }
    }
}

/// The status being built; written once at the end, as ESO's deferred
/// patch does.
struct Outcome {
    status: PushSecretStatus,
    event: Option<(bool, &'static str, String)>,
}

impl Outcome {
    fn new(ps: &PushSecret) -> Self {
        Self {
            status: ps.status.clone().unwrap_or_default(),
            event: None,
        }
    }

    fn condition(&mut self, ok: bool, reason: &'static str, message: &str) {
        let condition: Condition = ready(&self.status.conditions, ok, reason, message);
        self.status.conditions.retain(|c| c.type_ != "Ready");
        self.status.conditions.push(condition);
    }

    /// `markAsFailed`: `Ready=False`, `Errored`, a Warning event; the sync
    /// state replaced when one is given.
    fn failed(&mut self, message: &str, synced: Option<Synced>) {
        self.condition(false, reason::ERRORED, message);
        if let Some(synced) = synced {
            self.status.synced_push_secrets = synced;
        }
        self.event = Some((true, reason::ERRORED, message.to_owned()));
    }

    /// `markAsDone`.
    fn done(&mut self, ps: &PushSecret, synced: Synced, started: Timestamp) {
        let message = push_plan::done_message(ps.spec.update_policy.unwrap_or_default());
        self.condition(true, reason::SYNCED, &message);
        self.status.synced_push_secrets = synced;
        self.status.refresh_time = Some(started.to_string());
        self.status.synced_resource_version = Some(version_of(ps));
        self.event = Some((false, reason::SYNCED, message));
    }

    /// `markAsSourceDeleted`.
    fn source_deleted(&mut self) {
        self.condition(false, reason::SOURCE_DELETED, push_plan::SOURCE_DELETED);
        self.status.synced_push_secrets = Synced::new();
        self.event = Some((
            false,
            reason::SOURCE_DELETED,
            push_plan::SOURCE_DELETED.to_owned(),
        ));
    }

    async fn write(self, ctx: &Context, ps: &PushSecret) -> Result<(), ReconcileError> {
        if let Some((warning, reason, note)) = &self.event {
            publish(&ctx.recorder, &ps.object_ref(&()), *warning, reason, note).await;
        }
        if ps.status.as_ref() == Some(&self.status) {
            return Ok(());
        }
        let api: Api<PushSecret> =
            Api::namespaced(ctx.client.clone(), &ps.namespace().unwrap_or_default());
        let ops = status_ops(ps.status.as_ref(), &self.status);
        let patch: json_patch::Patch =
            serde_json::from_value(Value::Array(ops)).map_err(ReconcileError::Encode)?;
        api.patch_status(
            &ps.name_any(),
            &PatchParams::default(),
            &Patch::<()>::Json(patch),
        )
        .await
        .map_err(kube_error("writing the PushSecret's status"))?;
        Ok(())
    }
}

/// A JSON patch turning `old` into `new`, each field replaced whole (a
/// merge patch would merge the sync state's maps and keep what `new`
/// drops). A status that changed meanwhile is overwritten, as ESO's
/// deferred patch does.
fn status_ops(old: Option<&PushSecretStatus>, new: &PushSecretStatus) -> Vec<Value> {
    let value = serde_json::to_value(new).unwrap_or_else(|_| json!({}));
    let Some(old) = old else {
        return vec![json!({"op": "add", "path": "/status", "value": value})];
    };
    let old = serde_json::to_value(old).unwrap_or_else(|_| json!({}));
    let mut ops = Vec::new();
    for field in [
        "refreshTime",
        "syncedResourceVersion",
        "syncedPushSecrets",
        "conditions",
    ] {
        let path = format!("/status/{field}");
        match (old.get(field), value.get(field)) {
            (_, Some(v)) => ops.push(json!({"op": "add", "path": path, "value": v})),
            (Some(_), None) => ops.push(json!({"op": "remove", "path": path})),
            (None, None) => {}
        }
    }
    ops
}

fn version_of(ps: &PushSecret) -> String {
    spec_version(
        ps.metadata.generation.unwrap_or_default(),
        ps.labels(),
        ps.annotations(),
    )
}

/// Why a step failed: the message ESO's condition shows, or the API
/// server's failure (retried by the error policy).
enum Failure {
    Message(String),
    Api(ReconcileError),
}

impl From<Stop> for Failure {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Failed(failure) => Self::Message(failure.to_string()),
            Stop::Api(error) => Self::Api(error),
        }
    }
}

/// A client of `store`'s vault as the identity the store names, for
/// `requests` requests.
async fn client_for(
    ctx: &Context,
    store: &Store,
    namespace: &str,
    requests: usize,
) -> Result<azure_wi_auth::SecretClient, Failure> {
    let azure = load_store(ctx, store.kind, &store.name, namespace).await?;
    let identity = identity_of(ctx, &azure, namespace).await?;
    let caller = match &identity {
        Some((identity, token)) => Caller::Workload(identity, token),
        None => Caller::Controller,
    };
    ctx.reader
        .writer(&azure, caller, requests)
        .map_err(|e| match e {
            FetchError::Throttled(wait) => Failure::Message(format!(
                "the vault's request budget is spent; retrying in {}s",
                wait.as_secs().max(1)
            )),
            FetchError::NotFound(key) => Failure::Message(format!("{key} not found")),
            FetchError::Failed(error) => Failure::Message(error.to_string()),
        })
}

/// ESO's `errGetSecretStore`/`errGetClusterSecretStore` with the API
/// server's not-found text.
fn store_missing(kind: StoreKind, name: &str) -> String {
    match kind {
        StoreKind::SecretStore => format!(
            "could not get SecretStore {name:?}, secretstores.external-secrets.io {name:?} not found"
        ),
        StoreKind::ClusterSecretStore => format!(
            "could not get ClusterSecretStore {name:?}, clustersecretstores.external-secrets.io {name:?} not found"
        ),
    }
}

/// `GetSecretStores`: each `secretStoreRefs` entry by name, or every
/// store of its kind whose labels match; stores being deleted left out.
async fn stores_of(ctx: &Context, ps: &PushSecret, namespace: &str) -> Result<Vec<Store>, Failure> {
    let mut out: BTreeMap<(String, String), Store> = BTreeMap::new();
    let mut add =
        |kind: StoreKind, meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
            if meta.deletion_timestamp.is_some() {
                return;
            }
            let name = meta.name.clone().unwrap_or_default();
            out.insert(
                (push_data::kind_name(kind).to_owned(), name.clone()),
                Store {
                    name,
                    kind,
                    labels: meta.labels.clone().unwrap_or_default(),
                },
            );
        };
    for (i, reference) in ps.spec.secret_store_refs.iter().enumerate() {
        if let Some(selector) = &reference.label_selector {
            let query = LabelQuery::parse(
                selector,
                &format!("spec.secretStoreRefs[{i}].labelSelector"),
            )
            .map_err(|e| Failure::Message(format!("could not convert labels: {e}")))?;
            let params = ListParams::default().labels(&query.query());
            match reference.kind {
                StoreKind::SecretStore => {
                    let listed = Api::<SecretStore>::namespaced(ctx.client.clone(), namespace)
                        .list(&params)
                        .await
                        .map_err(|e| {
                            Failure::Message(format!("could not list Secret Stores: {e}"))
                        })?;
                    for store in &listed.items {
                        add(StoreKind::SecretStore, &store.metadata);
                    }
                }
                StoreKind::ClusterSecretStore => {
                    let listed = Api::<ClusterSecretStore>::all(ctx.client.clone())
                        .list(&params)
                        .await
                        .map_err(|e| {
                            Failure::Message(format!("could not list cluster Secret Stores: {e}"))
                        })?;
                    for store in &listed.items {
                        add(StoreKind::ClusterSecretStore, &store.metadata);
                    }
                }
            }
            continue;
        }
        let Some(name) = reference.name.as_deref().filter(|n| !n.is_empty()) else {
            return Err(Failure::Message(
                "refStore Name must be provided".to_owned(),
            ));
        };
        let meta = match reference.kind {
            StoreKind::SecretStore => Api::<SecretStore>::namespaced(ctx.client.clone(), namespace)
                .get_opt(name)
                .await
                .map_err(kube_error("reading the SecretStore"))
                .map_err(Failure::Api)?
                .map(|s| s.metadata),
            StoreKind::ClusterSecretStore => Api::<ClusterSecretStore>::all(ctx.client.clone())
                .get_opt(name)
                .await
                .map_err(kube_error("reading the ClusterSecretStore"))
                .map_err(Failure::Api)?
                .map(|s| s.metadata),
        };
        let Some(meta) = meta else {
            return Err(Failure::Message(store_missing(reference.kind, name)));
        };
        add(reference.kind, &meta);
    }
    Ok(out.into_values().collect())
}

/// The source Secrets' data: one by name, or every Secret whose labels
/// match. `Ok(None)`: the named Secret does not exist. A selector that
/// does not parse, or none, fails with ESO's `could not get source
/// secret` alone (`resolveSecrets`' error is not in ESO's text); the cause
/// is logged.
async fn sources_of(
    ctx: &Context,
    ps: &PushSecret,
    namespace: &str,
) -> Result<Option<Vec<Secret>>, Failure> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let source = ps.spec.selector.secret.as_ref();
    if let Some(name) = source
        .and_then(|s| s.name.as_deref())
        .filter(|n| !n.is_empty())
    {
        return api
            .get_opt(name)
            .await
            .map(|found| found.map(|s| vec![s]))
            .map_err(|e| Failure::Message(format!("{}: {e}", push_plan::ERR_FAILED_GET_SECRET)));
    }
    if let Some(selector) = source.and_then(|s| s.selector.as_ref()) {
        // ESO's text, then what is wrong (ESO's condition stops at its
        // text; bad input names its field here).
        let query = LabelQuery::parse(selector, "spec.selector.secret.selector")
            .map_err(|e| Failure::Message(format!("{}: {e}", push_plan::ERR_FAILED_GET_SECRET)))?;
        return api
            .list(&ListParams::default().labels(&query.query()))
            .await
            .map(|listed| Some(listed.items))
            .map_err(|e| Failure::Message(format!("{}: {e}", push_plan::ERR_FAILED_GET_SECRET)));
    }
    Err(Failure::Message(format!(
        "{}: spec.selector.secret: no secret selector provided (name or selector)",
        push_plan::ERR_FAILED_GET_SECRET
    )))
}

fn data_of(secret: &Secret) -> BTreeMap<String, Vec<u8>> {
    secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}

/// `applyTemplate`: the template's values over the source's (the source
/// Secret itself is never written).
async fn templated(
    ctx: &Context,
    ps: &PushSecret,
    namespace: &str,
    data: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, Failure> {
    let Some(template) = &ps.spec.template else {
        return Ok(data);
    };
    let mut template = template.clone();
    template.merge_policy = Some(MergePolicy::Merge);
    match apply_template(ctx, namespace, &template, &data).await {
        Ok(rendered) => Ok(rendered.data),
        Err(Stop::Failed(SyncFailure::Template(e))) => {
            Err(Failure::Message(format!("could not execute template: {e}")))
        }
        Err(stop) => Err(stop.into()),
    }
}

/// `PushSecretToProviders` for one source: each store's entries pushed;
/// the sync state of what was pushed (up to a failure) and the failure.
async fn push_to_stores(
    ctx: &Context,
    ps: &PushSecret,
    namespace: &str,
    stores: &[Store],
    data: &BTreeMap<String, Vec<u8>>,
) -> (Synced, Option<Failure>) {
    let mut synced = Synced::new();
    let policy = ps.spec.update_policy.unwrap_or_default();
    for store in stores {
        let key = push_data::store_key(store.info());
        let pushed = synced.entry(key).or_default();
        let entries = match push_data::entries_for_store(&ps.spec, data, store.info()) {
            Ok(entries) => entries,
            Err(e) => return (synced, Some(Failure::Message(e))),
        };
        // A read and a write per entry.
        let client = match client_for(ctx, store, namespace, entries.len() * 2).await {
            Ok(client) => client,
            Err(Failure::Message(e)) => {
                return (
                    synced,
                    Some(Failure::Message(format!(
                        "could not get secrets client for store {}: {e}",
                        store.name
                    ))),
                );
            }
            Err(api) => return (synced, Some(api)),
        };
        for entry in &entries {
            let source = match push_data::entry_source(entry, data) {
                Ok(source) => source,
                Err(e) => return (synced, Some(Failure::Message(e))),
            };
            if let Err(e) =
                push_plan::push_entry(&client, &source, &entry.data, policy, &store.name).await
            {
                return (synced, Some(Failure::Message(e.to_string())));
            }
            pushed.insert(push_plan::status_ref(&entry.data), entry.data.clone());
        }
    }
    (synced, None)
}

/// `DeleteSecretFromProviders`: every entry of `old` not in `new` deleted
/// from its store's vault; the state left (what could not be deleted
/// stays) and the failure.
async fn delete_stale(
    ctx: &Context,
    namespace: &str,
    old: &Synced,
    new: &Synced,
) -> (Synced, Option<Failure>) {
    let mut state = push_plan::merge_state(Some(new), old);
    for (store_key, entry) in push_plan::stale_entries(old, new) {
        let Some((kind, name)) = store_key.split_once('/') else {
            continue;
        };
        let kind = if kind == "ClusterSecretStore" {
            StoreKind::ClusterSecretStore
        } else {
            StoreKind::SecretStore
        };
        let store = Store {
            name: name.to_owned(),
            kind,
            labels: BTreeMap::new(),
        };
        let client = match client_for(ctx, &store, namespace, 2).await {
            Ok(client) => client,
            Err(Failure::Message(e)) => {
                return (
                    state,
                    Some(Failure::Message(format!(
                        "could not get secrets client for store {store_key}: {e}"
                    ))),
                );
            }
            Err(api) => return (state, Some(api)),
        };
        if let Err(e) =
            push_vault::delete_secret(&client, &entry.match_.remote_ref.remote_key).await
        {
            return (state, Some(Failure::Message(e.to_string())));
        }
        if let Some(entries) = state.get_mut(&store_key) {
            entries.remove(&push_plan::status_ref(&entry));
            if entries.is_empty() && !new.contains_key(&store_key) {
                state.remove(&store_key);
            }
        }
    }
    (state, None)
}

/// The finalizers with ours added or removed; `None` when nothing changes.
fn set_finalizer(ps: &PushSecret, add: bool) -> Option<Vec<String>> {
    let mut finalizers = ps.finalizers().to_vec();
    let has = finalizers.iter().any(|f| f == push_plan::FINALIZER);
    match (add, has) {
        (true, false) => finalizers.push(push_plan::FINALIZER.to_owned()),
        (false, true) => finalizers.retain(|f| f != push_plan::FINALIZER),
        _ => return None,
    }
    Some(finalizers)
}

async fn write_finalizers(
    ctx: &Context,
    ps: &PushSecret,
    finalizers: Vec<String>,
) -> Result<(), ReconcileError> {
    let api: Api<PushSecret> =
        Api::namespaced(ctx.client.clone(), &ps.namespace().unwrap_or_default());
    // The resource version makes a stale view fail (409) instead of
    // dropping another controller's finalizer.
    api.patch(
        &ps.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&json!({
            "metadata": {
                "finalizers": finalizers,
                "resourceVersion": ps.resource_version(),
            }
        })),
    )
    .await
    .map_err(kube_error("updating the PushSecret's finalizers"))?;
    Ok(())
}

/// A failed reconcile: the status, then a retry with backoff.
async fn failed(
    ctx: &Context,
    ps: &PushSecret,
    mut outcome: Outcome,
    failure: Failure,
    synced: Option<Synced>,
) -> Result<Action, ReconcileError> {
    match failure {
        Failure::Api(error) => {
            outcome.write(ctx, ps).await?;
            Err(error)
        }
        Failure::Message(message) => {
            tracing::warn!(pushsecret = %ps.name_any(), namespace = ps.namespace().unwrap_or_default(), reason = %message, "push failed");
            ctx.metrics.failed();
            outcome.failed(&message, synced);
            outcome.write(ctx, ps).await?;
            Ok(Action::requeue(ctx.backoff.failed(&super::uid(ps))))
        }
    }
}

/// Reconciles a PushSecret.
///
/// # Errors
///
/// The API server cannot be read or written: retried with backoff. A
/// failure the user can fix is in the status instead.
pub async fn reconcile_push_secret(
    ps: Arc<PushSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Timestamp::now();
    let namespace = ps.namespace().unwrap_or_default();
    let mut outcome = Outcome::new(&ps);
    let old = outcome.status.synced_push_secrets.clone();
    let deleting = ps.metadata.deletion_timestamp.is_some();
    let policy = ps.spec.deletion_policy.unwrap_or_default();

    match policy {
        PushDeletionPolicy::Delete if !deleting => {
            if let Some(finalizers) = set_finalizer(&ps, true) {
                write_finalizers(&ctx, &ps, finalizers).await?;
                // The change brings the PushSecret back.
                return Ok(Action::await_change());
            }
        }
        PushDeletionPolicy::Delete => {
            let Some(finalizers) = set_finalizer(&ps, false) else {
                return Ok(Action::await_change());
            };
            let (state, failure) = delete_stale(&ctx, &namespace, &old, &Synced::new()).await;
            if let Some(failure) = failure {
                let failure = match failure {
                    Failure::Message(m) => Failure::Message(push_plan::delete_failed_message(&m)),
                    api => api,
                };
                return failed(&ctx, &ps, outcome, failure, Some(state)).await;
            }
            write_finalizers(&ctx, &ps, finalizers).await?;
            return Ok(Action::await_change());
        }
        PushDeletionPolicy::None => {
            if let Some(finalizers) = set_finalizer(&ps, false) {
                write_finalizers(&ctx, &ps, finalizers).await?;
            }
            if deleting {
                return Ok(Action::await_change());
            }
        }
    }

    let refresh = match ps.spec.refresh_interval.as_deref() {
        None => DEFAULT_REFRESH,
        Some(text) => match parse_go_duration(text) {
            Some(refresh) => refresh,
            None => {
                let message = format!(
                    "spec.refreshInterval: {text:?} is not a Go duration (such as 1h, 30m or 0)"
                );
                return failed(&ctx, &ps, outcome, Failure::Message(message), None).await;
            }
        },
    };
    let now = std::time::SystemTime::now();
    let last = outcome
        .status
        .refresh_time
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(std::time::SystemTime::from);
    let synced_version = outcome
        .status
        .synced_resource_version
        .clone()
        .unwrap_or_default();
    if !push_plan::should_refresh(&synced_version, &version_of(&ps), refresh, last, now) {
        if refresh.is_zero() {
            return Ok(Action::await_change());
        }
        let since = last
            .and_then(|at| now.duration_since(at).ok())
            .unwrap_or_default();
        return Ok(Action::requeue(
            refresh.saturating_sub(since) + Duration::from_secs(5),
        ));
    }

    let unsupported = unsupported_fields(&ps);
    if !unsupported.is_empty() {
        let message = format!(
            "secret-sync does not serve {} of a PushSecret",
            unsupported.join(", ")
        );
        return failed(&ctx, &ps, outcome, Failure::Message(message), None).await;
    }
    if let Err(e) = push_data::check_data_to(&ps.spec) {
        return failed(&ctx, &ps, outcome, Failure::Message(e), None).await;
    }
    let sources = match sources_of(&ctx, &ps, &namespace).await {
        Ok(Some(sources)) => sources,
        Ok(None) => {
            if policy == PushDeletionPolicy::Delete && !old.is_empty() {
                let (state, failure) = delete_stale(&ctx, &namespace, &old, &Synced::new()).await;
                if let Some(failure) = failure {
                    let failure = match failure {
                        Failure::Message(m) => {
                            Failure::Message(format!("failed to cleanup provider secrets: {m}"))
                        }
                        api => api,
                    };
                    return failed(&ctx, &ps, outcome, failure, Some(state)).await;
                }
                outcome.source_deleted();
                outcome.write(&ctx, &ps).await?;
                ctx.backoff.succeeded(&super::uid(ps.as_ref()));
                return Ok(Action::await_change());
            }
            // ESO reconciles a PushSecret again only when it changes: once
            // cleaned up, it stays so until then.
            let cleaned_up =
                outcome.status.conditions.iter().any(|c| {
                    c.type_ == "Ready" && c.reason.as_deref() == Some(reason::SOURCE_DELETED)
                });
            if cleaned_up && synced_version == version_of(&ps) {
                return Ok(Action::await_change());
            }
            let message = push_plan::ERR_FAILED_GET_SECRET.to_owned();
            return failed(&ctx, &ps, outcome, Failure::Message(message), None).await;
        }
        Err(failure) => return failed(&ctx, &ps, outcome, failure, None).await,
    };
    let stores = match stores_of(&ctx, &ps, &namespace).await {
        Ok(stores) => stores,
        Err(failure) => return failed(&ctx, &ps, outcome, failure, None).await,
    };
    if stores.is_empty() {
        return Ok(Action::requeue(refresh));
    }
    let infos: Vec<StoreInfo<'_>> = stores.iter().map(Store::info).collect();
    if let Err(e) = push_data::check_data_to_stores(&ps.spec, &infos) {
        return failed(&ctx, &ps, outcome, Failure::Message(e), None).await;
    }

    let mut all = Synced::new();
    for source in &sources {
        let data = match templated(&ctx, &ps, &namespace, data_of(source)).await {
            Ok(data) => data,
            Err(failure) => return failed(&ctx, &ps, outcome, failure, None).await,
        };
        let (synced, failure) = push_to_stores(&ctx, &ps, &namespace, &stores, &data).await;
        if let Some(failure) = failure {
            let failure = match failure {
                Failure::Message(m) => Failure::Message(push_plan::failed_message(&m)),
                api => api,
            };
            let total = push_plan::merge_state(Some(&synced), &old);
            return failed(&ctx, &ps, outcome, failure, Some(total)).await;
        }
        if policy == PushDeletionPolicy::Delete {
            let (state, failure) = delete_stale(&ctx, &namespace, &old, &synced).await;
            if let Some(failure) = failure {
                let failure = match failure {
                    Failure::Message(m) => Failure::Message(push_plan::delete_failed_message(&m)),
                    api => api,
                };
                return failed(&ctx, &ps, outcome, failure, Some(state)).await;
            }
        }
        all = push_plan::merge_state(Some(&all), &synced);
    }
    ctx.metrics.synced();
    outcome.done(&ps, all, started);
    outcome.write(&ctx, &ps).await?;
    ctx.backoff.succeeded(&super::uid(ps.as_ref()));
    Ok(if refresh.is_zero() {
        Action::await_change()
    } else {
        Action::requeue(refresh)
    })
}

/// The fields of `ps` this controller does not serve, by path.
fn unsupported_fields(ps: &PushSecret) -> Vec<String> {
    let mut out = crate::api::unsupported_names("spec.", &ps.spec.unsupported);
    out.extend(crate::api::unsupported_names(
        "spec.selector.",
        &ps.spec.selector.unsupported,
    ));
    if let Some(template) = &ps.spec.template {
        out.extend(crate::api::unsupported_names(
            "spec.template.",
            &template.unsupported,
        ));
    }
    out
}
