//! A swarm service's image update. The swarm does the work, Berth writes one spec and
//! watches: the tag the service's spec names is resolved to the registry's digest now (or
//! the digest an automatic update counted), written into the spec as `name:tag@digest`
//! with the credentials stored for its registry (the nodes pull with them), and the
//! swarm's rolling update is followed, task by task, to its end. When it pauses on a
//! failed task (the swarm's default failure action), or does not end in time, Berth asks
//! the swarm to roll back to the previous spec and follows that; a service whose own
//! failure action is `rollback` is followed through the swarm's rollback.

use super::{
    apply::{Applied, Waits},
    name::ImageName,
};
use crate::{
    docker::{
        engine::Engine,
        path::{Kind, path},
        swarm::{self, task_name, without_digest},
        swarm_changes::{inspect, manager, name as service_name, rollback, write_error},
    },
    error::Error,
    registry_logins::Login,
};
use app::refs::is_digest;
use bollard::{
    Docker,
    models::{BollardDate, Service, ServiceUpdateStatusStateEnum as Status},
    query_parameters::UpdateServiceOptions,
};
use std::{collections::HashMap, time::Duration};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often the service is read while its update goes on.
const LOOK: Duration = Duration::from_secs(1);
/// How long a rolling update may take beyond the health wait: the nodes pull the image
/// within it.
const ROLLOUT: Duration = Duration::from_secs(30 * 60);
/// How long the swarm's rollback may take.
const ROLLBACK: Duration = Duration::from_secs(10 * 60);
/// How long a write may go without an update status before its tasks are looked at: the
/// swarm sets none when no task is to be replaced (no replicas, no eligible node).
const NO_STATUS: Duration = Duration::from_secs(15);

/// A service an update may change, as it was found.
pub struct Target {
    pub id: String,
    pub name: String,
    /// The reference its spec names, without the digest (as the spec writes it).
    pub image: String,
    tag: ImageName,
    /// The digest its spec pins now.
    current: Option<String>,
    /// The digest to take rather than whatever the tag names now.
    pub pin: Option<String>,
    /// The credentials stored for its registry, for the question and the nodes' pulls.
    pub login: Option<Login>,
    /// The swarm stack it belongs to (`com.docker.stack.namespace`), if any.
    pub namespace: Option<String>,
    /// That stack, when Berth keeps it: its runs and this update exclude each other.
    pub stack: Option<String>,
}

impl Target {
    /// The registry its tag is pulled from.
    pub fn registry(&self) -> &str {
        &self.tag.registry
    }

    /// Whether that registry is on loopback: each node's own, so the credentials written
    /// into the spec for the nodes would go to whatever listens there on each.
    pub fn on_loopback(&self) -> bool {
        self.tag.is_loopback()
    }
}

/// The service `reference` names (id, id prefix or name), if it may be updated: 404 when
/// the engine manages no swarm or has no such service, 409 on a worker, for a spec naming
/// an image id, or while the swarm rolls out a change of it.
pub async fn prepare(engine: &Engine, reference: &str) -> Result<Target, Error> {
    let docker = manager(engine).await?;
    let found = inspect(engine, &docker, reference).await?;
    let id = found.id.clone().unwrap_or_default();
    let name = service_name(&found);
    let image = spec_image(&found);
    let jobs = found.spec.as_ref().and_then(|s| s.mode.as_ref());
    if jobs.is_some_and(|m| m.replicated_job.is_some() || m.global_job.is_some()) {
        return Err(Error::new(
            409,
            format!("{name} is a job: it runs to completion, and a new run takes its image anew"),
        ));
    }
    let Some(mut tag) = ImageName::parse(&image) else {
        return Err(Error::new(
            409,
            format!("{name} runs {image}, which names no tag: there is nothing to follow"),
        ));
    };
    let current = tag.digest.take();
    let state = found.update_status.as_ref().and_then(|s| s.state);
    if matches!(state, Some(Status::UPDATING | Status::ROLLBACK_STARTED)) {
        return Err(Error::new(
            409,
            format!("the swarm is rolling out a change of {name}: wait for it"),
        ));
    }
    Ok(Target {
        id,
        name,
        image: without_digest(&image).to_string(),
        tag,
        current,
        pin: None,
        login: None,
        namespace: found
            .spec
            .as_ref()
            .and_then(|s| s.labels.as_ref())
            .and_then(|l| l.get(app::model::STACK_NAMESPACE_LABEL).cloned()),
        stack: None,
    })
}

