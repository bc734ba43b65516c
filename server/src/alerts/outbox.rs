//! The outbox: one tracked task that sends what the database holds as pending, each
//! channel's messages in the order of their alerts. A channel's oldest pending message is
//! sent by a task of its own (a slow receiver holds back only its channel); a failure is
//! tried again after a backoff that doubles up to `--alert-retry-max-secs`, and the
//! messages behind it wait. At start it resumes what a previous run left; between sends it
//! sleeps until the next retry is due or a new alert wakes it. Old alerts are pruned here
//! too. At shutdown, a send in flight is cut off and stays pending for the next start.

use super::{Shared, channel};
use crate::accounts::now_ms;
use std::{
    collections::HashSet,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};
use tokio::{task::JoinSet, time::Instant};
use tokio_util::sync::CancellationToken;

/// The first retry's wait; each failure doubles it.
const FIRST_RETRY_MS: i64 = 1000;
/// How often old alerts are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);
/// How long a database that fails is left before the outbox asks again.
const STORE_RETRY: Duration = Duration::from_secs(5);

pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut sending: JoinSet<i64> = JoinSet::new();
    let mut in_flight: HashSet<i64> = HashSet::new();
    let mut next_prune = Instant::now();
    loop {
        if next_prune <= Instant::now() {
            prune(&shared).await;
            next_prune = Instant::now() + PRUNE_EVERY;
        }
        let mut wake = next_prune;
        match shared.records.heads().await {
            Ok(heads) => {
                let now = now_ms();
                for head in heads {
                    if in_flight.contains(&head.channel_id) {
                        continue;
                    }
                    match head.next_try.filter(|&at| at > now) {
                        Some(at) => {
                            let due = Instant::now() + Duration::from_millis((at - now) as u64);
                            wake = wake.min(due);
                        }
                        None => {
                            in_flight.insert(head.channel_id);
                            let shared = shared.clone();
                            sending.spawn(async move {
                                let channel = head.channel_id;
                                // A panic must not leave its channel in flight for good.
                                let send = std::panic::AssertUnwindSafe(deliver(&shared, head));
                                if futures::FutureExt::catch_unwind(send).await.is_err() {
                                    tracing::error!(channel, "an alert's delivery panicked");
                                }
                                channel
                            });
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!("the alert outbox cannot read the database: {e}");
                wake = wake.min(Instant::now() + STORE_RETRY);
            }
        }
        if let Ok(depth) = shared.records.depth().await {
            shared.counts.depth.store(depth, Ordering::Relaxed);
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = shared.wake.notified() => {}
            Some(done) = sending.join_next() => {
                if let Ok(channel) = done {
                    in_flight.remove(&channel);
                }
            }
            () = tokio::time::sleep_until(wake) => {}
        }
    }
    // What is in flight stays pending: the next start sends it.
    sending.shutdown().await;
}

/// One try of a channel's oldest message, recorded.
async fn deliver(shared: &Shared, head: super::records::Head) {
    let outcome = match shared.records.channel(head.channel_id).await {
        Ok(row) => channel::send(&shared.sealer, &row, &head.facts).await,
        Err(e) => Err(e.to_string()),
    };
    let counts = &shared.counts;
    let next_try = match &outcome {
        Ok(()) => {
            counts.delivered.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(why) => {
            counts.failed.fetch_add(1, Ordering::Relaxed);
            let wait = backoff(head.attempts, shared.settings.retry_max_ms());
            tracing::info!(
                alert = head.alert_id,
                channel = head.channel_id,
                "an alert was not delivered, tried again in {} s: {why}",
                wait / 1000
            );
            Some(now_ms() + wait)
        }
    };
    if let Err(e) = shared
        .records
        .settle(head.alert_id, head.channel_id, outcome, next_try)
        .await
    {
        tracing::warn!("an alert's delivery was not recorded: {e}");
        tokio::time::sleep(STORE_RETRY).await;
    }
}

/// The wait after `attempts` failures: 1 s, 2 s, 4 s … up to `max_ms`.
fn backoff(attempts: i64, max_ms: i64) -> i64 {
    let doubled = FIRST_RETRY_MS.saturating_mul(1i64 << attempts.clamp(0, 30));
    doubled.min(max_ms).max(FIRST_RETRY_MS.min(max_ms))
}

async fn prune(shared: &Shared) {
    let before = now_ms() - shared.settings.keep_ms();
    match shared.records.prune(before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("pruned {n} alerts older than --alert-keep-days"),
        Err(e) => tracing::warn!("alerts were not pruned: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(super::backoff(0, 300_000), 1000);
        assert_eq!(super::backoff(3, 300_000), 8000);
        assert_eq!(super::backoff(40, 300_000), 300_000);
        assert_eq!(super::backoff(5, 2000), 2000);
    }
}
