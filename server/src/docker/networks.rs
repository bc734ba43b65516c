//! An engine's networks: the list with subnets and attached containers, one network,
//! removal (never of the ones Docker makes itself) and pruning.

use super::engine::Engine;
use crate::error::Error;
use app::resources::{BUILTIN_NETWORKS, NetworkSummary, Pruned, UsedBy, validate_network_ref};
use bollard::models;
use std::collections::HashMap;

/// The name and state of every container, by id, for the attached lists.
async fn containers(engine: &Engine) -> Result<HashMap<String, UsedBy>, Error> {
    Ok(super::mapping::list_all(engine)
        .await?
        .iter()
        .map(|c| {
            let user = super::mapping::used_by(c);
            (user.id.clone(), user)
        })
        .collect())
}

fn is_builtin(name: &str) -> bool {
    BUILTIN_NETWORKS.contains(&name)
}

fn summary(network: models::NetworkInspect, known: &HashMap<String, UsedBy>) -> NetworkSummary {
    let name = network.name.unwrap_or_default();
    let mut attached: Vec<UsedBy> = network
        .containers
        .unwrap_or_default()
        .into_iter()
        .map(|(id, endpoint)| {
            known.get(&id).cloned().unwrap_or_else(|| UsedBy {
                id,
                name: endpoint.name.unwrap_or_default(),
                state: String::new(),
            })
        })
        .collect();
    attached.sort_by(|a, b| a.name.cmp(&b.name));
    NetworkSummary {
        id: network.id.unwrap_or_default(),
        builtin: is_builtin(&name),
        name,
        driver: network.driver.unwrap_or_default(),
        scope: network.scope.unwrap_or_default(),
        subnets: network
            .ipam
            .and_then(|ipam| ipam.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet)
            .collect(),
        internal: network.internal.unwrap_or_default(),
        created: network.created.map(|c| c.to_string()),
        labels: network.labels.unwrap_or_default().into_iter().collect(),
        containers: attached,
    }
}

async fn inspect(engine: &Engine, reference: &str) -> Result<models::NetworkInspect, Error> {
    let path = super::path::path(super::path::Kind::Network, reference)?;
    let docker = engine.client()?;
    docker
        .inspect_network(&path, None)
        .await
        .map_err(|e| engine.error(e))
}

/// Every network, by name, each inspected for its attached containers (the list leaves
/// them out).
pub async fn list(engine: &Engine) -> Result<Vec<NetworkSummary>, Error> {
    let docker = engine.client()?;
    let networks = docker
        .list_networks(None)
        .await
        .map_err(|e| engine.error(e))?;
    let known = containers(engine).await?;
    let inspected = futures::future::join_all(
        networks
            .iter()
            .filter_map(|n| n.id.as_deref())
            .map(|id| inspect(engine, id)),
    )
    .await;
    let mut list = Vec::new();
    for network in inspected {
        match network {
            Ok(network) => list.push(summary(network, &known)),
            // Removed between the list and its inspect.
            Err(e) if e.status() == 404 => {}
            Err(e) => return Err(e),
        }
    }
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

pub async fn detail(engine: &Engine, reference: &str) -> Result<NetworkSummary, Error> {
    validate_network_ref(reference)?;
    let network = inspect(engine, reference).await?;
    Ok(summary(network, &containers(engine).await?))
}

/// Removes a network: 409 for one Docker makes itself, and with Docker's message for one a
/// container is attached to.
pub async fn remove(engine: &Engine, reference: &str) -> Result<(), Error> {
    validate_network_ref(reference)?;
    let network = inspect(engine, reference).await?;
    let name = network.name.unwrap_or_default();
    if is_builtin(&name) {
        return Err(Error::new(
            409,
            format!("{name} is one of Docker's own networks and cannot be removed"),
        ));
    }
    let target = super::path::path(super::path::Kind::Network, &network.id.unwrap_or(name))?;
    let docker = engine.client()?;
    docker
        .remove_network(&target)
        .await
        .map_err(|e| engine.conflict(e))
}

/// Removes every network no container uses (Docker never prunes its own).
pub async fn prune(engine: &Engine) -> Result<Pruned, Error> {
    let docker = engine.client()?;
    let pruned = docker
        .prune_networks(None)
        .await
        .map_err(|e| engine.error(e))?;
    Ok(Pruned {
        removed: pruned.networks_deleted.unwrap_or_default(),
        reclaimed: 0,
    })
}
