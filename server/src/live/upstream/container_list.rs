//! An engine's containers, live: the hub [`HubKey::ContainerList`] lists them once, then
//! follows the engine's shared event stream and re-reads only the containers an event names,
//! publishing each change as an upsert or a removal. The list it keeps is also the cache the
//! JSON API and the pages read ([`ContainerList::containers`]): while anything uses it, no
//! request lists every container again. When the events end (the engine went away), the hub
//! ends with `retry`; whoever comes back gets a fresh snapshot, so nobody keeps a list that
//! missed a change.

use super::events::{self, Next};
use crate::{
    docker::{EngineName, engine::Engine, mapping::summary},
    error::Error,
    live::hub::{Ending, HubKey, Publisher, Registry, Subscription, Who, queue::RecvError},
};
use app::{frames::Frame, model::ContainerSummary};
use bollard::query_parameters::ListContainersOptions;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{sync::watch, time::Instant};

/// How long a reader waits for a new list hub's first listing.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(10);

/// The list at one version: every change after it has a higher number.
#[derive(Clone)]
pub struct Snapshot {
    /// Which run of the list hub made it (see [`ContainerList::current`]).
    run: u64,
    pub version: u64,
    pub containers: Arc<BTreeMap<String, ContainerSummary>>,
}

impl Snapshot {
    /// Sorted by name, as `/api/containers` answers.
    pub fn sorted(&self) -> Vec<ContainerSummary> {
        let mut list: Vec<_> = self.containers.values().cloned().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    pub fn frame(&self) -> Frame {
        Frame::Containers {
            version: self.version,
            containers: self.sorted(),
        }
    }
}

/// One engine's live container list: its hub, and the snapshot the hub keeps current.
pub struct ContainerList {
    name: EngineName,
    engine: Arc<Engine>,
    registry: Arc<Registry>,
    /// The running hub's list; `None` while no hub runs (or before its first listing).
    current: watch::Sender<Option<Snapshot>>,
    /// Numbers the hub's runs, so an old run ending never clears a newer run's list.
    runs: AtomicU64,
    /// The API's and the pages' hold on the hub, renewed by each read.
    lease: Mutex<Option<Arc<Lease>>>,
}

struct Lease {
    until: Mutex<Instant>,
    ended: AtomicBool,
}

impl ContainerList {
    pub fn new(name: EngineName, engine: Arc<Engine>, registry: Arc<Registry>) -> Arc<Self> {
        Arc::new(Self {
            name,
            engine,
            registry,
            current: watch::Sender::new(None),
            runs: AtomicU64::new(0),
            lease: Mutex::new(None),
        })
    }

    /// Joins the engine's list hub, starting it when none runs.
    pub fn subscribe(self: &Arc<Self>, who: Who) -> Subscription {
        let list = self.clone();
        self.registry.subscribe_as(
            who,
            HubKey::ContainerList {
                engine: self.name.clone(),
            },
            0,
            move |publisher| run(list, publisher),
        )
    }

    /// The current list, waiting up to `wait` for a hub that has just started to read it.
    pub async fn snapshot(&self, wait: Duration) -> Option<Snapshot> {
        let mut current = self.current.subscribe();
        let found = tokio::time::timeout(wait, current.wait_for(Option::is_some)).await;
        found.ok()?.ok()?.clone()
    }

    /// The current list without waiting, if a hub keeps one.
    pub fn snapshot_now(&self) -> Option<Snapshot> {
        self.current.borrow().clone()
    }

