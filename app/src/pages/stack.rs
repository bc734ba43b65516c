//! `/stacks/:name`: one compose stack. Its state and services follow the engine's list
//! stream; its files are in the editor ([`super::stack_files`]); its runs, the plan before a
//! deploy and the live output are in [`super::stack_runs`]; rename and remove are here.

use super::container_actions::ForOperators;
use super::projects::members_table;
use super::stack_files::{ExternalFileView, StackEditor, StackVersions, Texts};
use super::stack_runs::{RunOutput, StackActions, StackRuns};
use super::swarm::services_table;
use crate::controls::{AskFirst, Feedback, Reload};
use crate::frames::Frame;
use crate::layout::{engine_epoch, go_to, page_engine};
use crate::live::use_live;
use crate::live_containers::use_live_containers;
use crate::model::{
    GetStack, Project, RemoveStack, RenameStack, Stack, StackRename, SwarmService, group_projects,
    validate_stack_name,
};
use crate::urls::{self, On};
use crate::{Hydrated, api, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn StackPage() -> impl IntoView {
    let params = use_params_map();
    let name = move || params.read().get("name").unwrap_or_default();
    let on = page_engine();
    let stack = Resource::new(
        move || (on.get(), name(), engine_epoch()),
        |(on, name, _)| api::read(on, GetStack { name }),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match stack.await {
                    Ok(stack) => view! { <StackView on=on.get_untracked() initial=stack /> }.into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Stack" />
                            <h1>"Stack"</h1>
                            <ErrorPanel error />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// What the parts of a stack's page share: the stack as last read, the run on screen, and
/// the counter that reloads the runs and versions after a change.
#[derive(Clone, Copy)]
pub(super) struct StackContext {
    pub on: StoredValue<On>,
    pub name: StoredValue<String>,
    pub stack: RwSignal<Stack>,
    /// The run whose output is shown (the one going on, or one picked from the list).
    pub shown_run: RwSignal<Option<u64>>,
    /// A run is going on (the action buttons wait): set when one is started here, else as
    /// the server last said.
    pub running: RwSignal<bool>,
    pub history: Reload,
    /// Refreshes asked so far: an answer older than the last one asked is dropped.
    pub refreshes: StoredValue<u64>,
    /// The editor's text and what was last saved.
    pub texts: Texts,
}

impl StackContext {
    /// Reads the stack again after a run ended or could not start: whether a run goes on
    /// (someone else's is shown), and the runs and versions lists. The page may be gone by
    /// the time it answers: then nothing happens.
    pub fn refresh(self) {
        let (Some(on), Some(name)) = (self.on.try_get_value(), self.name.try_get_value()) else {
            return;
        };
        let Some(asked) = self.refreshes.try_update_value(|n| {
            *n += 1;
            *n
        }) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let answer = api::call(on, GetStack { name }, (), ()).await;
            if self.refreshes.try_get_value() != Some(asked) {
                return;
            }
            if let Ok(stack) = answer {
                self.running.try_set(stack.run.is_some());
                if let Some(run) = &stack.run {
                    self.shown_run.try_set(Some(run.n));
                }
                self.stack.try_set(stack);
            }
            self.history.now();
        });
    }
}

#[component]
fn StackView(on: On, initial: Stack) -> impl IntoView {
    let name = initial.summary.name.clone();
    let external = initial.summary.external;
    let running_now = initial.run.as_ref().map(|r| r.n);
    let texts = Texts::of(&initial.files);
    let context = StackContext {
        on: StoredValue::new(on.clone()),
        name: StoredValue::new(name.clone()),
        stack: RwSignal::new(initial),
        shown_run: RwSignal::new(running_now),
        running: RwSignal::new(running_now.is_some()),
        history: Reload::new(),
        refreshes: StoredValue::new(0),
        texts,
    };
    provide_context(context);
    // A stack on a swarm follows the swarm's stream (its services), any other the
    // engine's containers; never both.
    let swarm = context.stack.with_untracked(|s| s.summary.swarm);
    // Its members' (or services') image updates, for their badges.
    let found = super::image_updates::use_updates({
        let on = on.clone();
        move || on.clone()
    });
    let (by_container, by_service) = (
        super::image_updates::by_container(found),
        super::image_updates::by_service(found),
    );
    let live = (!swarm).then(|| {
        use_live_containers({
            let on = on.clone();
            move || on.clone()
        })
    });
    let services = RwSignal::new(None::<Vec<SwarmService>>);
    let swarm_status = swarm.then(|| {
        let (on, name) = (on.clone(), name.clone());
        use_live(
            move || Some(urls::ws_swarm(&on)),
            move |frame| {
                if let Frame::Swarm(now) = frame {
                    let mine = now.swarm.services.into_iter();
                    let mine = mine.filter(|s| s.stack.as_deref() == Some(name.as_str()));
                    services.set(Some(mine.collect()));
                }
            },
        )
    });
    // Whichever stream the page follows, said beside its services.
    let status = swarm_status.or_else(|| live.map(|live| live.status));
    let status = status.map(|status| {
        view! {
            " "
            <span class=move || status.get().class() data-testid="live-status">
                {move || status.get().label()}
            </span>
        }
    });
    // The stack's containers as the stream has them, else as the page was rendered.
    let project = {
        let name = name.clone();
        move || match live.and_then(|live| live.containers()) {
            Some(list) => group_projects(list).into_iter().find(|p| p.name == name),
            None => context.stack.with(|s| s.project.clone()),
        }
    };
    let summary = {
        let project = project.clone();
        move || {
            let rendered = context.stack.with(|s| s.summary.clone());
            match services.get() {
                Some(services) => rendered.counted_on_swarm(&services),
                None if swarm => rendered,
                None => rendered.counted(project().as_ref()),
            }
        }
    };
    let state = move || {
        let s = summary();
        let class = s.state.class();
        let counts = format!("{} of {} services running", s.running, s.services.len());
        view! {
            <span class=class data-testid="stack-state">{s.state.as_str()}</span>
            " "
            <span class="muted" data-testid="stack-running">{counts}</span>
        }
    };
    let members = {
        let on = on.clone();
        let name = name.clone();
        move || match (swarm, services.get()) {
            (true, Some(services)) => services_table(&on, services, false, by_service).into_any(),
            (true, None) => view! { <p class="loading">"Reading the swarm…"</p> }.into_any(),
            (false, _) => {
                let project = project().unwrap_or_else(|| Project::empty(&name));
                members_table(&on, project, by_container).into_any()
            }
        }
    };
    let (kind, elsewhere, link) = match swarm {
        true => (
            "swarm stack",
            "This stack was deployed on the swarm outside Berth (docker stack deploy) and has no folder here: its services' actions are on their pages.",
            view! { <a href=urls::swarm(&on)>"swarm page"</a> },
        ),
        false => (
            "compose stack",
            "This compose project was deployed outside Berth and has no folder here: its containers' actions are on its project page.",
            view! { <a href=urls::project(&on, &name)>"project page"</a> },
        ),
    };
    view! {
        <Title text=name.clone() />
        <h1>
            {name.clone()} " " <span class="muted">{kind}</span> " "
            {external.then(|| view! { <span class="tag">"external"</span> })}
        </h1>
        <p class="stack-state">{state} " · " {link}</p>
        {match external {
            true => view! { <p class="muted">{elsewhere}</p> }.into_any(),
            false => view! { <StackActions /> }.into_any(),
        }}
        {move || {
            context.shown_run.get().map(|n| view! { <RunOutput n /> })
        }}
        <h2>"Services" {status}</h2>
        <ForOperators>
            <super::image_updates::UpdateAllOf on=on.clone() project=Some(name.clone()) found />
        </ForOperators>
        {members}
        {match (external, swarm) {
            (true, false) => view! { <ForOperators><ExternalFileView /></ForOperators> }.into_any(),
            // Docker keeps no file of a stack deployed on a swarm.
            (true, true) => ().into_any(),
            (false, _) => view! { <StackEditor /> }.into_any(),
        }}
        {(!external)
            .then(|| {
                view! {
                    <div class="stack-history">
                        <StackRuns />
                        <StackVersions />
                    </div>
                    <ForOperators>
                        <StackManage />
                    </ForOperators>
                }
            })}
    }
}

/// Rename and remove: both refused by the server while the stack has containers (take it
/// down first); remove asks first.
#[component]
fn StackManage() -> impl IntoView {
    let context = expect_context::<StackContext>();
    let hydrated = expect_context::<Hydrated>().0;
    let to = RwSignal::new(String::new());
    let feedback = Feedback::new();
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let wanted = to.get_untracked().trim().to_string();
        if let Err(e) = validate_stack_name(&wanted) {
            return feedback.say(Err(e.error));
        }
        let on = context.on.get_value();
        let page = urls::stack(&on, &wanted);
        let call = api::call(
            on,
            RenameStack {
                name: context.name.get_value(),
            },
            (),
            StackRename { to: wanted },
        );
        feedback.run(
            call,
            move |_| {
                go_to(&page);
                "renamed".into()
            },
            || (),
        );
    };
    let remove = Callback::new(move |()| {
        let on = context.on.get_value();
        let list = urls::stacks(&on);
        let call = api::call(
            on,
            RemoveStack {
                name: context.name.get_value(),
            },
            (),
            (),
        );
        feedback.run(
            call,
            move |()| {
                go_to(&list);
                "removed".into()
            },
            || (),
        );
    });
    let question = format!(
        "Remove the stack {} with its folder, its versions and its runs? Its containers must be down first.",
        context.name.get_value()
    );
    view! {
        <section class="card stack-manage">
            <h2>"Rename or remove"</h2>
            <form class="inline-form" on:submit=rename aria-label="Rename the stack">
                <input
                    type="text"
                    placeholder="new-name"
                    aria-label="New name"
                    prop:value=to
                    on:input=move |ev| to.set(event_target_value(&ev))
                />
                <button type="submit" disabled=move || !hydrated.get()>
                    "Rename"
                </button>
            </form>
            <p>
                <AskFirst label="Remove stack" question yes="Remove" on_yes=remove />
            </p>
            {feedback.view()}
        </section>
    }
}
