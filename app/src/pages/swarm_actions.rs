//! What operators change in a swarm from its pages: a service's replicas (asked first when
//! going to 0), its image, a forced redeploy and a rollback (both asked first: every task is
//! replaced), and a node's availability (a drain asked first, saying how many tasks move).
//! Each change is sent with the version the page last read, so a change made elsewhere in
//! between is refused (409) rather than overwritten.

use super::container_actions::ForOperators;
use crate::controls::Feedback;
use crate::model::{
    Availability, MAX_REPLICAS, NodeAvailability, RollbackOptions, RollbackService, ScaleService,
    ServiceChanged, ServiceScale, ServiceUpdate, SetNodeAvailability, SwarmNode, SwarmService,
    UpdateService,
};
use crate::urls::On;
use crate::{Hydrated, api};
use leptos::prelude::*;

/// A change that replaces tasks, waiting for its second click.
#[derive(Clone, Debug, PartialEq)]
enum Asking {
    ScaleToZero,
    Redeploy,
    Rollback,
}

/// The service's changes. `current` is the service as last read (the page keeps it fresh);
/// `changed` is called with the service as a change left it.
#[component]
pub fn ServiceActions(
    on: On,
    current: RwSignal<SwarmService>,
    changed: Callback<()>,
) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let feedback = Feedback::new();
    let on = StoredValue::new(on);
    let asking = RwSignal::new(None::<Asking>);
    let replicas = RwSignal::new(current.with_untracked(|s| s.desired.to_string()));
    let image = RwSignal::new(current.with_untracked(|s| s.image.clone()));
    let replicated = move || current.with(|s| s.mode == "replicated");
    let said = move |answer: ServiceChanged, what: String| {
        let mut text = format!("{what} (version {})", answer.service.version);
        for warning in answer.warnings {
            text.push_str(&format!("; {warning}"));
        }
        // The boxes show the service as the change left it (a rollback's image).
        replicas.try_set(answer.service.desired.to_string());
        image.try_set(answer.service.image.clone());
        current.try_set(answer.service);
        text
    };
    let scale = move || {
        asking.set(None);
        let wanted = replicas.get_untracked().trim().parse::<u64>();
        let Ok(wanted) = wanted
            .map_err(|_| ())
            .and_then(|n| match n <= MAX_REPLICAS {
                true => Ok(n),
                false => Err(()),
            })
        else {
            return feedback.say(Err(format!("replicas: a number from 0 to {MAX_REPLICAS}")));
        };
        let (id, version) = current.with_untracked(|s| (s.id.clone(), s.version));
        let call = api::call(
            on.get_value(),
            ScaleService { id },
            (),
            ServiceScale {
                replicas: wanted,
                version: Some(version),
            },
        );
        feedback.run(
            call,
            move |answer| said(answer, format!("scaled to {wanted}")),
            move || changed.run(()),
        );
    };
    let update = move |body: ServiceUpdate, what: &'static str| {
        asking.set(None);
        let (id, version) = current.with_untracked(|s| (s.id.clone(), s.version));
        let body = ServiceUpdate {
            version: Some(version),
            ..body
        };
        let call = api::call(on.get_value(), UpdateService { id }, (), body);
        feedback.run(
            call,
            move |answer| said(answer, what.to_string()),
            move || changed.run(()),
        );
    };
    let rollback = move || {
        asking.set(None);
        let (id, version) = current.with_untracked(|s| (s.id.clone(), s.version));
        let options = RollbackOptions {
            version: Some(version),
        };
        let call = api::call(on.get_value(), RollbackService { id }, options, ());
        feedback.run(
            call,
            move |answer| said(answer, "rolling back".to_string()),
            move || changed.run(()),
        );
    };
    let on_scale = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match replicas.get_untracked().trim() == "0" {
            true => asking.set(Some(Asking::ScaleToZero)),
            false => scale(),
        }
    };
    let on_image = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let wanted = image.get_untracked().trim().to_string();
        if let Err(e) = crate::refs::check(crate::refs::Kind::Image, &wanted) {
            return feedback.say(Err(e.error));
        }
        update(
            ServiceUpdate {
                image: Some(wanted),
                ..Default::default()
            },
            "updating",
        );
    };
    let confirm = move || {
        asking.get().map(|asked| {
            let name = current.with_untracked(|s| s.name.clone());
            let (question, yes) = match asked {
                Asking::ScaleToZero => (
                    format!("Scale {name} to 0: every one of its tasks stops."),
                    "Scale to 0",
                ),
                Asking::Redeploy => (
                    format!("Redeploy {name}: each task is replaced by a new one, as its update config says."),
                    "Redeploy",
                ),
                Asking::Rollback => (
                    format!("Roll {name} back to its spec before the last update: its tasks are replaced."),
                    "Roll back",
                ),
            };
            let go = move |_| match asked {
                Asking::ScaleToZero => scale(),
                Asking::Redeploy => update(
                    ServiceUpdate {
                        force: Some(true),
                        ..Default::default()
                    },
                    "redeploying",
                ),
                Asking::Rollback => rollback(),
            };
            view! {
                <div class="confirm card" role="alertdialog" data-testid="service-confirm">
                    {question} " "
                    <button type="button" class="danger" on:click=go>
                        {yes}
                    </button>
                    <button type="button" on:click=move |_| asking.set(None)>
                        "Cancel"
                    </button>
                </div>
            }
        })
    };
    let off = move || !hydrated.get();
    view! {
        <ForOperators>
            <section class="card service-actions" data-testid="service-actions">
                <form class="inline-form" on:submit=on_scale aria-label="Scale the service">
                    <label>
                        "Replicas "
                        <input
                            type="number"
                            min="0"
                            max=MAX_REPLICAS
                            aria-label="Replicas"
                            prop:value=replicas
                            disabled=move || !replicated()
                            on:input=move |ev| replicas.set(event_target_value(&ev))
                        />
                    </label>
                    <button type="submit" disabled=move || off() || !replicated()>
                        "Scale"
                    </button>
                </form>
                <form class="inline-form" on:submit=on_image aria-label="Change the image">
                    <label>
                        "Image "
                        <input
                            type="text"
                            class="mono"
                            aria-label="Image"
                            prop:value=image
                            on:input=move |ev| image.set(event_target_value(&ev))
                        />
                    </label>
                    <button type="submit" disabled=off>
                        "Update"
                    </button>
                </form>
                <p>
                    <button
                        type="button"
                        disabled=off
                        on:click=move |_| asking.set(Some(Asking::Redeploy))
                    >
                        "Redeploy"
                    </button>
                    " "
                    <button
                        type="button"
                        disabled=off
                        on:click=move |_| asking.set(Some(Asking::Rollback))
                    >
                        "Roll back"
                    </button>
                </p>
                {confirm}
                <div data-testid="service-said">{feedback.view()}</div>
            </section>
        </ForOperators>
    }
}

