//! Tests of `config`: environment and builder, as a user sees the errors.

use super::*;

const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
const FILE: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

fn env(vars: &[(&str, &str)]) -> Result<WorkloadIdentityConfig, Error> {
    WorkloadIdentityConfig::from_env_with(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

fn full_env() -> Vec<(&'static str, &'static str)> {
    vec![
        (CLIENT_ID_ENV, CLIENT),
        (TENANT_ID_ENV, TENANT),
        (FEDERATED_TOKEN_FILE_ENV, FILE),
    ]
}

#[test]
fn reads_webhook_variables_and_defaults_authority() {
    let config = env(&full_env()).unwrap();
    assert_eq!(config.client_id().as_str(), CLIENT);
    assert_eq!(config.tenant_id().as_str(), TENANT);
    assert_eq!(config.token_file(), Path::new(FILE));
    assert_eq!(
        config.authority_host().as_str(),
        "https://login.microsoftonline.com/"
    );
}

#[test]
fn each_missing_or_empty_variable_is_named_with_webhook_hint() {
    for name in [CLIENT_ID_ENV, TENANT_ID_ENV, FEDERATED_TOKEN_FILE_ENV] {
        for replacement in [None, Some(""), Some("  ")] {
            let mut vars = full_env();
            vars.retain(|(k, _)| *k != name);
            if let Some(v) = replacement {
                vars.push((name, v));
            }
            let msg = env(&vars).unwrap_err().to_string();
            assert!(msg.starts_with(&format!("{name} is not set: ")), "{msg}");
            assert!(msg.contains("webhook"), "{msg}");
            assert!(
                msg.contains("azure.workload.identity/use=\"true\""),
                "{msg}"
            );
        }
    }
}

#[test]
fn invalid_values_name_the_variable() {
    let mut vars = full_env();
    vars[1] = (TENANT_ID_ENV, "contoso/tenant");
    let msg = env(&vars).unwrap_err().to_string();
    assert!(
        msg.starts_with("AZURE_TENANT_ID is invalid: tenant id"),
        "{msg}"
    );

    let mut vars = full_env();
    vars.push((AUTHORITY_HOST_ENV, "http://login.microsoftonline.com/"));
    let msg = env(&vars).unwrap_err().to_string();
    assert!(msg.starts_with("AZURE_AUTHORITY_HOST is invalid"), "{msg}");
    assert!(msg.contains("must use https"), "{msg}");
}

#[test]
fn authority_host_from_env_is_normalised_and_empty_means_default() {
    let mut vars = full_env();
    vars.push((AUTHORITY_HOST_ENV, "https://login.microsoftonline.us"));
    let config = env(&vars).unwrap();
    assert_eq!(
        config.authority_host().as_str(),
        "https://login.microsoftonline.us/"
    );

    let mut vars = full_env();
    vars.push((AUTHORITY_HOST_ENV, ""));
    assert_eq!(
        env(&vars).unwrap().authority_host(),
        &AuthorityHost::default()
    );
}

#[test]
fn builder_builds_and_names_missing_fields() {
    let config = WorkloadIdentityConfig::builder()
        .client_id(CLIENT)
        .tenant_id(TENANT)
        .token_file(FILE)
        .build()
        .unwrap();
    assert_eq!(config, env(&full_env()).unwrap());

    let msg = WorkloadIdentityConfig::builder()
        .client_id(CLIENT)
        .token_file(FILE)
        .build()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("tenant_id was not set"), "{msg}");

    let msg = WorkloadIdentityConfig::builder()
        .client_id(CLIENT)
        .tenant_id(TENANT)
        .token_file("")
        .build()
        .unwrap_err()
        .to_string();
    assert!(msg.contains("token_file was not set"), "{msg}");
}

#[test]
fn builder_validates_values() {
    let err = WorkloadIdentityConfig::builder()
        .client_id("has space")
        .tenant_id(TENANT)
        .token_file(FILE)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidClientId { .. }), "{err}");

    let err = WorkloadIdentityConfig::builder()
        .client_id(CLIENT)
        .tenant_id(TENANT)
        .token_file(FILE)
        .authority_host("ftp://login.example")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("must use https"), "{err}");
}
