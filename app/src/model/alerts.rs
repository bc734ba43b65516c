//! Alerts: rules that watch containers and engines, the channels that carry what they find
//! (webhooks, e-mail), and the history of every alert with its deliveries. Operators write
//! rules; admins write channels, whose secrets (a webhook's URL holds its token; a mail
//! password) never come back.

use super::EngineContainer;
use crate::frames::LogStream;
use serde::{Deserialize, Serialize};

/// A webhook's body as a known service reads it; `Generic` is Berth's own JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    #[default]
    Generic,
    Slack,
    Discord,
    Ntfy,
    Gotify,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::Generic,
        Preset::Slack,
        Preset::Discord,
        Preset::Ntfy,
        Preset::Gotify,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Preset::Generic => "generic JSON",
            Preset::Slack => "Slack",
            Preset::Discord => "Discord",
            Preset::Ntfy => "ntfy",
            Preset::Gotify => "Gotify",
        }
    }
}

/// How an e-mail channel talks to its server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailSecurity {
    /// Plain SMTP upgraded with STARTTLS (required), port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS), port 465 by default.
    Tls,
    /// No TLS, port 25 by default: only to a server on loopback.
    None,
}

impl MailSecurity {
    pub const ALL: [MailSecurity; 3] = [
        MailSecurity::Starttls,
        MailSecurity::Tls,
        MailSecurity::None,
    ];

    pub fn default_port(self) -> u16 {
        match self {
            MailSecurity::Starttls => 587,
            MailSecurity::Tls => 465,
            MailSecurity::None => 25,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MailSecurity::Starttls => "STARTTLS",
            MailSecurity::Tls => "TLS",
            MailSecurity::None => "none (loopback only)",
        }
    }
}

/// How a channel delivers, as it is written (with its secrets).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelConfig {
    /// An HTTP POST to `url` (http or https; it is kept sealed, since services put their
    /// token in it), its body from `template` (minijinja; the preset's when `None`).
    Webhook {
        url: String,
        #[serde(default)]
        preset: Preset,
        #[serde(default)]
        template: Option<String>,
    },
    /// A mail over SMTP from `from` to each of `to`, signed in with `username` and
    /// `password` when given (the password is kept sealed; left out of a change, the one
    /// kept stays).
    Email {
        host: String,
        #[serde(default)]
        port: Option<u16>,
        #[serde(default)]
        security: MailSecurity,
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        from: String,
        to: Vec<String>,
    },
}

/// `POST /api/alerts/channels`, `PUT …/{id}`: a channel as an admin writes it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewChannel {
    pub name: String,
    #[serde(flatten)]
    pub config: ChannelConfig,
}

impl std::fmt::Debug for NewChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a token: never in a log line.
        f.debug_struct("NewChannel")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A channel as the API shows it: where it goes without the secret part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: i64,
    pub name: String,
    /// `webhook` or `email`.
    pub kind: String,
    pub preset: Preset,
    /// The body template, when not the preset's (shown to admins only: a body may hold a
    /// service's key).
    pub template: Option<String>,
    /// Where it goes, without secrets: a webhook's scheme and host
    /// (`https://hooks.slack.com/…`), a mail server and its recipients.
    pub target: String,
    /// Berth's key opens its secrets (false: sealed with another key; it cannot send).
    pub readable: bool,
    /// Messages waiting to be delivered.
    pub pending: u64,
    /// Messages dropped at the per-channel cap since it was made.
    pub dropped: u64,
    pub updated_ms: i64,
}

/// Which containers a rule watches: every list that is not empty must match (any of its
/// entries), and the expression too when there is one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Selector {
    /// Engine names.
    pub engines: Vec<String>,
    /// Container names; `*` matches any run of characters (`web-*`).
    pub names: Vec<String>,
    /// Image references as the container names them; `*` as in names.
    pub images: Vec<String>,
    /// Compose project names.
    pub projects: Vec<String>,
    /// `key` (the label is set) or `key=value`.
    pub labels: Vec<String>,
    /// A CEL expression over `name`, `image`, `labels`, `project`, `engine`, `state`
    /// and `health`, true for the containers to watch.
    pub expression: Option<String>,
}

/// When a rule fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case")]
pub enum Trigger {
    /// A container died with an exit code not in `ignore`.
    Exit {
        #[serde(default = "Trigger::usual_exits")]
        ignore: Vec<i64>,
    },
    /// The kernel killed a process of the container for lack of memory.
    Oom {},
    /// The container's health check says `unhealthy`.
    Unhealthy {},
    /// The container died more than `count` times within `minutes` (a restart loop).
    Restarts { count: u32, minutes: u32 },
    /// The engine did not answer for `seconds`.
    EngineDown { seconds: u32 },
    /// A running container's `metric`, averaged over the last `window_secs`, stays above
    /// `above` for at least `for_secs` (read by the engine's sampler, every
    /// `--sample-secs`).
    Metric {
        metric: Metric,
        above: u64,
        #[serde(default = "Trigger::default_window")]
        window_secs: u32,
        #[serde(default)]
        for_secs: u32,
    },
    /// A running container writes a line that passes `line`, on `stream` when given.
    Log {
        line: LineTest,
        #[serde(default)]
        stream: Option<LogStream>,
    },
}

