//! The sign-in and first-admin pages: plain HTML forms that post to `/api/auth/*` and are
//! answered with redirects, so they work before (or without) the Wasm, and the same once
//! hydrated.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn Login() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || {
        let query = query.read();
        query.get("error").map(|e| match e.as_str() {
            "wait" => "Too many failed sign-ins: wait a minute, then try again.".to_string(),
            "code" => {
                "This account has a second factor: type the code your authenticator app shows (or a recovery code)."
                    .to_string()
            }
            "sso" => sso_failure(query.get("why").as_deref()).to_string(),
            _ => "Wrong user name or password.".to_string(),
        })
    };
    // The provider's button, when Berth has one (`--oidc-issuer`).
    let me = Resource::new(|| (), |_| crate::api::me());
    let provider = move || {
        me.get()
            .and_then(Result::ok)
            .and_then(|me| me.single_sign_on)
            .map(|name| {
                // A full navigation (the browser leaves for the provider), not a route.
                view! {
                    <a
                        class="button signin-provider"
                        rel="external"
                        data-testid="sign-in-with-provider"
                        href=move || crate::urls::oidc_start(&next())
                    >
                        {format!("Sign in with {name}")}
                    </a>
                    <p class="signin-or">"or with a Berth account:"</p>
                }
            })
    };
    view! {
        <Title text="Sign in" />
        <section class="signin">
            <h2>"Sign in to Berth"</h2>
            {move || error().map(|e| view! { <p class="signin-error" role="alert">{e}</p> })}
            <Transition fallback=|| ()>{provider}</Transition>
            <form method="post" action=crate::urls::API_LOGIN class="signin-form">
                <input type="hidden" name="next" value=next />
                <label>
                    "User name"
                    <input name="username" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input
                        name="password"
                        type="password"
                        autocomplete="current-password"
                        required
                    />
                </label>
                <label>
                    "Code (with a second factor)"
                    <input
                        name="code"
                        autocomplete="one-time-code"
                        placeholder="123456, or a recovery code"
                    />
                </label>
                <button type="submit">"Sign in"</button>
            </form>
        </section>
    }
}

/// What the sign-in page says when single sign-on failed (`why`, one of Berth's words: a
/// link cannot put its own text here). The details are in Berth's log and audit log.
fn sso_failure(why: Option<&str>) -> &'static str {
    match why {
        Some("again") => {
            "Single sign-on did not finish: it began in another browser, took over 10 minutes, or was answered twice. Sign in again."
        }
        Some("refused") => {
            "The identity provider signed you in, but Berth does not let you in: your groups give you no role here, or a Berth user of your name exists and an admin must tie it to you."
        }
        Some("provider") => {
            "The identity provider refused the sign-in, or its answer could not be verified. Sign in again."
        }
        Some("busy") => "Too many sign-ins are under way: try again in a few minutes.",
        _ => {
            "The identity provider cannot be reached now: sign in with a Berth account, or try again later."
        }
    }
}

#[component]
pub fn Setup() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let error = move || query.read().get("error");
    view! {
        <Title text="Set up" />
        <section class="signin">
            <h2>"Create the first admin"</h2>
            <p class="signin-hint">
                "Berth printed this page's link in its log at start; the link works once, while nobody has an account."
            </p>
            {move || error().map(|e| view! { <p class="signin-error" role="alert">{e}</p> })}
            <form method="post" action=crate::urls::API_SETUP class="signin-form">
                <input type="hidden" name="token" value=token />
                <label>
                    "User name"
                    <input
                        name="username"
                        autocomplete="username"
                        pattern="[a-z0-9._\\-]{1,64}"
                        title="1 to 64 of a-z, 0-9, '.', '_' and '-'"
                        required
                        autofocus
                    />
                </label>
                <label>
                    "Password (12 characters or more)"
                    <input
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        minlength="12"
                        required
                    />
                </label>
                <button type="submit">"Create admin and sign in"</button>
            </form>
        </section>
    }
}
