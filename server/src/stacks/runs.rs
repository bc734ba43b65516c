//! A stack's runs of the compose CLI. A run belongs to its stack, not to whoever watches it:
//! it is one task on Berth's tracker that owns the CLI's process, and the hub of its output
//! ([`HubKey::StackRun`]) is joined by Berth itself for the run's life, so viewers come
//! and go (a second viewer sees the same output) without touching it. One run per stack at
//! a time. However a run ends (the CLI exits, Cancel, the timeout, Berth's shutdown), the
//! process group is stopped and waited for, the record is written, and only then is the
//! output's `end` sent and the run forgotten.

use super::{
    compose::{self, Cli, Target},
    folder::Folder,
    plan, records,
    swarm::{self, StackCli},
};
use crate::{
    docker::{EngineName, engine::Engine},
    error::Error,
    live::{
        hub::{Ending, HubKey, Registry, Subscription, Who},
        upstream::{
            lines::LineSplitter,
            stack_run::{self, Output},
        },
    },
};
use app::{
    frames::LogStream,
    model::{DeployedImage, StackAction, StackRun},
};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    sync::mpsc,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Lines of output a run's record keeps, and how long each may be there.
const TAIL_LINES: usize = 200;
const TAIL_LINE_BYTES: usize = 1024;

/// How long a stopped CLI gets between SIGTERM and SIGKILL (within the shutdown drain).
const STOP_GRACE: Duration = Duration::from_secs(2);

/// After the CLI exits, how long its output may still be read (a child of its that holds
/// the pipes open does not hold the run).
const DRAIN: Duration = Duration::from_secs(1);

/// How long the images a deploy left are asked for.
const IMAGES: Duration = Duration::from_secs(10);

/// The runs going on now, by stack.
pub struct Runs {
    active: Mutex<HashMap<String, Arc<Active>>>,
    pub registry: Arc<Registry>,
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
    pub timeout: Duration,
}

/// A run going on.
struct Active {
    run: StackRun,
    cancel: CancellationToken,
    /// Who pressed Cancel.
    cancelled_by: Mutex<Option<String>>,
}

/// The CLI a run uses: Compose, or the Docker CLI's `stack` on a swarm manager.
#[derive(Clone, Debug)]
pub enum Tool {
    Compose(Cli),
    Stack(StackCli),
}

impl Tool {
    fn command(
        &self,
        target: &Target,
        endpoint: &crate::docker::endpoint::Endpoint,
        args: &[&str],
    ) -> Result<tokio::process::Command, Error> {
        match self {
            Self::Compose(cli) => cli.command(target, endpoint, args),
            Self::Stack(cli) => cli.command(target, endpoint, args),
        }
    }

    fn version(&self) -> &str {
        match self {
            Self::Compose(cli) => &cli.version,
            Self::Stack(cli) => &cli.version,
        }
    }

    /// Each service's image after a deploy, as the engine runs them.
    async fn images(&self, engine: &Engine, stack: &str) -> Result<Vec<DeployedImage>, Error> {
        match self {
            Self::Compose(_) => plan::images(engine, stack).await,
            Self::Stack(_) => swarm::images(engine, stack).await,
        }
    }
}

/// What a run needs to start.
pub struct Start {
    pub cli: Tool,
    pub target: Target,
    pub folder: Folder,
    pub engine_name: EngineName,
    pub engine: Arc<Engine>,
    pub steps: Vec<Vec<String>>,
    pub run: StackRun,
    pub follower: Option<Follower>,
}

/// Berth following a run from inside (an image update through its stack): a copy of each
/// line, and the run's record once it is written, so the follower's end comes after the
/// stack's.
pub struct Follower {
    pub lines: mpsc::Sender<Output>,
    pub ended: tokio::sync::oneshot::Sender<StackRun>,
}

/// Where a run's lines go: its hub, and its follower if it has one.
struct Outputs {
    hub: mpsc::Sender<Output>,
    copy: Option<mpsc::Sender<Output>>,
}

impl Outputs {
    async fn line(&self, stream: LogStream, line: String) {
        if let Some(copy) = &self.copy {
            // Never waited for: a follower that stalls must not hold the run (which must
            // see Cancel, its timeout and its CLI's exit); the record's tail has it all.
            let _ = copy.try_send(Output::Line(stream, line.clone()));
        }
        // The relay is gone only at shutdown; the run goes on to its end regardless.
        let _ = self.hub.send(Output::Line(stream, line)).await;
    }
}

