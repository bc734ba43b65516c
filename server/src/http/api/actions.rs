//! Acting on containers (issue 12): `POST /api/containers/{id}/{start|stop|restart|kill|
//! pause|unpause}`, `DELETE /api/containers/{id}`, one action on up to 100 containers
//! (`POST /api/containers/actions`), and start, stop or restart of every member of a compose
//! project. Each needs `operator` (with `--auth off`, whoever reaches loopback), is written to
//! the audit log with who, from where, what and how it went, and answers like the rest of
//! the API: 200 `{state, changed}`, 204 for a removal, 409 with Docker's message, 400, 404,
//! 403, 503. Berth never stops, pauses or removes the container it runs in.

use crate::{
    accounts::{audit::Event, sessions::Caller},
    docker::mapping,
    engines::EngineContext,
    error::Error,
    http::{
        AppState,
        api::mount::{Api, Call},
        extract::{AppQuery, OnEngine, PathParam},
        gate::Auth,
    },
};
use app::model::{
    self, ActOnContainer, ActOnMany, ActOnProject, Action, ActionOptions, ActionOutcome,
    ActionResult, MAX_BULK, RemoveContainer, Role,
};
use axum::{
    Json,
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use bollard::{errors::Error as DockerError, query_parameters as q};
use futures::{StreamExt, stream};
use std::{net::IpAddr, sync::Arc, time::Duration};

/// Containers acted on at once in a bulk or project action.
const AT_ONCE: usize = 8;
/// Beyond a stop's own `t`, how long Docker may take to answer.
const ACTION_SLACK: Duration = Duration::from_secs(30);

/// The action endpoints. An action on one container or a project takes its parts itself:
/// its action is named before its options.
pub fn routes(api: Api) -> Api {
    api.mount::<ActOnContainer, _, _>(one)
        .mount::<ActOnProject, _, _>(project)
        .call(remove)
        .call(bulk)
}

/// Who acts: a signed-in operator or admin (or, with accounts off, the loopback user), and
/// from where, for the audit log.
#[derive(Clone)]
pub struct Actor {
    name: String,
    auth: Option<Arc<Auth>>,
    address: Option<IpAddr>,
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let address = crate::client_addr::of_request(parts, &state.sockets.trusted_proxies);
        let Some(auth) = state.auth.clone() else {
            return Ok(Self {
                name: "local".into(),
                auth: None,
                address,
            });
        };
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Error::new(401, "sign in first: no valid session"))?;
        if caller.role < Role::Operator {
            return Err(Error::new(
                403,
                "only an operator or admin may change what an engine runs or keeps",
            ));
        }
        Ok(Self {
            name: caller.name,
            auth: Some(auth),
            address,
        })
    }
}

impl Actor {
    /// `name` acting from `address`, audited when accounts are on.
    pub(crate) fn new(name: String, auth: Option<Arc<Auth>>, address: Option<IpAddr>) -> Self {
        Self {
            name,
            auth,
            address,
        }
    }

    /// Who acts, as versions and runs record them.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Writes what was done to `target` on `on` to the audit log: `ENGINE/TARGET`, or
    /// `ENGINE/TARGET: STATUS` when it failed.
    pub(crate) async fn outcome<T>(
        &self,
        action: &str,
        on: &crate::engines::EngineContext,
        target: &str,
        result: &Result<T, Error>,
    ) {
        self.settled(action, &format!("{}/{target}", on.name), result)
            .await;
    }

    /// [`Self::outcome`] of something Berth-wide: `target` as it is (a refusal's status
    /// after it).
    pub(crate) async fn settled<T>(&self, action: &str, target: &str, result: &Result<T, Error>) {
        let target = match result {
            Ok(_) => target.to_string(),
            Err(e) => format!("{target}: {}", e.status()),
        };
        self.record(action, &target, result.is_ok()).await;
    }

    pub(crate) async fn record(&self, action: &str, target: &str, ok: bool) {
        if let Some(auth) = &self.auth {
            auth.audit
                .record(Event {
                    actor: &self.name,
                    action,
                    target: Some(target),
                    address: self.address,
                    ok,
                })
                .await;
        }
    }
}

