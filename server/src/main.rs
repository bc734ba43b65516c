//! `berth`: parses configuration, connects to Docker, serves until SIGTERM or Ctrl-C.

// The static binary of `make dist` (musl, whose allocator is slow with many threads).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use berth::{
    AppState, ServeOptions,
    cli::Command,
    config::{AuthMode, Config},
    docker::engine::Engine,
    engines, router, serve, site,
    store::Store,
};
use clap::Parser;
use std::{io::IsTerminal, process::ExitCode};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if let Some(Command::Health) = config.command {
        let site = site::address_options(&config.site_config);
        return match berth::health_check::run(config.serving_address(&site)).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("berth: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(command) = config.command.clone() {
        return match berth::cli::run(command, &config.store(), config.streams.audit_keep()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("berth: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = config.streams.check() {
        eprintln!("berth: {e}");
        return ExitCode::from(2);
    }
    let engines = match engines::config::configured(
        config.engines_file.as_deref(),
        &config.engines,
        &config.docker_host,
    ) {
        Ok(engines) => engines,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = match EnvFilter::try_new(&config.log) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("berth: invalid --log filter {:?}: {e}", config.log);
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();

    match run(config, engines).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    config: Config,
    engines: Vec<(engines::EngineName, berth::docker::engine::Endpoint)>,
) -> Result<(), String> {
    let mut leptos_options = site::load(&config.site_config)?;
    let addr = config.serving_address(&leptos_options);
    if config.bind.is_none() && berth::config::in_container() {
        tracing::info!(
            "in a container: serving on every address, port {} (--bind to choose)",
            addr.port()
        );
    }

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // The port actually served (port 0 picks one): allowed hosts carry it.
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    leptos_options.site_addr = addr;
    let shutdown = CancellationToken::new();
    let engines: Vec<_> = engines
        .into_iter()
        .map(|(name, endpoint)| {
            tracing::info!(engine = %name, "watching the Docker engine at {endpoint}");
            (name, Engine::start(endpoint, shutdown.clone()))
        })
        .collect();
    tracing::info!(
        "Berth listening on http://{addr} (site root {})",
        leptos_options.site_root
    );

    let mut state =
        AppState::with_engines(leptos_options, engines, &config.streams, shutdown.clone());
    match config.streams.auth {
        AuthMode::Off if !addr.ip().is_loopback() => {
            return Err(format!(
                "--auth off serves everyone who reaches {addr}: allowed only on loopback"
            ));
        }
        AuthMode::Off => tracing::warn!("accounts are off: whoever reaches {addr} may use Berth"),
        AuthMode::On => {
            let store = Store::open(&config.store())
                .await
                .map_err(|e| e.to_string())?;
            let auth = config.streams.auth(store);
            if let Some(token) = auth.offer_setup().await.map_err(|e| e.to_string())? {
                // On every address, a browser reaches it as localhost (a container's
                // published port, the host itself); 0.0.0.0 is no place to open.
                let open = match addr.ip().is_unspecified() {
                    true => format!("localhost:{}", addr.port()),
                    false => addr.to_string(),
                };
                tracing::info!(
                    "no account yet: open http://{open}/setup?token={token} to create the first admin (or run `berth user add NAME --role admin`)"
                );
            }
            state = state.with_auth(auth);
        }
    }
    let options = ServeOptions::new(&config.streams, &state);
    let app = router(state);
    let signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    serve(listener, app, shutdown, options)
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
