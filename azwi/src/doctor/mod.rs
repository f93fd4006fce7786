//! `azwi doctor`: what stands between a pod and its Entra token, found from
//! the cluster before the pod fails.
//!
//! The rules are pure functions from [`Inputs`] (the cluster objects and
//! probe results the collector gathered) to [`Finding`]s: no client, no
//! clock, no network. [`collect`] is the thin kube-rs shell that fills the
//! inputs (a read that RBAC denies becomes a [`Note`], never a crash);
//! [`render`] turns the [`Report`] into text for a ticket or JSON.
//!
//! - [`issuer`]: the discovery document, its anonymous reachability and the
//!   JWKS holding the `kid` of a token issued now;
//! - [`federated`]: the federated credential to create per ServiceAccount,
//!   as an `az` command line and a Terraform block, and `--check-entra`'s
//!   verdict;
//! - [`webhook`]: the MutatingWebhookConfiguration and its Service;
//! - [`workloads`]: mislabelled workloads and pods the webhook did not
//!   mutate or cannot give an identity;
//! - [`delivery`]: the Secrets Store CSI driver, the Azure CSI provider and
//!   External Secrets stores;
//! - [`conditions`]: the `Ready` conditions our secret-sync controller (or
//!   External Secrets Operator) reports on ExternalSecrets and stores.

pub mod collect;
pub mod conditions;
pub mod delivery;
pub mod federated;
pub mod issuer;
mod probe;
pub mod render;
mod run;
pub mod webhook;
pub mod workloads;

pub use run::{Options, Outcome, run};

use serde::Serialize;

/// How bad a finding is. Ordered: the worst sorts last, the report shows it
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing to fix (exit code 0).
    Info,
    /// Probably wrong, or wrong for some pods (exit code 1).
    Warning,
    /// Tokens will not be issued or exchanged until it is fixed (exit code 1).
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// The area a finding or note belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    /// The ServiceAccount token issuer and its documents.
    Issuer,
    /// The token exchange at Entra (`--check-entra`).
    Entra,
    /// The mutating webhook's registration and Service.
    Webhook,
    /// Workloads, pods and their ServiceAccounts.
    Workloads,
    /// Secrets Store CSI driver and External Secrets.
    Delivery,
}

impl std::fmt::Display for Area {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Issuer => "issuer",
            Self::Entra => "entra",
            Self::Webhook => "webhook",
            Self::Workloads => "workloads",
            Self::Delivery => "delivery",
        })
    }
}

/// One thing found wrong (or worth saying), with what shows it and what to
/// do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// Which check found it.
    pub area: Area,
    /// Stable identifier of the rule, for scripts (`label-on-workload-only`).
    pub rule: &'static str,
    /// The object it is about, `Kind namespace/name`.
    pub subject: String,
    /// One sentence: what is wrong.
    pub summary: String,
    /// The facts read from the cluster that show it.
    pub evidence: Vec<String>,
    /// What to change.
    pub fix: String,
}

impl Finding {
    /// A finding with no evidence yet.
    #[must_use]
    pub fn new(
        severity: Severity,
        area: Area,
        rule: &'static str,
        subject: impl Into<String>,
        summary: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            area,
            rule,
            subject: subject.into(),
            summary: summary.into(),
            evidence: Vec::new(),
            fix: String::new(),
        }
    }

    /// Adds one line of evidence.
    #[must_use]
    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    /// Sets the fix text.
    #[must_use]
    pub fn fix(mut self, text: impl Into<String>) -> Self {
        self.fix = text.into();
        self
    }
}

/// Something the doctor could not check, or skipped because it does not
/// apply (a CRD not installed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The check concerned.
    pub area: Area,
    /// Whether the check could not run (RBAC, network) as opposed to not
    /// applying; only the former can make the exit code 2.
    pub could_not_check: bool,
    /// What happened, e.g. `could not check pods: forbidden (need list on pods)`.
    pub message: String,
}

impl Note {
    /// A check that could not run.
    #[must_use]
    pub fn could_not_check(area: Area, message: impl Into<String>) -> Self {
        Self {
            area,
            could_not_check: true,
            message: message.into(),
        }
    }

    /// A check that does not apply here.
    #[must_use]
    pub fn skipped(area: Area, message: impl Into<String>) -> Self {
        Self {
            area,
            could_not_check: false,
            message: message.into(),
        }
    }
}

