//! An engine's Docker event stream, read once for everything in Berth that needs events (the
//! container list, project log hubs watching for new members) and passed on as
//! [`Frame::Event`]. It runs as the hub [`HubKey::Events`] of its engine: only while someone
//! subscribes, and gone with the last of them. Its end tells the engine's supervisor to
//! check the engine at once, which is how the supervisor learns of an outage between pings.

use crate::{
    docker::{
        EngineName,
        engine::{Engine, describe},
    },
    live::hub::{Ending, HubKey, Publisher, Registry, Subscription, Who},
};
use app::frames::{EngineEvent, Frame};
use bollard::query_parameters::EventsOptions;
use futures::StreamExt;
use std::{
    collections::HashMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

/// The container actions any consumer reacts to; the rest (an exec every health check, an
/// attach, a resize) never leave the engine. A new consumer adds what it needs here.
const CONTAINER_ACTIONS: [&str; 13] = [
    "create",
    "start",
    "restart",
    "die",
    "stop",
    "kill",
    "pause",
    "unpause",
    "destroy",
    "rename",
    "update",
    "oom",
    // Matched by prefix by the engine: `health_status: healthy` and the like.
    "health_status",
];

/// Joins the engine's event stream as Berth, starting it when nobody reads it yet. Events
/// from the moment of the call on reach the subscription, even when the upstream's request
/// goes out a little later (it asks the engine for events since then).
pub fn subscribe(
    registry: &Arc<Registry>,
    name: &EngineName,
    engine: &Arc<Engine>,
) -> Subscription {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let engine = engine.clone();
    registry.subscribe_as(
        Who::Berth,
        HubKey::Events {
            engine: name.clone(),
        },
        0,
        move |publisher| run(engine, since, publisher),
    )
}

async fn run(engine: Arc<Engine>, since: std::time::Duration, publisher: Publisher) -> Ending {
    let docker = match engine.client() {
        Ok(docker) => docker,
        Err(e) => return Ending::retry(e.to_string()),
    };
    let filters = HashMap::from([
        ("type".to_string(), vec!["container".to_string()]),
        (
            "event".to_string(),
            CONTAINER_ACTIONS.iter().map(|a| a.to_string()).collect(),
        ),
    ]);
    let mut events = docker.events(Some(EventsOptions {
        since: Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos())),
        filters: Some(filters),
        ..Default::default()
    }));
    let ended = loop {
        match events.next().await {
            Some(Ok(message)) => {
                let actor = message.actor.unwrap_or_default();
                let event = EngineEvent {
                    kind: message.typ.map(|t| t.to_string()).unwrap_or_default(),
                    action: message.action.unwrap_or_default(),
                    id: actor.id.unwrap_or_default(),
                    attributes: actor.attributes.unwrap_or_default().into_iter().collect(),
                    time_nano: message
                        .time_nano
                        .or(message.time.map(|t| t * 1_000_000_000))
                        .unwrap_or_default(),
                };
                publisher.publish(Frame::Event(event));
            }
            Some(Err(e)) => break describe(&e),
            None => break "the engine closed its event stream".to_string(),
        }
    };
    engine.suspect();
    Ending::retry(format!("Docker event stream ended: {ended}"))
}

/// The next event of a subscription made by [`subscribe`].
pub enum Next {
    Event(EngineEvent),
    /// Events were dropped for this reader (it fell behind): what it derived may be stale.
    Lagged,
    /// The stream ended (engine gone, shutdown), with why.
    Ended(Ending),
}

/// Reads the next event, skipping nothing else: the events hub sends events and its `end`.
pub async fn next(subscription: &mut Subscription) -> Next {
    use crate::live::hub::queue::RecvError;
    loop {
        match subscription.cursor.recv().await {
            Ok(frame) => {
                if let Some(event) = frame.event() {
                    return Next::Event(event.clone());
                }
                if let Some(ending) = frame.ending() {
                    return Next::Ended(ending.clone());
                }
            }
            Err(RecvError::Lagged { .. }) => return Next::Lagged,
            Err(RecvError::Closed) => return Next::Ended(Ending::retry("event stream closed")),
        }
    }
}
