//! The credential's cache, single flight, background refresh and retries,
//! with the HTTP seam replaced by a scripted transport and a manual clock:
//! every decision is driven by events, never by waiting. The fixture is in
//! `support/`; ten thousand cold callers causing one request, with every
//! caller counted while it waits, is proven in `single_flight.rs`.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use tokio::sync::Semaphore;

use support::{AADSTS700213, ASSERTION, Script, VAULT, fixture, scope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_scope_does_not_hold_up_another() {
    let gate = Arc::new(Semaphore::new(0));
    let f = fixture(Script {
        gate: Some(("storage".into(), gate.clone())),
        ..Script::default()
    });
    let credential = f.credential.clone();
    let stalled = tokio::spawn(async move {
        credential
            .get_token(&scope("https://storage.azure.com/.default"))
            .await
    });
    while f.script.requests.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // The storage request is in flight and stalled; the vault scope answers.
    let vault = f.credential.get_token(&scope(VAULT)).await.unwrap();
    assert_eq!(vault.secret(), "token-1");
    assert!(!stalled.is_finished());
    gate.add_permits(1);
    assert_eq!(stalled.await.unwrap().unwrap().secret(), "token-2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_ahead_in_the_background_and_keeps_serving_on_failure() {
    let gate = Arc::new(Semaphore::new(1));
    let f = fixture(Script {
        gate: Some(("vault".into(), gate.clone())),
        ..Script::default()
    });
    assert_eq!(
        f.credential
            .get_token(&scope(VAULT))
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    // Still fresh: served from the cache.
    f.clock.advance(Duration::from_secs(60));
    assert_eq!(
        f.credential
            .get_token(&scope(VAULT))
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 1);

    // Past the refresh time (5 min before expiry, minus jitter): the caller
    // gets the valid token at once while one refresh runs, held at the gate.
    f.clock.advance(Duration::from_secs(3600 - 60 - 200));
    for _ in 0..5 {
        assert_eq!(
            f.credential
                .get_token(&scope(VAULT))
                .await
                .unwrap()
                .secret(),
            "token-1"
        );
    }
    while f.script.requests.load(Ordering::SeqCst) < 2 {
        tokio::task::yield_now().await;
    }
    gate.add_permits(1);
    loop {
        let token = f.credential.get_token(&scope(VAULT)).await.unwrap();
        if token.secret() == "token-2" {
            break;
        }
        assert_eq!(token.secret(), "token-1");
        tokio::task::yield_now().await;
    }
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 2);

    // A failed refresh (a configuration error, not retried) keeps serving
    // the valid token and is tried again later.
    f.script
        .answers
        .lock()
        .unwrap()
        .push((400, Vec::new(), AADSTS700213.to_owned()));
    gate.add_permits(10);
    f.clock.advance(Duration::from_secs(3600 - 200));
    assert_eq!(
        f.credential
            .get_token(&scope(VAULT))
            .await
            .unwrap()
            .secret(),
        "token-2"
    );
    while f.script.requests.load(Ordering::SeqCst) < 3 {
        tokio::task::yield_now().await;
    }
    // The failed refresh postpones the next one by 30 s; token-2 expires
    // 200 s after this point, so token-3 must come from a background
    // refresh before that, while token-2 keeps being served.
    let mut waited = Duration::ZERO;
    loop {
        let token = f.credential.get_token(&scope(VAULT)).await.unwrap();
        if token.secret() == "token-3" {
            break;
        }
        assert_eq!(token.secret(), "token-2");
        assert!(
            waited < Duration::from_secs(150),
            "no background retry after the failed refresh"
        );
        f.clock.advance(Duration::from_secs(1));
        waited += Duration::from_secs(1);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        waited >= Duration::from_secs(29),
        "the retry came before the 30 s back-off: {waited:?}"
    );
    // Once expired, a token is never served: the caller waits for a new one.
    f.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        f.credential
            .get_token(&scope(VAULT))
            .await
            .unwrap()
            .secret(),
        "token-4"
    );
}

#[tokio::test]
async fn retries_throttling_and_server_errors_but_not_configuration_errors() {
    let f = fixture(Script::default());
    f.script.answers.lock().unwrap().extend([
        (
            429,
            vec![("retry-after-ms".to_owned(), "20".to_owned())],
            r#"{"error":"temporarily_unavailable","error_codes":[50196]}"#.to_owned(),
        ),
        (
            503,
            Vec::new(),
            "<html>Service Unavailable</html>".to_owned(),
        ),
    ]);
    assert_eq!(
        f.credential
            .get_token(&scope(VAULT))
            .await
            .unwrap()
            .secret(),
        "token-1"
    );
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 3);

    let f = fixture(Script::default());
    f.script
        .answers
        .lock()
        .unwrap()
        .push((401, Vec::new(), AADSTS700213.to_owned()));
    let error = f.credential.get_token(&scope(VAULT)).await.unwrap_err();
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 1);
    assert_eq!(error.entra().unwrap().code(), Some(700213));
    let text = error.to_string();
    assert!(
        text.contains("system:serviceaccount:team-a:orders-api"),
        "{text}"
    );
    assert!(error.diagnosis().is_some(), "{text}");

    // Bounded: a dead endpoint fails after max_attempts.
    let f = fixture(Script::default());
    f.script
        .answers
        .lock()
        .unwrap()
        .extend((0..10).map(|_| (500, Vec::new(), "{}".to_owned())));
    assert!(f.credential.get_token(&scope(VAULT)).await.is_err());
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn reads_the_token_file_for_every_exchange() {
    let f = fixture(Script::default());
    f.credential.get_token(&scope(VAULT)).await.unwrap();
    // The kubelet rotates the file: the next exchange (another scope) sends
    // the new assertion.
    let rotated = ASSERTION.replace(".c2ln", ".bmV3");
    std::fs::write(&f.token_file, &rotated).unwrap();
    f.credential
        .get_token(&scope("https://storage.azure.com/.default"))
        .await
        .unwrap();
    let bodies = f.script.bodies.lock().unwrap();
    assert!(bodies[0].contains(".c2ln") && bodies[1].contains(".bmV3"));
    assert!(bodies[1].contains(
        "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
    ));
}

