//! People in the store: add, list, change a password or role, remove. The last admin can
//! be neither removed nor demoted (409): an instance nobody can administer is lost. A new
//! password ends the user's other sessions; a new role ends all of them; a removal ends
//! them and the API tokens the user made (which never carry more than their maker's role).

use super::{now_ms, password, store_error, validate_name, validate_password};
use crate::error::Error;
use crate::store::Store;
use app::model::{IdentityLink, Role, User};
use sqlx::Row;

fn user(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        name: row.try_get("name")?,
        // The table's CHECK allows only the three names.
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: row.try_get("created_at")?,
        second_factor: row.try_get::<i64, _>("second_factor")? > 0,
        second_factor_required: row.try_get::<i64, _>("second_factor_required")? != 0,
        identities: Vec::new(),
    })
}

fn no_such_user(name: &str) -> Error {
    Error::not_found(format!("no user named {name:?}"))
}

const LAST_ADMIN: &str = "this is the last admin: make another user admin first";

/// Adds a user; 409 when the name is taken.
pub async fn add(store: &Store, name: &str, role: Role, password: String) -> Result<User, Error> {
    validate_name(name)?;
    validate_password(&password)?;
    let hash = password::hash(password).await?;
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(role.as_str())
    .bind(hash)
    .bind(now)
    .execute(&store.pool)
    .await
    .map_err(store_error)?;
    if inserted.rows_affected() == 0 {
        return Err(Error::new(409, format!("a user named {name:?} exists")));
    }
    Ok(User {
        name: name.to_string(),
        role,
        created_at: now,
        second_factor: false,
        second_factor_required: false,
        identities: Vec::new(),
    })
}

/// The first admin, through `/setup`: added only while nobody has an account, which the
/// statement that adds it checks; 404 once someone has. On PostgreSQL two replicas' setups
/// could each see no account under READ COMMITTED, so they take turns on a lock first.
pub async fn add_first_admin(store: &Store, name: &str, password: String) -> Result<User, Error> {
    validate_name(name)?;
    validate_password(&password)?;
    let hash = password::hash(password).await?;
    let now = now_ms();
    let mut tx = store.pool.begin().await.map_err(store_error)?;
    if store.postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(72500001)")
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
    }
    let inserted = sqlx::query(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at)
         SELECT $1, 'admin', $2, $3, $3 WHERE NOT EXISTS (SELECT 1 FROM users)",
    )
    .bind(name)
    .bind(hash)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    if inserted.rows_affected() == 0 {
        return Err(Error::not_found(
            "setup is over: an account exists; sign in",
        ));
    }
    Ok(User {
        name: name.to_string(),
        role: Role::Admin,
        created_at: now,
        second_factor: false,
        second_factor_required: false,
        identities: Vec::new(),
    })
}

/// Everyone, by name.
pub async fn list(store: &Store) -> Result<Vec<User>, Error> {
    let rows = sqlx::query(concat!(
        "SELECT u.name, u.role, u.created_at, u.second_factor_required, ",
        crate::confirmed_second_factors!(),
        " AS second_factor FROM users u ORDER BY u.name",
    ))
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    let mut users: Vec<User> = rows
        .iter()
        .map(user)
        .collect::<Result<_, _>>()
        .map_err(store_error)?;
    // Everyone's identities in one more query (the page lists them beside each user).
    let tied = sqlx::query(
        "SELECT user_name, provider, subject FROM identities ORDER BY user_name, provider, subject",
    )
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    // By name, not by position: the database's collation need not sort as Rust does.
    let at: std::collections::HashMap<String, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.name.clone(), i))
        .collect();
    for row in &tied {
        let read = || -> Result<(String, IdentityLink), sqlx::Error> {
            let link = IdentityLink {
                provider: row.try_get("provider")?,
                subject: row.try_get("subject")?,
            };
            Ok((row.try_get("user_name")?, link))
        };
        let (name, link) = read().map_err(store_error)?;
        if let Some(&i) = at.get(&name) {
            users[i].identities.push(link);
        }
    }
    Ok(users)
}

pub async fn count(store: &Store) -> Result<i64, Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(&store.pool)
        .await
        .and_then(|row| row.try_get::<i64, _>("n"))
        .map_err(store_error)
}

