//! The log viewer, for a container or a project: follows a log stream, keeps at most
//! `max_lines` lines in the DOM, auto-scrolls while at the bottom, shows "N new lines" when
//! scrolled up, pauses, restarts (closing the old socket first), renders ANSI colours, marks
//! stderr, shows `lagged` and `end` inline, filters by text or `/regex/` with highlights,
//! and downloads the lines it holds. Lines arrive in batches (one frame, one parse) and are
//! appended once per animation frame, at most [`ROWS_PER_FRAME`] at a time, so a chatty
//! container costs one bounded DOM update per frame; lines waiting meanwhile (a hidden tab
//! gets no frames) are bounded by `max_lines`, the rest counted as skipped. Each line is
//! matched against the filter once, not at every update.

use crate::{
    ansi,
    frames::{Frame, LogStream, SharedLine},
    live::use_live,
    log_filter::{Filter, highlight},
};
use leptos::{html::Div, prelude::*};
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

/// A scroll this soon after the user moved the list is theirs.
const USER_SCROLL_MS: f64 = 1000.0;

/// Milliseconds on the browser's clock.
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now();
    #[cfg(not(feature = "hydrate"))]
    0.0
}

/// The most rows one animation frame adds: what is left waits for the next frame.
const ROWS_PER_FRAME: usize = 100;
/// Typing in the filter re-renders the matching lines once it pauses this long.
const FILTER_DEBOUNCE_MS: u64 = 150;
pub const DEFAULT_MAX_LINES: usize = 5_000;

enum RowKind {
    Line(SharedLine),
    Skipped(u64),
    /// The stream ended; `true` when it will be reconnected.
    Ended(String, bool),
}

struct Row {
    key: u64,
    kind: RowKind,
    /// The line without colours, made once when first matched or saved.
    plain: OnceLock<String>,
    /// Whether it matched the filter of a version: `(version + 1) * 2 + matched`, 0 before
    /// the first match.
    matched: AtomicU64,
}

impl Row {
    fn new(key: u64, kind: RowKind) -> Self {
        Self {
            key,
            kind,
            plain: OnceLock::new(),
            matched: AtomicU64::new(0),
        }
    }

    fn plain(&self) -> &str {
        self.plain.get_or_init(|| match &self.kind {
            RowKind::Line(shown) => ansi::strip(&shown.line.text),
            _ => String::new(),
        })
    }
}

