//! Image updates: whether a registry holds a newer image than the one each running
//! container runs, checked on a schedule and when asked.
//!
//! - `name`: a reference as a registry knows it (Docker's defaults filled in).
//! - `check`: one check of one engine (the engine asked first, the registry's API after).
//! - `registry`: the registry's API (digest of a tag, when an image was made, tokens);
//!   `fetch`: its HTTP requests; `pace`: a bounded rate per registry and 429's holds.
//! - `state`: what the checks found, per engine, bounded by what runs now; `seen`: when
//!   each tag's digest was first seen, in the database.
//! - `apply`: one container's update (`recreate`: its configuration on the new image);
//!   `runs`: updates as runs Berth owns; `run_records`: their records, in the database.
//!
//! A check runs as a tracked task, so the request that asked for it may go (it is joined,
//! not restarted, by whoever asks meanwhile); the schedule is one task that sleeps until
//! the next check or retry is due, costs nothing between them, and stops at shutdown.

mod apply;
mod check;
mod fetch;
mod name;
mod pace;
mod recreate;
mod registry;
mod run_records;
mod runs;
mod seen;
mod state;

pub use check::Scope;

use crate::{
    accounts::now_ms,
    docker::EngineName,
    engines::{EngineContext, Engines},
    error::Error,
    store::Store,
};
use app::model::{UpdateRun, Updates as Found};
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};
use tokio::{sync::Notify, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How long a request that asked for a check waits for it before answering what is known.
const ASK_WAIT: Duration = Duration::from_secs(60);
/// The schedule's first check comes this long after start, not at once: a restart is not a
/// reason to ask every registry again.
const FIRST_CHECK: Duration = Duration::from_secs(60);
/// The least time between two passes over failed tags.
const RETRY_FLOOR: Duration = Duration::from_secs(60);

/// How often images are checked (`berth --help`, "Image updates").
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Image updates")]
pub struct UpdateSettings {
    /// Hours between checks of every running container's image against its registry (the
    /// first a minute after start); 0 checks only when someone asks.
    #[arg(long, env = "BERTH_UPDATE_CHECK_HOURS", default_value_t = 6, value_parser = clap::value_parser!(u64).range(0..=8760))]
    pub update_check_hours: u64,

    /// Seconds an updated container with a health check has to become healthy before it is
    /// rolled back to its old image.
    #[arg(long, env = "BERTH_UPDATE_HEALTH_SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub update_health_secs: u64,
}

/// Every engine's findings, the pace kept with each registry, and the schedule.
pub struct Updates {
    engines: Arc<Engines>,
    pacer: pace::Pacer,
    states: BTreeMap<EngineName, state::EngineState>,
    seen: seen::SeenDigests,
    /// When the schedule checks next (unix ms; 0: no schedule).
    next_full: AtomicI64,
    /// A check ended: the schedule looks again at what is due.
    ended: Notify,
    waits: apply::Waits,
    runs: Arc<runs::UpdateRuns>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Updates {
    /// Starts the schedule (unless `--update-check-hours 0`) on `tasks`, and the ending
    /// of the runs a killed Berth left going on.
    pub fn start(
        engines: Arc<Engines>,
        settings: &UpdateSettings,
        store: Store,
        registry: Arc<crate::live::hub::Registry>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let every = (settings.update_check_hours > 0)
            .then(|| Duration::from_secs(settings.update_check_hours * 3600));
        let states = engines
            .all()
            .map(|context| (context.name.clone(), state::EngineState::default()))
            .collect();
        let runs = Arc::new(runs::UpdateRuns::new(
            engines.all().map(|c| c.name.clone()),
            run_records::RunRecords::new(store.clone()),
            registry,
            tasks.clone(),
            shutdown.clone(),
        ));
        let updates = Arc::new(Self {
            engines,
            pacer: pace::Pacer::default(),
            states,
            seen: seen::SeenDigests::new(store),
            next_full: AtomicI64::new(0),
            ended: Notify::new(),
            waits: apply::Waits {
                healthy: Duration::from_secs(settings.update_health_secs),
            },
            runs,
            tasks: tasks.clone(),
            shutdown,
        });
        let (started, earlier) = (now_ms(), updates.runs.clone());
        tasks.spawn(async move { earlier.interrupted(started).await });
        if let Some(every) = every {
            tasks.spawn(updates.clone().schedule(every));
        }
        updates
    }

    fn state(&self, on: &EngineContext) -> &state::EngineState {
        // Every engine has one from the start; the names are the same set.
        &self.states[&on.name]
    }

    /// What the checks found for `on`'s running containers (never waits for a registry).
    pub async fn list(&self, on: &EngineContext) -> Result<Found, Error> {
        let containers = on.containers.containers().await?;
        let state = self.state(on);
        let next_full = self.next_full.load(Ordering::Relaxed);
        Ok(Found {
            containers: state.view(&containers),
            checking: state.checking.borrow().is_some(),
            last_check: state.last_check(),
            next_check: (next_full > 0).then_some(next_full),
            now: now_ms(),
            requests: self.pacer.sent(),
        })
    }

    /// Marks a check of `on` as running, unless one is: the guard says it ended when
    /// dropped, however it ends (finished, cancelled at shutdown, or a panic).
    fn begin(self: &Arc<Self>, on: &EngineContext, scope: &Scope) -> Option<Checking> {
        let started = self.state(on).checking.send_if_modified(|running| {
            let start = running.is_none();
            if start {
                *running = Some(scope.clone());
            }
            start
        });
        started.then(|| Checking {
            updates: self.clone(),
            engine: on.name.clone(),
        })
    }

    /// Checks `on` now as `scope` says and waits for it up to [`ASK_WAIT`], then answers
    /// what is known. A check already running is joined when it covers what was asked
    /// (every container's covers one container's), else waited for and followed by this one.
    pub async fn check(
        self: &Arc<Self>,
        on: Arc<EngineContext>,
        scope: Scope,
    ) -> Result<Found, Error> {
        let mut checking = self.state(&on).checking.subscribe();
        let deadline = Instant::now() + ASK_WAIT;
        for _ in 0..2 {
            let covered = match self.begin(&on, &scope) {
                Some(guard) => {
                    let (this, context, wanted) = (self.clone(), on.clone(), scope.clone());
                    self.tasks.spawn(async move {
                        tokio::select! {
                            () = this.run(&context, wanted) => {}
                            () = this.shutdown.cancelled() => {}
                        }
                        drop(guard);
                    });
                    true
                }
                None => match &*checking.borrow_and_update() {
                    Some(running) => *running == Scope::All || *running == scope,
                    None => false,
                },
            };
            let ended = tokio::time::timeout_at(deadline, checking.wait_for(Option::is_none));
            if ended.await.is_err() || covered {
                break;
            }
        }
        self.list(&on).await
    }

    /// Starts an update of the container `reference` names on `on`, by `by` (see
    /// [`apply`]): refused at once (404, 400, 409) when it may not be updated.
    pub async fn update(
        &self,
        on: &EngineContext,
        reference: &str,
        by: &str,
    ) -> Result<UpdateRun, Error> {
        let prepared = apply::prepare(&on.engine, reference).await?;
        self.runs
            .start(on.name.clone(), on.engine.clone(), prepared, self.waits, by)
            .await
    }

    /// `on`'s update runs, newest first.
    pub async fn runs(&self, on: &EngineContext) -> Result<Vec<UpdateRun>, Error> {
        self.runs.list(&on.name).await
    }

    /// Update run `n` of `on`; 404 when it is not kept.
    pub async fn run_of(&self, on: &EngineContext, n: u64) -> Result<UpdateRun, Error> {
        self.runs.get(&on.name, n).await
    }

    /// Joins the output of an update run while it goes on.
    pub fn join_run(
        &self,
        key: &crate::live::hub::HubKey,
    ) -> Option<crate::live::hub::Subscription> {
        self.runs.join(key)
    }

    /// One check, its failure logged (the findings keep what they had).
    async fn run(&self, on: &EngineContext, scope: Scope) {
        let state = self.state(on);
        if let Err(e) = check::run(&on.engine, &self.pacer, state, &self.seen, scope).await {
            tracing::debug!(engine = %on.name, "image update check: {e}");
        }
    }

    /// Every `every`, every engine; between, failed tags when their retry is due (at most
    /// once a [`RETRY_FLOOR`], so an engine that is down, or busy with a check someone
    /// asked for, never makes it spin). Sleeps until then.
    async fn schedule(self: Arc<Self>, every: Duration) {
        let mut next_full = Instant::now() + FIRST_CHECK;
        let mut retry_floor = Instant::now();
        loop {
            self.next_full.store(
                now_ms() + millis(next_full - Instant::now()),
                Ordering::Relaxed,
            );
            let retry = self
                .states
                .values()
                .filter_map(state::EngineState::next_retry)
                .min()
                .map(|at| Instant::now() + Duration::from_millis((at - now_ms()).max(0) as u64))
                .map(|at| at.max(retry_floor));
            let due = retry.map_or(next_full, |r| r.min(next_full));
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = self.ended.notified() => continue,
                () = self.shutdown.cancelled() => return,
            }
            let full = Instant::now() >= next_full;
            let scope = match full {
                true => {
                    next_full = Instant::now() + every;
                    Scope::All
                }
                false => {
                    retry_floor = Instant::now() + RETRY_FLOOR;
                    Scope::Failed
                }
            };
            for on in self.engines.all() {
                let Some(guard) = self.begin(on, &scope) else {
                    continue;
                };
                tokio::select! {
                    () = self.run(on, scope.clone()) => {}
                    () = self.shutdown.cancelled() => return,
                }
                drop(guard);
            }
        }
    }
}

/// A check of one engine in progress (see [`Updates::begin`]).
struct Checking {
    updates: Arc<Updates>,
    engine: EngineName,
}

impl Drop for Checking {
    fn drop(&mut self) {
        if let Some(state) = self.updates.states.get(&self.engine) {
            state.checking.send_replace(None);
        }
        self.updates.ended.notify_one();
    }
}

fn millis(d: Duration) -> i64 {
    d.as_millis() as i64
}
