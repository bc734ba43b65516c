//! Concurrent WebSocket limits: per client address and stream kind, plus a global cap. A
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
    pub per_ip: [usize; 4],
    pub global: usize,
}

#[derive(Default)]
struct Counts {
    per_key: HashMap<(IpAddr, StreamKind), usize>,
    total: usize,
}

pub struct Limiter {
    limits: Limits,
    counts: Mutex<Counts>,
    rejected_per_ip: AtomicU64,
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
    PerIp { limit: usize },
    Global { limit: usize },
}

impl Limiter {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            counts: Mutex::default(),
            rejected_per_ip: AtomicU64::new(0),
            rejected_global: AtomicU64::new(0),
            rejected_origin: AtomicU64::new(0),
        })
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for `ip` (an IPv6 client counts as its /64).
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, kind: StreamKind) -> Result<Permit, Refusal> {
        let ip = crate::client_addr::limit_key(ip);
        let mut counts = self.counts();
        if counts.total >= self.limits.global {
            self.rejected_global.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Global {
                limit: self.limits.global,
            });
        }
        let limit = self.limits.per_ip[kind.index()];
        let count = counts.per_key.entry((ip, kind)).or_insert(0);
        if *count >= limit {
            self.rejected_per_ip.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PerIp { limit });
        }
        *count += 1;
        counts.total += 1;
        Ok(Permit {
            limiter: self.clone(),
            key: (ip, kind),
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

    pub fn rejected(&self) -> [(&'static str, u64); 3] {
        [
            ("per_ip_limit", self.rejected_per_ip.load(Ordering::Relaxed)),
            ("global_limit", self.rejected_global.load(Ordering::Relaxed)),
            ("origin", self.rejected_origin.load(Ordering::Relaxed)),
        ]
    }
}

/// One open (or opening) socket's share of the limits.
pub struct Permit {
    limiter: Arc<Limiter>,
    key: (IpAddr, StreamKind),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_and_global_limits_release_on_drop() {
        let limiter = Limiter::new(Limits {
            per_ip: [20, 20, 20, 2],
            global: 3,
        });
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = limiter.acquire(a, StreamKind::SystemStats).unwrap();
        let p2 = limiter.acquire(a, StreamKind::SystemStats).unwrap();
        assert_eq!(
            limiter.acquire(a, StreamKind::SystemStats).err(),
            Some(Refusal::PerIp { limit: 2 })
        );
        let p3 = limiter.acquire(b, StreamKind::SystemStats).unwrap();
        assert_eq!(
            limiter.acquire(b, StreamKind::ContainerLogs).err(),
            Some(Refusal::Global { limit: 3 })
        );
        drop(p1);
        assert_eq!(limiter.held(a, StreamKind::SystemStats), 1);
        let p4 = limiter.acquire(a, StreamKind::SystemStats).unwrap();
        drop((p2, p3, p4));
        assert_eq!(limiter.held(a, StreamKind::SystemStats), 0);
        assert!(limiter.counts().per_key.is_empty());
        assert_eq!(limiter.counts().total, 0);
    }
}
