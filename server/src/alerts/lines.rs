//! A log rule's test of a line: text it contains, a regular expression, or a JSON field
//! compared to a value; compiled once when the rule is written (422 with the regex
//! library's message, or what is wrong with a path or value) and run on every line of the
//! containers it watches, which is why a line's JSON is parsed at most once for all rules.

use crate::error::Error;
use app::{
    frames::LogStream,
    model::{Compare, LineTest},
};
use memchr::memmem::Finder;
use serde_json::Value;
use std::{cell::OnceCell, cmp::Ordering};

/// The longest text, regex or path a rule may hold.
const MAX_PATTERN: usize = 1024;
/// A regex's compiled size: enough for any sensible pattern, and a bound on a silly one
/// (`a{1000}{1000}`) rather than memory the process gives away.
const REGEX_SIZE: usize = 1 << 20;
/// Steps in a JSON path.
const MAX_STEPS: usize = 32;

/// A line as the rules read it: its JSON parsed on first need, once.
pub struct Line<'a> {
    pub stream: LogStream,
    pub text: &'a str,
    json: OnceCell<Option<Value>>,
}

impl<'a> Line<'a> {
    pub fn new(stream: LogStream, text: &'a str) -> Self {
        Self {
            stream,
            text,
            json: OnceCell::new(),
        }
    }

    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| {
                let text = self.text.trim();
                // Only an object is a structured log line; the cheap look first.
                text.starts_with('{')
                    .then(|| serde_json::from_str(text).ok())
                    .flatten()
            })
            .as_ref()
    }
}

/// A compiled [`LineTest`], with the stream it reads.
pub struct LineRule {
    test: Test,
    stream: Option<LogStream>,
}

enum Test {
    // Boxed: a searcher is large beside the other tests.
    Contains(Box<Finder<'static>>),
    Regex(regex::Regex),
    Json {
        path: Vec<String>,
        op: Compare,
        value: Value,
    },
}

impl std::fmt::Debug for LineRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineRule")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl LineRule {
    /// 400 for what is empty or too long, 422 for what does not compile.
    pub fn new(test: &LineTest, stream: Option<LogStream>) -> Result<Self, Error> {
        let pattern = match test {
            LineTest::Contains(text) => text,
            LineTest::Regex(regex) => regex,
            LineTest::Json { path, .. } => path,
        };
        if pattern.is_empty() || pattern.len() > MAX_PATTERN {
            return Err(Error::bad_request(format!(
                "a log rule's text, regex or path is 1 to {MAX_PATTERN} bytes"
            )));
        }
        let test = match test {
            LineTest::Contains(text) => {
                Test::Contains(Box::new(Finder::new(text.as_bytes()).into_owned()))
            }
            LineTest::Regex(regex) => Test::Regex(
                regex::RegexBuilder::new(regex)
                    .size_limit(REGEX_SIZE)
                    .dfa_size_limit(REGEX_SIZE)
                    .build()
                    .map_err(|e| Error::new(422, format!("the regex does not compile: {e}")))?,
            ),
            LineTest::Json { path, op, value } => Test::Json {
                path: steps(path)?,
                op: *op,
                value: checked_value(value, *op)?,
            },
        };
        Ok(Self { test, stream })
    }

    /// Whether `line` fires the rule.
    pub fn passes(&self, line: &Line) -> bool {
        if self.stream.is_some_and(|s| s != line.stream) {
            return false;
        }
        match &self.test {
            Test::Contains(finder) => finder.find(line.text.as_bytes()).is_some(),
            Test::Regex(regex) => regex.is_match(line.text),
            Test::Json { path, op, value } => line
                .json()
                .and_then(|json| field(json, path))
                .and_then(|found| compare(found, value))
                .is_some_and(|ordering| op.holds(ordering)),
        }
    }

    /// The JSON field it compares, as the line holds it (`status: 503`), for the
    /// alert's message.
    pub fn field(&self, line: &Line) -> Option<String> {
        match &self.test {
            Test::Json { path, .. } => line
                .json()
                .and_then(|json| field(json, path))
                .map(|found| format!("{}: {found}", path.join("."))),
            _ => None,
        }
    }
}

/// `a.b.0` as its steps: keys of letters, digits, `_`, `-`, `@`, `$` (what log formats
/// name fields with), or array indexes.
fn steps(path: &str) -> Result<Vec<String>, Error> {
    let steps: Vec<String> = path.split('.').map(str::to_string).collect();
    let good = |s: &String| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '$'))
    };
    if steps.len() > MAX_STEPS || !steps.iter().all(good) {
        return Err(Error::new(
            422,
            format!(
                "a JSON path is up to {MAX_STEPS} keys or indexes joined by dots (letters, digits, _ - @ $), not {path:?}"
            ),
        ));
    }
    Ok(steps)
}

