//! The JSON API under `/api`. Every answer is JSON; every error is an HTTP status with
//! `{"error": "..."}`. Here: containers, projects, engines; [`objects`]: images, volumes,
//! networks; [`actions`]: starting, stopping, removing… containers and projects;
//! [`signin`]: `/api/auth/*`; [`accounts`]: `/api/users`, `/api/tokens`, `/api/audit`.

pub mod accounts;
pub mod actions;
pub mod objects;
pub mod signin;

use crate::{
    accounts::sessions::Caller,
    error::Error,
    http::{
        AppState,
        extract::{OnEngine, PathParam},
    },
};
use app::{
    api::{Backend, EngineDirectory},
    model::{AllContainers, EngineInfo},
};
use axum::{
    Extension, Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

/// What a read answers: its JSON, or the error.
type ApiResult<T> = Result<Json<T>, Error>;

/// `/api`: Berth-wide routes, each engine's routes under `/engines/{engine}`, and the same
/// engine routes without the prefix for the default engine (the paths from before several
/// engines).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/host", get(host))
        .route("/engines", get(engines))
        .route("/all/containers", get(all_containers))
        .nest("/engines/{engine}", engine_routes())
        .merge(engine_routes())
        // No fallback of its own: a path no route has goes to the app's, behind the gate
        // (401 before sign-in, so nobody learns which API paths exist).
        .method_not_allowed_fallback(|| async { Error::new(405, "method not allowed") })
}

/// What one engine answers, whichever path names it.
fn engine_routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/dashboard", get(dashboard))
        .route("/containers", get(containers))
        .route(
            "/containers/{id}",
            get(container).delete(crate::http::api::actions::remove),
        )
        .route("/containers/{id}/stats", get(container_stats))
        .route("/projects", get(projects))
        .route("/projects/{name}", get(project))
        .route("/swarm", get(swarm))
        .route("/services/{id}", get(service))
        .merge(crate::http::api::actions::routes())
        .merge(crate::http::api::objects::routes())
}

/// `{id}` of a container route, with or without the engine prefix.
#[derive(Deserialize)]
pub struct ContainerRef {
    pub id: String,
}

/// `{id}` of a swarm service route (an id, id prefix or name).
#[derive(Deserialize)]
pub struct ServiceRef {
    pub id: String,
}

/// `{name}` of a project route, with or without the engine prefix.
#[derive(Deserialize)]
pub struct ProjectRef {
    pub name: String,
}

/// Every engine, the default one first, with its state now.
async fn engines(State(state): State<AppState>) -> Json<Vec<EngineInfo>> {
    Json(state.sockets.engines.engines().await)
}

/// Every container of every engine that answers within a few seconds, and the others named.
async fn all_containers(State(state): State<AppState>) -> Json<AllContainers> {
    Json(state.sockets.engines.all_containers().await)
}

/// 200 when the engine answers, 503 when not; the body is the same [`app::model::Health`]
/// either way (it carries `error` when down). Before sign-in it says only whether Berth and
/// its engine are up (an image's HEALTHCHECK asks it): nothing about the engine itself.
async fn health(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    OnEngine(on): OnEngine,
) -> Response {
    let mut health = on.inventory.health().await;
    let status = if health.reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    if state.auth.is_some() && caller.is_none() {
        health = app::model::Health {
            reachable: health.reachable,
            endpoint: String::new(),
            error: None,
            engine_version: None,
            api_version: None,
            berth_version: health.berth_version,
        };
    }
    (status, Json(health)).into_response()
}

/// The backend speaks the shared crate's wire type (it also serves the pages).
fn json<T>(result: Result<T, app::model::ApiError>) -> ApiResult<T> {
    result.map(Json).map_err(Error::from)
}

async fn dashboard(OnEngine(on): OnEngine) -> ApiResult<app::model::Dashboard> {
    json(on.inventory.dashboard().await)
}

async fn containers(OnEngine(on): OnEngine) -> ApiResult<Vec<app::model::ContainerSummary>> {
    json(on.inventory.containers().await)
}

async fn container(
    OnEngine(on): OnEngine,
    PathParam(ContainerRef { id }): PathParam<ContainerRef>,
) -> ApiResult<app::model::ContainerDetail> {
    json(on.inventory.container(&id).await)
}

async fn projects(OnEngine(on): OnEngine) -> ApiResult<Vec<app::model::Project>> {
    json(on.inventory.projects().await)
}

async fn project(
    OnEngine(on): OnEngine,
    PathParam(ProjectRef { name }): PathParam<ProjectRef>,
) -> ApiResult<app::model::Project> {
    json(on.inventory.project(&name).await)
}

/// The machine Berth runs on (the same through every engine's inventory).
async fn host(OnEngine(on): OnEngine) -> ApiResult<app::frames::SystemStats> {
    json(on.inventory.host().await)
}

/// The swarm the engine manages: `manager: false` (and empty lists) when it is none.
async fn swarm(OnEngine(on): OnEngine) -> ApiResult<app::model::Swarm> {
    json(on.inventory.swarm().await)
}

/// A swarm service by id, id prefix or name, and its tasks; 404 off a manager.
async fn service(
    OnEngine(on): OnEngine,
    PathParam(ServiceRef { id }): PathParam<ServiceRef>,
) -> ApiResult<app::model::ServiceDetail> {
    json(on.inventory.service(&id).await)
}

/// The last stats sample streamed for the container in the last minute, or `null`.
async fn container_stats(
    OnEngine(on): OnEngine,
    PathParam(ContainerRef { id }): PathParam<ContainerRef>,
) -> ApiResult<Option<app::frames::ContainerStats>> {
    json(on.inventory.container_stats(&id).await)
}
