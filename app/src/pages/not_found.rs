//! The page for any path no route matches.

use crate::status::set_http_status;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    set_http_status(404);
    view! {
        <Title text="Not found" />
        <section class="error-panel" data-status="404">
            <h2>"Not found"</h2>
            <p>"There is no page at this address. " <a href=crate::urls::ALL_CONTAINERS>"See all containers"</a>"."</p>
        </section>
    }
}
