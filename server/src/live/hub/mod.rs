//! The hub registry: one hub per watched resource and stream shape. A hub owns the single
//! upstream (a Docker stream or the host sampler) and fans its frames out through one
//! byte-bounded [`queue::Queue`] that is also the history late joiners read. Joining and
//! leaving happen under the registry's one lock, together with the client count, so "last
//! one out" and "new one in" cannot interleave. Leaving is a [`Subscription`]'s `Drop`, and
//! an upstream's end (return, cancel or panic) is its guard's `Drop`: every exit path runs
//! them.

pub mod published;
pub mod queue;

use crate::docker::EngineName;
use app::frames::{Frame, StreamKind};
use futures::FutureExt;
pub use published::Published;
use queue::{Cursor, Queue, QueueLimits};
use std::{
    collections::HashMap,
    future::Future,
    panic::AssertUnwindSafe,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Names a hub, typed per kind of stream: a new kind is one variant here (and its name in
/// [`StreamKind`]), and its identity cannot be spelled two ways.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HubKey {
    /// A container's output, by engine and full id.
    ContainerLogs {
        engine: EngineName,
        container: String,
    },
    /// A container's resource use, by engine and full id.
    ContainerStats {
        engine: EngineName,
        container: String,
    },
    /// The merged output of a compose project's containers, by engine and project name.
    ProjectLogs { engine: EngineName, project: String },
    /// The merged output of a swarm service's tasks, by engine and full service id.
    ServiceLogs { engine: EngineName, service: String },
    /// The machine Berth runs on.
    SystemStats,
    /// An engine's containers, kept current by its events.
    ContainerList { engine: EngineName },
    /// An engine's Docker event stream, shared by everything in Berth that needs events.
    Events { engine: EngineName },
    /// An image being pulled on an engine, by its reference with the tag spelled out.
    ImagePull {
        engine: EngineName,
        reference: String,
    },
    /// A compose stack's run: the CLI's output, by engine, stack and run number.
    StackRun {
        engine: EngineName,
        stack: String,
        run: u64,
    },
    /// An image update of a container: its steps, by engine and run number.
    UpdateRun { engine: EngineName, run: u64 },
    /// A swarm's nodes, services and tasks, by its manager engine: one for every viewer
    /// of any service or node of it.
    SwarmUpdates { engine: EngineName },
    /// An engine's sampler: its running containers' resource use, one round per interval.
    Samples { engine: EngineName },
}

impl HubKey {
    pub fn kind(&self) -> StreamKind {
        match self {
            HubKey::ContainerLogs { .. } => StreamKind::ContainerLogs,
            HubKey::ContainerStats { .. } => StreamKind::ContainerStats,
            HubKey::ProjectLogs { .. } => StreamKind::ProjectLogs,
            HubKey::ServiceLogs { .. } => StreamKind::ServiceLogs,
            HubKey::SystemStats => StreamKind::SystemStats,
            HubKey::ContainerList { .. } => StreamKind::ContainerList,
            HubKey::Events { .. } => StreamKind::Events,
            HubKey::ImagePull { .. } => StreamKind::ImagePull,
            HubKey::StackRun { .. } => StreamKind::StackRun,
            HubKey::UpdateRun { .. } => StreamKind::UpdateRun,
            HubKey::SwarmUpdates { .. } => StreamKind::SwarmUpdates,
            HubKey::Samples { .. } => StreamKind::Samples,
        }
    }

    /// The engine it watches, for the ones that watch an engine.
    pub fn engine(&self) -> Option<&EngineName> {
        match self {
            HubKey::ContainerLogs { engine, .. }
            | HubKey::ContainerStats { engine, .. }
            | HubKey::ProjectLogs { engine, .. }
            | HubKey::ServiceLogs { engine, .. }
            | HubKey::ContainerList { engine }
            | HubKey::Events { engine }
            | HubKey::ImagePull { engine, .. }
            | HubKey::StackRun { engine, .. }
            | HubKey::UpdateRun { engine, .. }
            | HubKey::SwarmUpdates { engine }
            | HubKey::Samples { engine } => Some(engine),
            HubKey::SystemStats => None,
        }
    }

    /// What its counts are kept under: its kind, and its engine.
    pub fn scope(&self) -> Scope {
        Scope {
            kind: self.kind(),
            engine: self.engine().cloned(),
        }
    }

    /// What it watches, for log lines.
    pub fn resource(&self) -> &str {
        match self {
            HubKey::ContainerLogs { container, .. } | HubKey::ContainerStats { container, .. } => {
                container
            }
            HubKey::ProjectLogs { project, .. } => project,
            HubKey::ServiceLogs { service, .. } => service,
            HubKey::ContainerList { engine }
            | HubKey::Events { engine }
            | HubKey::UpdateRun { engine, .. }
            | HubKey::SwarmUpdates { engine }
            | HubKey::Samples { engine } => engine.as_str(),
            HubKey::ImagePull { reference, .. } => reference,
            HubKey::StackRun { stack, .. } => stack,
            HubKey::SystemStats => "host",
        }
    }

    /// Whether its upstream publishes a history first and then marks where live frames
    /// begin ([`Publisher::start`]): the log hubs whose late joiners fetch older lines.
    fn starts_with_history(&self) -> bool {
        matches!(
            self,
            HubKey::ContainerLogs { .. } | HubKey::ProjectLogs { .. }
        )
    }

    /// How far a client may fall behind: a sampler's reader only a few rounds (each round
    /// is every container's sample; a reader that far behind is better off with the next).
    fn capacity(&self, config: &HubConfig) -> usize {
        match self {
            HubKey::Samples { .. } => SAMPLE_ROUNDS_KEPT,
            _ => config.capacity,
        }
    }

    /// Frames kept for clients that join later: log lines up to the ring; a stats client
    /// needs only the latest sample to draw something at once; a list client starts from
    /// the list's current snapshot and an event consumer from now, so neither needs any.
    fn history(&self, config: &HubConfig) -> usize {
        match self {
            HubKey::ContainerLogs { .. }
            | HubKey::ProjectLogs { .. }
            | HubKey::ServiceLogs { .. }
            // A viewer who joins a pull or a run sees its progress so far.
            | HubKey::ImagePull { .. }
            | HubKey::StackRun { .. }
            | HubKey::UpdateRun { .. } => config.ring,
            // The swarm as it is now: what a viewer who joins draws at once.
            HubKey::ContainerStats { .. } | HubKey::SystemStats | HubKey::SwarmUpdates { .. } => {
                1
            }
            // A sampler's reader waits for the next round rather than judge an old one.
            HubKey::ContainerList { .. } | HubKey::Events { .. } | HubKey::Samples { .. } => 0,
        }
    }
}

/// Rounds a sampler's hub holds for a reader that is behind.
const SAMPLE_ROUNDS_KEPT: usize = 4;

#[derive(Clone, Debug)]
pub struct HubConfig {
    /// How far (in lines; frames for streams that are not logs) a client may fall behind
    /// before it loses the oldest.
    pub capacity: usize,
    /// Lines a log hub keeps for clients that join later.
    pub ring: usize,
    /// Bytes a hub may hold in all (history and queue).
    pub bytes: usize,
    /// How long an empty hub lives on before its upstream is cancelled.
    pub grace: Duration,
    /// How long a container list read by the API or a page is kept current after the read.
    pub list_linger: Duration,
    /// How often an engine's sampler reads its running containers' stats.
    pub sample_every: Duration,
    /// Whether it reads the host's cgroup files for the containers found there.
    pub sample_cgroups: bool,
}

impl HubConfig {
    /// Bytes of older history one log viewer may be sent beyond what its hub holds: a
    /// quarter of a hub's budget, so ten viewers asking 10,000 long lines each cost tens of
    /// MiB, not gigabytes.
    pub fn history_bytes(&self) -> usize {
        self.bytes / 4
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            capacity: 4096,
            ring: 2000,
            bytes: 8 * 1024 * 1024,
            grace: Duration::ZERO,
            list_linger: Duration::from_secs(15),
            sample_every: Duration::from_secs(10),
            sample_cgroups: true,
        }
    }
}

