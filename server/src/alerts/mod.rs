//! Alerts: rules that watch containers and engines, channels that carry what they find,
//! and an outbox that never loses a message.
//!
//! - `select`: which containers a rule watches (lists, CEL); `judge`: what fires, per
//!   engine, as pure state; `facts`: what an alert says.
//! - `watch`: one task per engine that feeds its judge from the engine's shared event
//!   stream, its sampler (CPU and memory) and the log hubs of the containers log rules
//!   select (internal hub subscriptions, held only while a rule needs them: `follow`), and
//!   its reachability; `lines`: a log rule's test of a line.
//! - `records`: channels, rules, alerts and deliveries in the database; `outbox`: the task
//!   that sends what is pending, per channel in order, with backoff, across restarts.
//! - `channel`: a channel checked, sealed, shown and sent through; `webhook`: an HTTP
//!   POST from a template; `email`: a mail over SMTP.
//!
//! An alert is written (with a pending delivery per channel) before anything is sent; the
//! outbox is woken, sends, and records the outcome. Rules are read from the database at
//! start and after every change made here (another replica's change is seen at its
//! restart).

mod channel;
mod email;
mod facts;
mod follow;
mod judge;
mod lines;
mod outbox;
mod records;
mod select;
mod watch;
mod webhook;

use crate::{
    docker::{EngineName, mapping},
    engines::Engines,
    error::Error,
    live::hub::Registry,
    registry_logins::Sealer,
    store::Store,
    window::Window,
};
use app::model::{
    AlertRecord, Channel, EngineContainer, EngineMute, HistoryQuery, Metric, Mute, NewChannel,
    NewRule, Rule, Selector, TestResult, Trigger,
};
use judge::{Armed, Fired};
use lines::LineRule;
use records::{NewAlert, Records};
use select::{Compiled, Subject};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};
use tokio::sync::{Mutex, Notify, watch as tokio_watch};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How long alerts are kept and how their delivery is retried (`berth --help`, "Alerts").
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Alerts")]
pub struct AlertSettings {
    /// Days an alert is kept in the history (one not yet delivered is kept until it is).
    #[arg(long, env = "BERTH_ALERT_KEEP_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub alert_keep_days: u64,

    /// The longest wait between two tries of a message a channel did not take, in seconds
    /// (the wait doubles from 1 s up to it).
    #[arg(long, env = "BERTH_ALERT_RETRY_MAX_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub alert_retry_max_secs: u64,

    /// Messages a channel may have waiting; past it the oldest are dropped (and counted).
    #[arg(long, env = "BERTH_ALERT_QUEUE_CAP", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub alert_queue_cap: u32,
}

impl AlertSettings {
    fn keep_ms(&self) -> i64 {
        self.alert_keep_days as i64 * 86_400_000
    }

    fn retry_max_ms(&self) -> i64 {
        self.alert_retry_max_secs as i64 * 1000
    }
}

/// The rules as the watchers judge with, and the engines' mutes.
#[derive(Default)]
struct Rules {
    all: Vec<Arc<Armed>>,
    mutes: HashMap<String, Arc<Muted>>,
}

/// A rule's or an engine's mute, its windows parsed.
#[derive(Debug)]
pub struct Muted {
    until_ms: Option<i64>,
    windows: Vec<Window>,
}

impl Muted {
    fn new(mute: &Mute) -> Result<Self, Error> {
        Ok(Self {
            until_ms: mute.until_ms,
            windows: check_windows(mute)?,
        })
    }

    pub fn holds(&self, now: i64) -> bool {
        self.until_ms.is_some_and(|until| now < until)
            || self.windows.iter().any(|w| w.contains(now))
    }
}

impl Rules {
    /// The enabled rules that may concern `engine`.
    fn for_engine(&self, engine: &str) -> Vec<Arc<Armed>> {
        self.all
            .iter()
            .filter(|a| a.rule.rule.enabled && a.select.takes_engine(engine))
            .cloned()
            .collect()
    }

    /// The engine's mute, when it has one.
    fn mute_of(&self, engine: &str) -> Option<Arc<Muted>> {
        self.mutes.get(engine).cloned()
    }
}

