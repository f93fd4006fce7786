//! Microsoft's own Python SDK (`azure-identity` and `azure-keyvault-secrets`
//! from PyPI) against the emulator, with nothing but the environment a
//! mutated pod gets plus trust in the emulator's CA and the proxy that maps
//! the real Azure names to it. If the SDK and the emulator disagree, the
//! emulator is wrong.
//!
//! Needs `python3 -m pip install azure-identity==1.27.0
//! azure-keyvault-secrets==4.12.0 azure-keyvault-keys==4.11.3
//! azure-keyvault-certificates==4.12.0`; without them the tests fail saying
//! so.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

use std::{
    path::Path,
    process::Command,
    time::{Duration, SystemTime},
};

use azure_wi_core::names;
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use serde_json::Value;

struct Pod {
    _dir: tempfile::TempDir,
    token_file: std::path::PathBuf,
    ca_file: std::path::PathBuf,
}

fn pod(emulator: &Emulator, spec: &TokenSpec) -> Pod {
    let dir = tempfile::tempdir().unwrap();
    let token_file = emulator
        .write_token_file(&dir.path().join("tokens"), spec)
        .unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    Pod {
        _dir: dir,
        token_file,
        ca_file,
    }
}

/// Runs `sdk.py` with the pod's environment and returns its JSON answer.
fn sdk_script(emulator: &Emulator, pod: &Pod, script: &str, args: &[&str]) -> Value {
    run_python(emulator, pod, script, DEMO_CLIENT_ID, DEMO_TENANT, args)
}

/// Runs `sdk.py` with the pod's environment and returns its JSON answer.
fn sdk(emulator: &Emulator, pod: &Pod, client_id: &str, args: &[&str]) -> Value {
    sdk_in(emulator, pod, client_id, DEMO_TENANT, args)
}

fn sdk_in(emulator: &Emulator, pod: &Pod, client_id: &str, tenant: &str, args: &[&str]) -> Value {
    run_python(emulator, pod, "sdk.py", client_id, tenant, args)
}

/// `python3 python/<script> VAULT_URL ARGS...` with none of the
/// environment that would point an Azure SDK elsewhere (identity, managed
/// identity endpoints, proxies, CA bundles): the caller sets what a pod has.
fn python(script: &str, vault: &str, args: &[&str]) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let mut command = Command::new("python3");
    command.arg(&script).arg(vault).args(args);
    for var in [
        names::CLIENT_ID_ENV,
        names::TENANT_ID_ENV,
        names::FEDERATED_TOKEN_FILE_ENV,
        names::AUTHORITY_HOST_ENV,
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "MSI_ENDPOINT",
        "MSI_SECRET",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "AZURE_CLIENT_SECRET",
        "AZURE_USERNAME",
    ] {
        command.env_remove(var);
    }
    command
}

/// The JSON a script printed, failing with how to install the SDK when it
/// is missing.
fn printed(script: &str, output: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "Microsoft's Python SDK is missing: python3 -m pip install azure-identity==1.27.0 azure-keyvault-secrets==4.12.0 azure-keyvault-keys==4.11.3 azure-keyvault-certificates==4.12.0\n{stderr}"
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {stdout}\n{stderr}"))
}

/// Runs `python/<script> VAULT_URL ARGS...` with only a pod's environment.
fn run_python(
    emulator: &Emulator,
    pod: &Pod,
    script: &str,
    client_id: &str,
    tenant: &str,
    args: &[&str],
) -> Value {
    let output = python(script, &emulator.vault_url("orders-kv"), args)
        .env(names::CLIENT_ID_ENV, client_id)
        .env(names::TENANT_ID_ENV, tenant)
        .env(names::FEDERATED_TOKEN_FILE_ENV, &pod.token_file)
        .env(names::AUTHORITY_HOST_ENV, emulator.authority_host())
        .env("REQUESTS_CA_BUNDLE", &pod.ca_file)
        .env("HTTPS_PROXY", emulator.proxy_url())
        .output()
        .expect("python3 runs");
    printed(script, &output)
}