fn line_view(shown: &SharedLine, show_service: bool, filter: &Filter) -> impl IntoView + use<> {
    let SharedLine { seq, origin, line } = shown;
    let class = match line.stream {
        LogStream::Stdout => "log-line",
        LogStream::Stderr => "log-line stderr",
    };
    let timestamp = line
        .timestamp
        .clone()
        .map(|t| crate::format::docker_time(&t));
    let service = show_service.then(|| {
        origin
            .service
            .clone()
            .unwrap_or_else(|| origin.name.clone())
    });
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
        <div class=class data-seq=*seq>
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

/// Notes (skipped, ended) always show; lines only when they match `filter` (of `version`),
/// each line matched once per filter.
fn keeps(filter: &Filter, version: u32, row: &Row) -> bool {
    if !matches!(row.kind, RowKind::Line(_)) || filter.is_all() {
        return true;
    }
    let tag = (u64::from(version) + 1) * 2;
    let cached = row.matched.load(Ordering::Relaxed);
    if cached & !1 == tag {
        return cached & 1 == 1;
    }
    let matched = filter.matches(row.plain());
    row.matched
        .store(tag | u64::from(matched), Ordering::Relaxed);
    matched
}

/// The held lines as a log file: timestamp and service when known, colours removed.
fn log_file(rows: &VecDeque<Arc<Row>>) -> String {
    let mut out = String::new();
    for row in rows {
        if let RowKind::Line(SharedLine { origin, line, .. }) = &row.kind {
            if let Some(ts) = &line.timestamp {
                out.push_str(ts);
                out.push(' ');
            }
            if let Some(service) = &origin.service {
                out.push_str(service);
                out.push_str(" | ");
            }
            out.push_str(row.plain());
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

/// Where received lines wait for an animation frame, and how they get into the view.
#[derive(Clone, Copy)]
struct Feed {
    pending: StoredValue<VecDeque<Row>>,
    /// Lines dropped from `pending` before they were shown, not yet told as a note.
    dropped: StoredValue<u64>,
    frame_request: StoredValue<Option<AnimationFrameRequestHandle>>,
    next_key: StoredValue<u64>,
    /// Lines dropped here, in all (the page says them with the server's losses).
    dropped_total: RwSignal<u64>,
    following: RwSignal<bool>,
    unseen: RwSignal<usize>,
    rows: RwSignal<VecDeque<Arc<Row>>>,
    max_lines: usize,
}

impl Feed {
    fn key(self) -> u64 {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        key
    }

    fn push(self, kind: RowKind) {
        let row = Row::new(self.key(), kind);
        let line = matches!(row.kind, RowKind::Line(_));
        let max_lines = self.max_lines;
        let dropped = self.dropped;
        self.pending.update_value(|p| {
            if line && p.len() >= max_lines {
                // More waits than the viewer holds: the oldest waiting line would leave the
                // view right after it was drawn, so it is dropped now, and said.
                if let Some(at) = p.iter().position(|r| matches!(r.kind, RowKind::Line(_))) {
                    p.remove(at);
                    dropped.update_value(|d| *d += 1);
                }
            }
            p.push_back(row);
        });
        self.schedule();
    }

    /// Asks for an animation frame, unless one is asked for already.
    fn schedule(self) {
        if self.frame_request.with_value(Option::is_some) {
            return;
        }
        let request = request_animation_frame_with_handle(move || self.flush()).ok();
        self.frame_request.set_value(request);
    }

    /// Once per animation frame while lines wait: adds at most [`ROWS_PER_FRAME`] rows, and
    /// a note for lines dropped while waiting.
    fn flush(self) {
        self.frame_request.set_value(None);
        let lost = self.dropped.try_update_value(std::mem::take).unwrap_or(0);
        let mut batch = Vec::new();
        if lost > 0 {
            self.dropped_total.update(|s| *s += lost);
            batch.push(Row::new(self.key(), RowKind::Skipped(lost)));
        }
        let more = self
            .pending
            .try_update_value(|p| {
                let take = p.len().min(ROWS_PER_FRAME);
                batch.extend(p.drain(..take));
                !p.is_empty()
            })
            .unwrap_or(false);
        if more {
            self.schedule();
        }
        if batch.is_empty() {
            return;
        }
        if !self.following.get_untracked() {
            self.unseen.update(|n| {
                *n += batch
                    .iter()
                    .filter(|r| matches!(r.kind, RowKind::Line(_)))
                    .count()
            });
        }
        let max_lines = self.max_lines;
        self.rows.update(|rows| {
            rows.extend(batch.into_iter().map(Arc::new));
            let excess = rows.len().saturating_sub(max_lines);
            rows.drain(..excess);
        });
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
    /// The name the Download button saves under, e.g. `web-1.log`.
    #[prop(into, default = "logs.log".to_string())]
    download_name: String,
    /// Told how the stream ended for good (a run's end; not a retry).
    #[prop(optional)]
    on_end: Option<Callback<String>>,
) -> impl IntoView {
    let hydrated = expect_context::<crate::Hydrated>().0;
    let rows = RwSignal::new(VecDeque::<Arc<Row>>::new());
    let pending: StoredValue<VecDeque<Row>> = StoredValue::new(VecDeque::new());
    // Lines dropped from `pending` before they were shown, not yet told as a note.
    let dropped = StoredValue::new(0u64);
    // Since the viewer opened: lines received, lines the server said this viewer missed,
    // and lines dropped here before they were shown. The page says how many were skipped
    // (the last two); the benchmark and the tests read all three.
    let received = RwSignal::new(0u64);
    let lagged = RwSignal::new(0u64);
    let dropped_total = RwSignal::new(0u64);
    let frame_request: StoredValue<Option<AnimationFrameRequestHandle>> = StoredValue::new(None);
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

    let feed = Feed {
        pending,
        dropped,
        frame_request,
        next_key,
        dropped_total,
        following,
        unseen,
        rows,
        max_lines,
    };
    let push = move |kind: RowKind| feed.push(kind);
    on_cleanup(move || {
        if let Some(request) = frame_request.try_update_value(Option::take).flatten() {
            request.cancel();
        }
        if let Some(timer) = debounce.try_update_value(Option::take).flatten() {
            timer.clear();
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
                    .filter(|row| keeps(&filter, version, row))
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
                Frame::Logs(batch) => {
                    received.update(|r| *r += u64::from(batch.count));
                    for shown in batch.into_shared_lines() {
                        if let Some(ts) = &shown.line.timestamp {
                            let key = crate::frames::timestamp_key(ts);
                            let container = &shown.origin.container;
                            let seen = shown_until
                                .with_value(|s| s.get(container).is_some_and(|last| key <= *last));
                            if seen {
                                continue;
                            }
                            shown_until.update_value(|s| {
                                s.insert(container.clone(), key);
                            });
                        }
                        push(RowKind::Line(shown))
                    }
                }
                Frame::Lagged { missed } => {
                    lagged.update(|s| *s += missed);
                    push(RowKind::Skipped(missed))
                }
                Frame::End { reason, retry } => {
                    if let Some(on_end) = on_end.filter(|_| !retry) {
                        on_end.run(reason.clone());
                    }
                    push(RowKind::Ended(reason, retry))
                }
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
    // When the user last moved the list (wheel, touch, a key, the scrollbar): only then does
    // a scroll say what they want. Lines leaving the top of a full list move the scroll
    // position too (the browser keeps the view steady, or clamps it), and that must never
    // undo a pause.
    let user_moved = StoredValue::new(f64::NEG_INFINITY);
    let pointer_down = StoredValue::new(false);
    let moved = move || user_moved.set_value(now_ms());
    #[cfg(feature = "hydrate")]
    {
        // Only a press that began on the list (its scrollbar) ends a move of the list: a
        // click on Resume must not make the next scroll look like the user's.
        let up = window_event_listener(leptos::ev::pointerup, move |_| {
            if pointer_down.get_value() {
                pointer_down.set_value(false);
                user_moved.set_value(now_ms());
            }
        });
        on_cleanup(move || up.remove());
    }
    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else {
            return;
        };
        if own_scroll.try_update_value(Option::take).flatten() == Some(el.scroll_top()) {
            return;
        }
        let by_user =
            pointer_down.get_value() || now_ms() - user_moved.get_value() < USER_SCROLL_MS;
        if !by_user {
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
        pending.set_value(VecDeque::new());
        dropped.set_value(0);
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
                <span
                    class="muted"
                    data-testid="log-count"
                    data-received=move || received.get()
                    data-lagged=move || lagged.get()
                    data-dropped=move || dropped_total.get()
                >
                    {move || {
                        let held = rows.with(|r| r.len());
                        let skipped = match lagged.get() + dropped_total.get() {
                            0 => String::new(),
                            n => format!(", {n} skipped"),
                        };
                        if filter.with(Filter::is_all) {
                            format!("{held} lines held (max {max_lines}){skipped}")
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
            <div
                class="log-scroll"
                node_ref=scroller
                on:scroll=on_scroll
                on:wheel=move |_| moved()
                on:touchmove=move |_| moved()
                on:keydown=move |_| moved()
                on:pointerdown=move |_| {
                    pointer_down.set_value(true);
                    user_moved.set_value(now_ms());
                }
                data-testid="log-lines"
            >
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
