//! Image updates: whether a registry holds a newer image than the one each running
//! container runs, checked on a schedule and when asked.
//!
//! - `name`: a reference as a registry knows it (Docker's defaults filled in).
//! - `check`: one check of one engine (the engine asked first, the registry's API after).
//! - `registry`: the registry's API (digest of a tag, when an image was made, tokens);
//!   `crate::outbound`: its HTTP requests; `pace`: a bounded rate per registry and 429's holds.
//! - `state`: what the checks found, per engine, bounded by what runs now; `seen`: when
//!   each tag's digest was first seen, in the database.
//! - `apply`: one container's update (`recreate`: its configuration on the new image);
//!   `through_stack`: a compose member's, by a run of its stack; `through_service`: a
//!   swarm service's, by the swarm's rolling update; `runs`: updates as runs Berth owns; `run_records`: their records, in the database.
//! - `policy`: what Berth does with an update (label, rules, default); `auto`: automatic
//!   updates (minimum age, the clock); `crate::window`: when they may run.
//!
//! A check runs as a tracked task, so the request that asked for it may go (it is joined,
//! not restarted, by whoever asks meanwhile); the schedule is one task that sleeps until
//! the next check or retry is due, costs nothing between them, and stops at shutdown.

mod apply;
mod auto;
mod check;
mod name;
mod pace;
mod policy;
mod recreate;
mod registry;
mod run_records;
mod runs;
mod seen;
mod state;
mod through_service;
mod through_stack;

pub use crate::window::Window;
pub use auto::Clock;
pub use check::Scope;
pub use name::{HUB_NAMES, ImageName};

use crate::{
    accounts::now_ms,
    docker::EngineName,
    engines::{EngineContext, Engines},
    error::Error,
    registry_logins::RegistryLogins,
    stacks::Stacks,
    store::Store,
};
use app::model::{
    ImageUpdate, PolicyRule, UpdateBatch, UpdatePolicy, UpdateRun, UpdateState, Updates as Found,
};
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

    /// What Berth does when a container's image has an update, where neither its
    /// `berth.update` label nor a rule says: `auto` (updates it), `notify` (says so), `off`
    /// (neither checks nor updates it).
    #[arg(long, env = "BERTH_UPDATE_POLICY", default_value = "notify", value_parser = parse_policy)]
    pub update_policy: UpdatePolicy,

    /// Hours since Berth first saw a new image's digest before an automatic update takes
    /// it (a pushed bad image is not taken at once).
    #[arg(long, env = "BERTH_UPDATE_MIN_AGE_HOURS", default_value_t = 72, value_parser = clap::value_parser!(u64).range(0..=8760))]
    pub update_min_age_hours: u64,

    /// When automatic updates may run, in the server's time zone: `[DAYS ]HH:MM-HH:MM`,
    /// e.g. `mon-fri 02:00-05:00` or `sat,sun 22:00-06:00`; any time when not set.
    #[arg(long, env = "BERTH_UPDATE_WINDOW", value_parser = Window::parse)]
    pub update_window: Option<Window>,
}

fn parse_policy(text: &str) -> Result<UpdatePolicy, String> {
    UpdatePolicy::parse(text).ok_or_else(|| format!("{text:?}: expected auto, notify or off"))
}

