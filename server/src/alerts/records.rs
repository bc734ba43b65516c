//! Alerts in the database: channels (their secret sealed by the caller), rules (as JSON),
//! alerts with one delivery per channel written together before anything is sent, the
//! outbox read as each channel's oldest pending delivery, and the history's search. Every
//! query is written once for SQLite and PostgreSQL.

use super::facts::Facts;
use crate::{
    accounts::{now_ms, store_error},
    error::Error,
    store::Store,
};
use app::model::{
    AlertRecord, AlertState, Delivery, DeliveryState, EngineMute, HistoryQuery, Mute, NewRule, Rule,
};
use sqlx::{Row, any::AnyRow};

/// Tries of a write that failed (a busy SQLite, a conflict between replicas).
const TRIES: usize = 3;
/// The most alerts one history page holds.
const MAX_PAGE: u32 = 500;
const DEFAULT_PAGE: u32 = 100;
/// The most words a history search takes.
const MAX_WORDS: usize = 5;

/// A channel as kept: its secret still sealed.
#[derive(Clone, Debug)]
pub struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    /// JSON: the channel's settings that are not secret.
    pub settings: String,
    pub secret: String,
    pub target: String,
    pub dropped: i64,
    pub updated: i64,
}

/// A channel's oldest undelivered message: the next to send to it.
#[derive(Clone, Debug)]
pub struct Head {
    pub alert_id: i64,
    pub channel_id: i64,
    pub attempts: i64,
    pub next_try: Option<i64>,
    pub facts: Facts,
}

/// A fired alert to keep.
pub struct NewAlert<'a> {
    pub rule_id: Option<i64>,
    pub facts: &'a Facts,
    /// The channels it goes to, by id and name.
    pub channels: &'a [(i64, String)],
}

#[derive(Clone)]
pub struct Records {
    store: Store,
}

fn state_text(state: AlertState) -> &'static str {
    match state {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    }
}

impl Records {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn pool(&self) -> &sqlx::AnyPool {
        &self.store.pool
    }

    // Channels.

