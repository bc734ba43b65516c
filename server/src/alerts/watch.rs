//! One engine's watcher: a tracked task that reads the engine's shared event stream (the
//! events hub, as an internal subscription: rules never cost a stream of their own) while
//! a rule needs it, follows the engine's reachability, and hands what its [`Judge`] fires
//! to the outbox. For metric rules it reads the engine's sampler (one round of samples per
//! interval, shared by every rule). For log rules it also follows the log hub of each running container they
//! select ([`Followers`]): listed when the rules change or the events stream (re)opens, then
//! kept by the events (a start follows, a die or destroy lets go). With no rule for the
//! engine it holds nothing and sleeps until the rules change; it ends at shutdown.

use super::{
    Shared,
    follow::{Followers, Read},
    judge::{Armed, Judge},
    lines::Line,
    select::Subject,
    subject_of,
};
use crate::{
    accounts::now_ms,
    docker::mapping,
    engines::EngineContext,
    live::{
        hub::{HubKey, Registry, Subscription, Who},
        upstream::{
            container_logs::{self, LogSource},
            events::{self, Next},
            samples,
        },
    },
};
use app::{
    frames::{EngineEvent, Samples},
    model::COMPOSE_SERVICE_LABEL,
};
use std::{collections::HashSet, sync::Arc, time::Duration};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long after the event stream ended it is asked for again (the engine is up, or the
/// supervisor would say so); and how long after a followed log stream ended, or a listing
/// failed, the running containers are listed again (a stream can end with its container
/// still running: a hub's upstream retried).
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
    let mut sampler: Option<Subscription> = None;
    let mut resample_at: Option<Instant> = None;
    let mut followers = Followers::default();
    // When the running containers are to be listed for the log rules (now, at first).
    let mut list_at: Option<Instant> = Some(Instant::now());
    // The rules changed: the followed containers' rules are chosen again.
    let mut rechoose = false;
    loop {
        let (armed, mute) = {
            let now = rules.borrow_and_update();
            (now.for_engine(&name), now.mute_of(&name))
        };
        judge.keep_rules(&armed);
        judge.set_mute(mute);
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
            // Events first, then the list: no container starts unseen in between.
            list_at = Some(Instant::now());
        }
        let sampling = armed.iter().any(|a| a.reads_samples());
        if !sampling || !up {
            sampler = None;
        } else if sampler.is_none() && resample_at.is_none_or(|at| at <= Instant::now()) {
            sampler = Some(samples::subscribe(
                &registry,
                &context.name,
                &context.engine,
                &context.container_stats,
            ));
            resample_at = None;
        }
        let logs: Vec<Arc<Armed>> = armed.iter().filter(|a| a.reads_logs()).cloned().collect();
        if logs.is_empty() || !up {
            followers.clear();
        } else if std::mem::take(&mut rechoose) {
            // At once, not after a listing that may fail: a removed or disabled rule reads
            // no more lines, and what no rule selects any more is let go.
            followers.rechoose(|subject| selecting(&logs, subject));
        }
        if !logs.is_empty()
            && up
            && events.is_some()
            && list_at.is_some_and(|at| at <= Instant::now())
        {
            list_at = None;
            match mapping::list_all(&context.engine).await {
                Ok(listed) => {
                    let running = listed
                        .iter()
                        .map(|c| subject_of(&name, c))
                        .filter(|s| s.state == "running");
                    follow_all(&mut followers, &context, &registry, &logs, running);
                }
                Err(e) => {
                    tracing::debug!(engine = %name, "log rules could not list containers: {e}");
                    list_at = Some(Instant::now() + RESUBSCRIBE);
                }
            }
        }
        shared.send(std::mem::take(&mut fired)).await;
        let tick = judge.next_tick(&armed, now_ms()).map(|at| {
            Instant::now() + Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64)
        });
        // Only while the engine is up: when it is down, its coming back wakes the loop
        // (a resubscription time in the past would make this loop spin).
        let resubscribe = resubscribe_at.filter(|_| events.is_none() && reads && up);
        let list = list_at.filter(|_| !logs.is_empty() && events.is_some() && up);
        let resample = resample_at.filter(|_| sampler.is_none() && sampling && up);
        let wake = [tick, resubscribe, resample, list]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = rules.changed() => {
                rechoose = true;
                list_at = Some(Instant::now());
            }
            () = reach.changed() => {}
            next = next_event(&mut events) => match next {
                Next::Event(event) => {
                    if !logs.is_empty()
                        && follow_event(&mut followers, &context, &registry, &logs, &judge, &event)
                    {
                        list_at = Some(Instant::now());
                    }
                    fired = judge.event(&armed, &event, now_ms());
                }
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
            round = next_round(&mut sampler) => match round {
                Some(round) => fired = judge.samples(&armed, &round),
                None => {
                    sampler = None;
                    resample_at = Some(Instant::now() + RESUBSCRIBE);
                }
            },
            (id, read) = followers.next() => match read {
                Read::Frame(frame) => {
                    if let Some(followed) = followers.get(&id) {
                        let now = now_ms();
                        for (_, line) in frame.read_lines() {
                            let line = Line::new(line.stream, &line.text);
                            fired.extend(judge.line(&followed.rules, &followed.subject, &line, now));
                        }
                    }
                }
                Read::Lagged(missed) => tracing::warn!(
                    engine = %name,
                    container = %id,
                    "log rules fell behind a container's lines: {missed} were not read"
                ),
                // Stopped: its start follows it again. A stream that ended with its container
                // still running (its logs cannot be read: `--log-driver none`) is not asked
                // for again and again; the next start, rule change or event stream does.
                Read::Ended => {}
            },
            () = sleep_until(wake) => fired = judge.tick(&armed, now_ms()),
        }
        shared.send(fired).await;
    }
}

