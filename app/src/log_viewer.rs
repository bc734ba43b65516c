//! The log viewer, for a container or a project: follows a log stream, keeps at most
//! `max_lines` lines in the DOM, auto-scrolls while at the bottom, shows "N new lines" when
//! scrolled up, pauses, restarts (closing the old socket first), renders ANSI colours, marks
//! stderr, shows `lagged` and `end` inline, filters by text or `/regex/` with highlights,
//! and downloads the lines it holds. Incoming lines are batched and flushed at most every
//! [`FLUSH_MS`], so a chatty container costs one DOM update per batch.

use crate::{
    ansi,
    frames::{Frame, LogLine, LogStream},
    live::use_live,
    log_filter::{Filter, highlight},
};
use leptos::{html::Div, prelude::*};
use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

const FLUSH_MS: u64 = 100;
/// Typing in the filter re-renders the matching lines once it pauses this long.
const FILTER_DEBOUNCE_MS: u64 = 150;
pub const DEFAULT_MAX_LINES: usize = 5_000;

enum RowKind {
    Line(LogLine),
    Skipped(u64),
    /// The stream ended; `true` when it will be reconnected.
    Ended(String, bool),
}

struct Row {
    key: u64,
    kind: RowKind,
}

fn line_view(line: &LogLine, show_service: bool, filter: &Filter) -> impl IntoView + use<> {
    let class = match line.stream {
        LogStream::Stdout => "log-line",
        LogStream::Stderr => "log-line stderr",
    };
    let timestamp = line
        .timestamp
        .clone()
        .map(|t| crate::format::docker_time(&t));
    let service = show_service.then(|| line.service.clone().unwrap_or_else(|| line.name.clone()));
    let service_class = service_class(service.as_deref().unwrap_or_default());
    let segments = ansi::segments(&line.text);
    let text = if filter.is_all() {
        segments
            .into_iter()
            .map(|(style, text)| view! { <span class=style.classes()>{text}</span> }.into_any())
            .collect_view()
    } else {
        let plain: String = segments.iter().map(|(_, t)| t.as_str()).collect();
        highlight(segments, &filter.ranges(&plain))
            .into_iter()
            .map(|(style, text, hit)| {
                if hit {
                    view! { <mark class=style.classes()>{text}</mark> }.into_any()
                } else {
                    view! { <span class=style.classes()>{text}</span> }.into_any()
                }
            })
            .collect_view()
    };
    view! {
        <div class=class data-seq=line.seq>
            <span class="log-ts">{timestamp}</span>
            {service.map(|s| view! { <span class=service_class>{s}</span> })}
            <span class="log-text">{text}</span>
        </div>
    }
}

/// A stable colour per service name, shared by the log and the project's member table.
pub fn service_class(name: &str) -> String {
    // FNV-1a, folded: a multiply-add hash keeps too little in its low bits for `% 8`
    // (db, web and worker all got one colour).
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    let index = (hash ^ (hash >> 16)) % 8;
    format!("log-service svc-{index}")
}

fn row_view(row: &Row, show_service: bool, filter: &Filter) -> AnyView {
    match &row.kind {
        RowKind::Line(line) => line_view(line, show_service, filter).into_any(),
        RowKind::Skipped(n) => view! { <div class="log-note lagged">{format!("… {n} lines skipped (this viewer fell behind)")}</div> }.into_any(),
        RowKind::Ended(reason, false) => view! { <div class="log-note ended">{format!("Stream ended: {reason}")}</div> }.into_any(),
        RowKind::Ended(reason, true) => view! { <div class="log-note ended">{format!("Stream interrupted: {reason}; reconnecting")}</div> }.into_any(),
    }
}

/// Notes (skipped, ended) always show; lines only when they match.
fn keeps(filter: &Filter, row: &Row) -> bool {
    match &row.kind {
        RowKind::Line(line) => filter.is_all() || filter.matches(&ansi::strip(&line.text)),
        _ => true,
    }
}

/// The held lines as a log file: timestamp and service when known, colours removed.
fn log_file(rows: &VecDeque<Arc<Row>>) -> String {
    let mut out = String::new();
    for row in rows {
        if let RowKind::Line(line) = &row.kind {
            if let Some(ts) = &line.timestamp {
                out.push_str(ts);
                out.push(' ');
            }
            if let Some(service) = &line.service {
                out.push_str(service);
                out.push_str(" | ");
            }
            out.push_str(&ansi::strip(&line.text));
            out.push('\n');
        }
    }
    out
}

