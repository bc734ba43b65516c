//! An engine's volumes: the list with sizes and reference counts from Docker's disk usage and
//! the containers mounting each, one volume, creation, removal and pruning.

use super::{disk, engine::Engine};
use crate::{docker::raw_logs::LogsApi, error::Error};
use app::resources::{NewVolume, Pruned, UsedBy, VolumeSummary};
use bollard::{models, query_parameters as q};
use std::collections::HashMap;

/// Every container's mounted volumes, by volume name.
async fn mounted(engine: &Engine) -> Result<HashMap<String, Vec<UsedBy>>, Error> {
    let mut by_volume: HashMap<String, Vec<UsedBy>> = HashMap::new();
    for c in super::mapping::list_all(engine).await? {
        let user = super::mapping::used_by(&c);
        for mount in c.mounts.unwrap_or_default() {
            if let Some(name) = mount.name {
                by_volume.entry(name).or_default().push(user.clone());
            }
        }
    }
    Ok(by_volume)
}

fn summary(
    volume: models::Volume,
    usage: Option<&disk::VolumeUsage>,
    used_by: Vec<UsedBy>,
) -> VolumeSummary {
    VolumeSummary {
        size: usage.and_then(|u| u.size),
        ref_count: usage.and_then(|u| u.ref_count),
        name: volume.name,
        driver: volume.driver,
        mountpoint: volume.mountpoint,
        created: volume.created_at.map(|c| c.to_string()),
        labels: volume.labels.into_iter().collect(),
        used_by,
    }
}

/// Every volume, by name.
pub async fn list(engine: &Engine, raw: &LogsApi) -> Result<Vec<VolumeSummary>, Error> {
    let docker = engine.client()?;
    let (volumes, usage, mounted) = tokio::join!(
        docker.list_volumes(None::<q::ListVolumesOptions>),
        disk::volume_usage(engine, raw),
        mounted(engine),
    );
    let volumes = volumes.map_err(|e| engine.error(e))?;
    let (usage, mut mounted) = (usage?, mounted?);
    let mut list: Vec<_> = volumes
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let used_by = mounted.remove(&v.name).unwrap_or_default();
            let usage = usage.get(&v.name);
            summary(v, usage, used_by)
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(list)
}

pub async fn detail(engine: &Engine, raw: &LogsApi, name: &str) -> Result<VolumeSummary, Error> {
    let path = super::path::path(super::path::Kind::Volume, name)?;
    let docker = engine.client()?;
    let volume = docker
        .inspect_volume(&path)
        .await
        .map_err(|e| engine.error(e))?;
    let (usage, mut mounted) = (
        disk::volume_usage(engine, raw).await?,
        mounted(engine).await?,
    );
    let used_by = mounted.remove(&volume.name).unwrap_or_default();
    let usage = usage.get(&volume.name).cloned();
    Ok(summary(volume, usage.as_ref(), used_by))
}

/// Creates a volume; Docker names it when no name is given.
pub async fn create(engine: &Engine, new: &NewVolume) -> Result<VolumeSummary, Error> {
    new.check()?;
    let docker = engine.client()?;
    let volume = docker
        .create_volume(models::VolumeCreateRequest {
            name: new.name.clone(),
            driver: new.driver.clone(),
            labels: Some(new.labels.clone().into_iter().collect()),
            ..Default::default()
        })
        .await
        .map_err(|e| engine.conflict(e))?;
    Ok(summary(volume, None, Vec::new()))
}

/// Removes a volume; 409 with Docker's message while a container uses it.
pub async fn remove(engine: &Engine, name: &str) -> Result<(), Error> {
    let path = super::path::path(super::path::Kind::Volume, name)?;
    let docker = engine.client()?;
    docker
        .remove_volume(&path, None::<q::RemoveVolumeOptions>)
        .await
        .map_err(|e| engine.conflict(e))
}

/// Removes every volume no container uses. On API 1.42 and later Docker prunes only
/// anonymous volumes unless told `all`; Berth asks for all, as `docker volume prune -a`.
pub async fn prune(engine: &Engine) -> Result<Pruned, Error> {
    let docker = engine.client()?;
    let version = docker.client_version();
    let all = (version.major_version, version.minor_version) >= (1, 42);
    let filters = all.then(|| HashMap::from([("all".to_string(), vec!["true".to_string()])]));
    let pruned = docker
        .prune_volumes(Some(q::PruneVolumesOptions { filters }))
        .await
        .map_err(|e| engine.error(e))?;
    Ok(Pruned {
        removed: pruned.volumes_deleted.unwrap_or_default(),
        reclaimed: pruned.space_reclaimed.unwrap_or_default().max(0) as u64,
    })
}