/// A figure of a container's resource use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// CPU as `docker stats` shows it: 100 is one core busy.
    #[default]
    CpuPercent,
    /// Memory used (without the page cache) as a share of its limit (the host's memory
    /// when it has none).
    MemoryPercent,
    /// Memory used, in bytes.
    MemoryBytes,
}

impl Metric {
    pub const ALL: [Metric; 3] = [
        Metric::CpuPercent,
        Metric::MemoryPercent,
        Metric::MemoryBytes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::CpuPercent => "cpu_percent",
            Metric::MemoryPercent => "memory_percent",
            Metric::MemoryBytes => "memory_bytes",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Metric::CpuPercent => "CPU %",
            Metric::MemoryPercent => "memory % of its limit",
            Metric::MemoryBytes => "memory (bytes)",
        }
    }
}

/// What a log line must hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineTest {
    /// The text, as written (case matters).
    Contains(String),
    /// A regular expression (Rust's `regex` syntax: linear time, no look-around or
    /// back-references).
    Regex(String),
    /// A JSON line whose field at `path` (keys and array indexes joined by dots:
    /// `http.status`, `errors.0.code`) compares to `value` (a number, text, true, false or
    /// null; `>`, `<` compare numbers with numbers and text with text).
    Json {
        path: String,
        op: Compare,
        value: serde_json::Value,
    },
}

/// How a JSON field compares to a rule's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compare {
    #[default]
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Compare {
    pub const ALL: [Compare; 6] = [
        Compare::Eq,
        Compare::Ne,
        Compare::Gt,
        Compare::Ge,
        Compare::Lt,
        Compare::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Compare::Eq => "==",
            Compare::Ne => "!=",
            Compare::Gt => ">",
            Compare::Ge => ">=",
            Compare::Lt => "<",
            Compare::Le => "<=",
        }
    }

    /// Whether `ordering` (the field's against the value's) passes.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Compare::Eq => ordering == Equal,
            Compare::Ne => ordering != Equal,
            Compare::Gt => ordering == Greater,
            Compare::Ge => ordering != Less,
            Compare::Lt => ordering == Less,
            Compare::Le => ordering != Greater,
        }
    }
}

impl Trigger {
    /// Exits that are not failures: success, Ctrl-C, `docker stop`'s SIGTERM.
    pub fn usual_exits() -> Vec<i64> {
        vec![0, 130, 143]
    }

    /// A metric's average, over a minute by default.
    pub fn default_window() -> u32 {
        60
    }

    pub fn label(&self) -> String {
        match self {
            Trigger::Exit { ignore } => {
                let codes: Vec<String> = ignore.iter().map(i64::to_string).collect();
                format!("exits with a code not in {}", codes.join(", "))
            }
            Trigger::Oom {} => "killed for lack of memory".into(),
            Trigger::Unhealthy {} => "becomes unhealthy".into(),
            Trigger::Restarts { count, minutes } => {
                format!("dies more than {count} times in {minutes} min")
            }
            Trigger::EngineDown { seconds } => format!("engine unreachable for {seconds} s"),
            Trigger::Metric {
                metric,
                above,
                window_secs,
                for_secs,
            } => {
                let held = match for_secs {
                    0 => String::new(),
                    s => format!(" for {s} s"),
                };
                format!(
                    "{} above {above} (mean over {window_secs} s){held}",
                    metric.label()
                )
            }
            Trigger::Log { line, stream } => {
                let what = match line {
                    LineTest::Contains(text) => format!("logs a line containing {text:?}"),
                    LineTest::Regex(regex) => format!("logs a line matching /{regex}/"),
                    LineTest::Json { path, op, value } => {
                        format!("logs JSON with {path} {} {value}", op.as_str())
                    }
                };
                match stream {
                    Some(LogStream::Stdout) => format!("{what} on stdout"),
                    Some(LogStream::Stderr) => format!("{what} on stderr"),
                    None => what,
                }
            }
        }
    }
}

/// When a rule stays silent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mute {
    /// Until then (unix ms): "for the next N minutes".
    pub until_ms: Option<i64>,
    /// Maintenance windows, as `--update-window` writes them (`sun 02:00-04:00`), in the
    /// server's time zone.
    pub windows: Vec<String>,
}

/// An engine's mute: no alert about it or its containers while it holds, whatever the
/// rule (a maintenance of the whole host).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineMute {
    pub engine: String,
    #[serde(flatten)]
    pub mute: Mute,
    /// Who set it last.
    pub author: String,
    pub updated_ms: i64,
}

/// `POST /api/alerts/rules`, `PUT …/{id}`: a rule as it is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRule {
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub select: Selector,
    pub when: Trigger,
    /// The channels it sends to, by id.
    #[serde(default)]
    pub channels: Vec<i64>,
    /// No second alert for the same container within this many seconds.
    #[serde(default = "NewRule::default_cooldown")]
    pub cooldown_secs: u64,
    /// Also send a message when the condition clears.
    #[serde(default)]
    pub resolved: bool,
    #[serde(default)]
    pub mute: Mute,
}

