//! A swarm service's merged log (`docker service logs --follow`): one upstream for every
//! task's lines, read through [`super::raw_logs`] like a container's, so a line is bounded
//! the same way. Docker leads each line with its details (`com.docker.swarm.task.id=…`);
//! they are taken off and the task named as `docker service ps` does (`web.1`), in the
//! line's `service` field, so the log viewer gives each replica its own colour.

use super::{
    lines::LineSplitter,
    raw_logs::{LogsApi, LogsQuery},
};
use crate::{
    docker::swarm::{task_name, tasks},
    hub::{Ending, Publisher},
};
use app::frames::{Frame, LogLine};
use bollard::Docker;
use futures::StreamExt;
use std::collections::HashMap;

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
        Ok(pieces) => pieces,
        Err(e) => return Ending::retry(format!("service log stream failed: {e:?}")),
    };
    let mut splitter = LineSplitter::default();
    let mut seq = 0;
    while let Some(piece) = pieces.next().await {
        let Ok((stream, bytes)) = piece else {
            break;
        };
        let mut lines = Vec::new();
        splitter.feed(stream, &bytes, true, |raw| lines.push(raw));
        for raw in lines {
            let (task, text) = details(&raw.text);
            if !names.knows(task) {
                // A task started since (a rescheduled replica): learn its name once.
                names.refresh(&docker, &source).await;
            }
            seq += 1;
            publisher.publish(&Frame::Log(LogLine {
                seq,
                container: task.to_string(),
                name: source.name.clone(),
                service: Some(names.name(task, &source.name)),
                stream: raw.stream,
                timestamp: raw.timestamp,
                text: text.to_string(),
            }));
        }
    }
    match docker.inspect_service(&source.id, None).await {
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
/// per unknown id, so a task the list no longer has cannot make every line a request).
#[derive(Default)]
struct TaskNames {
    names: HashMap<String, String>,
}

impl TaskNames {
    async fn refresh(&mut self, docker: &Docker, source: &ServiceSource) {
        if let Ok(list) = tasks(docker, &source.id).await {
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

    fn name(&self, task: &str, service: &str) -> String {
        self.names
            .get(task)
            .cloned()
            .unwrap_or_else(|| service.to_string())
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
