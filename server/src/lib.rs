//! Berth's server: the axum application (pages rendered by Leptos, the JSON API, the
//! compiled site's static files) over one supervised Docker engine connection.

pub mod api;
pub mod config;
pub mod engine;
pub mod inventory;
pub mod site;

use app::{App, api::SharedBackend, shell};
use axum::{Router, extract::FromRef};
use engine::Engine;
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use std::sync::Arc;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub backend: SharedBackend,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, engine: Arc<Engine>) -> Self {
        Self {
            leptos_options,
            backend: Arc::new(inventory::Inventory::new(engine)),
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
