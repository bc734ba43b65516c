//! Failed sign-ins, counted per client address (an IPv6 client as its /64): after 5 within
//! a minute, the next try is 429 with Retry-After until the oldest of them is a minute old.
//! A try is counted when it begins, before its password is hashed, so N guesses sent at
//! once are N tries, not one; a success takes its own count back. Nothing is counted per
//! name across addresses: failures from one address never refuse a name at another, so
//! nobody can lock `admin` out from anywhere. Refusals are counted too, per address, so
//! that a burst of them is one audit entry with a count rather than one entry each. Kept
//! in memory (per replica) and pruned as it is read, so it stays bounded by what a minute
//! holds; past [`MAX_KEYS`] live addresses, new ones share one count (fails closed: a
//! spray of addresses cannot buy unlimited guesses).

use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

pub const WINDOW: Duration = Duration::from_secs(60);
pub const MAX_FAILURES: usize = 5;
/// Distinct addresses counted at most; beyond it, expired ones are swept first, then new
/// ones share [`Key::Overflow`] (bounded memory under a spray of addresses, and still a
/// limit).
pub const MAX_KEYS: usize = 100_000;
/// A burst's audit entry is rewritten with its count at most this often.
const RECOUNT_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Address(IpAddr),
    /// Every address that found the table full: one count for all of them.
    Overflow,
}

/// Refusals from one address since its burst began.
struct Burst {
    /// The audit entry that stands for the whole burst, once written.
    entry: Option<String>,
    count: u64,
    last: Instant,
    /// When the entry last got the count.
    written: Instant,
    /// A [`Attempts::recount`] is due.
    due: bool,
}

#[derive(Default)]
pub struct Attempts {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
    bursts: Mutex<HashMap<IpAddr, Burst>>,
}

/// A try that was counted as it began; [`Attempts::succeeded`] takes it back.
#[must_use = "a successful sign-in takes its count back"]
pub struct Attempt {
    key: Key,
    at: Instant,
}

