//! ANSI escape codes in log lines to styled segments. SGR codes (colours, bold, dim,
//! italic, underline, reset) become CSS classes; every other escape sequence is dropped, so
//! no raw escape code ever reaches the page.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub fg: Option<u8>,
    pub bg: Option<u8>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
}

impl Style {
    /// CSS classes, e.g. `ansi-fg-1 ansi-bold` (colours 0-15: 8-15 are the bright ones).
    pub fn classes(&self) -> String {
        let mut classes = Vec::new();
        if let Some(fg) = self.fg {
            classes.push(format!("ansi-fg-{fg}"));
        }
        if let Some(bg) = self.bg {
            classes.push(format!("ansi-bg-{bg}"));
        }
        for (on, name) in [
            (self.bold, "ansi-bold"),
            (self.dim, "ansi-dim"),
            (self.italic, "ansi-italic"),
            (self.underline, "ansi-underline"),
        ] {
            if on {
                classes.push(name.to_string());
            }
        }
        classes.join(" ")
    }

    fn apply(&mut self, params: &str) {
        let codes: Vec<u16> = if params.is_empty() {
            vec![0]
        } else {
            params.split(';').map(|p| p.parse().unwrap_or(0)).collect()
        };
        let mut i = 0;
        while i < codes.len() {
            match codes[i] {
                0 => *self = Style::default(),
                1 => self.bold = true,
                2 => self.dim = true,
                3 => self.italic = true,
                4 => self.underline = true,
                22 => (self.bold, self.dim) = (false, false),
                23 => self.italic = false,
                24 => self.underline = false,
                c @ 30..=37 => self.fg = Some((c - 30) as u8),
                39 => self.fg = None,
                c @ 40..=47 => self.bg = Some((c - 40) as u8),
                49 => self.bg = None,
                c @ 90..=97 => self.fg = Some((c - 90 + 8) as u8),
                c @ 100..=107 => self.bg = Some((c - 100 + 8) as u8),
                // 256-colour and truecolour: keep the first 16, skip the rest's arguments.
                38 | 48 => {
                    let target = codes[i];
                    match codes.get(i + 1) {
                        Some(5) => {
                            let colour = codes
                                .get(i + 2)
                                .copied()
                                .filter(|c| *c < 16)
                                .map(|c| c as u8);
                            if target == 38 {
                                self.fg = colour
                            } else {
                                self.bg = colour
                            }
                            i += 2;
                        }
                        Some(2) => i += 4,
                        _ => {}
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// Splits `text` into (style, text) segments, with escape sequences removed.
pub fn segments(text: &str) -> Vec<(Style, String)> {
    let mut out: Vec<(Style, String)> = Vec::new();
    let mut style = Style::default();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            current.push(c);
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                let mut params = String::new();
                let mut end = None;
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        end = Some(c);
                        break;
                    }
                    params.push(c);
                }
                if end == Some('m') {
                    if !current.is_empty() {
                        out.push((style.clone(), std::mem::take(&mut current)));
                    }
                    style.apply(&params);
                }
            }
            // OSC (`ESC ] ... BEL` or `ESC ] ... ESC \`): titles, hyperlinks; dropped.
            Some(']') => {
                chars.next();
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {
                chars.next();
            }
        }
    }
    if !current.is_empty() {
        out.push((style, current));
    }
    out
}

/// The text without any escape sequence (for search and download).
pub fn strip(text: &str) -> String {
    segments(text).into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_and_resets() {
        let s = segments("plain \u{1b}[1;31merror\u{1b}[0m done");
        assert_eq!(s.len(), 3);
        assert_eq!(s[0], (Style::default(), "plain ".to_string()));
        assert_eq!(s[1].1, "error");
        assert_eq!(s[1].0.classes(), "ansi-fg-1 ansi-bold");
        assert_eq!(s[2], (Style::default(), " done".to_string()));
        assert_eq!(segments("\u{1b}[92mok")[0].0.fg, Some(10));
        assert_eq!(segments("\u{1b}[38;5;3mx")[0].0.fg, Some(3));
    }

    #[test]
    fn no_escape_code_survives() {
        for text in [
            "\u{1b}[2K\u{1b}[1Gprogress",
            "\u{1b}]0;title\u{7}after",
            "\u{1b}[38;2;1;2;3mrgb",
            "\u{1b}(Bx",
            "trailing \u{1b}[",
        ] {
            assert!(
                !strip(text).contains('\u{1b}'),
                "{text:?} -> {:?}",
                strip(text)
            );
        }
        assert_eq!(strip("\u{1b}]0;title\u{7}after"), "after");
        assert_eq!(strip("\u{1b}[2K\u{1b}[1Gprogress"), "progress");
    }
}
