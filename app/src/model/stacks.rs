//! Compose stacks: folders of compose files Berth keeps, edits and versions, one per stack
//! under the server's stacks directory, each deployed on one engine.

use super::{ApiError, Project};
use serde::{Deserialize, Serialize};

/// The longest file a stack holds (`compose.yaml`, `.env`): 1 MiB.
pub const MAX_STACK_FILE: usize = 1 << 20;

/// Checks a stack's name, which is its folder's name and its compose project's name:
/// Compose's grammar (lowercase letters, digits, `_` and `-`, starting with a letter or
/// digit), at most 63 characters. Nothing else can name a folder, so no name leaves the
/// stacks directory.
pub fn validate_stack_name(name: &str) -> Result<(), ApiError> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b));
    if first_ok && rest_ok && name.len() <= 63 {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "invalid stack name {name:?}: use 1 to 63 lowercase letters, digits, '_' or '-', starting with a letter or digit"
    )))
}

/// A stack's files as the editor holds them. An empty `env` means no `.env` file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackFiles {
    pub compose: String,
    #[serde(default)]
    pub env: String,
}

/// How much of a stack runs, from the engine's containers of its project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackState {
    /// Every service has a running container.
    Running,
    /// Some services run, some do not.
    Partial,
    /// Containers exist; none runs.
    Stopped,
    /// No container of the project exists.
    NotDeployed,
}

impl StackState {
    /// From how many services run of how many, and whether any container exists.
    pub fn of(running: u32, services: u32, containers: u32) -> Self {
        match (containers, running) {
            (0, _) => Self::NotDeployed,
            (_, 0) => Self::Stopped,
            (_, r) if r >= services => Self::Running,
            _ => Self::Partial,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Partial => "partly running",
            Self::Stopped => "stopped",
            Self::NotDeployed => "not deployed",
        }
    }

    /// The badge's classes in the pages.
    pub fn class(self) -> &'static str {
        match self {
            Self::Running => "state state-running",
            Self::Partial => "state state-partly-running",
            Self::Stopped => "state state-stopped",
            Self::NotDeployed => "state state-not-deployed",
        }
    }
}

/// A stack in a list: its folder (or, `external`, a compose project the engine runs that
/// has no folder here) and its state on its engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSummary {
    pub name: String,
    pub engine: String,
    /// A compose project on the engine with no folder in the stacks directory: its actions
    /// work, its files are not Berth's to edit.
    pub external: bool,
    pub state: StackState,
    /// Services with a running container, of `services`.
    pub running: u32,
    /// The file's services (with those only the engine knows), sorted.
    pub services: Vec<String>,
    pub containers: u32,
    /// The compose file's name in the folder (`compose.yaml`…); none for an external one.
    pub file: Option<String>,
    /// On a swarm: its engine is a swarm manager, so it is deployed with `docker stack
    /// deploy` and its services are the swarm's (`containers` then counts them).
    #[serde(default)]
    pub swarm: bool,
}

impl StackSummary {
    /// Counted against its project's containers (`None`: none exist): the services are the
    /// file's with those only the containers name, and a service runs when one of its
    /// containers does. The server counts this way, and a page again as containers change.
    pub fn counted(mut self, project: Option<&Project>) -> Self {
        if let Some(project) = project {
            for service in &project.services {
                if !self.services.contains(service) {
                    self.services.push(service.clone());
                }
            }
        }
        self.services.sort();
        let containers = project.map_or(&[][..], |p| &p.containers[..]);
        self.running = self
            .services
            .iter()
            .filter(|service| {
                containers
                    .iter()
                    .any(|c| c.service.as_ref() == Some(*service) && c.state == "running")
            })
            .count() as u32;
        self.containers = containers.len() as u32;
        self.state = StackState::of(self.running, self.services.len() as u32, self.containers);
        self
    }

    /// Counted against the swarm's services of the stack (a swarm stack): the file's
    /// services with those only the swarm names, and a service runs when a task of it does.
    pub fn counted_on_swarm(mut self, services: &[super::SwarmService]) -> Self {
        let mine: Vec<&super::SwarmService> = services
            .iter()
            .filter(|s| s.stack.as_deref() == Some(self.name.as_str()))
            .collect();
        for service in &mine {
            let name = service.stack_service().to_string();
            if !self.services.contains(&name) {
                self.services.push(name);
            }
        }
        self.services.sort();
        self.running = mine.iter().filter(|s| s.running > 0).count() as u32;
        self.containers = mine.len() as u32;
        self.state = StackState::of(self.running, self.services.len() as u32, self.containers);
        self.swarm = true;
        self
    }
}

