//! Serde types shared by the server and the browser: what the JSON API returns and what
//! server-rendered pages hand to the hydrating client.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// An error as both the API and the pages report it: an HTTP status and a message.
/// On the wire the API body is `{"error": "..."}`; the status travels as the HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub status: u16,
    pub error: String,
}

impl ApiError {
    pub fn new(status: u16, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
        }
    }
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(400, error)
    }
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(404, error)
    }
    pub fn unavailable(error: impl Into<String>) -> Self {
        Self::new(503, error)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error, self.status)
    }
}

impl std::error::Error for ApiError {}

/// Whether Berth can reach the Docker engine right now, and what it last heard from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub reachable: bool,
    /// The endpoint Berth talks to, e.g. `unix:///var/run/docker.sock`.
    pub endpoint: String,
    /// Why the engine is unreachable, when it is.
    pub error: Option<String>,
    pub engine_version: Option<String>,
    /// The API version negotiated with the engine.
    pub api_version: Option<String>,
    pub berth_version: String,
}

/// The dashboard's summary of the engine and its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub engine_version: String,
    pub api_version: String,
    pub host_name: String,
    pub operating_system: String,
    pub cpus: i64,
    pub memory_bytes: i64,
    pub images: i64,
    /// Container counts by state (`running`, `exited`, ...), every state that occurs.
    pub containers_by_state: BTreeMap<String, u32>,
    pub containers_total: u32,
}

/// One published or exposed port of a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub ip: Option<String>,
    pub private_port: u16,
    pub public_port: Option<u16>,
    pub protocol: String,
}

impl fmt::Display for Port {
    /// Formats like `docker ps`: `0.0.0.0:8080->80/tcp`, or `80/tcp` when not published.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.ip, self.public_port) {
            (Some(ip), Some(public)) => write!(f, "{ip}:{public}->"),
            (None, Some(public)) => write!(f, "{public}->"),
            _ => Ok(()),
        }?;
        write!(f, "{}/{}", self.private_port, self.protocol)
    }
}

/// A row of the container list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    /// The primary name, without Docker's leading `/`.
    pub name: String,
    pub image: String,
    /// `running`, `exited`, `created`, `paused`, `restarting`, `removing`, `dead`.
    pub state: String,
    /// Docker's human status, e.g. `Up 5 minutes`.
    pub status: String,
    /// Unix seconds.
    pub created: i64,
    pub ports: Vec<Port>,
    /// The `com.docker.compose.project` label, when the container belongs to one.
    pub project: Option<String>,
    /// The `com.docker.compose.service` label.
    pub service: Option<String>,
}

impl ContainerSummary {
    /// The short id as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }
}

pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs`, ...
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_write: bool,
}

/// The inspect summary shown on a container's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDetail {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    /// RFC 3339 as Docker reports it.
    pub created: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub entrypoint: Vec<String>,
    pub command: Vec<String>,
    pub working_dir: Option<String>,
    /// Names of environment variables only: values often hold secrets and never leave the server.
    pub env_names: Vec<String>,
    pub mounts: Vec<Mount>,
    pub labels: BTreeMap<String, String>,
    pub restart_policy: String,
    pub restart_max_retries: Option<i64>,
    pub restart_count: i64,
    /// Health check status (`healthy`, `unhealthy`, `starting`), when the container has one.
    pub health: Option<String>,
    pub health_failing_streak: Option<i64>,
    pub project: Option<String>,
    pub service: Option<String>,
}

/// A compose project as Berth sees it: the containers that carry its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    /// Sorted by service, then name.
    pub containers: Vec<ContainerSummary>,
    /// Container counts by state, every state that occurs.
    pub states: BTreeMap<String, u32>,
    /// Distinct services, sorted.
    pub services: Vec<String>,
}

/// Groups containers by their compose project label, sorted by project name. Containers
/// without the label belong to no project.
pub fn group_projects(containers: Vec<ContainerSummary>) -> Vec<Project> {
    let mut by_name: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in containers {
        if let Some(project) = c.project.clone() {
            by_name.entry(project).or_default().push(c);
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut containers)| {
            containers.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
            let mut states = BTreeMap::new();
            for c in &containers {
                *states.entry(c.state.clone()).or_insert(0) += 1;
            }
            let mut services: Vec<String> = containers
                .iter()
                .filter_map(|c| c.service.clone())
                .collect();
            services.dedup();
            Project {
                name,
                containers,
                states,
                services,
            }
        })
        .collect()
}

pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// Checks a container reference (id, id prefix or name) before it goes anywhere near Docker.
/// Docker names match `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; ids are hex, a subset of that.
pub fn validate_container_ref(reference: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Container, reference)
}

