//! Changes to a swarm: a service's replicas, its image or a forced redeploy, a rollback to
//! its previous spec, a node's availability and labels. Each is written with the object's version (the
//! one the page read when it sends one, else the one just read), so a change made elsewhere
//! in between is a 409 with Docker's words, never a silent overwrite. Only a manager takes
//! them: a worker answers 409 naming its managers.

use super::{
    engine::Engine,
    path::{Kind, path},
    swarm,
};
use crate::error::Error;
use app::model::{
    MAX_REPLICAS, NodeAvailability, NodeLabels, ServiceChanged, ServiceScale, ServiceUpdate,
    SwarmNode, validate_label,
};
use bollard::{
    Docker,
    errors::Error as DockerError,
    models::{NodeSpecAvailabilityEnum, Service, ServiceSpec},
    query_parameters::{InspectServiceOptions, UpdateNodeOptions, UpdateServiceOptions},
};

/// A service's new replicas: 400 outside 0..=1000, 409 for a global service or a job.
pub async fn scale(
    engine: &Engine,
    reference: &str,
    ask: ServiceScale,
) -> Result<ServiceChanged, Error> {
    if ask.replicas > MAX_REPLICAS {
        return Err(Error::bad_request(format!(
            "replicas must be 0 to {MAX_REPLICAS}, not {}",
            ask.replicas
        )));
    }
    let docker = manager(engine).await?;
    let found = inspect(engine, &docker, reference).await?;
    let mut spec = found.spec.clone().unwrap_or_default();
    let Some(replicated) = spec.mode.as_mut().and_then(|m| m.replicated.as_mut()) else {
        return Err(Error::new(
            409,
            format!(
                "{} is not a replicated service (a global one runs one task on each node; a job runs to completion): it has no replicas to set",
                name(&found)
            ),
        ));
    };
    replicated.replicas = Some(ask.replicas as i64);
    write(engine, &docker, &found, spec, ask.version, None, Vec::new()).await
}

/// A new image (its tag resolved to a digest when a registry answers, as `docker service
/// update` does) and/or a forced redeploy of the same spec.
pub async fn update(
    engine: &Engine,
    reference: &str,
    ask: ServiceUpdate,
) -> Result<ServiceChanged, Error> {
    let force = ask.force == Some(true);
    if let Some(image) = &ask.image {
        app::refs::check(Kind::Image, image)?;
    } else if !force {
        return Err(Error::bad_request(
            "nothing to change: give an image, or force a redeploy",
        ));
    }
    let docker = manager(engine).await?;
    let found = inspect(engine, &docker, reference).await?;
    let mut spec = found.spec.clone().unwrap_or_default();
    let template = spec.task_template.get_or_insert_with(Default::default);
    let mut warnings = Vec::new();
    if let Some(image) = &ask.image {
        let pinned = pinned(&docker, image, &mut warnings).await;
        template
            .container_spec
            .get_or_insert_with(Default::default)
            .image = Some(pinned);
    }
    if force {
        // Docker redeploys every task when this number changes, and only then.
        template.force_update = Some(template.force_update.unwrap_or(0).wrapping_add(1));
    }
    write(engine, &docker, &found, spec, ask.version, None, warnings).await
}

/// Back to the spec before the last update: 409 in Docker's words when it keeps none (a
/// service never changed since it was made).
pub async fn rollback(
    engine: &Engine,
    reference: &str,
    version: Option<u64>,
) -> Result<ServiceChanged, Error> {
    let docker = manager(engine).await?;
    let found = inspect(engine, &docker, reference).await?;
    // Docker ignores the spec sent with `rollback=previous`, but wants one.
    let spec = found.spec.clone().unwrap_or_default();
    write(
        engine,
        &docker,
        &found,
        spec,
        version,
        Some("previous"),
        Vec::new(),
    )
    .await
}

