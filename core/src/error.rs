//! The one error type of this crate: a value that is not what the contract
//! allows, with the value and what is wrong with it.

/// A contract value that was refused. Each variant names the value and says
/// what would be accepted, so the message can be shown to whoever typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The cloud name is not one this project knows the hosts of.
    #[error(
        "unknown Azure environment {value:?}: expected one of AzurePublicCloud, \
         AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud (case-insensitive)"
    )]
    UnknownCloud {
        /// The rejected name.
        value: String,
    },
    /// A client id is empty or contains whitespace.
    #[error("invalid client id {value:?}: {reason}")]
    InvalidClientId {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tenant id has characters Entra never uses, or would change the
    /// token endpoint's path.
    #[error("invalid tenant id {value:?}: {reason}")]
    InvalidTenantId {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An OAuth 2.0 scope is empty or contains whitespace.
    #[error("invalid scope {value:?}: {reason}")]
    InvalidScope {
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A token audience is empty or contains whitespace.
    #[error("invalid token audience {value:?}: expected a non-empty value without whitespace")]
    InvalidAudience {
        /// The rejected value.
        value: String,
    },
    /// A document could not be read as a ServiceAccount.
    #[error("not a valid ServiceAccount: {reason}")]
    InvalidServiceAccount {
        /// What is wrong with it, with the path of the field at fault.
        reason: String,
    },
    /// A ServiceAccount has no `metadata.name`.
    #[error("ServiceAccount has no metadata.name")]
    ServiceAccountWithoutName,
    /// A token layout that is not one the reference webhook has shipped.
    #[error("unknown token layout {value:?}: expected one of v1.5, v1.6")]
    UnknownTokenLayout {
        /// The rejected value.
        value: String,
    },
}
