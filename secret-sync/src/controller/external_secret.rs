//! The ExternalSecret reconciler: plan, store, identity, read, write,
//! status. Every decision is one of the pure modules'; this file only
//! reads and writes the cluster and Key Vault in that order.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use k8s_openapi::{
    api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount},
    jiff::Timestamp,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
    core::PartialObjectMeta,
    runtime::controller::Action,
};
use serde_json::json;

use super::{
    Context,
    status::{publish, ready, reason},
};
use azure_wi_auth::delivery::VaultError;

use crate::{
    Error,
    api::{
        ClusterSecretStore, CreationPolicy, DeletionPolicy, ExternalSecret, SecretStore, StoreKind,
    },
    change,
    fetch::{Caller, FetchError},
    identity,
    plan::{SyncPlan, plan},
    render::{self, Rendered},
    schedule::{Next, next, spec_version},
    store::{self, AzureStore},
    target::{self, CREATED_BY_LABEL, DATA_HASH_ANNOTATION, MANAGED_LABEL, Owner},
    tokens::TokenError,
};

/// ESO's finalizer, kept while `deletionPolicy: Delete` asks the controller
/// to remove the Secret when the ExternalSecret goes.
pub const FINALIZER: &str = "externalsecrets.external-secrets.io/externalsecret-cleanup";

/// Why a reconcile stopped before its end: the controller's error policy
/// retries it with backoff. What the user must fix is not one of these:
/// it becomes the object's condition ([`SyncFailure`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// A read or write of the API server failed, or was not sent because
    /// this replica's leader-election term is over.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: &'static str,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// The desired Secret could not be encoded.
    #[error("encoding the target Secret: {0}")]
    Encode(#[source] serde_json::Error),
    /// The reconcile did not finish within its deadline (an API server or
    /// vault that stopped answering).
    #[error("the reconcile did not finish within {0:?}")]
    TimedOut(Duration),
}

fn kube_error(what: &'static str) -> impl Fn(kube::Error) -> ReconcileError {
    move |source| ReconcileError::Kube { what, source }
}

