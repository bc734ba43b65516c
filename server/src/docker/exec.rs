//! A terminal's process in a container, from start to confirmed end. Docker has no call
//! that ends an exec: closing its TTY leaves a shell running (and `docker exec -it` killed
//! with -9 shows the same). So every terminal's process carries a marker in its environment
//! (`BERTH_TERMINAL=<random>`), which its children inherit, and [`Exec::reap`] signals every
//! process that carries it, from a second exec as root, until none is left: HUP first, as a
//! closed terminal would, then KILL.

use crate::{docker::engine::Engine, error::Error};
use app::terminal;
use bollard::{
    Docker,
    container::LogOutput,
    exec::{StartExecOptions, StartExecResults},
    models::ExecConfig,
};
use futures::{Stream, StreamExt};
use std::{pin::Pin, time::Duration};
use tokio::io::AsyncWrite;

/// Every process of the terminal, and what each signal did: prints how many it signalled.
/// `$1` the signal, `$2` the marker. Reading `/proc/*/environ` needs root, hence user 0.
const REAPER: &str = r#"n=0
for p in /proc/[0-9]*; do
  case "$(cat "$p/environ" 2>/dev/null)" in
    *"$2"*) kill "-$1" "${p#/proc/}" 2>/dev/null && n=$((n+1));;
  esac
done
echo "$n""#;

/// How long the process gets to end after HUP before KILL.
const HANGUP_GRACE: Duration = Duration::from_secs(1);
/// KILL rounds before Berth gives up confirming (a process in uninterruptible sleep).
const KILL_ROUNDS: usize = 5;
/// Any one request of the reaping.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Buffer for one read of the TTY.
const OUTPUT_CAPACITY: usize = 64 * 1024;

pub type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
pub type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// A started terminal process.
pub struct Exec {
    docker: Docker,
    container: String,
    id: String,
    marker: String,
}

/// How a process ended, as far as Berth could see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaped {
    /// No process of the terminal is left (or the container stopped).
    pub confirmed: bool,
    /// Processes Berth had to signal (0 when the command had exited by itself).
    pub signalled: usize,
}

/// What exec inspect says.
#[derive(Debug, Clone, Copy)]
pub struct State {
    pub running: bool,
    /// In the engine's host's process namespace.
    pub pid: Option<i64>,
    pub exit_code: Option<i64>,
}

