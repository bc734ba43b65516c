//! The live streams over WebSocket. Everything is checked before the upgrade (origin
//! 403, parameters 400, limits 429, unknown resource 404, engine down 503, each with a JSON
//! error), so a refused client never costs a task; the hub is joined only once upgraded, and
//! the client loop is tracked so shutdown can wait for its goodbye.

pub mod client;
pub mod limits;
pub mod owners;
pub mod settings;
mod stack_run;
pub mod terminal;
mod terminal_client;
mod update_run;

use crate::{
    accounts::sessions::Caller,
    docker::raw_logs::LogsApi,
    engines::Engines,
    error::Error,
    http::{
        AppState,
        extract::{OnEngine, PathParam},
        hosts::AllowedHosts,
    },
    live::{
        hub::{HubKey, Registry, Subscription, Who},
        upstream::{self, history::Gap},
    },
};
use app::{
    frames::StreamKind,
    model::{self, COMPOSE_PROJECT_LABEL},
};
use axum::{
    Router,
    extract::{
        ConnectInfo, FromRequestParts, Query, State, WebSocketUpgrade,
        ws::rejection::WebSocketUpgradeRejection,
    },
    http::{HeaderMap, request::Parts},
    response::Response,
    routing::{MethodRouter, get},
};
use client::{ClientConfig, Joined, Resync};
use futures::FutureExt;
use limits::{Limiter, Permit, Refusal};
use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use upstream::container_logs::LogSource;

/// `{id}` of a container's stream, with or without the engine prefix.
#[derive(serde::Deserialize)]
pub struct ContainerRef {
    pub id: String,
}

/// `{id}` of a swarm service's logs (an id, id prefix or name).
#[derive(serde::Deserialize)]
pub struct ServiceRef {
    pub id: String,
}

/// `{name}` of a project's logs.
#[derive(serde::Deserialize)]
pub struct ProjectRef {
    pub name: String,
}

pub const MAX_TAIL: usize = 10_000;
pub const DEFAULT_TAIL: usize = 100;

/// What the stream endpoints share.
pub struct Sockets {
    pub registry: Arc<Registry>,
    pub limiter: Arc<Limiter>,
    pub engines: Arc<Engines>,
    pub client: ClientConfig,
    /// Peers whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Berth's own names: a browser's Origin must be one of them.
    pub hosts: Arc<AllowedHosts>,
    pub system_interval: Duration,
    pub last: Arc<upstream::last_known::LastValues>,
    pub shutdown: CancellationToken,
    /// Every client loop and upstream, so shutdown waits for their `end` and close.
    pub tasks: TaskTracker,
    /// Which signed-in session each socket belongs to.
    pub owners: Arc<owners::Owners>,
    /// The terminals: who may open them, and their counts.
    pub terminals: Arc<terminal::Terminals>,
    /// Credentials for registries, for pulls.
    pub logins: Arc<crate::registry_logins::RegistryLogins>,
}

/// A stream route: GET only, anything else 405 with a JSON body like every other error.
fn stream<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: axum::handler::Handler<T, AppState>,
    T: 'static,
{
    get(handler)
        .fallback(|| async { Error::new(405, "method not allowed: streams are opened with GET") })
}

/// The streams: each engine's under `/ws/engines/{engine}`, the same without the prefix for
/// the default engine, and the host's (Berth's machine).
pub fn routes() -> Router<AppState> {
    Router::new()
        .nest("/ws/engines/{engine}", engine_routes())
        .nest("/ws", engine_routes())
        .route("/ws/system/stats", stream(system_stats))
}

fn engine_routes() -> Router<AppState> {
    Router::new()
        .route("/containers", stream(container_list))
        .route("/containers/{id}/logs", stream(container_logs))
        .route("/containers/{id}/stats", stream(container_stats))
        .route("/projects/{name}/logs", stream(project_logs))
        .route("/services/{id}/logs", stream(service_logs))
        .route("/swarm", stream(swarm_updates))
        .route("/images/pull", stream(image_pull))
        .route("/stacks/{name}/runs/{n}", stream(stack_run::open))
        .route("/updates/runs/{n}", stream(update_run::open))
        .route("/containers/{id}/exec", stream(terminal::open))
}