/// Checks a compose project name: Compose allows lowercase letters, digits, `_` and `-`,
/// starting with a letter or digit; Berth also accepts uppercase and `.` that labels may hold.
pub fn validate_project_name(name: &str) -> Result<(), ApiError> {
    validate_container_ref(name).map_err(|_| {
        ApiError::bad_request(format!(
            "invalid project name {name:?}: use letters, digits, '_', '.' or '-', starting with a letter or digit"
        ))
    })
}

/// A name as Berth names its own things (users, tokens, engines): 1 to 64 of `a-z`, `0-9`,
/// `.`, `_` and `-`, so it is safe in a path, a label and a log line as it is.
pub fn is_plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// Env entries are `NAME=value`; only the name is kept.
pub fn env_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_refs() {
        for ok in ["abc", "0123456789ab", "my_app-1.web", "A"] {
            assert_eq!(validate_container_ref(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "a b",
            "a%20b",
            "a;rm",
            "ü",
            &"a".repeat(256),
        ] {
            assert_eq!(
                validate_container_ref(bad).unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
    }

    fn summary(name: &str, project: Option<&str>, service: &str, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: format!("{name}-id"),
            name: name.into(),
            image: "img".into(),
            state: state.into(),
            status: String::new(),
            created: 0,
            ports: vec![],
            project: project.map(Into::into),
            service: Some(service.into()),
        }
    }

    #[test]
    fn projects_group_by_label() {
        let projects = group_projects(vec![
            summary("shop-web-2", Some("shop"), "web", "exited"),
            summary("lone", None, "x", "running"),
            summary("blog-db-1", Some("blog"), "db", "running"),
            summary("shop-db-1", Some("shop"), "db", "running"),
            summary("shop-web-1", Some("shop"), "web", "running"),
        ]);
        let names: Vec<_> = projects.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["blog", "shop"]);
        let shop = &projects[1];
        let members: Vec<_> = shop.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(members, ["shop-db-1", "shop-web-1", "shop-web-2"]);
        assert_eq!(shop.services, ["db", "web"]);
        assert_eq!(shop.states.get("running"), Some(&2));
        assert_eq!(shop.states.get("exited"), Some(&1));
    }

    #[test]
    fn ports_format_like_docker_ps() {
        let mut port = Port {
            ip: Some("0.0.0.0".into()),
            private_port: 80,
            public_port: Some(8080),
            protocol: "tcp".into(),
        };
        assert_eq!(port.to_string(), "0.0.0.0:8080->80/tcp");
        port.public_port = None;
        assert_eq!(port.to_string(), "80/tcp");
    }

    #[test]
    fn env_names_drop_values() {
        assert_eq!(env_name("PASSWORD=hunter2"), "PASSWORD");
        assert_eq!(env_name("FLAG"), "FLAG");
        assert_eq!(env_name("A=b=c"), "A");
    }
}

/// What a person may do: each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every page, logs and stats.
    Viewer,
    /// A viewer who may also act on containers.
    Operator,
    /// An operator who may also manage users, tokens, the audit log and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, ApiError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ApiError::bad_request(format!("role must be viewer, operator or admin, not {s:?}"))
            })
    }
}