/// Why a sync cannot go on until something changes; the text is the
/// `Ready` condition's message and the Warning event's note.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncFailure {
    /// The ExternalSecret's spec cannot be served.
    #[error(transparent)]
    Invalid(Error),
    /// `secretStoreRef` names a SecretStore that does not exist.
    #[error("SecretStore {name:?} does not exist in namespace {namespace}")]
    StoreMissing {
        /// The store's name.
        name: String,
        /// The ExternalSecret's namespace.
        namespace: String,
    },
    /// `secretStoreRef` names a ClusterSecretStore that does not exist.
    #[error("ClusterSecretStore {name:?} does not exist")]
    ClusterStoreMissing {
        /// The store's name.
        name: String,
    },
    /// The ClusterSecretStore's `conditions` leave this namespace out.
    #[error(
        "ClusterSecretStore {name:?} does not serve namespace {namespace}: no entry of its spec.conditions matches it"
    )]
    NamespaceNotServed {
        /// The store's name.
        name: String,
        /// The ExternalSecret's namespace.
        namespace: String,
    },
    /// The store's spec cannot be served.
    #[error("store {name:?} cannot be used: {source}")]
    StoreUnusable {
        /// The store's name.
        name: String,
        /// Why.
        #[source]
        source: Error,
    },
    /// The store's `serviceAccountRef` names no ServiceAccount.
    #[error(
        "ServiceAccount {namespace}/{name} (the store's serviceAccountRef) does not exist; create it, annotated with the managed identity's client id"
    )]
    ServiceAccountMissing {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A Secret or key `authSecretRef` names is missing (ESO's texts).
    #[error("{0}")]
    AuthSecret(String),
    /// The ServiceAccount's identity is incomplete or contradicts the
    /// store.
    #[error(transparent)]
    Identity(Error),
    /// No token could be had for the ServiceAccount.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Key Vault or Entra refused a read, classified (a role to grant, a
    /// federated credential that does not match, ...).
    #[error("could not get secret data from provider: {0}")]
    Provider(#[source] VaultError),
    /// What was read cannot make the Secret (a `property` missing, a
    /// value not in its `decodingStrategy`, ...).
    #[error("could not get secret data from provider: {0}")]
    Assemble(#[source] Error),
    /// A remote object is gone and `deletionPolicy: Retain` keeps the
    /// Secret as it is.
    #[error(
        "could not get secret data from provider: {key} was not found in the vault; the Secret is kept (deletionPolicy: Retain)"
    )]
    GoneRetained {
        /// The remote key.
        key: String,
    },
    /// `creationPolicy: Owner` and another ExternalSecret controls the
    /// Secret.
    #[error(
        "target is owned by another ExternalSecret: Secret {secret} is controlled by {kind} {name}"
    )]
    OwnedByOther {
        /// The Secret.
        secret: String,
        /// Its controller's kind.
        kind: String,
        /// Its controller's name.
        name: String,
    },
    /// `target.template` could not make the Secret (it keeps what it had).
    #[error("could not update secret: could not apply template: {0}")]
    Template(#[source] crate::render::RenderError),
    /// The API server refused the Secret.
    #[error("could not update secret: {0}")]
    Write(#[source] kube::Error),
}

/// What [`write`] did.
enum Written {
    /// The Secret is as the plan says (written, or already current).
    Done,
    /// `creationPolicy: Merge` found no Secret to merge into.
    NoTargetToMerge,
}

/// How a step of the reconcile stopped.
pub(super) enum Stop {
    /// The user must fix something: a condition, a retry with backoff.
    Failed(SyncFailure),
    /// The API server failed: the error policy's retry.
    Api(ReconcileError),
}

impl From<ReconcileError> for Stop {
    fn from(error: ReconcileError) -> Self {
        Self::Api(error)
    }
}

impl From<SyncFailure> for Stop {
    fn from(failure: SyncFailure) -> Self {
        Self::Failed(failure)
    }
}

/// One reconcile of `es`.
///
/// # Errors
///
/// [`ReconcileError`] when the apiserver cannot be read or written.
pub async fn reconcile(
    es: Arc<ExternalSecret>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = es.namespace().unwrap_or_default();
    let name = es.name_any();
    let api: Api<ExternalSecret> = Api::namespaced(ctx.client.clone(), &namespace);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let owner = Owner {
        namespace: namespace.clone(),
        name: name.clone(),
        uid: es.uid().unwrap_or_default(),
    };

    if es.meta().deletion_timestamp.is_some() {
        return finalize(&es, &ctx, &api, &secrets, &owner).await;
    }
    let plan = match plan(&es) {
        Ok(plan) => plan,
        Err(e) => {
            fail(&es, &ctx, &api, &SyncFailure::Invalid(e)).await?;
            return Ok(Action::await_change());
        }
    };
    set_finalizer(&es, &api, plan.deletion == DeletionPolicy::Delete).await?;

    let store = match load_store(&ctx, plan.store.1, &plan.store.0, &namespace).await {
        Ok(store) => store,
        Err(Stop::Api(error)) => return Err(error),
        Err(Stop::Failed(failure)) => return retry_failed(&es, &ctx, &api, &failure).await,
    };

    let service_account = identity::service_account_of(&store, &namespace);
    let seed = change::identity_key(
        &store.vault_url,
        service_account
            .as_ref()
            .map(|(ns, sa)| (ns.as_str(), sa.as_str())),
    );
    let existing = secrets
        .get_opt(&plan.target)
        .await
        .map_err(kube_error("reading the target Secret"))?;
    let labels: BTreeMap<String, String> = es.labels().clone();
    let annotations: BTreeMap<String, String> = es.annotations().clone();
    let version = spec_version(
        es.meta().generation.unwrap_or_default(),
        &labels,
        &annotations,
    );
    let status = es.status.clone().unwrap_or_default();
    let last = status
        .refresh_time
        .as_deref()
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map(SystemTime::from);
    let valid = target_valid(&plan, existing.as_ref(), &status, &version);
    match next(
        plan.refresh_policy,
        plan.refresh,
        last,
        status.synced_resource_version.as_deref(),
        &version,
        &seed,
        SystemTime::now(),
    ) {
        Next::After(wait) if valid => return Ok(Action::requeue(wait)),
        Next::Never if valid => return Ok(Action::await_change()),
        _ => {}
    }

    let refresh_time = Timestamp::now();
    let caller_identity = match identity_of(&ctx, &store, &namespace).await {
        Ok(found) => found,
        Err(Stop::Api(error)) => return Err(error),
        Err(Stop::Failed(failure)) => return retry_failed(&es, &ctx, &api, &failure).await,
    };
    let caller = match &caller_identity {
        Some((identity, token)) => Caller::Workload(identity, token),
        None => Caller::Controller,
    };
    // A periodic refresh of a spec already read, its Secret as written:
    // when a listing shows nothing it reads changed, the Secret stays.
    let periodic = valid && status.synced_resource_version.as_deref() == Some(version.as_str());
    if !periodic {
        ctx.freshness.forget(&owner.uid);
    } else if let Some(since) = ctx.freshness.may_skip(&owner.uid, &version) {
        match ctx
            .reader
            .unchanged_since(&store, caller, &plan, since)
            .await
        {
            Ok(Some(listed)) => {
                ctx.freshness.skipped(&owner.uid, listed);
                return synced(
                    &ctx,
                    &api,
                    &es,
                    &store,
                    &plan,
                    &version,
                    refresh_time,
                    &seed,
                )
                .await;
            }
            Ok(None) => {}
            Err(FetchError::Throttled(wait)) => {
                tracing::info!(es = %name, namespace, wait_ms = wait.as_millis(), "vault budget spent or throttled; requeued");
                return Ok(Action::requeue(wait + Duration::from_millis(250)));
            }
            // The reads say what is wrong, as they would have.
            Err(_) => {}
        }
    }
    let began = SystemTime::now();
    let fetched = match ctx.reader.fetch(&store, caller, &plan).await {
        Ok(fetched) => fetched,
        Err(FetchError::Throttled(wait)) => {
            tracing::info!(es = %name, namespace, wait_ms = wait.as_millis(), "vault budget spent or throttled; requeued");
            return Ok(Action::requeue(wait + Duration::from_millis(250)));
        }
        Err(FetchError::NotFound(key)) => {
            return remote_gone(
                &es,
                &ctx,
                &api,
                &secrets,
                &plan,
                &owner,
                &key,
                &version,
                existing.as_ref(),
                &seed,
            )
            .await;
        }
        Err(FetchError::Failed(error)) => {
            return retry_failed(&es, &ctx, &api, &SyncFailure::Provider(error)).await;
        }
    };
    let data = match target::assemble(&plan, &fetched) {
        Ok(data) => data,
        Err(e) => return retry_failed(&es, &ctx, &api, &SyncFailure::Assemble(e)).await,
    };

    let content = match &plan.template {
        None => target::untemplated(&plan, data),
        Some(template) => match apply_template(&ctx, &namespace, template, &data).await {
            Ok(rendered) => rendered,
            Err(Stop::Api(error)) => return Err(error),
            Err(Stop::Failed(failure)) => return retry_failed(&es, &ctx, &api, &failure).await,
        },
    };
    let desired = Desired {
        content,
        spec_changed: status.synced_resource_version.as_deref() != Some(version.as_str()),
    };
    match write(
        &es,
        &ctx,
        &secrets,
        &plan,
        &owner,
        existing.as_ref(),
        desired,
    )
    .await
    {
        Ok(Written::Done) => {}
        Err(Stop::Api(error)) => return Err(error),
        Err(Stop::Failed(failure)) => return retry_failed(&es, &ctx, &api, &failure).await,
        Ok(Written::NoTargetToMerge) => {
            set_status(&api, &name, json!({
            "refreshTime": refresh_time.to_string(),
            "syncedResourceVersion": version,
            "conditions": [ready(&status.conditions, true, reason::MISSING, "secret will not be created, creationPolicy=Merge")],
        })).await?;
            return Ok(requeue_after(&plan, refresh_time, &seed));
        }
    }
    ctx.freshness.read(&owner.uid, &version, began);
    synced(
        &ctx,
        &api,
        &es,
        &store,
        &plan,
        &version,
        refresh_time,
        &seed,
    )
    .await
}

/// Records a sync (or a refresh that found nothing changed): `Ready`,
/// `refreshTime`, the version; the next refresh in the identity's slot.
#[allow(clippy::too_many_arguments)]
async fn synced(
    ctx: &Context,
    api: &Api<ExternalSecret>,
    es: &ExternalSecret,
    store: &AzureStore,
    plan: &SyncPlan,
    version: &str,
    refresh_time: Timestamp,
    seed: &str,
) -> Result<Action, ReconcileError> {
    let message = if store.warnings.is_empty() {
        "secret synced".to_owned()
    } else {
        format!("secret synced; {}", store.warnings.join("; "))
    };
    let previous = es.status.clone().unwrap_or_default().conditions;
    set_status(
        api,
        &es.name_any(),
        json!({
            "refreshTime": refresh_time.to_string(),
            "syncedResourceVersion": version,
            "binding": {"name": plan.target},
            "conditions": [ready(&previous, true, reason::SYNCED, &message)],
        }),
    )
    .await?;
    ctx.metrics.synced();
    ctx.backoff.succeeded(&super::uid(es));
    Ok(requeue_after(plan, refresh_time, seed))
}

/// The next refresh: in `seed`'s slot ([`crate::schedule::due`]) after a
/// read at `read`.
fn requeue_after(plan: &SyncPlan, read: Timestamp, seed: &str) -> Action {
    match plan.refresh {
        Some(interval) => {
            let due = crate::schedule::due(SystemTime::from(read), interval, seed);
            Action::requeue(
                due.duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO),
            )
        }
        None => Action::await_change(),
    }
}

