//! Log lines to `logs` frames. An upstream takes every line already waiting ([`next_batch`]:
//! one at low rates, so waiting never adds latency; a whole read's worth when the container
//! is busy) and a [`Batcher`] numbers them and publishes them as few frames as the caps allow.
//! The origin (container, name, service) is shared by its lines and written once per frame.

use super::lines::RawLine;
use crate::live::hub::Publisher;
use app::frames::{BatchLine, Frame, LogBatch, LogOrigin};
use futures::{Stream, StreamExt};
use std::{sync::Arc, task::Poll};

/// The most lines one frame carries.
pub const MAX_LINES: usize = 1000;
/// A frame closes once its text reaches this many bytes (a line is at most 16 KiB more).
pub const MAX_BYTES: usize = 64 * 1024;

/// A line and where it comes from; the origin is shared, never copied per line.
pub struct Line {
    pub origin: Arc<LogOrigin>,
    pub raw: RawLine,
}

/// Numbers a hub's lines (from 1, as every viewer of the hub sees them) and publishes them
/// in frames.
#[derive(Default)]
pub struct Batcher {
    /// Lines published so far.
    published: u64,
}

impl Batcher {
    /// Publishes `lines` in order, as one frame or, past a cap, several.
    pub fn publish(&mut self, publisher: &Publisher, lines: impl IntoIterator<Item = Line>) {
        for batch in batches(self.published + 1, lines) {
            self.published += batch.lines.len() as u64;
            publisher.publish(Frame::Logs(batch));
        }
    }
}

/// `lines` in order as batches numbered from `first`, as few as the caps allow.
pub fn batches(first: u64, lines: impl IntoIterator<Item = Line>) -> Vec<LogBatch> {
    let mut done = Vec::new();
    let mut origins: Vec<Arc<LogOrigin>> = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    let mut next = first;
    let mut close = |origins: &mut Vec<Arc<LogOrigin>>, batch: &mut Vec<BatchLine>| {
        if !batch.is_empty() {
            let origins = origins.drain(..).map(|o| (*o).clone()).collect();
            let lines = std::mem::take(batch);
            let count = lines.len() as u64;
            done.push(LogBatch::new(next, origins, lines));
            next += count;
        }
    };
    for Line { origin, raw } in lines {
        let index = match origins.iter().position(|o| Arc::ptr_eq(o, &origin)) {
            Some(index) => index,
            None => {
                origins.push(origin);
                origins.len() - 1
            }
        };
        bytes += raw.text.len();
        batch.push(BatchLine {
            origin: index as u32,
            stream: raw.stream,
            timestamp: raw.timestamp,
            text: raw.text,
        });
        if batch.len() >= MAX_LINES || bytes >= MAX_BYTES {
            close(&mut origins, &mut batch);
            bytes = 0;
        }
    }
    close(&mut origins, &mut batch);
    done
}

/// The next items of `stream`: waits for one, then takes every one already waiting, up to
/// `max`. None once the stream has ended (the stream must be fused: it may be polled again
/// after ending, when its last items came in a batch).
pub async fn next_batch<S>(stream: &mut S, max: usize) -> Option<Vec<S::Item>>
where
    S: Stream + Unpin,
{
    let mut batch = Vec::new();
    std::future::poll_fn(|cx| {
        while batch.len() < max {
            match stream.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => batch.push(item),
                Poll::Ready(None) => break,
                Poll::Pending if batch.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        Poll::Ready(())
    })
    .await;
    (!batch.is_empty()).then_some(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::frames::LogStream;
    use futures::stream;

    fn line(origin: &Arc<LogOrigin>, text: String) -> Line {
        Line {
            origin: origin.clone(),
            raw: RawLine {
                stream: LogStream::Stdout,
                timestamp: None,
                text,
            },
        }
    }

    #[test]
    fn batches_number_lines_name_origins_once_and_respect_the_caps() {
        let origin = |c: &str| {
            Arc::new(LogOrigin {
                container: c.into(),
                name: c.into(),
                service: None,
            })
        };
        let (a, b) = (origin("a"), origin("b"));
        let lines = (0..2500).map(|i| line(if i % 2 == 0 { &a } else { &b }, format!("{i}")));
        let made = batches(5, lines);
        let counts: Vec<_> = made.iter().map(|b| (b.first, b.count)).collect();
        assert_eq!(counts, [(5, 1000), (1005, 1000), (2005, 500)]);
        assert!(made.iter().all(|b| b.origins.len() == 2));
        let last = made[2].clone().into_lines().last().unwrap();
        assert_eq!(
            (last.seq, last.container.as_str(), last.text.as_str()),
            (2504, "b", "2499")
        );
        // 16 KiB lines: four of them reach the byte cap.
        let long = (0..6).map(|_| line(&a, "x".repeat(16 * 1024)));
        let counts: Vec<_> = batches(1, long).iter().map(|b| b.count).collect();
        assert_eq!(counts, [4, 2]);
    }

    #[tokio::test]
    async fn a_batch_is_what_is_waiting_and_never_waits_for_more() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<u32>();
        let mut rx = rx.fuse();
        for n in 0..5 {
            tx.unbounded_send(n).unwrap();
        }
        assert_eq!(next_batch(&mut rx, 3).await, Some(vec![0, 1, 2]), "the cap");
        assert_eq!(next_batch(&mut rx, 3).await, Some(vec![3, 4]), "what waits");
        let later = tokio::spawn(async move {
            let batch = next_batch(&mut rx, 3).await;
            (batch, next_batch(&mut rx, 3).await)
        });
        tokio::task::yield_now().await;
        tx.unbounded_send(9).unwrap();
        tokio::task::yield_now().await;
        drop(tx);
        let (one, ended) = later.await.unwrap();
        assert_eq!(one, Some(vec![9]), "one line at low rates");
        assert_eq!(ended, None);
        let mut done = stream::iter([1, 2]).fuse();
        assert_eq!(next_batch(&mut done, 10).await, Some(vec![1, 2]));
        assert_eq!(next_batch(&mut done, 10).await, None);
    }
}
