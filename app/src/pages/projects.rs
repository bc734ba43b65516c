//! `/projects` and `/projects/:name`: compose projects found by their label, their containers
//! and states (re-read every few seconds), and a project's merged live log with a colour per
//! service.

use crate::layout::{engine_epoch, page_engine, poll};
use crate::log_viewer::{LogViewer, service_class};
use crate::urls::On;
use crate::{api, model::Project, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use std::collections::BTreeMap;

const STATES_POLL_MS: u64 = 5_000;

fn state_counts(states: &BTreeMap<String, u32>) -> impl IntoView + use<> {
    states
        .iter()
        .map(|(state, count)| {
            let class = format!("state state-{state}");
            view! { <span class=class>{format!("{count} {state}")}</span> " " }
        })
        .collect_view()
}

#[component]
pub fn ProjectList() -> impl IntoView {
    let on = page_engine();
    let projects = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::projects(on),
    );
    poll(STATES_POLL_MS, move || projects.refetch());
    view! {
        <Title text="Projects" />
        <h1>"Projects"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(list) if list.is_empty() => {
                        view! {
                            <p class="muted">
                                "No compose projects: no container carries the "
                                <code>"com.docker.compose.project"</code> " label."
                            </p>
                        }
                            .into_any()
                    }
                    Ok(list) => project_table(&on.get_untracked(), list).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn project_table(on: &On, list: Vec<Project>) -> impl IntoView + use<> {
    let rows = list
        .into_iter()
        .map(|p| {
            let href = crate::urls::project(on, &p.name);
            view! {
                <tr class="project-row" data-name=p.name.clone()>
                    <td>
                        <a href=href>{p.name.clone()}</a>
                    </td>
                    <td>{p.services.join(", ")}</td>
                    <td data-testid="project-containers">{p.containers.len()}</td>
                    <td>{state_counts(&p.states)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers">
            <thead>
                <tr>
                    <th>"Project"</th>
                    <th>"Services"</th>
                    <th>"Containers"</th>
                    <th>"States"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let on = page_engine();
    let project = Resource::new(
        move || (on.get(), name(), engine_epoch()),
        |(on, n, _)| api::project(on, n),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match project.await {
                    Ok(p) => view! { <ProjectView on=on.get_untracked() initial=p /> }.into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Project" />
                            <h1>"Project"</h1>
                            <ErrorPanel error />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// The members table is re-read every few seconds; the log viewer sits outside it, so a
/// refresh never touches its socket.
#[component]
fn ProjectView(on: On, initial: Project) -> impl IntoView {
    let name = initial.name.clone();
    let tick = RwSignal::new(0u32);
    poll(STATES_POLL_MS, move || tick.update(|t| *t += 1));
    let members = {
        let (on, name) = (on.clone(), name.clone());
        Resource::new(
            move || tick.get(),
            move |tick| {
                let (on, name, initial) = (on.clone(), name.clone(), initial.clone());
                async move {
                    // The first value is what the page was rendered with: no second request.
                    if tick == 0 {
                        Ok(initial)
                    } else {
                        api::project(on, name).await
                    }
                }
            },
        )
    };
    let path = crate::urls::ws_project_logs(&on, &name, 100);
    let after = Callback::new(move |()| tick.update(|t| *t += 1));
    let (action_on, action_name) = (on.clone(), name.clone());
    view! {
        <Title text=name.clone() />
        <h1>{name.clone()} " " <span class="muted">"compose project"</span></h1>
        <super::container_actions::ForOperators>
            <super::container_actions::ProjectActions
                on=action_on.clone()
                name=action_name.clone()
                after
            />
        </super::container_actions::ForOperators>
        <Transition fallback=|| ()>
            {move || {
                let on = on.clone();
                Suspend::new(async move {
                match members.await {
                    Ok(p) => members_table(&on, p).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })
            }}
        </Transition>
        <h2>"Logs"</h2>
        <LogViewer path=path show_service=true download_name=format!("{name}.log") />
    }
}

fn members_table(on: &On, p: Project) -> impl IntoView + use<> {
    let rows = p
        .containers
        .into_iter()
        .map(|c| {
            let href = crate::urls::container(on, &c.id);
            let service = c.service.clone().unwrap_or_else(|| c.name.clone());
            let state_class = format!("state state-{}", c.state);
            view! {
                <tr class="member-row" data-name=c.name.clone()>
                    <td>
                        <span class=service_class(&service)>{service.clone()}</span>
                    </td>
                    <td>
                        <a href=href>{c.name.clone()}</a>
                    </td>
                    <td>
                        <span class=state_class>{c.state}</span>
                    </td>
                    <td>{c.status}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="muted" data-testid="project-states">{state_counts(&p.states)}</p>
        <table class="containers members">
            <thead>
                <tr>
                    <th>"Service"</th>
                    <th>"Container"</th>
                    <th>"State"</th>
                    <th>"Status"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
