//! A swarm as Berth shows it, read-only: its nodes, its services with replicas running and
//! desired, and a service's tasks, mapped from bollard's types. Only a manager can answer;
//! any other engine is "no swarm manager" (a state, not an error) for the list, and 404 for
//! a service.

use crate::error::Error;
use app::{
    frames::SwarmLive,
    model::{STACK_NAMESPACE_LABEL, ServiceDetail, Swarm, SwarmNode, SwarmService, SwarmTask},
};
use bollard::{
    Docker,
    errors::Error as DockerError,
    models::{Node, Service, Task, TaskState},
    query_parameters::{ListServicesOptions, ListTasksOptions},
};
use std::collections::{BTreeMap, HashMap};

fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Whether the engine is a swarm manager, and its node state.
pub async fn standing(docker: &Docker) -> Result<(bool, String), DockerError> {
    let swarm = docker.info().await?.swarm.unwrap_or_default();
    let state = swarm
        .local_node_state
        .map_or_else(|| "inactive".to_string(), |s| s.to_string());
    Ok((swarm.control_available.unwrap_or(false), state))
}

/// The swarm this engine manages (empty when it manages none).
pub async fn swarm(docker: &Docker) -> Result<Swarm, DockerError> {
    Ok(read(docker).await?.swarm)
}

/// The swarm as its live stream sends it: [`swarm`], and every service's tasks (newest
/// first) by service id.
pub async fn live(docker: &Docker) -> Result<SwarmLive, DockerError> {
    read(docker).await
}

/// Nodes, services and every task, listed once: each node's count of tasks meant to run
/// (what a drain moves) comes from the same listing as the services' tasks.
async fn read(docker: &Docker) -> Result<SwarmLive, DockerError> {
    let (manager, node_state) = standing(docker).await?;
    if !manager {
        return Ok(SwarmLive {
            swarm: Swarm {
                manager,
                node_state,
                ..Swarm::default()
            },
            tasks: BTreeMap::new(),
        });
    }
    let nodes = docker.list_nodes(None).await?;
    let services = docker
        .list_services(Some(ListServicesOptions {
            status: Some(true),
            ..Default::default()
        }))
        .await?;
    let mut services: Vec<SwarmService> = services.into_iter().map(service).collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let listed = docker.list_tasks(None::<ListTasksOptions>).await?;
    let mut per_node: HashMap<String, u64> = HashMap::new();
    for t in &listed {
        if let (Some(node), Some(TaskState::RUNNING)) = (&t.node_id, t.desired_state) {
            *per_node.entry(node.clone()).or_default() += 1;
        }
    }
    let hostnames = hostnames(&nodes);
    let names: HashMap<&str, &str> = services
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let mut tasks: BTreeMap<String, Vec<SwarmTask>> = BTreeMap::new();
    for t in listed {
        let Some(service) = t.service_id.clone() else {
            continue;
        };
        let name = names.get(service.as_str()).copied().unwrap_or_default();
        tasks
            .entry(service)
            .or_default()
            .push(task(name, &hostnames, t));
    }
    tasks.values_mut().for_each(|list| newest_first(list));
    let nodes = nodes
        .into_iter()
        .map(|n| {
            let tasks = n.id.as_ref().and_then(|id| per_node.get(id)).copied();
            SwarmNode {
                tasks: tasks.unwrap_or(0),
                ..node(n)
            }
        })
        .collect();
    Ok(SwarmLive {
        swarm: Swarm {
            manager,
            node_state,
            nodes,
            services,
        },
        tasks,
    })
}

/// Node ids to host names, for the tasks' node column.
fn hostnames(nodes: &[Node]) -> HashMap<String, String> {
    nodes
        .iter()
        .filter_map(|n| {
            let hostname = n.description.as_ref()?.hostname.clone()?;
            Some((n.id.clone()?, hostname))
        })
        .collect()
}

/// Tasks in the order every page shows them: newest first, then by name.
fn newest_first(tasks: &mut [SwarmTask]) {
    tasks.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.name.cmp(&b.name)));
}

/// A service by id, id prefix or name, with its tasks (newest first); 404 when this engine
/// is no manager or has no such service.
pub async fn service_detail(docker: &Docker, reference: &str) -> Result<ServiceDetail, Error> {
    let swarm_error = |e: DockerError| match e {
        DockerError::DockerResponseServerError {
            status_code: 404,
            message,
        } => Error::not_found(message),
        other => Error::new(502, format!("the engine's swarm did not answer: {other}")),
    };
    if !standing(docker).await.map_err(swarm_error)?.0 {
        return Err(Error::not_found("this engine is no swarm manager"));
    }
    let found = docker
        .inspect_service(
            &super::path::path(super::path::Kind::Service, reference)?,
            None,
        )
        .await
        .map_err(swarm_error)?;
    let id = found.id.clone().unwrap_or_default();
    let name = found
        .spec
        .as_ref()
        .and_then(|s| s.name.clone())
        .unwrap_or_default();
    let tasks = tasks(docker, &id).await.map_err(swarm_error)?;
    let hostnames = hostnames(&docker.list_nodes(None).await.map_err(swarm_error)?);
    let mut service = service(found);
    service.running = tasks
        .iter()
        .filter(|t| t.status.as_ref().and_then(|s| s.state) == Some(TaskState::RUNNING))
        .count() as u64;
    let mut tasks: Vec<SwarmTask> = tasks
        .into_iter()
        .map(|t| task(&name, &hostnames, t))
        .collect();
    newest_first(&mut tasks);
    Ok(ServiceDetail { service, tasks })
}