type Upgrade = Result<WebSocketUpgrade, WebSocketUpgradeRejection>;
type Params = Query<HashMap<String, String>>;

fn tail(params: &HashMap<String, String>) -> Result<usize, Error> {
    match params.get("tail") {
        None => Ok(DEFAULT_TAIL),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_TAIL)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "tail must be a whole number from 0 to {MAX_TAIL}, not {v:?}"
                ))
            }),
    }
}

fn flag(params: &HashMap<String, String>, name: &str) -> Result<bool, Error> {
    match params.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(Error::bad_request(format!(
            "{name} must be true or false, not {v:?}"
        ))),
    }
}

/// What an admitted socket holds until it ends.
struct Admitted {
    permit: Permit,
    /// Its session, when opened by a signed-in browser.
    ownership: Option<owners::Ownership>,
}

/// Origin, then the per-address and global limits; the socket is registered under the
/// caller's session.
/// Who asks for a socket: the peer, the headers (Origin, X-Forwarded-For) and the signed-in
/// caller, if any. One extractor, so a stream route names it once.
pub struct Asking {
    headers: HeaderMap,
    peer: SocketAddr,
    caller: Option<Caller>,
}

impl<S: Send + Sync> FromRequestParts<S> for Asking {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| Error::new(500, "no peer address on the connection"))?;
        Ok(Self {
            headers: parts.headers.clone(),
            peer,
            caller: parts.extensions.get::<Caller>().cloned(),
        })
    }
}

fn admit(sockets: &Sockets, asking: Asking, kind: StreamKind) -> Result<Admitted, Error> {
    let Asking {
        headers,
        peer,
        caller,
    } = asking;
    let user = caller.as_ref().map(|c| c.name.as_str());
    let permit = limit(sockets, &headers, peer, kind, user)?;
    let ownership = caller.and_then(|caller| {
        let session = caller.session?;
        Some(sockets.owners.own(&session, &caller.name, caller.role))
    });
    Ok(Admitted { permit, ownership })
}

fn limit(
    sockets: &Sockets,
    headers: &HeaderMap,
    peer: SocketAddr,
    kind: StreamKind,
    user: Option<&str>,
) -> Result<Permit, Error> {
    sockets
        .hosts
        .check_origin(headers)
        .inspect_err(|_| sockets.limiter.count_origin_rejection())?;
    let ip = crate::client_addr::client_ip(peer.ip(), headers, &sockets.trusted_proxies);
    sockets.limiter.acquire(ip, kind, user).map_err(|refusal| {
        let message = match refusal {
            Refusal::PerIp { limit } => {
                format!("too many {kind} connections from {ip}: the limit is {limit} per address")
            }
            Refusal::PerUser { limit } => format!(
                "too many live connections for {}: the limit is {limit} per user",
                user.unwrap_or_default()
            ),
            Refusal::PerUserKind { limit } => format!(
                "too many {kind} connections for {}: the limit is {limit} per user",
                user.unwrap_or_default()
            ),
            Refusal::Global { limit } => {
                format!("too many live connections: the server's limit is {limit}")
            }
        };
        Error::new(429, message)
    })
}

/// Read buffer per socket, and the largest message a client may send (pings, pongs and close
/// frames are at most 125 bytes; anything bigger is not a Berth client).
const READ_BUFFER: usize = 4 * 1024;
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

fn upgraded(upgrade: Upgrade) -> Result<WebSocketUpgrade, Error> {
    upgrade.map_err(|e| {
        Error::new(
            426,
            format!("expected a WebSocket upgrade: {}", e.body_text()),
        )
    })
}