/// Counts for `/metrics`.
#[derive(Default, Debug)]
pub struct Counts {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    /// Dropped at a channel's cap.
    pub dropped: AtomicU64,
    /// Messages waiting, as the outbox last counted.
    pub depth: AtomicU64,
    pub rules: AtomicU64,
}

/// What the watchers, the outbox and the API share.
struct Shared {
    records: Records,
    sealer: Arc<Sealer>,
    settings: AlertSettings,
    rules: tokio_watch::Sender<Arc<Rules>>,
    /// Wakes the outbox: an alert was written.
    wake: Notify,
    /// One writer of alerts at a time in this process (their ids are MAX + 1).
    writing: Mutex<()>,
    counts: Arc<Counts>,
}

impl Shared {
    /// Keeps what fired, then wakes the outbox. A database that fails loses the alert:
    /// said in the log, as nothing else can carry it.
    async fn send(&self, fired: Vec<Fired>) {
        if fired.is_empty() {
            return;
        }
        let channels: HashMap<i64, String> = match self.records.channels().await {
            Ok(rows) => rows.into_iter().map(|r| (r.id, r.name)).collect(),
            Err(e) => {
                tracing::error!("{} alerts were not kept: {e}", fired.len());
                return;
            }
        };
        let _writing = self.writing.lock().await;
        for alert in fired {
            let to: Vec<(i64, String)> = alert
                .channels
                .iter()
                .filter_map(|id| channels.get(id).map(|name| (*id, name.clone())))
                .collect();
            let kept = self
                .records
                .record(
                    &NewAlert {
                        rule_id: Some(alert.rule_id),
                        facts: &alert.facts,
                        channels: &to,
                    },
                    self.settings.alert_queue_cap,
                )
                .await;
            match kept {
                Ok((id, dropped)) => {
                    self.counts.dropped.fetch_add(dropped, Ordering::Relaxed);
                    tracing::info!(alert = id, "{}", alert.facts.title);
                }
                Err(e) => tracing::error!("an alert was not kept ({}): {e}", alert.facts.title),
            }
        }
        self.wake.notify_one();
    }

    /// Reads the rules again and hands them to the watchers.
    async fn reload(&self) -> Result<(), Error> {
        let rules = self.records.rules().await?;
        let armed = rules
            .into_iter()
            .filter_map(|rule| match arm(rule) {
                Ok(armed) => Some(Arc::new(armed)),
                Err((id, e)) => {
                    tracing::warn!("alert rule {id} is left out: {e}");
                    None
                }
            })
            .collect::<Vec<_>>();
        let mutes = self
            .records
            .mutes()
            .await?
            .into_iter()
            .filter_map(|m| match Muted::new(&m.mute) {
                Ok(muted) => Some((m.engine, Arc::new(muted))),
                Err(e) => {
                    tracing::warn!("the mute of engine {} is left out: {e}", m.engine);
                    None
                }
            })
            .collect();
        self.counts
            .rules
            .store(armed.len() as u64, Ordering::Relaxed);
        self.rules
            .send_replace(Arc::new(Rules { all: armed, mutes }));
        Ok(())
    }
}

/// A mute's windows, parsed: at most 20; 422 for one that does not parse.
fn check_windows(mute: &Mute) -> Result<Vec<Window>, Error> {
    if mute.windows.len() > 20 {
        return Err(Error::bad_request("a mute has at most 20 windows"));
    }
    mute.windows
        .iter()
        .map(|w| Window::parse(w).map_err(|e| Error::new(422, format!("a mute {e}"))))
        .collect()
}

/// A rule's or a channel's name: 1 to 100 characters, none that hides or fakes text
/// (control, bidi, zero-width), since it goes into messages people read.
fn check_name(what: &str, name: &str) -> Result<(), Error> {
    let name = name.trim();
    let deceptive = name.chars().any(crate::accounts::audit::is_deceptive);
    if name.is_empty() || name.chars().count() > 100 || deceptive {
        return Err(Error::bad_request(format!(
            "a {what}'s name is 1 to 100 characters, without control or invisible ones"
        )));
    }
    Ok(())
}

