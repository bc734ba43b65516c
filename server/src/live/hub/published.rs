//! A frame as a hub holds it: the text every client is sent, made once, beside what the
//! publisher knew when it made it (a log batch's lines, their origins and timestamps; that
//! it is the stream's end; an engine event; a sampler's round). A viewer's cut tail, its
//! history's cut points and the events and rounds Berth reads itself all come from what is
//! kept here; only alert rules read a log line back from the text (keeping every line's
//! text twice would double what a log hub holds).
//!
//! A log batch's text is written here, not by serde, so that where each line begins is
//! known: `{"type":"logs","count":N,"first":F,"origins":[…],"lines":[{…},{…}]}`, exactly
//! what serde writes for [`Frame::Logs`] (the tests hold the two equal), which is what the
//! browser reads.

use super::Ending;
use app::frames::{BatchLine, EngineEvent, Frame, LogBatch, LogOrigin, LogStream, Samples};
use axum::extract::ws::Utf8Bytes;
use std::{io::Write, sync::Arc};

/// A frame made once for every client of a hub.
#[derive(Clone, Debug)]
pub struct Published {
    text: Utf8Bytes,
    about: About,
}

/// Two frames are the same when their texts are: that is what every client gets.
impl PartialEq for Published {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// What the publisher knew of a frame.
#[derive(Clone, Debug)]
enum About {
    /// Weighs one line; never cut.
    Other,
    /// The last frame of its stream.
    End(Ending),
    /// For Berth's own readers of the events hub (never a socket).
    Event(Arc<EngineEvent>),
    /// For Berth's own readers of a sampler's hub.
    Samples(Arc<Samples>),
    Logs(Arc<LogIndex>),
}

/// Where a log batch's lines lie in its text, with their origins and timestamps.
#[derive(Debug)]
struct LogIndex {
    first: u64,
    origins: Vec<LogOrigin>,
    lines: Vec<Mark>,
}

/// One line of a batch's text: `text[at..]` starts with its `{`; `stamp` is the range of its
/// timestamp's characters (empty when it has none).
#[derive(Clone, Copy, Debug)]
struct Mark {
    at: u32,
    origin: u32,
    stamp: (u32, u32),
}

impl Published {
    /// Makes a frame's text; a log batch through [`Self::logs`]. None when it cannot be
    /// serialized (never for Berth's frames: reported, not sent).
    pub fn new(frame: Frame) -> Option<Self> {
        let frame = match frame {
            Frame::Logs(batch) => return Some(Self::logs(batch)),
            frame => frame,
        };
        let text = match serde_json::to_string(&frame) {
            Ok(text) => text.into(),
            Err(e) => {
                tracing::error!("cannot serialize a frame: {e}");
                return None;
            }
        };
        let about = match frame {
            Frame::End { reason, retry } => About::End(Ending { reason, retry }),
            Frame::Event(event) => About::Event(Arc::new(event)),
            Frame::Samples(samples) => About::Samples(Arc::new(samples)),
            _ => About::Other,
        };
        Some(Self { text, about })
    }

    /// A frame of weight one with any text, for tests of what holds frames.
    #[cfg(test)]
    pub(crate) fn other(text: impl Into<Utf8Bytes>) -> Self {
        Self {
            text: text.into(),
            about: About::Other,
        }
    }

    /// A log batch, its text written with each line's place marked (its origins kept as
    /// they are: moved, not copied).
    pub fn logs(batch: LogBatch) -> Self {
        debug_assert_eq!(batch.count as usize, batch.lines.len(), "a batch's count");
        // Every field by name: a field added to a line cannot be left out of the text.
        let lines = batch.lines.iter().map(|line| {
            let BatchLine {
                origin,
                stream,
                timestamp,
                text,
            } = line;
            Line {
                origin: *origin,
                stream: *stream,
                timestamp: timestamp.as_deref(),
                body: Body::Text(text),
            }
        });
        let (text, lines) = write_logs(batch.first, &batch.origins, lines);
        let index = LogIndex {
            first: batch.first,
            origins: batch.origins,
            lines,
        };
        Self {
            text: text.into(),
            about: About::Logs(Arc::new(index)),
        }
    }

    /// What a socket's client needs of the frame: its text, and whether it is the end (not
    /// the lines' index: a client on the live path never cuts, and cloning the index's
    /// `Arc` per frame and client is a shared write it does not need).
    pub fn for_client(&self) -> Self {
        let about = match &self.about {
            About::End(ending) => About::End(ending.clone()),
            _ => About::Other,
        };
        Self {
            text: self.text.clone(),
            about,
        }
    }