/// A stack with its files, its current version and its containers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub summary: StackSummary,
    pub files: StackFiles,
    /// The newest version (0 while no version is kept).
    pub version: u64,
    /// Its compose project's containers on the engine, when any exist.
    pub project: Option<Project>,
    /// The run going on now, if any (its output: the run's socket).
    pub run: Option<StackRun>,
}

/// An external project's compose file, shown read-only: where the engine's labels say it
/// is (`com.docker.compose.project.config_files`, in `…working_dir`), and its text when
/// Berth can read it there, or why not (the engine is on another machine, the path is not a
/// compose file's, a link, too large…).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalFile {
    pub path: Option<String>,
    pub text: Option<String>,
    pub unreadable: Option<String>,
}

/// A kept version of a stack's files: who made it, when, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackVersion {
    /// 1, 2, 3…: the newest is the current files.
    pub n: u64,
    pub at_ms: i64,
    /// The user (or token) who saved it; `disk` for files found changed on disk.
    pub by: String,
    /// `created`, `saved`, `restored N`, `found on disk`.
    pub what: String,
}

/// One version with its files, for a diff or a restore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackVersionFiles {
    pub version: StackVersion,
    pub files: StackFiles,
}

/// How a save may go: `create` refuses (409) a name already taken, so a new stack never
/// writes over one made meanwhile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveOptions {
    pub create: Option<bool>,
}

/// A stack's new name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRename {
    pub to: String,
}

/// What a run does: the compose CLI's commands, on the whole stack or one service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackAction {
    /// `up -d --remove-orphans`.
    Deploy,
    /// `pull`, then `up -d --remove-orphans`.
    Pull,
    Stop,
    Start,
    Restart,
    /// `down` (`-v` too when asked: volumes go).
    Down,
}

impl StackAction {
    pub const ALL: [StackAction; 6] = [
        Self::Deploy,
        Self::Pull,
        Self::Stop,
        Self::Start,
        Self::Restart,
        Self::Down,
    ];

    pub fn parse(text: &str) -> Result<Self, ApiError> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == text)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown stack action {text:?}: deploy, pull, stop, start, restart or down"
                ))
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploy => "deploy",
            Self::Pull => "pull",
            Self::Stop => "stop",
            Self::Start => "start",
            Self::Restart => "restart",
            Self::Down => "down",
        }
    }
}

/// A run's options: one service rather than all; for `down`, whether named volumes go too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    pub service: Option<String>,
    pub volumes: Option<bool>,
    /// On a swarm: `--with-registry-auth`, the CLI's registry logins sent to the nodes.
    #[serde(default)]
    pub registry_auth: Option<bool>,
}

/// A run of the compose CLI on a stack: who started it, when, how it ended, the last
/// lines it printed, and for a deploy the version deployed and the images it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackRun {
    /// 1, 2, 3… per stack.
    pub n: u64,
    pub action: StackAction,
    pub service: Option<String>,
    pub by: String,
    pub started_ms: i64,
    /// None while it runs (or when Berth stopped before it could say).
    pub ended_ms: Option<i64>,
    /// The CLI's exit code, when it exited by itself.
    pub exit: Option<i32>,
    /// How it ended, in words: `exit 0`, `exit 1`, `cancelled by NAME`, `timed out after
    /// 1800 s`, `stopped: Berth shut down`, or why it could not start.
    pub outcome: Option<String>,
    /// The stack's version when it started.
    pub version: u64,
    /// The output's last lines.
    pub tail: Vec<String>,
    /// After a deploy: each service's image and the digest it runs.
    pub images: Vec<DeployedImage>,
}

/// A service's image after a deploy, with the digest the engine resolved it to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployedImage {
    pub service: String,
    pub image: String,
    /// `sha256:…` of the image the container runs, and its repository digest when the
    /// image came from a registry.
    pub id: String,
    pub digest: Option<String>,
}

/// A run, started: its number (`/ws/stacks/{name}/runs/{n}` streams its output).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStarted {
    pub run: u64,
}

/// What a deploy would do to one service, in the compose CLI's own opinion (its config
/// hash against the one on the running container).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanChange {
    /// No container yet.
    Create,
    /// Its configuration changed: the container is made anew.
    Recreate,
    /// Left as it runs.
    Unchanged,
    /// On a swarm: its spec is sent again, and Swarm replaces its tasks only if it changed.
    Update,
    /// A container of a service the file no longer has (`--remove-orphans`).
    Remove,
}

