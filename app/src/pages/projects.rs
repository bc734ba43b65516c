//! `/projects` and `/projects/:name`: compose projects found by their label, their containers
//! and states (kept current by the engine's list stream), and a project's merged live log
//! with a colour per service.

use crate::layout::{engine_epoch, page_engine};
use crate::live_containers::use_live_containers;
use crate::log_viewer::{LogViewer, service_class};
use crate::sort::{Column, Sort, header, use_sort};
use crate::urls::On;
use crate::{
    api,
    model::{ImageUpdate, Project, group_projects},
    status::ErrorPanel,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use std::collections::BTreeMap;

fn state_counts(states: &BTreeMap<String, u32>) -> impl IntoView + use<> {
    states
        .iter()
        .map(|(state, count)| {
            let class = format!("state state-{state}");
            view! { <span class=class>{format!("{count} {state}")}</span> " " }
        })
        .collect_view()
}

/// The columns the project list sorts by; without one, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProjectBy {
    Name,
    Services,
    Containers,
    States,
}

impl Column for ProjectBy {
    type Row = Project;
    const ALL: &'static [Self] = &[
        ProjectBy::Name,
        ProjectBy::Services,
        ProjectBy::Containers,
        ProjectBy::States,
    ];

    fn key(self) -> &'static str {
        match self {
            ProjectBy::Name => "name",
            ProjectBy::Services => "services",
            ProjectBy::Containers => "containers",
            ProjectBy::States => "states",
        }
    }

    fn compare(self, a: &Project, b: &Project) -> std::cmp::Ordering {
        match self {
            ProjectBy::Name => a.name.cmp(&b.name),
            ProjectBy::Services => a.services.len().cmp(&b.services.len()),
            ProjectBy::Containers => a.containers.len().cmp(&b.containers.len()),
            // By how many are running.
            ProjectBy::States => running(a).cmp(&running(b)),
        }
    }

    fn tie(a: &Project, b: &Project) -> std::cmp::Ordering {
        a.name.cmp(&b.name)
    }
}

fn running(project: &Project) -> u32 {
    project.states.get("running").copied().unwrap_or(0)
}

#[component]
pub fn ProjectList() -> impl IntoView {
    let on = page_engine();
    let projects = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::read(on, crate::model::ListProjects {}),
    );
    let live = use_live_containers(move || on.get());
    let updates =
        super::image_updates::by_project(super::image_updates::use_updates(move || on.get()));
    let (sort, path) = use_sort::<ProjectBy>();
    view! {
        <Title text="Projects" />
        <h1>"Projects"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match projects.await {
                    Ok(initial) => {
                        (move || {
                            let mut list = live
                                .containers()
                                .map_or_else(|| initial.clone(), group_projects);
                            if list.is_empty() {
                                return view! {
                                    <p class="muted">
                                        "No compose projects: no container carries the "
                                        <code>"com.docker.compose.project"</code>
                                        " label. Start one with docker compose up and it shows up here at once."
                                    </p>
                                }
                                    .into_any();
                            }
                            Sort::apply(sort.get(), &mut list);
                            project_table(&on.get_untracked(), list, (sort, path), updates)
                                .into_any()
                        })
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The projects, sorted as `sort` says, each with a badge when some of its containers
/// have an update (`updates`, per project).
fn project_table(
    on: &On,
    list: Vec<Project>,
    (sort, path): (Memo<Option<Sort<ProjectBy>>>, Memo<String>),
    updates: Memo<BTreeMap<String, usize>>,
) -> impl IntoView + use<> {
    let rows = list
        .into_iter()
        .map(|p| {
            let href = crate::urls::project(on, &p.name);
            let name = p.name.clone();
            let badge = move || updates.with(|u| super::image_updates::count_badge(u.get(&name)));
            view! {
                <tr class="project-row" data-name=p.name.clone()>
                    <td>
                        <a href=href>{p.name.clone()}</a>
                        " "
                        {badge}
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
                    {header("Project", ProjectBy::Name, sort, path)}
                    {header("Services", ProjectBy::Services, sort, path)}
                    {header("Containers", ProjectBy::Containers, sort, path)}
                    {header("States", ProjectBy::States, sort, path)}
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
        |(on, n, _)| api::read(on, crate::model::GetProject { name: n }),
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

/// The members table follows the engine's list stream; the log viewer sits outside it, so a
/// change never touches its socket.
#[component]
fn ProjectView(on: On, initial: Project) -> impl IntoView {
    let name = initial.name.clone();
    let live = use_live_containers({
        let on = on.clone();
        move || on.clone()
    });
    // The project as the stream has it (none left when its last container went), else as
    // the page was rendered.
    let members = {
        let name = name.clone();
        move || match live.containers() {
            Some(list) => group_projects(list)
                .into_iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| Project::empty(&name)),
            None => initial.clone(),
        }
    };
    let path = crate::urls::ws_project_logs(&on, &name, 100);
    // What an action did shows through the stream.
    let after = Callback::new(|()| {});
    let (action_on, action_name) = (on.clone(), name.clone());
    let updates = super::image_updates::by_container(super::image_updates::use_updates({
        let on = on.clone();
        move || on.clone()
    }));
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
        {move || members_table(&on, members(), updates)}
        <h2>"Logs"</h2>
        <LogViewer path=path show_service=true download_name=format!("{name}.log") />
    }
}

/// A project's members, with a badge where a newer image is found (`updates`, by
/// container id).
pub(super) fn members_table(
    on: &On,
    p: Project,
    updates: Memo<BTreeMap<String, ImageUpdate>>,
) -> impl IntoView + use<> {
    let rows = p
        .containers
        .into_iter()
        .map(|c| {
            let href = crate::urls::container(on, &c.id);
            let service = c.service.clone().unwrap_or_else(|| c.name.clone());
            let state_class = format!("state state-{}", c.state);
            let id = c.id.clone();
            let badge = move || updates.with(|u| super::image_updates::badge(u.get(&id)));
            view! {
                <tr class="member-row" data-name=c.name.clone()>
                    <td>
                        <span class=service_class(&service)>{service.clone()}</span>
                    </td>
                    <td>
                        <a href=href>{c.name.clone()}</a>
                        " "
                        {badge}
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
