//! The frame around every page: navigation, the engine switcher, and the banner shown while
//! the page's engine cannot be reached. Once hydrated, the engines' health is re-checked on a
//! timer so the banner comes and goes without a reload. The page's engine is the one its
//! path names (`/engines/{engine}/…`), else the default: another engine's outage shows only
//! as its state in the switcher. The pages anyone may see (sign-in, setup) get a bare frame
//! that asks nothing of the server: nothing about engines or containers before sign-in.

use crate::resources::Objects;
use crate::{
    api,
    model::{ApiError, EngineInfo, Health, Me},
    urls::{self, On},
};
use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_location};

/// How often the hydrated page re-checks the engine.
const HEALTH_POLL_MS: u64 = 5_000;

/// Who is signed in, fetched once per page load for the whole app (the menu, the admin link,
/// the admin pages' role check).
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Me, ApiError>>);

/// Counts the times the engine came back after being unreachable. Page resources depend on
/// it, so a page that showed "engine unavailable" reloads its data once the engine answers.
#[derive(Clone, Copy)]
pub struct EngineEpoch(ReadSignal<u32>);

pub fn engine_epoch() -> u32 {
    use_context::<EngineEpoch>().map_or(0, |EngineEpoch(epoch)| epoch.get())
}

/// The engine the current page is about, from its path.
pub fn page_engine() -> Memo<On> {
    let location = use_location();
    Memo::new(move |_| On::of_path(&location.pathname.get()))
}

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    if path == urls::LOGIN || path == urls::SETUP {
        return bare(children).into_any();
    }
    full(children).into_any()
}

/// The frame of the pages anyone may see: the name and the theme, nothing else.
fn bare(children: Children) -> impl IntoView {
    let hydrated = expect_context::<crate::Hydrated>().0;
    view! {
        <div class="app" data-hydrated=move || hydrated.get().to_string()>
            <header class="topbar">
                <a class="brand" href=urls::DASHBOARD>
                    "Berth"
                </a>
                <crate::theme::ThemeToggle />
            </header>
            <main class="content">{children()}</main>
        </div>
    }
}

fn full(children: Children) -> impl IntoView {
    let on = page_engine();
    let health = Resource::new(move || on.get(), api::health);
    let engines = Resource::new(|| (), |_| api::read_berth(crate::model::ListEngines {}));
    poll(HEALTH_POLL_MS, move || {
        health.refetch();
        engines.refetch();
    });
    let (epoch, set_epoch) = signal(0u32);
    let was_reachable = StoredValue::new(None::<bool>);
    Effect::new(move |_| {
        if let Some(Ok(h)) = health.get() {
            if was_reachable.get_value() == Some(false) && h.reachable {
                set_epoch.update(|e| *e += 1);
            }
            was_reachable.set_value(Some(h.reachable));
        }
    });
    provide_context(EngineEpoch(epoch));
    let hydrated = expect_context::<crate::Hydrated>().0;
    let me = Resource::new(|| (), |_| api::me());
    provide_context(CurrentUser(me));
    #[cfg(feature = "hydrate")]
    shortcuts::listen(on);

    view! {
        <div class="app" data-hydrated=move || hydrated.get().to_string()>
            <header class="topbar">
                <a class="brand" href=urls::DASHBOARD>
                    "Berth"
                </a>
                <nav>
                    <A href=urls::DASHBOARD exact=true>
                        "Dashboard"
                    </A>
                    <A href=move || urls::containers(&on.get())>"Containers"</A>
                    <A href=move || urls::projects(&on.get())>"Projects"</A>
                    <A href=move || urls::stacks(&on.get())>"Stacks"</A>
                    <A href=move || urls::objects(&on.get(), Objects::Images)>"Images"</A>
                    <A href=move || urls::objects(&on.get(), Objects::Volumes)>"Volumes"</A>
                    <A href=move || urls::objects(&on.get(), Objects::Networks)>"Networks"</A>
                    <A href=move || urls::disk(&on.get())>"Disk"</A>
                    <A href=move || urls::updates(&on.get())>"Updates"</A>
                    <A href=move || urls::swarm(&on.get())>"Swarm"</A>
                    <A href=urls::ALL_CONTAINERS>"All engines"</A>
                    <A href=urls::ALERTS>"Alerts"</A>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            me.await
                                .ok()
                                .filter(Me::may_administer)
                                .map(|_| view! { <A href=urls::ADMIN>"Admin"</A> })
                        })}
                    </Transition>
                </nav>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let here = on.get();
                        engines.await.ok().map(|list| switcher(list, &here))
                    })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move { health.await.ok().map(engine_badge) })}
                </Transition>
                <crate::search::Search />
                <crate::theme::ThemeToggle />
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move { me.await.ok().and_then(user_menu) })}
                </Transition>
            </header>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match health.await {
                        Ok(h) if h.reachable => None,
                        Ok(h) => Some(engine_banner(&h.endpoint, h.error.as_deref())),
                        Err(e) if e.status == 404 || e.status == 400 => None,
                        Err(e) => Some(engine_banner("Berth server", Some(&e.error))),
                    }
                })}
            </Transition>
            <main class="content">{children()}</main>
        </div>
    }
}

