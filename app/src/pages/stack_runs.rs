//! A stack's runs on its page: the action buttons (a deploy shows its plan first; down asks
//! first, with whether volumes go), the live output of a run with its Cancel button, and
//! the last runs with how each ended.

use super::container_actions::ForOperators;
use super::stack::StackContext;
use crate::controls::Feedback;
use crate::log_viewer::LogViewer;
use crate::model::{
    CancelStackRun, GetStackPlan, ListStackRuns, RunOptions, RunStack, StackAction, StackPlan,
};
use crate::{Hydrated, api, format, urls};
use leptos::prelude::*;

fn label(action: StackAction) -> &'static str {
    match action {
        StackAction::Deploy => "Deploy",
        StackAction::Pull => "Pull and deploy",
        StackAction::Stop => "Stop",
        StackAction::Start => "Start",
        StackAction::Restart => "Restart",
        StackAction::Down => "Down",
    }
}

/// What the buttons are waiting on: a plan to read before a deploy, or a down to confirm.
#[derive(Clone, Debug, PartialEq)]
enum Asking {
    Plan(StackAction, Option<Result<StackPlan, String>>),
    Down,
}

#[component]
pub(super) fn StackActions() -> impl IntoView {
    let context = expect_context::<StackContext>();
    let hydrated = expect_context::<Hydrated>().0;
    let feedback = Feedback::new();
    let asking = RwSignal::new(None::<Asking>);
    let volumes = RwSignal::new(false);
    // On a swarm (`docker stack deploy`): whether the registry logins go to the nodes.
    let registry_auth = RwSignal::new(false);
    let on_swarm = move || context.stack.with(|s| s.summary.swarm);
    // The run's scope: the whole stack, or one service (compose also starts what it
    // depends on); down always takes the whole stack.
    let service = RwSignal::new(None::<String>);
    // The chosen service while the file still has it (a save may have dropped it).
    let scoped = move || {
        service
            .get()
            .filter(|one| context.stack.with(|s| s.summary.services.contains(one)))
    };
    // Plans asked so far: a late answer to an earlier one is dropped.
    let plans = StoredValue::new(0u64);
    let dirty = Memo::new(move |_| context.texts.dirty());
    let start = move |action: StackAction| {
        asking.set(None);
        let options = RunOptions {
            service: untrack(scoped),
            volumes: (action == StackAction::Down).then(|| volumes.get_untracked()),
            registry_auth: untrack(on_swarm).then(|| registry_auth.get_untracked()),
        };
        let call = api::call(
            context.on.get_value(),
            RunStack {
                name: context.name.get_value(),
                action: action.as_str().into(),
            },
            options,
            (),
        );
        context.running.set(true);
        feedback.judge(
            call,
            move |started| {
                context.shown_run.try_set(Some(started.run));
                Ok(format!("{} started: run {}", label(action), started.run))
            },
            // Started or refused (another's run, no CLI): whether a run goes on, as the
            // server has it, and the runs list.
            move || context.refresh(),
        );
    };
    // A deploy first reads what it will do.
    let plan = move |action: StackAction| {
        asking.set(Some(Asking::Plan(action, None)));
        let asked = plans.with_value(|n| n + 1);
        plans.set_value(asked);
        let call = api::call(
            context.on.get_value(),
            GetStackPlan {
                name: context.name.get_value(),
            },
            (),
            (),
        );
        leptos::task::spawn_local(async move {
            let answer = call.await.map_err(|e| e.error);
            if plans.try_get_value() != Some(asked) {
                return;
            }
            asking.try_update(|asking| {
                if let Some(Asking::Plan(a, plan)) = asking
                    && *a == action
                {
                    *plan = Some(answer);
                }
            });
        });
    };
    let button = move |action: StackAction| {
        let press = move |_| match action {
            StackAction::Deploy | StackAction::Pull => plan(action),
            StackAction::Down => {
                // Volumes go only when ticked for this down, never remembered from the last.
                volumes.set(false);
                asking.set(Some(Asking::Down));
            }
            _ => start(action),
        };
        let class = match action {
            StackAction::Down => "danger",
            StackAction::Deploy => "primary",
            _ => "action",
        };
        view! {
            <button
                type="button"
                class=class
                data-action=action.as_str()
                disabled=move || {
                    !hydrated.get() || context.running.get()
                        || (action == StackAction::Down && scoped().is_some())
                }
                on:click=press
            >
                {label(action)}
            </button>
        }
    };
    let asked = move || {
        asking.get().map(|asked| match asked {
            Asking::Down => {
                // `stack rm` leaves volumes on the nodes: no box for them on a swarm.
                let (question, volumes_box) = match untrack(on_swarm) {
                    true => (
                        "Take the stack down with docker stack rm: remove its services, networks, secrets and configs (named volumes stay on the nodes)? ",
                        None,
                    ),
                    false => (
                        "Take the stack down: stop and remove its containers and networks? ",
                        Some(view! {
                            <label>
                                <input
                                    type="checkbox"
                                    prop:checked=volumes
                                    on:change=move |ev| volumes.set(event_target_checked(&ev))
                                />
                                " and its named volumes (their data is lost)"
                            </label>
                            " "
                        }),
                    ),
                };
                view! {
                    <div class="confirm card" role="alertdialog" data-testid="down-confirm">
                        {question}
                        {volumes_box}
                        <button type="button" class="danger" on:click=move |_| start(StackAction::Down)>
                            "Down"
                        </button>
                        <button type="button" on:click=move |_| asking.set(None)>
                            "Cancel"
                        </button>
                    </div>
                }
                    .into_any()
            }
            Asking::Plan(action, plan) => {
                let ready = matches!(plan, Some(Ok(_)));
                let body = match plan {
                    None => view! { <p class="loading">"Reading the plan…"</p> }.into_any(),
                    Some(Err(error)) => view! { <p class="admin-error">{error}</p> }.into_any(),
                    Some(Ok(plan)) => plan_table(plan, untrack(on_swarm)).into_any(),
                };
                view! {
                    <div class="confirm card" role="alertdialog" data-testid="plan">
                        <h3>{format!("{}: the plan", label(action))}</h3>
                        {untrack(scoped)
                            .map(|one| {
                                view! {
                                    <p class="muted" data-testid="plan-scope">
                                        {format!(
                                            "Only {one} is deployed (with the services it depends on); the others are left as they are.",
                                        )}
                                    </p>
                                }
                            })}
                        {(action == StackAction::Pull)
                            .then(|| {
                                let said = match untrack(on_swarm) {
                                    true => "Each image's digest is asked of its registry again: a service whose image changed is updated, task by task.",
                                    false => "Pulling first: a service whose image changes is recreated too.",
                                };
                                view! { <p class="muted">{said}</p> }
                            })}
                        {body}
                        {move || {
                            dirty
                                .get()
                                .then(|| {
                                    view! {
                                        <p class="admin-error">
                                            "The editor has changes that are not saved: the deploy uses the saved files."
                                        </p>
                                    }
                                })
                        }}
                        <button
                            type="button"
                            class="primary"
                            data-testid="plan-go"
                            disabled=move || !ready || context.running.get()
                            on:click=move |_| start(action)
                        >
                            {format!("{} now", label(action))}
                        </button>
                        <button type="button" on:click=move |_| asking.set(None)>
                            "Cancel"
                        </button>
                    </div>
                }
                    .into_any()
            }
        })
    };
    let scope = move || {
        let services = context.stack.with(|s| s.summary.services.clone());
        let chosen = scoped();
        let options = services
            .into_iter()
            .map(|one| {
                let selected = chosen.as_ref() == Some(&one);
                view! { <option value=one.clone() selected=selected>{one.clone()}</option> }
            })
            .collect_view();
        view! {
            <option value="" selected=chosen.is_none()>"all services"</option>
            {options}
        }
    };
    // A swarm stack deploys whole and has no stop, start or restart.
    let actions = move || match on_swarm() {
        true => vec![StackAction::Deploy, StackAction::Pull, StackAction::Down],
        false => StackAction::ALL.to_vec(),
    };
    let registry = move || {
        on_swarm().then(|| {
            view! {
                <label class="stack-scope" title="docker stack deploy --with-registry-auth">
                    <input
                        type="checkbox"
                        data-testid="registry-auth"
                        prop:checked=registry_auth
                        on:change=move |ev| registry_auth.set(event_target_checked(&ev))
                    />
                    " send registry logins to the nodes"
                </label>
            }
        })
    };
    view! {
        <ForOperators>
            <div class="stack-actions">
                <label class="stack-scope" hidden=on_swarm>
                    "On "
                    <select
                        data-testid="run-scope"
                        disabled=move || !hydrated.get() || context.running.get()
                        on:change=move |ev| {
                            let value = event_target_value(&ev);
                            asking.set(None);
                            service.set((!value.is_empty()).then_some(value));
                        }
                    >
                        {scope}
                    </select>
                </label>
                {move || actions().into_iter().map(button).collect_view()}
                {registry}
            </div>
            {asked}
            <div data-testid="run-said">{feedback.view()}</div>
        </ForOperators>
    }
}

