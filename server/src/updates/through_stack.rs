//! A compose member's update, through its stack: Compose stays the owner of its containers
//! (Berth recreating one behind its back would leave a container Compose makes again at the
//! next `up`), so the update is a run of the stack, `pull` then `up -d` of the member's
//! service, followed from inside: its lines are the update's, and its record says how it
//! went. An automatic update pulls the digest whose age it counted itself (tagged as the
//! service names it), then asks the stack for `up -d` alone, so Compose does not pull a
//! newer one (unless the stack's file now names another tag, or `pull_policy: always`);
//! likewise when Berth holds credentials for the image's registry (its own pull uses them).
//! Compose removes the old container; a new one that does not come up (unhealthy, or
//! stopped) is rolled back by Compose too: the old image, which Berth keeps under a name
//! of its own meanwhile, takes the tag back and the stack's `up -d` makes the member
//! again from it.

use super::apply::{self, Applied, Prepared, Waits};
use crate::{
    docker::{EngineName, engine::Engine, mapping, path},
    error::Error,
    live::upstream::stack_run::Output,
    stacks::{Follower, Stacks},
};
use app::model::{RunOptions, StackAction};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A compose member's project (a stack Berth keeps) and service.
#[derive(Clone, Debug)]
pub struct Member {
    pub stack: String,
    pub service: String,
    /// Compose's `working_dir` label: the project's folder.
    pub working_dir: Option<String>,
}

/// Updates a prepared member through its stack, saying each step in `applied`; `Err` when
/// the stack's run could not start or did not end well. The new container must come up
/// as a container's update requires (healthy, or still running after a while); when it
/// does not, the old image takes the tag back and a second run of the stack (`up -d`)
/// makes the member again from it.
pub async fn update(
    stacks: &Arc<Stacks>,
    on: (&EngineName, &Arc<Engine>),
    prepared: Prepared,
    member: &Member,
    (by, waits): (&str, Waits),
    applied: &mut Applied,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
    let engine = on.1;
    let docker = engine.client()?;
    // Berth pulls itself what it pinned, and what needs the credentials it holds (the
    // stack's own pull would use the Docker CLI's logins); then `up -d` alone.
    applied.from = prepared.image_id().to_string();
    if prepared.pin.is_some() || prepared.login.is_some() {
        apply::pull_for(engine, &docker, &prepared, applied, shutdown).await?;
    }
    let stack = Stack {
        stacks,
        on,
        member,
        by,
    };
    // The old image keeps a name of Berth's while the update goes on: once Compose removed
    // the old container, nothing else holds it, and a prune would take the rollback's image.
    let keep = Kept::new(engine, &docker, &prepared).await;
    let result = update_kept(&stack, &docker, &prepared, waits, applied, shutdown).await;
    keep.release(&docker).await;
    result
}

/// [`update`] from the stack's first run on.
async fn update_kept(
    stack: &Stack<'_>,
    docker: &bollard::Docker,
    prepared: &Prepared,
    waits: Waits,
    applied: &mut Applied,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
    let (engine, name) = (stack.on.1, prepared.name.as_str());
    let action = match prepared.pin.is_some() || prepared.login.is_some() {
        true => StackAction::Deploy,
        false => StackAction::Pull,
    };
    // What runs under the name after the run, however it ended: `up -d` may have replaced
    // the member before it failed (a new container that would not start).
    let ran = stack.run(action, applied).await;
    let now = mapping::inspect(engine, name).await.ok();
    applied.to = now
        .as_ref()
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let made_from = now
        .as_ref()
        .and_then(|c| c.config.as_ref())
        .and_then(|c| c.image.clone());
    applied.new_id = now.and_then(|c| c.id).filter(|id| *id != prepared.id);
    if applied.to.is_empty() || applied.to == applied.from {
        ran?;
        applied.say(format!(
            "{name} already runs the newest {}: nothing to do",
            prepared.image
        ));
        return Ok(());
    }
    applied.say(format!("{name} runs the new image ({})", applied.to));
    let up = match &ran {
        Ok(()) => {
            let new = path::path(
                path::Kind::Container,
                applied.new_id.as_deref().unwrap_or(name),
            )?;
            tokio::select! {
                up = apply::wait_up(engine, docker, &new, waits, applied) => up,
                // Not known to be bad: left as it is, and said so.
                () = shutdown.cancelled() => {
                    return Err(Error::unavailable(format!(
                        "Berth stopped before {name} was seen to come up: it runs the new image"
                    )));
                }
            }
        }
        Err(e) => Err(format!("the stack's run failed ({e})")),
    };
    let why = match up {
        Ok(()) => {
            applied.updated = true;
            return Ok(());
        }
        Err(why) => why,
    };
    // Back: the old image is the tag's again, and Compose makes the member from it; only
    // when the stack's file names the tag the container was made from (else the tag moved
    // back would not be what Compose reads).
    applied.say(format!(
        "the new container did not come up ({why}): rolling back"
    ));
    if made_from.as_deref() != Some(prepared.image.as_str()) {
        return Err(Error::new(
            502,
            format!(
                "{why}; no rollback: the stack now names {}, not {}",
                made_from.unwrap_or_default(),
                prepared.image
            ),
        ));
    }
    let rolled = async {
        apply::retag(engine, docker, &applied.from, prepared.tag()).await?;
        applied.say(format!(
            "{} names the old image again",
            prepared.tag().tagged()
        ));
        stack.run(StackAction::Deploy, applied).await?;
        let now = mapping::inspect(engine, name).await?;
        match now.image.as_deref() == Some(applied.from.as_str()) {
            true => Ok(now.id),
            false => Err(Error::new(
                502,
                format!("the rollback's run left {name} on another image than its old one"),
            )),
        }
    };
    match rolled.await {
        Ok(_) => {
            applied.say(format!("rolled back: {name} runs its old image again"));
            applied.new_id = None;
            applied.rolled_back = Some(why);
            Ok(())
        }
        Err(e) => Err(Error::new(
            e.status(),
            format!("{why}; the rollback failed: {e}"),
        )),
    }
}

