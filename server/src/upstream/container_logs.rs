//! One container's log stream (`docker logs --follow`), as log frames; [`follow`] is also
//! what a project's merged stream is made of. Read through [`super::raw_logs`], so what a
//! container prints costs at most a line's limit per stream, however it prints it. Lines
//! always carry Docker's timestamp: it is what splices a viewer's older history
//! ([`super::history`]) to the hub's lines, and what a reconnecting browser de-duplicates by.

use super::{
    batch::{self, Batcher, Line},
    lines::LineSplitter,
    raw_logs::{LogsApi, LogsError, LogsQuery},
};
use crate::hub::{Ending, Publisher};
use app::frames::LogOrigin;
use bollard::Docker;
use futures::{
    StreamExt,
    stream::{self, BoxStream},
};
use std::sync::Arc;

/// What a log stream is about.
#[derive(Clone, Debug)]
pub struct LogSource {
    pub id: String,
    pub name: String,
    pub service: Option<String>,
    /// Whether the container has a TTY (raw output), when known.
    pub tty: Option<bool>,
}

impl LogSource {
    /// What its lines say they come from.
    pub fn origin(&self) -> LogOrigin {
        LogOrigin {
            container: self.id.clone(),
            name: self.name.clone(),
            service: self.service.clone(),
        }
    }
}

pub async fn run(
    docker: Docker,
    api: LogsApi,
    source: LogSource,
    tail: usize,
    publisher: Publisher,
) -> Ending {
    let mut lines = follow(api, source.clone(), tail.to_string(), 0).fuse();
    let mut batcher = Batcher::default();
    while let Some(lines) = batch::next_batch(&mut lines, batch::MAX_LINES).await {
        batcher.publish(&publisher, lines);
    }
    super::container_end_reason(&docker, &source.id).await
}

/// One container's lines until its log stream ends (container stopped, engine gone);
/// `since` is Unix seconds, 0 for all; `tail` is a line count or `all`.
pub fn follow(
    api: LogsApi,
    source: LogSource,
    tail: String,
    since: i64,
) -> BoxStream<'static, Line> {
    let query = LogsQuery {
        follow: true,
        tail,
        since,
        timestamps: true,
    };
    lines(api, source, query)
}

/// The lines `query` asks the engine for, until it ends them (or fails: logged, then ended).
/// Every line shares one origin.
pub fn lines(api: LogsApi, source: LogSource, query: LogsQuery) -> BoxStream<'static, Line> {
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
    let origin = Arc::new(source.origin());
    let id = source.id;
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
                    lines.push(Line {
                        origin: origin.clone(),
                        raw,
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
