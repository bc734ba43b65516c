//! The few parts of xterm.js (and its fit addon) the terminal tab uses, bound through
//! wasm-bindgen. The scripts are Berth's own static assets (`/xterm/`, copied from npm by
//! `scripts/tools.sh`), loaded on first use by [`load`] (through `scripts.rs`): a page
//! without a terminal never downloads them.

use wasm_bindgen::{JsValue, closure::Closure, prelude::wasm_bindgen};

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

/// Adds xterm's stylesheet and scripts to the page once; resolves when both scripts ran.
pub async fn load() -> Result<(), String> {
    use crate::scripts::Script;
    let scripts = [
        Script {
            src: "/xterm/xterm.js",
            global: "Terminal",
        },
        Script {
            src: "/xterm/addon-fit.js",
            global: "FitAddon",
        },
    ];
    crate::scripts::load(Some("/xterm/xterm.css"), &scripts).await
}