/// Updates the service's image and follows the swarm to the end (see the module's
/// header); at Berth's shutdown it stops following (the swarm goes on by itself).
pub async fn update(
    engine: &Engine,
    target: Target,
    waits: Waits,
    applied: &mut Applied,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
    let docker = manager(engine).await?;
    let digest = match target.pin.clone() {
        Some(digest) if is_digest(&digest) => digest,
        Some(digest) => return Err(Error::bad_request(format!("{digest:?} is no digest"))),
        None => {
            applied.say(format!("asking the registry for {}", target.image));
            let login = target.login.as_ref();
            super::check::from_engine(engine, &docker, &target.tag, login)
                .await
                .map_err(|e| Error::new(502, format!("no digest for {}: {e}", target.image)))?
        }
    };
    applied.from = target.current.clone().unwrap_or_default();
    applied.to = digest.clone();
    if target.current.as_deref() == Some(digest.as_str()) {
        applied.say(format!("{} runs {digest} already", target.name));
        return Ok(());
    }
    // Read again: the version written with, and the update status the new one replaces;
    // a change made since the service was prepared is not written over.
    let found = inspect(engine, &docker, &target.id).await?;
    if without_digest(&spec_image(&found)) != target.image {
        return Err(Error::new(
            409,
            format!("{} changed meanwhile: read it again", target.name),
        ));
    }
    let before = started_at(&found);
    let mut spec = found.spec.clone().unwrap_or_default();
    let image = format!("{}@{digest}", target.image);
    let container = spec
        .task_template
        .get_or_insert_with(Default::default)
        .container_spec
        .get_or_insert_with(Default::default);
    container.image = Some(image.clone());
    let version = found.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    let version = i32::try_from(version)
        .map_err(|_| Error::new(502, "the service's version is out of range"))?;
    let credentials = target.login.as_ref().map(Login::credentials);
    let options = UpdateServiceOptions {
        version,
        ..Default::default()
    };
    let answer = docker
        .update_service(
            &path(Kind::Service, &target.id)?,
            spec,
            options,
            credentials,
        )
        .await
        .map_err(|e| write_error(engine, e))?;
    for warning in answer.warnings.unwrap_or_default() {
        applied.say(format!("the swarm warns: {warning}"));
    }
    applied.say(format!(
        "{}'s spec names {image}: the swarm rolls it out",
        target.name
    ));
    let mut watch = Watch::new(&docker, &target, before, &image);
    let deadline = Instant::now() + ROLLOUT + waits.healthy;
    let why = match watch.settle(false, deadline, applied, shutdown).await? {
        Settled::Done(Status::COMPLETED) => {
            watch.still_ours().await?;
            applied.updated = true;
            applied.say(format!("{} runs {digest}", target.name));
            return Ok(());
        }
        // The service's own failure action rolled it back: follow that to its end.
        Settled::Done(Status::ROLLBACK_STARTED | Status::ROLLBACK_COMPLETED) => {
            let why = watch.message.clone();
            applied.rolled_back = Some(why.clone());
            applied.say(format!("the swarm rolls {} back: {why}", target.name));
            let deadline = Instant::now() + ROLLBACK;
            return watch.rolled_back(deadline, applied, shutdown).await;
        }
        Settled::Done(Status::ROLLBACK_PAUSED) => {
            return Err(Error::new(
                502,
                format!(
                    "the swarm's own rollback of {} paused: {}",
                    target.name, watch.message
                ),
            ));
        }
        Settled::Done(state) => format!("the update {state}: {}", watch.message),
        Settled::TimedOut => format!(
            "the update did not end within {} s",
            (ROLLOUT + waits.healthy).as_secs()
        ),
    };
    // Berth rolls back its own change only, never one made over it meanwhile.
    watch.still_ours().await?;
    applied.say(format!("{why}; rolling back to the previous spec"));
    applied.rolled_back = Some(why);
    let before = started_at(&inspect(engine, &docker, &target.id).await?);
    rollback(engine, &target.id, None).await?;
    watch.before = before;
    watch
        .rolled_back(Instant::now() + ROLLBACK, applied, shutdown)
        .await
}

/// How the swarm's update (or rollback) stood when Berth stopped waiting.
enum Settled {
    /// In a state that is not `updating` (`rollback_started` included: the swarm rolls
    /// back by itself).
    Done(Status),
    TimedOut,
}

/// The service read again and again while the swarm changes it; what its tasks do is said
/// as it changes.
struct Watch<'a> {
    docker: &'a Docker,
    id: &'a str,
    name: &'a str,
    /// When the update status before Berth's write started: an older status is not this
    /// update's.
    before: Option<BollardDate>,
    /// The image Berth wrote.
    image: &'a str,
    /// The swarm's words on the last status read.
    message: String,
    /// Each task's last state said, by id.
    tasks: HashMap<String, String>,
}

impl<'a> Watch<'a> {
    fn new(
        docker: &'a Docker,
        target: &'a Target,
        before: Option<BollardDate>,
        image: &'a str,
    ) -> Self {
        Self {
            docker,
            id: &target.id,
            name: &target.name,
            before,
            image,
            message: String::new(),
            tasks: HashMap::new(),
        }
    }