/// A new password; every session of the user but `keep` (the one that changed it, when the
/// user changed their own) ends.
pub async fn set_password(
    store: &Store,
    name: &str,
    password: String,
    keep: Option<&str>,
) -> Result<(), Error> {
    validate_name(name)?;
    validate_password(&password)?;
    let hash = password::hash(password).await?;
    let updated =
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE name = $3")
            .bind(hash)
            .bind(now_ms())
            .bind(name)
            .execute(&store.pool)
            .await
            .map_err(store_error)?;
    if updated.rows_affected() == 0 {
        return Err(no_such_user(name));
    }
    super::sessions::delete_for_user_except(store, name, keep).await
}

/// Changes a role and ends the user's sessions; demoting the last admin is 409.
pub async fn set_role(store: &Store, name: &str, role: Role) -> Result<(), Error> {
    validate_name(name)?;
    let changed = guarded(
        store,
        sqlx::query(
            "UPDATE users SET role = $1, updated_at = $2 WHERE name = $3
               AND (role <> 'admin' OR $1 = 'admin'
                    OR (SELECT COUNT(*) FROM users WHERE role = 'admin') > 1)",
        )
        .bind(role.as_str())
        .bind(now_ms())
        .bind(name),
        None,
    )
    .await?;
    if !changed {
        return Err(kept_admin_or_missing(store, name).await?);
    }
    // A session carries the rights it was opened with: they sign in again.
    super::sessions::delete_for_user(store, name).await
}

/// Removes a user (their sessions go with them); the last admin is 409.
pub async fn remove(store: &Store, name: &str) -> Result<(), Error> {
    validate_name(name)?;
    let changed = guarded(
        store,
        sqlx::query(
            "DELETE FROM users WHERE name = $1
               AND (role <> 'admin' OR (SELECT COUNT(*) FROM users WHERE role = 'admin') > 1)",
        )
        .bind(name),
        // Their tokens go with them, in the same transaction: a token kept by a failure
        // between the two would come back with a new user of the same name.
        Some(sqlx::query("DELETE FROM tokens WHERE created_by = $1").bind(name)),
    )
    .await?;
    if !changed {
        return Err(kept_admin_or_missing(store, name).await?);
    }
    Ok(())
}

/// Runs a statement that may take away an admin and checks, in the same statement, that
/// another stays; true when it changed a row. SQLite has one writer at a time, so the check
/// and the change cannot interleave with another's. PostgreSQL (READ COMMITTED) would let
/// two demotions each count two admins: there the admin rows are locked first, so the
/// second waits for the first to commit and its statement then counts afresh.
/// `then` runs in the same transaction, only when the statement changed a row.
async fn guarded<'q>(
    store: &Store,
    statement: Query<'q>,
    then: Option<Query<'q>>,
) -> Result<bool, Error> {
    let mut tx = store.pool.begin().await.map_err(store_error)?;
    if store.postgres {
        sqlx::query("SELECT name FROM users WHERE role = 'admin' FOR UPDATE")
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
    }
    let done = statement.execute(&mut *tx).await.map_err(store_error)?;
    let changed = done.rows_affected() > 0;
    if let (true, Some(then)) = (changed, then) {
        then.execute(&mut *tx).await.map_err(store_error)?;
    }
    tx.commit().await.map_err(store_error)?;
    Ok(changed)
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Why a guarded change touched no row: the user is the last admin (409), or absent (404).
async fn kept_admin_or_missing(store: &Store, name: &str) -> Result<Error, Error> {
    Ok(if exists(store, name).await? {
        Error::new(409, LAST_ADMIN)
    } else {
        no_such_user(name)
    })
}

async fn exists(store: &Store, name: &str) -> Result<bool, Error> {
    sqlx::query("SELECT name FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.pool)
        .await
        .map(|row| row.is_some())
        .map_err(store_error)
}

/// A user's stored hash and role, for signing in.
pub async fn credentials(store: &Store, name: &str) -> Result<Option<(String, Role)>, Error> {
    let row = sqlx::query("SELECT password_hash, role FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let hash: String = row.try_get("password_hash").map_err(store_error)?;
    let role: String = row.try_get("role").map_err(store_error)?;
    Ok(Some((hash, Role::parse(&role).unwrap_or(Role::Viewer))))
}
