//! The SecretProviderClass parameters, read exactly as the Azure provider
//! (Azure/secrets-store-csi-driver-provider-azure) reads them: the same
//! case-sensitive keys, trimmed values, `tenantID` with the older `tenantId`
//! as fallback, Go `strconv.ParseBool` booleans.
//!
//! Workload identity and AKS identity bindings (`useAzureTokenProxy`) are
//! served. The pod-identity and VM-managed-identity switches are refused
//! with a message naming the switch, and a missing `clientID` (where the
//! Azure provider would fall back to a service principal from
//! `nodePublishSecretRef`) is refused too.

use std::{fmt, str::FromStr};

use azure_wi_core::{AzureCloud, ClientId, TenantId};

use crate::{
    Error,
    attributes::Attributes,
    objects::{ObjectSpec, parse_objects},
};

/// A Key Vault name: 3 to 24 ASCII letters, digits and `-`, the check the
/// Azure provider makes before building `https://<name>.<suffix>/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VaultName(String);

impl VaultName {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for VaultName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let ok = (3..=24).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::InvalidParameter {
                parameter: "keyvaultName",
                value: s.to_owned(),
                expected:
                    "expected the vault's name (3 to 24 letters, digits and '-'), not its URL"
                        .to_owned(),
            })
        }
    }
}

impl fmt::Display for VaultName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A vault in a cloud: where objects are fetched from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vault {
    /// `keyvaultName`.
    pub name: VaultName,
    /// `cloudName`, which gives the DNS suffix.
    pub cloud: AzureCloud,
}

impl Vault {
    /// `https://<name>.<suffix>/`, as the Azure provider builds it.
    #[must_use]
    pub fn url(&self) -> String {
        format!(
            "https://{}.{}/",
            self.name,
            self.cloud.key_vault_dns_suffix()
        )
    }
}

/// The parameters of one mount, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// `keyvaultName` and `cloudName`.
    pub vault: Vault,
    /// `tenantID`, or `tenantId` when `tenantID` is not set.
    pub tenant: TenantId,
    /// `clientID`.
    pub client_id: ClientId,
    /// How the pod's token is exchanged.
    pub mode: IdentityMode,
    /// `objects`, in order.
    pub objects: Vec<ObjectSpec>,
}

/// How a mount's ServiceAccount token becomes an Entra token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityMode {
    /// At Entra, through the identity's federated credential (token
    /// audience [`azure_wi_core::names::DEFAULT_AUDIENCE`]).
    WorkloadIdentity,
    /// At AKS's identity-binding token proxy (`useAzureTokenProxy`, token
    /// audience `api://AKSIdentityBinding`).
    AzureTokenProxy,
}

/// Identity switches this provider refuses, with the mode each selects.
const OTHER_MODES: [(&str, &str); 2] = [
    ("usePodIdentity", "AAD pod identity (NMI)"),
    ("useVMManagedIdentity", "the node's VM managed identity"),
];

/// The token-proxy switch.
const TOKEN_PROXY_SWITCH: &str = "useAzureTokenProxy";

/// Go's `strconv.ParseBool`.
fn parse_bool(parameter: &'static str, value: &str) -> Result<bool, Error> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(Error::InvalidSwitch {
            parameter,
            value: value.to_owned(),
        }),
    }
}

/// The identity mode the switches select, as the Go provider decides:
/// each switch parsed first, then more than one on refused.
fn identity_mode(attributes: &Attributes) -> Result<IdentityMode, Error> {
    let on = |parameter: &'static str| -> Result<bool, Error> {
        attributes
            .get(parameter)
            .map_or(Ok(false), |value| parse_bool(parameter, value))
    };
    let others = [on(OTHER_MODES[0].0)?, on(OTHER_MODES[1].0)?];
    let token_proxy = on(TOKEN_PROXY_SWITCH)?;
    if others
        .iter()
        .chain([&token_proxy])
        .filter(|on| **on)
        .count()
        > 1
    {
        return Err(Error::ConflictingIdentityModes);
    }
    if let Some(((parameter, mode), _)) = OTHER_MODES.iter().zip(others).find(|(_, on)| *on) {
        return Err(Error::UnsupportedIdentityMode { parameter, mode });
    }
    Ok(if token_proxy {
        IdentityMode::AzureTokenProxy
    } else {
        IdentityMode::WorkloadIdentity
    })
}

