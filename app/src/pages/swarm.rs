//! `/swarm` (and `/engines/{engine}/swarm`): the swarm an engine manages, its nodes and
//! services; `/services/{id}`: a service's tasks (a rolling update task by task) and the
//! merged live log of its replicas, one colour per task. Both follow the swarm's live
//! stream (`/ws/swarm`, one hub per swarm) after the server's first rendering. Operators
//! change replicas, image and availability there ([`super::swarm_actions`]).

use super::node_labels::{add_label_form, label_tags};
use super::swarm_actions::{ServiceActions, availability_control, drain_confirm};
use super::swarm_objects::{Objects, SwarmObjects};
use crate::controls::Feedback;
use crate::frames::Frame;
use crate::layout::{CurrentUser, engine_epoch, page_engine};
use crate::live::{LiveStatus, use_live};
use crate::log_viewer::LogViewer;
use crate::{
    api,
    model::{ImageUpdate, Me, ServiceDetail, Swarm, SwarmNode, SwarmService},
    status::ErrorPanel,
    urls::{self, On},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use std::collections::BTreeMap;

#[component]
pub fn SwarmPage() -> impl IntoView {
    let on = page_engine();
    let swarm = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::read(on, crate::model::GetSwarm {}),
    );
    let me = expect_context::<CurrentUser>().0;
    let updates =
        super::image_updates::by_service(super::image_updates::use_updates(move || on.get()));
    // Outside the table, which each frame draws again: a drain waiting for its second
    // click, and what the last change said.
    let asking = RwSignal::new(None::<SwarmNode>);
    let feedback = Feedback::new();
    // The swarm as its stream last sent it; until then, as the page was rendered.
    let live = RwSignal::new(None::<Swarm>);
    let redraw = RwSignal::new(0u32);
    // A cancelled drain puts the node's choice back as it was.
    let changed = Callback::new(move |()| redraw.update(|n| *n += 1));
    let path = move || {
        let manager = swarm.get().and_then(Result::ok).is_some_and(|s| s.manager);
        manager.then(|| urls::ws_swarm(&on.get()))
    };
    let status = use_live(path, move |frame| {
        if let Frame::Swarm(now) = frame {
            live.set(Some(now.swarm));
        }
    });
    // Another engine's page: nothing of the last one's swarm, no drain of its nodes.
    Effect::new(move |_| {
        on.track();
        live.set(None);
        asking.set(None);
    });
    view! {
        <Title text="Swarm" />
        <h1>"Swarm"</h1>
        {live_status(status)}
        {drain_confirm(on, asking, feedback, changed)}
        <div data-testid="swarm-said">{feedback.view()}</div>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let operator = me.await.ok().is_some_and(|m: Me| m.may_operate());
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
                    Ok(rendered) => {
                        let controls = NodeControls {
                            operator,
                            asking,
                            feedback,
                            changed,
                        };
                        let page = on;
                        let on = on.get_untracked();
                        let nodes = {
                            let rendered = rendered.nodes.clone();
                            Signal::derive(move || {
                                live.with(|l| l.as_ref().map(|s| s.nodes.clone()))
                                    .unwrap_or_else(|| rendered.clone())
                            })
                        };
                        view! {
                            {move || {
                                redraw.track();
                                let now = live.get().unwrap_or_else(|| rendered.clone());
                                swarm_view(&on, now, controls, updates)
                            }}
                            {operator.then(|| add_label_form(page, nodes, feedback, changed))}
                            <div class="swarm-objects-pair">
                                <section>
                                    <SwarmObjects on=page which=Objects::Secrets />
                                </section>
                                <section>
                                    <SwarmObjects on=page which=Objects::Configs />
                                </section>
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

/// Whether the page follows the swarm live.
fn live_status(status: ReadSignal<LiveStatus>) -> impl IntoView {
    view! {
        <p class="muted">
            <span class=move || status.get().class() data-testid="swarm-live">
                {move || status.get().label()}
            </span>
        </p>
    }
}

/// What a node's row needs to change its availability.
#[derive(Clone, Copy)]
struct NodeControls {
    operator: bool,
    asking: RwSignal<Option<SwarmNode>>,
    feedback: Feedback,
    changed: Callback<()>,
}

fn swarm_view(
    on: &On,
    swarm: Swarm,
    controls: NodeControls,
    updates: Memo<BTreeMap<String, ImageUpdate>>,
) -> impl IntoView + use<> {
    let nodes = swarm
        .nodes
        .into_iter()
        .map(|n| {
            let state_class = format!("state state-{}", n.state);
            let key = n.hostname.clone();
            let labels = label_tags(
                on.clone(),
                &n,
                controls.operator,
                controls.feedback,
                controls.changed,
            );
            let availability = availability_control(
                on.clone(),
                &n,
                controls.operator,
                controls.asking,
                controls.feedback,
                controls.changed,
            );
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
                    <td data-testid="availability" data-availability=n.availability.clone()>
                        {availability}
                    </td>
                    <td>{n.tasks}</td>
                    <td data-testid="node-labels">{labels}</td>
                    <td class="mono">{n.engine_version}</td>
                </tr>
            }
        })
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
                    <th>"Tasks"</th>
                    <th>"Labels"</th>
                    <th>"Engine"</th>
                </tr>
            </thead>
            <tbody>{nodes}</tbody>
        </table>
        <h2>"Services"</h2>
        {services_table(on, swarm.services, true, updates)}
    }
}

/// Services with their replicas and update state, and a badge where a newer image is
/// found (`updates`, by service id); `stacks`: with the stack each belongs to (the swarm
/// page), not on a stack's own page.
pub(super) fn services_table(
    on: &On,
    services: Vec<SwarmService>,
    stacks: bool,
    updates: Memo<BTreeMap<String, ImageUpdate>>,
) -> impl IntoView + use<> {
    let rows = services
        .into_iter()
        .map(|s| service_row(on, s, stacks, updates))
        .collect_view();
    view! {
        <table class="containers services">
            <thead>
                <tr>
                    <th>"Service"</th>
                    {stacks.then(|| view! { <th>"Stack"</th> })}
                    <th>"Image"</th>
                    <th>"Mode"</th>
                    <th>"Replicas"</th>
                    <th>"Ports"</th>
                    <th>"Update"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn service_row(
    on: &On,
    s: SwarmService,
    stacks: bool,
    updates: Memo<BTreeMap<String, ImageUpdate>>,
) -> impl IntoView + use<> {
    let href = urls::service(on, &s.name);
    let id = s.id.clone();
    let badge = move || updates.with(|u| super::image_updates::badge(u.get(&id)));
    let replicas_class = match s.running >= s.desired {
        true => "state state-running",
        false => "state state-restarting",
    };
    view! {
        <tr class="service-row" data-name=s.name.clone()>
            <td>
                <a href=href>{s.name.clone()}</a>
                " "
                {badge}
            </td>
            {stacks
                .then(|| {
                    let stack = s
                        .stack
                        .clone()
                        .map(|name| view! { <a href=urls::stack(on, &name)>{name.clone()}</a> });
                    view! { <td data-testid="service-stack">{stack}</td> }
                })}
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

/// The service and its tasks follow the swarm's live stream; the log viewer sits outside
/// them, so a frame never touches its socket.
#[component]
fn ServiceView(on: On, initial: ServiceDetail) -> impl IntoView {
    let name = initial.service.name.clone();
    let id = initial.service.id.clone();
    // The service as last read: what a change is sent against (its version).
    let current = RwSignal::new(initial.service.clone());
    let tasks = RwSignal::new(initial.tasks);
    let gone = RwSignal::new(false);
    let status = {
        let (on, id) = (on.clone(), id.clone());
        let path = urls::ws_swarm(&on);
        use_live(
            move || Some(path.clone()),
            move |frame| {
                let Frame::Swarm(mut now) = frame else {
                    return;
                };
                match now.swarm.services.into_iter().find(|s| s.id == id) {
                    Some(service) => {
                        current.set(service);
                        tasks.set(now.tasks.remove(&id).unwrap_or_default());
                    }
                    None => gone.set(true),
                }
            },
        )
    };
    let path = urls::ws_service_logs(&on, &id, 100);
    // The stream brings what a change did; nothing to read again.
    let changed = Callback::new(|()| ());
    view! {
        <Title text=name.clone() />
        <h1>{name.clone()} " " <span class="muted">"swarm service"</span></h1>
        {live_status(status)}
        {move || {
            gone.get()
                .then(|| {
                    view! {
                        <p class="admin-error" data-testid="service-gone">
                            "This service no longer exists."
                        </p>
                    }
                })
        }}
        <ServiceActions on=on.clone() current changed />
        <super::service_update::ServiceImageUpdate on=on.clone() id=id.clone() name=name.clone() />
        {move || tasks_view(ServiceDetail {
            service: current.get(),
            tasks: tasks.get(),
        })}
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
                    <td class="mono" data-testid="task-image">{t.image}</td>
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
            {format!(" · {} · {}/{} running · version {}", s.mode, s.running, s.desired, s.version)}
        </p>
        {s
            .update_state
            .map(|state| {
                let message = s.update_message.unwrap_or_default();
                let shown = state.clone();
                view! {
                    <p data-testid="update-state" data-state=state>
                        "Last update: " <strong>{shown}</strong> " " <span class="muted">{message}</span>
                    </p>
                }
            })}
        <table class="containers tasks">
            <thead>
                <tr>
                    <th>"Task"</th>
                    <th>"Image"</th>
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
