//! Updates of containers as runs. A run belongs to Berth, not to whoever asked or watches:
//! one task on Berth's tracker does the update, and the hub of its output
//! ([`HubKey::UpdateRun`]) is held by Berth for the run's life, so viewers come and go
//! without touching it. One update per container at a time. Each run's record (with its
//! last lines, replayed to a viewer who comes after the end) is in the database
//! ([`super::run_records`]), so the history outlives a restart.

use super::{
    apply::{self, Applied, Prepared, Waits},
    run_records::RunRecords,
    through_service, through_stack,
};
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
    collections::{BTreeMap, HashSet},
    sync::{Arc, Mutex},
};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// What an update changes: a container (a compose member through its stack), or a swarm
/// service.
pub enum Subject {
    /// Boxed, both: a container's inspection is large, and a run holds one for its life.
    Container(Box<Prepared>),
    Service(Box<through_service::Target>),
}

impl Subject {
    /// Its key among the updates going on: a container's full id, `service:ID`.
    fn key(&self) -> String {
        match self {
            Subject::Container(prepared) => prepared.id.clone(),
            Subject::Service(target) => format!("service:{}", target.id),
        }
    }

    fn name(&self) -> &str {
        match self {
            Subject::Container(prepared) => &prepared.name,
            Subject::Service(target) => &target.name,
        }
    }

    /// The stack a member's update goes through, or a service's update holds (one of a
    /// swarm stack Berth keeps).
    fn stack(&self) -> Option<&str> {
        match self {
            Subject::Container(prepared) => prepared.member.as_ref().map(|m| m.stack.as_str()),
            Subject::Service(target) => target.stack.as_deref(),
        }
    }
}

/// Every engine's update runs.
pub struct UpdateRuns {
    /// Per engine, what an update runs for now: containers (full ids), and the stacks
    /// (`stack:NAME`) a member's update goes through.
    busy: BTreeMap<EngineName, Mutex<HashSet<String>>>,
    records: RunRecords,
    registry: Arc<Registry>,
    /// Compose members are updated by runs of their stacks.
    stacks: Arc<crate::stacks::Stacks>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl UpdateRuns {
    pub fn new(
        engines: impl Iterator<Item = EngineName>,
        records: RunRecords,
        (registry, stacks): (Arc<Registry>, Arc<crate::stacks::Stacks>),
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            busy: engines.map(|name| (name, Mutex::default())).collect(),
            records,
            registry,
            stacks,
            tasks,
            shutdown,
        }
    }

    fn busy(&self, engine: &EngineName) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.busy[engine].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine's runs, newest first.
    pub async fn list(&self, engine: &EngineName) -> Result<Vec<UpdateRun>, Error> {
        self.records.list(engine).await
    }

    /// Run `n` of the engine; 404 when it is not kept.
    pub async fn get(&self, engine: &EngineName, n: u64) -> Result<UpdateRun, Error> {
        self.records.get(engine, n).await
    }

