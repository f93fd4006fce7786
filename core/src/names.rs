//! The names existing manifests and SDKs already depend on.
//!
//! Every label, annotation, environment variable, volume name and path here is
//! the one used by the reference webhook (Azure/azure-workload-identity v1.5,
//! and v1.6 for what v1.6 added; v1.6's token layout is
//! [`crate::TokenLayout`]), so pods, ServiceAccounts and Azure SDKs written
//! for it work unchanged. The
//! webhook writes them, `azure-wi-auth` reads them, the emulator and the
//! diagnostics check them: this is the one place they are spelled.

/// Pod label that the MutatingWebhookConfiguration's `objectSelector` matches
/// (`"true"`). The handler itself mutates whatever it is sent.
pub const USE_LABEL: &str = "azure.workload.identity/use";

/// Prefix shared by every annotation this webhook reads.
pub const ANNOTATION_PREFIX: &str = "azure.workload.identity/";

/// ServiceAccount annotation naming the Entra application or managed identity
/// client id that becomes `AZURE_CLIENT_ID`.
pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";

/// ServiceAccount annotation that overrides the webhook's configured tenant.
pub const TENANT_ID_ANNOTATION: &str = "azure.workload.identity/tenant-id";

/// Pod or ServiceAccount annotation with the projected token's lifetime in
/// seconds (the pod's wins).
pub const TOKEN_EXPIRATION_ANNOTATION: &str =
    "azure.workload.identity/service-account-token-expiration";

/// Pod annotation listing containers (separated by `;`) that get neither the
/// environment variables nor the token mount.
pub const SKIP_CONTAINERS_ANNOTATION: &str = "azure.workload.identity/skip-containers";

/// Pod annotation asking for the IMDS proxy: its presence, whatever its
/// value, as the reference webhook reads it.
pub const INJECT_PROXY_SIDECAR_ANNOTATION: &str = "azure.workload.identity/inject-proxy-sidecar";
/// Pod annotation with the port the IMDS proxy listens on.
pub const PROXY_SIDECAR_PORT_ANNOTATION: &str = "azure.workload.identity/proxy-sidecar-port";
/// The proxy's port when the pod does not name one.
pub const DEFAULT_PROXY_PORT: u16 = 8000;
/// Name of the init container that redirects IMDS traffic to the proxy.
pub const PROXY_INIT_CONTAINER: &str = "azwi-proxy-init";
/// Name of the proxy container.
pub const PROXY_CONTAINER: &str = "azwi-proxy";
/// Environment variable giving the init container the proxy's port.
pub const PROXY_PORT_ENV: &str = "PROXY_PORT";
/// Environment variable of the webhook naming the proxy image.
pub const PROXY_IMAGE_ENV: &str = "PROXY_IMAGE";
/// Environment variable of the webhook naming the proxy init image.
pub const PROXY_INIT_IMAGE_ENV: &str = "PROXY_INIT_IMAGE";

/// Prefix of the pod annotation that asks for the custom token endpoint
/// (AKS identity bindings): `azure.workload.identity/use-<suffix>`, the
/// suffix the webhook's `--custom-token-endpoint-annotation-suffix`.
pub const CUSTOM_TOKEN_ENDPOINT_ANNOTATION_PREFIX: &str = "azure.workload.identity/use-";
/// Environment variable with the identity-binding token proxy's URL.
pub const KUBERNETES_TOKEN_PROXY_ENV: &str = "AZURE_KUBERNETES_TOKEN_PROXY";
/// Environment variable with the token proxy's TLS server name.
pub const KUBERNETES_SNI_NAME_ENV: &str = "AZURE_KUBERNETES_SNI_NAME";
/// Environment variable with the path of the token proxy's CA file.
pub const KUBERNETES_CA_FILE_ENV: &str = "AZURE_KUBERNETES_CA_FILE";
/// Environment variable with the token proxy's CA, inline.
pub const KUBERNETES_CA_DATA_ENV: &str = "AZURE_KUBERNETES_CA_DATA";
/// Where the token proxy's CA is projected in the token volume.
pub const KUBERNETES_CA_FILE_PATH: &str = "ca-cert/ca.crt";
/// The CA file's full path in every container.
pub const KUBERNETES_CA_FILE: &str = "/var/run/secrets/azure/tokens/ca-cert/ca.crt";

