//! The server's [`Backend`]: containers, projects and engine facts read through the
//! supervised engine and mapped by [`crate::docker::mapping`]. Serves both the JSON API and
//! the server-rendered pages.

use crate::docker::{
    engine::Engine,
    mapping::{detail, inspect},
};
use crate::error::Error;
use crate::live::upstream::{
    container_list::ContainerList,
    last_known::{LastContainerStats, LastValues},
    system_stats,
};
use app::{
    api::{Backend, BoxFuture},
    model::{ApiError, ContainerDetail, ContainerSummary, Dashboard, Health},
};
use std::sync::Arc;

pub struct Inventory {
    engine: Arc<Engine>,
    /// The host's (Berth's machine).
    last: Arc<LastValues>,
    container_stats: Arc<LastContainerStats>,
    /// The engine's containers, kept current by its events.
    list: Arc<ContainerList>,
}

/// The edge with the shared crate: errors leave as its wire type.
fn edge<'a, T: 'a>(
    work: impl Future<Output = Result<T, Error>> + Send + 'a,
) -> BoxFuture<'a, Result<T, ApiError>> {
    Box::pin(async move { work.await.map_err(Error::into_wire) })
}

impl Inventory {
    pub fn new(
        engine: Arc<Engine>,
        last: Arc<LastValues>,
        container_stats: Arc<LastContainerStats>,
        list: Arc<ContainerList>,
    ) -> Self {
        Self {
            engine,
            last,
            container_stats,
            list,
        }
    }
}

impl Backend for Inventory {
    fn host(&self) -> BoxFuture<'_, Result<app::frames::SystemStats, ApiError>> {
        edge(system_stats::last_or_sample(&self.last))
    }

    fn container_stats<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<Option<app::frames::ContainerStats>, ApiError>> {
        edge(async move {
            let c = inspect(&self.engine, reference).await?;
            Ok(c.id.and_then(|id| self.container_stats.get(&id)))
        })
    }

    fn health(&self) -> BoxFuture<'_, Health> {
        Box::pin(async move { self.engine.health() })
    }

    fn images(&self) -> BoxFuture<'_, Result<Vec<app::resources::ImageSummary>, ApiError>> {
        edge(crate::docker::images::list(&self.engine))
    }

    fn image<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<app::resources::ImageDetail, ApiError>> {
        edge(crate::docker::images::detail(&self.engine, reference))
    }

    fn volumes(&self) -> BoxFuture<'_, Result<Vec<app::resources::VolumeSummary>, ApiError>> {
        edge(async move {
            let raw = self.engine.logs_api()?;
            crate::docker::volumes::list(&self.engine, &raw).await
        })
    }

    fn volume<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<app::resources::VolumeSummary, ApiError>> {
        edge(async move {
            let raw = self.engine.logs_api()?;
            crate::docker::volumes::detail(&self.engine, &raw, name).await
        })
    }

    fn networks(&self) -> BoxFuture<'_, Result<Vec<app::resources::NetworkSummary>, ApiError>> {
        edge(crate::docker::networks::list(&self.engine))
    }

    fn network<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<app::resources::NetworkSummary, ApiError>> {
        edge(crate::docker::networks::detail(&self.engine, reference))
    }

    fn disk(&self) -> BoxFuture<'_, Result<app::resources::EngineDisk, ApiError>> {
        edge(async move {
            let raw = self.engine.logs_api()?;
            crate::docker::disk::usage(&self.engine, &raw).await
        })
    }

    fn swarm(&self) -> BoxFuture<'_, Result<app::model::Swarm, ApiError>> {
        edge(async move {
            let docker = self.engine.client()?;
            crate::docker::swarm::swarm(&docker)
                .await
                .map_err(|e| self.engine.error(e))
        })
    }

    fn service<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<app::model::ServiceDetail, ApiError>> {
        edge(async move {
            app::model::validate_service_ref(reference)?;
            let docker = self.engine.client()?;
            crate::docker::swarm::service_detail(&docker, reference).await
        })
    }

    fn dashboard(&self) -> BoxFuture<'_, Result<Dashboard, ApiError>> {
        edge(async move {
            let docker = self.engine.client()?;
            let (info, containers) = tokio::join!(docker.info(), self.list.containers());
            let info = info.map_err(|e| self.engine.error(e))?;
            let containers = containers?;
            let mut containers_by_state = std::collections::BTreeMap::new();
            for c in &containers {
                *containers_by_state.entry(c.state.clone()).or_insert(0) += 1;
            }
            Ok(Dashboard {
                engine_version: info.server_version.unwrap_or_default(),
                api_version: docker.client_version().to_string(),
                host_name: info.name.unwrap_or_default(),
                operating_system: info.operating_system.unwrap_or_default(),
                cpus: info.ncpu.unwrap_or_default(),
                memory_bytes: info.mem_total.unwrap_or_default(),
                images: info.images.unwrap_or_default(),
                containers_total: containers.len() as u32,
                containers_by_state,
            })
        })
    }

    fn containers(&self) -> BoxFuture<'_, Result<Vec<ContainerSummary>, ApiError>> {
        edge(async move { self.list.containers().await })
    }

    fn container<'a>(
        &'a self,
        reference: &'a str,
    ) -> BoxFuture<'a, Result<ContainerDetail, ApiError>> {
        edge(async move { inspect(&self.engine, reference).await.map(detail) })
    }
}
