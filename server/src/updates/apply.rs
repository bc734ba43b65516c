//! Updating one container to the image its tag names now, without losing it: pull; make
//! the new container beside the old one (the old renamed, so the name is free); stop the
//! old; start the new and wait until it runs (and, with a health check, is healthy); only
//! then remove the old, never its volumes. On any failure after the old was stopped, the
//! new one is removed and the old one takes its name back and starts again. Each step is
//! said in a line of the update's output. [`prepare`] refuses at once what must not be
//! recreated; [`update`] does the rest, and at Berth's shutdown stops pulling or waiting
//! (rolling back what it changed) rather than leave a container half updated.

use super::{name::ImageName, recreate::recreated, through_stack::Member};
use crate::live::upstream::stack_run::Output;
use crate::{
    docker::{engine::Engine, mapping, own, path},
    error::Error,
    registry_logins::Login,
};
use app::{
    frames::LogStream,
    model::{COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL},
    refs::is_digest,
};
use bollard::{
    Docker,
    models::{ContainerInspectResponse, HealthStatusEnum, NetworkConnectRequest},
    query_parameters as q,
};
use futures::StreamExt;
use std::{collections::VecDeque, time::Duration};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a pull may take.
const PULL: Duration = Duration::from_secs(30 * 60);
/// How long a new container without a health check must keep running to count as up.
const SETTLE: Duration = Duration::from_secs(5);
/// How often the new container is looked at while waiting for it.
const LOOK: Duration = Duration::from_millis(500);
/// How long Docker gets to answer a stop beyond the container's own stop timeout.
const STOP_SLACK: Duration = Duration::from_secs(30);

/// Lines of output an update's record keeps.
const TAIL_LINES: usize = 200;

/// What an update did: the image ids before and after (the same: nothing to do), whether
/// it was rolled back, and its output (sent on as it comes, the last lines kept).
#[derive(Debug)]
pub struct Applied {
    pub from: String,
    pub to: String,
    pub updated: bool,
    pub rolled_back: Option<String>,
    /// The new container, once it took the name.
    pub new_id: Option<String>,
    /// Through its stack: the stack's run that did it.
    pub stack_run: Option<u64>,
    pub tail: VecDeque<String>,
    output: mpsc::Sender<Output>,
}

impl Applied {
    pub fn new(output: mpsc::Sender<Output>) -> Self {
        Self {
            from: String::new(),
            to: String::new(),
            updated: false,
            rolled_back: None,
            new_id: None,
            stack_run: None,
            tail: VecDeque::new(),
            output,
        }
    }

    /// A line to the viewers (dropped there if they are that far behind: an update says a
    /// few dozen) and to the record.
    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        let _ = self.output.try_send(Output::Line(LogStream::Stdout, line));
    }
}

/// The folder Compose ran a project's file in, as it labels each container.
const WORKING_DIR_LABEL: &str = "com.docker.compose.project.working_dir";

/// A container an update may recreate, as it was found.
pub struct Prepared {
    old: ContainerInspectResponse,
    pub id: String,
    pub name: String,
    pub image: String,
    tag: ImageName,
    /// The registry digest to take rather than whatever the tag names when the pull runs
    /// (an automatic update takes the digest whose age it checked).
    pub pin: Option<String>,
    /// A compose member: its project and service (it is updated through its stack).
    pub member: Option<Member>,
    /// The credentials stored for its registry, for the pull.
    pub login: Option<Login>,
}

impl Prepared {
    /// The registry its tag is pulled from.
    pub fn registry(&self) -> &str {
        &self.tag.registry
    }

    /// The tag it was made from.
    pub fn tag(&self) -> &ImageName {
        &self.tag
    }

    /// The id of the image it runs.
    pub fn image_id(&self) -> &str {
        self.old.image.as_deref().unwrap_or_default()
    }
}

/// How long a new container with a health check has to become healthy.
#[derive(Clone, Copy, Debug)]
pub struct Waits {
    pub healthy: Duration,
}

