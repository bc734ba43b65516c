//! Images, volumes, networks and disk usage over the JSON API (issue 13), per engine like the
//! container routes: reading needs a viewer; creating, removing and pruning need an operator
//! (the [`Actor`]) and go to the audit log as `image.remove`, `volume.prune` and so on, with
//! the engine, the target and whether it worked.

use super::mount::{Api, Call, Reading};
use crate::{
    docker::{images, networks, volumes},
    engines::EngineContext,
    error::Error,
    http::api::actions::Actor,
};
use app::resources::{
    CreateVolume, GetDisk, GetImage, GetNetwork, GetVolume, ListImages, ListNetworks, ListVolumes,
    Objects, PruneImages, PruneNetworks, PruneVolumes, Pruned, RemoveImage, RemoveNetwork,
    RemoveVolume, VolumeSummary,
};

/// The endpoints of images, volumes, networks and disk usage.
pub fn routes(api: Api) -> Api {
    api.read(|r: Reading, ListImages {}| async move { images::list(&r.on.engine).await })
        .read(|r: Reading, GetImage { reference }| async move {
            images::detail(&r.on.engine, &reference).await
        })
        .read(|r: Reading, ListVolumes {}| async move {
            let raw = r.on.engine.logs_api()?;
            volumes::list(&r.on.engine, &raw).await
        })
        .read(|r: Reading, GetVolume { id }| async move {
            let raw = r.on.engine.logs_api()?;
            volumes::detail(&r.on.engine, &raw, &id).await
        })
        .read(|r: Reading, ListNetworks {}| async move { networks::list(&r.on.engine).await })
        .read(|r: Reading, GetNetwork { id }| async move {
            networks::detail(&r.on.engine, &id).await
        })
        .read(|r: Reading, GetDisk {}| async move {
            let raw = r.on.engine.logs_api()?;
            crate::docker::disk::usage(&r.on.engine, &raw).await
        })
        .call(remove_image)
        .call(prune_images)
        .call(create_volume)
        .call(remove_volume)
        .call(prune_volumes)
        .call(remove_network)
        .call(prune_networks)
}

/// Writes a change to the audit log as `KIND.ACTION` on `ENGINE/TARGET`, with its outcome.
async fn audit<T>(
    actor: &Actor,
    on: &EngineContext,
    kind: Objects,
    action: &str,
    target: &str,
    result: &Result<T, Error>,
) {
    let action = format!("{}.{action}", kind.one());
    actor.outcome(&action, on, target, result).await;
}

/// 204, or 409 with Docker's message while in use.
async fn remove_image(actor: Actor, call: Call<RemoveImage>) -> Result<(), Error> {
    let id = call.params.reference;
    let result = images::remove(&call.on.engine, &id, call.query.force.unwrap_or(false)).await;
    audit(&actor, &call.on, Objects::Images, "remove", &id, &result).await;
    result
}

async fn prune_images(actor: Actor, call: Call<PruneImages>) -> Result<Pruned, Error> {
    let result = images::prune(&call.on.engine).await;
    audit(
        &actor,
        &call.on,
        Objects::Images,
        "prune",
        "dangling",
        &result,
    )
    .await;
    result
}

/// `{name?, driver?, labels?}`: 201 with the volume.
async fn create_volume(actor: Actor, call: Call<CreateVolume>) -> Result<VolumeSummary, Error> {
    let new = call.body;
    let result = volumes::create(&call.on.engine, &new).await;
    let name = match &result {
        Ok(volume) => volume.name.clone(),
        Err(_) => new.name.clone().unwrap_or_default(),
    };
    audit(&actor, &call.on, Objects::Volumes, "create", &name, &result).await;
    result
}

async fn remove_volume(actor: Actor, call: Call<RemoveVolume>) -> Result<(), Error> {
    let id = call.params.id;
    let result = volumes::remove(&call.on.engine, &id).await;
    audit(&actor, &call.on, Objects::Volumes, "remove", &id, &result).await;
    result
}

async fn prune_volumes(actor: Actor, call: Call<PruneVolumes>) -> Result<Pruned, Error> {
    let result = volumes::prune(&call.on.engine).await;
    audit(
        &actor,
        &call.on,
        Objects::Volumes,
        "prune",
        "unused",
        &result,
    )
    .await;
    result
}

async fn remove_network(actor: Actor, call: Call<RemoveNetwork>) -> Result<(), Error> {
    let id = call.params.id;
    let result = networks::remove(&call.on.engine, &id).await;
    audit(&actor, &call.on, Objects::Networks, "remove", &id, &result).await;
    result
}

async fn prune_networks(actor: Actor, call: Call<PruneNetworks>) -> Result<Pruned, Error> {
    let result = networks::prune(&call.on.engine).await;
    audit(
        &actor,
        &call.on,
        Objects::Networks,
        "prune",
        "unused",
        &result,
    )
    .await;
    result
}
