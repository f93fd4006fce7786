//! [`AssertionCredential`]: assertions given per call, a cache keyed by the
//! identity they present. Replicas of one ServiceAccount (different tokens,
//! same issuer and subject) share one exchange; anything that differs in
//! tenant, client id, issuer, subject or audience never shares a token.
//! Driven by the scripted token endpoint and a manual clock.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, SystemTime},
};

use azure_wi_auth::{
    Assertion, AssertionCredential, Error, FederatedIdentity, RetryPolicy,
    clock::{Clock, ManualClock},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;
use tokio::sync::Semaphore;

use support::{AADSTS700213, Script, TENANT, VAULT, Wire, scope};

const CLIENT: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";
const OTHER_CLIENT: &str = "9a8b7c6d-0000-4000-8000-000000000002";
const OTHER_TENANT: &str = "0c1d2e3f-0000-4000-8000-000000000003";
const ISSUER: &str = "https://oidc.example/cluster-a";
const ORDERS: &str = "system:serviceaccount:team-a:orders-api";
const BILLING: &str = "system:serviceaccount:team-b:billing";
const AUDIENCE: &str = azure_wi_auth::names::DEFAULT_AUDIENCE;

struct Daemon {
    script: Arc<Script>,
    clock: Arc<ManualClock>,
    credential: AssertionCredential,
}

fn daemon(script: Script) -> Daemon {
    let script = Arc::new(script);
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let credential = AssertionCredential::builder()
        .with_transport(Wire(Arc::clone(&script)))
        .with_clock(clock.clone())
        .with_retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_total: Duration::from_secs(30),
        })
        .build()
        .unwrap();
    Daemon {
        script,
        clock,
        credential,
    }
}

fn identity(tenant: &str, client: &str) -> FederatedIdentity {
    FederatedIdentity::new(tenant.parse().unwrap(), client.parse().unwrap())
}

