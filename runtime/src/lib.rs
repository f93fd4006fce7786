//! The process shell every long-running binary of the workspace runs in
//! (`webhook serve`, `azure-wi-csi-provider`, `secret-sync run`), shaped
//! like linkerd's kubert, whose kube version does not fit this workspace:
//!
//! - [`log`]: JSON logs filtered by a checked `--log-level`;
//! - [`signal`]: one cancellation token for SIGTERM and SIGINT;
//! - [`Readiness`]: named conditions behind `/readyz`, and shutdown;
//! - [`admin`]: `/healthz`, `/readyz` and `/metrics` (a `prometheus-client`
//!   registry) routers, Go-style address binding, serving until shutdown;
//! - [`lease`] (feature `lease`): leader election on a Lease with
//!   client-go's guarantees, and a fence that keeps a `kube::Client` from
//!   writing outside a leader's term.
//!
//! The binaries keep their decisions; this crate only runs them.

pub mod admin;
mod error;
#[cfg(feature = "lease")]
pub mod lease;
pub mod log;
mod readiness;
pub mod signal;

pub use error::Error;
pub use readiness::{Condition, Readiness};
