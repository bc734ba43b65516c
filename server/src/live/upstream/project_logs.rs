//! A compose project's merged log: every container labelled with the project, each line
//! tagged with its container and service. Containers that start later join the stream: the
//! engine's shared event stream ([`super::events`]) says when. One `SelectAll` merges the
//! per-container streams, so following a project costs no task per container. It starts as
//! a container's hub does ([`super::container_logs`]): every member followed from now, then
//! their histories read once, merged by time and published, then the start with each
//! member's seam.

use super::{
    batch::{self, Batcher, Line},
    boundary::Boundary,
    container_logs::{self, LogSource, Seam},
    events::{self, Next},
    history::{merge, trim},
};
use crate::docker::raw_logs::{LogsApi, LogsQuery};
use crate::{
    docker::{EngineName, engine::Engine},
    live::hub::{Ending, Publisher, Registry, Seams},
};
use app::frames::timestamp_key;
use app::model::{COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL};
use bollard::{Docker, errors::Error as DockerError, query_parameters::ListContainersOptions};
use futures::{
    StreamExt,
    stream::{self, BoxStream, SelectAll},
};
use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
};

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
            name: crate::docker::mapping::container_name(
                c.names
                    .and_then(|n| n.into_iter().next())
                    .as_deref()
                    .unwrap_or_default(),
            ),
            service: c.labels.and_then(|l| l.get(COMPOSE_SERVICE_LABEL).cloned()),
            tty: None,
        })
        .collect())
}

enum Item {
    Line(Line),
    /// A container's stream ended; it may be followed again if it restarts.
    Ended(String),
}

/// A member's lines, then a marker that its stream ended.
fn follow(api: &LogsApi, source: LogSource, tail: String, since: i64) -> BoxStream<'static, Item> {
    let id = source.id.clone();
    member(container_logs::follow(api.clone(), source, tail, since), id)
}