/// How much each hub holds, and how long (`berth --help`, "Live streams").
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Live streams")]
pub struct HubSettings {
    /// Log lines (frames, for other streams) a client may fall behind its stream before it
    /// loses the oldest (per hub).
    #[arg(long, env = "BERTH_WS_CAPACITY", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub ws_capacity: u64,

    /// Log lines a hub keeps for viewers who join later (the most a `tail` can get from a
    /// shared stream), within the hub's byte budget.
    #[arg(long, env = "BERTH_LOG_RING", default_value_t = 10_000)]
    pub log_ring: usize,

    /// Bytes a hub may hold for its history and its clients' queues together; the oldest
    /// frames go first. Bounds memory however long the lines are.
    #[arg(long, env = "BERTH_HUB_MAX_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub hub_max_bytes: usize,

    /// How long a hub nobody watches keeps its upstream, in ms (0 to 5000): a page reload
    /// within it reuses the stream.
    #[arg(long, env = "BERTH_HUB_GRACE_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=5000))]
    pub hub_grace_ms: u64,

    /// How long an engine's container list keeps following its events after the JSON API or
    /// a page last read it, in seconds (0 to 3600): reads meanwhile are answered from
    /// memory, never by listing every container again.
    #[arg(long, env = "BERTH_LIST_CACHE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub list_cache_secs: u64,

