//! What the emulated world holds: tenants, managed identities with their
//! federated identity credentials, vaults with secrets, and role
//! assignments. Loaded from one YAML or JSON file, or [`Config::demo`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The tenant of the built-in world (any GUID would do; this one is the
/// tenant the webhook's examples use).
pub const DEMO_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The issuer of the emulated cluster: an AKS-shaped URL (tenant and cluster
/// id in the path, trailing slash) on a `.localhost` name, which only the
/// emulator serves.
pub const DEMO_ISSUER: &str = "https://oidc.emulator.localhost/72f988bf-86f1-41af-91ab-2d7cd011db47/6c3b9f2e-1a4d-4e8b-9c7f-2d5a8e1b4f60/";
/// Client id of the demo's managed identity; `examples/serviceaccount.yaml`
/// annotates its ServiceAccount with it.
pub const DEMO_CLIENT_ID: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";
/// Object (principal) id of the demo's managed identity.
pub const DEMO_OBJECT_ID: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
/// Most federated identity credentials Entra allows on one identity.
pub const MAX_FEDERATED_CREDENTIALS: usize = 20;

/// The whole emulated world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Tenants that exist; a token request for any other gets AADSTS90002.
    pub tenants: Vec<String>,
    /// Issuer of the ServiceAccount tokens the emulator mints.
    #[serde(default = "default_issuer")]
    pub issuer: String,
    /// Managed identities (or app registrations) that can get tokens.
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Key Vaults, addressed as `https://<name>.vault.azure.net`.
    #[serde(default)]
    pub vaults: Vec<Vault>,
    /// Azure RBAC role assignments on vaults or single secrets.
    #[serde(default)]
    pub role_assignments: Vec<RoleAssignment>,
    /// Lifetime of issued access tokens, in seconds.
    #[serde(default = "default_token_lifetime")]
    pub token_lifetime_seconds: u64,
    /// `refresh_in` to send with access tokens, if any.
    #[serde(default)]
    pub refresh_in_seconds: Option<u64>,
    /// Largest Key Vault list page (`maxresults` above it is refused).
    #[serde(default = "default_page_size")]
    pub max_page_size: usize,
    /// Key Vault request budget per vault per 10 seconds.
    #[serde(default)]
    pub throttle: Throttle,
    /// Extra CA certificates (PEM) trusted when fetching an external
    /// issuer's discovery document, e.g. a real kube-apiserver's.
    #[serde(default)]
    pub trusted_issuer_ca_pems: Vec<String>,
    /// AKS identity bindings: ServiceAccounts of the emulated cluster that
    /// may use an identity through the token proxy (what a ClusterRole
    /// granting `use-managed-identity` on `cid.wi.aks.azure.com/<client id>`
    /// and its binding say in a real cluster).
    #[serde(default)]
    pub identity_bindings: Vec<IdentityBinding>,
}

/// One ServiceAccount allowed to use one identity through the token proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityBinding {
    /// The identity's client id.
    pub client_id: String,
    /// The ServiceAccount's namespace.
    pub namespace: String,
    /// The ServiceAccount's name.
    pub service_account: String,
}

/// Key Vault's service limits, scaled to taste for tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Throttle {
    /// Reads (get, list) per vault per 10 s window.
    pub reads_per_10s: u32,
    /// Writes (set) per vault per 10 s window.
    pub writes_per_10s: u32,
}

impl Default for Throttle {
    fn default() -> Self {
        // Key Vault's published limits for secrets.
        Self {
            reads_per_10s: 4000,
            writes_per_10s: 300,
        }
    }
}

/// A managed identity and what it trusts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Identity {
    /// A label for people.
    pub name: String,
    /// The tenant it lives in.
    pub tenant: String,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// The principal id role assignments name (`oid` in tokens).
    pub object_id: String,
    /// Federated identity credentials.
    #[serde(default)]
    pub federated_credentials: Vec<FederatedCredential>,
}

/// Trust in one issuer and subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedCredential {
    /// A label.
    pub name: String,
    /// Exact issuer URL, trailing slash included.
    pub issuer: String,
    /// Exact subject, `system:serviceaccount:<ns>:<sa>`.
    pub subject: String,
    /// Accepted audiences.
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
}

