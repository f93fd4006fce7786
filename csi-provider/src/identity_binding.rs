//! Where a mount with `useAzureTokenProxy: "true"` exchanges its token: the
//! AKS identity-binding token proxy, set up once at start-up as the Azure
//! provider sets it up (`internal/identitybinding`, `cmd/main.go`):
//!
//! - `--token-proxy-url`, by default the API server's in-cluster name
//!   `https://kubernetes.default.svc.cluster.local` (AKS serves the proxy
//!   there);
//! - `--sni-name`, by default computed from the cluster id in the API
//!   server's certificate (the DNS name `hcp-kubernetes.<id>.svc.cluster.local`):
//!   `a` + the lower-case unpadded base32hex of SHA-256(`identity-binding` +
//!   id) + `.ests.aks`;
//! - the CA of the pod's ServiceAccount
//!   (`/var/run/secrets/kubernetes.io/serviceaccount/ca.crt`) when present.
//!
//! A proxy that cannot be set up does not stop the provider: mounts in that
//! mode fail with the reason, as the Go provider's do, and workload
//! identity mounts are served as ever.

use std::{path::Path, sync::Arc, time::Duration};

use azure_wi_auth::{TokenProxy, TokenProxyCa};
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use sha2::{Digest as _, Sha256};

/// The token proxy when `--token-proxy-url` is not given.
pub const DEFAULT_TOKEN_PROXY_URL: &str = "https://kubernetes.default.svc.cluster.local";
/// The pod's ServiceAccount CA, trusted for the proxy when present.
pub const DEFAULT_CA_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
/// The API server's in-cluster name, dialled to read the cluster id.
pub const API_SERVER_HOST: &str = "kubernetes.default.svc.cluster.local";

const SNI_SALT: &str = "identity-binding";
const SNI_PREFIX: &str = "a";
const SNI_SUFFIX: &str = ".ests.aks";
const SAN_PREFIX: &str = "hcp-kubernetes.";
const SAN_SUFFIX: &str = ".svc.cluster.local";

/// The token proxy's TLS name for the cluster `cluster_id`.
#[must_use]
pub fn resolve_server_name(cluster_id: &str) -> String {
    let hash = Sha256::new()
        .chain_update(SNI_SALT)
        .chain_update(cluster_id)
        .finalize();
    let label = data_encoding::BASE32HEX_NOPAD.encode(&hash);
    format!("{SNI_PREFIX}{label}{SNI_SUFFIX}").to_ascii_lowercase()
}

/// The cluster id among the API server certificate's DNS names.
///
/// # Errors
///
/// Why none could be found, as the Go provider says it.
pub fn cluster_id<'n>(dns_names: impl IntoIterator<Item = &'n str>) -> Result<String, String> {
    for name in dns_names {
        if let Some(id) = name
            .strip_prefix(SAN_PREFIX)
            .and_then(|rest| rest.strip_suffix(SAN_SUFFIX))
        {
            if id.is_empty() {
                return Err(format!("empty cluster ID in SAN {name:?}"));
            }
            return Ok(id.to_owned());
        }
    }
    Err(
        "cluster ID SAN not found in API server certificate (use --sni-name flag to provide \
         SNI name explicitly)"
            .to_owned(),
    )
}

/// The token proxy of `url` named `sni` (computed when empty), trusting
/// `ca_file` when it exists; `Err` is the reason mounts in that mode fail.
pub async fn token_proxy(
    url: &str,
    sni: &str,
    ca_file: &Path,
    api_server: (&str, u16),
) -> Result<TokenProxy, String> {
    let ca_pem = std::fs::read_to_string(ca_file).ok();
    let sni = if sni.is_empty() {
        compute_sni(ca_pem.as_deref(), ca_file, api_server)
            .await
            .map_err(|e| format!("compute SNI name: {e}"))?
    } else {
        sni.to_owned()
    };
    let proxy = TokenProxy::new(url)
        .map_err(|e| e.to_string())?
        .with_sni(sni);
    Ok(match ca_pem {
        Some(_) => proxy.with_ca(TokenProxyCa::File(ca_file.to_owned())),
        None => proxy,
    })
}

/// Dials the API server trusting the ServiceAccount CA and computes the
/// name from the cluster id its certificate carries.
async fn compute_sni(
    ca_pem: Option<&str>,
    ca_file: &Path,
    (host, port): (&str, u16),
) -> Result<String, String> {
    let ca_pem = ca_pem.ok_or_else(|| {
        format!(
            "read CA file {}: not found (use --sni-name flag to skip automatic SNI detection)",
            ca_file.display()
        )
    })?;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()).flatten() {
        roots
            .add(certificate)
            .map_err(|e| format!("CA file {}: {e}", ca_file.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "no valid certificates found in {}",
            ca_file.display()
        ));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host, port)).await?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
    };
    let tls = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .map_err(|_| "TLS connect to API server: timed out after 10s".to_owned())?
        .map_err(|e| format!("TLS connect to API server: {e}"))?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or("no certificates presented by API server")?
        .clone();
    let (_, certificate) = x509_parser::parse_x509_certificate(&leaf)
        .map_err(|e| format!("API server certificate: {e}"))?;
    let names: Vec<String> = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(resolve_server_name(&cluster_id(
        names.iter().map(String::as_str),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Go provider's `TestResolveServerName`.
    #[test]
    fn the_server_name_is_the_go_providers() {
        for id in ["696995ccb303450001b31a18", "abc123def456"] {
            let sni = resolve_server_name(id);
            assert!(sni.starts_with('a') && sni.ends_with(".ests.aks"), "{sni}");
            assert_eq!(sni.to_ascii_lowercase(), sni);
            assert_eq!(sni.trim_end_matches(".ests.aks").len(), 53, "{sni}");
            assert_eq!(sni, resolve_server_name(id), "deterministic");
        }
        assert_ne!(resolve_server_name("id1"), resolve_server_name("id2"));
        // Computed apart (Python: "a" + base64.b32hexencode(sha256(
        // b"identity-bindingabc123def456")).rstrip("=").lower() + ".ests.aks").
        assert_eq!(resolve_server_name("abc123def456"), EXPECTED_ABC);
    }

    const EXPECTED_ABC: &str = "avimke6u6l2eeq8qc1cneuaq4sl2e1av9t4clqgun97le32hub670.ests.aks";

    #[test]
    fn the_cluster_id_comes_from_the_api_servers_name() {
        assert_eq!(
            cluster_id([
                "kubernetes",
                "hcp-kubernetes.696995ccb303450001b31a18.svc.cluster.local"
            ]),
            Ok("696995ccb303450001b31a18".to_owned())
        );
        assert!(
            cluster_id(["hcp-kubernetes..svc.cluster.local"])
                .unwrap_err()
                .contains("empty")
        );
        assert!(
            cluster_id(["kubernetes"])
                .unwrap_err()
                .contains("--sni-name")
        );
    }
}
