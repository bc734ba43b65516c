//! Images, volumes, networks and disk usage over the JSON API (issue 13), per engine like the
//! container routes: reading needs a viewer; creating, removing and pruning need an operator
//! (the [`Actor`]) and go to the audit log as `image.remove`, `volume.prune` and so on, with
//! the engine, the target and whether it worked.

use super::{ApiResult, json};
use crate::http::extract::{AppJson, AppQuery};
use crate::{
    docker::{images, networks, volumes},
    engines::EngineContext,
    error::Error,
    http::{
        AppState,
        api::actions::Actor,
        extract::{OnEngine, PathParam},
    },
};
use app::{
    api::Backend,
    resources::{
        EngineDisk, ImageDetail, ImageSummary, NetworkSummary, NewVolume, Objects, Pruned,
        RemoveOptions, VolumeSummary,
    },
};
use axum::{
    Json, Router,
    http::StatusCode,
    routing::{get, post},
};
use serde::Deserialize;

/// The engine-scoped routes (under `/api` and `/api/engines/{engine}`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images", get(image_list))
        .route("/images/prune", post(prune_images))
        // An image's reference holds `/`: the route takes the rest of the path.
        .route("/images/{*reference}", get(image).delete(remove_image))
        .route("/volumes", get(volume_list).post(create_volume))
        .route("/volumes/prune", post(prune_volumes))
        .route("/volumes/{id}", get(volume).delete(remove_volume))
        .route("/networks", get(network_list))
        .route("/networks/prune", post(prune_networks))
        .route("/networks/{id}", get(network).delete(remove_network))
        .route("/system/df", get(disk_usage))
}

/// `{id}` of an object route: a volume name, a network id or name.
#[derive(Deserialize)]
struct ObjectRef {
    id: String,
}

/// `{*reference}` of an image route.
#[derive(Deserialize)]
struct ImageRef {
    reference: String,
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
    let target = match result {
        Ok(_) => format!("{}/{target}", on.name),
        Err(e) => format!("{}/{target}: {}", on.name, e.status()),
    };
    actor
        .record(&format!("{}.{action}", kind.one()), &target, result.is_ok())
        .await;
}

async fn image_list(OnEngine(on): OnEngine) -> ApiResult<Vec<ImageSummary>> {
    json(on.inventory.images().await)
}

async fn image(
    OnEngine(on): OnEngine,
    PathParam(ImageRef { reference }): PathParam<ImageRef>,
) -> ApiResult<ImageDetail> {
    json(on.inventory.image(&reference).await)
}

async fn volume_list(OnEngine(on): OnEngine) -> ApiResult<Vec<VolumeSummary>> {
    json(on.inventory.volumes().await)
}

async fn volume(
    OnEngine(on): OnEngine,
    PathParam(ObjectRef { id }): PathParam<ObjectRef>,
) -> ApiResult<VolumeSummary> {
    json(on.inventory.volume(&id).await)
}

async fn network_list(OnEngine(on): OnEngine) -> ApiResult<Vec<NetworkSummary>> {
    json(on.inventory.networks().await)
}

async fn network(
    OnEngine(on): OnEngine,
    PathParam(ObjectRef { id }): PathParam<ObjectRef>,
) -> ApiResult<NetworkSummary> {
    json(on.inventory.network(&id).await)
}

async fn disk_usage(OnEngine(on): OnEngine) -> ApiResult<EngineDisk> {
    json(on.inventory.disk().await)
}

/// `DELETE /api/images/{reference}?force=`: 204, or 409 with Docker's message while in use.
async fn remove_image(
    OnEngine(on): OnEngine,
    actor: Actor,
    PathParam(ImageRef { reference: id }): PathParam<ImageRef>,
    AppQuery(options): AppQuery<RemoveOptions>,
) -> Result<StatusCode, Error> {
    let result = images::remove(&on.engine, &id, options.force.unwrap_or(false)).await;
    audit(&actor, &on, Objects::Images, "remove", &id, &result).await;
    result.map(|()| StatusCode::NO_CONTENT)
}

async fn prune_images(OnEngine(on): OnEngine, actor: Actor) -> ApiResult<Pruned> {
    let result = images::prune(&on.engine).await;
    audit(&actor, &on, Objects::Images, "prune", "dangling", &result).await;
    result.map(Json)
}

/// `POST /api/volumes` with `{name?, driver?, labels?}`: 201 with the volume.
async fn create_volume(
    OnEngine(on): OnEngine,
    actor: Actor,
    AppJson(new): AppJson<NewVolume>,
) -> Result<(StatusCode, Json<VolumeSummary>), Error> {
    let result = volumes::create(&on.engine, &new).await;
    let name = match &result {
        Ok(volume) => volume.name.clone(),
        Err(_) => new.name.clone().unwrap_or_default(),
    };
    audit(&actor, &on, Objects::Volumes, "create", &name, &result).await;
    result.map(|volume| (StatusCode::CREATED, Json(volume)))
}

async fn remove_volume(
    OnEngine(on): OnEngine,
    actor: Actor,
    PathParam(ObjectRef { id }): PathParam<ObjectRef>,
) -> Result<StatusCode, Error> {
    let result = volumes::remove(&on.engine, &id).await;
    audit(&actor, &on, Objects::Volumes, "remove", &id, &result).await;
    result.map(|()| StatusCode::NO_CONTENT)
}

async fn prune_volumes(OnEngine(on): OnEngine, actor: Actor) -> ApiResult<Pruned> {
    let result = volumes::prune(&on.engine).await;
    audit(&actor, &on, Objects::Volumes, "prune", "unused", &result).await;
    result.map(Json)
}

async fn remove_network(
    OnEngine(on): OnEngine,
    actor: Actor,
    PathParam(ObjectRef { id }): PathParam<ObjectRef>,
) -> Result<StatusCode, Error> {
    let result = networks::remove(&on.engine, &id).await;
    audit(&actor, &on, Objects::Networks, "remove", &id, &result).await;
    result.map(|()| StatusCode::NO_CONTENT)
}

async fn prune_networks(OnEngine(on): OnEngine, actor: Actor) -> ApiResult<Pruned> {
    let result = networks::prune(&on.engine).await;
    audit(&actor, &on, Objects::Networks, "prune", "unused", &result).await;
    result.map(Json)
}