/// ESO's validity rule: a managed Secret whose data still hashes to its
/// annotation; `Orphan` and `None` targets are always valid; a missing
/// `Owner` target is not, unless the last sync of this very spec deleted
/// it because its remote object was gone (`deletionPolicy: Delete`):
/// then its absence is what that sync decided, and the object waits for
/// its next refresh instead of reading the vault again at once.
fn target_valid(
    plan: &SyncPlan,
    existing: Option<&Secret>,
    status: &crate::api::ExternalSecretStatus,
    version: &str,
) -> bool {
    let deleted_by_last_sync = status.synced_resource_version.as_deref() == Some(version)
        && status.conditions.iter().any(|c| {
            c.type_ == "Ready" && c.status == "True" && c.reason.as_deref() == Some(reason::DELETED)
        });
    if existing.is_none() && deleted_by_last_sync {
        return true;
    }
    match plan.creation {
        CreationPolicy::Orphan | CreationPolicy::None => true,
        CreationPolicy::Merge => existing.is_some(),
        CreationPolicy::Owner => existing.is_some_and(|s| {
            let data: BTreeMap<String, Vec<u8>> = s
                .data
                .iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect();
            s.labels().get(MANAGED_LABEL).map(String::as_str) == Some("true")
                && s.annotations().get(DATA_HASH_ANNOTATION) == Some(&target::data_hash(&data))
        }),
    }
}

