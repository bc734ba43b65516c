//! Server-side sessions. The cookie carries 32 random bytes; the store keeps their SHA-256,
//! who they belong to, when they began and when they were last used. A session ends when
//! it is idle too long, reaches its lifetime, is signed out, or its user is removed
//! (cascade); it survives a Berth restart because it lives in the store.

use super::{now_ms, store_error};
use crate::error::Error;
use crate::store::Store;
use app::model::Role;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::time::Duration;

pub const COOKIE: &str = "berth_session";

/// How long sessions live, and what they must have done first.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub idle: Duration,
    pub lifetime: Duration,
    /// `--second-factor-for-admins`: an admin's session does nothing but set one up until
    /// they have one.
    pub second_factor_for_admins: bool,
}

/// Who is asking, as every route and socket sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    /// What its sockets are owned under: the session's stored id (the secret's hash), or
    /// `token:ID` for an API token.
    pub session: Option<String>,
    /// Must set up a second factor before anything but their own account
    /// ([`super::second_factor::due`]).
    pub second_factor_due: bool,
    /// A session opened through the OpenID provider: its second factor is the provider's.
    pub single_sign_on: bool,
}

impl Caller {
    /// Signed in by a trusted proxy's word (`--auth proxy`), not a session of Berth's.
    pub fn is_proxied(&self) -> bool {
        self.owner()
            .is_some_and(|o| o.starts_with(super::forward::OWNER_PREFIX))
    }

    /// A session of Berth's own, opened with a password: not a token, not a proxy's word,
    /// not the OpenID provider's.
    pub fn has_password_session(&self) -> bool {
        self.owner()
            .is_some_and(|o| super::tokens::owned_by(o).is_none())
            && !self.is_proxied()
            && !self.single_sign_on
    }

    fn owner(&self) -> Option<&str> {
        self.session.as_deref()
    }
}

/// Last-use times are written at most this often: a page full of requests is one write.
const TOUCH_EVERY_MS: i64 = 60_000;

pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex(&bytes)
}

pub fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new session for `name`; returns the cookie's secret.
pub async fn create(store: &Store, name: &str) -> Result<String, Error> {
    create_with(store, name, None).await
}

/// A new session for `name` signed in by the OpenID provider, which gave `id_token`.
pub async fn create_signed_on(store: &Store, name: &str, id_token: &str) -> Result<String, Error> {
    create_with(store, name, Some(id_token)).await
}

async fn create_with(store: &Store, name: &str, id_token: Option<&str>) -> Result<String, Error> {
    let secret = new_secret();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_name, created_at, last_seen, oidc_id_token)
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(digest(&secret))
    .bind(name)
    .bind(now)
    .bind(id_token)
    .execute(&store.pool)
    .await
    .map_err(store_error)?;
    Ok(secret)
}

/// The ID token a cookie's session was opened with, if the OpenID provider opened it.
pub async fn id_token(store: &Store, secret: &str) -> Result<Option<String>, Error> {
    let row = sqlx::query("SELECT oidc_id_token FROM sessions WHERE id_hash = $1")
        .bind(digest(secret))
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?;
    row.map(|row| row.try_get::<Option<String>, _>("oidc_id_token"))
        .transpose()
        .map(Option::flatten)
        .map_err(store_error)
}

/// The caller a cookie secret stands for, if its session is alive.
pub async fn find(store: &Store, secret: &str, policy: Policy) -> Result<Option<Caller>, Error> {
    let id = digest(secret);
    let row = sqlx::query(concat!(
        "SELECT s.created_at, s.last_seen, u.name, u.role, u.second_factor_required,
                CAST(CASE WHEN s.oidc_id_token IS NULL THEN 0 ELSE 1 END AS BIGINT) AS sso, ",
        crate::confirmed_second_factors!(),
        " AS confirmed
           FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1",
    ))
    .bind(&id)
    .fetch_optional(&store.pool)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    type Found = (i64, i64, String, String, i64, i64, i64);
    let read = || -> Result<Found, sqlx::Error> {
        Ok((
            row.try_get("created_at")?,
            row.try_get("last_seen")?,
            row.try_get("name")?,
            row.try_get("role")?,
            row.try_get("second_factor_required")?,
            row.try_get("confirmed")?,
            row.try_get("sso")?,
        ))
    };
    let (created, last_seen, name, role, required, confirmed, sso) = read().map_err(store_error)?;
    let now = now_ms();
    if expired(created, last_seen, policy) {
        delete_id(store, &id).await?;
        return Ok(None);
    }
    if now - last_seen > TOUCH_EVERY_MS {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(&id)
            .execute(&store.pool)
            .await
            .map_err(store_error)?;
    }
    let role = Role::parse(&role).unwrap_or(Role::Viewer);
    Ok(Some(Caller {
        name,
        role,
        session: Some(id),
        // The provider is the way in for its sessions: Berth asks no second factor of them.
        second_factor_due: sso == 0
            && super::second_factor::due(
                required != 0,
                role,
                policy.second_factor_for_admins,
                confirmed > 0,
            ),
        single_sign_on: sso != 0,
    }))
}

fn expired(created: i64, last_seen: i64, policy: Policy) -> bool {
    let now = now_ms();
    now - last_seen > policy.idle.as_millis() as i64
        || now - created > policy.lifetime.as_millis() as i64
}

/// Ends every session of `name` (their role changed: they sign in again).
pub async fn delete_for_user(store: &Store, name: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM sessions WHERE user_name = $1")
        .bind(name)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Ends every session of `name` but `keep` (a stored session id).
pub async fn delete_for_user_except(
    store: &Store,
    name: &str,
    keep: Option<&str>,
) -> Result<(), Error> {
    sqlx::query("DELETE FROM sessions WHERE user_name = $1 AND id_hash <> $2")
        .bind(name)
        .bind(keep.unwrap_or_default())
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Deletes every session that expired (idle or past its lifetime); how many. Sessions are
/// also ended when presented, but one never presented again would stay forever.
pub async fn sweep(store: &Store, policy: Policy) -> Result<u64, Error> {
    let now = now_ms();
    sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
        .bind(now - policy.idle.as_millis() as i64)
        .bind(now - policy.lifetime.as_millis() as i64)
        .execute(&store.pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(store_error)
}

/// How often expired sessions are deleted.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Until `shutdown`: deletes expired sessions now and every [`SWEEP_EVERY`]; a timer's
/// sleep between, no work.
pub async fn sweep_until(
    store: Store,
    policy: Policy,
    shutdown: tokio_util::sync::CancellationToken,
) {
    loop {
        match sweep(&store, policy).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!("deleted {n} expired sessions"),
            Err(e) => tracing::warn!("cannot delete expired sessions: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(SWEEP_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Signs a cookie's session out.
pub async fn delete(store: &Store, secret: &str) -> Result<(), Error> {
    delete_id(store, &digest(secret)).await
}

async fn delete_id(store: &Store, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_random_and_only_their_digest_is_kept() {
        let (a, b) = (super::new_secret(), super::new_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(super::digest(&a).len(), 64);
        assert_ne!(super::digest(&a), a);
    }
}