/// A node's availability in its row: for operators a choice of active, pause and drain (a
/// drain asks first, in `asking`, which outlives the table's refreshes); for viewers the word.
pub fn availability_control(
    on: On,
    node: &SwarmNode,
    operator: bool,
    asking: RwSignal<Option<SwarmNode>>,
    feedback: Feedback,
    changed: Callback<()>,
) -> impl IntoView + use<> {
    if !operator {
        return node.availability.clone().into_any();
    }
    let hydrated = expect_context::<Hydrated>().0;
    let row = node.clone();
    let options = [
        Availability::Active,
        Availability::Pause,
        Availability::Drain,
    ]
    .into_iter()
    .map(|a| {
        let selected = a.as_str() == node.availability;
        view! { <option value=a.as_str() selected=selected>{a.as_str()}</option> }
    })
    .collect_view();
    let chosen = move |ev: leptos::ev::Event| {
        let wanted = match event_target_value(&ev).as_str() {
            "active" => Availability::Active,
            "pause" => Availability::Pause,
            _ => Availability::Drain,
        };
        match wanted {
            Availability::Drain => asking.set(Some(row.clone())),
            other => send_availability(on.clone(), row.clone(), other, feedback, changed),
        }
    };
    view! {
        <select
            aria-label=format!("Availability of {}", node.hostname)
            data-testid="node-availability"
            disabled=move || !hydrated.get()
            on:change=chosen
        >
            {options}
        </select>
    }
    .into_any()
}

/// The drain question for the node in `asking`, above the nodes table; sent to the page's
/// engine as it is when the answer comes.
pub fn drain_confirm(
    on: Memo<On>,
    asking: RwSignal<Option<SwarmNode>>,
    feedback: Feedback,
    changed: Callback<()>,
) -> impl IntoView {
    move || {
        asking.get().map(|node| {
            let question = format!(
                "Drain {}: its {} running task(s) stop here and move to other nodes (none run on this node while it drains).",
                node.hostname, node.tasks
            );
            let go = move |_| {
                asking.set(None);
                send_availability(on.get_untracked(), node.clone(), Availability::Drain, feedback, changed);
            };
            view! {
                <div class="confirm card" role="alertdialog" data-testid="drain-confirm">
                    {question} " "
                    <button type="button" class="danger" on:click=go>
                        "Drain"
                    </button>
                    <button
                        type="button"
                        on:click=move |_| {
                            asking.set(None);
                            changed.run(());
                        }
                    >
                        "Cancel"
                    </button>
                </div>
            }
        })
    }
}

fn send_availability(
    on: On,
    node: SwarmNode,
    availability: Availability,
    feedback: Feedback,
    changed: Callback<()>,
) {
    let call = api::call(
        on,
        SetNodeAvailability { id: node.id },
        (),
        NodeAvailability {
            availability,
            version: Some(node.version),
        },
    );
    feedback.run(
        call,
        move |node| format!("{} is now {}", node.hostname, node.availability),
        move || changed.run(()),
    );
}
