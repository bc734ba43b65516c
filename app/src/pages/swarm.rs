//! `/swarm` (and `/engines/{engine}/swarm`): the swarm an engine manages, its nodes and
//! services (re-read every few seconds); `/services/{id}`: a service's tasks and the merged
//! live log of its replicas, one colour per task. Read-only.

use crate::layout::{engine_epoch, page_engine, poll};
use crate::log_viewer::LogViewer;
use crate::{
    api,
    model::{ServiceDetail, Swarm, SwarmService},
    status::ErrorPanel,
    urls::{self, On},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const SWARM_POLL_MS: u64 = 5_000;

#[component]
pub fn SwarmPage() -> impl IntoView {
    let on = page_engine();
    let swarm = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::read(on, crate::model::GetSwarm {}),
    );
    poll(SWARM_POLL_MS, move || swarm.refetch());
    view! {
        <Title text="Swarm" />
        <h1>"Swarm"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match swarm.await {
                    Ok(swarm) if !swarm.manager => {
                        view! {
                            <p class="muted" data-testid="no-swarm">
                                "This engine manages no swarm (node state: "
                                {swarm.node_state}
                                "). Choose a swarm manager in the engine switcher."
                            </p>
                        }
                            .into_any()
                    }
                    Ok(swarm) => swarm_view(&on.get_untracked(), swarm).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn swarm_view(on: &On, swarm: Swarm) -> impl IntoView + use<> {
    let nodes = swarm
        .nodes
        .into_iter()
        .map(|n| {
            let state_class = format!("state state-{}", n.state);
            let key = n.hostname.clone();
            view! {
                <tr class="node-row" data-name=key>
                    <td>
                        {n.hostname}
                        {n.leader.then(|| view! { <span class="muted">" leader"</span> })}
                    </td>
                    <td>{n.role}</td>
                    <td>
                        <span class=state_class>{n.state}</span>
                    </td>
                    <td>{n.availability}</td>
                    <td class="mono">{n.engine_version}</td>
                </tr>
            }
        })
        .collect_view();
    let services = swarm
        .services
        .into_iter()
        .map(|s| service_row(on, s))
        .collect_view();
    view! {
        <h2>"Nodes"</h2>
        <table class="containers nodes">
            <thead>
                <tr>
                    <th>"Host"</th>
                    <th>"Role"</th>
                    <th>"State"</th>
                    <th>"Availability"</th>
                    <th>"Engine"</th>
                </tr>
            </thead>
            <tbody>{nodes}</tbody>
        </table>
        <h2>"Services"</h2>
        <table class="containers services">
            <thead>
                <tr>
                    <th>"Service"</th>
                    <th>"Image"</th>
                    <th>"Mode"</th>
                    <th>"Replicas"</th>
                    <th>"Ports"</th>
                    <th>"Update"</th>
                </tr>
            </thead>
            <tbody>{services}</tbody>
        </table>
    }
}

fn service_row(on: &On, s: SwarmService) -> impl IntoView + use<> {
    let href = urls::service(on, &s.name);
    let replicas_class = match s.running >= s.desired {
        true => "state state-running",
        false => "state state-restarting",
    };
    view! {
        <tr class="service-row" data-name=s.name.clone()>
            <td>
                <a href=href>{s.name.clone()}</a>
            </td>
            <td class="mono">{s.image}</td>
            <td>{s.mode}</td>
            <td>
                <span class=replicas_class data-testid="replicas">
                    {format!("{}/{}", s.running, s.desired)}
                </span>
            </td>
            <td class="mono">{s.ports.join(", ")}</td>
            <td>{s.update_state.unwrap_or_default()}</td>
        </tr>
    }
}

#[component]
pub fn ServicePage() -> impl IntoView {
    let on = page_engine();
    let params = use_params_map();
    let reference = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(
        move || (on.get(), reference(), engine_epoch()),
        |(on, r, _)| api::read(on, crate::model::GetService { id: r }),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <ServiceView on=on.get_untracked() initial=detail /> }.into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Service" />
                            <h1>"Service"</h1>
                            <ErrorPanel error />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The tasks table is re-read every few seconds; the log viewer sits outside it, so a
/// refresh never touches its socket.
#[component]
fn ServiceView(on: On, initial: ServiceDetail) -> impl IntoView {
    let name = initial.service.name.clone();
    let id = initial.service.id.clone();
    let tick = RwSignal::new(0u32);
    poll(SWARM_POLL_MS, move || tick.update(|t| *t += 1));
    let detail = {
        let (on, id) = (on.clone(), id.clone());
        Resource::new(
            move || tick.get(),
            move |tick| {
                let (on, id, initial) = (on.clone(), id.clone(), initial.clone());
                async move {
                    // The first value is what the page was rendered with: no second request.
                    match tick {
                        0 => Ok(initial),
                        _ => api::read(on, crate::model::GetService { id }).await,
                    }
                }
            },
        )
    };
    let path = urls::ws_service_logs(&on, &id, 100);
    view! {
        <Title text=name.clone() />
        <h1>{name.clone()} " " <span class="muted">"swarm service"</span></h1>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => tasks_view(d).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
        <h2>"Logs"</h2>
        <LogViewer path=path show_service=true download_name=format!("{name}.log") />
    }
}

fn tasks_view(d: ServiceDetail) -> impl IntoView {
    let s = d.service;
    let rows = d
        .tasks
        .into_iter()
        .map(|t| {
            let state_class = format!("state state-{}", t.state);
            let key = t.name.clone();
            view! {
                <tr class="task-row" data-name=key>
                    <td>{t.name}</td>
                    <td>{t.node}</td>
                    <td>
                        <span class=state_class>{t.state}</span>
                    </td>
                    <td>{t.desired_state}</td>
                    <td class="mono">{t.error.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="muted" data-testid="service-summary">
            <span class="mono">{s.image}</span>
            {format!(" · {} · {}/{} running", s.mode, s.running, s.desired)}
        </p>
        <table class="containers tasks">
            <thead>
                <tr>
                    <th>"Task"</th>
                    <th>"Node"</th>
                    <th>"State"</th>
                    <th>"Desired"</th>
                    <th>"Error"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