/// Runs `script` with `forbidden` as the demo's identity (a Certificate
/// User) and checks that its call `refused` was refused with 403 naming
/// `data_action`; then grants `roles` on the vault and returns what the
/// script saw with `all`.
fn refused_then_granted(
    emulator: &Emulator,
    pod: &Pod,
    script: &str,
    refused: &str,
    data_action: &str,
    roles: &[Role],
) -> Value {
    let seen = sdk_script(emulator, pod, script, &["forbidden"]);
    let answer = &seen[refused];
    assert_eq!(
        (&answer["status"], &answer["code"]),
        (&403.into(), &"Forbidden".into()),
        "{seen:#}"
    );
    assert!(
        answer["message"].as_str().unwrap().contains(data_action),
        "{seen:#}"
    );
    emulator
        .update_config(|c| {
            for role in roles {
                c.role_assignments.push(RoleAssignment {
                    principal_id: DEMO_OBJECT_ID.into(),
                    role: *role,
                    scope: "orders-kv".into(),
                });
            }
        })
        .unwrap();
    sdk_script(emulator, pod, script, &["all"])
}

fn ok(answer: &Value) -> &Value {
    assert!(answer["error"].is_null(), "{answer:#}");
    &answer["ok"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_lists_and_writes_through_the_real_names() {
    let mut config = Config::demo();
    config.max_page_size = 1; // every list follows nextLink
    config.role_assignments.push(RoleAssignment {
        principal_id: DEMO_OBJECT_ID.into(),
        role: Role::SecretsOfficer,
        scope: "orders-kv/secrets/rotated".into(),
    });
    let emulator = Emulator::start(config).await.unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));

    assert_eq!(
        ok(&sdk(
            &emulator,
            &pod,
            DEMO_CLIENT_ID,
            &["get", "db-password"]
        )),
        "s3cr3t-from-key-vault"
    );
    let by_version = sdk(
        &emulator,
        &pod,
        DEMO_CLIENT_ID,
        &["get-version", "db-password"],
    );
    assert_eq!(ok(&by_version)["value"], "s3cr3t-from-key-vault");
    assert_eq!(ok(&by_version)["version"].as_str().unwrap().len(), 32);
    assert_eq!(
        ok(&sdk(&emulator, &pod, DEMO_CLIENT_ID, &["list"])),
        &serde_json::json!(["api-key", "db-password"])
    );
    assert_eq!(
        ok(&sdk(
            &emulator,
            &pod,
            DEMO_CLIENT_ID,
            &["versions", "db-password"]
        )),
        2
    );
    assert_eq!(
        ok(&sdk(
            &emulator,
            &pod,
            DEMO_CLIENT_ID,
            &["set", "rotated", "v2"]
        )),
        "v2"
    );
    assert_eq!(
        ok(&sdk(&emulator, &pod, DEMO_CLIENT_ID, &["get", "rotated"])),
        "v2"
    );
    assert!(emulator.counters().tokens_issued() >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fails_the_way_it_fails_against_azure() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let good = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));

    let unknown = sdk(&emulator, &good, DEMO_CLIENT_ID, &["get", "missing"]);
    assert_eq!(unknown["error"], "ResourceNotFoundError", "{unknown:#}");
    assert_eq!(unknown["status"], 404);
    assert_eq!(unknown["code"], "SecretNotFound");

    let denied = sdk(
        &emulator,
        &good,
        DEMO_CLIENT_ID,
        &["set", "db-password", "x"],
    );
    assert_eq!(denied["error"], "HttpResponseError", "{denied:#}");
    assert_eq!(denied["status"], 403);
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains("ForbiddenByRbac"),
        "{denied:#}"
    );

    let cases = [
        (
            TokenSpec::new("team-a", "someone-else"),
            DEMO_CLIENT_ID,
            "AADSTS700213",
        ),
        (
            TokenSpec::new("team-a", "Orders-Api"),
            DEMO_CLIENT_ID,
            "AADSTS7002138",
        ),
        (
            TokenSpec::new("team-a", "orders-api").audience("api://other"),
            DEMO_CLIENT_ID,
            "AADSTS700212",
        ),
        (
            TokenSpec::new("team-a", "orders-api")
                .issued_at(SystemTime::now() - Duration::from_secs(7200)),
            DEMO_CLIENT_ID,
            "AADSTS700024",
        ),
        (
            TokenSpec::new("team-a", "orders-api"),
            "11111111-2222-3333-4444-555555555555",
            "AADSTS700016",
        ),
    ];
    for (spec, client_id, code) in cases {
        let pod = pod(&emulator, &spec);
        let answer = sdk(&emulator, &pod, client_id, &["get", "db-password"]);
        assert_eq!(
            answer["error"], "ClientAuthenticationError",
            "{code}: {answer:#}"
        );
        assert!(
            answer["message"].as_str().unwrap().contains(code),
            "{code}: {answer:#}"
        );
    }

    // Without its role the identity gets a 403 on reads too.
    emulator
        .update_config(|c| c.role_assignments.clear())
        .unwrap();
    let no_role = sdk(&emulator, &good, DEMO_CLIENT_ID, &["get", "db-password"]);
    assert_eq!(no_role["error"], "HttpResponseError", "{no_role:#}");
    assert_eq!(no_role["status"], 403);
}