/// A vault and its secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vault {
    /// Name, the first label of the vault's host.
    pub name: String,
    /// Tenant named in its challenge; the first tenant when absent.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Initial secrets.
    #[serde(default)]
    pub secrets: Vec<SecretSeed>,
    /// Keys, generated (or loaded) at start-up.
    #[serde(default)]
    pub keys: Vec<KeySeed>,
    /// Certificates, issued at start-up. Each version also creates a key
    /// and a secret of the same name and version, as Key Vault does.
    #[serde(default)]
    pub certificates: Vec<CertificateSeed>,
}

/// A key with its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySeed {
    /// Key name (`^[0-9a-zA-Z-]+$`).
    pub name: String,
    /// Versions, oldest first; the last is the current one.
    pub versions: Vec<KeyVersionSeed>,
}

/// One version of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyVersionSeed {
    /// The key material to generate or load.
    pub key: KeySpec,
    /// `key_ops`; Key Vault's defaults for the key type when absent.
    #[serde(default)]
    pub key_ops: Option<Vec<String>>,
    /// Disabled versions are listed and readable (public part only) with
    /// `enabled: false`, as Key Vault shows them.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// Key Vault's software key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    /// RSA, 2048, 3072 or 4096 bits.
    #[serde(rename = "RSA")]
    Rsa,
    /// Elliptic curve, P-256, P-256K, P-384 or P-521.
    #[serde(rename = "EC")]
    Ec,
}

impl KeyType {
    /// `kty` as Key Vault writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rsa => "RSA",
            Self::Ec => "EC",
        }
    }
}

/// The curves Key Vault supports: the three NIST curves and SECG
/// secp256k1 (`P-256K`, the `JsonWebKeyCurveName` values of Key Vault's
/// `keys.json` specification in Azure/azure-rest-api-specs, and
/// azure-keyvault-keys' `KeyCurveName.p_256_k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Curve {
    /// `P-256`.
    #[serde(rename = "P-256")]
    P256,
    /// `P-256K`, SECG secp256k1.
    #[serde(rename = "P-256K")]
    P256K,
    /// `P-384`.
    #[serde(rename = "P-384")]
    P384,
    /// `P-521`.
    #[serde(rename = "P-521")]
    P521,
}

impl Curve {
    /// `crv` as a JSON Web Key writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P256K => "P-256K",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }
}

/// What key to make: a type and size or curve, and optionally the private
/// key itself (PKCS#8 PEM) instead of a fresh one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySpec {
    /// `RSA` or `EC`.
    pub kty: KeyType,
    /// RSA modulus bits: 2048 (the default), 3072 or 4096.
    #[serde(default)]
    pub size: Option<u32>,
    /// EC curve (default `P-256`).
    #[serde(default)]
    pub curve: Option<Curve>,
    /// A given private key, PKCS#8 PEM; generated at start-up when absent.
    #[serde(default)]
    pub pkcs8_pem: Option<String>,
}

impl KeySpec {
    /// A fresh RSA key of `bits`.
    pub fn rsa(bits: u32) -> Self {
        Self {
            kty: KeyType::Rsa,
            size: Some(bits),
            curve: None,
            pkcs8_pem: None,
        }
    }

    /// A fresh EC key on `curve`.
    pub fn ec(curve: Curve) -> Self {
        Self {
            kty: KeyType::Ec,
            size: None,
            curve: Some(curve),
            pkcs8_pem: None,
        }
    }

    fn check(&self, at: &str) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Config(format!("{at}: {msg}")));
        match self.kty {
            KeyType::Rsa if self.curve.is_some() => bad("an RSA key has no curve".to_owned()),
            KeyType::Rsa if !matches!(self.size, None | Some(2048 | 3072 | 4096)) => bad(format!(
                "RSA size {}: Key Vault keys are 2048, 3072 or 4096 bits",
                self.size.unwrap_or_default()
            )),
            KeyType::Ec if self.size.is_some() => {
                bad("an EC key has a curve, not a size".to_owned())
            }
            _ => Ok(()),
        }
    }
}

