//! Where the credential's settings come from: the pod's environment, as the
//! workload identity webhook sets it, or explicit values.

use std::path::{Path, PathBuf};

use crate::{AuthorityHost, ClientId, Error, TenantId};

use azure_wi_core::names::{
    AUTHORITY_HOST_ENV, CLIENT_ID_ENV, FEDERATED_TOKEN_FILE_ENV, TENANT_ID_ENV,
};

/// Everything needed to exchange the pod's ServiceAccount token for an Entra
/// ID access token, validated.
///
/// Build it with [`WorkloadIdentityConfig::from_env`] in a pod, or with
/// [`WorkloadIdentityConfig::builder`] elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadIdentityConfig {
    client_id: ClientId,
    tenant_id: TenantId,
    token_file: PathBuf,
    authority_host: AuthorityHost,
}

impl WorkloadIdentityConfig {
    /// Reads the variables the webhook injects from the process environment:
    /// [`CLIENT_ID_ENV`], [`TENANT_ID_ENV`], [`FEDERATED_TOKEN_FILE_ENV`] and
    /// [`AUTHORITY_HOST_ENV`] (see [`crate::names`]).
    ///
    /// # Errors
    /// A missing, empty, non-UTF-8 or invalid variable; the error names it.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| match std::env::var(name) {
            Ok(value) => Ok(Some(value)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::EnvVarNotUnicode { name }),
        })
    }

    /// Like [`from_env`](Self::from_env), but asks `lookup` for each
    /// variable, so tests and applications with their own settings source do
    /// not have to touch the process environment.
    ///
    /// Empty or whitespace-only values count as missing.
    /// `AZURE_AUTHORITY_HOST` defaults to [`crate::DEFAULT_AUTHORITY_HOST`].
    ///
    /// # Errors
    /// A missing or invalid variable; the error names it.
    ///
    /// # Example
    /// ```
    /// use azure_wi_auth::{WorkloadIdentityConfig, names};
    ///
    /// let config = WorkloadIdentityConfig::from_env_with(|name| match name {
    ///     names::CLIENT_ID_ENV => Some("11111111-2222-3333-4444-555555555555".into()),
    ///     names::TENANT_ID_ENV => Some("72f988bf-0000-4000-8000-000000000001".into()),
    ///     names::FEDERATED_TOKEN_FILE_ENV => Some(names::TOKEN_FILE_PATH.into()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(config.authority_host().as_str(), "https://login.microsoftonline.com/");
    /// # Ok::<(), azure_wi_auth::Error>(())
    /// ```
    pub fn from_env_with<F>(mut lookup: F) -> Result<Self, Error>
    where
        F: FnMut(&str) -> Option<String>,
    {
        Self::from_lookup(|name| Ok(lookup(name)))
    }

    fn from_lookup<F>(mut lookup: F) -> Result<Self, Error>
    where
        F: FnMut(&'static str) -> Result<Option<String>, Error>,
    {
        let mut get = |name: &'static str| -> Result<Option<String>, Error> {
            Ok(lookup(name)?.filter(|v| !v.trim().is_empty()))
        };
        let mut required = |name: &'static str| get(name)?.ok_or(Error::EnvVarMissing { name });
        fn invalid<E: Into<Error>>(name: &'static str) -> impl FnOnce(E) -> Error {
            move |reason| Error::EnvVarInvalid {
                name,
                reason: Box::new(reason.into()),
            }
        }

        let client_id = required(CLIENT_ID_ENV)?
            .parse()
            .map_err(invalid(CLIENT_ID_ENV))?;
        let tenant_id = required(TENANT_ID_ENV)?
            .parse()
            .map_err(invalid(TENANT_ID_ENV))?;
        let token_file = PathBuf::from(required(FEDERATED_TOKEN_FILE_ENV)?);
        let authority_host = match get(AUTHORITY_HOST_ENV)? {
            Some(value) => value.parse().map_err(invalid(AUTHORITY_HOST_ENV))?,
            None => AuthorityHost::default(),
        };
        Ok(Self {
            client_id,
            tenant_id,
            token_file,
            authority_host,
        })
    }

    /// Starts a builder for explicit values, for programs that do not run in
    /// a webhook-mutated pod.
    pub fn builder() -> WorkloadIdentityConfigBuilder {
        WorkloadIdentityConfigBuilder::default()
    }

    /// The application (client) id to authenticate as.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The tenant to ask for a token.
    #[must_use]
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// Path of the projected ServiceAccount token; the kubelet rotates it,
    /// so read it again for each token request.
    #[must_use]
    pub fn token_file(&self) -> &Path {
        &self.token_file
    }

    /// The Entra ID authority, ending with `/`.
    #[must_use]
    pub fn authority_host(&self) -> &AuthorityHost {
        &self.authority_host
    }
}

/// Collects explicit settings; values are validated by
/// [`build`](Self::build), which names the first one at fault.
///
/// # Example
/// ```
/// use azure_wi_auth::WorkloadIdentityConfig;
///
/// let config = WorkloadIdentityConfig::builder()
///     .client_id("11111111-2222-3333-4444-555555555555")
///     .tenant_id("72f988bf-0000-4000-8000-000000000001")
///     .token_file("/var/run/secrets/azure/tokens/azure-identity-token")
///     .authority_host("https://login.microsoftonline.us")
///     .build()?;
/// assert_eq!(config.authority_host().as_str(), "https://login.microsoftonline.us/");
/// # Ok::<(), azure_wi_auth::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct WorkloadIdentityConfigBuilder {
    client_id: Option<String>,
    tenant_id: Option<String>,
    token_file: Option<PathBuf>,
    authority_host: Option<String>,
}

impl WorkloadIdentityConfigBuilder {
    /// Sets the application (client) id. Required.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Sets the tenant (directory) id or domain. Required.
    pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets the path of the federated (ServiceAccount) token file. Required.
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }

    /// Sets the authority host; defaults to [`crate::DEFAULT_AUTHORITY_HOST`].
    pub fn authority_host(mut self, authority_host: impl Into<String>) -> Self {
        self.authority_host = Some(authority_host.into());
        self
    }

    /// Validates the values and builds the configuration.
    ///
    /// # Errors
    /// [`Error::BuilderFieldMissing`] for a required value not given, or the
    /// `Invalid*` error of the first value that does not validate.
    pub fn build(self) -> Result<WorkloadIdentityConfig, Error> {
        let missing = |field| Error::BuilderFieldMissing { field };
        let client_id = self
            .client_id
            .ok_or_else(|| missing("client_id"))?
            .parse()?;
        let tenant_id = self
            .tenant_id
            .ok_or_else(|| missing("tenant_id"))?
            .parse()?;
        let token_file = self
            .token_file
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| missing("token_file"))?;
        let authority_host = match self.authority_host {
            Some(host) => host.parse()?,
            None => AuthorityHost::default(),
        };
        Ok(WorkloadIdentityConfig {
            client_id,
            tenant_id,
            token_file,
            authority_host,
        })
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
