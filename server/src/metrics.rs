//! `GET /metrics` in Prometheus text format (prometheus-client). Every value is read when
//! scraped from where it lives: hub and client counts from the registry under its lock,
//! permits from the limiter, tasks from the tokio runtime, RSS from /proc.

use crate::{hub::Registry, ws::limits::Limiter};
use axum::{extract::State, http::header, response::IntoResponse};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
};
use std::sync::Arc;

#[derive(Debug)]
struct Live {
    hubs: Arc<Registry>,
    limiter: Arc<Limiter>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

fn labels(key: &str, value: &str) -> Vec<(String, String)> {
    vec![(key.to_string(), value.to_string())]
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = self.hubs.counts();
        type Pick = fn(&crate::hub::KindCounts) -> u64;
        let gauges: [(&str, &str, Pick); 3] = [
            (
                "berth_hubs",
                "Hubs alive, one per watched resource and stream shape",
                |c| c.hubs as u64,
            ),
            (
                "berth_ws_clients",
                "WebSocket clients subscribed to a hub",
                |c| c.clients as u64,
            ),
            (
                "berth_upstream_streams",
                "Upstream Docker streams and host samplers running",
                |c| c.upstreams as u64,
            ),
        ];
        for (name, help, pick) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (kind, c) in &counts {
                ConstGauge::new(pick(c) as i64)
                    .encode(metric.encode_family(&labels("kind", kind.as_str()))?)?;
            }
        }
        let counters: [(&str, &str, Pick); 3] = [
            ("berth_hubs_created", "Hubs created", |c| c.created),
            ("berth_hubs_removed", "Hubs removed", |c| c.removed),
            (
                "berth_ws_lagged_messages",
                "Frames dropped for clients that fell behind",
                |c| c.lagged,
            ),
        ];
        for (name, help, pick) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (kind, c) in &counts {
                ConstCounter::new(pick(c))
                    .encode(metric.encode_family(&labels("kind", kind.as_str()))?)?;
            }
        }
        let mut metric = encoder.encode_descriptor(
            "berth_ws_rejected",
            "WebSocket upgrades refused, by reason",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in self.limiter.rejected() {
            ConstCounter::new(n).encode(metric.encode_family(&labels("reason", reason))?)?;
        }
        let tasks =
            tokio::runtime::Handle::try_current().map_or(0, |h| h.metrics().num_alive_tasks());
        ConstGauge::new(tasks as i64).encode(encoder.encode_descriptor(
            "berth_tokio_alive_tasks",
            "Tokio tasks alive",
            None,
            MetricType::Gauge,
        )?)?;
        ConstGauge::new(resident_memory_bytes() as i64).encode(encoder.encode_descriptor(
            "process_resident_memory_bytes",
            "Resident memory of the berth process",
            None,
            MetricType::Gauge,
        )?)?;
        Ok(())
    }
}

/// RSS from /proc/self/statm (pages × page size); 0 where there is no /proc.
pub fn resident_memory_bytes() -> u64 {
    const PAGE: u64 = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * PAGE)
}

#[derive(Clone)]
pub struct Metrics(Arc<prometheus_client::registry::Registry>);

impl Metrics {
    pub fn new(hubs: Arc<Registry>, limiter: Arc<Limiter>) -> Self {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Live { hubs, limiter }));
        Self(Arc::new(registry))
    }
}

pub async fn handler(State(metrics): State<Metrics>) -> impl IntoResponse {
    let mut text = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &metrics.0) {
        tracing::error!("cannot encode metrics: {e}");
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
