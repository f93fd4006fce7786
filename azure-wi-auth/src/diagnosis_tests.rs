//! Tests of `diagnosis`: one per AADSTS code, through the public parse path.

use super::*;
use crate::parse_token_response;
use crate::testdata::{
    AUDIENCE, CLIENT, FAKE_SIGNATURE, ISSUER, SUBJECT, TENANT, entra_body, jwt, sa_claims,
};
use std::time::UNIX_EPOCH;

const NOW: i64 = 1_685_423_960; // 2023-05-30T05:19:20Z
const PATH: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

fn config() -> WorkloadIdentityConfig {
    WorkloadIdentityConfig::builder()
        .client_id(CLIENT)
        .tenant_id(TENANT)
        .token_file(PATH)
        .build()
        .unwrap()
}

fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap())
}

/// Parses the realistic body of `code`, diagnoses it, and checks that
/// nothing of the assertion but decoded claims leaks into the message.
fn diagnosed(code: u32, assertion: &str, age: Option<Duration>) -> Option<String> {
    let config = config();
    let assertion = Assertion::new(assertion).unwrap();
    let mut input = DiagnosisInput::new(&config, &assertion, at(NOW));
    if let Some(age) = age {
        input = input.with_token_file_age(age);
    }
    let (status, body) = entra_body(code);
    let err = parse_token_response(status, body.as_bytes(), at(NOW))
        .unwrap_err()
        .with_diagnosis(&input);
    let shown = format!("{err} {err:?}");
    assert!(shown.starts_with(&format!("AADSTS{code}: ")), "{shown}");
    assert!(!shown.contains(FAKE_SIGNATURE), "{shown}");
    for part in assertion.secret().split('.').filter(|p| p.len() > 8) {
        assert!(!shown.contains(part), "assertion part leaked: {shown}");
    }
    let diagnosis = err.diagnosis().map(str::to_owned);
    if let Some(d) = &diagnosis {
        assert!(shown.contains(&format!("\ndiagnosis: {d}")), "{shown}");
    }
    diagnosis
}

fn valid_jwt() -> String {
    jwt(&sa_claims(NOW - 600, NOW + 3000))
}

#[test]
fn credential_mismatch_lists_issuer_subject_audience_and_client() {
    for code in [70021, 700_211, 700_212, 700_213, 7_002_138] {
        let d = diagnosed(code, &valid_jwt(), None).unwrap();
        assert!(
            d.contains(&format!(
                "The token's issuer is '{ISSUER}', subject is '{SUBJECT}', audience is '{AUDIENCE}'; \
                 a federated identity credential on client {CLIENT} must match them exactly, case included."
            )),
            "{code}: {d}"
        );
    }
}

#[test]
fn credential_mismatch_points_at_the_part_entra_named() {
    let jwt = valid_jwt();
    assert!(
        diagnosed(700_211, &jwt, None)
            .unwrap()
            .starts_with("no federated identity credential has the token's issuer")
    );
    assert!(
        diagnosed(700_212, &jwt, None)
            .unwrap()
            .contains("compare the audience first")
    );
    assert!(
        diagnosed(700_213, &jwt, None)
            .unwrap()
            .contains("compare the subject first")
    );
    assert!(
        diagnosed(7_002_138, &jwt, None)
            .unwrap()
            .contains("differs from the token's subject only in letter case")
    );
    assert!(
        diagnosed(70021, &jwt, None)
            .unwrap()
            .contains("may not have propagated yet")
    );
}

#[test]
fn several_audiences_are_all_listed() {
    let token = jwt(&serde_json::json!({"iss": ISSUER, "sub": SUBJECT, "aud": ["a", "b"]}));
    let d = diagnosed(70021, &token, None).unwrap();
    assert!(d.contains("audiences are 'a', 'b'"), "{d}");
}

#[test]
fn credential_mismatch_with_undecodable_assertion_says_so() {
    let d = diagnosed(70021, "garbage-token-contents", None).unwrap();
    assert!(
        d.contains("could not be read here (a JWT has 3 parts"),
        "{d}"
    );
    assert!(d.contains(CLIENT), "{d}");
}

