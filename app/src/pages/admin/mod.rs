//! The admin pages (users, API tokens, the audit log). Shown to admins only; the server
//! checks the role again on every call. Their data is loaded in the browser once hydrated,
//! every change reports how it went, and every removal asks first.

mod audit;
mod identities;
mod tokens;
mod users;

pub use audit::AdminAudit;
pub use tokens::AdminTokens;
pub use users::AdminUsers;

use crate::controls::{AskFirst, Feedback, Reload};
use crate::{Hydrated, layout::CurrentUser, model::ApiError, status::ErrorPanel, urls};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

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
