//! One container's log stream (`docker logs --follow`), as log frames; [`follow`] is also
//! what a project's merged stream is made of. Read through [`crate::docker::raw_logs`], so what a
//! container prints costs at most a line's limit per stream, however it prints it. Lines
//! always carry Docker's timestamp: it is what splices a viewer's older history
//! ([`super::history`]) to the hub's lines, and what a reconnecting browser de-duplicates by.
//!
//! A hub starts in two steps, so that where its first history ends is known: it follows
//! from now (no history), then reads the last `tail` lines once and publishes them, then
//! marks its start with that history's seam ([`crate::live::hub::Publisher::start`]) and goes on
//! with the followed lines past the seam. A line written in between is in both reads and
//! is published once; none is in neither.

use super::{
    batch::{self, Batcher, Line},
    boundary::Boundary,
    lines::LineSplitter,
};
use crate::docker::{
    EngineName,
    engine::Engine,
    mapping,
    raw_logs::{LogsApi, LogsError, LogsQuery},
};
use crate::error::Error;
use crate::live::hub::{Ending, HubKey, Publisher, Registry, Seams, Subscription, Who};
use app::frames::{LogOrigin, timestamp_key};
use app::model::COMPOSE_SERVICE_LABEL;
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

/// What a log hub needs to know of a container (`reference`: its name or id), from the
/// engine.
pub async fn source(engine: &Engine, reference: &str) -> Result<LogSource, Error> {
    let c = mapping::inspect(engine, reference).await?;
    let config = c.config.unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    Ok(LogSource {
        id: c.id.unwrap_or_default(),
        name: mapping::container_name(&c.name.unwrap_or_default()),
        service: labels.get(COMPOSE_SERVICE_LABEL).cloned(),
        tty: config.tty,
    })
}

/// Joins the log hub of `source`'s container as `who` (a viewer's socket, or an alert
/// rule), starting it when nobody reads it yet: however many read, one Docker stream.
pub fn subscribe(
    registry: &Arc<Registry>,
    who: Who,
    engine: &EngineName,
    docker: Docker,
    api: LogsApi,
    source: LogSource,
    tail: usize,
) -> Subscription {
    let key = HubKey::ContainerLogs {
        engine: engine.clone(),
        container: source.id.clone(),
    };
    registry.subscribe_as(who, key, tail, move |publisher| {
        run(docker, api, source, tail, publisher)
    })
}

async fn run(
    docker: Docker,
    api: LogsApi,
    source: LogSource,
    tail: usize,
    publisher: Publisher,
) -> Ending {
    let live = match open_lines(&api, &source, following("0", 0)).await {
        Ok(live) => live,
        Err(e) => {
            log_error(&source.id, &e);
            publisher.start(Seams::new());
            return super::container_end_reason(&docker, &source.id).await;
        }
    };
    let mut batcher = Batcher::default();
    let seam = publish_history(&api, &source, tail, &publisher, &mut batcher).await;
    publisher.start(seams(&source, seam.as_ref()));
    let mut lines = after(live, seam).fuse();
    while let Some(lines) = batch::next_batch(&mut lines, batch::MAX_LINES).await {
        batcher.publish(&publisher, lines);
    }
    super::container_end_reason(&docker, &source.id).await
}

/// A hub's seams when its one container's history ended at `seam`.
pub fn seams(source: &LogSource, seam: Option<&Boundary>) -> Seams {
    seam.map(|b| (source.id.clone(), (b.key.clone(), b.at_key)))
        .into_iter()
        .collect()
}

/// A follow request from `since` (Unix seconds, 0 for all), after `tail` lines.
pub fn following(tail: &str, since: i64) -> LogsQuery {
    LogsQuery {
        follow: true,
        tail: tail.to_string(),
        since,
        timestamps: true,
    }
}

/// Reads the last `tail` lines once and publishes them as they come (none when `tail` is
/// 0: the last line is still read, to know where the history ends); where it ended.
pub async fn publish_history(
    api: &LogsApi,
    source: &LogSource,
    tail: usize,
    publisher: &Publisher,
    batcher: &mut Batcher,
) -> Option<Boundary> {
    let query = LogsQuery {
        follow: false,
        tail: tail.max(1).to_string(),
        since: 0,
        timestamps: true,
    };
    let mut lines = lines(api.clone(), source.clone(), query).fuse();
    let mut seam = Seam::default();
    while let Some(batch) = batch::next_batch(&mut lines, batch::MAX_LINES).await {
        for line in &batch {
            seam.read(line);
        }
        if tail > 0 {
            batcher.publish(publisher, batch);
        }
    }
    seam.boundary()
}

/// Where lines read in order ended: the last one's key, and how many had it.
#[derive(Default)]
pub struct Seam {
    key: String,
    at_key: usize,
}

impl Seam {
    pub fn read(&mut self, line: &Line) {
        // A continuation of a cut line has no timestamp: it sorts with the line before.
        match &line.raw.timestamp {
            Some(ts) => {
                let key = timestamp_key(ts);
                if key == self.key {
                    self.at_key += 1;
                } else {
                    self.key = key;
                    self.at_key = 1;
                }
            }
            None => self.at_key += 1,
        }
    }

    pub fn boundary(self) -> Option<Boundary> {
        (self.at_key > 0).then_some(Boundary {
            key: self.key,
            at_key: self.at_key,
        })
    }
}

/// `lines` from past `seam` on: the ones the history already had are skipped.
pub fn after(lines: BoxStream<'static, Line>, seam: Option<Boundary>) -> BoxStream<'static, Line> {
    let Some(seam) = seam else { return lines };
    let mut reader = seam.reader();
    let mut key = String::new();
    let mut past = false;
    lines
        .filter(move |line| {
            if !past {
                if let Some(ts) = &line.raw.timestamp {
                    key = timestamp_key(ts);
                }
                past = !reader.older(&key);
            }
            std::future::ready(past)
        })
        .boxed()
}

/// One container's lines until its log stream ends (container stopped, engine gone);
/// `since` is Unix seconds, 0 for all; `tail` is a line count or `all`.
pub fn follow(
    api: LogsApi,
    source: LogSource,
    tail: String,
    since: i64,
) -> BoxStream<'static, Line> {
    lines(api, source, following(&tail, since))
}

/// The lines `query` asks the engine for, until it ends them (or fails: logged, then ended).
/// Every line shares one origin. The request is sent when the stream is first polled.
pub fn lines(api: LogsApi, source: LogSource, query: LogsQuery) -> BoxStream<'static, Line> {
    let id = source.id.clone();
    stream::once(async move {
        match open_lines(&api, &source, query).await {
            Ok(lines) => lines,
            Err(e) => {
                log_error(&id, &e);
                stream::empty().boxed()
            }
        }
    })
    .flatten()
    .boxed()
}

/// As [`lines`], once the engine has answered the request: a follow request's lines from
/// then on all come through the stream.
pub async fn open_lines(
    api: &LogsApi,
    source: &LogSource,
    query: LogsQuery,
) -> Result<BoxStream<'static, Line>, LogsError> {
    let timestamps = query.timestamps;
    let pieces = api.open(&source.id, &query, source.tty).await?;
    let mut splitter = LineSplitter::default();
    let origin = Arc::new(source.origin());
    let id = source.id.clone();
    Ok(pieces
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
        .boxed())
}

fn log_error(id: &str, error: &LogsError) {
    tracing::debug!(container = %id, ?error, "log stream ended");
}
