//! `/admin/tokens`: API tokens for scripts and Prometheus. A new token is shown once, right
//! after it is made (only its hash is stored); revoking one (asked first) closes its sockets.

use super::{AdminFrame, AskFirst, Feedback, Reload, admin_table, loading, users::RolePicker};
use crate::{
    api, format,
    model::{NewToken, Role, TokenInfo, TokenRequest},
    status::ErrorPanel,
};
use leptos::prelude::*;

#[component]
pub fn AdminTokens() -> impl IntoView {
    view! {
        <AdminFrame title="API tokens">
            <Tokens />
        </AdminFrame>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let reload = Reload::new();
    let feedback = Feedback::new();
    let tokens = LocalResource::new(move || {
        reload.track();
        api::call(
            crate::urls::On::default_engine(),
            crate::model::ListTokens {},
            (),
            (),
        )
    });
    let created = RwSignal::new(None::<NewToken>);
    view! {
        <CreateToken feedback reload created />
        {feedback.view()}
        {move || created.get().map(|new| view! { <ShownOnce new /> })}
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                match tokens.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="muted">"No API tokens yet."</p> }.into_any()
                    }
                    Ok(list) => {
                        let rows = list
                            .into_iter()
                            .map(|token| token_row(token, feedback, reload, created))
                            .collect_view();
                        admin_table(
                            "tokens",
                            &["Name", "Role", "Made by", "Made", "Last used", ""],
                            rows.into_any(),
                        )
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CreateToken(
    feedback: Feedback,
    reload: Reload,
    created: RwSignal<Option<NewToken>>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = TokenRequest {
            name: name.get_untracked().trim().to_string(),
            role: role.get_untracked(),
        };
        created.set(None);
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::CreateToken {},
                (),
                request,
            ),
            move |new| {
                let said = format!("Made the token {}.", new.info.name);
                name.try_set(String::new());
                created.try_set(Some(new));
                said
            },
            move || reload.now(),
        );
    };
    view! {
        <form class="admin-form" on:submit=submit aria-label="Make an API token">
            <label>
                "Name (what uses it)"
                <input
                    name="name"
                    autocomplete="off"
                    placeholder="prometheus"
                    pattern="[a-z0-9._\\-]{1,64}"
                    title="1 to 64 of a-z, 0-9, '.', '_' and '-'"
                    required
                    bind:value=name
                />
            </label>
            <label>"Role" <RolePicker role /></label>
            <button type="submit">"Make token"</button>
        </form>
    }
}

/// The new token, once: Berth keeps only its hash.
#[component]
fn ShownOnce(new: NewToken) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = {
        #[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
        let token = new.token.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.navigator().clipboard().write_text(&token);
                copied.set(true);
            }
        }
    };
    view! {
        <div class="token-once" role="status">
            <p>
                <strong>"Copy this token now: it is not shown again."</strong>
                " Send it as "<code>"Authorization: Bearer …"</code>"."
            </p>
            <input
                readonly
                class="mono"
                aria-label="New token"
                data-testid="new-token"
                value=new.token
                on:focus=|ev| {
                    #[cfg(feature = "hydrate")]
                    {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                        {
                            input.select();
                        }
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = ev;
                }
            />
            <button type="button" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}

fn token_row(
    token: TokenInfo,
    feedback: Feedback,
    reload: Reload,
    created: RwSignal<Option<NewToken>>,
) -> impl IntoView {
    let id = StoredValue::new(token.id.clone());
    let name = token.name.clone();
    let revoke = {
        let name = name.clone();
        Callback::new(move |()| {
            let name = name.clone();
            let id = id.get_value();
            // The token shown once goes too, if it is this one.
            created.update(|c| {
                if c.as_ref().is_some_and(|c| c.info.id == id) {
                    *c = None;
                }
            });
            feedback.run(
                api::call(
                    crate::urls::On::default_engine(),
                    crate::model::RevokeToken { id },
                    (),
                    (),
                ),
                move |()| format!("Revoked {name}; its sockets closed."),
                move || reload.now(),
            );
        })
    };
    view! {
        <tr data-token=token.name.clone()>
            <td>{token.name.clone()}</td>
            <td>{token.role.as_str()}</td>
            <td>{token.created_by.unwrap_or_else(|| "cli".into())}</td>
            <td>{format::unix_millis(token.created_at)}</td>
            <td>{token.last_used.map_or("never".into(), format::unix_millis)}</td>
            <td class="admin-actions">
                <AskFirst
                    label="Revoke"
                    question=format!("Revoke {name}? What uses it stops working at once.")
                    yes="Yes, revoke"
                    on_yes=revoke
                />
            </td>
        </tr>
    }
}
