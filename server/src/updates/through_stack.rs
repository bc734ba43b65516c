//! A compose member's update, through its stack: Compose stays the owner of its containers
//! (Berth recreating one behind its back would leave a container Compose makes again at the
//! next `up`), so the update is a run of the stack, `pull` then `up -d` of the member's
//! service, followed from inside: its lines are the update's, and its record says how it
//! went. An automatic update pulls the digest whose age it counted itself (tagged as the
//! service names it), then asks the stack for `up -d` alone, so Compose does not pull a
//! newer one (unless the stack's file now names another tag, or `pull_policy: always`);
//! likewise when Berth holds credentials for the image's registry (its own pull uses them).
//! Compose removes the old container; a new one that does not come up (unhealthy, or
//! stopped) is rolled back by Compose too: the old image, which Berth keeps, takes the
//! tag back and the stack's `up -d` makes the member again from it.

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
    let name = prepared.name.clone();
    // Berth pulls itself what it pinned, and what needs the credentials it holds (the
    // stack's own pull would use the Docker CLI's logins); then `up -d` alone.
    let pinned = prepared.pin.is_some() || prepared.login.is_some();
    applied.from = prepared.image_id().to_string();
    let action = match pinned {
        true => {
            apply::pull_for(engine, &docker, &prepared, applied, shutdown).await?;
            StackAction::Deploy
        }
        false => StackAction::Pull,
    };
    let stack = Stack {
        stacks,
        on,
        member,
        by,
    };
    stack.run(action, applied).await?;
    // What runs under the name now.
    let now = mapping::inspect(engine, &name).await.ok();
    applied.to = now
        .as_ref()
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    applied.new_id = now.and_then(|c| c.id).filter(|id| *id != prepared.id);
    if applied.to.is_empty() || applied.to == applied.from {
        applied.say(format!(
            "{name} already runs the newest {}: nothing to do",
            prepared.image
        ));
        return Ok(());
    }
    applied.say(format!("{name} runs the new image ({})", applied.to));
    let new = path::path(
        path::Kind::Container,
        applied.new_id.as_deref().unwrap_or(&name),
    )?;
    let up = tokio::select! {
        up = apply::wait_up(engine, &docker, &new, waits, applied) => up,
        () = shutdown.cancelled() => Err("Berth is shutting down".to_string()),
    };
    let why = match up {
        Ok(()) => {
            applied.updated = true;
            return Ok(());
        }
        Err(why) => why,
    };
    // Back: the old image is the tag's again, and Compose makes the member from it.
    applied.say(format!(
        "the new container did not come up ({why}): rolling back"
    ));
    applied.rolled_back = Some(why);
    apply::retag(engine, &docker, &applied.from, prepared.tag()).await?;
    applied.say(format!(
        "{} names the old image again",
        prepared.tag().tagged()
    ));
    stack.run(StackAction::Deploy, applied).await?;
    let now = mapping::inspect(engine, &name).await?;
    applied.new_id = None;
    match now.image.as_deref() == Some(applied.from.as_str()) {
        true => {
            applied.say(format!("rolled back: {name} runs its old image again"));
            Ok(())
        }
        false => Err(Error::new(
            502,
            format!("the rollback's run left {name} on another image than its old one"),
        )),
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
