//! Whose each socket is. A socket opened with a session is registered under that session
//! (and its user), so that when the session ends (sign-out, the user removed or given
//! another role, expiry, or removal elsewhere: the CLI, another replica) every socket it
//! opened is told `end` and closed with 4401 at once. A socket never outlives the right to
//! see it. Entries live exactly as long as their sockets: the last one out removes it.
//!
//! The sweep checks every owner with open sockets in one query per sweep (sessions alive,
//! tokens alive, and the role each has now), and fails closed: an owner it cannot verify
//! for longer than [`SWEEP_EVERY`] (the store does not answer) is ended too.

use crate::{
    accounts::{forward::OWNER_PREFIX, now_ms, sessions::Policy, store_error, tokens},
    error::Error,
    store::Store,
};
use app::model::Role;
use sqlx::Row;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;

/// Close code for a socket whose session ended.
pub const CLOSE_SESSION_ENDED: u16 = 4401;

/// How often sessions with open sockets are checked against the store: what ends a session
/// outside this process (expiry, the CLI, another replica) ends its sockets within this.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// Cancelled when the session ends, with why.
#[derive(Clone, Default)]
pub struct Ended {
    token: CancellationToken,
    reason: Arc<Mutex<String>>,
}

impl Ended {
    /// Waits for the end; returns its reason.
    pub async fn wait(&self) -> String {
        self.token.cancelled().await;
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn end(&self, reason: &str) {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner()) = reason.to_string();
        self.token.cancel();
    }
}

struct Owner {
    user: String,
    /// The role its sockets were opened with: less now ends them.
    role: Role,
    ended: Ended,
    sockets: usize,
    /// When the store last said it is alive with that role.
    verified: Instant,
}

#[derive(Default)]
pub struct Owners {
    map: Mutex<HashMap<String, Owner>>,
    /// Wakes the sweep when the first signed-in socket arrives.
    joined: tokio::sync::Notify,
}

/// One socket's registration; dropping it (the socket's end) unregisters it.
pub struct Ownership {
    owners: Arc<Owners>,
    session: String,
    pub ended: Ended,
}

impl Drop for Ownership {
    fn drop(&mut self) {
        let mut map = self.owners.map();
        if let Some(owner) = map.get_mut(&self.session) {
            owner.sockets -= 1;
            if owner.sockets == 0 {
                map.remove(&self.session);
            }
        }
    }
}

