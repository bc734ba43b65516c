//! Controls that change things, shared by the admin pages and the container actions: a
//! button that asks first, the line that says how a change went, and a counter that
//! reloads data after one.

use crate::model::ApiError;
use leptos::prelude::*;
use std::future::Future;

/// The line under a form that says how the last change went.
#[derive(Clone, Copy)]
pub struct Feedback(RwSignal<Option<Result<String, String>>>);

impl Feedback {
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }

    pub fn view(self) -> impl IntoView {
        move || {
            self.0.get().map(|said| match said {
                Ok(text) => view! { <p class="admin-ok" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="admin-error" role="alert">{text}</p> }.into_any(),
            })
        }
    }

    /// Says `said` (a form refused before anything was sent, or a change the caller ran
    /// itself).
    pub fn say(self, said: Result<String, String>) {
        self.0.try_set(Some(said));
    }

    /// Runs a change the user asked for, says how it went, then calls `after` (a reload,
    /// also after a failure, so the page shows what the server kept). The signals may be
    /// gone by then (the user navigated away): the `try_` calls make that a no-op.
    pub fn run<T: 'static>(
        self,
        work: impl Future<Output = Result<T, ApiError>> + 'static,
        done: impl FnOnce(T) -> String + 'static,
        after: impl FnOnce() + 'static,
    ) {
        self.judge(work, move |t| Ok(done(t)), after);
    }

    /// Like [`Feedback::run`], when an answer can still be a failure in part (a bulk
    /// action): `judge` says which.
    pub fn judge<T: 'static>(
        self,
        work: impl Future<Output = Result<T, ApiError>> + 'static,
        judge: impl FnOnce(T) -> Result<String, String> + 'static,
        after: impl FnOnce() + 'static,
    ) {
        self.0.try_set(None);
        leptos::task::spawn_local(async move {
            let said = work.await.map_err(|e| e.error).and_then(judge);
            self.0.try_set(Some(said));
            after();
        });
    }
}

/// A counter that data resources track, bumped to reload them after a change.
#[derive(Clone, Copy)]
pub struct Reload(RwSignal<u32>);

impl Reload {
    pub fn new() -> Self {
        Self(RwSignal::new(0))
    }

    pub fn track(self) {
        self.0.track();
    }

    /// The count, for a resource's source: a source that returns the same value again does
    /// not refetch, so tracking alone is not enough there.
    pub fn count(self) -> u32 {
        self.0.get()
    }

    pub fn now(self) {
        self.0.try_update(|n| *n += 1);
    }
}

/// A button that removes or recreates something, asking first, inline: `label`, then
/// `question` with `yes` and Cancel. Nothing is removed without this second click.
#[component]
pub fn AskFirst(
    label: &'static str,
    question: String,
    yes: &'static str,
    on_yes: Callback<()>,
    /// Not a removal: the buttons are not marked as dangerous.
    #[prop(optional)]
    calm: bool,
    /// The first button is disabled while this says so.
    #[prop(optional, into)]
    disabled: Option<Signal<bool>>,
    /// `data-testid` of the first button; the yes button's is it with `-yes`.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let question = StoredValue::new(question);
    let class = if calm { "" } else { "danger" };
    let yes_testid = testid.map(|t| format!("{t}-yes"));
    view! {
        <Show
            when=move || asking.get()
            fallback=move || {
                view! {
                    <button
                        type="button"
                        class=class
                        data-testid=testid
                        disabled=move || disabled.is_some_and(|d| d.get())
                        on:click=move |_| asking.set(true)
                    >
                        {label}
                    </button>
                }
            }
        >
            <span class="confirm" role="alertdialog">
                {question.get_value()}
                <button
                    type="button"
                    class=class
                    data-testid=yes_testid.clone()
                    on:click=move |_| on_yes.run(())
                >
                    {yes}
                </button>
                <button type="button" on:click=move |_| asking.set(false)>
                    "Cancel"
                </button>
            </span>
        </Show>
    }
}
