//! Registry credentials on the `/updates` page, for admins (everyone with accounts off):
//! the registries Berth signs in to for checks and pulls, each removable (asked first),
//! and a form to store one. The password is sent once and never shown again: the server
//! does not return it.

use crate::controls::{AskFirst, Feedback, Reload};
use crate::layout::CurrentUser;
use crate::model::{
    ListRegistryLogins, NewRegistryLogin, RegistryLogin, RemoveRegistryLogin, SetRegistryLogin,
};
use crate::{api, format, status::ErrorPanel, urls::On};
use leptos::prelude::*;

/// The section, when the caller may manage credentials.
#[component]
pub fn RegistryLogins() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    // Read and changed from the browser only: drawn once the Wasm runs (as the admin
    // pages are), so the server's page and the browser's first one are the same.
    let hydrated = expect_context::<crate::Hydrated>().0;
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                me.await
                    .ok()
                    .filter(|me| me.may_administer() || !me.accounts)
                    .map(|_| move || hydrated.get().then(|| view! { <Logins /> }))
            })}
        </Transition>
    }
}

#[component]
fn Logins() -> impl IntoView {
    let reload = Reload::new();
    let feedback = Feedback::new();
    let logins = LocalResource::new(move || {
        reload.track();
        api::call(On::default_engine(), ListRegistryLogins {}, (), ())
    });
    view! {
        <h2>"Registry credentials"</h2>
        <p class="muted">
            "Berth signs in to these registries for update checks and pulls, on every engine: operators' pulls use them too. Passwords are sealed at rest and never shown again."
        </p>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match logins.await {
                    Ok(list) => logins_table(list, feedback, reload).into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
        <StoreLogin feedback reload />
        {feedback.view()}
    }
}

fn logins_table(list: Vec<RegistryLogin>, feedback: Feedback, reload: Reload) -> impl IntoView {
    if list.is_empty() {
        return view! {
            <p class="muted" data-testid="no-registry-logins">
                "No credentials: registries are asked anonymously."
            </p>
        }
        .into_any();
    }
    let rows = list
        .into_iter()
        .map(|login| {
            let registry = login.registry.clone();
            let remove = Callback::new(move |()| {
                let call = RemoveRegistryLogin {
                    registry: registry.clone(),
                };
                let work = api::call(On::default_engine(), call, (), ());
                feedback.run(work, |()| "removed".to_string(), move || reload.now());
            });
            let state = match login.readable {
                true => "in use",
                false => "sealed with another key: not used",
            };
            view! {
                <tr data-testid="registry-login-row">
                    <td>{login.registry.clone()}</td>
                    <td>{login.username.clone()}</td>
                    <td>{format::unix_millis(login.updated_ms)}</td>
                    <td>{state}</td>
                    <td>
                        <AskFirst
                            label="Remove…"
                            question=format!(
                                "Forget the credentials for {}? Checks and pulls ask it anonymously again.",
                                login.registry,
                            )
                            yes="Remove"
                            on_yes=remove
                            testid="remove-registry-login"
                        />
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="containers" data-testid="registry-logins">
            <thead>
                <tr>
                    <th>"Registry"</th>
                    <th>"User"</th>
                    <th>"Stored"</th>
                    <th>"State"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn StoreLogin(feedback: Feedback, reload: Reload) -> impl IntoView {
    let registry = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let call = SetRegistryLogin {
            registry: registry.get_untracked().trim().to_string(),
        };
        let login = NewRegistryLogin {
            username: username.get_untracked().trim().to_string(),
            password: password.get_untracked(),
        };
        let stored = call.registry.clone();
        feedback.run(
            api::call(On::default_engine(), call, (), login),
            move |()| {
                password.try_set(String::new());
                format!("stored for {stored}")
            },
            move || reload.now(),
        );
    };
    view! {
        <form
            class="admin-form"
            on:submit=submit
            aria-label="Store registry credentials"
            data-testid="registry-login-form"
        >
            <label>
                "Registry (docker.io, or host[:port])"
                <input name="registry" autocomplete="off" required bind:value=registry />
            </label>
            <label>
                "User"
                <input name="username" autocomplete="off" required bind:value=username />
            </label>
            <label>
                "Password or access token"
                <input
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    required
                    bind:value=password
                />
            </label>
            <button type="submit">"Store"</button>
        </form>
    }
}
