//! What Berth's WebSockets send: one tagged enum covers every server frame of every stream
//! kind, as JSON text frames (`{"type": "log", ...}`).

use crate::model::{ContainerSummary, Swarm, SwarmTask};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt};

/// The kinds of hub: the live streams, and the engine's event stream they share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    ContainerLogs,
    ContainerStats,
    ProjectLogs,
    /// A swarm service's merged logs, every task's lines.
    ServiceLogs,
    SystemStats,
    /// An engine's containers: a snapshot, then changes as Docker's events report them.
    ContainerList,
    /// An engine's Docker events, read once and shared inside Berth (never a socket).
    Events,
    /// An image being pulled: the engine's progress, layer by layer.
    ImagePull,
    /// A compose stack's run: the CLI's output as it prints it.
    StackRun,
    /// An image update of a container: each step it takes, then how it ended.
    UpdateRun,
    /// A swarm's nodes, services and tasks, sent again after each change Docker reports.
    SwarmUpdates,
    /// An engine's running containers' resource use, one round per interval, read inside
    /// Berth (alert rules), never a socket.
    Samples,
    /// A terminal: a socket of its own with its exec process, never a hub.
    Terminal,
}

impl StreamKind {
    /// The kinds a hub serves (a terminal is not one).
    pub const ALL: [StreamKind; 12] = [
        StreamKind::ContainerLogs,
        StreamKind::ContainerStats,
        StreamKind::ProjectLogs,
        StreamKind::ServiceLogs,
        StreamKind::SystemStats,
        StreamKind::ContainerList,
        StreamKind::Events,
        StreamKind::ImagePull,
        StreamKind::StackRun,
        StreamKind::UpdateRun,
        StreamKind::SwarmUpdates,
        StreamKind::Samples,
    ];

    /// The label value used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::ContainerLogs => "container_logs",
            StreamKind::ContainerStats => "container_stats",
            StreamKind::ProjectLogs => "project_logs",
            StreamKind::ServiceLogs => "service_logs",
            StreamKind::SystemStats => "system_stats",
            StreamKind::ContainerList => "container_list",
            StreamKind::Events => "events",
            StreamKind::ImagePull => "image_pull",
            StreamKind::StackRun => "stack_run",
            StreamKind::UpdateRun => "update_run",
            StreamKind::SwarmUpdates => "swarm_updates",
            StreamKind::Samples => "samples",
            StreamKind::Terminal => "terminal",
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

/// Where log lines come from: sent once per batch, not once per line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogOrigin {
    /// Container id (a swarm task's id for service logs).
    pub container: String,
    /// Container name, without Docker's leading `/`.
    pub name: String,
    /// The compose service, for project streams (the task's name for service logs).
    pub service: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One line of a [`LogBatch`]: its text and what differs from line to line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchLine {
    /// Index into the batch's `origins`; left out when 0 (a container's own stream).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub origin: u32,
    pub stream: LogStream,
    /// Docker's RFC 3339 timestamp, when the stream was asked for timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub text: String,
}

/// Consecutive lines of one stream, as one frame: a hub sends as many lines per frame as
/// are waiting (one at low rates), so a busy stream costs a frame per batch, not per line.
/// `count` and `first` come right after the tag, so a client can count lines without
/// parsing them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBatch {
    /// How many lines `lines` holds.
    pub count: u32,
    /// The first line's number; the others follow one by one. Numbers increase by one per
    /// line within a hub (every viewer sees the same ones), so a gap shows lines missed.
    pub first: u64,
    pub origins: Vec<LogOrigin>,
    pub lines: Vec<BatchLine>,
}

impl LogBatch {
    /// Lines, each naming its origin, numbered from `first`. Lines must not be empty.
    pub fn new(first: u64, origins: Vec<LogOrigin>, lines: Vec<BatchLine>) -> Self {
        Self {
            count: lines.len() as u32,
            first,
            origins,
            lines,
        }
    }

    /// The batch without its first `n` lines (a viewer asked for a tail that begins inside
    /// it); origins no remaining line names are dropped. None when nothing is left.
    pub fn skip(mut self, n: usize) -> Option<Self> {
        if n >= self.lines.len() {
            return None;
        }
        self.lines.drain(..n);
        let mut used: Vec<Option<u32>> = vec![None; self.origins.len()];
        let mut origins = Vec::new();
        for line in &mut self.lines {
            let old = line.origin as usize;
            let new = *used[old].get_or_insert_with(|| {
                origins.push(self.origins[old].clone());
                origins.len() as u32 - 1
            });
            line.origin = new;
        }
        Some(Self::new(self.first + n as u64, origins, self.lines))
    }