impl Runs {
    pub fn new(
        registry: Arc<Registry>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
        timeout: Duration,
    ) -> Self {
        Self {
            active: Mutex::new(HashMap::new()),
            registry,
            tasks,
            shutdown,
            timeout,
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Active>>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run going on for `stack`, if any.
    pub fn current(&self, stack: &str) -> Option<StackRun> {
        self.map().get(stack).map(|a| a.run.clone())
    }

    /// 409 naming the run going on for `stack`, if any.
    pub fn idle(&self, stack: &str) -> Result<(), Error> {
        match self.map().get(stack) {
            Some(active) => Err(Error::new(
                409,
                format!(
                    "run {} ({} by {}) is going on for the stack {stack}: wait for it or cancel it",
                    active.run.n,
                    active.run.action.as_str(),
                    active.run.by
                ),
            )),
            None => Ok(()),
        }
    }

    /// Starts a run; the caller holds the stacks' write lock and has checked [`Self::idle`].
    pub fn start(self: &Arc<Self>, start: Start) {
        let Start {
            cli,
            target,
            folder,
            engine_name,
            engine,
            steps,
            run,
            follower,
        } = start;
        let (copy, ended) = match follower {
            Some(Follower { lines, ended }) => (Some(lines), Some(ended)),
            None => (None, None),
        };
        let cancel = self.shutdown.child_token();
        let active = Arc::new(Active {
            run: run.clone(),
            cancel: cancel.clone(),
            cancelled_by: Mutex::new(None),
        });
        self.map().insert(target.stack.clone(), active.clone());
        // However the run ends from here (a panic too), the stack is free again.
        let forget = Forget {
            runs: self.clone(),
            stack: target.stack.clone(),
            active: active.clone(),
        };
        let (hub, lines) = mpsc::channel(256);
        let output = Outputs { hub, copy };
        let key = HubKey::StackRun {
            engine: engine_name,
            stack: target.stack.clone(),
            run: run.n,
        };
        // Berth's own membership keeps the output's hub for the run's life.
        let ring = self.registry.config().ring;
        let origin = format!("{} {}", target.stack, run.action.as_str());
        let held = self
            .registry
            .subscribe_as(Who::Berth, key, ring, move |publisher| {
                stack_run::relay(lines, origin, publisher)
            });
        let timeout = self.timeout;
        self.tasks.spawn(async move {
            // Recorded once its hub exists: a viewer who finds the record finds the run.
            write_record(&folder, &run, &target.stack).await;
            let finished = execute(&cli, &target, &engine, &steps, &output, &active, timeout).await;
            let mut record = run;
            record.ended_ms = Some(crate::now_ms());
            record.exit = finished.exit;
            record.outcome = Some(finished.outcome.clone());
            record.tail = finished.tail.into_iter().collect();
            let deployed = matches!(record.action, StackAction::Deploy | StackAction::Pull);
            if deployed && finished.exit == Some(0) {
                let images = tokio::time::timeout(IMAGES, cli.images(&engine, &target.stack));
                record.images = images.await.ok().and_then(Result::ok).unwrap_or_default();
            }
            // The record first: a viewer who comes after the end reads it; and the stack
            // free before `end`, so whoever reads `end` may start the next run.
            write_record(&folder, &record, &target.stack).await;
            drop(forget);
            if let Some(ended) = ended {
                let _ = ended.send(record);
            }
            let _ = output
                .hub
                .send(Output::End(Ending::done(finished.outcome)))
                .await;
            drop(output);
            drop(held);
        });
    }

    /// Cancels run `n` of `stack`; 404 when it is not going on.
    pub fn cancel(&self, stack: &str, n: u64, by: &str) -> Result<(), Error> {
        let map = self.map();
        let active = map
            .get(stack)
            .filter(|a| a.run.n == n)
            .ok_or_else(|| Error::not_found(format!("run {n} of {stack} is not going on")))?;
        *active
            .cancelled_by
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(by.to_string());
        active.cancel.cancel();
        Ok(())
    }

    /// Joins the output of run `n` while it goes on.
    pub fn join(&self, key: &HubKey) -> Option<Subscription> {
        self.registry
            .join(Who::Socket, key, self.registry.config().ring)
    }
}

/// Takes a run out of the runs going on when its task ends, however it ends.
struct Forget {
    runs: Arc<Runs>,
    stack: String,
    active: Arc<Active>,
}

impl Drop for Forget {
    fn drop(&mut self) {
        let mut map = self.runs.map();
        if map
            .get(&self.stack)
            .is_some_and(|a| Arc::ptr_eq(a, &self.active))
        {
            map.remove(&self.stack);
        }
    }
}

/// Writes a run's record; a failure is logged (the run itself went on regardless).
async fn write_record(folder: &Folder, run: &StackRun, stack: &str) {
    let (folder, run) = (folder.clone(), run.clone());
    match tokio::task::spawn_blocking(move || records::write(&folder, &run)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(stack, "the run's record was not written: {e}"),
        Err(e) => tracing::warn!(stack, "the run's record was not written: {e}"),
    }
}

/// How a run ended.
struct Finished {
    exit: Option<i32>,
    outcome: String,
    tail: VecDeque<String>,
}

/// Runs the steps one after the other (a pull, then the deploy), the next only when the
/// last exited 0.
async fn execute(
    cli: &Tool,
    target: &Target,
    engine: &Engine,
    steps: &[Vec<String>],
    output: &Outputs,
    active: &Active,
    timeout: Duration,
) -> Finished {
    let mut tail = VecDeque::new();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut last = Finished {
        exit: None,
        outcome: "nothing to run".into(),
        tail: VecDeque::new(),
    };
    for step in steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let child = cli
            .command(target, engine.endpoint(), &args)
            .and_then(|mut c| {
                c.spawn()
                    .map_err(|e| Error::new(500, format!("cannot run {}: {e}", cli.version())))
            });
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                last.outcome = e.to_string();
                break;
            }
        };
        let (exit, outcome) = watch(
            &mut child,
            output,
            &mut tail,
            active,
            &mut deadline,
            timeout,
        )
        .await;
        last.exit = exit;
        last.outcome = outcome;
        if exit != Some(0) {
            break;
        }
    }
    last.tail = tail;
    last
}

