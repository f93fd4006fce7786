//! The demo: the whole chain on one machine, step by step, through the real
//! code of each piece: the webhook's mutation, a kubelet-style token file,
//! `azure-wi-auth`'s exchange at the emulated Entra ID and its Key Vault
//! client. `--break` breaks one link and shows the error a user would get
//! and how to fix it.

use std::{fmt::Write as _, str::FromStr};

use serde_json::Value;

use azure_wi_core::{Audience, ServiceAccountInfo, names};

use crate::{Config, Emulator, TokenSpec, config::DEMO_TENANT, keys::decode_unverified};

const POD: &str = include_str!("../../examples/pod.yaml");
const SERVICE_ACCOUNT: &str = include_str!("../../examples/serviceaccount.yaml");

/// The link `--break` breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Break {
    /// The federated credential names another ServiceAccount.
    Subject,
    /// The webhook projects the token for another audience.
    Audience,
    /// The federated credential's issuer lacks the trailing slash.
    Issuer,
    /// The ServiceAccount's client-id annotation names no identity.
    ClientId,
    /// The identity has no role on the vault.
    Role,
    /// The token file stopped being rotated two hours ago.
    Expired,
    /// The pod lacks the `azure.workload.identity/use` label.
    Label,
}

impl Break {
    fn fix(self) -> String {
        match self {
            Self::Subject => format!(
                "make the federated identity credential's subject exactly {} of the pod (case included): az identity federated-credential update --subject {}",
                names::service_account_subject("<namespace>", "<serviceaccount>"),
                names::service_account_subject("team-a", "orders-api"),
            ),
            Self::Audience => format!(
                "keep the webhook's --audience and the federated credential's audiences equal ({} unless you changed both)",
                names::DEFAULT_AUDIENCE
            ),
            Self::Issuer => "copy the cluster's issuer URL exactly, trailing slash included (az aks show --query oidcIssuerProfile.issuerUrl) into the federated credential".to_owned(),
            Self::ClientId => format!(
                "set {} on the ServiceAccount to the managed identity's client id (az identity show --query clientId)",
                names::CLIENT_ID_ANNOTATION
            ),
            Self::Role => "grant the identity Key Vault Secrets User on the vault: az role assignment create --role \"Key Vault Secrets User\" --assignee <principal id> --scope <vault id>".to_owned(),
            Self::Expired => "let the kubelet rotate the projected token (read the file for every exchange, never copy it); azure-wi-auth re-reads it each time".to_owned(),
            Self::Label => format!(
                "label the pod (not the Deployment) with {}: \"true\" so the API server sends it to the webhook",
                names::USE_LABEL
            ),
        }
    }
}

fn yaml(text: &str) -> Result<Value, String> {
    yaml_serde::from_str(text).map_err(|e| format!("example YAML: {e}"))
}

