//! The process's own decisions: when a replica is ready, and why it could
//! not start. `main` runs them.

use azure_wi_runtime::lease::Role;

/// What `/readyz` is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// The replica's role, `None` without `--leader-elect`.
    pub role: Option<Role>,
    /// The controllers' caches hold their first listing.
    pub caches_synced: bool,
}

impl Health {
    /// Ready when the replica can do its job: reconciling with synced
    /// caches, or, under leader election, standing by with the API server
    /// answering (so it can take over).
    ///
    /// # Errors
    ///
    /// The reason it is not, for `/readyz`.
    pub fn ready(&self) -> Result<(), &'static str> {
        match (self.role, self.caches_synced) {
            (None | Some(Role::Leader), true) | (Some(Role::Candidate { healthy: true }), _) => {
                Ok(())
            }
            (None, false) => Err("caches not synced (is the API server reachable?)"),
            (Some(Role::Leader), false) => Err("leading, caches not synced yet"),
            (Some(Role::Candidate { healthy: false }), _) => {
                Err("standby cannot reach the API server's Lease")
            }
        }
    }
}

/// Why `secret-sync run` could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A flag of the shell (`--metrics-addr`, the leader-election
    /// durations) is unusable.
    #[error(transparent)]
    Shell(#[from] azure_wi_runtime::Error),
    /// No kubeconfig and not in a pod.
    #[error("cannot configure the Kubernetes client: {0}")]
    KubeConfig(#[from] kube::config::InferConfigError),
    /// The Kubernetes client cannot be built from the configuration.
    #[error("cannot build the Kubernetes client: {0}")]
    KubeClient(#[from] kube::Error),
    /// The transport to Entra ID and Key Vault cannot be built.
    #[error("cannot build the transport to Entra ID and Key Vault: {0}")]
    Transport(#[from] azure_wi_auth::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_when_it_can_reconcile_or_stand_by() {
        let health = |role, caches_synced| {
            Health {
                role,
                caches_synced,
            }
            .ready()
        };
        assert_eq!(health(None, true), Ok(()));
        assert!(health(None, false).is_err());
        assert_eq!(health(Some(Role::Leader), true), Ok(()));
        assert!(health(Some(Role::Leader), false).is_err());
        assert_eq!(
            health(Some(Role::Candidate { healthy: true }), false),
            Ok(())
        );
        assert_eq!(
            health(Some(Role::Candidate { healthy: false }), true),
            Err("standby cannot reach the API server's Lease")
        );
    }
}