fn assert_refused(answer: &Value, code: &str) {
    assert_eq!(
        answer["error"], "ClientAuthenticationError",
        "{code}: {answer:#}"
    );
    assert!(
        answer["message"].as_str().unwrap().contains(code),
        "{code}: {answer:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_entra_refusal_and_throttling() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let good = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));
    let get = ["get", "db-password"];

    // Unknown tenant and unknown resource, asked of the credential directly
    // (through the vault the SDK refuses a tenant other than the vault's
    // before asking Entra).
    let answer = sdk_in(
        &emulator,
        &good,
        DEMO_CLIENT_ID,
        "00000000-0000-0000-0000-000000000000",
        &["token", "https://vault.azure.net/.default"],
    );
    assert_refused(&answer, "AADSTS90002");
    assert_refused(
        &sdk(
            &emulator,
            &good,
            DEMO_CLIENT_ID,
            &["token", "https://management.azure.com/.default"],
        ),
        "AADSTS500011",
    );

    // A token file that is not a JWT, one signed by a key the issuer does
    // not publish, one from an issuer Entra cannot reach.
    let dir = tempfile::tempdir().unwrap();
    let garbage = Pod {
        token_file: azure_wi_emulator::issuer::write_token_file(
            &dir.path().join("a"),
            "not-a-token",
        )
        .unwrap(),
        ca_file: good.ca_file.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    assert_refused(
        &sdk(&emulator, &garbage, DEMO_CLIENT_ID, &get),
        "AADSTS50027",
    );
    let impostor = Emulator::start(Config::demo()).await.unwrap();
    let forged = Pod {
        token_file: azure_wi_emulator::issuer::write_token_file(
            &dir.path().join("b"),
            &impostor
                .mint(&TokenSpec::new("team-a", "orders-api"))
                .unwrap(),
        )
        .unwrap(),
        ca_file: good.ca_file.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    assert_refused(
        &sdk(&emulator, &forged, DEMO_CLIENT_ID, &get),
        "AADSTS700027",
    );
    let elsewhere = Emulator::start(Config {
        issuer: "https://other-cluster.localhost/".into(),
        ..Config::demo()
    })
    .await
    .unwrap();
    let unreachable = Pod {
        token_file: azure_wi_emulator::issuer::write_token_file(
            &dir.path().join("c"),
            &elsewhere
                .mint(&TokenSpec::new("team-a", "orders-api"))
                .unwrap(),
        )
        .unwrap(),
        ca_file: good.ca_file.clone(),
        _dir: tempfile::tempdir().unwrap(),
    };
    assert_refused(
        &sdk(&emulator, &unreachable, DEMO_CLIENT_ID, &get),
        "AADSTS50166",
    );

    // Throttled once by the vault: the SDK waits out Retry-After and reads.
    emulator.faults().fail_next(
        azure_wi_emulator::Endpoint::KeyVault,
        1,
        azure_wi_emulator::Failure {
            status: 429,
            retry_after: Some(1),
        },
    );
    assert_eq!(
        ok(&sdk(&emulator, &good, DEMO_CLIENT_ID, &get)),
        "s3cr3t-from-key-vault"
    );

    // The federated credential's issuer without its trailing slash, then no
    // federated credential at all.
    emulator
        .update_config(|c| {
            let fic = &mut c.identities[0].federated_credentials[0];
            fic.issuer = fic.issuer.trim_end_matches('/').to_owned();
        })
        .unwrap();
    assert_refused(&sdk(&emulator, &good, DEMO_CLIENT_ID, &get), "AADSTS700211");
    emulator
        .update_config(|c| c.identities[0].federated_credentials.clear())
        .unwrap();
    assert_refused(&sdk(&emulator, &good, DEMO_CLIENT_ID, &get), "AADSTS70021");
}

/// `azure-keyvault-keys` and `azure-keyvault-certificates` read what the
/// emulator seeds: RSA and EC keys with versions (a disabled one readable,
/// as Key Vault shows it), certificates with their managed key and secret,
/// the PKCS#12 and PEM secrets decoded by `cryptography` and matched to the
/// certificate; a disabled certificate's secret and missing objects refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_certificates_through_microsofts_sdks() {
    let mut config = Config::demo_with_keys_and_certificates();
    config.max_page_size = 2; // lists follow nextLink
    let emulator = Emulator::start(config).await.unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));
    let seen = sdk_script(&emulator, &pod, "keys_certs.py", &[]);

    let rsa = ok(&seen["rsa"]);
    assert_eq!(
        (&rsa["kty"], &rsa["n_bits"], &rsa["e"], &rsa["enabled"]),
        (&"RSA".into(), &4096.into(), &65537.into(), &true.into()),
        "{seen:#}"
    );
    let ec = ok(&seen["ec"]);
    assert_eq!(
        (&ec["crv"], &ec["x_len"], &ec["y_len"]),
        (&"P-521".into(), &66.into(), &66.into()),
        "{seen:#}"
    );
    assert_eq!(
        ok(&seen["ec_versions"]),
        &serde_json::json!(["P-256", "P-384", "P-521"])
    );
    assert_eq!(
        ok(&seen["key_names"]),
        &serde_json::json!(["signing-ec", "signing-rsa", "web-tls", "web-tls-pem"])
    );
    let versions = ok(&seen["rsa_versions"]).as_array().unwrap();
    assert_eq!(versions.len(), 3);
    let disabled = ok(&seen["rsa_disabled"]);
    assert_eq!(
        (&disabled["enabled"], &disabled["n_bits"]),
        (&false.into(), &3072.into())
    );
    assert_eq!(seen["missing_key"]["error"], "ResourceNotFoundError");
    assert_eq!(seen["missing_key"]["code"], "KeyNotFound");

    let cert = ok(&seen["cert"]);
    assert_eq!(cert["x5t_matches"], true, "{seen:#}");
    assert_eq!(cert["subject"], "CN=orders.example.com");
    assert_eq!(cert["content_type"], "application/x-pkcs12");
    let version = cert["version"].as_str().unwrap();
    assert!(
        cert["key_id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/keys/web-tls/{version}"))
    );
    assert!(
        cert["secret_id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/secrets/web-tls/{version}"))
    );
    assert_eq!(
        ok(&seen["cert_pem"])["content_type"],
        "application/x-pem-file"
    );
    assert_eq!(
        ok(&seen["cert_names"]),
        &serde_json::json!(["web-tls", "web-tls-pem"])
    );
    assert_eq!(ok(&seen["cert_disabled"])["enabled"], false);
    assert_eq!(
        ok(&seen["managed_key_matches"]),
        &serde_json::json!([true, true])
    );
    assert_eq!(seen["missing_cert"]["error"], "ResourceNotFoundError");
    assert_eq!(seen["missing_cert"]["code"], "CertificateNotFound");

    let pfx = ok(&seen["pfx"]);
    assert_eq!(pfx["content_type"], "application/x-pkcs12");
    assert_eq!(pfx["key_id"], cert["key_id"]);
    assert_eq!(pfx["managed"], true);
    assert_eq!(pfx["key_matches"], true);
    assert_eq!(pfx["leaf_spki"], cert["spki"]);
    // The PFX is in Key Vault's algorithms: key bag 3DES, certificates
    // RC2-40, SHA-1 MAC with its single iteration implicit.
    let hex = pfx["der_hex"].as_str().unwrap();
    let der: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    use azure_wi_emulator::keyvault::pfx;
    assert_eq!(
        pfx::algorithms(&der),
        Some(pfx::Algorithms {
            key: pfx::PBE_SHA1_3DES.to_vec(),
            certs: pfx::PBE_SHA1_RC2_40.to_vec(),
            mac: pfx::SHA1.to_vec(),
            mac_iterations: None,
        })
    );
    let pem = ok(&seen["pem"]);
    assert_eq!(
        (
            &pem["key_first"],
            &pem["key_matches"],
            &pem["chain"],
            &pem["issued_by_second"],
            &pem["aki_is_ca_ski"]
        ),
        (
            &true.into(),
            &true.into(),
            &2.into(),
            &true.into(),
            &true.into()
        ),
        "{seen:#}"
    );
    assert_eq!(pem["leaf_spki"], ok(&seen["cert_pem"])["spki"]);

    let refused = &seen["secret_disabled"];
    assert_eq!(refused["error"], "HttpResponseError", "{seen:#}");
    assert_eq!(refused["status"], 403);
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("Operation get is not allowed on a disabled secret."),
        "{seen:#}"
    );
}