/// The container `reference` names, if it may be updated: 404 unknown, 400 malformed, 409
/// for Berth's own container, one not running, one run with `--rm`, a swarm task, a
/// container made from an image id or a digest. A compose member is prepared with its
/// project and service, for its stack to update.
pub async fn prepare(engine: &Engine, reference: &str) -> Result<Prepared, Error> {
    let old = mapping::inspect(engine, reference).await?;
    let id = old.id.clone().unwrap_or_default();
    let name = mapping::container_name(old.name.as_deref().unwrap_or_default());
    refuse(&old, &id)?;
    let image = old
        .config
        .as_ref()
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let tag = ImageName::parse(&image)
        .filter(|n| n.digest.is_none())
        .ok_or_else(|| {
            Error::new(
                409,
                format!("{name} runs {image}, which names no tag: there is nothing newer to take"),
            )
        })?;
    let labels = old.config.as_ref().and_then(|c| c.labels.as_ref());
    let label = |key: &str| labels.and_then(|l| l.get(key)).cloned();
    let member = match (label(COMPOSE_PROJECT_LABEL), label(COMPOSE_SERVICE_LABEL)) {
        (Some(stack), Some(service)) => Some(Member {
            stack,
            service,
            working_dir: label(WORKING_DIR_LABEL),
        }),
        (Some(project), None) => {
            return Err(Error::new(
                409,
                format!(
                    "a member of the compose project {project} without a service label: update it with compose"
                ),
            ));
        }
        _ => None,
    };
    Ok(Prepared {
        old,
        id,
        name,
        image,
        tag,
        pin: None,
        member,
        login: None,
    })
}

/// Updates a prepared container, saying each step in `applied`; `Err` when it stopped
/// before changing anything (the pull failed, the engine went away). From the rename on,
/// every failure (Berth's shutdown included) ends in the rollback.
pub async fn update(
    engine: &Engine,
    prepared: Prepared,
    waits: Waits,
    applied: &mut Applied,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
    let docker = engine.client()?;
    applied.from = prepared.image_id().to_string();
    pull_for(engine, &docker, &prepared, applied, shutdown).await?;
    let Prepared {
        old,
        id,
        name,
        image,
        ..
    } = prepared;
    let new_image = docker
        .inspect_image(&path::path(path::Kind::Image, &image)?)
        .await
        .map_err(|e| engine.error(e))?;
    applied.to = new_image.id.clone().unwrap_or_default();
    if applied.to == applied.from {
        applied.say(format!(
            "{name} already runs the newest {image}: nothing to do"
        ));
        return Ok(());
    }
    let old_image = docker
        .inspect_image(&path::path(path::Kind::Image, &applied.from)?)
        .await
        .ok()
        .and_then(|i| i.config);
    let made = recreated(&old, old_image.as_ref(), &image);
    // Every network is named as Docker's grammar allows before anything changes.
    let later = made
        .later
        .iter()
        .map(|(network, _)| path::path(path::Kind::Network, network))
        .collect::<Result<Vec<_>, _>>()?;
    let kept = format!("{name}-berth-old-{}", crate::accounts::now_ms() / 1000);
    let id_path = path::path(path::Kind::Container, &id)?;
    rename(engine, &docker, &id_path, &kept).await?;
    applied.say(format!("renamed the old container to {kept}"));
    let new_id = match create(engine, &docker, &name, made, &later).await {
        Ok(new_id) => new_id,
        Err(e) => {
            applied.say(format!("could not make the new container: {e}"));
            match rename(engine, &docker, &id_path, &name).await {
                Ok(()) => applied.say(format!("the old container is {name} again, untouched")),
                Err(e) => applied.say(format!(
                    "the old container could not take its name back ({e}): it runs as {kept}"
                )),
            }
            applied.rolled_back = Some(e.to_string());
            return Ok(());
        }
    };
    applied.say(format!(
        "made the new container {}",
        &new_id[..new_id.len().min(12)]
    ));
    let new_path = path::path(path::Kind::Container, &new_id)?;
    // Its own stop timeout (Docker's 10 s when it has none), and time for Docker to answer.
    let stop_secs = old.config.as_ref().and_then(|c| c.stop_timeout);
    let came_up = async {
        let stop = q::StopContainerOptions {
            signal: None,
            t: stop_secs.map(|t| t as i32),
        };
        let answer = Duration::from_secs(stop_secs.unwrap_or(10).max(0) as u64) + STOP_SLACK;
        docker
            .clone()
            .with_timeout(answer)
            .stop_container(&id_path, Some(stop))
            .await
            .map_err(|e| format!("the old container did not stop: {}", engine.error(e)))?;
        applied.say("stopped the old container");
        start_and_wait(engine, &docker, &new_path, waits, applied).await
    };
    let came_up = tokio::select! {
        up = came_up => up,
        () = shutdown.cancelled() => Err("Berth is shutting down".to_string()),
    };
    match came_up {
        Ok(()) => {
            match remove(&docker, &id_path).await {
                Ok(()) => applied.say(format!(
                    "removed the old container {kept} (its volumes stay)"
                )),
                Err(e) => applied.say(format!(
                    "the old container {kept} is stopped; removing it failed: {e}"
                )),
            }
            applied.updated = true;
            applied.new_id = Some(new_id);
        }
        Err(why) => {
            applied.say(format!("the new container did not come up: {why}"));
            roll_back(
                engine,
                &docker,
                (&id_path, &name, &kept),
                &new_path,
                applied,
            )
            .await;
            applied.rolled_back = Some(why);
        }
    }
    Ok(())
}

