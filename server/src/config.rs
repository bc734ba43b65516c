//! Command-line and environment configuration (`berth --help`).

use clap::Parser;
use std::{net::SocketAddr, path::PathBuf};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "berth",
    version,
    about = "Berth: a live, leak-free Docker dashboard",
    long_about = "Berth: a live, leak-free Docker dashboard.\n\nServes a web UI and a JSON API \
                  over the Docker Engine API. Every flag can also be set through the \
                  environment variable shown beside it."
)]
pub struct Config {
    /// Address and port to serve on. Loopback unless you say otherwise: Berth has no login,
    /// and whoever reaches it sees every container. Defaults to `site-addr` in the site
    /// options (127.0.0.1:3000).
    #[arg(long, env = "BERTH_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,

    /// Docker engine endpoint: `unix:///path/to/docker.sock`, a bare socket path, or
    /// `tcp://host:port` / `http://host:port` (plain HTTP, no TLS).
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock",
        value_parser = crate::engine::Endpoint::parse,
        value_name = "URL"
    )]
    pub docker_host: crate::engine::Endpoint,

    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives such as
    /// `berth=debug,tower_http=debug`.
    #[arg(long, env = "BERTH_LOG", default_value = "info", value_name = "FILTER")]
    pub log: String,

    /// Site options file (Leptos.toml): where the compiled site lives (site-root, pkg dir,
    /// output name). LEPTOS_* variables override its keys. If the file is missing, the
    /// options come from LEPTOS_* variables alone, as under cargo-leptos.
    #[arg(
        long,
        env = "BERTH_SITE_CONFIG",
        default_value = "Leptos.toml",
        value_name = "FILE"
    )]
    pub site_config: PathBuf,
}
