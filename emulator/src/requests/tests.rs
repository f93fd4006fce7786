#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::time::Instant;

use axum::{
    http::{HeaderValue, Request, StatusCode, header},
    response::{IntoResponse as _, Response},
};

use super::*;
use crate::keyvault::{Collection, Op, Read, route};
use azure_wi_core::AzureCloud;

const ISSUER_HOST: &str = "oidc.emulator.localhost";
const ISSUER_PATH: &str = "/72f988bf/6c3b9f2e/";

fn main_listener(host: &str) -> Listener<'_> {
    Listener::Main {
        host,
        issuer_host: ISSUER_HOST,
        issuer_path: ISSUER_PATH,
    }
}

fn at<'a>(host: &'a str, method: &str, path: &'a str) -> Target<'a> {
    classify(main_listener(host), method, path)
}

fn expect<'a>(
    kind: RequestKind,
    vault: Option<&'a str>,
    name: Option<&'a str>,
    version: Option<&'a str>,
) -> Target<'a> {
    Target {
        kind,
        tenant: None,
        vault,
        name,
        version,
    }
}

#[test]
fn entra_requests_are_told_apart_in_every_cloud() {
    for cloud in AzureCloud::ALL {
        let host = cloud.authority_hostname();
        assert_eq!(
            at(host, "POST", "/tenant-a/oauth2/v2.0/token"),
            Target::tenant(RequestKind::Token, "tenant-a"),
            "{host}"
        );
        assert_eq!(
            at(
                host,
                "GET",
                "/tenant-a/v2.0/.well-known/openid-configuration"
            ),
            Target::tenant(RequestKind::EntraDiscovery, "tenant-a")
        );
        assert_eq!(
            at(host, "GET", "/common/discovery/v2.0/keys"),
            Target::tenant(RequestKind::EntraJwks, "common")
        );
        for (method, path) in [
            ("GET", "/tenant-a/oauth2/v2.0/token"),
            ("POST", "/tenant-a/oauth2/token"),
            ("POST", "/tenant-a/oauth2/v2.0/token/extra"),
            ("POST", "/a/b/c/d/e/f"),
            ("GET", "/"),
        ] {
            assert_eq!(
                at(host, method, path),
                Target::of(RequestKind::Unknown),
                "{method} {path}"
            );
        }
    }
}

#[test]
fn the_token_proxy_listener_serves_only_token_requests() {
    assert_eq!(
        classify(
            Listener::IdentityBinding,
            "POST",
            "/tenant-b/oauth2/v2.0/token"
        ),
        Target::tenant(RequestKind::BindingToken, "tenant-b")
    );
    for (method, path) in [
        ("GET", "/tenant-b/oauth2/v2.0/token"),
        ("POST", "/secrets/a"),
        ("POST", "/a/b/c/d/e"),
    ] {
        assert_eq!(
            classify(Listener::IdentityBinding, method, path),
            Target::of(RequestKind::Unknown),
            "{method} {path}"
        );
    }
}

#[test]
fn issuer_documents_are_found_under_the_issuers_path() {
    assert_eq!(
        at(
            ISSUER_HOST,
            "GET",
            "/72f988bf/6c3b9f2e/.well-known/openid-configuration"
        )
        .kind,
        RequestKind::IssuerDiscovery
    );
    assert_eq!(
        at(ISSUER_HOST, "GET", "/72f988bf/6c3b9f2e/openid/v1/jwks").kind,
        RequestKind::IssuerJwks
    );
    for path in [
        "/.well-known/openid-configuration",
        "/72f988bf/openid/v1/jwks",
        "/72f988bf/6c3b9f2e/openid/v1/jwks/",
        "/72f988bf/6c3b9f2eopenid/v1/jwks",
    ] {
        assert_eq!(
            at(ISSUER_HOST, "GET", path),
            Target::of(RequestKind::Unknown),
            "{path}"
        );
    }
    // An issuer at the host's root.
    let root = Listener::Main {
        host: ISSUER_HOST,
        issuer_host: ISSUER_HOST,
        issuer_path: "/",
    };
    assert_eq!(
        classify(root, "GET", "/openid/v1/jwks").kind,
        RequestKind::IssuerJwks
    );
}

