//! What a browser terminal and Berth say to each other over
//! `/ws/…/containers/{id}/exec`: the command asked for (query parameters), then the TTY's
//! bytes as binary frames both ways, and these small JSON control messages as text frames.

use crate::model::ApiError;
use serde::{Deserialize, Serialize};

/// The shells the terminal offers; any other command may be typed.
pub const SHELLS: [&str; 4] = ["/bin/sh", "/bin/bash", "/bin/ash", "/bin/zsh"];
pub const DEFAULT_COMMAND: &str = "/bin/sh";

/// Longest command line, user and working directory Berth passes on.
const MAX_COMMAND: usize = 512;
const MAX_USER: usize = 64;
const MAX_WORKDIR: usize = 1024;

/// Close code of a terminal left idle past `--exec-idle-secs`.
pub const CLOSE_IDLE: u16 = 4009;

/// What runs in the terminal: the command line (split on white space, no shell quoting:
/// wrap it in `sh -c` for that), as which user, in which directory.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecRequest {
    #[serde(default)]
    pub cmd: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub workdir: Option<String>,
}

/// An [`ExecRequest`] checked: every part well formed, blanks dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exec {
    pub argv: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
}

impl Exec {
    /// The command line as typed, for the audit log and the page.
    pub fn command(&self) -> String {
        self.argv.join(" ")
    }
}

fn printable(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn blank_to_none(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl ExecRequest {
    pub fn check(&self) -> Result<Exec, ApiError> {
        let cmd = blank_to_none(&self.cmd).unwrap_or(DEFAULT_COMMAND);
        if cmd.len() > MAX_COMMAND || !printable(cmd) {
            return Err(ApiError::bad_request(format!(
                "cmd must be a command line of at most {MAX_COMMAND} printable characters"
            )));
        }
        let user = blank_to_none(&self.user);
        if let Some(user) = user {
            let ok = user.len() <= MAX_USER
                && user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "user must be a name or id, optionally :group (letters, digits, '.', '_', '-'), not {user:?}"
                )));
            }
        }
        let workdir = blank_to_none(&self.workdir);
        if let Some(dir) = workdir
            && (!dir.starts_with('/') || dir.len() > MAX_WORKDIR || !printable(dir))
        {
            return Err(ApiError::bad_request(format!(
                "workdir must be an absolute path, not {dir:?}"
            )));
        }
        Ok(Exec {
            argv: cmd.split_whitespace().map(str::to_string).collect(),
            user: user.map(str::to_string),
            workdir: workdir.map(str::to_string),
        })
    }
}

/// Text frames from the browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalInput {
    /// The terminal's size in characters changed (and once when it opens).
    Resize { cols: u16, rows: u16 },
}

/// Text frames from Berth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalOutput {
    /// The command exited by itself (`exit` typed), with its code when Docker knows it.
    Exited { code: Option<i64> },
    /// Berth closed the terminal, and why (signed out, idle, shutting down).
    End { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cmd: &str, user: &str, workdir: &str) -> ExecRequest {
        let some = |s: &str| Some(s.to_string());
        ExecRequest {
            cmd: some(cmd),
            user: some(user),
            workdir: some(workdir),
        }
    }

    #[test]
    fn a_request_is_checked_and_blanks_are_defaults() {
        let exec = ExecRequest::default().check().unwrap();
        assert_eq!(exec.argv, vec!["/bin/sh"]);
        assert_eq!((exec.user, exec.workdir), (None, None));
        let exec = request("/bin/sh  -l", "1000:1000", "/tmp").check().unwrap();
        assert_eq!(exec.argv, vec!["/bin/sh", "-l"]);
        assert_eq!(exec.command(), "/bin/sh -l");
        assert_eq!(exec.user.as_deref(), Some("1000:1000"));
        assert_eq!(
            request(" ", " ", " ").check().unwrap().argv,
            vec!["/bin/sh"]
        );
        for bad in [
            request("sh\u{1b}", "", ""),
            request("sh", "root;rm", ""),
            request("sh", "", "tmp"),
            request(&"x".repeat(513), "", ""),
        ] {
            assert_eq!(bad.check().unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[test]
    fn control_messages_are_tagged_json() {
        let resize: TerminalInput =
            serde_json::from_str(r#"{"type":"resize","cols":120,"rows":40}"#).unwrap();
        assert_eq!(
            resize,
            TerminalInput::Resize {
                cols: 120,
                rows: 40
            }
        );
        assert_eq!(
            serde_json::to_string(&TerminalOutput::Exited { code: Some(0) }).unwrap(),
            r#"{"type":"exited","code":0}"#
        );
    }
}