/// A certificate with its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateSeed {
    /// Certificate name (`^[0-9a-zA-Z-]+$`); also the name of its key and
    /// secret.
    pub name: String,
    /// Versions, oldest first; the last is the current one.
    pub versions: Vec<CertificateVersionSeed>,
}

/// One version of a certificate, as its policy would issue it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateVersionSeed {
    /// The key (`key_props`); P-521 cannot be signed by the emulator.
    pub key: KeySpec,
    /// `x509_props.subject`, `CN=<name>`.
    pub subject: String,
    /// `x509_props.sans.dns_names`.
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// Who signs it.
    #[serde(default)]
    pub issuer: CertificateIssuer,
    /// `secret_props.contentType`: the shape of the certificate's secret.
    #[serde(default)]
    pub content_type: CertificateContentType,
    /// `x509_props.validity_months`.
    #[serde(default = "twelve")]
    pub validity_months: u32,
    /// A disabled version's certificate and key are listed and readable
    /// with `enabled: false`; its secret answers 403 `SecretDisabled`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// The policy's issuer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateIssuer {
    /// Self-signed (`issuer.name: Self`).
    #[default]
    #[serde(rename = "Self")]
    SelfSigned,
    /// Signed by the emulator's Key Vault CA, standing in for an
    /// integrated CA; the secret then holds the chain.
    Emulator,
}

impl CertificateIssuer {
    /// `issuer.name` in the policy.
    pub fn name(self) -> &'static str {
        match self {
            Self::SelfSigned => "Self",
            Self::Emulator => "Emulator",
        }
    }
}

/// `secret_props.contentType` of a certificate policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateContentType {
    /// `application/x-pkcs12` (Key Vault's default): the secret is a
    /// base64 PKCS#12 with an empty password.
    #[default]
    #[serde(rename = "application/x-pkcs12")]
    Pkcs12,
    /// `application/x-pem-file`: the secret is the PKCS#8 key then the
    /// certificate chain, PEM.
    #[serde(rename = "application/x-pem-file")]
    Pem,
}

impl CertificateContentType {
    /// The MIME type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pkcs12 => "application/x-pkcs12",
            Self::Pem => "application/x-pem-file",
        }
    }
}

/// A secret with its versions, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretSeed {
    /// Secret name (`^[0-9a-zA-Z-]+$`).
    pub name: String,
    /// Versions, oldest first; the last is the current one.
    pub versions: Vec<VersionSeed>,
}

/// One version of a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionSeed {
    /// The value.
    pub value: String,
    /// Optional content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Disabled versions answer 403 `SecretDisabled`.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// The Key Vault data-plane roles the emulator knows, with the data
/// actions Azure's built-in role definitions give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Read secret values and metadata.
    #[serde(rename = "Key Vault Secrets User")]
    SecretsUser,
    /// Everything a Secrets User may do, plus writes.
    #[serde(rename = "Key Vault Secrets Officer")]
    SecretsOfficer,
    /// Read keys (public part) and use them for cryptographic operations.
    #[serde(rename = "Key Vault Crypto User")]
    CryptoUser,
    /// Read certificates, including their key and secret.
    #[serde(rename = "Key Vault Certificate User")]
    CertificateUser,
    /// Read metadata of everything; never a secret's value.
    #[serde(rename = "Key Vault Reader")]
    Reader,
    /// Everything on certificates (create, import, update, delete), not
    /// their secrets' values.
    #[serde(rename = "Key Vault Certificates Officer")]
    CertificatesOfficer,
    /// Everything on keys (create, import, update, delete).
    #[serde(rename = "Key Vault Crypto Officer")]
    CryptoOfficer,
}

