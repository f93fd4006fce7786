//! One `azwi doctor` run: connect with the user's kubeconfig, read, probe,
//! and hand the inputs to the rules.

use std::path::PathBuf;

use azure_wi_auth::Scope;
use azure_wi_core::{
    DEFAULT_AUTHORITY_HOST, is_guid,
    names::{AUTHORITY_HOST_ENV, TENANT_ID_ANNOTATION, TENANT_ID_ENV},
};
use kube::{
    Client,
    config::{KubeConfigOptions, Kubeconfig},
};

use super::{
    Area, Inputs, Note, Report,
    collect::{Namespaces, Target, read_cluster},
    probe,
};
use crate::Error;

/// What to check and how to reach the cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// A kubeconfig file; otherwise `KUBECONFIG`, `~/.kube/config` or the
    /// in-cluster configuration, as kubectl finds them.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context; otherwise its current one.
    pub context: Option<String>,
    /// `-n`: the namespace; otherwise the context's.
    pub namespace: Option<String>,
    /// `-A`: every namespace.
    pub all_namespaces: bool,
    /// One object to look at.
    pub target: Option<Target>,
    /// Perform the exchange at Entra for each ServiceAccount with a client id.
    pub check_entra: bool,
    /// The tenant for `--check-entra` when the ServiceAccount names none.
    pub tenant_id: Option<String>,
    /// The scope to ask Entra for.
    pub scope: Scope,
}

/// The report and a description of what was checked.
#[derive(Debug)]
pub struct Outcome {
    /// The findings.
    pub report: Report,
    /// `namespace team-a`, `all namespaces`, `pod team-a/x`.
    pub scope: String,
}

async fn client(options: &Options) -> Result<(Client, kube::Config), Error> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let (what, config) = match &options.kubeconfig {
        Some(path) => {
            let what = format!("--kubeconfig {}", path.display());
            let config = match Kubeconfig::read_from(path) {
                Ok(kubeconfig) => kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            (what, config)
        }
        None if options.context.is_some() => (
            "the kubeconfig (KUBECONFIG or ~/.kube/config)".to_owned(),
            kube::Config::from_kubeconfig(&kube_options)
                .await
                .map_err(|e| e.to_string()),
        ),
        None => (
            "the kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster)".to_owned(),
            kube::Config::infer().await.map_err(|e| e.to_string()),
        ),
    };
    let mut config = config.map_err(|reason| Error::Kubeconfig { what, reason })?;
    // kube-rs takes HTTPS_PROXY for the API server too, but is built here
    // without proxy support: that variable is for Entra and the issuer
    // fetch. A kubeconfig `proxy-url` is kept (and refused, clearly).
    let from_env = ["HTTPS_PROXY", "https_proxy"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .any(|value| {
            config
                .proxy_url
                .as_ref()
                .is_some_and(|p| value.parse().ok().as_ref() == Some(p))
        });
    if from_env {
        config.proxy_url = None;
    }
    let client = Client::try_from(config.clone()).map_err(|e| Error::Cluster(e.to_string()))?;
    Ok((client, config))
}

/// Runs the doctor.
///
/// # Errors
///
/// [`Error::Kubeconfig`] when no usable kubeconfig is found,
/// [`Error::Cluster`] when the API server cannot be reached: nothing could
/// be checked. Everything else is a finding or a note in the report.
pub async fn run(options: &Options) -> Result<Outcome, Error> {
    let (client, config) = client(options).await?;
    client
        .apiserver_version()
        .await
        .map_err(|e| Error::Cluster(format!("{} ({})", probe::describe(&e), config.cluster_url)))?;
    let namespaces = if options.all_namespaces {
        Namespaces::All
    } else {
        Namespaces::One(
            options
                .namespace
                .clone()
                .unwrap_or_else(|| config.default_namespace.clone()),
        )
    };
    let scope = match (&namespaces, &options.target) {
        (Namespaces::All, _) => "all namespaces".to_owned(),
        (Namespaces::One(ns), None) => format!("namespace {ns}"),
        (Namespaces::One(ns), Some(Target::Pod(n))) => format!("pod {ns}/{n}"),
        (Namespaces::One(ns), Some(Target::ServiceAccount(n))) => {
            format!("serviceaccount {ns}/{n}")
        }
        (Namespaces::One(ns), Some(Target::Deployment(n))) => format!("deployment {ns}/{n}"),
    };

    let mut inputs = Inputs::default();
    let mut notes = Vec::new();
    read_cluster(
        &client,
        &namespaces,
        options.target.as_ref(),
        &mut inputs,
        &mut notes,
    )
    .await;
    inputs.issuer = probe::issuer(&client, &config, &mut notes).await;

    let accounts = inputs.service_accounts.clone().unwrap_or_default();
    // The kid check needs one token; prefer an account with a client id.
    let first = accounts
        .iter()
        .find(|sa| sa.client_id.is_some())
        .or_else(|| accounts.first());
    if let (Some(facts), Some(sa)) = (inputs.issuer.as_mut(), first) {
        match probe::token(&client, &sa.namespace, &sa.name).await {
            Ok(token) => {
                facts.token = Some(probe::issued(
                    &format!("{}/{}", sa.namespace, sa.name),
                    &token,
                ));
            }
            Err(note) => notes.push(note),
        }
    } else if inputs.issuer.is_some() {
        notes.push(Note::skipped(
            Area::Issuer,
            "no ServiceAccount in scope to request a token for: the JWKS kid check did not run",
        ));
    }

    if options.check_entra {
        check_entra(&client, options, &accounts, &mut inputs, &mut notes).await;
    }
    Ok(Outcome {
        report: Report::new(&inputs, notes),
        scope,
    })
}

async fn check_entra(
    client: &Client,
    options: &Options,
    accounts: &[super::workloads::ServiceAccount],
    inputs: &mut Inputs,
    notes: &mut Vec<Note>,
) {
    let authority_host = std::env::var(AUTHORITY_HOST_ENV)
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned());
    let default_tenant = options
        .tenant_id
        .clone()
        .or_else(|| std::env::var(TENANT_ID_ENV).ok().filter(|t| !t.is_empty()));
    for sa in accounts {
        let Some(client_id) = sa.client_id.as_deref().filter(|id| is_guid(id)) else {
            continue;
        };
        let Some(tenant_id) = sa.tenant_id.clone().or_else(|| default_tenant.clone()) else {
            notes.push(Note::could_not_check(
                Area::Entra,
                format!(
                    "could not check Entra for ServiceAccount {}/{}: no tenant (annotate {TENANT_ID_ANNOTATION}, or pass --tenant-id)",
                    sa.namespace, sa.name
                ),
            ));
            continue;
        };
        let token = match probe::token(client, &sa.namespace, &sa.name).await {
            Ok(token) => token,
            Err(mut note) => {
                note.area = Area::Entra;
                notes.push(note);
                continue;
            }
        };
        let who = probe::ExchangeFor {
            namespace: &sa.namespace,
            name: &sa.name,
            client_id,
            tenant_id: &tenant_id,
        };
        inputs
            .entra
            .push(probe::exchange(&who, token, &authority_host, &options.scope).await);
    }
}