/// A person who may sign in, as the API shows them (never with a password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// `GET /api/auth/me`: who is signed in. With accounts off (`--auth off`) there is no name
/// and everyone is an admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: Option<String>,
    pub role: Role,
    pub accounts: bool,
    /// Whether this caller may open terminals (`--exec` and the role).
    #[serde(default)]
    pub terminal: bool,
}

impl Me {
    /// Admin pages exist only with accounts on, for admins.
    pub fn may_administer(&self) -> bool {
        self.accounts && self.role == Role::Admin
    }

    /// Container and project actions: operators and admins (everyone with accounts off).
    pub fn may_operate(&self) -> bool {
        self.role >= Role::Operator
    }
}

/// An API token as lists show it: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public handle, for revoking.
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_by: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_used: Option<i64>,
}

/// `POST /api/tokens`: the token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub token: String,
    pub info: TokenInfo,
}

/// One line of the audit log: who did what, to what, from where, and whether it worked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// A user name, `token:NAME`, `cli`, or the name tried at a failed sign-in.
    pub actor: String,
    /// e.g. `sign-in`, `sign-out`, `user.add`, `token.revoke`.
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    pub ok: bool,
}

/// `POST /api/users`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// `PUT /api/users/{name}/role`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoleChange {
    pub role: Role,
}

/// `PUT /api/users/{name}/password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordChange {
    pub password: String,
}

/// `POST /api/tokens`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRequest {
    pub name: String,
    pub role: Role,
}

/// `GET /api/audit`'s filters: newest first, `limit` 1 to 500. To page back, `before` is the
/// last entry's time (Unix ms) and `before_id` its id: entries of that same millisecond
/// that were not shown yet come next (without the id, the page starts strictly before).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub before: Option<i64>,
    pub before_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: Option<i64>,
}

/// `GET /api/all/containers`: every engine's containers, and the engines that did not
/// answer (down, or slower than the few seconds the list waits).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllContainers {
    pub containers: Vec<EngineContainer>,
    pub unanswered: Vec<EngineError>,
}

/// A container and the engine it runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineContainer {
    pub engine: String,
    #[serde(flatten)]
    pub container: ContainerSummary,
}

/// An engine that did not answer, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineError {
    pub engine: String,
    pub error: String,
}

/// `GET /api/engines`: one engine Berth watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    pub name: String,
    /// The engine today's paths (without `/engines/{engine}`) mean.
    pub default: bool,
    pub health: Health,
}

/// `GET /api/engines/{engine}/swarm`: the swarm an engine manages. An engine that is no
/// swarm manager answers `manager: false` with its node state and empty lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm {
    pub manager: bool,
    /// Docker's `LocalNodeState`: `inactive`, `pending`, `active`, `error`, `locked`.
    pub node_state: String,
    pub nodes: Vec<SwarmNode>,
    pub services: Vec<SwarmService>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `ready`, `down`, `unknown`, `disconnected`.
    pub state: String,
    /// `active`, `pause`, `drain`.
    pub availability: String,
    pub engine_version: String,
    pub leader: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    pub image: String,
    /// `replicated`, `global`, `replicated-job`, `global-job`.
    pub mode: String,
    pub running: u64,
    pub desired: u64,
    /// `published:target/protocol` for each published port.
    pub ports: Vec<String>,
    /// The last rolling update's state (`updating`, `completed`, `paused`, …), if any.
    pub update_state: Option<String>,
}

/// `GET /api/engines/{engine}/services/{id}`: a service and its tasks, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub service: SwarmService,
    pub tasks: Vec<SwarmTask>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmTask {
    pub id: String,
    /// `{service}.{slot}` (or `.{node}` for global services), as `docker service ps` names it.
    pub name: String,
    pub node: String,
    pub state: String,
    pub desired_state: String,
    pub error: Option<String>,
    pub updated: String,
}

/// A service reference: its id, an id prefix or its name.
pub fn validate_service_ref(reference: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Service, reference)
}

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
mod action_tests {
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
