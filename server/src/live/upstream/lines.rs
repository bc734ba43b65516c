//! Docker log bytes to lines, per stream, holding at most one line's limit per stream: a
//! line longer than [`MAX_LINE`] keeps its first 16 KiB (cut on a character boundary) and
//! says how many bytes were cut; a line that never ends is shown after [`FLUSH_AFTER_CUT`]
//! bytes were dropped, and what follows is shown as a continuation.

use app::frames::LogStream;

/// The most of one line a viewer is sent.
pub const MAX_LINE: usize = 16 * 1024;
/// A line that keeps going without a newline is shown once this much of it was dropped.
pub const FLUSH_AFTER_CUT: usize = 1024 * 1024;
/// A cut may have to step back over at most 3 bytes of a UTF-8 character.
const HEAD: usize = MAX_LINE + 3;

/// A complete (or cut) line: its stream, Docker's timestamp when asked for, and the text.
pub struct RawLine {
    pub stream: LogStream,
    pub timestamp: Option<String>,
    pub text: String,
}

#[derive(Default)]
struct Partial {
    head: Vec<u8>,
    /// Bytes of this line dropped past the head.
    cut: usize,
    /// This line continues one shown before it ended: it has no timestamp of its own.
    continued: bool,
}

impl Partial {
    fn take(&mut self, bytes: &[u8]) {
        let room = HEAD.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        self.cut += bytes.len() - room;
    }

    fn finish(&mut self, stream: LogStream, timestamps: bool) -> RawLine {
        let head = std::mem::take(&mut self.head);
        let cut = std::mem::take(&mut self.cut);
        let continued = std::mem::take(&mut self.continued);
        let line = raw_line(stream, &head, cut, timestamps && !continued);
        // The buffer is kept for the next line that spans chunks.
        self.head = head;
        self.head.clear();
        line
    }
}

/// A line from its bytes (without the newline): cut at [`MAX_LINE`] on a character
/// boundary, with `cut` more bytes said to be dropped; the timestamp split off when asked.
/// The text is copied once, from the chunk or the partial line.
fn raw_line(stream: LogStream, bytes: &[u8], mut cut: usize, timestamps: bool) -> RawLine {
    let mut line = bytes;
    if line.len() > MAX_LINE {
        // Never split a character: step back to the first byte of the one at the limit.
        let mut end = MAX_LINE;
        while end > 0 && line[end] & 0xC0 == 0x80 {
            end -= 1;
        }
        cut += line.len() - end;
        line = &line[..end];
    }
    if cut == 0 && line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let mut timestamp = None;
    if timestamps
        && let Some(space) = memchr::memchr(b' ', line)
        && let Ok(ts) = std::str::from_utf8(&line[..space])
        && looks_like_timestamp(ts)
    {
        timestamp = Some(ts.to_string());
        line = &line[space + 1..];
    }
    let mut text = String::from_utf8_lossy(line).into_owned();
    if cut > 0 {
        text.push_str(&format!(" … [{cut} bytes cut]"));
    }
    RawLine {
        stream,
        timestamp,
        text,
    }
}

/// Docker's RFC 3339 timestamp: `2026-11-21T22:37:17.123456789Z`.
fn looks_like_timestamp(token: &str) -> bool {
    let b = token.as_bytes();
    b.len() >= 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
}

#[derive(Default)]
pub struct LineSplitter {
    stdout: Partial,
    stderr: Partial,
}

impl LineSplitter {
    /// Feeds bytes of one stream; calls `emit` for each complete (or cut) line.
    pub fn feed(
        &mut self,
        stream: LogStream,
        mut bytes: &[u8],
        timestamps: bool,
        mut emit: impl FnMut(RawLine),
    ) {
        let partial = match stream {
            LogStream::Stdout => &mut self.stdout,
            LogStream::Stderr => &mut self.stderr,
        };
        while !bytes.is_empty() {
            match memchr::memchr(b'\n', bytes) {
                // A whole line in this chunk: made from the chunk, not copied to the partial.
                Some(end) if partial.head.is_empty() && partial.cut == 0 && !partial.continued => {
                    emit(raw_line(stream, &bytes[..end], 0, timestamps));
                    bytes = &bytes[end + 1..];
                }
                Some(end) => {
                    partial.take(&bytes[..end]);
                    emit(partial.finish(stream, timestamps));
                    bytes = &bytes[end + 1..];
                }
                None => {
                    partial.take(bytes);
                    bytes = &[];
                    if partial.cut >= FLUSH_AFTER_CUT {
                        emit(partial.finish(stream, timestamps));
                        partial.continued = true;
                    }
                }
            }
        }
    }