    /// The text sent to clients.
    pub fn text(&self) -> &Utf8Bytes {
        &self.text
    }

    pub fn into_text(self) -> Utf8Bytes {
        self.text
    }

    /// What the frame weighs in a hub's history and capacity: its log lines, or one.
    pub fn lines(&self) -> usize {
        match &self.about {
            About::Logs(index) => index.lines.len().max(1),
            _ => 1,
        }
    }

    /// How its stream ended, when it is the `end` frame.
    pub fn ending(&self) -> Option<&Ending> {
        match &self.about {
            About::End(ending) => Some(ending),
            _ => None,
        }
    }

    /// The engine event it carries.
    pub fn event(&self) -> Option<&EngineEvent> {
        match &self.about {
            About::Event(event) => Some(event),
            _ => None,
        }
    }

    /// The sampler's round it carries.
    pub fn samples(&self) -> Option<&Arc<Samples>> {
        match &self.about {
            About::Samples(samples) => Some(samples),
            _ => None,
        }
    }

    /// Each log line's container id and Docker timestamp, in order (none for other frames).
    pub fn log_lines(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        let index = match &self.about {
            About::Logs(index) => Some(index),
            _ => None,
        };
        index.into_iter().flat_map(move |index| {
            index.lines.iter().map(move |mark| {
                let container = index
                    .origins
                    .get(mark.origin as usize)
                    .map_or("", |o| o.container.as_str());
                let (from, to) = mark.stamp;
                let stamp = (from < to).then(|| &self.text.as_str()[from as usize..to as usize]);
                (container, stamp)
            })
        })
    }

    /// Each log line's container id and the line itself, read back from the text, for
    /// Berth's own readers of log hubs (alert rules): a line's text lives only in the frame
    /// sent to clients, so keeping it twice would double what a hub holds; a rule's
    /// watcher reads it once per batch instead (none for other frames).
    pub fn read_lines(&self) -> impl Iterator<Item = (&str, BatchLine)> {
        let index = match &self.about {
            About::Logs(index) => Some(index),
            _ => None,
        };
        let text = self.text.as_str();
        index.into_iter().flat_map(move |index| {
            index
                .lines
                .iter()
                .zip(ends(&index.lines, text))
                .filter_map(move |(mark, end)| {
                    let container = index
                        .origins
                        .get(mark.origin as usize)
                        .map_or("", |o| o.container.as_str());
                    let line = serde_json::from_str(&text[mark.at as usize..end]).ok()?;
                    Some((container, line))
                })
        })
    }

    /// The frame without its first `n` lines (`n` > 0), as [`LogBatch::skip`] makes it
    /// (origins no remaining line names dropped): a viewer's tail that begins inside a
    /// batch. With `n` = 0 the frame as it is; a frame that is not a log batch is never
    /// cut. None when nothing is left.
    pub fn skip(&self, n: usize) -> Option<Self> {
        let About::Logs(index) = &self.about else {
            return Some(self.clone());
        };
        if n == 0 {
            return Some(self.clone());
        }
        if n >= index.lines.len() {
            return None;
        }
        let text = self.text.as_str();
        let mut renumbered: Vec<Option<u32>> = vec![None; index.origins.len()];
        let mut origins = Vec::new();
        for mark in &index.lines[n..] {
            renumbered[mark.origin as usize].get_or_insert_with(|| {
                origins.push(&index.origins[mark.origin as usize]);
                origins.len() as u32 - 1
            });
        }
        let lines: Vec<Line> = index.lines[n..]
            .iter()
            .zip(ends(&index.lines[n..], text))
            .map(|(mark, end)| {
                let start = mark.at as usize + opening_len(mark.origin);
                Line {
                    origin: renumbered[mark.origin as usize].expect("counted above"),
                    stream: LogStream::Stdout,
                    timestamp: None,
                    body: Body::Written(&text[start..end]),
                }
            })
            .collect();
        let first = index.first + n as u64;
        let (text, marks) = write_logs(first, &origins, lines.into_iter());
        let mut cut = LogIndex {
            first,
            origins: origins.into_iter().cloned().collect(),
            lines: marks,
        };
        // The timestamps were copied within the lines: their places moved with them.
        for (new, old) in cut.lines.iter_mut().zip(&index.lines[n..]) {
            let (from, to) = old.stamp;
            if from < to {
                // Past the old opening, then the new one (renumbering can lengthen it).
                let opened = |at: u32| {
                    at - old.at - opening_len(old.origin) as u32
                        + new.at
                        + opening_len(new.origin) as u32
                };
                new.stamp = (opened(from), opened(to));
            }
        }
        Some(Self {
            text: text.into(),
            about: About::Logs(Arc::new(cut)),
        })
    }
}

/// Where each of `marks`' lines ends in `text` (exclusive): before the comma that opens
/// the next, or before the `]}` that closes the batch.
fn ends<'a>(marks: &'a [Mark], text: &'a str) -> impl Iterator<Item = usize> + 'a {
    marks
        .iter()
        .skip(1)
        .map(|next| next.at as usize - 1)
        .chain([text.len() - 2])
}

/// A line to write: its fields, or (cutting a written batch) what follows its origin.
struct Line<'a> {
    origin: u32,
    stream: LogStream,
    timestamp: Option<&'a str>,
    body: Body<'a>,
}

