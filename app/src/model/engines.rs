//! Several engines: which ones Berth watches, and every engine's containers in one list.

use super::{ContainerSummary, Health};
use serde::{Deserialize, Serialize};

/// `GET /api/all/containers`: every engine's containers, and the engines that did not
/// answer (down, or slower than the few seconds the list waits).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllContainers {
    pub containers: Vec<EngineContainer>,
    pub unanswered: Vec<EngineError>,
}

/// A container and the engine it runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineContainer {
    pub engine: String,
    #[serde(flatten)]
    pub container: ContainerSummary,
}

/// An engine that did not answer, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineError {
    pub engine: String,
    pub error: String,
}

/// `GET /api/engines`: one engine Berth watches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineInfo {
    pub name: String,
    /// The engine today's paths (without `/engines/{engine}`) mean.
    pub default: bool,
    pub health: Health,
}

crate::endpoints! {
    ENGINE_ROUTES;
    /// Berth's own machine's last sample (not an engine's).
    GET "/api/host" VIEWER => GetHost {} -> crate::frames::SystemStats;
    /// Every engine, the default first, with its state now.
    GET "/api/engines" VIEWER => ListEngines {} -> Vec<EngineInfo>;
    /// Every container of every engine that answers in time, and the engines that did not.
    GET "/api/all/containers" VIEWER => ListAllContainers {} -> AllContainers;
}
