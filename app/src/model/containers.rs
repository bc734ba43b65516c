//! Containers and compose projects: list rows, the inspect summary, grouping by project,
//! and the checks a container or project reference passes before it reaches Docker.

use super::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One published or exposed port of a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub ip: Option<String>,
    pub private_port: u16,
    pub public_port: Option<u16>,
    pub protocol: String,
}

impl fmt::Display for Port {
    /// Formats like `docker ps`: `0.0.0.0:8080->80/tcp`, or `80/tcp` when not published.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.ip, self.public_port) {
            (Some(ip), Some(public)) => write!(f, "{ip}:{public}->"),
            (None, Some(public)) => write!(f, "{public}->"),
            _ => Ok(()),
        }?;
        write!(f, "{}/{}", self.private_port, self.protocol)
    }
}

/// A row of the container list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    /// The primary name, without Docker's leading `/`.
    pub name: String,
    pub image: String,
    /// `running`, `exited`, `created`, `paused`, `restarting`, `removing`, `dead`.
    pub state: String,
    /// Docker's human status, e.g. `Up 5 minutes`.
    pub status: String,
    /// Unix seconds.
    pub created: i64,
    pub ports: Vec<Port>,
    /// The `com.docker.compose.project` label, when the container belongs to one.
    pub project: Option<String>,
    /// The `com.docker.compose.service` label.
    pub service: Option<String>,
}

impl ContainerSummary {
    /// The short id as `docker ps` shows it.
    pub fn short_id(&self) -> &str {
        short_id(&self.id)
    }
}

pub fn short_id(id: &str) -> &str {
    &id[..id.len().min(12)]
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// `bind`, `volume`, `tmpfs`, ...
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub read_write: bool,
}

/// The inspect summary shown on a container's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDetail {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    /// RFC 3339 as Docker reports it.
    pub created: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub entrypoint: Vec<String>,
    pub command: Vec<String>,
    pub working_dir: Option<String>,
    /// Names of environment variables only: values often hold secrets and never leave the server.
    pub env_names: Vec<String>,
    pub mounts: Vec<Mount>,
    pub labels: BTreeMap<String, String>,
    pub restart_policy: String,
    pub restart_max_retries: Option<i64>,
    pub restart_count: i64,
    /// Health check status (`healthy`, `unhealthy`, `starting`), when the container has one.
    pub health: Option<String>,
    pub health_failing_streak: Option<i64>,
    pub project: Option<String>,
    pub service: Option<String>,
}

/// A compose project as Berth sees it: the containers that carry its label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    /// Sorted by service, then name.
    pub containers: Vec<ContainerSummary>,
    /// Container counts by state, every state that occurs.
    pub states: BTreeMap<String, u32>,
    /// Distinct services, sorted.
    pub services: Vec<String>,
}

impl Project {
    /// A project none of whose containers exists (any more).
    pub fn empty(name: &str) -> Self {
        Self {
            name: name.to_string(),
            containers: Vec::new(),
            states: BTreeMap::new(),
            services: Vec::new(),
        }
    }
}

/// Groups containers by their compose project label, sorted by project name. Containers
/// without the label belong to no project.
pub fn group_projects(containers: Vec<ContainerSummary>) -> Vec<Project> {
    let mut by_name: BTreeMap<String, Vec<ContainerSummary>> = BTreeMap::new();
    for c in containers {
        if let Some(project) = c.project.clone() {
            by_name.entry(project).or_default().push(c);
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut containers)| {
            containers.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
            let mut states = BTreeMap::new();
            for c in &containers {
                *states.entry(c.state.clone()).or_insert(0) += 1;
            }
            let mut services: Vec<String> = containers
                .iter()
                .filter_map(|c| c.service.clone())
                .collect();
            services.dedup();
            Project {
                name,
                containers,
                states,
                services,
            }
        })
        .collect()
}

pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// Checks a container reference (id, id prefix or name) before it goes anywhere near Docker.
/// Docker names match `[a-zA-Z0-9][a-zA-Z0-9_.-]*`; ids are hex, a subset of that.
pub fn validate_container_ref(reference: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Container, reference)
}

/// Checks a compose project name: Compose allows lowercase letters, digits, `_` and `-`,
/// starting with a letter or digit; Berth also accepts uppercase and `.` that labels may hold.
pub fn validate_project_name(name: &str) -> Result<(), ApiError> {
    validate_container_ref(name).map_err(|_| {
        ApiError::bad_request(format!(
            "invalid project name {name:?}: use letters, digits, '_', '.' or '-', starting with a letter or digit"
        ))
    })
}

/// Env entries are `NAME=value`; only the name is kept.
pub fn env_name(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_refs() {
        for ok in ["abc", "0123456789ab", "my_app-1.web", "A"] {
            assert_eq!(validate_container_ref(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "a b",
            "a%20b",
            "a;rm",
            "ü",
            &"a".repeat(256),
        ] {
            assert_eq!(
                validate_container_ref(bad).unwrap_err().status,
                400,
                "{bad:?}"
            );
        }
    }

    fn summary(name: &str, project: Option<&str>, service: &str, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: format!("{name}-id"),
            name: name.into(),
            image: "img".into(),
            state: state.into(),
            status: String::new(),
            created: 0,
            ports: vec![],
            project: project.map(Into::into),
            service: Some(service.into()),
        }
    }

    #[test]
    fn projects_group_by_label() {
        let projects = group_projects(vec![
            summary("shop-web-2", Some("shop"), "web", "exited"),
            summary("lone", None, "x", "running"),
            summary("blog-db-1", Some("blog"), "db", "running"),
            summary("shop-db-1", Some("shop"), "db", "running"),
            summary("shop-web-1", Some("shop"), "web", "running"),
        ]);
        let names: Vec<_> = projects.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["blog", "shop"]);
        let shop = &projects[1];
        let members: Vec<_> = shop.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(members, ["shop-db-1", "shop-web-1", "shop-web-2"]);
        assert_eq!(shop.services, ["db", "web"]);
        assert_eq!(shop.states.get("running"), Some(&2));
        assert_eq!(shop.states.get("exited"), Some(&1));
    }

    #[test]
    fn ports_format_like_docker_ps() {
        let mut port = Port {
            ip: Some("0.0.0.0".into()),
            private_port: 80,
            public_port: Some(8080),
            protocol: "tcp".into(),
        };
        assert_eq!(port.to_string(), "0.0.0.0:8080->80/tcp");
        port.public_port = None;
        assert_eq!(port.to_string(), "80/tcp");
    }

    #[test]
    fn env_names_drop_values() {
        assert_eq!(env_name("PASSWORD=hunter2"), "PASSWORD");
        assert_eq!(env_name("FLAG"), "FLAG");
        assert_eq!(env_name("A=b=c"), "A");
    }
}

crate::endpoints! {
    CONTAINER_ROUTES;
    /// An engine's facts and its containers counted by state.
    GET "/api{on}/dashboard" VIEWER => GetDashboard {} -> super::Dashboard;
    /// An engine's containers, as its live list holds them.
    GET "/api{on}/containers" VIEWER => ListContainers {} -> Vec<ContainerSummary>;
    /// A container by id, id prefix or name.
    GET "/api{on}/containers/{id}" VIEWER => GetContainer { id: String } -> ContainerDetail;
    /// A container's last stats sample, when one was streamed in the last minute.
    GET "/api{on}/containers/{id}/stats" VIEWER => GetContainerStats { id: String }
        -> Option<crate::frames::ContainerStats>;
    /// An engine's compose projects, from its containers' labels.
    GET "/api{on}/projects" VIEWER => ListProjects {} -> Vec<Project>;
    /// A compose project by name: 400 for a malformed one, 404 when no container has it.
    GET "/api{on}/projects/{name}" VIEWER => GetProject { name: String } -> Project;
}
