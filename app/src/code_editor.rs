//! A file in a code editor: CodeMirror 6 (`tools/editor.js`, loaded on first use) once the
//! browser has it, a plain text area before that (server-rendered, so the file shows without
//! Wasm) and instead of it when the script cannot load. Ctrl-S saves in both.

use leptos::prelude::*;

/// The editor on `text`: the user's changes are written into it, and a change made to it
/// from outside (a reload, a restore) replaces the editor's text. `error_line` (1-based) is
/// marked and scrolled to.
#[component]
pub fn CodeEditor(
    text: RwSignal<String>,
    /// What the editor is, for screen readers (and tests).
    label: &'static str,
    #[prop(default = false)] yaml: bool,
    /// Viewers read the file; only its text area's and the editor's editing follow this.
    #[prop(into)]
    read_only: Signal<bool>,
    #[prop(into)] error_line: Signal<Option<u32>>,
    on_save: Callback<()>,
) -> impl IntoView {
    let host = NodeRef::<leptos::html::Div>::new();
    let ready = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    browser::attach(
        host, ready, text, label, yaml, read_only, error_line, on_save,
    );
    #[cfg(not(feature = "hydrate"))]
    let _ = (yaml, error_line);
    // The server's page holds the file as the text area's content (readable without Wasm);
    // as markup rather than a text node, which a file starting with a newline would lose
    // and hydration would then not find. The parser drops one newline after the tag.
    let initial = format!("\n{}", text.with_untracked(|t| escape(t)));
    let keydown = move |ev: leptos::ev::KeyboardEvent| {
        if (ev.ctrl_key() || ev.meta_key()) && ev.key().eq_ignore_ascii_case("s") {
            ev.prevent_default();
            on_save.run(());
        }
    };
    view! {
        <div class="code-editor" class:ready=move || ready.get()>
            <textarea
                class="code-fallback mono"
                aria-label=label
                spellcheck="false"
                wrap="off"
                rows="24"
                readonly=move || read_only.get()
                inner_html=initial
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:keydown=keydown
            ></textarea>
            <div class="code-host" node_ref=host></div>
        </div>
    }
}

/// `text` as the content of an element whose text is raw (a text area): `&` and `<` as
/// references, so nothing in it closes the element.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;")
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::scripts::{Script, load};
    use leptos::prelude::*;
    use wasm_bindgen::{JsValue, closure::Closure, prelude::wasm_bindgen};

    #[wasm_bindgen]
    extern "C" {
        /// `new BerthEditor(parent, options)`, the global of `/editor/editor.js`.
        #[wasm_bindgen(js_name = BerthEditor)]
        type Editor;

        #[wasm_bindgen(constructor, js_class = "BerthEditor")]
        fn new(parent: &web_sys::HtmlElement, options: &JsValue) -> Editor;

        /// Replaces the text unless it is already that.
        #[wasm_bindgen(method, js_name = setValue)]
        fn set_value(this: &Editor, text: &str);

        #[wasm_bindgen(method, js_name = setReadOnly)]
        fn set_read_only(this: &Editor, on: bool);

        /// Marks line `n` (0: none) and scrolls to it.
        #[wasm_bindgen(method)]
        fn mark(this: &Editor, line: u32);

        /// Frees the view: its DOM, listeners and state.
        #[wasm_bindgen(method)]
        fn destroy(this: &Editor);
    }

    const SCRIPT: Script = Script {
        src: "/editor/editor.js",
        global: "BerthEditor",
    };

    /// The editor and the callbacks it holds: they live exactly as long as each other.
    struct Live {
        editor: Editor,
        _on_change: Closure<dyn FnMut(String)>,
        _on_save: Closure<dyn FnMut()>,
    }

    #[allow(clippy::too_many_arguments)]
    pub fn attach(
        host: NodeRef<leptos::html::Div>,
        ready: RwSignal<bool>,
        text: RwSignal<String>,
        label: &'static str,
        yaml: bool,
        read_only: Signal<bool>,
        error_line: Signal<Option<u32>>,
        on_save: Callback<()>,
    ) {
        let live = StoredValue::new_local(None::<Live>);
        on_cleanup(move || {
            if let Some(live) = live.try_update_value(Option::take).flatten() {
                live.editor.destroy();
            }
        });
        Effect::new(move |started: Option<bool>| {
            if started == Some(true) {
                return true;
            }
            let Some(parent) = host.get() else {
                return false;
            };
            leptos::task::spawn_local(async move {
                if let Err(e) = load(None, &[SCRIPT]).await {
                    // The text area stays: the file can still be edited and saved.
                    leptos::logging::warn!("the code editor did not load: {e}");
                    return;
                }
                // Gone while the script loaded: nothing to make.
                if live.try_with_value(|_| ()).is_none() {
                    return;
                }
                let on_change = Closure::<dyn FnMut(String)>::new(move |value: String| {
                    text.try_set(value);
                });
                let on_save = Closure::<dyn FnMut()>::new(move || on_save.run(()));
                let options = js_sys::Object::new();
                let set = |key: &str, value: &JsValue| {
                    let _ = js_sys::Reflect::set(&options, &JsValue::from_str(key), value);
                };
                set("doc", &JsValue::from_str(&text.get_untracked()));
                set("yaml", &JsValue::from_bool(yaml));
                set("readOnly", &JsValue::from_bool(read_only.get_untracked()));
                set("label", &JsValue::from_str(label));
                set("onChange", on_change.as_ref());
                set("onSave", on_save.as_ref());
                let editor = Editor::new(&parent, &options);
                live.set_value(Some(Live {
                    editor,
                    _on_change: on_change,
                    _on_save: on_save,
                }));
                ready.try_set(true);
            });
            true
        });
        // What follows the page once the editor exists: a change of text from outside (its
        // own changes come back as its own text, a no-op there), who may edit, the error's line.
        let with_editor = move |act: &dyn Fn(&Editor)| {
            if ready.get() {
                live.with_value(|live| {
                    if let Some(live) = live {
                        act(&live.editor);
                    }
                });
            }
        };
        Effect::new(move |_| {
            let value = text.get();
            with_editor(&|editor| editor.set_value(&value));
        });
        Effect::new(move |_| {
            let locked = read_only.get();
            with_editor(&|editor| editor.set_read_only(locked));
        });
        Effect::new(move |_| {
            let line = error_line.get().unwrap_or(0);
            with_editor(&|editor| editor.mark(line));
        });
    }
}
