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
//! [`plan`] is the pure decision; [`SelfManaged`] is the Kubernetes shell.

mod plan;
mod selfmanaged;

pub use plan::{Plan, StoredPair, plan};
pub use selfmanaged::{Names, RotationError, SelfManaged};
