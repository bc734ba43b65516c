//! Deciding, for one engine, which of its events and outages fire which rules: pure state
//! (no clock, no I/O; the caller passes the time), so every rule's logic is tested here
//! without an engine. Per rule and container it keeps whether the alert is firing, when it
//! was last sent (the cooldown) and, for restart loops, the recent deaths; a container's
//! entries go when it is destroyed, a rule's when it is removed.

use super::{
    Muted,
    facts::Facts,
    lines::{Line, LineRule},
    select::{Compiled, Subject},
};
use crate::accounts::audit::plain;
use app::{
    frames::{ContainerSample, EngineEvent, Samples},
    model::{AlertState, Metric, Rule, Trigger},
};
use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

/// A rule ready to judge with: its selector compiled, its mute's windows parsed.
#[derive(Debug)]
pub struct Armed {
    pub rule: Rule,
    pub select: Compiled,
    pub mute: Muted,
    /// A log rule's test of a line.
    pub line: Option<LineRule>,
}

impl Armed {
    pub fn muted(&self, now: i64) -> bool {
        self.mute.holds(now)
    }

    /// Whether it reads container events (every trigger but an engine's outage; a log
    /// rule follows containers by them).
    pub fn reads_events(&self) -> bool {
        !matches!(self.rule.rule.when, Trigger::EngineDown { .. })
    }

    /// Whether it reads the engine's sampler.
    pub fn reads_samples(&self) -> bool {
        matches!(self.rule.rule.when, Trigger::Metric { .. })
    }

    /// Whether it reads its containers' log lines.
    pub fn reads_logs(&self) -> bool {
        self.line.is_some()
    }

    /// Whether its alerts clear (a log line's do not: it was written, and that is all).
    fn clears(&self) -> bool {
        !self.reads_logs()
    }
}

/// An alert to keep and send.
#[derive(Debug)]
pub struct Fired {
    pub rule_id: i64,
    pub channels: Vec<i64>,
    pub facts: Facts,
}

/// What is remembered of one rule and one container (or the engine).
#[derive(Debug, Default)]
struct Track {
    firing: bool,
    last_sent: Option<i64>,
    /// Deaths within a restart rule's window, oldest first.
    deaths: VecDeque<i64>,
    /// An outage rule has decided this outage (fired, or held back by a mute or its
    /// cooldown): nothing more until the engine answers again.
    decided: bool,
    /// The container as last seen, for the resolved message.
    subject: Subject,
    /// A metric rule's readings within its window, oldest first (at most [`MAX_VALUES`]).
    values: VecDeque<(i64, f64)>,
    /// Since when a metric rule's mean is above its threshold.
    over_since: Option<i64>,
}

/// How often an outage held back by a mute is looked at again (a window's end is not
/// computed: it is checked).
const MUTE_RECHECK_MS: i64 = 60_000;

/// Readings a metric rule keeps per container: a window of an hour at a 5 s interval.
pub const MAX_VALUES: usize = 720;

/// One engine's judge.
pub struct Judge {
    engine: String,
    /// By rule id and container id ("" for the engine).
    tracks: HashMap<(i64, String), Track>,
    /// Containers' health as their last `health_status` said.
    health: HashMap<String, String>,
    /// Since when the engine does not answer, and why.
    down: Option<(i64, String)>,
    /// The version (`updated_ms`) of each rule the entries were made with.
    versions: HashMap<i64, i64>,
    /// Events since entries no longer needed were last forgotten.
    since_sweep: u32,
    /// The engine's own mute, over every rule.
    mute: Option<Arc<Muted>>,
}

/// Events between two sweeps of entries no longer needed (a `destroy` can be missed).
const SWEEP_EVERY: u32 = 1024;

impl Judge {
    pub fn new(engine: &str) -> Self {
        Self {
            engine: engine.to_string(),
            tracks: HashMap::new(),
            health: HashMap::new(),
            down: None,
            versions: HashMap::new(),
            since_sweep: 0,
            mute: None,
        }
    }

    /// The engine's mute now.
    pub fn set_mute(&mut self, mute: Option<Arc<Muted>>) {
        self.mute = mute;
    }

    /// Whether `armed` is silent now: its own mute, or its engine's.
    fn muted(&self, armed: &Armed, now: i64) -> bool {
        armed.muted(now) || self.mute.as_ref().is_some_and(|m| m.holds(now))
    }

