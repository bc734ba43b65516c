//! The compose CLI Berth runs: `--compose-command`, else `docker compose` (the v2 plugin)
//! when it answers, else `docker-compose` (v1). One argument list serves both (`-p NAME
//! --project-directory DIR -f FILE [--env-file FILE]`), and the engine is named in the
//! environment (`DOCKER_HOST`, and for TLS `DOCKER_TLS_VERIFY` with `DOCKER_CERT_PATH`), so
//! every kind of engine takes the same path. The CLI gets a clean environment: nothing of
//! Berth's own (`DOCKER_HOST`, `COMPOSE_*`) leaks into which engine or project it acts on.
//!
//! Every value in an argument list is checked first: the stack name by its grammar, the
//! service by Compose's, paths are Berth's own.

use crate::{docker::endpoint::Endpoint, error::Error};
use app::model::{StackAction, validate_stack_name};
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

/// A compose CLI that answered `version`.
#[derive(Clone, Debug)]
pub struct Cli {
    /// The program and the arguments before Compose's own (`docker` + `compose`).
    command: Vec<String>,
    /// Its first line of `version`, for plans and runs to name.
    pub version: String,
}

/// How long `version` may take (v1 is a Python program: half a second is usual).
const DETECT_TIMEOUT: Duration = Duration::from_secs(20);

impl Cli {
    /// `configured` (split at spaces), else the first of `docker compose` and
    /// `docker-compose` that answers `version`; None when none does.
    pub async fn detect(configured: Option<&str>) -> Option<Self> {
        let candidates: Vec<Vec<String>> = match configured {
            Some(command) => vec![command.split_whitespace().map(str::to_string).collect()],
            None => vec![
                vec!["docker".into(), "compose".into()],
                vec!["docker-compose".into()],
            ],
        };
        for command in candidates.into_iter().filter(|c| !c.is_empty()) {
            let mut probe = Command::new(&command[0]);
            probe
                .args(&command[1..])
                .arg("version")
                .env_clear()
                .envs(kept_environment())
                .stdin(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true);
            let Ok(Ok(output)) = tokio::time::timeout(DETECT_TIMEOUT, probe.output()).await else {
                continue;
            };
            if output.status.success() {
                let text = String::from_utf8_lossy(&output.stdout);
                let version = text.lines().next().unwrap_or_default().trim().to_string();
                return Some(Self { command, version });
            }
        }
        None
    }

    /// A command for `stack` in `dir` with `file` (and `.env` when there is one) on the
    /// engine at `endpoint`, running `compose` (Compose's subcommand and its arguments).
    pub fn command(
        &self,
        target: &Target,
        endpoint: &Endpoint,
        compose: &[&str],
    ) -> Result<Command, Error> {
        validate_stack_name(&target.stack)?;
        let mut command = prepared(&self.command, &target.dir, endpoint, &[])?;
        command
            .args([
                "--ansi",
                "never",
                "-p",
                &target.stack,
                "--project-directory",
            ])
            .arg(&target.dir)
            .arg("-f")
            .arg(&target.file);
        if let Some(env) = &target.env {
            command.arg("--env-file").arg(env);
        }
        command.args(compose);
        Ok(command)
    }
}

/// `program` (with its first arguments) ready to run in `dir` on the engine at `endpoint`:
/// a clean environment (`variables`, then what every CLI needs, then the engine's, each
/// over the last), no input, its output piped.
pub fn prepared(
    program: &[String],
    dir: &Path,
    endpoint: &Endpoint,
    variables: &[(String, String)],
) -> Result<Command, Error> {
    let mut command = Command::new(&program[0]);
    command
        .args(&program[1..])
        .current_dir(dir)
        .env_clear()
        .envs(variables.iter().cloned())
        .envs(kept_environment())
        .envs(engine_environment(endpoint)?)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a stop reaches what it starts (the v2 plugin is a
        // child of `docker`); killed if Berth drops it without waiting.
        .process_group(0)
        .kill_on_drop(true);
    Ok(command)
}

/// What the CLI acts on: a stack (its project name), its folder, its compose file and its
/// `.env` when it has one (both usually in the folder; a check before a save reads the
/// files about to be written from elsewhere).
#[derive(Clone, Debug)]
pub struct Target {
    pub stack: String,
    pub dir: PathBuf,
    pub file: PathBuf,
    pub env: Option<PathBuf>,
}

impl Target {
    /// A stack's folder with the compose file `file` in it, and its `.env` if it has one.
    pub fn of(stack: &str, dir: &Path, file: &str) -> Self {
        let env = dir.join(".env");
        Self {
            stack: stack.to_string(),
            dir: dir.to_path_buf(),
            file: dir.join(file),
            env: std::fs::symlink_metadata(&env)
                .is_ok_and(|m| m.is_file())
                .then_some(env),
        }
    }
}

/// Compose's arguments for `action` (on `service` alone when given).
pub fn arguments(
    action: StackAction,
    service: Option<&str>,
    volumes: bool,
) -> Result<Vec<Vec<String>>, Error> {
    if let Some(service) = service {
        validate_service_name(service)?;
        if action == StackAction::Down {
            return Err(Error::bad_request(
                "down takes the whole stack: stop a service instead",
            ));
        }
    }
    let up = |mut args: Vec<String>| {
        args.extend(["up", "-d", "--remove-orphans"].map(String::from));
        args
    };
    let mut steps = match action {
        StackAction::Deploy => vec![up(Vec::new())],
        StackAction::Pull => vec![vec!["pull".to_string()], up(Vec::new())],
        StackAction::Stop => vec![vec!["stop".to_string()]],
        StackAction::Start => vec![vec!["start".to_string()]],
        StackAction::Restart => vec![vec!["restart".to_string()]],
        StackAction::Down => {
            let mut down = vec!["down".to_string(), "--remove-orphans".to_string()];
            if volumes {
                down.push("--volumes".to_string());
            }
            vec![down]
        }
    };
    if let Some(service) = service {
        for step in &mut steps {
            // Checked above: it starts with a letter or digit, so it is never an option.
            step.push(service.to_string());
        }
    }
    Ok(steps)
}

/// A compose service name: letters, digits, `.`, `_` and `-`, starting with a letter or
/// digit, so it can never be read as an option.
pub fn validate_service_name(name: &str) -> Result<(), Error> {
    // The grammar of a container's name, which a service's is part of.
    app::model::validate_container_ref(name).map_err(|_| {
        Error::bad_request(format!(
            "invalid service name {name:?}: letters, digits, '.', '_' or '-', starting with a letter or digit"
        ))
    })
}

/// Stops a run's process group: SIGTERM, then SIGKILL after `grace`; waits for the CLI.
pub async fn stop(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        signal_group(pid, libc::SIGTERM);
        if let Ok(status) = tokio::time::timeout(grace, child.wait()).await {
            // What it started may outlive it in its group: those go too.
            signal_group(pid, libc::SIGKILL);
            return status.ok();
        }
        signal_group(pid, libc::SIGKILL);
    }
    child.wait().await.ok()
}

