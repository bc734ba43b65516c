//! What an operator can do from a page: a container's action buttons (its page and its
//! list row), the list's bulk bar, and a compose project's buttons. Only the actions the
//! state allows are offered; kill and remove ask first; a pending action disables the
//! buttons; Docker's answer (or error) shows where the user clicked. After an action the
//! page reloads its data (the event stream will make that unneeded).

use crate::controls::{AskFirst, Feedback};
use crate::layout::CurrentUser;
use crate::{
    api,
    model::{
        ActOnContainer, Action, ActionOptions, ActionOutcome, ActionResult, ApiError, BulkAction,
        Me, RemoveContainer,
    },
    urls::On,
};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// Does `action` to a container: its state after, or `None` once removed.
async fn act(
    on: On,
    id: String,
    action: Action,
    options: ActionOptions,
) -> Result<Option<ActionOutcome>, ApiError> {
    match action {
        Action::Remove => api::call(on, RemoveContainer { id }, options, ())
            .await
            .map(|()| None),
        action => api::call(on, ActOnContainer { id, action }, options, ())
            .await
            .map(Some),
    }
}

/// Renders `children` for operators and admins only (and everyone with accounts off).
#[component]
pub fn ForOperators(children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let children = StoredValue::new(children);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                me.await.ok().filter(Me::may_operate).map(|_| children.read_value()())
            })}
        </Transition>
    }
}

/// The actions a container in `state` can take, in the order they are offered.
fn offered(state: &str) -> &'static [Action] {
    match state {
        "running" => &[Action::Stop, Action::Restart, Action::Pause],
        "paused" => &[Action::Unpause],
        "restarting" => &[Action::Stop],
        _ => &[Action::Start],
    }
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Start => "started",
        Action::Stop => "stopped",
        Action::Restart => "restarted",
        Action::Kill => "killed",
        Action::Pause => "paused",
        Action::Unpause => "unpaused",
        Action::Remove => "removed",
    }
}

fn label(action: Action) -> &'static str {
    match action {
        Action::Start => "Start",
        Action::Stop => "Stop",
        Action::Restart => "Restart",
        Action::Kill => "Kill",
        Action::Pause => "Pause",
        Action::Unpause => "Unpause",
        Action::Remove => "Remove",
    }
}

/// One action's button: disabled while `busy` says so.
fn action_button(
    action: Action,
    busy: impl Fn() -> bool + Send + Sync + 'static,
    press: impl Fn() + 'static,
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="action"
            data-action=action.as_str()
            disabled=busy
            on:click=move |_| press()
        >
            {label(action)}
        </button>
    }
}

/// A container's buttons. `after` runs once an action succeeded, with whether the
/// container is gone (a failure stays on screen with Docker's words instead). `compact`
/// (a list row) offers the main action and remove only.
#[component]
pub fn ContainerActions(
    on: On,
    id: String,
    name: String,
    state: String,
    after: Callback<bool>,
    #[prop(optional)] compact: bool,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    let feedback = Feedback::new();
    let removed = StoredValue::new(false);
    let succeeded = StoredValue::new(false);
    let go = {
        let (on, id) = (on.clone(), id.clone());
        move |action: Action, options: ActionOptions| {
            pending.set(true);
            let work = act(on.clone(), id.clone(), action, options);
            feedback.run(
                work,
                move |outcome| {
                    succeeded.set_value(true);
                    match outcome {
                        Some(o) if o.changed => format!("{}: now {}", past(action), o.state),
                        Some(o) => format!("already {}", o.state),
                        None => {
                            removed.set_value(true);
                            "removed".to_string()
                        }
                    }
                },
                move || {
                    pending.try_set(false);
                    if succeeded.try_get_value() == Some(true) {
                        after.run(removed.try_get_value().unwrap_or(false));
                    }
                },
            );
        }
    };
    let running = matches!(state.as_str(), "running" | "paused" | "restarting");
    let shown = match compact {
        true => &offered(&state)[..1],
        false => offered(&state),
    };
    let buttons = shown
        .iter()
        .map(|&action| {
            let go = go.clone();
            action_button(
                action,
                move || pending.get(),
                move || go(action, ActionOptions::default()),
            )
        })
        .collect_view();
    let kill = (running && !compact).then(|| {
        let go = go.clone();
        view! {
            <AskFirst
                label="Kill"
                question=format!("Kill {name}? It gets SIGKILL, with no time to finish.")
                yes="Kill"
                on_yes=Callback::new(move |()| go(Action::Kill, ActionOptions::default()))
            />
        }
    });
    let remove_question = match running {
        true => format!("Remove {name}? It is stopped first, and its filesystem goes with it."),
        false => format!("Remove {name}? Its filesystem goes with it."),
    };
    let remove_options = ActionOptions {
        force: running.then_some(true),
        ..ActionOptions::default()
    };
    view! {
        <div class="actions" data-testid="container-actions">
            {buttons}
            {kill}
            <AskFirst
                label="Remove"
                question=remove_question
                yes="Remove"
                on_yes=Callback::new(move |()| go(Action::Remove, remove_options.clone()))
            />
            {feedback.view()}
        </div>
    }
}

