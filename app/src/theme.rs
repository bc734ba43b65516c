//! Light, dark, or the system's choice. The choice lives in a cookie, so the server renders
//! `<html data-theme=…>` with it and the first paint already has the right colours (no
//! flash); the toggle in the header changes the attribute and the cookie at once. The
//! colours themselves are CSS `light-dark()` pairs driven by `color-scheme`.

use leptos::prelude::*;

pub const COOKIE: &str = "berth_theme";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "light" => Theme::Light,
            "dark" => Theme::Dark,
            _ => Theme::System,
        }
    }

    /// The one the toggle goes to next.
    fn next(self) -> Self {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    /// The theme a `Cookie` header asks for.
    #[cfg(any(feature = "ssr", test))]
    pub fn of_cookies(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map_or(Theme::System, |(_, value)| Theme::parse(value))
    }

    /// The theme of the page being rendered (server) or shown (browser).
    pub fn current() -> Self {
        #[cfg(feature = "ssr")]
        {
            use_context::<http::request::Parts>()
                .and_then(|parts| {
                    let header = parts.headers.get(http::header::COOKIE)?;
                    Some(Theme::of_cookies(header.to_str().ok()?))
                })
                .unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        {
            #[cfg(feature = "hydrate")]
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                return Theme::parse(&root.get_attribute("data-theme").unwrap_or_default());
            }
            Theme::System
        }
    }
}

/// Applies `theme` to the page and remembers it for a year.
#[cfg(feature = "hydrate")]
fn apply(theme: Theme) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(root) = document.document_element() {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
    if let Ok(html) = document.dyn_into::<web_sys::HtmlDocument>() {
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
            theme.as_str()
        );
        let _ = html.set_cookie(&cookie);
    }
}

/// The header's button: system → light → dark → system.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = RwSignal::new(Theme::current());
    let toggle = move |_| {
        let next = theme.get_untracked().next();
        theme.set(next);
        #[cfg(feature = "hydrate")]
        apply(next);
    };
    // An icon on screen (the header is full); the words for assistive technology and as a
    // tooltip.
    let label = move || format!("Theme: {}", theme.get().as_str());
    let icon = move || match theme.get() {
        Theme::System => "◐",
        Theme::Light => "☀",
        Theme::Dark => "☾",
    };
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            aria-label=label
            title=move || format!("{} (system, light, dark)", label())
            on:click=toggle
        >
            {icon}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_names_the_theme_and_anything_else_is_the_system() {
        assert_eq!(Theme::of_cookies("a=1; berth_theme=dark; b=2"), Theme::Dark);
        assert_eq!(Theme::of_cookies("berth_theme=light"), Theme::Light);
        assert_eq!(Theme::of_cookies("berth_theme=purple"), Theme::System);
        assert_eq!(Theme::of_cookies("xberth_theme=dark"), Theme::System);
        assert_eq!(Theme::of_cookies(""), Theme::System);
        assert_eq!(Theme::Dark.next(), Theme::System);
    }
}
