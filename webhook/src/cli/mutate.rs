//! `webhook mutate`: the dry run that answers "why wasn't my pod injected?".

use std::{
    io::Write as _,
    process::ExitCode,
    sync::{Arc, Mutex},
};

use azure_wi_core::{ServiceAccountInfo, names};
use clap::{ArgGroup, Args, ValueEnum};
use serde_json::Value;
use webhook::{
    admission::{AdmissionRequest, AdmissionResponse, admit},
    serviceaccount::{LookupError, ServiceAccountLookup, StaticServiceAccounts},
};

use super::input::{self, InputError};

/// Arguments of `webhook mutate`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").required(true).args(["pod", "review"])))]
pub(crate) struct MutateArgs {
    /// Pod manifest (JSON or YAML; `-` for stdin).
    #[arg(long, value_name = "FILE")]
    pod: Option<String>,
    /// A whole AdmissionReview request (v1 or v1beta1) instead of a pod; the
    /// output is the AdmissionReview response the server would send.
    #[arg(long, value_name = "FILE", conflicts_with = "output")]
    review: Option<String>,
    /// The pod's ServiceAccount, or a list of ServiceAccounts (JSON or YAML).
    /// Omit it to see what happens when the ServiceAccount does not exist.
    #[arg(long, value_name = "FILE")]
    service_account: Option<String>,
    /// Namespace of the request [default: the pod's, else `default`].
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    #[command(flatten)]
    mutation: super::flags::MutationFlags,
    /// Inject the IMDS proxy as a native sidecar, as `serve` does against
    /// an API server of 1.32 or newer.
    #[arg(long)]
    native_sidecars: bool,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Output::Pod)]
    output: Output,
}

/// What `mutate` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Output {
    /// The pod after the patch.
    Pod,
    /// The RFC 6902 JSON Patch.
    Patch,
    /// The AdmissionReview response.
    Review,
}

/// Why the dry run could not run: exit code 2.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MutateError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Flags(#[from] super::flags::FlagError),
    #[error(transparent)]
    ServiceAccounts(#[from] input::ServiceAccountFileError),
    #[error("{path}: {source}")]
    Review {
        path: String,
        #[source]
        source: webhook::admission::ReviewError,
    },
    #[error("the patch does not apply to the pod: {0}")]
    Patch(#[from] json_patch::PatchError),
    #[error("cannot write the output: {0}")]
    Write(#[from] std::io::Error),
}

/// Runs the dry run; returns 0 when admitted, 1 when denied.
pub(crate) fn run(args: &MutateArgs) -> Result<ExitCode, MutateError> {
    let config = args.mutation.config(false, args.native_sidecars)?;

    let (request, raw_output) = match (&args.pod, &args.review) {
        (_, Some(path)) => {
            let body = input::document(path)?;
            let request = AdmissionRequest::from_review_value(body).map_err(|source| {
                MutateError::Review {
                    path: input::display(path),
                    source,
                }
            })?;
            (request, None)
        }
        (Some(path), None) => {
            let pod = input::document(path)?;
            let namespace = args
                .namespace
                .clone()
                .or_else(|| {
                    pod.pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .filter(|ns| !ns.is_empty())
                .unwrap_or_else(|| "default".to_owned());
            let request = synthetic_request(&pod, &namespace);
            (request, Some(pod))
        }
        (None, None) => unreachable!("clap requires --pod or --review"),
    };

    let default_ns = if request.namespace.is_empty() {
        "default"
    } else {
        &request.namespace
    };
    let accounts = match &args.service_account {
        Some(path) => input::service_accounts(path, default_ns)?,
        None => Vec::new(),
    };
    // The CLI's input is a file, not hostile traffic: a whole tree is fine.
    if let Some(pod) = request
        .object
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
    {
        explain_selection(&pod);
    }

    let accounts = Recording::new(accounts);
    let response = futures::executor::block_on(admit(&request, &config, &accounts));
    let looked_up = accounts.asked();

    let mut stderr = std::io::stderr().lock();
    for warning in response.warnings() {
        writeln!(stderr, "Warning: {warning}")?;
    }
    if let Some((code, message)) = response.denial() {
        writeln!(stderr, "admission denied (code {code}): {message}")?;
        if let (Some(wanted), false) = (&looked_up, accounts.held.is_empty()) {
            writeln!(
                stderr,
                "note: the pod uses ServiceAccount {wanted}; --service-account holds {}",
                accounts.held.join(", ")
            )?;
        }
    }

    let denied = !response.is_allowed();
    let printed = match (raw_output, args.output) {
        (Some(pod), Output::Pod) if !denied => pod_after(&response, &pod)?,
        (Some(_), Output::Patch) if !denied => {
            serde_json::to_value(response.patch().unwrap_or_default())
                .expect("a JSON Patch always serializes")
        }
        (Some(_), Output::Pod | Output::Patch) => Value::Null,
        (None, _) | (Some(_), Output::Review) => response.into_review(),
    };
    if !printed.is_null() {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, &printed).map_err(std::io::Error::from)?;
        writeln!(stdout)?;
    }
    Ok(if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Wraps a pod in the request the API server would send for its creation.
fn synthetic_request(pod: &Value, namespace: &str) -> AdmissionRequest {
    AdmissionRequest::pod_creation("dry-run", namespace, pod)
}

/// The `--service-account` accounts, served as the server serves a
/// `--service-accounts` file, remembering which one the pod asked for so a
/// denial can say what was wanted and what was held.
struct Recording {
    accounts: StaticServiceAccounts,
    held: Vec<String>,
    asked: Mutex<Option<String>>,
}

impl Recording {
    fn new(accounts: Vec<ServiceAccountInfo>) -> Self {
        let held = accounts
            .iter()
            .map(|sa| format!("{}/{}", sa.namespace(), sa.name()))
            .collect();
        Self {
            accounts: StaticServiceAccounts::new(accounts),
            held,
            asked: Mutex::new(None),
        }
    }

    fn asked(&self) -> Option<String> {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl ServiceAccountLookup for Recording {
    async fn lookup(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Arc<ServiceAccountInfo>>, LookupError> {
        *self
            .asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(format!("{namespace}/{name}"));
        self.accounts.lookup(namespace, name).await
    }
}

fn pod_after(response: &AdmissionResponse, pod: &Value) -> Result<Value, MutateError> {
    let mut pod = pod.clone();
    if let Some(patch) = response.patch() {
        json_patch::patch(&mut pod, &patch.0)?;
    }
    Ok(pod)
}

/// The most common reason a pod is not injected is that the webhook is never
/// called for it: say so when the selector label is missing.
fn explain_selection(pod: &Value) {
    let label = pod
        .pointer("/metadata/labels")
        .and_then(|l| l.get(names::USE_LABEL))
        .and_then(Value::as_str);
    if label == Some("true") {
        return;
    }
    let in_annotations = pod
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(names::USE_LABEL))
        .is_some();
    let mut note = format!(
        "note: the pod has no label {}: \"true\", so in a cluster the webhook is not called for it",
        names::USE_LABEL
    );
    if in_annotations {
        note.push_str(" (it is set as an annotation; it must be a label)");
    }
    eprintln!("{note}");
}
