//! The HTTP edge: every request Berth answers, and the layers each passes.
//!
//! - [`router`]: the application, its layers in order (tracing, [`security_headers`],
//!   [`hosts`], [`paths`], [`request_body`], [`gate`]'s cross-site check and caller look-up,
//!   then [`doors`], the authorization table); [`AppState`], what every handler is given.
//! - [`serve`]: the accept loop ([`connection`]: first bytes, idle close) and the drained
//!   shutdown.
//! - [`api`]: the JSON API (`/api/...`); [`ws`]: the WebSocket endpoints, their admission
//!   and the client loop (`ws/client.rs`) that forwards a hub's frames; [`site`]: pages and static files;
//!   [`metrics`]: `/metrics`.
//! - [`extract`]: what handlers take from a request (the engine it is about, …);
//!   [`attempts`]: sign-in limits.

pub mod api;
pub mod attempts;
pub mod connection;
pub mod doors;
pub mod extract;
pub mod gate;
pub mod hosts;
pub mod metrics;
pub mod paths;
pub mod request_body;
pub mod security_headers;
pub mod serve;
pub mod site;
pub mod ws;

pub use serve::{ServeOptions, serve};

use crate::{
    docker::{EngineName, engine::Engine},
    engines::Engines,
    live::{hub, upstream},
};
use app::{App, shell};
use axum::{Router, extract::FromRef};
use leptos::prelude::{LeptosOptions, provide_context};
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use std::{sync::Arc, time::Duration};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

/// What the application is made from, each group defined by the module it configures
/// (`berth --help` shows them under their headings).
#[derive(clap::Args, Debug, Clone)]
pub struct Settings {
    #[command(flatten)]
    pub serve: serve::ServeSettings,
    #[command(flatten)]
    pub hubs: hub::HubSettings,
    #[command(flatten)]
    pub sockets: ws::settings::SocketSettings,
    #[command(flatten)]
    pub accounts: crate::accounts::AccountSettings,
    #[command(flatten)]
    pub identity: crate::accounts::policy::IdentitySettings,
    #[command(flatten)]
    pub stacks: crate::stacks::StackSettings,
    #[command(flatten)]
    pub updates: crate::updates::UpdateSettings,
    #[command(flatten)]
    pub secrets: crate::registry_logins::SecretSettings,
    #[command(flatten)]
    pub alerts: crate::alerts::AlertSettings,
}

impl Settings {
    /// Values no flag's parser can refuse alone: zeros, and settings that contradict.
    pub fn check(&self) -> Result<(), String> {
        // In the order the flags were checked before they were grouped.
        let positive = [
            self.sockets.positive(),
            self.serve.positive(),
            self.accounts.positive(),
        ];
        if let Some((flag, _)) = positive.iter().flatten().find(|(_, v)| *v == 0) {
            return Err(format!("{flag} must be above zero"));
        }
        self.sockets.check()?;
        self.identity.check(
            self.accounts.auth,
            &self.serve.trusted_proxies,
            self.accounts.public_url.as_deref(),
        )?;
        self.hubs.check()
    }
}

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub sockets: Arc<ws::Sockets>,
    pub metrics: metrics::Metrics,
    pub hosts: Arc<hosts::AllowedHosts>,
    /// Sign-in; `None` with `--auth off`.
    pub auth: Option<Arc<gate::Auth>>,
    /// How long a request's body may take to arrive.
    pub body_timeout: Duration,
    /// The compose stacks' folders.
    pub stacks: Arc<crate::stacks::Stacks>,
    /// Image updates: what the checks found, and their schedule.
    pub updates: Arc<crate::updates::Updates>,
    /// Registry credentials, for checks and pulls.
    pub logins: Arc<crate::registry_logins::RegistryLogins>,
    /// The database: accounts (with sign-in), and what Berth keeps across restarts.
    pub store: crate::store::Store,
    /// Alert rules, channels and their history.
    pub alerts: Arc<crate::alerts::Alerts>,
}

impl AppState {
    /// `shutdown` stops every upstream and closes every socket (with 1001) when cancelled;
    /// `tasks` is where everything the application starts runs (the engines' supervisors
    /// already do), so shutdown can wait for all of it. `leptos_options.site_addr` is the
    /// address actually served (its port is part of every allowed host).
    /// One engine, named `local`.
    pub fn new(
        leptos_options: LeptosOptions,
        engine: Arc<Engine>,
        settings: &Settings,
        store: crate::store::Store,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let engines = vec![(Engines::local(), engine)];
        Self::with_engines(leptos_options, engines, settings, store, shutdown, tasks)
    }