impl Role {
    /// The role's name as Azure shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::SecretsUser => "Key Vault Secrets User",
            Self::SecretsOfficer => "Key Vault Secrets Officer",
            Self::CryptoUser => "Key Vault Crypto User",
            Self::CertificateUser => "Key Vault Certificate User",
            Self::Reader => "Key Vault Reader",
            Self::CertificatesOfficer => "Key Vault Certificates Officer",
            Self::CryptoOfficer => "Key Vault Crypto Officer",
        }
    }

    /// The data actions of Azure's built-in definition, `*` as a wildcard
    /// segment (learn.microsoft.com, "Azure built-in roles for Security").
    pub fn data_actions(self) -> &'static [&'static str] {
        match self {
            Self::SecretsUser => &[
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            Self::SecretsOfficer => &["Microsoft.KeyVault/vaults/secrets/*"],
            Self::CryptoUser => &[
                "Microsoft.KeyVault/vaults/keys/read",
                "Microsoft.KeyVault/vaults/keys/update/action",
                "Microsoft.KeyVault/vaults/keys/backup/action",
                "Microsoft.KeyVault/vaults/keys/encrypt/action",
                "Microsoft.KeyVault/vaults/keys/decrypt/action",
                "Microsoft.KeyVault/vaults/keys/wrap/action",
                "Microsoft.KeyVault/vaults/keys/unwrap/action",
                "Microsoft.KeyVault/vaults/keys/sign/action",
                "Microsoft.KeyVault/vaults/keys/verify/action",
            ],
            Self::CertificateUser => &[
                "Microsoft.KeyVault/vaults/certificates/read",
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                "Microsoft.KeyVault/vaults/keys/read",
            ],
            Self::Reader => &[
                "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
            Self::CertificatesOfficer => &[
                "Microsoft.KeyVault/vaults/certificatecas/*",
                "Microsoft.KeyVault/vaults/certificates/*",
                "Microsoft.KeyVault/vaults/certificatecontacts/write",
            ],
            Self::CryptoOfficer => &[
                "Microsoft.KeyVault/vaults/keys/*",
                "Microsoft.KeyVault/vaults/keyrotationpolicies/*",
            ],
        }
    }

    /// Whether the role grants `action`.
    pub fn grants(self, action: &str) -> bool {
        self.data_actions()
            .iter()
            .any(|pattern| action_matches(pattern, action))
    }
}

/// Azure's data action wildcards: `*` stands for any run of segments.
fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let action: Vec<&str> = action.split('/').collect();
    fn go(p: &[&str], a: &[&str]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(&"*"), _) => (0..=a.len()).any(|skip| skip > 0 && go(&p[1..], &a[skip..])),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(&pattern, &action)
}

/// A role given to a principal on a vault (`<vault>`) or one object
/// (`<vault>/secrets/<name>`, `<vault>/keys/<name>`,
/// `<vault>/certificates/<name>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleAssignment {
    /// Object id of the identity.
    pub principal_id: String,
    /// The role.
    pub role: Role,
    /// `<vault>` or `<vault>/<secrets|keys|certificates>/<name>`.
    pub scope: String,
}

fn default_issuer() -> String {
    DEMO_ISSUER.to_owned()
}
fn default_token_lifetime() -> u64 {
    3599
}
fn default_page_size() -> usize {
    25
}
fn default_audiences() -> Vec<String> {
    vec![azure_wi_core::names::DEFAULT_AUDIENCE.to_owned()]
}
fn yes() -> bool {
    true
}
fn twelve() -> u32 {
    12
}

