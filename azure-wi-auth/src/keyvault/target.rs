//! What a Key Vault request is for, so that an error answer becomes the
//! error a user can act on: the object and vault named, a 404 as the
//! object's own not-found variant, a 403 naming the role to grant.

use std::time::Duration;

use serde_json::Value;

use crate::{Error, transport::HttpResponse};

/// A path segment with the few characters that would break a URL escaped
/// (secret names are `[0-9a-zA-Z-]`, so valid names pass unchanged).
pub(super) fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn version_suffix(version: Option<&str>) -> String {
    version.map(|v| format!(" version {v}")).unwrap_or_default()
}

/// `secrets` → `secret`: the object kind a collection holds, for messages.
fn singular(collection: &str) -> &str {
    collection.strip_suffix('s').unwrap_or(collection)
}

/// What a request is for, to word errors.
#[derive(Debug, Clone)]
pub(super) enum Target<'a> {
    Secret {
        name: &'a str,
        version: Option<&'a str>,
    },
    Set {
        name: &'a str,
    },
    List,
    Versions {
        name: String,
    },
    Key {
        name: &'a str,
        version: Option<&'a str>,
    },
    KeyList,
    KeyVersions {
        name: String,
    },
    Certificate {
        name: &'a str,
        version: Option<&'a str>,
    },
    CertificateList,
    CertificateVersions {
        name: String,
    },
    ImportKey {
        name: &'a str,
    },
    ImportCertificate {
        name: &'a str,
    },
    /// A soft delete; `collection` is the path segment (`secrets`, `keys`,
    /// `certificates`).
    Delete {
        collection: &'static str,
        name: &'a str,
    },
}

impl Target<'_> {
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Secret {
                name,
                version: None,
            } => format!("reading secret {name}"),
            Self::Secret {
                name,
                version: Some(v),
            } => format!("reading secret {name} version {v}"),
            Self::Set { name } => format!("writing secret {name}"),
            Self::List => "listing secrets".to_owned(),
            Self::Versions { name } => format!("listing the versions of secret {name}"),
            Self::Key { name, version } => {
                format!("reading key {name}{}", version_suffix(*version))
            }
            Self::KeyList => "listing keys".to_owned(),
            Self::KeyVersions { name } => format!("listing the versions of key {name}"),
            Self::Certificate { name, version } => {
                format!("reading certificate {name}{}", version_suffix(*version))
            }
            Self::CertificateList => "listing certificates".to_owned(),
            Self::CertificateVersions { name } => {
                format!("listing the versions of certificate {name}")
            }
            Self::ImportKey { name } => format!("importing key {name}"),
            Self::ImportCertificate { name } => format!("importing certificate {name}"),
            Self::Delete { collection, name } => {
                format!("deleting {} {name}", singular(collection))
            }
        }
    }

    /// The least built-in role that grants the operation (Azure's built-in
    /// Key Vault data-plane roles).
    pub(super) fn role(&self) -> &'static str {
        match self {
            Self::Set { .. }
            | Self::Delete {
                collection: "secrets",
                ..
            } => "Key Vault Secrets Officer",
            Self::ImportKey { .. }
            | Self::Delete {
                collection: "keys", ..
            } => "Key Vault Crypto Officer",
            Self::ImportCertificate { .. } | Self::Delete { .. } => {
                "Key Vault Certificates Officer"
            }
            Self::Key { .. } | Self::KeyList | Self::KeyVersions { .. } => {
                "Key Vault Crypto User (or Key Vault Reader, or Key Vault Certificate User)"
            }
            Self::Certificate { .. } | Self::CertificateList | Self::CertificateVersions { .. } => {
                "Key Vault Certificate User (or Key Vault Reader)"
            }
            _ => "Key Vault Secrets User",
        }
    }

    /// What the 404 of a read of this target is, when it names the object.
    pub(super) fn not_found(&self, vault: &str, code: &str) -> Option<Error> {
        let vault = vault.to_owned();
        match (self, code) {
            (Self::Secret { name, version }, "SecretNotFound") => Some(Error::SecretNotFound {
                vault,
                name: (*name).to_owned(),
                version: version.map(str::to_owned),
            }),
            (Self::Versions { name }, "SecretNotFound") => Some(Error::SecretNotFound {
                vault,
                name: name.clone(),
                version: None,
            }),
            (Self::Key { name, version }, "KeyNotFound") => Some(Error::KeyNotFound {
                vault,
                name: (*name).to_owned(),
                version: version.map(str::to_owned),
            }),
            (Self::KeyVersions { name }, "KeyNotFound") => Some(Error::KeyNotFound {
                vault,
                name: name.clone(),
                version: None,
            }),
            (Self::Certificate { name, version }, "CertificateNotFound") => {
                Some(Error::CertificateNotFound {
                    vault,
                    name: (*name).to_owned(),
                    version: version.map(str::to_owned),
                })
            }
            (
                Self::Delete {
                    collection: "secrets",
                    name,
                },
                "SecretNotFound",
            ) => Some(Error::SecretNotFound {
                vault,
                name: (*name).to_owned(),
                version: None,
            }),
            (
                Self::Delete {
                    collection: "keys",
                    name,
                },
                "KeyNotFound",
            ) => Some(Error::KeyNotFound {
                vault,
                name: (*name).to_owned(),
                version: None,
            }),
            (
                Self::Delete {
                    collection: "certificates",
                    name,
                },
                "CertificateNotFound",
            ) => Some(Error::CertificateNotFound {
                vault,
                name: (*name).to_owned(),
                version: None,
            }),
            (Self::CertificateVersions { name }, "CertificateNotFound") => {
                Some(Error::CertificateNotFound {
                    vault,
                    name: name.clone(),
                    version: None,
                })
            }
            _ => None,
        }
    }

    pub(super) fn malformed(&self, vault: &str) -> Error {
        Error::KeyVault {
            vault: vault.to_owned(),
            what: self.describe(),
            status: 200,
            code: "MalformedResponse".to_owned(),
            message: "the answer is not the Key Vault body this request returns".to_owned(),
            retry_after: None,
        }
    }

    /// Maps an error answer to the error a user can act on.
    /// `retry_after` is the wait the vault asked for, if it did.
    pub(super) fn error(
        &self,
        vault: &str,
        response: &HttpResponse,
        retry_after: Option<Duration>,
    ) -> Error {
        let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
        let inner = body["error"]["innererror"]["code"]
            .as_str()
            .map(str::to_owned);
        let message = body["error"]["message"]
            .as_str()
            .map(|m| m.lines().next().unwrap_or_default().trim().to_owned())
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&response.body)
                    .chars()
                    .take(200)
                    .collect()
            });
        if response.status == 404
            && let Some(error) = self.not_found(vault, &code)
        {
            return error;
        }
        match (response.status, self) {
            (403, _) => {
                let code = inner.unwrap_or(code);
                let role = matches!(code.as_str(), "ForbiddenByRbac" | "AccessDenied")
                    .then(|| self.role());
                Error::Forbidden {
                    vault: vault.to_owned(),
                    what: self.describe(),
                    code,
                    message,
                    role,
                }
            }
            (status, _) => Error::KeyVault {
                vault: vault.to_owned(),
                what: self.describe(),
                status,
                code,
                message,
                retry_after,
            },
        }
    }
}