    pub async fn channels(&self) -> Result<Vec<ChannelRow>, Error> {
        let rows = sqlx::query("SELECT * FROM alert_channels ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        rows.iter().map(channel_row).collect()
    }

    /// 404 when there is none.
    pub async fn channel(&self, id: i64) -> Result<ChannelRow, Error> {
        let row = sqlx::query("SELECT * FROM alert_channels WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(store_error)?;
        match row {
            Some(row) => channel_row(&row),
            None => Err(Error::not_found(format!("no alert channel {id}"))),
        }
    }

    /// The next channel id (the secret is sealed for it before it is written).
    pub async fn next_channel_id(&self) -> Result<i64, Error> {
        next_id(self.pool(), "channel").await.map_err(store_error)
    }

    /// Writes the channel `row.id`: a new one, or over the old (404 when it is gone).
    pub async fn put_channel(&self, row: &ChannelRow, new: bool) -> Result<(), Error> {
        let sql = match new {
            true => {
                "INSERT INTO alert_channels (id, name, kind, settings, secret, target, dropped, updated)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7)"
            }
            false => {
                "UPDATE alert_channels SET name = $2, kind = $3, settings = $4, secret = $5,
                        target = $6, updated = $7 WHERE id = $1"
            }
        };
        let done = sqlx::query(sql)
            .bind(row.id)
            .bind(&row.name)
            .bind(&row.kind)
            .bind(&row.settings)
            .bind(&row.secret)
            .bind(&row.target)
            .bind(row.updated)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        match done.rows_affected() {
            0 => Err(Error::not_found(format!("no alert channel {}", row.id))),
            _ => Ok(()),
        }
    }

    /// Removes a channel; what it had not delivered is dropped, and said so.
    pub async fn remove_channel(&self, id: i64) -> Result<(), Error> {
        let mut tx = self.pool().begin().await.map_err(store_error)?;
        let done = sqlx::query("DELETE FROM alert_channels WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!("no alert channel {id}")));
        }
        sqlx::query(
            "UPDATE alert_deliveries SET state = 'dropped', next_try = NULL,
                    last_error = 'the channel was removed'
              WHERE channel_id = $1 AND state = 'pending'",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)
    }

    // Rules.

    pub async fn rules(&self) -> Result<Vec<Rule>, Error> {
        let rows = sqlx::query("SELECT id, body, author, updated FROM alert_rules ORDER BY id")
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        let mut rules = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get("id").map_err(store_error)?;
            let body: String = row.try_get("body").map_err(store_error)?;
            // A rule written by a newer Berth that this one cannot read is left out, said.
            match serde_json::from_str::<NewRule>(&body) {
                Ok(rule) => rules.push(Rule {
                    id,
                    rule,
                    author: row.try_get("author").map_err(store_error)?,
                    updated_ms: row.try_get("updated").map_err(store_error)?,
                }),
                Err(e) => tracing::warn!("alert rule {id} cannot be read, left out: {e}"),
            }
        }
        Ok(rules)
    }

    pub async fn insert_rule(&self, rule: &NewRule, author: &str) -> Result<Rule, Error> {
        let body = serde_json::to_string(rule).map_err(|e| Error::new(500, e.to_string()))?;
        let now = now_ms();
        let id = next_id(self.pool(), "rule").await.map_err(store_error)?;
        sqlx::query("INSERT INTO alert_rules (id, body, author, updated) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(&body)
            .bind(author)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        Ok(Rule {
            id,
            rule: rule.clone(),
            author: author.to_string(),
            updated_ms: now,
        })
    }

    pub async fn update_rule(&self, id: i64, rule: &NewRule, author: &str) -> Result<Rule, Error> {
        let body = serde_json::to_string(rule).map_err(|e| Error::new(500, e.to_string()))?;
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE alert_rules SET body = $2, author = $3, updated = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(&body)
        .bind(author)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        match done.rows_affected() {
            0 => Err(Error::not_found(format!("no alert rule {id}"))),
            _ => Ok(Rule {
                id,
                rule: rule.clone(),
                author: author.to_string(),
                updated_ms: now,
            }),
        }
    }

    pub async fn remove_rule(&self, id: i64) -> Result<(), Error> {
        let done = sqlx::query("DELETE FROM alert_rules WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        match done.rows_affected() {
            0 => Err(Error::not_found(format!("no alert rule {id}"))),
            _ => Ok(()),
        }
    }

    // Engines' mutes.

    pub async fn mutes(&self) -> Result<Vec<EngineMute>, Error> {
        let rows = sqlx::query(
            "SELECT engine, body, author, updated FROM alert_engine_mutes ORDER BY engine",
        )
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        let mut mutes = Vec::with_capacity(rows.len());
        for row in &rows {
            let engine: String = row.try_get("engine").map_err(store_error)?;
            let body: String = row.try_get("body").map_err(store_error)?;
            match serde_json::from_str::<Mute>(&body) {
                Ok(mute) => mutes.push(EngineMute {
                    engine,
                    mute,
                    author: row.try_get("author").map_err(store_error)?,
                    updated_ms: row.try_get("updated").map_err(store_error)?,
                }),
                Err(e) => tracing::warn!("the mute of engine {engine} cannot be read: {e}"),
            }
        }
        Ok(mutes)
    }

    pub async fn put_mute(
        &self,
        engine: &str,
        mute: &Mute,
        author: &str,
    ) -> Result<EngineMute, Error> {
        let body = serde_json::to_string(mute).map_err(|e| Error::new(500, e.to_string()))?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO alert_engine_mutes (engine, body, author, updated) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (engine) DO UPDATE SET body = excluded.body, author = excluded.author, \
             updated = excluded.updated",
        )
        .bind(engine)
        .bind(&body)
        .bind(author)
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(EngineMute {
            engine: engine.to_string(),
            mute: mute.clone(),
            author: author.to_string(),
            updated_ms: now,
        })
    }

    pub async fn remove_mute(&self, engine: &str) -> Result<(), Error> {
        let done = sqlx::query("DELETE FROM alert_engine_mutes WHERE engine = $1")
            .bind(engine)
            .execute(self.pool())
            .await
            .map_err(store_error)?;
        match done.rows_affected() {
            0 => Err(Error::not_found(format!("engine {engine} is not muted"))),
            _ => Ok(()),
        }
    }

    // Alerts and their deliveries.

    /// Keeps an alert with a pending delivery per channel, in one transaction; over `cap`
    /// pending for a channel, its oldest are dropped (and counted on the channel). Its id,
    /// and how many were dropped.
    pub async fn record(&self, alert: &NewAlert<'_>, cap: u32) -> Result<(i64, u64), Error> {
        let facts =
            serde_json::to_string(alert.facts).map_err(|e| Error::new(500, e.to_string()))?;
        let mut last = None;
        for _ in 0..TRIES {
            match self.try_record(alert, &facts, cap).await {
                Ok(id) => return Ok(id),
                Err(e) => last = Some(e),
            }
        }
        Err(store_error(last.expect("tried at least once")))
    }

    async fn try_record(
        &self,
        alert: &NewAlert<'_>,
        facts: &str,
        cap: u32,
    ) -> Result<(i64, u64), sqlx::Error> {
        let f = alert.facts;
        let mut dropped = 0;
        let mut tx = self.pool().begin().await?;
        // Taken in the transaction: the row stays locked until it commits, so alerts are
        // numbered in the order they are kept, also between replicas.
        let id = next_id(&mut *tx, "alert").await?;
        sqlx::query(
            "INSERT INTO alerts (id, rule_id, rule, engine, subject, state, title, message, facts, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(alert.rule_id)
        .bind(&f.rule)
        .bind(&f.engine)
        .bind(match f.container.is_empty() {
            true => &f.engine,
            false => &f.container,
        })
        .bind(state_text(f.state))
        .bind(&f.title)
        .bind(&f.message)
        .bind(facts)
        .bind(f.time_ms)
        .execute(&mut *tx)
        .await?;
        for (channel, name) in alert.channels {
            let over: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_deliveries WHERE channel_id = $1 AND state = 'pending'",
            )
            .bind(channel)
            .fetch_one(&mut *tx)
            .await?;
            let drop = over + 1 - i64::from(cap);
            if drop > 0 {
                dropped += drop as u64;
                sqlx::query(
                    "UPDATE alert_deliveries SET state = 'dropped', next_try = NULL,
                            last_error = 'dropped: the channel''s queue was full'
                      WHERE channel_id = $1 AND state = 'pending' AND alert_id IN (
                            SELECT alert_id FROM alert_deliveries
                             WHERE channel_id = $1 AND state = 'pending'
                             ORDER BY alert_id LIMIT $2)",
                )
                .bind(channel)
                .bind(drop)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE alert_channels SET dropped = dropped + $2 WHERE id = $1")
                    .bind(channel)
                    .bind(drop)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO alert_deliveries (alert_id, channel_id, channel, state, attempts)
                 VALUES ($1, $2, $3, 'pending', 0)",
            )
            .bind(id)
            .bind(channel)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((id, dropped))
    }

    /// Every channel's oldest pending delivery.
    pub async fn heads(&self) -> Result<Vec<Head>, Error> {
        let rows = sqlx::query(
            "SELECT d.alert_id, d.channel_id, d.attempts, d.next_try, a.facts
               FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
              WHERE d.state = 'pending' AND d.alert_id = (
                    SELECT MIN(e.alert_id) FROM alert_deliveries e
                     WHERE e.channel_id = d.channel_id AND e.state = 'pending')",
        )
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        let mut heads = Vec::with_capacity(rows.len());
        for row in &rows {
            let alert_id: i64 = row.try_get("alert_id").map_err(store_error)?;
            let facts: String = row.try_get("facts").map_err(store_error)?;
            let Ok(facts) = serde_json::from_str(&facts) else {
                tracing::warn!("alert {alert_id}: its facts cannot be read; dropped");
                self.settle(
                    alert_id,
                    row.try_get("channel_id").map_err(store_error)?,
                    Err("its facts cannot be read".into()),
                    None,
                )
                .await?;
                continue;
            };
            heads.push(Head {
                alert_id,
                channel_id: row.try_get("channel_id").map_err(store_error)?,
                attempts: row.try_get("attempts").map_err(store_error)?,
                next_try: row.try_get("next_try").map_err(store_error)?,
                facts,
            });
        }
        Ok(heads)
    }

    /// Messages waiting, over every channel.
    pub async fn depth(&self) -> Result<u64, Error> {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM alert_deliveries WHERE state = 'pending'",
        )
        .fetch_one(self.pool())
        .await
        .map(|n| n as u64)
        .map_err(store_error)
    }

    /// Records a try: `Ok(())` delivered; `Err(why)` failed, tried again at `next_try`
    /// (or, with none, dropped).
    pub async fn settle(
        &self,
        alert_id: i64,
        channel_id: i64,
        outcome: Result<(), String>,
        next_try: Option<i64>,
    ) -> Result<(), Error> {
        let query = match (&outcome, next_try) {
            (Ok(()), _) => sqlx::query(
                "UPDATE alert_deliveries SET state = 'delivered', attempts = attempts + 1,
                        delivered = $3, next_try = NULL, last_error = NULL
                  WHERE alert_id = $1 AND channel_id = $2",
            )
            .bind(alert_id)
            .bind(channel_id)
            .bind(now_ms()),
            (Err(why), Some(next)) => sqlx::query(
                "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $3,
                        next_try = $4
                  WHERE alert_id = $1 AND channel_id = $2 AND state = 'pending'",
            )
            .bind(alert_id)
            .bind(channel_id)
            .bind(why.chars().take(1024).collect::<String>())
            .bind(next),
            (Err(why), None) => sqlx::query(
                "UPDATE alert_deliveries SET state = 'dropped', last_error = $3, next_try = NULL
                  WHERE alert_id = $1 AND channel_id = $2",
            )
            .bind(alert_id)
            .bind(channel_id)
            .bind(why.chars().take(1024).collect::<String>()),
        };
        query.execute(self.pool()).await.map_err(store_error)?;
        Ok(())
    }

    /// Pending deliveries per channel.
    pub async fn pending(&self) -> Result<Vec<(i64, i64)>, Error> {
        let rows = sqlx::query(
            "SELECT channel_id, COUNT(*) AS n FROM alert_deliveries
              WHERE state = 'pending' GROUP BY channel_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|r| Ok((r.try_get("channel_id")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(store_error)
    }

    /// Alerts older than `before` (unix ms) whose deliveries are all settled.
    pub async fn prune(&self, before: i64) -> Result<u64, Error> {
        let done = sqlx::query(
            "DELETE FROM alerts WHERE at < $1 AND NOT EXISTS (
                SELECT 1 FROM alert_deliveries d WHERE d.alert_id = alerts.id AND d.state = 'pending')",
        )
        .bind(before)
        .execute(self.pool())
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    /// Alerts newest first, each with its deliveries.
    pub async fn history(&self, query: &HistoryQuery) -> Result<Vec<AlertRecord>, Error> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let words: Vec<String> = query
            .q
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .take(MAX_WORDS)
            .map(|w| {
                let escaped = w
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            })
            .collect();
        let mut sql = String::from("SELECT * FROM alerts WHERE id < $1");
        for n in 0..words.len() {
            sql.push_str(&format!(
                " AND LOWER(rule || ' ' || subject || ' ' || engine || ' ' || title || ' ' || message) LIKE ${} ESCAPE '\\'",
                n + 2
            ));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
        let mut select = sqlx::query(&sql).bind(query.before.unwrap_or(i64::MAX));
        for word in &words {
            select = select.bind(word);
        }
        let rows = select.fetch_all(self.pool()).await.map_err(store_error)?;
        let mut alerts: Vec<AlertRecord> = rows
            .iter()
            .map(alert_record)
            .collect::<Result<_, sqlx::Error>>()
            .map_err(store_error)?;
        if alerts.is_empty() {
            return Ok(alerts);
        }
        // The listed alerts' deliveries only (their ids are numbers Berth read: no text
        // from the request reaches this statement).
        let ids: Vec<String> = alerts.iter().map(|a| a.id.to_string()).collect();
        let sql = format!(
            "SELECT * FROM alert_deliveries WHERE alert_id IN ({}) ORDER BY alert_id, channel_id",
            ids.join(", ")
        );
        let deliveries = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(store_error)?;
        let at: std::collections::HashMap<i64, usize> =
            alerts.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        for row in &deliveries {
            let alert_id: i64 = row.try_get("alert_id").map_err(store_error)?;
            if let Some(&i) = at.get(&alert_id) {
                alerts[i]
                    .deliveries
                    .push(delivery(row).map_err(store_error)?);
            }
        }
        Ok(alerts)
    }
}

/// The next id of `kind` (`channel`, `rule`, `alert`): never one used before.
async fn next_id<'e, E>(executor: E, kind: &str) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("UPDATE alert_ids SET last = last + 1 WHERE kind = $1 RETURNING last")
        .bind(kind)
        .fetch_one(executor)
        .await
}

fn channel_row(row: &AnyRow) -> Result<ChannelRow, Error> {
    let read = || -> Result<ChannelRow, sqlx::Error> {
        Ok(ChannelRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: row.try_get("kind")?,
            settings: row.try_get("settings")?,
            secret: row.try_get("secret")?,
            target: row.try_get("target")?,
            dropped: row.try_get("dropped")?,
            updated: row.try_get("updated")?,
        })
    };
    read().map_err(store_error)
}

fn alert_record(row: &AnyRow) -> Result<AlertRecord, sqlx::Error> {
    let state: String = row.try_get("state")?;
    Ok(AlertRecord {
        id: row.try_get("id")?,
        rule_id: row.try_get("rule_id")?,
        rule: row.try_get("rule")?,
        engine: row.try_get("engine")?,
        subject: row.try_get("subject")?,
        state: match state.as_str() {
            "resolved" => AlertState::Resolved,
            _ => AlertState::Firing,
        },
        title: row.try_get("title")?,
        message: row.try_get("message")?,
        at_ms: row.try_get("at")?,
        deliveries: Vec::new(),
    })
}

fn delivery(row: &AnyRow) -> Result<Delivery, sqlx::Error> {
    let state: String = row.try_get("state")?;
    let attempts: i64 = row.try_get("attempts")?;
    let last_error: Option<String> = row.try_get("last_error")?;
    Ok(Delivery {
        channel_id: row.try_get("channel_id")?,
        channel: row.try_get("channel")?,
        state: match state.as_str() {
            "delivered" => DeliveryState::Delivered,
            "dropped" => DeliveryState::Dropped,
            _ if attempts > 0 => DeliveryState::Failing,
            _ => DeliveryState::Pending,
        },
        attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
        last_error,
        next_try_ms: row.try_get("next_try")?,
        delivered_ms: row.try_get("delivered")?,
    })
}
