//! Compose stacks as folders on disk, one per stack under `--stacks-dir`: the compose file
//! (`compose.yaml` or another name Compose looks for), an optional `.env`, whatever else
//! the file refers to, and Berth's own `.berth/` (the engine the stack belongs to and its
//! versions). Nothing about a stack's files is kept elsewhere: a folder copied in by hand is
//! a stack, and what Berth writes is plain files `docker compose up` reads without it.
//!
//! Writes are one at a time (a save, its version and a rename never interleave); reads take
//! no lock, since every file is replaced whole by a rename. The disk work runs on the
//! blocking pool.

mod compose;
mod external;
mod folder;
mod history;
mod looked_up;
mod plan;
mod records;
mod runs;
mod swarm;
mod yaml;

pub use external::file as external_file;
pub use runs::Follower;

use crate::{
    docker::{EngineName, endpoint::Endpoint, engine::Engine},
    engines::Engines,
    error::Error,
};
use app::model::{
    MAX_STACK_FILE, RunOptions, StackAction, StackFiles, StackPlan, StackRun, StackVersion,
    StackVersionFiles, validate_stack_name,
};
use folder::{BERTH_DIR, ENV_FILE, Folder, io_error};
use looked_up::LookedUp;
use std::{
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

/// Where the stacks are.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StackSettings {
    /// The folder of compose stacks, one folder each (default: `stacks` in --data-dir).
    /// Created (mode 0700: `.env` files hold secrets) on the first save.
    #[arg(long, env = "BERTH_STACKS_DIR", global = true, value_name = "DIR")]
    pub stacks_dir: Option<PathBuf>,

    /// The compose CLI to run, as a command line (`docker compose`, `/usr/bin/docker-compose`).
    /// Default: `docker compose` when the plugin answers, else `docker-compose`.
    #[arg(long, env = "BERTH_COMPOSE_COMMAND", value_name = "COMMAND")]
    pub compose_command: Option<String>,

    /// How long a stack's run (a deploy, a pull…) may take, in seconds, before it is stopped.
    #[arg(long, env = "BERTH_STACK_RUN_TIMEOUT_SECS", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub stack_run_timeout_secs: u64,
}

impl StackSettings {
    /// The folder: `--stacks-dir`, else `berth-data/stacks` (`launch` makes the default
    /// `stacks` in `--data-dir`). Absolute: the compose CLI runs in the stack's folder, where
    /// a path relative to Berth's own working directory would name nothing.
    pub fn dir(&self) -> PathBuf {
        let dir = self
            .stacks_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("berth-data/stacks"));
        std::path::absolute(&dir).unwrap_or(dir)
    }
}

/// A stack's folder as it is on disk now.
#[derive(Clone, Debug)]
pub struct OnDisk {
    pub name: String,
    /// The engine it was made on (`None`: made by hand, so the default engine's).
    pub engine: Option<String>,
    /// Its compose file's name, when it has one.
    pub file: Option<&'static str>,
    /// The compose file's services, in its order (none when it has no readable file).
    pub services: Vec<String>,
}

/// Every stack's folder, and the runs going on.
pub struct Stacks {
    root: PathBuf,
    writing: tokio::sync::Mutex<()>,
    runs: Arc<runs::Runs>,
    compose_command: Option<String>,
    /// The compose CLI.
    cli: LookedUp<compose::Cli>,
    /// Checks and plans at once (each is a CLI process); more wait.
    cli_slots: tokio::sync::Semaphore,
    /// The Docker CLI, for stacks on a swarm.
    stack_cli: LookedUp<swarm::StackCli>,
}

/// Compose CLI checks and plans running at once.
const CLI_SLOTS: usize = 2;

/// The engine a stack belongs to, in its `.berth/`.
const ENGINE_FILE: &str = ".berth/engine";

