//! The ServiceAccount cache against an HTTP double of the only two calls it
//! makes, list/watch and get ServiceAccounts, driven through the real kube
//! client on loopback.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use webhook::serviceaccount::{
    ClusterServiceAccounts, LookupError, ServiceAccountLookup, SourceStatus,
};

/// The API server double: a list of ServiceAccounts, a channel of watch
/// events, and ServiceAccounts only a direct GET can see.
#[derive(Default)]
struct Double {
    listed: Vec<Value>,
    get_only: HashMap<(String, String), Value>,
    watch: Option<mpsc::UnboundedReceiver<Value>>,
    get_delay: Duration,
    get_fails: bool,
}

type Shared = Arc<Mutex<Double>>;

fn sa(ns: &str, name: &str, client_id: Option<&str>, rv: u32) -> Value {
    let mut sa = json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": ns, "resourceVersion": rv.to_string(), "uid": format!("uid-{ns}-{name}"),
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}
    });
    if let Some(id) = client_id {
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"] = json!(id);
    }
    sa
}

async fn list_or_watch(
    State(double): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("watch").map(String::as_str) == Some("true") {
        let Some(mut events) = double.lock().unwrap().watch.take() else {
            // A second watch (after a timeout) just stays open and quiet.
            return Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>())
                .into_response();
        };
        let stream = async_stream(move |tx| async move {
            while let Some(event) = events.recv().await {
                let mut line = serde_json::to_vec(&event).unwrap();
                line.push(b'\n');
                if tx.send(Ok(Bytes::from(line))).await.is_err() {
                    break;
                }
            }
        });
        return Body::from_stream(stream).into_response();
    }
    let items = double.lock().unwrap().listed.clone();
    axum::response::Json(json!({
        "apiVersion": "v1", "kind": "ServiceAccountList",
        "metadata": {"resourceVersion": "10"},
        "items": items,
    }))
    .into_response()
}

/// A byte stream fed by a task, without extra crates.
fn async_stream<F, Fut>(f: F) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>>
where
    F: FnOnce(mpsc::Sender<Result<Bytes, std::io::Error>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(f(tx));
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

async fn get_one(
    State(double): State<Shared>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    let (delay, fails, found) = {
        let d = double.lock().unwrap();
        let found = d
            .get_only
            .get(&(ns.clone(), name.clone()))
            .cloned()
            .or_else(|| {
                d.listed
                    .iter()
                    .find(|sa| sa["metadata"]["namespace"] == ns && sa["metadata"]["name"] == name)
                    .cloned()
            });
        (d.get_delay, d.get_fails, found)
    };
    tokio::time::sleep(delay).await;
    if fails {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500});
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::response::Json(status),
        )
            .into_response();
    }
    match found {
        Some(sa) => axum::response::Json(sa).into_response(),
        None => {
            let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": format!("serviceaccounts \"{name}\" not found"), "reason": "NotFound", "code": 404,
                "details": {"name": name, "kind": "serviceaccounts"}});
            (StatusCode::NOT_FOUND, axum::response::Json(status)).into_response()
        }
    }
}

async fn start(double: Double) -> (kube::Client, Shared) {
    let shared = Arc::new(Mutex::new(double));
    let router = Router::new()
        .route("/api/v1/serviceaccounts", get(list_or_watch))
        .route(
            "/api/v1/namespaces/{ns}/serviceaccounts/{name}",
            get(get_one),
        )
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    (kube::Client::try_from(config).unwrap(), shared)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn syncs_from_the_list_and_follows_the_watch() {
    let (events, rx) = mpsc::unbounded_channel();
    let (client, _double) = start(Double {
        listed: vec![
            sa("team-a", "app", Some("c-1"), 5),
            sa("team-b", "default", None, 6),
        ],
        watch: Some(rx),
        ..Double::default()
    })
    .await;
    let cache = ClusterServiceAccounts::new(client, Duration::from_secs(2));
    assert!(!cache.is_synced());
    // The sync is pushed to followers of the status (as the server follows
    // it for /readyz), not found by polling.
    let mut status = cache.status();
    assert_eq!(*status.borrow(), SourceStatus::default());
    tokio::spawn(cache.clone().run());
    let synced = tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| s.synced))
        .await
        .expect("the initial sync is pushed")
        .map(|s| *s)
        .unwrap();
    assert_eq!(
        synced,
        SourceStatus {
            synced: true,
            len: 2
        }
    );
    assert!(cache.is_synced());
    assert_eq!(cache.len(), 2);

    let app = cache.lookup("team-a", "app").await.unwrap().unwrap();
    assert_eq!(
        app.annotation("azure.workload.identity/client-id"),
        Some("c-1")
    );
    // Only the annotations the mutation reads are kept.
    assert_eq!(app.annotations().len(), 1);

    events
        .send(json!({"type": "ADDED", "object": sa("team-c", "worker", Some("c-3"), 11)}))
        .unwrap();
    events
        .send(json!({"type": "MODIFIED", "object": sa("team-a", "app", Some("c-2"), 12)}))
        .unwrap();
    events
        .send(json!({"type": "DELETED", "object": sa("team-b", "default", None, 13)}))
        .unwrap();
    eventually("watch events applied", || cache.len() == 2).await;
    assert_eq!(status.borrow().len, 2);
    let mut modified = false;
    for _ in 0..200 {
        let app = cache.lookup("team-a", "app").await.unwrap().unwrap();
        if app.annotation("azure.workload.identity/client-id") == Some("c-2") {
            modified = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(modified, "the MODIFIED event was not applied");
    assert!(cache.lookup("team-c", "worker").await.unwrap().is_some());
}

#[tokio::test]
async fn a_miss_asks_the_api_server_directly() {
    let (_events, rx) = mpsc::unbounded_channel::<Value>();
    let mut get_only = HashMap::new();
    get_only.insert(
        ("team-a".to_owned(), "fresh".to_owned()),
        sa("team-a", "fresh", Some("c-new"), 20),
    );
    let (client, _double) = start(Double {
        watch: Some(rx),
        get_only,
        ..Double::default()
    })
    .await;
    let cache = ClusterServiceAccounts::new(client, Duration::from_secs(2));
    tokio::spawn(cache.clone().run());
    eventually("initial sync", || cache.is_synced()).await;

    // Created a moment ago: not listed or watched yet, but a GET finds it.
    let fresh = cache.lookup("team-a", "fresh").await.unwrap().unwrap();
    assert_eq!(
        fresh.annotation("azure.workload.identity/client-id"),
        Some("c-new")
    );
    // A ServiceAccount that really does not exist is Ok(None), not an error.
    assert!(cache.lookup("team-a", "ghost").await.unwrap().is_none());
}

#[tokio::test]
async fn a_slow_or_failing_api_server_is_an_error_not_a_denial_by_absence() {
    let (_events, rx) = mpsc::unbounded_channel::<Value>();
    let (client, double) = start(Double {
        watch: Some(rx),
        get_delay: Duration::from_millis(500),
        ..Double::default()
    })
    .await;
    let cache = ClusterServiceAccounts::new(client, Duration::from_millis(100));
    let error = cache.lookup("team-a", "slow").await.unwrap_err();
    assert!(
        matches!(error, LookupError::Timeout(d) if d == Duration::from_millis(100)),
        "{error}"
    );

    {
        let mut d = double.lock().unwrap();
        d.get_delay = Duration::ZERO;
        d.get_fails = true;
    }
    let error = cache.lookup("team-a", "any").await.unwrap_err();
    assert!(
        error.to_string().contains("etcdserver: request timed out"),
        "{error}"
    );
}