/// Environment variable carrying the client id.
pub const CLIENT_ID_ENV: &str = "AZURE_CLIENT_ID";
/// Environment variable carrying the tenant id.
pub const TENANT_ID_ENV: &str = "AZURE_TENANT_ID";
/// Environment variable carrying the path of the projected token file.
pub const FEDERATED_TOKEN_FILE_ENV: &str = "AZURE_FEDERATED_TOKEN_FILE";
/// Environment variable carrying the Entra authority host of the cloud.
pub const AUTHORITY_HOST_ENV: &str = "AZURE_AUTHORITY_HOST";
/// Environment variable naming the Azure cloud the webhook serves, by its
/// go-autorest name (see [`crate::AzureCloud`]).
pub const ENVIRONMENT_ENV: &str = "AZURE_ENVIRONMENT";
/// Environment variable naming a PEM file of extra CA certificates that this
/// project's HTTP clients trust beside the system roots (an emulator's, a
/// TLS-inspecting proxy's). Ours alone: Azure SDKs do not read it.
pub const EXTRA_CA_FILE_ENV: &str = "AZURE_WI_EXTRA_CA_FILE";

/// Environment variable of the webhook choosing the token layout
/// (`--token-layout`: `v1.5` or `v1.6`; see [`crate::TokenLayout`]). Ours
/// alone: the reference v1.6.0 has only its own layout.
pub const TOKEN_LAYOUT_ENV: &str = "AZURE_WI_TOKEN_LAYOUT";

/// Name of the projected volume, of its mounts, and of the token file in it.
pub const TOKEN_VOLUME: &str = "azure-identity-token";
/// Directory where the token volume is mounted in every container.
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/azure/tokens";
/// Full path of the token file, the value of `AZURE_FEDERATED_TOKEN_FILE`.
pub const TOKEN_FILE_PATH: &str = "/var/run/secrets/azure/tokens/azure-identity-token";

/// Audience Entra expects in a federated token unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Audience of the ServiceAccount tokens AKS's identity-binding token proxy
/// exchanges (the Azure provider's `IdentityBindingTokenAudience`).
pub const IDENTITY_BINDING_AUDIENCE: &str = "api://AKSIdentityBinding";

/// Prefix of a ServiceAccount token's `sub` claim; see [`service_account_subject`].
pub const SERVICE_ACCOUNT_SUBJECT_PREFIX: &str = "system:serviceaccount:";

/// Token lifetime when neither the pod nor its ServiceAccount sets one.
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// Shortest lifetime accepted (the kubelet rotates at 80 % of it).
pub const MIN_TOKEN_EXPIRATION_SECONDS: i64 = 3600;
/// Longest lifetime accepted.
pub const MAX_TOKEN_EXPIRATION_SECONDS: i64 = 86400;

/// The `sub` claim the API server puts in a ServiceAccount token, which a
/// federated identity credential's subject must equal exactly
/// (case-sensitive): `system:serviceaccount:<namespace>:<name>`.
#[must_use]
pub fn service_account_subject(namespace: &str, name: &str) -> String {
    format!("{SERVICE_ACCOUNT_SUBJECT_PREFIX}{namespace}:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_the_api_servers_sub_claim() {
        assert_eq!(
            service_account_subject("team", "app"),
            "system:serviceaccount:team:app"
        );
    }

    #[test]
    fn token_file_path_is_mount_path_plus_volume_name() {
        assert_eq!(
            TOKEN_FILE_PATH,
            format!("{TOKEN_MOUNT_PATH}/{TOKEN_VOLUME}")
        );
    }
}
