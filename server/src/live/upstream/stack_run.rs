//! A run's output as a hub (a compose stack's run, an image update): the CLI's lines arrive from the run's own task (which
//! owns the process: see `stacks/runs.rs`) and go out as log frames of one origin, numbered
//! from 1, then `end` with how the run ended. A run that has ended is replayed from its
//! record: the lines it kept, then the same `end`.

use super::batch::MAX_BYTES;
use crate::live::hub::{Ending, Publisher};
use app::{
    frames::{BatchLine, Frame, LogBatch, LogOrigin, LogStream},
    model::StackRun,
};
use tokio::sync::mpsc;

/// What a run's task sends its hub.
pub enum Output {
    Line(LogStream, String),
    End(Ending),
}

/// Lines received at once at most.
const BATCH: usize = 64;

/// Publishes what the run sends until it says how it ended (or is gone: Berth stopping).
pub async fn relay(
    mut lines: mpsc::Receiver<Output>,
    origin: String,
    publisher: Publisher,
) -> Ending {
    let origins = vec![LogOrigin {
        container: origin.clone(),
        name: origin,
        service: None,
    }];
    let mut next = 1;
    let mut received = Vec::with_capacity(BATCH);
    loop {
        if lines.recv_many(&mut received, BATCH).await == 0 {
            return Ending::retry("the run's output stopped: Berth is shutting down");
        }
        let mut batch = Vec::new();
        let mut ending = None;
        for output in received.drain(..) {
            match output {
                Output::Line(stream, text) => batch.push(BatchLine {
                    origin: 0,
                    stream,
                    timestamp: None,
                    text,
                }),
                Output::End(how) => ending = Some(how),
            }
        }
        next = publish(&publisher, &origins, next, batch);
        if let Some(ending) = ending {
            return ending;
        }
    }
}

/// Publishes `lines` numbered from `next`, in frames of at most [`MAX_BYTES`] of text
/// (past it, the next line starts another frame); the number after them.
fn publish(
    publisher: &Publisher,
    origins: &[LogOrigin],
    mut next: u64,
    lines: Vec<BatchLine>,
) -> u64 {
    let mut frame = Vec::new();
    let mut bytes = 0;
    for line in lines {
        bytes += line.text.len();
        frame.push(line);
        if bytes >= MAX_BYTES {
            next = publish_one(publisher, origins, next, std::mem::take(&mut frame));
            bytes = 0;
        }
    }
    publish_one(publisher, origins, next, frame)
}

fn publish_one(
    publisher: &Publisher,
    origins: &[LogOrigin],
    next: u64,
    lines: Vec<BatchLine>,
) -> u64 {
    if lines.is_empty() {
        return next;
    }
    let count = lines.len() as u64;
    publisher.publish(Frame::Logs(LogBatch::new(next, origins.to_vec(), lines)));
    next + count
}

/// A run that has ended, from its record: its last lines, then how it ended.
pub async fn replay(run: Option<StackRun>, origin: String, publisher: Publisher) -> Ending {
    let Some(run) = run else {
        return Ending::done("no such run");
    };
    replay_lines(run.tail, run.outcome, origin, publisher)
}

/// A run's kept lines, then how it ended (a run without an outcome was cut short by Berth
/// stopping).
pub fn replay_lines(
    tail: Vec<String>,
    outcome: Option<String>,
    origin: String,
    publisher: Publisher,
) -> Ending {
    let lines: Vec<BatchLine> = tail
        .into_iter()
        .map(|text| BatchLine {
            origin: 0,
            stream: LogStream::Stdout,
            timestamp: None,
            text,
        })
        .collect();
    let origins = [LogOrigin {
        container: origin.clone(),
        name: origin,
        service: None,
    }];
    publish(&publisher, &origins, 1, lines);
    Ending::done(outcome.unwrap_or_else(|| "interrupted: Berth stopped during the run".to_string()))
}
