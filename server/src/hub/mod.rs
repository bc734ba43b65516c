//! The hub registry: one hub per watched resource and stream shape. A hub owns the single
//! upstream (a Docker stream or the host sampler) and fans its frames out through a bounded
//! broadcast; a ring keeps the last frames for late joiners. Joining and leaving happen under
//! the registry's one lock, together with the client count, so "last one out" and "new one
//! in" cannot interleave. Leaving is a [`Subscription`]'s `Drop`: every exit path of a
//! session, panics included, runs it.

mod ring;

use app::frames::{Frame, StreamKind};
use axum::extract::ws::Utf8Bytes;
use ring::Ring;
use std::{
    collections::HashMap,
    future::Future,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Names a hub: the kind of stream, the resource, and whatever shapes the stream (e.g.
/// whether log lines carry timestamps).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HubKey {
    pub kind: StreamKind,
    pub resource: String,
    pub shape: String,
}

impl HubKey {
    pub fn new(kind: StreamKind, resource: impl Into<String>, shape: impl Into<String>) -> Self {
        Self {
            kind,
            resource: resource.into(),
            shape: shape.into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Broadcast capacity: how far a client may fall behind before it loses frames.
    pub capacity: usize,
    /// Frames a log hub keeps for clients that join later.
    pub ring: usize,
    /// How long an empty hub lives on before its upstream is cancelled.
    pub grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            capacity: 1024,
            ring: 2000,
            grace: Duration::ZERO,
        }
    }
}

/// What an upstream task is given: where to publish, and when to stop.
#[derive(Clone)]
pub struct Publisher {
    hub: Arc<Hub>,
}

impl Publisher {
    /// Serializes once, keeps a copy in the ring, and broadcasts to every client. Never
    /// blocks: a client that lags loses its oldest frames, not the hub's time.
    pub fn publish(&self, frame: &Frame) {
        let text: Utf8Bytes = match serde_json::to_string(frame) {
            Ok(text) => text.into(),
            Err(e) => {
                tracing::error!("cannot serialize a frame: {e}");
                return;
            }
        };
        let mut ring = self.hub.ring();
        ring.push(text.clone());
        // An error only means there is no receiver right now.
        let _ = self.hub.tx.send(text);
    }

    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.hub.cancel.cancelled()
    }

    pub fn is_cancelled(&self) -> bool {
        self.hub.cancel.is_cancelled()
    }
}

pub struct Hub {
    id: u64,
    key: HubKey,
    tx: broadcast::Sender<Utf8Bytes>,
    ring: Mutex<Ring>,
    cancel: CancellationToken,
}

impl Hub {
    fn ring(&self) -> MutexGuard<'_, Ring> {
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

struct Entry {
    hub: Arc<Hub>,
    clients: usize,
}

/// Live counts for one kind, read under the registry lock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts {
    pub hubs: usize,
    pub clients: usize,
    pub upstreams: usize,
    pub created: u64,
    pub removed: u64,
    pub lagged: u64,
}

pub struct Registry {
    hubs: Mutex<HashMap<HubKey, Entry>>,
    config: HubConfig,
    next_id: AtomicU64,
    upstreams: [AtomicUsize; 4],
    created: [AtomicU64; 4],
    removed: [AtomicU64; 4],
    lagged: [AtomicU64; 4],
    /// Cancelled at shutdown: every upstream stops.
    shutdown: CancellationToken,
}