fn yes() -> bool {
    true
}

impl NewRule {
    pub fn default_cooldown() -> u64 {
        300
    }
}

/// A rule as it is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    #[serde(flatten)]
    pub rule: NewRule,
    /// Who wrote it last.
    pub author: String,
    pub updated_ms: i64,
}

/// What an alert says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds.
    #[default]
    Firing,
    /// It cleared.
    Resolved,
}

/// Where one alert's message to one channel is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not tried yet.
    #[default]
    Pending,
    Delivered,
    /// Tried and failed; tried again at `next_try_ms`.
    Failing,
    /// Given up: the channel's cap was reached while it was down, or the channel was
    /// removed.
    Dropped,
}

/// One alert's message to one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel_id: i64,
    pub channel: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_try_ms: Option<i64>,
    pub delivered_ms: Option<i64>,
}

/// An alert Berth fired, with where it went.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: i64,
    /// `None` once the rule is removed.
    pub rule_id: Option<i64>,
    pub rule: String,
    pub engine: String,
    /// The container's name (the engine's, for an engine rule).
    pub subject: String,
    pub state: AlertState,
    pub title: String,
    pub message: String,
    pub at_ms: i64,
    pub deliveries: Vec<Delivery>,
}

/// `GET /api/alerts/history`'s query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryQuery {
    /// Words every listed alert holds (in its rule, container, engine, title or message).
    pub q: Option<String>,
    /// Alerts before this one (by id): the next page.
    pub before: Option<i64>,
    /// At most this many (100 by default, 500 at most).
    pub limit: Option<u32>,
}

/// `GET /api/alerts/preview`'s query: `select`, a [`Selector`] as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewQuery {
    pub select: String,
}

impl PreviewQuery {
    pub fn of(selector: &Selector) -> Self {
        Self {
            select: serde_json::to_string(selector).unwrap_or_default(),
        }
    }
}

/// What a channel's test message met.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub delivered: bool,
    /// The receiver's status when it answered: HTTP's, or the SMTP server's reply code.
    pub status: Option<u16>,
    /// Its answer's first KiB, or why nothing was delivered.
    pub answer: String,
}

crate::endpoints! {
    ALERT_ROUTES;
    /// The channels, without their secrets.
    GET "/api/alerts/channels" VIEWER => ListChannels {} -> Vec<Channel>;
    /// Adds a channel; 400 for a URL that is not http(s), 422 for a template that does
    /// not compile or names a variable Berth does not give.
    POST "/api/alerts/channels" ADMIN => CreateChannel {} body(NewChannel) -> Channel = 201;
    /// Replaces a channel's settings (its queued messages stay queued).
    PUT "/api/alerts/channels/{id}" ADMIN => UpdateChannel { id: i64 } body(NewChannel)
        -> Channel;
    /// Removes a channel; its undelivered messages are dropped (said in the history).
    DELETE "/api/alerts/channels/{id}" ADMIN => RemoveChannel { id: i64 } -> () = 204;
    /// Sends a test message now (not through the queue) and says what the receiver answered.
    POST "/api/alerts/channels/{id}/test" ADMIN => TestChannel { id: i64 } -> TestResult;
    /// The rules.
    GET "/api/alerts/rules" VIEWER => ListRules {} -> Vec<Rule>;
    /// Adds a rule; 422 for an expression or a window that does not parse, 400 for a
    /// channel that does not exist.
    POST "/api/alerts/rules" OPERATOR => CreateRule {} body(NewRule) -> Rule = 201;
    PUT "/api/alerts/rules/{id}" OPERATOR => UpdateRule { id: i64 } body(NewRule) -> Rule;
    /// Removes a rule: what it watched is freed; its alerts stay in the history.
    DELETE "/api/alerts/rules/{id}" OPERATOR => RemoveRule { id: i64 } -> () = 204;
    /// The containers a selector matches now, on every engine that answers (for whoever
    /// writes rules). A GET, so a page's preview is aborted when a newer one replaces it.
    GET "/api/alerts/preview" OPERATOR => PreviewSelector {} query(PreviewQuery)
        -> Vec<EngineContainer>;
    /// The engines' mutes.
    GET "/api/alerts/mutes" VIEWER => ListMutes {} -> Vec<EngineMute>;
    /// Mutes an engine (replacing its mute): `until_ms` and or `windows`; 404 for an engine
    /// Berth does not have, 422 for a window that does not parse.
    PUT "/api/alerts/mutes/{engine}" OPERATOR => SetMute { engine: String } body(Mute)
        -> EngineMute;
    /// Lifts an engine's mute.
    DELETE "/api/alerts/mutes/{engine}" OPERATOR => RemoveMute { engine: String } -> () = 204;
    /// Alerts fired, newest first, with their deliveries.
    GET "/api/alerts/history" VIEWER => ListAlerts {} query(HistoryQuery) -> Vec<AlertRecord>;
}
