//! `/ws/stacks/{name}/runs/{n}`: a stack's run, as the compose CLI prints it. While the run
//! goes on, the viewer joins its hub (never starts it: the run owns it) and gets everything
//! printed so far, then each line; once it has ended, its record is replayed (the lines it
//! kept, then how it ended).

use super::{Asking, Sockets, Upgrade, admit, forward, upgraded};
use crate::{
    error::Error,
    http::extract::{OnEngine, PathParam},
    live::{hub::HubKey, upstream::stack_run},
    stacks::Stacks,
};
use app::{frames::StreamKind, model::validate_stack_name};
use axum::{extract::State, response::Response};
use std::sync::Arc;

/// `{name}` and `{n}` of a run's stream.
#[derive(serde::Deserialize)]
pub struct RunRef {
    pub name: String,
    pub n: u64,
}

pub async fn open(
    State(sockets): State<Arc<Sockets>>,
    State(stacks): State<Arc<Stacks>>,
    OnEngine(on): OnEngine,
    PathParam(RunRef { name, n }): PathParam<RunRef>,
    asking: Asking,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    validate_stack_name(&name)?;
    // 404 for another engine's stack, for a stack or run that is not there.
    let owner = stacks.owner(&name).await?;
    crate::stacks::belongs(&name, owner.as_deref(), &sockets.engines, &on)?;
    let key = HubKey::StackRun {
        engine: on.name.clone(),
        stack: name.clone(),
        run: n,
    };
    if !sockets.registry.is_live(&key) && stacks.run_record(&name, n).await?.is_none() {
        return Err(Error::not_found(format!("no run {n} of the stack {name}")));
    }
    let admitted = admit(&sockets, asking, StreamKind::StackRun)?;
    let upgrade = upgraded(upgrade)?;
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        if let Some(subscription) = stacks.join_run(&key) {
            return subscription.into();
        }
        let ring = registry.config().ring;
        registry
            .subscribe(key, ring, move |publisher| async move {
                // Read now: a run that ended a moment ago has written its record by then.
                let run = stacks.run_record(&name, n).await.ok().flatten();
                stack_run::replay(run, format!("{name} run {n}"), publisher).await
            })
            .into()
    }))
}
