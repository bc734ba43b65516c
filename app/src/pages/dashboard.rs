//! `/`: the engine and its host at a glance.

use crate::layout::engine_epoch;
use crate::{api, format, model::Dashboard as Summary, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;

const SUMMARY_POLL_MS: u64 = 5_000;

#[component]
pub fn Dashboard() -> impl IntoView {
    let summary = Resource::new(engine_epoch, |_| api::dashboard());
    // Container counts stay live: re-read every few seconds while the page is open.
    crate::layout::poll(SUMMARY_POLL_MS, move || summary.refetch());
    view! {
        <Title text="Dashboard" />
        <h1>"Dashboard"</h1>
        <super::host_live::HostLive />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => summary_view(summary).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn summary_view(s: Summary) -> impl IntoView {
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
        <section class="cards">
            <div class="card">
                <h3>"Engine"</h3>
                <p class="big" data-testid="engine-version">{s.engine_version}</p>
                <p class="muted">"API " {s.api_version}</p>
            </div>
            <div class="card">
                <h3>"Host"</h3>
                <p class="big" data-testid="host-name">{s.host_name}</p>
                <p class="muted">
                    {s.operating_system} " · " {s.cpus} " CPUs · " {format::bytes(s.memory_bytes)}
                </p>
            </div>
            <div class="card">
                <h3>"Images"</h3>
                <p class="big" data-testid="images-count">{s.images}</p>
            </div>
            <div class="card wide">
                <h3>
                    <a href=crate::urls::CONTAINERS>"Containers"</a>
                    " "
                    <span class="muted" data-testid="containers-total">{s.containers_total}</span>
                </h3>
                {states}
            </div>
        </section>
    }
}
