//! What `/readyz` reports: the process shell's readiness
//! ([`azure_wi_runtime::Readiness`]) with the webhook's two conditions.

use azure_wi_runtime::Condition;

/// Ready means: the serving certificate is loaded, the ServiceAccount source
/// has synced, and shutdown has not begun. The API server only sends
/// admissions to ready replicas, so pods created while this replica starts
/// or stops go to another one.
///
/// The conditions are made here, once and in this order, so `/readyz`
/// always names them the same way ("serving certificate not loaded;
/// ServiceAccount cache not synced"), whichever part of the server sets
/// them first. Cheap to clone: every clone sets the same conditions.
#[derive(Debug, Clone)]
pub struct Readiness {
    process: azure_wi_runtime::Readiness,
    certificate: Condition,
    service_accounts: Condition,
}

impl Default for Readiness {
    fn default() -> Self {
        let process = azure_wi_runtime::Readiness::default();
        let certificate = process.condition("serving certificate not loaded");
        let service_accounts = process.condition("ServiceAccount cache not synced");
        Self {
            process,
            certificate,
            service_accounts,
        }
    }
}

impl Readiness {
    /// Records that a serving certificate is loaded.
    pub fn set_certificate_loaded(&self) {
        self.certificate.set(true);
    }

    /// Records whether the ServiceAccount source has synced.
    pub fn set_service_accounts_synced(&self, synced: bool) {
        self.service_accounts.set(synced);
    }

    /// Records that shutdown has begun; readiness is lost for good.
    pub fn set_shutting_down(&self) {
        self.process.set_shutting_down();
    }

    /// The process readiness these conditions belong to, for
    /// [`azure_wi_runtime::admin::readyz_router`].
    pub fn process(&self) -> &azure_wi_runtime::Readiness {
        &self.process
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webhook_conditions_are_named_in_a_fixed_order_and_shared_by_clones() {
        let readiness = Readiness::default();
        assert_eq!(
            readiness.process().check(),
            Err("serving certificate not loaded; ServiceAccount cache not synced".into())
        );
        let setter = readiness.clone();
        setter.set_service_accounts_synced(true);
        assert_eq!(
            readiness.process().check(),
            Err("serving certificate not loaded".into())
        );
        setter.set_certificate_loaded();
        assert_eq!(readiness.process().check(), Ok(()));
        setter.set_service_accounts_synced(false);
        assert_eq!(
            readiness.process().check(),
            Err("ServiceAccount cache not synced".into())
        );
        setter.set_service_accounts_synced(true);
        setter.set_shutting_down();
        assert_eq!(readiness.process().check(), Err("shutting down".into()));
    }
}