impl Parameters {
    /// Reads and validates the parameters from the driver's attributes.
    ///
    /// # Errors
    ///
    /// An [`Error`] naming the parameter at fault: an identity mode other
    /// than workload identity, a missing `keyvaultName`, `tenantID`,
    /// `clientID` or `objects`, or a value that is not valid.
    pub fn from_attributes(attributes: &Attributes) -> Result<Self, Error> {
        let mode = identity_mode(attributes)?;
        if attributes.get("cloudEnvFileName").is_some() {
            return Err(Error::InvalidParameter {
                parameter: "cloudEnvFileName",
                value: attributes
                    .get("cloudEnvFileName")
                    .unwrap_or_default()
                    .to_owned(),
                expected: "custom cloud environment files are not supported; set cloudName to \
                           AzurePublicCloud, AzureUSGovernmentCloud or AzureChinaCloud"
                    .to_owned(),
            });
        }
        let vault_name: VaultName = attributes
            .get("keyvaultName")
            .ok_or(Error::MissingParameter {
                parameter: "keyvaultName",
                hint: "set it to the name of the Key Vault to read objects from",
            })?
            .parse()?;
        let tenant_text = attributes
            .get("tenantID")
            .or_else(|| attributes.get("tenantId"))
            .ok_or(Error::MissingParameter {
                parameter: "tenantID",
                hint: "set it to the directory (tenant) id of the identity in clientID \
                       (the older spelling tenantId is read too)",
            })?;
        let tenant_parameter = if attributes.get("tenantID").is_some() {
            "tenantID"
        } else {
            "tenantId"
        };
        let tenant: TenantId =
            tenant_text
                .parse()
                .map_err(|e: azure_wi_core::Error| Error::InvalidParameter {
                    parameter: tenant_parameter,
                    value: tenant_text.to_owned(),
                    expected: e.to_string(),
                })?;
        let client_text = attributes.get("clientID").ok_or(match mode {
            IdentityMode::WorkloadIdentity => Error::MissingParameter {
                parameter: "clientID",
                hint: "workload identity needs the client id of the Entra application or \
                       user-assigned managed identity whose federated credential trusts the \
                       pod's ServiceAccount (the ServiceAccount's annotation is not read, and \
                       nodePublishSecretRef service principals are not supported)",
            },
            IdentityMode::AzureTokenProxy => Error::MissingParameter {
                parameter: "clientID",
                hint: "clientID is required for identity binding: set it to the client id of \
                       the managed identity the ServiceAccount is bound to",
            },
        })?;
        let client_id: ClientId =
            client_text
                .parse()
                .map_err(|e: azure_wi_core::Error| Error::InvalidParameter {
                    parameter: "clientID",
                    value: client_text.to_owned(),
                    expected: e.to_string(),
                })?;
        let cloud_text = attributes.get("cloudName").unwrap_or_default();
        let cloud: AzureCloud =
            cloud_text
                .parse()
                .map_err(|e: azure_wi_core::Error| Error::InvalidParameter {
                    parameter: "cloudName",
                    value: cloud_text.to_owned(),
                    expected: e.to_string(),
                })?;
        let objects = parse_objects(attributes.get("objects").ok_or(Error::MissingParameter {
            parameter: "objects",
            hint: "list the Key Vault objects to mount as YAML `array:` of mappings with \
                   objectName and objectType",
        })?)?;
        Ok(Self {
            vault: Vault {
                name: vault_name,
                cloud,
            },
            tenant,
            client_id,
            mode,
            objects,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::ObjectType;

    const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
    const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
    const OBJECTS: &str = "array:\n  - |\n    objectName: db\n    objectType: secret\n";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("keyvaultName", "kv1"),
            ("tenantID", TENANT),
            ("clientID", CLIENT),
            ("objects", OBJECTS),
        ]
    }

    fn with(changes: &[(&'static str, Option<&'static str>)]) -> Result<Parameters, Error> {
        let mut pairs = base();
        for (key, value) in changes {
            pairs.retain(|(k, _)| k != key);
            if let Some(v) = value {
                pairs.push((key, v));
            }
        }
        Parameters::from_attributes(&Attributes::from_pairs(pairs))
    }

    #[test]
    fn reads_every_parameter() {
        let p = with(&[("cloudName", Some("AzureUSGovernmentCloud"))]).unwrap();
        assert_eq!(p.vault.name.as_str(), "kv1");
        assert_eq!(p.vault.cloud, AzureCloud::UsGovernment);
        assert_eq!(p.vault.url(), "https://kv1.vault.usgovcloudapi.net/");
        assert_eq!(p.tenant.as_str(), TENANT);
        assert_eq!(p.client_id.as_str(), CLIENT);
        assert_eq!(p.objects.len(), 1);
        assert_eq!(
            with(&[]).unwrap().vault.url(),
            "https://kv1.vault.azure.net/"
        );
    }

    #[test]
    fn walkthrough_4_secret_provider_class_parses() {
        // The SecretProviderClass of a common tutorial: tenantId in the older
        // spelling and usePodIdentity explicitly "false".
        let attributes = Attributes::from_pairs([
            ("usePodIdentity", "false"),
            ("clientID", CLIENT),
            ("keyvaultName", "robot-shop-kv"),
            (
                "objects",
                "array:\n  - |\n    objectName: db-password\n    objectType: secret\n",
            ),
            ("tenantId", TENANT),
            ("secretProviderClass", "azure-keyvault-provider"),
        ]);
        let p = Parameters::from_attributes(&attributes).unwrap();
        assert_eq!(p.tenant.as_str(), TENANT);
        assert_eq!(p.vault.name.as_str(), "robot-shop-kv");
        assert_eq!(p.objects[0].name, "db-password");
        assert_eq!(p.objects[0].object_type, ObjectType::Secret);
        assert_eq!(p.objects[0].file_name(), "db-password");
    }

    #[test]
    fn tenant_id_prefers_the_current_spelling() {
        let p = with(&[("tenantId", Some("contoso.onmicrosoft.com"))]).unwrap();
        assert_eq!(p.tenant.as_str(), TENANT);
        let p = with(&[
            ("tenantID", None),
            ("tenantId", Some("contoso.onmicrosoft.com")),
        ])
        .unwrap();
        assert_eq!(p.tenant.as_str(), "contoso.onmicrosoft.com");
        let err = with(&[("tenantID", None), ("tenantId", Some("a/b"))])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("SecretProviderClass parameter tenantId is \"a/b\""),
            "{err}"
        );
    }

