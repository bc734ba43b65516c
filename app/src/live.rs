//! The one place the browser opens WebSockets. A component calls [`use_live`] with the
//! stream's path and a frame handler and gets a status signal; everything else is this
//! module's job and dies with the component: the socket is closed (1000) in `on_cleanup`,
//! the reconnect timer cleared, an in-flight probe aborted. At most one socket per call:
//! a new connection closes the old one first, and events from an old socket are ignored.
//!
//! Reconnects: after an unexpected close, exponential backoff with jitter from 1 s to 30 s.
//! A socket that never opened is probed with a plain GET of the same path, because the
//! browser hides the handshake's status: 429 means the per-address limit (say so, retry
//! slowly), 400/404 mean it never will work (stop), anything else retries with backoff.
//! An `end` frame ends the stream for good, unless it says `retry` (Berth restarting, the
//! engine away): then the close that follows reconnects with backoff like any other.

use crate::frames::Frame;
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub enum LiveStatus {
    Connecting,
    Open,
    /// Waiting to reconnect, in this many seconds.
    Reconnecting {
        in_secs: u32,
    },
    /// Refused by the per-address connection limit; retried slowly.
    Limited {
        message: String,
        in_secs: u32,
    },
    /// The stream ended normally (`end` frame).
    Ended(String),
    /// Refused for good (bad request, unknown resource).
    Failed(String),
}

impl LiveStatus {
    pub fn label(&self) -> String {
        match self {
            LiveStatus::Connecting => "connecting…".into(),
            LiveStatus::Open => "live".into(),
            LiveStatus::Reconnecting { in_secs } => format!("reconnecting in {in_secs} s"),
            LiveStatus::Limited { message, in_secs } => {
                format!("{message} (retrying in {in_secs} s)")
            }
            LiveStatus::Ended(reason) => format!("ended: {reason}"),
            LiveStatus::Failed(reason) => reason.clone(),
        }
    }

    pub fn class(&self) -> &'static str {
        match self {
            LiveStatus::Open => "live-status open",
            LiveStatus::Connecting | LiveStatus::Reconnecting { .. } => "live-status waiting",
            LiveStatus::Limited { .. } => "live-status limited",
            LiveStatus::Ended(_) | LiveStatus::Failed(_) => "live-status ended",
        }
    }
}

/// Follows the stream at `path` (e.g. `/ws/system/stats`) while the calling component lives,
/// calling `on_frame` for each frame. `path` is reactive: a new path closes the old socket
/// and opens one for the new path; `None` closes it. During SSR nothing happens.
pub fn use_live(
    path: impl Fn() -> Option<String> + Send + Sync + 'static,
    on_frame: impl Fn(Frame) + 'static,
) -> ReadSignal<LiveStatus> {
    let (status, set_status) = signal(LiveStatus::Connecting);
    #[cfg(feature = "hydrate")]
    browser::attach(path, on_frame, set_status);
    #[cfg(not(feature = "hydrate"))]
    let _ = (path, on_frame, set_status);
    status
}

#[cfg(feature = "hydrate")]
pub(crate) use browser::{refusal, ws_url};

#[cfg(feature = "hydrate")]
mod browser {
    use super::LiveStatus;
    use crate::frames::Frame;
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::{cell::RefCell, rc::Rc, time::Duration};
    use wasm_bindgen::{JsCast, closure::Closure};
    use web_sys::{AbortController, CloseEvent, MessageEvent, WebSocket};

    const BACKOFF_MIN_MS: f64 = 1_000.0;
    const BACKOFF_MAX_MS: f64 = 30_000.0;
    const LIMITED_RETRY_MS: u64 = 10_000;
    const CLOSE_NORMAL: u16 = 1000;

    type OnFrame = Rc<dyn Fn(Frame)>;

    struct Handlers {
        _open: Closure<dyn FnMut()>,
        _message: Closure<dyn FnMut(MessageEvent)>,
        _close: Closure<dyn FnMut(CloseEvent)>,
    }

    #[derive(Default)]
    struct Conn {
        path: Option<String>,
        socket: Option<(WebSocket, Handlers)>,
        /// Bumped for every socket: events carrying an older number are ignored.
        generation: u32,
        opened: bool,
        ended: bool,
        attempt: u32,
        timer: Option<TimeoutHandle>,
        probe: Option<AbortController>,
        disposed: bool,
    }

    struct Live {
        conn: RefCell<Conn>,
        on_frame: OnFrame,
        set_status: WriteSignal<LiveStatus>,
    }

    pub fn attach(
        path: impl Fn() -> Option<String> + Send + Sync + 'static,
        on_frame: impl Fn(Frame) + 'static,
        set_status: WriteSignal<LiveStatus>,
    ) {
        let live = Rc::new(Live {
            conn: RefCell::new(Conn::default()),
            on_frame: Rc::new(on_frame),
            set_status,
        });
        let for_effect = SendWrapper::new(live.clone());
        Effect::new(move |_| {
            let path = path();
            let live = (*for_effect).clone();
            live.conn.borrow_mut().path = path;
            live.conn.borrow_mut().attempt = 0;
            connect(&live);
        });
        let for_cleanup = SendWrapper::new(live);
        on_cleanup(move || dispose(&for_cleanup));
    }

