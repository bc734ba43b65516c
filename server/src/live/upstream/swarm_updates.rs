//! A swarm, live: the hub [`HubKey::SwarmUpdates`](crate::live::hub::HubKey) reads the
//! swarm's nodes, services and tasks once, then again after each change Docker reports (its
//! service and node events, and the events of this engine's task containers), and publishes
//! the whole state whenever it differs from the last one sent. One per manager engine,
//! however many viewers; it ends with its last viewer (the hub's business). While an update
//! runs it also reads again every second, since tasks on other nodes send no events here;
//! otherwise every 10 s, for what no event tells (a worker's task dying).

use crate::{
    docker::{
        engine::{Engine, describe},
        swarm,
    },
    live::hub::{Ending, Publisher},
};
use app::frames::{Frame, SwarmLive};
use bollard::{models::EventMessage, query_parameters::EventsOptions};
use futures::StreamExt;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::time::Instant;

/// Events come in bursts (a task's container is created, started, its service updated):
/// one read after the burst settles.
const SETTLE: Duration = Duration::from_millis(200);
/// Reads between events while a rolling update runs, and otherwise.
const UPDATING_EVERY: Duration = Duration::from_secs(1);
const IDLE_EVERY: Duration = Duration::from_secs(10);

/// The label Docker puts on a task's container.
const TASK_SERVICE_LABEL: &str = "com.docker.swarm.service.id";

pub async fn run(engine: Arc<Engine>, publisher: Publisher) -> Ending {
    let docker = match engine.client() {
        Ok(docker) => docker,
        Err(e) => return Ending::retry(e.to_string()),
    };
    // Services and nodes made, changed or removed; task containers made, started or gone.
    let filters = HashMap::from([
        (
            "type".to_string(),
            ["service", "node", "container"].map(String::from).to_vec(),
        ),
        (
            "event".to_string(),
            [
                "create", "update", "remove", "start", "die", "kill", "stop", "destroy",
            ]
            .map(String::from)
            .to_vec(),
        ),
    ]);
    let mut events = docker.events(Some(EventsOptions {
        filters: Some(filters),
        ..Default::default()
    }));
    let mut last: Option<SwarmLive> = None;
    // The first read at once; later ones after events settle, or when the last read is old
    // (kept apart, so events that concern nothing never put the timed read off).
    let mut due = Some(Instant::now());
    let mut next_read = Instant::now();
    loop {
        let wake = due.map_or(next_read, |due| due.min(next_read));
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(message)) if concerns_the_swarm(&message) => {
                    due.get_or_insert_with(|| Instant::now() + SETTLE);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return ended(&engine, &describe(&e)),
                None => return ended(&engine, "the engine closed its event stream"),
            },
            () = tokio::time::sleep_until(wake) => {
                due = None;
                let read = swarm::live(&docker).await;
                next_read = Instant::now() + every(read.as_ref().ok().or(last.as_ref()));
                match read {
                    Ok(now) if !now.swarm.manager => {
                        return Ending::done("this engine no longer manages a swarm");
                    }
                    Ok(now) if last.as_ref() != Some(&now) => {
                        publisher.publish(Frame::Swarm(now.clone()));
                        last = Some(now);
                    }
                    Ok(_) => {}
                    Err(e) => return ended(&engine, &describe(&e)),
                }
            }
        }
    }
}

/// How long until the next read with no event: soon while an update or rollback runs.
fn every(last: Option<&SwarmLive>) -> Duration {
    let updating = last.is_some_and(|l| {
        l.swarm.services.iter().any(|s| {
            matches!(
                s.update_state.as_deref(),
                Some("updating" | "rollback_started")
            )
        })
    });
    match updating {
        true => UPDATING_EVERY,
        false => IDLE_EVERY,
    }
}

/// A service or node event, or one of a task's container.
fn concerns_the_swarm(message: &EventMessage) -> bool {
    match message.typ.map(|t| t.to_string()).as_deref() {
        Some("service" | "node") => true,
        Some("container") => message
            .actor
            .as_ref()
            .and_then(|a| a.attributes.as_ref())
            .is_some_and(|attributes| attributes.contains_key(TASK_SERVICE_LABEL)),
        _ => false,
    }
}

fn ended(engine: &Engine, why: &str) -> Ending {
    engine.suspect();
    Ending::retry(format!("the swarm's events ended: {why}"))
}
