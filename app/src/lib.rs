//! Berth's UI: the HTML shell, the routes, and the components shared by the server (which
//! renders them) and the browser (which hydrates them), plus the serde types both speak.

#![recursion_limit = "256"]

mod ansi;
pub mod api;
mod chart;
mod code_editor;
mod controls;
mod diff;
pub mod endpoint;
pub mod format;
pub mod frames;
mod fuzzy;
mod layout;
pub mod live;
mod live_containers;
mod log_filter;
mod log_viewer;
pub mod model;
mod pages;
pub mod refs;
pub mod resources;
#[cfg(feature = "hydrate")]
mod scripts;
mod search;
mod sort;
mod status;
pub mod terminal;
mod theme;
pub mod urls;
#[cfg(feature = "hydrate")]
mod xterm;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Outlet, ParentRoute, Route, Router, Routes},
    path,
};

/// The document around the app: the server renders it once per page request.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The remembered theme, so the first paint has its colours.
    let theme = theme::Theme::current().as_str();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// True once the browser has hydrated the page: inputs that only work with Wasm are
/// disabled until then, and tests wait for `[data-hydrated=true]`.
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let (hydrated, set_hydrated) = signal(false);
    // Effects never run during SSR, so this flips only in the browser.
    Effect::new(move |_| set_hydrated.set(true));
    provide_context(Hydrated(hydrated));

    // Async SSR: pages wait for their data, so the HTTP status (404, 503) is known before
    // the first byte is sent and the page is complete without JavaScript.
    view! {
        <Stylesheet id="leptos" href="/pkg/berth.css" />
        <Title formatter=|text: String| format!("{text} · Berth") />
        <Router>
            <layout::Layout>
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::Dashboard ssr=SsrMode::Async />
                    // The default engine's pages at the root, and every engine's under its name.
                    <EnginePages />
                    <ParentRoute path=path!("/engines/:engine") view=Outlet ssr=SsrMode::Async>
                        <Route path=path!("") view=pages::EngineDashboard ssr=SsrMode::Async />
                        <EnginePages />
                    </ParentRoute>
                    <Route
                        path=path!("/all/containers")
                        view=pages::AllContainers
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("/all/stacks") view=pages::AllStacks ssr=SsrMode::Async />
                    <Route path=path!("/alerts") view=pages::AlertsPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=pages::AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=pages::AdminUsers ssr=SsrMode::Async />
                    <Route path=path!("/admin/tokens") view=pages::AdminTokens ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=pages::AdminAudit ssr=SsrMode::Async />
                    <Route path=path!("/login") view=pages::Login />
                    <Route path=path!("/setup") view=pages::Setup />
                </Routes>
            </layout::Layout>
        </Router>
    }
}

/// The pages every engine has, declared once: `App` mounts them at the root for the default
/// engine and under `/engines/:engine` for each engine (pages find their engine in the path).
#[component(transparent)]
fn EnginePages() -> impl leptos_router::MatchNestedRoutes + Clone {
    // One route with the pages inside (an empty path adds no segment), so the group is a
    // single route whether or not components are type-erased.
    view! {
        <ParentRoute path=path!("") view=Outlet ssr=SsrMode::Async>
            <Route path=path!("/containers") view=pages::ContainerList ssr=SsrMode::Async />
            <Route path=path!("/containers/:id") view=pages::ContainerPage ssr=SsrMode::Async />
            <Route path=path!("/projects") view=pages::ProjectList ssr=SsrMode::Async />
            <Route path=path!("/projects/:name") view=pages::ProjectPage ssr=SsrMode::Async />
            <Route path=path!("/swarm") view=pages::SwarmPage ssr=SsrMode::Async />
            <Route path=path!("/services/:id") view=pages::ServicePage ssr=SsrMode::Async />
            // What an engine keeps beside its containers.
            <Route path=path!("/images") view=pages::ImagesPage ssr=SsrMode::Async />
            <Route path=path!("/images/*reference") view=pages::ImagePage ssr=SsrMode::Async />
            <Route path=path!("/volumes") view=pages::VolumesPage ssr=SsrMode::Async />
            <Route path=path!("/networks") view=pages::NetworksPage ssr=SsrMode::Async />
            <Route path=path!("/disk") view=pages::DiskPage ssr=SsrMode::Async />
            <Route path=path!("/updates") view=pages::UpdateHistoryPage ssr=SsrMode::Async />
            <Route path=path!("/stacks") view=pages::StackList ssr=SsrMode::Async />
            <Route path=path!("/stacks/:name") view=pages::StackPage ssr=SsrMode::Async />
        </ParentRoute>
    }
    .into_inner()
}
