//! The emulator's Key Vault as the tests set it up and change it: vaults,
//! secrets and role assignments to seed it with, the demo identity's
//! credential, and Key Vault's `PATCH`, which no SDK client of ours makes.
//! Included by the tests that need it (`#[path = "support/key_vault.rs"]
//! mod key_vault;`) and by the ESO provider cases
//! (`support/eso_provider.rs`).
// Each test crate uses a part of it.
#![allow(dead_code)]

use azure_wi_auth::WorkloadIdentityCredential;
use azure_wi_emulator::{
    Config, Emulator,
    config::{DEMO_CLIENT_ID, DEMO_TENANT, Role, RoleAssignment, SecretSeed, Vault, VersionSeed},
};

/// The roles that write secrets, keys and certificates.
pub(crate) const OFFICERS: [Role; 3] = [
    Role::SecretsOfficer,
    Role::CryptoOfficer,
    Role::CertificatesOfficer,
];

/// Secret `name` with one enabled version for each of `values`, oldest
/// first.
pub(crate) fn secret_seed(name: &str, values: &[&str]) -> SecretSeed {
    SecretSeed {
        name: name.to_owned(),
        versions: values
            .iter()
            .map(|value| VersionSeed {
                value: (*value).to_owned(),
                content_type: None,
                enabled: true,
            })
            .collect(),
    }
}

/// Vault `name`, in the identity's tenant, holding nothing.
pub(crate) fn empty_vault(name: &str) -> Vault {
    Vault {
        name: name.to_owned(),
        tenant: None,
        secrets: Vec::new(),
        keys: Vec::new(),
        certificates: Vec::new(),
    }
}

/// Gives `principal` (an object id) each of `roles` on vault `vault`.
pub(crate) fn grant(config: &mut Config, principal: &str, roles: &[Role], vault: &str) {
    for &role in roles {
        config.role_assignments.push(RoleAssignment {
            principal_id: principal.to_owned(),
            role,
            scope: vault.to_owned(),
        });
    }
}

/// The demo identity's credential against `emulator`, with the
/// ServiceAccount token in `token_file`.
pub(crate) fn demo_credential_from(
    emulator: &Emulator,
    token_file: impl Into<std::path::PathBuf>,
) -> WorkloadIdentityCredential {
    emulator
        .credential_builder(DEMO_TENANT, DEMO_CLIENT_ID, token_file)
        .unwrap()
        .build()
        .unwrap()
}

/// `credential`'s access token for Key Vault.
pub(crate) async fn vault_token(credential: &WorkloadIdentityCredential) -> String {
    credential
        .get_token(&["https://vault.azure.net/.default".parse().unwrap()])
        .await
        .unwrap()
        .secret()
        .to_owned()
}

/// Sets `body` (`tags`, `attributes`) on the current version of the
/// object at `path` (`secrets/<name>`, `keys/<name>`,
/// `certificates/<name>`) of vault `vault`, with Key Vault's `PATCH`, as
/// `credential`.
pub(crate) async fn update_in(
    emulator: &Emulator,
    credential: &WorkloadIdentityCredential,
    vault: &str,
    path: &str,
    body: serde_json::Value,
) {
    let response = emulator
        .client()
        .unwrap()
        .patch(format!(
            "{}/{path}/?api-version=7.4",
            emulator.vault_url(vault)
        ))
        .bearer_auth(vault_token(credential).await)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert_eq!(status, 200, "{path}: {}", response.text().await.unwrap());
}
