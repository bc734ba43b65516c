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
    /// Address and port to serve on. Loopback by default (`site-addr` in the site options,
    /// 127.0.0.1:3000); inside a container, every address on that port (the container's
    /// loopback is reachable from nowhere; sign-in guards it).
    #[arg(long, env = "BERTH_BIND", value_name = "ADDR:PORT")]
    pub bind: Option<SocketAddr>,

    /// Docker engine endpoint when no engines are configured: `unix:///path/to/docker.sock`,
    /// a bare socket path, `tcp://host:port` (plain HTTP: loopback only) or
    /// `ssh://[user@]host[:port]`.
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock",
        value_parser = crate::docker::engine::Endpoint::parse,
        value_name = "URL"
    )]
    pub docker_host: crate::docker::engine::Endpoint,

    /// An engine to watch, as `NAME=URL` (URL as for `DOCKER_HOST`); repeat for several
    /// (in the environment, separated by commas). They follow the engines file's; the first
    /// engine is the default (today's paths without `/engines/{engine}`). Without any, one
    /// engine named `local` at `DOCKER_HOST`.
    #[arg(
        long = "engine",
        env = "BERTH_ENGINE",
        value_delimiter = ',',
        value_name = "NAME=URL",
        value_parser = crate::engines::config::parse_engine_flag
    )]
    pub engines: Vec<(crate::engines::EngineName, crate::docker::engine::Endpoint)>,

    /// A TOML file of engines (`[[engine]]` with name, url, and tls = {ca, cert, key} for
    /// TLS or identity and known_hosts for ssh); see README.md.
    #[arg(long = "engines", env = "BERTH_ENGINES", value_name = "FILE")]
    pub engines_file: Option<PathBuf>,

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

    /// Directory of the accounts database (SQLite, `berth.db`), created with mode 0700.
    #[arg(
        long,
        env = "BERTH_DATA_DIR",
        default_value = "berth-data",
        global = true,
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,

    /// Keep accounts in PostgreSQL instead (`postgres://USER:PASSWORD@HOST/DB`), so several
    /// Berth replicas share them.
    #[arg(long, env = "BERTH_DATABASE_URL", global = true, value_name = "URL")]
    pub database_url: Option<String>,

    #[command(flatten)]
    pub streams: Settings,

    #[command(subcommand)]
    pub command: Option<crate::cli::Command>,
}

impl Config {
    /// Where to serve: `--bind`, else the site options' address, on every address when
    /// Berth runs in a container (it says so when it starts).
    pub fn serving_address(&self, site: &leptos::config::LeptosOptions) -> SocketAddr {
        match self.bind {
            Some(addr) => addr,
            None if in_container() => {
                SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, site.site_addr.port()))
            }
            None => site.site_addr,
        }
    }

    /// Where the accounts are kept.
    pub fn store(&self) -> crate::store::Location {
        crate::store::Location::new(self.data_dir.clone(), self.database_url.clone())
    }
}

/// Whether Berth runs in a container: Docker and Podman leave a mark at the root.
pub fn in_container() -> bool {
    ["/.dockerenv", "/run/.containerenv"]
        .iter()
        .any(|mark| std::path::Path::new(mark).exists())
}