    /// How often an engine's sampler reads one stats sample of each running container, in
    /// seconds (1 to 3600), while something needs figures nobody is watching (alert rules on
    /// CPU or memory).
    #[arg(long, env = "BERTH_SAMPLE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub sample_secs: u64,

    /// Where the sampler reads a container's CPU and memory: `auto`, its cgroup files when
    /// Berth runs on its engine's host (about 25 times cheaper for the engine), else the
    /// engine's stats API; `api`, always the API.
    #[arg(long, env = "BERTH_SAMPLE_FROM", value_enum, default_value_t = SampleFrom::Auto)]
    pub sample_from: SampleFrom,

    /// Host statistics sample interval (ms).
    #[arg(long, env = "BERTH_SYSTEM_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..))]
    pub system_interval_ms: u64,
}

impl HubSettings {
    pub fn check(&self) -> Result<(), String> {
        const MIN_HUB_BYTES: usize = 256 * 1024;
        if self.hub_max_bytes < MIN_HUB_BYTES {
            return Err(format!(
                "--hub-max-bytes ({}) must be at least {MIN_HUB_BYTES}: a few cut lines must fit",
                self.hub_max_bytes
            ));
        }
        Ok(())
    }

    pub fn config(&self) -> HubConfig {
        HubConfig {
            capacity: self.ws_capacity as usize,
            ring: self.log_ring,
            bytes: self.hub_max_bytes,
            grace: Duration::from_millis(self.hub_grace_ms),
            list_linger: Duration::from_secs(self.list_cache_secs),
            sample_every: Duration::from_secs(self.sample_secs),
            sample_cgroups: self.sample_from == SampleFrom::Auto,
        }
    }

    /// How often the host sampler samples.
    pub fn system_interval(&self) -> Duration {
        Duration::from_millis(self.system_interval_ms)
    }
}

/// Where an engine's sampler reads (`--sample-from`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SampleFrom {
    /// The host's cgroup files where they are, else the engine's API.
    #[default]
    Auto,
    /// The engine's stats API only.
    Api,
}

/// How an upstream ended, as its clients are told: `retry` when trying again later may
/// work (engine outage, a failure in Berth), not when the resource itself is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ending {
    pub reason: String,
    pub retry: bool,
}

impl Ending {
    pub fn done(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: false,
        }
    }

    pub fn retry(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retry: true,
        }
    }

    pub fn frame(&self) -> Frame {
        Frame::End {
            reason: self.reason.clone(),
            retry: self.retry,
        }
    }
}

/// What an upstream task is given: where to publish.
#[derive(Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
}

impl Publisher {
    /// Serializes once and queues the frame for every client (and for later joiners), with
    /// what is known of it ([`Published`]). Never blocks: a client that lags loses its
    /// oldest frames, not the hub's time.
    pub fn publish(&self, frame: Frame) {
        if let Some(published) = Published::new(frame) {
            self.hub.queue.push(published);
        }
    }

    /// The history the upstream first asked for is published; `seams` says, per container,
    /// the last line it had (whether published or not): every later line is live.
    pub fn start(&self, seams: Seams) {
        let _ = self.hub.seams.set(seams);
        self.hub.queue.start();
    }
}

/// Where a log hub's first history ended, per container: the sort key of the last line it
/// read and how many lines it read with that key (Docker's timestamps can repeat).
pub type Seams = HashMap<String, (String, usize)>;

pub struct Hub {
    id: u64,
    key: HubKey,
    /// The history its upstream first asked for (its first client's `tail`).
    tail: usize,
    queue: Arc<Queue>,
    cancel: CancellationToken,
    /// Set once by a log hub's upstream when its first history is published.
    seams: std::sync::OnceLock<Seams>,
}

struct Entry {
    hub: Arc<Hub>,
    /// WebSocket clients.
    clients: usize,
    /// Berth's own subscriptions (a list hub reading events, the API's list cache).
    internal: usize,
}

impl Entry {
    fn count(&mut self, who: Who) -> &mut usize {
        match who {
            Who::Socket => &mut self.clients,
            Who::Berth => &mut self.internal,
        }
    }
}

/// Who holds a subscription: a WebSocket client, or Berth itself. Both keep a hub alive;
/// they are counted apart, so `/metrics` compares sockets with sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Socket,
    Berth,
}

