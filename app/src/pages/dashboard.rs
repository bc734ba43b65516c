//! `/`: every engine at a glance beside the live card of the machine Berth runs on; and
//! `/engines/{engine}`: one engine and its host. Container counts and whether an engine is
//! up come from each engine's list stream, so nothing here polls.

use crate::layout::{engine_epoch, page_engine};
use crate::live::LiveStatus;
use crate::live_containers::{LiveList, use_live_containers};
use crate::{
    api, format,
    model::{Dashboard as Summary, EngineInfo},
    status::ErrorPanel,
    urls::{self, On},
};
use leptos::prelude::*;
use leptos_meta::Title;
use std::collections::BTreeMap;

#[component]
pub fn Dashboard() -> impl IntoView {
    let engines = Resource::new(engine_epoch, |_| {
        api::read_berth(crate::model::ListEngines {})
    });
    view! {
        <Title text="Dashboard" />
        <h1>"Dashboard"</h1>
        <super::host_live::HostLive />
        <h2>"Engines"</h2>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match engines.await {
                    Ok(list) => {
                        view! {
                            <div class="engine-cards">
                                {list
                                    .into_iter()
                                    .map(|engine| view! { <EngineCard engine /> })
                                    .collect_view()}
                            </div>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Containers by state, and how many in all: from the live list once it has arrived, else
/// from the summary the page was rendered with.
fn counts(live: LiveList, summary: &Summary) -> (u32, BTreeMap<String, u32>) {
    match live.containers() {
        Some(list) => {
            let mut by_state = BTreeMap::new();
            for c in &list {
                *by_state.entry(c.state.clone()).or_insert(0) += 1;
            }
            (list.len() as u32, by_state)
        }
        None => (
            summary.containers_total,
            summary.containers_by_state.clone(),
        ),
    }
}

/// One engine on the dashboard: its state, and when it answers, its version, capacity and
/// containers by state. Its list stream says whether it is up (a stream that is open) or
/// not (one waiting to reconnect), and keeps the counts current.
#[component]
fn EngineCard(engine: EngineInfo) -> impl IntoView {
    let on = On::named(engine.name.clone());
    let live = use_live_containers({
        let on = on.clone();
        move || on.clone()
    });
    let reachable_at_load = engine.health.reachable;
    let up = Memo::new(move |_| match live.status.get() {
        LiveStatus::Open => true,
        LiveStatus::Reconnecting { .. } | LiveStatus::Failed(_) => false,
        _ => reachable_at_load,
    });
    let summary = Resource::new(
        {
            let on = on.clone();
            move || (engine_epoch(), on.clone(), up.get())
        },
        |(_, on, up)| async move {
            match up {
                true => api::read(on, crate::model::GetDashboard {}).await.map(Some),
                false => Ok(None),
            }
        },
    );
    let href = urls::engine(&engine.name);
    let error = engine.health.error.clone();
    view! {
        <section class="card engine-card" data-engine=engine.name.clone()>
            <h3>
                <a href=href>{engine.name.clone()}</a>
                " "
                <span
                    class=move || if up.get() { "engine-state up" } else { "engine-state down" }
                    data-testid="engine-state"
                >
                    {move || if up.get() { "up" } else { "unreachable" }}
                </span>
                {engine.default.then(|| view! { <span class="muted">" default"</span> })}
            </h3>
            <p class="muted mono">{engine.health.endpoint.clone()}</p>
            {move || {
                (!up.get())
                    .then(|| {
                        let said = error
                            .clone()
                            .unwrap_or_else(|| "lost since the page loaded; retrying".into());
                        view! { <p class="banner-error">{said}</p> }
                    })
            }}
            <Transition fallback=|| ()>
                {move || {
                    let on = on.clone();
                    Suspend::new(async move {
                        match summary.await {
                            Ok(Some(s)) => Some(summary_view(&on, s, live).into_any()),
                            Ok(None) => None,
                            Err(error) => Some(view! { <ErrorPanel error /> }.into_any()),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// `/engines/{engine}`: one engine in full.
#[component]
pub fn EngineDashboard() -> impl IntoView {
    let on = page_engine();
    let summary = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::read(on, crate::model::GetDashboard {}),
    );
    let live = use_live_containers(move || on.get());
    let name = move || on.get().name().unwrap_or_default().to_string();
    view! {
        <Title text=name() />
        <h1>{name} " " <span class="muted">"engine"</span></h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => summary_view(&on.get_untracked(), summary, live).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn summary_view(on: &On, s: Summary, live: LiveList) -> impl IntoView + use<> {
    let counts = {
        let s = s.clone();
        Memo::new(move |_| counts(live, &s))
    };
    let states = move || {
        let (total, by_state) = counts.get();
        if total == 0 {
            return view! { <p class="muted">"No containers on this engine."</p> }.into_any();
        }
        let items = by_state
            .into_iter()
            .map(|(state, count)| {
                let class = format!("state-count state-{state}");
                view! {
                    <li class=class>
                        <span class="count">{count}</span>
                        <span class="label">{state}</span>
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="state-counts">{items}</ul> }.into_any()
    };
    view! {
        <div class="cards">
            <div class="card">
                <h3>"Engine"</h3>
                <p class="big" data-testid="engine-version">{s.engine_version}</p>
                <p class="muted">"API " {s.api_version}</p>
            </div>
            <div class="card">
                <h3>"Its host"</h3>
                <p class="big" data-testid="host-name">{s.host_name}</p>
                <p class="muted" data-testid="engine-capacity">
                    {s.operating_system} " · " {s.cpus} " CPUs · " {format::bytes(s.memory_bytes)}
                </p>
            </div>
            <div class="card">
                <h3>"Images"</h3>
                <p class="big" data-testid="images-count">{s.images}</p>
            </div>
            <div class="card wide">
                <h3>
                    <a href=urls::containers(on)>"Containers"</a>
                    " "
                    <span class="muted" data-testid="containers-total">
                        {move || counts.get().0}
                    </span>
                </h3>
                {states}
            </div>
        </div>
    }
}
