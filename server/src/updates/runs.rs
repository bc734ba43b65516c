//! Updates of containers as runs. A run belongs to Berth, not to whoever asked or watches:
//! one task on Berth's tracker does the update, and the hub of its output
//! ([`HubKey::UpdateRun`]) is held by Berth for the run's life, so viewers come and go
//! without touching it. One update per container at a time. The last [`KEPT`] runs of each
//! engine are kept in memory with their last lines (replayed to a viewer who comes after
//! the end); a restart forgets them.

use super::apply::{self, Applied, Prepared, Waits};
use crate::{
    accounts::now_ms,
    docker::{EngineName, engine::Engine},
    error::Error,
    live::{
        hub::{Ending, HubKey, Registry, Subscription, Who},
        upstream::stack_run::{self, Output},
    },
};
use app::model::UpdateRun;
use std::{
    collections::{BTreeMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Runs kept per engine.
pub const KEPT: usize = 100;

/// One engine's runs.
#[derive(Default)]
struct Kept {
    last: u64,
    /// Oldest first.
    runs: VecDeque<UpdateRun>,
    /// The containers (full ids) an update runs for now.
    busy: HashSet<String>,
}

/// Every engine's update runs.
pub struct UpdateRuns {
    kept: BTreeMap<EngineName, Mutex<Kept>>,
    registry: Arc<Registry>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl UpdateRuns {
    pub fn new(
        engines: impl Iterator<Item = EngineName>,
        registry: Arc<Registry>,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            kept: engines.map(|name| (name, Mutex::default())).collect(),
            registry,
            tasks,
            shutdown,
        }
    }

    fn kept(&self, engine: &EngineName) -> std::sync::MutexGuard<'_, Kept> {
        self.kept[engine].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine's runs, newest first.
    pub fn list(&self, engine: &EngineName) -> Vec<UpdateRun> {
        self.kept(engine).runs.iter().rev().cloned().collect()
    }

    /// Run `n` of the engine; 404 when it is not kept.
    pub fn get(&self, engine: &EngineName, n: u64) -> Result<UpdateRun, Error> {
        self.kept(engine)
            .runs
            .iter()
            .find(|r| r.n == n)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no update run {n} on {engine}")))
    }

    /// Starts an update of a prepared container, by `by`; 409 while one of it goes on.
    pub fn start(
        self: &Arc<Self>,
        engine_name: EngineName,
        engine: Arc<Engine>,
        prepared: Prepared,
        waits: Waits,
        by: &str,
    ) -> Result<UpdateRun, Error> {
        let n = {
            let mut kept = self.kept(&engine_name);
            if !kept.busy.insert(prepared.id.clone()) {
                return Err(Error::new(
                    409,
                    format!("an update of {} is going on: wait for it", prepared.name),
                ));
            }
            kept.last += 1;
            kept.last
        };
        // However the task ends (a panic too), the container is free again and the run
        // has an end.
        let free = Free {
            runs: self.clone(),
            engine: engine_name.clone(),
            id: prepared.id.clone(),
            n,
        };
        // The hub first: a viewer who finds the record finds the run's output.
        let (output, lines) = mpsc::channel(256);
        let key = HubKey::UpdateRun {
            engine: engine_name.clone(),
            run: n,
        };
        let origin = format!("update of {}", prepared.name);
        let ring = self.registry.config().ring;
        let held = self
            .registry
            .subscribe_as(Who::Berth, key, ring, move |publisher| {
                stack_run::relay(lines, origin, publisher)
            });
        let run = UpdateRun {
            n,
            container: prepared.name.clone(),
            image: prepared.image.clone(),
            by: by.to_string(),
            started_ms: now_ms(),
            ..UpdateRun::default()
        };
        self.keep(&engine_name, run.clone());
        let this = self.clone();
        self.tasks.spawn(async move {
            let mut applied = Applied::new(output.clone());
            let done = apply::update(&engine, prepared, waits, &mut applied, &this.shutdown).await;
            let outcome = match (&done, &applied.rolled_back) {
                (Err(e), _) => {
                    applied.say(format!("failed: {e}"));
                    format!("failed: {e}")
                }
                (Ok(()), Some(why)) => format!("rolled back: {why}"),
                (Ok(()), None) if applied.updated => "updated".to_string(),
                (Ok(()), None) => "nothing newer".to_string(),
            };
            this.finish(&engine_name, n, &applied, &outcome);
            drop(free);
            let _ = output.send(Output::End(Ending::done(outcome))).await;
            drop(output);
            drop(held);
        });
        Ok(run)
    }

    /// Keeps a new run's record; past [`KEPT`], the oldest that has ended goes.
    fn keep(&self, engine: &EngineName, run: UpdateRun) {
        let mut kept = self.kept(engine);
        if kept.runs.len() >= KEPT
            && let Some(oldest) = kept.runs.iter().position(|r| r.ended_ms.is_some())
        {
            kept.runs.remove(oldest);
        }
        kept.runs.push_back(run);
    }

    /// Writes how run `n` ended into its record.
    fn finish(&self, engine: &EngineName, n: u64, applied: &Applied, outcome: &str) {
        let mut kept = self.kept(engine);
        if let Some(run) = kept.runs.iter_mut().find(|r| r.n == n) {
            run.ended_ms = Some(now_ms());
            run.outcome = Some(outcome.to_string());
            run.updated = applied.updated;
            run.rolled_back = applied.rolled_back.clone();
            run.from = Some(applied.from.clone()).filter(|f| !f.is_empty());
            run.to = Some(applied.to.clone()).filter(|t| !t.is_empty());
            run.new_id = applied.new_id.clone();
            run.tail = applied.tail.iter().cloned().collect();
        }
    }

    /// Joins the output of a run while it goes on.
    pub fn join(&self, key: &HubKey) -> Option<Subscription> {
        self.registry
            .join(Who::Socket, key, self.registry.config().ring)
    }
}

/// Frees a container for its next update when its run's task ends, however it ends; a
/// run that did not say how it ended (its task panicked) says so.
struct Free {
    runs: Arc<UpdateRuns>,
    engine: EngineName,
    id: String,
    n: u64,
}

impl Drop for Free {
    fn drop(&mut self) {
        let mut kept = self.runs.kept(&self.engine);
        kept.busy.remove(&self.id);
        if let Some(run) = kept
            .runs
            .iter_mut()
            .find(|r| r.n == self.n && r.ended_ms.is_none())
        {
            run.ended_ms = Some(now_ms());
            run.outcome = Some("failed: the update stopped in Berth (see its log)".into());
        }
    }
}
