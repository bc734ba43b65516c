//! `/admin/audit`: who did what, when and from where, newest first, 50 to a page, filtered
//! by who (actor) and what (action).

use super::{AdminFrame, loading};
use crate::{
    api, format,
    model::{AuditEntry, AuditQuery},
    status::ErrorPanel,
};
use leptos::prelude::*;

const PAGE: i64 = 50;

/// The actions Berth records, offered as suggestions in the action filter.
const ACTIONS: [&str; 9] = [
    "sign-in",
    "sign-out",
    "setup",
    "user.add",
    "user.role",
    "user.password",
    "user.remove",
    "token.create",
    "token.revoke",
];

#[component]
pub fn AdminAudit() -> impl IntoView {
    view! {
        <AdminFrame title="Audit log">
            <Audit />
        </AdminFrame>
    }
}

#[component]
fn Audit() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    // The pages walked back through: each starts after an entry (time and id), None for
    // the newest.
    let pages = RwSignal::new(vec![None::<(i64, String)>]);
    let query = move || {
        let (before, before_id) = pages.with(|p| p.last().cloned().flatten()).unzip();
        AuditQuery {
            before,
            before_id,
            actor: Some(actor.get().trim().to_string()),
            action: Some(action.get().trim().to_string()),
            limit: Some(PAGE),
        }
    };
    let entries = LocalResource::new(move || {
        api::call(
            crate::urls::On::default_engine(),
            crate::model::ReadAudit {},
            query(),
            (),
        )
    });
    // A new filter starts again from the newest entries.
    let refilter = move || pages.set(vec![None]);
    let suggestions = ACTIONS
        .into_iter()
        .map(|a| view! { <option value=a></option> })
        .collect_view();
    view! {
        <form class="admin-form" on:submit=|ev| ev.prevent_default() aria-label="Filter">
            <label>
                "Who"
                <input
                    type="search"
                    name="actor"
                    placeholder="user name, token:NAME, cli"
                    prop:value=actor
                    on:change=move |ev| {
                        actor.set(event_target_value(&ev));
                        refilter();
                    }
                />
            </label>
            <label>
                "What"
                <input
                    type="search"
                    name="action"
                    list="audit-actions"
                    placeholder="sign-in, user.add, …"
                    prop:value=action
                    on:change=move |ev| {
                        action.set(event_target_value(&ev));
                        refilter();
                    }
                />
                <datalist id="audit-actions">{suggestions}</datalist>
            </label>
        </form>
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) => view! { <Entries list pages /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Entries(list: Vec<AuditEntry>, pages: RwSignal<Vec<Option<(i64, String)>>>) -> impl IntoView {
    let older = (list.len() as i64 == PAGE)
        .then(|| list.last().map(|e| (e.at, e.id.clone())))
        .flatten();
    let newer = pages.with_untracked(|p| p.len() > 1);
    let empty = list.is_empty();
    let rows = list.into_iter().map(entry_row).collect_view();
    view! {
        {empty.then(|| view! { <p class="muted">"Nothing recorded that matches."</p> })}
        <table class="containers admin-table" data-testid="audit" hidden=empty>
            <thead>
                <tr>
                    <th>"When"</th>
                    <th>"Who"</th>
                    <th>"What"</th>
                    <th>"To what"</th>
                    <th>"From"</th>
                    <th>"Result"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <div class="pager">
            <button
                type="button"
                disabled=!newer
                on:click=move |_| {
                    pages.update(|p| {
                        p.pop();
                    })
                }
            >
                "Newer"
            </button>
            <button
                type="button"
                disabled=older.is_none()
                on:click=move |_| pages.update(|p| p.push(older.clone()))
            >
                "Older"
            </button>
        </div>
    }
}

fn entry_row(entry: AuditEntry) -> impl IntoView {
    let (class, result) = match entry.ok {
        true => ("state state-running", "ok"),
        false => ("state state-exited", "failed"),
    };
    let action = entry.action.clone();
    view! {
        <tr data-action=action>
            <td class="mono">{format::unix_millis(entry.at)}</td>
            <td>{entry.actor}</td>
            <td class="mono">{entry.action}</td>
            <td>{entry.target.unwrap_or_default()}</td>
            <td class="mono">{entry.address.unwrap_or_default()}</td>
            <td>
                <span class=class>{result}</span>
            </td>
        </tr>
    }
}