#[tokio::test]
async fn a_token_file_not_yet_projected_fails_only_when_a_token_is_asked_for() {
    let f = fixture(Script::default());
    std::fs::remove_file(&f.token_file).unwrap();
    let error = f.credential.get_token(&scope(VAULT)).await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&f.token_file.display().to_string()),
        "{error}"
    );
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 0);
    std::fs::write(&f.token_file, ASSERTION).unwrap();
    f.credential.get_token(&scope(VAULT)).await.unwrap();
}

#[tokio::test]
async fn nothing_secret_in_debug_or_errors() {
    let f = fixture(Script::default());
    let token = f.credential.get_token(&scope(VAULT)).await.unwrap();
    let shown = format!("{token:?} {:?}", f.credential);
    assert!(
        !shown.contains("token-1") && !shown.contains(ASSERTION),
        "{shown}"
    );
    f.script
        .answers
        .lock()
        .unwrap()
        .push((401, Vec::new(), AADSTS700213.to_owned()));
    let error = f
        .credential
        .get_token(&scope("https://storage.azure.com/.default"))
        .await
        .unwrap_err();
    let shown = format!("{error} {error:?}");
    assert!(
        !shown.contains(ASSERTION) && !shown.contains("c2ln"),
        "{shown}"
    );
}

#[tokio::test]
async fn alternating_scopes_and_claims_each_keep_their_own_token() {
    let f = fixture(Script::default());
    let storage = scope("https://storage.azure.com/.default");
    let vault = scope(VAULT);
    // Cold: one exchange each, in order.
    assert_eq!(
        f.credential.get_token(&vault).await.unwrap().secret(),
        "token-1"
    );
    assert_eq!(
        f.credential.get_token(&storage).await.unwrap().secret(),
        "token-2"
    );
    // Alternating afterwards: every answer comes from its own cache entry,
    // whichever scope was asked for last.
    for _ in 0..3 {
        assert_eq!(
            f.credential.get_token(&vault).await.unwrap().secret(),
            "token-1"
        );
        assert_eq!(
            f.credential.get_token(&storage).await.unwrap().secret(),
            "token-2"
        );
    }
    // A claims request for the same scope is another entry.
    let challenged = f
        .credential
        .get_token_with_claims(
            &vault,
            Some(r#"{"access_token":{"nbf":{"essential":true}}}"#),
        )
        .await
        .unwrap();
    assert_eq!(challenged.secret(), "token-3");
    assert_eq!(
        f.credential.get_token(&vault).await.unwrap().secret(),
        "token-1"
    );
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 3);
}