#[test]
fn expired_token_in_an_old_file_blames_rotation() {
    let token = jwt(&sa_claims(NOW - 90 * 86_400, NOW - 90 * 86_400 + 3600));
    let d = diagnosed(700_024, &token, Some(Duration::from_secs(90 * 86_400))).unwrap();
    assert!(
        d.starts_with("the token's validity window is 2023-03-01T05:19:20Z to 2023-03-01T06:19:20Z, and now is 2023-05-30T05:19:20Z: it expired 89 d 23 h ago."),
        "{d}"
    );
    assert!(
        d.contains(&format!(
            "The token file {PATH} was last modified 90 d 0 h ago."
        )),
        "{d}"
    );
    assert!(d.contains("not being refreshed or was copied"), "{d}");
}

#[test]
fn expired_token_in_a_fresh_file_means_a_stale_read() {
    let token = jwt(&sa_claims(NOW - 7200, NOW - 3600));
    let d = diagnosed(700_024, &token, Some(Duration::from_secs(120))).unwrap();
    assert!(d.contains("it expired 1 h 0 min ago"), "{d}");
    assert!(d.contains("modified only 2 min 0 s ago"), "{d}");
    assert!(
        d.contains("read the file again for each token request"),
        "{d}"
    );
}

#[test]
fn not_yet_valid_token_blames_the_clock() {
    let token = jwt(&sa_claims(NOW + 300, NOW + 3900));
    let d = diagnosed(700_024, &token, None).unwrap();
    assert!(d.contains("only becomes valid in 5 min 0 s"), "{d}");
    assert!(d.contains("clock is behind"), "{d}");
    assert!(
        d.contains(&format!("check that {PATH} is the projected volume")),
        "{d}"
    );
}

#[test]
fn locally_valid_token_blames_clock_skew() {
    let d = diagnosed(700_024, &valid_jwt(), Some(Duration::from_secs(600))).unwrap();
    assert!(d.contains("by this node's clock it is valid"), "{d}");
    assert!(
        d.ends_with(&format!(
            "The token file {PATH} was last modified 10 min 0 s ago."
        )),
        "{d}"
    );
}

#[test]
fn unknown_client_names_client_and_tenant() {
    let d = diagnosed(700_016, &valid_jwt(), None).unwrap();
    assert!(
        d.starts_with(&format!(
            "client id {CLIENT} was not found in tenant {TENANT}"
        )),
        "{d}"
    );
    assert!(d.contains("AZURE_CLIENT_ID"), "{d}");
}

#[test]
fn unknown_tenant_names_tenant_and_authority() {
    let d = diagnosed(90002, &valid_jwt(), None).unwrap();
    assert!(
        d.starts_with(&format!(
            "tenant {TENANT} was not found at https://login.microsoftonline.com/"
        )),
        "{d}"
    );
    assert!(d.contains("AZURE_AUTHORITY_HOST"), "{d}");
}

#[test]
fn malformed_assertion_names_the_file_and_why() {
    let d = diagnosed(50027, "<html>not a token</html>", None).unwrap();
    assert!(
        d.contains(&format!(
            "{} ({PATH})",
            azure_wi_core::names::FEDERATED_TOKEN_FILE_ENV
        )),
        "{d}"
    );
    assert!(
        d.contains("It is not a JWT here either: a JWT has 3 parts separated by '.', this has 1."),
        "{d}"
    );
    let d = diagnosed(50027, &valid_jwt(), None).unwrap();
    assert!(
        d.contains(&format!("It decodes here (issuer '{ISSUER}')")),
        "{d}"
    );
}

#[test]
fn other_codes_have_no_diagnosis() {
    assert_eq!(diagnosed(700_027, &valid_jwt(), None), None);
}

#[test]
fn other_errors_pass_through_with_diagnosis() {
    let config = config();
    let assertion = Assertion::new(valid_jwt()).unwrap();
    let input = DiagnosisInput::new(&config, &assertion, at(NOW));
    assert!(matches!(
        Error::NoScopes.with_diagnosis(&input),
        Error::NoScopes
    ));
}

#[test]
fn token_file_age_of_a_real_file() {
    let path = std::env::temp_dir().join(format!("azure-wi-auth-age-{}", std::process::id()));
    std::fs::write(&path, "x").unwrap();
    let now = SystemTime::now() + Duration::from_secs(3600);
    let age = token_file_age(&path, now).unwrap();
    assert!(
        age >= Duration::from_secs(3590) && age < Duration::from_secs(3700),
        "{age:?}"
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(token_file_age(&path, now), None);
}