/// Saves `text` as a file through a temporary object URL, revoked once the download began.
#[cfg(feature = "hydrate")]
fn save_file(name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let anchor: web_sys::HtmlAnchorElement = document().create_element("a")?.dyn_into()?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // Revoked on a short timer, not at once: some browsers resolve the URL after click()
    // returns. The timer is one-shot and frees the blob even if the viewer is gone.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(1),
    );
    Ok(())
}

#[cfg(not(feature = "hydrate"))]
fn save_file(_name: &str, _text: &str) -> Result<(), ()> {
    Ok(())
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
    /// The name the Download button saves under, e.g. `web-1.log`.
    #[prop(into, default = "logs.log".to_string())]
    download_name: String,
) -> impl IntoView {
    let hydrated = expect_context::<crate::Hydrated>().0;
    let rows = RwSignal::new(VecDeque::<Arc<Row>>::new());
    let pending: StoredValue<Vec<Row>> = StoredValue::new(Vec::new());
    let flush_timer: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);
    let next_key = StoredValue::new(0u64);
    // The newest Docker timestamp shown per container: after a reconnect the stream sends
    // its tail again, and what was already shown is skipped.
    let shown_until: StoredValue<HashMap<String, String>> = StoredValue::new(HashMap::new());
    let following = RwSignal::new(true);
    let unseen = RwSignal::new(0usize);
    let timestamps = RwSignal::new(false);
    let wrap = RwSignal::new(true);
    let restart = ArcTrigger::new();
    let scroller = NodeRef::<Div>::new();
    let filter_input = RwSignal::new(String::new());
    let filter_parsed = Memo::new(move |_| filter_input.with(|f| Filter::parse(f)));
    let filter = Memo::new(move |_| filter_parsed.get().unwrap_or(Filter::All));
    // Bumped when the filter changes so every shown row re-renders its highlights; rows added
    // under an unchanged filter keep their keys and render once.
    let filter_version = Memo::new(move |v: Option<&u32>| {
        filter.track();
        v.map_or(0, |v| v + 1)
    });
    let debounce: StoredValue<Option<TimeoutHandle>> = StoredValue::new(None);

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
        for timer in [flush_timer, debounce] {
            if let Some(timer) = timer.try_update_value(Option::take).flatten() {
                timer.clear();
            }
        }
    });
    let on_filter = move |ev| {
        let value = event_target_value(&ev);
        if let Some(timer) = debounce.try_update_value(Option::take).flatten() {
            timer.clear();
        }
        debounce.set_value(
            set_timeout_with_handle(
                move || {
                    debounce.set_value(None);
                    filter_input.set(value);
                },
                std::time::Duration::from_millis(FILTER_DEBOUNCE_MS),
            )
            .ok(),
        );
    };
    // The rows on screen, filtered once per flush or filter change; the list and the match
    // count both read it. Rows are shared `Arc`s, so "unchanged" is pointer identity.
    let shown = Memo::new_with_compare(
        move |_| {
            let filter = filter.get();
            let version = filter_version.get();
            rows.with(|rows| {
                rows.iter()
                    .filter(|row| keeps(&filter, row))
                    .map(|row| (version, row.clone()))
                    .collect::<Vec<_>>()
            })
        },
        |old, new| match (old, new) {
            (Some(old), Some(new)) => {
                old.len() != new.len()
                    || old
                        .iter()
                        .zip(new)
                        .any(|((va, a), (vb, b))| va != vb || !Arc::ptr_eq(a, b))
            }
            _ => true,
        },
    );
    let download = move |_| {
        let text = rows.with_untracked(log_file);
        if let Err(e) = save_file(&download_name, &text) {
            leptos::logging::warn!("download failed: {e:?}");
        }
    };

    let status = {
        let restart = restart.clone();
        use_live(
            move || {
                restart.track();
                Some(path.get())
            },
            move |frame| match frame {
                Frame::Log(line) => {
                    if let Some(ts) = &line.timestamp {
                        let key = crate::frames::timestamp_key(ts);
                        let seen = shown_until.with_value(|s| {
                            s.get(&line.container).is_some_and(|last| key <= *last)
                        });
                        if seen {
                            return;
                        }
                        shown_until.update_value(|s| {
                            s.insert(line.container.clone(), key);
                        });
                    }
                    push(RowKind::Line(line))
                }
                Frame::Lagged { missed } => push(RowKind::Skipped(missed)),
                Frame::End { reason, retry } => push(RowKind::Ended(reason, retry)),
                _ => {}
            },
        )
    };

    // Where Berth itself last scrolled to: the scroll event that follows says nothing about
    // what the user wants (a pause in between must stay a pause).
    let own_scroll = StoredValue::new(None::<i32>);
    let scroll_to_bottom = move || {
        if let Some(el) = scroller.get_untracked() {
            el.set_scroll_top(el.scroll_height());
            own_scroll.set_value(Some(el.scroll_top()));
        }
    };
    // After each flush, keep the newest line in view while following.
    Effect::new(move |_| {
        rows.track();
        if following.get_untracked() {
            // Checked again when the frame comes: a pause meanwhile must not be undone by
            // this scroll (its scroll event would read "at the bottom" as "following").
            request_animation_frame(move || {
                if following.get_untracked() {
                    scroll_to_bottom();
                }
            });
        }
    });
    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        if own_scroll.try_update_value(Option::take).flatten() == Some(el.scroll_top()) {
            return;
        }
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
    // Keys, outside a text field: space pauses or resumes, End follows. Escape in the filter
    // clears it at once (no debounce).
    #[cfg(feature = "hydrate")]
    {
        let keys = window_event_listener(leptos::ev::keydown, move |event| {
            let typing = crate::layout::typed_into(&event, true);
            if typing || event.ctrl_key() || event.meta_key() || event.alt_key() {
                return;
            }
            match event.key().as_str() {
                " " => match following.get_untracked() {
                    true => following.set(false),
                    false => follow(),
                },
                "End" => follow(),
                _ => return,
            }
            event.prevent_default();
        });
        on_cleanup(move || keys.remove());
    }
    let on_filter_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Escape" {
            return;
        }
        #[cfg(feature = "hydrate")]
        if let Some(input) = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(t).ok())
        {
            input.set_value("");
        }
        if let Some(timer) = debounce.try_update_value(Option::take).flatten() {
            timer.clear();
        }
        filter_input.set(String::new());
    };
    let do_restart = move |_| {
        pending.set_value(Vec::new());
        shown_until.set_value(HashMap::new());
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
                <button data-testid="log-download" on:click=download disabled=move || !hydrated.get()>
                    "Download"
                </button>
                <input
                    type="search"
                    class="filter log-filter"
                    placeholder="Filter: text or /regex/"
                    aria-label="Filter log lines"
                    data-testid="log-filter"
                    disabled=move || !hydrated.get()
                    on:input=on_filter
                    on:keydown=on_filter_key
                />
                <span class="muted" data-testid="log-count">
                    {move || {
                        let held = rows.with(|r| r.len());
                        if filter.with(Filter::is_all) {
                            format!("{held} lines held (max {max_lines})")
                        } else {
                            let matching = shown.with(|s| s.iter().filter(|(_, row)| matches!(row.kind, RowKind::Line(_))).count());
                            format!("{matching} of {held} lines match")
                        }
                    }}
                </span>
                <span class="error-text" role="alert" data-testid="log-filter-error">
                    {move || filter_parsed.get().err()}
                </span>
            </div>
            <div class="log-scroll" node_ref=scroller on:scroll=on_scroll data-testid="log-lines">
                <For each=move || shown.get() key=|(version, row)| (*version, row.key) let(item)>
                    {row_view(&item.1, show_service, &filter.get_untracked())}
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

#[cfg(test)]
mod tests {
    use super::service_class;

    #[test]
    fn common_service_names_get_distinct_colours() {
        let classes: std::collections::HashSet<_> =
            ["db", "web", "worker", "api", "redis", "nginx"]
                .map(service_class)
                .into_iter()
                .collect();
        assert_eq!(classes.len(), 6, "{classes:?}");
    }
}
