//! Which operation a request is: Key Vault's routes, object names and the
//! data actions RBAC checks.

use super::KvError;

/// Whether `name` is a valid secret name (`^[0-9a-zA-Z-]+$`, at most 127).
pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A data-plane operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `GET /secrets/{name}[/{version}]`.
    Get {
        /// Secret name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
    /// `GET /secrets`.
    List,
    /// `GET /secrets/{name}/versions`.
    ListVersions {
        /// Secret name.
        name: String,
    },
    /// `PUT /secrets/{name}`.
    Set {
        /// Secret name.
        name: String,
    },
    /// `PATCH /secrets/{name}/{version}` (an empty version: the current
    /// one).
    UpdateSecret {
        /// Secret name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
    /// A read under `/keys`.
    Keys(Read),
    /// A read under `/certificates`.
    Certificates(Read),
    /// `POST /certificates/{name}/import`.
    ImportCertificate {
        /// Certificate name.
        name: String,
    },
    /// `POST /keys/{name}/create`: a new version of a fresh key.
    CreateKey {
        /// Key name.
        name: String,
    },
    /// `PUT /keys/{name}`: a new version of a given key.
    ImportKey {
        /// Key name.
        name: String,
    },
    /// `PATCH /keys/{name}/{version}` (an empty version: the current one).
    UpdateKey {
        /// Key name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
    /// `DELETE /{collection}/{name}`: soft delete of every version.
    Delete {
        /// Which collection.
        collection: Collection,
        /// Object name.
        name: String,
    },
    /// `GET /deleted{collection}/{name}`: a soft-deleted object.
    GetDeleted {
        /// Which collection.
        collection: Collection,
        /// Object name.
        name: String,
    },
    /// `PATCH /certificates/{name}/{version}` (an empty version: the
    /// current one).
    UpdateCertificate {
        /// Certificate name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
}

/// One of the vault's three collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `/secrets`.
    Secrets,
    /// `/keys`.
    Keys,
    /// `/certificates`.
    Certificates,
}

impl Collection {
    /// The path segment, `secrets`.
    pub fn segment(self) -> &'static str {
        match self {
            Self::Secrets => "secrets",
            Self::Keys => "keys",
            Self::Certificates => "certificates",
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        match segment {
            "secrets" => Some(Self::Secrets),
            "keys" => Some(Self::Keys),
            "certificates" => Some(Self::Certificates),
            _ => None,
        }
    }
}

/// A read of keys or certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// `GET /{collection}/{name}[/{version}]`.
    Get {
        /// Object name.
        name: String,
        /// Version, or the current one.
        version: Option<String>,
    },
    /// `GET /{collection}`.
    List,
    /// `GET /{collection}/{name}/versions`.
    ListVersions {
        /// Object name.
        name: String,
    },
}

impl Read {
    pub(super) fn name(&self) -> Option<&str> {
        match self {
            Self::Get { name, .. } | Self::ListVersions { name } => Some(name),
            Self::List => None,
        }
    }
}

impl Op {
    /// The RBAC data action the operation needs.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Get { .. } => "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            Self::List | Self::ListVersions { .. } => {
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
            }
            Self::Set { .. } => "Microsoft.KeyVault/vaults/secrets/setSecret/action",
            Self::UpdateSecret { .. } => "Microsoft.KeyVault/vaults/secrets/update/action",
            Self::Delete { collection, .. } => match collection {
                Collection::Secrets => "Microsoft.KeyVault/vaults/secrets/delete",
                Collection::Keys => "Microsoft.KeyVault/vaults/keys/delete",
                Collection::Certificates => "Microsoft.KeyVault/vaults/certificates/delete",
            },
            // Reading a deleted object's metadata: the collection's
            // metadata read (no public source names a separate action).
            Self::GetDeleted { collection, .. } => match collection {
                Collection::Secrets => "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                Collection::Keys => "Microsoft.KeyVault/vaults/keys/read",
                Collection::Certificates => "Microsoft.KeyVault/vaults/certificates/read",
            },
            Self::Keys(_) => "Microsoft.KeyVault/vaults/keys/read",
            Self::Certificates(_) => "Microsoft.KeyVault/vaults/certificates/read",
            Self::ImportCertificate { .. } => {
                "Microsoft.KeyVault/vaults/certificates/import/action"
            }
            Self::CreateKey { .. } => "Microsoft.KeyVault/vaults/keys/create/action",
            Self::ImportKey { .. } => "Microsoft.KeyVault/vaults/keys/import/action",
            Self::UpdateKey { .. } => "Microsoft.KeyVault/vaults/keys/update/action",
            Self::UpdateCertificate { .. } => {
                "Microsoft.KeyVault/vaults/certificates/update/action"
            }
        }
    }

    /// The collection and name of the object the operation is on, for a
    /// role assigned on that object alone.
    pub(super) fn object(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::Get { name, .. }
            | Self::ListVersions { name }
            | Self::Set { name }
            | Self::UpdateSecret { name, .. } => Some(("secrets", name)),
            Self::List => None,
            Self::Delete { collection, name } | Self::GetDeleted { collection, name } => {
                Some((collection.segment(), name))
            }
            Self::Keys(read) => read.name().map(|n| ("keys", n)),
            Self::Certificates(read) => read.name().map(|n| ("certificates", n)),
            Self::ImportCertificate { name } => Some(("certificates", name)),
            Self::CreateKey { name } | Self::ImportKey { name } | Self::UpdateKey { name, .. } => {
                Some(("keys", name))
            }
            Self::UpdateCertificate { name, .. } => Some(("certificates", name)),
        }
    }

    pub(super) fn is_write(&self) -> bool {
        matches!(
            self,
            Self::Set { .. }
                | Self::UpdateSecret { .. }
                | Self::ImportCertificate { .. }
                | Self::CreateKey { .. }
                | Self::ImportKey { .. }
                | Self::UpdateKey { .. }
                | Self::UpdateCertificate { .. }
                | Self::Delete { .. }
        )
    }
}