/// What the server runs with: who it answers, its HTTP connections, live streams (hubs,
/// sockets) and their limits. [`Settings::check`] checks them against each other.
#[derive(Args, Debug, Clone)]
pub struct Settings {
    /// Host names Berth answers to besides loopback (localhost, 127.0.0.1, [::1]) and a
    /// specific bind address: `NAME` (plain HTTP on the served port), `NAME:PORT`, or an
    /// origin `https://NAME[:PORT]` as a reverse proxy serves it (comma-separated). Requests
    /// naming any other host get 421, and browsers' cross-origin sockets 403: this is the
    /// defence against DNS rebinding (see SECURITY.md).
    #[arg(
        long = "allowed-host",
        alias = "allowed-origin",
        env = "BERTH_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_parser = crate::hosts::HostSpec::parse,
        value_name = "HOST"
    )]
    pub allowed_hosts: Vec<crate::hosts::HostSpec>,

    /// A client that has not sent its request headers within this many ms is disconnected.
    #[arg(long, env = "BERTH_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,

    /// A connection with no request in progress for this many ms is closed (HTTP/1
    /// keep-alive and HTTP/2 alike; WebSockets are not connections once upgraded), and so
    /// is one (WebSockets too) whose client reads nothing Berth writes for as long.
    #[arg(long, env = "BERTH_IDLE_TIMEOUT_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub idle_timeout_ms: u64,

    /// A request's body must arrive within this many ms.
    #[arg(long, env = "BERTH_BODY_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub body_timeout_ms: u64,

    /// HTTP connections served at once; more wait to be accepted. Upgraded sockets count
    /// against `--limit-global` instead.
    #[arg(long, env = "BERTH_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// At SIGTERM, how long (ms) open sockets and requests get to finish (sockets are sent
    /// `end` and closed with 1001 at once) before Berth exits anyway.
    #[arg(long, env = "BERTH_SHUTDOWN_DRAIN_MS", default_value_t = 5_000)]
    pub shutdown_drain_ms: u64,

    /// Log lines (frames, for other streams) a client may fall behind its stream before it
    /// loses the oldest (per hub).
    #[arg(long, env = "BERTH_WS_CAPACITY", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub ws_capacity: u64,

    /// Log lines a hub keeps for viewers who join later (the most a `tail` can get from a
    /// shared stream), within the hub's byte budget.
    #[arg(long, env = "BERTH_LOG_RING", default_value_t = 10_000)]
    pub log_ring: usize,

    /// Bytes a hub may hold for its history and its clients' queues together; the oldest
    /// frames go first. Bounds memory however long the lines are.
    #[arg(long, env = "BERTH_HUB_MAX_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub hub_max_bytes: usize,

    /// How long a hub nobody watches keeps its upstream, in ms (0 to 5000): a page reload
    /// within it reuses the stream.
    #[arg(long, env = "BERTH_HUB_GRACE_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=5000))]
    pub hub_grace_ms: u64,

    /// How long an engine's container list keeps following its events after the JSON API or
    /// a page last read it, in seconds (0 to 3600): reads meanwhile are answered from
    /// memory, never by listing every container again.
    #[arg(long, env = "BERTH_LIST_CACHE_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub list_cache_secs: u64,

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

    /// Host statistics sample interval (ms).
    #[arg(long, env = "BERTH_SYSTEM_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..))]
    pub system_interval_ms: u64,

    /// Accounts: `on` (everyone signs in; the first admin through the /setup link Berth
    /// logs, or `berth user add`) or `off` (whoever reaches Berth may use it; allowed only
    /// when bound to loopback).
    #[arg(long, env = "BERTH_AUTH", value_enum, default_value_t = AuthMode::On)]
    pub auth: AuthMode,

    /// A session unused for this many hours ends.
    #[arg(long, env = "BERTH_SESSION_IDLE_HOURS", default_value_t = 24)]
    pub session_idle_hours: u64,

    /// A session ends this many days after sign-in, used or not.
    #[arg(long, env = "BERTH_SESSION_MAX_DAYS", default_value_t = 30)]
    pub session_max_days: u64,

    /// The URL people use to reach Berth (e.g. `https://berth.example.com` behind a reverse
    /// proxy): with https, session cookies are marked Secure.
    #[arg(long, env = "BERTH_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Serve `/metrics` without signing in (for a scraper on a trusted network).
    #[arg(long, env = "BERTH_METRICS_OPEN")]
    pub metrics_open: bool,

    /// Live sockets one signed-in user (or API token) may hold at once, of every kind and
    /// from every address together.
    #[arg(long, env = "BERTH_LIMIT_PER_USER", default_value_t = 100)]
    pub limit_per_user: usize,

    /// Who may open a terminal in a container: `admin` (the default), `operator` (and
    /// admins), or `off` (nobody, whatever the role; also with `--auth off`).
    #[arg(long, env = "BERTH_EXEC", value_enum, default_value_t = ExecMode::Admin)]
    pub exec: ExecMode,

    /// A terminal nobody has typed in for this many seconds is closed and its process ended
    /// (0: never).
    #[arg(long, env = "BERTH_EXEC_IDLE_SECS", default_value_t = 3600)]
    pub exec_idle_secs: u64,

    /// Terminals open at once from one client address.
    #[arg(long, env = "BERTH_LIMIT_TERMINALS_PER_ADDRESS", default_value_t = 8)]
    pub limit_terminals_per_address: usize,

    /// Terminals one signed-in user may hold open at once, from every address together.
    #[arg(long, env = "BERTH_LIMIT_TERMINALS_PER_USER", default_value_t = 4)]
    pub limit_terminals_per_user: usize,

    /// Days the audit log keeps its entries.
    #[arg(long, env = "BERTH_AUDIT_KEEP_DAYS", default_value_t = 90)]
    pub audit_keep_days: u64,
}