/// The store of `kind` named `name`, checked, as an object of `namespace`
/// uses it.
pub(super) async fn load_store(
    ctx: &Context,
    kind: StoreKind,
    name: &str,
    namespace: &str,
) -> Result<AzureStore, Stop> {
    let name = &name.to_owned();
    let checked = match kind {
        StoreKind::SecretStore => {
            let Some(found) = cached_or_read(
                ctx.lookups().and_then(|l| l.store(namespace, name)),
                Api::<SecretStore>::namespaced(ctx.client.clone(), namespace),
                name,
                "reading the SecretStore",
            )
            .await?
            else {
                return Err(SyncFailure::StoreMissing {
                    name: name.clone(),
                    namespace: namespace.to_owned(),
                }
                .into());
            };
            store::check(&found.spec, false)
        }
        StoreKind::ClusterSecretStore => {
            let Some(found) = cached_or_read(
                ctx.lookups().and_then(|l| l.cluster_store(name)),
                Api::<ClusterSecretStore>::all(ctx.client.clone()),
                name,
                "reading the ClusterSecretStore",
            )
            .await?
            else {
                return Err(SyncFailure::ClusterStoreMissing { name: name.clone() }.into());
            };
            let labels = Api::<Namespace>::all(ctx.client.clone())
                .get_opt(namespace)
                .await
                .map_err(kube_error("reading the namespace"))?
                .map(|n| n.labels().clone())
                .unwrap_or_default();
            match store::allows(&found.spec.store.conditions, namespace, &labels) {
                Ok(true) => store::check(&found.spec.store, true),
                Ok(false) => {
                    return Err(SyncFailure::NamespaceNotServed {
                        name: name.clone(),
                        namespace: namespace.to_owned(),
                    }
                    .into());
                }
                Err(e) => Err(e),
            }
        }
    };
    checked.map_err(|source: Error| {
        SyncFailure::StoreUnusable {
            name: name.clone(),
            source,
        }
        .into()
    })
}