    /// Each line on its own, origin included: what a viewer holds.
    pub fn into_lines(self) -> impl Iterator<Item = LogLine> {
        let Self {
            first,
            origins,
            lines,
            ..
        } = self;
        lines.into_iter().enumerate().map(move |(i, line)| {
            let origin = origins
                .get(line.origin as usize)
                .cloned()
                .unwrap_or(LogOrigin {
                    container: String::new(),
                    name: String::new(),
                    service: None,
                });
            LogLine {
                seq: first + i as u64,
                container: origin.container,
                name: origin.name,
                service: origin.service,
                stream: line.stream,
                timestamp: line.timestamp,
                text: line.text,
            }
        })
    }
}

/// The line count of a serialized `logs` frame, read from its head without parsing the
/// lines (what a client that only counts needs); None for any other frame.
pub fn batch_count(json: &str) -> Option<u64> {
    let rest = json.strip_prefix(r#"{"type":"logs","count":"#)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..digits].parse().ok()
}

/// A line as a viewer holds it: its number, its batch line, and its origin, shared by every
/// line of the batch that names it (one allocation per origin, not three per line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedLine {
    pub seq: u64,
    pub origin: std::sync::Arc<LogOrigin>,
    pub line: BatchLine,
}

impl LogBatch {
    /// Each line with its number and shared origin.
    pub fn into_shared_lines(self) -> impl Iterator<Item = SharedLine> {
        let origins: Vec<std::sync::Arc<LogOrigin>> =
            self.origins.into_iter().map(std::sync::Arc::new).collect();
        let unknown = std::sync::Arc::new(LogOrigin {
            container: String::new(),
            name: String::new(),
            service: None,
        });
        let first = self.first;
        self.lines
            .into_iter()
            .enumerate()
            .map(move |(i, line)| SharedLine {
                seq: first + i as u64,
                origin: origins
                    .get(line.origin as usize)
                    .cloned()
                    .unwrap_or_else(|| unknown.clone()),
                line,
            })
    }
}

/// One line of a container's output, as a viewer holds it (a [`LogBatch`] line with its
/// origin and number). ANSI escape codes are kept as Docker sent them.
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

/// One round of an engine's sampler: a sample of each container running then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Samples {
    /// When the round began (unix ms).
    pub at_ms: i64,
    pub containers: Vec<ContainerSample>,
}

/// A running container's sample, with what selects it (a rule's selector reads these).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerSample {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: BTreeMap<String, String>,
    /// `running` or `paused`, as the list said.
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or empty without a health check.
    pub health: String,
    /// None when it did not answer in time, or stopped meanwhile (it was listed running).
    pub stats: Option<ContainerStats>,
    /// Whether `stats.cpu_percent` is measured: CPU is a difference between two rounds, so a
    /// container's first sample (or the first after a restart) has none.
    pub cpu_known: bool,
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
    /// Bytes the disks read and wrote since the previous sample (each device counted once,
    /// however many places it is mounted).
    pub disk_read: u64,
    pub disk_written: u64,
    pub networks: Vec<NetworkUsage>,
    pub uptime_secs: u64,
}

/// Every frame a Berth WebSocket sends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// Log lines, as many as were waiting.
    Logs(LogBatch),
    ContainerStats(ContainerStats),
    SystemStats(SystemStats),
    /// One round of an engine's sampler.
    Samples(Samples),
    /// Every container of the engine (sorted by name), as `/api/containers` lists them: the
    /// first frame of a list stream, and again whenever the list had to be read afresh
    /// (the engine came back, the client fell behind). Replaces whatever the client held.
    Containers {
        /// Changes after this one carry higher numbers; older ones are already included.
        version: u64,
        containers: Vec<ContainerSummary>,
    },
    /// A container was created or changed (state, status, name): its new summary.
    ContainerUpsert {
        version: u64,
        container: ContainerSummary,
    },
    /// A container is gone.
    ContainerRemoved {
        version: u64,
        id: String,
    },
    /// A step of an image pull, as the engine reports it; the stream ends with `end`
    /// (`pulled NAME:TAG`, or why it failed).
    PullProgress(PullProgress),
    /// A Docker event, as the engine's shared event stream passes it inside Berth.
    Event(EngineEvent),
    /// A swarm as it is now, whole: sent first, then again after each change Docker
    /// reports (a rolling update shows task by task).
    Swarm(SwarmLive),
    /// The client fell behind and `missed` lines (frames, for streams that are not logs)
    /// were dropped for it, oldest first.
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

/// A swarm's state: its nodes and services, and each service's tasks (by service id,
/// newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmLive {
    pub swarm: Swarm,
    pub tasks: BTreeMap<String, Vec<SwarmTask>>,
}

