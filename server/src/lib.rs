//! Berth's server: the axum application (pages rendered by Leptos, the JSON API, the live
//! streams over WebSocket) over the supervised connections to the Docker engines it
//! watches. [`launch`] is the one way in; `main.rs` only parses flags, binds and waits for
//! a signal.
//!
//! The layers, lowest first; each folder uses only those above it in this list:
//! - `error`: the one error type every layer returns and every route answers with;
//!   `store`: the database (SQLite or PostgreSQL, migrations embedded); `client_addr`: who a
//!   client is (its address through trusted proxies, and the key limits count it under).
//! - `docker/`: Docker access apart from HTTP: `engine`, the supervised connection; `dial`,
//!   how it is reached (unix, TCP, TLS, SSH); `raw_logs`, log streams read off the socket;
//!   `mapping`, bollard's types as the shared model; `path`, the grammar every value is
//!   checked against before it goes into a Docker API path; `name`, what Berth calls an
//!   engine; images, volumes, networks, disk, swarm, exec.
//! - `live/`: `hub`, the registry of live streams (one upstream per watched resource, fanned
//!   out through one byte-bounded queue that is also the history); `upstream`, what feeds a
//!   hub (Docker logs and stats, events, service logs, the host sampler, image pulls).
//! - `engines/`: every engine by name with its context (connection, live container list,
//!   last stats); `config`: the engines file and flags.
//! - `accounts/`: users, roles, password hashing, sessions, tokens, the audit log.
//! - `stacks/`: compose stacks as folders on disk (`folder`: reads and writes that never
//!   leave a stack's folder; `history`: its versions; `yaml`: what Berth reads of a
//!   compose file itself; `compose`: the compose CLI and its arguments; `runs`: a run of
//!   it, owned by the stack, its output through a hub (`live/upstream/stack_run.rs`);
//!   `records`: the runs kept; `plan`: what a deploy would do, by the CLI's hashes).
//! - `http/`: the edge: the router and its layers (`hosts`, `paths`, `request_body`,
//!   `gate`, `doors`: the authorization table), `serve` (the accept loop and drained
//!   shutdown), `api/` (the JSON API: `mount` mounts each endpoint `app::endpoint` declares,
//!   and serves its reads to the pages too), `ws/` (the WebSocket endpoints, their admission
//!   and the client loop), `site` (pages and files), `metrics`.
//! - `cli/`: `berth user …`, `berth token …`, `berth health`; `config`: every flag, each
//!   group defined by the module it configures and flattened here.
//!
//! A log line from Docker to the screen, by file: `docker/raw_logs.rs` reads the engine's
//! multiplexed stream → `live/upstream/lines.rs` cuts it into lines →
//! `live/upstream/container_logs.rs` follows a container (`project_logs.rs`,
//! `service_logs.rs` merge several) → `live/upstream/batch.rs` numbers lines into frames →
//! `live/hub/published.rs` writes a frame's text once → `live/hub/queue.rs` holds it for
//! every client → `http/ws/client.rs` sends it → in the browser, `app/src/live.rs` opens
//! the socket and `app/src/frames.rs` reads the frame → `app/src/log_viewer.rs` draws the
//! line.
//!
//! An endpoint of the JSON API, by file: its declaration (`endpoints!` in `app/src/model/*.rs`
//! or `app/src/resources.rs`, beside the types it carries: method, path, access, parameters,
//! query, body, answer) → its handler, mounted from the declaration (`http/api/*.rs`) → the
//! page that calls it (`app/src/pages/*.rs`, through `app::api::read` or `call`).

mod accounts;
mod alerts;
mod cli;
mod client_addr;
mod config;
mod docker;
mod engines;
mod error;
mod http;
mod live;
mod outbound;
mod registry_logins;
mod stacks;
mod store;
mod updates;
mod window;

// What the binary and the integration tests reach; everything else is private to its layer.
pub use accounts::{AccountSettings, AuthMode, groups::DefaultRole, now_ms, policy::LocalLogin};
pub use cli::Command;
pub use config::Config;
pub use docker::{
    EngineName,
    endpoint::{Endpoint, TlsFiles},
    engine::Engine,
};
pub use engines::Engines;
pub use http::{
    AppState, ServeOptions, Settings, attempts::MAX_FAILURES, gate::Auth, gate::SETUP_LIFETIME,
    hosts::HostSpec, router, serve, site::load as load_site, ws::owners::SWEEP_EVERY,
    ws::settings::ExecMode,
};
pub use live::hub::SampleFrom;
pub use store::{Location, Store};
pub use updates::{Clock, Window};

/// The authorization table, for the test that walks every route.
pub mod doors {
    pub use crate::http::doors::{Access, Kind, Row, row, rows};
}

