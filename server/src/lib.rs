//! Berth's server: the axum application (pages rendered by Leptos, the JSON API, the
//! compiled site's static files) over one supervised Docker engine connection.

pub mod api;
pub mod config;
pub mod engine;
pub mod hub;
pub mod inventory;
pub mod metrics;
pub mod site;
pub mod upstream;
pub mod ws;

use app::{App, api::SharedBackend, shell};
use axum::{Router, extract::FromRef};
use engine::Engine;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub backend: SharedBackend,
    pub streams: Arc<ws::Streams>,
    pub metrics: metrics::Metrics,
}

impl AppState {
    /// `shutdown` stops every upstream and closes every socket (with 1001) when cancelled.
    pub fn new(
        leptos_options: LeptosOptions,
        engine: Arc<Engine>,
        settings: &config::StreamSettings,
        shutdown: CancellationToken,
    ) -> Self {
        let registry = hub::Registry::new(settings.hub_config(), shutdown.clone());
        let limiter = ws::limits::Limiter::new(settings.limits());
        let last = Arc::new(upstream::last_known::LastValues::default());
        let streams = Arc::new(ws::Streams {
            registry: registry.clone(),
            limiter: limiter.clone(),
            engine: engine.clone(),
            session: settings.session_config(),
            trusted_proxies: settings.trusted_proxies.clone(),
            allowed_origins: settings.allowed_origins.clone(),
            system_interval: std::time::Duration::from_millis(settings.system_interval_ms),
            last: last.clone(),
            shutdown,
        });
        Self {
            leptos_options,
            backend: Arc::new(inventory::Inventory::new(engine, last)),
            streams,
            metrics: metrics::Metrics::new(registry, limiter),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then gives open connections
/// (sockets close themselves with 1001 on the same signal) at most `drain` to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
    drain: std::time::Duration,
) -> std::io::Result<()> {
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server =
        axum::serve(listener, service).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let server = tokio::spawn(async move { server.await });
    shutdown.cancelled().await;
    match tokio::time::timeout(drain, server).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => {
            tracing::warn!("connections still open after {drain:?}; exiting anyway");
            Ok(())
        }
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let backend = state.backend.clone();
    let context = move || provide_context(backend.clone());
    let options = state.leptos_options.clone();
    Router::new()
        .nest("/api", api::routes())
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
        // A 503 while the engine is down is an expected answer, not a server failure.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}
