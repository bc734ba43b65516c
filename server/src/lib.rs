//! Berth's server: the axum application (pages rendered by Leptos, the JSON API, the
//! compiled site's static files) over the supervised connections to the Docker engines it
//! watches.
//!
//! - `config`: flags and environment; `site`: the compiled site's options; `error`: the one
//!   error type every route answers with (the wire `ApiError` only at the edges).
//! - `hosts`: which Host and Origin Berth answers (DNS rebinding); `client_addr`: who a
//!   client is, for limits.
//! - `docker`: Docker access apart from HTTP: `docker::engine`, the supervised connection;
//!   `docker::dial`, how it is reached (unix, TCP, TLS, SSH); `docker::mapping`, bollard's
//!   types as the shared model; `docker::swarm`, a swarm's nodes, services and tasks.
//!   `inventory`: the pages' and the API's [`app::api::Backend`] over them; `engines`: every
//!   engine by name with its context (`engines::config`: the engines file and flags), the
//!   extractor that finds a request's, and the pages' directory of engines; `api`: the JSON
//!   API; `actions`: starting, stopping, removing… containers and projects.
//! - `hub`: the registry of live streams and their byte-bounded queues; `upstream`: what
//!   feeds a hub (Docker logs and stats, service logs, the host sampler); `ws`: admission
//!   and sessions.
//! - `metrics`: `/metrics`, read from the registry at scrape time.
//! - `store`: the accounts database (SQLite or PostgreSQL, migrations embedded);
//!   `accounts`: users, roles, password hashing, sessions, and the gate every request
//!   passes; `signin`: `/api/auth/*`; `accounts_api`: `/api/users`, `/api/tokens` and
//!   `/api/audit` for admins; `cli`: `berth user …` and `berth token …`;
//!   `health_check`: `berth health`, asking a running server.
//! - [`serve`]: the accept loop (header timeout, connection cap) and the drained shutdown.

pub mod accounts;
pub mod accounts_api;
pub mod actions;
pub mod api;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod docker;
pub mod engines;
pub mod error;
pub mod health_check;
pub mod hosts;
pub mod hub;
pub mod inventory;
pub mod metrics;
pub mod objects_api;
pub mod signin;
pub mod site;
pub mod store;
pub mod upstream;
pub mod ws;

use app::{App, api::SharedEngines, shell};
use axum::{Router, extract::FromRef};
use docker::engine::Engine;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// Every engine's backend, for the pages (the same the API reads).
    pub directory: SharedEngines,
    pub streams: Arc<ws::Streams>,
    pub metrics: metrics::Metrics,
    pub hosts: Arc<hosts::AllowedHosts>,
    /// Sign-in; `None` with `--auth off`.
    pub auth: Option<Arc<accounts::gate::Auth>>,
}

impl AppState {
    /// `shutdown` stops every upstream and closes every socket (with 1001) when cancelled.
    /// `leptos_options.site_addr` is the address actually served (its port is part of every
    /// allowed host).
    /// One engine, named `local`.
    pub fn new(
        leptos_options: LeptosOptions,
        engine: Arc<Engine>,
        settings: &config::Settings,
        shutdown: CancellationToken,
    ) -> Self {
        let engines = vec![(engines::Engines::local(), engine)];
        Self::with_engines(leptos_options, engines, settings, shutdown)
    }

    /// Several engines, the first the default.
    pub fn with_engines(
        leptos_options: LeptosOptions,
        engines: Vec<(engines::EngineName, Arc<Engine>)>,
        settings: &config::Settings,
        shutdown: CancellationToken,
    ) -> Self {
        let tasks = TaskTracker::new();
        let hosts = hosts::AllowedHosts::new(leptos_options.site_addr, &settings.allowed_hosts);
        let names: Vec<_> = engines.iter().map(|(name, _)| name.clone()).collect();
        let registry = hub::Registry::new(
            settings.hub_config(),
            &names,
            shutdown.clone(),
            tasks.clone(),
        );
        let limiter = ws::limits::Limiter::new(settings.limits());
        let last = Arc::new(upstream::last_known::LastValues::default());
        let engines = Arc::new(engines::Engines::new(engines, last.clone(), &registry));
        let streams = Arc::new(ws::Streams {
            registry: registry.clone(),
            limiter: limiter.clone(),
            engines: engines.clone(),
            session: settings.session_config(),
            trusted_proxies: settings.trusted_proxies.clone(),
            hosts: hosts.clone(),
            system_interval: Duration::from_millis(settings.system_interval_ms),
            last: last.clone(),
            shutdown,
            tasks,
            owners: Default::default(),
            terminals: ws::terminal::Terminals::new(settings.terminal_policy()),
        });
        let metrics = metrics::Metrics::new(registry, limiter, streams.terminals.clone());
        Self {
            leptos_options,
            directory: engines.clone(),
            streams,
            metrics,
            hosts,
            auth: None,
        }
    }

