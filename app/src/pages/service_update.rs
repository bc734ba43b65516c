//! A swarm service's image update on its page: its image against the registry (the digest
//! its spec pins, the newer one, when that was made and first seen), Check now, and for
//! operators Update (asked first with what will happen), then the update's steps as the
//! swarm rolls it out, task by task, and how it ended (rolled back, and why, when it did).

use super::image_updates::{UpdateOutput, details};
use super::update_section::{Section, UpdateButtons};
use crate::{
    api,
    model::{CheckOptions, UpdateServiceImage, UpdateState},
    urls::On,
};
use leptos::prelude::*;

/// The service page's section; nothing until the checks' findings are read (from the
/// browser: the page's first paint waits for no registry).
#[component]
pub fn ServiceImageUpdate(on: On, id: String, name: String) -> impl IntoView {
    let section = Section::new(&on);
    let (found, run) = (section.found, section.run);
    let mine = {
        let id = id.clone();
        move || {
            found.with(|f| {
                let f = f.as_ref()?;
                let update = f.services.iter().find(|u| u.container_id == id)?;
                Some((update.clone(), f.now))
            })
        }
    };
    let update = Callback::new({
        let (on, id) = (on.clone(), id.clone());
        move |()| {
            let work = api::call(on.clone(), UpdateServiceImage { id: id.clone() }, (), ());
            section.start(work);
        }
    });
    let check = Callback::new({
        let on = on.clone();
        move |()| {
            let options = CheckOptions {
                service: Some(id.clone()),
                ..CheckOptions::default()
            };
            section.check(on.clone(), options);
        }
    });
    let question = format!(
        "Update {name}? Berth asks the registry for the digest its tag names now and writes \
         it into {name}'s spec; the swarm then replaces its tasks as its update settings say \
         (parallelism, delay, order). If the update pauses on a failed task, or does not end \
         in time, Berth rolls the service back to its previous spec. Volumes are never removed."
    );
    // Ended: the service's findings read again (it keeps its id, and its digest moved).
    let after = Callback::new({
        let on = on.clone();
        move |()| section.reload(on.clone())
    });
    let output = {
        let name = name.clone();
        move || {
            run.get()
                .map(|n| view! { <UpdateOutput on=on.clone() n name=name.clone() after /> })
        }
    };
    view! {
        {move || {
            mine()
                .map(|(u, now)| {
                    let offer = u.state == UpdateState::Available;
                    let question = question.clone();
                    view! {
                        <dl class="inspect">
                            <dt>"Image update"</dt>
                            <dd class="image-update" data-testid="service-image-update">
                                <span class=format!("update-state update-{:?}", u.state).to_lowercase()>
                                    {u.state.label()}
                                </span>
                                {details(&u, now)}
                                <span class="muted" data-testid="update-policy">
                                    {format!("policy: {}", u.policy.as_str())}
                                </span>
                                <UpdateButtons section check update offer question />
                            </dd>
                        </dl>
                    }
                })
        }}
        {output}
    }
}
