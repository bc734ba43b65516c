//! The update runs' records, kept in the database: what was updated, by whom, when, from
//! which image to which, how it ended and its last lines, so the history outlives a
//! restart. Numbered from 1 on each engine; the last [`KEPT`] of each engine are kept (an
//! older one goes when a new one begins, never one that has not ended).

use crate::{
    accounts::{now_ms, store_error},
    docker::EngineName,
    error::Error,
    store::Store,
};
use app::model::UpdateRun;
use sqlx::Row;

/// Runs kept per engine.
pub const KEPT: i64 = 100;

/// Tries at a run's number: two replicas may pick the same one at once.
const NUMBER_TRIES: usize = 3;

/// Why a run ended without saying so: Berth stopped (or failed) while it went on.
pub const INTERRUPTED: &str = "failed: Berth stopped while it went on (see the container list: a container's old one may be there as NAME-berth-old-…; a stack's run says how it ended; a swarm service's update status, how its rollout did)";

const COLUMNS: &str = "n, container, image, by_user, started, ended, outcome, updated, \
                       rolled_back, from_image, to_image, new_id, tail, stack, stack_run, \
                       service";

/// The records, over the store.
pub struct RunRecords {
    store: Store,
}

impl RunRecords {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Records a new run of `engine` and answers its number.
    pub async fn begin(&self, engine: &EngineName, run: &UpdateRun) -> Result<u64, Error> {
        let mut last = None;
        for _ in 0..NUMBER_TRIES {
            let inserted = sqlx::query(
                "INSERT INTO update_runs (engine, n, container, image, by_user, started,
                                          updated, tail, stack, service)
                 SELECT $1, COALESCE(MAX(n), 0) + 1, $2, $3, $4, $5, 0, '[]', $6, $7
                   FROM update_runs WHERE engine = $1
                 RETURNING n",
            )
            .bind(engine.as_str())
            .bind(&run.container)
            .bind(&run.image)
            .bind(&run.by)
            .bind(run.started_ms)
            .bind(&run.stack)
            .bind(&run.service)
            .fetch_all(&self.store.pool)
            .await;
            match inserted {
                Ok(rows) => {
                    let row = rows.first().ok_or(sqlx::Error::RowNotFound);
                    let n: i64 = row.and_then(|r| r.try_get("n")).map_err(store_error)?;
                    self.trim(engine).await;
                    return Ok(n as u64);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(store_error(last.expect("tried at least once")))
    }

    /// Past [`KEPT`], the engine's oldest ended runs go.
    async fn trim(&self, engine: &EngineName) {
        let trimmed = sqlx::query(
            "DELETE FROM update_runs WHERE engine = $1 AND ended IS NOT NULL AND n <= (
                 SELECT MAX(n) FROM update_runs WHERE engine = $1) - $2",
        )
        .bind(engine.as_str())
        .bind(KEPT)
        .execute(&self.store.pool)
        .await;
        if let Err(e) = trimmed {
            tracing::warn!("image updates: cannot trim the update runs: {e}");
        }
    }

    /// Writes how run `run.n` of `engine` ended (a failure is logged: the update itself
    /// is done).
    pub async fn finish(&self, engine: &EngineName, run: &UpdateRun) {
        let tail = serde_json::to_string(&run.tail).unwrap_or_else(|_| "[]".into());
        let written = sqlx::query(
            "UPDATE update_runs SET ended = $1, outcome = $2, updated = $3, rolled_back = $4,
                    from_image = $5, to_image = $6, new_id = $7, tail = $8, stack_run = $9
              WHERE engine = $10 AND n = $11",
        )
        .bind(run.ended_ms)
        .bind(&run.outcome)
        .bind(i64::from(run.updated))
        .bind(&run.rolled_back)
        .bind(&run.from)
        .bind(&run.to)
        .bind(&run.new_id)
        .bind(tail)
        .bind(run.stack_run.map(|n| n as i64))
        .bind(engine.as_str())
        .bind(run.n as i64)
        .execute(&self.store.pool)
        .await;
        if let Err(e) = written {
            tracing::error!(engine = %engine, run = run.n, "cannot record how an update ended: {e}");
        }
    }

    /// Runs recorded as going on that began before `started` (when this Berth started):
    /// none goes on any more (a stop rolls back and records it; these ended with Berth
    /// killed), so they end now, saying so.
    pub async fn interrupted(&self, started: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE update_runs SET ended = $1, outcome = $2 WHERE ended IS NULL AND started < $3",
        )
        .bind(now_ms())
        .bind(INTERRUPTED)
        .bind(started)
        .execute(&self.store.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The engine's runs, newest first.
    pub async fn list(&self, engine: &EngineName) -> Result<Vec<UpdateRun>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM update_runs WHERE engine = $1 ORDER BY n DESC LIMIT $2"
        ))
        .bind(engine.as_str())
        .bind(KEPT)
        .fetch_all(&self.store.pool)
        .await
        .map_err(store_error)?;
        rows.iter()
            .map(|row| record(row).map_err(store_error))
            .collect()
    }

    /// Run `n` of the engine; 404 when it is not kept.
    pub async fn get(&self, engine: &EngineName, n: u64) -> Result<UpdateRun, Error> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM update_runs WHERE engine = $1 AND n = $2"
        ))
        .bind(engine.as_str())
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .fetch_optional(&self.store.pool)
        .await
        .map_err(store_error)?;
        match row {
            Some(row) => record(&row).map_err(store_error),
            None => Err(Error::not_found(format!("no update run {n} on {engine}"))),
        }
    }
}