    /// Entries remembered, for the tests of what is freed.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.tracks.len() + self.health.len()
    }

    /// Forgets what rules no longer in `rules`, or changed since, remembered.
    pub fn keep_rules(&mut self, rules: &[Arc<Armed>]) {
        let versions: HashMap<i64, i64> = rules
            .iter()
            .map(|a| (a.rule.id, a.rule.updated_ms))
            .collect();
        let old = std::mem::replace(&mut self.versions, versions);
        let versions = &self.versions;
        self.tracks
            .retain(|(id, _), _| versions.get(id).is_some_and(|v| old.get(id) == Some(v)));
    }

    /// Forgets the entries that decide nothing any more: not firing, no deaths in a
    /// window, past their cooldown; and every health (events tell it again). For when
    /// events may have been missed, and every [`SWEEP_EVERY`] events.
    pub fn forget_idle(&mut self, rules: &[Arc<Armed>], now: i64) {
        self.since_sweep = 0;
        self.health.clear();
        self.tracks.retain(|(id, _), track| {
            let cooldown = rules
                .iter()
                .find(|a| a.rule.id == *id)
                .map_or(0, |a| cooldown_ms(a));
            track.firing
                || track.decided
                || track.over_since.is_some()
                || !track.values.is_empty()
                || !track.deaths.is_empty()
                || track.last_sent.is_some_and(|last| now < last + cooldown)
        });
    }

    /// A container's event.
    pub fn event(&mut self, rules: &[Arc<Armed>], event: &EngineEvent, now: i64) -> Vec<Fired> {
        self.since_sweep += 1;
        if self.since_sweep >= SWEEP_EVERY {
            let health = std::mem::take(&mut self.health);
            self.forget_idle(rules, now);
            self.health = health;
        }
        let action = event.action.as_str();
        if action == "destroy" {
            self.tracks.retain(|(_, id), _| id != &event.id);
            self.health.remove(&event.id);
            return Vec::new();
        }
        if let Some(health) = action.strip_prefix("health_status: ") {
            self.health.insert(event.id.clone(), health.to_string());
        }
        let subject = self.subject(event);
        let mut fired = Vec::new();
        if action == "die" {
            // Whatever the selector says of a stopped container (`state == 'running'`).
            fired.extend(self.stopped(rules, &event.id, now, "stopped"));
        }
        for armed in rules.iter().filter(|a| a.reads_events()) {
            if !armed.select.matches(&subject) {
                continue;
            }
            let key = (armed.rule.id, event.id.clone());
            match (&armed.rule.rule.when, action) {
                (Trigger::Exit { ignore }, "die") => {
                    let code = exit_code(event);
                    if !ignore.contains(&code) {
                        let facts = exit_facts(armed, &subject, code, now);
                        fired.extend(self.fire(armed, key, &subject, facts, now));
                    }
                }
                (Trigger::Oom {}, "oom") => {
                    let facts = said(
                        armed,
                        &subject,
                        "oom",
                        now,
                        format!("{} ran out of memory", subject.name),
                        format!(
                            "The kernel killed a process of {} ({}) on {}: it reached its memory limit.",
                            subject.name, subject.image, subject.engine
                        ),
                    );
                    fired.extend(self.fire(armed, key, &subject, facts, now));
                }
                (Trigger::Unhealthy {}, "health_status: unhealthy") => {
                    let facts = said(
                        armed,
                        &subject,
                        "unhealthy",
                        now,
                        format!("{} is unhealthy", subject.name),
                        format!(
                            "The health check of {} ({}) on {} fails.",
                            subject.name, subject.image, subject.engine
                        ),
                    );
                    fired.extend(self.fire(armed, key, &subject, facts, now));
                }
                (Trigger::Restarts { count, minutes }, "die") => {
                    let window = i64::from(*minutes) * 60_000;
                    let track = self.tracks.entry(key.clone()).or_default();
                    track.deaths.push_back(now);
                    while track.deaths.front().is_some_and(|&t| t <= now - window) {
                        track.deaths.pop_front();
                    }
                    // Only what the rule needs is kept: one more than the count.
                    while track.deaths.len() > *count as usize + 1 {
                        track.deaths.pop_front();
                    }
                    if track.deaths.len() > *count as usize {
                        let facts = said(
                            armed,
                            &subject,
                            "restarts",
                            now,
                            format!("{} is restarting over and over", subject.name),
                            format!(
                                "{} ({}) on {} died {} times in {minutes} min.",
                                subject.name,
                                subject.image,
                                subject.engine,
                                track.deaths.len()
                            ),
                        );
                        fired.extend(self.fire(armed, key, &subject, facts, now));
                    }
                }
                (Trigger::Exit { .. } | Trigger::Oom {}, "start")
                | (Trigger::Unhealthy {}, "health_status: healthy") => {
                    let words = match armed.rule.rule.when {
                        Trigger::Unhealthy {} => "is healthy again",
                        _ => "runs again",
                    };
                    fired.extend(self.clear(armed, &key, now, words));
                }
                _ => {}
            }
        }
        fired
    }

    /// A line written by `subject`'s container, for the log rules that select it.
    pub fn line(
        &mut self,
        rules: &[Arc<Armed>],
        subject: &Subject,
        line: &Line,
        now: i64,
    ) -> Vec<Fired> {
        let mut fired = Vec::new();
        for armed in rules {
            let Some(test) = &armed.line else { continue };
            if !test.passes(line) {
                continue;
            }
            let key = (armed.rule.id, subject.id.clone());
            // A torrent of matching lines: what the cooldown holds back costs no words.
            if self.held_back(armed, &key, now) {
                continue;
            }
            // Control and bidi characters (a line's colours) shown as escapes, not sent on.
            let shown = plain(line.text, LINE_SHOWN);
            let mut message = format!(
                "{} ({}) on {} wrote: {shown}",
                subject.name, subject.image, subject.engine
            );
            if let Some(field) = test.field(line) {
                message.push_str(&format!(" ({field})"));
            }
            let mut facts = said(
                armed,
                subject,
                "log",
                now,
                format!("{} logged: {}", subject.name, plain(line.text, 80)),
                message,
            );
            facts.line = Some(shown);
            fired.extend(self.fire(armed, key, subject, facts, now));
        }
        fired
    }

    /// Forgets what metric rules measured of container `id`, which no longer runs; a
    /// firing alert clears. When it was last sent stays, for the cooldown (a container
    /// restarting over and over): the sweep frees the entry after it.
    fn stopped(&mut self, rules: &[Arc<Armed>], id: &str, now: i64, words: &str) -> Vec<Fired> {
        let mut fired = Vec::new();
        for armed in rules.iter().filter(|a| a.reads_samples()) {
            let key = (armed.rule.id, id.to_string());
            fired.extend(self.measured_no_more(armed, &key, now, words));
        }
        fired
    }

    /// Ends what a metric rule measured under `key`, and its alert.
    fn measured_no_more(
        &mut self,
        armed: &Armed,
        key: &(i64, String),
        now: i64,
        words: &str,
    ) -> Option<Fired> {
        let track = self.tracks.get_mut(key)?;
        track.values.clear();
        track.over_since = None;
        self.clear(armed, key, now, words)
    }

    /// A round of the engine's sampler, for the metric rules.
    pub fn samples(&mut self, rules: &[Arc<Armed>], round: &Samples) -> Vec<Fired> {
        let now = round.at_ms;
        let mut fired = Vec::new();
        // A container no longer in the rounds stopped, whether or not its `die` was seen.
        let running: std::collections::HashSet<&str> =
            round.containers.iter().map(|c| c.id.as_str()).collect();
        let gone: Vec<String> = self
            .tracks
            .iter()
            .filter(|((rule, id), track)| {
                (track.firing || track.over_since.is_some() || !track.values.is_empty())
                    && !running.contains(id.as_str())
                    && rules
                        .iter()
                        .any(|a| a.rule.id == *rule && a.reads_samples())
            })
            .map(|((_, id), _)| id.clone())
            .collect();
        for id in gone {
            fired.extend(self.stopped(rules, &id, now, "stopped running"));
        }
        for sample in &round.containers {
            let subject = Subject {
                engine: self.engine.clone(),
                id: sample.id.clone(),
                name: sample.name.clone(),
                image: sample.image.clone(),
                labels: sample
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                state: sample.state.clone(),
                health: sample.health.clone(),
            };
            for armed in rules {
                let Trigger::Metric {
                    metric,
                    above,
                    window_secs,
                    for_secs,
                } = armed.rule.rule.when
                else {
                    continue;
                };
                let key = (armed.rule.id, sample.id.clone());
                if !armed.select.matches(&subject) {
                    // Paused, unhealthy, relabelled: what it measured ends, and its alert.
                    fired.extend(self.measured_no_more(armed, &key, now, "is no longer watched"));
                    continue;
                }
                let Some(value) = reading(metric, sample) else {
                    continue;
                };
                let track = self.tracks.entry(key.clone()).or_default();
                track.values.push_back((now, value));
                let window = i64::from(window_secs) * 1000;
                while track
                    .values
                    .front()
                    .is_some_and(|&(t, _)| t <= now - window)
                    || track.values.len() > MAX_VALUES
                {
                    track.values.pop_front();
                }
                let mean =
                    track.values.iter().map(|(_, v)| v).sum::<f64>() / track.values.len() as f64;
                if mean <= above as f64 {
                    track.over_since = None;
                    let words = format!("is back under {above} {}", unit(metric));
                    fired.extend(self.clear(armed, &key, now, &words));
                    continue;
                }
                let since = *track.over_since.get_or_insert(now);
                if track.firing || now - since < i64::from(for_secs) * 1000 {
                    continue;
                }
                let shown = match metric {
                    Metric::MemoryBytes => format!("{} MiB", (mean / 1_048_576.0).round()),
                    _ => format!("{mean:.1}%"),
                };
                let facts = said(
                    armed,
                    &subject,
                    "metric",
                    now,
                    format!("{} {} is {shown}", subject.name, metric.label()),
                    format!(
                        "{} ({}) on {}: {} averaged {shown} over {window_secs} s, above {above} {}.",
                        subject.name,
                        subject.image,
                        subject.engine,
                        metric.label(),
                        unit(metric)
                    ),
                );
                fired.extend(self.fire(armed, key, &subject, facts, now));
            }
        }
        fired
    }

    /// The engine's reachability now (`error` when down).
    pub fn engine(&mut self, rules: &[Arc<Armed>], error: Option<String>, now: i64) -> Vec<Fired> {
        match (error, &self.down) {
            (Some(error), None) => {
                self.down = Some((now, error));
                Vec::new()
            }
            (Some(error), Some((since, _))) => {
                self.down = Some((*since, error));
                Vec::new()
            }
            (None, None) => Vec::new(),
            (None, Some(_)) => {
                self.down = None;
                for ((_, container), track) in self.tracks.iter_mut() {
                    if container.is_empty() {
                        track.decided = false;
                    }
                }
                let engine_rules = rules.iter().filter(|a| !a.reads_events());
                let mut fired = Vec::new();
                for armed in engine_rules {
                    let key = (armed.rule.id, String::new());
                    fired.extend(self.clear(armed, &key, now, "answers again"));
                }
                fired
            }
        }
    }

    /// What time alone decides: an outage long enough, a restart loop that calmed down.
    pub fn tick(&mut self, rules: &[Arc<Armed>], now: i64) -> Vec<Fired> {
        let mut fired = Vec::new();
        for armed in rules {
            match &armed.rule.rule.when {
                Trigger::EngineDown { seconds } => {
                    let Some((since, error)) = self.down.clone() else {
                        continue;
                    };
                    let key = (armed.rule.id, String::new());
                    let decided = self.tracks.get(&key).is_some_and(|t| t.decided);
                    if decided || now < since + i64::from(*seconds) * 1000 {
                        continue;
                    }
                    // Muted (a maintenance): undecided, so an engine still down when the
                    // mute ends is told then. A cooldown decides it.
                    if self.muted(armed, now) {
                        continue;
                    }
                    self.tracks.entry(key.clone()).or_default().decided = true;
                    let subject = Subject {
                        engine: self.engine.clone(),
                        ..Default::default()
                    };
                    let facts = said(
                        armed,
                        &subject,
                        "engine_down",
                        now,
                        format!("engine {} is unreachable", self.engine),
                        format!(
                            "Berth has not reached the Docker engine {} for {} s: {error}",
                            self.engine,
                            (now - since) / 1000
                        ),
                    );
                    fired.extend(self.fire(armed, key, &subject, facts, now));
                }
                Trigger::Restarts { minutes, .. } => {
                    let window = i64::from(*minutes) * 60_000;
                    let calm: Vec<(i64, String)> = self
                        .tracks
                        .iter_mut()
                        .filter(|((id, _), _)| *id == armed.rule.id)
                        .filter_map(|(key, track)| {
                            while track.deaths.front().is_some_and(|&t| t <= now - window) {
                                track.deaths.pop_front();
                            }
                            (track.firing && track.deaths.is_empty()).then(|| key.clone())
                        })
                        .collect();
                    for key in calm {
                        fired.extend(self.clear(armed, &key, now, "stopped restarting"));
                    }
                }
                _ => {}
            }
        }
        fired
    }

    /// When [`Self::tick`] has something to decide next (unix ms).
    pub fn next_tick(&self, rules: &[Arc<Armed>], now: i64) -> Option<i64> {
        rules
            .iter()
            .filter_map(|armed| match &armed.rule.rule.when {
                Trigger::EngineDown { seconds } => {
                    let (since, _) = self.down.as_ref()?;
                    let key = (armed.rule.id, String::new());
                    let decided = self.tracks.get(&key).is_some_and(|t| t.decided);
                    let due = since + i64::from(*seconds) * 1000;
                    // Due while muted: looked at again a while later, never in a loop.
                    let muted = due <= now && self.muted(armed, now);
                    (!decided).then_some(if muted { now + MUTE_RECHECK_MS } else { due })
                }
                Trigger::Restarts { minutes, .. } => self
                    .tracks
                    .iter()
                    .filter(|((id, _), t)| *id == armed.rule.id && t.firing)
                    .filter_map(|(_, t)| t.deaths.back())
                    .map(|last| last + i64::from(*minutes) * 60_000)
                    .min(),
                _ => None,
            })
            .min()
    }

    /// A container as its event describes it.
    pub fn subject(&self, event: &EngineEvent) -> Subject {
        let mut labels: HashMap<String, String> = event
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // What Docker adds beside the labels.
        let name = labels.remove("name").unwrap_or_default();
        let image = labels.remove("image").unwrap_or_default();
        for key in ["exitCode", "signal", "execDuration"] {
            labels.remove(key);
        }
        let state = match event.action.as_str() {
            "die" | "stop" | "kill" => "exited",
            "create" => "created",
            "pause" => "paused",
            _ => "running",
        };
        Subject {
            engine: self.engine.clone(),
            id: event.id.clone(),
            name,
            image,
            labels,
            state: state.to_string(),
            health: self.health.get(&event.id).cloned().unwrap_or_default(),
        }
    }

    /// Whether a mute or the cooldown of the last one sent holds an alert back.
    fn held_back(&self, armed: &Armed, key: &(i64, String), now: i64) -> bool {
        self.muted(armed, now)
            || self
                .tracks
                .get(key)
                .and_then(|t| t.last_sent)
                .is_some_and(|last| now < last + cooldown_ms(armed))
    }

    /// Fires unless muted or within the cooldown of the last one sent.
    fn fire(
        &mut self,
        armed: &Armed,
        key: (i64, String),
        subject: &Subject,
        facts: Facts,
        now: i64,
    ) -> Option<Fired> {
        if self.held_back(armed, &key, now) {
            return None;
        }
        let track = self.tracks.entry(key).or_default();
        track.firing = armed.clears();
        track.last_sent = Some(now);
        track.subject = subject.clone();
        Some(Fired {
            rule_id: armed.rule.id,
            channels: armed.rule.rule.channels.clone(),
            facts,
        })
    }

    /// Clears a firing alert; says so when the rule asks for it and is not muted.
    fn clear(
        &mut self,
        armed: &Armed,
        key: &(i64, String),
        now: i64,
        words: &str,
    ) -> Option<Fired> {
        let muted = self.muted(armed, now);
        let track = self.tracks.get_mut(key).filter(|t| t.firing)?;
        track.firing = false;
        if !armed.rule.rule.resolved || muted {
            return None;
        }
        let subject = track.subject.clone();
        let who = match subject.name.is_empty() {
            true => format!("engine {}", self.engine),
            false => subject.name.clone(),
        };
        let mut facts = said(
            armed,
            &subject,
            "resolved",
            now,
            format!("{who} {words}"),
            format!("Resolved: {who} {words} ({}).", armed.rule.rule.name),
        );
        facts.state = AlertState::Resolved;
        Some(Fired {
            rule_id: armed.rule.id,
            channels: armed.rule.rule.channels.clone(),
            facts,
        })
    }
}

