//! The JSON API under `/api`. Every answer is JSON; every error is an HTTP status with
//! `{"error": "..."}`.

use crate::{AppState, error::Error};
use app::api::SharedBackend;
use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, State},
    http::StatusCode,
    http::request::Parts,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;

type ApiResult<T> = Result<Json<T>, Error>;

/// A path parameter. A bad one (not UTF-8 once decoded, not the type asked for) is 400 JSON
/// like every other error; axum's own rejection is plain text.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e| Error::bad_request(e.body_text()))
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/dashboard", get(dashboard))
        .route("/containers", get(containers))
        .route("/containers/{id}", get(container))
        .route("/containers/{id}/stats", get(container_stats))
        .route("/projects", get(projects))
        .route("/projects/{name}", get(project))
        .route("/host", get(host))
        .fallback(|| async { Error::not_found("no such API endpoint") })
        .method_not_allowed_fallback(|| async { Error::new(405, "method not allowed") })
}

/// 200 when the engine answers, 503 when not; the body is the same [`app::model::Health`]
/// either way (it carries `error` when down).
async fn health(State(backend): State<SharedBackend>) -> Response {
    let health = backend.health().await;
    let status = if health.reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health)).into_response()
}

/// The backend speaks the shared crate's wire type (it also serves the pages).
fn json<T: Serialize>(result: Result<T, app::model::ApiError>) -> ApiResult<T> {
    result.map(Json).map_err(Error::from)
}

async fn dashboard(State(backend): State<SharedBackend>) -> ApiResult<app::model::Dashboard> {
    json(backend.dashboard().await)
}

async fn containers(
    State(backend): State<SharedBackend>,
) -> ApiResult<Vec<app::model::ContainerSummary>> {
    json(backend.containers().await)
}

async fn container(
    State(backend): State<SharedBackend>,
    PathParam(id): PathParam<String>,
) -> ApiResult<app::model::ContainerDetail> {
    json(backend.container(&id).await)
}

async fn projects(State(backend): State<SharedBackend>) -> ApiResult<Vec<app::model::Project>> {
    json(backend.projects().await)
}

async fn project(
    State(backend): State<SharedBackend>,
    PathParam(name): PathParam<String>,
) -> ApiResult<app::model::Project> {
    json(backend.project(&name).await)
}

async fn host(State(backend): State<SharedBackend>) -> ApiResult<app::frames::SystemStats> {
    json(backend.host().await)
}

/// The last stats sample streamed for the container in the last minute, or `null`.
async fn container_stats(
    State(backend): State<SharedBackend>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Option<app::frames::ContainerStats>> {
    json(backend.container_stats(&id).await)
}