/// Monotonic counts for one kind, and its running upstreams.
#[derive(Default)]
struct Counters {
    upstreams: AtomicUsize,
    created: AtomicU64,
    removed: AtomicU64,
    lagged: AtomicU64,
    slow_closed: AtomicU64,
}

/// What counts are kept under: a kind of stream, and the engine for the kinds that watch
/// one (the `kind` and `engine` labels in `/metrics`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub kind: StreamKind,
    pub engine: Option<EngineName>,
}

impl Scope {
    /// Every scope there can be with these engines: each kind per engine, and the host's
    /// stats once.
    fn all(engines: &[EngineName]) -> Vec<Scope> {
        let any = HubKey::SystemStats;
        StreamKind::ALL
            .into_iter()
            .flat_map(|kind| match kind == any.kind() {
                true => vec![Scope { kind, engine: None }],
                false => engines
                    .iter()
                    .map(|engine| Scope {
                        kind,
                        engine: Some(engine.clone()),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Live counts for one scope, read under the registry lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub hubs: usize,
    pub clients: usize,
    /// Berth's own subscriptions.
    pub internal: usize,
    pub upstreams: usize,
    pub created: u64,
    pub removed: u64,
    pub lagged: u64,
    /// Clients closed for being too slow (4008).
    pub slow_closed: u64,
    /// Bytes held in the hubs' queues.
    pub bytes: u64,
}

pub struct Registry {
    hubs: Mutex<HashMap<HubKey, Entry>>,
    config: HubConfig,
    next_id: AtomicU64,
    /// One set per scope, made at start for every engine and kind (so read without a lock).
    counters: HashMap<Scope, Counters>,
    /// For a key of an engine Berth was not started with (never from a route, which
    /// resolves the engine first): counted here rather than panicking in a guard.
    unscoped: Counters,
    /// Cancelled at shutdown: every upstream stops.
    shutdown: CancellationToken,
    /// Every task a hub spawns, so shutdown can wait for them.
    tasks: TaskTracker,
    /// Containers the engines' samplers read, by where from.
    sampled: Arc<Sampled>,
}

/// Containers the samplers read, from their cgroup files or the engine's API (`/metrics`).
#[derive(Debug, Default)]
pub struct Sampled {
    pub files: AtomicU64,
    pub api: AtomicU64,
}

impl Registry {
    pub fn new(
        config: HubConfig,
        engines: &[EngineName],
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<Self> {
        Arc::new(Self {
            hubs: Mutex::new(HashMap::new()),
            config,
            next_id: AtomicU64::new(1),
            counters: Scope::all(engines)
                .into_iter()
                .map(|scope| (scope, Counters::default()))
                .collect(),
            unscoped: Counters::default(),
            shutdown,
            tasks,
            sampled: Arc::default(),
        })
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub fn sampled(&self) -> &Arc<Sampled> {
        &self.sampled
    }

    fn counters(&self, key: &HubKey) -> &Counters {
        self.counters.get(&key.scope()).unwrap_or(&self.unscoped)
    }

    fn map(&self) -> MutexGuard<'_, HashMap<HubKey, Entry>> {
        self.hubs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the hub for `key`, creating it (and spawning `upstream` for it) when there is
    /// none or only one that is shutting down. The subscription starts with up to `tail`
    /// frames of history, then receives live frames: none lost, none twice.
    pub fn subscribe<F, Fut>(
        self: &Arc<Self>,
        key: HubKey,
        tail: usize,
        upstream: F,
    ) -> Subscription
    where
        F: FnOnce(Publisher) -> Fut,
        Fut: Future<Output = Ending> + Send + 'static,
    {
        self.subscribe_as(Who::Socket, key, tail, upstream)
    }

    /// [`Registry::subscribe`], for a socket or for Berth itself.
    pub fn subscribe_as<F, Fut>(
        self: &Arc<Self>,
        who: Who,
        key: HubKey,
        tail: usize,
        upstream: F,
    ) -> Subscription
    where
        F: FnOnce(Publisher) -> Fut,
        Fut: Future<Output = Ending> + Send + 'static,
    {
        let mut map = self.map();
        let live = map.get(&key).is_some_and(|e| !e.hub.cancel.is_cancelled());
        if !live {
            let hub = self.create(&key, tail);
            self.spawn_upstream(hub.clone(), upstream);
            map.insert(
                key.clone(),
                Entry {
                    hub,
                    clients: 0,
                    internal: 0,
                },
            );
        }
        let entry = map.get_mut(&key).expect("present: found or just inserted");
        *entry.count(who) += 1;
        let hub = entry.hub.clone();
        drop(map);
        let cursor = hub.queue.cursor(tail);
        Subscription {
            registry: self.clone(),
            hub,
            who,
            cursor,
        }
    }

    /// Joins the hub for `key` only if one is running: for streams whose upstream is
    /// started by their owner (a stack's run), never by a viewer.
    pub fn join(self: &Arc<Self>, who: Who, key: &HubKey, tail: usize) -> Option<Subscription> {
        let mut map = self.map();
        let entry = map.get_mut(key).filter(|e| !e.hub.cancel.is_cancelled())?;
        *entry.count(who) += 1;
        let hub = entry.hub.clone();
        drop(map);
        let cursor = hub.queue.cursor(tail);
        Some(Subscription {
            registry: self.clone(),
            hub,
            who,
            cursor,
        })
    }

    /// The hub for `key` is running (and not shutting down).
    pub fn is_live(&self, key: &HubKey) -> bool {
        self.map()
            .get(key)
            .is_some_and(|e| !e.hub.cancel.is_cancelled())
    }

    /// Where a task Berth runs for a hub is tracked, so shutdown waits for it.
    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    fn create(&self, key: &HubKey, tail: usize) -> Arc<Hub> {
        let history = key.history(&self.config);
        self.counters(key).created.fetch_add(1, Ordering::Relaxed);
        Arc::new(Hub {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            key: key.clone(),
            tail,
            queue: Queue::with_start(
                QueueLimits {
                    capacity: key.capacity(&self.config),
                    history,
                    bytes: self.config.bytes,
                },
                !key.starts_with_history(),
            ),
            cancel: self.shutdown.child_token(),
            seams: std::sync::OnceLock::new(),
        })
    }

    /// Runs the upstream until it ends, panics or the hub is cancelled. However it ends, its
    /// guard takes the hub out of the registry and closes the queue; when it ended by itself
    /// (container gone, engine gone, a bug) the clients are told why first.
    fn spawn_upstream<F, Fut>(self: &Arc<Self>, hub: Arc<Hub>, upstream: F)
    where
        F: FnOnce(Publisher) -> Fut,
        Fut: Future<Output = Ending> + Send + 'static,
    {
        self.counters(&hub.key)
            .upstreams
            .fetch_add(1, Ordering::Relaxed);
        let mut guard = UpstreamGuard {
            registry: self.clone(),
            hub: hub.clone(),
            ending: None,
        };
        let run = upstream(Publisher { hub: hub.clone() });
        self.tasks.spawn(async move {
            guard.ending = tokio::select! {
                result = AssertUnwindSafe(run).catch_unwind() => Some(result.unwrap_or_else(|panic| {
                    let message = panic_message(panic.as_ref());
                    tracing::error!(kind = %hub.key.kind(), resource = hub.key.resource(), "upstream panicked: {message}");
                    Ending::retry(format!("stream failed in Berth: {message}"))
                })),
                () = hub.cancel.cancelled() => None,
            };
            drop(guard);
        });
    }

    /// Removes `hub` if it is still the registered one (and, with `only_if_empty`, still has
    /// no client: checked under the same lock) and cancels its upstream.
    fn remove(&self, hub: &Arc<Hub>, only_if_empty: bool) {
        let mut map = self.map();
        let ours = map
            .get(&hub.key)
            .is_some_and(|e| e.hub.id == hub.id && (!only_if_empty || e.clients + e.internal == 0));
        if ours {
            map.remove(&hub.key);
            self.counters(&hub.key)
                .removed
                .fetch_add(1, Ordering::Relaxed);
        } else if only_if_empty {
            return;
        }
        drop(map);
        hub.cancel.cancel();
    }

    fn leave(self: &Arc<Self>, hub: &Arc<Hub>, who: Who) {
        let mut map = self.map();
        let Some(entry) = map.get_mut(&hub.key).filter(|e| e.hub.id == hub.id) else {
            // Already removed (upstream ended); a newer hub under the same key is not ours.
            return;
        };
        *entry.count(who) -= 1;
        if entry.clients + entry.internal > 0 {
            return;
        }
        drop(map);
        if self.config.grace.is_zero() || tokio::runtime::Handle::try_current().is_err() {
            self.remove(hub, true);
            return;
        }
        // Grace: keep the upstream a little in case someone comes back (a page reload).
        let (registry, hub, grace) = (self.clone(), hub.clone(), self.config.grace);
        self.tasks.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                () = hub.cancel.cancelled() => return,
            }
            registry.remove(&hub, true);
        });
    }

    /// Live counts per scope (kind and engine), read from the registry itself, in order.
    pub fn counts(&self) -> Vec<(Scope, KindCounts)> {
        let map = self.map();
        let mut scopes: Vec<&Scope> = self.counters.keys().collect();
        scopes.sort();
        scopes
            .into_iter()
            .map(|scope| {
                let c = &self.counters[scope];
                let mut counts = KindCounts {
                    upstreams: c.upstreams.load(Ordering::Relaxed),
                    created: c.created.load(Ordering::Relaxed),
                    removed: c.removed.load(Ordering::Relaxed),
                    lagged: c.lagged.load(Ordering::Relaxed),
                    slow_closed: c.slow_closed.load(Ordering::Relaxed),
                    ..KindCounts::default()
                };
                for entry in map.values().filter(|e| e.hub.key.scope() == *scope) {
                    counts.hubs += 1;
                    counts.clients += entry.clients;
                    counts.internal += entry.internal;
                    counts.bytes += entry.hub.queue.held().0 as u64;
                }
                (scope.clone(), counts)
            })
            .collect()
    }

    /// One scope's live counts.
    #[cfg(test)]
    fn counts_of(&self, scope: &Scope) -> KindCounts {
        self.counts()
            .into_iter()
            .find_map(|(s, c)| (s == *scope).then_some(c))
            .unwrap_or_default()
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// A running upstream. Its `Drop` runs however the task ends (return, cancel, panic, or
/// the runtime dropping it): out of the registry first, so a client arriving now gets a
/// fresh hub; then `end` to the clients when there is a reason to give; then the queue
/// closes, so no client waits on a hub nobody feeds.
struct UpstreamGuard {
    registry: Arc<Registry>,
    hub: Arc<Hub>,
    ending: Option<Ending>,
}

impl Drop for UpstreamGuard {
    fn drop(&mut self) {
        self.registry.remove(&self.hub, false);
        if let Some(ending) = self.ending.take() {
            tracing::debug!(kind = %self.hub.key.kind(), resource = self.hub.key.resource(), reason = %ending.reason, "upstream ended");
            Publisher {
                hub: self.hub.clone(),
            }
            .publish(ending.frame());
        }
        self.hub.queue.close();
        self.registry
            .counters(&self.hub.key)
            .upstreams
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// One client's membership of a hub. Dropping it leaves the hub; the last one out cancels
/// the upstream and removes the hub (after the grace period, if any).
pub struct Subscription {
    registry: Arc<Registry>,
    hub: Arc<Hub>,
    who: Who,
    /// History first (the tail asked for), then live frames.
    pub cursor: Cursor,
}

impl Subscription {
    pub fn kind(&self) -> StreamKind {
        self.hub.key.kind()
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Frames this client lost for falling behind.
    pub(crate) fn count_lagged(&self, missed: u64) {
        self.registry
            .counters(&self.hub.key)
            .lagged
            .fetch_add(missed, Ordering::Relaxed);
    }

    /// Counted when the decision is made, before the close frame is sent.
    pub(crate) fn count_slow_close(&self) {
        self.registry
            .counters(&self.hub.key)
            .slow_closed
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The history the hub's upstream first asked for.
    pub fn hub_tail(&self) -> usize {
        self.hub.tail
    }

    /// Where the hub's first history ended, per container (empty before it started, and
    /// for hubs that are not logs).
    pub fn seams(&self) -> Seams {
        self.hub.seams.get().cloned().unwrap_or_default()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.leave(&self.hub, self.who);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::frames::{BatchLine, LogBatch, LogOrigin, LogStream};
    use queue::RecvError;

    fn line(seq: u64) -> Frame {
        let origin = LogOrigin {
            container: "c".into(),
            name: "n".into(),
            service: None,
        };
        let line = BatchLine {
            origin: 0,
            stream: LogStream::Stdout,
            timestamp: None,
            text: format!("line {seq}"),
        };
        Frame::Logs(LogBatch::new(seq, vec![origin], vec![line]))
    }

    fn seq_of(frame: &Published) -> u64 {
        match serde_json::from_str::<Frame>(frame.text().as_str()).unwrap() {
            Frame::Logs(batch) => batch.first,
            other => panic!("{other:?}"),
        }
    }

    fn key() -> HubKey {
        HubKey::ContainerLogs {
            engine: EngineName::parse(crate::docker::LOCAL).unwrap(),
            container: "c".into(),
        }
    }

    fn registry(config: HubConfig) -> Arc<Registry> {
        Registry::new(
            config,
            &[EngineName::parse(crate::docker::LOCAL).unwrap()],
            CancellationToken::new(),
            TaskTracker::new(),
        )
    }

    fn logs_counts(registry: &Registry) -> KindCounts {
        registry.counts_of(&key().scope())
    }

    /// An upstream that publishes whatever it is told and otherwise waits.
    fn manual() -> (
        tokio::sync::mpsc::UnboundedSender<u64>,
        impl FnOnce(Publisher) -> futures::future::BoxFuture<'static, Ending>,
    ) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let upstream = move |publisher: Publisher| -> futures::future::BoxFuture<'static, Ending> {
            Box::pin(async move {
                while let Some(seq) = rx.recv().await {
                    publisher.publish(line(seq));
                    // Let readers run between frames, as a real stream's I/O would.
                    tokio::task::yield_now().await;
                }
                Ending::done("upstream finished")
            })
        };
        (tx, upstream)
    }

    #[tokio::test]
    async fn overflow_drops_oldest_for_the_slow_client_only() {
        let config = HubConfig {
            capacity: 1000,
            ..HubConfig::default()
        };
        let registry = registry(config);
        let (publish, upstream) = manual();
        let mut slow = registry.subscribe(key(), 0, upstream);
        let mut fast = registry.subscribe(key(), 0, |_| async { unreachable!("one upstream") });
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 1500 {
                seen.push(seq_of(
                    &fast
                        .cursor
                        .recv()
                        .await
                        .expect("the fast client never lags"),
                ));
            }
            seen
        });
        for seq in 1..=1500 {
            publish.send(seq).unwrap();
        }
        let fast_seen = reader.await.unwrap();
        assert_eq!(
            fast_seen,
            (1..=1500).collect::<Vec<_>>(),
            "the fast client loses nothing"
        );

        let Err(RecvError::Lagged { missed, .. }) = slow.cursor.recv().await else {
            panic!("the slow client is told it lagged");
        };
        let mut slow_seen = Vec::new();
        while !slow.cursor.is_empty() {
            slow_seen.push(seq_of(&slow.cursor.recv().await.unwrap()));
        }
        assert_eq!(slow_seen.len(), 1000, "exactly the capacity");
        assert_eq!(
            missed as usize + slow_seen.len(),
            1500,
            "every frame is received or counted"
        );
        let newest: Vec<u64> = (missed + 1..=1500).collect();
        assert_eq!(
            slow_seen, newest,
            "the oldest are dropped, the newest kept in order"
        );
    }

    #[tokio::test]
    async fn last_one_out_removes_the_hub_and_a_newcomer_gets_a_fresh_one() {
        let registry = registry(HubConfig::default());
        let (publish, upstream) = manual();
        let first = registry.subscribe(key(), 0, upstream);
        let second = registry.subscribe(key(), 0, |_| async { unreachable!("shared") });
        let counts = |r: &Registry| logs_counts(r);
        assert_eq!((counts(&registry).hubs, counts(&registry).clients), (1, 2));
        drop(first);
        assert_eq!((counts(&registry).hubs, counts(&registry).clients), (1, 1));
        let old = second.hub.clone();
        drop(second);
        assert_eq!(counts(&registry).hubs, 0);
        assert!(
            old.cancel.is_cancelled(),
            "the upstream is cancelled with the last client"
        );

        // Arriving right after: a fresh hub with its own upstream, never the dead one.
        let (publish2, upstream2) = manual();
        let mut third = registry.subscribe(key(), 0, upstream2);
        assert_ne!(third.hub.id, old.id);
        publish2.send(7).unwrap();
        assert_eq!(seq_of(&third.cursor.recv().await.unwrap()), 7);
        // Upstream tasks end once cancelled.
        tokio::time::timeout(Duration::from_secs(2), async {
            while publish.send(1).is_ok() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the old upstream is gone");
        drop(third);
        tokio::time::timeout(Duration::from_secs(2), async {
            while counts(&registry).upstreams > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("no upstream outlives its hub");
        assert_eq!(counts(&registry).created, counts(&registry).removed);
    }

    /// Berth's own readers keep a hub alive like sockets do, and are counted apart from them.
    #[tokio::test]
    async fn an_internal_reader_keeps_the_hub_and_is_not_a_socket() {
        let registry = registry(HubConfig::default());
        let (_publish, upstream) = manual();
        let inside = registry.subscribe_as(Who::Berth, key(), 0, upstream);
        let socket = registry.subscribe(key(), 0, |_| async { unreachable!("shared") });
        let counts = logs_counts(&registry);
        assert_eq!((counts.hubs, counts.clients, counts.internal), (1, 1, 1));
        drop(socket);
        let counts = logs_counts(&registry);
        assert_eq!((counts.hubs, counts.clients, counts.internal), (1, 0, 1));
        assert!(registry.is_live(&key()), "Berth still reads it");
        drop(inside);
        assert_eq!(logs_counts(&registry).hubs, 0);
        assert!(!registry.is_live(&key()));
    }

    #[tokio::test(start_paused = true)]
    async fn grace_keeps_the_upstream_for_a_quick_return_only() {
        let config = HubConfig {
            grace: Duration::from_secs(2),
            ..HubConfig::default()
        };
        let registry = registry(config);
        let (_publish, upstream) = manual();
        let first = registry.subscribe(key(), 0, upstream);
        let id = first.hub.id;
        drop(first);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let back = registry.subscribe(key(), 0, |_| async { unreachable!("reused within grace") });
        assert_eq!(back.hub.id, id, "a reload within the grace reuses the hub");
        drop(back);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let counts = logs_counts(&registry);
        assert_eq!((counts.hubs, counts.created, counts.removed), (0, 1, 1));
    }

    #[tokio::test]
    async fn an_upstream_that_ends_sends_end_and_leaves_the_registry() {
        let registry = registry(HubConfig::default());
        let (publish, upstream) = manual();
        let mut client = registry.subscribe(key(), 0, upstream);
        publish.send(1).unwrap();
        drop(publish); // the source ends: the upstream returns its reason
        assert_eq!(seq_of(&client.cursor.recv().await.unwrap()), 1);
        let end: Frame =
            serde_json::from_str(client.cursor.recv().await.unwrap().text().as_str()).unwrap();
        assert_eq!(end, Ending::done("upstream finished").frame());
        assert_eq!(client.cursor.recv().await, Err(RecvError::Closed));
        assert_eq!(logs_counts(&registry).hubs, 0);
        // The leaving client finds its hub already gone and touches nothing else.
        let newer = registry.subscribe(key(), 0, |_| std::future::pending::<Ending>());
        drop(client);
        assert_eq!(logs_counts(&registry).clients, 1);
        drop(newer);
    }

    /// Issue 9, item 3: a panic in an upstream used to leave a dead hub in the registry that
    /// new viewers joined forever, with no `end` for anyone.
    #[tokio::test]
    async fn a_panicking_upstream_ends_its_clients_and_leaves_the_registry() {
        let registry = registry(HubConfig::default());
        let (go, wait) = tokio::sync::oneshot::channel::<()>();
        let mut client = registry.subscribe(key(), 0, move |publisher: Publisher| async move {
            publisher.publish(line(1));
            let _ = wait.await;
            panic!("bug in a Docker mapping");
        });
        assert_eq!(seq_of(&client.cursor.recv().await.unwrap()), 1);
        go.send(()).unwrap();
        let end = tokio::time::timeout(Duration::from_secs(5), client.cursor.recv())
            .await
            .expect("the client is not left waiting")
            .unwrap();
        let Frame::End { reason, retry } = serde_json::from_str(end.text().as_str()).unwrap()
        else {
            panic!("an end frame: {end:?}");
        };
        assert!(reason.contains("bug in a Docker mapping"), "{reason}");
        assert!(retry, "a failure in Berth is worth retrying");
        assert_eq!(client.cursor.recv().await, Err(RecvError::Closed));
        let counts = logs_counts(&registry);
        assert_eq!((counts.hubs, counts.upstreams), (0, 0));
        let (publish, upstream) = manual();
        let mut fresh = registry.subscribe(key(), 0, upstream);
        publish.send(2).unwrap();
        assert_eq!(seq_of(&fresh.cursor.recv().await.unwrap()), 2, "a new hub");
    }

    #[tokio::test]
    async fn a_late_joiner_gets_exactly_its_tail_whatever_the_first_asked() {
        let registry = registry(HubConfig::default());
        let (publish, upstream) = manual();
        let mut first = registry.subscribe(key(), 0, upstream);
        for seq in 1..=1500 {
            publish.send(seq).unwrap();
        }
        for _ in 0..1500 {
            first.cursor.recv().await.unwrap();
        }
        // 1500 frames of history is more than the live capacity (1024): not lag.
        let mut late = registry.subscribe(key(), 1500, |_| async { unreachable!("shared") });
        let mut seen = Vec::new();
        while !late.cursor.is_empty() {
            seen.push(seq_of(&late.cursor.recv().await.unwrap()));
        }
        assert_eq!(seen, (1..=1500).collect::<Vec<_>>());
    }
}