impl Exec {
    /// Creates and starts `exec` in `container` with a TTY, attached both ways.
    pub async fn start(
        engine: &Engine,
        container: &str,
        exec: &terminal::Exec,
    ) -> Result<(Self, Output, Input), Error> {
        let docker = engine.client()?;
        let marker = format!("BERTH_TERMINAL={:032x}", rand::random::<u128>());
        let config = ExecConfig {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(true),
            env: Some(vec![marker.clone(), "TERM=xterm-256color".into()]),
            cmd: Some(exec.argv.clone()),
            user: exec.user.clone(),
            working_dir: exec.workdir.clone(),
            ..Default::default()
        };
        let created = docker
            .create_exec(container, config)
            .await
            .map_err(|e| engine.conflict(e))?;
        let this = Self {
            docker,
            container: container.to_string(),
            id: created.id,
            marker,
        };
        let options = StartExecOptions {
            detach: false,
            tty: true,
            output_capacity: Some(OUTPUT_CAPACITY),
        };
        match this.docker.start_exec(&this.id, Some(options)).await {
            Ok(StartExecResults::Attached { output, input }) => Ok((this, output, input)),
            Ok(StartExecResults::Detached) => Err(Error::new(500, "Docker detached the terminal")),
            Err(e) => Err(engine.conflict(e)),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub async fn resize(&self, cols: u16, rows: u16) -> Result<(), bollard::errors::Error> {
        let options = bollard::exec::ResizeExecOptions {
            height: rows,
            width: cols,
        };
        timed(self.docker.resize_exec(&self.id, options)).await?
    }

    pub async fn state(&self) -> Result<State, bollard::errors::Error> {
        let inspect = timed(self.docker.inspect_exec(&self.id)).await??;
        Ok(State {
            running: inspect.running.unwrap_or(false),
            pid: inspect.pid,
            exit_code: inspect.exit_code,
        })
    }

    /// Waits up to `limit` for the process to be reported ended; its last state.
    async fn settle(&self, limit: Duration) -> Option<State> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let state = self.state().await.ok();
            let ended = state.is_none_or(|s| !s.running);
            if ended || tokio::time::Instant::now() >= deadline {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The exit code of a process that ended by itself (its output ended).
    pub async fn exit_code(&self) -> Option<i64> {
        self.settle(HANGUP_GRACE).await.and_then(|s| s.exit_code)
    }

    /// Ends every process of this terminal and confirms it: call once its TTY is closed.
    ///
    /// The proof is a round of the reaper that finds no process with the marker, once the
    /// process had started. Exec inspect is only a hint: a busy engine reports an exec
    /// running for seconds after its process has gone.
    pub async fn reap(&self) -> Reaped {
        let mut signalled = 0;
        // A terminal closed at once may end before its process has started (pid 0): a
        // round now would find nothing, and the shell would start after it.
        let first = self.started().await;
        if first.is_some_and(|s| s.running) {
            tracing::debug!(exec = %self.id, pid = ?first.and_then(|s| s.pid), "hanging up a terminal's process");
            match self.signal("HUP").await {
                Ok(0) => return Reaped::gone(signalled),
                Ok(n) => signalled += n,
                Err(Gone::Container) => return Reaped::gone(signalled),
                Err(Gone::Unknown(e)) => tracing::debug!("cannot hang up: {e}"),
            }
            self.settle(HANGUP_GRACE).await;
        }
        // Whatever is left (a process that ignores HUP, a child in the background) is killed;
        // a round that finds nothing confirms the end.
        for _ in 0..KILL_ROUNDS {
            match self.signal("KILL").await {
                Ok(0) => return Reaped::gone(signalled),
                Ok(n) => signalled += n,
                Err(Gone::Container) => return Reaped::gone(signalled),
                Err(Gone::Unknown(e)) => {
                    // No shell to signal from, or the engine away: only exec inspect can
                    // tell whether the process (not its children) is gone.
                    let state = self.settle(HANGUP_GRACE).await;
                    tracing::warn!(exec = %self.id, "cannot signal a terminal's processes: {e}");
                    return Reaped {
                        confirmed: state.is_some_and(|s| !s.running),
                        signalled,
                    };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Reaped {
            confirmed: false,
            signalled,
        }
    }

    /// The exec's state once its process has started (a pid) or ended; `None` when the
    /// engine does not say.
    async fn started(&self) -> Option<State> {
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            let state = self.state().await.ok()?;
            let settled = !state.running || state.pid.is_some_and(|pid| pid > 0);
            if settled || tokio::time::Instant::now() >= deadline {
                return Some(state);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends `signal` to every process with the marker; how many there were.
    async fn signal(&self, signal: &str) -> Result<usize, Gone> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            user: Some("0".into()),
            cmd: Some(
                ["sh", "-c", REAPER, "berth-reaper", signal, &self.marker]
                    .map(String::from)
                    .to_vec(),
            ),
            ..Default::default()
        };
        let run = async {
            let created = self.docker.create_exec(&self.container, config).await?;
            let mut printed = Vec::new();
            if let StartExecResults::Attached { mut output, .. } =
                self.docker.start_exec(&created.id, None).await?
            {
                // The count is one line: read up to it, not to the stream's end, which a busy
                // engine may report seconds after the process has gone.
                while !printed.contains(&b'\n')
                    && let Some(chunk) = output.next().await
                {
                    printed.extend_from_slice(&chunk?.into_bytes());
                }
            }
            Ok::<_, bollard::errors::Error>(printed)
        };
        let printed = match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
            Ok(Ok(printed)) => printed,
            Ok(Err(e)) => return Err(self.gone(e).await),
            Err(_) => return Err(Gone::Unknown("the engine did not answer in time".into())),
        };
        let printed = String::from_utf8_lossy(&printed);
        printed
            .trim()
            .parse()
            .map_err(|_| Gone::Unknown(format!("the reaper said {:?}", printed.trim())))
    }
}

impl Reaped {
    fn gone(signalled: usize) -> Self {
        Self {
            confirmed: true,
            signalled,
        }
    }
}

/// Why a signal could not be sent.
enum Gone {
    /// The container is not running (or not there): its processes are all gone.
    Container,
    Unknown(String),
}

impl Exec {
    /// What a refused exec means: 404 and 409 for a container that stopped or went (all
    /// its processes with it), but 409 also for a paused one, whose processes are frozen.
    async fn gone(&self, error: bollard::errors::Error) -> Gone {
        use bollard::errors::Error::DockerResponseServerError;
        match error {
            DockerResponseServerError {
                status_code: 404 | 409,
                ..
            } => {
                let inspect = self.docker.inspect_container(
                    &self.container,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                );
                match timed(inspect).await {
                    Ok(Ok(c)) if c.state.as_ref().and_then(|s| s.running) == Some(true) => {
                        Gone::Unknown("the container is paused".into())
                    }
                    Ok(Err(DockerResponseServerError {
                        status_code: 404, ..
                    })) => Gone::Container,
                    Ok(Ok(_)) => Gone::Container,
                    _ => Gone::Unknown(crate::docker::engine::describe(&error)),
                }
            }
            e => Gone::Unknown(crate::docker::engine::describe(&e)),
        }
    }
}

async fn timed<T>(future: impl Future<Output = T>) -> Result<T, bollard::errors::Error> {
    tokio::time::timeout(REQUEST_TIMEOUT, future)
        .await
        .map_err(|_| bollard::errors::Error::RequestTimeoutError)
}
