//! A swarm's secrets and configs on its page: each by name with the services that use it;
//! operators make one from text or a file and remove one no service uses (asked first). A
//! secret's value is sent once and never shown again: the box is emptied once it is made.

use super::container_actions::ForOperators;
use crate::controls::{AskFirst, Feedback, Reload};
use crate::model::{
    CreateConfig, CreateSecret, ListConfigs, ListSecrets, NewSwarmObject, RemoveConfig,
    RemoveSecret, SwarmObject, validate_swarm_object_name,
};
use crate::urls::On;
use crate::{Hydrated, api, format};
use leptos::prelude::*;

/// Which of the two a section shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objects {
    Secrets,
    Configs,
}

impl Objects {
    fn title(self) -> &'static str {
        match self {
            Objects::Secrets => "Secrets",
            Objects::Configs => "Configs",
        }
    }

    fn one(self) -> &'static str {
        match self {
            Objects::Secrets => "secret",
            Objects::Configs => "config",
        }
    }

    async fn list(self, on: On) -> Result<Vec<SwarmObject>, crate::model::ApiError> {
        match self {
            Objects::Secrets => api::read(on, ListSecrets {}).await,
            Objects::Configs => api::read(on, ListConfigs {}).await,
        }
    }
}

#[component]
pub fn SwarmObjects(on: Memo<On>, which: Objects) -> impl IntoView {
    let reload = Reload::new();
    let feedback = Feedback::new();
    let listed = Resource::new(
        move || (on.get(), reload.count()),
        move |(on, _)| which.list(on),
    );
    let rows = move || {
        Suspend::new(async move {
            match listed.await {
                Ok(list) if list.is_empty() => view! {
                    <p class="muted">{format!("No {} yet.", which.title().to_lowercase())}</p>
                }
                .into_any(),
                Ok(list) => {
                    let rows = list
                        .into_iter()
                        .map(|o| object_row(on, which, o, feedback, reload))
                        .collect_view();
                    view! {
                        <table class="containers swarm-objects" data-testid=which.one()>
                            <thead>
                                <tr>
                                    <th>"Name"</th>
                                    <th>"Used by"</th>
                                    <th>"Made"</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }
                    .into_any()
                }
                Err(e) => view! { <p class="admin-error">{e.error}</p> }.into_any(),
            }
        })
    };
    view! {
        <h2>{which.title()}</h2>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>{rows}</Transition>
        <ForOperators>
            <NewObject on which feedback reload />
        </ForOperators>
        <div data-testid=format!("{}-said", which.one())>{feedback.view()}</div>
    }
}

fn object_row(
    on: Memo<On>,
    which: Objects,
    o: SwarmObject,
    feedback: Feedback,
    reload: Reload,
) -> impl IntoView + use<> {
    let used = !o.used_by.is_empty();
    let users = match used {
        true => o.used_by.join(", "),
        false => "—".into(),
    };
    let id = o.id.clone();
    let remove = Callback::new(move |()| {
        let id = id.clone();
        let call = async move {
            match which {
                Objects::Secrets => {
                    api::call(on.get_untracked(), RemoveSecret { id }, (), ()).await
                }
                Objects::Configs => {
                    api::call(on.get_untracked(), RemoveConfig { id }, (), ()).await
                }
            }
        };
        feedback.run(call, |()| "removed".into(), move || reload.now());
    });
    let question = format!(
        "Remove the {} {}? Services made later cannot use it.",
        which.one(),
        o.name
    );
    let shown = o.name.clone();
    view! {
        <tr class="object-row" data-name=o.name>
            <td class="mono">{shown}</td>
            <td>{users}</td>
            <td>{format::docker_time(&o.created)}</td>
            <td>
                {match used {
                    true => view! { <span class="muted">"in use"</span> }.into_any(),
                    false => view! {
                        <ForOperators>
                            <AskFirst label="Remove" question=question.clone() yes="Remove" on_yes=remove />
                        </ForOperators>
                    }
                    .into_any(),
                }}
            </td>
        </tr>
    }
}

/// A name and the content, typed or read from a file (as text).
#[component]
fn NewObject(on: Memo<On>, which: Objects, feedback: Feedback, reload: Reload) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let name = RwSignal::new(String::new());
    let data = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let wanted = name.get_untracked().trim().to_string();
        if let Err(e) = validate_swarm_object_name(&wanted) {
            return feedback.say(Err(e.error));
        }
        let body = NewSwarmObject {
            name: wanted,
            data: data.get_untracked(),
        };
        let call = async move {
            match which {
                Objects::Secrets => api::call(on.get_untracked(), CreateSecret {}, (), body).await,
                Objects::Configs => api::call(on.get_untracked(), CreateConfig {}, (), body).await,
            }
        };
        feedback.run(
            call,
            move |made| {
                // Sent once: the value leaves the page with the answer.
                name.try_set(String::new());
                data.try_set(String::new());
                format!("{} {} made", which.one(), made.name)
            },
            move || reload.now(),
        );
    };
    let from_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        read_file(ev, data, feedback);
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let label = format!("New {}", which.one());
    view! {
        <form class="card new-object" on:submit=submit aria-label=label.clone()>
            <h3>{label.clone()}</h3>
            <input
                type="text"
                class="mono"
                placeholder="name"
                aria-label=format!("{} name", which.one())
                prop:value=name
                on:input=move |ev| name.set(event_target_value(&ev))
            />
            <textarea
                class="mono"
                rows="4"
                aria-label=format!("{} content", which.one())
                prop:value=data
                on:input=move |ev| data.set(event_target_value(&ev))
            ></textarea>
            <input type="file" aria-label=format!("{} from a file", which.one()) on:change=from_file />
            <button type="submit" disabled=move || !hydrated.get()>
                "Create"
            </button>
        </form>
    }
}

/// Reads the chosen file into `into` when it is UTF-8 text of less than 500 KiB; a binary
/// file is refused rather than stored with its bytes replaced.
#[cfg(feature = "hydrate")]
fn read_file(ev: leptos::ev::Event, into: RwSignal<String>, feedback: Feedback) {
    use wasm_bindgen::JsCast;
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return;
    };
    if file.size() >= crate::model::MAX_SWARM_OBJECT as f64 {
        return feedback.say(Err("the file is 500 KiB or larger".into()));
    }
    let bytes = file.array_buffer();
    leptos::task::spawn_local(async move {
        let read = wasm_bindgen_futures::JsFuture::from(bytes)
            .await
            .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec());
        match read.map(String::from_utf8) {
            Ok(Ok(text)) => {
                into.try_set(text);
            }
            Ok(Err(_)) => feedback.say(Err(
                "the file is not UTF-8 text: make a binary one with the docker CLI".into(),
            )),
            Err(_) => feedback.say(Err("the file could not be read".into())),
        }
    });
}