impl Owners {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Owner>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a socket of `session` (a stored session id, or a token's owner key) of
    /// `user`, opened with `role` (which the gate has just verified).
    pub fn own(self: &Arc<Self>, session: &str, user: &str, role: Role) -> Ownership {
        let mut map = self.map();
        let owner = map.entry(session.to_string()).or_insert_with(|| Owner {
            user: user.to_string(),
            role,
            ended: Ended::default(),
            sockets: 0,
            verified: Instant::now(),
        });
        owner.sockets += 1;
        owner.role = owner.role.min(role);
        self.joined.notify_one();
        Ownership {
            owners: self.clone(),
            session: session.to_string(),
            ended: owner.ended.clone(),
        }
    }

    pub fn end_session(&self, session: &str, reason: &str) {
        if let Some(owner) = self.map().get(session) {
            owner.ended.end(reason);
        }
    }

    pub fn end_user(&self, user: &str, reason: &str) {
        self.end_user_except(user, None, reason);
    }

    /// Ends every session of `user` but `keep`.
    pub fn end_user_except(&self, user: &str, keep: Option<&str>, reason: &str) {
        for (session, owner) in self.map().iter() {
            if owner.user == user && keep != Some(session.as_str()) {
                owner.ended.end(reason);
            }
        }
    }

    /// Sessions with open sockets (for the sweep).
    fn sessions(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// One sweep: ends every owner the store no longer vouches for, or vouches for with a
    /// lower role; when the store does not answer, every owner not verified for longer
    /// than [`SWEEP_EVERY`].
    async fn check(&self, store: &Store, policy: Policy) {
        let keys = self.sessions();
        // A store that does not answer (a lock held, a network that drops packets) is one
        // that cannot vouch: the query gets as long as the promise, no longer.
        let answer = tokio::time::timeout(SWEEP_EVERY, alive(store, policy, &keys))
            .await
            .unwrap_or_else(|_| Err(Error::new(503, "the store did not answer in time")));
        match answer {
            Ok(alive) => {
                let now = Instant::now();
                for (key, owner) in self.map().iter_mut() {
                    match alive.get(key) {
                        Some(role) if *role >= owner.role => owner.verified = now,
                        Some(_) => owner.ended.end("your role changed: sign in again"),
                        // Opened after the query's list was made: next time.
                        None if !keys.contains(key) => {}
                        None => owner.ended.end("your session ended: sign in again"),
                    }
                }
            }
            Err(e) => {
                tracing::warn!("cannot check the sessions of open sockets: {e}");
                let now = Instant::now();
                for owner in self.map().values() {
                    if now - owner.verified > SWEEP_EVERY {
                        owner
                            .ended
                            .end("your session cannot be verified now: sign in again");
                    }
                }
            }
        }
    }

    /// Until `shutdown`: every [`SWEEP_EVERY`], ends the sockets of sessions that are no
    /// longer alive in the store. While no socket has a session it sleeps without a timer.
    pub async fn sweep(self: Arc<Self>, store: Store, policy: Policy, shutdown: CancellationToken) {
        loop {
            if self.map().is_empty() {
                // `notify_one` keeps a permit: a socket that joined since the look wakes us.
                tokio::select! {
                    () = self.joined.notified() => {}
                    () = shutdown.cancelled() => return,
                }
            }
            tokio::select! {
                () = tokio::time::sleep(SWEEP_EVERY) => {}
                () = shutdown.cancelled() => return,
            }
            self.check(&store, policy).await;
        }
    }
}

/// Owner keys at most per query: SQLite's limit on bound values is far above it.
const PER_QUERY: usize = 500;

/// Of `keys` (session ids and token owner keys), the ones alive in the store, each with the
/// role it carries now: a session's user's, a token's own capped by its maker's.
async fn alive(
    store: &Store,
    policy: Policy,
    keys: &[String],
) -> Result<HashMap<String, Role>, Error> {
    let mut alive = HashMap::new();
    let now = now_ms();
    for chunk in keys.chunks(PER_QUERY) {
        let (tokens, rest): (Vec<&String>, Vec<&String>) =
            chunk.iter().partition(|k| tokens::owned_by(k).is_some());
        // A proxy's user has no session of Berth's: their user row vouches while the proxy
        // has named them within a session's idle time.
        let (proxied, sessions): (Vec<&String>, Vec<&String>) =
            rest.into_iter().partition(|k| k.starts_with(OWNER_PREFIX));
        // $1 and $2 are the expiry bounds; the keys follow.
        let list = |from: usize, n: usize| -> String {
            let list: Vec<String> = (from..from + n).map(|i| format!("${i}")).collect();
            match list.is_empty() {
                true => "NULL".to_string(),
                false => list.join(", "),
            }
        };
        let statement = format!(
            "SELECT 's' AS kind, s.id_hash AS owner, u.role AS role,
                    CAST(NULL AS TEXT) AS maker_role, 0 AS made
               FROM sessions s JOIN users u ON u.name = s.user_name
              WHERE s.last_seen >= $1 AND s.created_at >= $2 AND s.id_hash IN ({})
                -- A session that must set up a second factor first vouches for no socket
                -- (the provider's sessions have theirs there).
                AND NOT ((u.second_factor_required <> 0 OR (u.role = 'admin' AND {} = 1))
                         AND {} = 0 AND s.oidc_id_token IS NULL)
             UNION ALL
             SELECT 't' AS kind, t.id AS owner, t.role AS role, m.role AS maker_role,
                    CASE WHEN t.created_by IS NULL THEN 0 ELSE 1 END AS made
               FROM tokens t LEFT JOIN users m ON m.name = t.created_by
              WHERE t.id IN ({})
             UNION ALL
             SELECT DISTINCT 'p' AS kind, u.name AS owner, u.role AS role,
                    CAST(NULL AS TEXT) AS maker_role, 0 AS made
               FROM users u JOIN identities i ON i.user_name = u.name
              WHERE i.provider = 'proxy' AND i.last_seen >= $1 AND u.name IN ({})",
            list(3, sessions.len()),
            // A setting, not a value anyone sends.
            i64::from(policy.second_factor_for_admins),
            crate::confirmed_second_factors!(),
            list(3 + sessions.len(), tokens.len()),
            list(3 + sessions.len() + tokens.len(), proxied.len()),
        );
        let mut query = sqlx::query(&statement)
            .bind(now - policy.idle.as_millis() as i64)
            .bind(now - policy.lifetime.as_millis() as i64);
        for key in &sessions {
            query = query.bind(key.as_str());
        }
        for key in &tokens {
            query = query.bind(tokens::owned_by(key).expect("partitioned"));
        }
        for key in &proxied {
            query = query.bind(&key[OWNER_PREFIX.len()..]);
        }
        let rows = query.fetch_all(&store.pool).await.map_err(store_error)?;
        for row in rows {
            type Found = (String, String, String, Option<String>, i64);
            let read = || -> Result<Found, sqlx::Error> {
                Ok((
                    row.try_get("kind")?,
                    row.try_get("owner")?,
                    row.try_get("role")?,
                    row.try_get("maker_role")?,
                    row.try_get("made")?,
                ))
            };
            let (kind, owner, role, maker_role, made) = read().map_err(store_error)?;
            let role = Role::parse(&role).unwrap_or(Role::Viewer);
            let (key, role) = match (kind.as_str(), made, maker_role) {
                ("s", _, _) => (owner, role),
                ("p", _, _) => (format!("{OWNER_PREFIX}{owner}"), role),
                // A token whose maker is gone has ended with them.
                (_, 1, None) => continue,
                (_, _, Some(maker)) => (
                    tokens::owner_key(&owner),
                    role.min(Role::parse(&maker).unwrap_or(Role::Viewer)),
                ),
                (_, _, None) => (tokens::owner_key(&owner), role),
            };
            alive.insert(key, role);
        }
    }
    Ok(alive)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ending_a_session_or_a_user_ends_its_sockets_and_the_last_out_cleans_up() {
        let owners = Arc::new(Owners::default());
        let a1 = owners.own("s1", "alice", Role::Viewer);
        let a2 = owners.own("s2", "alice", Role::Viewer);
        let b = owners.own("s3", "bob", Role::Admin);
        owners.end_session("s1", "signed out");
        assert_eq!(a1.ended.wait().await, "signed out");
        owners.end_user("alice", "user removed");
        assert_eq!(a2.ended.wait().await, "user removed");
        assert!(!b.ended.token.is_cancelled());
        drop((a1, a2, b));
        assert!(owners.map().is_empty());
    }
}