/// Who may open terminals.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecMode {
    Admin,
    Operator,
    Off,
}

impl ExecMode {
    /// The least role that may open a terminal; `None` when nobody may.
    pub fn least_role(self) -> Option<app::model::Role> {
        match self {
            ExecMode::Admin => Some(app::model::Role::Admin),
            ExecMode::Operator => Some(app::model::Role::Operator),
            ExecMode::Off => None,
        }
    }
}

/// Whether Berth asks people to sign in.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    On,
    Off,
}

impl Settings {
    /// Settings that only make sense together: a clear message for the first that does not.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("--ws-send-timeout-ms", self.ws_send_timeout_ms as usize),
            ("--ws-max-lags", self.ws_max_lags as usize),
            ("--limit-system-stats", self.limit_system_stats),
            ("--limit-per-kind", self.limit_per_kind),
            ("--limit-global", self.limit_global),
            ("--limit-per-user", self.limit_per_user),
            (
                "--limit-terminals-per-address",
                self.limit_terminals_per_address,
            ),
            ("--limit-terminals-per-user", self.limit_terminals_per_user),
            ("--header-timeout-ms", self.header_timeout_ms as usize),
            ("--max-connections", self.max_connections),
            ("--shutdown-drain-ms", self.shutdown_drain_ms as usize),
            ("--session-idle-hours", self.session_idle_hours as usize),
            ("--session-max-days", self.session_max_days as usize),
            ("--audit-keep-days", self.audit_keep_days as usize),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("{flag} must be above zero"));
        }
        if self.ws_pong_timeout_ms <= self.ws_ping_ms {
            return Err(format!(
                "--ws-pong-timeout-ms ({}) must be above --ws-ping-ms ({}): a client could never answer in time",
                self.ws_pong_timeout_ms, self.ws_ping_ms
            ));
        }
        const MIN_HUB_BYTES: usize = 256 * 1024;
        if self.hub_max_bytes < MIN_HUB_BYTES {
            return Err(format!(
                "--hub-max-bytes ({}) must be at least {MIN_HUB_BYTES}: a few cut lines must fit",
                self.hub_max_bytes
            ));
        }
        Ok(())
    }

    pub fn hub_config(&self) -> crate::hub::HubConfig {
        crate::hub::HubConfig {
            capacity: self.ws_capacity as usize,
            ring: self.log_ring,
            bytes: self.hub_max_bytes,
            grace: Duration::from_millis(self.hub_grace_ms),
            list_linger: Duration::from_secs(self.list_cache_secs),
        }
    }

    pub fn session_policy(&self) -> crate::accounts::sessions::Policy {
        crate::accounts::sessions::Policy {
            idle: Duration::from_secs(self.session_idle_hours * 3600),
            lifetime: Duration::from_secs(self.session_max_days * 86_400),
        }
    }

    /// Everything sign-in needs, over `store`.
    pub fn auth(&self, store: crate::store::Store) -> crate::accounts::gate::Auth {
        crate::accounts::gate::Auth::new(
            store.clone(),
            self.session_policy(),
            self.public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            self.metrics_open,
            crate::accounts::audit::Audit::new(store, self.audit_keep()),
        )
    }

    pub fn audit_keep(&self) -> Duration {
        Duration::from_secs(self.audit_keep_days * 86_400)
    }

    pub fn shutdown_drain(&self) -> Duration {
        Duration::from_millis(self.shutdown_drain_ms)
    }

    /// Who may open terminals, and when an idle one is closed.
    pub fn terminal_policy(&self) -> crate::ws::terminal::Policy {
        crate::ws::terminal::Policy {
            least_role: self.exec.least_role(),
            idle: (self.exec_idle_secs > 0).then(|| Duration::from_secs(self.exec_idle_secs)),
        }
    }

    pub fn session_config(&self) -> crate::ws::session::SessionConfig {
        crate::ws::session::SessionConfig {
            max_lags: self.ws_max_lags,
            send_timeout: Duration::from_millis(self.ws_send_timeout_ms),
            ping_interval: Duration::from_millis(self.ws_ping_ms),
            pong_timeout: Duration::from_millis(self.ws_pong_timeout_ms),
        }
    }

    pub fn limits(&self) -> crate::ws::limits::Limits {
        crate::ws::limits::Limits {
            per_kind: self.limit_per_kind,
            system_stats: self.limit_system_stats,
            per_user: self.limit_per_user,
            global: self.limit_global,
            terminals_per_ip: self.limit_terminals_per_address,
            terminals_per_user: self.limit_terminals_per_user,
        }
    }
}
