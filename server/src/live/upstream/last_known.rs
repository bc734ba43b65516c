//! The last frame each stats stream published, kept for a short while after its hub is gone,
//! so a page rendered before its socket opens (or before the first new sample) shows known
//! figures instead of placeholders. Entries expire; the map never outgrows what was watched
//! within [`LastKnown::keep`].

use app::frames::{ContainerStats, SystemStats};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LastKnown<V> {
    keep: Duration,
    values: Mutex<HashMap<String, (Instant, V)>>,
}

impl<V: Clone> LastKnown<V> {
    pub fn new(keep: Duration) -> Self {
        Self {
            keep,
            values: Mutex::new(HashMap::new()),
        }
    }

    /// Stores `value` for `key` and forgets every expired entry.
    pub fn record(&self, key: &str, value: &V) {
        let Ok(mut values) = self.values.lock() else {
            return;
        };
        let keep = self.keep;
        values.retain(|_, (at, _)| at.elapsed() < keep);
        values.insert(key.to_string(), (Instant::now(), value.clone()));
    }

    /// The value for `key`, if one was recorded within `keep`.
    pub fn get(&self, key: &str) -> Option<V> {
        let values = self.values.lock().ok()?;
        values
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.keep)
            .map(|(_, value)| value.clone())
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.values.lock().map_or(0, |v| v.len())
    }
}

/// One engine's containers' last stats samples, keyed by full container id, kept a minute
/// (each engine's context has its own).
pub type LastContainerStats = LastKnown<ContainerStats>;

impl LastContainerStats {
    pub fn for_containers() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

/// The host's last values (Berth's own machine, whatever the engines), shared by its
/// sampler (which records) and the pages (which read).
pub struct LastValues {
    /// Keyed by `host`; older than 30 s, a page takes a fresh sample instead.
    pub host: LastKnown<SystemStats>,
    /// Held while a one-off host sample is taken: requests that miss the cache together
    /// wait for the one sample in flight instead of each starting their own.
    pub(crate) host_sampling: tokio::sync::Mutex<()>,
    /// One-off host samples taken (each costs about 200 ms of a blocking thread).
    pub(crate) host_samples: std::sync::atomic::AtomicU64,
}

impl Default for LastValues {
    fn default() -> Self {
        Self {
            host: LastKnown::new(Duration::from_secs(30)),
            host_sampling: tokio::sync::Mutex::new(()),
            host_samples: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl LastValues {
    /// How many one-off host samples were taken since start.
    pub fn host_samples_taken(&self) -> u64 {
        self.host_samples.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_and_expired_entries_are_forgotten() {
        let last = LastKnown::new(Duration::from_millis(50));
        last.record("a", &1);
        assert_eq!(last.get("a"), Some(1));
        assert_eq!(last.get("b"), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(last.get("a"), None);
        last.record("b", &2);
        assert_eq!(last.len(), 1, "recording prunes what expired");
        assert_eq!(last.get("b"), Some(2));
    }
}
