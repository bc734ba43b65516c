//! A swarm over the JSON API: its nodes and services read by viewers; replicas, image,
//! a forced redeploy, a rollback and a node's availability changed by operators, each
//! audited as `service.ACTION` or `node.availability` on `ENGINE/NAME` with the version
//! it made.

use super::mount::{Api, Call, Reading};
use crate::{
    docker::{swarm, swarm_changes},
    engines::EngineContext,
    error::Error,
    http::api::actions::Actor,
};
use app::model::{
    GetService, GetSwarm, RollbackService, ScaleService, ServiceChanged, ServiceDetail,
    SetNodeAvailability, Swarm, SwarmNode, UpdateService, validate_service_ref,
};

/// The swarm endpoints.
pub fn routes(api: Api) -> Api {
    api.read(get_swarm)
        .read(get_service)
        .call(scale)
        .call(update)
        .call(rollback)
        .call(availability)
}

/// The swarm the engine manages: `manager: false` (and empty lists) when it is none.
async fn get_swarm(r: Reading, GetSwarm {}: GetSwarm) -> Result<Swarm, Error> {
    let docker = r.on.engine.client()?;
    swarm::swarm(&docker)
        .await
        .map_err(|e| r.on.engine.error(e))
}

/// A swarm service by id, id prefix or name, and its tasks; 404 off a manager.
async fn get_service(r: Reading, GetService { id }: GetService) -> Result<ServiceDetail, Error> {
    validate_service_ref(&id)?;
    let docker = r.on.engine.client()?;
    swarm::service_detail(&docker, &id).await
}

async fn scale(actor: Actor, call: Call<ScaleService>) -> Result<ServiceChanged, Error> {
    let id = call.params.id;
    let result = swarm_changes::scale(&call.on.engine, &id, call.body).await;
    audit_service(&actor, &call.on, "scale", &id, &result).await;
    result
}

async fn update(actor: Actor, call: Call<UpdateService>) -> Result<ServiceChanged, Error> {
    let id = call.params.id;
    let result = swarm_changes::update(&call.on.engine, &id, call.body).await;
    audit_service(&actor, &call.on, "update", &id, &result).await;
    result
}

async fn rollback(actor: Actor, call: Call<RollbackService>) -> Result<ServiceChanged, Error> {
    let id = call.params.id;
    let result = swarm_changes::rollback(&call.on.engine, &id, call.query.version).await;
    audit_service(&actor, &call.on, "rollback", &id, &result).await;
    result
}

async fn availability(actor: Actor, call: Call<SetNodeAvailability>) -> Result<SwarmNode, Error> {
    let id = call.params.id;
    let to = call.body.availability.as_str();
    let result = swarm_changes::set_availability(&call.on.engine, &id, call.body).await;
    let target = match &result {
        Ok(node) => format!("{} {to} (version {})", node.hostname, node.version),
        Err(_) => format!("{id} {to}"),
    };
    actor
        .outcome("node.availability", &call.on, &target, &result)
        .await;
    result
}

/// `service.ACTION` on the service's name with the version the change made (the reference
/// asked, when it failed).
async fn audit_service(
    actor: &Actor,
    on: &EngineContext,
    action: &str,
    reference: &str,
    result: &Result<ServiceChanged, Error>,
) {
    let target = match result {
        Ok(changed) => format!(
            "{} (version {})",
            changed.service.name, changed.service.version
        ),
        Err(_) => reference.to_string(),
    };
    actor
        .outcome(&format!("service.{action}"), on, &target, result)
        .await;
}