fn plan_table(plan: StackPlan, on_swarm: bool) -> impl IntoView {
    let said = match on_swarm {
        true => format!(
            "By the swarm's services ({}): an updated service's tasks are replaced only where its spec changed.",
            plan.cli
        ),
        false => format!("By {}'s own configuration hashes.", plan.cli),
    };
    let rows = plan
        .services
        .into_iter()
        .map(|s| {
            let change = s.change.as_str();
            let service = s.service;
            view! {
                <tr class="plan-row" data-service=service.clone() data-change=change>
                    <td>{service.clone()}</td>
                    <td>
                        <span class=format!("plan plan-{change}")>{change}</span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers plan-table">
            <tbody>{rows}</tbody>
        </table>
        <p class="muted">{said}</p>
    }
}

/// Run `n`'s output: live while it runs (a second viewer sees the same lines), replayed
/// from its record once it has ended. Closing it never stops the run; Cancel does.
#[component]
pub(super) fn RunOutput(n: u64) -> impl IntoView {
    let context = expect_context::<StackContext>();
    let (on, name) = (context.on.get_value(), context.name.get_value());
    let path = urls::ws_stack_run(&on, &name, n);
    let ended = RwSignal::new(None::<String>);
    let feedback = Feedback::new();
    let on_end = Callback::new(move |reason: String| {
        ended.set(Some(reason));
        context.refresh();
    });
    let cancel = move |_| {
        let call = api::call(
            context.on.get_value(),
            CancelStackRun {
                name: context.name.get_value(),
                n,
            },
            (),
            (),
        );
        feedback.run(call, |()| "cancelled".into(), || ());
    };
    view! {
        <section class="card run-output" data-testid="run-output" data-run=n>
            <h2>
                {format!("Run {n} ")}
                <span class="muted" data-testid="run-ended">
                    {move || ended.get().unwrap_or_else(|| "running…".into())}
                </span>
            </h2>
            <LogViewer path=path max_lines=2_000 download_name=format!("{name}-run-{n}.log") on_end />
            <p>
                <ForOperators>
                    <button
                        type="button"
                        class="danger"
                        data-testid="run-cancel"
                        disabled=move || ended.get().is_some()
                        on:click=cancel
                    >
                        "Cancel run"
                    </button>
                </ForOperators>
                " "
                // While it runs it stays: its end is what frees the buttons.
                <button
                    type="button"
                    disabled=move || ended.get().is_none()
                    on:click=move |_| context.shown_run.set(None)
                >
                    "Close"
                </button>
            </p>
            {feedback.view()}
        </section>
    }
}

/// The last runs, newest first: who, when, what and how each ended; one's output on demand.
#[component]
pub(super) fn StackRuns() -> impl IntoView {
    let context = expect_context::<StackContext>();
    let runs = Resource::new(
        move || context.history.count(),
        move |_| {
            api::read(
                context.on.get_value(),
                ListStackRuns {
                    name: context.name.get_value(),
                },
            )
        },
    );
    let rows = move || {
        Suspend::new(async move {
            match runs.await {
                Ok(list) if list.is_empty() => {
                    view! { <p class="muted">"No runs yet."</p> }.into_any()
                }
                Ok(list) => {
                    let rows = list
                        .into_iter()
                        .map(|run| {
                            let n = run.n;
                            let what = match &run.service {
                                Some(service) => format!("{} {service}", run.action.as_str()),
                                None => run.action.as_str().to_string(),
                            };
                            let outcome = run.outcome.clone().unwrap_or_else(|| "running".into());
                            let failed = run.exit.is_some_and(|code| code != 0);
                            view! {
                                <tr class="run-row" data-run=n class:failed=failed>
                                    <td>{n}</td>
                                    <td>{what}</td>
                                    <td>{run.by}</td>
                                    <td>{format::unix_millis(run.started_ms)}</td>
                                    <td>{format!("v{}", run.version)}</td>
                                    <td data-testid="run-outcome">{outcome}</td>
                                    <td>
                                        <button
                                            type="button"
                                            disabled=move || context.running.get()
                                            on:click=move |_| context.shown_run.set(Some(n))
                                        >
                                            "Output"
                                        </button>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view();
                    view! {
                        <table class="containers runs">
                            <thead>
                                <tr>
                                    <th>"Run"</th>
                                    <th>"What"</th>
                                    <th>"By"</th>
                                    <th>"Started"</th>
                                    <th>"Version"</th>
                                    <th>"Outcome"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }
                    .into_any()
                }
                Err(e) => view! { <p class="admin-error">{e.error}</p> }.into_any(),
            }
        })
    };
    view! {
        <section class="stack-runs">
            <h2>"Runs"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{rows}</Transition>
        </section>
    }
}
