//! `/`: the engine and its host at a glance.

use crate::layout::engine_epoch;
use crate::{api, format, model::Dashboard as Summary, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Dashboard() -> impl IntoView {
    let summary = Resource::new(engine_epoch, |_| api::dashboard());
    view! {
        <Title text="Dashboard" />
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(summary) => summary_view(summary).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
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
                    <a href="/containers">"Containers"</a>
                    " "
                    <span class="muted" data-testid="containers-total">{s.containers_total}</span>
                </h3>
                <ul class="state-counts">{states}</ul>
            </div>
        </section>
    }
}
