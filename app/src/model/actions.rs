//! Container actions (start, stop, kill, …): what may be asked, its options and their
//! checks, and what comes back, alone or in bulk.

use super::ApiError;
use serde::{Deserialize, Serialize};

/// What can be done to a container (issue 12). Each needs `operator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
    Remove,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Start,
        Action::Stop,
        Action::Restart,
        Action::Kill,
        Action::Pause,
        Action::Unpause,
        Action::Remove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Kill => "kill",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Remove => "remove",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    format!(
                        "unknown action {text:?}: one of start, stop, restart, kill, pause, unpause, remove"
                    ),
                )
            })
    }

    /// Whether it may apply to a whole compose project.
    pub fn for_projects(self) -> bool {
        matches!(self, Action::Start | Action::Stop | Action::Restart)
    }
}

/// How an action is done: `t` (stop, restart: seconds before the kill, 0 to 600), `signal`
/// (kill: a name such as `SIGTERM` or `HUP`, or a number 1 to 64), `force` and `volumes`
/// (remove).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOptions {
    pub t: Option<u32>,
    pub signal: Option<String>,
    pub force: Option<bool>,
    pub volumes: Option<bool>,
}

/// `200` to an action: the container's state after it, and whether it changed anything
/// (Docker's 304, e.g. starting a running container, is `changed: false`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionOutcome {
    pub state: String,
    pub changed: bool,
}

/// `POST /api/containers/actions`: one action on up to 100 containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkAction {
    pub action: Action,
    pub ids: Vec<String>,
    #[serde(flatten)]
    pub options: ActionOptions,
}

/// One container's result in a bulk or project action: the HTTP status it would have had
/// alone, and its outcome or error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    pub id: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ActionOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Most containers one bulk action may name.
pub const MAX_BULK: usize = 100;

/// Signal names Docker's kill accepts (with or without `SIG`, any case), besides numbers.
const SIGNALS: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

/// Longest `t` a stop or restart may ask for.
pub const MAX_STOP_SECONDS: u32 = 600;

impl ActionOptions {
    /// 400 for an option the action does not take or a value out of range; the signal comes
    /// back as Docker spells it (`SIGTERM`, or the number).
    pub fn check(&self, action: Action) -> Result<Option<String>, ApiError> {
        let bad = |m: String| Err(ApiError::new(400, m));
        let name = action.as_str();
        if self.t.is_some() && !matches!(action, Action::Stop | Action::Restart) {
            return bad(format!("t is for stop and restart, not {name}"));
        }
        if self.t.is_some_and(|t| t > MAX_STOP_SECONDS) {
            return bad(format!("t is 0 to {MAX_STOP_SECONDS} seconds"));
        }
        if (self.force.is_some() || self.volumes.is_some()) && action != Action::Remove {
            return bad(format!("force and volumes are for remove, not {name}"));
        }
        let Some(signal) = &self.signal else {
            return Ok(None);
        };
        if action != Action::Kill {
            return bad(format!("signal is for kill, not {name}"));
        }
        if let Ok(n) = signal.parse::<u32>() {
            return match (1..=64).contains(&n) {
                true => Ok(Some(n.to_string())),
                false => bad(format!("signal number {n} is not 1 to 64")),
            };
        }
        let upper = signal.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        match SIGNALS.contains(&bare) {
            true => Ok(Some(format!("SIG{bare}"))),
            false => bad(format!(
                "unknown signal {signal:?}: a name such as SIGTERM or HUP, or 1 to 64"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_checked_per_action() {
        let with = |t, signal: Option<&str>, force| ActionOptions {
            t,
            signal: signal.map(str::to_string),
            force,
            volumes: None,
        };
        assert_eq!(with(Some(5), None, None).check(Action::Stop), Ok(None));
        assert_eq!(
            with(Some(601), None, None)
                .check(Action::Stop)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            with(Some(5), None, None)
                .check(Action::Kill)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            with(None, Some("hup"), None).check(Action::Kill),
            Ok(Some("SIGHUP".into()))
        );
        assert_eq!(
            with(None, Some("9"), None).check(Action::Kill),
            Ok(Some("9".into()))
        );
        for bad in ["0", "65", "SIGNOPE", "", "-1"] {
            assert!(
                with(None, Some(bad), None).check(Action::Kill).is_err(),
                "{bad}"
            );
        }
        assert!(with(None, Some("TERM"), None).check(Action::Stop).is_err());
        assert!(with(None, None, Some(true)).check(Action::Stop).is_err());
        assert_eq!(with(None, None, Some(true)).check(Action::Remove), Ok(None));
        assert_eq!(Action::parse("unpause"), Ok(Action::Unpause));
        assert_eq!(Action::parse("explode").unwrap_err().status, 400);
    }
}

crate::endpoints! {
    ACTION_ROUTES;
    /// Removes a container (`force`, `volumes`).
    DELETE "/api{on}/containers/{id}" OPERATOR => RemoveContainer { id: String }
        query(ActionOptions) -> () = 204;
    /// One action on up to [`MAX_BULK`] containers: a result for each.
    POST "/api{on}/containers/actions" OPERATOR => ActOnMany {} body(BulkAction) -> Vec<ActionResult>;
    /// Starts, stops, restarts, kills, pauses or unpauses a container.
    POST "/api{on}/containers/{id}/{action}" OPERATOR => ActOnContainer { id: String, action: Action }
        query(ActionOptions) -> ActionOutcome;
    /// Starts, stops or restarts every member of a compose project.
    POST "/api{on}/projects/{name}/{action}" OPERATOR => ActOnProject { name: String, action: Action }
        query(ActionOptions) -> Vec<ActionResult>;
}
