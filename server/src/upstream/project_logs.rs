//! A compose project's merged log: every container labelled with the project, each line
//! tagged with its container and service. Containers that start later join the stream: the
//! events API says when. One `SelectAll` merges the per-container streams, so following a
//! project costs no task per container.

use super::container_logs::{self, LogSource};
use crate::hub::Publisher;
use app::{
    frames::{Frame, LogLine},
    model::{COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL},
};
use bollard::{
    Docker,
    errors::Error as DockerError,
    query_parameters::{EventsOptions, ListContainersOptions},
};
use futures::{
    StreamExt,
    stream::{self, BoxStream, SelectAll},
};
use std::collections::{HashMap, HashSet};

fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{COMPOSE_PROJECT_LABEL}={project}")],
    )])
}

/// The project's containers (running only, unless `all`).
pub async fn members(
    docker: &Docker,
    project: &str,
    running_only: bool,
) -> Result<Vec<LogSource>, DockerError> {
    let options = ListContainersOptions {
        all: !running_only,
        filters: Some(project_filter(project)),
        ..Default::default()
    };
    Ok(docker
        .list_containers(Some(options))
        .await?
        .into_iter()
        .map(|c| LogSource {
            id: c.id.unwrap_or_default(),
            name: crate::inventory::container_name(
                c.names
                    .and_then(|n| n.into_iter().next())
                    .as_deref()
                    .unwrap_or_default(),
            ),
            service: c.labels.and_then(|l| l.get(COMPOSE_SERVICE_LABEL).cloned()),
        })
        .collect())
}

enum Item {
    Line(LogLine),
    /// A container's stream ended; it may be followed again if it restarts.
    Ended(String),
}

/// A member's lines, then a marker that its stream ended.
fn follow(
    docker: &Docker,
    source: LogSource,
    tail: String,
    since: i32,
    timestamps: bool,
) -> BoxStream<'static, Item> {
    let id = source.id.clone();
    container_logs::follow(docker, source, tail, since, timestamps)
        .map(Item::Line)
        .chain(stream::once(async move { Item::Ended(id) }))
        .boxed()
}

pub async fn run(
    docker: Docker,
    project: String,
    tail: usize,
    timestamps: bool,
    publisher: Publisher,
) -> String {
    // Subscribe to starts before listing, so a container starting in between is not missed
    // (following it twice is prevented by `following`).
    let mut filters = project_filter(&project);
    filters.insert("type".into(), vec!["container".into()]);
    filters.insert("event".into(), vec!["start".into()]);
    let mut events = docker.events(Some(EventsOptions {
        filters: Some(filters),
        ..Default::default()
    }));
    let initial = match members(&docker, &project, true).await {
        Ok(members) => members,
        Err(e) => return format!("Docker engine unreachable: {e}"),
    };
    let mut merged: SelectAll<BoxStream<'static, Item>> = SelectAll::new();
    let mut following = HashSet::new();
    for source in initial {
        following.insert(source.id.clone());
        merged.push(follow(&docker, source, tail.to_string(), 0, timestamps));
    }
    let mut seq = 0;
    loop {
        tokio::select! {
            Some(item) = merged.next(), if !merged.is_empty() => match item {
                Item::Line(line) => {
                    seq += 1;
                    publisher.publish(&Frame::Log(LogLine { seq, ..line }));
                }
                Item::Ended(id) => {
                    following.remove(&id);
                }
            },
            event = events.next() => match event {
                Some(Ok(event)) => {
                    let Some(actor) = event.actor else { continue };
                    let Some(id) = actor.id else { continue };
                    if !following.insert(id.clone()) {
                        continue;
                    }
                    let attributes = actor.attributes.unwrap_or_default();
                    let source = LogSource {
                        id,
                        name: attributes.get("name").cloned().unwrap_or_default(),
                        service: attributes.get(COMPOSE_SERVICE_LABEL).cloned(),
                    };
                    // From its start: everything it printed since is new to every viewer.
                    let since = event.time.unwrap_or(0).saturating_sub(1) as i32;
                    merged.push(follow(&docker, source, "all".into(), since, timestamps));
                }
                Some(Err(e)) => return format!("Docker engine unreachable: {e}"),
                None => return "Docker engine event stream ended".into(),
            },
        }
    }
}
