//! Swarm: an engine's nodes, services and a service's tasks, and what operators change in
//! them (replicas, image, a forced redeploy, a rollback, a node's availability).

use super::ApiError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Its labels (`node.labels.KEY` in placement constraints).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
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
    /// The stack it belongs to (`com.docker.stack.namespace`), when `docker stack deploy`
    /// made it.
    #[serde(default)]
    pub stack: Option<String>,
}

/// The label `docker stack deploy` puts on a stack's services, networks, secrets and
/// configs: the stack's name.
pub const STACK_NAMESPACE_LABEL: &str = "com.docker.stack.namespace";

impl SwarmService {
    /// Its name within its stack (`web` for `shop_web` of the stack `shop`).
    pub fn stack_service(&self) -> &str {
        self.stack
            .as_deref()
            .and_then(|stack| self.name.strip_prefix(stack)?.strip_prefix('_'))
            .unwrap_or(&self.name)
    }
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

/// `POST …/nodes/{id}/labels`: labels to set (a key given again takes the new value) and
/// keys to take away.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLabels {
    #[serde(default)]
    pub add: BTreeMap<String, String>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub version: Option<u64>,
}

/// Checks a label's key: 1 to 128 letters, digits, `.`, `_`, `-` or `/`, starting and ending
/// with a letter or digit (what placement constraints can name), and its value: at most
/// 1024 characters with no control characters.
pub fn validate_label(key: &str, value: &str) -> Result<(), ApiError> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let key_ok = (1..=128).contains(&key.len())
        && edge(key.chars().next())
        && edge(key.chars().last())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    if !key_ok {
        return Err(ApiError::bad_request(format!(
            "invalid label key {:?}: 1 to 128 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit",
            key.chars().take(40).collect::<String>()
        )));
    }
    if value.chars().count() > 1024 || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "invalid value for the label {key}: at most 1024 characters, none of them control characters"
        )));
    }
    Ok(())
}

/// A swarm's secret or config: its name and the services that use it. A secret's value
/// never leaves Docker; a config's is not listed either.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwarmObject {
    pub id: String,
    pub name: String,
    /// RFC 3339, as Docker reports it.
    pub created: String,
    pub updated: String,
    /// The services whose spec names it, by name.
    pub used_by: Vec<String>,
}

/// `POST …/secrets` and `…/configs`: a name and the content (text; the page reads a file
/// into it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSwarmObject {
    pub name: String,
    pub data: String,
}

/// Docker's limit on a secret's or a config's content.
pub const MAX_SWARM_OBJECT: usize = 500 * 1024;

/// Checks a secret's or config's name as Docker's grammar has it: 1 to 64 letters, digits,
/// `.`, `_` or `-`, starting and ending with a letter or digit.
pub fn validate_swarm_object_name(name: &str) -> Result<(), ApiError> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = (1..=64).contains(&name.len())
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    match ok {
        true => Ok(()),
        // The name is not repeated: a secret's value pasted in the wrong box stays unsaid.
        false => Err(ApiError::bad_request(
            "invalid name: 1 to 64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
        )),
    }
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
    /// Adds and removes a node's labels.
    POST "/api{on}/nodes/{id}/labels" OPERATOR => SetNodeLabels { id: String }
        body(NodeLabels) -> SwarmNode;
    /// The swarm's secrets: names and users, never values.
    GET "/api{on}/secrets" VIEWER => ListSecrets {} -> Vec<SwarmObject>;
    /// Makes a secret; its value is never shown, logged or audited again.
    POST "/api{on}/secrets" OPERATOR => CreateSecret {} body(NewSwarmObject)
        -> SwarmObject = 201;
    /// Removes a secret no service uses (409 naming those that do).
    DELETE "/api{on}/secrets/{id}" OPERATOR => RemoveSecret { id: String } -> () = 204;
    /// The swarm's configs: names and users.
    GET "/api{on}/configs" VIEWER => ListConfigs {} -> Vec<SwarmObject>;
    POST "/api{on}/configs" OPERATOR => CreateConfig {} body(NewSwarmObject)
        -> SwarmObject = 201;
    DELETE "/api{on}/configs/{id}" OPERATOR => RemoveConfig { id: String } -> () = 204;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names_follow_their_grammars() {
        for (key, value) in [
            ("zone", "a"),
            ("com.example/tier", ""),
            ("a", &"v".repeat(1024)),
        ] {
            assert_eq!(validate_label(key, value), Ok(()), "{key}");
        }
        for (key, value) in [
            ("", "a"),
            ("-zone", "a"),
            ("zone-", "a"),
            ("zo ne", "a"),
            ("zone", "a\nb"),
            ("zone", &"v".repeat(1025)),
            (&"k".repeat(129), "a"),
        ] {
            assert!(validate_label(key, value).is_err(), "{key:?} = {value:?}");
        }
        for good in ["db-password", "a", "app.conf", "x_1"] {
            assert_eq!(validate_swarm_object_name(good), Ok(()), "{good}");
        }
        for bad in ["", "-a", "a-", "a b", "a/b", "..", &"a".repeat(65)] {
            assert!(validate_swarm_object_name(bad).is_err(), "{bad}");
        }
    }
}
