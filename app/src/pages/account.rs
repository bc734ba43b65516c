//! `/account`: who you are, and your second factor. Setting one up: the authenticator app
//! reads a QR code (or the secret typed in), a first code from it confirms, and ten
//! recovery codes are shown once. Turning it off takes a code, so a session left open on
//! someone's screen cannot. Someone a second factor is required of is sent here and may do
//! nothing else until it is set up.

use crate::{
    Hydrated, api,
    controls::{Feedback, Reload},
    layout::CurrentUser,
    model::{
        ApiError, BeginSecondFactor, ConfirmSecondFactor, GetSecondFactor, SecondFactorCode,
        SecondFactorSetup, SecondFactorState, TurnOffSecondFactor,
    },
    status::ErrorPanel,
    urls::On,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let hydrated = expect_context::<Hydrated>().0;
    view! {
        <Title text="Your account" />
        <h1>"Your account"</h1>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) if me.accounts && me.name.is_some() => {
                        let name = me.name.clone().unwrap_or_default();
                        view! {
                            <p class="account-who">
                                "Signed in as " <strong>{name}</strong> " ("
                                {me.role.as_str()} ")."
                            </p>
                            {move || match hydrated.get() {
                                true => view! { <SecondFactor /> }.into_any(),
                                false => loading().into_any(),
                            }}
                        }
                            .into_any()
                    }
                    Ok(_) => {
                        let error = ApiError::not_found(
                            "accounts are off (--auth off): there is no account",
                        );
                        view! { <ErrorPanel error /> }.into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn loading() -> impl IntoView {
    view! { <p class="loading">"Loading…"</p> }
}

#[component]
fn SecondFactor() -> impl IntoView {
    let reload = Reload::new();
    let feedback = Feedback::new();
    let state = LocalResource::new(move || {
        reload.track();
        api::call(On::default_engine(), GetSecondFactor {}, (), ())
    });
    let setup = RwSignal::new(None::<SecondFactorSetup>);
    let codes = RwSignal::new(None::<Vec<String>>);
    view! {
        <section class="second-factor" aria-label="Second factor">
            <h2>"Second factor"</h2>
            {feedback.view()}
            {move || codes.get().map(|codes| view! { <RecoveryCodesOnce codes /> })}
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match state.await {
                        Ok(now) => view! { <Status now setup codes feedback reload /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Status(
    now: SecondFactorState,
    setup: RwSignal<Option<SecondFactorSetup>>,
    codes: RwSignal<Option<Vec<String>>>,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView {
    if now.enabled {
        let left = now.recovery_codes_left;
        return view! {
            <p data-testid="second-factor-on">
                "On: every sign-in with your password also asks for the code your authenticator app shows. "
                {format!("{left} recovery code{} left.", if left == 1 { "" } else { "s" })}
            </p>
            <TurnOff codes feedback reload />
        }
            .into_any();
    }
    let begin = move |_| {
        codes.set(None);
        feedback.run(
            api::call(On::default_engine(), BeginSecondFactor {}, (), ()),
            move |new| {
                setup.try_set(Some(new));
                "Scan the QR code with your authenticator app, then type the code it shows."
                    .to_string()
            },
            || {},
        );
    };
    view! {
        {now
            .required
            .then(|| {
                view! {
                    <p class="admin-error" role="alert">
                        "A second factor is required of you: set it up to use Berth."
                    </p>
                }
            })}
        <p data-testid="second-factor-off">
            "Off: your password alone signs you in. With a second factor, a sign-in also needs the code of an authenticator app on your phone (any app that reads a QR code: Aegis, Google Authenticator, 1Password…)."
        </p>
        {move || match setup.get() {
            None => {
                view! {
                    <button type="button" on:click=begin>
                        "Set up a second factor"
                    </button>
                }
                    .into_any()
            }
            Some(new) => view! { <Confirm new setup codes feedback reload /> }.into_any(),
        }}
    }
        .into_any()
}

/// The QR code and secret of a second factor being set up, and the first code that
/// confirms it.
#[component]
fn Confirm(
    new: SecondFactorSetup,
    setup: RwSignal<Option<SecondFactorSetup>>,
    codes: RwSignal<Option<Vec<String>>>,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SecondFactorCode {
            code: code.get_untracked().trim().to_string(),
        };
        feedback.run(
            api::call(On::default_engine(), ConfirmSecondFactor {}, (), body),
            move |made| {
                setup.try_set(None);
                codes.try_set(Some(made.codes));
                "The second factor is on.".to_string()
            },
            move || reload.now(),
        );
    };
    view! {
        <div class="second-factor-setup">
            <img src=new.qr alt="QR code for your authenticator app" width="200" height="200" />
            <p>
                "Or type this secret into the app: "
                <code class="mono" data-testid="second-factor-secret">
                    {new.secret}
                </code>
            </p>
            <form class="admin-form" on:submit=submit aria-label="Confirm the second factor">
                <label>
                    "Code from the app"
                    <input
                        name="code"
                        autocomplete="one-time-code"
                        inputmode="numeric"
                        pattern="[0-9 ]{6,7}"
                        required
                        bind:value=code
                    />
                </label>
                <button type="submit">"Confirm"</button>
            </form>
        </div>
    }
}

/// The recovery codes, once: only their hashes are kept.
#[component]
fn RecoveryCodesOnce(codes: Vec<String>) -> impl IntoView {
    let items = codes
        .into_iter()
        .map(|c| view! { <li><code class="mono">{c}</code></li> })
        .collect_view();
    view! {
        <div class="token-once" role="status">
            <p>
                <strong>"Save these recovery codes now: they are not shown again."</strong>
                " Each signs you in once in place of a code, if the phone is lost."
            </p>
            <ul class="recovery-codes" data-testid="recovery-codes">{items}</ul>
        </div>
    }
}

#[component]
fn TurnOff(
    codes: RwSignal<Option<Vec<String>>>,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView {
    let code = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = SecondFactorCode {
            code: code.get_untracked().trim().to_string(),
        };
        feedback.run(
            api::call(On::default_engine(), TurnOffSecondFactor {}, (), body),
            move |()| {
                // The recovery codes shown when it was set up work no more.
                codes.try_set(None);
                "The second factor is off.".to_string()
            },
            move || reload.now(),
        );
    };
    view! {
        <form class="admin-form" on:submit=submit aria-label="Turn the second factor off">
            <label>
                "Code from the app, or a recovery code"
                <input name="code" autocomplete="one-time-code" required bind:value=code />
            </label>
            <button type="submit" class="danger">"Turn off"</button>
        </form>
    }
}
