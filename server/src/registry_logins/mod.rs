//! Registry credentials: stored by admins for a registry (`docker.io`, `host[:port]`),
//! kept in the database with the password sealed ([`sealed`]: Berth's key in its data
//! directory, or `--secret-key-file`), and used by update checks (the engine's
//! `X-Registry-Auth`, Berth's own basic and token requests) and by pulls. The password is
//! never returned by the API, never logged (`Login`'s `Debug` hides it), and is opened
//! only when a check or a pull needs it.

mod sealed;

pub use sealed::Sealer;

use crate::{
    accounts::{now_ms, store_error},
    docker::endpoint::Endpoint,
    error::Error,
    store::Store,
};
use app::model::{NewRegistryLogin, RegistryLogin};
use bollard::auth::DockerCredentials;
use sqlx::Row;
use std::{collections::HashMap, path::PathBuf};

/// Where the key that seals stored secrets is (`berth --help`, "Secrets").
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Secrets")]
pub struct SecretSettings {
    /// A file holding the 32-byte key (64 hex digits) that seals stored secrets (registry
    /// passwords, alert channels' URLs). Default: DATA_DIR/secret.key, made on first use. Replicas on one
    /// PostgreSQL must share it.
    #[arg(long, env = "BERTH_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,

    /// Where the key is made when no file is named: the data directory's (set at start).
    #[arg(skip)]
    pub default_key_file: Option<PathBuf>,
}

/// The longest username and password (or token) stored.
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 8192;

/// Credentials for one registry, opened: for a request or a pull, never shown.
#[derive(Clone)]
pub struct Login {
    pub registry: String,
    pub username: String,
    password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// `Authorization: Basic …`.
    pub fn basic(&self) -> String {
        use base64::Engine as _;
        let pair = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    /// What the engine takes as `X-Registry-Auth`.
    pub fn credentials(&self) -> DockerCredentials {
        DockerCredentials {
            username: Some(self.username.clone()),
            password: Some(self.password.clone()),
            serveraddress: Some(self.registry.clone()),
            ..Default::default()
        }
    }
}

/// The stored credentials.
pub struct RegistryLogins {
    store: Store,
    /// Shared with what else keeps secrets (alert channels): one key, loaded once.
    sealer: std::sync::Arc<Sealer>,
}

impl RegistryLogins {
    /// Over `store`, sealing with the key in `settings`' file, else in the data
    /// directory's (made when first needed).
    pub fn new(store: Store, settings: &SecretSettings) -> Self {
        let sealer = match (&settings.secret_key_file, &settings.default_key_file) {
            (Some(file), _) => sealed::Sealer::new(Some(file.clone()), false),
            (None, made) => sealed::Sealer::new(made.clone(), true),
        };
        Self {
            store,
            sealer: std::sync::Arc::new(sealer),
        }
    }

    /// The key's keeper, for other secrets Berth stores.
    pub fn sealer(&self) -> std::sync::Arc<Sealer> {
        self.sealer.clone()
    }

