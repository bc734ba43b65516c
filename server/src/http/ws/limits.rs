//! Concurrent WebSocket limits: per client address and stream kind, per signed-in user (or
//! token), plus a global cap. A
//! [`Permit`] is taken before the upgrade and released by its `Drop`, on every path: a
//! refused or aborted upgrade, a normal close, a panic.

use app::frames::StreamKind;
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

#[derive(Clone, Debug)]
pub struct Limits {
    /// Sockets of one address and kind, host stats aside.
    pub per_kind: usize,
    /// Sockets of one address on the host's stats (a page shows them everywhere).
    pub system_stats: usize,
    /// Sockets of one user (or token), all kinds together, from any address.
    pub per_user: usize,
    pub global: usize,
    /// Terminals of one address; of one user, from any address.
    pub terminals_per_ip: usize,
    pub terminals_per_user: usize,
}

impl Limits {
    /// One address's limit for `kind`.
    pub fn per_ip(&self, kind: StreamKind) -> usize {
        match kind {
            StreamKind::SystemStats => self.system_stats,
            StreamKind::Terminal => self.terminals_per_ip,
            _ => self.per_kind,
        }
    }

    /// One user's limit for `kind` alone, for the kinds that have one (each terminal is a
    /// process in a container).
    fn per_user_of(&self, kind: StreamKind) -> Option<usize> {
        (kind == StreamKind::Terminal).then_some(self.terminals_per_user)
    }
}

#[derive(Default)]
struct Counts {
    per_key: HashMap<(IpAddr, StreamKind), usize>,
    per_user: HashMap<String, usize>,
    per_user_kind: HashMap<(String, StreamKind), usize>,
    total: usize,
}

pub struct Limiter {
    limits: Limits,
    counts: Mutex<Counts>,
    rejected_per_ip: AtomicU64,
    rejected_per_user: AtomicU64,
    rejected_global: AtomicU64,
    rejected_origin: AtomicU64,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Why an upgrade was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    PerIp {
        limit: usize,
    },
    PerUser {
        limit: usize,
    },
    /// The user's limit for this kind alone.
    PerUserKind {
        limit: usize,
    },
    Global {
        limit: usize,
    },
}

impl Limiter {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            counts: Mutex::default(),
            rejected_per_ip: AtomicU64::new(0),
            rejected_per_user: AtomicU64::new(0),
            rejected_global: AtomicU64::new(0),
            rejected_origin: AtomicU64::new(0),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `ip` (an IPv6 client counts as its /64) and, when signed in, for
    /// `user`.
    pub fn acquire(
        self: &Arc<Self>,
        ip: IpAddr,
        kind: StreamKind,
        user: Option<&str>,
    ) -> Result<Permit, Refusal> {
        let ip = crate::client_addr::limit_key(ip);
        let mut counts = self.counts();
        if counts.total >= self.limits.global {
            self.rejected_global.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Global {
                limit: self.limits.global,
            });
        }
        let limit = self.limits.per_ip(kind);
        let count = counts.per_key.get(&(ip, kind)).copied().unwrap_or(0);
        if count >= limit {
            self.rejected_per_ip.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PerIp { limit });
        }
        let per_user = user.map_or(0, |u| counts.per_user.get(u).copied().unwrap_or(0));
        if user.is_some() && per_user >= self.limits.per_user {
            self.rejected_per_user.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PerUser {
                limit: self.limits.per_user,
            });
        }
        let own_limit = user.zip(self.limits.per_user_of(kind));
        if let Some((user, limit)) = own_limit {
            let key = (user.to_string(), kind);
            if counts.per_user_kind.get(&key).copied().unwrap_or(0) >= limit {
                self.rejected_per_user.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::PerUserKind { limit });
            }
            *counts.per_user_kind.entry(key).or_insert(0) += 1;
        }
        *counts.per_key.entry((ip, kind)).or_insert(0) += 1;
        if let Some(user) = user {
            *counts.per_user.entry(user.to_string()).or_insert(0) += 1;
        }
        counts.total += 1;
        Ok(Permit {
            limiter: self.clone(),
            key: (ip, kind),
            user: user.map(str::to_string),
        })
    }

    pub fn count_origin_rejection(&self) {
        self.rejected_origin.fetch_add(1, Ordering::Relaxed);
    }

    /// Open permits of one address and kind.
    pub fn held(&self, ip: IpAddr, kind: StreamKind) -> usize {
        let ip = crate::client_addr::limit_key(ip);
        self.counts().per_key.get(&(ip, kind)).copied().unwrap_or(0)
    }

    pub fn rejected(&self) -> [(&'static str, u64); 4] {
        [
            ("per_ip_limit", self.rejected_per_ip.load(Ordering::Relaxed)),
            (
                "per_user_limit",
                self.rejected_per_user.load(Ordering::Relaxed),
            ),
            ("global_limit", self.rejected_global.load(Ordering::Relaxed)),
            ("origin", self.rejected_origin.load(Ordering::Relaxed)),
        ]
    }
}

