//! History older than a hub holds, fetched once for one viewer. A hub's backlog starts with
//! what its first viewer asked for and is bounded by the history size and byte budget, so a
//! viewer asking a larger `tail` is owed lines the hub never had or has dropped. They come
//! from one request per container that does not follow (no stream is kept open), cut where
//! the hub's lines of that container begin: everything before the cut comes from here,
//! everything from it on from the hub, so no line is missing or shown twice. A container the
//! hub holds no line of is cut where the hub's first history ended for it (its seam, see
//! [`crate::live::hub::Seams`]). Docker's `tail` counts from the end of the whole log (its `until`
//! filters afterwards), so the request asks for what the hub holds plus what is wanted plus
//! a margin, and once for `all` when that was not enough. What is collected is bounded in
//! bytes as it is read, not only in lines: a viewer's history never costs more than its
//! budget, however long the lines.

use super::{
    batch::{self, Line},
    boundary::Boundary,
    container_logs::{self, LogSource},
};
use crate::docker::raw_logs::{LogsApi, LogsQuery};
use crate::live::hub::{Published, Seams};
use app::frames::{Frame, timestamp_key};
use axum::extract::ws::Utf8Bytes;
use futures::StreamExt;
use std::collections::{HashMap, VecDeque};

/// Lines written after the hub's last frame while the request is on its way.
const MARGIN: usize = 1000;

/// What a viewer lacks: `need` lines older than the cut of each container.
#[derive(Debug, PartialEq)]
pub struct Gap {
    pub need: usize,
    /// Per container, where the hub's lines of it begin.
    cuts: HashMap<String, Boundary>,
    /// For containers with no line in the hub, when the hub dropped lines: the oldest line
    /// it holds (their lines before it were dropped). None when the hub dropped nothing.
    dropped_before: Option<String>,
    /// Lines held at and after the cuts: they count towards Docker's `tail`.
    held: usize,
}

impl Gap {
    /// What is missing when a viewer asking `tail` lines joined with `backlog` (`complete`:
    /// it starts at the hub's first frame, whose upstream first asked for `hub_tail`, and
    /// whose first history ended at `seams`). None when the backlog is enough, when the hub
    /// dropped nothing and first asked for at least as much (it got fewer: the log holds
    /// nothing older), or when there is nothing to cut at (the logs were empty).
    pub fn of(
        backlog: &[Published],
        complete: bool,
        hub_tail: usize,
        tail: usize,
        seams: &Seams,
    ) -> Option<Gap> {
        let held: usize = backlog.iter().map(|f| f.log_lines().count()).sum();
        if held >= tail || (complete && hub_tail >= tail) {
            return None;
        }
        let mut cuts = HashMap::new();
        let mut oldest: Option<String> = None;
        for (container, ts) in backlog.iter().flat_map(Published::log_lines) {
            let Some(ts) = ts else { continue };
            let key = timestamp_key(ts);
            if oldest.as_ref().is_none_or(|o| key < *o) {
                oldest = Some(key.clone());
            }
            if !cuts.contains_key(container) {
                cuts.insert(container.to_string(), Boundary::before(key));
            }
        }
        // A container the hub holds nothing of: when the hub dropped nothing, its older
        // lines are the ones through its seam.
        if complete {
            for (container, (key, at_key)) in seams {
                cuts.entry(container.clone()).or_insert_with(|| Boundary {
                    key: key.clone(),
                    at_key: *at_key,
                });
            }
        }
        if cuts.is_empty() && oldest.is_none() {
            return None;
        }
        Some(Gap {
            need: tail - held,
            cuts,
            dropped_before: if complete { None } else { oldest },
            held,
        })
    }

    fn cut(&self, container: &str) -> Option<Boundary> {
        self.cuts
            .get(container)
            .cloned()
            .or_else(|| self.dropped_before.clone().map(Boundary::before))
    }

