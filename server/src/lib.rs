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
//! - `doors`: the authorization table, every route's row, and the check that enforces it;
//!   `paths`: paths spelled two ways refused before anything; `security_headers`: CSP and
//!   the other headers every answer carries.
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
pub mod connection;
pub mod docker;
pub mod doors;
pub mod engines;
pub mod error;
pub mod health_check;
pub mod hosts;
pub mod hub;
pub mod inventory;
pub mod metrics;
pub mod objects_api;
pub mod paths;
pub mod request_body;
pub mod security_headers;
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
    /// How long a request's body may take to arrive.
    pub body_timeout: Duration,
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
            body_timeout: Duration::from_millis(settings.body_timeout_ms),
        }
    }

    /// Requires signing in, through `auth`; starts the sweep that ends the sockets of
    /// sessions ended elsewhere, and the one that deletes expired sessions (both stop at
    /// shutdown).
    pub fn with_auth(mut self, auth: accounts::gate::Auth) -> Self {
        let sweep = self.streams.owners.clone().sweep(
            auth.store.clone(),
            auth.policy,
            self.streams.shutdown.clone(),
        );
        self.streams.tasks.spawn(sweep);
        let expired = accounts::sessions::sweep_until(
            auth.store.clone(),
            auth.policy,
            self.streams.shutdown.clone(),
        );
        self.streams.tasks.spawn(expired);
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
    /// Time a client has to send its first bytes, then its request headers.
    pub header_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for connections, sessions and upstreams.
    pub drain: Duration,
    pub tasks: TaskTracker,
}

impl ServeOptions {
    pub fn new(settings: &config::Settings, state: &AppState) -> Self {
        Self {
            header_timeout: Duration::from_millis(settings.header_timeout_ms),
            idle_timeout: Duration::from_millis(settings.idle_timeout_ms),
            max_connections: settings.max_connections,
            drain: settings.shutdown_drain(),
            tasks: state.tasks().clone(),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits (at most
/// `options.drain`) for every tracked task: connections, and the sessions that say `end` and
/// close with 1001 on the same signal, which axum's own `serve` stops tracking once upgraded.
/// At most `options.max_connections` connections are served at once (more wait to be
/// accepted), and none keeps its slot by doing nothing ([`connection`]): a client gets
/// `options.header_timeout` for its first bytes and then its headers, and a connection
/// with nothing in progress for `options.idle_timeout` is closed, as at shutdown (what is
/// in progress finishes first).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
    options: ServeOptions,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::conn::auto::Builder,
    };
    use tower::{Service, ServiceExt};

    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    // A peer that stops answering pings is gone; one that answers but asks nothing is idle.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(options.idle_timeout / 2))
        .keep_alive_timeout(options.header_timeout);
    let builder = Arc::new(builder);
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
        let (builder, shutdown, options_) = (builder.clone(), shutdown.clone(), options.clone());
        options.tasks.spawn(async move {
            let _slot = slot;
            let stream = tokio::select! {
                first = connection::first_bytes(stream, options_.header_timeout, options_.idle_timeout) => match first {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::debug!(%peer, "connection closed before a request: {e}");
                        return;
                    }
                },
                () = shutdown.cancelled() => return,
            };
            let activity = connection::Activity::new();
            let counted = activity.clone();
            let hyper_service = hyper::service::service_fn(move |request| {
                let in_flight = counted.begin();
                let answer = tower_service.clone().oneshot(request);
                async move {
                    let answered = answer.await;
                    drop(in_flight);
                    answered
                }
            });
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
            tokio::pin!(connection);
            let mut closing = false;
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, "connection ended: {e}");
                        }
                        break;
                    }
                    () = shutdown.cancelled(), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = activity.idle_for(options_.idle_timeout), if !closing => {
                        tracing::debug!(%peer, "closing an idle connection");
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        });
    }
    drop(listener);
    let tasks = options.tasks.clone();
    tasks.close();
    if tokio::time::timeout(options.drain, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} tasks still running {:?} after shutdown began; exiting anyway",
            tasks.len(),
            options.drain
        );
    }
    Ok(())
}

/// The whole HTTP application. Every request passes, in order: tracing, the security
/// headers (added to every answer, refusals included), the Host check, the refusal of
/// ambiguous paths, the body deadline, the cross-site check, the look-up of its caller, and
/// the authorization table (for the route it matched, or the fallback's own
/// check). Each is a `Router::layer`, so it runs for every route and for the fallback.
pub fn router(state: AppState) -> Router {
    let directory = state.directory.clone();
    let accounts = state.auth.is_some();
    let terminals = state.streams.terminals.clone();
    let context = move || {
        // Who the gate let in, for the pages (`api::me`).
        let caller =
            leptos::prelude::use_context::<axum::http::request::Parts>().and_then(|parts| {
                parts
                    .extensions
                    .get::<accounts::sessions::Caller>()
                    .cloned()
            });
        // Nothing about engines or containers before sign-in: a page rendered for nobody
        // (sign-in, setup) has no engines to ask.
        if !accounts || caller.is_some() {
            provide_context(directory.clone());
        }
        provide_context(signin::me_of(accounts, caller, &terminals));
        // This page's inline scripts carry Leptos's nonce; its policy names it.
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        ) && let Ok(policy) =
            axum::http::HeaderValue::from_str(&security_headers::page_policy(Some(&nonce)))
        {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    };
    let options = state.leptos_options.clone();
    let pages = file_and_error_handler_with_context::<AppState, _>(context.clone(), shell);
    let fallback = move |axum::extract::State(state): axum::extract::State<AppState>,
                         request: axum::extract::Request| {
        let pages = pages.clone();
        async move {
            site::fallback(state, request, move |state, request| {
                let uri = request.uri().clone();
                pages(uri, axum::extract::State(state), request)
            })
            .await
        }
    };
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
        .fallback(fallback)
        // Innermost: who may use the matched route (the fallback decides for itself).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            doors::authorize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounts::gate::authenticate,
        ))
        // No state change from another site.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            accounts::gate::same_origin,
        ))
        // A body that never arrives holds nothing for long.
        .layer(axum::middleware::from_fn_with_state(
            state.body_timeout,
            request_body::deadline,
        ))
        .layer(axum::middleware::from_fn(paths::refuse_ambiguous))
        // Outermost but for headers and tracing: no route, page, socket or file is reached under a host
        // name that is not Berth's own.
        .layer(axum::middleware::from_fn_with_state(
            state.hosts.clone(),
            hosts::check_host,
        ))
        // Every answer, refusals of the layers above included, forbids framing and sniffing.
        .layer(axum::middleware::from_fn(security_headers::add))
        // A 503 while the engine is down is an expected answer, not a server failure.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}
