//! A terminal's process in a container, from start to confirmed end. Docker has no call
//! that ends an exec: closing its TTY leaves a shell running (and `docker exec -it` killed
//! with -9 shows the same). So Berth finds the terminal's processes itself, from a second
//! exec as root, and signals them until none is left: HUP first, as a closed terminal
//! would, then KILL. A process is the terminal's when it started after the terminal's
//! first process and any of these holds:
//!
//! - it carries the terminal's marker in its environment (`BERTH_TERMINAL=<random>`, which
//!   children inherit);
//! - it is in the terminal's session (Docker makes the first process a session leader;
//!   children stay in it unless they call `setsid`);
//! - it holds the terminal's TTY open (its own descriptors or inherited ones).
//!
//! The session and TTY are read once when the terminal starts ([`Exec::start`]), so they
//! are known after its first process has gone. A process escapes only by doing all three:
//! dropping the variable, leaving the session, and closing every descriptor on the TTY
//! (a daemon started with `env -u BERTH_TERMINAL setsid … </dev/null >/dev/null 2>&1 &`).
//! Docker gives an exec no cgroup of its own that would end everything it started.

use crate::{
    docker::{
        engine::Engine,
        path::{Kind, path},
    },
    error::Error,
};
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

/// Prints the terminal's first process's session, start time and TTY (`SID START TTY`,
/// the TTY `-` when it has none), or `-` when no process carries the marker `$1`. The first
/// process is the session leader (pid = session) that carries the marker. Fields of
/// `/proc/PID/stat` after the command's `)`: 4 is the session, 5 the TTY's device number,
/// 20 the start time.
const IDENTIFY: &str = r#"marker=$1
for p in /proc/[0-9]*; do
  case "$(cat "$p/environ" 2>/dev/null)" in *"$marker"*) ;; *) continue;; esac
  read -r stat < "$p/stat" 2>/dev/null || continue
  set -f; set -- ${stat##*) }; set +f
  pid=${p#/proc/}
  [ "$4" = "$pid" ] || continue
  tty=$5; major=$(( (tty >> 8) & 4095 )); minor=$(( (tty & 255) | ((tty >> 12) & 1048320) ))
  pts=-
  if [ "$major" -ge 136 ] && [ "$major" -le 143 ]; then pts=/dev/pts/$(( (major - 136) * 256 + minor )); fi
  echo "$pid ${20} $pts"
  exit 0
done
echo -"#;

/// Signals every process of the terminal; prints how many. `$1` the signal, `$2` the
/// marker, `$3` the session, `$4` the start time, `$5` the TTY (`-`: none). A process of
/// another of Berth's terminals (another marker) is never touched. Reading other processes'
/// `/proc/PID/environ` and descriptors needs root, hence user 0.
const REAPER: &str = r#"sig=$1 marker=$2 sid=$3 start=$4 pts=$5
n=0
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  [ "$pid" = "$$" ] && continue
  hit=
  case "$(cat "$p/environ" 2>/dev/null)" in
    *"$marker"*) hit=1;;
    *BERTH_TERMINAL=*) continue;;
  esac
  if [ -z "$hit" ] && [ "$sid" != - ]; then
    read -r stat < "$p/stat" 2>/dev/null || continue
    set -f; set -- ${stat##*) }; set +f
    [ "${20}" -ge "$start" ] 2>/dev/null || continue
    [ "$4" = "$sid" ] && hit=1
    if [ -z "$hit" ] && [ "$pts" != - ]; then
      for f in "$p"/fd/*; do
        if [ "$f" -ef "$pts" ]; then hit=1; break; fi
      done
    fi
  fi
  [ -n "$hit" ] && kill "-$sig" "$pid" 2>/dev/null && n=$((n+1))
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
    /// The first process's session, start time and TTY, as [`IDENTIFY`] printed them;
    /// `- - -` when it could not tell.
    identity: [String; 3],
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
        let container = path(Kind::Container, container)?;
        let created = docker
            .create_exec(&container, config)
            .await
            .map_err(|e| engine.conflict(e))?;
        let mut this = Self {
            docker,
            container,
            id: path(Kind::Exec, &created.id)?,
            marker,
            identity: ["-".into(), "-".into(), "-".into()],
        };
        let options = StartExecOptions {
            detach: false,
            tty: true,
            output_capacity: Some(OUTPUT_CAPACITY),
        };
        match this.docker.start_exec(&this.id, Some(options)).await {
            Ok(StartExecResults::Attached { output, input }) => {
                this.identify().await;
                Ok((this, output, input))
            }
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

    /// The exec's state once its process has started (running with a pid) or ended (an
    /// exit code); `None` when the engine does not say. Right after attaching, Docker can
    /// still report it not running with no pid and no exit code: not started yet.
    async fn started(&self) -> Option<State> {
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        loop {
            let state = self.state().await.ok()?;
            let settled = (state.running && state.pid.is_some_and(|pid| pid > 0))
                || (!state.running && state.exit_code.is_some());
            if settled || tokio::time::Instant::now() >= deadline {
                return Some(state);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reads the first process's session, start time and TTY, once it has started (see
    /// [`IDENTIFY`]); left unknown when it cannot (the reaper then goes by the marker).
    async fn identify(&mut self) {
        let started = self.started().await;
        if !started.as_ref().is_some_and(|s| s.running) {
            tracing::debug!(exec = %self.id, ?started, "the terminal ended before it was identified");
            return;
        }
        match self
            .script(IDENTIFY, &["berth-identify", &self.marker])
            .await
        {
            Ok(printed) => {
                let fields: Vec<&str> = printed.split_whitespace().collect();
                if let [sid, start, tty] = fields[..]
                    && [sid, start]
                        .iter()
                        .all(|f| f.bytes().all(|b| b.is_ascii_digit()))
                {
                    self.identity = [sid.into(), start.into(), tty.into()];
                } else {
                    tracing::debug!(exec = %self.id, "the terminal's session is not known: {printed:?}");
                }
            }
            Err(Gone::Container) => {
                tracing::debug!(exec = %self.id, "the container went before the terminal was identified")
            }
            Err(Gone::Unknown(e)) => {
                tracing::debug!(exec = %self.id, "cannot identify the terminal: {e}")
            }
        }
    }

    /// Sends `signal` to every process of the terminal; how many there were.
    async fn signal(&self, signal: &str) -> Result<usize, Gone> {
        let [sid, start, tty] = &self.identity;
        let printed = self
            .script(
                REAPER,
                &["berth-reaper", signal, &self.marker, sid, start, tty],
            )
            .await?;
        printed
            .trim()
            .parse()
            .map_err(|_| Gone::Unknown(format!("the reaper said {:?}", printed.trim())))
    }

    /// Runs `script` with `sh -c` as root in the container, `args` as `$0…`; its first line.
    async fn script(&self, script: &str, args: &[&str]) -> Result<String, Gone> {
        let cmd = ["sh", "-c", script]
            .into_iter()
            .chain(args.iter().copied())
            .map(String::from)
            .collect();
        let config = ExecConfig {
            attach_stdout: Some(true),
            user: Some("0".into()),
            cmd: Some(cmd),
            ..Default::default()
        };
        let run = async {
            let created = self.docker.create_exec(&self.container, config).await?;
            // Docker's own id; checked as every value in a Docker path is.
            let Ok(id) = path(Kind::Exec, &created.id) else {
                return Ok(Vec::new());
            };
            let mut printed = Vec::new();
            if let StartExecResults::Attached { mut output, .. } =
                self.docker.start_exec(&id, None).await?
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
        Ok(printed.lines().next().unwrap_or_default().to_string())
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
