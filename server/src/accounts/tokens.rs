//! API tokens: for scripts and scrapers, sent as `Authorization: Bearer berth_…`. Created
//! by an admin with a role, shown once, stored as a SHA-256, with a last-used time (written
//! at most once a minute), revocable. A token's sockets are owned under `token:ID`, so
//! revoking it ends them like a signed-out session's.

use super::{
    now_ms,
    sessions::{Caller, digest, new_secret},
    store_error, validate_name,
};
use crate::error::Error;
use crate::store::Store;
use app::model::{NewToken, Role, TokenInfo};
use sqlx::Row;

const PREFIX: &str = "berth_";
const TOUCH_EVERY_MS: i64 = 60_000;

const OWNER_PREFIX: &str = "token:";

/// The owner key a token's sockets are registered under.
pub fn owner_key(id: &str) -> String {
    format!("{OWNER_PREFIX}{id}")
}

/// The token id of an owner key, if it is a token's.
pub fn owned_by(key: &str) -> Option<&str> {
    key.strip_prefix(OWNER_PREFIX)
}

fn info(row: &sqlx::any::AnyRow) -> Result<TokenInfo, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        last_used: row.try_get("last_used")?,
    })
}

/// A new token named `name` (same rules as user names) with `role`.
pub async fn create(
    store: &Store,
    name: &str,
    role: Role,
    by: Option<&str>,
) -> Result<NewToken, Error> {
    validate_name(name).map_err(|_| {
        Error::bad_request(format!(
            "a token name is 1 to 64 of a-z, 0-9, '.', '_' and '-', not {name:?}"
        ))
    })?;
    let token = format!("{PREFIX}{}", new_secret());
    let id = new_secret()[..12].to_string();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO tokens (id, name, role, secret_hash, created_by, created_at, last_used)
         VALUES ($1, $2, $3, $4, $5, $6, NULL)",
    )
    .bind(&id)
    .bind(name)
    .bind(role.as_str())
    .bind(digest(&token))
    .bind(by.map(str::to_string))
    .bind(now)
    .execute(&store.pool)
    .await
    .map_err(store_error)?;
    Ok(NewToken {
        token,
        info: TokenInfo {
            id,
            name: name.to_string(),
            role,
            created_by: by.map(str::to_string),
            created_at: now,
            last_used: None,
        },
    })
}

pub async fn list(store: &Store) -> Result<Vec<TokenInfo>, Error> {
    let rows = sqlx::query(
        "SELECT id, name, role, created_by, created_at, last_used FROM tokens ORDER BY created_at, id",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    rows.iter()
        .map(info)
        .collect::<Result<_, _>>()
        .map_err(store_error)
}

/// Revokes a token; 404 when there is none with that id.
pub async fn revoke(store: &Store, id: &str) -> Result<String, Error> {
    // The name comes back for the audit log: an id alone says little to a reader.
    let name: Option<String> =
        sqlx::query_scalar("DELETE FROM tokens WHERE id = $1 RETURNING name")
            .bind(id)
            .fetch_optional(&store.pool)
            .await
            .map_err(store_error)?;
    name.ok_or_else(|| Error::not_found(format!("no token with id {id:?}")))
}

/// Who a bearer token stands for, if it exists and its maker (if any) still does: with the
/// lower of its own role and its maker's.
pub async fn find(store: &Store, token: &str) -> Result<Option<Caller>, Error> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT t.id, t.name, t.role, t.last_used, t.created_by, u.role AS maker_role
           FROM tokens t LEFT JOIN users u ON u.name = t.created_by
          WHERE t.secret_hash = $1",
    )
    .bind(digest(token))
    .fetch_optional(&store.pool)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    type Found = (
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let read = || -> Result<Found, sqlx::Error> {
        Ok((
            row.try_get("id")?,
            row.try_get("name")?,
            row.try_get("role")?,
            row.try_get("last_used")?,
            row.try_get("created_by")?,
            row.try_get("maker_role")?,
        ))
    };
    let (id, name, role, last_used, maker, maker_role) = read().map_err(store_error)?;
    let role = Role::parse(&role).unwrap_or(Role::Viewer);
    let role = match (maker, maker_role) {
        (None, _) => role,
        // Made by someone who is gone: it ended with them.
        (Some(_), None) => return Ok(None),
        (Some(_), Some(maker_role)) => role.min(Role::parse(&maker_role).unwrap_or(Role::Viewer)),
    };
    let now = now_ms();
    if last_used.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
        sqlx::query("UPDATE tokens SET last_used = $1 WHERE id = $2")
            .bind(now)
            .bind(&id)
            .execute(&store.pool)
            .await
            .map_err(store_error)?;
    }
    Ok(Some(Caller {
        name: format!("token:{name}"),
        role,
        session: Some(owner_key(&id)),
        second_factor_due: false,
        single_sign_on: false,
    }))
}

/// The ids of the tokens `maker` made (their sockets end when the maker's role changes).
pub async fn made_by(store: &Store, maker: &str) -> Result<Vec<String>, Error> {
    sqlx::query_scalar("SELECT id FROM tokens WHERE created_by = $1")
        .bind(maker)
        .fetch_all(&store.pool)
        .await
        .map_err(store_error)
}