/// Accounts as the CLI keeps them, for tests that set up users, sessions and tokens (they
/// write without the audit log: not for anything but tests).
#[doc(hidden)]
pub mod password {
    pub use crate::accounts::password::verify;
}
#[doc(hidden)]
pub mod users {
    pub use crate::accounts::users::{add, count, list, remove, set_role};
}
#[doc(hidden)]
pub mod sessions {
    pub use crate::accounts::sessions::{create, digest};
}
#[doc(hidden)]
pub mod tokens {
    pub use crate::accounts::tokens::create;
}
#[doc(hidden)]
pub mod oidc {
    pub use crate::accounts::oidc::KEY_REFETCH_AFTER;
}

use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Runs a command that is not serving (`berth user …`, `berth token …`, `berth health`).
pub async fn run_command(config: &Config, command: Command) -> Result<(), String> {
    match command {
        Command::Health => {
            let site = http::site::address_options(&config.site_config);
            cli::health::run(config.serving_address(&site)).await
        }
        command => {
            let keep = config.settings.accounts.audit_keep();
            cli::run(command, &config.store(), keep).await
        }
    }
}

/// What can be checked before anything starts: settings that contradict, and the engines
/// (flags and file).
pub fn check(config: &Config) -> Result<(), String> {
    config.settings.check()?;
    config.engines().map(drop)
}

/// Where to bind: `--bind`, else the site options' address (every address, that port, in a
/// container).
pub fn serving_address(config: &Config) -> Result<std::net::SocketAddr, String> {
    Ok(config.serving_address(&http::site::load(&config.site_config)?))
}

/// Serves Berth on `listener` until `shutdown` is cancelled, then drains: the engines'
/// supervisors, hubs, sessions and connections all run on one task tracker, born first,
/// and are all waited for (at most `--shutdown-drain-ms`).
pub async fn launch(
    mut config: Config,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let mut leptos_options = http::site::load(&config.site_config)?;
    // The port actually served (port 0 picks one): allowed hosts carry it.
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    leptos_options.site_addr = addr;
    if config.bind.is_none() && config::in_container() {
        tracing::info!(
            "in a container: serving on every address, port {} (--bind to choose)",
            addr.port()
        );
    }
    let stacks = &mut config.settings.stacks.stacks_dir;
    stacks.get_or_insert_with(|| config.data_dir.join("stacks"));
    config.settings.secrets.default_key_file = Some(config.data_dir.join("secret.key"));
    let tasks = TaskTracker::new();
    let engines: Vec<_> = config
        .engines()?
        .into_iter()
        .map(|(name, endpoint)| {
            tracing::info!(engine = %name, "watching the Docker engine at {endpoint}");
            (name, Engine::start(endpoint, shutdown.clone(), &tasks))
        })
        .collect();
    tracing::info!(
        "Berth listening on http://{addr} (site root {})",
        leptos_options.site_root
    );
    let settings = &config.settings;
    if settings.accounts.auth == AuthMode::Off && !addr.ip().is_loopback() {
        return Err(format!(
            "--auth off serves everyone who reaches {addr}: allowed only on loopback"
        ));
    }
    // A signal while the store is still being reached (a PostgreSQL that does not
    // answer) ends Berth at once, as it did before it listened for signals.
    let location = config.store();
    let store = tokio::select! {
        store = Store::open(&location) => store.map_err(|e| e.to_string())?,
        () = shutdown.cancelled() => return Ok(()),
    };
    let mut state = AppState::with_engines(
        leptos_options,
        engines,
        settings,
        store.clone(),
        shutdown.clone(),
        tasks,
    );
    match settings.accounts.auth {
        AuthMode::Off => tracing::warn!("accounts are off: whoever reaches {addr} may use Berth"),
        AuthMode::On | AuthMode::Proxy => {
            state = state.with_auth(open_accounts(&config, store, addr).await?)
        }
    }
    let options = ServeOptions::new(&settings.serve, &state);
    serve(listener, router(state), shutdown, options)
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// Sign-in over the store; when nobody has an account yet, the one-time setup link is
/// logged.
async fn open_accounts(
    config: &Config,
    store: Store,
    addr: std::net::SocketAddr,
) -> Result<Auth, String> {
    let auth = Auth::configured(&config.settings, store);
    if let Some(token) = auth.offer_setup().await.map_err(|e| e.to_string())? {
        // On every address, a browser reaches it as localhost (a container's published
        // port, the host itself); 0.0.0.0 is no place to open.
        let open = match addr.ip().is_unspecified() {
            true => format!("localhost:{}", addr.port()),
            false => addr.to_string(),
        };
        tracing::info!(
            "no account yet: open http://{open}/setup?token={token} to create the first admin (or run `berth user add NAME --role admin`)"
        );
    }
    Ok(auth)
}
