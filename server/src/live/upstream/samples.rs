//! An engine's sampler: one stats sample of each running container per interval, published
//! as one [`Frame::Samples`] round for everything in Berth that needs figures while nobody
//! watches (alert rules on CPU and memory). It runs as the hub [`HubKey::Samples`] of its
//! engine, only while someone reads it, so however many rules read it, it costs one list
//! and one short request per container per interval, never a stream per container or rule.
//!
//! Where Berth runs on the engine's host, a container's CPU and memory come from its cgroup
//! files ([`super::cgroup`]: about 25 times cheaper for the engine); otherwise a sample is
//! asked for with `stream=false&one-shot=true`, which the engine answers at once (without
//! it, it waits a second for a second reading). CPU is the difference between two rounds,
//! computed as `docker stats` computes it between two readings. What a round reads through
//! the API is also the pages' last-known figures, as a stats stream's samples are (the
//! files have no network or block figures).

use super::{
    cgroup::{Cgroups, Reading},
    container_stats,
    last_known::LastContainerStats,
};
use crate::{
    accounts::now_ms,
    docker::{
        EngineName,
        engine::{Engine, describe},
        mapping,
        path::{self, Kind},
    },
    live::hub::{Ending, HubKey, Publisher, Registry, Sampled, Subscription, Who},
};
use app::frames::{ContainerSample, ContainerStats, Frame, Samples};
use bollard::{
    Docker,
    models::{ContainerStatsResponse, ContainerSummary},
    query_parameters::{ListContainersOptions, StatsOptions},
};
use futures::StreamExt;
use std::{
    collections::HashMap,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

/// Samples asked for at once: a few, so a round over 100 containers takes a few round
/// trips, and the engine is never asked for all of them together.
const AT_ONCE: usize = 4;
/// How long one sample may take before the round goes on without it.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Joins the sampler of an engine as Berth, starting it when nobody reads it yet.
pub fn subscribe(
    registry: &Arc<Registry>,
    name: &EngineName,
    engine: &Arc<Engine>,
    last: &Arc<LastContainerStats>,
) -> Subscription {
    let (engine, last) = (engine.clone(), last.clone());
    let settings = Sampling {
        every: registry.config().sample_every,
        // Only an engine on this machine has its containers' cgroups here.
        cgroups: (registry.config().sample_cgroups && engine.endpoint().on_this_machine())
            .then(Cgroups::default),
        counted: registry.sampled().clone(),
    };
    registry.subscribe_as(
        Who::Berth,
        HubKey::Samples {
            engine: name.clone(),
        },
        0,
        move |publisher| run(engine, settings, publisher, last),
    )
}

async fn run(
    engine: Arc<Engine>,
    settings: Sampling,
    publisher: Publisher,
    last: Arc<LastContainerStats>,
) -> Ending {
    let docker = match engine.client() {
        Ok(docker) => docker,
        Err(e) => return Ending::retry(e.to_string()),
    };
    // Each container's CPU counters at the previous round, for the next one's difference.
    let mut previous: HashMap<String, Counters> = HashMap::new();
    let mut rounds = tokio::time::interval(settings.every);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        rounds.tick().await;
        let at_ms = now_ms();
        let listed = match docker
            .list_containers(Some(ListContainersOptions::default()))
            .await
        {
            Ok(listed) => listed,
            Err(e) => {
                engine.suspect();
                return Ending::retry(format!(
                    "the sampler cannot list containers: {}",
                    describe(&e)
                ));
            }
        };
        let read = round(&docker, &settings, listed).await;
        let mut containers = Vec::with_capacity(read.len());
        let mut seen: HashMap<String, Counters> = HashMap::with_capacity(read.len());
        for (summary, reading) in read {
            let id = summary.id.clone().unwrap_or_default();
            let before = previous.remove(&id);
            let mut cpu_known = false;
            let stats = reading.map(|(mut stats, counters)| {
                // A difference only between two readings of one run: counters that went
                // down (a restart between rounds) or no time passed measure nothing.
                let cpu = before.and_then(|b| b.percent(&counters, stats.online_cpus));
                cpu_known = cpu.is_some();
                stats.cpu_percent = cpu.unwrap_or(0.0);
                // The pages' last-known figures come from the API's samples only (the files
                // have no network or block figures).
                if cpu_known && counters.from_api {
                    last.record(&id, &stats);
                }
                seen.insert(id.clone(), counters);
                stats
            });
            containers.push(ContainerSample {
                id,
                name: mapping::container_name(
                    summary
                        .names
                        .as_ref()
                        .and_then(|n| n.first())
                        .map(String::as_str)
                        .unwrap_or_default(),
                ),
                image: summary.image.unwrap_or_default(),
                labels: summary.labels.unwrap_or_default().into_iter().collect(),
                state: mapping::text(summary.state.as_ref()),
                health: mapping::health(summary.status.as_deref().unwrap_or_default()).to_string(),
                stats,
                cpu_known,
            });
        }
        // Only the containers running now: a stopped one's counters go with it.
        previous = seen;
        publisher.publish(Frame::Samples(Samples { at_ms, containers }));
    }
}

