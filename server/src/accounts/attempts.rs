//! Failed sign-ins, counted per client address and per user name: after 5 within a minute,
//! the next try is 429 with Retry-After until the oldest of them is a minute old. Kept in
//! memory (per replica) and pruned as it is read, so it stays bounded by what a minute holds.

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

pub const WINDOW: Duration = Duration::from_secs(60);
pub const MAX_FAILURES: usize = 5;
/// Distinct keys kept at most; beyond it, expired ones are swept first, then new keys are
/// not tracked (better than unbounded memory under a spray of names).
const MAX_KEYS: usize = 100_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    Name(String),
}

#[derive(Default)]
pub struct Attempts {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
}

impl Attempts {
    /// `Err(wait)` when this address or name has failed too often lately.
    pub fn check(&self, ip: IpAddr, name: &str) -> Result<(), Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        for key in keys(ip, name) {
            if let Some(times) = map.get_mut(&key) {
                while times.front().is_some_and(|t| now - *t >= WINDOW) {
                    times.pop_front();
                }
                if times.len() >= MAX_FAILURES {
                    let oldest = *times.front().expect("not empty");
                    wait = wait.max(WINDOW - (now - oldest));
                }
                if times.is_empty() {
                    map.remove(&key);
                }
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub fn failed(&self, ip: IpAddr, name: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| times.back().is_some_and(|t| now - *t < WINDOW));
        }
        for key in keys(ip, name) {
            if map.len() < MAX_KEYS || map.contains_key(&key) {
                let times = map.entry(key).or_default();
                times.push_back(now);
                if times.len() > MAX_FAILURES {
                    times.pop_front();
                }
            }
        }
    }
}

fn keys(ip: IpAddr, name: &str) -> [Key; 2] {
    [
        Key::Address(crate::client_addr::limit_key(ip)),
        Key::Name(name.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_block_the_address_and_the_name() {
        let attempts = Attempts::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            assert!(attempts.check(a, "alice").is_ok());
            attempts.failed(a, "alice");
        }
        let wait = attempts.check(a, "bob").unwrap_err();
        assert!(wait > Duration::from_secs(55) && wait <= WINDOW, "{wait:?}");
        assert!(
            attempts.check(b, "alice").is_err(),
            "the name, from anywhere"
        );
        assert!(attempts.check(b, "bob").is_ok());
    }
}
