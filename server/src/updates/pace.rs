//! A bounded rate per registry: requests to one registry (through the engine or directly)
//! leave at most one per [`GAP`], and none while the registry has said "429, retry after".
//! A turn further off than [`MAX_WAIT`] is refused rather than waited for, so a check never
//! sleeps for hours on a registry's word. Each registry's slot is forgotten once its time
//! has passed, so the map holds only the registries being asked now.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::time::Instant;

/// The least time between two requests to one registry (10 a second).
pub const GAP: Duration = Duration::from_millis(100);
/// The longest a `Retry-After` is waited for within a check; a longer one fails the
/// reference until then (it is tried again at its time).
pub const MAX_WAIT: Duration = Duration::from_secs(120);
/// The longest a registry's `Retry-After` is believed.
pub const MAX_HOLD: Duration = Duration::from_secs(6 * 3600);

#[derive(Default)]
pub struct Pacer {
    /// By registry host: when its next request may leave.
    next: Mutex<HashMap<String, Instant>>,
    /// Requests let through, since start.
    sent: AtomicU64,
}

impl Pacer {
    /// Waits for `registry`'s turn, and takes it; `Err` with the time left when the turn is
    /// further off than [`MAX_WAIT`] (the registry is held).
    pub async fn turn(&self, registry: &str) -> Result<(), Duration> {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            next.retain(|_, at| *at > now);
            let at = next.get(registry).copied().unwrap_or(now).max(now);
            if at - now > MAX_WAIT {
                return Err(at - now);
            }
            next.insert(registry.to_string(), at + GAP);
            at
        };
        tokio::time::sleep_until(at).await;
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Nothing leaves for `registry` for `after` (at most [`MAX_HOLD`]): it answered 429.
    pub fn hold(&self, registry: &str, after: Duration) {
        let until = Instant::now() + after.min(MAX_HOLD);
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let at = next.entry(registry.to_string()).or_insert(until);
        *at = (*at).max(until);
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Registries with a slot now (for the tests of what is kept).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.next.lock().unwrap().len()
    }
}

/// `Retry-After` as seconds or an HTTP date, at most [`MAX_HOLD`]; a missing or unreadable
/// one means a minute.
pub fn retry_after(value: Option<&str>, now_unix: i64) -> Duration {
    let Some(value) = value.map(str::trim) else {
        return Duration::from_secs(60);
    };
    let after = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => http_date(value)
            .map(|at| Duration::from_secs(at.saturating_sub(now_unix).max(0) as u64))
            .unwrap_or(Duration::from_secs(60)),
    };
    after.min(MAX_HOLD)
}

/// Unix seconds of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace().skip(1);
    let day: i64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next()?.parse().ok()?;
    let time = parts.next()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    crate::docker::images::unix_seconds(&format!("{year:04}-{month:02}-{day:02}T{time}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(Some("3"), 0), Duration::from_secs(3));
        assert_eq!(retry_after(None, 0), Duration::from_secs(60));
        assert_eq!(retry_after(Some("soon"), 0), Duration::from_secs(60));
        assert_eq!(retry_after(Some("99999999999"), 0), MAX_HOLD);
        let at = http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(at, 784_111_777);
        assert_eq!(
            retry_after(Some("Sun, 06 Nov 1994 08:49:37 GMT"), at - 5),
            Duration::from_secs(5)
        );
        assert_eq!(
            retry_after(Some("Sun, 06 Nov 1994 08:49:37 GMT"), at + 5),
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn one_registry_is_paced_and_held_others_are_not() {
        let pacer = Pacer::default();
        let start = Instant::now();
        for _ in 0..3 {
            pacer.turn("a").await.unwrap();
        }
        assert_eq!(start.elapsed(), GAP * 2);
        let other = Instant::now();
        pacer.turn("b").await.unwrap();
        assert_eq!(
            other.elapsed(),
            Duration::ZERO,
            "another registry waits for none"
        );
        pacer.hold("a", Duration::from_secs(5));
        let held = Instant::now();
        pacer.turn("a").await.unwrap();
        assert_eq!(held.elapsed(), Duration::from_secs(5));
        assert_eq!(pacer.sent(), 5);
        tokio::time::sleep(Duration::from_secs(1)).await;
        pacer.turn("c").await.unwrap();
        assert_eq!(pacer.held(), 1, "past slots are forgotten");
        // A hold beyond MAX_WAIT refuses the turn at once, and is never beyond MAX_HOLD.
        pacer.hold("d", Duration::from_secs(u64::MAX / 4));
        let refused = Instant::now();
        let left = pacer.turn("d").await.unwrap_err();
        assert_eq!(refused.elapsed(), Duration::ZERO);
        assert!(left > MAX_WAIT && left <= MAX_HOLD, "{left:?}");
    }
}
