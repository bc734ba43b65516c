//! The "From outside" column of `/admin`: who signs in as a user through the OpenID
//! provider (its `sub`) or a trusted proxy (its user name). An admin ties an identity to
//! an existing user (the only way a sign-in from outside becomes that user: a name or an
//! e-mail that looks the same never does) and unties one, after a question.

use super::{AskFirst, Feedback, Reload};
use crate::{
    api,
    model::{IdentityLink, LinkIdentity, UnlinkIdentity},
    urls::On,
};
use leptos::prelude::*;

/// The providers an identity comes from, as the server names them, and as a person does.
const PROVIDERS: [(&str, &str); 2] = [("oidc", "OpenID"), ("proxy", "proxy")];

#[component]
pub(super) fn Identities(
    user: String,
    identities: Vec<IdentityLink>,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView {
    let user = StoredValue::new(user);
    let tied = identities
        .into_iter()
        .map(|link| {
            let provider = StoredValue::new(link.provider.clone());
            let untie = Callback::new(move |()| {
                let (name, provider) = (user.get_value(), provider.get_value());
                let call = UnlinkIdentity {
                    name: name.clone(),
                    provider: provider.clone(),
                };
                feedback.run(
                    api::call(On::default_engine(), call, (), ()),
                    move |()| format!("Untied {name} from {provider}."),
                    move || reload.now(),
                );
            });
            let label = format!("{}: {}", link.provider, link.subject);
            let shown = label.clone();
            view! {
                <li data-identity=label>
                    <span>{shown}</span>
                    <AskFirst
                        label="Untie"
                        question=format!(
                            "Untie {} from {}? Their next sign-in there makes a user of its own, or is refused if that name is taken.",
                            user.get_value(),
                            link.provider,
                        )
                        yes="Yes, untie"
                        on_yes=untie
                    />
                </li>
            }
        })
        .collect_view();
    let tying = RwSignal::new(false);
    let provider = RwSignal::new(PROVIDERS[0].0.to_string());
    let subject = RwSignal::new(String::new());
    let tie = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = user.get_value();
        let link = IdentityLink {
            provider: provider.get_untracked(),
            subject: subject.get_untracked().trim().to_string(),
        };
        let said = format!("{}: {}", link.provider, link.subject);
        feedback.run(
            api::call(
                On::default_engine(),
                LinkIdentity { name: name.clone() },
                (),
                link,
            ),
            move |()| format!("Tied {said} to {name}: its next sign-in is {name}'s."),
            move || reload.now(),
        );
    };
    view! {
        <ul class="identities">{tied}</ul>
        <Show
            when=move || tying.get()
            fallback=move || {
                view! {
                    <button type="button" on:click=move |_| tying.set(true)>
                        "Tie an identity…"
                    </button>
                }
            }
        >
            <form class="inline" on:submit=tie aria-label="Tie an identity">
                <select
                    aria-label="Provider"
                    on:change=move |ev| provider.set(event_target_value(&ev))
                >
                    {PROVIDERS
                        .into_iter()
                        .map(|(value, shown)| view! { <option value=value>{shown}</option> })
                        .collect_view()}
                </select>
                <input
                    aria-label="Subject"
                    placeholder="the provider's sub, or the proxy's user name"
                    required
                    maxlength="255"
                    bind:value=subject
                />
                <button type="submit">"Tie"</button>
                <button type="button" on:click=move |_| tying.set(false)>
                    "Cancel"
                </button>
            </form>
        </Show>
    }
}