impl PlanChange {
    /// Its name in the API (and in the page's markup).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Recreate => "recreate",
            Self::Unchanged => "unchanged",
            Self::Update => "update",
            Self::Remove => "remove",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedService {
    pub service: String,
    pub change: PlanChange,
    /// The file's hash for it, and the running container's.
    pub hash: Option<String>,
    pub running: Option<String>,
}

/// A deploy's plan, service by service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackPlan {
    /// The compose CLI that made it (`docker-compose version 1.29.2`).
    pub cli: String,
    pub services: Vec<PlannedService>,
}

crate::endpoints! {
    STACK_ROUTES;
    /// The engine's stacks (its folders here) and the compose projects it runs without one.
    GET "/api{on}/stacks" VIEWER => ListStacks {} -> Vec<StackSummary>;
    /// A stack's files, version and containers.
    GET "/api{on}/stacks/{name}" VIEWER => GetStack { name: String } -> Stack;
    /// Saves a stack's files (a new one on this engine when none has the name); each save
    /// is a new version. 422 for YAML the compose file cannot be, with its line.
    PUT "/api{on}/stacks/{name}" OPERATOR => SaveStack { name: String } query(SaveOptions)
        body(StackFiles) -> Stack;
    /// Removes a stack's folder and its versions; 409 while its containers exist.
    DELETE "/api{on}/stacks/{name}" OPERATOR => RemoveStack { name: String } -> () = 204;
    /// Renames a stack's folder; 409 while its containers exist or the name is taken.
    POST "/api{on}/stacks/{name}/rename" OPERATOR => RenameStack { name: String }
        body(StackRename) -> StackSummary;
    /// An external project's compose file, read-only. Operators and admins only: such a
    /// file often holds environment values, which viewers never see.
    GET "/api{on}/stacks/{name}/external-file" OPERATOR => GetExternalStackFile {
        name: String } -> ExternalFile;
    /// A stack's versions, newest first.
    GET "/api{on}/stacks/{name}/versions" VIEWER => ListStackVersions { name: String }
        -> Vec<StackVersion>;
    /// One version's files.
    GET "/api{on}/stacks/{name}/versions/{n}" VIEWER => GetStackVersion { name: String, n: u64 }
        -> StackVersionFiles;
    /// Makes a version's files the current ones: a save like any other.
    POST "/api{on}/stacks/{name}/versions/{n}/restore" OPERATOR => RestoreStackVersion {
        name: String, n: u64 } -> Stack;
    /// Starts a run of the compose CLI (deploy, pull, stop, start, restart, down); 409
    /// while another runs, naming it.
    POST "/api{on}/stacks/{name}/{action}" OPERATOR => RunStack { name: String, action: String }
        query(RunOptions) -> RunStarted = 202;
    /// Ends a run: its process is stopped and waited for.
    POST "/api{on}/stacks/{name}/runs/{n}/cancel" OPERATOR => CancelStackRun {
        name: String, n: u64 } -> () = 204;
    /// A stack's last runs, newest first.
    GET "/api{on}/stacks/{name}/runs" VIEWER => ListStackRuns { name: String } -> Vec<StackRun>;
    /// What a deploy would create, recreate, leave or remove.
    GET "/api{on}/stacks/{name}/plan" VIEWER => GetStackPlan { name: String } -> StackPlan;
}

/// The line a compose file's error names (`… line 7 …`), to mark it in the editor.
pub fn error_line(message: &str) -> Option<u32> {
    let at = message.find("line ")?;
    let digits: String = message[at + 5..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_names_are_compose_project_names() {
        for ok in ["web", "a", "0x", "my_app-2", &"a".repeat(63)] {
            assert_eq!(validate_stack_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "_x",
            "Web",
            "a.b",
            "..",
            ".",
            "a/b",
            "a b",
            "é",
            &"a".repeat(64),
        ] {
            assert_eq!(
                validate_stack_name(bad).map_err(|e| e.status),
                Err(400),
                "{bad}"
            );
        }
    }

    #[test]
    fn states_count_services() {
        assert_eq!(StackState::of(0, 2, 0), StackState::NotDeployed);
        assert_eq!(StackState::of(0, 2, 2), StackState::Stopped);
        assert_eq!(StackState::of(1, 2, 2), StackState::Partial);
        assert_eq!(StackState::of(2, 2, 3), StackState::Running);
    }

    #[test]
    fn error_lines() {
        assert_eq!(error_line("compose.yaml, line 7, column 3: bad"), Some(7));
        assert_eq!(error_line("no line here"), None);
        assert_eq!(error_line("line 0"), None);
    }
}