/// A node's availability, written with its version.
pub async fn set_availability(
    engine: &Engine,
    reference: &str,
    ask: NodeAvailability,
) -> Result<SwarmNode, Error> {
    let availability = match ask.availability {
        app::model::Availability::Active => NodeSpecAvailabilityEnum::ACTIVE,
        app::model::Availability::Pause => NodeSpecAvailabilityEnum::PAUSE,
        app::model::Availability::Drain => NodeSpecAvailabilityEnum::DRAIN,
    };
    change_node(engine, reference, ask.version, |spec| {
        spec.availability = Some(availability);
    })
    .await
}

/// Adds and removes a node's labels (each key and value checked first).
pub async fn set_labels(
    engine: &Engine,
    reference: &str,
    ask: NodeLabels,
) -> Result<SwarmNode, Error> {
    for (key, value) in &ask.add {
        validate_label(key, value)?;
    }
    for key in &ask.remove {
        validate_label(key, "")?;
    }
    if ask.add.is_empty() && ask.remove.is_empty() {
        return Err(Error::bad_request(
            "nothing to change: add or remove a label",
        ));
    }
    change_node(engine, reference, ask.version, |spec| {
        let labels = spec.labels.get_or_insert_with(Default::default);
        for key in &ask.remove {
            labels.remove(key);
        }
        labels.extend(ask.add.clone());
    })
    .await
}

/// Writes the node's spec as `change` leaves it, with its version; answers the node as
/// it then is.
async fn change_node(
    engine: &Engine,
    reference: &str,
    asked: Option<u64>,
    change: impl FnOnce(&mut bollard::models::NodeSpec),
) -> Result<SwarmNode, Error> {
    let docker = manager(engine).await?;
    let found = docker
        .inspect_node(&path(Kind::Node, reference)?)
        .await
        .map_err(|e| write_error(engine, e))?;
    let current = found.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    let version = sent_version(asked, current, "node")?;
    let id = found.id.clone().unwrap_or_default();
    let mut spec = found.spec.clone().unwrap_or_default();
    change(&mut spec);
    let version = i64::try_from(version)
        .map_err(|_| Error::new(502, "the node's version is out of range"))?;
    docker
        .update_node(
            &path(Kind::Node, &id)?,
            spec.clone(),
            UpdateNodeOptions { version },
        )
        .await
        .map_err(|e| write_error(engine, e))?;
    // The change is made: a failed read-back answers the node as it was sent.
    Ok(match docker.inspect_node(&path(Kind::Node, &id)?).await {
        Ok(now) => swarm::node(now),
        Err(_) => swarm::node(bollard::models::Node {
            spec: Some(spec),
            ..found
        }),
    })
}

/// The engine's client when it manages a swarm: 404 when it is in none, 409 naming the
/// managers when it is a worker.
pub(crate) async fn manager(engine: &Engine) -> Result<Docker, Error> {
    let docker = engine.client()?;
    let info = docker.info().await.map_err(|e| engine.error(e))?;
    let swarm = info.swarm.unwrap_or_default();
    if swarm.control_available == Some(true) {
        return Ok(docker);
    }
    let managers: Vec<String> = swarm
        .remote_managers
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.addr)
        .collect();
    match managers.is_empty() {
        true => Err(Error::not_found("this engine is in no swarm")),
        false => Err(Error::new(
            409,
            format!(
                "this engine is a swarm worker: a manager makes changes (at {})",
                managers.join(", ")
            ),
        )),
    }
}

/// The service `reference` names (id, id prefix or name), as Docker has it.
pub(crate) async fn inspect(
    engine: &Engine,
    docker: &Docker,
    reference: &str,
) -> Result<Service, Error> {
    docker
        .inspect_service(
            &path(Kind::Service, reference)?,
            None::<InspectServiceOptions>,
        )
        .await
        .map_err(|e| write_error(engine, e))
}

/// The service's name (its id when it has none).
pub(crate) fn name(service: &Service) -> String {
    service
        .spec
        .as_ref()
        .and_then(|s| s.name.clone())
        .or_else(|| service.id.clone())
        .unwrap_or_default()
}