/// One Docker event: what happened (`action`, e.g. `start`, `die`, `destroy`) to which
/// object (`kind` as Docker's `Type`, e.g. `container`; its `id`), with the object's
/// attributes (a container's name and labels) and Docker's time in nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineEvent {
    pub kind: String,
    pub action: String,
    pub id: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    pub time_nano: i64,
}

/// One line of an image pull's progress: a layer's step (`Waiting`, `Downloading`,
/// `Verifying Checksum`, `Download complete`, `Extracting`, `Pull complete`, `Already
/// exists`) with bytes done of bytes in all while it moves, or a line about the whole pull
/// (no layer: `Pulling from …`, `Digest: …`, `Status: …`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullProgress {
    pub layer: Option<String>,
    pub status: String,
    pub current: Option<u64>,
    pub total: Option<u64>,
}

/// Where a layer is in a pull, from its last status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerPhase {
    Waiting,
    Downloading,
    Extracting,
    Done,
}

impl PullProgress {
    pub fn phase(&self) -> LayerPhase {
        match self.status.as_str() {
            "Downloading" | "Verifying Checksum" | "Download complete" => LayerPhase::Downloading,
            "Extracting" => LayerPhase::Extracting,
            "Pull complete" | "Already exists" => LayerPhase::Done,
            _ => LayerPhase::Waiting,
        }
    }
}

/// A container list as a client keeps it from a list stream: a snapshot, then the changes
/// newer than it. The version rule makes the order of a snapshot and the changes it already
/// includes harmless.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveContainers {
    pub version: u64,
    pub containers: BTreeMap<String, ContainerSummary>,
}

impl LiveContainers {
    /// Applies a list frame; false for any other frame and for changes the list already has.
    pub fn apply(&mut self, frame: Frame) -> bool {
        match frame {
            Frame::Containers {
                version,
                containers,
            } => {
                self.version = version;
                self.containers = containers.into_iter().map(|c| (c.id.clone(), c)).collect();
                true
            }
            Frame::ContainerUpsert { version, container } if version > self.version => {
                self.version = version;
                self.containers.insert(container.id.clone(), container);
                true
            }
            Frame::ContainerRemoved { version, id } if version > self.version => {
                self.version = version;
                self.containers.remove(&id);
                true
            }
            _ => false,
        }
    }

    /// The containers sorted by name, as `/api/containers` lists them.
    pub fn sorted(&self) -> Vec<ContainerSummary> {
        let mut list: Vec<_> = self.containers.values().cloned().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }
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
        let origin = |c: &str| LogOrigin {
            container: c.into(),
            name: format!("{c}-name"),
            service: None,
        };
        let line = |origin, text: &str| BatchLine {
            origin,
            stream: LogStream::Stderr,
            timestamp: None,
            text: text.into(),
        };
        let batch = Frame::Logs(LogBatch::new(
            7,
            vec![origin("abc"), origin("def")],
            vec![line(0, "\u{1b}[31mred\u{1b}[0m"), line(1, "two")],
        ));
        let json = serde_json::to_string(&batch).unwrap();
        assert!(
            json.starts_with(r#"{"type":"logs","count":2,"first":7,"#)
                && json.contains(r#""stream":"stderr""#)
                && json.matches(r#""origin""#).count() == 1,
            "{json}"
        );
        assert_eq!(batch_count(&json), Some(2));
        assert_eq!(batch_count(r#"{"type":"lagged","missed":3}"#), None);
        assert_eq!(serde_json::from_str::<Frame>(&json).unwrap(), batch);
        let Frame::Logs(batch) = batch else {
            unreachable!()
        };
        let lines: Vec<_> = batch.clone().into_lines().collect();
        assert_eq!((lines[1].seq, lines[1].container.as_str()), (8, "def"));
        // A viewer's lines share their origin: the same lines, one origin allocation each.
        let mut twice = batch.clone();
        twice.lines.push(line(1, "three"));
        twice.count = 3;
        let shared: Vec<_> = twice.clone().into_shared_lines().collect();
        for (shared, line) in shared.iter().zip(twice.clone().into_lines()) {
            assert_eq!(
                (
                    shared.seq,
                    &shared.origin.container,
                    &shared.origin.name,
                    &shared.line.text
                ),
                (line.seq, &line.container, &line.name, &line.text)
            );
        }
        assert!(std::sync::Arc::ptr_eq(&shared[1].origin, &shared[2].origin));
        let rest = batch.clone().skip(1).unwrap();
        assert_eq!((rest.first, rest.count, rest.origins.len()), (8, 1, 1));
        assert_eq!(rest.lines[0].origin, 0);
        assert_eq!(rest.into_lines().next().unwrap().container, "def");
        assert!(batch.skip(2).is_none());
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
