//! Command-line and environment configuration (`berth --help`).

use clap::{Args, Parser};
use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

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

    #[command(flatten)]
    pub streams: StreamSettings,
}

/// Live streams: hubs, sockets and their limits.
#[derive(Args, Debug, Clone)]
pub struct StreamSettings {
    /// Frames a client may fall behind its stream before it loses the oldest (per hub);
    /// rounded down to a power of two, so it is a true bound.
    #[arg(long, env = "BERTH_WS_CAPACITY", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub ws_capacity: u64,

    /// Log lines a hub keeps for viewers who join later.
    #[arg(long, env = "BERTH_LOG_RING", default_value_t = 2000)]
    pub log_ring: usize,

    /// How long a hub nobody watches keeps its upstream, in ms (0 to 5000): a page reload
    /// within it reuses the stream.
    #[arg(long, env = "BERTH_HUB_GRACE_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=5000))]
    pub hub_grace_ms: u64,

    /// Lag events in a row after which a slow client is closed.
    #[arg(long, env = "BERTH_WS_MAX_LAGS", default_value_t = 3)]
    pub ws_max_lags: u32,

    /// A send to a client stalled this long (ms) closes it.
    #[arg(long, env = "BERTH_WS_SEND_TIMEOUT_MS", default_value_t = 10_000)]
    pub ws_send_timeout_ms: u64,

    /// Ping interval (ms).
    #[arg(long, env = "BERTH_WS_PING_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub ws_ping_ms: u64,

    /// No pong for this long (ms) closes the socket.
    #[arg(long, env = "BERTH_WS_PONG_TIMEOUT_MS", default_value_t = 60_000)]
    pub ws_pong_timeout_ms: u64,

    /// Concurrent system-stats sockets per client address.
    #[arg(long, env = "BERTH_LIMIT_SYSTEM_STATS", default_value_t = 5)]
    pub limit_system_stats: usize,

    /// Concurrent sockets per client address for each other stream kind (container logs,
    /// container stats, project logs).
    #[arg(long, env = "BERTH_LIMIT_PER_KIND", default_value_t = 20)]
    pub limit_per_kind: usize,

    /// Concurrent sockets in all.
    #[arg(long, env = "BERTH_LIMIT_GLOBAL", default_value_t = 1000)]
    pub limit_global: usize,

    /// Proxies whose X-Forwarded-For names the client (comma-separated addresses).
    #[arg(
        long = "trusted-proxy",
        env = "BERTH_TRUSTED_PROXY",
        value_delimiter = ',',
        value_name = "IP"
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Origins allowed to open sockets besides Berth's own, e.g. `https://dash.example`
    /// (comma-separated); other cross-origin upgrades get 403.
    #[arg(
        long = "allowed-origin",
        env = "BERTH_ALLOWED_ORIGIN",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub allowed_origins: Vec<String>,

    /// Host statistics sample interval (ms).
    #[arg(long, env = "BERTH_SYSTEM_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..))]
    pub system_interval_ms: u64,
}

impl StreamSettings {
    pub fn hub_config(&self) -> crate::hub::HubConfig {
        crate::hub::HubConfig {
            capacity: self.ws_capacity as usize,
            ring: self.log_ring,
            grace: Duration::from_millis(self.hub_grace_ms),
        }
    }

    pub fn session_config(&self) -> crate::ws::session::SessionConfig {
        crate::ws::session::SessionConfig {
            max_lags: self.ws_max_lags.max(1),
            send_timeout: Duration::from_millis(self.ws_send_timeout_ms),
            ping_interval: Duration::from_millis(self.ws_ping_ms),
            pong_timeout: Duration::from_millis(self.ws_pong_timeout_ms),
        }
    }

    pub fn limits(&self) -> crate::ws::limits::Limits {
        let other = self.limit_per_kind;
        crate::ws::limits::Limits {
            // Indexed by StreamKind: container logs, container stats, project logs, system stats.
            per_ip: [other, other, other, self.limit_system_stats],
            global: self.limit_global,
        }
    }
}