/// A sample's figure for `metric`; None for CPU in a container's first sample.
fn reading(metric: Metric, sample: &ContainerSample) -> Option<f64> {
    let stats = sample.stats.as_ref()?;
    match metric {
        Metric::CpuPercent => sample.cpu_known.then_some(stats.cpu_percent),
        Metric::MemoryPercent => (stats.memory_limit > 0)
            .then(|| stats.memory_used as f64 / stats.memory_limit as f64 * 100.0),
        Metric::MemoryBytes => Some(stats.memory_used as f64),
    }
}

/// What a metric's threshold counts.
fn unit(metric: Metric) -> &'static str {
    match metric {
        Metric::MemoryBytes => "bytes",
        _ => "%",
    }
}

/// How much of a line an alert shows, in characters (the rest is in the container's logs).
const LINE_SHOWN: usize = 1024;

/// A rule's cooldown in ms (at most 7 days, as rules are checked).
fn cooldown_ms(armed: &Armed) -> i64 {
    armed.rule.rule.cooldown_secs.min(7 * 86_400) as i64 * 1000
}

fn exit_code(event: &EngineEvent) -> i64 {
    event
        .attributes
        .get("exitCode")
        .and_then(|c| c.parse().ok())
        .unwrap_or(-1)
}

fn exit_facts(armed: &Armed, subject: &Subject, code: i64, now: i64) -> Facts {
    let mut facts = said(
        armed,
        subject,
        "exit",
        now,
        format!("{} exited with code {code}", subject.name),
        format!(
            "The container {} ({}) on {} exited with code {code}.",
            subject.name, subject.image, subject.engine
        ),
    );
    facts.exit_code = Some(code);
    facts
}

