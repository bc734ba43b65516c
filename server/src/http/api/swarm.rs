//! A swarm over the JSON API: its nodes, services, secrets and configs read by viewers;
//! replicas, image, a forced redeploy, a rollback, a node's availability and labels, and
//! secrets and configs made and removed by operators, each audited (`service.ACTION`,
//! `node.availability`, `node.labels`, `secret.create`…) on `ENGINE/NAME`, with the version
//! a change made. A secret's value is in no answer and no audit entry.

use super::mount::{Api, Call, Reading};
use crate::{
    docker::{
        swarm, swarm_changes,
        swarm_objects::{self, Which},
    },
    engines::EngineContext,
    error::Error,
    http::api::actions::Actor,
};
use app::model::{
    CreateConfig, CreateSecret, GetService, GetSwarm, ListConfigs, ListSecrets, RemoveConfig,
    RemoveSecret, RollbackService, ScaleService, ServiceChanged, ServiceDetail,
    SetNodeAvailability, SetNodeLabels, Swarm, SwarmNode, SwarmObject, UpdateService,
    validate_service_ref, validate_swarm_object_name,
};

/// The swarm endpoints.
pub fn routes(api: Api) -> Api {
    api.read(get_swarm)
        .read(get_service)
        .call(scale)
        .call(update)
        .call(rollback)
        .call(availability)
        .call(labels)
        .read(|r: Reading, ListSecrets {}| async move {
            swarm_objects::list(&r.on.engine, Which::Secret).await
        })
        .read(|r: Reading, ListConfigs {}| async move {
            swarm_objects::list(&r.on.engine, Which::Config).await
        })
        .call(create_secret)
        .call(create_config)
        .call(remove_secret)
        .call(remove_config)
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

async fn labels(actor: Actor, call: Call<SetNodeLabels>) -> Result<SwarmNode, Error> {
    let id = call.params.id;
    let keys: Vec<String> = (call.body.add.keys().map(|k| format!("+{k}")))
        .chain(call.body.remove.iter().map(|k| format!("-{k}")))
        .collect();
    let result = swarm_changes::set_labels(&call.on.engine, &id, call.body).await;
    let target = match &result {
        Ok(node) => format!(
            "{} {} (version {})",
            node.hostname,
            keys.join(" "),
            node.version
        ),
        Err(_) => format!("{id} {}", keys.join(" ")),
    };
    actor
        .outcome("node.labels", &call.on, &target, &result)
        .await;
    result
}

async fn create_secret(actor: Actor, call: Call<CreateSecret>) -> Result<SwarmObject, Error> {
    // The name alone is audited, and only a valid one (a value pasted in the name box is
    // not written down): the value goes to Docker and nowhere else.
    let name = audited_name(&call.body.name);
    let result = swarm_objects::create(&call.on.engine, Which::Secret, call.body).await;
    actor
        .outcome("secret.create", &call.on, &name, &result)
        .await;
    result
}

async fn create_config(actor: Actor, call: Call<CreateConfig>) -> Result<SwarmObject, Error> {
    let name = audited_name(&call.body.name);
    let result = swarm_objects::create(&call.on.engine, Which::Config, call.body).await;
    actor
        .outcome("config.create", &call.on, &name, &result)
        .await;
    result
}

async fn remove_secret(actor: Actor, call: Call<RemoveSecret>) -> Result<(), Error> {
    let id = call.params.id;
    let result = swarm_objects::remove(&call.on.engine, Which::Secret, &id).await;
    actor.outcome("secret.remove", &call.on, &id, &result).await;
    result
}

async fn remove_config(actor: Actor, call: Call<RemoveConfig>) -> Result<(), Error> {
    let id = call.params.id;
    let result = swarm_objects::remove(&call.on.engine, Which::Config, &id).await;
    actor.outcome("config.remove", &call.on, &id, &result).await;
    result
}

fn audited_name(name: &str) -> String {
    match validate_swarm_object_name(name) {
        Ok(()) => name.to_string(),
        Err(_) => "(an invalid name)".into(),
    }
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
