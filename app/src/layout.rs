//! The frame around every page: navigation, the engine badge, and the banner shown while the
//! Docker engine cannot be reached. Once hydrated, the engine's health is re-checked on a
//! timer so the banner comes and goes without a reload.

use crate::{
    api,
    model::{ApiError, Health, Me},
    urls,
};
use leptos::prelude::*;
use leptos_router::components::A;

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

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let health = Resource::new(|| (), |_| api::health());
    poll(HEALTH_POLL_MS, move || health.refetch());
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
                    <A href=urls::CONTAINERS>"Containers"</A>
                    <A href=urls::PROJECTS>"Projects"</A>
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
                    {move || Suspend::new(async move { health.await.ok().map(engine_badge) })}
                </Transition>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move { me.await.ok().and_then(user_menu) })}
                </Transition>
            </header>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match health.await {
                        Ok(h) if h.reachable => None,
                        Ok(h) => Some(engine_banner(&h.endpoint, h.error.as_deref())),
                        Err(e) => Some(engine_banner("Berth server", Some(&e.error))),
                    }
                })}
            </Transition>
            <main class="content">{children()}</main>
        </div>
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

/// The signed-in user and a sign-out button (a form post: it works without the Wasm).
fn user_menu(me: Me) -> Option<impl IntoView> {
    let name = me.name.filter(|_| me.accounts)?;
    Some(view! {
        <span class="user" data-role=me.role.as_str()>
            {name}
            <small>{me.role.as_str()}</small>
        </span>
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
