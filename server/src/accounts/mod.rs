//! Accounts: who may use Berth and with which [`Role`]. `users` keeps them in the
//! [`crate::store`]; `password` hashes with argon2id off the async workers. Every error is
//! an [`Error`] with the status the HTTP API answers (the CLI prints the same message).

pub mod audit;
pub mod forward;
pub mod groups;
pub mod identities;
pub mod oidc;
pub mod password;
pub mod policy;
pub mod second_factor;
pub mod sessions;
pub mod tokens;
pub mod totp;
pub mod users;

use crate::error::Error;
use app::model::Role;
use std::time::Duration;

/// Now, as the store keeps times: milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Names: lowercase letters, digits, `.`, `_`, `-`; 1 to 64 of them.
pub fn validate_name(name: &str) -> Result<(), Error> {
    if app::model::is_plain_name(name) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', not {name:?}"
        )))
    }
}

pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 1024;

/// Passwords: 12 to 1024 bytes (the upper bound keeps hashing cheap to ask for).
pub fn validate_password(password: &str) -> Result<(), Error> {
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&password.len()) {
        Ok(())
    } else {
        Err(Error::bad_request(format!(
            "a password is {MIN_PASSWORD} to {MAX_PASSWORD} bytes long, not {}",
            password.len()
        )))
    }
}

/// A database failure, as the API reports it (details go to the log, not the client).
pub(crate) fn store_error(e: sqlx::Error) -> Error {
    tracing::error!("database: {e}");
    Error::new(500, "the database failed; see the server log")
}

pub fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords() {
        for good in ["a", "ops.team-1_x", &"z".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Admin", "a b", "é", &"z".repeat(65), "x/y"] {
            assert_eq!(validate_name(bad).unwrap_err().status(), 400, "{bad}");
        }
        assert!(validate_password(&"p".repeat(12)).is_ok());
        assert!(validate_password(&"p".repeat(1024)).is_ok());
        assert!(validate_password(&"p".repeat(11)).is_err());
        assert!(validate_password(&"p".repeat(1025)).is_err());
    }
}

/// Sign-in, sessions and the audit log (`berth --help`, "Accounts").
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Accounts")]
pub struct AccountSettings {
    /// Accounts: `on` (everyone signs in; the first admin through the /setup link Berth
    /// logs, or `berth user add`), `proxy` (a `--trusted-proxy` signs users in and names
    /// them in `Remote-User`; local accounts still sign in as `--local-login` says) or `off`
    /// (whoever reaches Berth may use it; allowed only when bound to loopback).
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

    /// Days the audit log keeps its entries.
    #[arg(long, env = "BERTH_AUDIT_KEEP_DAYS", default_value_t = 90)]
    pub audit_keep_days: u64,

    /// Every admin sets up a second factor (an authenticator app) before doing anything
    /// else; others as an admin requires it of them.
    #[arg(long, env = "BERTH_SECOND_FACTOR_FOR_ADMINS")]
    pub second_factor_for_admins: bool,
}

/// Whether signing in is required.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    On,
    /// Forward authentication: the proxy in front says who signs in.
    Proxy,
    Off,
}

impl AccountSettings {
    /// Flags that must be above zero, with their values.
    pub fn positive(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("--session-idle-hours", self.session_idle_hours as usize),
            ("--session-max-days", self.session_max_days as usize),
            ("--audit-keep-days", self.audit_keep_days as usize),
        ]
    }

    pub fn session_policy(&self) -> sessions::Policy {
        sessions::Policy {
            idle: Duration::from_secs(self.session_idle_hours * 3600),
            lifetime: Duration::from_secs(self.session_max_days * 86_400),
            second_factor_for_admins: self.second_factor_for_admins,
        }
    }

    pub fn audit_keep(&self) -> Duration {
        Duration::from_secs(self.audit_keep_days * 86_400)
    }

    /// Whether Berth is reached over https (its public URL says so).
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