/// The version to write with: the page's (409 at once when the object changed since),
/// else the one just read.
fn sent_version(asked: Option<u64>, current: u64, what: &str) -> Result<u64, Error> {
    match asked {
        Some(asked) if asked != current => Err(Error::new(
            409,
            format!(
                "the {what} changed since it was read (version {asked}, now {current}): read it again"
            ),
        )),
        _ => Ok(current),
    }
}

/// `image` pinned to the digest its registry gives (`name:tag@sha256:…`); as it is, with a
/// warning, when it names a digest already or no registry answers (an image built or
/// imported on the nodes).
async fn pinned(docker: &Docker, image: &str, warnings: &mut Vec<String>) -> String {
    if image.contains('@') || image.starts_with("sha256:") {
        return image.to_string();
    }
    let asked = match path(Kind::Image, image) {
        Ok(asked) => docker.inspect_registry_image(&asked, None).await,
        Err(e) => {
            warnings.push(e.to_string());
            return image.to_string();
        }
    };
    match asked.map(|d| d.descriptor.digest) {
        Ok(Some(digest)) => format!("{image}@{digest}"),
        Ok(None) => image.to_string(),
        Err(e) => {
            warnings.push(format!(
                "no registry gave a digest for {image} ({}): the nodes use the tag as it is",
                super::engine::describe(&e)
            ));
            image.to_string()
        }
    }
}

/// Writes `spec` over the service at the version the page read (or the one just read),
/// then reads the service again for the answer.
async fn write(
    engine: &Engine,
    docker: &Docker,
    found: &Service,
    spec: ServiceSpec,
    asked: Option<u64>,
    rollback: Option<&str>,
    mut warnings: Vec<String>,
) -> Result<ServiceChanged, Error> {
    let current = found.version.as_ref().and_then(|v| v.index).unwrap_or(0);
    let version = sent_version(asked, current, "service")?;
    let version = i32::try_from(version)
        .map_err(|_| Error::new(502, "the service's version is out of range"))?;
    let id = found.id.clone().unwrap_or_default();
    let answer = docker
        .update_service(
            &path(Kind::Service, &id)?,
            spec,
            UpdateServiceOptions {
                version,
                rollback: rollback.map(str::to_string),
                ..Default::default()
            },
            None,
        )
        .await
        .map_err(|e| write_error(engine, e))?;
    warnings.extend(answer.warnings.unwrap_or_default());
    // The change is made whatever happens next: a failed read-back is a warning, not an
    // error (the audit and the page must not say it failed).
    let service = match swarm::service_detail(docker, &id).await {
        Ok(detail) => detail.service,
        Err(e) => {
            warnings.push(format!(
                "the change was made; reading the service back failed: {e}"
            ));
            swarm::service(found.clone())
        }
    };
    Ok(ServiceChanged { service, warnings })
}

/// Docker's refusals in its own words: a write at an old version (409), a spec it rejects
/// (400), an object gone (404); the rest as any engine error.
pub(crate) fn write_error(engine: &Engine, error: DockerError) -> Error {
    match error {
        DockerError::DockerResponseServerError { message, .. }
            if message.contains("out of sequence") =>
        {
            Error::new(409, format!("changed meanwhile: {message}"))
        }
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } if status_code == 409
            || message.contains("previous spec")
            // A secret or config a service took up since Berth looked.
            || message.contains("is in use by") =>
        {
            Error::new(409, message)
        }
        DockerError::DockerResponseServerError {
            status_code: 400,
            message,
        } => Error::bad_request(message),
        other => engine.error(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_read_before_a_change_elsewhere_is_refused() {
        assert_eq!(sent_version(None, 7, "service").unwrap(), 7);
        assert_eq!(sent_version(Some(7), 7, "service").unwrap(), 7);
        let refused = sent_version(Some(6), 7, "service").unwrap_err();
        assert_eq!(refused.status(), 409);
        assert!(
            refused.to_string().contains("version 6, now 7"),
            "{refused}"
        );
    }
}