/// The shortest cooldown of a log rule, in seconds.
const MIN_LOG_COOLDOWN: u64 = 10;

/// A kept rule, ready to judge with.
fn arm(rule: Rule) -> Result<Armed, (i64, Error)> {
    let id = rule.id;
    let Checked { select, mute, line } = check_rule(&rule.rule).map_err(|e| (id, e))?;
    Ok(Armed {
        rule,
        select,
        mute,
        line,
    })
}

/// What a rule compiles to.
struct Checked {
    select: Compiled,
    mute: Muted,
    line: Option<LineRule>,
}

/// Checks a rule as written: 400 for values out of range, 422 for what does not parse.
fn check_rule(rule: &NewRule) -> Result<Checked, Error> {
    check_name("rule", &rule.name)?;
    if rule.cooldown_secs > 7 * 86_400 {
        return Err(Error::bad_request(
            "a cooldown is at most 7 days (604800 s)",
        ));
    }
    if rule.channels.len() > 20 {
        return Err(Error::bad_request("a rule sends to at most 20 channels"));
    }
    match &rule.when {
        Trigger::Exit { ignore } if ignore.len() > 256 => {
            return Err(Error::bad_request("at most 256 exit codes are ignored"));
        }
        Trigger::Restarts { count, minutes }
            if !(1..=1000).contains(count) || !(1..=1440).contains(minutes) =>
        {
            return Err(Error::bad_request(
                "a restart loop is 1 to 1000 deaths within 1 to 1440 minutes",
            ));
        }
        Trigger::EngineDown { seconds } if !(1..=86_400).contains(seconds) => {
            return Err(Error::bad_request(
                "an engine's outage is timed in 1 to 86400 seconds",
            ));
        }
        Trigger::Log { .. } if rule.cooldown_secs < MIN_LOG_COOLDOWN => {
            return Err(Error::bad_request(format!(
                "a log rule's cooldown is at least {MIN_LOG_COOLDOWN} s: a torrent of matching lines is one alert per container, not one per line"
            )));
        }
        Trigger::Metric {
            window_secs,
            for_secs,
            ..
        } if !(1..=3600).contains(window_secs) || *for_secs > 86_400 => {
            return Err(Error::bad_request(
                "a metric is averaged over 1 to 3600 s and held 0 to 86400 s",
            ));
        }
        Trigger::Metric {
            metric: Metric::MemoryPercent,
            above,
            ..
        } if *above >= 100 => {
            return Err(Error::bad_request(
                "memory % of its limit is never above 100: give a threshold below it",
            ));
        }
        _ => {}
    }
    let mute = Muted::new(&rule.mute)?;
    let line = match &rule.when {
        Trigger::Log { line, stream } => Some(LineRule::new(line, *stream)?),
        _ => None,
    };
    Ok(Checked {
        select: Compiled::new(&rule.select)?,
        mute,
        line,
    })
}

/// Alerts: the API's side, over what runs in the background.
pub struct Alerts {
    shared: Arc<Shared>,
    engines: Arc<Engines>,
    /// The samplers' interval, in seconds (a metric's window holds at most
    /// [`judge::MAX_VALUES`] of their rounds).
    sample_secs: u64,
}

