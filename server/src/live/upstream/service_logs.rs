//! A swarm service's merged log (`docker service logs --follow`): one upstream for every
//! task's lines, read through [`crate::docker::raw_logs`] like a container's, so a line is bounded
//! the same way. Docker leads each line with its details (`com.docker.swarm.task.id=…`);
//! they are taken off and the task named as `docker service ps` does (`web.1`), in the
//! line's `service` field, so the log viewer gives each replica its own colour.

use super::{
    batch::{self, Batcher, Line},
    lines::LineSplitter,
};
use crate::docker::raw_logs::{LogsApi, LogsQuery};
use crate::{
    docker::swarm::{task_name, tasks},
    live::hub::{Ending, Publisher},
};
use app::frames::LogOrigin;
use bollard::Docker;
use futures::StreamExt;
use std::{collections::HashMap, sync::Arc};

/// What a service log stream is about.
#[derive(Clone, Debug)]
pub struct ServiceSource {
    pub id: String,
    pub name: String,
}

pub async fn run(
    docker: Docker,
    api: LogsApi,
    source: ServiceSource,
    tail: usize,
    publisher: Publisher,
) -> Ending {
    let mut names = TaskNames::default();
    names.refresh(&docker, &source).await;
    let query = LogsQuery {
        follow: true,
        tail: tail.to_string(),
        since: 0,
        timestamps: true,
    };
    let mut pieces = match api.open_service(&source.id, &query).await {
        Ok(pieces) => pieces.fuse(),
        Err(e) => return Ending::retry(format!("service log stream failed: {e:?}")),
    };
    let mut splitter = LineSplitter::default();
    let mut batcher = Batcher::default();
    // Pieces already waiting are read together: their lines go out as one frame.
    while let Some(read) = batch::next_batch(&mut pieces, 64).await {
        let mut raws = Vec::new();
        let mut broken = false;
        for piece in read {
            let Ok((stream, bytes)) = piece else {
                broken = true;
                break;
            };
            splitter.feed(stream, &bytes, true, |raw| raws.push(raw));
        }
        let mut lines = Vec::with_capacity(raws.len());
        for mut raw in raws {
            let (task, text) = details(&raw.text);
            if !names.knows(task) {
                // A task started since (a rescheduled replica): learn its name once.
                names.refresh(&docker, &source).await;
            }
            let origin = names.origin(task, &source.name);
            raw.text = text.to_string();
            lines.push(Line { origin, raw });
        }
        batcher.publish(&publisher, lines);
        if broken {
            break;
        }
    }
    let path = crate::docker::path::path(crate::docker::path::Kind::Service, &source.id);
    let Ok(path) = path else {
        return Ending::done(format!("not a service id: {:?}", source.id));
    };
    match docker.inspect_service(&path, None).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ending::done("service removed"),
        Ok(_) => Ending::retry("log stream closed by the engine"),
        Err(e) => Ending::retry(format!("Docker engine unreachable: {e}")),
    }
}

/// The task id from a line's details, and the line without them. A line without details
/// (an engine that sends none) keeps its text and an empty task.
fn details(text: &str) -> (&str, &str) {
    let Some((details, rest)) = text.split_once(' ') else {
        return ("", text);
    };
    if !details.starts_with("com.docker.swarm.") {
        return ("", text);
    }
    let task = details
        .split(',')
        .find_map(|kv| kv.strip_prefix("com.docker.swarm.task.id="))
        .unwrap_or_default();
    (task, rest)
}

/// Task ids to `service.slot` names, refreshed when an unknown task speaks (at most once
/// per unknown id, so a task the list no longer has cannot make every line a request); and
/// each task's origin, made once and shared by its lines.
#[derive(Default)]
struct TaskNames {
    names: HashMap<String, String>,
    origins: HashMap<String, Arc<LogOrigin>>,
}

impl TaskNames {
    async fn refresh(&mut self, docker: &Docker, source: &ServiceSource) {
        if let Ok(list) = tasks(docker, &source.id).await {
            self.origins.clear();
            for task in list {
                if let Some(id) = task.id.clone() {
                    self.names.insert(id, task_name(&source.name, &task));
                }
            }
        }
    }

    fn knows(&mut self, task: &str) -> bool {
        if task.is_empty() || self.names.contains_key(task) {
            return true;
        }
        // Asked once; named by its short id if the list does not have it either.
        let fallback = format!("task {}", app::model::short_id(task));
        self.names.insert(task.to_string(), fallback);
        false
    }

    /// A task's lines come from the task, named `service.slot` (the service's name for a
    /// line without details).
    fn origin(&mut self, task: &str, service: &str) -> Arc<LogOrigin> {
        if let Some(origin) = self.origins.get(task) {
            return origin.clone();
        }
        let name = self
            .names
            .get(task)
            .cloned()
            .unwrap_or_else(|| service.to_string());
        let origin = Arc::new(LogOrigin {
            container: task.to_string(),
            name: service.to_string(),
            service: Some(name),
        });
        self.origins.insert(task.to_string(), origin.clone());
        origin
    }
}

#[cfg(test)]
mod tests {
    use super::details;

    #[test]
    fn details_are_taken_off_the_line() {
        assert_eq!(
            details(
                "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 hello world"
            ),
            ("t1", "hello world")
        );
        assert_eq!(details("plain line"), ("", "plain line"));
        assert_eq!(details("single"), ("", "single"));
    }
}
