//! The JSON API under `/api`. Every answer is JSON; every error is an HTTP status with
//! `{"error": "..."}`. Every endpoint is declared in `app` and mounted through [`mount`].
//! Here: containers, projects, engines, health; [`objects`]: images, volumes,
//! networks; [`actions`]: starting, stopping, removing… containers and projects;
//! [`stacks`]: compose stacks' folders, files and versions; [`swarm`]: a swarm's nodes and
//! services, read and changed;
//! [`updates`]: image updates found and checked;
//! [`registries`]: credentials for private registries (admins);
//! [`alerts`]: alert channels, rules and history;
//! [`signin`]: `/api/auth/*`; [`accounts`]: `/api/users`, `/api/tokens`, `/api/audit`.

pub mod accounts;
pub mod actions;
pub mod alerts;
pub mod mount;
pub mod objects;
pub mod oidc;
pub mod registries;
pub mod second_factor;
pub mod signin;
pub mod stacks;
pub mod swarm;
pub mod updates;

use crate::{
    accounts::sessions::Caller,
    docker::mapping::{detail, inspect},
    engines::Engines,
    error::Error,
    http::{AppState, extract::OnEngine},
    live::upstream::system_stats,
};
use app::model::{
    ContainerDetail, ContainerSummary, Dashboard, GetContainer, GetContainerStats, GetDashboard,
    GetHost, GetProject, ListAllContainers, ListContainers, ListEngines, ListProjects, Project,
};
use axum::{
    Extension, Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use mount::{Api, Reading};
use std::sync::Arc;

/// `/api`: every declared endpoint (engine-wide ones for the default engine and under
/// `/engines/{engine}`), sign-in under `/api/auth`, and health; with the reads the
/// server-rendered pages ask.
pub fn routes(
    engines: Arc<Engines>,
    stacks: Arc<crate::stacks::Stacks>,
    updates: Arc<crate::updates::Updates>,
) -> (Router<AppState>, app::api::SharedReads) {
    let api = Api::default()
        .read(|r: Reading, ListEngines {}| async move { Ok(r.engines.engines().await) })
        .read(
            |r: Reading, ListAllContainers {}| async move { Ok(r.engines.all_containers().await) },
        )
        .read(host)
        .read(dashboard)
        .read(|r: Reading, ListContainers {}| async move { r.on.containers.containers().await })
        .read(container)
        .read(container_stats)
        .read(projects)
        .read(project);
    let api = alerts::routes(registries::routes(updates::routes(swarm::routes(
        stacks::routes(objects::routes(actions::routes(accounts::routes(
            second_factor::routes(api),
        )))),
    ))));
    let (router, reads) = api.finish(engines, stacks, updates);
    let router = router
        .route("/api/health", get(health))
        .route("/api/engines/{engine}/health", get(health))
        .nest("/api/auth", signin::routes().merge(oidc::routes()));
    (router, reads)
}

/// 200 when the engine answers, 503 when not; the body is the same [`app::model::Health`]
/// either way (it carries `error` when down). Before sign-in it says only whether Berth and
/// its engine are up (an image's HEALTHCHECK asks it): nothing about the engine itself.
async fn health(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    OnEngine(on): OnEngine,
) -> Response {
    let mut health = on.engine.health();
    let status = if health.reachable {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Someone who must set up a second factor first learns no more than a stranger.
    let vouched = caller.is_some_and(|Extension(c)| !c.second_factor_due);
    if state.auth.is_some() && !vouched {
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

/// The machine Berth runs on (the same whichever engine is named).
async fn host(r: Reading, GetHost {}: GetHost) -> Result<app::frames::SystemStats, Error> {
    system_stats::last_or_sample(&r.engines.host).await
}

async fn dashboard(r: Reading, GetDashboard {}: GetDashboard) -> Result<Dashboard, Error> {
    let engine = &r.on.engine;
    let docker = engine.client()?;
    let (info, containers) = tokio::join!(docker.info(), r.on.containers.containers());
    let info = info.map_err(|e| engine.error(e))?;
    let containers = containers?;
    let mut containers_by_state = std::collections::BTreeMap::new();
    for c in &containers {
        *containers_by_state.entry(c.state.clone()).or_insert(0) += 1;
    }
    Ok(Dashboard {
        engine_version: info.server_version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        host_name: info.name.unwrap_or_default(),
        operating_system: info.operating_system.unwrap_or_default(),
        cpus: info.ncpu.unwrap_or_default(),
        memory_bytes: info.mem_total.unwrap_or_default(),
        images: info.images.unwrap_or_default(),
        containers_total: containers.len() as u32,
        containers_by_state,
    })
}

async fn container(
    r: Reading,
    GetContainer { id }: GetContainer,
) -> Result<ContainerDetail, Error> {
    inspect(&r.on.engine, &id).await.map(detail)
}

/// The last stats sample streamed for the container in the last minute, or `null`.
async fn container_stats(
    r: Reading,
    GetContainerStats { id }: GetContainerStats,
) -> Result<Option<app::frames::ContainerStats>, Error> {
    let c = inspect(&r.on.engine, &id).await?;
    Ok(c.id.and_then(|id| r.on.container_stats.get(&id)))
}

async fn projects(r: Reading, ListProjects {}: ListProjects) -> Result<Vec<Project>, Error> {
    let containers: Vec<ContainerSummary> = r.on.containers.containers().await?;
    Ok(app::model::group_projects(containers))
}

/// 400 for a malformed name, 404 when no container carries it.
async fn project(r: Reading, GetProject { name }: GetProject) -> Result<Project, Error> {
    app::model::validate_project_name(&name)?;
    projects(r, ListProjects {})
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Error::not_found(format!("no such compose project: {name}")))
}
