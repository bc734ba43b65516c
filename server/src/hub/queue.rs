//! A hub's one buffer of serialized frames: the history late joiners read and the queue live
//! clients read, bounded in frames *and* bytes. Every frame has a position; a client is a
//! cursor. A client that falls more than `capacity` frames behind, or whose next frame was
//! evicted by the byte budget, loses the oldest and is told how many (as tokio's broadcast
//! would); the publisher never waits for anyone. One buffer instead of a broadcast channel
//! plus a ring means one budget covers both, and a frame held for history and for a slow
//! client is stored once.

use axum::extract::ws::Utf8Bytes;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// How far (in frames) a live client may fall behind before it loses the oldest.
    pub capacity: usize,
    /// Frames kept for clients that join later.
    pub history: usize,
    /// Bytes held in all: history and queue together. The newest frame is always kept.
    pub bytes: usize,
}

struct Buffer {
    frames: VecDeque<Utf8Bytes>,
    /// Position of `frames[0]`.
    first: u64,
    bytes: usize,
    closed: bool,
}

impl Buffer {
    fn end(&self) -> u64 {
        self.first + self.frames.len() as u64
    }
}

pub struct Queue {
    limits: QueueLimits,
    buffer: Mutex<Buffer>,
    notify: Notify,
}

/// Why [`Cursor::recv`] returned no frame.
#[derive(Debug, PartialEq, Eq)]
pub enum RecvError {
    /// `missed` frames were dropped for this client. `history` says they were part of the
    /// backlog it asked for on joining, not live frames it was too slow for.
    Lagged { missed: u64, history: bool },
    /// Every frame was read and no more will come.
    Closed,
}

impl Queue {
    pub fn new(limits: QueueLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            buffer: Mutex::new(Buffer {
                frames: VecDeque::new(),
                first: 0,
                bytes: 0,
                closed: false,
            }),
            notify: Notify::new(),
        })
    }

    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a frame and wakes every waiting client. Never blocks on a client.
    pub fn push(&self, frame: Utf8Bytes) {
        let keep = self.limits.capacity.max(self.limits.history).max(1);
        {
            let mut buffer = self.buffer();
            if buffer.closed {
                return;
            }
            buffer.bytes += frame.len();
            buffer.frames.push_back(frame);
            while buffer.frames.len() > keep
                || (buffer.bytes > self.limits.bytes && buffer.frames.len() > 1)
            {
                let old = buffer.frames.pop_front().expect("not empty");
                buffer.bytes -= old.len();
                buffer.first += 1;
            }
        }
        self.notify.notify_waiters();
    }

    /// No more frames: clients read what is left, then get [`RecvError::Closed`].
    pub fn close(&self) {
        self.buffer().closed = true;
        self.notify.notify_waiters();
    }

    /// A cursor that starts with the last `tail` frames held (at most the history size).
    pub fn cursor(self: &Arc<Self>, tail: usize) -> Cursor {
        let buffer = self.buffer();
        let end = buffer.end();
        let backlog = tail.min(self.limits.history).min(buffer.frames.len()) as u64;
        Cursor {
            queue: self.clone(),
            next: end - backlog,
            history_end: end,
        }
    }

    /// Bytes and frames held now.
    pub fn held(&self) -> (usize, usize) {
        let buffer = self.buffer();
        (buffer.bytes, buffer.frames.len())
    }
}

/// One client's position in a [`Queue`].
pub struct Cursor {
    queue: Arc<Queue>,
    next: u64,
    /// Frames before this position are the backlog asked for on joining: reading them may
    /// take long and is exempt from the live capacity rule.
    history_end: u64,
}

impl Cursor {
    fn take(&mut self) -> Option<Result<Utf8Bytes, RecvError>> {
        let buffer = self.queue.buffer();
        if self.next < buffer.first {
            let missed = buffer.first - self.next;
            let history = self.next < self.history_end;
            self.next = buffer.first;
            return Some(Err(RecvError::Lagged { missed, history }));
        }
        let end = buffer.end();
        let live_from = self.next.max(self.history_end);
        let capacity = self.queue.limits.capacity as u64;
        if end.saturating_sub(live_from) > capacity {
            let resume = end - capacity;
            let missed = resume - self.next;
            self.next = resume;
            return Some(Err(RecvError::Lagged {
                missed,
                history: false,
            }));
        }
        if self.next < end {
            let frame = buffer.frames[(self.next - buffer.first) as usize].clone();
            self.next += 1;
            return Some(Ok(frame));
        }
        buffer.closed.then_some(Err(RecvError::Closed))
    }

    /// The next frame; waits while there is none.
    pub async fn recv(&mut self) -> Result<Utf8Bytes, RecvError> {
        let queue = self.queue.clone();
        loop {
            // Registered before looking, so a push between the look and the wait wakes us.
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(result) = self.take() {
                return result;
            }
            notified.await;
        }
    }

    /// Whether the client has read everything published so far.
    pub fn is_empty(&self) -> bool {
        self.next >= self.queue.buffer().end()
    }

