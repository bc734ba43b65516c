//! Swarm: an engine's nodes, services and a service's tasks, and what operators change in
//! them (replicas, image, a forced redeploy, a rollback, a node's availability).

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
    /// Tasks meant to run on it now (what a drain moves).
    #[serde(default)]
    pub tasks: u64,
    /// The node object's version: a change sent with it is refused (409) when the node
    /// changed since.
    #[serde(default)]
    pub version: u64,
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
    /// Docker's words on that update (why it paused or rolled back).
    #[serde(default)]
    pub update_message: Option<String>,
    /// The service object's version: a change sent with it is refused (409) when the
    /// service changed since it was read.
    #[serde(default)]
    pub version: u64,
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
    /// The image it runs (without the pinned digest): old and new tasks apart in an update.
    #[serde(default)]
    pub image: String,
    pub state: String,
    pub desired_state: String,
    pub error: Option<String>,
    pub updated: String,
}

/// The most replicas Berth asks of a service.
pub const MAX_REPLICAS: u64 = 1000;

/// `POST …/services/{id}/scale`: the replicas wanted, and optionally the version the
/// page read (a service changed since is refused, 409).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceScale {
    pub replicas: u64,
    #[serde(default)]
    pub version: Option<u64>,
}

/// `POST …/services/{id}/update`: a new image (resolved to its digest when a registry
/// answers, as `docker service update` does) and/or a redeploy of the same spec.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceUpdate {
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub force: Option<bool>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// `POST …/services/{id}/rollback?version=N`: the version the page read, when it sends one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackOptions {
    #[serde(default)]
    pub version: Option<u64>,
}

/// What a change to a service did: the service as it now is, and what Docker or Berth
/// warned of (an image whose digest no registry gave: the nodes use the tag as it is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChanged {
    pub service: SwarmService,
    pub warnings: Vec<String>,
}

/// A node's availability: `active`, `pause` or `drain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pause => "pause",
            Self::Drain => "drain",
        }
    }
}

/// `POST …/nodes/{id}/availability`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAvailability {
    pub availability: Availability,
    #[serde(default)]
    pub version: Option<u64>,
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
    /// Sets a replicated service's replicas (0 to 1000); 409 for a global one.
    POST "/api{on}/services/{id}/scale" OPERATOR => ScaleService { id: String }
        body(ServiceScale) -> ServiceChanged;
    /// A new image and/or a forced redeploy: a rolling update, as the service's update
    /// config says.
    POST "/api{on}/services/{id}/update" OPERATOR => UpdateService { id: String }
        body(ServiceUpdate) -> ServiceChanged;
    /// Back to the spec before the last update (Docker keeps one).
    POST "/api{on}/services/{id}/rollback" OPERATOR => RollbackService { id: String }
        query(RollbackOptions) -> ServiceChanged;
    /// A node's availability; a drain moves its tasks to other nodes.
    POST "/api{on}/nodes/{id}/availability" OPERATOR => SetNodeAvailability { id: String }
        body(NodeAvailability) -> SwarmNode;
}
