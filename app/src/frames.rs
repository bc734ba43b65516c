//! What Berth's WebSockets send: one tagged enum covers every server frame of every stream
//! kind, as JSON text frames (`{"type": "log", ...}`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The four live streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    ContainerLogs,
    ContainerStats,
    ProjectLogs,
    /// A swarm service's merged logs, every task's lines.
    ServiceLogs,
    SystemStats,
}

impl StreamKind {
    pub const ALL: [StreamKind; 5] = [
        StreamKind::ContainerLogs,
        StreamKind::ContainerStats,
        StreamKind::ProjectLogs,
        StreamKind::ServiceLogs,
        StreamKind::SystemStats,
    ];

    /// The label value used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::ContainerLogs => "container_logs",
            StreamKind::ContainerStats => "container_stats",
            StreamKind::ProjectLogs => "project_logs",
            StreamKind::ServiceLogs => "service_logs",
            StreamKind::SystemStats => "system_stats",
        }
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// One line of a container's output. ANSI escape codes are kept as Docker sent them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Increases by one per line within a hub: every viewer of a stream sees the same numbers.
    pub seq: u64,
    /// Container id.
    pub container: String,
    /// Container name, without Docker's leading `/`.
    pub name: String,
    /// The compose service, for project streams.
    pub service: Option<String>,
    pub stream: LogStream,
    /// Docker's RFC 3339 timestamp, when the stream was asked for timestamps.
    pub timestamp: Option<String>,
    pub text: String,
}

/// One sample of a container's resource use.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerStats {
    /// Docker's `read` time of the sample.
    pub read: String,
    /// Docker's formula: CPU delta over system delta, times online CPUs, times 100.
    pub cpu_percent: f64,
    pub online_cpus: u32,
    /// Memory used without page cache (cgroup v1 `total_inactive_file`, v2 `inactive_file`).
    pub memory_used: u64,
    pub memory_limit: u64,
    pub net_rx: u64,
    pub net_tx: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskUsage {
    pub mount: String,
    pub total: u64,
    pub available: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkUsage {
    pub interface: String,
    /// Bytes since the previous sample.
    pub rx: u64,
    pub tx: u64,
    pub rx_total: u64,
    pub tx_total: u64,
}

/// One sample of the host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SystemStats {
    pub cpu_percent: f32,
    pub cpu_per_core: Vec<f32>,
    pub memory_used: u64,
    pub memory_total: u64,
    pub swap_used: u64,
    pub swap_total: u64,
    pub load: [f64; 3],
    pub disks: Vec<DiskUsage>,
    pub networks: Vec<NetworkUsage>,
    pub uptime_secs: u64,
}

/// Every frame a Berth WebSocket sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Log(LogLine),
    ContainerStats(ContainerStats),
    SystemStats(SystemStats),
    /// The client fell behind and `missed` frames were dropped for it (oldest first).
    Lagged {
        missed: u64,
    },
    /// The stream is over; a close follows. `retry` says whether connecting again later may
    /// work (Berth restarting, the engine away, a failure in Berth) or not (the container
    /// stopped or was removed).
    End {
        reason: String,
        #[serde(default)]
        retry: bool,
    },
}

/// A Docker log timestamp as a key that sorts in time order: Docker trims trailing zeros of
/// the fraction (`.1Z`, `.123Z`), so the fraction is padded to nanoseconds.
pub fn timestamp_key(rfc3339: &str) -> String {
    let (seconds, fraction) = rfc3339.split_once('.').unwrap_or((rfc3339, "Z"));
    let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
    format!("{}.{digits:0<9}", seconds.trim_end_matches('Z'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_json() {
        let frame = Frame::Lagged { missed: 7 };
        assert_eq!(
            serde_json::to_string(&frame).unwrap(),
            r#"{"type":"lagged","missed":7}"#
        );
        let end: Frame =
            serde_json::from_str(r#"{"type":"end","reason":"container stopped"}"#).unwrap();
        assert_eq!(
            end,
            Frame::End {
                reason: "container stopped".into(),
                retry: false,
            }
        );
        let line = Frame::Log(LogLine {
            seq: 1,
            container: "abc".into(),
            name: "web".into(),
            service: None,
            stream: LogStream::Stderr,
            timestamp: None,
            text: "\u{1b}[31mred\u{1b}[0m".into(),
        });
        let json = serde_json::to_string(&line).unwrap();
        assert!(
            json.starts_with(r#"{"type":"log","seq":1,"#) && json.contains(r#""stream":"stderr""#)
        );
        assert_eq!(serde_json::from_str::<Frame>(&json).unwrap(), line);
    }

    #[test]
    fn timestamp_keys_sort_in_time_order() {
        let a = timestamp_key("2026-11-21T22:37:17.1Z");
        let b = timestamp_key("2026-11-21T22:37:17.12Z");
        let c = timestamp_key("2026-11-21T22:37:18Z");
        assert!(a < b && b < c, "{a} {b} {c}");
        assert_eq!(a, "2026-11-21T22:37:17.100000000");
    }
}
