//! The few parts of xterm.js (and its fit addon) the terminal tab uses, bound through
//! wasm-bindgen. The scripts are Berth's own static assets (`/xterm/`, copied from npm by
//! `scripts/tools.sh`), loaded on first use by [`load`]: a page without a terminal never
//! downloads them.

use wasm_bindgen::{JsCast, JsValue, closure::Closure, prelude::wasm_bindgen};

#[wasm_bindgen]
extern "C" {
    /// `new Terminal(options)`, the global of `xterm.js`.
    pub type Terminal;

    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue) -> Terminal;

    #[wasm_bindgen(method)]
    pub fn open(this: &Terminal, parent: &web_sys::HtmlElement);

    #[wasm_bindgen(method)]
    pub fn write(this: &Terminal, data: &js_sys::Uint8Array);

    #[wasm_bindgen(method, js_name = write)]
    pub fn write_text(this: &Terminal, data: &str);

    /// What the user typed or pasted, as the process should read it.
    #[wasm_bindgen(method, js_name = onData)]
    pub fn on_data(this: &Terminal, callback: &Closure<dyn FnMut(String)>) -> JsValue;

    /// The size changed (`{cols, rows}`), after a fit.
    #[wasm_bindgen(method, js_name = onResize)]
    pub fn on_resize(this: &Terminal, callback: &Closure<dyn FnMut(JsValue)>) -> JsValue;

    #[wasm_bindgen(method, getter)]
    pub fn cols(this: &Terminal) -> u16;

    #[wasm_bindgen(method, getter)]
    pub fn rows(this: &Terminal) -> u16;

    #[wasm_bindgen(method, js_name = loadAddon)]
    pub fn load_addon(this: &Terminal, addon: &Fit);

    #[wasm_bindgen(method, js_name = getSelection)]
    pub fn selection(this: &Terminal) -> String;

    /// Sends `data` as a paste (bracketed when the program asked for it).
    #[wasm_bindgen(method)]
    pub fn paste(this: &Terminal, data: &str);

    /// Called for each key first; `false` keeps it from the terminal.
    #[wasm_bindgen(method, js_name = attachCustomKeyEventHandler)]
    pub fn on_key(this: &Terminal, handler: &Closure<dyn FnMut(web_sys::KeyboardEvent) -> bool>);

    #[wasm_bindgen(method)]
    pub fn focus(this: &Terminal);

    /// Frees the terminal: its DOM, listeners and buffers.
    #[wasm_bindgen(method)]
    pub fn dispose(this: &Terminal);
}

#[wasm_bindgen]
extern "C" {
    /// `new FitAddon.FitAddon()`, the global of `addon-fit.js`.
    #[wasm_bindgen(js_namespace = FitAddon, js_name = FitAddon)]
    pub type Fit;

    #[wasm_bindgen(constructor, js_namespace = FitAddon, js_class = "FitAddon")]
    pub fn new() -> Fit;

    /// Sizes the terminal to its element.
    #[wasm_bindgen(method)]
    pub fn fit(this: &Fit);
}

const SCRIPTS: [&str; 2] = ["/xterm/xterm.js", "/xterm/addon-fit.js"];
const STYLE: &str = "/xterm/xterm.css";

fn loaded() -> bool {
    is_global("Terminal") && is_global("FitAddon")
}

/// Adds xterm's stylesheet and scripts to the page once; resolves when both scripts ran.
pub async fn load() -> Result<(), String> {
    if loaded() {
        return Ok(());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let head = document.head().ok_or("no head")?;
    if document
        .query_selector(&format!("link[href='{STYLE}']"))
        .ok()
        .flatten()
        .is_none()
    {
        let link = document.create_element("link").map_err(|_| "no link")?;
        let _ = link.set_attribute("rel", "stylesheet");
        let _ = link.set_attribute("href", STYLE);
        let _ = head.append_child(&link);
    }
    // In order: the addon expects nothing of xterm, but one at a time keeps errors plain.
    for src in SCRIPTS {
        let existing = document
            .query_selector(&format!("script[src='{src}']"))
            .ok()
            .flatten();
        let script = match existing {
            Some(script) => script,
            None => {
                let script = document.create_element("script").map_err(|_| "no script")?;
                let _ = script.set_attribute("src", src);
                script
            }
        };
        let (done, wait) = futures::channel::oneshot::channel::<Result<(), String>>();
        let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
        let on = |ok: bool| {
            let done = done.clone();
            Closure::<dyn FnMut()>::new(move || {
                if let Some(done) = done.borrow_mut().take() {
                    let _ = done.send(match ok {
                        true => Ok(()),
                        false => Err(format!("cannot load {src}")),
                    });
                }
            })
        };
        let (on_load, on_error) = (on(true), on(false));
        let target: &web_sys::EventTarget = script.unchecked_ref();
        let _ = target.add_event_listener_with_callback("load", on_load.as_ref().unchecked_ref());
        let _ = target.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        if script.parent_node().is_none() {
            let _ = head.append_child(&script);
        }
        // A script another terminal added and that has already run fires no more events.
        let ran = match src == SCRIPTS[0] {
            true => is_global("Terminal"),
            false => is_global("FitAddon"),
        };
        let result = match ran {
            true => Ok(()),
            false => wait.await.unwrap_or(Err(format!("cannot load {src}"))),
        };
        let _ =
            target.remove_event_listener_with_callback("load", on_load.as_ref().unchecked_ref());
        let _ =
            target.remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        result?;
    }
    match loaded() {
        true => Ok(()),
        false => Err("xterm.js did not define Terminal".into()),
    }
}

fn is_global(name: &str) -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(false)
}