/// Docker pins the digest after `@`; the name is what people read.
pub(crate) fn without_digest(image: &str) -> &str {
    image.split('@').next().unwrap_or_default()
}

/// A service's tasks, by full service id.
pub async fn tasks(docker: &Docker, service_id: &str) -> Result<Vec<Task>, DockerError> {
    docker
        .list_tasks(Some(ListTasksOptions {
            filters: Some(HashMap::from([(
                "service".to_string(),
                vec![service_id.to_string()],
            )])),
        }))
        .await
}

/// `{service}.{slot}` for a replica, `{service}.{node id}` for a global task.
pub fn task_name(service: &str, task: &Task) -> String {
    match (task.slot, &task.node_id) {
        (Some(slot), _) if slot > 0 => format!("{service}.{slot}"),
        (_, Some(node)) => format!("{service}.{}", app::model::short_id(node)),
        _ => format!("{service}.{}", app::model::short_id(&text(task.id.clone()))),
    }
}

pub fn node(n: Node) -> SwarmNode {
    let spec = n.spec.unwrap_or_default();
    let description = n.description.unwrap_or_default();
    SwarmNode {
        id: text(n.id),
        hostname: text(description.hostname),
        role: text(spec.role),
        state: text(n.status.and_then(|s| s.state)),
        availability: text(spec.availability),
        engine_version: text(description.engine.and_then(|e| e.engine_version)),
        leader: n.manager_status.and_then(|m| m.leader).unwrap_or(false),
        labels: spec.labels.unwrap_or_default().into_iter().collect(),
        tasks: 0,
        version: n.version.and_then(|v| v.index).unwrap_or(0),
    }
}

pub fn service(s: Service) -> SwarmService {
    let spec = s.spec.unwrap_or_default();
    let mode = spec.mode.unwrap_or_default();
    let (mode_name, replicas) = match (&mode.replicated, &mode.global, &mode.replicated_job) {
        (Some(r), _, _) => ("replicated", r.replicas.map(|n| n.max(0) as u64)),
        (_, Some(_), _) => ("global", None),
        (_, _, Some(_)) => ("replicated-job", None),
        _ => ("global-job", None),
    };
    let status = s.service_status.unwrap_or_default();
    let update = s.update_status.unwrap_or_default();
    let ports = s
        .endpoint
        .and_then(|e| e.ports)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            Some(format!(
                "{}:{}/{}",
                p.published_port?,
                p.target_port?,
                text(p.protocol)
            ))
        })
        .collect();
    SwarmService {
        id: text(s.id),
        name: text(spec.name),
        image: text(
            spec.task_template
                .and_then(|t| t.container_spec)
                .and_then(|c| c.image)
                .map(|image| without_digest(&image).to_string()),
        ),
        mode: mode_name.to_string(),
        running: status.running_tasks.unwrap_or(0),
        desired: status.desired_tasks.or(replicas).unwrap_or(0),
        ports,
        update_state: update.state.map(|s| s.to_string()),
        update_message: update.message.filter(|m| !m.is_empty()),
        version: s.version.and_then(|v| v.index).unwrap_or(0),
        stack: spec
            .labels
            .as_ref()
            .and_then(|l| l.get(STACK_NAMESPACE_LABEL))
            .cloned(),
    }
}

/// The list filter for the services of swarm stacks (of `stack` alone when given).
pub fn stack_filter(stack: Option<&str>) -> HashMap<String, Vec<String>> {
    let label = match stack {
        Some(stack) => format!("{STACK_NAMESPACE_LABEL}={stack}"),
        None => STACK_NAMESPACE_LABEL.to_string(),
    };
    HashMap::from([("label".to_string(), vec![label])])
}

/// The services of swarm stacks (of `stack` alone when given) with their running tasks;
/// `None` when the engine is no swarm manager, so its stacks are compose projects.
pub async fn stack_services(
    docker: &Docker,
    stack: Option<&str>,
) -> Result<Option<Vec<SwarmService>>, DockerError> {
    if !standing(docker).await?.0 {
        return Ok(None);
    }
    let services = docker
        .list_services(Some(ListServicesOptions {
            filters: Some(stack_filter(stack)),
            status: Some(true),
        }))
        .await?;
    let mut services: Vec<SwarmService> = services.into_iter().map(service).collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Some(services))
}

fn task(service: &str, hostnames: &HashMap<String, String>, t: Task) -> SwarmTask {
    let name = task_name(service, &t);
    let node = t
        .node_id
        .as_ref()
        .map(|id| hostnames.get(id).cloned().unwrap_or_else(|| id.clone()))
        .unwrap_or_default();
    let status = t.status.unwrap_or_default();
    let image = t
        .spec
        .and_then(|s| s.container_spec)
        .and_then(|c| c.image)
        .map(|image| without_digest(&image).to_string())
        .unwrap_or_default();
    SwarmTask {
        id: text(t.id),
        name,
        node,
        image,
        state: text(status.state),
        desired_state: text(t.desired_state),
        error: status.err.filter(|e| !e.is_empty()),
        updated: text(t.updated_at),
    }
}