/// A log viewer's place: its exact `tail`, counted back from where the hub's first history
/// ended when it joined a hub still starting; when the hub holds fewer than `tail` lines,
/// the older ones of `sources` are fetched for it alone (see [`upstream::history`]), within
/// its history budget.
fn with_history(
    subscription: Subscription,
    tail: usize,
    api: LogsApi,
    sources: impl Future<Output = Vec<LogSource>> + Send + 'static,
) -> Joined {
    let budget = subscription.registry().config().history_bytes();
    let prelude: client::Prelude = Box::new(move |subscription: &mut Subscription| {
        async move {
            subscription.cursor.settle(tail).await;
            let (backlog, complete) = subscription.cursor.backlog();
            let seams = subscription.seams();
            let Some(gap) = Gap::of(&backlog, complete, subscription.hub_tail(), tail, &seams)
            else {
                return Vec::new();
            };
            let sources = sources.await;
            gap.fetch(&api, &sources, budget).await.frames()
        }
        .boxed()
    });
    Joined {
        subscription,
        prelude: Some(prelude),
        resync: None,
    }
}

fn forward(
    upgrade: WebSocketUpgrade,
    sockets: Arc<Sockets>,
    admitted: Admitted,
    join: impl FnOnce(&Arc<Registry>) -> Joined + Send + 'static,
) -> Response {
    let Admitted { permit, ownership } = admitted;
    upgrade
        // Clients only ever send pongs and a close: tungstenite's default 128 KiB read
        // buffer per socket was most of a client's memory (`make bench`, figure 3).
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_failed_upgrade(|e| tracing::debug!("WebSocket upgrade failed: {e}"))
        .on_upgrade(move |socket| {
            let tasks = sockets.tasks.clone();
            tasks.track_future(async move {
                client::run(
                    socket,
                    join(&sockets.registry),
                    permit,
                    ownership,
                    sockets.client.clone(),
                    sockets.shutdown.clone(),
                )
                .await;
            })
        })
}

/// How long a new list client waits for a list hub that has just started to read the list.
const LIST_WAIT: Duration = Duration::from_secs(10);

/// An engine's containers: the current list, then each change. Starts (or joins) the one
/// list hub of the engine.
async fn container_list(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    asking: Asking,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let admitted = admit(&sockets, asking, StreamKind::ContainerList)?;
    // The engine's 503 now, rather than a socket that ends at once.
    on.engine.client()?;
    let upgrade = upgraded(upgrade)?;
    let list = on.containers.clone();
    Ok(forward(upgrade, sockets, admitted, move |_| {
        let subscription = list.subscribe(Who::Socket);
        let resync_list = list.clone();
        let resync: Resync =
            Arc::new(move || resync_list.snapshot_now().map(|s| client::text(&s.frame())));
        // Joined first, then the snapshot: changes after it carry higher versions, the
        // ones it already has are skipped by the client.
        let prelude: client::Prelude = Box::new(move |_: &mut Subscription| {
            async move {
                list.snapshot(LIST_WAIT)
                    .await
                    .map(|s| vec![client::text(&s.frame())])
                    .unwrap_or_default()
            }
            .boxed()
        });
        Joined {
            subscription,
            prelude: Some(prelude),
            resync: Some(resync),
        }
    }))
}

async fn container_logs(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    asking: Asking,
    PathParam(ContainerRef { id }): PathParam<ContainerRef>,
    Query(params): Params,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let tail = tail(&params)?;
    // Lines always carry their timestamp now (history is spliced by it); the flag is still
    // checked so a client that sends garbage hears about it.
    flag(&params, "timestamps")?;
    let admitted = admit(&sockets, asking, StreamKind::ContainerLogs)?;
    let source = upstream::container_logs::source(&on.engine, &id).await?;
    let upgrade = upgraded(upgrade)?;
    let docker = on.engine.client()?;
    let api = on.engine.logs_api()?;
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        let subscription = upstream::container_logs::subscribe(
            registry,
            Who::Socket,
            &on.name,
            docker,
            api.clone(),
            source.clone(),
            tail,
        );
        with_history(subscription, tail, api, async move { vec![source] })
    }))
}

