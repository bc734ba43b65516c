//! What a page's image-update section holds and does, for a container's page and a swarm
//! service's alike: the checks' findings (read from the browser), whether a request is
//! out, the line that says how it went, and the update run the page started; Check now
//! for one container or service, and the start of an update.

use crate::controls::{AskFirst, Feedback};
use crate::{
    api,
    model::{ApiError, CheckOptions, CheckUpdates, ListUpdates, UpdateRun, Updates},
    urls::On,
};
use leptos::prelude::*;
use std::future::Future;

#[derive(Clone, Copy)]
pub struct Section {
    pub found: RwSignal<Option<Updates>>,
    pub feedback: Feedback,
    pub pending: RwSignal<bool>,
    /// The update run this page started, once the server took it.
    pub run: RwSignal<Option<u64>>,
}

impl Section {
    /// A section of `on`'s page: its findings asked once the page is in the browser.
    pub fn new(on: &On) -> Self {
        let on = on.clone();
        Self {
            found: super::image_updates::use_updates(move || on.clone()),
            feedback: Feedback::new(),
            pending: RwSignal::new(false),
            run: RwSignal::new(None),
        }
    }

    /// Starts the update `work` asks for; its run is then shown.
    pub fn start(self, work: impl Future<Output = Result<UpdateRun, ApiError>> + 'static) {
        self.pending.set(true);
        let (run, pending) = (self.run, self.pending);
        self.feedback.run(
            work,
            move |started| {
                run.try_set(Some(started.n));
                format!("update {} started", started.n)
            },
            move || {
                pending.try_set(false);
            },
        );
    }

    /// Checks what `options` names now; the findings are what the check answered.
    pub fn check(self, on: On, options: CheckOptions) {
        self.pending.set(true);
        let (found, pending) = (self.found, self.pending);
        let work = api::call(on, CheckUpdates {}, options, ());
        self.feedback.run(
            work,
            move |updates: Updates| {
                found.try_set(Some(updates));
                "checked".to_string()
            },
            move || {
                pending.try_set(false);
            },
        );
    }

    /// Reads the findings again (an update ended: a digest moved).
    pub fn reload(self, on: On) {
        let found = self.found;
        let call = api::call(on, ListUpdates {}, (), ());
        leptos::task::spawn_local(async move {
            if let Ok(updates) = call.await {
                found.try_set(Some(updates));
            }
        });
    }
}

/// For operators: Check now and, when `offer`, Update… asked first with `question`; then
/// the line that says how the last request went.
#[component]
pub fn UpdateButtons(
    section: Section,
    check: Callback<()>,
    update: Callback<()>,
    offer: bool,
    question: String,
) -> impl IntoView {
    let pending = section.pending;
    view! {
        <super::container_actions::ForOperators>
            <button
                type="button"
                class="inline-action"
                data-testid="check-update"
                disabled=move || pending.get()
                on:click=move |_| check.run(())
            >
                {move || if pending.get() { "Checking…" } else { "Check now" }}
            </button>
            {offer
                .then(|| {
                    view! {
                        <AskFirst
                            label="Update…"
                            question=question.clone()
                            yes="Update"
                            on_yes=update
                            calm=true
                            disabled=pending
                            testid="update"
                        />
                    }
                })}
        </super::container_actions::ForOperators>
        {section.feedback.view()}
    }
}
