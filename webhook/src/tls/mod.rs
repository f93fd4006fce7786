//! Self-managed serving certificates, as the reference webhook manages them.
//!
//! Every replica converges on one CA and serving pair kept in a Secret in
//! its namespace: the first to find the Secret missing creates it, the
//! others read it (a create that loses the race gets `AlreadyExists` and
//! re-reads; an update that loses gets `Conflict` and re-reads). Each
//! replica writes the pair into its certificate directory, where the
//! server's file reloader picks it up, and writes the CA into every webhook
//! of its MutatingWebhookConfiguration, again whenever that object is
//! reapplied without it. The pair is renewed 90 days before it expires.
//!
//! [`plan`] is the pure decision; [`SelfManaged`] is the Kubernetes shell;
//! [`defaults`] names the objects involved.

pub mod defaults;
mod plan;
mod selfmanaged;

pub use plan::{Plan, StoredCertificates, plan};
pub use selfmanaged::{RotationError, SelfManaged, WebhookResources};

/// Entry of the certificate Secret (and file written by `webhook certs`)
/// holding the CA certificate; the serving pair uses
/// [`certs::reload::CERT_FILE`] and [`certs::reload::KEY_FILE`], as in any
/// `kubernetes.io/tls` Secret.
pub const CA_CERT_FILE: &str = "ca.crt";
/// Entry of the certificate Secret holding the CA's private key, so every
/// replica signs with the same CA.
pub const CA_KEY_FILE: &str = "ca.key";
