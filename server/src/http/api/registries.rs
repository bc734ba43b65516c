//! `/api/registries`: credentials for private registries, for admins. Listed without
//! their passwords, stored sealed, removed; every change audited (`registry.login`,
//! `registry.logout`, with the registry and the user, never the password).

use super::actions::Actor;
use super::mount::{Api, Call};
use crate::error::Error;
use app::model::{ListRegistryLogins, RegistryLogin, RemoveRegistryLogin, SetRegistryLogin};

pub fn routes(api: Api) -> Api {
    api.call(list).call(set).call(remove)
}

async fn list(_: Actor, call: Call<ListRegistryLogins>) -> Result<Vec<RegistryLogin>, Error> {
    call.state.logins.list().await
}

async fn set(actor: Actor, call: Call<SetRegistryLogin>) -> Result<(), Error> {
    let registry = &call.params.registry;
    let result = call.state.logins.set(registry, &call.body).await;
    // The user only once it was a valid one (not a token pasted into the wrong field).
    let target = match &result {
        Ok(()) => format!("{registry} as {}", call.body.username),
        Err(_) => registry.chars().take(256).collect(),
    };
    // Berth-wide: the target is the registry, not an engine's.
    actor.settled("registry.login", &target, &result).await;
    result
}

async fn remove(actor: Actor, call: Call<RemoveRegistryLogin>) -> Result<(), Error> {
    let registry = &call.params.registry;
    let result = call.state.logins.remove(registry).await;
    actor.settled("registry.logout", registry, &result).await;
    result
}
