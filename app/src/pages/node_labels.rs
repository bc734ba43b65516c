//! A swarm node's labels on the swarm page (what placement constraints name as
//! `node.labels.KEY`): each shown in the node's row, removable by operators, and a form
//! under the table that adds one to a node. Each change is sent with the node's version as
//! the page last read it, so a change made elsewhere in between is refused (409).

use crate::controls::Feedback;
use crate::model::{NodeLabels, SetNodeLabels, SwarmNode, validate_label};
use crate::urls::On;
use crate::{Hydrated, api};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// The node's labels in its row; for operators each with a button that removes it.
pub fn label_tags(
    on: On,
    node: &SwarmNode,
    operator: bool,
    feedback: Feedback,
    changed: Callback<()>,
) -> impl IntoView + use<> {
    node.labels
        .iter()
        .map(|(key, value)| {
            let remove = operator.then(|| {
                let (on, node, key) = (on.clone(), node.clone(), key.clone());
                let label = format!("Remove the label {key} from {}", node.hostname);
                let press = move |_| {
                    let change = NodeLabels {
                        remove: vec![key.clone()],
                        ..NodeLabels::default()
                    };
                    send(on.clone(), &node, change, feedback, changed);
                };
                view! {
                    <button type="button" class="tag-remove" aria-label=label on:click=press>
                        "×"
                    </button>
                }
            });
            view! {
                <span class="tag node-label" data-key=key.clone()>
                    {format!("{key}={value}")}
                    {remove}
                </span>
                " "
            }
        })
        .collect_view()
}

/// Operators' form that adds a label to one of `nodes` (the swarm as the page shows it).
pub fn add_label_form(
    on: Memo<On>,
    nodes: Signal<Vec<SwarmNode>>,
    feedback: Feedback,
    changed: Callback<()>,
) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let chosen = RwSignal::new(String::new());
    let key = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (k, v) = (key.get_untracked(), value.get_untracked());
        let k = k.trim().to_string();
        if let Err(e) = validate_label(&k, &v) {
            return feedback.say(Err(e.error));
        }
        let all = nodes.get_untracked();
        let wanted = chosen.get_untracked();
        // The first node until one is chosen.
        let Some(node) = all.iter().find(|n| n.id == wanted).or_else(|| all.first()) else {
            return feedback.say(Err("no node to label".into()));
        };
        let change = NodeLabels {
            add: BTreeMap::from([(k, v)]),
            ..NodeLabels::default()
        };
        send(on.get_untracked(), node, change, feedback, changed);
        key.set(String::new());
        value.set(String::new());
    };
    // Drawn again with each frame of the swarm: the chosen node stays the selected one, so
    // the label goes to the node the select shows.
    let options = move || {
        let wanted = chosen.get();
        nodes
            .get()
            .into_iter()
            .map(|n| {
                let selected = n.id == wanted;
                view! { <option value=n.id.clone() selected=selected>{n.hostname.clone()}</option> }
            })
            .collect_view()
    };
    view! {
        <form class="inline-form node-label-form" on:submit=add aria-label="Add a node label">
            <select
                aria-label="Node"
                on:change=move |ev| chosen.set(event_target_value(&ev))
            >
                {options}
            </select>
            <input
                type="text"
                placeholder="zone"
                aria-label="Label key"
                prop:value=key
                on:input=move |ev| key.set(event_target_value(&ev))
            />
            <input
                type="text"
                placeholder="a"
                aria-label="Label value"
                prop:value=value
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <button type="submit" disabled=move || !hydrated.get()>
                "Add label"
            </button>
        </form>
    }
}

fn send(
    on: On,
    node: &SwarmNode,
    mut change: NodeLabels,
    feedback: Feedback,
    changed: Callback<()>,
) {
    change.version = Some(node.version);
    let call = api::call(
        on,
        SetNodeLabels {
            id: node.id.clone(),
        },
        (),
        change,
    );
    feedback.run(
        call,
        |node| {
            let labels: Vec<String> = node
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            match labels.is_empty() {
                true => format!("{} has no labels now", node.hostname),
                false => format!("{} is labelled {}", node.hostname, labels.join(", ")),
            }
        },
        move || changed.run(()),
    );
}
