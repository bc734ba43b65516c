//! One container's log stream (`docker logs --follow`), as log frames.

use super::lines::LineSplitter;
use crate::hub::Publisher;
use app::frames::{Frame, LogLine};
use bollard::{Docker, query_parameters::LogsOptions};
use futures::StreamExt;

/// What a log stream is about and how it is shaped.
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
    let mut seq = 0;
    follow(
        &docker,
        &source,
        tail.to_string(),
        0,
        timestamps,
        &mut |line| {
            seq += 1;
            publisher.publish(&Frame::Log(LogLine { seq, ..line }));
        },
    )
    .await;
    super::container_end_reason(&docker, &source.id).await
}

/// Follows one container's logs until the stream ends, calling `emit` per line (its `seq`
/// is left 0 for the caller to number). `since` is Unix seconds, 0 for all.
pub async fn follow(
    docker: &Docker,
    source: &LogSource,
    tail: String,
    since: i32,
    timestamps: bool,
    emit: &mut (dyn FnMut(LogLine) + Send),
) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        timestamps,
        tail,
        since,
        ..Default::default()
    };
    let mut stream = docker.logs(&source.id, Some(options));
    let mut splitter = LineSplitter::default();
    while let Some(Ok(output)) = stream.next().await {
        splitter.feed(output, timestamps, |raw| {
            emit(LogLine {
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
}
