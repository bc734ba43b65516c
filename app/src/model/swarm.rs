//! Swarm: an engine's nodes, services and a service's tasks.

use super::ApiError;
use serde::{Deserialize, Serialize};

/// `GET /api/engines/{engine}/swarm`: the swarm an engine manages. An engine that is no
/// swarm manager answers `manager: false` with its node state and empty lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swarm {
    pub manager: bool,
    /// Docker's `LocalNodeState`: `inactive`, `pending`, `active`, `error`, `locked`.
    pub node_state: String,
    pub nodes: Vec<SwarmNode>,
    pub services: Vec<SwarmService>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmNode {
    pub id: String,
    pub hostname: String,
    /// `manager` or `worker`.
    pub role: String,
    /// `ready`, `down`, `unknown`, `disconnected`.
    pub state: String,
    /// `active`, `pause`, `drain`.
    pub availability: String,
    pub engine_version: String,
    pub leader: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmService {
    pub id: String,
    pub name: String,
    pub image: String,
    /// `replicated`, `global`, `replicated-job`, `global-job`.
    pub mode: String,
    pub running: u64,
    pub desired: u64,
    /// `published:target/protocol` for each published port.
    pub ports: Vec<String>,
    /// The last rolling update's state (`updating`, `completed`, `paused`, …), if any.
    pub update_state: Option<String>,
}

/// `GET /api/engines/{engine}/services/{id}`: a service and its tasks, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub service: SwarmService,
    pub tasks: Vec<SwarmTask>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmTask {
    pub id: String,
    /// `{service}.{slot}` (or `.{node}` for global services), as `docker service ps` names it.
    pub name: String,
    pub node: String,
    pub state: String,
    pub desired_state: String,
    pub error: Option<String>,
    pub updated: String,
}

/// A service reference: its id, an id prefix or its name.
pub fn validate_service_ref(reference: &str) -> Result<(), ApiError> {
    crate::refs::check(crate::refs::Kind::Service, reference)
}

crate::endpoints! {
    SWARM_ROUTES;
    /// The swarm the engine manages (`manager: false` and empty lists when none).
    GET "/api{on}/swarm" VIEWER => GetSwarm {} -> Swarm;
    /// A swarm service by id, id prefix or name, with its tasks.
    GET "/api{on}/services/{id}" VIEWER => GetService { id: String } -> ServiceDetail;
}