fn env_of(pod: &Value, container: &str) -> Vec<(String, String)> {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["name"] == container)
        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_owned(),
                e["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// What the mutated pod says about the token: each line read from `pod`
/// itself (volume, mounts, skipped containers), so the demo shows what the
/// webhook did, not what it is meant to do.
fn describe_token_wiring(pod: &Value) -> String {
    let mut text = String::new();
    let volume = pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == names::TOKEN_VOLUME);
    match volume {
        Some(volume) => {
            for source in volume["projected"]["sources"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let token = &source["serviceAccountToken"];
                let _ = writeln!(
                    text,
                    "volume {}: projected serviceAccountToken path={} audience={} expirationSeconds={}",
                    names::TOKEN_VOLUME,
                    token["path"].as_str().unwrap_or("(none)"),
                    token["audience"].as_str().unwrap_or("(none)"),
                    token["expirationSeconds"],
                );
            }
        }
        None => {
            let _ = writeln!(text, "no volume {}", names::TOKEN_VOLUME);
        }
    }
    let skip = pod["metadata"]["annotations"][names::SKIP_CONTAINERS_ANNOTATION]
        .as_str()
        .map(|v| format!(" (listed in {} {v:?})", names::SKIP_CONTAINERS_ANNOTATION))
        .unwrap_or_default();
    for kind in ["initContainers", "containers"] {
        for container in pod["spec"][kind].as_array().into_iter().flatten() {
            let name = container["name"].as_str().unwrap_or("?");
            let mount = container["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["name"] == names::TOKEN_VOLUME);
            let _ = match mount {
                Some(m) => writeln!(
                    text,
                    "{kind}/{name}: token mounted at {}{}",
                    m["mountPath"].as_str().unwrap_or("?"),
                    if m["readOnly"] == true {
                        " read-only"
                    } else {
                        ""
                    },
                ),
                None => writeln!(text, "{kind}/{name}: no token mount{skip}"),
            };
        }
    }
    text.trim_end().to_owned()
}

/// The role assignments that let `principal` read, as the emulator holds them.
fn roles_of(config: &Config, principal: &str) -> String {
    let held: Vec<String> = config
        .role_assignments
        .iter()
        .filter(|r| r.principal_id == principal)
        .map(|r| format!("{principal} holds {} on {}", r.role.name(), r.scope))
        .collect();
    if held.is_empty() {
        format!("{principal} holds no role")
    } else {
        held.join("\n")
    }
}

fn show(out: &mut String, title: &str, body: &str) {
    let _ = writeln!(out, "\n== {title}");
    for line in body.lines() {
        let _ = writeln!(out, "   {line}");
    }
}

/// Runs the demo, printing each step to stdout as it goes. Returns whether
/// it went as intended: the secret read, or (with `broken`) the failure
/// shown.
///
/// # Errors
///
/// A description when the demo itself cannot run (the emulator fails to
/// start, an example file does not parse).
pub async fn run(broken: Option<Break>) -> Result<bool, String> {
    let mut out = String::new();
    let outcome = steps(broken, &mut out).await;
    print!("{out}");
    match (outcome, broken) {
        (Ok(secret), None) => {
            println!("\nThe pod read {secret} from Key Vault with no stored secret.");
            Ok(true)
        }
        (Ok(_), Some(b)) => {
            println!("\nBreaking {b:?} did not stop the chain: that is a bug in the demo.");
            Ok(false)
        }
        (Err(Failure::Chain(error)), Some(b)) => {
            println!(
                "\n!! This is what the workload sees:\n   {error}\n\n-> Fix: {}",
                b.fix()
            );
            Ok(true)
        }
        (Err(Failure::Chain(error)), None) => {
            println!("\n!! The chain failed: {error}");
            Ok(false)
        }
        (Err(Failure::Setup(error)), _) => Err(error),
    }
}

enum Failure {
    /// The chain refused: what a user would see.
    Chain(String),
    /// The demo could not run.
    Setup(String),
}

async fn steps(broken: Option<Break>, out: &mut String) -> Result<String, Failure> {
    let setup = Failure::Setup;
    let chain = |e: &dyn std::fmt::Display| Failure::Chain(e.to_string());
    let mut config = Config::demo();
    let fic = &mut config.identities[0].federated_credentials[0];
    match broken {
        Some(Break::Subject) => fic.subject = "system:serviceaccount:team-a:orders".to_owned(),
        Some(Break::Issuer) => fic.issuer = fic.issuer.trim_end_matches('/').to_owned(),
        Some(Break::Role) => config.role_assignments.clear(),
        _ => {}
    }
    let emulator = Emulator::start(config.clone())
        .await
        .map_err(|e| setup(e.to_string()))?;
    show(
        out,
        "0. The emulated cloud",
        &format!(
            "cluster issuer  {}\nEntra ID        {} (tenant {DEMO_TENANT})\nKey Vault       {}\nidentity        {} (client id {})\nfederated cred. issuer={} subject={} audiences={:?}\nrole            {}",
            config.issuer,
            emulator.authority_host(),
            emulator.vault_url("orders-kv"),
            config.identities[0].name,
            config.identities[0].client_id,
            config.identities[0].federated_credentials[0].issuer,
            config.identities[0].federated_credentials[0].subject,
            config.identities[0].federated_credentials[0].audiences,
            config.role_assignments.first().map_or_else(
                || "(none)".to_owned(),
                |r| format!("{} on {}", r.role.name(), r.scope)
            ),
        ),
    );

    // 1. The pod and the webhook.
    let mut pod = yaml(POD).map_err(setup)?;
    let mut sa = yaml(SERVICE_ACCOUNT).map_err(setup)?;
    if broken == Some(Break::Label)
        && let Some(labels) = pod["metadata"]["labels"].as_object_mut()
    {
        labels.remove(names::USE_LABEL);
    }
    if broken == Some(Break::ClientId) {
        sa["metadata"]["annotations"][names::CLIENT_ID_ANNOTATION] =
            "0b1c2d3e-0000-4000-8000-00000000dead".into();
    }
    let labelled = pod["metadata"]["labels"][names::USE_LABEL] == "true";
    show(
        out,
        "1. The pod",
        &format!(
            "team-a/orders-api, ServiceAccount orders-api, label {}={}\nServiceAccount annotation {}={}",
            names::USE_LABEL,
            if labelled { "\"true\"" } else { "(missing)" },
            names::CLIENT_ID_ANNOTATION,
            sa["metadata"]["annotations"][names::CLIENT_ID_ANNOTATION]
                .as_str()
                .unwrap_or("(none)"),
        ),
    );
    let staging_audience = format!("{}-staging", names::DEFAULT_AUDIENCE);
    let audience = if broken == Some(Break::Audience) {
        staging_audience.as_str()
    } else {
        names::DEFAULT_AUDIENCE
    };
    let stored = if labelled {
        let parsed = webhook::mutate::AdmissionPod::parse(&pod, "team-a")
            .map_err(|e| setup(e.to_string()))?;
        let account =
            ServiceAccountInfo::from_value(&sa, "team-a").map_err(|e| setup(e.to_string()))?;
        let mutation_config = webhook::config::MutationConfig::default()
            .with_tenant_id(
                DEMO_TENANT
                    .parse()
                    .map_err(|e: azure_wi_core::Error| setup(e.to_string()))?,
            )
            .with_audience(Audience::from_str(audience).map_err(|e| setup(e.to_string()))?);
        let mutation = webhook::mutate::mutate(&parsed, Some(&account), &mutation_config)
            .map_err(|e| chain(&e))?;
        let stored = mutation.apply_to(&pod).map_err(|e| setup(e.to_string()))?;
        let injected: Vec<String> = env_of(&stored, "api")
            .into_iter()
            .filter(|(k, _)| k.starts_with("AZURE_"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        show(
            out,
            "2. The webhook mutates it (webhook::mutate, the code `webhook serve` runs)",
            &format!(
                "{} patch operations; container api gets:\n{}\n{}",
                mutation.operations(),
                injected.join("\n"),
                describe_token_wiring(&stored),
            ),
        );
        stored
    } else {
        show(
            out,
            "2. The webhook is never called",
            "the MutatingWebhookConfiguration's objectSelector only sends labelled pods: no AZURE_* variables, no token volume",
        );
        pod
    };

    // 3. The kubelet projects the token.
    let env = env_of(&stored, "api");
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let issued_at = if broken == Some(Break::Expired) {
        std::time::SystemTime::now() - std::time::Duration::from_secs(7200)
    } else {
        std::time::SystemTime::now()
    };
    let spec = TokenSpec::new("team-a", "orders-api")
        .audience(audience)
        .issued_at(issued_at);
    let token_file = emulator
        .write_token_file(dir.path(), &spec)
        .map_err(|e| setup(e.to_string()))?;
    let token = std::fs::read_to_string(&token_file).map_err(|e| setup(e.to_string()))?;
    let claims = decode_unverified(&token).unwrap_or_default();
    show(
        out,
        "3. The kubelet writes the ServiceAccount token (atomic ..data swap)",
        &format!(
            "file  {} (stands for {})\niss   {}\nsub   {}\naud   {}\niat   {}  exp {}",
            token_file.display(),
            names::TOKEN_FILE_PATH,
            claims["iss"],
            claims["sub"],
            claims["aud"],
            claims["iat"],
            claims["exp"],
        ),
    );

    // 4. The app: azure-wi-auth from the injected environment.
    let config = azure_wi_auth::WorkloadIdentityConfig::from_env_with(|name| match name {
        names::FEDERATED_TOKEN_FILE_ENV => get(name).map(|_| token_file.display().to_string()),
        _ => get(name),
    })
    .map_err(|e| chain(&e))?;
    let client = emulator.client().map_err(|e| setup(e.to_string()))?;
    // The emulator's client maps the real Azure host names to its loopback
    // listener; the Key Vault client below shares it through the credential.
    let credential = azure_wi_auth::WorkloadIdentityCredential::builder(config)
        .with_http_client(client)
        .build()
        .map_err(|e| setup(e.to_string()))?;
    let scope = azure_wi_core::AzureCloud::Public.key_vault_scope();
    let access = credential
        .get_token(&[scope])
        .await
        .map_err(|e| chain(&e))?;
    let access_claims = decode_unverified(access.secret()).unwrap_or_default();
    let matched = &emulator.config().identities[0].federated_credentials[0];
    show(
        out,
        "4. Entra ID exchanges it (azure-wi-auth -> POST /<tenant>/oauth2/v2.0/token)",
        &format!(
            "signature checked against the issuer's JWKS (fetched via its discovery document)\nfederated credential {:?} matched: issuer, subject and audience equal, case-sensitive\naccess token: aud={} tid={} oid={} appid={} expires in {}s",
            matched.name,
            access_claims["aud"],
            access_claims["tid"],
            access_claims["oid"],
            access_claims["appid"],
            access_claims["exp"]
                .as_u64()
                .unwrap_or(0)
                .saturating_sub(access_claims["iat"].as_u64().unwrap_or(0)),
        ),
    );

    // 5. Key Vault.
    let vault_url = get("KEYVAULT_URL").unwrap_or_else(|| emulator.vault_url("orders-kv"));
    let vault = azure_wi_auth::SecretClient::new(&vault_url, credential)
        .map_err(|e| setup(e.to_string()))?;
    let secret = vault
        .get_secret("db-password")
        .await
        .map_err(|e| chain(&e))?;
    show(
        out,
        "5. Key Vault checks the token and Azure RBAC (challenge, then GET /secrets/db-password)",
        &format!(
            "{}\nsecret db-password (version {}) = {}   [demo data]",
            roles_of(
                &emulator.config(),
                access_claims["oid"].as_str().unwrap_or("")
            ),
            secret.properties.version.as_deref().unwrap_or("?"),
            secret.value.expose(),
        ),
    );
    Ok("db-password".to_owned())
}