    /// Every container, sorted by name: from the cache, which this read keeps following
    /// events for a while (`--list-cache-secs`: a script or a page asking every few seconds
    /// is answered from memory, and an engine nobody asks about soon has no event stream).
    /// With 0 the list is read from the engine unless a list stream keeps it anyway. An
    /// engine that is down answers its 503 at once.
    pub async fn containers(self: &Arc<Self>) -> Result<Vec<ContainerSummary>, Error> {
        let docker = self.engine.client()?;
        let linger = self.registry.config().list_linger;
        let wait = match linger.is_zero() {
            true => Duration::ZERO,
            false => {
                self.keep(linger);
                SNAPSHOT_WAIT
            }
        };
        match self.snapshot(wait).await {
            Some(snapshot) => Ok(snapshot.sorted()),
            // The hub could not list (the engine failed just now): ask directly, for the
            // engine's own error.
            None => {
                let all = list_all(&docker).await.map_err(|e| self.engine.error(e))?;
                let mut list: Vec<_> = all.into_values().collect();
                list.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(list)
            }
        }
    }

    /// Holds the list hub until `linger` after the last call.
    fn keep(self: &Arc<Self>, linger: Duration) {
        let until = Instant::now() + linger;
        let mut lease = self.lease.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(held) = lease.as_ref().filter(|l| !l.ended.load(Ordering::Acquire)) {
            *held.until.lock().unwrap_or_else(|p| p.into_inner()) = until;
            return;
        }
        let held = Arc::new(Lease {
            until: Mutex::new(until),
            ended: AtomicBool::new(false),
        });
        *lease = Some(held.clone());
        drop(lease);
        let mut subscription = self.subscribe(Who::Berth);
        self.registry.tasks().spawn(async move {
            loop {
                let until = *held.until.lock().unwrap_or_else(|p| p.into_inner());
                if Instant::now() >= until {
                    break;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    // The hub ended (engine gone, shutdown): the next read starts another.
                    received = subscription.cursor.recv() => if received == Err(RecvError::Closed) {
                        break;
                    }
                }
            }
            held.ended.store(true, Ordering::Release);
            drop(subscription);
        });
    }
}

/// Every container of the engine, by id.
async fn list_all(
    docker: &bollard::Docker,
) -> Result<BTreeMap<String, ContainerSummary>, bollard::errors::Error> {
    list_some(docker, None).await
}

/// The containers with these ids (all when `None`), by id.
async fn list_some(
    docker: &bollard::Docker,
    ids: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, ContainerSummary>, bollard::errors::Error> {
    let options = ListContainersOptions {
        all: true,
        filters: ids.map(|ids| HashMap::from([("id".to_string(), ids.iter().cloned().collect())])),
        ..Default::default()
    };
    Ok(docker
        .list_containers(Some(options))
        .await?
        .into_iter()
        .map(summary)
        .map(|c| (c.id.clone(), c))
        .collect())
}

/// Clears the cache when its run ends, however it ends, unless a newer run owns it.
struct Clear {
    list: Arc<ContainerList>,
    run: u64,
}

impl Drop for Clear {
    fn drop(&mut self) {
        self.list.current.send_if_modified(|current| match current {
            Some(snapshot) if snapshot.run == self.run => {
                *current = None;
                true
            }
            _ => false,
        });
    }
}

/// The list as this run keeps it, and how it tells the cache and the clients.
struct Kept {
    list: Arc<ContainerList>,
    run: u64,
    version: u64,
    containers: Arc<BTreeMap<String, ContainerSummary>>,
    publisher: Publisher,
}

impl Kept {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            run: self.run,
            version: self.version,
            containers: self.containers.clone(),
        }
    }

    /// The cache first, then the clients: a client that joins in between gets a snapshot
    /// that already has the change, and skips the change by its version.
    fn tell(&self, frame: Frame) {
        self.list.current.send_replace(Some(self.snapshot()));
        self.publisher.publish(frame);
    }

    fn replace(&mut self, all: BTreeMap<String, ContainerSummary>) {
        self.version += 1;
        self.containers = Arc::new(all);
        self.tell(self.snapshot().frame());
    }

