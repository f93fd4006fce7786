use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use super::*;
use crate::authority::CertificateAuthority;
use crate::serving::{IssuedCertificate, ServingCertificate};

const DAY: Duration = Duration::from_secs(86_400);

fn issue(ca: &CertificateAuthority, validity: Duration) -> IssuedCertificate {
    ServingCertificate::for_service("webhook", "default")
        .unwrap()
        .with_validity(validity)
        .issue(ca)
        .unwrap()
}

fn leaf_der(cert_pem: &str) -> CertificateDer<'static> {
    pem::certificates(cert_pem.as_bytes(), "test")
        .unwrap()
        .remove(0)
}

/// The leaf a handshake starting now would get.
fn served(resolver: &ReloadingCertResolver) -> CertificateDer<'static> {
    resolver.certified_key().expect("a pair is served").cert[0].clone()
}

/// Lay `dir` out as the kubelet does for a Secret volume, holding `pair`.
fn secret_volume(dir: &Path, pair: &IssuedCertificate) {
    write_generation(dir, "..2026_01_01_00_00_00.000000001", pair);
    symlink("..2026_01_01_00_00_00.000000001", dir.join("..data")).unwrap();
    symlink("..data/tls.crt", dir.join(CERT_FILE)).unwrap();
    symlink("..data/tls.key", dir.join(KEY_FILE)).unwrap();
}

fn write_generation(dir: &Path, name: &str, pair: &IssuedCertificate) {
    fs::create_dir(dir.join(name)).unwrap();
    fs::write(dir.join(name).join(CERT_FILE), pair.cert_pem()).unwrap();
    fs::write(dir.join(name).join(KEY_FILE), pair.key_pem().as_str()).unwrap();
}

/// The kubelet's atomic update: new timestamped directory, `..data_tmp`
/// symlink to it, renamed over `..data`, old directory removed.
fn kubelet_swap(dir: &Path, name: &str, pair: &IssuedCertificate) {
    let old = fs::read_link(dir.join("..data")).unwrap();
    write_generation(dir, name, pair);
    symlink(name, dir.join("..data_tmp")).unwrap();
    fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    fs::remove_dir_all(dir.join(old)).unwrap();
}

#[test]
fn data_symlink_swap_is_picked_up() {
    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let (first, second) = (issue(&ca, 100 * DAY), issue(&ca, 200 * DAY));
    let dir = tempfile::tempdir().unwrap();
    secret_volume(dir.path(), &first);

    let resolver = ReloadingCertResolver::load(dir.path()).unwrap();
    assert_eq!(resolver.not_after(), Some(first.not_after()));
    assert_eq!(served(&resolver), leaf_der(first.cert_pem()));
    assert_eq!(resolver.reload().unwrap(), ReloadOutcome::Unchanged);

    kubelet_swap(dir.path(), "..2026_02_01_00_00_00.000000002", &second);
    assert_eq!(
        resolver.reload().unwrap(),
        ReloadOutcome::Reloaded {
            not_after: second.not_after()
        }
    );
    assert_eq!(resolver.not_after(), Some(second.not_after()));
    assert_eq!(served(&resolver), leaf_der(second.cert_pem()));
    assert_eq!(resolver.reload().unwrap(), ReloadOutcome::Unchanged);
}

#[test]
fn a_half_written_pair_is_never_served() {
    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let (first, second) = (issue(&ca, 100 * DAY), issue(&ca, 200 * DAY));
    let dir = tempfile::tempdir().unwrap();
    secret_volume(dir.path(), &first);
    let resolver = ReloadingCertResolver::load(dir.path()).unwrap();

    // The certificate lands first; its key is not there yet.
    fs::write(dir.path().join(CERT_FILE), second.cert_pem()).unwrap();
    let err = resolver.reload().unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("tls.key"), "{err}");
    assert_eq!(served(&resolver), leaf_der(first.cert_pem()));
    assert_eq!(resolver.not_after(), Some(first.not_after()));

    // Then the matching key.
    fs::write(dir.path().join(KEY_FILE), second.key_pem().as_str()).unwrap();
    assert_eq!(
        resolver.reload().unwrap(),
        ReloadOutcome::Reloaded {
            not_after: second.not_after()
        }
    );
    assert_eq!(served(&resolver), leaf_der(second.cert_pem()));
}

#[test]
fn truncated_and_missing_files_keep_the_old_pair() {
    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let first = issue(&ca, 100 * DAY);
    let dir = tempfile::tempdir().unwrap();
    secret_volume(dir.path(), &first);
    let resolver = ReloadingCertResolver::load(dir.path()).unwrap();

    let cert_path = dir.path().join(CERT_FILE);
    fs::write(&cert_path, &first.cert_pem()[..first.cert_pem().len() - 40]).unwrap();
    let err = resolver.reload().unwrap_err();
    assert!(
        matches!(err, Error::MalformedCertificatePem { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&cert_path.display().to_string()),
        "{err}"
    );

    fs::write(&cert_path, "").unwrap();
    let err = resolver.reload().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{} holds no PEM certificate", cert_path.display())
    );

    // A dangling `..data` (mid-update, or the Secret was deleted).
    fs::remove_file(dir.path().join("..data")).unwrap();
    let err = resolver.reload().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}", cert_path.display()))
    );
    assert_eq!(served(&resolver), leaf_der(first.cert_pem()));
}

