//! Prometheus metrics of the webhook.
//!
//! `azwi_mutation_request` keeps the reference webhook's name, type and
//! `namespace` label, so existing dashboards keep working; the other series
//! are new.

use std::sync::atomic::AtomicU64;

use azure_wi_runtime::admin::EncodeMetrics;
use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// How an admission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The pod was admitted (with or without a patch).
    Allowed,
    /// The pod was denied.
    Denied,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }
}

/// Why a request to the admission endpoint was refused with HTTP 400 before
/// any admission took place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadRequest {
    /// The Content-Type is not `application/json`.
    ContentType,
    /// The body is not a usable AdmissionReview.
    Review,
}

impl BadRequest {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ContentType => "content_type",
            Self::Review => "review",
        }
    }
}

impl EncodeLabelValue for BadRequest {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        std::fmt::Write::write_str(encoder, self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct NamespaceLabel {
    namespace: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: BadRequest,
}

/// Every metric the server updates, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    latency: Family<NamespaceLabel, Histogram>,
    requests: Family<OutcomeLabel, Counter>,
    bad_requests: Family<ReasonLabel, Counter>,
    in_flight: Gauge,
    cache_size: Gauge,
    cert_expiry: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let latency = Family::<NamespaceLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        registry.register(
            "azwi_mutation_request",
            "Distribution of how long it took for the azure-workload-identity mutation request, in seconds",
            latency.clone(),
        );
        let requests = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "azwi_admission_requests",
            "Admission requests by outcome (allowed, denied)",
            requests.clone(),
        );
        let bad_requests = Family::<ReasonLabel, Counter>::default();
        registry.register(
            "azwi_admission_bad_requests",
            "Requests refused with HTTP 400 before any admission, by reason (content_type, review)",
            bad_requests.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "azwi_admission_in_flight_requests",
            "Admission requests being handled now",
            in_flight.clone(),
        );
        let cache_size = Gauge::default();
        registry.register(
            "azwi_serviceaccount_cache_size",
            "ServiceAccounts held by the webhook",
            cache_size.clone(),
        );
        let cert_expiry = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "azwi_serving_certificate_expiry_timestamp_seconds",
            "When the serving certificate expires, in seconds since the Unix epoch",
            cert_expiry.clone(),
        );
        Self {
            registry,
            latency,
            requests,
            bad_requests,
            in_flight,
            cache_size,
            cert_expiry,
        }
    }

    /// Records one finished admission.
    pub fn observe(&self, namespace: &str, seconds: f64, outcome: Outcome) {
        self.latency
            .get_or_create(&NamespaceLabel {
                namespace: namespace.to_owned(),
            })
            .observe(seconds);
        self.requests.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// Counts a request refused with 400 before any admission: it has no
    /// namespace or outcome, so it is kept out of the admission series.
    pub fn bad_request(&self, reason: BadRequest) {
        self.bad_requests
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Sets the number of cached ServiceAccounts.
    pub fn set_cache_size(&self, size: usize) {
        self.cache_size.set(i64::try_from(size).unwrap_or(i64::MAX));
    }

    /// Sets the serving certificate's expiry.
    pub fn set_certificate_expiry(&self, not_after: std::time::SystemTime) {
        let seconds = not_after
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.cert_expiry.set(seconds);
    }
}

/// `/metrics` serves the registry through the process shell's
/// [`azure_wi_runtime::admin::metrics_router`], as every binary does.
impl EncodeMetrics for Metrics {
    fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Decrements the in-flight gauge when dropped, also when the handler panics.
#[derive(Debug)]
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reference_compatible_names() {
        let metrics = Metrics::new();
        metrics.observe("team-a", 0.002, Outcome::Allowed);
        metrics.observe("team-a", 0.003, Outcome::Denied);
        metrics.bad_request(BadRequest::Review);
        metrics.bad_request(BadRequest::Review);
        metrics.bad_request(BadRequest::ContentType);
        {
            let _guard = metrics.in_flight();
            assert!(
                metrics
                    .encode()
                    .contains("azwi_admission_in_flight_requests 1")
            );
        }
        metrics.set_cache_size(3);
        let text = metrics.encode();
        assert!(
            text.contains("azwi_mutation_request_bucket{le=\"0.0025\",namespace=\"team-a\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("azwi_mutation_request_count{namespace=\"team-a\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("azwi_admission_requests_total{outcome=\"allowed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("azwi_admission_bad_requests_total{reason=\"review\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("azwi_admission_bad_requests_total{reason=\"content_type\"} 1"),
            "{text}"
        );
        // Bad requests are not admissions: no outcome, no empty namespace.
        assert!(!text.contains("outcome=\"error\""), "{text}");
        assert!(!text.contains("namespace=\"\""), "{text}");
        assert!(
            text.contains("azwi_admission_in_flight_requests 0"),
            "{text}"
        );
        assert!(text.contains("azwi_serviceaccount_cache_size 3"), "{text}");
    }
}
