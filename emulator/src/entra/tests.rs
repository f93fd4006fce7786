use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use super::*;
use crate::{
    config::{DEMO_CLIENT_ID, DEMO_ISSUER, DEMO_TENANT},
    issuer::{Issuer, TokenSpec},
};

fn form(assertion: &str) -> HashMap<String, String> {
    [
        ("grant_type", "client_credentials"),
        ("client_id", DEMO_CLIENT_ID),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
        ("scope", "https://vault.azure.net/.default"),
        ("client_info", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn exchange(config: &Config, issuer: &Issuer, spec: &TokenSpec) -> Result<Value, AadError> {
    let token = issuer.mint(spec).unwrap();
    let form = form(&token);
    let pre = precheck(config, DEMO_TENANT, &form)?;
    validate(&pre, &issuer.jwks(), config, SystemTime::now())
}

fn code(result: Result<Value, AadError>) -> u32 {
    result.unwrap_err().code
}

#[test]
fn the_matching_assertion_gets_a_vault_token_for_the_identity() {
    let config = Config::demo();
    let issuer = Issuer::new(DEMO_ISSUER).unwrap();
    let claims = exchange(&config, &issuer, &TokenSpec::new("team-a", "orders-api")).unwrap();
    assert_eq!(claims["aud"], "https://vault.azure.net");
    assert_eq!(claims["appid"], DEMO_CLIENT_ID);
    assert_eq!(claims["tid"], DEMO_TENANT);
    assert_eq!(claims["oid"], crate::config::DEMO_OBJECT_ID);
}

#[test]
fn each_mismatch_gets_its_own_code() {
    let config = Config::demo();
    let issuer = Issuer::new(DEMO_ISSUER).unwrap();
    assert_eq!(
        code(exchange(
            &config,
            &issuer,
            &TokenSpec::new("team-a", "other")
        )),
        700213
    );
    assert_eq!(
        code(exchange(
            &config,
            &issuer,
            &TokenSpec::new("team-a", "Orders-API")
        )),
        7002138
    );
    assert_eq!(
        code(exchange(
            &config,
            &issuer,
            &TokenSpec::new("team-a", "orders-api").audience("api://other")
        )),
        700212
    );
    let stranger = Issuer::new("https://other.example/").unwrap();
    assert_eq!(
        code(exchange(
            &config,
            &stranger,
            &TokenSpec::new("team-a", "orders-api")
        )),
        700211
    );
    // The trailing slash is part of the issuer.
    let no_slash = Issuer::new(DEMO_ISSUER.trim_end_matches('/')).unwrap();
    assert_eq!(
        code(exchange(
            &config,
            &no_slash,
            &TokenSpec::new("team-a", "orders-api")
        )),
        700211
    );
    let mut bare = Config::demo();
    bare.identities[0].federated_credentials.clear();
    let err = exchange(&bare, &issuer, &TokenSpec::new("team-a", "orders-api")).unwrap_err();
    assert_eq!(err.code, 70021);
    assert!(
        err.text
            .contains("Assertion Subject: 'system:serviceaccount:team-a:orders-api'"),
        "{}",
        err.text
    );
}

#[test]
fn expired_and_not_yet_valid_assertions_are_refused_with_their_window() {
    let config = Config::demo();
    let issuer = Issuer::new(DEMO_ISSUER).unwrap();
    let old = TokenSpec::new("team-a", "orders-api")
        .issued_at(SystemTime::now() - Duration::from_secs(7200));
    let err = exchange(&config, &issuer, &old).unwrap_err();
    assert_eq!(
        (err.code, err.status, err.error),
        (700024, 401, "invalid_client")
    );
    assert!(
        err.text
            .starts_with("Client assertion is not within its valid time range. Current time: "),
        "{}",
        err.text
    );
    assert!(err.text.contains("assertion valid from "), "{}", err.text);
    let future = TokenSpec::new("team-a", "orders-api")
        .issued_at(SystemTime::now() + Duration::from_secs(600));
    assert_eq!(code(exchange(&config, &issuer, &future)), 700024);
}

#[test]
fn forged_and_malformed_assertions() {
    let config = Config::demo();
    let issuer = Issuer::new(DEMO_ISSUER).unwrap();
    let impostor = Issuer::new(DEMO_ISSUER).unwrap();
    let token = impostor
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let pre = precheck(&config, DEMO_TENANT, &form(&token)).unwrap();
    assert_eq!(
        validate(&pre, &issuer.jwks(), &config, SystemTime::now())
            .unwrap_err()
            .code,
        700027
    );
    assert_eq!(
        precheck(&config, DEMO_TENANT, &form("not-a-jwt"))
            .unwrap_err()
            .code,
        50027
    );
}

#[test]
fn request_level_refusals() {
    let config = Config::demo();
    let token = Issuer::new(DEMO_ISSUER)
        .unwrap()
        .mint(&TokenSpec::new("a", "b"))
        .unwrap();
    let ok = form(&token);
    assert_eq!(
        precheck(&config, "00000000-0000-0000-0000-000000000000", &ok)
            .unwrap_err()
            .code,
        90002
    );
    let mut f = ok.clone();
    f.insert(
        "client_id".into(),
        "11111111-1111-1111-1111-111111111111".into(),
    );
    let err = precheck(&config, DEMO_TENANT, &f).unwrap_err();
    assert_eq!((err.code, err.error), (700016, "unauthorized_client"));
    assert!(
        err.text
            .contains("'11111111-1111-1111-1111-111111111111' was not found in the directory")
    );
    let mut f = ok.clone();
    f.insert(
        "scope".into(),
        "https://management.azure.com/.default".into(),
    );
    assert_eq!(precheck(&config, DEMO_TENANT, &f).unwrap_err().code, 500011);
    let mut f = ok.clone();
    f.remove("client_assertion");
    assert_eq!(
        precheck(&config, DEMO_TENANT, &f).unwrap_err().code,
        7000218
    );
    let mut f = ok.clone();
    f.insert("grant_type".into(), "password".into());
    assert_eq!(precheck(&config, DEMO_TENANT, &f).unwrap_err().code, 70003);
    let mut f = ok;
    f.remove("scope");
    assert_eq!(precheck(&config, DEMO_TENANT, &f).unwrap_err().code, 900144);
}

#[test]
fn the_error_body_has_entras_shape() {
    let err = AadError::new(400, "invalid_request", 90002, "Tenant 'x' not found.");
    let body = err.body(
        "trace-1",
        "corr-1",
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_674_136_764),
    );
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_codes"], json!([90002]));
    assert_eq!(body["timestamp"], "2023-01-19 13:59:24Z");
    assert_eq!(
        body["error_description"],
        "AADSTS90002: Tenant 'x' not found. Trace ID: trace-1 Correlation ID: corr-1 Timestamp: 2023-01-19 13:59:24Z"
    );
    assert_eq!(body["correlation_id"], "corr-1");
}