/// The sampler's next round; None when its stream ended; never without a subscription. A
/// round missed for falling behind is not waited for: the next one comes.
async fn next_round(sampler: &mut Option<Subscription>) -> Option<Arc<Samples>> {
    use crate::live::hub::queue::RecvError;
    let Some(subscription) = sampler else {
        return std::future::pending().await;
    };
    loop {
        match subscription.cursor.recv().await {
            Ok(frame) => {
                if let Some(round) = frame.samples() {
                    return Some(round.clone());
                }
                if frame.ending().is_some() {
                    return None;
                }
            }
            Err(RecvError::Lagged { .. }) => {}
            Err(RecvError::Closed) => return None,
        }
    }
}

/// The log rules of `logs` that select `subject`.
fn selecting(logs: &[Arc<Armed>], subject: &Subject) -> Vec<Arc<Armed>> {
    logs.iter()
        .filter(|a| a.select.matches(subject))
        .cloned()
        .collect()
}

/// Follows each of `running` that a log rule selects, and lets go of the rest.
fn follow_all(
    followers: &mut Followers,
    context: &EngineContext,
    registry: &Arc<Registry>,
    logs: &[Arc<Armed>],
    running: impl Iterator<Item = Subject>,
) {
    let mut kept = HashSet::new();
    for subject in running {
        let rules = selecting(logs, &subject);
        if rules.is_empty() {
            continue;
        }
        kept.insert(subject.id.clone());
        if followers.is_followed(&subject.id) {
            followers.set_rules(subject, rules);
        } else {
            follow(followers, context, registry, subject, rules);
        }
    }
    for id in followers.ids() {
        if !kept.contains(&id) {
            followers.unfollow(&id);
        }
    }
}

/// What a container's event changes in what is followed: a start follows it when a log
/// rule selects it; a death or removal lets go; a rename or an update may change what
/// selects it. True when the running containers are to be listed again (a container not
/// followed was renamed or updated: whether it runs, its event does not say).
fn follow_event(
    followers: &mut Followers,
    context: &EngineContext,
    registry: &Arc<Registry>,
    logs: &[Arc<Armed>],
    judge: &Judge,
    event: &EngineEvent,
) -> bool {
    match event.action.as_str() {
        "die" | "destroy" => followers.unfollow(&event.id),
        "start" => {
            let subject = judge.subject(event);
            let rules = selecting(logs, &subject);
            let key = HubKey::ContainerLogs {
                engine: context.name.clone(),
                container: event.id.clone(),
            };
            if rules.is_empty() {
                followers.unfollow(&event.id);
            } else if followers.is_followed(&event.id) && registry.is_live(&key) {
                // Listed a moment before its start was read: its stream is already open.
                followers.set_rules(subject, rules);
            } else {
                // Followed again when it was: a missed `die` leaves a stream that has ended.
                follow(followers, context, registry, subject, rules);
            }
        }
        "rename" | "update" if !followers.is_followed(&event.id) => return true,
        "rename" | "update" => {
            let subject = judge.subject(event);
            let rules = selecting(logs, &subject);
            match rules.is_empty() {
                true => followers.unfollow(&event.id),
                false => followers.set_rules(subject, rules),
            }
        }
        _ => {}
    }
    false
}

/// Joins the log hub of `subject`'s container as Berth, with no history: a rule reads
/// the lines written from now on.
fn follow(
    followers: &mut Followers,
    context: &EngineContext,
    registry: &Arc<Registry>,
    subject: Subject,
    rules: Vec<Arc<Armed>>,
) {
    let (Ok(docker), Ok(api)) = (context.engine.client(), context.engine.logs_api()) else {
        return;
    };
    let source = LogSource {
        id: subject.id.clone(),
        name: subject.name.clone(),
        service: subject.labels.get(COMPOSE_SERVICE_LABEL).cloned(),
        // Found by the stream itself, as a project's members' are (no inspect per start).
        tty: None,
    };
    let subscription =
        container_logs::subscribe(registry, Who::Berth, &context.name, docker, api, source, 0);
    followers.follow(subject, rules, subscription);
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