fn said(
    armed: &Armed,
    subject: &Subject,
    event: &str,
    now: i64,
    title: String,
    message: String,
) -> Facts {
    Facts::of(&armed.rule.rule.name, subject, event, now).said(title, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{Mute, NewRule, Selector};
    use std::collections::BTreeMap;

    fn armed(id: i64, when: Trigger, f: impl FnOnce(&mut NewRule)) -> Arc<Armed> {
        let mut rule = NewRule {
            name: format!("rule {id}"),
            enabled: true,
            select: Selector::default(),
            when,
            channels: vec![1],
            cooldown_secs: 0,
            resolved: true,
            mute: Mute::default(),
        };
        f(&mut rule);
        Arc::new(Armed {
            select: Compiled::new(&rule.select).unwrap(),
            mute: Muted::new(&rule.mute).unwrap(),
            line: match &rule.when {
                Trigger::Log { line, stream } => Some(LineRule::new(line, *stream).unwrap()),
                _ => None,
            },
            rule: Rule {
                id,
                rule,
                author: "t".into(),
                updated_ms: 0,
            },
        })
    }

    fn event(id: &str, action: &str, extra: &[(&str, &str)]) -> EngineEvent {
        let mut attributes = BTreeMap::from([
            ("name".to_string(), format!("c-{id}")),
            ("image".to_string(), "busybox".to_string()),
        ]);
        attributes.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        EngineEvent {
            kind: "container".into(),
            action: action.into(),
            id: id.into(),
            attributes,
            time_nano: 0,
        }
    }

    fn die(id: &str, code: &str) -> EngineEvent {
        event(id, "die", &[("exitCode", code)])
    }

    #[test]
    fn an_exit_outside_the_list_fires_and_a_start_resolves() {
        let rules = vec![armed(
            1,
            Trigger::Exit {
                ignore: Trigger::usual_exits(),
            },
            |_| {},
        )];
        let mut judge = Judge::new("local");
        assert!(judge.event(&rules, &die("a", "0"), 1).is_empty());
        assert!(judge.event(&rules, &die("a", "143"), 2).is_empty());
        let fired = judge.event(&rules, &die("a", "1"), 3);
        assert_eq!(fired.len(), 1);
        let facts = &fired[0].facts;
        assert_eq!(facts.exit_code, Some(1));
        assert!(
            facts.title.contains("c-a") && facts.title.contains("code 1"),
            "{facts:?}"
        );
        let resolved = judge.event(&rules, &event("a", "start", &[]), 4);
        assert_eq!(resolved[0].facts.state, AlertState::Resolved);
        // Resolved once only.
        assert!(judge.event(&rules, &event("a", "start", &[]), 5).is_empty());
        judge.event(&rules, &event("a", "destroy", &[]), 6);
        assert_eq!(judge.remembered(), 0);
    }

    #[test]
    fn the_cooldown_holds_repeats_back_per_container() {
        let rules = vec![armed(1, Trigger::Exit { ignore: vec![] }, |r| {
            r.cooldown_secs = 60
        })];
        let mut judge = Judge::new("local");
        assert_eq!(judge.event(&rules, &die("a", "1"), 0).len(), 1);
        assert!(judge.event(&rules, &die("a", "1"), 59_999).is_empty());
        assert_eq!(judge.event(&rules, &die("b", "1"), 59_999).len(), 1);
        assert_eq!(judge.event(&rules, &die("a", "1"), 60_000).len(), 1);
    }

    #[test]
    fn an_engines_mute_silences_every_rule_on_it() {
        let rules = vec![armed(1, Trigger::Exit { ignore: vec![] }, |_| {})];
        let mut judge = Judge::new("local");
        let mute = Mute {
            until_ms: Some(1000),
            windows: Vec::new(),
        };
        judge.set_mute(Some(Arc::new(Muted::new(&mute).unwrap())));
        assert!(judge.event(&rules, &die("a", "1"), 999).is_empty());
        assert_eq!(judge.event(&rules, &die("b", "1"), 1000).len(), 1);
        judge.set_mute(None);
        assert_eq!(judge.event(&rules, &die("a", "1"), 1).len(), 1);
    }

    #[test]
    fn muted_rules_say_nothing() {
        let rules = vec![armed(1, Trigger::Exit { ignore: vec![] }, |r| {
            r.mute.until_ms = Some(1000)
        })];
        let mut judge = Judge::new("local");
        assert!(judge.event(&rules, &die("a", "1"), 999).is_empty());
        assert_eq!(judge.event(&rules, &die("a", "1"), 1000).len(), 1);
    }

    #[test]
    fn a_restart_loop_fires_past_its_count_and_calms_down_after_its_window() {
        let rules = vec![armed(
            1,
            Trigger::Restarts {
                count: 2,
                minutes: 1,
            },
            |_| {},
        )];
        let mut judge = Judge::new("local");
        assert!(judge.event(&rules, &die("a", "1"), 0).is_empty());
        assert!(judge.event(&rules, &die("a", "1"), 1000).is_empty());
        let fired = judge.event(&rules, &die("a", "1"), 2000);
        assert_eq!(fired.len(), 1);
        assert!(fired[0].facts.message.contains("3 times"), "{:?}", fired[0]);
        assert_eq!(judge.next_tick(&rules, 2000), Some(62_000));
        assert!(judge.tick(&rules, 61_999).is_empty());
        let calm = judge.tick(&rules, 62_000);
        assert_eq!(calm[0].facts.state, AlertState::Resolved);
        assert_eq!(judge.next_tick(&rules, 62_000), None);
    }

    #[test]
    fn an_outage_fires_after_its_seconds_and_resolves_when_the_engine_answers() {
        let rules = vec![armed(1, Trigger::EngineDown { seconds: 5 }, |_| {})];
        let mut judge = Judge::new("remote");
        assert!(judge.engine(&rules, Some("refused".into()), 0).is_empty());
        assert_eq!(judge.next_tick(&rules, 0), Some(5000));
        assert!(judge.tick(&rules, 4999).is_empty());
        let fired = judge.tick(&rules, 5000);
        assert!(fired[0].facts.message.contains("refused"), "{fired:?}");
        assert!(judge.tick(&rules, 9000).is_empty());
        let back = judge.engine(&rules, None, 10_000);
        assert_eq!(back[0].facts.state, AlertState::Resolved);
        assert!(back[0].facts.title.contains("engine remote answers again"));
    }

    #[test]
    fn an_outage_held_back_by_a_mute_is_told_if_it_outlasts_the_mute_and_never_spins() {
        let rules = vec![armed(1, Trigger::EngineDown { seconds: 5 }, |r| {
            r.mute.until_ms = Some(60_000)
        })];
        let mut judge = Judge::new("remote");
        judge.engine(&rules, Some("refused".into()), 0);
        assert!(judge.tick(&rules, 5000).is_empty());
        assert_eq!(
            judge.next_tick(&rules, 5000),
            Some(65_000),
            "looked at again later, not at once"
        );
        assert!(judge.tick(&rules, 59_999).is_empty());
        let told = judge.tick(&rules, 65_000);
        assert_eq!(told.len(), 1, "still down after the mute");
        assert_eq!(judge.next_tick(&rules, 65_000), None, "decided");
        judge.engine(&rules, None, 66_000);
        judge.engine(&rules, Some("refused".into()), 70_000);
        assert_eq!(
            judge.next_tick(&rules, 70_000),
            Some(75_000),
            "a new outage is timed again"
        );
        assert_eq!(judge.tick(&rules, 75_000).len(), 1);
    }

    #[test]
    fn a_changed_rule_starts_afresh_and_idle_entries_are_forgotten() {
        let rules = vec![armed(1, Trigger::Exit { ignore: vec![] }, |r| {
            r.cooldown_secs = 60
        })];
        let mut judge = Judge::new("local");
        judge.keep_rules(&rules);
        assert_eq!(judge.event(&rules, &die("a", "1"), 0).len(), 1);
        assert!(judge.event(&rules, &die("a", "1"), 1).is_empty());
        let mut changed = armed(1, Trigger::Exit { ignore: vec![] }, |r| {
            r.cooldown_secs = 60
        });
        Arc::get_mut(&mut changed).unwrap().rule.updated_ms = 5;
        let rules = vec![changed];
        judge.keep_rules(&rules);
        assert_eq!(
            judge.event(&rules, &die("a", "1"), 2).len(),
            1,
            "a new rule's cooldown"
        );
        judge.event(&rules, &event("a", "start", &[]), 3);
        judge.forget_idle(&rules, 59_000);
        assert_eq!(judge.remembered(), 1, "within its cooldown");
        judge.forget_idle(&rules, 62_002);
        assert_eq!(judge.remembered(), 0);
    }

    #[test]
    fn log_lines_fire_per_container_within_the_cooldown_and_never_stay_firing() {
        use app::{frames::LogStream, model::LineTest};
        let rules = vec![armed(
            1,
            Trigger::Log {
                line: LineTest::Contains("ERROR".into()),
                stream: None,
            },
            |r| r.cooldown_secs = 60,
        )];
        let mut judge = Judge::new("local");
        let subject = |id: &str| Subject {
            id: id.into(),
            name: format!("c-{id}"),
            ..Default::default()
        };
        let line = |text| Line::new(LogStream::Stdout, text);
        assert!(
            judge
                .line(&rules, &subject("a"), &line("all well"), 0)
                .is_empty()
        );
        let fired = judge.line(&rules, &subject("a"), &line("ERROR boom"), 1);
        assert_eq!(fired[0].facts.line.as_deref(), Some("ERROR boom"));
        assert_eq!(fired[0].facts.event, "log");
        assert!(
            judge
                .line(&rules, &subject("a"), &line("ERROR again"), 2)
                .is_empty()
        );
        assert_eq!(
            judge.line(&rules, &subject("b"), &line("ERROR"), 2).len(),
            1
        );
        // Nothing clears a line: no resolved message, and its entries go after the cooldown.
        assert!(judge.event(&rules, &event("a", "start", &[]), 3).is_empty());
        judge.forget_idle(&rules, 60_003);
        assert_eq!(judge.remembered(), 0);
        let long = "ERROR ".repeat(400);
        let fired = judge.line(&rules, &subject("a"), &line(&long), 60_004);
        let shown = fired[0].facts.line.clone().unwrap();
        assert_eq!(shown.chars().count(), LINE_SHOWN + 1, "cut, with …");
    }

    #[test]
    fn a_metric_fires_once_held_and_clears_when_under_or_gone() {
        use app::frames::ContainerStats;
        let rules = vec![armed(
            1,
            Trigger::Metric {
                metric: Metric::CpuPercent,
                above: 50,
                window_secs: 2,
                for_secs: 1,
            },
            |r| r.select.expression = Some("state == 'running'".into()),
        )];
        let sample = |id: &str, cpu: f64| ContainerSample {
            id: id.into(),
            name: format!("c-{id}"),
            image: "busybox".into(),
            labels: Default::default(),
            state: "running".into(),
            health: String::new(),
            stats: Some(ContainerStats {
                read: String::new(),
                cpu_percent: cpu,
                online_cpus: 2,
                memory_used: 0,
                memory_limit: 0,
                net_rx: 0,
                net_tx: 0,
                block_read: 0,
                block_write: 0,
                pids: 1,
            }),
            cpu_known: true,
        };
        let round = |at_ms, containers| Samples { at_ms, containers };
        let mut judge = Judge::new("local");
        assert!(
            judge
                .samples(&rules, &round(0, vec![sample("a", 90.0)]))
                .is_empty()
        );
        let fired = judge.samples(&rules, &round(1000, vec![sample("a", 90.0)]));
        assert_eq!(fired.len(), 1, "held for 1 s");
        assert!(
            judge
                .samples(&rules, &round(2000, vec![sample("a", 90.0)]))
                .is_empty(),
            "once"
        );
        // The mean over 2 s: (90 + 20) / 2 is still over 50; (20 + 20) / 2 is not.
        assert!(
            judge
                .samples(&rules, &round(3000, vec![sample("a", 20.0)]))
                .is_empty()
        );
        let calm = judge.samples(&rules, &round(4000, vec![sample("a", 20.0)]));
        assert_eq!(calm[0].facts.state, AlertState::Resolved);
        // Firing again, then gone from the rounds without a `die`: resolved and forgotten.
        judge.samples(&rules, &round(5000, vec![sample("b", 99.0)]));
        assert_eq!(
            judge
                .samples(&rules, &round(6000, vec![sample("b", 99.0)]))
                .len(),
            1
        );
        let gone = judge.samples(&rules, &round(7000, vec![]));
        assert_eq!(gone[0].facts.state, AlertState::Resolved);
        assert!(gone[0].facts.title.contains("stopped running"), "{gone:?}");
        // A `die` the selector does not match (state exited) still frees what was measured.
        judge.samples(&rules, &round(8000, vec![sample("c", 99.0)]));
        judge.event(&rules, &die("c", "0"), 8500);
        judge.forget_idle(&rules, 9000);
        assert_eq!(judge.remembered(), 0);
    }

    #[test]
    fn oom_and_health_follow_their_events_for_selected_containers_only() {
        let rules = vec![
            armed(1, Trigger::Oom {}, |r| r.select.names = vec!["c-a".into()]),
            armed(2, Trigger::Unhealthy {}, |_| {}),
        ];
        let mut judge = Judge::new("local");
        assert!(judge.event(&rules, &event("b", "oom", &[]), 0).is_empty());
        assert_eq!(judge.event(&rules, &event("a", "oom", &[]), 0).len(), 1);
        let sick = judge.event(&rules, &event("b", "health_status: unhealthy", &[]), 1);
        assert_eq!(sick[0].rule_id, 2);
        let well = judge.event(&rules, &event("b", "health_status: healthy", &[]), 2);
        assert_eq!(well[0].facts.state, AlertState::Resolved);
        judge.keep_rules(&[]);
        judge.event(&rules, &event("b", "destroy", &[]), 3);
        assert_eq!(judge.remembered(), 0);
    }
}
