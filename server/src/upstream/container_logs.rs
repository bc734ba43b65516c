//! One container's log stream (`docker logs --follow`), as log frames; [`follow`] is also
//! what a project's merged stream is made of. Read through [`super::raw_logs`], so what a
//! container prints costs at most a line's limit per stream, however it prints it. Lines
//! always carry Docker's timestamp: it is what splices a viewer's older history
//! ([`super::history`]) to the hub's lines, and what a reconnecting browser de-duplicates by.

use super::{
    lines::LineSplitter,
    raw_logs::{LogsApi, LogsError, LogsQuery},
};
use crate::hub::{Ending, Publisher};
use app::frames::{Frame, LogLine};
use bollard::Docker;
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
    /// Whether the container has a TTY (raw output), when known.
    pub tty: Option<bool>,
}

pub async fn run(
    docker: Docker,
    api: LogsApi,
    source: LogSource,
    tail: usize,
    publisher: Publisher,
) -> Ending {
    let mut lines = follow(api, source.clone(), tail.to_string(), 0);
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
    api: LogsApi,
    source: LogSource,
    tail: String,
    since: i64,
) -> BoxStream<'static, LogLine> {
    let query = LogsQuery {
        follow: true,
        tail,
        since,
        timestamps: true,
    };
    lines(api, source, query)
}

/// The lines `query` asks the engine for, until it ends them (or fails: logged, then ended).
pub fn lines(api: LogsApi, source: LogSource, query: LogsQuery) -> BoxStream<'static, LogLine> {
    let timestamps = query.timestamps;
    let (id, tty) = (source.id.clone(), source.tty);
    let opened = async move {
        match api.open(&id, &query, tty).await {
            Ok(pieces) => pieces,
            Err(e) => {
                log_error(&id, &e);
                stream::empty().boxed()
            }
        }
    };
    let mut splitter = LineSplitter::default();
    let id = source.id.clone();
    stream::once(opened)
        .flatten()
        .take_while(move |piece| {
            if let Err(e) = piece {
                log_error(&id, e);
            }
            std::future::ready(piece.is_ok())
        })
        .flat_map(move |piece| {
            let mut lines = Vec::new();
            if let Ok((stream, bytes)) = piece {
                splitter.feed(stream, &bytes, timestamps, |raw| {
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

fn log_error(id: &str, error: &LogsError) {
    tracing::debug!(container = %id, ?error, "log stream ended");
}