/// `azure-keyvault-certificates` imports into the emulator as into Key
/// Vault: a PFX with and without a password and a PEM bundle, each read
/// back through `get_certificate` and as the certificate's secret in the
/// content type its policy names (the PFX re-served in Key Vault's
/// algorithms); a corrupt PFX, a wrong password and a PEM without its key
/// refused with 400 and Key Vault's words; importing needs the
/// Certificates Officer role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_certificates_through_microsofts_sdks() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));

    // A Certificate User may read certificates, not import them.
    let seen = refused_then_granted(
        &emulator,
        &pod,
        "import_certs.py",
        "import",
        "Microsoft.KeyVault/vaults/certificates/import/action",
        &[Role::CertificatesOfficer],
    );
    let made = &seen["made"];

    let pfx = ok(&seen["pfx"]);
    let version = pfx["id"].as_str().unwrap().rsplit('/').next().unwrap();
    assert_eq!(version.len(), 32, "{seen:#}");
    assert!(
        pfx["key_id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/keys/imported-pfx/{version}"))
    );
    assert!(
        pfx["secret_id"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/secrets/imported-pfx/{version}"))
    );
    assert_eq!(pfx["cer_spki"], made["key_spki"]);
    assert_eq!(pfx["content_type"], "application/x-pkcs12");
    assert_eq!(pfx["subject"], "CN=imported.example.com");
    assert_eq!(pfx["issuer"], "Unknown");
    assert_eq!(pfx["dns"], serde_json::json!(["imported.example.com"]));
    assert_eq!(pfx["tags"], serde_json::json!({"source": "pfx"}));
    assert_eq!(ok(&seen["pfx_get"])["x5t"], pfx["x5t"]);
    assert_eq!(ok(&seen["pfx_get"])["cer_spki"], made["key_spki"]);

    let secret = ok(&seen["pfx_secret"]);
    assert_eq!(secret["content_type"], "application/x-pkcs12");
    assert_eq!(secret["managed"], true);
    assert_eq!(secret["key_id"], pfx["key_id"]);
    assert_eq!(secret["key_spki"], made["key_spki"]);
    assert_eq!(
        secret["chain_spki"],
        serde_json::json!([made["key_spki"], made["ca_spki"]])
    );
    let hex = secret["der_hex"].as_str().unwrap();
    let der: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    use azure_wi_emulator::keyvault::pfx as kv_pfx;
    assert_eq!(
        kv_pfx::algorithms(&der).map(|a| (a.key, a.certs, a.mac)),
        Some((
            kv_pfx::PBE_SHA1_3DES.to_vec(),
            kv_pfx::PBE_SHA1_RC2_40.to_vec(),
            kv_pfx::SHA1.to_vec()
        )),
        "an imported PFX is served in Key Vault's algorithms, not as uploaded"
    );

    assert_eq!(ok(&seen["pfx_open"])["cer_spki"], made["key_spki"]);

    let pem = ok(&seen["pem"]);
    assert_eq!(pem["content_type"], "application/x-pem-file", "{seen:#}");
    assert_eq!(pem["cer_spki"], made["key_spki"]);
    let secret = ok(&seen["pem_secret"]);
    assert_eq!(
        (
            &secret["content_type"],
            &secret["first"],
            &secret["key_spki"]
        ),
        (
            &"application/x-pem-file".into(),
            &"key".into(),
            &made["key_spki"]
        ),
        "{seen:#}"
    );
    assert_eq!(
        secret["chain_spki"],
        serde_json::json!([made["key_spki"], made["ca_spki"]])
    );
    assert_eq!(ok(&seen["pem_get"])["cer_spki"], made["key_spki"]);

    for (case, text) in [
        (
            "corrupt",
            "The specified PKCS#12 X.509 certificate content can not be read.",
        ),
        (
            "wrong_password",
            "The specified PKCS#12 X.509 certificate content can not be read.",
        ),
        (
            "pem_without_key",
            "The specified PEM X.509 certificate content is in an unexpected format.",
        ),
    ] {
        let refused = &seen[case];
        assert_eq!(
            (&refused["error"], &refused["status"], &refused["code"]),
            (
                &"HttpResponseError".into(),
                &400.into(),
                &"BadParameter".into()
            ),
            "{case}: {seen:#}"
        );
        assert!(
            refused["message"].as_str().unwrap().contains(text),
            "{case}: {seen:#}"
        );
    }
    assert_eq!(seen["refused_absent"]["code"], "CertificateNotFound");
}

