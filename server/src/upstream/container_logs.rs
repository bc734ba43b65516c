//! One container's log stream (`docker logs --follow`), as log frames; [`follow`] is also
//! what a project's merged stream is made of.

use super::lines::LineSplitter;
use crate::hub::Publisher;
use app::frames::{Frame, LogLine};
use bollard::{Docker, query_parameters::LogsOptions};
use futures::{
    StreamExt,
    stream::{self, BoxStream},
};

/// What a log stream is about.
#[derive(Clone, Debug)]
pub struct LogSource {
    pub id: String,
    pub name: String,
    pub service: Option<String>,
}

pub async fn run(
    docker: Docker,
    source: LogSource,
    tail: usize,
    timestamps: bool,
    publisher: Publisher,
) -> String {
    let mut lines = follow(&docker, source.clone(), tail.to_string(), 0, timestamps);
    let mut seq = 0;
    while let Some(line) = lines.next().await {
        seq += 1;
        publisher.publish(&Frame::Log(LogLine { seq, ..line }));
    }
    super::container_end_reason(&docker, &source.id).await
}

/// One container's lines until its log stream ends (container stopped, engine gone). `seq`
/// is left 0 for the hub's numbering; `since` is Unix seconds, 0 for all; `tail` is a line
/// count or `all`.
pub fn follow(
    docker: &Docker,
    source: LogSource,
    tail: String,
    since: i32,
    timestamps: bool,
) -> BoxStream<'static, LogLine> {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        timestamps,
        tail,
        since,
        ..Default::default()
    };
    let mut splitter = LineSplitter::default();
    docker
        .logs(&source.id, Some(options))
        .take_while(|chunk| std::future::ready(chunk.is_ok()))
        .flat_map(move |chunk| {
            let mut lines = Vec::new();
            if let Ok(output) = chunk {
                splitter.feed(output, timestamps, |raw| {
                    lines.push(LogLine {
                        seq: 0,
                        container: source.id.clone(),
                        name: source.name.clone(),
                        service: source.service.clone(),
                        stream: raw.stream,
                        timestamp: raw.timestamp,
                        text: raw.text,
                    })
                });
            }
            stream::iter(lines)
        })
        .boxed()
}
