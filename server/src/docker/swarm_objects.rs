//! A swarm's secrets and configs: listed by name with the services that use them, made from
//! text, removed when no service uses them (409 naming those that do). A secret's value goes
//! to Docker and nowhere else: never answered, logged or audited (callers audit the name).

use super::{
    engine::Engine,
    path::{Kind, path},
    swarm_changes::{manager, write_error},
};
use crate::error::Error;
use app::model::{MAX_SWARM_OBJECT, NewSwarmObject, SwarmObject, validate_swarm_object_name};
use base64::Engine as _;
use bollard::{
    Docker,
    models::{ConfigSpec, SecretSpec, Service},
    query_parameters::{ListConfigsOptions, ListSecretsOptions},
};
use std::collections::HashMap;

/// Which of the two a call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Secret,
    Config,
}

impl Which {
    fn word(self) -> &'static str {
        match self {
            Which::Secret => "secret",
            Which::Config => "config",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Which::Secret => Kind::Secret,
            Which::Config => Kind::Config,
        }
    }
}

/// Every secret or config, by name, with its users.
pub async fn list(engine: &Engine, which: Which) -> Result<Vec<SwarmObject>, Error> {
    let docker = manager(engine).await?;
    let users = users(engine, &docker, which).await?;
    let mut listed: Vec<SwarmObject> = match which {
        Which::Secret => docker
            .list_secrets(None::<ListSecretsOptions>)
            .await
            .map_err(|e| engine.error(e))?
            .into_iter()
            .map(|s| {
                object(
                    s.id,
                    s.spec.and_then(|s| s.name),
                    s.created_at,
                    s.updated_at,
                    &users,
                )
            })
            .collect(),
        Which::Config => docker
            .list_configs(None::<ListConfigsOptions>)
            .await
            .map_err(|e| engine.error(e))?
            .into_iter()
            .map(|c| {
                object(
                    c.id,
                    c.spec.and_then(|s| s.name),
                    c.created_at,
                    c.updated_at,
                    &users,
                )
            })
            .collect(),
    };
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(listed)
}

/// Makes one from `new` (name checked, content at most 500 KiB, as Docker allows).
pub async fn create(
    engine: &Engine,
    which: Which,
    new: NewSwarmObject,
) -> Result<SwarmObject, Error> {
    validate_swarm_object_name(&new.name)?;
    // Docker refuses 500 KiB itself (its limit is exclusive).
    if new.data.len() >= MAX_SWARM_OBJECT {
        return Err(Error::new(
            413,
            format!("a {} holds at most 500 KiB", which.word()),
        ));
    }
    let docker = manager(engine).await?;
    let data = Some(base64::engine::general_purpose::STANDARD.encode(new.data.as_bytes()));
    let name = Some(new.name.clone());
    let made = match which {
        Which::Secret => {
            docker
                .create_secret(SecretSpec {
                    name,
                    data,
                    ..Default::default()
                })
                .await
        }
        Which::Config => {
            docker
                .create_config(ConfigSpec {
                    name,
                    data,
                    ..Default::default()
                })
                .await
        }
    }
    .map_err(|e| write_error(engine, e))?;
    Ok(SwarmObject {
        id: made.id,
        name: new.name,
        created: String::new(),
        updated: String::new(),
        used_by: Vec::new(),
    })
}

/// Removes one by id or name: 409 naming the services that use it.
pub async fn remove(engine: &Engine, which: Which, reference: &str) -> Result<(), Error> {
    path(which.kind(), reference)?;
    let docker = manager(engine).await?;
    let listed = list(engine, which).await?;
    let found = listed
        .iter()
        .find(|o| o.id == reference || o.name == reference)
        .ok_or_else(|| Error::not_found(format!("no {} {reference}", which.word())))?;
    if !found.used_by.is_empty() {
        return Err(Error::new(
            409,
            format!(
                "the {} {} is used by {}: remove it from them first",
                which.word(),
                found.name,
                found.used_by.join(", ")
            ),
        ));
    }
    // The object checked, by its id: a name that is also another's id never removes that one.
    let target = path(which.kind(), &found.id)?;
    match which {
        Which::Secret => docker.delete_secret(&target).await,
        Which::Config => docker.delete_config(&target).await,
    }
    .map_err(|e| write_error(engine, e))
}

/// Each secret's or config's id → the names of the services whose spec names it.
async fn users(
    engine: &Engine,
    docker: &Docker,
    which: Which,
) -> Result<HashMap<String, Vec<String>>, Error> {
    let services: Vec<Service> = docker
        .list_services(None)
        .await
        .map_err(|e| engine.error(e))?;
    let mut users: HashMap<String, Vec<String>> = HashMap::new();
    for service in services {
        let spec = service.spec.unwrap_or_default();
        let name = spec.name.clone().unwrap_or_default();
        let container = spec
            .task_template
            .and_then(|t| t.container_spec)
            .unwrap_or_default();
        let ids: Vec<String> = match which {
            Which::Secret => container
                .secrets
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.secret_id)
                .collect(),
            Which::Config => container
                .configs
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| c.config_id)
                .collect(),
        };
        for id in ids {
            users.entry(id).or_default().push(name.clone());
        }
    }
    users.values_mut().for_each(|names| names.sort());
    Ok(users)
}

fn object<T: ToString>(
    id: Option<String>,
    name: Option<String>,
    created: Option<T>,
    updated: Option<T>,
    users: &HashMap<String, Vec<String>>,
) -> SwarmObject {
    let id = id.unwrap_or_default();
    SwarmObject {
        used_by: users.get(&id).cloned().unwrap_or_default(),
        id,
        name: name.unwrap_or_default(),
        created: created.map(|t| t.to_string()).unwrap_or_default(),
        updated: updated.map(|t| t.to_string()).unwrap_or_default(),
    }
}