#[test]
fn other_hosts_are_unknown() {
    for host in ["evil.example", "vault.azure.net", "a.b.vault.azure.net", ""] {
        assert_eq!(
            at(host, "GET", "/secrets/a"),
            Target::of(RequestKind::Unknown),
            "{host}"
        );
    }
}

#[test]
fn vault_requests_name_the_vault_object_and_version() {
    use RequestKind as K;
    let host = "orders-kv.vault.azure.net";
    let v = Some("orders-kv");
    for (method, path, expected) in [
        ("GET", "/secrets", expect(K::SecretList, v, None, None)),
        ("GET", "/secrets/", expect(K::SecretList, v, None, None)),
        (
            "GET",
            "/secrets/db-password",
            expect(K::SecretGet, v, Some("db-password"), None),
        ),
        (
            "GET",
            "/secrets/db-password/",
            expect(K::SecretGet, v, Some("db-password"), None),
        ),
        (
            "GET",
            "/secrets/db-password/0a1b",
            expect(K::SecretGet, v, Some("db-password"), Some("0a1b")),
        ),
        (
            "GET",
            "/secrets/db-password/versions",
            expect(K::SecretVersions, v, Some("db-password"), None),
        ),
        (
            "PUT",
            "/secrets/db-password",
            expect(K::SecretSet, v, Some("db-password"), None),
        ),
        (
            "PATCH",
            "/secrets/db-password/",
            expect(K::SecretUpdate, v, Some("db-password"), None),
        ),
        (
            "PATCH",
            "/certificates/tls/0a1b",
            expect(K::CertificateUpdate, v, Some("tls"), Some("0a1b")),
        ),
        (
            "GET",
            "/keys/signing/0a1b",
            expect(K::KeyGet, v, Some("signing"), Some("0a1b")),
        ),
        (
            "GET",
            "/certificates",
            expect(K::CertificateList, v, None, None),
        ),
        (
            "POST",
            "/keys/signing/create",
            expect(K::KeyCreate, v, Some("signing"), None),
        ),
        (
            "POST",
            "/certificates/tls/import",
            expect(K::CertificateImport, v, Some("tls"), None),
        ),
        (
            "DELETE",
            "/keys/signing",
            expect(K::KeyDelete, v, Some("signing"), None),
        ),
        (
            "GET",
            "/deletedcertificates/tls",
            expect(K::DeletedCertificateGet, v, Some("tls"), None),
        ),
        (
            "GET",
            "/secrets/a/b/c",
            expect(K::VaultUnknown, v, None, None),
        ),
        (
            "GET",
            "/a/b/c/d/e/f",
            expect(K::VaultUnknown, v, None, None),
        ),
        ("POST", "/secrets/a", expect(K::VaultUnknown, v, None, None)),
    ] {
        assert_eq!(at(host, method, path), expected, "{method} {path}");
    }
    assert_eq!(
        at("orders-kv.vault.azure.cn", "GET", "/secrets/a").vault,
        Some("orders-kv")
    );
}

/// The kind, name and version `keyvault::route` gives.
fn from_route(method: &str, path: &str) -> (RequestKind, Option<String>, Option<String>) {
    use RequestKind as K;
    let Ok(op) = route(method, path) else {
        return (K::VaultUnknown, None, None);
    };
    let per = |collection, secret, key, certificate| match collection {
        Collection::Secrets => secret,
        Collection::Keys => key,
        Collection::Certificates => certificate,
    };
    let read = |read: Read, get, list, versions| match read {
        Read::Get { name, version } => (get, Some(name), version),
        Read::List => (list, None, None),
        Read::ListVersions { name } => (versions, Some(name), None),
    };
    match op {
        Op::Get { name, version } => (K::SecretGet, Some(name), version),
        Op::List => (K::SecretList, None, None),
        Op::ListVersions { name } => (K::SecretVersions, Some(name), None),
        Op::Set { name } => (K::SecretSet, Some(name), None),
        Op::UpdateSecret { name, version } => (K::SecretUpdate, Some(name), version),
        Op::Keys(r) => read(r, K::KeyGet, K::KeyList, K::KeyVersions),
        Op::Certificates(r) => read(
            r,
            K::CertificateGet,
            K::CertificateList,
            K::CertificateVersions,
        ),
        Op::ImportCertificate { name } => (K::CertificateImport, Some(name), None),
        Op::CreateKey { name } => (K::KeyCreate, Some(name), None),
        Op::ImportKey { name } => (K::KeyImport, Some(name), None),
        Op::UpdateKey { name, version } => (K::KeyUpdate, Some(name), version),
        Op::UpdateCertificate { name, version } => (K::CertificateUpdate, Some(name), version),
        Op::Delete { collection, name } => (
            per(
                collection,
                K::SecretDelete,
                K::KeyDelete,
                K::CertificateDelete,
            ),
            Some(name),
            None,
        ),
        Op::GetDeleted { collection, name } => (
            per(
                collection,
                K::DeletedSecretGet,
                K::DeletedKeyGet,
                K::DeletedCertificateGet,
            ),
            Some(name),
            None,
        ),
    }
}