/// `name`, from the running controller's cache (`cached`) when it holds
/// it, from the API server through `api` otherwise: a missing object is
/// only ever reported by the API server itself.
async fn cached_or_read<K>(
    cached: Option<Arc<K>>,
    api: Api<K>,
    name: &str,
    what: &'static str,
) -> Result<Option<Arc<K>>, ReconcileError>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match cached {
        Some(found) => Ok(Some(found)),
        None => Ok(api
            .get_opt(name)
            .await
            .map_err(kube_error(what))?
            .map(Arc::new)),
    }
}

/// The referenced ServiceAccount's identity and token, `None` for the
/// controller's own.
pub(super) async fn identity_of(
    ctx: &Context,
    store: &AzureStore,
    namespace: &str,
) -> Result<Option<(identity::WorkloadIdentity, crate::tokens::IssuedToken)>, Stop> {
    let Some((sa_namespace, sa_name)) = identity::service_account_of(store, namespace) else {
        return Ok(None);
    };
    // Its metadata: the annotations are all an identity needs.
    let Some(account) = cached_or_read(
        ctx.lookups()
            .and_then(|l| l.account(&sa_namespace, &sa_name)),
        Api::<PartialObjectMeta<ServiceAccount>>::namespaced(ctx.client.clone(), &sa_namespace),
        &sa_name,
        "reading the ServiceAccount",
    )
    .await?
    else {
        return Err(SyncFailure::ServiceAccountMissing {
            namespace: sa_namespace,
            name: sa_name,
        }
        .into());
    };
    let info = azure_wi_core::ServiceAccountInfo::new(
        sa_namespace.as_str(),
        sa_name.as_str(),
        account.metadata.annotations.clone().unwrap_or_default(),
    );
    let (client_key, tenant_key) = identity::auth_secret_keys(store, namespace);
    let from_secrets = identity::FromSecrets {
        client_id: secret_key(ctx, client_key.as_ref()).await?,
        tenant_id: secret_key(ctx, tenant_key.as_ref()).await?,
    };
    let resolved = match identity::resolve(
        store,
        &info,
        &from_secrets,
        ctx.controller_tenant.as_deref(),
    ) {
        Ok(resolved) => resolved,
        Err(e) => return Err(SyncFailure::Identity(e).into()),
    };
    match ctx
        .tokens
        .token(&ctx.client, &sa_namespace, &sa_name, &resolved.audiences)
        .await
    {
        Ok(token) => Ok(Some((resolved, token))),
        Err(error) => Err(SyncFailure::Token(error).into()),
    }
}