fn member(lines: BoxStream<'static, Line>, id: String) -> BoxStream<'static, Item> {
    lines
        .map(Item::Line)
        .chain(stream::once(async move { Item::Ended(id) }))
        .boxed()
}

/// The members' last `tail` lines in all, merged by time, within `budget` bytes (the oldest
/// go first), and where each member's ended. One read each, one at a time, never holding
/// more than the budget.
async fn histories(
    api: &LogsApi,
    members: &[LogSource],
    tail: usize,
    budget: usize,
) -> (Vec<Line>, Seams) {
    let mut kept: VecDeque<(String, Line)> = VecDeque::new();
    let mut bytes = 0;
    let mut seams = Seams::new();
    for source in members {
        let query = LogsQuery {
            follow: false,
            tail: tail.max(1).to_string(),
            since: 0,
            timestamps: true,
        };
        let mut lines = container_logs::lines(api.clone(), source.clone(), query);
        let mut seam = Seam::default();
        let mut key = String::new();
        let mut read = VecDeque::new();
        while let Some(line) = lines.next().await {
            seam.read(&line);
            if let Some(ts) = &line.raw.timestamp {
                key = timestamp_key(ts);
            }
            if tail > 0 {
                bytes += line.raw.text.len();
                read.push_back((key.clone(), line));
                trim(&mut read, &mut bytes, tail, budget);
            }
        }
        if let Some(Boundary { key, at_key }) = seam.boundary() {
            seams.insert(source.id.clone(), (key, at_key));
        }
        // Both in order: merge, then keep the newest that fit.
        kept = merge(kept, read);
        trim(&mut kept, &mut bytes, tail, budget);
    }
    (kept.into_iter().map(|(_, line)| line).collect(), seams)
}

/// Where the project's engine and its shared event stream are.
pub struct EventSource {
    pub registry: Arc<Registry>,
    pub name: EngineName,
    pub engine: Arc<Engine>,
}

pub async fn run(
    docker: Docker,
    api: LogsApi,
    project: String,
    tail: usize,
    source: EventSource,
    publisher: Publisher,
) -> Ending {
    // Events first, then the listing: a container started in between is in both, and
    // `following` keeps it from being followed twice.
    let mut events = events::subscribe(&source.registry, &source.name, &source.engine);
    let initial = match members(&docker, &project, true).await {
        Ok(members) => members,
        Err(e) => return Ending::retry(format!("Docker engine unreachable: {e}")),
    };
    let mut merged: SelectAll<BoxStream<'static, Item>> = SelectAll::new();
    let mut following = HashSet::new();
    // Members that started again while their previous run's stream had not ended yet: they
    // are followed again when it does.
    let mut restarted: HashMap<String, LogSource> = HashMap::new();
    // When each member last stopped: its next run's lines are the ones after that.
    let mut died: HashMap<String, i64> = HashMap::new();
    // Every member followed from now, then their histories read: see `container_logs`.
    let opened =
        futures::future::join_all(initial.iter().map(|source| {
            container_logs::open_lines(&api, source, container_logs::following("0", 0))
        }))
        .await;
    let mut live = Vec::new();
    for (source, opened) in initial.into_iter().zip(opened) {
        match opened {
            Ok(lines) => live.push((source, lines)),
            // Stopped meanwhile: its next start is an event like any other.
            Err(e) => tracing::debug!(container = %source.id, ?e, "cannot follow a project member"),
        }
    }
    let sources: Vec<LogSource> = live.iter().map(|(source, _)| source.clone()).collect();
    let budget = source.registry.config().bytes;
    let (history, seams) = histories(&api, &sources, tail, budget).await;
    let mut batcher = Batcher::default();
    batcher.publish(&publisher, history);
    for (member_source, lines) in live {
        let seam = seams.get(&member_source.id).map(|(key, at_key)| Boundary {
            key: key.clone(),
            at_key: *at_key,
        });
        following.insert(member_source.id.clone());
        merged.push(member(container_logs::after(lines, seam), member_source.id));
    }
    publisher.start(seams);
    loop {
        tokio::select! {
            Some(items) = batch::next_batch(&mut merged, batch::MAX_LINES), if !merged.is_empty() => {
                let mut lines = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Item::Line(line) => lines.push(line),
                        Item::Ended(id) => {
                            following.remove(&id);
                            if let Some(source) = restarted.remove(&id) {
                                let since = died.remove(&id).unwrap_or(0);
                                following.insert(id);
                                merged.push(follow(&api, source, "all".into(), since));
                            }
                        }
                    }
                }
                batcher.publish(&publisher, lines);
            },
            event = events::next(&mut events) => match event {
                Next::Event(event) => {
                    let ours = event.kind == "container"
                        && event.attributes.get(COMPOSE_PROJECT_LABEL) == Some(&project);
                    if !ours || !matches!(event.action.as_str(), "start" | "die") {
                        continue;
                    }
                    let (id, attributes) = (event.id, event.attributes);
                    let time = event.time_nano / 1_000_000_000;
                    if event.action == "die" {
                        died.insert(id, time);
                        continue;
                    }
                    let source = LogSource {
                        id: id.clone(),
                        name: attributes.get("name").cloned().unwrap_or_default(),
                        service: attributes.get(COMPOSE_SERVICE_LABEL).cloned(),
                        tty: None,
                    };
                    if following.contains(&id) {
                        restarted.insert(id, source);
                        continue;
                    }
                    // From its start: everything it printed since is new to every viewer.
                    let since = died.remove(&id).unwrap_or(time - 1);
                    following.insert(id);
                    merged.push(follow(&api, source, "all".into(), since));
                }
                // A start or die may be among the lost: the viewers reconnect and begin afresh.
                Next::Lagged => return Ending::retry("fell behind the engine's events"),
                Next::Ended(ending) => return ending,
            },
        }
    }
}
