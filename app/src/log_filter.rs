//! The log viewer's filter: plain text (ASCII case-insensitive) or `/regex/`, the byte ranges
//! it matches in a line's visible text, and the splitting of ANSI segments at those ranges so
//! matches can be highlighted without losing colours.

use crate::ansi::Style;
use regex_lite::Regex;

/// A parsed filter. Two filters are equal when they were written the same way.
#[derive(Clone, Debug)]
pub enum Filter {
    All,
    /// Lowercased (ASCII only, so byte offsets stay valid).
    Text(String),
    Regex(Regex),
}

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Filter::All, Filter::All) => true,
            (Filter::Text(a), Filter::Text(b)) => a == b,
            (Filter::Regex(a), Filter::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Filter {
    /// `/…/` is a regular expression; anything else is plain text. An invalid regular
    /// expression is an error to show, not a filter.
    pub fn parse(input: &str) -> Result<Self, String> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(Filter::All);
        }
        if let Some(pattern) = input
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
        {
            if pattern.is_empty() {
                return Ok(Filter::All);
            }
            return Regex::new(pattern)
                .map(Filter::Regex)
                .map_err(|e| format!("invalid regular expression: {e}"));
        }
        Ok(Filter::Text(input.to_ascii_lowercase()))
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Filter::All)
    }

    pub fn matches(&self, text: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Text(needle) => text.to_ascii_lowercase().contains(needle.as_str()),
            Filter::Regex(re) => re.is_match(text),
        }
    }

    /// Non-overlapping, non-empty byte ranges of the matches, in order.
    pub fn ranges(&self, text: &str) -> Vec<(usize, usize)> {
        match self {
            Filter::All => Vec::new(),
            Filter::Text(needle) => text
                .to_ascii_lowercase()
                .match_indices(needle.as_str())
                .map(|(start, m)| (start, start + m.len()))
                .collect(),
            Filter::Regex(re) => re
                .find_iter(text)
                .filter(|m| !m.is_empty())
                .map(|m| (m.start(), m.end()))
                .collect(),
        }
    }
}

/// Splits styled segments at the match `ranges` (byte offsets into their concatenation);
/// each piece says whether it lies inside a match.
pub fn highlight(
    segments: Vec<(Style, String)>,
    ranges: &[(usize, usize)],
) -> Vec<(Style, String, bool)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (style, text) in segments {
        let end = offset + text.len();
        let mut cut = offset;
        for &(start, stop) in ranges.iter().filter(|(s, e)| *s < end && *e > offset) {
            let (start, stop) = (start.max(offset), stop.min(end));
            if start > cut {
                out.push((
                    style.clone(),
                    text[cut - offset..start - offset].to_string(),
                    false,
                ));
            }
            out.push((
                style.clone(),
                text[start - offset..stop - offset].to_string(),
                true,
            ));
            cut = stop;
        }
        if cut < end {
            out.push((style, text[cut - offset..].to_string(), false));
        }
        offset = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ansi::segments;

    #[test]
    fn parses_text_and_regex() {
        assert!(Filter::parse("  ").unwrap().is_all());
        assert!(Filter::parse("//").unwrap().is_all());
        assert_eq!(
            Filter::parse("ERROR").unwrap(),
            Filter::Text("error".into())
        );
        assert!(matches!(
            Filter::parse("/err(or)?/").unwrap(),
            Filter::Regex(_)
        ));
        let error = Filter::parse("/a(/").unwrap_err();
        assert!(error.starts_with("invalid regular expression"), "{error}");
        // A lone slash is text, not an unfinished regex.
        assert_eq!(Filter::parse("/").unwrap(), Filter::Text("/".into()));
    }

    #[test]
    fn text_is_case_insensitive_and_regex_is_as_written() {
        let text = Filter::parse("warn").unwrap();
        assert!(text.matches("a WARNING here"));
        assert_eq!(text.ranges("Warn warn"), [(0, 4), (5, 9)]);
        let re = Filter::parse(r"/line \d+5$/").unwrap();
        assert!(re.matches("line 15"));
        assert!(!re.matches("line 16"));
        assert_eq!(Filter::parse("/x*/").unwrap().ranges("abc"), []);
    }

    #[test]
    fn highlights_across_ansi_segments() {
        let line = "ok \u{1b}[31mred text\u{1b}[0m done";
        let ranges = Filter::parse("d te")
            .unwrap()
            .ranges(&crate::ansi::strip(line));
        let pieces = highlight(segments(line), &ranges);
        let marked: Vec<_> = pieces
            .iter()
            .filter(|(_, _, hit)| *hit)
            .map(|(_, t, _)| t.as_str())
            .collect();
        assert_eq!(marked, ["d te"]);
        let joined: String = pieces.iter().map(|(_, t, _)| t.as_str()).collect();
        assert_eq!(joined, "ok red text done");
        // The match keeps the red of the segment it is in.
        let red = pieces.iter().find(|(_, t, _)| t == "d te").unwrap();
        assert!(!red.0.classes().is_empty());
    }

    #[test]
    fn highlight_spanning_two_segments() {
        let line = "ab\u{1b}[32mcd\u{1b}[0mef";
        let ranges = Filter::parse("bcde")
            .unwrap()
            .ranges(&crate::ansi::strip(line));
        let pieces = highlight(segments(line), &ranges);
        let texts: Vec<_> = pieces
            .iter()
            .map(|(_, t, hit)| (t.as_str(), *hit))
            .collect();
        assert_eq!(
            texts,
            [
                ("a", false),
                ("b", true),
                ("cd", true),
                ("e", true),
                ("f", false)
            ]
        );
    }
}