/// Everything the collector read: the input of every rule. Empty vectors
/// mean "none found"; `None` means "not read" (and a [`Note`] says why).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The issuer facts, when the discovery document could be read.
    pub issuer: Option<issuer::IssuerFacts>,
    /// Verdicts of `--check-entra`, one per ServiceAccount tried.
    pub entra: Vec<federated::EntraVerdict>,
    /// MutatingWebhookConfigurations, when they could be listed.
    pub webhooks: Option<Vec<webhook::WebhookConfig>>,
    /// Workloads (Deployments, StatefulSets, ...) in scope.
    pub workloads: Vec<workloads::Workload>,
    /// Pods in scope.
    pub pods: Vec<workloads::Pod>,
    /// ServiceAccounts in scope (those pods and workloads name, and any
    /// with a client-id annotation), when they could be read.
    pub service_accounts: Option<Vec<workloads::ServiceAccount>>,
    /// The CSI driver and SecretProviderClasses.
    pub csi: delivery::CsiFacts,
    /// External Secrets stores.
    pub secret_stores: Vec<delivery::SecretStore>,
    /// ExternalSecrets, SecretStores and ClusterSecretStores with their
    /// `Ready` conditions.
    pub conditions: Vec<conditions::ReadyCondition>,
}

/// The outcome of one run: findings worst first, notes, and the federated
/// credentials to create.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// Checks that could not run or did not apply.
    pub notes: Vec<Note>,
    /// The federated credential each ServiceAccount in scope needs.
    pub federated_credentials: Vec<federated::FederatedCredential>,
}

impl Report {
    /// Runs every rule on `inputs`; `notes` are the collector's.
    #[must_use]
    pub fn new(inputs: &Inputs, notes: Vec<Note>) -> Self {
        let mut findings = Vec::new();
        if let Some(facts) = &inputs.issuer {
            findings.extend(issuer::check(facts));
        }
        findings.extend(federated::check_entra(&inputs.entra));
        if let Some(configs) = &inputs.webhooks {
            findings.extend(webhook::check(configs));
        }
        findings.extend(workloads::check_workloads(&inputs.workloads));
        findings.extend(workloads::check_pods(
            &inputs.pods,
            &inputs.workloads,
            inputs.service_accounts.as_deref(),
        ));
        findings.extend(delivery::check_csi(&inputs.csi));
        findings.extend(delivery::check_csi_providers(&inputs.csi));
        findings.extend(delivery::check_secret_stores(&inputs.secret_stores));
        findings.extend(conditions::check(&inputs.conditions));
        // Worst first; stable, so each check's order is kept within a level.
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let federated_credentials = match (&inputs.issuer, &inputs.service_accounts) {
            (Some(facts), Some(accounts)) => accounts
                .iter()
                .map(|sa| {
                    federated::FederatedCredential::new(&facts.issuer, &sa.namespace, &sa.name)
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            findings,
            notes,
            federated_credentials,
        }
    }

    /// The process exit code: 1 when there is a warning or an error, else 2
    /// when some check could not run, else 0.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        if self
            .findings
            .iter()
            .any(|f| f.severity >= Severity::Warning)
        {
            1
        } else if self.notes.iter().any(|n| n.could_not_check) {
            2
        } else {
            0
        }
    }
}

/// `Kind namespace/name`, the way findings name their subject.
#[must_use]
pub fn subject(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Inputs {
        Inputs {
            webhooks: Some(Vec::new()),
            workloads: vec![workloads::Workload {
                kind: "Deployment".to_owned(),
                namespace: "team-a".to_owned(),
                name: "orders-api".to_owned(),
                labelled_self: true,
                labelled_template: false,
                service_account: "default".to_owned(),
                template_path: "spec.template".to_owned(),
            }],
            ..Inputs::default()
        }
    }

    #[test]
    fn findings_come_worst_first_and_set_the_exit_code() {
        let report = Report::new(&inputs(), Vec::new());
        let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
        assert_eq!(severities, [Severity::Error, Severity::Warning]);
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn nothing_wrong_is_0_and_unchecked_with_nothing_wrong_is_2() {
        assert_eq!(Report::new(&Inputs::default(), Vec::new()).exit_code(), 0);
        let skipped = vec![Note::skipped(Area::Delivery, "not installed")];
        assert_eq!(Report::new(&Inputs::default(), skipped).exit_code(), 0);
        let denied = vec![Note::could_not_check(Area::Workloads, "forbidden")];
        assert_eq!(
            Report::new(&Inputs::default(), denied.clone()).exit_code(),
            2
        );
        // Findings win over notes: something is wrong.
        assert_eq!(Report::new(&inputs(), denied).exit_code(), 1);
    }
}