/// The value of an `authSecretRef` key, read as ESO's `SecretKeyRef`
/// reads it (with its texts when the Secret or key is missing).
async fn secret_key(
    ctx: &Context,
    at: Option<&identity::SecretKeyRef>,
) -> Result<Option<String>, Stop> {
    let Some(at) = at else {
        return Ok(None);
    };
    let (field, namespace, name, key) = (at.field, &at.namespace, &at.name, &at.key);
    let secret = Api::<Secret>::namespaced(ctx.client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(kube_error("reading authSecretRef's Secret"))?
        .ok_or_else(|| {
            SyncFailure::AuthSecret(format!(
                "cannot get Kubernetes secret {name:?} from namespace {namespace:?}: secrets {name:?} not found (authSecretRef.{field})"
            ))
        })?;
    let value = secret
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .ok_or_else(|| {
            SyncFailure::AuthSecret(format!(
                "cannot find secret data for key: {key:?} (authSecretRef.{field}, Secret {namespace}/{name})"
            ))
        })?;
    Ok(Some(String::from_utf8_lossy(&value.0).into_owned()))
}

/// What a sync would write: the data, and whether the ExternalSecret
/// changed since its last sync.
struct Desired {
    content: Rendered,
    spec_changed: bool,
}

/// Reads what `template.templateFrom` names and renders the template over
/// the values read.
pub(super) async fn apply_template(
    ctx: &Context,
    namespace: &str,
    template: &crate::api::TargetTemplate,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<Rendered, Stop> {
    render::validate(template).map_err(SyncFailure::Template)?;
    let (config_maps, secrets) = render::source_names(template);
    let mut sources = render::Sources::default();
    let cm_api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), namespace);
    for name in config_maps {
        if let Some(cm) = cm_api
            .get_opt(&name)
            .await
            .map_err(kube_error("reading a templateFrom ConfigMap"))?
        {
            sources
                .config_maps
                .insert(name, cm.data.unwrap_or_default());
        }
    }
    let secret_api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    for name in secrets {
        if let Some(secret) = secret_api
            .get_opt(&name)
            .await
            .map_err(kube_error("reading a templateFrom Secret"))?
        {
            let data = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            sources.secrets.insert(name, data);
        }
    }
    let engine = render::Engine {
        funcs: &ctx.template_funcs,
        delims: &ctx.template_delims,
        limits: &ctx.template_limits,
    };
    let mut random = |buf: &mut [u8]| rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, buf);
    let mut env = azure_wi_template::Env {
        now: time::OffsetDateTime::now_utc(),
        random: &mut random,
    };
    render::render(template, data, &sources, &engine, &mut env)
        .map_err(|e| SyncFailure::Template(e).into())
}

/// Writes the Secret as the creation policy says.
async fn write(
    es: &ExternalSecret,
    ctx: &Context,
    secrets: &Api<Secret>,
    plan: &SyncPlan,
    owner: &Owner,
    existing: Option<&Secret>,
    Desired {
        content,
        spec_changed,
    }: Desired,
) -> Result<Written, Stop> {
    match plan.creation {
        CreationPolicy::None => return Ok(Written::Done),
        CreationPolicy::Merge if existing.is_none() => return Ok(Written::NoTargetToMerge),
        CreationPolicy::Owner => {
            if let Some(other) = existing
                .and_then(|s| {
                    s.owner_references()
                        .iter()
                        .find(|r| r.controller == Some(true))
                })
                .filter(|r| r.uid != owner.uid)
            {
                return Err(SyncFailure::OwnedByOther {
                    secret: plan.target.clone(),
                    kind: other.kind.clone(),
                    name: other.name.clone(),
                }
                .into());
            }
        }
        _ => {}
    }
    // A refresh whose data is unchanged writes nothing; after a change of
    // the ExternalSecret (its labels, annotations or template metadata
    // included) the Secret is applied again, so what it no longer asks
    // for leaves the Secret (server-side apply drops what this field
    // manager stopped sending).
    if !spec_changed
        && existing.is_some_and(|s| {
            target::is_current(s, &content.data) && plan.creation != CreationPolicy::Merge
        })
    {
        return Ok(Written::Done);
    }
    let mut desired = target::desired_secret(owner, plan, content);
    if plan.creation == CreationPolicy::Merge {
        // Only the keys and the marks: the Secret stays its owner's.
        desired.type_ = None;
        desired.metadata.owner_references = None;
    }
    desired.metadata.managed_fields = None;
    let mut value =
        serde_json::to_value(&desired).map_err(|e| Stop::Api(ReconcileError::Encode(e)))?;
    value["apiVersion"] = json!("v1");
    value["kind"] = json!("Secret");
    let params = PatchParams::apply(&field_manager(&owner.name)).force();
    let reference = es.object_ref(&());
    match secrets
        .patch(&plan.target, &params, &Patch::Apply(&value))
        .await
    {
        Ok(_) if existing.is_none() => {
            publish(
                &ctx.recorder,
                &reference,
                false,
                "Created",
                "secret created",
            )
            .await;
            Ok(Written::Done)
        }
        Ok(_) => {
            publish(
                &ctx.recorder,
                &reference,
                false,
                "Updated",
                "secret updated",
            )
            .await;
            Ok(Written::Done)
        }
        Err(e) => Err(SyncFailure::Write(e).into()),
    }
}

