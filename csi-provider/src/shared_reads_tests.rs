//! [`SharedReads`] over a stand-in vault that numbers its answers, on a
//! paused clock: who shares which read, and when a read stops serving.

use std::{
    collections::VecDeque,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use base64::Engine as _;
use futures::future::join_all;

use super::*;

/// Answers every request after `delay` with the next scripted status (200
/// once the script is done) and a body naming the answer's number, the
/// authorization it was sent with and the URL.
#[derive(Debug, Default)]
struct Vault {
    sent: AtomicUsize,
    script: Mutex<VecDeque<u16>>,
    delay: Duration,
}

#[derive(Debug, Clone)]
struct Fake(Arc<Vault>);

impl Transport for Fake {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        Box::pin(async move {
            let n = self.0.sent.fetch_add(1, Ordering::SeqCst) + 1;
            let status = lock(&self.0.script).pop_front().unwrap_or(200);
            tokio::time::sleep(self.0.delay).await;
            let authorization = request
                .headers
                .iter()
                .find(|(name, _)| name == "authorization")
                .map_or("none", |(_, value)| value.as_str());
            Ok(HttpResponse {
                status,
                headers: vec![("x-ms-request-id".to_owned(), n.to_string())],
                body: format!("answer {n} to {authorization} for {}", request.url).into_bytes(),
            })
        })
    }
}

fn vault(delay_ms: u64, script: &[u16]) -> Fake {
    Fake(Arc::new(Vault {
        sent: AtomicUsize::new(0),
        script: Mutex::new(script.iter().copied().collect()),
        delay: Duration::from_millis(delay_ms),
    }))
}

impl Fake {
    fn sent(&self) -> usize {
        self.0.sent.load(Ordering::SeqCst)
    }
}

const WINDOW: Duration = Duration::from_secs(5);
const SECRET: &str = "https://orders-kv.vault.azure.net/secrets/db-password?api-version=7.5";

fn shared(fake: &Fake) -> SharedReads<Fake> {
    SharedReads::new(fake.clone(), ShareWindow::new(WINDOW).unwrap())
}

/// `Bearer` and an access token of object id `oid`.
fn bearer(oid: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "Bearer {}.{}.c2ln",
        b64(r#"{"alg":"RS256"}"#),
        b64(&format!(
            r#"{{"tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","oid":"{oid}","appid":"app"}}"#
        ))
    )
}

fn get(url: &str, authorization: Option<&str>) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url: url.parse().unwrap(),
        headers: authorization
            .map(|value| ("authorization".to_owned(), value.to_owned()))
            .into_iter()
            .collect(),
        body: Vec::new(),
    }
}

async fn body(reads: &SharedReads<Fake>, url: &str, authorization: Option<&str>) -> String {
    let response = reads.send(get(url, authorization)).await.unwrap();
    assert!(response.header("x-ms-request-id").is_some());
    String::from_utf8(response.body).unwrap()
}

async fn status(reads: &SharedReads<Fake>, authorization: &str) -> (u16, String) {
    let response = reads.send(get(SECRET, Some(authorization))).await.unwrap();
    (response.status, String::from_utf8(response.body).unwrap())
}

#[tokio::test(start_paused = true)]
async fn one_identitys_callers_share_a_read_in_flight_and_within_the_window() {
    let fake = vault(100, &[]);
    let reads = shared(&fake);
    let alice = bearer("alice");
    let started = Instant::now();
    let bodies = join_all((0..20).map(|_| body(&reads, SECRET, Some(&alice)))).await;
    assert_eq!(fake.sent(), 1, "one read for 20 callers at once");
    let first = format!("answer 1 to {alice} for {SECRET}");
    assert!(bodies.iter().all(|b| *b == first), "{bodies:?}");

    // Later within the window: the kept answer.
    tokio::time::sleep_until(started + WINDOW - Duration::from_millis(1)).await;
    assert_eq!(body(&reads, SECRET, Some(&alice)).await, first);
    assert_eq!(fake.sent(), 1);

    // The window counts from when the read was sent: the next caller
    // after it reads again, and that read serves its own window.
    tokio::time::sleep_until(started + WINDOW).await;
    let second = body(&reads, SECRET, Some(&alice)).await;
    assert_eq!(second, format!("answer 2 to {alice} for {SECRET}"));
    assert_eq!(body(&reads, SECRET, Some(&alice)).await, second);
    assert_eq!(fake.sent(), 2);

    // Another object is another read.
    let other = "https://orders-kv.vault.azure.net/secrets/api-key?api-version=7.5";
    assert!(
        body(&reads, other, Some(&alice))
            .await
            .starts_with("answer 3 ")
    );
    assert_eq!(fake.sent(), 3);
}