    /// The missing lines of `sources` (merged by time, oldest first, at most `need` and at
    /// most `budget` bytes of text: the oldest go first), and how many were left out for the
    /// budget. Never more than `budget` bytes of lines are held while they are read.
    pub async fn fetch(&self, api: &LogsApi, sources: &[LogSource], budget: usize) -> Fetched {
        let mut kept: VecDeque<(String, Line)> = VecDeque::new();
        let mut bytes = 0;
        // Lines there were (older than the cuts), whether kept or not.
        let mut available = 0;
        for source in sources {
            let Some(cut) = self.cut(&source.id) else {
                continue;
            };
            let read = self.before(api, source, &cut, budget).await;
            available += read.available;
            // Both are in order: merge, then keep the newest that fit.
            kept = merge(kept, read.lines);
            bytes += read.bytes;
            trim(&mut kept, &mut bytes, self.need, budget);
        }
        let wanted = self.need.min(available);
        Fetched {
            dropped: wanted.saturating_sub(kept.len()) as u64,
            lines: kept.into_iter().map(|(_, line)| line).collect(),
        }
    }

    /// The last `need` lines of one container before `cut`, within `budget` bytes.
    async fn before(
        &self,
        api: &LogsApi,
        source: &LogSource,
        cut: &Boundary,
        budget: usize,
    ) -> Read {
        let first_try = self.need + self.held + MARGIN;
        let mut read = Read::default();
        for tail in [Some(first_try), None] {
            let query = LogsQuery {
                follow: false,
                tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
                since: 0,
                timestamps: true,
            };
            let mut lines = container_logs::lines(api.clone(), source.clone(), query);
            read = Read::default();
            let mut boundary = cut.reader();
            let mut seen = 0;
            // A continuation of a cut line has no timestamp: it sorts with the line before.
            let mut key = String::new();
            while let Some(line) = lines.next().await {
                seen += 1;
                if let Some(ts) = &line.raw.timestamp {
                    key = timestamp_key(ts);
                }
                if !boundary.older(&key) {
                    // The hub has this one and every later one.
                    break;
                }
                read.available += 1;
                read.bytes += line.raw.text.len();
                read.lines.push_back((key.clone(), line));
                trim(&mut read.lines, &mut read.bytes, self.need, budget);
            }
            // Enough, or the whole log was read: no need to ask for all of it.
            if read.available >= self.need || tail.is_none_or(|n| seen < n) {
                break;
            }
        }
        read.available = read.available.min(self.need);
        read
    }
}

/// One container's older lines, as read.
#[derive(Default)]
struct Read {
    lines: VecDeque<(String, Line)>,
    bytes: usize,
    /// Older lines there were, up to `need`.
    available: usize,
}

/// Two runs of keyed lines, each in key order, as one in key order (ties: `a` first).
pub fn merge(a: VecDeque<(String, Line)>, b: VecDeque<(String, Line)>) -> VecDeque<(String, Line)> {
    let mut merged = VecDeque::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0 <= y.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        merged.push_back(if take_a { a.next() } else { b.next() }.expect("peeked"));
    }
    merged
}

/// Drops the oldest lines beyond `need` lines or `budget` bytes (the newest always stays).
pub fn trim(lines: &mut VecDeque<(String, Line)>, bytes: &mut usize, need: usize, budget: usize) {
    while lines.len() > need || (*bytes > budget && lines.len() > 1) {
        let Some((_, line)) = lines.pop_front() else {
            break;
        };
        *bytes -= line.raw.text.len();
    }
}

/// A viewer's missing history.
pub struct Fetched {
    pub lines: Vec<Line>,
    /// Lines left out to stay within the byte budget (the oldest).
    pub dropped: u64,
}