fn unix(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

/// A ServiceAccount-token-shaped JWT; `pod` makes each replica's token
/// different (as the kubelet's are), without changing who it is for.
fn sa_token(issuer: &str, subject: &str, audience: &str, pod: &str, now: SystemTime) -> Assertion {
    let part = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let iat = unix(now);
    Assertion::new(format!(
        "{}.{}.{}",
        part(json!({"alg": "RS256", "kid": "k"})),
        part(json!({
            "iss": issuer, "sub": subject, "aud": [audience],
            "iat": iat, "nbf": iat, "exp": iat + 3600,
            "kubernetes.io": {"pod": {"name": pod}},
        })),
        URL_SAFE_NO_PAD.encode(format!("signature-of-{pod}")),
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_of_one_service_account_share_one_exchange_until_refresh() {
    let gate = Arc::new(Semaphore::new(0));
    let d = daemon(Script {
        gate: Some(("vault".into(), gate.clone())),
        ..Script::default()
    });
    let id = identity(TENANT, CLIENT);
    let now = d.clock.now();
    let callers: Vec<_> = (0..20)
        .map(|i| {
            let (credential, id) = (d.credential.clone(), id.clone());
            let assertion = sa_token(ISSUER, ORDERS, AUDIENCE, &format!("orders-{i}"), now);
            tokio::spawn(async move { credential.get_token(&id, &assertion, &scope(VAULT)).await })
        })
        .collect();
    while d.script.requests.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1);
    for caller in callers {
        assert_eq!(caller.await.unwrap().unwrap().secret(), "token-1");
    }
    assert_eq!(d.script.requests.load(Ordering::SeqCst), 1);

    // A later replica, with a token minted later, is served the same token.
    d.clock.advance(Duration::from_secs(600));
    let later = sa_token(ISSUER, ORDERS, AUDIENCE, "orders-late", d.clock.now());
    let token = d.credential.get_token(&id, &later, &scope(VAULT)).await;
    assert_eq!(token.unwrap().secret(), "token-1");
    assert_eq!(d.script.requests.load(Ordering::SeqCst), 1);

    // Near expiry the token is still served, and the presenting caller's
    // assertion is exchanged in the background for the next one.
    gate.add_permits(1);
    d.clock.advance(Duration::from_secs(3600 - 600 - 200));
    let fresh = sa_token(ISSUER, ORDERS, AUDIENCE, "orders-fresh", d.clock.now());
    let token = d.credential.get_token(&id, &fresh, &scope(VAULT)).await;
    assert_eq!(token.unwrap().secret(), "token-1");
    loop {
        let token = d.credential.get_token(&id, &fresh, &scope(VAULT)).await;
        if token.unwrap().secret() == "token-2" {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(d.script.requests.load(Ordering::SeqCst), 2);
    let last_body = d.script.bodies.lock().unwrap().last().cloned().unwrap();
    assert!(
        last_body.contains(fresh.secret()),
        "the refresh used another caller's assertion"
    );
}

#[tokio::test]
async fn different_identities_never_share_a_token() {
    let d = daemon(Script::default());
    let now = d.clock.now();
    let cases = [
        (identity(TENANT, CLIENT), ISSUER, ORDERS, AUDIENCE),
        (identity(TENANT, CLIENT), ISSUER, BILLING, AUDIENCE),
        (identity(TENANT, OTHER_CLIENT), ISSUER, ORDERS, AUDIENCE),
        (identity(OTHER_TENANT, CLIENT), ISSUER, ORDERS, AUDIENCE),
        (
            identity(TENANT, CLIENT),
            "https://oidc.example/cluster-b",
            ORDERS,
            AUDIENCE,
        ),
        (
            identity(TENANT, CLIENT),
            ISSUER,
            ORDERS,
            "api://SomethingElse",
        ),
    ];
    let mut seen = Vec::new();
    for (i, (id, issuer, subject, audience)) in cases.iter().enumerate() {
        let assertion = sa_token(issuer, subject, audience, "pod", now);
        let token = d.credential.get_token(id, &assertion, &scope(VAULT)).await;
        let token = token.unwrap().secret().to_owned();
        assert!(!seen.contains(&token), "case {i} was served {token}");
        seen.push(token);
    }
    assert_eq!(d.script.requests.load(Ordering::SeqCst), cases.len());
    // Each identity keeps its own token.
    for (i, (id, issuer, subject, audience)) in cases.iter().enumerate() {
        let assertion = sa_token(issuer, subject, audience, "another-pod", now);
        let token = d.credential.get_token(id, &assertion, &scope(VAULT)).await;
        assert_eq!(token.unwrap().secret(), seen[i]);
    }
    assert_eq!(d.script.requests.load(Ordering::SeqCst), cases.len());
    // The request names the identity it was asked for.
    let bodies = d.script.bodies.lock().unwrap();
    assert!(bodies[2].contains(&format!("client_id={OTHER_CLIENT}")));
}

#[tokio::test]
async fn an_assertion_entra_would_refuse_never_reaches_a_cached_token() {
    let d = daemon(Script::default());
    let id = identity(TENANT, CLIENT);
    let now = d.clock.now();
    let valid = sa_token(ISSUER, ORDERS, AUDIENCE, "orders-1", now);
    d.credential
        .get_token(&id, &valid, &scope(VAULT))
        .await
        .unwrap();

    // An hour later that assertion has expired, though a token minted from
    // it would still be cached: refused, with no request.
    d.clock.advance(Duration::from_secs(3600));
    let error = d
        .credential
        .get_token(&id, &valid, &scope(VAULT))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::AssertionExpired { subject, .. } if subject == ORDERS),
        "{error:?}"
    );
    for claims in [json!({"iss": ISSUER}), json!({"sub": ORDERS})] {
        let part = URL_SAFE_NO_PAD.encode(claims.to_string());
        let assertion = Assertion::new(format!("eyJhbGciOiJub25lIn0.{part}.c2ln")).unwrap();
        let error = d
            .credential
            .get_token(&id, &assertion, &scope(VAULT))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::AssertionClaimMissing { .. }),
            "{error:?}"
        );
    }
    assert_eq!(d.script.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn one_subjects_refusal_is_not_anothers_and_nothing_secret_is_shown() {
    let d = daemon(Script::default());
    d.script
        .answers
        .lock()
        .unwrap()
        .push((400, Vec::new(), AADSTS700213.to_owned()));
    let id = identity(TENANT, CLIENT);
    let now = d.clock.now();
    let orders = sa_token(ISSUER, ORDERS, AUDIENCE, "orders-1", now);
    let billing = sa_token(ISSUER, BILLING, AUDIENCE, "billing-1", now);
    let error = d
        .credential
        .get_token(&id, &orders, &scope(VAULT))
        .await
        .unwrap_err();
    assert_eq!(error.entra().unwrap().code(), Some(700213));
    let token = d.credential.get_token(&id, &billing, &scope(VAULT)).await;
    assert_eq!(token.unwrap().secret(), "token-1");

    let signature = URL_SAFE_NO_PAD.encode("signature-of-orders-1");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{:?}", d.credential),
        format!("{orders:?}"),
    ] {
        assert!(!text.contains(&signature), "{text}");
        assert!(!text.contains("token-1"), "{text}");
    }
}
