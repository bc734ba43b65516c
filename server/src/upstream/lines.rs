//! Docker log chunks to lines: a chunk may hold several lines or part of one, per stream.

use app::frames::LogStream;
use bollard::container::LogOutput;

#[derive(Default)]
pub struct LineSplitter {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// A complete line: its stream, Docker's timestamp when asked for, and the text.
pub struct RawLine {
    pub stream: LogStream,
    pub timestamp: Option<String>,
    pub text: String,
}

/// Longest partial line kept while waiting for its newline; past it, the line is cut.
const MAX_LINE: usize = 64 * 1024;

impl LineSplitter {
    /// Feeds one chunk; calls `emit` for each complete line.
    pub fn feed(&mut self, output: LogOutput, timestamps: bool, mut emit: impl FnMut(RawLine)) {
        let (stream, bytes) = match output {
            LogOutput::StdErr { message } => (LogStream::Stderr, message),
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                (LogStream::Stdout, message)
            }
            LogOutput::StdIn { .. } => return,
        };
        let buffer = match stream {
            LogStream::Stdout => &mut self.stdout,
            LogStream::Stderr => &mut self.stderr,
        };
        buffer.extend_from_slice(&bytes);
        while let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            emit(parse(stream, &line[..line.len() - 1], timestamps));
        }
        if buffer.len() > MAX_LINE {
            let line = std::mem::take(buffer);
            emit(parse(stream, &line, timestamps));
        }
    }
}

fn parse(stream: LogStream, line: &[u8], timestamps: bool) -> RawLine {
    let line = String::from_utf8_lossy(line);
    let line = line.strip_suffix('\r').unwrap_or(&line);
    let (timestamp, text) = match line.split_once(' ') {
        Some((ts, text)) if timestamps => (Some(ts.to_string()), text.to_string()),
        _ => (None, line.to_string()),
    };
    RawLine {
        stream,
        timestamp,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(s: &str) -> LogOutput {
        LogOutput::StdOut {
            message: s.as_bytes().to_vec().into(),
        }
    }

    #[test]
    fn splits_and_joins_chunks_per_stream() {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        splitter.feed(out("a\nb"), false, |l| lines.push(l.text));
        splitter.feed(
            LogOutput::StdErr {
                message: b"err\n".to_vec().into(),
            },
            false,
            |l| lines.push(format!("{:?}:{}", l.stream, l.text)),
        );
        splitter.feed(out("c\n"), false, |l| lines.push(l.text));
        assert_eq!(lines, ["a", "Stderr:err", "bc"]);
    }

    #[test]
    fn timestamps_are_split_off() {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        splitter.feed(out("2026-11-21T22:37:17.1Z hello world\r\n"), true, |l| {
            lines.push(l)
        });
        assert_eq!(
            lines[0].timestamp.as_deref(),
            Some("2026-11-21T22:37:17.1Z")
        );
        assert_eq!(lines[0].text, "hello world");
    }
}
