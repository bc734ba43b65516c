//! The log viewer, for a container or a project: follows a log stream, keeps at most
//! `max_lines` lines in the DOM, auto-scrolls while at the bottom, shows "N new lines" when
//! scrolled up, pauses, restarts (closing the old socket first), renders ANSI colours, marks
//! stderr, and shows `lagged` and `end` inline. Incoming lines are batched and flushed at
//! most every [`FLUSH_MS`], so a chatty container costs one DOM update per batch.

use crate::{
    ansi,
    frames::{Frame, LogLine, LogStream},
    live::use_live,
};
use leptos::{html::Div, prelude::*};
use std::{collections::VecDeque, sync::Arc};

const FLUSH_MS: u64 = 100;
pub const DEFAULT_MAX_LINES: usize = 5_000;

enum RowKind {
    Line(LogLine),
    Skipped(u64),
    Ended(String),
}

struct Row {
    key: u64,
    kind: RowKind,
}

fn line_view(line: &LogLine, show_service: bool) -> impl IntoView + use<> {
    let class = match line.stream {
        LogStream::Stdout => "log-line",
        LogStream::Stderr => "log-line stderr",
    };
    let timestamp = line
        .timestamp
        .clone()
        .map(|t| crate::format::docker_time(&t));
    let service = show_service.then(|| line.service.clone().unwrap_or_else(|| line.name.clone()));
    let service_class = format!(
        "log-service svc-{}",
        service.as_deref().map_or(0, colour_index)
    );
    let text = ansi::segments(&line.text)
        .into_iter()
        .map(|(style, text)| view! { <span class=style.classes()>{text}</span> })
        .collect_view();
    view! {
        <div class=class data-seq=line.seq>
            <span class="log-ts">{timestamp}</span>
            {service.map(|s| view! { <span class=service_class>{s}</span> })}
            <span class="log-text">{text}</span>
        </div>
    }
}

/// A stable colour per service name.
fn colour_index(name: &str) -> u32 {
    name.bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))
        % 8
}

fn row_view(row: &Row, show_service: bool) -> AnyView {
    match &row.kind {
        RowKind::Line(line) => line_view(line, show_service).into_any(),
        RowKind::Skipped(n) => view! { <div class="log-note lagged">{format!("… {n} lines skipped (this viewer fell behind)")}</div> }.into_any(),
        RowKind::Ended(reason) => view! { <div class="log-note ended">{format!("Stream ended: {reason}")}</div> }.into_any(),
    }
}

#[component]
pub fn LogViewer(
    /// The stream, e.g. `/ws/containers/{id}/logs?tail=100&timestamps=true`.
    #[prop(into)]
    path: Signal<String>,
    #[prop(default = DEFAULT_MAX_LINES)] max_lines: usize,
    /// Tag each line with its service (project logs).
    #[prop(default = false)]
    show_service: bool,
) -> impl IntoView {
    let rows = RwSignal::new(VecDeque::<Arc<Row>>::new());
    let pending: StoredValue<Vec<Row>> = StoredValue::new(Vec::new());
    let flush_timer: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
    let next_key = StoredValue::new(0u64);
    let following = RwSignal::new(true);
    let unseen = RwSignal::new(0usize);
    let timestamps = RwSignal::new(false);
    let wrap = RwSignal::new(true);
    let restart = ArcTrigger::new();
    let scroller = NodeRef::<Div>::new();

    let flush = move || {
        flush_timer.set_value(None);
        let batch = pending.try_update_value(std::mem::take).unwrap_or_default();
        if batch.is_empty() {
            return;
        }
        if !following.get_untracked() {
            unseen.update(|n| {
                *n += batch
                    .iter()
                    .filter(|r| matches!(r.kind, RowKind::Line(_)))
                    .count()
            });
        }
        rows.update(|rows| {
            rows.extend(batch.into_iter().map(Arc::new));
            let excess = rows.len().saturating_sub(max_lines);
            rows.drain(..excess);
        });
    };
    let push = move |kind: RowKind| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        pending.update_value(|p| p.push(Row { key, kind }));
        if flush_timer.with_value(Option::is_none) {
            flush_timer.set_value(
                set_timeout_with_handle(flush, std::time::Duration::from_millis(FLUSH_MS)).ok(),
            );
        }
    };
    on_cleanup(move || {
        if let Some(timer) = flush_timer.try_update_value(Option::take).flatten() {
            timer.clear();
        }
    });

    let status = {
        let restart = restart.clone();
        use_live(
            move || {
                restart.track();
                Some(path.get())
            },
            move |frame| match frame {
                Frame::Log(line) => push(RowKind::Line(line)),
                Frame::Lagged { missed } => push(RowKind::Skipped(missed)),
                Frame::End { reason } => push(RowKind::Ended(reason)),
                _ => {}
            },
        )
    };

    let scroll_to_bottom = move || {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    // After each flush, keep the newest line in view while following.
    Effect::new(move |_| {
        rows.track();
        if following.get_untracked() {
            request_animation_frame(scroll_to_bottom);
        }
    });
    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 8;
        if at_bottom != following.get_untracked() {
            following.set(at_bottom);
        }
        if at_bottom {
            unseen.set(0);
        }
    };
    let follow = move || {
        following.set(true);
        unseen.set(0);
        request_animation_frame(scroll_to_bottom);
    };
    let do_restart = move |_| {
        pending.set_value(Vec::new());
        rows.set(VecDeque::new());
        follow();
        restart.notify();
    };

    view! {
        <div class="log-viewer" class:nowrap=move || !wrap.get() class:show-ts=move || timestamps.get()>
            <div class="log-toolbar">
                <span class=move || status.get().class() data-testid="log-status">
                    {move || status.get().label()}
                </span>
                <button
                    data-testid="log-pause"
                    on:click=move |_| if following.get() { following.set(false) } else { follow() }
                >
                    {move || if following.get() { "Pause" } else { "Resume" }}
                </button>
                <button data-testid="log-restart" on:click=do_restart>
                    "Restart"
                </button>
                <label>
                    <input type="checkbox" prop:checked=timestamps on:change=move |_| timestamps.update(|t| *t = !*t) />
                    " Timestamps"
                </label>
                <label>
                    <input type="checkbox" prop:checked=wrap on:change=move |_| wrap.update(|w| *w = !*w) />
                    " Wrap"
                </label>
                <span class="muted" data-testid="log-count">
                    {move || format!("{} lines held (max {max_lines})", rows.with(|r| r.len()))}
                </span>
            </div>
            <div class="log-scroll" node_ref=scroller on:scroll=on_scroll data-testid="log-lines">
                <For each=move || rows.get() key=|row| row.key let(row)>
                    {row_view(&row, show_service)}
                </For>
            </div>
            <Show when=move || { unseen.get() > 0 }>
                <button class="log-new" data-testid="log-new" on:click=move |_| follow()>
                    {move || format!("{} new lines ↓", unseen.get())}
                </button>
            </Show>
        </div>
    }
}
