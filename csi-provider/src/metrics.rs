//! Prometheus metrics of the provider: mounts by outcome, mount latency,
//! mounts in flight.
//!
//! The `outcome` label is `ok` or [`Error::reason`], a short stable name
//! per kind of failure, so a dashboard tells a missing role (`forbidden`)
//! from a federated credential that does not match
//! (`federated_credential_mismatch`) or throttling (`throttled`) without
//! reading logs. The label set is closed: no pod, vault or object name
//! becomes a label, so the series count stays fixed.

use std::time::Duration;

use azure_wi_runtime::admin::EncodeMetrics;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// Every metric the provider updates, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    mounts: Family<OutcomeLabel, Counter>,
    duration: Family<ResultLabel, Histogram>,
    in_flight: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers the metrics.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let mounts = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "azure_wi_csi_mounts",
            "Mount requests by outcome: ok, or the kind of failure (forbidden, not_found, throttled, ...)",
            mounts.clone(),
        );
        let duration = Family::<ResultLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ])
        });
        registry.register(
            "azure_wi_csi_mount_duration_seconds",
            "How long mount requests took, Entra exchange, Key Vault reads and throttling waits included, by result (ok, error)",
            duration.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "azure_wi_csi_mounts_in_flight",
            "Mount requests being served now",
            in_flight.clone(),
        );
        Self {
            registry,
            mounts,
            duration,
            in_flight,
        }
    }

    /// Counts a mount as started; the guard counts it as finished when
    /// dropped (also when the driver cancels the call).
    #[must_use]
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(self)
    }

    /// Records a finished mount.
    pub fn finished(&self, outcome: Result<(), &Error>, took: Duration) {
        let (outcome, result) = match outcome {
            Ok(()) => ("ok", "ok"),
            Err(error) => (error.reason(), "error"),
        };
        self.mounts.get_or_create(&OutcomeLabel { outcome }).inc();
        self.duration
            .get_or_create(&ResultLabel { result })
            .observe(took.as_secs_f64());
    }

    /// The metrics in the OpenMetrics text format, as `/metrics` serves
    /// them: [`EncodeMetrics::encode`], callable without the trait in scope.
    #[must_use]
    pub fn encode(&self) -> String {
        EncodeMetrics::encode(self)
    }
}

/// `/metrics` serves the registry through the process shell's
/// [`azure_wi_runtime::admin::metrics_router`], as every binary does.
impl EncodeMetrics for Metrics {
    fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// A mount in flight; see [`Metrics::start`].
#[derive(Debug)]
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_by_kind_and_timed_by_result() {
        let metrics = Metrics::new();
        {
            let _mount = metrics.start();
            assert!(
                metrics
                    .encode()
                    .contains("azure_wi_csi_mounts_in_flight 1\n")
            );
            metrics.finished(Ok(()), Duration::from_millis(20));
        }
        metrics.finished(Err(&Error::MissingTokens), Duration::from_millis(1));
        metrics.finished(Err(&Error::MissingTokens), Duration::from_millis(1));
        let text = metrics.encode();
        assert!(
            text.contains("azure_wi_csi_mounts_total{outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("azure_wi_csi_mounts_total{outcome=\"missing_tokens\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("azure_wi_csi_mount_duration_seconds_count{result=\"error\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "azure_wi_csi_mount_duration_seconds_bucket{le=\"0.025\",result=\"ok\"} 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("azure_wi_csi_mounts_in_flight 0\n"), "{text}");
    }
}