async fn container_stats(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    asking: Asking,
    PathParam(ContainerRef { id }): PathParam<ContainerRef>,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let admitted = admit(&sockets, asking, StreamKind::ContainerStats)?;
    let source = upstream::container_logs::source(&on.engine, &id).await?;
    let upgrade = upgraded(upgrade)?;
    let docker = on.engine.client()?;
    let last = on.container_stats.clone();
    let key = HubKey::ContainerStats {
        engine: on.name.clone(),
        container: source.id.clone(),
    };
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        registry
            .subscribe(key, 1, move |publisher| {
                upstream::container_stats::run(docker, source.id, publisher, last)
            })
            .into()
    }))
}

async fn project_logs(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    asking: Asking,
    PathParam(ProjectRef { name }): PathParam<ProjectRef>,
    Query(params): Params,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    model::validate_project_name(&name)?;
    let tail = tail(&params)?;
    flag(&params, "timestamps")?;
    let admitted = admit(&sockets, asking, StreamKind::ProjectLogs)?;
    let docker = on.engine.client()?;
    let members = upstream::project_logs::members(&docker, &name, false)
        .await
        .map_err(|e| on.engine.error(e))?;
    if members.is_empty() {
        return Err(Error::not_found(format!(
            "no compose project named {name}: no container has the label {COMPOSE_PROJECT_LABEL}={name}"
        )));
    }
    let upgrade = upgraded(upgrade)?;
    let api = on.engine.logs_api()?;
    let key = HubKey::ProjectLogs {
        engine: on.name.clone(),
        project: name.clone(),
    };
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        let (hub_docker, hub_api, hub_name) = (docker.clone(), api.clone(), name.clone());
        let events = upstream::project_logs::EventSource {
            registry: registry.clone(),
            name: on.name.clone(),
            engine: on.engine.clone(),
        };
        let subscription = registry.subscribe(key, tail, move |publisher| {
            upstream::project_logs::run(hub_docker, hub_api, hub_name, tail, events, publisher)
        });
        // The members running now: the ones the hub follows.
        let sources = async move {
            upstream::project_logs::members(&docker, &name, true)
                .await
                .unwrap_or_default()
        };
        with_history(subscription, tail, api, sources)
    }))
}

/// A swarm service's merged log: one hub per service, the tail from the engine (the ring
/// holds what came since).
async fn service_logs(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    asking: Asking,
    PathParam(ServiceRef { id }): PathParam<ServiceRef>,
    Query(params): Params,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    model::validate_service_ref(&id)?;
    let tail = tail(&params)?;
    flag(&params, "timestamps")?;
    let admitted = admit(&sockets, asking, StreamKind::ServiceLogs)?;
    let docker = on.engine.client()?;
    let found = crate::docker::swarm::service_detail(&docker, &id).await?;
    let upgrade = upgraded(upgrade)?;
    let api = on.engine.logs_api()?;
    let source = upstream::service_logs::ServiceSource {
        id: found.service.id,
        name: found.service.name,
    };
    let key = HubKey::ServiceLogs {
        engine: on.name.clone(),
        service: source.id.clone(),
    };
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        registry
            .subscribe(key, tail, move |publisher| {
                upstream::service_logs::run(docker, api, source, tail, publisher)
            })
            .into()
    }))
}

/// A swarm, live (nodes, services, tasks): one hub per manager engine for every viewer;
/// 404 on an engine that manages none, before any upgrade.
async fn swarm_updates(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    asking: Asking,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let admitted = admit(&sockets, asking, StreamKind::SwarmUpdates)?;
    let docker = on.engine.client()?;
    let (manager, _) = crate::docker::swarm::standing(&docker)
        .await
        .map_err(|e| on.engine.error(e))?;
    if !manager {
        return Err(Error::not_found("this engine manages no swarm"));
    }
    let upgrade = upgraded(upgrade)?;
    let key = HubKey::SwarmUpdates {
        engine: on.name.clone(),
    };
    let engine = on.engine.clone();
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        registry
            .subscribe(key, 1, move |publisher| {
                upstream::swarm_updates::run(engine, publisher)
            })
            .into()
    }))
}

