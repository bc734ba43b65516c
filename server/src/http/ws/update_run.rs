//! `/ws/updates/runs/{n}`: an image update's steps. While the update goes on, the viewer
//! joins its hub (never starts it: the update owns it) and gets every step so far, then
//! each one; once it has ended, its record is replayed (its lines, then how it ended).

use super::{Asking, Sockets, Upgrade, admit, forward, upgraded};
use crate::{
    error::Error,
    http::extract::{OnEngine, PathParam},
    live::{hub::HubKey, upstream::stack_run},
    updates::Updates,
};
use app::frames::StreamKind;
use axum::{extract::State, response::Response};
use std::sync::Arc;

/// `{n}` of an update's stream.
#[derive(serde::Deserialize)]
pub struct RunRef {
    pub n: u64,
}

pub async fn open(
    State(sockets): State<Arc<Sockets>>,
    State(updates): State<Arc<Updates>>,
    OnEngine(on): OnEngine,
    PathParam(RunRef { n }): PathParam<RunRef>,
    asking: Asking,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    // 404 for a run this engine does not keep.
    let run = updates.run_of(&on, n).await?;
    let key = HubKey::UpdateRun {
        engine: on.name.clone(),
        run: n,
    };
    let admitted = admit(&sockets, asking, StreamKind::UpdateRun)?;
    let upgrade = upgraded(upgrade)?;
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        if let Some(subscription) = updates.join_run(&key) {
            return subscription.into();
        }
        let ring = registry.config().ring;
        registry
            .subscribe(key, ring, move |publisher| async move {
                // Read now: a run that ended a moment ago has its record by then.
                let run = updates.run_of(&on, n).await.unwrap_or(run);
                let origin = format!("update of {}", run.container);
                stack_run::replay_lines(run.tail, run.outcome, origin, publisher)
            })
            .into()
    }))
}
