//! A compose member's update, through its stack: Compose stays the owner of its containers
//! (Berth recreating one behind its back would leave a container Compose makes again at the
//! next `up`), so the update is a run of the stack, `pull` then `up -d` of the member's
//! service, followed from inside: its lines are the update's, and its record says how it
//! went. An automatic update pulls the digest whose age it counted itself (tagged as the
//! service names it), then asks the stack for `up -d` alone, so Compose does not pull a
//! newer one (unless the stack's file now names another tag, or `pull_policy: always`);
//! likewise when Berth holds credentials for the image's registry (its own pull uses them).
//! Compose removes the old container: there is no rollback on this path.

use super::apply::{self, Applied, Prepared};
use crate::{
    docker::{EngineName, engine::Engine, mapping},
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
/// the stack's run could not start or did not end well.
pub async fn update(
    stacks: &Arc<Stacks>,
    (engine_name, engine): (&EngineName, &Arc<Engine>),
    prepared: Prepared,
    member: &Member,
    by: &str,
    applied: &mut Applied,
    shutdown: &CancellationToken,
) -> Result<(), Error> {
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
    let (lines, mut copied) = mpsc::channel(256);
    let (ended, record) = oneshot::channel();
    let options = RunOptions {
        service: Some(member.service.clone()),
        ..RunOptions::default()
    };
    let n = stacks
        .run_followed(
            &member.stack,
            (engine_name, engine),
            action,
            &options,
            (by, Some(Follower { lines, ended })),
        )
        .await?;
    applied.stack_run = Some(n);
    let steps = match action {
        StackAction::Deploy => format!("up -d {}", member.service),
        _ => format!("pull {0}, then up -d {0}", member.service),
    };
    applied.say(format!(
        "{name} is a member of the stack {}: its run {n} does {steps}",
        member.stack
    ));
    // The run stops at Berth's shutdown by itself (its own token), and its record comes
    // after its last line: every line is passed on before the end is read.
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
    // What runs under the name now, however the run ended (Compose may have replaced
    // the container before a later step failed).
    let now = mapping::inspect(engine, &name).await.ok();
    applied.to = now
        .as_ref()
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    applied.new_id = now.and_then(|c| c.id).filter(|id| *id != prepared.id);
    let outcome = ended.outcome.unwrap_or_default();
    if ended.exit != Some(0) {
        return Err(Error::new(
            502,
            format!("run {n} of the stack {} ended: {outcome}", member.stack),
        ));
    }
    if applied.to.is_empty() || applied.to == applied.from {
        applied.say(format!(
            "{name} already runs the newest {}: nothing to do",
            prepared.image
        ));
        return Ok(());
    }
    applied.updated = true;
    applied.say(format!("{name} runs the new image ({})", applied.to));
    Ok(())
}