#[test]
fn load_fails_without_a_usable_pair() {
    let dir = tempfile::tempdir().unwrap();
    let err = ReloadingCertResolver::load(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("tls.crt"), "{err}");

    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let (first, second) = (issue(&ca, DAY), issue(&ca, DAY));
    fs::write(dir.path().join(CERT_FILE), first.cert_pem()).unwrap();
    fs::write(dir.path().join(KEY_FILE), second.key_pem().as_str()).unwrap();
    let err = ReloadingCertResolver::load(dir.path()).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
}

/// The SEC1 (`EC PRIVATE KEY`) form of a PKCS#8 P-256 key: PKCS#8 wraps the
/// SEC1 structure in its final OCTET STRING.
fn sec1_pem(pkcs8_pem: &str) -> String {
    use base64::Engine as _;
    use rustls::pki_types::pem::PemObject as _;
    use x509_parser::der_parser::parse_der;
    let pkcs8 =
        rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pkcs8_pem.as_bytes()).unwrap();
    let (_, outer) = parse_der(pkcs8.secret_pkcs8_der()).unwrap();
    let sec1 = outer.as_sequence().unwrap()[2].as_slice().unwrap();
    let body = base64::engine::general_purpose::STANDARD.encode(sec1);
    format!("-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n")
}

#[test]
fn sec1_keys_are_accepted() {
    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let pair = issue(&ca, DAY);
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(CERT_FILE), pair.cert_pem()).unwrap();
    fs::write(dir.path().join(KEY_FILE), sec1_pem(pair.key_pem().as_str())).unwrap();
    let resolver = ReloadingCertResolver::load(dir.path()).unwrap();
    assert_eq!(resolver.not_after(), Some(pair.not_after()));
}

#[test]
fn debug_output_names_the_dir_but_not_the_key() {
    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let pair = issue(&ca, DAY);
    let dir = tempfile::tempdir().unwrap();
    secret_volume(dir.path(), &pair);
    let resolver = ReloadingCertResolver::load(dir.path()).unwrap();
    let shown = format!("{resolver:?}");
    assert!(shown.contains(&dir.path().display().to_string()), "{shown}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
    assert_eq!(resolver.dir(), dir.path());
}

/// Expiries passed to a watch's `on_new_pair`, in order.
type Seen = Arc<Mutex<Vec<SystemTime>>>;

fn recorder() -> (Seen, impl FnMut(SystemTime) + Send + 'static) {
    let seen = Seen::default();
    let sink = Arc::clone(&seen);
    (seen, move |not_after| sink.lock().unwrap().push(not_after))
}

/// Wait up to 10 s for `done`, polling.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn spawn_watch_picks_up_a_swap() {
    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let (first, second) = (issue(&ca, 100 * DAY), issue(&ca, 200 * DAY));
    let dir = tempfile::tempdir().unwrap();
    secret_volume(dir.path(), &first);
    let resolver = Arc::new(ReloadingCertResolver::load(dir.path()).unwrap());
    let (seen, on_new_pair) = recorder();
    let watch = Arc::clone(&resolver).spawn_watch(Duration::from_millis(20), on_new_pair);

    kubelet_swap(dir.path(), "..2026_02_01_00_00_00.000000002", &second);
    eventually("watch did not reload", || {
        resolver.not_after() == Some(second.not_after())
    })
    .await;
    assert_eq!(served(&resolver), leaf_der(second.cert_pem()));
    // Told about the new pair only: the loaded one was the caller's doing.
    eventually("on_new_pair was not called", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*seen.lock().unwrap(), [second.not_after()]);
    watch.abort();
    assert!(watch.await.unwrap_err().is_cancelled());
}

#[test]
fn a_waiting_resolver_serves_nothing_until_a_reload_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let resolver = ReloadingCertResolver::waiting(dir.path());
    assert_eq!(resolver.not_after(), None);
    assert!(resolver.certified_key().is_none());
    assert!(format!("{resolver:?}").contains("None"));
    let err = resolver.reload().unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(resolver.certified_key().is_none());

    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let pair = issue(&ca, 100 * DAY);
    secret_volume(dir.path(), &pair);
    assert_eq!(
        resolver.reload().unwrap(),
        ReloadOutcome::Reloaded {
            not_after: pair.not_after()
        }
    );
    assert_eq!(resolver.not_after(), Some(pair.not_after()));
    assert_eq!(served(&resolver), leaf_der(pair.cert_pem()));
    assert_eq!(resolver.reload().unwrap(), ReloadOutcome::Unchanged);
}

#[tokio::test(flavor = "current_thread")]
async fn spawn_watch_retries_a_waiting_resolver_sooner_than_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let resolver = Arc::new(ReloadingCertResolver::waiting(dir.path()));
    let (seen, on_new_pair) = recorder();
    // An hour between reloads once serving; the first pair must not wait that long.
    let watch = Arc::clone(&resolver).spawn_watch(Duration::from_secs(3600), on_new_pair);

    // Not there at the first attempts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(resolver.not_after(), None);
    assert!(seen.lock().unwrap().is_empty());

    let ca = CertificateAuthority::generate("reload-ca", 400 * DAY).unwrap();
    let pair = issue(&ca, 100 * DAY);
    secret_volume(dir.path(), &pair);
    eventually("the first pair was not loaded", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(*seen.lock().unwrap(), [pair.not_after()]);
    assert_eq!(resolver.not_after(), Some(pair.not_after()));
    assert_eq!(served(&resolver), leaf_der(pair.cert_pem()));
    watch.abort();
}