/// `azure-keyvault-keys` creates a P-256K key with `create_ec_key` and
/// imports a secp256k1 key made by `cryptography` with `import_key`; both
/// are served as Key Vault serves them (`crv: P-256K`, the 32-byte
/// coordinates, no private part, the tags given) by `get_key` and
/// `list_properties_of_keys`; an imported key whose public point is not
/// its private key's is refused with 400; writing keys needs the Crypto
/// Officer role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_p256k_keys_through_microsofts_sdk() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));

    // A Certificate User (the demo's role) may read keys, not make them.
    let seen = refused_then_granted(
        &emulator,
        &pod,
        "key_writes.py",
        "create",
        "Microsoft.KeyVault/vaults/keys/create/action",
        &[Role::CryptoOfficer],
    );

    let made = ok(&seen["create"]);
    assert_eq!(
        (&made["kty"], &made["crv"], &made["has_d"]),
        (&"EC".into(), &"P-256K".into(), &false.into()),
        "{seen:#}"
    );
    assert_eq!(made["x"].as_str().unwrap().len(), 64, "32 bytes");
    assert_eq!(made["y"].as_str().unwrap().len(), 64, "32 bytes");
    assert_eq!(made["key_ops"], serde_json::json!(["sign", "verify"]));
    assert_eq!(made["tags"], serde_json::json!({"curve": "secp256k1"}));
    assert_eq!(ok(&seen["get"]), made);

    let imported = ok(&seen["import"]);
    assert_eq!(imported["crv"], "P-256K", "{seen:#}");
    assert_eq!(
        (&imported["x"], &imported["y"]),
        (&seen["made"]["x"], &seen["made"]["y"]),
        "{seen:#}"
    );
    assert_eq!(imported["key_ops"], serde_json::json!(["sign", "verify"]));
    assert_eq!(imported["tags"], serde_json::json!({"source": "import"}));
    assert_eq!(ok(&seen["imported_get"]), imported);

    let refused = &seen["import_mismatched"];
    assert_eq!(
        (&refused["status"], &refused["code"]),
        (&400.into(), &"BadParameter".into()),
        "{seen:#}"
    );

    assert_eq!(
        ok(&seen["listed"]),
        &serde_json::json!({
            "k256-made": {"tags": {"curve": "secp256k1"}, "enabled": true},
            "k256-imported": {"tags": {"source": "import"}, "enabled": true},
        }),
        "{seen:#}"
    );
}

