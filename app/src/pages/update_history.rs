//! `/updates` (and `/engines/{engine}/updates`): an engine's image updates as a history,
//! and what decides them: the automatic-update settings (minimum age, window), the policy
//! rules Berth keeps (operators remove them here; they are set on a container's page), and
//! every update run, by hand or automatic: what, when, by whom, from which image to which,
//! and how it ended; for admins, the registry credentials checks and pulls use.

use crate::controls::{Feedback, Reload};
use crate::layout::{engine_epoch, page_engine};
use crate::model::{
    ListUpdatePolicies, ListUpdateRuns, ListUpdates, PolicyRule, SetUpdatePolicy, UpdateRun,
};
use crate::resources::short_hex as short;
use crate::{api, format, status::ErrorPanel, urls};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UpdateHistoryPage() -> impl IntoView {
    let on = page_engine();
    let reload = Reload::new();
    let found = Resource::new(
        move || (engine_epoch(), on.get(), reload.count()),
        |(_, on, _)| async move {
            let updates = api::read(on.clone(), ListUpdates {}).await?;
            let rules = api::read(on.clone(), ListUpdatePolicies {}).await?;
            let runs = api::read(on, ListUpdateRuns {}).await?;
            Ok::<_, crate::model::ApiError>((updates, rules, runs))
        },
    );
    let after = Callback::new(move |()| reload.now());
    view! {
        <Title text="Image updates" />
        <h1>"Image updates"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match found.await {
                    Ok((updates, rules, runs)) => {
                        let on = on.get_untracked();
                        let window = updates
                            .window
                            .clone()
                            .unwrap_or_else(|| "any time".to_string());
                        view! {
                            <p class="muted" data-testid="auto-settings">
                                {format!(
                                    "Automatic updates take a new image once Berth has known it for {} h, within the window: {window}.",
                                    updates.min_age_hours,
                                )}
                            </p>
                            <h2>"Policies"</h2>
                            {rules_table(on.clone(), rules, after)}
                            <h2>"History"</h2>
                            {runs_table(&on, runs)}
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
        <super::registry_logins::RegistryLogins />
    }
}

/// The rules Berth keeps; operators may remove one.
fn rules_table(on: urls::On, rules: Vec<PolicyRule>, after: Callback<()>) -> impl IntoView {
    if rules.is_empty() {
        return view! {
            <p class="muted" data-testid="no-policies">
                "No policy kept by Berth: each container follows its berth.update label, else the default. Set one on a container's page."
            </p>
        }
        .into_any();
    }
    let rows = rules
        .into_iter()
        .map(|rule| {
            let scope = rule.scope.as_str();
            let policy = rule.policy.map_or("", |p| p.as_str());
            let on = on.clone();
            view! {
                <tr data-testid="policy-row">
                    <td>{scope}</td>
                    <td>{rule.name.clone()}</td>
                    <td>{policy}</td>
                    <td>
                        <super::container_actions::ForOperators>
                            <RemoveRule on=on.clone() rule=rule.clone() after />
                        </super::container_actions::ForOperators>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers" data-testid="policies">
            <thead>
                <tr>
                    <th>"For"</th>
                    <th>"Name"</th>
                    <th>"Policy"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn RemoveRule(on: urls::On, rule: PolicyRule, after: Callback<()>) -> impl IntoView {
    let feedback = Feedback::new();
    let remove = move |_| {
        let rule = PolicyRule {
            policy: None,
            ..rule.clone()
        };
        let work = api::call(on.clone(), SetUpdatePolicy {}, (), rule);
        feedback.run(work, |()| "removed".to_string(), move || after.run(()));
    };
    view! {
        <button type="button" class="inline-action" on:click=remove>
            "Remove"
        </button>
        {feedback.view()}
    }
}

/// Every run kept, newest first.
fn runs_table(on: &urls::On, runs: Vec<UpdateRun>) -> impl IntoView + use<> {
    if runs.is_empty() {
        return view! { <p class="muted" data-testid="no-update-runs">"No update yet."</p> }
            .into_any();
    }
    let rows = runs
        .into_iter()
        .map(|run| {
            let container = match (&run.service, &run.new_id) {
                (Some(service), _) => view! {
                    <a href=urls::service(on, service)>{run.container.clone()}</a>
                    " "
                    <span class="muted">"(swarm service)"</span>
                }
                .into_any(),
                (None, Some(id)) => {
                    view! { <a href=urls::container(on, id)>{run.container.clone()}</a> }.into_any()
                }
                (None, None) => view! { <span>{run.container.clone()}</span> }.into_any(),
            };
            // A container's images by id, a service's by digest.
            let change = match (&run.from, &run.to) {
                (Some(from), Some(to)) if from != to => format!("{} → {}", short(from), short(to)),
                (Some(from), _) => short(from).to_string(),
                _ => String::new(),
            };
            let outcome = run.outcome.clone().unwrap_or_else(|| "running…".into());
            // Through its stack: the stack's run did it (its output is on the stack's page).
            let through = run.stack.clone().filter(|_| run.service.is_none()).map(|stack| {
                let run_n = run
                    .stack_run
                    .map(|n| format!(" run {n}"))
                    .unwrap_or_default();
                view! {
                    <br />
                    <a href=urls::stack(on, &stack) data-testid="update-stack-run" class="muted">
                        {format!("through the stack {stack}{run_n}")}
                    </a>
                }
            });
            view! {
                <tr data-testid="update-run" data-by=run.by.clone()>
                    <td>{run.n}</td>
                    <td>{container}</td>
                    <td>{run.image.clone()}</td>
                    <td>{run.by.clone()}</td>
                    <td>{format::unix_millis(run.started_ms)}</td>
                    <td class="mono">{change}</td>
                    <td>{outcome} {through}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers" data-testid="update-runs">
            <thead>
                <tr>
                    <th>"#"</th>
                    <th>"Container or service"</th>
                    <th>"Image"</th>
                    <th>"By"</th>
                    <th>"Started"</th>
                    <th>"From → to"</th>
                    <th>"Outcome"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
