//! Every Docker engine Berth watches, by name, each with its own context: the supervised
//! connection, its live container list and its containers' last stats, which the pages and
//! the API read. Routes find theirs with the
//! [`OnEngine`] extractor (the `{engine}` path segment, or the default engine for today's
//! paths), and hub keys carry the name, so two engines never share a hub.
//! Which engines there are comes from [`config`] (the engines file and `--engine`); without
//! either, there is one, named `local`, at `DOCKER_HOST`.

pub mod config;

use crate::{
    docker::{EngineName, LOCAL, engine::Engine},
    error::Error,
    live::{
        hub::Registry,
        upstream::{
            container_list::ContainerList,
            last_known::{LastContainerStats, LastValues},
        },
    },
};
use app::{
    model::{AllContainers, EngineContainer, EngineError, EngineInfo},
    urls::On,
};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

/// How long the all-engines list waits for one engine: a slow one is named, not waited for.
const ALL_CONTAINERS_WAIT: Duration = Duration::from_secs(5);

/// One engine and what Berth keeps for it.
pub struct EngineContext {
    pub name: EngineName,
    pub engine: Arc<Engine>,
    /// Its containers' last stats samples (recorded by their streams, read by the pages).
    pub container_stats: Arc<LastContainerStats>,
    /// Its containers, live: the list stream's hub and the cache the API reads.
    pub containers: Arc<ContainerList>,
}

/// The engines by name, and which one today's paths (without `/engines/{engine}`) mean.
pub struct Engines {
    by_name: BTreeMap<EngineName, Arc<EngineContext>>,
    default: Arc<EngineContext>,
    /// Berth's own machine's last values (the same whichever engine is asked).
    pub host: Arc<LastValues>,
}

impl Engines {
    /// The engines, the first the default; names are unique (checked with the flags).
    /// `host` is Berth's own machine's last values, which every engine's reads serve; each
    /// engine's live list runs its hubs in `registry`.
    ///
    /// # Panics
    /// With no engine: the configuration always names one (`local` by default).
    pub fn new(
        engines: Vec<(EngineName, Arc<Engine>)>,
        host: Arc<LastValues>,
        registry: &Arc<Registry>,
    ) -> Self {
        let contexts: Vec<Arc<EngineContext>> = engines
            .into_iter()
            .map(|(name, engine)| {
                let container_stats = Arc::new(LastContainerStats::for_containers());
                let containers = ContainerList::new(name.clone(), engine.clone(), registry.clone());
                Arc::new(EngineContext {
                    name,
                    engine,
                    container_stats,
                    containers,
                })
            })
            .collect();
        let default = contexts.first().expect("at least one engine").clone();
        Self {
            by_name: contexts.into_iter().map(|c| (c.name.clone(), c)).collect(),
            default,
            host,
        }
    }

    /// The name of the one engine Berth watches without `--engine`.
    pub fn local() -> EngineName {
        EngineName::parse(LOCAL).expect("a plain name")
    }

    pub fn default_engine(&self) -> &Arc<EngineContext> {
        &self.default
    }

    /// Every engine: the default one first, then by name.
    pub fn all(&self) -> impl Iterator<Item = &Arc<EngineContext>> {
        std::iter::once(&self.default).chain(
            self.by_name
                .values()
                .filter(|c| c.name != self.default.name),
        )
    }

    /// 400 for a malformed name, 404 for one Berth does not know.
    pub fn get(&self, name: &str) -> Result<&Arc<EngineContext>, Error> {
        let name = EngineName::parse(name)?;
        self.by_name
            .get(&name)
            .ok_or_else(|| Error::not_found(format!("no engine named {name}")))
    }
}

impl Engines {
    /// The engine `on` names, or the default: 400 for a malformed name, 404 unknown.
    pub fn of(&self, on: &On) -> Result<Arc<EngineContext>, Error> {
        match on.name() {
            Some(name) => self.get(name).cloned(),
            None => Ok(self.default_engine().clone()),
        }
    }

    /// Every engine, the default first, with its state now.
    pub async fn engines(&self) -> Vec<EngineInfo> {
        self.all()
            .map(|context| EngineInfo {
                name: context.name.to_string(),
                default: context.name == self.default.name,
                health: context.engine.health(),
            })
            .collect()
    }

    /// Every container of every engine that answers in time, and the ones that did not:
    /// asks every engine at once; each answer waits for no other.
    pub async fn all_containers(&self) -> AllContainers {
        let asks = self.all().map(|context| async move {
            let answer = tokio::time::timeout(ALL_CONTAINERS_WAIT, context.containers.containers())
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        504,
                        format!("no answer within {ALL_CONTAINERS_WAIT:?}"),
                    ))
                });
            (context.name.to_string(), answer)
        });
        let mut all = AllContainers::default();
        for (engine, answer) in futures::future::join_all(asks).await {
            match answer {
                Ok(list) => {
                    all.containers
                        .extend(list.into_iter().map(|container| EngineContainer {
                            engine: engine.clone(),
                            container,
                        }))
                }
                Err(e) => all.unanswered.push(EngineError {
                    engine,
                    error: e.to_string(),
                }),
            }
        }
        all
    }
}