/// `update_key_properties(tags=…)` and `update_certificate_properties(
/// tags=…)` replace the current version's tags, which `get_key`,
/// `get_certificate` and `list_properties_of_keys`/`_certificates` then
/// show; an update of an absent key is 404 `KeyNotFound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_tags_through_microsofts_sdks() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));
    emulator
        .update_config(|c| {
            for role in [Role::CryptoOfficer, Role::CertificatesOfficer] {
                c.role_assignments.push(RoleAssignment {
                    principal_id: DEMO_OBJECT_ID.into(),
                    role,
                    scope: "orders-kv".into(),
                });
            }
        })
        .unwrap();
    let seen = sdk_script(&emulator, &pod, "update_tags.py", &[]);
    let updated = ok(&seen["key_update"]);
    assert_eq!(
        updated["tags"],
        serde_json::json!({"owner": "team-a"}),
        "{seen:#}"
    );
    assert_eq!(updated["updated_after_created"], true);
    assert_eq!(ok(&seen["key_get"]), updated);
    assert_eq!(
        ok(&seen["key_listed"]),
        &serde_json::json!([{"owner": "team-a"}])
    );
    assert_eq!(
        ok(&seen["key_retag"])["tags"],
        serde_json::json!({"owner": "team-b", "tier": "1"}),
        "tags are replaced whole"
    );
    let cert = ok(&seen["cert_update"]);
    assert_eq!(cert["tags"], serde_json::json!({"env": "prod"}), "{seen:#}");
    assert_eq!(ok(&seen["cert_get"]), cert);
    assert_eq!(
        ok(&seen["cert_listed"]),
        &serde_json::json!([{"env": "prod"}])
    );
    assert_eq!(
        (&seen["absent"]["status"], &seen["absent"]["code"]),
        (&404.into(), &"KeyNotFound".into()),
        "{seen:#}"
    );
}

