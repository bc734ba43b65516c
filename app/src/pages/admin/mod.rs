//! The admin pages (users, API tokens, the audit log). Shown to admins only; the server
//! checks the role again on every call. Their data is loaded in the browser once hydrated,
//! every change reports how it went, and every removal asks first.

mod audit;
mod tokens;
mod users;

pub use audit::AdminAudit;
pub use tokens::AdminTokens;
pub use users::AdminUsers;

use crate::{Hydrated, layout::CurrentUser, model::ApiError, status::ErrorPanel, urls};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use std::future::Future;

/// The tabs and the role check every admin page shares. Anyone but an admin gets 403 (404
/// with accounts off), as the page's HTTP status too; an admin gets the page's content
/// once the Wasm runs, since that content is fetched and changed from the browser.
#[component]
fn AdminFrame(title: &'static str, children: ChildrenFn) -> impl IntoView {
    let me = expect_context::<CurrentUser>().0;
    let hydrated = expect_context::<Hydrated>().0;
    let children = StoredValue::new(children);
    view! {
        <Title text=title />
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(me) if me.may_administer() => {
                        view! {
                            <h1>"Admin"</h1>
                            <nav class="tabs">
                                <A href=urls::ADMIN exact=true attr:class="tab">
                                    "Users"
                                </A>
                                <A href=urls::ADMIN_TOKENS attr:class="tab">
                                    "API tokens"
                                </A>
                                <A href=urls::ADMIN_AUDIT attr:class="tab">
                                    "Audit log"
                                </A>
                            </nav>
                            {move || match hydrated.get() {
                                true => children.read_value()().into_any(),
                                false => loading().into_any(),
                            }}
                        }
                            .into_any()
                    }
                    Ok(me) if !me.accounts => {
                        let error = ApiError::not_found(
                            "accounts are off (--auth off): there are no users to manage",
                        );
                        view! { <ErrorPanel error /> }.into_any()
                    }
                    Ok(_) => {
                        let error = ApiError::new(403, "only an admin may see this page");
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

/// The line under a form that says how the last change went.
#[derive(Clone, Copy)]
struct Feedback(RwSignal<Option<Result<String, String>>>);

impl Feedback {
    fn new() -> Self {
        Self(RwSignal::new(None))
    }

    fn view(self) -> impl IntoView {
        move || {
            self.0.get().map(|said| match said {
                Ok(text) => view! { <p class="admin-ok" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="admin-error" role="alert">{text}</p> }.into_any(),
            })
        }
    }

    /// Runs a change the user asked for, says how it went, then calls `after` (a reload,
    /// also after a failure, so the page shows what the server kept). The signals may be
    /// gone by then (the user navigated away): the `try_` calls make that a no-op.
    fn run<T: 'static>(
        self,
        work: impl Future<Output = Result<T, ApiError>> + 'static,
        done: impl FnOnce(T) -> String + 'static,
        after: impl FnOnce() + 'static,
    ) {
        self.0.try_set(None);
        leptos::task::spawn_local(async move {
            let said = work.await.map(done).map_err(|e| e.error);
            self.0.try_set(Some(said));
            after();
        });
    }
}

/// A counter that data resources track, bumped to reload them after a change.
#[derive(Clone, Copy)]
struct Reload(RwSignal<u32>);

impl Reload {
    fn new() -> Self {
        Self(RwSignal::new(0))
    }

    fn track(self) {
        self.0.track();
    }

    fn now(self) {
        self.0.try_update(|n| *n += 1);
    }
}

/// A table of the admin pages: `headers` (an empty one for the actions column), then rows.
fn admin_table(test_id: &'static str, headers: &[&'static str], rows: AnyView) -> AnyView {
    let headers = headers
        .iter()
        .map(|h| view! { <th>{*h}</th> })
        .collect_view();
    view! {
        <table class="containers admin-table" data-testid=test_id>
            <thead>
                <tr>{headers}</tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// A button that removes something, asking first, inline: `label`, then `question` with
/// `yes` and Cancel. Nothing is removed without this second click.
#[component]
fn AskFirst(
    label: &'static str,
    question: String,
    yes: &'static str,
    on_yes: Callback<()>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let question = StoredValue::new(question);
    view! {
        <Show
            when=move || asking.get()
            fallback=move || {
                view! {
                    <button type="button" class="danger" on:click=move |_| asking.set(true)>
                        {label}
                    </button>
                }
            }
        >
            <span class="confirm" role="alertdialog">
                {question.get_value()}
                <button type="button" class="danger" on:click=move |_| on_yes.run(())>
                    {yes}
                </button>
                <button type="button" on:click=move |_| asking.set(false)>
                    "Cancel"
                </button>
            </span>
        </Show>
    }
}