enum Body<'a> {
    Text(&'a str),
    /// `"stream":…}` as written before, copied as it is.
    Written(&'a str),
}

/// Writes a `logs` frame as serde would, marking where each line and timestamp lies. Into
/// one buffer, strings escaped in place: nothing is allocated per line but its mark.
fn write_logs<'a>(
    first: u64,
    origins: &impl serde::Serialize,
    lines: impl ExactSizeIterator<Item = Line<'a>>,
) -> (String, Vec<Mark>) {
    // Offsets are u32: a frame is at most 1,000 lines of at most 16 KiB (escaped, a few
    // times that), far below 4 GiB.
    let count = lines.len();
    let mut out: Vec<u8> = Vec::with_capacity(128 + count * 96);
    let _ = write!(
        out,
        r#"{{"type":"logs","count":{count},"first":{first},"origins":"#
    );
    if serde_json::to_writer(&mut out, origins).is_err() {
        out.extend_from_slice(b"[]");
    }
    out.extend_from_slice(br#","lines":["#);
    let mut marks = Vec::with_capacity(count);
    for (i, line) in lines.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let at = out.len() as u32;
        open_line(&mut out, line.origin);
        let mut stamp = (0, 0);
        match line.body {
            Body::Written(rest) => out.extend_from_slice(rest.as_bytes()),
            Body::Text(body) => {
                out.extend_from_slice(match line.stream {
                    LogStream::Stdout => br#""stream":"stdout""#,
                    LogStream::Stderr => br#""stream":"stderr""#,
                });
                if let Some(timestamp) = line.timestamp {
                    out.extend_from_slice(br#","timestamp":"#);
                    let from = out.len();
                    json_string(&mut out, timestamp);
                    // Marked only when written as it is (Docker's always are): a mark
                    // must read back the timestamp itself, not its escaped text.
                    if out.len() - from == timestamp.len() + 2 {
                        stamp = (from as u32 + 1, out.len() as u32 - 1);
                    }
                }
                out.extend_from_slice(br#","text":"#);
                json_string(&mut out, body);
                out.push(b'}');
            }
        }
        marks.push(Mark {
            at,
            origin: line.origin,
            stamp,
        });
    }
    out.extend_from_slice(b"]}");
    // Only UTF-8 was written: the check cannot fail, and costs one pass over the frame.
    let text = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    (text, marks)
}

/// A line's opening: `{` and, for any origin but the first, `"origin":N,`.
fn open_line(out: &mut Vec<u8>, origin: u32) {
    out.push(b'{');
    if origin != 0 {
        let _ = write!(out, r#""origin":{origin},"#);
    }
}

/// How long [`open_line`] writes for `origin`.
fn opening_len(origin: u32) -> usize {
    match origin {
        0 => 1,
        n => r#"{"origin":,"#.len() + n.ilog10() as usize + 1,
    }
}

/// `s` as a JSON string, escaped as serde escapes it.
fn json_string(out: &mut Vec<u8>, s: &str) {
    if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::frames::BatchLine;
    use proptest::prelude::*;

    fn origin(i: usize) -> LogOrigin {
        LogOrigin {
            container: format!("c{i}"),
            name: format!("name \"{i}\""),
            service: (i % 2 == 1).then(|| format!("svc{i}")),
        }
    }

    fn batch(first: u64, lines: &[(u32, bool, bool, String)], origins: usize) -> LogBatch {
        let lines = lines
            .iter()
            .map(|(origin, stderr, stamped, text)| BatchLine {
                origin: *origin % origins as u32,
                stream: if *stderr {
                    LogStream::Stderr
                } else {
                    LogStream::Stdout
                },
                timestamp: stamped.then(|| format!("2026-12-05T11:{:02}:00.5Z", text.len() % 60)),
                text: text.clone(),
            })
            .collect();
        LogBatch::new(first, (0..origins).map(origin).collect(), lines)
    }

    fn serde_text(batch: LogBatch) -> String {
        serde_json::to_string(&Frame::Logs(batch)).unwrap()
    }

    /// Each line's container and timestamp, as the batch itself says.
    fn expected_lines(batch: &LogBatch) -> Vec<(String, Option<String>)> {
        batch
            .lines
            .iter()
            .map(|l| {
                let origin = &batch.origins[l.origin as usize];
                (origin.container.clone(), l.timestamp.clone())
            })
            .collect()
    }

    fn marked_lines(published: &Published) -> Vec<(String, Option<String>)> {
        published
            .log_lines()
            .map(|(c, t)| (c.to_string(), t.map(str::to_string)))
            .collect()
    }

    proptest! {
        /// The browser reads serde's format: the written text is serde's to the byte, cut
        /// or not, and the marks point at each line's own container and timestamp.
        #[test]
        fn a_written_batch_is_serdes_and_its_cuts_are_skips(
            first in 0u64..1_000_000,
            origins in 1usize..14,
            lines in prop::collection::vec(
                (0u32..14, any::<bool>(), any::<bool>(), "[a-z\"\\\\\u{0}\u{7f}\u{e9}\u{2028}]{0,12}"),
                1..12,
            ),
        ) {
            let batch = batch(first, &lines, origins);
            let published = Published::logs(batch.clone());
            prop_assert_eq!(published.text().as_str(), serde_text(batch.clone()));
            prop_assert_eq!(published.lines(), batch.lines.len());
            prop_assert_eq!(marked_lines(&published), expected_lines(&batch));
            // Read back, each line is the batch's own, with its container.
            let read: Vec<(String, BatchLine)> = published
                .read_lines()
                .map(|(c, l)| (c.to_string(), l))
                .collect();
            let written: Vec<(String, BatchLine)> = batch
                .lines
                .iter()
                .map(|l| (batch.origins[l.origin as usize].container.clone(), l.clone()))
                .collect();
            prop_assert_eq!(read, written);
            for n in 0..=batch.lines.len() {
                let cut = published.skip(n);
                let skipped = batch.clone().skip(n);
                let skipped = if n == 0 { Some(batch.clone()) } else { skipped };
                prop_assert_eq!(cut.is_some(), skipped.is_some(), "n = {}", n);
                if let (Some(cut), Some(skipped)) = (cut, skipped) {
                    prop_assert_eq!(cut.text().as_str(), serde_text(skipped.clone()));
                    prop_assert_eq!(marked_lines(&cut), expected_lines(&skipped));
                    // A cut of a cut, as a backlog's first frame may be cut again.
                    if let Some(again) = cut.skip(1) {
                        prop_assert_eq!(again.text().as_str(), serde_text(skipped.skip(1).unwrap()));
                    }
                }
            }
        }
    }

    #[test]
    fn other_frames_are_serdes_and_keep_what_they_are() {
        let end = Published::new(Frame::End {
            reason: "gone".into(),
            retry: true,
        })
        .unwrap();
        assert_eq!(
            end.text().as_str(),
            r#"{"type":"end","reason":"gone","retry":true}"#
        );
        assert_eq!(end.ending(), Some(&Ending::retry("gone")));
        assert_eq!((end.lines(), end.log_lines().count()), (1, 0));
        assert!(end.skip(3).is_some(), "only log batches are cut");
        let event = EngineEvent {
            kind: "container".into(),
            action: "die".into(),
            id: "abc".into(),
            attributes: Default::default(),
            time_nano: 7,
        };
        let published = Published::new(Frame::Event(event.clone())).unwrap();
        assert_eq!(published.event(), Some(&event));
        assert_eq!(
            published.text().as_str(),
            serde_json::to_string(&Frame::Event(event)).unwrap()
        );
        assert_eq!(published.ending(), None);
    }
}