/// Maps a method and path to an operation.
///
/// # Errors
///
/// 404/405 in Key Vault's shape for paths and methods it does not serve.
pub fn route(method: &str, path: &str) -> Result<Op, KvError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let op = match (method, segments.as_slice()) {
        ("GET", ["secrets"] | ["secrets", ""]) => Op::List,
        ("GET", ["secrets", name] | ["secrets", name, ""]) => Op::Get {
            name: (*name).to_owned(),
            version: None,
        },
        ("GET", ["secrets", name, "versions"]) => Op::ListVersions {
            name: (*name).to_owned(),
        },
        ("GET", ["secrets", name, version]) => Op::Get {
            name: (*name).to_owned(),
            version: Some((*version).to_owned()),
        },
        ("PUT", ["secrets", name]) => Op::Set {
            name: (*name).to_owned(),
        },
        ("POST", ["certificates", name, "import"]) => Op::ImportCertificate {
            name: (*name).to_owned(),
        },
        ("POST", ["keys", name, "create"]) => Op::CreateKey {
            name: (*name).to_owned(),
        },
        ("DELETE", [collection, name]) if Collection::from_segment(collection).is_some() => {
            Op::Delete {
                collection: Collection::from_segment(collection).unwrap_or(Collection::Secrets),
                name: (*name).to_owned(),
            }
        }
        ("GET", [deleted, name] | [deleted, name, ""])
            if deleted
                .strip_prefix("deleted")
                .and_then(Collection::from_segment)
                .is_some() =>
        {
            Op::GetDeleted {
                collection: deleted
                    .strip_prefix("deleted")
                    .and_then(Collection::from_segment)
                    .unwrap_or(Collection::Secrets),
                name: (*name).to_owned(),
            }
        }
        ("PUT", ["keys", name]) => Op::ImportKey {
            name: (*name).to_owned(),
        },
        (
            "PATCH",
            [
                collection @ ("secrets" | "keys" | "certificates"),
                name,
                rest @ ..,
            ],
        ) if matches!(rest, [] | [_]) => {
            let name = (*name).to_owned();
            let version = rest
                .first()
                .filter(|v| !v.is_empty())
                .map(|v| (*v).to_owned());
            match *collection {
                "secrets" => Op::UpdateSecret { name, version },
                "keys" => Op::UpdateKey { name, version },
                _ => Op::UpdateCertificate { name, version },
            }
        }
        ("GET", [collection @ ("keys" | "certificates"), rest @ ..]) => {
            let read = match rest {
                [] | [""] => Read::List,
                [name] | [name, ""] => Read::Get {
                    name: (*name).to_owned(),
                    version: None,
                },
                [name, "versions"] => Read::ListVersions {
                    name: (*name).to_owned(),
                },
                [name, version] => Read::Get {
                    name: (*name).to_owned(),
                    version: Some((*version).to_owned()),
                },
                _ => {
                    return Err(KvError::new(
                        404,
                        "NotFound",
                        format!("No route for {path}."),
                    ));
                }
            };
            if *collection == "keys" {
                Op::Keys(read)
            } else {
                Op::Certificates(read)
            }
        }
        (_, ["secrets" | "keys" | "certificates", ..]) => {
            return Err(KvError::new(
                405,
                "MethodNotAllowed",
                format!("The requested resource does not support http method '{method}'."),
            ));
        }
        _ => {
            return Err(KvError::new(
                404,
                "NotFound",
                format!("No route for {path}."),
            ));
        }
    };
    Ok(op)
}