fn record(row: &sqlx::any::AnyRow) -> Result<UpdateRun, sqlx::Error> {
    let tail: String = row.try_get("tail")?;
    Ok(UpdateRun {
        n: row.try_get::<i64, _>("n")? as u64,
        container: row.try_get("container")?,
        image: row.try_get("image")?,
        by: row.try_get("by_user")?,
        started_ms: row.try_get("started")?,
        ended_ms: row.try_get("ended")?,
        outcome: row.try_get("outcome")?,
        updated: row.try_get::<i64, _>("updated")? != 0,
        rolled_back: row.try_get("rolled_back")?,
        from: row.try_get("from_image")?,
        to: row.try_get("to_image")?,
        new_id: row.try_get("new_id")?,
        tail: serde_json::from_str(&tail).unwrap_or_default(),
        stack: row.try_get("stack")?,
        stack_run: row
            .try_get::<Option<i64>, _>("stack_run")?
            .map(|n| n as u64),
        service: row.try_get("service")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Location;

    #[tokio::test]
    async fn runs_are_numbered_per_engine_ended_when_interrupted_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("berth-run-records-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&Location::DataDir(dir.clone())).await.unwrap();
        let records = RunRecords::new(store);
        let (a, b) = (
            EngineName::parse("local").unwrap(),
            EngineName::parse("b").unwrap(),
        );
        let run = UpdateRun {
            container: "web".into(),
            image: "r.example/web:1".into(),
            by: "ann".into(),
            started_ms: 5,
            ..UpdateRun::default()
        };
        assert_eq!(records.begin(&a, &run).await.unwrap(), 1);
        assert_eq!(records.begin(&a, &run).await.unwrap(), 2);
        assert_eq!(records.begin(&b, &run).await.unwrap(), 1);
        let ended = UpdateRun {
            n: 2,
            ended_ms: Some(9),
            outcome: Some("updated".into()),
            updated: true,
            from: Some("sha256:1".into()),
            to: Some("sha256:2".into()),
            new_id: Some("abc".into()),
            tail: vec!["pulled".into(), "started".into()],
            ..run.clone()
        };
        records.finish(&a, &ended).await;
        assert_eq!(records.get(&a, 2).await.unwrap(), ended);

        // A run of this Berth (begun since it started) is left alone.
        let now = UpdateRun {
            started_ms: 50,
            ..run.clone()
        };
        assert_eq!(records.begin(&a, &now).await.unwrap(), 3);
        assert_eq!(records.interrupted(50).await.unwrap(), 2, "a's 1 and b's 1");
        let one = records.get(&a, 1).await.unwrap();
        assert_eq!(one.outcome.as_deref(), Some(INTERRUPTED));
        assert!(one.ended_ms.is_some());
        assert_eq!(
            records.get(&a, 2).await.unwrap(),
            ended,
            "an ended run stays"
        );
        assert!(records.get(&a, 3).await.unwrap().ended_ms.is_none());

        // Past KEPT, the oldest ended runs go; one going on stays.
        for _ in 0..KEPT {
            records.begin(&a, &now).await.unwrap();
        }
        let listed = records.list(&a).await.unwrap();
        assert_eq!(listed.len(), KEPT as usize);
        assert_eq!(listed[0].n, 3 + KEPT as u64, "newest first");
        assert_eq!(records.get(&a, 1).await.unwrap_err().status(), 404);
        assert_eq!(records.get(&a, 2).await.unwrap_err().status(), 404);
        assert!(records.get(&a, 3).await.is_ok(), "run 3 goes on");
        assert_eq!(records.list(&b).await.unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