impl Alerts {
    /// Starts the outbox and one watcher per engine on `tasks` (each stops at `shutdown`),
    /// after the rules are read.
    pub fn start(
        engines: Arc<Engines>,
        registry: Arc<Registry>,
        (store, sealer): (Store, Arc<Sealer>),
        settings: &AlertSettings,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let shared = Arc::new(Shared {
            records: Records::new(store),
            sealer,
            settings: settings.clone(),
            rules: tokio_watch::Sender::new(Arc::default()),
            wake: Notify::new(),
            writing: Mutex::new(()),
            counts: Arc::default(),
        });
        let start = {
            let shared = shared.clone();
            let shutdown = shutdown.clone();
            // Until the database answers: without its rules, Berth would watch nothing.
            async move {
                let mut wait = std::time::Duration::from_secs(1);
                loop {
                    tokio::select! {
                        loaded = shared.reload() => match loaded {
                            Ok(()) => return,
                            Err(e) => tracing::error!(
                                "alert rules were not read (tried again in {wait:?}): {e}"
                            ),
                        },
                        () = shutdown.cancelled() => return,
                    }
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => return,
                    }
                    wait = (wait * 2).min(std::time::Duration::from_secs(60));
                }
            }
        };
        tasks.spawn(start);
        for context in engines.all() {
            tasks.spawn(watch::run(
                context.clone(),
                registry.clone(),
                shared.clone(),
                shutdown.clone(),
            ));
        }
        tasks.spawn(outbox::run(shared.clone(), shutdown));
        Arc::new(Self {
            shared,
            engines,
            sample_secs: registry.config().sample_every.as_secs().max(1),
        })
    }

    pub fn counts(&self) -> Arc<Counts> {
        self.shared.counts.clone()
    }

    pub async fn channels(&self) -> Result<Vec<Channel>, Error> {
        let pending: HashMap<i64, i64> = self.shared.records.pending().await?.into_iter().collect();
        let rows = self.shared.records.channels().await?;
        Ok(rows
            .iter()
            .map(|row| {
                let waiting = pending.get(&row.id).copied().unwrap_or(0).max(0) as u64;
                channel::shown(&self.shared.sealer, row, waiting)
            })
            .collect())
    }

    pub async fn create_channel(&self, new: &NewChannel) -> Result<Channel, Error> {
        let records = &self.shared.records;
        // Checked before an id is taken: a refused channel uses none.
        channel::row(&self.shared.sealer, 0, new, None)?;
        let id = records.next_channel_id().await?;
        let row = channel::row(&self.shared.sealer, id, new, None)?;
        records.put_channel(&row, true).await?;
        Ok(channel::shown(&self.shared.sealer, &row, 0))
    }

    pub async fn update_channel(&self, id: i64, new: &NewChannel) -> Result<Channel, Error> {
        let old = self.shared.records.channel(id).await?;
        let row = channel::row(&self.shared.sealer, id, new, Some(&old))?;
        self.shared.records.put_channel(&row, false).await?;
        // Messages that waited for a channel that was wrong are tried at once.
        self.shared.wake.notify_one();
        let pending = self.pending_of(id).await?;
        Ok(channel::shown(&self.shared.sealer, &row, pending))
    }

    async fn pending_of(&self, id: i64) -> Result<u64, Error> {
        let pending = self.shared.records.pending().await?;
        Ok(pending
            .into_iter()
            .find(|(channel, _)| *channel == id)
            .map_or(0, |(_, n)| n.max(0) as u64))
    }

    pub async fn remove_channel(&self, id: i64) -> Result<(), Error> {
        self.shared.records.remove_channel(id).await
    }

    /// Sends a test message through channel `id` now and says what the receiver answered.
    pub async fn test_channel(&self, id: i64) -> Result<TestResult, Error> {
        let row = self.shared.records.channel(id).await?;
        let facts = facts::Facts::sample();
        Ok(
            match channel::answer(&self.shared.sealer, &row, &facts).await {
                Ok(answer) => TestResult {
                    delivered: answer.delivered(),
                    status: Some(answer.status),
                    answer: answer.text,
                },
                Err(why) => TestResult {
                    delivered: false,
                    status: None,
                    answer: why,
                },
            },
        )
    }

    pub async fn rules(&self) -> Result<Vec<Rule>, Error> {
        self.shared.records.rules().await
    }

    pub async fn create_rule(&self, rule: &NewRule, author: &str) -> Result<Rule, Error> {
        let rule = self.checked(rule).await?;
        let kept = self.shared.records.insert_rule(&rule, author).await?;
        self.shared.reload().await?;
        Ok(kept)
    }

    pub async fn update_rule(&self, id: i64, rule: &NewRule, author: &str) -> Result<Rule, Error> {
        let rule = self.checked(rule).await?;
        let kept = self.shared.records.update_rule(id, &rule, author).await?;
        self.shared.reload().await?;
        Ok(kept)
    }

    pub async fn remove_rule(&self, id: i64) -> Result<(), Error> {
        self.shared.records.remove_rule(id).await?;
        self.shared.reload().await
    }

    pub async fn mutes(&self) -> Result<Vec<EngineMute>, Error> {
        self.shared.records.mutes().await
    }

    /// 404 for an engine Berth does not have; 422 for a window that does not parse.
    pub async fn set_mute(
        &self,
        engine: &str,
        mute: &Mute,
        author: &str,
    ) -> Result<EngineMute, Error> {
        self.engines.get(engine)?;
        if mute.until_ms.is_none() && mute.windows.is_empty() {
            return Err(Error::bad_request(
                "a mute has an end (until_ms) or windows, or both",
            ));
        }
        Muted::new(mute)?;
        let kept = self.shared.records.put_mute(engine, mute, author).await?;
        self.shared.reload().await?;
        Ok(kept)
    }

    /// Also for an engine Berth no longer has (a mute left behind); 400 for what is not an
    /// engine's name.
    pub async fn remove_mute(&self, engine: &str) -> Result<(), Error> {
        let engine = EngineName::parse(engine)?;
        self.shared.records.remove_mute(engine.as_str()).await?;
        self.shared.reload().await
    }

    /// `rule` checked, its name trimmed; 400 for a channel that does not exist.
    async fn checked(&self, rule: &NewRule) -> Result<NewRule, Error> {
        check_rule(rule)?;
        let longest = judge::MAX_VALUES as u64 * self.sample_secs;
        if let Trigger::Metric { window_secs, .. } = rule.when
            && u64::from(window_secs) > longest
        {
            return Err(Error::bad_request(format!(
                "a metric's window holds at most {} samples: at --sample-secs {}, {longest} s",
                judge::MAX_VALUES,
                self.sample_secs
            )));
        }
        let channels = self.shared.records.channels().await?;
        if let Some(missing) = rule
            .channels
            .iter()
            .find(|id| !channels.iter().any(|c| c.id == **id))
        {
            return Err(Error::bad_request(format!("no alert channel {missing}")));
        }
        let mut rule = rule.clone();
        rule.name = rule.name.trim().to_string();
        Ok(rule)
    }

    /// The containers `selector` matches now, on every engine that answers.
    pub async fn preview(&self, selector: &Selector) -> Result<Vec<EngineContainer>, Error> {
        let compiled = Compiled::new(selector)?;
        let asks = self
            .engines
            .all()
            .filter(|c| compiled.takes_engine(c.name.as_str()))
            .map(|context| async move {
                (
                    context.name.to_string(),
                    mapping::list_all(&context.engine).await,
                )
            });
        let mut matched = Vec::new();
        for (engine, listed) in futures::future::join_all(asks).await {
            let Ok(listed) = listed else { continue };
            for container in listed {
                let subject = subject_of(&engine, &container);
                if compiled.matches(&subject) {
                    matched.push(EngineContainer {
                        engine: engine.clone(),
                        container: mapping::summary(container),
                    });
                }
            }
        }
        Ok(matched)
    }

    pub async fn history(&self, query: &HistoryQuery) -> Result<Vec<AlertRecord>, Error> {
        self.shared.records.history(query).await
    }
}

/// A listed container as a rule sees it (its health from Docker's status text).
fn subject_of(engine: &str, c: &bollard::models::ContainerSummary) -> Subject {
    let health = mapping::health(c.status.as_deref().unwrap_or_default());
    Subject {
        engine: engine.to_string(),
        id: c.id.clone().unwrap_or_default(),
        name: mapping::container_name(
            c.names
                .as_ref()
                .and_then(|n| n.first())
                .map(String::as_str)
                .unwrap_or_default(),
        ),
        image: c.image.clone().unwrap_or_default(),
        labels: c.labels.clone().unwrap_or_default().into_iter().collect(),
        state: mapping::text(c.state.as_ref()),
        health: health.to_string(),
    }
}
