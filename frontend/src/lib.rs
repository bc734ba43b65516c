//! The Wasm entry point: hydrates the server-rendered page. Empty on non-Wasm targets so a
//! host build of the whole workspace never mixes `hydrate` into the server's `app`.

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