impl Config {
    /// The built-in world of the demo: the webhook example's workload
    /// `team-a/orders-api`, its identity trusting the emulated cluster, and
    /// vault `orders-kv` holding `db-password` (two versions) and
    /// `api-key`, readable by that identity.
    pub fn demo() -> Self {
        Self {
            tenants: vec![DEMO_TENANT.to_owned()],
            issuer: DEMO_ISSUER.to_owned(),
            identities: vec![Identity {
                name: "orders-api".to_owned(),
                tenant: DEMO_TENANT.to_owned(),
                client_id: DEMO_CLIENT_ID.to_owned(),
                object_id: DEMO_OBJECT_ID.to_owned(),
                federated_credentials: vec![FederatedCredential {
                    name: "team-a-orders-api".to_owned(),
                    issuer: DEMO_ISSUER.to_owned(),
                    subject: "system:serviceaccount:team-a:orders-api".to_owned(),
                    audiences: default_audiences(),
                }],
            }],
            vaults: vec![Vault {
                name: "orders-kv".to_owned(),
                tenant: None,
                keys: Vec::new(),
                certificates: Vec::new(),
                secrets: vec![
                    SecretSeed {
                        name: "db-password".to_owned(),
                        versions: vec![
                            VersionSeed {
                                value: "first-password".to_owned(),
                                content_type: None,
                                enabled: true,
                            },
                            VersionSeed {
                                value: "s3cr3t-from-key-vault".to_owned(),
                                content_type: Some("text/plain".to_owned()),
                                enabled: true,
                            },
                        ],
                    },
                    SecretSeed {
                        name: "api-key".to_owned(),
                        versions: vec![VersionSeed {
                            value: "k-123".to_owned(),
                            content_type: None,
                            enabled: true,
                        }],
                    },
                ],
            }],
            role_assignments: vec![RoleAssignment {
                principal_id: DEMO_OBJECT_ID.to_owned(),
                role: Role::SecretsUser,
                scope: "orders-kv".to_owned(),
            }],
            token_lifetime_seconds: default_token_lifetime(),
            refresh_in_seconds: None,
            max_page_size: default_page_size(),
            throttle: Throttle::default(),
            trusted_issuer_ca_pems: Vec::new(),
            identity_bindings: Vec::new(),
        }
    }

    /// Parses a YAML (or JSON, which is YAML) document and validates it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the field or entry at fault.
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        let config: Self = yaml_serde::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Binds ServiceAccount `namespace/service_account` to the identity
    /// `client_id` for the identity-binding token proxy.
    pub fn bind(&mut self, client_id: &str, namespace: &str, service_account: &str) {
        self.identity_bindings.push(IdentityBinding {
            client_id: client_id.to_owned(),
            namespace: namespace.to_owned(),
            service_account: service_account.to_owned(),
        });
    }