impl Registry {
    pub fn new(config: HubConfig, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            hubs: Mutex::new(HashMap::new()),
            config,
            next_id: AtomicU64::new(1),
            upstreams: Default::default(),
            created: Default::default(),
            removed: Default::default(),
            lagged: Default::default(),
            shutdown,
        })
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    fn map(&self) -> MutexGuard<'_, HashMap<HubKey, Entry>> {
        self.hubs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Joins the hub for `key`, creating it (and spawning `upstream` for it) when there is
    /// none or only one that is shutting down. The subscription starts with up to `tail`
    /// frames from the ring, then receives live frames: none lost, none twice.
    pub fn subscribe<F, Fut>(
        self: &Arc<Self>,
        key: HubKey,
        tail: usize,
        upstream: F,
    ) -> Subscription
    where
        F: FnOnce(Publisher) -> Fut,
        Fut: Future<Output = String> + Send + 'static,
    {
        let mut map = self.map();
        let live = map.get(&key).is_some_and(|e| !e.hub.cancel.is_cancelled());
        if !live {
            let hub = self.create(&key);
            self.spawn_upstream(hub.clone(), upstream);
            map.insert(key.clone(), Entry { hub, clients: 0 });
        }
        let entry = map.get_mut(&key).expect("present: found or just inserted");
        entry.clients += 1;
        let hub = entry.hub.clone();
        drop(map);

        // The ring's lock orders this against `publish`: every frame is either in the
        // snapshot or arrives through the receiver.
        let (backlog, rx) = {
            let ring = hub.ring();
            (ring.last(tail), hub.tx.subscribe())
        };
        Subscription {
            registry: self.clone(),
            hub,
            backlog,
            rx,
        }
    }

    fn create(&self, key: &HubKey) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(self.config.capacity.max(1));
        let ring = match key.kind {
            StreamKind::ContainerLogs | StreamKind::ProjectLogs => self.config.ring,
            // A stats client only needs the latest sample to draw something at once.
            StreamKind::ContainerStats | StreamKind::SystemStats => 1,
        };
        self.created[key.kind.index()].fetch_add(1, Ordering::Relaxed);
        Arc::new(Hub {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            key: key.clone(),
            tx,
            ring: Mutex::new(Ring::new(ring)),
            cancel: self.shutdown.child_token(),
        })
    }

    /// Runs the upstream until it ends or the hub is cancelled. When it ends by itself
    /// (container gone, engine gone) its clients get `end` and the hub leaves the registry.
    fn spawn_upstream<F, Fut>(self: &Arc<Self>, hub: Arc<Hub>, upstream: F)
    where
        F: FnOnce(Publisher) -> Fut,
        Fut: Future<Output = String> + Send + 'static,
    {
        let kind = hub.key.kind.index();
        self.upstreams[kind].fetch_add(1, Ordering::Relaxed);
        let guard = UpstreamGuard {
            registry: self.clone(),
            kind,
        };
        let publisher = Publisher { hub: hub.clone() };
        let run = upstream(publisher.clone());
        tokio::spawn(async move {
            let guard = guard;
            let reason = tokio::select! {
                reason = run => Some(reason),
                () = hub.cancel.cancelled() => None,
            };
            if let Some(reason) = reason {
                tracing::debug!(kind = %hub.key.kind, resource = %hub.key.resource, %reason, "upstream ended");
                // Out of the registry first, so a client arriving now gets a fresh hub.
                guard.registry.remove(&hub, false);
                publisher.publish(&Frame::End { reason });
            }
        });
    }

    /// Removes `hub` if it is still the registered one (and, with `only_if_empty`, still has
    /// no client: checked under the same lock) and cancels its upstream.
    fn remove(&self, hub: &Arc<Hub>, only_if_empty: bool) {
        let mut map = self.map();
        let ours = map
            .get(&hub.key)
            .is_some_and(|e| e.hub.id == hub.id && (!only_if_empty || e.clients == 0));
        if ours {
            map.remove(&hub.key);
            self.removed[hub.key.kind.index()].fetch_add(1, Ordering::Relaxed);
        } else if only_if_empty {
            return;
        }
        drop(map);
        hub.cancel.cancel();
    }

    fn leave(self: &Arc<Self>, hub: &Arc<Hub>) {
        let mut map = self.map();
        let Some(entry) = map.get_mut(&hub.key).filter(|e| e.hub.id == hub.id) else {
            // Already removed (upstream ended); a newer hub under the same key is not ours.
            return;
        };
        entry.clients -= 1;
        if entry.clients > 0 {
            return;
        }
        drop(map);
        let runtime = tokio::runtime::Handle::try_current();
        let (false, Ok(runtime)) = (self.config.grace.is_zero(), runtime) else {
            self.remove(hub, true);
            return;
        };
        // Grace: keep the upstream a little in case someone comes back (a page reload).
        let (registry, hub, grace) = (self.clone(), hub.clone(), self.config.grace);
        runtime.spawn(async move {
            tokio::select! {
                () = tokio::time::sleep(grace) => {}
                () = hub.cancel.cancelled() => return,
            }
            registry.remove(&hub, true);
        });
    }

    pub(crate) fn count_lagged(&self, kind: StreamKind, missed: u64) {
        self.lagged[kind.index()].fetch_add(missed, Ordering::Relaxed);
    }

    /// Live counts per kind, read from the registry itself.
    pub fn counts(&self) -> [(StreamKind, KindCounts); 4] {
        let map = self.map();
        StreamKind::ALL.map(|kind| {
            let i = kind.index();
            let mut counts = KindCounts {
                upstreams: self.upstreams[i].load(Ordering::Relaxed),
                created: self.created[i].load(Ordering::Relaxed),
                removed: self.removed[i].load(Ordering::Relaxed),
                lagged: self.lagged[i].load(Ordering::Relaxed),
                ..KindCounts::default()
            };
            for entry in map.values().filter(|e| e.hub.key.kind == kind) {
                counts.hubs += 1;
                counts.clients += entry.clients;
            }
            (kind, counts)
        })
    }
}

/// Counts a running upstream; dropped when its task ends, however it ends.
struct UpstreamGuard {
    registry: Arc<Registry>,
    kind: usize,
}

impl Drop for UpstreamGuard {
    fn drop(&mut self) {
        self.registry.upstreams[self.kind].fetch_sub(1, Ordering::Relaxed);
    }
}

/// One client's membership of a hub. Dropping it leaves the hub; the last one out cancels
/// the upstream and removes the hub (after the grace period, if any).
pub struct Subscription {
    registry: Arc<Registry>,
    hub: Arc<Hub>,
    /// Ring frames to send before live ones.
    pub backlog: Vec<Utf8Bytes>,
    pub rx: broadcast::Receiver<Utf8Bytes>,
}

impl Subscription {
    pub fn kind(&self) -> StreamKind {
        self.hub.key.kind
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.registry.leave(&self.hub);
    }
}