    /// Ends the records of runs a killed Berth left going on: those that began before
    /// `started`.
    pub async fn interrupted(&self, started: i64) {
        match self.records.interrupted(started).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!("{n} image update(s) were going on when Berth stopped"),
            Err(e) => tracing::warn!("image updates: cannot end the interrupted runs: {e}"),
        }
    }

    /// Starts an update of a prepared container or service, by `by`; 409 while one of it
    /// goes on (or, for a stack's member, one through its stack: its run takes the whole
    /// stack, and the stack's own 409 would come too late, once this run had begun).
    /// `ended` is told when the run has ended and its record says how.
    pub async fn start(
        self: &Arc<Self>,
        engine_name: EngineName,
        engine: Arc<Engine>,
        subject: Subject,
        waits: Waits,
        by: &str,
        ended: Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<UpdateRun, Error> {
        let stack = subject.stack().map(|stack| format!("stack:{stack}"));
        let key = subject.key();
        {
            let mut busy = self.busy(&engine_name);
            if busy.contains(&key) {
                return Err(Error::new(
                    409,
                    format!("an update of {} is going on: wait for it", subject.name()),
                ));
            }
            if let Some(stack) = stack.as_ref().filter(|s| busy.contains(*s)) {
                return Err(Error::new(
                    409,
                    format!(
                        "an update through the stack {} is going on: wait for it",
                        &stack["stack:".len()..]
                    ),
                ));
            }
            busy.insert(key.clone());
            busy.extend(stack.clone());
        }
        // However this ends (a refusal of the database, the task's panic), the container
        // (and its stack) is free again, and a run recorded has an end.
        let mut free = Free {
            runs: self.clone(),
            engine: engine_name.clone(),
            keys: std::iter::once(key).chain(stack).collect(),
            n: None,
        };
        let mut run = UpdateRun {
            container: subject.name().to_string(),
            image: match &subject {
                Subject::Container(prepared) => prepared.image.clone(),
                Subject::Service(target) => target.image.clone(),
            },
            by: by.to_string(),
            started_ms: now_ms(),
            stack: subject.stack().map(str::to_string),
            service: match &subject {
                Subject::Container(_) => None,
                Subject::Service(target) => Some(target.id.clone()),
            },
            ..UpdateRun::default()
        };
        run.n = self.records.begin(&engine_name, &run).await?;
        free.n = Some(run.n);
        let n = run.n;
        // The hub first: a viewer who finds the record finds the run's output.
        let (output, lines) = mpsc::channel(256);
        let key = HubKey::UpdateRun {
            engine: engine_name.clone(),
            run: n,
        };
        let origin = format!("update of {}", subject.name());
        let ring = self.registry.config().ring;
        let held = self
            .registry
            .subscribe_as(Who::Berth, key, ring, move |publisher| {
                stack_run::relay(lines, origin, publisher)
            });
        let this = self.clone();
        let mut record = run.clone();
        self.tasks.spawn(async move {
            let mut applied = Applied::new(output.clone());
            let shutdown = &this.shutdown;
            let done = match subject {
                Subject::Service(target) => {
                    through_service::update(&engine, *target, waits, &mut applied, shutdown).await
                }
                Subject::Container(prepared) => match prepared.member.clone() {
                    Some(member) => {
                        let on = (&engine_name, &engine);
                        let by = &record.by;
                        through_stack::update(
                            &this.stacks,
                            on,
                            *prepared,
                            &member,
                            (by, waits),
                            &mut applied,
                            shutdown,
                        )
                        .await
                    }
                    None => apply::update(&engine, *prepared, waits, &mut applied, shutdown).await,
                },
            };
            let outcome = match (&done, &applied.rolled_back) {
                (Err(e), _) => {
                    applied.say(format!("failed: {e}"));
                    format!("failed: {e}")
                }
                (Ok(()), Some(why)) => format!("rolled back: {why}"),
                (Ok(()), None) if applied.updated => "updated".to_string(),
                (Ok(()), None) => "nothing newer".to_string(),
            };
            record.ended_ms = Some(now_ms());
            record.outcome = Some(outcome.clone());
            record.updated = applied.updated;
            record.rolled_back = applied.rolled_back.clone();
            record.from = Some(applied.from.clone()).filter(|f| !f.is_empty());
            record.to = Some(applied.to.clone()).filter(|t| !t.is_empty());
            record.new_id = applied.new_id.clone();
            record.stack_run = applied.stack_run;
            record.tail = applied.tail.iter().cloned().collect();
            // Recorded before the hub goes: a viewer who comes after finds the end.
            this.records.finish(&engine_name, &record).await;
            free.n = None;
            drop(free);
            if let Some(ended) = ended {
                let _ = ended.send(());
            }
            let _ = output.send(Output::End(Ending::done(outcome))).await;
            drop(output);
            drop(held);
        });
        Ok(run)
    }

    /// Joins the output of a run while it goes on.
    pub fn join(&self, key: &HubKey) -> Option<Subscription> {
        self.registry
            .join(Who::Socket, key, self.registry.config().ring)
    }
}

/// Frees a container (or service) for its next update when its run's task ends, however it ends; a
/// run recorded that did not say how it ended (its task panicked) says so.
struct Free {
    runs: Arc<UpdateRuns>,
    engine: EngineName,
    /// The container's id, and its stack's key.
    keys: Vec<String>,
    /// The run recorded and not yet ended.
    n: Option<u64>,
}

impl Drop for Free {
    fn drop(&mut self) {
        let mut busy = self.runs.busy(&self.engine);
        for key in &self.keys {
            busy.remove(key);
        }
        drop(busy);
        let Some(n) = self.n else { return };
        let (runs, engine) = (self.runs.clone(), self.engine.clone());
        // The record is ended on the tracker: a drop cannot wait for the database.
        self.runs.tasks.spawn(async move {
            if let Ok(mut run) = runs.records.get(&engine, n).await {
                run.ended_ms = Some(now_ms());
                run.outcome = Some("failed: the update stopped in Berth (see its log)".into());
                runs.records.finish(&engine, &run).await;
            }
        });
    }
}