    /// Checks what Entra and Key Vault would refuse to hold.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the entry at fault.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Config(msg));
        if self.tenants.is_empty() {
            return bad("tenants: at least one tenant is needed".to_owned());
        }
        if !self.issuer.starts_with("https://") {
            return bad(format!("issuer {:?}: must be an https URL", self.issuer));
        }
        if !(1..=25).contains(&self.max_page_size) {
            return bad(format!(
                "maxPageSize {}: Key Vault pages hold 1 to 25 items",
                self.max_page_size
            ));
        }
        let mut client_ids = BTreeSet::new();
        for identity in &self.identities {
            let at = format!("identity {:?}", identity.name);
            if !self.tenants.contains(&identity.tenant) {
                return bad(format!(
                    "{at}: tenant {} is not in tenants",
                    identity.tenant
                ));
            }
            if !client_ids.insert(identity.client_id.as_str()) {
                return bad(format!(
                    "{at}: client id {} is used twice",
                    identity.client_id
                ));
            }
            if identity.federated_credentials.len() > MAX_FEDERATED_CREDENTIALS {
                return bad(format!(
                    "{at}: {} federated identity credentials; Entra allows at most {MAX_FEDERATED_CREDENTIALS}",
                    identity.federated_credentials.len()
                ));
            }
            let mut pairs = BTreeSet::new();
            for fic in &identity.federated_credentials {
                if !pairs.insert((fic.issuer.as_str(), fic.subject.as_str())) {
                    return bad(format!(
                        "{at}: federated credential {:?} repeats issuer {} and subject {}; they must be unique on an identity",
                        fic.name, fic.issuer, fic.subject
                    ));
                }
                if fic.audiences.is_empty() {
                    return bad(format!(
                        "{at}: federated credential {:?} has no audience",
                        fic.name
                    ));
                }
            }
        }
        for binding in &self.identity_bindings {
            if !client_ids.contains(binding.client_id.as_str()) {
                return bad(format!(
                    "identityBindings: client id {} is no identity's",
                    binding.client_id
                ));
            }
            if binding.namespace.is_empty() || binding.service_account.is_empty() {
                return bad(format!(
                    "identityBindings: the binding of {} needs a namespace and a serviceAccount",
                    binding.client_id
                ));
            }
        }
        for vault in &self.vaults {
            if vault.name.is_empty()
                || !vault
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return bad(format!(
                    "vault {:?}: names hold letters, digits and dashes",
                    vault.name
                ));
            }
            if let Some(tenant) = &vault.tenant
                && !self.tenants.contains(tenant)
            {
                return bad(format!(
                    "vault {}: tenant {tenant} is not in tenants",
                    vault.name
                ));
            }
            for secret in &vault.secrets {
                if !crate::keyvault::valid_secret_name(&secret.name) {
                    return bad(format!(
                        "vault {} secret {:?}: names match ^[0-9a-zA-Z-]+$",
                        vault.name, secret.name
                    ));
                }
                if secret.versions.is_empty() {
                    return bad(format!(
                        "vault {} secret {}: needs at least one version",
                        vault.name, secret.name
                    ));
                }
            }
            vault.validate_keys_and_certificates()?;
        }
        for assignment in &self.role_assignments {
            let vault = assignment.scope.split('/').next().unwrap_or_default();
            if !self.vaults.iter().any(|v| v.name == vault) {
                return bad(format!(
                    "role assignment for {}: scope {} names no vault",
                    assignment.principal_id, assignment.scope
                ));
            }
        }
        Ok(())
    }

    /// The demo world plus keys and certificates in `orders-kv`, readable
    /// by the demo identity (Key Vault Certificate User): keys
    /// `signing-rsa` (RSA 2048, then a disabled RSA 3072, then RSA 4096)
    /// and `signing-ec` (P-256, P-384, P-521); certificates `web-tls`
    /// (self-signed RSA 2048, PKCS#12; a disabled first version on EC
    /// P-256) and `web-tls-pem` (EC P-384 by the emulator CA, PEM).
    pub fn demo_with_keys_and_certificates() -> Self {
        let mut config = Self::demo();
        let version = |key: KeySpec, enabled: bool| KeyVersionSeed {
            key,
            key_ops: None,
            enabled,
        };
        let cert = |key: KeySpec, content_type, issuer, enabled| CertificateVersionSeed {
            key,
            subject: "CN=orders.example.com".to_owned(),
            dns_names: vec!["orders.example.com".to_owned()],
            issuer,
            content_type,
            validity_months: 12,
            enabled,
        };
        let vault = &mut config.vaults[0];
        vault.keys = vec![
            KeySeed {
                name: "signing-rsa".to_owned(),
                versions: vec![
                    version(KeySpec::rsa(2048), true),
                    version(KeySpec::rsa(3072), false),
                    version(KeySpec::rsa(4096), true),
                ],
            },
            KeySeed {
                name: "signing-ec".to_owned(),
                versions: vec![
                    version(KeySpec::ec(Curve::P256), true),
                    version(KeySpec::ec(Curve::P384), true),
                    version(KeySpec::ec(Curve::P521), true),
                ],
            },
        ];
        vault.certificates = vec![
            CertificateSeed {
                name: "web-tls".to_owned(),
                versions: vec![
                    cert(
                        KeySpec::ec(Curve::P256),
                        CertificateContentType::Pkcs12,
                        CertificateIssuer::SelfSigned,
                        false,
                    ),
                    cert(
                        KeySpec::rsa(2048),
                        CertificateContentType::Pkcs12,
                        CertificateIssuer::SelfSigned,
                        true,
                    ),
                ],
            },
            CertificateSeed {
                name: "web-tls-pem".to_owned(),
                versions: vec![cert(
                    KeySpec::ec(Curve::P384),
                    CertificateContentType::Pem,
                    CertificateIssuer::Emulator,
                    true,
                )],
            },
        ];
        config.role_assignments.push(RoleAssignment {
            principal_id: DEMO_OBJECT_ID.to_owned(),
            role: Role::CertificateUser,
            scope: "orders-kv".to_owned(),
        });
        config
    }

    /// The identity with this client id.
    pub fn identity(&self, client_id: &str) -> Option<&Identity> {
        self.identities.iter().find(|i| i.client_id == client_id)
    }

    /// The tenant a vault's challenge names.
    pub fn vault_tenant(&self, vault: &Vault) -> String {
        vault
            .tenant
            .clone()
            .unwrap_or_else(|| self.tenants[0].clone())
    }
}