/// The new container removed, the old one under its name again and started (by its id,
/// whatever the rename did), each step said.
async fn roll_back(
    engine: &Engine,
    docker: &Docker,
    (old, name, kept): (&str, &str, &str),
    new: &str,
    applied: &mut Applied,
) {
    match remove(docker, new).await {
        Ok(()) => applied.say("removed the new container (its volumes stay)"),
        Err(e) => applied.say(format!("removing the new container failed: {e}")),
    }
    let renamed = rename(engine, docker, old, name).await;
    let started = docker
        .start_container(old, None::<q::StartContainerOptions>)
        .await
        .map_err(|e| engine.error(e));
    match (renamed, started) {
        (Ok(()), Ok(())) => applied.say(format!("rolled back: {name} runs its old image again")),
        (Err(e), Ok(())) => applied.say(format!(
            "rolled back: the old container runs its old image again, as {kept} (taking its name back failed: {e})"
        )),
        (_, Err(e)) => applied.say(format!("the rollback could not start the old container {kept}: {e}")),
    }
}

/// 409 for what this path must not recreate.
fn refuse(old: &ContainerInspectResponse, id: &str) -> Result<(), Error> {
    if own::container().is_some_and(|own| own == id) {
        return Err(Error::new(
            409,
            "Berth runs in this container: it will not recreate itself. Pull the new image \
             and recreate it by hand (docker pull IMAGE, then docker rm -f and docker run \
             with the same options, or docker compose up -d for its stack)",
        ));
    }
    let host = old.host_config.as_ref();
    if host.and_then(|h| h.auto_remove).unwrap_or(false) {
        return Err(Error::new(
            409,
            "it was run with --rm: Docker removes it when it stops, so it could not be rolled back",
        ));
    }
    if !old.state.as_ref().and_then(|s| s.running).unwrap_or(false) {
        return Err(Error::new(
            409,
            "it is not running: start it first (an update must see the new container come up)",
        ));
    }
    let labels = old.config.as_ref().and_then(|c| c.labels.as_ref());
    let label = |key: &str| labels.and_then(|l| l.get(key));
    if let Some(service) = label("com.docker.swarm.service.name") {
        return Err(Error::new(
            409,
            format!("a task of the swarm service {service}: update the service"),
        ));
    }
    Ok(())
}

/// Pulls what a prepared update takes (its pin, else its tag; see [`pull`]) within
/// [`PULL`], or stops at Berth's shutdown.
pub async fn pull_for(
    engine: &Engine,
    docker: &Docker,
    prepared: &Prepared,
    applied: &mut Applied,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
    let pulled = pull(
        engine,
        docker,
        (&prepared.tag, prepared.pin.as_deref()),
        prepared.login.as_ref(),
        applied,
    );
    tokio::select! {
        pulled = tokio::time::timeout(PULL, pulled) => pulled.map_err(|_| {
            Error::new(504, format!("the pull took more than {} min", PULL.as_secs() / 60))
        })?,
        () = shutdown.cancelled() => Err(Error::unavailable("Berth is shutting down")),
    }
}

/// Pulls the tag, or (`pin`) that digest of its repository, then names it by the tag;
/// says how it went in a line or two (not every layer's progress).
async fn pull(
    engine: &Engine,
    docker: &Docker,
    (tag, pin): (&ImageName, Option<&str>),
    login: Option<&Login>,
    applied: &mut Applied,
) -> Result<(), Error> {
    let reference = match pin {
        Some(digest) if is_digest(digest) => format!("{}@{digest}", tag.repository_key()),
        Some(digest) => return Err(Error::bad_request(format!("{digest:?} is not a digest"))),
        None => tag.tagged(),
    };
    applied.say(format!("pulling {reference}"));
    let options = q::CreateImageOptions {
        from_image: Some(reference.clone()),
        ..Default::default()
    };
    let docker = docker.clone().with_timeout(PULL);
    let mut progress = docker.create_image(Some(options), None, login.map(Login::credentials));
    while let Some(item) = progress.next().await {
        let info = item.map_err(|e| engine.error(e))?;
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            applied.say(format!("the pull failed: {error}"));
            return Err(Error::new(
                502,
                format!("pull of {reference} failed: {error}"),
            ));
        }
        // Per-layer lines carry an id; the pull's own (digest, status) do not.
        if let (None, Some(status)) = (info.id, info.status) {
            applied.say(status);
        }
    }
    if pin.is_some() {
        retag(engine, &docker, &reference, tag).await?;
        applied.say(format!("tagged it {}", tag.tagged()));
    }
    Ok(())
}