/// ESO's field manager name, hashed when longer than 63 characters.
fn field_manager(name: &str) -> String {
    let manager = format!("externalsecrets.external-secrets.io/{name}");
    if manager.len() <= 63 {
        manager
    } else {
        use sha3::Digest as _;
        let digest: String = sha3::Sha3_224::digest(name.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("externalsecrets.external-secrets.io/sha3/{digest}")
    }
}

/// A remote object is gone: `deletionPolicy` decides.
#[allow(clippy::too_many_arguments)]
async fn remote_gone(
    es: &ExternalSecret,
    ctx: &Context,
    api: &Api<ExternalSecret>,
    secrets: &Api<Secret>,
    plan: &SyncPlan,
    owner: &Owner,
    key: &str,
    version: &str,
    existing: Option<&Secret>,
    seed: &str,
) -> Result<Action, ReconcileError> {
    ctx.freshness.forget(&owner.uid);
    let status = es.status.clone().unwrap_or_default();
    match plan.deletion {
        DeletionPolicy::Retain => {
            retry_failed(
                es,
                ctx,
                api,
                &SyncFailure::GoneRetained {
                    key: key.to_owned(),
                },
            )
            .await
        }
        DeletionPolicy::Delete | DeletionPolicy::Merge => {
            if existing.is_some_and(|s| managed_by(s, owner)) {
                if plan.deletion == DeletionPolicy::Delete {
                    secrets
                        .delete(&plan.target, &DeleteParams::default())
                        .await
                        .map_err(kube_error("deleting the target Secret"))?;
                } else {
                    // Our keys removed: an apply that owns none of them.
                    let value = json!({"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": plan.target, "namespace": owner.namespace}});
                    secrets
                        .patch(
                            &plan.target,
                            &PatchParams::apply(&field_manager(&owner.name)).force(),
                            &Patch::Apply(&value),
                        )
                        .await
                        .map_err(kube_error("removing the keys from the target Secret"))?;
                }
                publish(
                    &ctx.recorder,
                    &es.object_ref(&()),
                    false,
                    "Deleted",
                    &format!("secret deleted due to DeletionPolicy={:?}", plan.deletion),
                )
                .await;
            }
            // Recording the version read keeps the deleted Secret valid
            // until the next refresh (see `target_valid`).
            set_status(api, &owner.name, json!({
                "refreshTime": Timestamp::now().to_string(),
                "syncedResourceVersion": version,
                "conditions": [ready(&status.conditions, true, reason::DELETED, &format!(
                    "secret deleted due to DeletionPolicy={:?}: {key} was not found in the vault", plan.deletion))],
            }))
            .await?;
            Ok(requeue_after(plan, Timestamp::now(), seed))
        }
    }
}

fn managed_by(secret: &Secret, owner: &Owner) -> bool {
    secret.labels().get(MANAGED_LABEL).map(String::as_str) == Some("true")
        && (secret.labels().get(CREATED_BY_LABEL)
            == Some(&target::created_by(&owner.namespace, &owner.name))
            || secret.owner_references().iter().any(|r| r.uid == owner.uid))
}

/// The ExternalSecret is being deleted: with `deletionPolicy: Delete`,
/// its Secret goes too, then the finalizer.
async fn finalize(
    es: &ExternalSecret,
    ctx: &Context,
    api: &Api<ExternalSecret>,
    secrets: &Api<Secret>,
    owner: &Owner,
) -> Result<Action, ReconcileError> {
    if !es.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let target_name = crate::plan::target_name(es);
    if es.spec.target.deletion_policy == DeletionPolicy::Delete
        && let Some(secret) = secrets
            .get_opt(&target_name)
            .await
            .map_err(kube_error("reading the target Secret"))?
        && managed_by(&secret, owner)
    {
        secrets
            .delete(&target_name, &DeleteParams::default())
            .await
            .map_err(kube_error("deleting the target Secret"))?;
        publish(
            &ctx.recorder,
            &es.object_ref(&()),
            false,
            "Deleted",
            "secret deleted due to DeletionPolicy=Delete",
        )
        .await;
    }
    set_finalizer(es, api, false).await?;
    Ok(Action::await_change())
}