/// Ends what is left of a run's process group once its CLI exited by itself.
pub fn end_group(pid: Option<u32>) {
    if let Some(pid) = pid {
        signal_group(pid, libc::SIGKILL);
    }
}

fn signal_group(pid: u32, signal: libc::c_int) {
    // SAFETY: killpg has no memory preconditions; a group already gone is ESRCH, ignored.
    unsafe {
        libc::killpg(pid as libc::pid_t, signal);
    }
}

/// Berth's variables every CLI it runs gets.
pub const KEPT: [&str; 6] = ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "DOCKER_CONFIG"];

/// The variables of Berth's environment a compose CLI needs: where programs are, the home
/// with the registry logins (`~/.docker/config.json`), the temporary folder, the locale.
pub fn kept_environment() -> Vec<(String, String)> {
    KEPT.into_iter()
        .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
        .collect()
}

/// How the CLI reaches the engine at `endpoint`.
fn engine_environment(endpoint: &Endpoint) -> Result<Vec<(String, String)>, Error> {
    Ok(match endpoint {
        Endpoint::Unix(path) => vec![("DOCKER_HOST".into(), format!("unix://{path}"))],
        Endpoint::Tcp(addr) => vec![("DOCKER_HOST".into(), format!("tcp://{addr}"))],
        Endpoint::Tls { addr, files } => vec![
            ("DOCKER_HOST".into(), format!("tcp://{addr}")),
            ("DOCKER_TLS_VERIFY".into(), "1".into()),
            (
                "DOCKER_CERT_PATH".into(),
                cert_dir(addr, &files.ca, &files.cert, &files.key)?
                    .display()
                    .to_string(),
            ),
        ],
        Endpoint::Ssh(target) => {
            let user = target
                .user
                .as_ref()
                .map(|u| format!("{u}@"))
                .unwrap_or_default();
            vec![(
                "DOCKER_HOST".into(),
                format!("ssh://{user}{}:{}", target.host, target.port),
            )]
        }
    })
}

/// Docker's CLIs take a TLS engine's files by fixed names in one folder: a private folder
/// of links (`ca.pem`, `cert.pem`, `key.pem`) to the files the engines file names, made
/// once per engine (by [`super::folder::scratch_dir`]: nobody else's).
fn cert_dir(addr: &str, ca: &Path, cert: &Path, key: &Path) -> Result<PathBuf, Error> {
    static DIRS: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut dirs = DIRS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, dir)) = dirs.iter().find(|(a, _)| a == addr) {
        return Ok(dir.clone());
    }
    let dir = super::folder::scratch_dir("tls")?;
    for (name, target) in [("ca.pem", ca), ("cert.pem", cert), ("key.pem", key)] {
        let target = std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf());
        std::os::unix::fs::symlink(target, dir.join(name))
            .map_err(|e| Error::new(500, format!("{}: {e}", dir.display())))?;
    }
    dirs.push((addr.to_string(), dir.clone()));
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_compose_commands_and_services_never_options() {
        let all = |action, service, volumes| arguments(action, service, volumes).unwrap();
        assert_eq!(
            all(StackAction::Deploy, None, false),
            [["up", "-d", "--remove-orphans"]]
        );
        assert_eq!(
            all(StackAction::Pull, Some("web"), false),
            [
                vec!["pull", "web"],
                vec!["up", "-d", "--remove-orphans", "web"]
            ]
        );
        assert_eq!(
            all(StackAction::Down, None, true),
            [["down", "--remove-orphans", "--volumes"]]
        );
        for bad in ["-d", "--volumes", "", "a b", "a;b", "$(x)"] {
            assert!(
                arguments(StackAction::Stop, Some(bad), false).is_err(),
                "{bad}"
            );
        }
        assert!(arguments(StackAction::Down, Some("web"), false).is_err());
    }
}
