//! Image updates over the JSON API: what the checks found and the update runs, for
//! viewers; a check now (it makes requests to registries, which may limit them) and an
//! update, for operators.

use super::actions::Actor;
use super::mount::{Api, Call, Reading};
use crate::{docker::mapping::inspect, error::Error, updates::Scope};
use app::model::{
    CheckUpdates, GetUpdateRun, ListUpdatePolicies, ListUpdateRuns, ListUpdates, SetUpdatePolicy,
    UpdateAll, UpdateBatch, UpdateContainer, UpdateRun, UpdateServiceImage, Updates,
};

pub fn routes(api: Api) -> Api {
    api.read(|r: Reading, ListUpdates {}| async move { r.updates.list(&r.on).await })
        .call(check)
        .call(update)
        .call(update_service)
        .call(update_all)
        .read(|r: Reading, ListUpdateRuns {}| async move { r.updates.runs(&r.on).await })
        .read(|r: Reading, GetUpdateRun { n }| async move { r.updates.run_of(&r.on, n).await })
        .read(|r: Reading, ListUpdatePolicies {}| async move { r.updates.policies(&r.on).await })
        .call(set_policy)
}

/// Sets or removes the update policy of a container or a project; audited as
/// `update.policy` (`scope name=policy`).
async fn set_policy(actor: Actor, call: Call<SetUpdatePolicy>) -> Result<(), Error> {
    let rule = call.body;
    let result = call.state.updates.set_policy(&call.on, &rule).await;
    let policy = rule.policy.map_or("default", |p| p.as_str());
    let target = format!("{} {}={policy}", rule.scope.as_str(), rule.name);
    actor
        .outcome("update.policy", &call.on, &target, &result)
        .await;
    result
}

/// Starts an update of one container; audited as `container.update` when it starts (what
/// it did is in its run's record).
async fn update(actor: Actor, call: Call<UpdateContainer>) -> Result<UpdateRun, Error> {
    let id = call.params.id;
    let result = call.state.updates.update(&call.on, &id, actor.name()).await;
    actor
        .outcome("container.update", &call.on, &id, &result)
        .await;
    result
}

/// Starts updates of all that have one (or one project's), one after another; audited as
/// `update.all` (`PROJECT` or `*`, and how many were queued) when it starts.
async fn update_all(actor: Actor, call: Call<UpdateAll>) -> Result<UpdateBatch, Error> {
    let project = call.query.project.clone();
    let on = call.on.clone();
    let result = call
        .state
        .updates
        .update_all(on.clone(), project.clone(), actor.name())
        .await;
    let queued = result.as_ref().map_or(0, |b| b.queued.len());
    let target = format!("{} ({queued} queued)", project.as_deref().unwrap_or("*"));
    actor.outcome("update.all", &on, &target, &result).await;
    result
}

/// Starts an update of a swarm service's image; audited as `service.image-update` when it
/// starts (what it did is in its run's record).
async fn update_service(actor: Actor, call: Call<UpdateServiceImage>) -> Result<UpdateRun, Error> {
    let id = call.params.id;
    let updates = &call.state.updates;
    let result = updates.update_service(&call.on, &id, actor.name()).await;
    actor
        .outcome("service.image-update", &call.on, &id, &result)
        .await;
    result
}

/// Every running container's image and every swarm service's, or one container's or one
/// service's: 404 for an unknown one, 409 for a container that is not running (only
/// running containers are checked), 400 for both at once.
async fn check((): (), call: Call<CheckUpdates>) -> Result<Updates, Error> {
    let scope = match (&call.query.container, &call.query.service) {
        (None, None) => Scope::All,
        (Some(_), Some(_)) => {
            return Err(Error::bad_request(
                "check a container or a service, not both",
            ));
        }
        (None, Some(reference)) => {
            let docker = call.on.engine.client()?;
            let detail = crate::docker::swarm::service_detail(&docker, reference).await?;
            Scope::Service(detail.service.id)
        }
        (Some(reference), None) => {
            let container = inspect(&call.on.engine, reference).await?;
            let running = container.state.and_then(|s| s.running).unwrap_or(false);
            if !running {
                return Err(Error::new(
                    409,
                    format!("{reference} is not running: only running containers are checked"),
                ));
            }
            Scope::Container(container.id.unwrap_or_default())
        }
    };
    call.state.updates.check(call.on.clone(), scope).await
}