    /// The backlog this cursor joined with (what is still held of it), and whether it starts
    /// at the hub's very first frame: then nothing older was ever dropped by the hub.
    pub fn backlog(&self) -> (Vec<Utf8Bytes>, bool) {
        let buffer = self.queue.buffer();
        let from = self.next.max(buffer.first);
        let to = self.history_end.min(buffer.end()).max(from);
        let frames = (from..to)
            .map(|p| buffer.frames[(p - buffer.first) as usize].clone())
            .collect();
        (frames, from == 0)
    }

    /// Whether the client is still reading the backlog it joined with.
    pub fn in_history(&self) -> bool {
        self.next < self.history_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(capacity: usize, history: usize, bytes: usize) -> QueueLimits {
        QueueLimits {
            capacity,
            history,
            bytes,
        }
    }

    fn text(n: u64) -> Utf8Bytes {
        n.to_string().into()
    }

    async fn drain(cursor: &mut Cursor) -> Vec<Result<String, RecvError>> {
        let mut out = Vec::new();
        while !cursor.is_empty() {
            out.push(cursor.recv().await.map(|t| t.to_string()));
        }
        out
    }

    #[tokio::test]
    async fn a_late_joiner_reads_its_tail_then_live_frames() {
        let queue = Queue::new(limits(4, 10, usize::MAX));
        for n in 0..6 {
            queue.push(text(n));
        }
        let mut cursor = queue.cursor(3);
        assert!(cursor.in_history());
        queue.push(text(6));
        let got: Vec<_> = drain(&mut cursor).await;
        let want: Vec<Result<String, RecvError>> =
            ["3", "4", "5", "6"].map(|s| Ok(s.to_string())).into();
        assert_eq!(got, want);
        assert!(!cursor.in_history());
    }

    #[test]
    fn the_backlog_says_whether_it_reaches_the_first_frame() {
        let queue = Queue::new(limits(4, 3, usize::MAX));
        queue.push(text(0));
        queue.push(text(1));
        let (frames, complete) = queue.cursor(10).backlog();
        assert_eq!(frames, [text(0), text(1)]);
        assert!(complete, "nothing was dropped yet");
        for n in 2..6 {
            queue.push(text(n));
        }
        let (frames, complete) = queue.cursor(10).backlog();
        assert_eq!(
            frames,
            [text(3), text(4), text(5)],
            "at most the history size"
        );
        assert!(!complete);
        let (frames, complete) = queue.cursor(1).backlog();
        assert_eq!((frames, complete), (vec![text(5)], false));
    }

    #[tokio::test]
    async fn history_larger_than_the_capacity_is_not_lag() {
        let queue = Queue::new(limits(2, 100, usize::MAX));
        for n in 0..50 {
            queue.push(text(n));
        }
        let mut cursor = queue.cursor(50);
        let got = drain(&mut cursor).await;
        assert_eq!(got.len(), 50, "{got:?}");
        assert!(got.iter().all(Result::is_ok), "{got:?}");
    }

    #[tokio::test]
    async fn a_slow_live_client_loses_the_oldest_and_is_told() {
        let queue = Queue::new(limits(4, 1, usize::MAX));
        let mut cursor = queue.cursor(0);
        for n in 0..10 {
            queue.push(text(n));
        }
        assert_eq!(
            cursor.recv().await,
            Err(RecvError::Lagged {
                missed: 6,
                history: false
            })
        );
        let got = drain(&mut cursor).await;
        assert_eq!(got, ["6", "7", "8", "9"].map(|s| Ok(s.to_string())));
    }

    #[tokio::test]
    async fn the_byte_budget_bounds_history_and_queue_together() {
        let queue = Queue::new(limits(1000, 1000, 100));
        let mut cursor = queue.cursor(0);
        for _ in 0..100 {
            queue.push("x".repeat(30).into());
        }
        let (bytes, frames) = queue.held();
        assert!(
            bytes <= 100 && frames == 3,
            "{bytes} bytes in {frames} frames"
        );
        assert_eq!(
            cursor.recv().await,
            Err(RecvError::Lagged {
                missed: 97,
                history: false
            })
        );
        // One frame larger than the whole budget is still delivered.
        queue.push("y".repeat(500).into());
        assert_eq!(queue.held().1, 1);
    }

    #[tokio::test]
    async fn closing_lets_clients_finish_then_says_closed() {
        let queue = Queue::new(limits(8, 8, usize::MAX));
        let mut cursor = queue.cursor(0);
        let waiter = tokio::spawn(async move {
            let first = cursor.recv().await;
            let second = cursor.recv().await;
            (first, second)
        });
        tokio::task::yield_now().await;
        queue.push(text(1));
        queue.close();
        let (first, second) = waiter.await.unwrap();
        assert_eq!(first.map(|t| t.to_string()), Ok("1".to_string()));
        assert_eq!(second, Err(RecvError::Closed));
    }
}
