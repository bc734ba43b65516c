//! `/admin`: the people who may sign in. Add one, change a role, set a password, tie or
//! untie who signs in as them from outside, remove one (asked first). A role change or a
//! removal ends that person's sessions and sockets.

use super::{AdminFrame, AskFirst, Feedback, Reload, admin_table, loading};
use crate::{
    api, format,
    layout::CurrentUser,
    model::{NewUser, Role, User},
    status::ErrorPanel,
};
use leptos::prelude::*;

#[component]
pub fn AdminUsers() -> impl IntoView {
    view! {
        <AdminFrame title="Users">
            <Users />
        </AdminFrame>
    }
}

#[component]
fn Users() -> impl IntoView {
    let reload = Reload::new();
    let feedback = Feedback::new();
    let users = LocalResource::new(move || {
        reload.track();
        api::call(
            crate::urls::On::default_engine(),
            crate::model::ListUsers {},
            (),
            (),
        )
    });
    let me = expect_context::<CurrentUser>().0;
    let myself = me
        .get_untracked()
        .and_then(Result::ok)
        .and_then(|me| me.name);
    view! {
        <AddUser feedback reload />
        {feedback.view()}
        <Transition fallback=loading>
            {move || {
                let myself = myself.clone();
                Suspend::new(async move {
                    match users.await {
                        Ok(list) => {
                            let rows = list
                                .into_iter()
                                .map(|user| {
                                    let me = myself.as_deref() == Some(user.name.as_str());
                                    user_row(user, me, feedback, reload)
                                })
                                .collect_view();
                            admin_table(
                                "users",
                                &["Name", "Role", "Since", "Second factor", "From outside", ""],
                                rows.into_any(),
                            )
                        }
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn AddUser(feedback: Feedback, reload: Reload) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Viewer);
    let password = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let user = NewUser {
            name: name.get_untracked().trim().to_string(),
            role: role.get_untracked(),
            password: password.get_untracked(),
        };
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::AddUser {},
                (),
                user,
            ),
            move |user| {
                name.try_set(String::new());
                password.try_set(String::new());
                format!("Added {} ({}).", user.name, user.role.as_str())
            },
            move || reload.now(),
        );
    };
    view! {
        <form class="admin-form" on:submit=submit aria-label="Add a user">
            <label>
                "User name"
                <input
                    name="name"
                    autocomplete="off"
                    pattern="[a-z0-9._\\-]{1,64}"
                    title="1 to 64 of a-z, 0-9, '.', '_' and '-'"
                    required
                    bind:value=name
                />
            </label>
            <label>"Role" <RolePicker role /></label>
            <label>
                "Password (12 characters or more)"
                <input
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    minlength="12"
                    required
                    bind:value=password
                />
            </label>
            <button type="submit">"Add user"</button>
        </form>
    }
}

/// A `<select>` of the roles, bound to `role`; `on_pick` hears each choice.
#[component]
pub(super) fn RolePicker(
    role: RwSignal<Role>,
    #[prop(optional)] on_pick: Option<Callback<Role>>,
) -> impl IntoView {
    let options = Role::ALL
        .into_iter()
        .map(|r| {
            // Selected per option, not as the select's value: that would be set before the
            // options exist when the row is first built.
            view! {
                <option value=r.as_str() prop:selected=move || role.get() == r>
                    {r.as_str()}
                </option>
            }
        })
        .collect_view();
    view! {
        <select
            name="role"
            on:change=move |ev| {
                if let Ok(picked) = Role::parse(&event_target_value(&ev)) {
                    role.set(picked);
                    if let Some(on_pick) = on_pick {
                        on_pick.run(picked);
                    }
                }
            }
        >
            {options}
        </select>
    }
}

fn user_row(user: User, me: bool, feedback: Feedback, reload: Reload) -> impl IntoView {
    let name = StoredValue::new(user.name.clone());
    let role = RwSignal::new(user.role);
    // A picked role is sent at once; the reload after it shows what the server kept (409
    // for the last admin).
    let pick = Callback::new(move |now: Role| {
        let name = name.get_value();
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::SetRole { name: name.clone() },
                (),
                crate::model::RoleChange { role: now },
            ),
            move |()| format!("{name} is now {}; their sessions ended.", now.as_str()),
            move || reload.now(),
        );
    });
    let require = Callback::new(move |required: bool| {
        let name = name.get_value();
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::RequireSecondFactor { name: name.clone() },
                (),
                crate::model::SecondFactorRule { required },
            ),
            move |()| match required {
                true => format!("{name} must set up a second factor before anything else."),
                false => format!("A second factor is optional for {name}."),
            },
            move || reload.now(),
        );
    });
    let reset = Callback::new(move |()| {
        let name = name.get_value();
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::ResetSecondFactor { name: name.clone() },
                (),
                (),
            ),
            move |()| format!("Removed {name}'s second factor."),
            move || reload.now(),
        );
    });
    let setting_password = RwSignal::new(false);
    let password = RwSignal::new(String::new());
    let save_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = name.get_value();
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::SetPassword { name: name.clone() },
                (),
                crate::model::PasswordChange {
                    password: password.get_untracked(),
                },
            ),
            move |()| {
                setting_password.try_set(false);
                password.try_set(String::new());
                format!("Set a new password for {name}.")
            },
            || (),
        );
    };
    let remove = Callback::new(move |()| {
        let name = name.get_value();
        feedback.run(
            api::call(
                crate::urls::On::default_engine(),
                crate::model::RemoveUser { name: name.clone() },
                (),
                (),
            ),
            move |()| format!("Removed {name}; their sessions ended."),
            move || reload.now(),
        );
    });
    view! {
        <tr data-user=user.name.clone()>
            <td>
                {user.name.clone()}
                {me.then(|| view! { <small class="muted">" (you)"</small> })}
            </td>
            <td>
                <RolePicker role on_pick=pick />
            </td>
            <td>{format::unix_millis(user.created_at)}</td>
            <td class="second-factor-cell">
                {if user.second_factor { "on" } else { "off" }}
                <label class="inline">
                    <input
                        type="checkbox"
                        prop:checked=user.second_factor_required
                        on:change=move |ev| require.run(event_target_checked(&ev))
                    />
                    "required"
                </label>
                {user
                    .second_factor
                    .then(|| {
                        view! {
                            <AskFirst
                                label="Reset"
                                question=format!(
                                    "Remove {}'s second factor? Their password alone signs them in until they set up another.",
                                    name.get_value(),
                                )
                                yes="Yes, reset"
                                on_yes=reset
                            />
                        }
                    })}
            </td>
            <td class="identities-cell">
                <super::identities::Identities
                    user=user.name.clone()
                    identities=user.identities.clone()
                    feedback
                    reload
                />
            </td>
            <td class="admin-actions">
                <Show
                    when=move || setting_password.get()
                    fallback=move || {
                        view! {
                            <button type="button" on:click=move |_| setting_password.set(true)>
                                "Set password"
                            </button>
                        }
                    }
                >
                    <form class="inline" on:submit=save_password>
                        <input
                            type="password"
                            aria-label="New password"
                            autocomplete="new-password"
                            minlength="12"
                            required
                            bind:value=password
                        />
                        <button type="submit">"Save"</button>
                        <button type="button" on:click=move |_| setting_password.set(false)>
                            "Cancel"
                        </button>
                    </form>
                </Show>
                <AskFirst
                    label="Remove"
                    question=format!("Remove {}? Their sessions end at once.", name.get_value())
                    yes="Yes, remove"
                    on_yes=remove
                />
            </td>
        </tr>
    }
}