/// The old image under a name of Berth's (`berth-rollback/ID:old`) for an update's life.
struct Kept {
    reference: Option<String>,
}

impl Kept {
    async fn new(engine: &Engine, docker: &bollard::Docker, prepared: &Prepared) -> Self {
        let id = prepared.id.get(..12).unwrap_or(&prepared.id);
        let name = format!("berth-rollback/{id}");
        let tag = super::name::ImageName::parse(&format!("{name}:old"));
        let reference = match tag {
            Some(tag) => apply::retag(engine, docker, prepared.image_id(), &tag)
                .await
                .ok()
                .map(|()| tag.tagged()),
            None => None,
        };
        Self { reference }
    }

    /// Removes Berth's name (the image goes with it when nothing else holds it: after an
    /// update, the old one; after a rollback, nothing, the member runs it).
    async fn release(self, docker: &bollard::Docker) {
        let Some(reference) = self.reference else {
            return;
        };
        if let Ok(reference) = path::path(path::Kind::Image, &reference) {
            let options = bollard::query_parameters::RemoveImageOptions {
                noprune: true,
                ..Default::default()
            };
            let _ = docker.remove_image(&reference, Some(options), None).await;
        }
    }
}

/// A member's stack, for its runs.
struct Stack<'a> {
    stacks: &'a Arc<Stacks>,
    on: (&'a EngineName, &'a Arc<Engine>),
    member: &'a Member,
    by: &'a str,
}

impl Stack<'_> {
    /// Runs `action` on the member's service and follows it: its lines are the update's;
    /// `Err` unless it ended well.
    async fn run(&self, action: StackAction, applied: &mut Applied) -> Result<(), Error> {
        let member = self.member;
        let (lines, mut copied) = mpsc::channel(256);
        let (ended, record) = oneshot::channel();
        let options = RunOptions {
            service: Some(member.service.clone()),
            ..RunOptions::default()
        };
        let follower = Some(Follower { lines, ended });
        let n = self
            .stacks
            .run_followed(
                &member.stack,
                self.on,
                action,
                &options,
                (self.by, follower),
            )
            .await?;
        let steps = match action {
            StackAction::Deploy => format!("up -d {}", member.service),
            _ => format!("pull {0}, then up -d {0}", member.service),
        };
        // The first run is the update's (a rollback's is said in its lines).
        applied.stack_run.get_or_insert(n);
        applied.say(format!(
            "run {n} of the stack {} does {steps}",
            member.stack
        ));
        // The run stops at Berth's shutdown by itself (its own token), and its record
        // comes after its last line: every line is passed on before the end is read.
        tokio::pin!(record);
        let ended = loop {
            tokio::select! {
                biased;
                Some(line) = copied.recv() => {
                    if let Output::Line(_, text) = line {
                        applied.say(text);
                    }
                }
                ended = &mut record => break ended,
            }
        };
        while let Ok(Output::Line(_, text)) = copied.try_recv() {
            applied.say(text);
        }
        let ended = ended.map_err(|_| {
            Error::new(
                500,
                format!("run {n} of the stack {} left no record", member.stack),
            )
        })?;
        if ended.exit != Some(0) {
            let outcome = ended.outcome.unwrap_or_default();
            return Err(Error::new(
                502,
                format!("run {n} of the stack {} ended: {outcome}", member.stack),
            ));
        }
        Ok(())
    }
}