#[test]
fn vault_kinds_agree_with_the_routes_key_vault_serves() {
    let firsts = [
        "",
        "secrets",
        "keys",
        "certificates",
        "deletedsecrets",
        "deletedkeys",
        "deletedcertificates",
        "deleted",
        "other",
    ];
    let tails = [
        "",
        "/",
        "/a",
        "/a/",
        "/a//",
        "//a",
        "/a/versions",
        "/a/versions/",
        "/a/v1",
        "/a/v1/",
        "/a/import",
        "/a/create",
        "/a/b/c",
        "/a/b/c/d",
        "/a/b/c/d/e",
    ];
    let mut seen = std::collections::BTreeSet::new();
    for method in ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"] {
        for first in firsts {
            for tail in tails {
                for lead in ["/", "//"] {
                    let path = format!("{lead}{first}{tail}");
                    let target = at("orders-kv.vault.azure.net", method, &path);
                    let (kind, name, version) = from_route(method, &path);
                    assert_eq!(target.kind, kind, "{method} {path}");
                    assert_eq!(target.name.map(str::to_owned), name, "{method} {path}");
                    assert_eq!(
                        target.version.map(str::to_owned),
                        version,
                        "{method} {path}"
                    );
                    assert_eq!(target.vault, Some("orders-kv"));
                    seen.insert(kind);
                }
            }
        }
    }
    // The paths above reach every vault kind.
    let vault_kinds: std::collections::BTreeSet<_> = RequestKind::ALL
        .into_iter()
        .filter(|k| k.is_key_vault())
        .collect();
    assert_eq!(seen, vault_kinds);
}

#[test]
fn kinds_are_named_in_json_as_as_str_says() {
    for (index, kind) in RequestKind::ALL.into_iter().enumerate() {
        assert_eq!(kind.index(), index);
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            serde_json::json!(kind.as_str())
        );
        assert_eq!(
            serde_json::from_value::<RequestKind>(serde_json::json!(kind.as_str())).unwrap(),
            kind
        );
        assert_eq!(kind.to_string(), kind.as_str());
        assert!(!(kind.is_token() && kind.is_key_vault()));
        assert!(!kind.is_write() || kind.is_key_vault());
    }
    assert_eq!(RequestKind::SecretGet.as_str(), "secret_get");
    assert!(RequestKind::SecretGet.is_key_vault());
    assert!(!RequestKind::SecretGet.is_write());
    assert!(RequestKind::SecretSet.is_write());
    assert!(!RequestKind::Token.is_key_vault());
    assert!(!RequestKind::IssuerJwks.is_key_vault());
}

fn parts(method: &str, uri: &str) -> axum::http::request::Parts {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn answer(status: StatusCode, retry_after: Option<&'static str>) -> Response {
    let mut response = status.into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
    }
    response
}

#[test]
fn a_token_requests_record_names_the_client_and_never_the_assertion() {
    let assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    let body = format!(
        "client_id=3f2b9c1e&grant_type=client_credentials&client_assertion={assertion}\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &scope=https%3A%2F%2Fvault.azure.net%2F.default"
    );
    let request = parts("POST", "/tenant-a/oauth2/v2.0/token");
    let record = RequestRecord::new(
        at(
            "login.microsoftonline.com",
            "POST",
            "/tenant-a/oauth2/v2.0/token",
        ),
        &request,
        body.as_bytes(),
        &answer(StatusCode::OK, None),
        Instant::now(),
    );
    assert_eq!(record.kind, RequestKind::Token);
    assert_eq!(record.client_id.as_deref(), Some("3f2b9c1e"));
    assert_eq!(record.tenant.as_deref(), Some("tenant-a"));
    assert_eq!(record.api_version, None);
    let line = record.to_json_line();
    assert!(!line.contains(assertion), "{line}");
    assert!(!line.contains('\n'));
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["kind"], "token");
    assert_eq!(json["method"], "POST");
    assert_eq!(json["client_id"], "3f2b9c1e");
    assert_eq!(json["status"], 200);
    assert!(json.get("vault").is_none(), "{line}");
    assert!(json.get("next_page").is_none(), "{line}");
    assert_eq!(
        serde_json::from_str::<RequestRecord>(&line).unwrap(),
        record
    );
}