/// Passes the CLI's output on until it exits, or stops it (Cancel, timeout, shutdown).
async fn watch(
    child: &mut tokio::process::Child,
    output: &Outputs,
    tail: &mut VecDeque<String>,
    active: &Active,
    deadline: &mut std::pin::Pin<&mut tokio::time::Sleep>,
    timeout: Duration,
) -> (Option<i32>, String) {
    let pid = child.id();
    let (lines_in, mut lines) = mpsc::channel::<(LogStream, String)>(256);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let readers = futures::future::join(
        read(stdout, LogStream::Stdout, lines_in.clone()),
        read(stderr, LogStream::Stderr, lines_in),
    );
    tokio::pin!(readers);
    let mut readers_done = false;
    let stopped = loop {
        tokio::select! {
            Some((stream, line)) = lines.recv() => keep(output, tail, stream, line).await,
            _ = &mut readers, if !readers_done => readers_done = true,
            status = child.wait() => break Ok(status.ok().and_then(|s| s.code())),
            () = active.cancel.cancelled() => break Err(match active.cancelled_by.lock().unwrap_or_else(|p| p.into_inner()).clone() {
                Some(by) => format!("cancelled by {by}"),
                None => "stopped: Berth shut down".to_string(),
            }),
            () = deadline.as_mut() => break Err(format!("timed out after {} s", timeout.as_secs())),
        }
    };
    let (exit, outcome) = match stopped {
        Ok(code) => {
            // What it started and left behind goes with it.
            compose::end_group(pid);
            (
                code,
                code.map_or("ended by a signal".to_string(), |c| format!("exit {c}")),
            )
        }
        Err(why) => {
            let status = compose::stop(child, STOP_GRACE).await;
            (status.and_then(|s| s.code()), why)
        }
    };
    // What it printed last, within a bound: a child that keeps the pipes open is not waited.
    let drain = async {
        loop {
            tokio::select! {
                Some((stream, line)) = lines.recv() => keep(output, tail, stream, line).await,
                _ = &mut readers, if !readers_done => readers_done = true,
                else => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN, drain).await;
    (exit, outcome)
}

/// A line to the viewers and to the record's tail.
async fn keep(output: &Outputs, tail: &mut VecDeque<String>, stream: LogStream, line: String) {
    let mut short = line.clone();
    if short.len() > TAIL_LINE_BYTES {
        let mut end = TAIL_LINE_BYTES;
        while !short.is_char_boundary(end) {
            end -= 1;
        }
        short.truncate(end);
    }
    if tail.len() == TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(short);
    output.line(stream, line).await;
}

/// Reads a pipe's lines (each cut as a log line is, at 16 KiB) into `lines`.
async fn read(
    pipe: Option<impl AsyncRead + Unpin>,
    stream: LogStream,
    lines: mpsc::Sender<(LogStream, String)>,
) {
    let Some(mut pipe) = pipe else { return };
    let mut splitter = LineSplitter::default();
    let mut chunk = vec![0; 8 * 1024];
    let mut read = Vec::new();
    while let Ok(n @ 1..) = pipe.read(&mut chunk).await {
        splitter.feed(stream, &chunk[..n], false, |line| read.push(line.text));
        for line in read.drain(..) {
            if lines.send((stream, line)).await.is_err() {
                return;
            }
        }
    }
    if let Some(line) = splitter.finish(stream) {
        let _ = lines.send((stream, line.text)).await;
    }
}
