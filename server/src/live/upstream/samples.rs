//! An engine's sampler: one stats sample of each running container per interval, published
//! as one [`Frame::Samples`] round for everything in Berth that needs figures while nobody
//! watches (alert rules on CPU and memory). It runs as the hub [`HubKey::Samples`] of its
//! engine, only while someone reads it, so however many rules read it, it costs one list
//! and one short request per container per interval, never a stream per container or rule.
//!
//! A sample is asked for with `stream=false&one-shot=true`, which the engine answers at once
//! (without it, it waits a second for a second reading); CPU is then the difference between
//! two rounds, computed as `docker stats` computes it between two readings. What a round
//! finds is also the pages' last-known figures, as a stats stream's samples are.

use super::{container_stats, last_known::LastContainerStats};
use crate::{
    accounts::now_ms,
    docker::{
        EngineName,
        engine::{Engine, describe},
        mapping,
        path::{self, Kind},
    },
    live::hub::{Ending, HubKey, Publisher, Registry, Subscription, Who},
};
use app::frames::{ContainerSample, Frame, Samples};
use bollard::{
    Docker,
    models::{ContainerCpuStats, ContainerStatsResponse},
    query_parameters::{ListContainersOptions, StatsOptions},
};
use futures::StreamExt;
use std::{collections::HashMap, sync::Arc, time::Duration};

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
    let every = registry.config().sample_every;
    registry.subscribe_as(
        Who::Berth,
        HubKey::Samples {
            engine: name.clone(),
        },
        0,
        move |publisher| run(engine, every, publisher, last),
    )
}

async fn run(
    engine: Arc<Engine>,
    every: Duration,
    publisher: Publisher,
    last: Arc<LastContainerStats>,
) -> Ending {
    let docker = match engine.client() {
        Ok(docker) => docker,
        Err(e) => return Ending::retry(e.to_string()),
    };
    // Each container's CPU counters at the previous round, for the next one's difference.
    let mut previous: HashMap<String, ContainerCpuStats> = HashMap::new();
    let mut rounds = tokio::time::interval(every);
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
        let read: Vec<_> = futures::stream::iter(listed)
            .map(|summary| {
                let docker = docker.clone();
                async move {
                    let id = summary.id.clone().unwrap_or_default();
                    (summary, one(&docker, &id).await)
                }
            })
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        let mut containers = Vec::with_capacity(read.len());
        let mut seen: HashMap<String, ContainerCpuStats> = HashMap::with_capacity(read.len());
        for (summary, sample) in read {
            let id = summary.id.clone().unwrap_or_default();
            let before = previous.remove(&id);
            let mut cpu_known = false;
            let stats = sample
                .filter(|s| !container_stats::is_empty(s))
                .map(|mut sample| {
                    let cpu = sample.cpu_stats.clone().unwrap_or_default();
                    // A difference only between two readings of one run: counters that went
                    // down (a restart between rounds) or no time passed measure nothing.
                    cpu_known = before.as_ref().is_some_and(|b| counts_on(b, &cpu));
                    sample.precpu_stats = before;
                    let stats = container_stats::compute(&sample);
                    if cpu_known {
                        last.record(&id, &stats);
                    }
                    seen.insert(id.clone(), cpu);
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

/// Whether `now` follows `before` in one run of a container, with time passed.
fn counts_on(before: &ContainerCpuStats, now: &ContainerCpuStats) -> bool {
    let total = |c: &ContainerCpuStats| c.cpu_usage.as_ref().and_then(|u| u.total_usage);
    let system = |c: &ContainerCpuStats| c.system_cpu_usage;
    matches!((total(before), total(now)), (Some(a), Some(b)) if b >= a)
        && matches!((system(before), system(now)), (Some(a), Some(b)) if b > a)
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
