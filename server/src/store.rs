//! The accounts database: SQLite in `--data-dir` by default, PostgreSQL with
//! `--database-url`, through one `AnyPool` so every query is written once. The schema's
//! migrations are embedded in the binary and applied when the store opens.

use sqlx::{
    AnyPool,
    any::{AnyPoolOptions, install_default_drivers},
};
use std::path::{Path, PathBuf};

/// Where the accounts live.
#[derive(Clone, Debug)]
pub enum Location {
    /// `berth.db` in this directory (created with mode 0700).
    DataDir(PathBuf),
    /// A `postgres://` URL.
    Url(String),
}

impl Location {
    pub fn new(data_dir: PathBuf, database_url: Option<String>) -> Self {
        database_url.map_or(Self::DataDir(data_dir), Self::Url)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot prepare the data directory {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("--database-url must start with postgres:// or postgresql://, not {0:?}")]
    Scheme(String),
    #[error("cannot open the database: {0}")]
    Open(sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// The shared pool; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub pool: AnyPool,
    /// PostgreSQL rather than SQLite: the few statements whose isolation differs check it.
    pub postgres: bool,
}

impl Store {
    pub async fn open(location: &Location) -> Result<Self, StoreError> {
        install_default_drivers();
        let url = match location {
            Location::DataDir(dir) => {
                private_dir(dir).map_err(|e| StoreError::DataDir(dir.clone(), e))?;
                format!("sqlite://{}?mode=rwc", dir.join("berth.db").display())
            }
            Location::Url(url)
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                url.clone()
            }
            Location::Url(url) => return Err(StoreError::Scheme(redact(url))),
        };
        let sqlite = url.starts_with("sqlite:");
        let pool = AnyPoolOptions::new()
            // SQLite allows one writer at a time: a small pool, and waits instead of "busy".
            .max_connections(if sqlite { 4 } else { 10 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        // Removing a user ends their sessions (ON DELETE CASCADE).
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(StoreError::Open)?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Self {
            pool,
            postgres: !sqlite,
        })
    }
}

/// Creates `dir` readable by its owner only. An existing one that is Berth's own (a
/// container's fresh volume is 0755) is made so; someone else's is left as it is, with a
/// warning when others can read it.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if dir.is_dir() {
        let metadata = std::fs::metadata(dir)?;
        let mode = metadata.permissions().mode();
        if mode & 0o077 == 0 {
            return Ok(());
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let ours = metadata.uid() == unsafe { libc::geteuid() };
        if ours && std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).is_ok() {
            tracing::info!(
                "the data directory {} was open to other users (mode {:o}): made it 0700",
                dir.display(),
                mode & 0o777
            );
        } else {
            tracing::warn!(
                "the data directory {} is open to other users (mode {:o}); 0700 is expected",
                dir.display(),
                mode & 0o777
            );
        }
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_not_repeated_in_messages() {
        assert_eq!(super::redact("mysql://u:secret@db/x"), "mysql://…@db/x");
        assert_eq!(super::redact("nonsense"), "nonsense");
    }

    #[test]
    fn an_open_data_directory_of_our_own_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("berth-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        super::private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o700);
        // A new one is made private from the start.
        let fresh = dir.join("nested");
        super::private_dir(&fresh).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o700);
    }
}
