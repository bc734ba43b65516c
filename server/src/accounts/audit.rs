//! The audit log: who did what, when, from which address. Writing an entry never fails
//! the request it records (a failure is logged instead). Entries older than the retention
//! are pruned as new ones arrive, at most once an hour, so keeping it bounded needs no
//! timer of its own. What is stored is [`plain`] text: a terminal command or a reference
//! cannot carry a newline, an ANSI sequence or a bidi override into a reader's view.

use super::{now_ms, sessions::new_secret, store_error};
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

/// Characters kept of an actor or action, and of a target; the rest is cut with `…`.
const MAX_ACTOR: usize = 128;
const MAX_TARGET: usize = 1024;

/// `text` as an audit entry stores it: control characters (C0, DEL, C1) and the invisible
/// characters that reorder or hide text (bidi embeddings, overrides and isolates, marks,
/// zero-width characters) written as `\u{…}`, and at most `max` characters. A reader sees
/// exactly what was there, never text that draws itself differently.
pub fn plain(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if is_deceptive(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn is_deceptive(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width space, joiners, LRM, RLM
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, bidi isolates
            | '\u{061c}'               // Arabic letter mark
            | '\u{034f}'               // combining grapheme joiner
            | '\u{180e}'               // Mongolian vowel separator
            | '\u{2028}' | '\u{2029}' // line and paragraph separators: a fake new line
            | '\u{feff}'               // zero-width no-break space
            | '\u{e0000}'..='\u{e007f}' // tag characters
        )
}

impl Audit {
    pub fn new(store: Store, keep: Duration) -> Self {
        Self {
            store,
            keep,
            last_prune: AtomicI64::new(0),
        }
    }

    /// Writes `event`; its entry's id, unless the write failed (which is logged).
    pub async fn record(&self, event: Event<'_>) -> Option<String> {
        let now = now_ms();
        let id = new_secret()[..16].to_string();
        let inserted = sqlx::query(
            "INSERT INTO audit (id, at, actor, action, target, address, ok)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(now)
        .bind(plain(event.actor, MAX_ACTOR))
        .bind(plain(event.action, MAX_ACTOR))
        .bind(event.target.map(|t| plain(t, MAX_TARGET)))
        .bind(event.address.map(|a| a.to_string()))
        .bind(i64::from(event.ok))
        .execute(&self.store.pool)
        .await;
        let written = match inserted {
            Ok(_) => Some(id),
            Err(e) => {
                tracing::error!(action = event.action, "cannot write the audit log: {e}");
                None
            }
        };
        let last = self.last_prune.load(Ordering::Relaxed);
        let due = now - last > PRUNE_EVERY_MS
            && self
                .last_prune
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if due && let Err(e) = self.prune().await {
            tracing::error!("cannot prune the audit log: {}", e);
        }
        written
    }

    /// Rewrites the target of entry `id` (a burst of refusals, with its count so far).
    pub async fn retarget(&self, id: &str, target: &str) {
        let updated = sqlx::query("UPDATE audit SET target = $1 WHERE id = $2")
            .bind(plain(target, MAX_TARGET))
            .bind(id)
            .execute(&self.store.pool)
            .await;
        if let Err(e) = updated {
            tracing::error!("cannot update the audit log: {e}");
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
                    // Entries written before they were stored plain are shown plain.
                    actor: plain(&row.try_get::<String, _>("actor")?, MAX_ACTOR),
                    action: plain(&row.try_get::<String, _>("action")?, MAX_ACTOR),
                    target: row
                        .try_get::<Option<String>, _>("target")?
                        .map(|t| plain(&t, MAX_TARGET)),
                    address: row.try_get("address")?,
                    ok: row.try_get::<i64, _>("ok")? != 0,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(store_error)
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    /// Issue 25, item 16: a bidi override or an escape sequence once reached the log as is.
    #[test]
    fn stored_text_shows_what_was_there() {
        assert_eq!(plain("sh -c ls", 100), "sh -c ls");
        assert_eq!(plain("a\u{202e}gpj.exe", 100), "a\\u{202e}gpj.exe");
        assert_eq!(plain("x\n\x1b[31mred", 100), "x\\u{a}\\u{1b}[31mred");
        assert_eq!(
            plain("\u{2066}\u{200b}\u{feff}", 100),
            "\\u{2066}\\u{200b}\\u{feff}"
        );
        assert_eq!(plain("\u{85}", 100), "\\u{85}", "C1 controls too");
        assert_eq!(
            plain("a\u{2028}b\u{e0041}", 100),
            "a\\u{2028}b\\u{e0041}",
            "separators and tags"
        );
        assert_eq!(plain("café 日本", 100), "café 日本", "letters stay letters");
        assert_eq!(plain(&"a".repeat(10), 4), "aaaa…");
    }
}
