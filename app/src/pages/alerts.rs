//! `/alerts`: the alert rules (operators write them, with a live preview of the containers
//! a selection matches now), the channels they send to (admins write them and press Test,
//! which sends a real message and shows the answer), and the history of alerts fired with
//! each delivery's state, searchable and refreshed every few seconds. Read and changed from
//! the browser only: drawn once the Wasm runs, as the admin pages are.

use crate::controls::{AskFirst, Feedback, Reload};
use crate::frames::LogStream;
use crate::layout::{CurrentUser, poll};
use crate::model::{
    AlertRecord, Channel, ChannelConfig, Compare, CreateChannel, CreateRule, DeliveryState,
    EngineMute, HistoryQuery, LineTest, ListAlerts, ListChannels, ListEngines, ListMutes,
    ListRules, MailSecurity, Metric, Mute, NewChannel, NewRule, Preset, PreviewQuery,
    PreviewSelector, RemoveChannel, RemoveMute, RemoveRule, Rule, Selector, SetMute, TestChannel,
    TestResult, Trigger, UpdateRule,
};
use crate::{api, format, status::ErrorPanel, urls::On};
use leptos::prelude::*;
use leptos_meta::Title;

/// How often the history is read again while the page is open.
const HISTORY_EVERY_MS: u64 = 3000;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let hydrated = expect_context::<crate::Hydrated>().0;
    view! {
        <Title text="Alerts" />
        <h1>"Alerts"</h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let me = me.await.ok();
                let operate = me.as_ref().is_some_and(|m| m.may_operate() || !m.accounts);
                let administer = me.as_ref().is_some_and(|m| m.may_administer() || !m.accounts);
                move || hydrated.get().then(|| view! { <Alerts operate administer /> })
            })}
        </Transition>
    }
}

