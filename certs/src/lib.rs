//! TLS certificates for the workload identity webhook.
//!
//! The Kubernetes API server only calls an admission webhook over HTTPS, and
//! it checks the serving certificate against the `caBundle` of the
//! `MutatingWebhookConfiguration` and the Service DNS name it dials
//! (`<service>.<namespace>.svc`). This crate holds everything the webhook
//! needs to have such a certificate and to keep serving a fresh one:
//!
//! - [`authority`]: create a small private certificate authority, or load one
//!   that is kept in a Secret, to sign serving certificates.
//! - [`serving`]: describe and issue a serving certificate for a Service (all
//!   the DNS forms clients use, plus any extra names or IP addresses).
//! - [`inspect`]: read expiry dates, decide when to renew, check that a key
//!   belongs to a certificate, that a certificate was signed by a CA and
//!   names what a serving request asks for, and encode the `caBundle`.
//! - [`reload`]: a rustls certificate resolver that picks up a renewed
//!   `tls.crt`/`tls.key` pair from a mounted Secret without a restart and
//!   without disturbing connections already open, and that can start before
//!   the pair exists; its watch task tells the caller about each new pair
//!   (for readiness and an expiry metric).
//!
//! All cryptography is rustls and rcgen on the `ring` provider; nothing links
//! OpenSSL or aws-lc.
//!
//! # What this crate does not do
//!
//! - It never talks to the Kubernetes API: it neither reads nor writes
//!   Secrets or webhook configurations. Callers move PEM text in and out.
//! - It does not use inotify or any other file-change notification: the
//!   reloader polls, because the kubelet replaces a Secret volume's content by
//!   swapping a `..data` symlink, which per-file watches miss, and because
//!   polling behaves the same on every filesystem (overlay, NFS, tmpfs).
//! - It does not decide policy such as validity periods or renewal windows
//!   beyond offering defaults; the webhook's configuration does.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use certs::{CertificateAuthority, ServingCertificate, inspect};
//!
//! let ca = CertificateAuthority::generate("webhook-ca", Duration::from_secs(3 * 365 * 86_400))?;
//! let issued = ServingCertificate::for_service("pod-identity-webhook", "kube-system")?
//!     .with_dns_name("localhost")?
//!     .issue(&ca)?;
//! // Written to tls.crt and tls.key; the CA goes to ca.crt and the caBundle.
//! inspect::check_pair(issued.cert_pem(), issued.key_pem().as_str())?;
//! let now = SystemTime::now();
//! assert!(!inspect::needs_renewal(issued.cert_pem(), now, inspect::DEFAULT_RENEWAL_WINDOW)?);
//! let ca_bundle = inspect::ca_bundle_base64(ca.cert_pem());
//! assert!(ca_bundle.starts_with("LS0tLS1CRUdJTi")); // "-----BEGIN"
//! # Ok::<(), certs::Error>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod authority;
mod clock;
mod error;
pub mod inspect;
mod pem;
pub mod reload;
mod secret;
pub mod serving;

pub use authority::CertificateAuthority;
pub use error::{Error, Result};
pub use inspect::{
    ca_bundle_base64, check_names, check_pair, check_signed_by, needs_renewal, not_after,
};
pub use reload::{ReloadOutcome, ReloadingCertResolver};
pub use secret::PrivateKeyPem;
pub use serving::{IssuedCertificate, ServingCertificate};