/// Adds or removes the finalizer.
async fn set_finalizer(
    es: &ExternalSecret,
    api: &Api<ExternalSecret>,
    wanted: bool,
) -> Result<(), ReconcileError> {
    let present = es.finalizers().iter().any(|f| f == FINALIZER);
    if present == wanted {
        return Ok(());
    }
    let mut finalizers: Vec<String> = es
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    if wanted {
        finalizers.push(FINALIZER.to_owned());
    }
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": es.resource_version()}});
    api.patch(
        &es.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(kube_error("updating the finalizer"))?;
    Ok(())
}

/// Records a failed sync and retries it after the object's backoff.
async fn retry_failed(
    es: &ExternalSecret,
    ctx: &Context,
    api: &Api<ExternalSecret>,
    failure: &SyncFailure,
) -> Result<Action, ReconcileError> {
    fail(es, ctx, api, failure).await?;
    Ok(Action::requeue(ctx.backoff.failed(&super::uid(es))))
}

/// Records a failed sync: `Ready=False`, `SecretSyncedError`, a Warning
/// `UpdateFailed` event.
async fn fail(
    es: &ExternalSecret,
    ctx: &Context,
    api: &Api<ExternalSecret>,
    failure: &SyncFailure,
) -> Result<(), ReconcileError> {
    let message = failure.to_string();
    let message = message.as_str();
    tracing::warn!(es = %es.name_any(), namespace = es.namespace().unwrap_or_default(), reason = %message, "sync failed");
    ctx.metrics.failed();
    let previous = es.status.clone().unwrap_or_default().conditions;
    set_status(
        api,
        &es.name_any(),
        json!({
            "conditions": [ready(&previous, false, reason::SYNC_ERROR, message)],
        }),
    )
    .await?;
    publish(
        &ctx.recorder,
        &es.object_ref(&()),
        true,
        "UpdateFailed",
        message,
    )
    .await;
    Ok(())
}

async fn set_status(
    api: &Api<ExternalSecret>,
    name: &str,
    status: serde_json::Value,
) -> Result<(), ReconcileError> {
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status})),
    )
    .await
    .map_err(kube_error("writing the ExternalSecret's status"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Condition, ExternalSecretStatus};

    fn plan_of(yaml: &str) -> SyncPlan {
        plan(&yaml_serde::from_str::<ExternalSecret>(yaml).unwrap()).unwrap()
    }

    const DELETE_ON_GONE: &str = r"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  refreshInterval: 1m
  secretStoreRef: {name: store, kind: SecretStore}
  target: {name: db, deletionPolicy: Delete}
  data: [{secretKey: password, remoteRef: {key: db-password}}]
";

    fn status(reason: &str, version: &str) -> ExternalSecretStatus {
        ExternalSecretStatus {
            synced_resource_version: Some(version.to_owned()),
            conditions: vec![Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: Some(reason.to_owned()),
                message: None,
                last_transition_time: None,
            }],
            ..ExternalSecretStatus::default()
        }
    }

    #[test]
    fn a_secret_deleted_for_a_gone_remote_waits_for_the_next_refresh() {
        let plan = plan_of(DELETE_ON_GONE);
        // The last sync of this spec deleted the Secret: its absence is
        // expected, so the schedule (not the missing Secret) decides when
        // the vault is read again. Without this every status write read
        // the vault again at once (36 GETs in 12 s for one object).
        assert!(target_valid(
            &plan,
            None,
            &status(reason::DELETED, "1-a"),
            "1-a"
        ));
        // A spec changed since, or a Secret that went missing otherwise,
        // is read at once.
        assert!(!target_valid(
            &plan,
            None,
            &status(reason::DELETED, "1-a"),
            "2-a"
        ));
        assert!(!target_valid(
            &plan,
            None,
            &status(reason::SYNCED, "1-a"),
            "1-a"
        ));
        assert!(!target_valid(
            &plan,
            None,
            &ExternalSecretStatus::default(),
            "1-a"
        ));
    }
}