/// An action's answer: 200 with the outcome, 204 for a removal.
fn answer(outcome: Option<ActionOutcome>) -> Response {
    match outcome {
        Some(outcome) => Json(outcome).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn one(
    OnEngine(on): OnEngine,
    actor: Actor,
    PathParam(target): PathParam<ActionPath>,
    // Read after the action is: a bad action is named before a bad option.
    query: Result<AppQuery<ActionOptions>, Error>,
) -> Result<Response, Error> {
    let action = Action::parse(&target.action)?;
    if action == Action::Remove {
        return Err(Error::new(405, "remove is DELETE /api/containers/{id}"));
    }
    let AppQuery(options) = query?;
    let result = act(&on, action, &target.id, &options).await;
    audit(&actor, &on, action, &target.id, &result).await;
    result.map(answer)
}

/// `DELETE /api/containers/{id}?force=&volumes=`.
async fn remove(actor: Actor, call: Call<RemoveContainer>) -> Result<(), Error> {
    let (on, id) = (call.on, call.params.id);
    let result = act(&on, Action::Remove, &id, &call.query).await;
    audit(&actor, &on, Action::Remove, &id, &result).await;
    result.map(drop)
}

#[derive(serde::Deserialize)]
struct ActionPath {
    id: String,
    action: String,
}

#[derive(serde::Deserialize)]
struct ProjectActionPath {
    name: String,
    action: String,
}

async fn bulk(actor: Actor, call: Call<ActOnMany>) -> Result<Vec<ActionResult>, Error> {
    let (on, request) = (call.on, call.body);
    if request.ids.is_empty() || request.ids.len() > MAX_BULK {
        return Err(Error::bad_request(format!(
            "a bulk action names 1 to {MAX_BULK} containers, not {}",
            request.ids.len()
        )));
    }
    request.options.check(request.action)?;
    Ok(each(&on, &actor, request.action, request.ids, &request.options).await)
}

/// `POST /api/projects/{name}/{start|stop|restart}`: every member, as a bulk action.
async fn project(
    OnEngine(on): OnEngine,
    actor: Actor,
    PathParam(target): PathParam<ProjectActionPath>,
    // Read after the name and the action are: they are named before a bad option.
    query: Result<AppQuery<ActionOptions>, Error>,
) -> Result<Json<Vec<ActionResult>>, Error> {
    let name = target.name;
    model::validate_project_name(&name)?;
    let action = Action::parse(&target.action)?;
    if !action.for_projects() {
        return Err(Error::bad_request(format!(
            "a project can be started, stopped or restarted, not {}",
            action.as_str()
        )));
    }
    let AppQuery(options) = query?;
    options.check(action)?;
    let docker = on.engine.client()?;
    let members = crate::live::upstream::project_logs::members(&docker, &name, false)
        .await
        .map_err(|e| on.engine.error(e))?;
    if members.is_empty() {
        return Err(Error::not_found(format!("no compose project named {name}")));
    }
    let ids = members.into_iter().map(|m| m.id).collect();
    Ok(Json(each(&on, &actor, action, ids, &options).await))
}

/// One action on each container, a few at once, results in the order asked; one failing
/// stops none of the others.
async fn each(
    on: &EngineContext,
    actor: &Actor,
    action: Action,
    ids: Vec<String>,
    options: &ActionOptions,
) -> Vec<ActionResult> {
    stream::iter(ids)
        .map(|id| async move {
            let result = act(on, action, &id, options).await;
            audit(actor, on, action, &id, &result).await;
            match result {
                Ok(outcome) => ActionResult {
                    status: if outcome.is_some() { 200 } else { 204 },
                    id,
                    outcome,
                    error: None,
                },
                Err(e) => ActionResult {
                    id,
                    status: e.status(),
                    outcome: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .buffered(AT_ONCE)
        .collect()
        .await
}

async fn audit(
    actor: &Actor,
    on: &EngineContext,
    action: Action,
    reference: &str,
    result: &Result<Option<ActionOutcome>, Error>,
) {
    let action = format!("container.{}", action.as_str());
    actor.outcome(&action, on, reference, result).await;
}

/// Does `action` to the container `reference` names; its state after, or `None` once
/// removed.
pub async fn act(
    on: &EngineContext,
    action: Action,
    reference: &str,
    options: &ActionOptions,
) -> Result<Option<ActionOutcome>, Error> {
    let signal = options.check(action)?;
    let engine = &on.engine;
    let found = mapping::inspect(engine, reference).await?;
    let before = moment(&found);
    let id = found.id.unwrap_or_default();
    let stops_berth = !matches!(action, Action::Start | Action::Unpause);
    if stops_berth && crate::docker::own::container().is_some_and(|own| own == id) {
        return Err(Error::new(
            409,
            format!(
                "Berth runs in this container: it will not {} itself",
                action.as_str()
            ),
        ));
    }
    let t = options.t.map(|t| t as i32);
    let docker = engine
        .client()?
        .with_timeout(Duration::from_secs(u64::from(options.t.unwrap_or(10))) + ACTION_SLACK);
    let id = crate::docker::path::path(crate::docker::path::Kind::Container, &id)?;
    let done = match action {
        Action::Start => docker.start_container(&id, None).await,
        Action::Stop => {
            let options = q::StopContainerOptions { signal: None, t };
            docker.stop_container(&id, Some(options)).await
        }
        Action::Restart => {
            let options = q::RestartContainerOptions { signal: None, t };
            docker.restart_container(&id, Some(options)).await
        }
        Action::Kill => {
            let signal = signal.unwrap_or_else(|| "SIGKILL".into());
            let options = q::KillContainerOptions { signal };
            docker.kill_container(&id, Some(options)).await
        }
        Action::Pause => docker.pause_container(&id).await,
        Action::Unpause => docker.unpause_container(&id).await,
        Action::Remove => {
            let options = q::RemoveContainerOptions {
                v: options.volumes.unwrap_or(false),
                force: options.force.unwrap_or(false),
                link: false,
            };
            docker.remove_container(&id, Some(options)).await
        }
    };
    match done {
        Ok(()) => {}
        Err(DockerError::DockerResponseServerError {
            status_code: status @ (400 | 409),
            message,
        }) => return Err(Error::new(status, message)),
        Err(e) => return Err(engine.error(e)),
    }
    if action == Action::Remove {
        return Ok(None);
    }
    let after = moment(&mapping::inspect(engine, &id).await?);
    // bollard answers Docker's 304 ("already started") as a success, so whether anything
    // changed is read off the container: its state, or its start time (a restart).
    let changed = after != before;
    Ok(Some(ActionOutcome {
        state: after.0,
        changed,
    }))
}

/// A container's state and when it last started.
fn moment(c: &bollard::models::ContainerInspectResponse) -> (String, String) {
    let state = c.state.clone().unwrap_or_default();
    (
        state.status.map(|s| s.to_string()).unwrap_or_default(),
        state.started_at.unwrap_or_default(),
    )
}