impl Fetched {
    /// As frames, ready to send before the hub's backlog: batches numbered from 0 (they
    /// come before the hub's own first line). Each batch is written as it is made.
    pub fn frames(self) -> Vec<Utf8Bytes> {
        let mut frames = Vec::new();
        if self.dropped > 0 {
            frames.push(Frame::Lagged {
                missed: self.dropped,
            });
        }
        frames
            .into_iter()
            .chain(batch::batches(0, self.lines).into_iter().map(Frame::Logs))
            .filter_map(Published::new)
            .map(Published::into_text)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::frames::{BatchLine, LogBatch, LogOrigin, LogStream};

    fn frame(container: &str, ts: Option<&str>, text: &str) -> Published {
        let origin = LogOrigin {
            container: container.into(),
            name: container.into(),
            service: None,
        };
        let line = BatchLine {
            origin: 0,
            stream: LogStream::Stdout,
            timestamp: ts.map(Into::into),
            text: text.into(),
        };
        Published::logs(LogBatch::new(1, vec![origin], vec![line]))
    }

    /// Issue 14: a frame holds a batch; what the backlog holds is counted in lines.
    #[test]
    fn a_batch_counts_as_its_lines() {
        let origin = LogOrigin {
            container: "a".into(),
            name: "a".into(),
            service: None,
        };
        let lines = (1..=3)
            .map(|i| BatchLine {
                origin: 0,
                stream: LogStream::Stdout,
                timestamp: Some(format!("2026-01-01T00:00:0{i}Z")),
                text: format!("{i}"),
            })
            .collect();
        let backlog = [Published::logs(LogBatch::new(1, vec![origin], lines))];
        assert_eq!(
            Gap::of(&backlog, false, 1, 3, &Seams::new()),
            None,
            "three lines held"
        );
        let gap = Gap::of(&backlog, false, 1, 5, &Seams::new()).unwrap();
        assert_eq!((gap.need, gap.held), (2, 3));
        assert_eq!(
            gap.cut("a"),
            Some(Boundary::before(timestamp_key("2026-01-01T00:00:01Z")))
        );
    }

    #[test]
    fn a_backlog_that_is_enough_leaves_no_gap() {
        let backlog = [frame("a", Some("2026-01-01T00:00:01Z"), "x")];
        assert_eq!(Gap::of(&backlog, false, 1, 1, &Seams::new()), None);
        assert_eq!(
            Gap::of(&[], true, 1, 10, &Seams::new()),
            None,
            "a hub with no line yet"
        );
        assert_eq!(
            Gap::of(&backlog, true, 100, 10, &Seams::new()),
            None,
            "the hub asked for 100 and got 1: there is nothing older"
        );
    }

    #[test]
    fn cuts_are_each_containers_oldest_held_line() {
        let backlog = [
            frame("a", Some("2026-01-01T00:00:02.5Z"), "a1"),
            frame("b", Some("2026-01-01T00:00:01Z"), "b1"),
            frame("a", None, "continued"),
            frame("a", Some("2026-01-01T00:00:03Z"), "a2"),
        ];
        let gap = Gap::of(&backlog, true, 1, 10, &Seams::new()).unwrap();
        assert_eq!((gap.need, gap.held), (6, 4));
        assert_eq!(
            gap.cut("a"),
            Some(Boundary::before(timestamp_key("2026-01-01T00:00:02.5Z")))
        );
        assert_eq!(
            gap.cut("b"),
            Some(Boundary::before(timestamp_key("2026-01-01T00:00:01Z")))
        );
        assert_eq!(
            gap.cut("c"),
            None,
            "the hub dropped nothing: c has nothing older"
        );
        let gap = Gap::of(&backlog, false, 1, 10, &Seams::new()).unwrap();
        assert_eq!(
            gap.cut("c"),
            Some(Boundary::before(timestamp_key("2026-01-01T00:00:01Z"))),
            "c's lines before the oldest held one were dropped"
        );
    }

    /// Issue 25: a viewer joining a hub whose first viewer asked for no history (the hub
    /// holds no line) once got nothing: its lines are the ones through the hub's seam.
    #[test]
    fn a_hub_that_holds_nothing_cuts_at_its_seam() {
        let seams = Seams::from([("a".to_string(), (timestamp_key("2026-01-01T00:00:09Z"), 2))]);
        assert_eq!(
            Gap::of(&[], true, 0, 2500, &Seams::new()),
            None,
            "an empty log"
        );
        let gap = Gap::of(&[], true, 0, 2500, &seams).unwrap();
        assert_eq!((gap.need, gap.held), (2500, 0));
        let cut = gap.cut("a").unwrap();
        assert_eq!(cut.at_key, 2);
        let mut reader = cut.reader();
        let key = timestamp_key("2026-01-01T00:00:09Z");
        assert!(reader.older(&timestamp_key("2026-01-01T00:00:08Z")));
        assert!(
            reader.older(&key) && reader.older(&key),
            "the seam's two lines"
        );
        assert!(!reader.older(&key), "a third with the same time is live");
    }
}
