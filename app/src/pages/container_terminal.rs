//! The container page's Terminal tab: a command (a shell by default), user and working
//! directory, then xterm.js on a socket of its own. Nothing runs until Connect; leaving the
//! tab, the page or Berth closes the socket and disposes the terminal in `on_cleanup`, and
//! Berth ends the process. Copy and paste: the buttons, or Ctrl+Shift+C and Ctrl+Shift+V.

use crate::{
    terminal::{DEFAULT_COMMAND, ExecRequest, SHELLS},
    urls::On,
};
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub enum TermStatus {
    Idle,
    Loading,
    Connecting,
    Open,
    Exited(Option<i64>),
    Ended(String),
    Failed(String),
}

impl TermStatus {
    fn label(&self) -> String {
        match self {
            TermStatus::Idle => "not connected".into(),
            TermStatus::Loading => "loading the terminal…".into(),
            TermStatus::Connecting => "connecting…".into(),
            TermStatus::Open => "connected".into(),
            TermStatus::Exited(Some(code)) => format!("process exited with code {code}"),
            TermStatus::Exited(None) => "process exited".into(),
            TermStatus::Ended(reason) => format!("closed: {reason}"),
            TermStatus::Failed(reason) => reason.clone(),
        }
    }

    fn live(&self) -> bool {
        matches!(
            self,
            TermStatus::Loading | TermStatus::Connecting | TermStatus::Open
        )
    }

    fn class(&self) -> &'static str {
        match self {
            TermStatus::Open => "live-status open",
            TermStatus::Loading | TermStatus::Connecting => "live-status waiting",
            _ => "live-status ended",
        }
    }
}

#[component]
pub fn ContainerTerminal(on: On, id: String) -> impl IntoView {
    let cmd = RwSignal::new(DEFAULT_COMMAND.to_string());
    let user = RwSignal::new(String::new());
    let workdir = RwSignal::new(String::new());
    let status = RwSignal::new(TermStatus::Idle);
    let screen = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    let terminal = browser::Controller::new(status, screen);
    let connect = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = ExecRequest {
            cmd: Some(cmd.get_untracked()),
            user: Some(user.get_untracked()),
            workdir: Some(workdir.get_untracked()),
        };
        if let Err(e) = request.check() {
            status.set(TermStatus::Failed(e.error));
            return;
        }
        let path = crate::urls::ws_container_exec(&on, &id, &request);
        #[cfg(feature = "hydrate")]
        terminal.connect(path);
        #[cfg(not(feature = "hydrate"))]
        let _ = path;
    };
    let disconnect = move |_| {
        #[cfg(feature = "hydrate")]
        terminal.disconnect();
    };
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        terminal.copy();
    };
    let paste = move |_| {
        #[cfg(feature = "hydrate")]
        terminal.paste();
    };
    view! {
        <section class="terminal-tab" data-testid="terminal">
            <form class="toolbar terminal-form" on:submit=connect>
                {field("Command", cmd, "", "terminal-cmd", Some("terminal-shells"))}
                <datalist id="terminal-shells">
                    {SHELLS.map(|shell| view! { <option value=shell></option> }).collect_view()}
                </datalist>
                {field("User", user, "the container's", "terminal-user", None)}
                {field("Directory", workdir, "the container's", "terminal-workdir", None)}
                <Show
                    when=move || status.with(TermStatus::live)
                    fallback=|| view! { <button type="submit" data-testid="terminal-connect">"Connect"</button> }
                >
                    <button type="button" on:click=disconnect data-testid="terminal-disconnect">
                        "Disconnect"
                    </button>
                </Show>
                <button type="button" on:click=copy title="Copy the selection (Ctrl+Shift+C)">
                    "Copy"
                </button>
                <button type="button" on:click=paste title="Paste (Ctrl+Shift+V)">
                    "Paste"
                </button>
                <span class=move || status.with(TermStatus::class) data-testid="terminal-status">
                    {move || status.with(TermStatus::label)}
                </span>
            </form>
            <div class="terminal-screen" node_ref=screen data-testid="terminal-screen"></div>
        </section>
    }
}

