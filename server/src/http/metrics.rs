//! `GET /metrics`: OpenMetrics for a scraper that asks for it (Prometheus does), else the
//! Prometheus text format 0.0.4, each with its own content type. Every value is read when
//! scraped from where it lives: hub and client counts from the registry under its lock,
//! permits from the limiter, tasks from the tokio runtime, RSS from /proc.

use crate::{
    http::ws::{limits::Limiter, terminal::Terminals},
    live::hub::Registry,
};
use axum::{
    extract::State,
    http::{HeaderMap, header},
    response::IntoResponse,
};
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
    terminals: Arc<Terminals>,
    alerts: Arc<crate::alerts::Counts>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Registry")
    }
}

fn labels(key: &str, value: &str) -> Vec<(String, String)> {
    vec![(key.to_string(), value.to_string())]
}

/// `kind`, and `engine` for the kinds that watch one.
fn scope_labels(scope: &crate::live::hub::Scope) -> Vec<(String, String)> {
    let mut labels = labels("kind", scope.kind.as_str());
    if let Some(engine) = &scope.engine {
        labels.push(("engine".into(), engine.to_string()));
    }
    labels
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counts = self.hubs.counts();
        type Pick = fn(&crate::live::hub::KindCounts) -> u64;
        let gauges: [(&str, &str, Pick); 5] = [
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
                "berth_internal_subscriptions",
                "Berth's own subscriptions to a hub: list hubs reading events, the list cache",
                |c| c.internal as u64,
            ),
            (
                "berth_upstream_streams",
                "Upstream Docker streams and host samplers running",
                |c| c.upstreams as u64,
            ),
            (
                "berth_hub_queue_bytes",
                "Bytes of frames held by hubs for history and slow clients",
                |c| c.bytes,
            ),
        ];
        for (name, help, pick) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for (scope, c) in &counts {
                ConstGauge::new(pick(c) as i64)
                    .encode(metric.encode_family(&scope_labels(scope))?)?;
            }
        }
        let counters: [(&str, &str, Pick); 4] = [
            ("berth_hubs_created", "Hubs created", |c| c.created),
            ("berth_hubs_removed", "Hubs removed", |c| c.removed),
            (
                "berth_ws_lagged_messages",
                "Frames dropped for clients that fell behind",
                |c| c.lagged,
            ),
            (
                "berth_ws_slow_closes",
                "WebSocket clients closed (4008) for not reading in time",
                |c| c.slow_closed,
            ),
        ];
        for (name, help, pick) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (scope, c) in &counts {
                ConstCounter::new(pick(c)).encode(metric.encode_family(&scope_labels(scope))?)?;
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
        let (open, alive, opened, signalled) = self.terminals.counts();
        let terminal_gauges = [
            ("berth_terminals_open", "Terminal sockets open", open),
            (
                "berth_exec_processes_alive",
                "Terminal processes started and not yet confirmed ended",
                alive,
            ),
        ];
        for (name, help, value) in terminal_gauges {
            ConstGauge::new(value as i64).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        let terminal_counters = [
            ("berth_terminals_opened", "Terminals opened", opened),
            (
                "berth_exec_processes_signalled",
                "Terminal processes Berth had to signal to end them",
                signalled,
            ),
        ];
        for (name, help, value) in terminal_counters {
            ConstCounter::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        self.encode_alerts(&mut encoder)?;
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

impl Live {
    fn encode_alerts(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        use std::sync::atomic::Ordering::Relaxed;
        let alerts = &self.alerts;
        let gauges = [
            (
                "berth_alert_rules",
                "Alert rules Berth judges with",
                &alerts.rules,
            ),
            (
                "berth_alert_outbox_depth",
                "Alert messages waiting to be delivered",
                &alerts.depth,
            ),
        ];
        for (name, help, value) in gauges {
            ConstGauge::new(value.load(Relaxed) as i64).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        let sampled = self.hubs.sampled();
        let mut metric = encoder.encode_descriptor(
            "berth_samples",
            "Containers the engines' samplers read, by source (their cgroup files on this host, or the engine's stats API)",
            None,
            MetricType::Counter,
        )?;
        for (source, n) in [("cgroup", &sampled.files), ("api", &sampled.api)] {
            ConstCounter::new(n.load(Relaxed))
                .encode(metric.encode_family(&labels("source", source))?)?;
        }
        let mut metric = encoder.encode_descriptor(
            "berth_alert_deliveries",
            "Tries to deliver an alert message, by outcome (dropped: over a channel's cap)",
            None,
            MetricType::Counter,
        )?;
        for (outcome, n) in [
            ("delivered", &alerts.delivered),
            ("failed", &alerts.failed),
            ("dropped", &alerts.dropped),
        ] {
            ConstCounter::new(n.load(Relaxed))
                .encode(metric.encode_family(&labels("outcome", outcome))?)?;
        }
        Ok(())
    }
}

/// RSS from /proc/self/status (`VmRSS`, in kB whatever the page size); 0 where there is
/// no /proc.
pub fn resident_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

#[derive(Clone)]
pub struct Metrics(Arc<prometheus_client::registry::Registry>);

impl Metrics {
    pub fn new(
        hubs: Arc<Registry>,
        limiter: Arc<Limiter>,
        terminals: Arc<Terminals>,
        alerts: Arc<crate::alerts::Counts>,
    ) -> Self {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(Live {
            hubs,
            limiter,
            terminals,
            alerts,
        }));
        Self(Arc::new(registry))
    }

    /// The OpenMetrics text prometheus-client writes.
    fn open_metrics(&self) -> String {
        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.0) {
            tracing::error!("cannot encode metrics: {e}");
        }
        text
    }
}

const OPEN_METRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// OpenMetrics to Prometheus text 0.0.4: a counter family is named with its `_total` (as
/// its samples are), and there is no `# EOF` or `# UNIT`.
fn to_prometheus_text(open_metrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let descriptor = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match descriptor {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let suffix = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!("{prefix}{name}{suffix} {tail}\n"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

pub async fn handler(State(metrics): State<Metrics>, headers: HeaderMap) -> impl IntoResponse {
    let wants_open_metrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let text = metrics.open_metrics();
    if wants_open_metrics {
        ([(header::CONTENT_TYPE, OPEN_METRICS)], text)
    } else {
        (
            [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
            to_prometheus_text(&text),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_with_total_in_prometheus_text() {
        let open = "# HELP berth_hubs_created Hubs created.\n# TYPE berth_hubs_created counter\nberth_hubs_created_total{kind=\"a\"} 1\n# HELP berth_hubs Hubs.\n# TYPE berth_hubs gauge\nberth_hubs{kind=\"a\"} 2\n# EOF\n";
        assert_eq!(
            to_prometheus_text(open),
            "# HELP berth_hubs_created_total Hubs created.\n# TYPE berth_hubs_created_total counter\nberth_hubs_created_total{kind=\"a\"} 1\n# HELP berth_hubs Hubs.\n# TYPE berth_hubs gauge\nberth_hubs{kind=\"a\"} 2\n"
        );
    }

    #[test]
    fn resident_memory_is_read_in_bytes() {
        let rss = resident_memory_bytes();
        assert!(rss > 1024 * 1024, "{rss}");
    }
}