impl Stacks {
    /// The stacks of `settings`; runs publish through `registry` and are tracked by `tasks`
    /// (stopped at `shutdown`).
    pub fn new(
        settings: &StackSettings,
        registry: Arc<crate::live::hub::Registry>,
        tasks: tokio_util::task::TaskTracker,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Arc<Self> {
        let timeout = std::time::Duration::from_secs(settings.stack_run_timeout_secs);
        Arc::new(Self {
            root: settings.dir(),
            writing: tokio::sync::Mutex::new(()),
            runs: Arc::new(runs::Runs::new(registry, tasks, shutdown, timeout)),
            compose_command: settings.compose_command.clone(),
            cli: LookedUp::new(),
            cli_slots: tokio::sync::Semaphore::new(CLI_SLOTS),
            stack_cli: LookedUp::new(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Every folder whose name is a stack name, sorted; others (and links) are passed over.
    pub async fn list(self: &Arc<Self>) -> Result<Vec<OnDisk>, Error> {
        let this = self.clone();
        blocking(move || {
            let entries = match fs::read_dir(&this.root) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io_error(&this.root, e)),
            };
            let mut names: Vec<String> = entries
                .filter_map(|entry| {
                    let entry = entry.ok()?;
                    let name = entry.file_name().into_string().ok()?;
                    let real_dir = entry.file_type().ok()?.is_dir();
                    (real_dir && validate_stack_name(&name).is_ok()).then_some(name)
                })
                .collect();
            names.sort();
            Ok(names
                .into_iter()
                .map(|name| this.on_disk(&name, &Folder::new(&this.root, &name)))
                .collect())
        })
        .await
    }

    /// The engine a stack was made on (`None`: made by hand, so the default engine's); 404
    /// when there is no such folder. Reads `.berth/engine` alone.
    pub async fn owner(self: &Arc<Self>, name: &str) -> Result<Option<String>, Error> {
        validate_stack_name(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || Ok(engine_file(&this.existing(&name)?))).await
    }

    /// A stack's folder, files and newest version number; 404 when there is no such folder.
    pub async fn read(self: &Arc<Self>, name: &str) -> Result<(OnDisk, StackFiles, u64), Error> {
        validate_stack_name(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || {
            let folder = this.existing(&name)?;
            let files = this.files(&folder)?;
            let version = history::numbers(&folder)?.last().copied().unwrap_or(0);
            Ok((this.on_disk(&name, &folder), files, version))
        })
        .await
    }

    /// Saves `files` as the stack's, making the stack on `engine` when it does not exist:
    /// checked first (size 413, YAML 422), then written whole; the folder's files as they
    /// were become a version first when no version holds them (made or edited by hand).
    /// `how` says who saves and how ([`SaveAs`]); `create` refuses (409) a folder that exists.
    pub async fn save(
        self: &Arc<Self>,
        name: &str,
        engines: &Engines,
        on: &EngineName,
        files: StackFiles,
        how: SaveAs<'_>,
    ) -> Result<(OnDisk, StackFiles, u64), Error> {
        let SaveAs { by, what, create } = how;
        validate_stack_name(name)?;
        // A name taken is said before the files are judged (and again under the lock).
        if create {
            let folder = Folder::new(&self.root, name);
            if blocking(move || folder.exists()).await? {
                return Err(taken(name));
            }
        }
        check(&files)?;
        let endpoint = engines.get(on.as_str())?.engine.endpoint().clone();
        self.check_with_cli(name, &files, &endpoint).await?;
        let _writing = self.writing.lock().await;
        // Under the lock: a stack another engine made meanwhile is not written over.
        let default = engines.default_engine().name.to_string();
        let engine = on.to_string();
        let (this, name, engine, by, what) = (
            self.clone(),
            name.to_string(),
            engine.to_string(),
            by.to_string(),
            what.to_string(),
        );
        blocking(move || {
            let folder = Folder::new(&this.root, &name);
            let made = !folder.exists()?;
            if !made && create {
                return Err(taken(&name));
            }
            if !made {
                let owner = this.on_disk(&name, &folder).engine.unwrap_or(default);
                if owner != engine {
                    return Err(Error::new(
                        409,
                        format!("the stack {name} belongs to the engine {owner}"),
                    ));
                }
            }
            if made {
                crate::store::private_dir(&this.root).map_err(|e| io_error(&this.root, e))?;
                fs::create_dir(&folder.path).map_err(|e| io_error(&folder.path, e))?;
                folder.subdir(BERTH_DIR)?;
                folder.write(ENGINE_FILE, &format!("{engine}\n"))?;
            } else {
                // What is on disk now, kept unless the newest version already holds it.
                let current = this.files(&folder)?;
                let newest = history::newest(&folder)?.map(|v| v.files);
                if newest.as_ref() != Some(&current) && !current.compose.is_empty() {
                    history::record(&folder, &current, "disk", "found on disk")?;
                }
            }
            let file = folder.compose_file().unwrap_or(folder::COMPOSE_FILES[0]);
            folder.write(file, &files.compose)?;
            match files.env.is_empty() {
                true => folder.remove(ENV_FILE)?,
                false => folder.write(ENV_FILE, &files.env)?,
            }
            let what = if made { "created" } else { what.as_str() };
            let version = history::record(&folder, &files, &by, what)?;
            Ok((this.on_disk(&name, &folder), files, version.n))
        })
        .await
    }

    /// Removes a stack's folder with everything in it; 409 while it has a run.
    pub async fn remove(self: &Arc<Self>, name: &str) -> Result<(), Error> {
        validate_stack_name(name)?;
        let _writing = self.writing.lock().await;
        self.runs.idle(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || {
            let folder = this.existing(&name)?;
            fs::remove_dir_all(&folder.path).map_err(|e| io_error(&folder.path, e))
        })
        .await
    }

    /// Renames a stack's folder; 409 when `to` is taken or a run goes on.
    pub async fn rename(self: &Arc<Self>, name: &str, to: &str) -> Result<OnDisk, Error> {
        validate_stack_name(name)?;
        validate_stack_name(to)?;
        let _writing = self.writing.lock().await;
        self.runs.idle(name)?;
        let (this, name, to) = (self.clone(), name.to_string(), to.to_string());
        blocking(move || {
            let folder = this.existing(&name)?;
            let target = Folder::new(&this.root, &to);
            // Taken by anything at all: a folder, a file, a link.
            if fs::symlink_metadata(&target.path).is_ok() {
                return Err(Error::new(409, format!("a stack named {to} exists")));
            }
            fs::rename(&folder.path, &target.path).map_err(|e| io_error(&folder.path, e))?;
            Ok(this.on_disk(&to, &target))
        })
        .await
    }

    /// A stack's versions, newest first.
    pub async fn versions(self: &Arc<Self>, name: &str) -> Result<Vec<StackVersion>, Error> {
        validate_stack_name(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || history::list(&this.existing(&name)?)).await
    }

    /// One version with its files.
    pub async fn version(self: &Arc<Self>, name: &str, n: u64) -> Result<StackVersionFiles, Error> {
        validate_stack_name(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || history::get(&this.existing(&name)?, n)).await
    }

    /// The compose CLI, or 503 saying what is missing.
    async fn cli(&self) -> Result<compose::Cli, Error> {
        let command = self.compose_command.as_deref();
        let cli = self.cli.get(|| compose::Cli::detect(command)).await;
        cli.ok_or_else(|| {
            Error::new(
                503,
                match &self.compose_command {
                    Some(command) => format!(
                        "the compose CLI {command:?} (--compose-command) does not answer `version`"
                    ),
                    None => "no compose CLI on Berth's machine: install the Docker Compose plugin \
                             (`docker compose`) or `docker-compose`, or name one with --compose-command"
                        .to_string(),
                },
            )
        })
    }

    /// The Docker CLI for a swarm's stacks, or 503.
    async fn stack_cli(&self) -> Result<swarm::StackCli, Error> {
        let cli = self.stack_cli.get(swarm::StackCli::detect).await;
        cli.ok_or_else(|| {
            Error::new(
                503,
                "no Docker CLI (`docker`) on Berth's machine: a stack on a swarm is deployed with `docker stack deploy`",
            )
        })
    }

    /// Starts `action` on the stack on `engine`; its run number. 409 while another runs,
    /// 503 without a compose CLI. On a swarm manager, the Docker CLI's `stack` runs it.
    pub async fn run(
        self: &Arc<Self>,
        name: &str,
        engine_name: &EngineName,
        engine: &Arc<Engine>,
        action: StackAction,
        options: &RunOptions,
        by: &str,
    ) -> Result<u64, Error> {
        self.run_followed(name, (engine_name, engine), action, options, (by, None))
            .await
    }

    /// [`Self::run`], with Berth following it from inside (`follower`: a copy of each
    /// line, and the record when the run ended).
    pub async fn run_followed(
        self: &Arc<Self>,
        name: &str,
        (engine_name, engine): (&EngineName, &Arc<Engine>),
        action: StackAction,
        options: &RunOptions,
        (by, follower): (&str, Option<runs::Follower>),
    ) -> Result<u64, Error> {
        validate_stack_name(name)?;
        let volumes = options.volumes.unwrap_or(false);
        let on_swarm = on_swarm(engine, name).await?;
        let (cli, compose_steps) = match on_swarm {
            true => (runs::Tool::Stack(self.stack_cli().await?), None),
            false => {
                let steps = compose::arguments(action, options.service.as_deref(), volumes)?;
                (runs::Tool::Compose(self.cli().await?), Some(steps))
            }
        };
        let _writing = self.writing.lock().await;
        self.runs.idle(name)?;
        let (this, stack, by) = (self.clone(), name.to_string(), by.to_string());
        let service = options.service.clone();
        let reads_no_file = on_swarm && action == StackAction::Down;
        let (folder, file, run, env) = blocking(move || {
            let folder = this.existing(&stack)?;
            let file = folder.compose_file().ok_or_else(|| {
                Error::new(409, format!("the stack {stack} has no compose file to run"))
            })?;
            // The files as a save reads them (no links, no hard links) before the CLI does.
            let env = this.files(&folder)?;
            // Written on disk by someone else maybe: the paths it names are checked again,
            // but for `docker stack rm`, which reads no file (a stack saved before the
            // check existed can always come down).
            if !reads_no_file {
                yaml::checked(file, &env.compose).map_err(|e| Error::new(422, e))?;
            }
            let run = StackRun {
                n: records::next(&folder)?,
                action,
                service,
                by,
                started_ms: crate::now_ms(),
                ended_ms: None,
                exit: None,
                outcome: None,
                version: history::numbers(&folder)?.last().copied().unwrap_or(0),
                tail: Vec::new(),
                images: Vec::new(),
            };
            Ok((folder, file, run, env))
        })
        .await?;
        let n = run.n;
        let target = compose::Target::of(name, &folder.path, file);
        let (cli, steps) = match (cli, compose_steps) {
            (runs::Tool::Stack(cli), _) => {
                let steps = swarm::arguments(&cli, action, &target, options)?;
                let variables = match reads_no_file {
                    true => Vec::new(),
                    false => swarm::variables(&env.env, &env.compose)?,
                };
                let cli = cli.with_variables(variables);
                (runs::Tool::Stack(cli), steps)
            }
            (cli, steps) => (cli, steps.unwrap_or_default()),
        };
        self.runs.start(runs::Start {
            cli,
            target,
            folder,
            engine_name: engine_name.clone(),
            engine: engine.clone(),
            steps,
            run,
            follower,
        });
        Ok(n)
    }

    /// Cancels run `n` of the stack; 404 when it is not going on.
    pub fn cancel(&self, name: &str, n: u64, by: &str) -> Result<(), Error> {
        validate_stack_name(name)?;
        self.runs.cancel(name, n, by)
    }

    /// The run going on for the stack, if any.
    pub fn current_run(&self, name: &str) -> Option<StackRun> {
        self.runs.current(name)
    }

    /// 409 while a run goes on for the stack.
    pub fn no_run(&self, name: &str) -> Result<(), Error> {
        self.runs.idle(name)
    }

    /// The stack's last runs, newest first.
    pub async fn runs(self: &Arc<Self>, name: &str) -> Result<Vec<StackRun>, Error> {
        validate_stack_name(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || records::list(&this.existing(&name)?)).await
    }

    /// Run `n` of the stack as recorded, if it is.
    pub async fn run_record(
        self: &Arc<Self>,
        name: &str,
        n: u64,
    ) -> Result<Option<StackRun>, Error> {
        validate_stack_name(name)?;
        let (this, name) = (self.clone(), name.to_string());
        blocking(move || records::get(&this.existing(&name)?, n)).await
    }

    /// Joins the output of run `n` while it goes on.
    pub fn join_run(
        &self,
        key: &crate::live::hub::HubKey,
    ) -> Option<crate::live::hub::Subscription> {
        self.runs.join(key)
    }

    /// What a deploy of the stack on `engine` would do: Compose's view, or on a swarm
    /// manager the swarm's.
    pub async fn plan(self: &Arc<Self>, name: &str, engine: &Engine) -> Result<StackPlan, Error> {
        validate_stack_name(name)?;
        if on_swarm(engine, name).await? {
            let running = swarm::services(engine, name).await?.unwrap_or_default();
            let cli = self.stack_cli().await?;
            let (this, stack) = (self.clone(), name.to_string());
            let wanted = blocking(move || {
                let folder = this.existing(&stack)?;
                let file = folder.compose_file().ok_or_else(|| {
                    Error::new(409, format!("the stack {stack} has no compose file"))
                })?;
                let files = this.files(&folder)?;
                swarm::variables(&files.env, &files.compose)?;
                yaml::checked(file, &files.compose).map_err(|e| Error::new(422, e))
            })
            .await?;
            return Ok(swarm::plan(&cli, &wanted, &running));
        }
        let cli = self.cli().await?;
        let (this, stack) = (self.clone(), name.to_string());
        let target = blocking(move || {
            let folder = this.existing(&stack)?;
            let file = folder
                .compose_file()
                .ok_or_else(|| Error::new(409, format!("the stack {stack} has no compose file")))?;
            // The CLI reads the files it names to hash the services: checked first.
            let files = this.files(&folder)?;
            yaml::checked(file, &files.compose).map_err(|e| Error::new(422, e))?;
            Ok(compose::Target::of(&stack, &folder.path, file))
        })
        .await?;
        let _slot = self.cli_slots.acquire().await;
        plan::plan(&cli, &target, engine).await
    }

    /// The compose CLI's judgement of `files` for the stack (422 with its words), when
    /// Berth has a CLI: they are written to a new private scratch folder (made by Berth
    /// alone, under a name nobody can guess) and read with the stack's folder as the
    /// project's, so its relative paths mean what they will.
    async fn check_with_cli(
        &self,
        name: &str,
        files: &StackFiles,
        endpoint: &Endpoint,
    ) -> Result<(), Error> {
        let Ok(cli) = self.cli().await else {
            return Ok(());
        };
        let _slot = self.cli_slots.acquire().await;
        let files = files.clone();
        let scratch = blocking(move || {
            let scratch = folder::scratch_dir("check")?;
            folder::write_file(&scratch.join("compose.yaml"), &files.compose)?;
            folder::write_file(&scratch.join(".env"), &files.env)?;
            Ok(scratch)
        })
        .await?;
        let project = match Folder::new(&self.root, name).exists() {
            Ok(true) => self.root.join(name),
            _ => scratch.clone(),
        };
        let target = compose::Target {
            stack: name.to_string(),
            dir: project,
            file: scratch.join("compose.yaml"),
            env: Some(scratch.join(".env")),
        };
        let result = plan::check(&cli, &target, endpoint).await.map_err(|e| {
            let said = e.to_string().replace(&scratch.display().to_string(), ".");
            Error::new(e.status(), said)
        });
        let _ =
            blocking(move || fs::remove_dir_all(&scratch).map_err(|e| io_error(&scratch, e))).await;
        result
    }

    /// Whether Compose's `working_dir` label (`dir`) is the stack's folder: a project of
    /// the same name from another folder is not the stack's.
    pub fn is_folder_of(&self, name: &str, dir: &str) -> bool {
        validate_stack_name(name).is_ok()
            && std::path::absolute(self.root.join(name))
                .is_ok_and(|folder| folder == Path::new(dir))
    }

    /// The folder of an existing stack; 404 when there is none.
    fn existing(&self, name: &str) -> Result<Folder, Error> {
        let folder = Folder::new(&self.root, name);
        match folder.exists()? {
            true => Ok(folder),
            false => Err(Error::not_found(format!("no such stack: {name}"))),
        }
    }

    /// The folder's compose file (empty when it has none) and `.env`.
    fn files(&self, folder: &Folder) -> Result<StackFiles, Error> {
        let compose = match folder.compose_file() {
            Some(file) => folder.read(file)?.unwrap_or_default(),
            None => String::new(),
        };
        let env = folder.read(ENV_FILE)?.unwrap_or_default();
        Ok(StackFiles { compose, env })
    }

    fn on_disk(&self, name: &str, folder: &Folder) -> OnDisk {
        let file = folder.compose_file();
        let services = file
            .and_then(|file| folder.read(file).ok().flatten())
            .zip(file)
            .and_then(|(text, file)| yaml::services(file, &text).ok())
            .unwrap_or_default();
        OnDisk {
            name: name.to_string(),
            engine: engine_file(folder),
            file,
            services,
        }
    }
}

/// Whether the stack runs on the swarm `engine` manages: it is a manager and has no
/// compose project of the stack's name (one deployed with Compose stays Compose's).
async fn on_swarm(engine: &Engine, name: &str) -> Result<bool, Error> {
    Ok(swarm::services(engine, name).await?.is_some()
        && plan::members(engine, name).await?.is_empty())
}

/// The engine named in a folder's `.berth/engine`, if it names one.
fn engine_file(folder: &Folder) -> Option<String> {
    folder
        .read(ENGINE_FILE)
        .ok()
        .flatten()
        .map(|text| text.trim().to_string())
        .filter(|name| app::model::is_plain_name(name))
}

/// What a save refuses before it writes (and before the CLI judges the file): a file over
/// 1 MiB (413), a compose file that is not YAML, has no mapping at its top, or names a file
/// outside the stack's folder for the CLI to read (422, with the line).
pub fn check(files: &StackFiles) -> Result<(), Error> {
    for (file, text) in [("compose.yaml", &files.compose), (".env", &files.env)] {
        if text.len() > MAX_STACK_FILE {
            return Err(Error::new(413, format!("{file} is larger than 1 MiB")));
        }
    }
    yaml::checked("compose.yaml", &files.compose).map_err(|e| Error::new(422, e))?;
    Ok(())
}

/// How a save is made: who makes it, what its version says (`saved`, `restored 3`), and
/// whether it may only make a new stack.
pub struct SaveAs<'a> {
    pub by: &'a str,
    pub what: &'a str,
    pub create: bool,
}

/// A new stack's name in use.
fn taken(name: &str) -> Error {
    Error::new(409, format!("a stack named {name} exists"))
}

/// Runs disk work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::new(500, format!("a stack's disk work failed: {e}")))?
}

/// 404 unless the stack (made on `owner`; `None`: the default engine) is this engine's.
pub fn belongs(
    name: &str,
    owner: Option<&str>,
    engines: &crate::engines::Engines,
    on: &crate::engines::EngineContext,
) -> Result<(), Error> {
    let owner = owner.unwrap_or_else(|| engines.default_engine().name.as_str());
    match owner == on.name.as_str() {
        true => Ok(()),
        false => Err(Error::not_found(format!(
            "no stack {name} on the engine {} (it is on {owner})",
            on.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stacks_folder_is_absolute_whatever_was_given() {
        let given = StackSettings {
            stacks_dir: Some(PathBuf::from("relative/stacks")),
            ..StackSettings::default()
        };
        let dir = given.dir();
        assert!(dir.is_absolute(), "{}", dir.display());
        assert!(dir.ends_with("relative/stacks"));
        assert!(StackSettings::default().dir().is_absolute());
    }
}