    /// At the end of `stream`: its last line when it did not end with a newline.
    pub fn finish(&mut self, stream: LogStream) -> Option<RawLine> {
        let partial = match stream {
            LogStream::Stdout => &mut self.stdout,
            LogStream::Stderr => &mut self.stderr,
        };
        (!partial.head.is_empty() || partial.cut > 0).then(|| partial.finish(stream, false))
    }

    /// Bytes held while waiting for newlines (never more than two lines' limits).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.stdout.head.len() + self.stderr.head.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(
        splitter: &mut LineSplitter,
        chunks: &[(&[u8], LogStream)],
        ts: bool,
    ) -> Vec<RawLine> {
        let mut lines = Vec::new();
        for (bytes, stream) in chunks {
            splitter.feed(*stream, bytes, ts, |l| lines.push(l));
        }
        lines
    }

    #[test]
    fn a_last_line_without_a_newline_is_kept() {
        let mut splitter = LineSplitter::default();
        let lines = feed_all(
            &mut splitter,
            &[
                (b"one\r\nla", LogStream::Stdout),
                (b"st", LogStream::Stdout),
            ],
            false,
        );
        assert_eq!(
            lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(),
            ["one"]
        );
        assert_eq!(
            splitter
                .finish(LogStream::Stdout)
                .map(|l| l.text)
                .as_deref(),
            Some("last")
        );
        assert!(splitter.finish(LogStream::Stdout).is_none());
        assert!(splitter.finish(LogStream::Stderr).is_none());
    }

    #[test]
    fn splits_and_joins_chunks_per_stream() {
        let mut splitter = LineSplitter::default();
        let lines = feed_all(
            &mut splitter,
            &[
                (b"a\nb", LogStream::Stdout),
                (b"err\n", LogStream::Stderr),
                (b"c\n", LogStream::Stdout),
            ],
            false,
        );
        let texts: Vec<_> = lines
            .iter()
            .map(|l| format!("{:?}:{}", l.stream, l.text))
            .collect();
        assert_eq!(texts, ["Stdout:a", "Stderr:err", "Stdout:bc"]);
    }

    #[test]
    fn timestamps_are_split_off() {
        let mut splitter = LineSplitter::default();
        let lines = feed_all(
            &mut splitter,
            &[(b"2026-11-21T22:37:17.1Z hello world\r\n", LogStream::Stdout)],
            true,
        );
        assert_eq!(
            lines[0].timestamp.as_deref(),
            Some("2026-11-21T22:37:17.1Z")
        );
        assert_eq!(lines[0].text, "hello world");
    }

    /// Issue 9, items 2 and 11: a long line is cut at 16 KiB with a marker that says how
    /// much, on a character boundary, and keeps its timestamp.
    #[test]
    fn long_lines_are_cut_on_a_character_boundary_with_a_marker() {
        let mut splitter = LineSplitter::default();
        // "é" is two bytes: with the 30-byte timestamp and space first, the 16 KiB limit
        // falls in the middle of one.
        let ts = "2026-11-21T22:37:17.123456789Z ";
        let line = format!("{ts}{}\n", "é".repeat(20_000));
        let lines = feed_all(&mut splitter, &[(line.as_bytes(), LogStream::Stdout)], true);
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(l.timestamp.as_deref(), Some(ts.trim_end()));
        let (text, marker) = l.text.split_once(" … [").expect("a cut marker");
        assert!(text.chars().all(|c| c == 'é'), "no broken character");
        let kept = ts.len() + text.len();
        assert!(kept <= MAX_LINE && kept > MAX_LINE - 4, "{kept}");
        assert_eq!(marker, format!("{} bytes cut]", line.len() - 1 - kept));
    }

    #[test]
    fn a_line_without_end_is_shown_in_bounded_pieces() {
        let mut splitter = LineSplitter::default();
        let chunk = vec![0u8; 64 * 1024];
        let mut lines = Vec::new();
        for _ in 0..(5 * 1024 * 1024 / chunk.len()) {
            splitter.feed(LogStream::Stdout, &chunk, true, |l| lines.push(l));
            assert!(splitter.held() <= HEAD, "held {}", splitter.held());
        }
        assert!(lines.len() >= 4, "{} pieces shown", lines.len());
        for l in &lines {
            assert!(l.timestamp.is_none());
            assert!(l.text.len() < MAX_LINE + 40 && l.text.contains("bytes cut]"));
        }
    }
}
