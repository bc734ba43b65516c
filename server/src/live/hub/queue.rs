//! A hub's one buffer of serialized frames: the history late joiners read and the queue live
//! clients read, bounded in lines *and* bytes. A log frame carries a batch of lines and
//! weighs as many; every other frame weighs one. Every frame has a position and every line a
//! number; a client is a cursor. A client that falls more than `capacity` lines behind, or
//! whose next frame was evicted by the byte budget, loses the oldest and is told how many
//! lines (as tokio's broadcast would, in lines); the publisher never waits for anyone. One
//! buffer instead of a broadcast channel plus a ring means one budget covers both, and a
//! frame held for history and for a slow client is stored once.
//!
//! A log hub first publishes the history its upstream asked for, then live lines; the line
//! where one ends and the other begins is its start ([`Queue::start`]). A client that joins
//! before it waits for it ([`Cursor::settle`]) and counts its tail back from there, so its
//! tail is exact whatever the hub's first client asked for and however far it had got.

use super::Published;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// How far (in lines) a live client may fall behind before it loses the oldest.
    pub capacity: usize,
    /// Lines kept for clients that join later.
    pub history: usize,
    /// Bytes held in all: history and queue together. The newest frame is always kept.
    pub bytes: usize,
}

struct Held {
    frame: Published,
    /// The number of its first line (lines are numbered across frames).
    start: u64,
    lines: u64,
}

struct Buffer {
    frames: VecDeque<Held>,
    /// Position of `frames[0]`.
    first: u64,
    /// The number the next line will get: every line before it was published.
    end_line: u64,
    bytes: usize,
    closed: bool,
    /// The line at which the upstream's first history ended and live lines began; `None`
    /// while it is still being published.
    started: Option<u64>,
}

impl Buffer {
    fn end(&self) -> u64 {
        self.first + self.frames.len() as u64
    }

    fn held(&self, position: u64) -> &Held {
        &self.frames[(position - self.first) as usize]
    }

    /// The number of the first line at `position` (a held frame, or the end).
    fn line_at(&self, position: u64) -> u64 {
        if position < self.end() {
            self.held(position).start
        } else {
            self.end_line
        }
    }

    fn first_line(&self) -> u64 {
        self.line_at(self.first)
    }

    fn held_lines(&self) -> u64 {
        self.end_line - self.first_line()
    }

    /// The position of the frame that holds line `line` (the end for the next line; the
    /// first held frame for a line no longer held).
    fn position_of(&self, line: u64) -> u64 {
        let mut position = self.end();
        while position > self.first
            && self.held(position - 1).start + self.held(position - 1).lines > line
        {
            position -= 1;
        }
        position
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
    /// `missed` lines were dropped for this client. `history` says they were part of the
    /// backlog it asked for on joining, not live lines it was too slow for.
    Lagged { missed: u64, history: bool },
    /// Every frame was read and no more will come.
    Closed,
}

impl Queue {
    /// A queue whose upstream publishes no history of its own first: started from the start.
    #[cfg(test)]
    pub fn new(limits: QueueLimits) -> Arc<Self> {
        Self::with_start(limits, true)
    }

    /// `started: false` for a log hub, whose upstream calls [`Queue::start`] once the
    /// history it asked for is published.
    pub fn with_start(limits: QueueLimits, started: bool) -> Arc<Self> {
        Arc::new(Self {
            limits,
            buffer: Mutex::new(Buffer {
                frames: VecDeque::new(),
                first: 0,
                end_line: 0,
                bytes: 0,
                closed: false,
                started: started.then_some(0),
            }),
            notify: Notify::new(),
        })
    }

    /// Everything published so far was the upstream's first history; what follows is live.
    pub fn start(&self) {
        {
            let mut buffer = self.buffer();
            if buffer.started.is_none() {
                buffer.started = Some(buffer.end_line);
            }
        }
        self.notify.notify_waiters();
    }

