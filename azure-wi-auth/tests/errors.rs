//! Every error `get_token` can return comes back as its own variant:
//! callers match on `Error`'s variants, never on a wrapper. (Callers that
//! waited for another's failed request: see `single_flight.rs`.)

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod support;

use std::sync::atomic::Ordering;

use azure_wi_auth::Error;

use support::{AADSTS700213, Script, VAULT, fixture, scope};

/// A credential whose token endpoint gives `answer` once (then tokens).
fn answering(status: u16, body: &str) -> support::Fixture {
    let f = fixture(Script::default());
    f.script
        .answers
        .lock()
        .unwrap()
        .push((status, Vec::new(), body.to_owned()));
    f
}

#[tokio::test]
async fn the_token_files_problems_are_their_own_variants() {
    let f = fixture(Script::default());
    std::fs::remove_file(&f.token_file).unwrap();
    let error = f.credential.get_token(&scope(VAULT)).await.unwrap_err();
    assert!(
        matches!(&error, Error::TokenFileUnreadable { path, error }
            if *path == f.token_file && error.kind() == std::io::ErrorKind::NotFound),
        "{error:?}"
    );

    std::fs::write(&f.token_file, " \n").unwrap();
    let error = f.credential.get_token(&scope(VAULT)).await.unwrap_err();
    assert!(
        matches!(&error, Error::TokenFileEmpty { path } if *path == f.token_file),
        "{error:?}"
    );

    std::fs::write(&f.token_file, [0xff, 0xfe, 0x00]).unwrap();
    let error = f.credential.get_token(&scope(VAULT)).await.unwrap_err();
    assert!(
        matches!(&error, Error::TokenFileNotUtf8 { path } if *path == f.token_file),
        "{error:?}"
    );
    // None of them reached the network.
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn entra_and_other_answers_are_their_own_variants() {
    let error = answering(401, AADSTS700213)
        .credential
        .get_token(&scope(VAULT))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Entra { entra, diagnosis: Some(_) } if entra.code() == Some(700_213)),
        "{error:?}"
    );

    let error = answering(403, "<html>Forbidden by policy</html>")
        .credential
        .get_token(&scope(VAULT))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnrecognizedErrorResponse { status: 403, excerpt, .. }
            if excerpt.starts_with("<html>Forbidden")),
        "{error:?}"
    );

    let error = answering(200, r#"{"token_type":"Bearer"}"#)
        .credential
        .get_token(&scope(VAULT))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::MalformedTokenResponse { status: 200, .. }),
        "{error:?}"
    );

    let f = fixture(Script::default());
    let error = f.credential.get_token(&[]).await.unwrap_err();
    assert!(matches!(error, Error::NoScopes), "{error:?}");
}

#[tokio::test]
async fn a_network_failure_after_the_retries_is_a_transport_error() {
    let f = fixture(Script::default());
    f.script.network_failures.store(10, Ordering::SeqCst);
    let error = f.credential.get_token(&scope(VAULT)).await.unwrap_err();
    assert!(
        matches!(&error, Error::Transport { url, message }
            if url.starts_with("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/")
                && message == "connection reset by peer"),
        "{error:?}"
    );
    // Retried up to the policy's four attempts.
    assert_eq!(f.script.requests.load(Ordering::SeqCst), 4);
}
