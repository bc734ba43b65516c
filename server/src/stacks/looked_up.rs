//! A program Berth looks for on its machine (a compose CLI, the Docker CLI): kept once it
//! answered; when it did not, looked for again only after a while, so a CLI installed
//! while Berth runs is found without a process started for every request meanwhile.

use std::{future::Future, time::Instant};
use tokio::sync::Mutex;

/// How long Berth believes a program is missing before it looks again.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_secs(30);

pub struct LookedUp<T> {
    /// The program once found, or when it was last not.
    slot: Mutex<Result<T, Instant>>,
}

impl<T: Clone> LookedUp<T> {
    /// Nothing looked for yet: the first [`LookedUp::get`] looks.
    pub fn new() -> Self {
        Self {
            slot: Mutex::new(Err(Instant::now() - LOOK_AGAIN)),
        }
    }

    /// The program, found by `detect` now if it was missing for long enough.
    pub async fn get<F: Future<Output = Option<T>>>(
        &self,
        detect: impl FnOnce() -> F,
    ) -> Option<T> {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_err_and(|since| since.elapsed() >= LOOK_AGAIN)
        {
            *slot = detect().await.ok_or_else(Instant::now);
        }
        slot.as_ref().ok().cloned()
    }
}