    #[test]
    fn other_identity_modes_are_refused_naming_the_parameter() {
        for (parameter, value) in [("usePodIdentity", "true"), ("useVMManagedIdentity", "True")] {
            let mut changes = vec![(parameter, Some(value))];
            if parameter == "useVMManagedIdentity" {
                changes.push(("clientID", None));
            }
            let err = with(&changes).unwrap_err();
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "SecretProviderClass parameter {parameter} is \"true\""
                )),
                "{text}"
            );
            assert!(
                text.contains("this provider serves workload identity only"),
                "{text}"
            );
        }
        for off in ["false", "0", "F", "FALSE"] {
            let parameters = with(&[
                ("usePodIdentity", Some(off)),
                ("useVMManagedIdentity", Some(off)),
                ("useAzureTokenProxy", Some(off)),
            ])
            .unwrap();
            assert_eq!(parameters.mode, IdentityMode::WorkloadIdentity);
        }
        // The Go provider's text first, then what the switch takes.
        let err = with(&[("usePodIdentity", Some("tru"))])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "failed to parse usePodIdentity flag, error: strconv.ParseBool: parsing \"tru\": \
             invalid syntax (SecretProviderClass parameter usePodIdentity takes \"true\" or \
             \"false\")"
        );
    }

    #[test]
    fn the_token_proxy_switch_selects_identity_binding_alone() {
        for on in ["1", "t", "true", "True"] {
            let parameters = with(&[("useAzureTokenProxy", Some(on))]).unwrap();
            assert_eq!(parameters.mode, IdentityMode::AzureTokenProxy);
        }
        // The Go provider's tests (`provider_test.go`,
        // TestGetSecretsStoreObjectContent_IdentityBinding_*,
        // TestGetSecretsStoreObjectContent_MutualExclusivity).
        let err = with(&[("useAzureTokenProxy", Some("invalid-value"))]).unwrap_err();
        assert!(
            err.to_string()
                .contains("failed to parse useAzureTokenProxy"),
            "{err}"
        );
        let err = with(&[("useAzureTokenProxy", Some("true")), ("clientID", None)]).unwrap_err();
        assert!(err.to_string().contains("clientID is required"), "{err}");
        let err = with(&[
            ("useAzureTokenProxy", Some("true")),
            ("usePodIdentity", Some("true")),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("only one identity mode"), "{err}");
    }

    #[test]
    fn missing_parameters_are_named() {
        for (key, expect) in [
            ("keyvaultName", "keyvaultName is not set"),
            ("tenantID", "tenantID is not set"),
            (
                "clientID",
                "clientID is not set: workload identity needs the client id",
            ),
            ("objects", "objects is not set"),
        ] {
            let text = with(&[(key, None)]).unwrap_err().to_string();
            assert!(
                text.starts_with(&format!("SecretProviderClass parameter {expect}")),
                "{text}"
            );
        }
        assert!(
            with(&[("clientID", Some("  "))])
                .unwrap_err()
                .to_string()
                .contains("clientID is not set")
        );
    }

    #[test]
    fn invalid_values_are_named() {
        let text = with(&[("keyvaultName", Some("https://kv1.vault.azure.net/"))])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("keyvaultName") && text.contains("not its URL"),
            "{text}"
        );
        assert!(with(&[("keyvaultName", Some("kv"))]).is_err());
        assert!(with(&[("keyvaultName", Some("a234567890123456789012345"))]).is_err());
        let text = with(&[("clientID", Some("a b"))]).unwrap_err().to_string();
        assert!(
            text.starts_with("SecretProviderClass parameter clientID is \"a b\""),
            "{text}"
        );
        let text = with(&[("cloudName", Some("AzureStackCloud"))])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("cloudName") && text.contains("AzurePublicCloud"),
            "{text}"
        );
        let text = with(&[("cloudEnvFileName", Some("/etc/kubernetes/custom.json"))])
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("cloudEnvFileName") && text.contains("not supported"),
            "{text}"
        );
        assert_eq!(
            with(&[("objects", Some("array: []"))]).map(|p| p.objects),
            Ok(vec![])
        );
    }
}
