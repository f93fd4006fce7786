//! The federated identity credential each ServiceAccount needs, exactly as
//! Entra will compare it (case-sensitive, byte for byte), and the verdict
//! of `--check-entra`'s real exchange.

use azure_wi_core::names::{DEFAULT_AUDIENCE, service_account_subject};
use serde::Serialize;

use super::{Area, Finding, Severity, subject};

/// The three values of a federated credential and two ways to create it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FederatedCredential {
    /// `namespace/name` of the ServiceAccount.
    pub service_account: String,
    /// The issuer, as the discovery document names it.
    pub issuer: String,
    /// `system:serviceaccount:<namespace>:<name>`.
    pub subject: String,
    /// The audience the webhook requests tokens for.
    pub audience: String,
    /// An `az identity federated-credential create` command line.
    pub az: String,
    /// A Terraform `azurerm_federated_identity_credential` resource.
    pub terraform: String,
}

impl FederatedCredential {
    /// The credential for ServiceAccount `namespace/name` of a cluster whose
    /// issuer is `issuer`. The identity name and resource group are
    /// placeholders the user fills in.
    #[must_use]
    pub fn new(issuer: &str, namespace: &str, name: &str) -> Self {
        let subject = service_account_subject(namespace, name);
        // Credential names allow letters, digits, `-` and `_`.
        let credential = format!("{namespace}-{name}").replace('.', "-");
        let resource = credential.replace('-', "_");
        let az = format!(
            "az identity federated-credential create --name {credential} --identity-name <IDENTITY_NAME> --resource-group <RESOURCE_GROUP> --issuer {} --subject {} --audiences {}",
            shell_quote(issuer),
            shell_quote(&subject),
            shell_quote(DEFAULT_AUDIENCE)
        );
        let terraform = format!(
            "resource \"azurerm_federated_identity_credential\" \"{resource}\" {{\n  name                = \"{credential}\"\n  resource_group_name = \"<RESOURCE_GROUP>\"\n  parent_id           = \"<IDENTITY_RESOURCE_ID>\" # azurerm_user_assigned_identity.<IDENTITY_NAME>.id\n  issuer              = \"{issuer}\"\n  subject             = \"{subject}\"\n  audience            = [\"{DEFAULT_AUDIENCE}\"]\n}}"
        );
        Self {
            service_account: format!("{namespace}/{name}"),
            issuer: issuer.to_owned(),
            subject,
            audience: DEFAULT_AUDIENCE.to_owned(),
            az,
            terraform,
        }
    }
}

/// Single-quotes a value for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The outcome of `--check-entra` for one ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntraVerdict {
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// The ServiceAccount's name.
    pub name: String,
    /// The client id the exchange was made for.
    pub client_id: String,
    /// The tenant the exchange was made in.
    pub tenant_id: String,
    /// What Entra answered.
    pub outcome: EntraOutcome,
}

/// What Entra (or the emulator) answered to the exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum EntraOutcome {
    /// An access token was issued (and not kept).
    Accepted,
    /// Entra refused, or could not be reached.
    Refused {
        /// The error as `azure-wi-auth` words it (AADSTS code and text).
        error: String,
        /// Its local explanation, when it knows the code.
        diagnosis: Option<String>,
    },
}

/// One finding per verdict: an info for an accepted exchange, an error with
/// Entra's words and the diagnosis for a refused one.
#[must_use]
pub fn check_entra(verdicts: &[EntraVerdict]) -> Vec<Finding> {
    verdicts
        .iter()
        .map(|v| {
            let who = subject("ServiceAccount", &v.namespace, &v.name);
            let identity = format!("client id {} in tenant {}", v.client_id, v.tenant_id);
            match &v.outcome {
                EntraOutcome::Accepted => Finding::new(
                    Severity::Info,
                    Area::Entra,
                    "entra-exchange-ok",
                    who,
                    format!("Entra exchanged a token issued now for an access token ({identity})"),
                ),
                EntraOutcome::Refused { error, diagnosis } => {
                    let mut finding = Finding::new(
                        Severity::Error,
                        Area::Entra,
                        "entra-exchange-refused",
                        who,
                        format!("Entra refused the exchange of a token issued now ({identity})"),
                    )
                    .evidence(error.clone());
                    finding.fix = diagnosis.clone().unwrap_or_else(|| {
                        "compare the identity's federated credential with the one printed for this ServiceAccount".to_owned()
                    });
                    finding
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credential_holds_the_exact_values() {
        let fic = FederatedCredential::new("https://issuer.example/", "team-a", "orders-api");
        assert_eq!(fic.subject, "system:serviceaccount:team-a:orders-api");
        assert_eq!(fic.audience, DEFAULT_AUDIENCE);
        assert_eq!(
            fic.az,
            format!(
                "az identity federated-credential create --name team-a-orders-api --identity-name <IDENTITY_NAME> --resource-group <RESOURCE_GROUP> --issuer 'https://issuer.example/' --subject 'system:serviceaccount:team-a:orders-api' --audiences '{DEFAULT_AUDIENCE}'"
            )
        );
        assert!(fic.terraform.starts_with(
            "resource \"azurerm_federated_identity_credential\" \"team_a_orders_api\" {"
        ));
        assert!(
            fic.terraform
                .contains("  issuer              = \"https://issuer.example/\"\n")
        );
        assert!(fic.terraform.contains(&format!("[\"{DEFAULT_AUDIENCE}\"]")));
    }

    #[test]
    fn a_refused_exchange_is_an_error_with_the_diagnosis_as_fix() {
        let verdict = |outcome| EntraVerdict {
            namespace: "team-a".to_owned(),
            name: "orders-api".to_owned(),
            client_id: "c".to_owned(),
            tenant_id: "t".to_owned(),
            outcome,
        };
        let ok = check_entra(&[verdict(EntraOutcome::Accepted)]);
        assert_eq!(ok[0].severity, Severity::Info);
        let refused = check_entra(&[verdict(EntraOutcome::Refused {
            error: "AADSTS700213: No matching federated identity record found".to_owned(),
            diagnosis: Some("the subject differs".to_owned()),
        })]);
        assert_eq!(refused[0].severity, Severity::Error);
        assert_eq!(refused[0].fix, "the subject differs");
    }
}
