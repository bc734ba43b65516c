//! One engine's watcher: a tracked task that reads the engine's shared event stream (the
//! events hub, as an internal subscription: rules never cost a stream of their own) while
//! a rule needs it, follows the engine's reachability, and hands what its [`Judge`] fires
//! to the outbox. With no rule for the engine it holds nothing and sleeps until the rules
//! change; it ends at shutdown.

use super::{Shared, judge::Judge};
use crate::{
    accounts::now_ms,
    engines::EngineContext,
    live::{
        hub::{Registry, Subscription},
        upstream::events::{self, Next},
    },
};
use std::{sync::Arc, time::Duration};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after the event stream ended it is asked for again (the engine is up, or the
/// supervisor would say so).
const RESUBSCRIBE: Duration = Duration::from_secs(1);

pub async fn run(
    context: Arc<EngineContext>,
    registry: Arc<Registry>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let name = context.name.to_string();
    let mut rules = shared.rules.subscribe();
    let mut reach = context.engine.reachability();
    let mut judge = Judge::new(&name);
    let mut events: Option<Subscription> = None;
    let mut resubscribe_at: Option<Instant> = None;
    loop {
        let armed = rules.borrow_and_update().for_engine(&name);
        judge.keep_rules(&armed);
        let up = reach.up();
        let mut fired = judge.engine(
            &armed,
            (!up).then(|| reach.error().unwrap_or_default()),
            now_ms(),
        );
        let reads = armed.iter().any(|a| a.reads_events());
        if !reads {
            events = None;
        } else if events.is_none() && up && resubscribe_at.is_none_or(|at| at <= Instant::now()) {
            events = Some(events::subscribe(&registry, &context.name, &context.engine));
            resubscribe_at = None;
        }
        shared.send(std::mem::take(&mut fired)).await;
        let tick = judge.next_tick(&armed).map(|at| {
            Instant::now() + Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64)
        });
        // Only while the engine is up: when it is down, its coming back wakes the loop
        // (a resubscription time in the past would make this loop spin).
        let resubscribe = resubscribe_at.filter(|_| events.is_none() && reads && up);
        let wake = [tick, resubscribe].into_iter().flatten().min();
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = rules.changed() => {}
            () = reach.changed() => {}
            next = next_event(&mut events) => match next {
                Next::Event(event) => fired = judge.event(&armed, &event, now_ms()),
                Next::Lagged => {
                    tracing::warn!(
                        engine = %name,
                        "alert rules fell behind the engine's events: some were missed"
                    );
                    // A missed `destroy` would keep a container's entries.
                    judge.forget_idle(&armed, now_ms());
                }
                Next::Ended(ending) => {
                    tracing::debug!(engine = %name, "alerts' event stream ended: {}", ending.reason);
                    judge.forget_idle(&armed, now_ms());
                    events = None;
                    resubscribe_at = Some(Instant::now() + RESUBSCRIBE);
                }
            },
            () = sleep_until(wake) => fired = judge.tick(&armed, now_ms()),
        }
        shared.send(fired).await;
    }
}

/// The next event, or never without a subscription.
async fn next_event(events: &mut Option<Subscription>) -> Next {
    match events {
        Some(subscription) => events::next(subscription).await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
