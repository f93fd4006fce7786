//! `/metrics`: the controller's counters, read from where they are kept
//! at each scrape, in a `prometheus-client` registry. The names are the
//! ones this controller has always exported.

use std::sync::Arc;

use azure_wi_runtime::lease::{Leadership, Role};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric as _},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Registry,
};

use super::Context;

/// The registry `/metrics` serves: token requests, Key Vault requests and
/// throttled answers, syncs by result and, under leader election, whether
/// this replica leads.
#[must_use]
pub fn registry(ctx: Arc<Context>, leadership: Option<Leadership>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Counters { ctx, leadership }));
    registry
}

#[derive(Debug)]
struct Counters {
    ctx: Arc<Context>,
    leadership: Option<Leadership>,
}

impl Collector for Counters {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in [
            (
                "secret_sync_token_requests",
                "ServiceAccount TokenRequests made",
                self.ctx.tokens.requests(),
            ),
            (
                "secret_sync_key_vault_requests",
                "Key Vault requests made",
                self.ctx.reader.requests(),
            ),
            (
                "secret_sync_key_vault_throttled",
                "Key Vault answers of 429 or 503",
                self.ctx.reader.throttled(),
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let syncs = ConstCounter::new(0u64);
        let mut family = encoder.encode_descriptor(
            "secret_sync_syncs",
            "ExternalSecret syncs by result",
            None,
            syncs.metric_type(),
        )?;
        for (result, value) in [
            ("ok", self.ctx.metrics.synced_total()),
            ("error", self.ctx.metrics.failed_total()),
        ] {
            ConstCounter::new(value).encode(family.encode_family(&[("result", result)])?)?;
        }
        if let Some(leadership) = &self.leadership {
            let leading = ConstGauge::new(i64::from(leadership.role() == Role::Leader));
            leading.encode(encoder.encode_descriptor(
                "secret_sync_leader",
                "1 while this replica leads, 0 while it stands by",
                None,
                leading.metric_type(),
            )?)?;
        }
        Ok(())
    }
}
