//! What `/readyz` reports.

use std::sync::atomic::{AtomicBool, Ordering};

/// Ready means: the serving certificate is loaded, the ServiceAccount source
/// has synced, and shutdown has not begun. The API server only sends
/// admissions to ready replicas, so pods created while this replica starts
/// or stops go to another one.
#[derive(Debug, Default)]
pub struct Readiness {
    certificate_loaded: AtomicBool,
    service_accounts_synced: AtomicBool,
    shutting_down: AtomicBool,
}

impl Readiness {
    /// Records that a serving certificate is loaded.
    pub fn set_certificate_loaded(&self) {
        self.certificate_loaded.store(true, Ordering::SeqCst);
    }

    /// Records whether the ServiceAccount source has synced.
    pub fn set_service_accounts_synced(&self, synced: bool) {
        self.service_accounts_synced.store(synced, Ordering::SeqCst);
    }

    /// Records that shutdown has begun; readiness is lost for good.
    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// `Ok` when ready, otherwise every reason it is not.
    pub fn check(&self) -> Result<(), String> {
        let mut reasons = Vec::new();
        if !self.certificate_loaded.load(Ordering::SeqCst) {
            reasons.push("serving certificate not loaded");
        }
        if !self.service_accounts_synced.load(Ordering::SeqCst) {
            reasons.push("ServiceAccount cache not synced");
        }
        if self.shutting_down.load(Ordering::SeqCst) {
            reasons.push("shutting down");
        }
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons.join("; "))
        }
    }
}