#[tokio::test(start_paused = true)]
async fn two_identities_never_share_a_read() {
    let fake = vault(100, &[]);
    let reads = shared(&fake);
    let (alice, bob) = (bearer("alice"), bearer("bob"));
    let bodies = join_all((0..10).map(|i| {
        let who = if i % 2 == 0 { &alice } else { &bob };
        let reads = &reads;
        async move { (who, body(reads, SECRET, Some(who)).await) }
    }))
    .await;
    assert_eq!(fake.sent(), 2, "one read per identity");
    for (who, body) in &bodies {
        assert!(
            body.contains(&format!(" to {who} for ")),
            "a caller got another identity's answer: {body}"
        );
    }
    // Within the window too.
    assert!(body(&reads, SECRET, Some(&bob)).await.contains(&bob));
    assert!(body(&reads, SECRET, Some(&alice)).await.contains(&alice));
    assert_eq!(fake.sent(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_shared_in_flight_and_not_kept() {
    let fake = vault(100, &[403, 429]);
    let reads = shared(&fake);
    let alice = bearer("alice");
    let answers = join_all((0..5).map(|_| status(&reads, &alice))).await;
    assert_eq!(fake.sent(), 1);
    assert!(answers.iter().all(|(s, _)| *s == 403), "{answers:?}");
    // Answered, the failure is dropped: the next caller asks again, and
    // so after that failure too, within the window.
    assert_eq!(status(&reads, &alice).await.0, 429);
    assert_eq!(status(&reads, &alice).await.0, 200);
    assert_eq!(fake.sent(), 3);
    assert_eq!(status(&reads, &alice).await.0, 200);
    assert_eq!(fake.sent(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_401_is_about_the_token_so_each_waiting_caller_presents_its_own() {
    let fake = vault(100, &[401]);
    let reads = shared(&fake);
    let alice = bearer("alice");
    let mut answers = join_all((0..3).map(|_| status(&reads, &alice))).await;
    answers.sort();
    assert_eq!(fake.sent(), 3);
    assert_eq!(
        answers.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 200, 401]
    );
}

#[tokio::test(start_paused = true)]
async fn probes_writes_tokens_without_an_identity_and_a_window_of_zero_are_never_shared() {
    let fake = vault(10, &[]);
    let reads = shared(&fake);
    for _ in 0..2 {
        assert_eq!(
            body(&reads, SECRET, None).await,
            format!("answer {} to none for {SECRET}", fake.sent())
        );
    }
    assert_eq!(fake.sent(), 2);
    let mut put = get(SECRET, Some(&bearer("alice")));
    put.method = "PUT";
    reads.send(put.clone()).await.unwrap();
    reads.send(put).await.unwrap();
    assert_eq!(fake.sent(), 4);
    for _ in 0..2 {
        reads
            .send(get(SECRET, Some("Bearer opaque-token")))
            .await
            .unwrap();
    }
    assert_eq!(fake.sent(), 6);
    assert_eq!(reads.held(), 0);

    let off = SharedReads::new(fake.clone(), ShareWindow::OFF);
    let alice = bearer("alice");
    join_all((0..3).map(|_| body(&off, SECRET, Some(&alice)))).await;
    assert_eq!(fake.sent(), 9);
    assert_eq!(off.held(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_answer_is_held_until_the_window_ends_and_no_longer() {
    let fake = vault(100, &[]);
    let reads = shared(&fake);
    let started = Instant::now();
    body(&reads, SECRET, Some(&bearer("alice"))).await;
    body(&reads, SECRET, Some(&bearer("bob"))).await;
    assert_eq!(reads.held(), 2);
    tokio::time::sleep_until(started + WINDOW + Duration::from_millis(150)).await;
    assert_eq!(reads.held(), 0, "{reads:?}");
    // A failure is not held even within the window.
    let failing = vault(100, &[404]);
    let reads = shared(&failing);
    assert_eq!(status(&reads, &bearer("alice")).await.0, 404);
    assert_eq!(reads.held(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_waiting_caller_takes_over_a_read_whose_caller_gave_up() {
    let fake = vault(1_000, &[]);
    let reads = Arc::new(shared(&fake));
    let alice = bearer("alice");
    let impatient = {
        let (reads, alice) = (Arc::clone(&reads), alice.clone());
        tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_millis(100),
                body(&reads, SECRET, Some(&alice)),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let patient = body(&reads, SECRET, Some(&alice)).await;
    assert!(
        impatient.await.unwrap().is_err(),
        "the first caller timed out"
    );
    assert_eq!(fake.sent(), 2);
    assert_eq!(patient, format!("answer 2 to {alice} for {SECRET}"));
}