/// Pulls `?ref=NAME[:TAG]` on the engine, with its progress: operators only (a pull changes
/// what the engine keeps). Viewers of the same reference share one pull; the last one out
/// cancels it. Audited as `image.pull` once, with how it ended, by whoever started it.
async fn image_pull(
    State(sockets): State<Arc<Sockets>>,
    OnEngine(on): OnEngine,
    actor: crate::http::api::actions::Actor,
    asking: Asking,
    Query(params): Params,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let reference = params
        .get("ref")
        .ok_or_else(|| Error::bad_request("ref=NAME[:TAG] names the image to pull"))?;
    app::resources::validate_image_ref(reference)?;
    let reference = upstream::image_pull::with_tag(reference);
    let admitted = admit(&sockets, asking, StreamKind::ImagePull)?;
    let registry = crate::updates::ImageName::parse(&reference).map(|name| name.registry);
    let login = match registry {
        Some(registry) => {
            let endpoint = on.engine.endpoint();
            sockets.logins.for_registry(&registry, endpoint).await
        }
        None => None,
    };
    let docker = on.engine.client()?;
    let upgrade = upgraded(upgrade)?;
    let key = HubKey::ImagePull {
        engine: on.name.clone(),
        reference: reference.clone(),
    };
    let target = format!("{}/{reference}", on.name);
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        // Everything so far: a viewer who joins sees the layers already done.
        let history = registry.config().ring;
        let tasks = registry.tasks().clone();
        registry
            .subscribe(key, history, move |publisher| {
                // Only the viewer whose request starts the pull gets here.
                let audit = PullAudit {
                    actor: Some(actor),
                    target,
                    tasks,
                };
                async move {
                    let (ending, pulled) =
                        upstream::image_pull::run(docker, reference, login, publisher).await;
                    audit.finished(pulled, &ending.reason).await;
                    ending
                }
            })
            .into()
    }))
}

/// A pull's audit entry, written once when it ends: by itself (pulled or failed), or
/// cancelled (its last viewer left, or Berth shut down), which `Drop` writes.
struct PullAudit {
    actor: Option<crate::http::api::actions::Actor>,
    target: String,
    tasks: TaskTracker,
}

impl PullAudit {
    async fn finished(mut self, pulled: bool, how: &str) {
        if let Some(actor) = self.actor.take() {
            let target = match pulled {
                true => self.target.clone(),
                false => format!("{}: {how}", self.target),
            };
            actor.record("image.pull", &target, pulled).await;
        }
    }
}

impl Drop for PullAudit {
    fn drop(&mut self) {
        if let Some(actor) = self.actor.take() {
            let target = format!("{}: cancelled", self.target);
            if tokio::runtime::Handle::try_current().is_ok() {
                self.tasks.spawn(async move {
                    actor.record("image.pull", &target, false).await;
                });
            }
        }
    }
}

async fn system_stats(
    State(sockets): State<Arc<Sockets>>,
    asking: Asking,
    upgrade: Upgrade,
) -> Result<Response, Error> {
    let admitted = admit(&sockets, asking, StreamKind::SystemStats)?;
    let upgrade = upgraded(upgrade)?;
    let interval = sockets.system_interval;
    let last = sockets.last.clone();
    // The interval is Berth's (a flag), not the client's: one hub for every viewer.
    let key = HubKey::SystemStats;
    Ok(forward(upgrade, sockets, admitted, move |registry| {
        registry
            .subscribe(key, 1, move |publisher| {
                upstream::system_stats::run(interval, publisher, last)
            })
            .into()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_flags() {
        let params = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(tail(&HashMap::new()), Ok(DEFAULT_TAIL));
        assert_eq!(tail(&params("tail", "0")), Ok(0));
        assert_eq!(tail(&params("tail", "10000")), Ok(10_000));
        for bad in ["10001", "-1", "x", ""] {
            assert_eq!(
                tail(&params("tail", bad)).unwrap_err().status(),
                400,
                "{bad}"
            );
        }
        assert_eq!(flag(&params("timestamps", "true"), "timestamps"), Ok(true));
        assert_eq!(
            flag(&params("timestamps", "yes"), "timestamps")
                .unwrap_err()
                .status(),
            400
        );
    }
}
