//! The HTTP status of a server-rendered page, and the panel that shows an error.

use crate::model::ApiError;
use leptos::prelude::*;

/// Sets the status of the response being rendered; nothing in the browser.
pub fn set_http_status(status: u16) {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        response.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// An error in place of a page's content; also makes it the page's HTTP status.
#[component]
pub fn ErrorPanel(error: ApiError) -> impl IntoView {
    if error.status >= 400 {
        set_http_status(error.status);
    }
    let title = match error.status {
        400 => "Bad request",
        404 => "Not found",
        503 => "Docker engine unavailable",
        _ => "Something went wrong",
    };
    view! {
        <section class="error-panel" data-status=error.status>
            <h2>{title}</h2>
            <p class="error-message">{error.error}</p>
        </section>
    }
}