async fn rename(engine: &Engine, docker: &Docker, id: &str, name: &str) -> Result<(), Error> {
    docker
        .rename_container(
            id,
            q::RenameContainerOptions {
                name: name.to_string(),
            },
        )
        .await
        .map_err(|e| engine.error(e))
}

/// Creates the container and connects it to its other networks; a failure removes it.
async fn create(
    engine: &Engine,
    docker: &Docker,
    name: &str,
    made: super::recreate::Recreated,
    networks: &[String],
) -> Result<String, Error> {
    let options = q::CreateContainerOptions {
        name: Some(name.to_string()),
        platform: String::new(),
    };
    let created = docker
        .create_container(Some(options), made.body)
        .await
        .map_err(|e| engine.error(e))?;
    for ((_, endpoint), network_path) in made.later.into_iter().zip(networks) {
        let connect = NetworkConnectRequest {
            container: created.id.clone(),
            endpoint_config: Some(endpoint),
        };
        if let Err(e) = docker.connect_network(network_path, connect).await {
            // Its id is Docker's own hex: a path as it is.
            let _ = remove(docker, &created.id).await;
            return Err(engine.error(e));
        }
    }
    Ok(created.id)
}

/// Removes a container, never its volumes.
async fn remove(docker: &Docker, id: &str) -> Result<(), String> {
    let options = q::RemoveContainerOptions {
        v: false,
        force: true,
        link: false,
    };
    docker
        .remove_container(id, Some(options))
        .await
        .map_err(|e| e.to_string())
}

/// Names image `id` (or a reference) by `tag`: a pinned pull's last step, and a
/// rollback's first on a stack's member.
pub async fn retag(
    engine: &Engine,
    docker: &Docker,
    id: &str,
    tag: &ImageName,
) -> Result<(), Error> {
    let options = q::TagImageOptions {
        repo: Some(tag.repository_key()),
        tag: Some(tag.tag.clone()),
    };
    docker
        .tag_image(&path::path(path::Kind::Image, id)?, Some(options))
        .await
        .map_err(|e| engine.error(e))
}

/// Starts the new container and waits until it is up (see [`wait_up`]).
async fn start_and_wait(
    engine: &Engine,
    docker: &Docker,
    id: &str,
    waits: Waits,
    applied: &mut Applied,
) -> Result<(), String> {
    docker
        .start_container(id, None::<q::StartContainerOptions>)
        .await
        .map_err(|e| engine.error(e).to_string())?;
    applied.say("started the new container");
    wait_up(engine, docker, id, waits, applied).await
}

/// Waits until a started container is up: healthy within `waits.healthy` when it has a
/// health check, else still running (not restarted) after [`SETTLE`]; why not, else.
pub async fn wait_up(
    engine: &Engine,
    docker: &Docker,
    id: &str,
    waits: Waits,
    applied: &mut Applied,
) -> Result<(), String> {
    let first = docker
        .inspect_container(id, None::<q::InspectContainerOptions>)
        .await
        .map_err(|e| engine.error(e).to_string())?;
    let checked = first
        .config
        .as_ref()
        .and_then(|c| c.healthcheck.as_ref())
        .and_then(|h| h.test.as_ref())
        .is_some_and(|test| test.first().is_some_and(|t| t != "NONE"));
    // A new container: any restart at all (or one under way) is a failure to come up.
    let restarts = 0;
    let wait = if checked { waits.healthy } else { SETTLE };
    if checked {
        applied.say(format!(
            "waiting up to {} s for it to be healthy",
            wait.as_secs()
        ));
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::time::sleep(LOOK).await;
        let now = docker
            .inspect_container(id, None::<q::InspectContainerOptions>)
            .await
            .map_err(|e| engine.error(e).to_string())?;
        let state = now.state.clone().unwrap_or_default();
        let restarting = state.restarting.unwrap_or(false);
        if !state.running.unwrap_or(false)
            || restarting
            || now.restart_count.unwrap_or(0) > restarts
        {
            return Err(format!(
                "it stopped (exit code {})",
                state.exit_code.unwrap_or_default()
            ));
        }
        let health = state.health.and_then(|h| h.status);
        match health {
            Some(HealthStatusEnum::HEALTHY) if checked => {
                applied.say("it is healthy");
                return Ok(());
            }
            Some(HealthStatusEnum::UNHEALTHY) if checked => {
                return Err("its health check failed".into());
            }
            _ => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return match checked {
                true => Err(format!("not healthy within {} s", wait.as_secs())),
                false => {
                    applied.say(format!("it has run for {} s", SETTLE.as_secs()));
                    Ok(())
                }
            };
        }
    }
}