/// `not_before`/`expires_on` set through `set_secret`,
/// `update_secret_properties`, `create_ec_key` and `update_key_properties`
/// come back from the gets and lists as the
/// same instants; an expired secret's value is still served (Key Vault
/// answers 200: Azure/AzureKeyVault#19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_not_before_and_expires_on_through_microsofts_sdks() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));
    emulator
        .update_config(|c| {
            for role in [Role::SecretsOfficer, Role::CryptoOfficer] {
                c.role_assignments.push(RoleAssignment {
                    principal_id: DEMO_OBJECT_ID.into(),
                    role,
                    scope: "orders-kv".into(),
                });
            }
        })
        .unwrap();
    let seen = sdk_script(&emulator, &pod, "validity.py", &[]);
    let window = serde_json::json!({"nbf": 1_600_000_000, "exp": 1_700_000_000});
    assert_eq!(ok(&seen["set"]), &window, "{seen:#}");
    let got = ok(&seen["get"]);
    assert_eq!(got["value"], "v1", "an expired secret is still read");
    assert_eq!((&got["nbf"], &got["exp"]), (&window["nbf"], &window["exp"]));
    assert_eq!(ok(&seen["listed"]), &serde_json::json!([window]));
    assert_eq!(
        ok(&seen["updated"]),
        &serde_json::json!({"nbf": 1_600_000_000, "exp": 1_800_000_000, "tags": {"rotated": "no"}}),
        "update_secret_properties keeps nbf and sets exp and tags: {seen:#}"
    );
    assert_eq!(
        ok(&seen["key"]),
        &serde_json::json!({"nbf": null, "exp": 4_000_000_000_u64}),
        "{seen:#}"
    );
    let updated = serde_json::json!({"nbf": 1_600_000_000, "exp": 4_000_000_000_u64});
    assert_eq!(ok(&seen["key_updated"]), &updated);
    assert_eq!(ok(&seen["key_get"]), &updated);
}

/// `begin_delete_secret`/`_key`/`_certificate` run to completion against
/// the emulator's soft delete (their pollers read `/deleted…/{name}`),
/// with the recovery id and a purge date 90 days after the deletion; the
/// objects then answer 404 with Key Vault's codes, `get_deleted_*` finds
/// them, and a deleted name is not reused by a set, a key create or a
/// certificate import (409 with Key Vault's message). Deleting needs
/// the Officer roles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_deletes_through_microsofts_sdks() {
    let emulator = Emulator::start(Config::demo_with_keys_and_certificates())
        .await
        .unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));

    let seen = refused_then_granted(
        &emulator,
        &pod,
        "deletes.py",
        "secret",
        "Microsoft.KeyVault/vaults/secrets/delete",
        &[
            Role::SecretsOfficer,
            Role::CryptoOfficer,
            Role::CertificatesOfficer,
        ],
    );
    let vault = emulator.vault_url("orders-kv");
    let vault = vault.trim_end_matches('/');
    for (case, collection, name, get, code) in [
        (
            "secret",
            "secrets",
            "api-key",
            "secret_get",
            "SecretNotFound",
        ),
        ("key", "keys", "signing-ec", "key_get", "KeyNotFound"),
        (
            "cert",
            "certificates",
            "web-tls",
            "cert_get",
            "CertificateNotFound",
        ),
    ] {
        let gone = ok(&seen[case]);
        assert_eq!(gone["name"], name, "{case}: {seen:#}");
        assert_eq!(
            gone["recovery_id"],
            format!("{vault}/deleted{collection}/{name}"),
            "{case}: {seen:#}"
        );
        assert_eq!(
            gone["purge"].as_u64().unwrap() - gone["deleted"].as_u64().unwrap(),
            90 * 86_400,
            "{case}"
        );
        assert_eq!(
            (&seen[get]["status"], &seen[get]["code"]),
            (&404.into(), &code.into()),
            "{case}: {seen:#}"
        );
        assert_eq!(ok(&seen[&format!("{case}_deleted")]), gone, "{case}");
    }
    assert_eq!(
        seen["cert_secret_get"]["code"], "SecretNotFound",
        "{seen:#}"
    );
    for (case, kind) in [
        ("secret_reset", "Secret api-key"),
        ("key_reset", "Key signing-ec"),
        ("cert_reset", "Certificate web-tls"),
    ] {
        assert_eq!(
            (&seen[case]["status"], &seen[case]["code"]),
            (&409.into(), &"Conflict".into()),
            "{case}: {seen:#}"
        );
        let message = seen[case]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!(
                "{kind} is currently in a deleted but recoverable state"
            )),
            "{case}: {message}"
        );
    }
}

