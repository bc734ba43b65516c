//! Automatic updates: a container whose policy is `auto` is updated once the new image
//! is old enough (`--update-min-age-hours` since Berth first saw its digest: a pushed bad
//! image is not taken at once) and the update window is open. The digest whose age was
//! counted is the one pulled, whatever the tag names by then. A digest an automatic update
//! tried for a container is not tried again for it (a rolled-back image stays rolled
//! back until a newer one comes, or someone updates by hand).

use crate::{accounts::now_ms, docker::EngineName};
use std::{
    collections::HashSet,
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};
use tokio::sync::Notify;

use crate::window::Window;

/// Who an automatic update's record says asked for it.
pub const BY: &str = "auto-update";

/// The clock automatic updates go by: the system's, which a test may move forward (an
/// image's age, a window's hours) without waiting.
#[derive(Default)]
pub struct Clock {
    offset: AtomicI64,
    pub(super) moved: Notify,
}

impl Clock {
    /// Now (unix ms).
    pub fn now(&self) -> i64 {
        now_ms() + self.offset.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `by`; automatic updates look again at once.
    pub fn advance(&self, by: Duration) {
        self.offset
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
        self.moved.notify_one();
    }
}

/// When an update first seen at `first_seen` may be taken, from `now` on: old enough and
/// within `window`; `None` when the window never opens.
pub fn due_at(
    first_seen: i64,
    min_age: Duration,
    window: Option<&Window>,
    now: i64,
) -> Option<i64> {
    let old_enough = (first_seen + min_age.as_millis() as i64).max(now);
    match window {
        None => Some(old_enough),
        Some(window) => window.next_open(old_enough),
    }
}

/// An engine's container (by name) and a digest of its image's tag.
pub type Pair = (EngineName, String, String);

/// The pairs automatic updates have tried, so that a failure is not tried again and again
/// (kept in memory: a restart tries each once more). Bounded by what is still a
/// candidate: each pass keeps, of the engines it listed, only the pairs it saw.
#[derive(Default)]
pub struct Tried(Mutex<HashSet<Pair>>);

impl Tried {
    fn set(&self) -> std::sync::MutexGuard<'_, HashSet<Pair>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains(&self, pair: &Pair) -> bool {
        self.set().contains(pair)
    }

    pub fn insert(&self, pair: Pair) {
        self.set().insert(pair);
    }

    /// Forgets the pairs of `listed` engines that no candidate has any more.
    pub fn keep_only(&self, listed: &HashSet<EngineName>, candidates: &HashSet<Pair>) {
        self.set()
            .retain(|pair| !listed.contains(&pair.0) || candidates.contains(pair));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_due_when_old_enough_and_the_window_is_open() {
        let hour = Duration::from_secs(3600);
        let seen = 1_000_000;
        assert_eq!(
            due_at(seen, 72 * hour, None, seen),
            Some(seen + 72 * 3_600_000)
        );
        assert_eq!(
            due_at(seen, hour, None, seen + 5 * 3_600_000),
            Some(seen + 5 * 3_600_000)
        );
        let monday = Window::parse("mon 01:00-01:00").unwrap();
        assert!(
            due_at(seen, hour, Some(&monday), seen).is_some(),
            "a whole Monday"
        );
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(hour);
        assert!(clock.now() >= before + 3_600_000);
    }
}
