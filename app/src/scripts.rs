//! Loads Berth's own large scripts (xterm.js for the terminal, CodeMirror for the stack
//! editor) the first time a page needs them, so a page without them never downloads them.

use wasm_bindgen::{JsCast, JsValue, closure::Closure};

/// A script and the global it defines once it has run.
pub struct Script {
    pub src: &'static str,
    pub global: &'static str,
}

/// Adds `style` (if any) and `scripts` to the page once, in order; resolves when every
/// script's global exists. A script another component already added is waited for, not
/// added twice.
pub async fn load(style: Option<&str>, scripts: &[Script]) -> Result<(), String> {
    if scripts.iter().all(|s| is_global(s.global)) {
        return Ok(());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let head = document.head().ok_or("no head")?;
    if let Some(style) = style
        && document
            .query_selector(&format!("link[href='{style}']"))
            .ok()
            .flatten()
            .is_none()
    {
        let link = document.create_element("link").map_err(|_| "no link")?;
        let _ = link.set_attribute("rel", "stylesheet");
        let _ = link.set_attribute("href", style);
        let _ = head.append_child(&link);
    }
    // One at a time: a later script may need an earlier one, and errors stay plain.
    for script in scripts {
        load_one(&document, &head, script).await?;
    }
    Ok(())
}

async fn load_one(
    document: &web_sys::Document,
    head: &web_sys::HtmlHeadElement,
    wanted: &Script,
) -> Result<(), String> {
    let src = wanted.src;
    let failed = || format!("cannot load {src}");
    let existing = document
        .query_selector(&format!("script[src='{src}']"))
        .ok()
        .flatten();
    let element = match existing {
        Some(element) => element,
        None => {
            let element = document.create_element("script").map_err(|_| "no script")?;
            let _ = element.set_attribute("src", src);
            element
        }
    };
    let (done, wait) = futures::channel::oneshot::channel::<bool>();
    let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
    let on = |ok: bool| {
        let done = done.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(done) = done.borrow_mut().take() {
                let _ = done.send(ok);
            }
        })
    };
    let (on_load, on_error) = (on(true), on(false));
    let target: &web_sys::EventTarget = element.unchecked_ref();
    let _ = target.add_event_listener_with_callback("load", on_load.as_ref().unchecked_ref());
    let _ = target.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    if element.parent_node().is_none() {
        let _ = head.append_child(&element);
    }
    // A script that has already run fires no more events.
    let ran = is_global(wanted.global) || wait.await.unwrap_or(false);
    let _ = target.remove_event_listener_with_callback("load", on_load.as_ref().unchecked_ref());
    let _ = target.remove_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    if !ran {
        // A script that failed fires nothing again: the next attempt adds a fresh one.
        element.remove();
    }
    match ran && is_global(wanted.global) {
        true => Ok(()),
        false if ran => Err(format!("{src} did not define {}", wanted.global)),
        false => Err(failed()),
    }
}

fn is_global(name: &str) -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(false)
}