/// A value a field can be compared to: a number, text, true, false or null; ordered
/// comparisons only with a number or text.
fn checked_value(value: &Value, op: Compare) -> Result<Value, Error> {
    let ordered = !matches!(op, Compare::Eq | Compare::Ne);
    match value {
        Value::Number(_) | Value::String(_) => {}
        Value::Bool(_) | Value::Null if !ordered => {}
        Value::Array(_) | Value::Object(_) => {
            return Err(Error::new(
                422,
                "a JSON field is compared to a number, text, true, false or null",
            ));
        }
        _ => {
            return Err(Error::new(
                422,
                format!("{} compares numbers or text", op.as_str()),
            ));
        }
    }
    if value.as_str().is_some_and(|s| s.len() > MAX_PATTERN) {
        return Err(Error::bad_request(format!(
            "a JSON value is at most {MAX_PATTERN} bytes"
        )));
    }
    Ok(value.clone())
}

fn field<'j>(json: &'j Value, path: &[String]) -> Option<&'j Value> {
    path.iter().try_fold(json, |at, step| match at {
        Value::Object(map) => map.get(step),
        Value::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// How `found` orders against `wanted`: numbers as numbers, text as text, the rest only
/// as equal or not. None when the two cannot be compared (a field of another type never
/// fires, whatever the operator).
fn compare(found: &Value, wanted: &Value) -> Option<Ordering> {
    match (found, wanted) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) => (a == b).then_some(Ordering::Equal),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(test: LineTest) -> LineRule {
        LineRule::new(&test, None).unwrap()
    }

    fn out(text: &str) -> Line<'_> {
        Line::new(LogStream::Stdout, text)
    }

    #[test]
    fn text_and_regexes_match_as_written() {
        let contains = rule(LineTest::Contains("panic".into()));
        assert!(contains.passes(&out("thread main panicked")));
        assert!(!contains.passes(&out("PANIC")));
        let regex = rule(LineTest::Regex(r"ERROR \d{3}".into()));
        assert!(regex.passes(&out("x ERROR 503 y")));
        assert!(!regex.passes(&out("ERROR 5")));
        let stderr =
            LineRule::new(&LineTest::Contains("x".into()), Some(LogStream::Stderr)).unwrap();
        assert!(!stderr.passes(&out("x")));
        assert!(stderr.passes(&Line::new(LogStream::Stderr, "x")));
    }

    #[test]
    fn json_fields_compare_by_type() {
        let json = |path: &str, op, value| {
            rule(LineTest::Json {
                path: path.into(),
                op,
                value,
            })
        };
        let errors = json("status", Compare::Ge, json!(500));
        assert!(errors.passes(&out(r#"{"status":503,"path":"/"}"#)));
        assert!(errors.passes(&out(r#" {"status":500.0} "#)));
        assert!(!errors.passes(&out(r#"{"status":404}"#)));
        assert!(
            !errors.passes(&out(r#"{"status":"503"}"#)),
            "text is not a number"
        );
        assert!(!errors.passes(&out("status 503")));
        assert!(!errors.passes(&out(r#"{"status":"#)));
        let nested = json("req.headers.0", Compare::Eq, json!("gzip"));
        assert!(nested.passes(&out(r#"{"req":{"headers":["gzip"]}}"#)));
        assert!(!nested.passes(&out(r#"{"req":{"headers":{"0":1}}}"#)));
        let level = json("level", Compare::Ne, json!("info"));
        assert!(level.passes(&out(r#"{"level":"error"}"#)));
        assert!(
            !level.passes(&out(r#"{"msg":"no level"}"#)),
            "a missing field never fires"
        );
    }

    #[test]
    fn what_cannot_be_run_is_refused_with_why() {
        let status = |test: LineTest| LineRule::new(&test, None).unwrap_err().status();
        assert_eq!(status(LineTest::Regex("(unclosed".into())), 422);
        assert_eq!(
            status(LineTest::Regex(r"(a|b)\1".into())),
            422,
            "no back-references"
        );
        assert_eq!(
            status(LineTest::Regex("a{1000}{1000}{1000}".into())),
            422,
            "too large"
        );
        assert_eq!(status(LineTest::Contains(String::new())), 400);
        assert_eq!(status(LineTest::Contains("x".repeat(MAX_PATTERN + 1))), 400);
        let json = |path: &str, op, value| LineTest::Json {
            path: path.into(),
            op,
            value,
        };
        assert_eq!(status(json("a..b", Compare::Eq, json!(1))), 422);
        assert_eq!(status(json("a b", Compare::Eq, json!(1))), 422);
        assert_eq!(status(json("a", Compare::Gt, json!(true))), 422);
        assert_eq!(status(json("a", Compare::Eq, json!([1]))), 422);
        let error = LineRule::new(&LineTest::Regex("(x".into()), None).unwrap_err();
        assert!(error.to_string().contains("unclosed"), "{error}");
    }
}
