//! Whose each socket is. A socket opened with a session is registered under that session
//! (and its user), so that when the session ends (sign-out, the user removed or given
//! another role, expiry, or removal elsewhere: the CLI, another replica) every socket it
//! opened is told `end` and closed with 4401 at once. A socket never outlives the right to
//! see it. Entries live exactly as long as their sockets: the last one out removes it.

use crate::{
    accounts::{
        sessions::{self, Policy},
        tokens,
    },
    store::Store,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
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
    ended: Ended,
    sockets: usize,
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

    /// Registers a socket of `session` (a stored session id) of `user`.
    pub fn own(self: &Arc<Self>, session: &str, user: &str) -> Ownership {
        let mut map = self.map();
        let owner = map.entry(session.to_string()).or_insert_with(|| Owner {
            user: user.to_string(),
            ended: Ended::default(),
            sockets: 0,
        });
        owner.sockets += 1;
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
        for owner in self.map().values().filter(|o| o.user == user) {
            owner.ended.end(reason);
        }
    }

    /// Sessions with open sockets (for the sweep).
    fn sessions(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
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
            for session in self.sessions() {
                let alive = match tokens::owned_by(&session) {
                    Some(id) => tokens::alive(&store, id).await,
                    None => sessions::alive(&store, &session, policy).await,
                };
                match alive {
                    Ok(true) => {}
                    Ok(false) => self.end_session(&session, "your session ended: sign in again"),
                    Err(e) => tracing::warn!("cannot check a session: {}", e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ending_a_session_or_a_user_ends_its_sockets_and_the_last_out_cleans_up() {
        let owners = Arc::new(Owners::default());
        let a1 = owners.own("s1", "alice");
        let a2 = owners.own("s2", "alice");
        let b = owners.own("s3", "bob");
        owners.end_session("s1", "signed out");
        assert_eq!(a1.ended.wait().await, "signed out");
        owners.end_user("alice", "user removed");
        assert_eq!(a2.ended.wait().await, "user removed");
        assert!(!b.ended.token.is_cancelled());
        drop((a1, a2, b));
        assert!(owners.map().is_empty());
    }
}
