//! The sockets' settings: how patient a session is with its client, how many sockets
//! anyone may hold, and who may open a terminal (`berth --help`, "WebSockets").

use super::{client::ClientConfig, limits::Limits, terminal::Policy};
use app::model::Role;
use std::time::Duration;

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "WebSockets")]
pub struct SocketSettings {
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
}

/// Who may open a terminal.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecMode {
    Admin,
    Operator,
    Off,
}

impl ExecMode {
    pub fn least_role(self) -> Option<Role> {
        match self {
            ExecMode::Admin => Some(Role::Admin),
            ExecMode::Operator => Some(Role::Operator),
            ExecMode::Off => None,
        }
    }
}

impl SocketSettings {
    /// Flags that must be above zero, with their values.
    pub fn positive(&self) -> Vec<(&'static str, usize)> {
        vec![
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
        ]
    }

    pub fn check(&self) -> Result<(), String> {
        if self.ws_pong_timeout_ms <= self.ws_ping_ms {
            return Err(format!(
                "--ws-pong-timeout-ms ({}) must be above --ws-ping-ms ({}): a client could never answer in time",
                self.ws_pong_timeout_ms, self.ws_ping_ms
            ));
        }
        Ok(())
    }

    pub fn terminal_policy(&self) -> Policy {
        Policy {
            least_role: self.exec.least_role(),
            idle: (self.exec_idle_secs > 0).then(|| Duration::from_secs(self.exec_idle_secs)),
        }
    }

    pub fn client_config(&self) -> ClientConfig {
        ClientConfig {
            max_lags: self.ws_max_lags,
            send_timeout: Duration::from_millis(self.ws_send_timeout_ms),
            ping_interval: Duration::from_millis(self.ws_ping_ms),
            pong_timeout: Duration::from_millis(self.ws_pong_timeout_ms),
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            per_kind: self.limit_per_kind,
            system_stats: self.limit_system_stats,
            per_user: self.limit_per_user,
            global: self.limit_global,
            terminals_per_ip: self.limit_terminals_per_address,
            terminals_per_user: self.limit_terminals_per_user,
        }
    }
}
