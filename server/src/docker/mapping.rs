//! bollard's types mapped to the shared model (`app::model`), and the container look-up every
//! route and stream shares. Pure functions of what Docker answered, apart from `inspect`.

use super::engine::Engine;
use crate::error::Error;
use app::model::{
    self, COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, ContainerDetail, ContainerSummary, Mount,
    Port,
};
use bollard::{models, query_parameters::InspectContainerOptions};
use std::collections::HashMap;

/// Inspects a container by id, id prefix or name: 400 for a malformed reference, 404 for
/// an unknown one, 503 while the engine is down.
pub async fn inspect(
    engine: &Engine,
    reference: &str,
) -> Result<models::ContainerInspectResponse, Error> {
    let path = super::path::path(super::path::Kind::Container, reference)?;
    engine
        .client()?
        .inspect_container(&path, None::<InspectContainerOptions>)
        .await
        .map_err(|e| match engine.error(e) {
            e if e.status() == 404 => Error::not_found(format!("no such container: {reference}")),
            e => e,
        })
}

/// Every container as Docker lists it, running or not (for what images, volumes and
/// networks say about their users).
pub async fn list_all(engine: &Engine) -> Result<Vec<models::ContainerSummary>, Error> {
    engine
        .client()?
        .list_containers(Some(bollard::query_parameters::ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .map_err(|e| engine.error(e))
}

/// A container's health as its list status says it (`Up 3 minutes (unhealthy)`):
/// `healthy`, `unhealthy`, `starting`, or empty without a health check.
pub fn health(status: &str) -> &'static str {
    ["unhealthy", "healthy", "health: starting"]
        .into_iter()
        .find(|h| status.contains(&format!("({h})")))
        .map_or("", |h| h.trim_start_matches("health: "))
}

/// A container as an image, a volume or a network names its users.
pub fn used_by(c: &models::ContainerSummary) -> app::resources::UsedBy {
    app::resources::UsedBy {
        id: c.id.clone().unwrap_or_default(),
        name: container_name(
            c.names
                .as_ref()
                .and_then(|n| n.first())
                .map(String::as_str)
                .unwrap_or_default(),
        ),
        state: text(c.state.as_ref()),
    }
}

/// A container name as people write it: Docker reports names with a leading `/`.
pub fn container_name(docker_name: &str) -> String {
    docker_name.trim_start_matches('/').to_string()
}

fn label(labels: Option<&HashMap<String, String>>, key: &str) -> Option<String> {
    labels.and_then(|l| l.get(key)).cloned()
}

/// An optional Docker enum or value as text, empty when absent.
pub fn text(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

pub fn summary(c: models::ContainerSummary) -> ContainerSummary {
    let name = c
        .names
        .as_ref()
        .and_then(|names| names.first())
        .map(|n| container_name(n))
        .unwrap_or_default();
    let mut ports: Vec<Port> = c
        .ports
        .unwrap_or_default()
        .into_iter()
        .map(|p| Port {
            ip: p.ip,
            private_port: p.private_port,
            public_port: p.public_port,
            protocol: p.typ.map_or_else(|| "tcp".to_string(), |t| t.to_string()),
        })
        .collect();
    ports.sort_by_key(|p| (p.private_port, p.public_port, p.ip.clone()));
    ports.dedup();
    ContainerSummary {
        id: c.id.unwrap_or_default(),
        name,
        image: c.image.unwrap_or_default(),
        state: text(c.state),
        status: c.status.unwrap_or_default(),
        created: c.created.unwrap_or_default(),
        ports,
        project: label(c.labels.as_ref(), COMPOSE_PROJECT_LABEL),
        service: label(c.labels.as_ref(), COMPOSE_SERVICE_LABEL),
    }
}

pub fn detail(c: models::ContainerInspectResponse) -> ContainerDetail {
    let config = c.config.unwrap_or_default();
    let state = c.state.unwrap_or_default();
    let health = state.health.as_ref();
    let restart = c
        .host_config
        .and_then(|h| h.restart_policy)
        .unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    ContainerDetail {
        id: c.id.unwrap_or_default(),
        name: container_name(&c.name.unwrap_or_default()),
        image: config.image.unwrap_or_default(),
        state: text(state.status),
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code,
        created: c.created.unwrap_or_default(),
        started_at: state.started_at,
        finished_at: state.finished_at,
        entrypoint: config.entrypoint.unwrap_or_default(),
        command: config.cmd.unwrap_or_default(),
        working_dir: config.working_dir.filter(|w| !w.is_empty()),
        env_names: config
            .env
            .unwrap_or_default()
            .iter()
            .map(|e| model::env_name(e).to_string())
            .collect(),
        mounts: c
            .mounts
            .unwrap_or_default()
            .into_iter()
            .map(|m| Mount {
                kind: text(m.typ),
                source: m
                    .name
                    .filter(|n| !n.is_empty())
                    .or(m.source)
                    .unwrap_or_default(),
                destination: m.destination.unwrap_or_default(),
                read_write: m.rw.unwrap_or(true),
            })
            .collect(),
        project: labels.get(COMPOSE_PROJECT_LABEL).cloned(),
        service: labels.get(COMPOSE_SERVICE_LABEL).cloned(),
        labels: labels.into_iter().collect(),
        restart_policy: restart
            .name
            .map(|n| n.to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "no".into()),
        restart_max_retries: restart.maximum_retry_count,
        restart_count: c.restart_count.unwrap_or_default(),
        health: health.and_then(|h| h.status).map(|s| s.to_string()),
        health_failing_streak: health.and_then(|h| h.failing_streak),
    }
}
