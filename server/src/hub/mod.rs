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
    pub fn new(mut config: HubConfig, shutdown: CancellationToken) -> Arc<Self> {
        // tokio's broadcast rounds its buffer up to a power of two; rounding down here keeps
        // the configured capacity a true bound on what a lagging client can be sent.
        let capacity = config.capacity.max(1);
        config.capacity = 1 << (usize::BITS - 1 - capacity.leading_zeros());
        if config.capacity != capacity {
            tracing::info!(
                "broadcast capacity {capacity} rounded down to {}",
                config.capacity
            );
        }
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
        let (tx, _) = broadcast::channel(self.config.capacity);
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

#[cfg(test)]
mod tests {
    use super::*;
    use app::frames::{LogLine, LogStream};
    use tokio::sync::broadcast::error::RecvError;

    fn line(seq: u64) -> Frame {
        Frame::Log(LogLine {
            seq,
            container: "c".into(),
            name: "n".into(),
            service: None,
            stream: LogStream::Stdout,
            timestamp: None,
            text: format!("line {seq}"),
        })
    }

    fn seq_of(text: &Utf8Bytes) -> u64 {
        match serde_json::from_str::<Frame>(text.as_str()).unwrap() {
            Frame::Log(l) => l.seq,
            other => panic!("{other:?}"),
        }
    }

    fn key() -> HubKey {
        HubKey::new(StreamKind::ContainerLogs, "c", "")
    }

    /// An upstream that publishes whatever it is told and otherwise waits.
    fn manual() -> (
        tokio::sync::mpsc::UnboundedSender<u64>,
        impl FnOnce(Publisher) -> futures::future::BoxFuture<'static, String>,
    ) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let upstream = move |publisher: Publisher| -> futures::future::BoxFuture<'static, String> {
            Box::pin(async move {
                while let Some(seq) = rx.recv().await {
                    publisher.publish(&line(seq));
                    // Let readers run between frames, as a real stream's I/O would.
                    tokio::task::yield_now().await;
                }
                "upstream finished".into()
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
        let registry = Registry::new(config, CancellationToken::new());
        let (publish, upstream) = manual();
        let mut slow = registry.subscribe(key(), 0, upstream);
        let mut fast = registry.subscribe(key(), 0, |_| async { unreachable!("one upstream") });
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 1500 {
                seen.push(seq_of(
                    &fast.rx.recv().await.expect("the fast client never lags"),
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

        let Err(RecvError::Lagged(missed)) = slow.rx.recv().await else {
            panic!("the slow client is told it lagged");
        };
        let mut slow_seen = Vec::new();
        while let Ok(text) = slow.rx.try_recv() {
            slow_seen.push(seq_of(&text));
        }
        assert!(
            slow_seen.len() <= 1000,
            "at most the capacity: {}",
            slow_seen.len()
        );
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
        let registry = Registry::new(HubConfig::default(), CancellationToken::new());
        let (publish, upstream) = manual();
        let first = registry.subscribe(key(), 0, upstream);
        let second = registry.subscribe(key(), 0, |_| async { unreachable!("shared") });
        let counts = |r: &Registry| r.counts()[StreamKind::ContainerLogs.index()].1;
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
        assert_eq!(seq_of(&third.rx.recv().await.unwrap()), 7);
        assert!(publish.send(1).is_err(), "the old upstream is gone");
        drop(third);
        // Upstream tasks end once cancelled.
        tokio::time::timeout(Duration::from_secs(2), async {
            while counts(&registry).upstreams > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("no upstream outlives its hub");
        assert_eq!(counts(&registry).created, counts(&registry).removed);
    }

    #[tokio::test(start_paused = true)]
    async fn grace_keeps_the_upstream_for_a_quick_return_only() {
        let config = HubConfig {
            grace: Duration::from_secs(2),
            ..HubConfig::default()
        };
        let registry = Registry::new(config, CancellationToken::new());
        let (_publish, upstream) = manual();
        let first = registry.subscribe(key(), 0, upstream);
        let id = first.hub.id;
        drop(first);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let back = registry.subscribe(key(), 0, |_| async { unreachable!("reused within grace") });
        assert_eq!(back.hub.id, id, "a reload within the grace reuses the hub");
        drop(back);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let counts = registry.counts()[StreamKind::ContainerLogs.index()].1;
        assert_eq!((counts.hubs, counts.created, counts.removed), (0, 1, 1));
    }

    #[tokio::test]
    async fn an_upstream_that_ends_sends_end_and_leaves_the_registry() {
        let registry = Registry::new(HubConfig::default(), CancellationToken::new());
        let (publish, upstream) = manual();
        let mut client = registry.subscribe(key(), 0, upstream);
        publish.send(1).unwrap();
        drop(publish); // the source ends: the upstream returns its reason
        assert_eq!(seq_of(&client.rx.recv().await.unwrap()), 1);
        let end: Frame = serde_json::from_str(client.rx.recv().await.unwrap().as_str()).unwrap();
        assert_eq!(
            end,
            Frame::End {
                reason: "upstream finished".into()
            }
        );
        assert_eq!(
            registry.counts()[StreamKind::ContainerLogs.index()].1.hubs,
            0
        );
        // The leaving client finds its hub already gone and touches nothing else.
        let newer = registry.subscribe(key(), 0, |_| std::future::pending::<String>());
        drop(client);
        assert_eq!(
            registry.counts()[StreamKind::ContainerLogs.index()]
                .1
                .clients,
            1
        );
        drop(newer);
    }
}