#[component]
fn Alerts(operate: bool, administer: bool) -> impl IntoView {
    let reload = Reload::new();
    let feedback = Feedback::new();
    let channels = LocalResource::new(move || {
        reload.track();
        api::call(On::default_engine(), ListChannels {}, (), ())
    });
    let rules = LocalResource::new(move || {
        reload.track();
        api::call(On::default_engine(), ListRules {}, (), ())
    });
    view! {
        <h2>"Rules"</h2>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let known = channels.await.unwrap_or_default();
                match rules.await {
                    Ok(list) => rules_table(list, known, operate, feedback, reload).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
        // Outside the channels' Transition: a reload (a Test, a channel added) keeps what is
        // typed in the form.
        {operate.then(|| view! { <NewRuleForm channels feedback reload /> })}
        <h2>"Channels"</h2>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match channels.await {
                    Ok(list) => channels_table(list, administer, feedback, reload).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
        {administer.then(|| view! { <NewChannelForm feedback reload /> })}
        <h2>"Engines"</h2>
        <EngineMutes operate feedback reload />
        {feedback.view()}
        <h2>"History"</h2>
        <History />
    }
}

fn rules_table(
    list: Vec<Rule>,
    channels: Vec<Channel>,
    operate: bool,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-alert-rules">"No rules yet."</p> }
            .into_any();
    }
    let rows = list
        .into_iter()
        .map(|rule| {
            let id = rule.id;
            let now = crate::chart::now_ms() as i64;
            let until = rule.rule.mute.until_ms.filter(|until| *until > now);
            let (kept_enabled, muted_now) = (rule.rule.enabled, until.is_some());
            let mut state = match (rule.rule.enabled, until) {
                (false, _) => "off".to_string(),
                (true, Some(until)) => format!("muted until {}", format::unix_millis(until)),
                (true, None) => "on".to_string(),
            };
            if !rule.rule.mute.windows.is_empty() {
                state.push_str(&format!("; quiet {}", rule.rule.mute.windows.join("; ")));
            }
            let remove = Callback::new(move |()| {
                let work = api::call(On::default_engine(), RemoveRule { id }, (), ());
                feedback.run(work, |()| "rule removed".into(), move || reload.now());
            });
            // A change of one setting writes the rule back whole, as it was read.
            let kept = rule.rule.clone();
            let change = move |what: &'static str, edit: fn(&mut NewRule)| {
                let mut changed = kept.clone();
                edit(&mut changed);
                let work = api::call(On::default_engine(), UpdateRule { id }, (), changed);
                feedback.run(work, move |r| format!("rule {:?} {what}", r.rule.name), move || {
                    reload.now()
                });
            };
            let switch = {
                let change = change.clone();
                move |_| match kept_enabled {
                    true => change("turned off", |r| r.enabled = false),
                    false => change("turned on", |r| r.enabled = true),
                }
            };
            // Every setting, as the API takes it: edited as JSON, checked by the server
            // (422 with why for an expression or a regex that does not compile).
            let editing = RwSignal::new(false);
            let written = RwSignal::new(serde_json::to_string_pretty(&rule.rule).unwrap_or_default());
            let save = move |_| match edited(&written.get_untracked()) {
                // Reloaded only once saved: a refusal leaves the editor open with the text.
                Ok(changed) => leptos::task::spawn_local(async move {
                    match api::call(On::default_engine(), UpdateRule { id }, (), changed).await {
                        Ok(r) => {
                            feedback.say(Ok(format!("rule {:?} saved", r.rule.name)));
                            reload.now();
                        }
                        Err(e) => feedback.say(Err(e.error)),
                    }
                }),
                Err(why) => feedback.say(Err(why)),
            };
            let hush = move |_| match muted_now {
                true => change("unmuted", |r| r.mute.until_ms = None),
                false => change("muted for an hour", |r| {
                    r.mute.until_ms = Some(crate::chart::now_ms() as i64 + 3_600_000)
                }),
            };
            let to: Vec<String> = rule
                .rule
                .channels
                .iter()
                .map(|id| {
                    channels
                        .iter()
                        .find(|c| c.id == *id)
                        .map_or(format!("{id} (removed)"), |c| c.name.clone())
                })
                .collect();
            view! {
                <tr data-testid="alert-rule-row">
                    <td>{rule.rule.name.clone()}</td>
                    <td>{rule.rule.when.label()}</td>
                    <td>{selection(&rule.rule.select)}</td>
                    <td>{to.join(", ")}</td>
                    <td>{format!("{} s", rule.rule.cooldown_secs)}</td>
                    <td data-testid="alert-rule-state">{state}</td>
                    <td>
                        {operate
                            .then(|| {
                                view! {
                                    <button type="button" data-testid="switch-alert-rule" on:click=switch>
                                        {if kept_enabled { "Turn off" } else { "Turn on" }}
                                    </button>
                                    <button type="button" data-testid="mute-alert-rule" on:click=hush>
                                        {if muted_now { "Unmute" } else { "Mute 1 h" }}
                                    </button>
                                    <button
                                        type="button"
                                        data-testid="edit-alert-rule"
                                        on:click=move |_| editing.update(|e| *e = !*e)
                                    >
                                        "Edit"
                                    </button>
                                    <AskFirst
                                        label="Remove…"
                                        question=format!("Remove the rule {:?}?", rule.rule.name)
                                        yes="Remove"
                                        on_yes=remove
                                        testid="remove-alert-rule"
                                    />
                                }
                            })}
                    </td>
                </tr>
                <Show when=move || editing.get()>
                    <tr data-testid="alert-rule-editor">
                        <td colspan="7">
                            <textarea
                                class="rule-json"
                                data-testid="alert-rule-json"
                                rows="14"
                                aria-label="The rule as JSON"
                                bind:value=written
                            ></textarea>
                            <button type="button" data-testid="save-alert-rule" on:click=save>
                                "Save"
                            </button>
                        </td>
                    </tr>
                </Show>
            }
        })
        .collect_view();
    view! {
        <table class="containers" data-testid="alert-rules">
            <thead>
                <tr>
                    <th>"Rule"</th>
                    <th>"When a container…"</th>
                    <th>"Which"</th>
                    <th>"Sends to"</th>
                    <th>"Cooldown"</th>
                    <th>"State"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A rule as edited in JSON: a key a rule does not have (a misspelling) is refused rather
/// than dropped.
fn edited(text: &str) -> Result<NewRule, String> {
    const KEYS: [&str; 8] = [
        "name",
        "enabled",
        "select",
        "when",
        "channels",
        "cooldown_secs",
        "resolved",
        "mute",
    ];
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the rule is not JSON: {e}"))?;
    if let Some(unknown) = value
        .as_object()
        .and_then(|o| o.keys().find(|k| !KEYS.contains(&k.as_str())))
    {
        return Err(format!(
            "a rule has no {unknown:?}: its keys are {}",
            KEYS.join(", ")
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("not a rule: {e}"))
}

/// A selector in words.
fn selection(s: &Selector) -> String {
    let mut parts = Vec::new();
    let lists = [
        ("engine", &s.engines),
        ("name", &s.names),
        ("image", &s.images),
        ("project", &s.projects),
        ("label", &s.labels),
    ];
    for (what, list) in lists {
        if !list.is_empty() {
            parts.push(format!("{what} {}", list.join(" or ")));
        }
    }
    if let Some(e) = s.expression.as_deref().filter(|e| !e.is_empty()) {
        parts.push(e.to_string());
    }
    match parts.is_empty() {
        true => "every container".into(),
        false => parts.join("; "),
    }
}

/// Quiet windows as typed, separated by `;` (a window holds commas and spaces:
/// `sat,sun 00:00-06:00`).
fn windows(text: &str) -> Vec<String> {
    text.split(';')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A comma- or space-separated list as entries.
fn entries(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// A log rule's line test as the form writes it: a JSON value as typed (a bare word that
/// is not JSON is taken as text, so `error` need not be quoted).
fn line_test(kind: &str, pattern: String, op: &str, value: &str) -> LineTest {
    match kind {
        "contains" => LineTest::Contains(pattern),
        "json" => LineTest::Json {
            path: pattern,
            op: Compare::ALL
                .into_iter()
                .find(|c| c.as_str() == op)
                .unwrap_or_default(),
            value: serde_json::from_str(value.trim())
                .unwrap_or_else(|_| serde_json::Value::String(value.trim().to_string())),
        },
        _ => LineTest::Regex(pattern),
    }
}

type Channels = LocalResource<Result<Vec<Channel>, crate::model::ApiError>>;

#[component]
fn NewRuleForm(channels: Channels, feedback: Feedback, reload: Reload) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let on = RwSignal::new("exit".to_string());
    let ignore = RwSignal::new("0, 130, 143".to_string());
    let count = RwSignal::new("3".to_string());
    let minutes = RwSignal::new("5".to_string());
    let seconds = RwSignal::new("60".to_string());
    // A log rule: how a line is tested, with what, and on which stream.
    let line_kind = RwSignal::new("regex".to_string());
    let pattern = RwSignal::new(String::new());
    let json_op = RwSignal::new(">=".to_string());
    let json_value = RwSignal::new(String::new());
    let stream = RwSignal::new(String::new());
    // A metric rule: which figure, its threshold, the mean's window and how long it holds.
    let metric = RwSignal::new(Metric::CpuPercent.as_str().to_string());
    let above = RwSignal::new("80".to_string());
    let window = RwSignal::new(Trigger::default_window().to_string());
    let held = RwSignal::new("0".to_string());
    let names = RwSignal::new(String::new());
    let projects = RwSignal::new(String::new());
    let labels = RwSignal::new(String::new());
    let expression = RwSignal::new(String::new());
    let cooldown = RwSignal::new("300".to_string());
    let resolved = RwSignal::new(false);
    let mute_minutes = RwSignal::new(String::new());
    let quiet = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<i64>::new());
    let selector = Memo::new(move |_| Selector {
        names: entries(&names.get()),
        projects: entries(&projects.get()),
        labels: entries(&labels.get()),
        expression: Some(expression.get()).filter(|e| !e.trim().is_empty()),
        ..Default::default()
    });
    // The preview follows the selection as it is typed; a newer one replaces the older.
    let preview = LocalResource::new(move || {
        let selector = selector.get();
        api::call(
            On::default_engine(),
            PreviewSelector {},
            PreviewQuery::of(&selector),
            (),
        )
    });
    let number = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().unwrap_or(0);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let when = match on.get_untracked().as_str() {
            "oom" => Trigger::Oom {},
            "unhealthy" => Trigger::Unhealthy {},
            "restarts" => Trigger::Restarts {
                count: number(count),
                minutes: number(minutes),
            },
            "engine_down" => Trigger::EngineDown {
                seconds: number(seconds),
            },
            "metric" => Trigger::Metric {
                metric: Metric::ALL
                    .into_iter()
                    .find(|m| m.as_str() == metric.get_untracked())
                    .unwrap_or_default(),
                above: above.get_untracked().trim().parse().unwrap_or(0),
                window_secs: number(window),
                for_secs: number(held),
            },
            "log" => Trigger::Log {
                line: line_test(
                    &line_kind.get_untracked(),
                    pattern.get_untracked(),
                    &json_op.get_untracked(),
                    &json_value.get_untracked(),
                ),
                stream: match stream.get_untracked().as_str() {
                    "stdout" => Some(LogStream::Stdout),
                    "stderr" => Some(LogStream::Stderr),
                    _ => None,
                },
            },
            _ => Trigger::Exit {
                ignore: entries(&ignore.get_untracked())
                    .iter()
                    .filter_map(|c| c.parse().ok())
                    .collect(),
            },
        };
        let mute_for = number(mute_minutes);
        let rule = NewRule {
            name: name.get_untracked().trim().to_string(),
            enabled: true,
            select: selector.get_untracked(),
            when,
            channels: chosen.get_untracked(),
            cooldown_secs: u64::from(number(cooldown)),
            resolved: resolved.get_untracked(),
            mute: Mute {
                until_ms: (mute_for > 0)
                    .then(|| crate::chart::now_ms() as i64 + i64::from(mute_for) * 60_000),
                windows: windows(&quiet.get_untracked()),
            },
        };
        let work = api::call(On::default_engine(), CreateRule {}, (), rule);
        feedback.run(
            work,
            |r| format!("rule {:?} added", r.rule.name),
            move || reload.now(),
        );
    };
    let boxes = move |list: Vec<Channel>| {
        list.into_iter()
            .map(|channel| {
                let id = channel.id;
                let toggle = move |ev: leptos::ev::Event| {
                    let on = event_target_checked(&ev);
                    chosen.update(|c| {
                        c.retain(|x| *x != id);
                        if on {
                            c.push(id);
                        }
                    });
                };
                view! {
                    <label class="inline">
                        <input
                            type="checkbox"
                            data-testid="rule-channel"
                            prop:checked=move || chosen.with(|c| c.contains(&id))
                            on:change=toggle
                        />
                        {channel.name}
                    </label>
                }
            })
            .collect_view()
    };
    view! {
        <form
            class="admin-form"
            on:submit=submit
            aria-label="New alert rule"
            data-testid="alert-rule-form"
        >
            <label>
                "Name" <input name="name" autocomplete="off" required bind:value=name />
            </label>
            <label>
                "When a container"
                <select
                    data-testid="rule-trigger"
                    prop:value=move || on.get()
                    on:change=move |ev| on.set(event_target_value(&ev))
                >
                    <option value="exit">"exits with a code not in the list"</option>
                    <option value="oom">"is killed for lack of memory"</option>
                    <option value="unhealthy">"becomes unhealthy"</option>
                    <option value="restarts">"dies more than N times in M minutes"</option>
                    <option value="engine_down">"(its engine) is unreachable for N seconds"</option>
                    <option value="metric">"uses CPU or memory above a threshold"</option>
                    <option value="log">"writes a log line"</option>
                </select>
            </label>
            <Show when=move || on.get() == "metric">
                <label>
                    "Its"
                    <select
                        data-testid="rule-metric"
                        prop:value=move || metric.get()
                        on:change=move |ev| metric.set(event_target_value(&ev))
                    >
                        {Metric::ALL
                            .iter()
                            .map(|m| view! { <option value=m.as_str()>{m.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    {move || match metric.get().as_str() {
                        "memory_bytes" => "Above (bytes)",
                        _ => "Above (%)",
                    }}
                    <input type="number" min="0" step="1" required bind:value=above />
                </label>
                <label>
                    "Mean over (seconds)" <input type="number" min="1" bind:value=window />
                </label>
                <label>"For at least (seconds)" <input type="number" min="0" bind:value=held /></label>
            </Show>
            <Show when=move || on.get() == "log">
                <label>
                    "A line"
                    <select
                        data-testid="rule-line-kind"
                        prop:value=move || line_kind.get()
                        on:change=move |ev| line_kind.set(event_target_value(&ev))
                    >
                        <option value="regex">"matching the regex"</option>
                        <option value="contains">"containing the text"</option>
                        <option value="json">"of JSON whose field (a.b.0)"</option>
                    </select>
                </label>
                <label>
                    {move || match line_kind.get().as_str() {
                        "json" => "Field path",
                        "contains" => "Text",
                        _ => "Regex",
                    }}
                    <input data-testid="rule-line-pattern" required bind:value=pattern />
                </label>
                <Show when=move || line_kind.get() == "json">
                    <label>
                        "Compares"
                        <select
                            prop:value=move || json_op.get()
                            on:change=move |ev| json_op.set(event_target_value(&ev))
                        >
                            {Compare::ALL
                                .iter()
                                .map(|op| view! { <option value=op.as_str()>{op.as_str()}</option> })
                                .collect_view()}
                        </select>
                    </label>
                    <label>
                        "To (a number, \"text\", true, false or null)"
                        <input data-testid="rule-line-value" bind:value=json_value />
                    </label>
                </Show>
                <label>
                    "On"
                    <select
                        prop:value=move || stream.get()
                        on:change=move |ev| stream.set(event_target_value(&ev))
                    >
                        <option value="">"stdout and stderr"</option>
                        <option value="stdout">"stdout"</option>
                        <option value="stderr">"stderr"</option>
                    </select>
                </label>
            </Show>
            <Show when=move || on.get() == "exit">
                <label>"Exit codes that are fine" <input bind:value=ignore /></label>
            </Show>
            <Show when=move || on.get() == "restarts">
                <label>"More than (deaths)" <input type="number" min="1" bind:value=count /></label>
                <label>"Within (minutes)" <input type="number" min="1" bind:value=minutes /></label>
            </Show>
            <Show when=move || on.get() == "engine_down">
                <label>"For (seconds)" <input type="number" min="1" bind:value=seconds /></label>
            </Show>
            <label>
                "Names (* for any characters)"
                <input name="names" data-testid="rule-names" placeholder="web-*" bind:value=names />
            </label>
            <label>"Compose projects" <input name="projects" bind:value=projects /></label>
            <label>"Labels (key or key=value)" <input name="labels" bind:value=labels /></label>
            <label>
                "Expression (CEL)"
                <input
                    name="expression"
                    data-testid="rule-expression"
                    placeholder="labels.tier == 'front' && state == 'running'"
                    bind:value=expression
                />
            </label>
            <div class="preview" data-testid="rule-preview">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Ok(matched) => {
                                let names: Vec<String> = matched
                                    .iter()
                                    .take(20)
                                    .map(|c| format!("{}/{}", c.engine, c.container.name))
                                    .collect();
                                view! {
                                    <span>
                                        {format!("Matches {} now", matched.len())}
                                        {(!names.is_empty()).then(|| format!(": {}", names.join(", ")))}
                                    </span>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <span class="error">{error.error}</span> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
            <fieldset>
                <legend>"Send to"</legend>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move { boxes(channels.await.unwrap_or_default()) })}
                </Transition>
            </fieldset>
            <label>"Cooldown (seconds)" <input type="number" min="0" bind:value=cooldown /></label>
            <label class="inline">
                <input type="checkbox" bind:checked=resolved />
                "Also say when it clears"
            </label>
            <label>
                "Mute for the next (minutes)"
                <input type="number" min="0" bind:value=mute_minutes />
            </label>
            <label>
                "Quiet windows (server time; separate with ;)"
                <input
                    data-testid="rule-windows"
                    placeholder="sat,sun 00:00-06:00; mon-fri 02:00-03:00"
                    bind:value=quiet
                />
            </label>
            <button type="submit">"Add rule"</button>
        </form>
    }
}

/// Each engine's mute: while it holds, no rule says anything about the engine or its
/// containers (a host's maintenance). Operators mute for a while or lift it.
#[component]
fn EngineMutes(operate: bool, feedback: Feedback, reload: Reload) -> impl IntoView {
    let engines = LocalResource::new(move || {
        reload.track();
        api::call(On::default_engine(), ListEngines {}, (), ())
    });
    let mutes = LocalResource::new(move || {
        reload.track();
        api::call(On::default_engine(), ListMutes {}, (), ())
    });
    let minutes = RwSignal::new("60".to_string());
    let row = move |engine: String, mute: Option<EngineMute>| {
        let now = crate::chart::now_ms() as i64;
        let mut state = match mute
            .as_ref()
            .and_then(|m| m.mute.until_ms)
            .filter(|u| *u > now)
        {
            Some(until) => format!("muted until {}", format::unix_millis(until)),
            None => "alerting".to_string(),
        };
        if let Some(m) = mute.as_ref().filter(|m| !m.mute.windows.is_empty()) {
            state.push_str(&format!("; quiet {}", m.mute.windows.join("; ")));
        }
        let muted = mute.is_some();
        let (name, lift_name) = (engine.clone(), engine.clone());
        let hush = move |_| {
            let minutes: i64 = minutes.get_untracked().trim().parse().unwrap_or(60);
            let windows = mute_windows(&mute);
            let body = Mute {
                until_ms: Some(crate::chart::now_ms() as i64 + minutes.max(1) * 60_000),
                windows,
            };
            let engine = name.clone();
            let work = api::call(On::default_engine(), SetMute { engine }, (), body);
            feedback.run(
                work,
                |m| format!("engine {} muted", m.engine),
                move || reload.now(),
            );
        };
        let lift = move |_| {
            let engine = lift_name.clone();
            let work = api::call(On::default_engine(), RemoveMute { engine }, (), ());
            feedback.run(work, |()| "mute lifted".into(), move || reload.now());
        };
        view! {
            <tr data-testid="engine-mute-row">
                <td>{engine}</td>
                <td data-testid="engine-mute-state">{state}</td>
                <td>
                    {operate
                        .then(|| {
                            view! {
                                <button type="button" data-testid="mute-engine" on:click=hush>
                                    "Mute"
                                </button>
                                {muted
                                    .then(|| {
                                        view! {
                                            <button type="button" data-testid="unmute-engine" on:click=lift>
                                                "Unmute"
                                            </button>
                                        }
                                    })}
                            }
                        })}
                </td>
            </tr>
        }
    };
    view! {
        {operate
            .then(|| {
                view! {
                    <label>
                        "Mute for (minutes)"
                        <input type="number" min="1" data-testid="engine-mute-minutes" bind:value=minutes />
                    </label>
                }
            })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let mutes = match mutes.await {
                    Ok(mutes) => mutes,
                    Err(error) => return view! { <ErrorPanel error /> }.into_any(),
                };
                match engines.await {
                    Ok(list) => {
                        let rows = list
                            .into_iter()
                            .map(|e| {
                                let mute = mutes.iter().find(|m| m.engine == e.name).cloned();
                                row(e.name, mute)
                            })
                            .collect_view();
                        view! {
                            <table class="containers" data-testid="engine-mutes">
                                <tbody>{rows}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The windows an engine's mute keeps when it is muted again for a while.
fn mute_windows(mute: &Option<EngineMute>) -> Vec<String> {
    mute.as_ref()
        .map(|m| m.mute.windows.clone())
        .unwrap_or_default()
}

fn channels_table(
    list: Vec<Channel>,
    administer: bool,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-alert-channels">"No channels yet."</p> }
            .into_any();
    }
    let rows = list
        .into_iter()
        .map(|channel| {
            let id = channel.id;
            let remove = Callback::new(move |()| {
                let work = api::call(On::default_engine(), RemoveChannel { id }, (), ());
                feedback.run(work, |()| "channel removed".into(), move || reload.now());
            });
            let test = move |_| {
                let work = api::call(On::default_engine(), TestChannel { id }, (), ());
                feedback.judge(work, tested, move || reload.now());
            };
            let waiting = match (channel.pending, channel.dropped) {
                (0, 0) => String::new(),
                (p, 0) => format!("{p} waiting"),
                (p, d) => format!("{p} waiting, {d} dropped"),
            };
            view! {
                <tr data-testid="alert-channel-row">
                    <td>{channel.name.clone()}</td>
                    <td>{channel.kind.clone()}</td>
                    <td>{channel.target.clone()}</td>
                    <td>{waiting}</td>
                    <td>
                        {administer
                            .then(|| {
                                view! {
                                    <button type="button" data-testid="test-channel" on:click=test>
                                        "Test"
                                    </button>
                                    <AskFirst
                                        label="Remove…"
                                        question=format!(
                                            "Remove the channel {:?}? What it has not delivered is dropped.",
                                            channel.name,
                                        )
                                        yes="Remove"
                                        on_yes=remove
                                        testid="remove-alert-channel"
                                    />
                                }
                            })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers" data-testid="alert-channels">
            <thead>
                <tr>
                    <th>"Channel"</th>
                    <th>"Kind"</th>
                    <th>"Goes to"</th>
                    <th>"Queue"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A test's answer in words.
fn tested(result: TestResult) -> Result<String, String> {
    let status = result.status.map(|s| format!("{s} ")).unwrap_or_default();
    match result.delivered {
        true => Ok(format!("test delivered: {status}{}", result.answer)),
        false => Err(format!("test not delivered: {status}{}", result.answer)),
    }
}

#[component]
fn NewChannelForm(feedback: Feedback, reload: Reload) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("webhook".to_string());
    let url = RwSignal::new(String::new());
    let preset = RwSignal::new(Preset::Generic);
    let template = RwSignal::new(String::new());
    let host = RwSignal::new(String::new());
    let port = RwSignal::new(String::new());
    let security = RwSignal::new(MailSecurity::Starttls);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let some = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let config = match kind.get_untracked().as_str() {
            "email" => ChannelConfig::Email {
                host: host.get_untracked(),
                port: port.get_untracked().trim().parse().ok(),
                security: security.get_untracked(),
                username: some(username),
                password: some(password),
                from: from.get_untracked(),
                // Comma-separated: an address may hold spaces (`Ops <ops@example.com>`).
                to: to
                    .get_untracked()
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
            _ => ChannelConfig::Webhook {
                url: url.get_untracked().trim().to_string(),
                preset: preset.get_untracked(),
                template: some(template),
            },
        };
        let channel = NewChannel {
            name: name.get_untracked().trim().to_string(),
            config,
        };
        let work = api::call(On::default_engine(), CreateChannel {}, (), channel);
        feedback.run(
            work,
            move |c| {
                url.try_set(String::new());
                password.try_set(String::new());
                format!("channel {:?} added", c.name)
            },
            move || reload.now(),
        );
    };
    // Made each time the section shows (a view is drawn once).
    let presets = || {
        Preset::ALL
            .map(|p| view! { <option value=format!("{p:?}")>{p.label()}</option> })
            .collect_view()
    };
    let securities = || {
        MailSecurity::ALL
            .map(|s| view! { <option value=format!("{s:?}")>{s.label()}</option> })
            .collect_view()
    };
    view! {
        <form
            class="admin-form"
            on:submit=submit
            aria-label="New alert channel"
            data-testid="alert-channel-form"
        >
            <label>
                "Name" <input name="channel-name" autocomplete="off" required bind:value=name />
            </label>
            <label>
                "Kind"
                <select
                    data-testid="channel-kind"
                    prop:value=move || kind.get()
                    on:change=move |ev| kind.set(event_target_value(&ev))
                >
                    <option value="webhook">"Webhook"</option>
                    <option value="email">"E-mail"</option>
                </select>
            </label>
            <Show when=move || kind.get() == "webhook">
                <label>
                    "URL (kept sealed: services put their token in it)"
                    <input name="url" type="url" autocomplete="off" bind:value=url />
                </label>
                <label>
                    "Format"
                    <select prop:value=move || format!("{:?}", preset.get()) on:change=move |ev| {
                        let picked = event_target_value(&ev);
                        if let Some(p) = Preset::ALL.into_iter().find(|p| format!("{p:?}") == picked) {
                            preset.set(p);
                        }
                    }>{presets()}</select>
                </label>
                <label>
                    "Body template (minijinja over title, message, container, exit_code, line, …; empty for the format's own)"
                    <textarea
                        name="template"
                        data-testid="channel-template"
                        rows="3"
                        placeholder="{\"text\": {{ title | tojson }}}"
                        bind:value=template
                    ></textarea>
                </label>
            </Show>
            <Show when=move || kind.get() == "email">
                <label>"Mail server" <input name="host" bind:value=host /></label>
                <label>"Port" <input name="port" type="number" bind:value=port /></label>
                <label>
                    "Security"
                    <select prop:value=move || format!("{:?}", security.get()) on:change=move |ev| {
                        let picked = event_target_value(&ev);
                        if let Some(s) = MailSecurity::ALL.into_iter().find(|s| format!("{s:?}") == picked) {
                            security.set(s);
                        }
                    }>{securities()}</select>
                </label>
                <label>"User" <input name="username" autocomplete="off" bind:value=username /></label>
                <label>
                    "Password"
                    <input name="password" type="password" autocomplete="new-password" bind:value=password />
                </label>
                <label>"From" <input name="from" bind:value=from /></label>
                <label>"To (comma-separated)" <input name="to" bind:value=to /></label>
            </Show>
            <button type="submit">"Add channel"</button>
        </form>
    }
}

#[component]
fn History() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let tick = RwSignal::new(0u32);
    poll(HISTORY_EVERY_MS, move || {
        tick.update(|t| *t = t.wrapping_add(1))
    });
    let history = LocalResource::new(move || {
        tick.track();
        let query = HistoryQuery {
            q: Some(q.get()).filter(|q| !q.trim().is_empty()),
            ..Default::default()
        };
        api::call(On::default_engine(), ListAlerts {}, query, ())
    });
    view! {
        <label>
            "Search" <input type="search" data-testid="alert-search" bind:value=q />
        </label>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match history.await {
                    Ok(list) => history_table(list).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn history_table(list: Vec<AlertRecord>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-alerts">"No alerts."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|alert| {
            let deliveries = alert
                .deliveries
                .iter()
                .map(|d| {
                    let state = match d.state {
                        DeliveryState::Pending => "waiting".to_string(),
                        DeliveryState::Delivered => "delivered".to_string(),
                        DeliveryState::Dropped => "dropped".to_string(),
                        DeliveryState::Failing => format!(
                            "failing ({} tries; next {}): {}",
                            d.attempts,
                            d.next_try_ms.map(format::unix_millis).unwrap_or_default(),
                            d.last_error.clone().unwrap_or_default()
                        ),
                    };
                    format!("{}: {state}", d.channel)
                })
                .collect::<Vec<_>>()
                .join("; ");
            view! {
                <tr data-testid="alert-row">
                    <td>{format::unix_millis(alert.at_ms)}</td>
                    <td>{alert.rule.clone()}</td>
                    <td>{format!("{}/{}", alert.engine, alert.subject)}</td>
                    <td title=alert.message.clone()>{alert.title.clone()}</td>
                    <td>{deliveries}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers" data-testid="alert-history">
            <thead>
                <tr>
                    <th>"When"</th>
                    <th>"Rule"</th>
                    <th>"Container"</th>
                    <th>"Alert"</th>
                    <th>"Delivered"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