    /// The socket URL of a stream path, on this page's host (wss under https).
    pub fn ws_url(path: &str) -> Option<String> {
        let location = web_sys::window()?.location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!("{scheme}://{}{path}", location.host().ok()?))
    }

    /// Why a socket's handshake failed, which the browser does not say: the same path asked
    /// over HTTP gets the same refusal (the server checks everything before the upgrade).
    /// The status (0 when the request failed) and the `{"error"}` message, if any.
    pub async fn refusal(
        path: &str,
        signal: Option<&web_sys::AbortSignal>,
    ) -> (u16, Result<String, String>) {
        let response = gloo_net::http::Request::get(path)
            .abort_signal(signal)
            .send()
            .await;
        match response {
            Ok(r) => {
                let status = r.status();
                let body: Option<serde_json::Value> = r.json().await.ok();
                let message = body
                    .and_then(|b| b.get("error").and_then(|e| e.as_str()).map(str::to_string))
                    .ok_or_else(String::new);
                (status, message)
            }
            Err(e) => (0, Ok(e.to_string())),
        }
    }

    /// Closes the current socket (if any) with 1000 and forgets its handlers; its late
    /// events carry an old generation and are ignored.
    fn close_current(conn: &mut Conn) {
        if let Some((socket, handlers)) = conn.socket.take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close_with_code_and_reason(CLOSE_NORMAL, "closed by Berth");
            // We may be inside one of these handlers (a frame that unmounts its component):
            // release them once the current callback has returned.
            leptos::task::spawn_local(async move { drop(handlers) });
        }
        if let Some(timer) = conn.timer.take() {
            timer.clear();
        }
        if let Some(probe) = conn.probe.take() {
            probe.abort();
        }
    }

    fn dispose(live: &Rc<Live>) {
        let mut conn = live.conn.borrow_mut();
        conn.disposed = true;
        conn.generation += 1;
        close_current(&mut conn);
    }

    fn connect(live: &Rc<Live>) {
        let mut conn = live.conn.borrow_mut();
        close_current(&mut conn);
        conn.generation += 1;
        conn.opened = false;
        conn.ended = false;
        let Some(url) = conn.path.as_deref().and_then(ws_url) else {
            return;
        };
        if conn.disposed {
            return;
        }
        let socket = match WebSocket::new(&url) {
            Ok(socket) => socket,
            Err(_) => {
                live.set_status
                    .set(LiveStatus::Failed(format!("cannot open {url}")));
                return;
            }
        };
        let generation = conn.generation;
        live.set_status.set(LiveStatus::Connecting);

        let on_open = {
            let live = live.clone();
            Closure::<dyn FnMut()>::new(move || {
                let mut conn = live.conn.borrow_mut();
                if conn.generation == generation {
                    conn.opened = true;
                    conn.attempt = 0;
                    drop(conn);
                    live.set_status.set(LiveStatus::Open);
                }
            })
        };
        let on_message = {
            let live = live.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if live.conn.borrow().generation != generation {
                    return;
                }
                let Some(text) = event.data().as_string() else {
                    return;
                };
                let Ok(frame) = serde_json::from_str::<Frame>(&text) else {
                    return;
                };
                if let Frame::End {
                    reason,
                    retry: false,
                } = &frame
                {
                    live.conn.borrow_mut().ended = true;
                    live.set_status.set(LiveStatus::Ended(reason.clone()));
                }
                (live.on_frame)(frame);
            })
        };
        let on_close = {
            let live = live.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |_event: CloseEvent| {
                let conn = live.conn.borrow();
                if conn.generation != generation || conn.disposed {
                    return;
                }
                let (opened, ended) = (conn.opened, conn.ended);
                drop(conn);
                if ended {
                    return;
                }
                if opened {
                    schedule(&live, backoff(&live));
                } else {
                    probe(&live, generation);
                }
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        conn.socket = Some((
            socket,
            Handlers {
                _open: on_open,
                _message: on_message,
                _close: on_close,
            },
        ));
    }

    /// Exponential from 1 s to 30 s, with jitter so reloaded tabs do not return in step.
    fn backoff(live: &Rc<Live>) -> u64 {
        let mut conn = live.conn.borrow_mut();
        let base = (BACKOFF_MIN_MS * 2f64.powi(conn.attempt.min(10) as i32)).min(BACKOFF_MAX_MS);
        conn.attempt += 1;
        (base * (0.5 + js_sys::Math::random() / 2.0)) as u64
    }

    fn schedule(live: &Rc<Live>, delay_ms: u64) {
        schedule_with(
            live,
            delay_ms,
            LiveStatus::Reconnecting {
                in_secs: delay_ms.div_ceil(1000) as u32,
            },
        );
    }

    fn schedule_with(live: &Rc<Live>, delay_ms: u64, status: LiveStatus) {
        live.set_status.set(status);
        let again = SendWrapper::new(live.clone());
        let timer =
            set_timeout_with_handle(move || connect(&again), Duration::from_millis(delay_ms));
        live.conn.borrow_mut().timer = timer.ok();
    }

    /// The handshake failed and the browser will not say why: ask the server over HTTP.
    fn probe(live: &Rc<Live>, generation: u32) {
        let Some(path) = live.conn.borrow().path.clone() else {
            return;
        };
        let controller = AbortController::new().ok();
        let signal = controller.as_ref().map(|c| c.signal());
        live.conn.borrow_mut().probe = controller;
        live.set_status.set(LiveStatus::Connecting);
        let live = live.clone();
        leptos::task::spawn_local(async move {
            let (status, message) = refusal(&path, signal.as_ref()).await;
            if live.conn.borrow().generation != generation || live.conn.borrow().disposed {
                return;
            }
            live.conn.borrow_mut().probe = None;
            let message = message.unwrap_or_else(|_| format!("HTTP {status}"));
            match status {
                429 => schedule_with(
                    &live,
                    LIMITED_RETRY_MS,
                    LiveStatus::Limited {
                        message: format!("Connection limit reached: {message}"),
                        in_secs: (LIMITED_RETRY_MS / 1000) as u32,
                    },
                ),
                400 | 403 | 404 => live.set_status.set(LiveStatus::Failed(message)),
                _ => schedule(&live, backoff(&live)),
            }
        });
    }
}