    /// Applies what Docker says now about `ids`: changed ones are upserted, missing ones
    /// removed, unchanged ones left alone.
    fn update(&mut self, ids: &BTreeSet<String>, mut found: BTreeMap<String, ContainerSummary>) {
        for id in ids {
            match found.remove(id) {
                Some(c) if self.containers.get(id) != Some(&c) => {
                    self.version += 1;
                    Arc::make_mut(&mut self.containers).insert(id.clone(), c.clone());
                    self.tell(Frame::ContainerUpsert {
                        version: self.version,
                        container: c,
                    });
                }
                Some(_) => {}
                None if self.containers.contains_key(id) => {
                    self.version += 1;
                    Arc::make_mut(&mut self.containers).remove(id);
                    self.tell(Frame::ContainerRemoved {
                        version: self.version,
                        id: id.clone(),
                    });
                }
                None => {}
            }
        }
    }
}

async fn run(list: Arc<ContainerList>, publisher: Publisher) -> Ending {
    let run = list.runs.fetch_add(1, Ordering::Relaxed) + 1;
    let _clear = Clear {
        list: list.clone(),
        run,
    };
    // Events first: whatever happens after this is seen, whatever the listing missed.
    let mut events = events::subscribe(&list.registry, &list.name, &list.engine);
    let docker = match list.engine.client() {
        Ok(docker) => docker,
        Err(e) => return Ending::retry(e.to_string()),
    };
    let unreachable = |e: bollard::errors::Error| Ending::retry(list.engine.error(e).to_string());
    let mut kept = Kept {
        list: list.clone(),
        run,
        version: 0,
        containers: Arc::default(),
        publisher,
    };
    loop {
        match list_all(&docker).await {
            Ok(all) => kept.replace(all),
            Err(e) => return unreachable(e),
        }
        // Changes until the events were lost to lag: then everything is read again.
        loop {
            let mut ids = BTreeSet::new();
            let mut lagged = false;
            // Everything already waiting is handled with one listing.
            let mut next = Some(events::next(&mut events).await);
            while let Some(item) = next.take() {
                match item {
                    Next::Event(event) if event.kind == "container" && !event.id.is_empty() => {
                        ids.insert(event.id);
                    }
                    Next::Event(_) => {}
                    Next::Lagged => lagged = true,
                    Next::Ended(ending) => return ending,
                }
                if !events.cursor.is_empty() {
                    next = Some(events::next(&mut events).await);
                }
            }
            if lagged {
                break;
            }
            if ids.is_empty() {
                continue;
            }
            match list_some(&docker, Some(&ids)).await {
                Ok(found) => kept.update(&ids, found),
                Err(e) => return unreachable(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: id.into(),
            name: format!("n-{id}"),
            image: "i".into(),
            state: state.into(),
            status: state.into(),
            created: 0,
            ports: vec![],
            project: None,
            service: None,
        }
    }

    /// A client that applies whatever the run tells, in order, ends with the run's list;
    /// the version rule lets it take a snapshot taken mid-way and skip what it holds.
    #[test]
    fn updates_are_numbered_and_a_late_snapshot_skips_what_it_has() {
        use app::frames::LiveContainers;
        let a = container("a", "running");
        let b = container("b", "running");
        let mut seen = LiveContainers::default();
        let first = Frame::Containers {
            version: 1,
            containers: vec![a.clone(), b.clone()],
        };
        assert!(seen.apply(first));
        let stop = Frame::ContainerUpsert {
            version: 2,
            container: container("a", "exited"),
        };
        let gone = Frame::ContainerRemoved {
            version: 3,
            id: "b".into(),
        };
        // A client that joined after version 2 got a snapshot with it...
        let mut late = LiveContainers::default();
        late.apply(Frame::Containers {
            version: 2,
            containers: vec![container("a", "exited"), b.clone()],
        });
        // ...and then reads the change again from the hub: it is skipped.
        assert!(!late.apply(Frame::ContainerUpsert {
            version: 2,
            container: a.clone(),
        }));
        for frame in [stop, gone.clone()] {
            seen.apply(frame);
        }
        late.apply(gone);
        assert_eq!(seen, late);
        assert_eq!(seen.sorted(), vec![container("a", "exited")]);
    }
}