/// What a bulk or project action did, in a line: how many succeeded, and each failure
/// with its container and Docker's words.
fn summary(action: Action, results: &[ActionResult]) -> Result<String, String> {
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r.id, r.error.as_ref()?)))
        .collect();
    let done = results.len() - failed.len();
    let said = format!("{} {done} of {}", past(action), results.len());
    match failed.is_empty() {
        true => Ok(said),
        false => Err(format!("{said}; {}", failed.join("; "))),
    }
}

/// The list's bar for the selected containers: start, stop, restart, remove (asked first).
#[component]
pub fn BulkBar(on: On, selected: RwSignal<BTreeSet<String>>, after: Callback<()>) -> impl IntoView {
    let pending = RwSignal::new(false);
    let feedback = Feedback::new();
    let go = move |action: Action, options: ActionOptions| {
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        if ids.is_empty() {
            return;
        }
        pending.set(true);
        let request = BulkAction {
            action,
            ids,
            options,
        };
        feedback.judge(
            api::call(on.clone(), crate::model::ActOnMany {}, (), request),
            move |results| summary(action, &results),
            move || {
                pending.try_set(false);
                selected.try_set(BTreeSet::new());
                after.run(());
            },
        );
    };
    let button = {
        let go = go.clone();
        move |action: Action| {
            let go = go.clone();
            action_button(
                action,
                move || pending.get() || selected.with(BTreeSet::is_empty),
                move || go(action, ActionOptions::default()),
            )
        }
    };
    let remove = {
        let go = go.clone();
        move || {
            let go = go.clone();
            let n = selected.with(BTreeSet::len);
            view! {
                <AskFirst
                    label="Remove"
                    question=format!("Remove {n} containers? Running ones are stopped first.")
                    yes="Remove"
                    on_yes=Callback::new(move |()| {
                        go(
                            Action::Remove,
                            ActionOptions {
                                force: Some(true),
                                ..ActionOptions::default()
                            },
                        )
                    })
                />
            }
        }
    };
    view! {
        <div class="bulk-bar" data-testid="bulk-bar">
            <span data-testid="selected-count">
                {move || format!("{} selected", selected.with(BTreeSet::len))}
            </span>
            {button(Action::Start)}
            {button(Action::Stop)}
            {button(Action::Restart)}
            {move || (!selected.with(BTreeSet::is_empty)).then(remove.clone())}
            {feedback.view()}
        </div>
    }
}

/// A compose project's buttons: start, stop or restart every member.
#[component]
pub fn ProjectActions(on: On, name: String, after: Callback<()>) -> impl IntoView {
    let pending = RwSignal::new(false);
    let feedback = Feedback::new();
    let buttons = [Action::Start, Action::Stop, Action::Restart]
        .into_iter()
        .map(|action| {
            let (on, name) = (on.clone(), name.clone());
            action_button(
                action,
                move || pending.get(),
                move || {
                    pending.set(true);
                    feedback.judge(
                        api::call(
                            on.clone(),
                            crate::model::ActOnProject {
                                name: name.clone(),
                                action,
                            },
                            ActionOptions::default(),
                            (),
                        ),
                        move |results| summary(action, &results),
                        move || {
                            pending.try_set(false);
                            after.run(());
                        },
                    );
                },
            )
        })
        .collect_view();
    view! {
        <div class="actions" data-testid="project-actions">
            {buttons}
            {feedback.view()}
        </div>
    }
}
