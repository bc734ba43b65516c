//! The audit log: who did what, when, from which address. Writing an entry never fails
//! the request it records (a failure is logged instead). Entries older than the retention
//! are pruned as new ones arrive, at most once an hour, so keeping it bounded needs no
//! timer of its own.

use super::{sessions::new_secret, store_error, users::now_ms};
use crate::error::Error;
use crate::store::Store;
use app::model::AuditEntry;
use sqlx::Row;
use std::{
    net::IpAddr,
    sync::atomic::{AtomicI64, Ordering},
    time::Duration,
};

const PRUNE_EVERY_MS: i64 = 3_600_000;

/// The log over a store, with its retention.
pub struct Audit {
    store: Store,
    keep: Duration,
    last_prune: AtomicI64,
}

/// What happened.
pub struct Event<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub address: Option<IpAddr>,
    pub ok: bool,
}

/// `GET /api/audit`'s filters (shared with the browser, which builds the query).
pub use app::model::AuditQuery as Filter;

pub const MAX_PAGE: i64 = 500;

impl Audit {
    pub fn new(store: Store, keep: Duration) -> Self {
        Self {
            store,
            keep,
            last_prune: AtomicI64::new(0),
        }
    }

    pub async fn record(&self, event: Event<'_>) {
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO audit (id, at, actor, action, target, address, ok)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_secret()[..16].to_string())
        .bind(now)
        .bind(event.actor)
        .bind(event.action)
        .bind(event.target.map(str::to_string))
        .bind(event.address.map(|a| a.to_string()))
        .bind(i64::from(event.ok))
        .execute(&self.store.pool)
        .await;
        if let Err(e) = inserted {
            tracing::error!(action = event.action, "cannot write the audit log: {e}");
        }
        let last = self.last_prune.load(Ordering::Relaxed);
        let due = now - last > PRUNE_EVERY_MS
            && self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if due && let Err(e) = self.prune().await {
            tracing::error!("cannot prune the audit log: {}", e);
        }
    }

    /// Removes entries older than the retention.
    pub async fn prune(&self) -> Result<u64, Error> {
        let cutoff = now_ms() - self.keep.as_millis() as i64;
        sqlx::query("DELETE FROM audit WHERE at < $1")
            .bind(cutoff)
            .execute(&self.store.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(store_error)
    }

    /// Newest first, at most `limit` (default 100, at most 500).
    pub async fn list(&self, filter: &Filter) -> Result<Vec<AuditEntry>, Error> {
        let limit = filter.limit.unwrap_or(100);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Error::bad_request(format!(
                "limit must be from 1 to {MAX_PAGE}, not {limit}"
            )));
        }
        // Absent filters match everything: one statement for every combination.
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, address, ok FROM audit
              WHERE (at < $1 OR (at = $1 AND id < $2))
                AND ($3 = '' OR actor = $3) AND ($4 = '' OR action = $4)
              ORDER BY at DESC, id DESC LIMIT $5",
        )
        .bind(filter.before.unwrap_or(i64::MAX))
        // The order's tie-break: no id is below '', so without one the page starts
        // strictly before `before`.
        .bind(filter.before_id.clone().unwrap_or_default())
        .bind(filter.actor.clone().unwrap_or_default())
        .bind(filter.action.clone().unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.store.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| -> Result<AuditEntry, sqlx::Error> {
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    address: row.try_get("address")?,
                    ok: row.try_get::<i64, _>("ok")? != 0,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(store_error)
    }
}