/// The IMDS proxy (`azure-wi-proxy`) as an IMDS-only app meets it: the
/// pod's workload-identity variables are the proxy's, not the app's;
/// Microsoft's `ManagedIdentityCredential`, pointed at the proxy by
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST`, gets a Key Vault token and reads a
/// secret with it, unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_reads_key_vault_through_the_imds_proxy() {
    use azure_wi_proxy::server::{ProxySettings, router, serve};

    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let pod = pod(&emulator, &TokenSpec::new("team-a", "orders-api"));
    let settings = ProxySettings {
        default_client_id: Some(DEMO_CLIENT_ID.to_owned()),
        tenant_id: DEMO_TENANT.to_owned(),
        token_file: pod.token_file.clone(),
        authority_host: Some(emulator.authority_host()),
        imds_address: "127.0.0.1:9".to_owned(),
    };
    let app = router(settings, Some(emulator.client().unwrap())).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(serve(listener, app, stop.clone()));

    let vault = emulator.vault_url("orders-kv");
    let ca_file = pod.ca_file.clone();
    let https_proxy = emulator.proxy_url();
    let output = tokio::task::spawn_blocking(move || {
        python("imds_proxy.py", &vault, &[])
            .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", &proxy)
            .env("REQUESTS_CA_BUNDLE", &ca_file)
            .env("HTTPS_PROXY", &https_proxy)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    stop.cancel();
    let seen = printed("imds_proxy.py", &output);
    assert!(seen["token"]["ok"].as_u64().is_some(), "{seen:#}");
    assert_eq!(seen["secret"]["ok"], "s3cr3t-from-key-vault", "{seen:#}");
    assert!(emulator.counters().token_requests() >= 1);
}

/// `WorkloadIdentityCredential(enable_azure_proxy=True)` with the variables
/// the webhook gives an identity-binding pod reads a secret through the
/// emulated token proxy, for a ServiceAccount no federated credential names;
/// one without a binding is refused with what is missing; the SDK's own
/// checks of the variables meet the proxy's URL as the emulator prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_through_the_identity_binding_token_proxy() {
    let mut config = Config::demo();
    config.bind(DEMO_CLIENT_ID, "team-b", "reports");
    let emulator = Emulator::start(config).await.unwrap();
    let run = |service_account: &str, proxy_url: &str| {
        let spec = TokenSpec::new("team-b", service_account)
            .audience(azure_wi_emulator::binding::AUDIENCE);
        let pod = pod(&emulator, &spec);
        let output = python("identity_binding.py", &emulator.vault_url("orders-kv"), &[])
            .env(names::CLIENT_ID_ENV, DEMO_CLIENT_ID)
            .env(names::TENANT_ID_ENV, DEMO_TENANT)
            .env(names::FEDERATED_TOKEN_FILE_ENV, &pod.token_file)
            .env(names::AUTHORITY_HOST_ENV, emulator.authority_host())
            .env(names::KUBERNETES_TOKEN_PROXY_ENV, proxy_url)
            .env(
                names::KUBERNETES_SNI_NAME_ENV,
                azure_wi_emulator::hosts::identity_binding(),
            )
            .env(names::KUBERNETES_CA_FILE_ENV, &pod.ca_file)
            .env("REQUESTS_CA_BUNDLE", &pod.ca_file)
            .env("HTTPS_PROXY", emulator.proxy_url())
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .expect("python3 runs");
        printed("identity_binding.py", &output)
    };
    let url = emulator.identity_binding_url();

    let seen = run("reports", &url);
    assert_eq!(seen["secret"]["ok"], "s3cr3t-from-key-vault", "{seen:#}");

    let seen = run("other", &url);
    let message = seen["secret"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("ServiceAccount team-b/other may not use managed identity"),
        "{seen:#}"
    );

    // The SDK's own rule: the proxy URL must be https.
    let seen = run("reports", &url.replace("https://", "http://"));
    let message = seen["credential"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("must use the 'https' scheme"), "{seen:#}");
}
