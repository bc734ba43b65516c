//! `/`: every engine at a glance beside the live card of the machine Berth runs on; and
//! `/engines/{engine}`: one engine and its host.

use crate::layout::{engine_epoch, page_engine};
use crate::{
    api, format,
    model::{Dashboard as Summary, EngineInfo},
    status::ErrorPanel,
    urls::{self, On},
};
use leptos::prelude::*;
use leptos_meta::Title;

const SUMMARY_POLL_MS: u64 = 5_000;

#[component]
pub fn Dashboard() -> impl IntoView {
    let engines = Resource::new(engine_epoch, |_| api::engines());
    crate::layout::poll(SUMMARY_POLL_MS, move || engines.refetch());
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

/// One engine on the dashboard: its state, and when it answers, its version, capacity and
/// containers by state (re-read with the list every few seconds).
#[component]
fn EngineCard(engine: EngineInfo) -> impl IntoView {
    let on = On::named(engine.name.clone());
    let summary = Resource::new(
        {
            let on = on.clone();
            move || (engine_epoch(), on.clone(), engine.health.reachable)
        },
        |(_, on, reachable)| async move {
            match reachable {
                true => api::dashboard(on).await.map(Some),
                false => Ok(None),
            }
        },
    );
    let (state, state_text) = match engine.health.reachable {
        true => ("engine-state up", "up"),
        false => ("engine-state down", "unreachable"),
    };
    let href = urls::engine(&engine.name);
    let error = engine.health.error.clone();
    view! {
        <section class="card engine-card" data-engine=engine.name.clone()>
            <h3>
                <a href=href>{engine.name.clone()}</a>
                " "
                <span class=state data-testid="engine-state">{state_text}</span>
                {engine.default.then(|| view! { <span class="muted">" default"</span> })}
            </h3>
            <p class="muted mono">{engine.health.endpoint.clone()}</p>
            {error.map(|e| view! { <p class="banner-error">{e}</p> })}
            <Transition fallback=|| ()>
                {move || {
                    let on = on.clone();
                    Suspend::new(async move {
                        match summary.await {
                            Ok(Some(s)) => Some(summary_view(&on, s).into_any()),
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
        |(_, on)| api::dashboard(on),
    );
    crate::layout::poll(SUMMARY_POLL_MS, move || summary.refetch());
    let name = move || on.get().name().unwrap_or_default().to_string();
    view! {
        <Title text=name() />
        <h1>{name} " " <span class="muted">"engine"</span></h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => summary_view(&on.get_untracked(), summary).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn summary_view(on: &On, s: Summary) -> impl IntoView + use<> {
    let states = s
        .containers_by_state
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
    let states = if s.containers_total == 0 {
        view! { <p class="muted">"No containers on this engine."</p> }.into_any()
    } else {
        view! { <ul class="state-counts">{states}</ul> }.into_any()
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
                    <span class="muted" data-testid="containers-total">{s.containers_total}</span>
                </h3>
                {states}
            </div>
        </div>
    }
}