/// Every engine's findings, the pace kept with each registry, and the schedule.
pub struct Updates {
    engines: Arc<Engines>,
    pacer: pace::Pacer,
    states: BTreeMap<EngineName, state::EngineState>,
    seen: seen::SeenDigests,
    policies: policy::Policies,
    clock: Clock,
    tried: auto::Tried,
    /// A check ended or a policy changed: automatic updates look again.
    auto_wake: Notify,
    min_age: Duration,
    window: Option<Window>,
    /// Where automatic updates say what they did (the audit log, as `auto-update`).
    audit: crate::accounts::audit::Audit,
    /// When the schedule checks next (unix ms; 0: no schedule).
    next_full: AtomicI64,
    /// A check ended: the schedule looks again at what is due.
    ended: Notify,
    waits: apply::Waits,
    runs: Arc<runs::UpdateRuns>,
    /// Compose members are updated through their stacks, when Berth keeps them.
    stacks: Arc<Stacks>,
    /// Credentials for registries, for checks and pulls.
    logins: Arc<RegistryLogins>,
    /// The engines where an "update all" goes on.
    batches: std::sync::Mutex<std::collections::HashSet<EngineName>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl Updates {
    /// Starts the schedule (unless `--update-check-hours 0`) on `tasks`, and the ending
    /// of the runs a killed Berth left going on.
    pub fn start(
        engines: Arc<Engines>,
        settings: &UpdateSettings,
        (store, audit_keep): (Store, Duration),
        registry: Arc<crate::live::hub::Registry>,
        (stacks, logins): (Arc<Stacks>, Arc<RegistryLogins>),
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
            (registry, stacks.clone()),
            tasks.clone(),
            shutdown.clone(),
        ));
        let updates = Arc::new(Self {
            engines,
            pacer: pace::Pacer::default(),
            states,
            seen: seen::SeenDigests::new(store.clone()),
            policies: policy::Policies::new(store.clone(), settings.update_policy),
            clock: Clock::default(),
            tried: auto::Tried::default(),
            auto_wake: Notify::new(),
            min_age: Duration::from_secs(settings.update_min_age_hours * 3600),
            window: settings.update_window.clone(),
            audit: crate::accounts::audit::Audit::new(store, audit_keep),
            next_full: AtomicI64::new(0),
            ended: Notify::new(),
            waits: apply::Waits {
                healthy: Duration::from_secs(settings.update_health_secs),
            },
            runs,
            stacks,
            logins,
            batches: Default::default(),
            tasks: tasks.clone(),
            shutdown,
        });
        let (started, earlier) = (now_ms(), updates.runs.clone());
        tasks.spawn(async move { earlier.interrupted(started).await });
        tasks.spawn(updates.clone().automatic());
        if let Some(every) = every {
            tasks.spawn(updates.clone().schedule(every));
        }
        updates
    }

    fn state(&self, on: &EngineContext) -> &state::EngineState {
        // Every engine has one from the start; the names are the same set.
        &self.states[&on.name]
    }

    /// What the checks found for `on`'s running containers and swarm services, with their
    /// policies and when an automatic update takes each (never waits for a registry).
    pub async fn list(&self, on: &EngineContext) -> Result<Found, Error> {
        let containers = on.containers.containers().await?;
        let rules = self.policies.rules(&on.name).await?;
        let state = self.state(on);
        let next_full = self.next_full.load(Ordering::Relaxed);
        let now = self.clock.now();
        // A compose member is updated through its stack, if Berth keeps it: one of a
        // project Berth does not keep is not updated, and a digest already tried for a
        // container waits for a newer one: neither has a time.
        let mut kept = BTreeMap::new();
        for project in containers.iter().filter_map(|c| c.project.as_deref()) {
            if !kept.contains_key(project) {
                kept.insert(project, self.kept_stack(on, project).await);
            }
        }
        let projects: std::collections::HashMap<&str, &str> = containers
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.project.as_deref()?)))
            .collect();
        // The services as they are now (a check's reading may be older than an update).
        let services = match on.engine.client() {
            Ok(docker) => check::services(&docker).await,
            Err(_) => Vec::new(),
        };
        let mut found = state.view(&containers, &rules);
        // A task started since the last check (a rollout's) is its service's too.
        found.retain(|u| {
            !services
                .iter()
                .any(|s| is_task_of(&u.container, &s.running.container))
        });
        for update in &mut found {
            let project = projects.get(update.container_id.as_str()).copied();
            update.project = project.map(str::to_string);
            update.in_stack = project.is_some_and(|p| kept[p]);
            if project.is_none() || update.in_stack {
                let key = update.container.clone();
                self.auto_at(on, update, &key, now);
            }
        }
        let mut services = state.view_services(&services, &rules);
        for update in &mut services {
            let key = service_key(&update.container);
            self.auto_at(on, update, &key, now);
        }
        Ok(Found {
            containers: found,
            services,
            checking: state.checking.borrow().is_some(),
            last_check: state.last_check(),
            next_check: (next_full > 0).then_some(next_full),
            now: now_ms(),
            requests: self.pacer.sent(),
            min_age_hours: self.min_age.as_secs() / 3600,
            window: self.window.as_ref().map(|w| w.text().to_string()),
        })
    }

    /// Sets when an automatic update takes `update` (known to `tried` as `key`), if its
    /// policy is `auto`, it has an update and that digest was not tried yet.
    fn auto_at(&self, on: &EngineContext, update: &mut ImageUpdate, key: &str, now: i64) {
        if let (UpdatePolicy::Auto, UpdateState::Available, Some(first_seen), Some(digest)) = (
            update.policy,
            update.state,
            update.first_seen,
            &update.available,
        ) {
            let pair = (on.name.clone(), key.to_string(), digest.clone());
            if !self.tried.contains(&pair) {
                update.auto_at = auto::due_at(first_seen, self.min_age, self.window.as_ref(), now);
            }
        }
    }

    /// Whether `project` is a stack Berth keeps on `on` (made there, or by hand when `on`
    /// is the default engine).
    async fn kept_stack(&self, on: &EngineContext, project: &str) -> bool {
        match self.stacks.owner(project).await {
            Ok(owner) => {
                crate::stacks::belongs(project, owner.as_deref(), &self.engines, on).is_ok()
            }
            Err(_) => false,
        }
    }

    /// The container `reference` names, if it may be updated (see [`apply::prepare`]); a
    /// compose member only when Berth keeps its stack on `on` and no run of it goes on.
    async fn prepare(&self, on: &EngineContext, reference: &str) -> Result<apply::Prepared, Error> {
        let mut prepared = apply::prepare(&on.engine, reference).await?;
        let endpoint = on.engine.endpoint();
        prepared.login = self
            .logins
            .for_registry(prepared.registry(), endpoint)
            .await;
        if let Some(member) = &prepared.member {
            // Kept on this engine, and the project's folder is the stack's: a project of
            // the same name elsewhere is not Berth's to deploy over.
            let folder = member.working_dir.as_deref().unwrap_or_default();
            let kept = self.kept_stack(on, &member.stack).await
                && self.stacks.is_folder_of(&member.stack, folder);
            if !kept {
                let (name, stack, service) = (&prepared.name, &member.stack, &member.service);
                return Err(Error::new(
                    409,
                    format!(
                        "{name} is a member of the compose project {stack}, which is not a \
                         stack Berth keeps on {} (or was deployed from another folder): update \
                         it with compose where its file is (pull {service}, then up -d \
                         {service})",
                        on.name
                    ),
                ));
            }
            self.stacks.no_run(&member.stack)?;
        }
        Ok(prepared)
    }

    /// The swarm service `reference` names, if it may be updated (see
    /// [`through_service::prepare`]), with the credentials stored for its registry; one of
    /// a swarm stack Berth keeps only while no run of the stack goes on.
    async fn prepare_service(
        &self,
        on: &EngineContext,
        reference: &str,
    ) -> Result<through_service::Target, Error> {
        let mut target = through_service::prepare(&on.engine, reference).await?;
        if let Some(stack) = target.namespace.clone()
            && self.kept_stack(on, &stack).await
        {
            self.stacks.no_run(&stack)?;
            target.stack = Some(stack);
        }
        if !target.on_loopback() {
            let endpoint = on.engine.endpoint();
            target.login = self.logins.for_registry(target.registry(), endpoint).await;
        }
        Ok(target)
    }

    /// The clock automatic updates go by (tests move it).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// `on`'s policy rules.
    pub async fn policies(&self, on: &EngineContext) -> Result<Vec<PolicyRule>, Error> {
        self.policies.list(&on.name).await
    }

    /// Sets or removes a policy rule of `on`; automatic updates look again.
    pub async fn set_policy(&self, on: &EngineContext, rule: &PolicyRule) -> Result<(), Error> {
        self.policies.set(&on.name, rule).await?;
        self.auto_wake.notify_one();
        Ok(())
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
        let prepared = self.prepare(on, reference).await?;
        self.runs
            .start(
                on.name.clone(),
                on.engine.clone(),
                runs::Subject::Container(Box::new(prepared)),
                self.waits,
                by,
                None,
            )
            .await
    }

    /// Starts an update of the image of the swarm service `reference` names on `on`, by
    /// `by` (see [`through_service`]): refused at once (404, 409) when it may not be.
    pub async fn update_service(
        &self,
        on: &EngineContext,
        reference: &str,
        by: &str,
    ) -> Result<UpdateRun, Error> {
        let target = self.prepare_service(on, reference).await?;
        self.runs
            .start(
                on.name.clone(),
                on.engine.clone(),
                runs::Subject::Service(Box::new(target)),
                self.waits,
                by,
                None,
            )
            .await
    }

    /// Starts updates of everything on `on` with an update available (`project`: of that
    /// compose project or swarm stack alone), one after another on Berth's tracker, by
    /// `by`; answers what is queued (nothing: nothing to update). Members of compose
    /// projects Berth does not keep are left out. 409 while a batch of `on` goes on.
    pub async fn update_all(
        self: &Arc<Self>,
        on: Arc<EngineContext>,
        project: Option<String>,
        by: &str,
    ) -> Result<UpdateBatch, Error> {
        if let Some(project) = &project {
            app::model::validate_project_name(project)?;
        }
        let found = self.list(&on).await?;
        let queue: Vec<(bool, ImageUpdate)> = found
            .containers
            .into_iter()
            .filter(|u| u.project.is_none() || u.in_stack)
            .map(|u| (false, u))
            .chain(found.services.into_iter().map(|u| (true, u)))
            .filter(|(_, u)| u.state == UpdateState::Available)
            .filter(|(_, u)| project.is_none() || u.project == project)
            .collect();
        let queued = queue.iter().map(|(_, u)| u.container.clone()).collect();
        if queue.is_empty() {
            return Ok(UpdateBatch { queued });
        }
        let batch = Batch::begin(self, &on.name)?;
        let (this, by) = (self.clone(), by.to_string());
        self.tasks.spawn(async move {
            let _batch = batch;
            for (service, update) in queue {
                let name = update.container.clone();
                tokio::select! {
                    ended = this.start_waited(&on, &update, service, None, &by) => {
                        if let Err(e) = ended {
                            tracing::info!(engine = %on.name, container = name, "update all: {e}");
                        }
                    }
                    () = this.shutdown.cancelled() => return,
                }
            }
        });
        Ok(UpdateBatch { queued })
    }

    /// Starts an update of a container or (`service`) a swarm service, by `by`, taking
    /// `pin` when given, and waits for its end; its record then.
    async fn start_waited(
        &self,
        on: &EngineContext,
        update: &ImageUpdate,
        service: bool,
        pin: Option<String>,
        by: &str,
    ) -> Result<UpdateRun, Error> {
        let id = update.container_id.as_str();
        let subject = match service {
            false => {
                let mut prepared = self.prepare(on, id).await?;
                prepared.pin = pin;
                runs::Subject::Container(Box::new(prepared))
            }
            true => {
                let mut target = self.prepare_service(on, id).await?;
                target.pin = pin;
                runs::Subject::Service(Box::new(target))
            }
        };
        let (ended, wait) = tokio::sync::oneshot::channel();
        let (engine, waits) = (on.engine.clone(), self.waits);
        let run = self
            .runs
            .start(on.name.clone(), engine, subject, waits, by, Some(ended))
            .await?;
        tracing::info!(engine = %on.name, container = update.container, run = run.n, by, "image update");
        let _ = wait.await;
        Ok(self.runs.get(&on.name, run.n).await.unwrap_or(run))
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

    /// One check, its failure logged (the findings keep what they had); automatic updates
    /// look at what it found.
    async fn run(&self, on: &EngineContext, scope: Scope) {
        let state = self.state(on);
        let checked = match self.policies.rules(&on.name).await {
            Ok(rules) => {
                let memory = (&self.seen, &self.clock);
                let logins = self.logins.opened(on.engine.endpoint()).await;
                let known = (&rules, &logins);
                check::run(&on.engine, &self.pacer, state, memory, known, scope).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = checked {
            tracing::debug!(engine = %on.name, "image update check: {e}");
        }
        self.auto_wake.notify_one();
    }

    /// Automatic updates, for Berth's life: a pass over every engine that has something
    /// found, each time a check ends, a policy changes, the clock moves or an update found
    /// earlier becomes due; asleep otherwise (nothing to do costs nothing).
    async fn automatic(self: Arc<Self>) {
        let mut due: Option<i64> = None;
        loop {
            let sleep = due.map(|at| Duration::from_millis((at - self.clock.now()).max(0) as u64));
            tokio::select! {
                () = async { tokio::time::sleep(sleep.unwrap_or_default()).await }, if sleep.is_some() => {}
                () = self.auto_wake.notified() => {}
                () = self.clock.moved.notified() => {}
                () = self.shutdown.cancelled() => return,
            }
            due = tokio::select! {
                due = self.auto_pass() => due,
                () = self.shutdown.cancelled() => return,
            };
        }
    }

    /// Updates, one at a time, each container of each engine whose automatic update is
    /// due; answers when the next one is (clock ms).
    async fn auto_pass(&self) -> Option<i64> {
        let mut next: Option<i64> = None;
        let mut candidates = std::collections::HashSet::new();
        let mut listed = std::collections::HashSet::new();
        for on in self.engines.all() {
            if !self.state(on).has_answers() {
                continue;
            }
            let Ok(found) = self.list(on).await else {
                continue;
            };
            listed.insert(on.name.clone());
            let containers = found.containers.into_iter().map(|u| (false, u));
            for (service, update) in containers.chain(found.services.into_iter().map(|u| (true, u)))
            {
                let Some(digest) = update.available.clone() else {
                    continue;
                };
                let key = match service {
                    true => service_key(&update.container),
                    false => update.container.clone(),
                };
                let pair = (on.name.clone(), key, digest.clone());
                candidates.insert(pair.clone());
                // Without a time: not `auto`, a member of a project Berth does not keep, or
                // tried already.
                let Some(at) = update.auto_at else {
                    continue;
                };
                if at > self.clock.now() {
                    next = Some(next.map_or(at, |n| n.min(at)));
                    continue;
                }
                // Tried once it started (a refusal now, a stack busy, is looked at again).
                if self.auto_update(on, &update, service, digest).await {
                    self.tried.insert(pair);
                }
            }
        }
        self.tried.keep_only(&listed, &candidates);
        next
    }

    /// One automatic update of a container or (`service`) a swarm service, waited for;
    /// whether it started (a refusal, a swarm task or a stack's run going on, is logged).
    async fn auto_update(
        &self,
        on: &EngineContext,
        update: &ImageUpdate,
        service: bool,
        digest: String,
    ) -> bool {
        let name = update.container.as_str();
        let pin = Some(digest.clone());
        match self.start_waited(on, update, service, pin, auto::BY).await {
            Ok(ended) => {
                let outcome = ended.outcome.as_deref().unwrap_or("ended");
                let target = format!(
                    "{}/{name} ({} to {digest}, run {}): {outcome}",
                    on.name, ended.image, ended.n
                );
                let event = crate::accounts::audit::Event {
                    actor: auto::BY,
                    action: match service {
                        true => "service.image-update",
                        false => "container.update",
                    },
                    target: Some(&target),
                    address: None,
                    ok: ended.updated,
                };
                self.audit.record(event).await;
                true
            }
            Err(e) => {
                tracing::info!(engine = %on.name, container = name, "no automatic update: {e}");
                false
            }
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

/// An "update all" of one engine going on; the engine is free for the next when dropped,
/// however the batch ends.
struct Batch {
    updates: Arc<Updates>,
    engine: EngineName,
}

impl Batch {
    /// 409 while one of `engine` goes on.
    fn begin(updates: &Arc<Updates>, engine: &EngineName) -> Result<Self, Error> {
        let mut batches = updates.batches.lock().unwrap_or_else(|e| e.into_inner());
        if !batches.insert(engine.clone()) {
            return Err(Error::new(
                409,
                "an update of all is going on on this engine: wait for it",
            ));
        }
        Ok(Self {
            updates: updates.clone(),
            engine: engine.clone(),
        })
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        let mut batches = self
            .updates
            .batches
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        batches.remove(&self.engine);
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

/// Whether `container` is named as a task of `service` is: `SERVICE.SLOT.TASK` (or
/// `SERVICE.NODE.TASK` for a global service), the task's id 25 letters and digits.
fn is_task_of(container: &str, service: &str) -> bool {
    let rest = container
        .strip_prefix(service)
        .and_then(|r| r.strip_prefix('.'));
    let Some((slot, task)) = rest.and_then(|r| r.split_once('.')) else {
        return false;
    };
    !slot.is_empty()
        && slot.bytes().all(|b| b.is_ascii_alphanumeric())
        && task.len() == 25
        && task
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A service's key among the automatic updates tried (apart from a container's name).
fn service_key(name: &str) -> String {
    format!("service:{name}")
}

fn millis(d: Duration) -> i64 {
    d.as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::is_task_of;

    #[test]
    fn a_task_container_is_known_by_its_name() {
        let task = "web.1.k3j4h5g6f7d8s9a0q1w2e3r4t";
        assert!(is_task_of(task, "web"));
        assert!(is_task_of("web.x2y3z4.k3j4h5g6f7d8s9a0q1w2e3r4t", "web"));
        assert!(!is_task_of(task, "we"), "another service's prefix");
        assert!(!is_task_of("web.1", "web"));
        assert!(!is_task_of("web.1.short", "web"));
        assert!(!is_task_of("web-1", "web"));
    }
}