#[test]
fn a_vault_requests_record_has_its_api_version_page_and_retry_after() {
    let path = "/secrets?api-version=7.6&maxresults=1&$skiptoken=1";
    let request = parts("GET", path);
    let record = RequestRecord::new(
        at("orders-kv.vault.azure.net", "GET", request.uri.path()),
        &request,
        b"client_id=not-a-token-request",
        &answer(StatusCode::TOO_MANY_REQUESTS, Some("7")),
        Instant::now(),
    );
    assert_eq!(record.kind, RequestKind::SecretList);
    assert_eq!(record.vault.as_deref(), Some("orders-kv"));
    assert_eq!(record.api_version.as_deref(), Some("7.6"));
    assert!(record.next_page);
    assert_eq!(record.status, 429);
    assert_eq!(record.retry_after, Some(7));
    assert_eq!(record.client_id, None);
    let json: serde_json::Value = serde_json::from_str(&record.to_json_line()).unwrap();
    assert_eq!(json["kind"], "secret_list");
    assert_eq!(json["next_page"], true);
    assert_eq!(json["retry_after"], 7);
}

fn serve(log: &RequestLog, host: &str, method: &str, uri: &str, status: StatusCode) {
    let request = parts(method, uri);
    let target = at(host, method, request.uri.path());
    log.answered(
        target,
        &request,
        b"",
        &answer(status, None),
        log.detailed().then(Instant::now),
    );
}

#[test]
fn the_log_counts_always_and_records_only_when_asked() {
    let log = RequestLog::default();
    let vault = "orders-kv.vault.azure.net";
    serve(&log, vault, "GET", "/secrets/a", StatusCode::OK);
    serve(
        &log,
        vault,
        "GET",
        "/secrets/a",
        StatusCode::TOO_MANY_REQUESTS,
    );
    serve(&log, vault, "GET", "/secrets/b", StatusCode::NOT_FOUND);
    serve(
        &log,
        "login.microsoftonline.com",
        "POST",
        "/t/oauth2/v2.0/token",
        StatusCode::OK,
    );
    assert!(log.records().is_empty(), "nothing kept unless asked");
    let counts = log.counts();
    assert_eq!(
        counts.get(RequestKind::SecretGet),
        KindCount {
            answered: 3,
            succeeded: 1,
            throttled: 1
        }
    );
    assert_eq!(counts.key_vault().answered, 3);
    assert_eq!(counts.tokens().answered, 1);
    assert_eq!(
        counts.iter().map(|(kind, _)| kind).collect::<Vec<_>>(),
        [RequestKind::Token, RequestKind::SecretGet]
    );

    let before = log.counts();
    log.keep_records(true);
    serve(
        &log,
        vault,
        "GET",
        "/secrets?api-version=7.6",
        StatusCode::OK,
    );
    serve(&log, vault, "PUT", "/secrets/c", StatusCode::OK);
    let window = log.counts().since(&before);
    assert_eq!(window.key_vault().answered, 2);
    assert_eq!(window.get(RequestKind::SecretList).succeeded, 1);
    assert_eq!(window.get(RequestKind::SecretGet), KindCount::default());
    let records = log.records();
    assert_eq!(
        records.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [RequestKind::SecretList, RequestKind::SecretSet]
    );
    assert_eq!(records[1].name.as_deref(), Some("c"));
    assert_eq!(log.take_records(), records);
    assert!(log.records().is_empty());

    serve(&log, vault, "GET", "/keys", StatusCode::OK);
    log.reset();
    assert_eq!(log.counts().iter().count(), 0);
    assert!(log.records().is_empty());
    log.keep_records(false);
    serve(&log, vault, "GET", "/keys", StatusCode::OK);
    assert!(log.records().is_empty());
    assert_eq!(log.counts().get(RequestKind::KeyList).answered, 1);
}