impl Vault {
    /// Key and certificate names, versions and key specs Key Vault would
    /// take; a certificate owns the key and secret of its name, so none
    /// may be seeded apart from it.
    fn validate_keys_and_certificates(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Config(format!("vault {}: {msg}", self.name)));
        let mut key_names = BTreeSet::new();
        for key in &self.keys {
            if !crate::keyvault::valid_secret_name(&key.name) || !key_names.insert(&key.name) {
                return bad(format!(
                    "key {:?}: names match ^[0-9a-zA-Z-]+$ and are unique",
                    key.name
                ));
            }
            if key.versions.is_empty() {
                return bad(format!("key {}: needs at least one version", key.name));
            }
            for v in &key.versions {
                v.key
                    .check(&format!("vault {} key {}", self.name, key.name))?;
            }
        }
        let mut cert_names = BTreeSet::new();
        for cert in &self.certificates {
            if !crate::keyvault::valid_secret_name(&cert.name) || !cert_names.insert(&cert.name) {
                return bad(format!(
                    "certificate {:?}: names match ^[0-9a-zA-Z-]+$ and are unique",
                    cert.name
                ));
            }
            if key_names.contains(&cert.name) || self.secrets.iter().any(|s| s.name == cert.name) {
                return bad(format!(
                    "certificate {0}: a key or secret named {0} is seeded too, but the certificate owns the key and secret of its name",
                    cert.name
                ));
            }
            if cert.versions.is_empty() {
                return bad(format!(
                    "certificate {}: needs at least one version",
                    cert.name
                ));
            }
            for v in &cert.versions {
                v.key
                    .check(&format!("vault {} certificate {}", self.name, cert.name))?;
                if v.key.kty == KeyType::Ec && v.key.curve == Some(Curve::P521) {
                    return bad(format!(
                        "certificate {}: the emulator cannot sign P-521 certificates (ring has no P-521); use P-256, P-384 or RSA",
                        cert.name
                    ));
                }
                if !(1..=1200).contains(&v.validity_months) {
                    return bad(format!(
                        "certificate {}: validityMonths {} is out of range",
                        cert.name, v.validity_months
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_world_is_valid_and_round_trips_through_yaml() {
        let demo = Config::demo();
        demo.validate().unwrap();
        let text = yaml_serde::to_string(&demo).unwrap();
        assert_eq!(Config::from_yaml(&text).unwrap(), demo);
    }

    #[test]
    fn the_keys_and_certificates_world_is_valid_and_round_trips() {
        let world = Config::demo_with_keys_and_certificates();
        world.validate().unwrap();
        let text = yaml_serde::to_string(&world).unwrap();
        assert!(text.contains("application/x-pem-file"), "{text}");
        assert_eq!(Config::from_yaml(&text).unwrap(), world);
    }

    #[test]
    fn refuses_what_entra_would_not_hold() {
        let mut c = Config::demo();
        let fic = c.identities[0].federated_credentials[0].clone();
        c.identities[0].federated_credentials = vec![fic; 2];
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("must be unique on an identity"), "{e}");

        let mut c = Config::demo();
        c.identities[0].federated_credentials = (0..21)
            .map(|i| FederatedCredential {
                name: format!("f{i}"),
                issuer: DEMO_ISSUER.into(),
                subject: format!("system:serviceaccount:ns:sa{i}"),
                audiences: default_audiences(),
            })
            .collect();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("21 federated identity credentials; Entra allows at most 20"),
            "{e}"
        );

        let e = Config::from_yaml("tenants: [t]\nvaults: [{name: 'bad_name'}]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("vault \"bad_name\""), "{e}");
        let e = Config::from_yaml("tenants: [t]\nsurprise: 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("surprise"), "{e}");
    }
}