/// Whether a key goes to something the user types in (a field, the terminal), or with
/// `buttons`, also to a focused button (where space clicks it).
#[cfg(feature = "hydrate")]
pub(crate) fn typed_into(event: &web_sys::KeyboardEvent, buttons: bool) -> bool {
    use wasm_bindgen::JsCast;
    let Some(element) = event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return false;
    };
    match element.tag_name().as_str() {
        "INPUT" | "TEXTAREA" | "SELECT" => true,
        "BUTTON" => buttons,
        _ => element.is_content_editable(),
    }
}

/// Keys anywhere but in a text field: `/` focuses the page's filter, `g` then `c`, `p` or
/// `d` goes to the containers, projects or dashboard of the page's engine.
#[cfg(feature = "hydrate")]
mod shortcuts {
    use crate::urls::{self, On};
    use leptos::{ev, prelude::*};
    use wasm_bindgen::JsCast;

    /// How long after `g` its second key counts, in ms.
    const CHORD_MS: f64 = 1_500.0;

    fn focus_filter() -> bool {
        let input = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector("input[type=search]:not([disabled])")
                    .ok()
                    .flatten()
            })
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        input.is_some_and(|input| input.focus().is_ok())
    }

    pub fn listen(on: Memo<On>) {
        let navigate = leptos_router::hooks::use_navigate();
        let g_at = StoredValue::new(None::<f64>);
        let handle = window_event_listener(ev::keydown, move |event| {
            if event.ctrl_key()
                || event.meta_key()
                || event.alt_key()
                || super::typed_into(&event, false)
            {
                return;
            }
            let now = js_sys::Date::now();
            let chord = g_at.get_value().is_some_and(|at| now - at < CHORD_MS);
            g_at.set_value(None);
            let here = on.get_untracked();
            let to = match event.key().as_str() {
                "/" => {
                    if focus_filter() {
                        event.prevent_default();
                    }
                    return;
                }
                "g" => {
                    g_at.set_value(Some(now));
                    return;
                }
                "c" if chord => urls::containers(&here),
                "p" if chord => urls::projects(&here),
                "d" if chord => match here.name() {
                    Some(name) => urls::engine(name),
                    None => urls::DASHBOARD.to_string(),
                },
                _ => return,
            };
            event.prevent_default();
            navigate(&to, Default::default());
        });
        on_cleanup(move || handle.remove());
    }
}

fn engine_badge(health: Health) -> impl IntoView {
    let (class, text) = match (&health.reachable, &health.engine_version) {
        (true, Some(version)) => ("engine-badge up", format!("Docker {version}")),
        (true, None) => ("engine-badge up", "Docker".to_string()),
        (false, _) => ("engine-badge down", "Docker unreachable".to_string()),
    };
    view! {
        <span class=class title=health.endpoint>
            {text}
        </span>
    }
}

/// Every engine by name with its state; the page's engine marked. Links go to each
/// engine's dashboard.
fn switcher(engines: Vec<EngineInfo>, here: &On) -> impl IntoView + use<> {
    let current = here
        .name()
        .map(str::to_string)
        .or_else(|| engines.iter().find(|e| e.default).map(|e| e.name.clone()));
    let items = engines
        .into_iter()
        .map(|e| {
            let class = match e.health.reachable {
                true => "engine-link up",
                false => "engine-link down",
            };
            let title = match &e.health.error {
                Some(error) => format!("{}: {error}", e.health.endpoint),
                None => e.health.endpoint.clone(),
            };
            let is_current = current.as_deref() == Some(e.name.as_str());
            let href = urls::engine(&e.name);
            let name = e.name.clone();
            view! {
                <a
                    class=class
                    href=href
                    title=title
                    data-engine=name
                    aria-current=is_current.then_some("page")
                >
                    {e.name}
                </a>
            }
        })
        .collect_view();
    view! {
        <div class="engine-switcher" role="group" aria-label="Engines">
            {items}
        </div>
    }
}

/// The signed-in user and a sign-out button (a form post: it works without the Wasm).
fn user_menu(me: Me) -> Option<impl IntoView> {
    let name = me.name.filter(|_| me.accounts)?;
    Some(view! {
        <a
            class="user"
            data-role=me.role.as_str()
            href=urls::ACCOUNT
            title="Your account"
        >
            {name}
            <small>{me.role.as_str()}</small>
        </a>
        <form method="post" action=urls::API_LOGOUT class="signout">
            <button type="submit">"Sign out"</button>
        </form>
    })
}

fn engine_banner(endpoint: &str, error: Option<&str>) -> impl IntoView + use<> {
    let error = error.unwrap_or("no answer").to_string();
    view! {
        <div class="banner engine-down" role="alert">
            <strong>"Cannot reach the Docker engine at " <code>{endpoint.to_string()}</code></strong>
            <span class="banner-error">{error}</span>
            <span class="banner-hint">"Berth keeps retrying; this page reloads its data when the engine answers."</span>
        </div>
    }
}

/// Leaves for `path` (a full load in the browser; nothing during SSR): after the page's
/// subject is gone, e.g. a removed container.
pub fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Calls `tick` every `ms` milliseconds in the browser, from hydration until the calling
/// component is cleaned up; nothing during SSR.
pub fn poll(ms: u64, tick: impl Fn() + Clone + 'static) {
    Effect::new(move |_| {
        let tick = tick.clone();
        if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_millis(ms)) {
            on_cleanup(move || handle.clear());
        }
    });
}