    fn buffer(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a frame (weighing its log lines, or one) and wakes every waiting client.
    /// Never blocks on a client.
    pub fn push(&self, frame: Published) {
        let keep = self.limits.capacity.max(self.limits.history).max(1) as u64;
        // Frames evicted here are dropped after the lock is let go: freeing their text and
        // index is no work for the clients waiting on it.
        let mut evicted = Vec::new();
        {
            let mut buffer = self.buffer();
            if buffer.closed {
                return;
            }
            let start = buffer.end_line;
            let lines = frame.lines() as u64;
            buffer.bytes += frame.text().len();
            buffer.end_line += lines;
            buffer.frames.push_back(Held {
                frame,
                start,
                lines,
            });
            // Whole frames go, oldest first, while what is left still holds `keep` lines.
            while buffer.frames.len() > 1
                && (buffer.held_lines() - buffer.frames[0].lines >= keep
                    || buffer.bytes > self.limits.bytes)
            {
                let old = buffer.frames.pop_front().expect("not empty");
                buffer.bytes -= old.frame.text().len();
                buffer.first += 1;
                evicted.push(old);
            }
        }
        self.notify.notify_waiters();
        drop(evicted);
    }

    /// No more frames: clients read what is left, then get [`RecvError::Closed`]. A hub
    /// that closes before it started has started where it stopped.
    pub fn close(&self) {
        {
            let mut buffer = self.buffer();
            buffer.closed = true;
            if buffer.started.is_none() {
                buffer.started = Some(buffer.end_line);
            }
        }
        self.notify.notify_waiters();
    }

    /// A cursor that starts with the last `tail` lines held (at most the history size): the
    /// first frame it reads is cut to fit, so the count is exact. Joining a hub that has not
    /// started, it is placed again once it has ([`Cursor::settle`]).
    pub fn cursor(self: &Arc<Self>, tail: usize) -> Cursor {
        let buffer = self.buffer();
        let mut cursor = Cursor {
            queue: self.clone(),
            next: 0,
            next_line: 0,
            history_end: 0,
            settled: buffer.started.is_some(),
        };
        cursor.place(&buffer, buffer.end_line, tail);
        cursor
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
    /// The number of the next line it is owed: past the start of the frame at `next` when
    /// its tail began inside that frame, and what its losses are counted from.
    next_line: u64,
    /// Frames before this position are the backlog asked for on joining: reading them may
    /// take long and is exempt from the live capacity rule.
    history_end: u64,
    /// Placed for good: the hub had started when it joined, or it has waited for the start.
    settled: bool,
}

/// `frame` without its first `skip` lines, when it is a log batch (a frame of any other
/// kind weighs one line and is never cut). A cursor never skips a whole frame.
#[inline]
fn cut(frame: &Published, skip: u64) -> Published {
    if skip == 0 {
        return frame.clone();
    }
    frame.skip(skip as usize).unwrap_or_else(|| frame.clone())
}

impl Cursor {
    /// Places the cursor on the last `tail` lines (at most the history size) before line
    /// `at`, which is where its backlog ends. Lines from there on are live to it.
    fn place(&mut self, buffer: &Buffer, at: u64, tail: usize) {
        let first_line = buffer.first_line();
        let want = (tail.min(self.queue.limits.history) as u64).min(at.saturating_sub(first_line));
        let from_line = at - want;
        self.history_end = buffer.position_of(at);
        self.next_line = from_line;
        self.next = if from_line < first_line && buffer.first > 0 {
            // Live lines after `at` were evicted before this client could read them: the
            // position before the first held frame reports them as lost.
            buffer.first - 1
        } else {
            buffer.position_of(from_line)
        };
    }

    /// Waits until the hub has published the history its upstream first asked for, then
    /// places the cursor on the last `tail` lines of it: joining while a hub is starting
    /// gets the same tail as joining right after. At once when the hub had started.
    pub async fn settle(&mut self, tail: usize) {
        let queue = self.queue.clone();
        while !self.settled {
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let buffer = queue.buffer();
                if let Some(at) = buffer.started {
                    self.place(&buffer, at, tail);
                    self.settled = true;
                    return;
                }
            }
            notified.await;
        }
    }

    /// Lines of the frame at `next` this client does not get (its tail began inside it).
    fn skip(&self, buffer: &Buffer) -> u64 {
        self.next_line.saturating_sub(buffer.line_at(self.next))
    }

    /// Whether reading on would first report a loss.
    fn would_lag(&self, buffer: &Buffer) -> bool {
        self.next < buffer.first || self.over_capacity(buffer)
    }

    /// The live part of what it has not read holds more than `capacity` lines (and more
    /// than the newest frame, which is always within it).
    fn over_capacity(&self, buffer: &Buffer) -> bool {
        let live_from = self.next.max(self.history_end);
        let capacity = self.queue.limits.capacity as u64;
        buffer.end_line.saturating_sub(buffer.line_at(live_from)) > capacity
            && live_from + 1 < buffer.end()
    }

    /// Lost lines to report before the next frame, if any (and the cursor moved past them).
    fn lag(&mut self, buffer: &Buffer) -> Option<RecvError> {
        if self.next < buffer.first {
            // Evicted (budget or history): the lines from its next one to the oldest held.
            let history = self.next < self.history_end;
            return Some(self.lose_until(buffer, buffer.first, history));
        }
        if self.over_capacity(buffer) {
            let live_from = self.next.max(self.history_end);
            let capacity = self.queue.limits.capacity as u64;
            // Resume at the oldest frame within `capacity` lines of the end (the newest
            // frame always counts as within it).
            let mut resume = buffer.end() - 1;
            while resume > live_from && buffer.end_line - buffer.held(resume - 1).start <= capacity
            {
                resume -= 1;
            }
            return Some(self.lose_until(buffer, resume, false));
        }
        None
    }

    /// Moves the cursor on to `position`, reporting the lines it passed over as lost.
    fn lose_until(&mut self, buffer: &Buffer, position: u64, history: bool) -> RecvError {
        let missed = buffer.line_at(position).saturating_sub(self.next_line);
        self.next = position;
        self.next_line = buffer.line_at(position);
        RecvError::Lagged { missed, history }
    }

    fn take(&mut self) -> Option<Result<Published, RecvError>> {
        let queue = self.queue.clone();
        let buffer = queue.buffer();
        if let Some(lagged) = self.lag(&buffer) {
            return Some(Err(lagged));
        }
        if self.next < buffer.end() {
            let frame = cut(&buffer.held(self.next).frame, self.skip(&buffer));
            self.step(&buffer);
            return Some(Ok(frame));
        }
        buffer.closed.then_some(Err(RecvError::Closed))
    }

    /// Past the frame at `next`.
    fn step(&mut self, buffer: &Buffer) {
        self.next += 1;
        self.next_line = buffer.line_at(self.next);
    }

    /// The next frame; waits while there is none.
    pub async fn recv(&mut self) -> Result<Published, RecvError> {
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

    /// Frames that can be read at once without a loss to report, up to `max_bytes` (at
    /// least one frame when any is waiting): what a client is sent in one write, each as
    /// [`Published::for_client`] keeps it.
    pub fn ready(&mut self, max_bytes: usize) -> Vec<Published> {
        let queue = self.queue.clone();
        let buffer = queue.buffer();
        let mut frames = Vec::new();
        let mut bytes = 0;
        while self.next < buffer.end() && bytes < max_bytes {
            if self.would_lag(&buffer) {
                break;
            }
            // What a client is sent: the text, and whether it ends the stream.
            let frame = match self.skip(&buffer) {
                0 => buffer.held(self.next).frame.for_client(),
                skip => cut(&buffer.held(self.next).frame, skip),
            };
            bytes += frame.text().len();
            frames.push(frame);
            self.step(&buffer);
        }
        frames
    }

    /// Whether the client has read everything published so far.
    pub fn is_empty(&self) -> bool {
        self.next >= self.queue.buffer().end()
    }

    /// The backlog this cursor joined with (what is still held of it, its first frame cut
    /// to the tail asked for), and whether it starts at the hub's very first line: then
    /// nothing older was ever dropped by the hub.
    pub fn backlog(&self) -> (Vec<Published>, bool) {
        let buffer = self.queue.buffer();
        let from = self.next.max(buffer.first);
        let to = self.history_end.min(buffer.end()).max(from);
        let skip = if from == self.next {
            self.skip(&buffer)
        } else {
            0
        };
        let frames = (from..to)
            .map(|p| cut(&buffer.held(p).frame, if p == from { skip } else { 0 }))
            .collect();
        (frames, buffer.line_at(from) + skip == 0)
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

    fn text(n: u64) -> Published {
        Published::other(n.to_string())
    }

    async fn drain(cursor: &mut Cursor) -> Vec<Result<String, RecvError>> {
        let mut out = Vec::new();
        while !cursor.is_empty() {
            out.push(cursor.recv().await.map(|t| t.text().to_string()));
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
            queue.push(Published::other("x".repeat(30)));
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
        queue.push(Published::other("y".repeat(500)));
        assert_eq!(queue.held().1, 1);
    }

    /// A batch of `n` lines numbered from `first`, as a log hub publishes it.
    fn batch(first: u64, n: u64) -> Published {
        use app::frames::{BatchLine, LogBatch, LogOrigin, LogStream};
        let origin = LogOrigin {
            container: "c".into(),
            name: "c".into(),
            service: None,
        };
        let lines = (first..first + n)
            .map(|i| BatchLine {
                origin: 0,
                stream: LogStream::Stdout,
                timestamp: None,
                text: format!("line {i}"),
            })
            .collect();
        Published::logs(LogBatch::new(first, vec![origin], lines))
    }

    fn numbers(text: &str) -> Vec<u64> {
        match serde_json::from_str::<app::frames::Frame>(text).unwrap() {
            app::frames::Frame::Logs(batch) => batch.into_lines().map(|l| l.seq).collect(),
            other => panic!("{other:?}"),
        }
    }

    /// Issue 14: frames carry batches, yet a tail is exact (its first batch is cut), and
    /// history, capacity and losses are counted in lines.
    #[tokio::test]
    async fn batches_are_counted_in_lines() {
        let queue = Queue::new(limits(25, 30, usize::MAX));
        for first in [0, 10, 20, 30] {
            queue.push(batch(first, 10));
        }
        // 40 lines published; history keeps whole frames holding at least 30 lines.
        assert_eq!(queue.held().1, 3);
        let mut tail = queue.cursor(12);
        let got: Vec<u64> = drain(&mut tail)
            .await
            .into_iter()
            .flat_map(|f| numbers(&f.unwrap()))
            .collect();
        assert_eq!(
            got,
            (28..40).collect::<Vec<_>>(),
            "exactly the last 12 lines"
        );
        let (backlog, complete) = queue.cursor(15).backlog();
        assert_eq!(
            backlog
                .iter()
                .map(|f| numbers(f.text()).len())
                .sum::<usize>(),
            15
        );
        assert!(!complete);

        let mut live = queue.cursor(0);
        for first in [40, 50, 60] {
            queue.push(batch(first, 10));
        }
        assert!(
            live.ready(usize::MAX).is_empty(),
            "30 lines behind, capacity 25"
        );
        assert_eq!(
            live.recv().await,
            Err(RecvError::Lagged {
                missed: 10,
                history: false
            }),
            "one batch of 10 lines lost"
        );
        let sent = live.ready(usize::MAX);
        assert_eq!(
            sent.iter()
                .flat_map(|f| numbers(f.text()))
                .collect::<Vec<_>>(),
            (50..70).collect::<Vec<_>>()
        );
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
        assert_eq!(first.map(|t| t.text().to_string()), Ok("1".to_string()));
        assert_eq!(second, Err(RecvError::Closed));
    }
}
