//! The registry's digest for each tag and when Berth first saw it, kept in the database:
//! an update's minimum age counts from that first sight, so a restart must not reset it
//! (and replicas sharing a PostgreSQL count from the same moment). One row per tag, the
//! digest last answered; a new digest replaces it. Tags unanswered for 30 days are forgotten.

use crate::store::Store;
use sqlx::Row;

/// Rows not answered for this long are removed: images nothing has run for a month.
const FORGET_AFTER_MS: i64 = 30 * 24 * 3600 * 1000;

/// When a tag's digest was first seen, and when its image was made (when known).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub first: i64,
    pub created: Option<i64>,
}

/// The first sights, over the store.
pub struct SeenDigests {
    store: Store,
}

impl SeenDigests {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// What is known of `digest` as `tag`'s digest (`None`: the tag's last answer was
    /// another digest, or none).
    pub async fn recall(&self, tag: &str, digest: &str) -> Result<Option<Seen>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT first_seen, created FROM image_tags WHERE tag = $1 AND digest = $2",
        )
        .bind(tag)
        .bind(digest)
        .fetch_optional(&self.store.pool)
        .await?;
        row.map(|row| seen(&row)).transpose()
    }

    /// The registry answered `digest` for `tag` at `now`: the first sight kept when the
    /// digest is the one it had, else this one is the first; a creation date fills a
    /// missing one.
    pub async fn record(
        &self,
        tag: &str,
        digest: &str,
        created: Option<i64>,
        now: i64,
    ) -> Result<Seen, sqlx::Error> {
        // One statement, so two replicas answering at once agree on the first sight.
        let rows = sqlx::query(
            "INSERT INTO image_tags (tag, digest, first_seen, created, checked)
             VALUES ($1, $2, $3, $4, $3)
             ON CONFLICT (tag) DO UPDATE SET
               first_seen = CASE WHEN image_tags.digest = excluded.digest
                            THEN image_tags.first_seen ELSE excluded.first_seen END,
               created = CASE WHEN image_tags.digest = excluded.digest
                         THEN COALESCE(image_tags.created, excluded.created)
                         ELSE excluded.created END,
               digest = excluded.digest,
               checked = excluded.checked
             RETURNING first_seen, created",
        )
        .bind(tag)
        .bind(digest)
        .bind(now)
        .bind(created)
        .fetch_all(&self.store.pool)
        .await?;
        seen(rows.first().ok_or(sqlx::Error::RowNotFound)?)
    }

    /// Removes the tags not answered for 30 days before `now`.
    pub async fn forget_old(&self, now: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM image_tags WHERE checked < $1")
            .bind(now - FORGET_AFTER_MS)
            .execute(&self.store.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

fn seen(row: &sqlx::any::AnyRow) -> Result<Seen, sqlx::Error> {
    Ok(Seen {
        first: row.try_get("first_seen")?,
        created: row.try_get("created")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Location;

    #[tokio::test]
    async fn a_first_sight_stays_until_the_tag_moves_and_old_tags_go() {
        let dir = std::env::temp_dir().join(format!("berth-seen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&Location::DataDir(dir.clone())).await.unwrap();
        let seen = SeenDigests::new(store);
        let tag = "r.example/app:1";
        assert_eq!(seen.recall(tag, "sha256:a").await.unwrap(), None);
        let first = seen.record(tag, "sha256:a", None, 1_000).await.unwrap();
        let expected = Seen {
            first: 1_000,
            created: None,
        };
        assert_eq!(first, expected);
        // Asked again later: the first sight stays, a creation date fills in.
        let again = seen.record(tag, "sha256:a", Some(7), 2_000).await.unwrap();
        assert_eq!(
            again,
            Seen {
                first: 1_000,
                created: Some(7)
            }
        );
        let kept = seen.record(tag, "sha256:a", None, 3_000).await.unwrap();
        assert_eq!(kept.created, Some(7), "a known date is not lost");
        // The tag moves: a new first sight, the old digest forgotten.
        let moved = seen.record(tag, "sha256:b", None, 4_000).await.unwrap();
        assert_eq!(
            moved,
            Seen {
                first: 4_000,
                created: None
            }
        );
        assert_eq!(seen.recall(tag, "sha256:a").await.unwrap(), None);
        assert_eq!(seen.recall(tag, "sha256:b").await.unwrap(), Some(moved));
        // A month without an answer: gone.
        seen.record(
            "r.example/other:2",
            "sha256:c",
            None,
            4_000 + FORGET_AFTER_MS,
        )
        .await
        .unwrap();
        assert_eq!(seen.forget_old(4_001 + FORGET_AFTER_MS).await.unwrap(), 1);
        assert_eq!(seen.recall(tag, "sha256:b").await.unwrap(), None);
        assert!(
            seen.recall("r.example/other:2", "sha256:c")
                .await
                .unwrap()
                .is_some()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