/// How an engine's sampler reads.
#[derive(Clone, Debug)]
pub struct Sampling {
    pub every: Duration,
    /// The host's cgroup files, tried first (`--sample-from auto`); None: the API only.
    pub cgroups: Option<Cgroups>,
    pub counted: Arc<Sampled>,
}

/// A container's CPU counters, in ns: its own and the machine's.
#[derive(Clone, Copy, Debug)]
struct Counters {
    cpu: u64,
    system: u64,
    /// Read through the API (else from the cgroup files).
    from_api: bool,
}

impl Counters {
    /// CPU % between `self` and `now` as `docker stats` computes it; None when they are not
    /// two readings of one run with time passed (or not from the same source).
    fn percent(self, now: &Counters, online_cpus: u32) -> Option<f64> {
        let follows =
            self.from_api == now.from_api && now.cpu >= self.cpu && now.system > self.system;
        follows.then(|| {
            container_stats::cpu_percent(
                (now.cpu - self.cpu) as f64,
                (now.system - self.system) as f64,
                online_cpus,
            )
        })
    }
}

type Read = (ContainerSummary, Option<(ContainerStats, Counters)>);

/// One round: each container's figures from its cgroup files where they are here, else one
/// sample from the API (a few at a time). None for a container that did not answer, or
/// stopped meanwhile.
async fn round(docker: &Docker, settings: &Sampling, listed: Vec<ContainerSummary>) -> Vec<Read> {
    // Files are read off the runtime's threads: a slow disk holds up no socket.
    let (from_files, rest): (Vec<Read>, Vec<ContainerSummary>) = match settings.cgroups.clone() {
        Some(cgroups) => {
            // Kept for the API, should the reading fail as a whole.
            let all = listed.clone();
            tokio::task::spawn_blocking(move || by_files(&cgroups, listed))
                .await
                .unwrap_or_else(|_| (Vec::new(), all))
        }
        None => (Vec::new(), listed),
    };
    let from_api: Vec<Read> = futures::stream::iter(rest)
        .map(|summary| {
            let docker = docker.clone();
            async move {
                let id = summary.id.clone().unwrap_or_default();
                let sample = one(&docker, &id)
                    .await
                    .filter(|s| !container_stats::is_empty(s));
                let read = sample.map(|sample| {
                    let cpu = sample.cpu_stats.clone().unwrap_or_default();
                    let counters = Counters {
                        cpu: cpu.cpu_usage.and_then(|u| u.total_usage).unwrap_or(0),
                        system: cpu.system_cpu_usage.unwrap_or(0),
                        from_api: true,
                    };
                    (container_stats::compute(&sample), counters)
                });
                (summary, read)
            }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let counted = &settings.counted;
    counted
        .files
        .fetch_add(from_files.len() as u64, Ordering::Relaxed);
    // Samples had, not asked for: one that did not come is not counted.
    let answered = from_api.iter().filter(|(_, read)| read.is_some()).count();
    counted.api.fetch_add(answered as u64, Ordering::Relaxed);
    from_files.into_iter().chain(from_api).collect()
}

/// The containers whose cgroup files are here, read (the machine read once), and the rest.
fn by_files(
    cgroups: &Cgroups,
    listed: Vec<ContainerSummary>,
) -> (Vec<Read>, Vec<ContainerSummary>) {
    let Some(machine) = cgroups.machine() else {
        return (Vec::new(), listed);
    };
    let read_at = app::format::rfc3339(now_ms());
    let mut found = Vec::new();
    let mut rest = Vec::new();
    for summary in listed {
        let id = summary.id.as_deref().unwrap_or_default();
        match cgroups.read(id, &machine) {
            Some(reading) => found.push((summary, Some(from_files(&reading, &read_at)))),
            None => rest.push(summary),
        }
    }
    (found, rest)
}

/// A cgroup reading as the stats a sample gives (CPU % is filled in between rounds).
fn from_files(reading: &Reading, read_at: &str) -> (ContainerStats, Counters) {
    let stats = ContainerStats {
        read: read_at.to_string(),
        cpu_percent: 0.0,
        online_cpus: reading.online_cpus,
        memory_used: reading.memory_used,
        memory_limit: reading.memory_limit,
        net_rx: 0,
        net_tx: 0,
        block_read: 0,
        block_write: 0,
        pids: reading.pids,
    };
    let counters = Counters {
        cpu: reading.cpu_ns,
        system: reading.system_ns,
        from_api: false,
    };
    (stats, counters)
}

/// One sample of a container, at once; None when it stopped meanwhile or did not answer.
async fn one(docker: &Docker, id: &str) -> Option<ContainerStatsResponse> {
    // A full id from the engine's list; checked as any value in a Docker path is.
    let path = path::path(Kind::Container, id).ok()?;
    let options = StatsOptions {
        stream: false,
        one_shot: true,
    };
    let mut stats = docker.stats(&path, Some(options));
    tokio::time::timeout(SAMPLE_TIMEOUT, stats.next())
        .await
        .ok()
        .flatten()
        .and_then(Result::ok)
}