/// One open (or opening) socket's share of the limits.
pub struct Permit {
    limiter: Arc<Limiter>,
    key: (IpAddr, StreamKind),
    user: Option<String>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.limiter.counts();
        counts.total -= 1;
        // Each permit releases exactly its own count: a newer socket's is never touched.
        if let Some(count) = counts.per_key.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                counts.per_key.remove(&self.key);
            }
        }
        if let Some(user) = &self.user
            && let Some(count) = counts.per_user.get_mut(user)
        {
            *count -= 1;
            if *count == 0 {
                counts.per_user.remove(user);
            }
        }
        if let Some(user) = &self.user {
            let key = (user.clone(), self.key.1);
            if let Some(count) = counts.per_user_kind.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    counts.per_user_kind.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_global_limits_release_on_drop() {
        let limiter = Limiter::new(Limits {
            per_kind: 20,
            system_stats: 2,
            per_user: 100,
            global: 3,
            terminals_per_ip: 2,
            terminals_per_user: 2,
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = limiter.acquire(a, StreamKind::SystemStats, None).unwrap();
        let p2 = limiter.acquire(a, StreamKind::SystemStats, None).unwrap();
        assert_eq!(
            limiter.acquire(a, StreamKind::SystemStats, None).err(),
            Some(Refusal::PerIp { limit: 2 })
        );
        let p3 = limiter.acquire(b, StreamKind::SystemStats, None).unwrap();
        assert_eq!(
            limiter.acquire(b, StreamKind::ContainerLogs, None).err(),
            Some(Refusal::Global { limit: 3 })
        );
        drop(p1);
        assert_eq!(limiter.held(a, StreamKind::SystemStats), 1);
        let p4 = limiter.acquire(a, StreamKind::SystemStats, None).unwrap();
        drop((p2, p3, p4));
        assert_eq!(limiter.held(a, StreamKind::SystemStats), 0);
        assert!(limiter.counts().per_key.is_empty());
        assert_eq!(limiter.counts().total, 0);
    }

    #[test]
    fn a_user_is_limited_from_every_address_and_released_on_drop() {
        let limiter = Limiter::new(Limits {
            per_kind: 20,
            system_stats: 20,
            per_user: 2,
            global: 100,
            terminals_per_ip: 2,
            terminals_per_user: 2,
        });
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let p1 = limiter
            .acquire(a, StreamKind::ContainerLogs, Some("bob"))
            .unwrap();
        let p2 = limiter
            .acquire(b, StreamKind::SystemStats, Some("bob"))
            .unwrap();
        assert_eq!(
            limiter
                .acquire(b, StreamKind::ContainerStats, Some("bob"))
                .err(),
            Some(Refusal::PerUser { limit: 2 })
        );
        let other = limiter
            .acquire(a, StreamKind::ContainerLogs, Some("carol"))
            .unwrap();
        drop(p1);
        let p3 = limiter
            .acquire(b, StreamKind::ContainerStats, Some("bob"))
            .unwrap();
        drop((p2, p3, other));
        assert!(limiter.counts().per_user.is_empty());
    }

    #[test]
    fn terminals_have_their_own_limits_per_address_and_per_user() {
        let limiter = Limiter::new(Limits {
            per_kind: 20,
            system_stats: 20,
            per_user: 100,
            global: 100,
            terminals_per_ip: 3,
            terminals_per_user: 2,
        });
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t = StreamKind::Terminal;
        let p1 = limiter.acquire(a, t, Some("bob")).unwrap();
        let p2 = limiter.acquire(b, t, Some("bob")).unwrap();
        assert_eq!(
            limiter.acquire(a, t, Some("bob")).err(),
            Some(Refusal::PerUserKind { limit: 2 })
        );
        // Other kinds are not held to the terminals' limit.
        let logs = limiter
            .acquire(a, StreamKind::ContainerLogs, Some("bob"))
            .unwrap();
        let p3 = limiter.acquire(a, t, Some("carol")).unwrap();
        let p4 = limiter.acquire(a, t, None).unwrap();
        assert_eq!(
            limiter.acquire(a, t, Some("dave")).err(),
            Some(Refusal::PerIp { limit: 3 })
        );
        drop(p1);
        let p5 = limiter.acquire(a, t, Some("bob")).unwrap();
        drop((p2, p3, p4, p5, logs));
        assert!(limiter.counts().per_user_kind.is_empty());
        assert_eq!(limiter.counts().total, 0);
    }
}