    /// Reads the service until its update leaves `updating` (or `rollback_started` when
    /// following a rollback, with `rolling_back`), or `deadline`.
    async fn settle(
        &mut self,
        rolling_back: bool,
        deadline: Instant,
        applied: &mut Applied,
        shutdown: &CancellationToken,
    ) -> Result<Settled, Error> {
        let since = Instant::now();
        loop {
            // A failed read (a manager's leader changing) is read again; a service gone
            // is the end.
            let found = match self.read().await {
                Ok(found) => Some(found),
                Err(e) if e.status() == 404 => return Err(e),
                Err(e) => {
                    applied.say(format!("{e}; reading it again"));
                    None
                }
            };
            let on_image = self.say_tasks(applied).await;
            let Some(found) = found else {
                if Instant::now() >= deadline {
                    return Ok(Settled::TimedOut);
                }
                self.pause(shutdown).await?;
                continue;
            };
            let status = found.update_status.as_ref();
            let new = started_at(&found).is_some() && started_at(&found) != self.before;
            // No status a while after the write, and every task wanted runs the image
            // written (or there is none): the swarm had nothing to replace.
            if !new && !rolling_back && on_image && since.elapsed() >= NO_STATUS {
                applied.say("the swarm had no task to replace");
                return Ok(Settled::Done(Status::COMPLETED));
            }
            if let (true, Some(state)) = (new, status.and_then(|s| s.state)) {
                let message = status.and_then(|s| s.message.clone()).unwrap_or_default();
                if message != self.message && !message.is_empty() {
                    applied.say(format!("the swarm: {state}: {message}"));
                }
                self.message = message;
                let going = match rolling_back {
                    false => state == Status::UPDATING,
                    true => state == Status::ROLLBACK_STARTED,
                };
                if !going && state != Status::EMPTY {
                    return Ok(Settled::Done(state));
                }
            }
            if Instant::now() >= deadline {
                return Ok(Settled::TimedOut);
            }
            self.pause(shutdown).await?;
        }
    }

    /// The service as Docker has it now; 404 when it was removed.
    async fn read(&self) -> Result<Service, Error> {
        let found = self
            .docker
            .inspect_service(&path(Kind::Service, self.id)?, None)
            .await;
        found.map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => Error::not_found(format!("{} was removed meanwhile", self.name)),
            e => Error::new(502, format!("reading {}: {e}", self.name)),
        })
    }

    /// Waits a [`LOOK`]; an error at Berth's shutdown.
    async fn pause(&self, shutdown: &CancellationToken) -> Result<(), Error> {
        tokio::select! {
            () = tokio::time::sleep(LOOK) => Ok(()),
            () = shutdown.cancelled() => Err(Error::new(
                503,
                format!(
                    "Berth stopped while the swarm changed {}: the swarm goes on by itself \
                     (its update status says how it ends)",
                    self.name
                ),
            )),
        }
    }

    /// 409 when the spec no longer names the image Berth wrote: someone changed the
    /// service over this update, and what happens to it is theirs.
    async fn still_ours(&self) -> Result<(), Error> {
        let now = spec_image(&self.read().await?);
        match now == self.image {
            true => Ok(()),
            false => Err(Error::new(
                409,
                format!(
                    "{} was changed by someone else during the update (its spec names {now}): \
                     Berth leaves it as it is",
                    self.name
                ),
            )),
        }
    }

    /// Follows a rollback to its end: an error when it pauses or does not end in time.
    async fn rolled_back(
        &mut self,
        deadline: Instant,
        applied: &mut Applied,
        shutdown: &CancellationToken,
    ) -> Result<(), Error> {
        match self.settle(true, deadline, applied, shutdown).await? {
            Settled::Done(Status::ROLLBACK_COMPLETED) => {
                applied.say(format!("{} runs its previous spec again", self.name));
                Ok(())
            }
            Settled::Done(state) => Err(Error::new(
                502,
                format!("the rollback of {} {state}: {}", self.name, self.message),
            )),
            Settled::TimedOut => Err(Error::new(
                504,
                format!("the rollback of {} did not end in time", self.name),
            )),
        }
    }

    /// Says each task whose state changed since last read (a failed read says nothing:
    /// the service's own status decides); answers whether every task meant to run runs
    /// the image written.
    async fn say_tasks(&mut self, applied: &mut Applied) -> bool {
        let Ok(tasks) = swarm::tasks(self.docker, self.id).await else {
            return false;
        };
        let mut on_image = true;
        for task in tasks {
            let wanted = task.desired_state == Some(bollard::models::TaskState::RUNNING);
            let image = task.spec.as_ref().and_then(|s| s.container_spec.as_ref());
            if wanted && image.and_then(|c| c.image.as_deref()) != Some(self.image) {
                on_image = false;
            }
            let Some(id) = task.id.clone() else { continue };
            let status = task.status.clone().unwrap_or_default();
            let state = status.state.map(|s| s.to_string()).unwrap_or_default();
            let said = match status.err.as_deref().filter(|e| !e.is_empty()) {
                Some(err) => format!("{state} ({err})"),
                None => state,
            };
            if self.tasks.get(&id) != Some(&said) {
                applied.say(format!("task {}: {said}", task_name(self.name, &task)));
                self.tasks.insert(id, said);
            }
        }
        on_image
    }
}

fn started_at(service: &Service) -> Option<BollardDate> {
    service.update_status.as_ref()?.started_at.clone()
}

fn spec_image(service: &Service) -> String {
    service
        .spec
        .as_ref()
        .and_then(|s| s.task_template.as_ref())
        .and_then(|t| t.container_spec.as_ref())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}