    /// Every registry with credentials, by name; `readable` says whether this key opens
    /// them.
    pub async fn list(&self) -> Result<Vec<RegistryLogin>, Error> {
        let rows = sqlx::query(
            "SELECT registry, username, secret, updated FROM registry_logins ORDER BY registry",
        )
        .fetch_all(&self.store.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| {
                let registry: String = row.try_get("registry")?;
                let secret: String = row.try_get("secret")?;
                let username: String = row.try_get("username")?;
                Ok(RegistryLogin {
                    readable: self
                        .sealer
                        .open(&secret, &owner(&registry, &username))
                        .is_ok(),
                    registry,
                    username,
                    updated_ms: row.try_get("updated")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(store_error)
    }

    /// Stores (or replaces) the credentials for `registry`; 400 for a name or a value
    /// that is not one.
    pub async fn set(&self, registry: &str, login: &NewRegistryLogin) -> Result<(), Error> {
        let registry = registry_name(registry)?;
        check_value("username", &login.username, MAX_USERNAME)?;
        check_value("password", &login.password, MAX_PASSWORD)?;
        if login.username.contains(':') {
            return Err(Error::bad_request("a registry username has no ':'"));
        }
        let secret = self
            .sealer
            .seal(&login.password, &owner(&registry, &login.username))
            .map_err(|e| Error::new(500, format!("the credentials were not stored: {e}")))?;
        sqlx::query(
            "INSERT INTO registry_logins (registry, username, secret, updated)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (registry) DO UPDATE
                SET username = excluded.username, secret = excluded.secret,
                    updated = excluded.updated",
        )
        .bind(&registry)
        .bind(&login.username)
        .bind(&secret)
        .bind(now_ms())
        .execute(&self.store.pool)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// Forgets the credentials for `registry`; 404 when there are none.
    pub async fn remove(&self, registry: &str) -> Result<(), Error> {
        let registry = registry_name(registry)?;
        let done = sqlx::query("DELETE FROM registry_logins WHERE registry = $1")
            .bind(&registry)
            .execute(&self.store.pool)
            .await
            .map_err(store_error)?;
        match done.rows_affected() {
            0 => Err(Error::not_found(format!(
                "no credentials for the registry {registry}"
            ))),
            _ => Ok(()),
        }
    }

    /// Every readable login, by registry, that an engine at `endpoint` may be given: for
    /// one check. A loopback registry's go only to an engine on Berth's own machine
    /// (elsewhere, loopback is another registry). What this key cannot open, or a database
    /// that does not answer, is logged and left out: the check goes on anonymously.
    pub async fn opened(&self, endpoint: &Endpoint) -> HashMap<String, Login> {
        self.open_rows(None, endpoint).await
    }

    /// The login for `registry` an engine at `endpoint` may be given, if one is stored and
    /// readable.
    pub async fn for_registry(&self, registry: &str, endpoint: &Endpoint) -> Option<Login> {
        self.open_rows(Some(registry), endpoint)
            .await
            .remove(registry)
    }

    async fn open_rows(
        &self,
        registry: Option<&str>,
        endpoint: &Endpoint,
    ) -> HashMap<String, Login> {
        let rows = sqlx::query(
            "SELECT registry, username, secret FROM registry_logins
              WHERE $1 IS NULL OR registry = $1",
        )
        .bind(registry)
        .fetch_all(&self.store.pool)
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("registry credentials: the database: {e}");
                return HashMap::new();
            }
        };
        let here = endpoint.on_this_machine();
        rows.iter()
            .filter_map(|row| {
                let registry: String = row.try_get("registry").ok()?;
                let username: String = row.try_get("username").ok()?;
                let secret: String = row.try_get("secret").ok()?;
                let loopback =
                    crate::updates::ImageName::parse(&format!("{registry}/berth:latest"))
                        .is_none_or(|name| name.is_loopback());
                if loopback && !here {
                    return None;
                }
                match self.sealer.open(&secret, &owner(&registry, &username)) {
                    Ok(password) => Some((
                        registry.clone(),
                        Login {
                            registry,
                            username,
                            password,
                        },
                    )),
                    Err(e) => {
                        tracing::warn!(registry, "registry credentials not used: {e}");
                        None
                    }
                }
            })
            .collect()
    }
}

/// What a sealed password belongs to: its registry and user (a value moved to another row
/// does not open).
fn owner(registry: &str, username: &str) -> String {
    format!("berth/registry_logins/v1\0{registry}\0{username}")
}

/// A registry as image references name it: `docker.io` (Docker Hub, whichever of its
/// names is given) or `host[:port]`; 400 for anything else (a scheme, a path, a space).
pub fn registry_name(text: &str) -> Result<String, Error> {
    let bad = || {
        Error::bad_request(format!(
            "{text:?} is not a registry: docker.io, or host[:port] as an image reference names it"
        ))
    };
    // Lower case (Docker's references of a registry are, in practice: an upper-case name
    // would never match one) and a port Docker can reach.
    let port_ok = match text.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || port.bytes().all(|b| b.is_ascii_digit()) => {
            port.parse::<u16>().is_ok_and(|p| p > 0) && !port.starts_with('0')
        }
        _ => true,
    };
    let port_ok = port_ok || (text.starts_with('[') && text.ends_with(']'));
    if text.is_empty()
        || text.len() > 253
        || text.contains('/')
        || text != text.to_ascii_lowercase()
        || !port_ok
    {
        return Err(bad());
    }
    let name = crate::updates::ImageName::parse(&format!("{text}/berth:latest")).ok_or_else(bad)?;
    let hub = crate::updates::HUB_NAMES;
    match name.registry == text || (hub.contains(&text) && name.registry == hub[0]) {
        true => Ok(name.registry),
        false => Err(bad()),
    }
}

/// 400 unless `value` is 1 to `max` bytes of printable text.
fn check_value(what: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() || value.len() > max || value.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "the {what} must be 1 to {max} bytes of text without control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_what_references_name() {
        for (text, name) in [
            ("docker.io", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("registry-1.docker.io", "docker.io"),
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("registry.example.com", "registry.example.com"),
            ("localhost:5000", "localhost:5000"),
            ("[::1]:5000", "[::1]:5000"),
        ] {
            assert_eq!(registry_name(text).unwrap(), name, "{text}");
        }
        for text in [
            "",
            "nginx",
            "http://r.example",
            "r.example/path",
            "a b.example",
            "../etc",
            "r.example:",
            "R.EXAMPLE",
            "r.example:0",
            "r.example:65536",
            "r.example:05000",
        ] {
            assert!(registry_name(text).is_err(), "{text:?} is refused");
        }
    }
}