/// A labelled text input bound to `value`.
fn field(
    label: &'static str,
    value: RwSignal<String>,
    placeholder: &'static str,
    testid: &'static str,
    list: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label} " "
            <input
                class="mono"
                list=list
                placeholder=placeholder
                data-testid=testid
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::TermStatus;
    use crate::terminal::{TerminalInput, TerminalOutput};
    use crate::xterm::{Fit, Terminal};
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::{cell::RefCell, rc::Rc};
    use wasm_bindgen::{JsCast, JsValue, closure::Closure};
    use web_sys::{BinaryType, CloseEvent, KeyboardEvent, MessageEvent, WebSocket};

    /// A paste is sent in pieces the server takes (its limit is 64 KiB per message).
    const CHUNK: usize = 16 * 1024;

    const OPTIONS: &str = r##"{"cursorBlink":true,"fontSize":14,"scrollback":5000,
        "fontFamily":"ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
        "theme":{"background":"#111418","foreground":"#e6e6e6"}}"##;

    /// What one connection holds; all of it goes in [`Running::dispose`].
    struct Running {
        term: Terminal,
        /// Owned by the terminal once loaded; kept for as long as it lives.
        _fit: Fit,
        socket: WebSocket,
        on_window_resize: Closure<dyn FnMut()>,
        _handlers: Vec<Box<dyn std::any::Any>>,
    }

    impl Running {
        fn dispose(self) {
            let socket = &self.socket;
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onclose(None);
            let _ = socket.close_with_code_and_reason(1000, "closed by Berth");
            if let Some(window) = web_sys::window() {
                let _ = window.remove_event_listener_with_callback(
                    "resize",
                    self.on_window_resize.as_ref().unchecked_ref(),
                );
            }
            self.term.dispose();
            // We may be inside one of these handlers: release them once it has returned.
            leptos::task::spawn_local(async move { drop(self) });
        }
    }

    struct Inner {
        running: Option<Running>,
        /// Bumped for every connection: a late load or event of an older one is ignored.
        generation: u32,
        opened: bool,
        disposed: bool,
        status: RwSignal<TermStatus>,
        screen: NodeRef<leptos::html::Div>,
    }

    /// The tab's terminal, owned by the component: disposed in its `on_cleanup`.
    #[derive(Clone, Copy)]
    pub struct Controller(StoredValue<SendWrapper<Rc<RefCell<Inner>>>, LocalStorage>);

    impl Controller {
        pub fn new(status: RwSignal<TermStatus>, screen: NodeRef<leptos::html::Div>) -> Self {
            let inner = Rc::new(RefCell::new(Inner {
                running: None,
                generation: 0,
                opened: false,
                disposed: false,
                status,
                screen,
            }));
            let for_cleanup = SendWrapper::new(inner.clone());
            on_cleanup(move || {
                let mut inner = for_cleanup.borrow_mut();
                inner.disposed = true;
                inner.generation += 1;
                if let Some(running) = inner.running.take() {
                    running.dispose();
                }
            });
            Self(StoredValue::new_local(SendWrapper::new(inner)))
        }

        fn inner(&self) -> Option<Rc<RefCell<Inner>>> {
            self.0.try_with_value(|inner| (**inner).clone())
        }

        pub fn disconnect(&self) {
            let Some(inner) = self.inner() else { return };
            let mut inner = inner.borrow_mut();
            inner.generation += 1;
            if let Some(running) = inner.running.take() {
                running.dispose();
            }
            inner.status.set(TermStatus::Ended("disconnected".into()));
        }

        pub fn connect(&self, path: String) {
            let Some(inner) = self.inner() else { return };
            let generation = {
                let mut state = inner.borrow_mut();
                if state.disposed {
                    return;
                }
                state.generation += 1;
                state.opened = false;
                if let Some(running) = state.running.take() {
                    running.dispose();
                }
                state.status.set(TermStatus::Loading);
                state.generation
            };
            leptos::task::spawn_local(async move {
                let loaded = crate::xterm::load().await;
                let current = |inner: &Inner| inner.generation == generation && !inner.disposed;
                if !current(&inner.borrow()) {
                    return;
                }
                if let Err(e) = loaded {
                    inner.borrow().status.set(TermStatus::Failed(e));
                    return;
                }
                match start(&inner, generation, &path) {
                    Ok(running) => inner.borrow_mut().running = Some(running),
                    Err(e) => inner.borrow().status.set(TermStatus::Failed(e)),
                }
            });
        }

        pub fn copy(&self) {
            let Some(inner) = self.inner() else { return };
            if let Some(running) = &inner.borrow().running {
                copy_selection(&running.term);
            }
        }

        pub fn paste(&self) {
            let Some(inner) = self.inner() else { return };
            let inner = inner.borrow();
            if let Some(running) = &inner.running {
                paste_clipboard(&running.term, inner.status);
            }
        }
    }

    fn copy_selection(term: &Terminal) {
        let selection = term.selection();
        if let Some(window) = web_sys::window()
            && !selection.is_empty()
        {
            let _ = window.navigator().clipboard().write_text(&selection);
        }
    }

    /// Reads the clipboard (the browser asks the user first) into the terminal as a paste.
    fn paste_clipboard(term: &Terminal, status: RwSignal<TermStatus>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let read = window.navigator().clipboard().read_text();
        let term: &JsValue = term.as_ref();
        let term = SendWrapper::new(term.clone().unchecked_into::<Terminal>());
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(read).await {
                Ok(text) => {
                    if let Some(text) = text.as_string() {
                        term.paste(&text);
                    }
                }
                Err(_) => status.set(TermStatus::Failed(
                    "the browser did not allow reading the clipboard: use Ctrl+Shift+V".into(),
                )),
            }
        });
    }

    fn send_resize(socket: &WebSocket, term: &Terminal) {
        let resize = TerminalInput::Resize {
            cols: term.cols(),
            rows: term.rows(),
        };
        if let Ok(text) = serde_json::to_string(&resize) {
            let _ = socket.send_with_str(&text);
        }
    }

    /// Creates the terminal in the tab's element and opens its socket.
    fn start(inner: &Rc<RefCell<Inner>>, generation: u32, path: &str) -> Result<Running, String> {
        let element = inner
            .borrow()
            .screen
            .get_untracked()
            .ok_or("the terminal's element is gone")?;
        let element: web_sys::HtmlElement = element.unchecked_into();
        element.set_inner_html("");
        let options = js_sys::JSON::parse(OPTIONS).map_err(|_| "bad terminal options")?;
        let term = Terminal::new(&options);
        let fit = Fit::new();
        term.load_addon(&fit);
        term.open(&element);
        fit.fit();
        term.focus();
        let url = crate::live::ws_url(path).ok_or("no page address")?;
        let socket = WebSocket::new(&url).map_err(|_| format!("cannot open {url}"))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let status = inner.borrow().status;
        status.set(TermStatus::Connecting);
        let current = {
            let inner = inner.clone();
            move || {
                let inner = inner.borrow();
                inner.generation == generation && !inner.disposed
            }
        };
        let term_ref = |term: &Terminal| -> Terminal {
            let value: &JsValue = term.as_ref();
            value.clone().unchecked_into()
        };

        let on_open = {
            let (inner, current, socket, term) = (
                inner.clone(),
                current.clone(),
                socket.clone(),
                term_ref(&term),
            );
            Closure::<dyn FnMut()>::new(move || {
                if current() {
                    inner.borrow_mut().opened = true;
                    status.set(TermStatus::Open);
                    send_resize(&socket, &term);
                }
            })
        };
        let on_message = {
            let (current, term) = (current.clone(), term_ref(&term));
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if !current() {
                    return;
                }
                let data = event.data();
                if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                    term.write(&js_sys::Uint8Array::new(buffer));
                    return;
                }
                let Some(text) = data.as_string() else { return };
                match serde_json::from_str::<TerminalOutput>(&text) {
                    Ok(TerminalOutput::Exited { code }) => {
                        let said = TermStatus::Exited(code).label();
                        term.write_text(&format!("\r\n[{said}]\r\n"));
                        status.set(TermStatus::Exited(code));
                    }
                    Ok(TerminalOutput::End { reason }) => {
                        term.write_text(&format!("\r\n[{reason}]\r\n"));
                        status.set(TermStatus::Ended(reason));
                    }
                    Err(_) => {}
                }
            })
        };
        let on_close = {
            let (inner, current) = (inner.clone(), current.clone());
            let path = path.to_string();
            Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
                if !current() || !status.with_untracked(TermStatus::live) {
                    return;
                }
                match inner.borrow().opened {
                    true => status.set(TermStatus::Ended(format!(
                        "the connection closed ({})",
                        event.code()
                    ))),
                    false => probe(path.clone(), status, current.clone()),
                }
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        let on_data = {
            let socket = socket.clone();
            Closure::<dyn FnMut(String)>::new(move |data: String| {
                if socket.ready_state() != WebSocket::OPEN {
                    return;
                }
                for piece in data.as_bytes().chunks(CHUNK) {
                    let _ = socket.send_with_u8_array(piece);
                }
            })
        };
        term.on_data(&on_data);
        let on_resize = {
            let (socket, term) = (socket.clone(), term_ref(&term));
            Closure::<dyn FnMut(JsValue)>::new(move |_size: JsValue| {
                if socket.ready_state() == WebSocket::OPEN {
                    send_resize(&socket, &term);
                }
            })
        };
        term.on_resize(&on_resize);
        let on_key = {
            let term = term_ref(&term);
            Closure::<dyn FnMut(KeyboardEvent) -> bool>::new(move |event: KeyboardEvent| {
                let chord = event.ctrl_key() && event.shift_key() && event.type_() == "keydown";
                match event.key().to_ascii_lowercase().as_str() {
                    "c" if chord => {
                        copy_selection(&term);
                        false
                    }
                    "v" if chord => {
                        paste_clipboard(&term, status);
                        false
                    }
                    _ => true,
                }
            })
        };
        term.on_key(&on_key);
        let on_window_resize = {
            let fit: &JsValue = fit.as_ref();
            let fit: Fit = fit.clone().unchecked_into();
            Closure::<dyn FnMut()>::new(move || fit.fit())
        };
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback(
                "resize",
                on_window_resize.as_ref().unchecked_ref(),
            );
        }
        Ok(Running {
            term,
            _fit: fit,
            socket,
            on_window_resize,
            _handlers: vec![
                Box::new(on_open),
                Box::new(on_message),
                Box::new(on_close),
                Box::new(on_data),
                Box::new(on_resize),
                Box::new(on_key),
            ],
        })
    }

    /// The handshake failed and the browser will not say why: ask the server over HTTP (it
    /// checks everything before the upgrade, so the same GET gets the same refusal).
    fn probe(path: String, status: RwSignal<TermStatus>, current: impl Fn() -> bool + 'static) {
        leptos::task::spawn_local(async move {
            let (code, message) = crate::live::refusal(&path, None).await;
            if !current() {
                return;
            }
            let message =
                message.unwrap_or_else(|_| format!("the terminal could not open (HTTP {code})"));
            status.set(TermStatus::Failed(message));
        });
    }
}
