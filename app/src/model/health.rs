//! What Berth knows of an engine as a whole: whether it answers (health) and the
//! dashboard's summary of it and its host.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether Berth can reach the Docker engine right now, and what it last heard from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub reachable: bool,
    /// The endpoint Berth talks to, e.g. `unix:///var/run/docker.sock`.
    pub endpoint: String,
    /// Why the engine is unreachable, when it is.
    pub error: Option<String>,
    pub engine_version: Option<String>,
    /// The API version negotiated with the engine.
    pub api_version: Option<String>,
    pub berth_version: String,
}

/// The dashboard's summary of the engine and its host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub engine_version: String,
    pub api_version: String,
    pub host_name: String,
    pub operating_system: String,
    pub cpus: i64,
    pub memory_bytes: i64,
    pub images: i64,
    /// Container counts by state (`running`, `exited`, ...), every state that occurs.
    pub containers_by_state: BTreeMap<String, u32>,
    pub containers_total: u32,
}