    /// Several engines, the first the default.
    pub fn with_engines(
        leptos_options: LeptosOptions,
        engines: Vec<(EngineName, Arc<Engine>)>,
        settings: &Settings,
        store: crate::store::Store,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let hosts =
            hosts::AllowedHosts::new(leptos_options.site_addr, &settings.serve.allowed_hosts);
        let names: Vec<_> = engines.iter().map(|(name, _)| name.clone()).collect();
        let registry = hub::Registry::new(
            settings.hubs.config(),
            &names,
            shutdown.clone(),
            tasks.clone(),
        );
        let limiter = ws::limits::Limiter::new(settings.sockets.limits());
        let last = Arc::new(upstream::last_known::LastValues::default());
        let engines = Arc::new(Engines::new(engines, last.clone(), &registry));
        let logins = Arc::new(crate::registry_logins::RegistryLogins::new(
            store.clone(),
            &settings.secrets,
        ));
        let sockets = Arc::new(ws::Sockets {
            registry: registry.clone(),
            limiter: limiter.clone(),
            engines: engines.clone(),
            client: settings.sockets.client_config(),
            trusted_proxies: settings.serve.trusted_proxies.clone(),
            hosts: hosts.clone(),
            system_interval: settings.hubs.system_interval(),
            last: last.clone(),
            shutdown,
            tasks,
            owners: Default::default(),
            terminals: ws::terminal::Terminals::new(settings.sockets.terminal_policy()),
            logins: logins.clone(),
        });
        let alerts = crate::alerts::Alerts::start(
            sockets.engines.clone(),
            sockets.registry.clone(),
            (store.clone(), logins.sealer()),
            &settings.alerts,
            &sockets.tasks,
            sockets.shutdown.clone(),
        );
        let metrics = metrics::Metrics::new(
            registry,
            limiter,
            sockets.terminals.clone(),
            alerts.counts(),
        );
        let stacks = crate::stacks::Stacks::new(
            &settings.stacks,
            sockets.registry.clone(),
            sockets.tasks.clone(),
            sockets.shutdown.clone(),
        );
        let updates = crate::updates::Updates::start(
            sockets.engines.clone(),
            &settings.updates,
            (store.clone(), settings.accounts.audit_keep()),
            sockets.registry.clone(),
            (stacks.clone(), logins.clone()),
            sockets.tasks.clone(),
            sockets.shutdown.clone(),
        );
        Self {
            leptos_options,
            sockets,
            metrics,
            alerts,
            hosts,
            auth: None,
            body_timeout: Duration::from_millis(settings.serve.body_timeout_ms),
            stacks,
            updates,
            logins,
            store,
        }
    }

    /// Requires signing in, through `auth`; starts the sweep that ends the sockets of
    /// sessions ended elsewhere, and the one that deletes expired sessions (both stop at
    /// shutdown).
    pub fn with_auth(mut self, auth: gate::Auth) -> Self {
        let sweep = self.sockets.owners.clone().sweep(
            auth.store.clone(),
            auth.policy,
            self.sockets.shutdown.clone(),
        );
        self.sockets.tasks.spawn(sweep);
        let expired = crate::accounts::sessions::sweep_until(
            auth.store.clone(),
            auth.policy,
            self.sockets.shutdown.clone(),
        );
        self.sockets.tasks.spawn(expired);
        self.auth = Some(Arc::new(auth));
        self
    }

    /// Every task the application spawns: socket clients, upstreams, connections, sweeps.
    pub fn tasks(&self) -> &TaskTracker {
        &self.sockets.tasks
    }
}

/// The whole HTTP application. Every request passes, in order: tracing, the security
/// headers (added to every answer, refusals included), the Host check, the refusal of
/// ambiguous paths, the body deadline, the cross-site check, the look-up of its caller, and
/// the authorization table (for the route it matched, or the fallback's own
/// check). Each is a `Router::layer`, so it runs for every route and for the fallback.
pub fn router(state: AppState) -> Router {
    let (api, reads) = api::routes(
        state.sockets.engines.clone(),
        state.stacks.clone(),
        state.updates.clone(),
    );
    let accounts = state.auth.is_some();
    let auth = state.auth.clone();
    let terminals = state.sockets.terminals.clone();
    let context = move || {
        // Who the gate let in, for the pages (`api::me`).
        let caller =
            leptos::prelude::use_context::<axum::http::request::Parts>().and_then(|parts| {
                parts
                    .extensions
                    .get::<crate::accounts::sessions::Caller>()
                    .cloned()
            });
        // Nothing about engines or containers before sign-in: a page rendered for nobody
        // (sign-in, setup) has no engines to ask.
        // Nor for someone who must set up a second factor first (their account page).
        if !accounts || caller.as_ref().is_some_and(|c| !c.second_factor_due) {
            provide_context(reads.clone());
        }
        provide_context(api::signin::me_of(auth.as_deref(), caller, &terminals));
        // This page's inline scripts carry Leptos's nonce; its policy names it, and where
        // signing out may send the browser on to (a provider's or a proxy's sign-out).
        let form_targets = auth
            .as_deref()
            .map(gate::Auth::sign_out_origins)
            .unwrap_or_default();
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        ) && let Ok(policy) = axum::http::HeaderValue::from_str(&security_headers::page_policy(
            Some(&nonce),
            &form_targets,
        )) {
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
        .merge(api)
        .merge(ws::routes())
        .route("/metrics", axum::routing::get(metrics::handler))
        .leptos_routes_with_context(
            &state,
            generate_route_list(App),
            context.clone(),
            move || shell(options.clone()),
        )
        .fallback(fallback)
        // `--oidc-auto-redirect`: the sign-in page is the provider's.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::oidc::auto_redirect,
        ))
        // Then: who may use the matched route (the fallback decides for itself).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            doors::authorize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::authenticate,
        ))
        // No state change from another site.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::same_origin,
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