    /// Requires signing in, through `auth`; starts the sweep that ends the sockets of
    /// sessions ended elsewhere (it stops at shutdown).
    pub fn with_auth(mut self, auth: accounts::gate::Auth) -> Self {
        let sweep = self.streams.owners.clone().sweep(
            auth.store.clone(),
            auth.policy,
            self.streams.shutdown.clone(),
        );
        self.streams.tasks.spawn(sweep);
        self.auth = Some(Arc::new(auth));
        self
    }

    /// Every task the application spawns: sessions, upstreams, connections.
    pub fn tasks(&self) -> &TaskTracker {
        &self.streams.tasks
    }
}

/// How [`serve`] treats connections and shutdown.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Time a client has to send its request headers.
    pub header_timeout: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for connections, sessions and upstreams.
    pub drain: Duration,
    pub tasks: TaskTracker,
}

impl ServeOptions {
    pub fn new(settings: &config::Settings, state: &AppState) -> Self {
        Self {
            header_timeout: Duration::from_millis(settings.header_timeout_ms),
            max_connections: settings.max_connections,
            drain: settings.shutdown_drain(),
            tasks: state.tasks().clone(),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits (at most
/// `options.drain`) for every tracked task: connections, and the sessions that say `end` and
/// close with 1001 on the same signal, which axum's own `serve` stops tracking once upgraded.
/// A client gets `options.header_timeout` to send its headers; at most
/// `options.max_connections` connections are served at once (more wait to be accepted).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
    options: ServeOptions,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::{conn::auto::Builder, graceful::GracefulShutdown},
    };
    use tower::{Service, ServiceExt};

    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(options.max_connections));
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(tower_service) = make_service.call(peer).await;
        let hyper_service =
            hyper::service::service_fn(move |request| tower_service.clone().oneshot(request));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), hyper_service)
            .into_owned();
        let connection = graceful.watch(connection);
        options.tasks.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    let tasks = options.tasks.clone();
    tasks.close();
    let drained = async {
        graceful.shutdown().await;
        tasks.wait().await;
    };
    if tokio::time::timeout(options.drain, drained).await.is_err() {
        tracing::warn!(
            "{} tasks still running {:?} after shutdown began; exiting anyway",
            tasks.len(),
            options.drain
        );
    }
    Ok(())
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let directory = state.directory.clone();
    let accounts = state.auth.is_some();
    let terminals = state.streams.terminals.clone();
    let context = move || {
        provide_context(directory.clone());
        // Who the gate let in, for the pages (`api::me`).
        let caller =
            leptos::prelude::use_context::<axum::http::request::Parts>().and_then(|parts| {
                parts
                    .extensions
                    .get::<accounts::sessions::Caller>()
                    .cloned()
            });
        provide_context(signin::me_of(accounts, caller, &terminals));
    };
    let options = state.leptos_options.clone();
    Router::new()
        .nest(
            "/api",
            api::routes()
                .nest("/auth", signin::routes())
                .nest("/users", accounts_api::users())
                .nest("/tokens", accounts_api::tokens())
                .nest("/audit", accounts_api::audit()),
        )
        .merge(ws::routes())
        .route("/metrics", axum::routing::get(metrics::handler))
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            context.clone(),
            move || shell(options.clone()),
        )
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        // Nothing without a session (when accounts are on); no state change from another
        // site. Both run after the host check.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounts::gate::gate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounts::gate::same_origin,
        ))
        // Outermost but for tracing: no route, page, socket or file is reached under a host
        // name that is not Berth's own.
        .layer(axum::middleware::from_fn_with_state(
            state.hosts.clone(),
            hosts::check_host,
        ))
        // A 503 while the engine is down is an expected answer, not a server failure.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}
