//! History older than a hub holds, fetched once for one viewer. A hub's backlog starts with
//! what its first viewer asked for and is bounded by the history size and byte budget, so a
//! viewer asking a larger `tail` is owed lines the hub never had or has dropped. They come
//! from one request per container that does not follow (no stream is kept open), cut at the
//! timestamp of the container's oldest line in the hub: everything before the cut comes from
//! here, everything from it on from the hub, so no line is missing or shown twice. Docker's
//! `tail` counts from the end of the whole log (its `until` filters afterwards), so the
//! request asks for what the hub holds plus what is wanted plus a margin, and once for `all`
//! when that was not enough.

use super::{
    batch::{self, Line},
    container_logs::{self, LogSource},
    raw_logs::{LogsApi, LogsQuery},
};
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
    /// Per container, the sort key of its oldest line the hub holds.
    cuts: HashMap<String, String>,
    /// For containers with no line in the hub, when the hub dropped lines: the oldest line
    /// it holds (their lines before it were dropped). None when the hub dropped nothing: a
    /// container it holds nothing of has nothing older to show.
    dropped_before: Option<String>,
    /// Lines held at and after the cuts: they count towards Docker's `tail`.
    held: usize,
}

impl Gap {
    /// What is missing when a viewer asking `tail` lines joined with `backlog` (`complete`:
    /// it starts at the hub's first frame, whose upstream first asked for `hub_tail`). None
    /// when the backlog is enough; when the hub dropped nothing and first asked for at least
    /// as much (it got fewer: the log holds nothing older); or when the hub holds no line
    /// yet (it has just started: its own first request covers the tail).
    pub fn of(backlog: &[Utf8Bytes], complete: bool, hub_tail: usize, tail: usize) -> Option<Gap> {
        let held: usize = backlog
            .iter()
            .map(|text| app::frames::batch_count(text).unwrap_or(0) as usize)
            .sum();
        if held >= tail || (complete && hub_tail >= tail) {
            return None;
        }
        let mut cuts = HashMap::new();
        let mut oldest: Option<String> = None;
        for text in backlog {
            let Ok(Frame::Logs(batch)) = serde_json::from_str::<Frame>(text) else {
                continue;
            };
            for line in batch.into_lines() {
                let Some(ts) = line.timestamp else { continue };
                let key = timestamp_key(&ts);
                if oldest.as_ref().is_none_or(|o| key < *o) {
                    oldest = Some(key.clone());
                }
                cuts.entry(line.container).or_insert(key);
            }
        }
        oldest.as_ref()?;
        Some(Gap {
            need: tail - held,
            cuts,
            dropped_before: if complete { None } else { oldest },
            held,
        })
    }

    fn cut(&self, container: &str) -> Option<&str> {
        self.cuts
            .get(container)
            .or(self.dropped_before.as_ref())
            .map(String::as_str)
    }

    /// The missing lines of `sources` (merged by time, oldest first, at most `need` and at
    /// most `budget` bytes of text: the oldest go first), and how many were left out for the
    /// budget.
    pub async fn fetch(&self, api: &LogsApi, sources: &[LogSource], budget: usize) -> Fetched {
        let mut all: Vec<(String, Line)> = Vec::new();
        for source in sources {
            if let Some(cut) = self.cut(&source.id) {
                all.extend(self.before(api, source, cut).await);
            }
        }
        // Stable: a container's own order is kept between equal keys.
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let start = all.len().saturating_sub(self.need);
        let mut lines: VecDeque<Line> = all.drain(start..).map(|(_, line)| line).collect();
        let mut bytes: usize = lines.iter().map(|l| l.raw.text.len()).sum();
        let mut dropped = 0;
        while bytes > budget {
            let Some(line) = lines.pop_front() else { break };
            bytes -= line.raw.text.len();
            dropped += 1;
        }
        Fetched {
            lines: lines.into(),
            dropped,
        }
    }

    /// The last `need` lines of one container before `cut`.
    async fn before(
        &self,
        api: &LogsApi,
        source: &LogSource,
        cut: &str,
    ) -> VecDeque<(String, Line)> {
        let first_try = self.need + self.held + MARGIN;
        let mut kept = VecDeque::new();
        for tail in [Some(first_try), None] {
            let query = LogsQuery {
                follow: false,
                tail: tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
                since: 0,
                timestamps: true,
            };
            let mut lines = container_logs::lines(api.clone(), source.clone(), query);
            kept.clear();
            let mut read = 0;
            // A continuation of a cut line has no timestamp: it sorts with the line before.
            let mut key = String::new();
            while let Some(line) = lines.next().await {
                read += 1;
                if let Some(ts) = &line.raw.timestamp {
                    key = timestamp_key(ts);
                }
                if key.as_str() >= cut {
                    // The hub has this one and every later one.
                    break;
                }
                kept.push_back((key.clone(), line));
                if kept.len() > self.need {
                    kept.pop_front();
                }
            }
            // Enough, or the whole log was read: no need to ask for all of it.
            if kept.len() >= self.need || tail.is_none_or(|n| read < n) {
                break;
            }
        }
        kept
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
    /// come before the hub's own first line).
    pub fn frames(self) -> Vec<Utf8Bytes> {
        let mut frames = Vec::new();
        if self.dropped > 0 {
            frames.push(Frame::Lagged {
                missed: self.dropped,
            });
        }
        frames.extend(batch::batches(0, self.lines).into_iter().map(Frame::Logs));
        frames
            .iter()
            .filter_map(|f| serde_json::to_string(f).ok())
            .map(Utf8Bytes::from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::frames::{BatchLine, LogBatch, LogOrigin, LogStream};

    fn frame(container: &str, ts: Option<&str>, text: &str) -> Utf8Bytes {
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
        serde_json::to_string(&Frame::Logs(LogBatch::new(1, vec![origin], vec![line])))
            .unwrap()
            .into()
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
        let backlog: [Utf8Bytes; 1] =
            [
                serde_json::to_string(&Frame::Logs(LogBatch::new(1, vec![origin], lines)))
                    .unwrap()
                    .into(),
            ];
        assert_eq!(Gap::of(&backlog, false, 1, 3), None, "three lines held");
        let gap = Gap::of(&backlog, false, 1, 5).unwrap();
        assert_eq!((gap.need, gap.held), (2, 3));
        assert_eq!(
            gap.cut("a"),
            Some(timestamp_key("2026-01-01T00:00:01Z").as_str())
        );
    }

    #[test]
    fn a_backlog_that_is_enough_leaves_no_gap() {
        let backlog = [frame("a", Some("2026-01-01T00:00:01Z"), "x")];
        assert_eq!(Gap::of(&backlog, false, 1, 1), None);
        assert_eq!(Gap::of(&[], true, 1, 10), None, "a hub with no line yet");
        assert_eq!(
            Gap::of(&backlog, true, 100, 10),
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
        let gap = Gap::of(&backlog, true, 1, 10).unwrap();
        assert_eq!((gap.need, gap.held), (6, 4));
        assert_eq!(
            gap.cut("a"),
            Some(timestamp_key("2026-01-01T00:00:02.5Z").as_str())
        );
        assert_eq!(
            gap.cut("b"),
            Some(timestamp_key("2026-01-01T00:00:01Z").as_str())
        );
        assert_eq!(
            gap.cut("c"),
            None,
            "the hub dropped nothing: c has nothing older"
        );
        let gap = Gap::of(&backlog, false, 1, 10).unwrap();
        assert_eq!(
            gap.cut("c"),
            Some(timestamp_key("2026-01-01T00:00:01Z").as_str()),
            "c's lines before the oldest held one were dropped"
        );
    }
}
