//! `/stacks` (an engine's compose stacks, and the projects it runs with no folder here) and
//! `/all/stacks` (every engine's), with each stack's state kept current by the engine's
//! list stream (and a swarm's stacks by its swarm stream), and the form that makes a new stack from a template or pasted YAML.

use super::container_actions::ForOperators;
use crate::controls::Feedback;
use crate::frames::Frame;
use crate::layout::{engine_epoch, go_to, page_engine};
use crate::live::use_live;
use crate::live_containers::use_live_containers;
use crate::model::{
    ListEngines, ListStacks, SaveOptions, SaveStack, StackFiles, StackSummary, SwarmService,
    group_projects, validate_stack_name,
};
use crate::urls::{self, On};
use crate::{Hydrated, api, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;
use std::collections::BTreeMap;

/// What a new stack starts from when nothing is pasted.
const TEMPLATE: &str = "services:\n  app:\n    image: nginx:alpine\n    restart: unless-stopped\n";

/// `list` counted again against the engine's containers and the swarm's services now, as
/// far as the streams have told them (else as the server counted).
fn recount(
    list: &[StackSummary],
    containers: Option<Vec<crate::model::ContainerSummary>>,
    services: Option<&[SwarmService]>,
) -> Vec<StackSummary> {
    let projects = containers.map(group_projects);
    list.iter()
        .map(|s| match (s.swarm, &projects, services) {
            (true, _, Some(services)) => s.clone().counted_on_swarm(services),
            (false, Some(projects), _) => s
                .clone()
                .counted(projects.iter().find(|p| p.name == s.name)),
            _ => s.clone(),
        })
        .collect()
}

#[component]
pub fn StackList() -> impl IntoView {
    let on = page_engine();
    let stacks = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::read(on, ListStacks {}),
    );
    let live = use_live_containers(move || on.get());
    let updates =
        super::image_updates::by_project(super::image_updates::use_updates(move || on.get()));
    // The swarm's stream too, only when the engine has stacks on a swarm: a memo, so a
    // list read again for the same engine keeps the socket open.
    let services = RwSignal::new(None::<Vec<SwarmService>>);
    let swarm_path = Memo::new(move |_| {
        let listed = stacks.get().and_then(Result::ok);
        let on_swarm = listed.is_some_and(|list| list.iter().any(|s| s.swarm));
        on_swarm.then(|| urls::ws_swarm(&on.get()))
    });
    // Another engine's services never count for this one's stacks.
    Effect::new(move |_| {
        swarm_path.track();
        services.set(None);
    });
    use_live(
        move || swarm_path.get(),
        move |frame| {
            if let Frame::Swarm(now) = frame {
                services.set(Some(now.swarm.services));
            }
        },
    );
    view! {
        <Title text="Stacks" />
        <h1>"Stacks"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match stacks.await {
                    Ok(initial) => {
                        view! {
                            <ForOperators>
                                <NewStack on=on.get_untracked() />
                            </ForOperators>
                            {move || {
                                let list = services
                                    .with(|s| recount(&initial, live.containers(), s.as_deref()));
                                if list.is_empty() {
                                    return view! {
                                        <p class="muted">
                                            "No stacks yet: make one here, or copy a folder with a compose.yaml into Berth's stacks directory."
                                        </p>
                                    }
                                        .into_any();
                                }
                                stack_table(list, Some((&on.get(), updates))).into_any()
                            }}
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Every engine's stacks: each engine asked on its own, so one that does not answer holds
/// up none of the rest and is named above the table.
#[component]
pub fn AllStacks() -> impl IntoView {
    let all = Resource::new(engine_epoch, |_| async move {
        let engines = api::read_berth(ListEngines {}).await?;
        let answers = futures::future::join_all(engines.into_iter().map(|e| async move {
            let on = On::named(e.name.clone());
            (e.name, api::read(on, ListStacks {}).await)
        }))
        .await;
        Ok::<_, crate::model::ApiError>(answers)
    });
    view! {
        <Title text="All stacks" />
        <h1>"All stacks"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match all.await {
                    Ok(answers) => {
                        let mut list = Vec::new();
                        let mut unanswered = Vec::new();
                        for (engine, answer) in answers {
                            match answer {
                                Ok(stacks) => list.extend(stacks),
                                Err(e) => unanswered.push((engine, e.error)),
                            }
                        }
                        let unanswered = unanswered
                            .into_iter()
                            .map(|(engine, error)| {
                                let shown = engine.clone();
                                view! {
                                    <li class="engine-unanswered" data-engine=engine>
                                        <strong>{shown}</strong>
                                        " did not answer: "
                                        {error}
                                    </li>
                                }
                            })
                            .collect_view();
                        view! {
                            <ul class="plain banner-list">{unanswered}</ul>
                            {stack_table(list, None)}
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The stacks in a table; `on` is the page's engine with its image updates per stack (for
/// their badges), or `None` across engines (an engine column, and each stack's link under
/// its engine's name).
fn stack_table(
    list: Vec<StackSummary>,
    on: Option<(&On, Memo<BTreeMap<String, usize>>)>,
) -> impl IntoView + use<> {
    let show_engine = on.is_none();
    let updates = on.map(|(_, updates)| updates);
    let on = on.map(|(on, _)| on);
    let rows = list
        .into_iter()
        .map(|s| {
            let href = match on {
                Some(on) => urls::stack(on, &s.name),
                None => urls::stack(&On::named(s.engine.clone()), &s.name),
            };
            let counts = format!("{} of {}", s.running, s.services.len());
            let name = s.name.clone();
            let badge = move || {
                updates.and_then(|u| u.with(|u| super::image_updates::count_badge(u.get(&name))))
            };
            view! {
                <tr class="stack-row" data-name=s.name.clone() data-engine=s.engine.clone()>
                    <td>
                        <a href=href>{s.name.clone()}</a>
                        {s.external.then(|| view! { " " <span class="tag">"external"</span> })}
                        {s.swarm.then(|| view! { " " <span class="tag">"swarm"</span> })}
                        " "
                        {badge}
                    </td>
                    {show_engine.then(|| view! { <td>{s.engine.clone()}</td> })}
                    <td>
                        <span class=s.state.class() data-testid="stack-state">
                            {s.state.as_str()}
                        </span>
                    </td>
                    <td data-testid="stack-running">{counts}</td>
                    <td>{s.services.join(", ")}</td>
                    <td>{s.containers}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers stacks">
            <thead>
                <tr>
                    <th>"Stack"</th>
                    {show_engine.then(|| view! { <th>"Engine"</th> })}
                    <th>"State"</th>
                    <th>"Services running"</th>
                    <th>"Services"</th>
                    <th>"Containers"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// A new stack: a name, and the compose file (the template, or YAML pasted over it), then
/// its page. Saved with `create`: the server refuses a name in use (409), so a new stack
/// never writes over one, whoever made it meanwhile.
#[component]
fn NewStack(on: On) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let name = RwSignal::new(String::new());
    let compose = RwSignal::new(TEMPLATE.to_string());
    let feedback = Feedback::new();
    let on = StoredValue::new(on);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let asked = name.get_untracked().trim().to_string();
        if let Err(e) = validate_stack_name(&asked) {
            return feedback.say(Err(e.error));
        }
        let on = on.get_value();
        let files = StackFiles {
            compose: compose.get_untracked(),
            env: String::new(),
        };
        let page = urls::stack(&on, &asked);
        feedback.run(
            api::call(
                on,
                SaveStack { name: asked },
                SaveOptions { create: Some(true) },
                files,
            ),
            move |_| {
                go_to(&page);
                "created".into()
            },
            || (),
        );
    };
    view! {
        <details class="card new-stack">
            <summary>"New stack"</summary>
            <form on:submit=create aria-label="New stack">
                <label>
                    "Name "
                    <input
                        type="text"
                        placeholder="lowercase-name"
                        aria-label="Stack name"
                        prop:value=name
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                </label>
                <p class="muted">"compose.yaml: the template below, or paste your own over it."</p>
                <textarea
                    class="mono"
                    rows="10"
                    spellcheck="false"
                    aria-label="New stack's compose file"
                    prop:value=compose
                    on:input=move |ev| compose.set(event_target_value(&ev))
                >
                    {TEMPLATE}
                </textarea>
                <p>
                    <button type="submit" disabled=move || !hydrated.get()>
                        "Create"
                    </button>
                    " "
                    <button type="button" on:click=move |_| compose.set(TEMPLATE.to_string())>
                        "Start from the template"
                    </button>
                </p>
                {feedback.view()}
            </form>
        </details>
    }
}