/// What to write to the audit log for a refusal.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The first of a burst: a new entry (then [`Attempts::written`] with its id).
    First,
    /// A later one: the burst's entry should now say `count` refusals.
    Recount { entry: String, count: u64 },
    /// A later one, counted: the entry was just brought up to date, or will be by the
    /// [`Attempts::recount`] already due.
    Counted,
    /// A later one, counted: call [`Attempts::recount`] after this long so that the entry
    /// ends up saying the whole burst, even when no refusal follows.
    Later(std::time::Duration),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Attempts {
    /// Counts a try from `ip`, or `Err(wait)` when this address has failed too often lately
    /// (then nothing is counted).
    pub fn begin(&self, ip: IpAddr) -> Result<Attempt, Duration> {
        let mut map = lock(&self.failures);
        let now = Instant::now();
        let mut key = Key::Address(crate::client_addr::limit_key(ip));
        if !map.contains_key(&key) && map.len() >= MAX_KEYS {
            map.retain(|_, times| times.back().is_some_and(|t| now - *t < WINDOW));
            if map.len() >= MAX_KEYS {
                key = Key::Overflow;
            }
        }
        let times = map.entry(key.clone()).or_default();
        while times.front().is_some_and(|t| now - *t >= WINDOW) {
            times.pop_front();
        }
        if let Some(oldest) = times.front()
            && times.len() >= MAX_FAILURES
        {
            return Err(WINDOW - (now - *oldest));
        }
        times.push_back(now);
        Ok(Attempt { key, at: now })
    }

    /// The try succeeded: it no longer counts.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut map = lock(&self.failures);
        if let Some(times) = map.get_mut(&attempt.key) {
            if let Some(i) = times.iter().rposition(|t| *t == attempt.at) {
                times.remove(i);
            }
            if times.is_empty() {
                map.remove(&attempt.key);
            }
        }
    }

    /// A try from `ip` was refused; what the audit log should get.
    pub fn refused(&self, ip: IpAddr) -> Refused {
        let mut bursts = lock(&self.bursts);
        let now = Instant::now();
        let ip = crate::client_addr::limit_key(ip);
        if bursts.len() >= MAX_KEYS {
            bursts.retain(|_, b| now - b.last < WINDOW);
        }
        let full = bursts.len() >= MAX_KEYS;
        match bursts.get_mut(&ip) {
            Some(burst) if now - burst.last < WINDOW => {
                burst.count += 1;
                burst.last = now;
                match &burst.entry {
                    Some(entry) if now - burst.written >= RECOUNT_EVERY => {
                        burst.written = now;
                        burst.due = false;
                        Refused::Recount {
                            entry: entry.clone(),
                            count: burst.count,
                        }
                    }
                    _ if !burst.due => {
                        burst.due = true;
                        Refused::Later(RECOUNT_EVERY.saturating_sub(now - burst.written))
                    }
                    _ => Refused::Counted,
                }
            }
            None if full => Refused::Counted,
            _ => {
                bursts.insert(
                    ip,
                    Burst {
                        entry: None,
                        count: 1,
                        last: now,
                        written: now,
                        due: false,
                    },
                );
                Refused::First
            }
        }
    }

    /// The recount [`Refused::Later`] asked for: the burst's entry and its count now, when
    /// there is one to write.
    pub fn recount(&self, ip: IpAddr) -> Option<(String, u64)> {
        let ip = crate::client_addr::limit_key(ip);
        let mut bursts = lock(&self.bursts);
        let burst = bursts.get_mut(&ip)?;
        burst.due = false;
        burst.written = Instant::now();
        burst.entry.clone().map(|entry| (entry, burst.count))
    }

    /// The burst of `ip` is recorded as audit entry `entry`.
    pub fn written(&self, ip: IpAddr, entry: String) {
        let ip = crate::client_addr::limit_key(ip);
        if let Some(burst) = lock(&self.bursts).get_mut(&ip) {
            burst.entry = Some(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_tries_block_the_address_only() {
        let attempts = Attempts::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES {
            let _failed = attempts.begin(a).expect("under the limit");
        }
        let wait = attempts.begin(a).err().expect("the address is refused");
        assert!(wait > Duration::from_secs(55) && wait <= WINDOW, "{wait:?}");
        // Issue 25, item 4: a name's failures from one address used to refuse it anywhere.
        assert!(attempts.begin(b).is_ok(), "another address is not refused");
    }

    /// Issue 25 review: with the table full, new addresses went uncounted (unlimited
    /// guesses); they now share one count.
    #[test]
    fn a_full_table_still_limits() {
        let attempts = Attempts::default();
        {
            let mut map = lock(&attempts.failures);
            let now = Instant::now();
            for i in 0..MAX_KEYS as u32 {
                let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + i));
                map.insert(Key::Address(ip), VecDeque::from([now]));
            }
        }
        let spray = (0..20u32).map(|i| IpAddr::from(std::net::Ipv4Addr::new(12, 0, 0, i as u8)));
        let started = spray.filter_map(|ip| attempts.begin(ip).ok()).count();
        assert_eq!(
            started, MAX_FAILURES,
            "twenty new addresses share five tries"
        );
    }

    /// Issue 25, item 4: tries were counted after the hash, so parallel guesses all ran.
    #[test]
    fn tries_are_counted_as_they_begin() {
        let attempts = Attempts::default();
        let ip = "10.0.0.3".parse().unwrap();
        let started: Vec<_> = (0..20).filter_map(|_| attempts.begin(ip).ok()).collect();
        assert_eq!(started.len(), MAX_FAILURES, "only five verify at once");
    }

    #[test]
    fn a_success_takes_its_try_back() {
        let attempts = Attempts::default();
        let ip = "10.0.0.4".parse().unwrap();
        for _ in 0..20 {
            let attempt = attempts.begin(ip).expect("never over the limit");
            attempts.succeeded(attempt);
        }
        assert!(lock(&attempts.failures).is_empty());
    }

    /// Issue 25, item 3: every refusal was an audit entry of its own.
    #[test]
    fn a_burst_of_refusals_is_one_entry() {
        let attempts = Attempts::default();
        let ip = "10.0.0.5".parse().unwrap();
        assert_eq!(attempts.refused(ip), Refused::First);
        assert!(
            matches!(attempts.refused(ip), Refused::Later(_)),
            "a recount is due, for when the entry is written"
        );
        attempts.written(ip, "e1".into());
        for _ in 0..100 {
            assert!(matches!(
                attempts.refused(ip),
                Refused::Counted | Refused::Recount { .. }
            ));
        }
        // The recount that was due writes the count so far, though nothing followed.
        assert_eq!(attempts.recount(ip), Some(("e1".into(), 102)));
        assert!(matches!(attempts.refused(ip), Refused::Later(_)));
        lock(&attempts.bursts).get_mut(&ip).unwrap().written -= RECOUNT_EVERY;
        assert_eq!(
            attempts.refused(ip),
            Refused::Recount {
                entry: "e1".into(),
                count: 104
            }
        );
        let other = "10.0.0.6".parse().unwrap();
        assert_eq!(attempts.refused(other), Refused::First, "per address");
    }
}
