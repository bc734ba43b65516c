//! What an alert says: the facts a rule found (which container, which event, the exit
//! code), its title and message in words, kept with the alert and given to a channel's
//! template as its variables.

use super::select::Subject;
use app::{format::rfc3339, model::AlertState};
use serde::{Deserialize, Serialize};

/// An alert's variables, as templates and Berth's own JSON body name them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub state: AlertState,
    pub rule: String,
    pub engine: String,
    /// The container's name (empty for an engine's alert).
    pub container: String,
    pub container_id: String,
    pub image: String,
    pub project: String,
    /// What happened: `exit`, `oom`, `unhealthy`, `restarts`, `engine_down`, `log`, `test`.
    pub event: String,
    pub exit_code: Option<i64>,
    /// The log line a log rule matched (its first KiB).
    #[serde(default)]
    pub line: Option<String>,
    pub title: String,
    pub message: String,
    /// When, as RFC 3339 in UTC, and in unix ms.
    pub time: String,
    pub time_ms: i64,
}

impl Facts {
    /// About `subject`, at `at_ms`, the words still to be written.
    pub fn of(rule: &str, subject: &Subject, event: &str, at_ms: i64) -> Self {
        Self {
            state: AlertState::Firing,
            rule: rule.to_string(),
            engine: subject.engine.clone(),
            container: subject.name.clone(),
            container_id: subject.id.clone(),
            image: subject.image.clone(),
            project: subject.project().unwrap_or_default().to_string(),
            event: event.to_string(),
            exit_code: None,
            line: None,
            title: String::new(),
            message: String::new(),
            time: rfc3339(at_ms),
            time_ms: at_ms,
        }
    }

    /// What a channel's test sends, and templates are checked against.
    pub fn sample() -> Self {
        let now = crate::accounts::now_ms();
        Self {
            state: AlertState::Firing,
            rule: "test".into(),
            engine: "local".into(),
            container: "example".into(),
            container_id: "0123456789ab".into(),
            image: "example:latest".into(),
            project: String::new(),
            event: "test".into(),
            exit_code: Some(1),
            line: Some("an example log line".into()),
            title: "Berth: a test message".into(),
            message: "This is a test from Berth: this channel works.".into(),
            time: rfc3339(now),
            time_ms: now,
        }
    }

    /// The words, in place.
    pub fn said(mut self, title: String, message: String) -> Self {
        self.title = title;
        self.message = message;
        self
    }
}
