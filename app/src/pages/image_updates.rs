//! Image updates in the pages: the containers list's bar (how many, when last checked,
//! Check now, the "updates available" filter) and a row's badge, and the container page's
//! section (the newer image's digest, when it was made and how old it is, and Update: asked
//! first with what will happen, then its steps as they happen). What the checks found is
//! asked once the page is in the browser (never by the server-rendered page, so the first
//! paint waits for no registry) and again after a check.

use super::update_section::UpdateButtons;
use crate::controls::{AskFirst, Feedback};
use crate::format::age;
use crate::layout::engine_epoch;
use crate::resources::short_hex as short;
use crate::{
    api, format,
    model::{
        CheckOptions, CheckUpdates, GetUpdateRun, ImageUpdate, ListUpdates, PolicyRule,
        PolicyScope, PolicySource, SetUpdatePolicy, UpdateAll, UpdateAllOptions, UpdateBatch,
        UpdateContainer, UpdatePolicy, UpdateState, Updates,
    },
    urls::On,
};
use leptos::prelude::*;
use std::collections::BTreeMap;

/// What the checks found for `on`'s running containers, asked from the browser (again
/// when the engine changes); `None` until answered.
pub fn use_updates(on: impl Fn() -> On + Send + Sync + 'static) -> RwSignal<Option<Updates>> {
    let found = RwSignal::new(None);
    Effect::new(move |_| {
        engine_epoch();
        let on = on();
        leptos::task::spawn_local(async move {
            if let Ok(updates) = api::call(on, ListUpdates {}, (), ()).await {
                found.try_set(Some(updates));
            }
        });
    });
    found
}

/// By container id.
pub fn by_container(found: RwSignal<Option<Updates>>) -> Memo<BTreeMap<String, ImageUpdate>> {
    Memo::new(move |_| {
        found.with(|f| {
            f.iter()
                .flat_map(|u| u.containers.iter())
                .map(|u| (u.container_id.clone(), u.clone()))
                .collect()
        })
    })
}

/// The swarm services', by service id.
pub fn by_service(found: RwSignal<Option<Updates>>) -> Memo<BTreeMap<String, ImageUpdate>> {
    Memo::new(move |_| {
        found.with(|f| {
            f.iter()
                .flat_map(|u| u.services.iter())
                .map(|u| (u.container_id.clone(), u.clone()))
                .collect()
        })
    })
}

/// How many containers and services of each project (compose project or swarm stack)
/// have an update available.
pub fn by_project(found: RwSignal<Option<Updates>>) -> Memo<BTreeMap<String, usize>> {
    Memo::new(move |_| {
        let mut counts = BTreeMap::new();
        found.with(|f| {
            for update in f.iter().flat_map(|u| u.available()) {
                if let Some(project) = &update.project {
                    *counts.entry(project.clone()).or_insert(0) += 1;
                }
            }
        });
        counts
    })
}

/// A project's or stack's badge: how many of it have an update, when some do.
pub fn count_badge(n: Option<&usize>) -> Option<impl IntoView + use<>> {
    let n = *n.filter(|n| **n > 0)?;
    let title = match n {
        1 => "1 container or service of it has a newer image".to_string(),
        n => format!("{n} containers or services of it have a newer image"),
    };
    Some(view! {
        <span class="badge update" title=title data-testid="update-badge">
            {format!("{n} update{}", if n == 1 { "" } else { "s" })}
        </span>
    })
}

/// The row's badge: only when there is something to do.
pub fn badge(update: Option<&ImageUpdate>) -> Option<impl IntoView + use<>> {
    let update = update.filter(|u| u.state == UpdateState::Available)?;
    let title = format!(
        "A newer image for {}: {}",
        update.image,
        update.available.as_deref().map(short).unwrap_or_default()
    );
    Some(view! {
        <span class="badge update" title=title data-testid="update-badge">
            "update"
        </span>
    })
}

/// The list's bar: how many updates, when the last check was, Check now for operators,
/// and the filter. `only` is the filter's state.
#[component]
pub fn UpdatesBar(on: On, found: RwSignal<Option<Updates>>, only: RwSignal<bool>) -> impl IntoView {
    let feedback = Feedback::new();
    let pending = RwSignal::new(false);
    let on_all = on.clone();
    let check = move |_| {
        pending.set(true);
        let work = api::call(on.clone(), CheckUpdates {}, CheckOptions::default(), ());
        feedback.run(
            work,
            move |updates: Updates| {
                let n = updates.available().count();
                found.try_set(Some(updates));
                match n {
                    0 => "every image is current".to_string(),
                    1 => "1 update available".to_string(),
                    n => format!("{n} updates available"),
                }
            },
            move || {
                pending.try_set(false);
            },
        );
    };
    let summary = move || {
        found.with(|f| {
            let f = f.as_ref()?;
            let n = f.available().count();
            let when = f
                .last_check
                .map(|t| format!("checked {} ago", age(f.now - t)))
                .unwrap_or_else(|| "not checked yet".into());
            Some(format!(
                "{}; {when}",
                match n {
                    1 => "1 image update".to_string(),
                    n => format!("{n} image updates"),
                }
            ))
        })
    };
    view! {
        <div class="updates-bar" data-testid="updates-bar">
            <label class="inline">
                <input
                    type="checkbox"
                    prop:checked=move || only.get()
                    disabled=move || found.with(Option::is_none)
                    on:change=move |ev| only.set(event_target_checked(&ev))
                />
                " Updates available only"
            </label>
            <span class="muted" data-testid="updates-summary">{summary}</span>
            <super::container_actions::ForOperators>
                <button
                    type="button"
                    data-testid="check-updates"
                    disabled=move || pending.get()
                    on:click=check.clone()
                >
                    {move || if pending.get() { "Checking…" } else { "Check for updates" }}
                </button>
                <UpdateAllOf on=on_all.clone() project=None found />
            </super::container_actions::ForOperators>
            {feedback.view()}
        </div>
    }
}

/// "Update all…" (of one project or swarm stack, with `project`), for operators, when
/// some container or service of it has an update Berth may take: asked first with how
/// many, then queued on the server (the runs are on the updates page).
#[component]
pub fn UpdateAllOf(
    on: On,
    project: Option<String>,
    found: RwSignal<Option<Updates>>,
) -> impl IntoView {
    let feedback = Feedback::new();
    let pending = RwSignal::new(false);
    let count = {
        let project = project.clone();
        move || {
            found.with(|f| {
                let Some(f) = f.as_ref() else { return 0 };
                let containers = f
                    .containers
                    .iter()
                    .filter(|u| u.project.is_none() || u.in_stack);
                containers
                    .chain(&f.services)
                    .filter(|u| u.state == UpdateState::Available)
                    .filter(|u| project.is_none() || u.project == project)
                    .count()
            })
        }
    };
    let start = Callback::new({
        let project = project.clone();
        move |()| {
            pending.set(true);
            let options = UpdateAllOptions {
                project: project.clone(),
            };
            let work = api::call(on.clone(), UpdateAll {}, options, ());
            feedback.run(
                work,
                |batch: UpdateBatch| match batch.queued.len() {
                    0 => "nothing to update".to_string(),
                    n => format!("{n} updates queued, one after another (see Updates)"),
                },
                move || {
                    pending.try_set(false);
                },
            );
        }
    });
    let of = project.map(|p| format!(" of {p}")).unwrap_or_default();
    view! {
        {move || {
            let n = count();
            let question = format!(
                "Update the {n} containers and services{of} that have a newer image, one after \
                 another? Each is updated as on its own page: a container made again on the new \
                 image (rolled back if it does not come up), a stack's member through its stack, \
                 a swarm service by the swarm's rolling update. Members of compose projects Berth \
                 does not keep are left out. Volumes are never removed."
            );
            (n > 0)
                .then(|| {
                    view! {
                        <AskFirst
                            label="Update all…"
                            question
                            yes="Update all"
                            on_yes=start
                            calm=true
                            disabled=pending
                            testid="update-all"
                        />
                    }
                })
        }}
        {feedback.view()}
    }
}

/// The container page's section: its image against the registry, and Check now.
#[component]
pub fn ContainerUpdate(on: On, id: String, name: String) -> impl IntoView {
    let section = super::update_section::Section::new(&on);
    let (found, run) = (section.found, section.run);
    let on_run = on.clone();
    let mine = {
        let id = id.clone();
        move || {
            found.with(|f| {
                let f = f.as_ref()?;
                let update = f.containers.iter().find(|u| u.container_id == id)?;
                Some((update.clone(), f.now))
            })
        }
    };
    let update = Callback::new({
        let (on, id) = (on.clone(), id.clone());
        move |()| {
            section.start(api::call(
                on.clone(),
                UpdateContainer { id: id.clone() },
                (),
                (),
            ))
        }
    });
    let check = Callback::new(move |()| {
        let options = CheckOptions {
            container: Some(id.clone()),
            ..CheckOptions::default()
        };
        section.check(on.clone(), options);
    });
    let question = format!(
        "Update {name}? Berth pulls its image's tag and makes {name} again on the new image \
         with the same configuration (volumes, networks and addresses, ports, environment, \
         labels, restart policy, limits). The old container is kept, stopped, until the new \
         one runs (and is healthy, if it has a health check); if it does not come up, the old \
         one starts again. Volumes are never removed."
    );
    let on_policy = on_run.clone();
    let output = {
        let (on, name) = (on_run.clone(), name.clone());
        move || {
            run.get()
                .map(|n| view! { <UpdateOutput on=on.clone() n name=name.clone() /> })
        }
    };
    view! {
        {move || {
            mine()
                .map(|(u, now)| {
                    let outside = u.project.clone().filter(|_| !u.in_stack);
                    let offer = u.state == UpdateState::Available && outside.is_none();
                    let question = match (&u.project, u.in_stack) {
                        (Some(stack), true) => through_stack(&name, stack),
                        _ => question.clone(),
                    };
                    let outside = outside
                        .filter(|_| u.state == UpdateState::Available)
                        .map(|project| {
                            view! {
                                <p class="muted" data-testid="update-outside">
                                    {format!(
                                        "A member of the compose project {project}, which is not a stack Berth keeps: update it with compose where its file is (pull, then up -d its service)."
                                    )}
                                </p>
                            }
                        });
                    let policy = view! {
                        <PolicyChoice on=on_policy.clone() name=name.clone() update=u.clone() found />
                    };
                    view! {
                        <dt>"Image update"</dt>
                        <dd class="image-update" data-testid="image-update">
                            <span class=format!("update-state update-{:?}", u.state).to_lowercase()>
                                {u.state.label()}
                            </span>
                            {details(&u, now)}
                            {outside}
                            {policy}
                            <UpdateButtons section check update offer question />
                        </dd>
                    }
                })
        }}
        {output}
    }
}

/// The container's update policy: what its label says, or for operators a choice kept by
/// Berth for its name (the page's findings read again after a change).
#[component]
fn PolicyChoice(
    on: On,
    name: String,
    update: ImageUpdate,
    found: RwSignal<Option<Updates>>,
) -> impl IntoView {
    let said = match update.policy_from {
        PolicySource::Label => "its berth.update label",
        PolicySource::Container => "kept by Berth for it",
        PolicySource::Project => "its project's",
        PolicySource::Default => "the default",
    };
    let shown = format!("policy: {} ({said})", update.policy.as_str());
    if update.policy_from == PolicySource::Label {
        return view! { <span class="muted" data-testid="update-policy">{shown}</span> }.into_any();
    }
    let feedback = Feedback::new();
    let chosen = match update.policy_from {
        PolicySource::Container => update.policy.as_str(),
        _ => "",
    };
    view! {
        <span class="muted" data-testid="update-policy">{shown}</span>
        <super::container_actions::ForOperators>
            <PolicySelect on=on.clone() name=name.clone() chosen found feedback />
        </super::container_actions::ForOperators>
        {feedback.view()}
    }
    .into_any()
}

/// The choice of a container's policy; a change is kept by Berth for its name.
#[component]
fn PolicySelect(
    on: On,
    name: String,
    chosen: &'static str,
    found: RwSignal<Option<Updates>>,
    feedback: Feedback,
) -> impl IntoView {
    let change = move |ev| {
        let policy = UpdatePolicy::parse(&event_target_value(&ev));
        let rule = PolicyRule {
            scope: PolicyScope::Container,
            name: name.clone(),
            policy,
        };
        let on = on.clone();
        let work = async move {
            api::call(on.clone(), SetUpdatePolicy {}, (), rule).await?;
            api::call(on, ListUpdates {}, (), ()).await
        };
        feedback.run(
            work,
            move |updates| {
                found.try_set(Some(updates));
                "saved".to_string()
            },
            || {},
        );
    };
    let options = [("", "as its project or the default")]
        .into_iter()
        .chain(UpdatePolicy::ALL.map(|p| {
            let text = match p {
                UpdatePolicy::Auto => "auto: update by itself",
                UpdatePolicy::Notify => "notify: say so",
                UpdatePolicy::Off => "off: neither check nor update",
            };
            (p.as_str(), text)
        }))
        .map(|(value, text)| {
            view! {
                <option value=value selected=value == chosen>
                    {text}
                </option>
            }
        })
        .collect_view();
    view! {
        <select data-testid="policy-choice" on:change=change>
            {options}
        </select>
    }
}

/// Update run `n`'s steps: live while it runs, replayed once it has ended; then how it
/// ended and, when a new container took the name, a link to it. `after` is told once it
/// ended (a page reads its findings again).
#[component]
pub(super) fn UpdateOutput(
    on: On,
    n: u64,
    name: String,
    #[prop(optional)] after: Option<Callback<()>>,
) -> impl IntoView {
    let path = crate::urls::ws_update_run(&on, n);
    let ended = RwSignal::new(None::<String>);
    // The new container, read from the run's record once it says it took the name.
    let new_id = RwSignal::new(None::<String>);
    let on_end = Callback::new({
        let on = on.clone();
        move |reason: String| {
            let updated = reason == "updated";
            ended.set(Some(reason));
            if let Some(after) = after {
                after.run(());
            }
            if updated {
                let call = api::call(on.clone(), GetUpdateRun { n }, (), ());
                leptos::task::spawn_local(async move {
                    if let Ok(run) = call.await {
                        new_id.try_set(run.new_id);
                    }
                });
            }
        }
    });
    view! {
        <section class="card run-output" data-testid="update-output" data-run=n>
            <h2>
                {format!("Update {n} ")}
                <span class="muted" data-testid="update-ended">
                    {move || ended.get().unwrap_or_else(|| "running…".into())}
                </span>
            </h2>
            <crate::log_viewer::LogViewer path=path max_lines=2_000 download_name=format!("{name}-update-{n}.log") on_end />
            {move || {
                new_id
                    .get()
                    .map(|id| {
                        view! {
                            <p>
                                <a href=crate::urls::container(&on, &id) data-testid="updated-link">
                                    "Open the updated container"
                                </a>
                            </p>
                        }
                    })
            }}
        </section>
    }
}

/// The question before a stack member's update: its stack does it.
fn through_stack(name: &str, stack: &str) -> String {
    format!(
        "Update {name} through its stack {stack}? Berth runs the stack's pull, then up -d, for \
         {name}'s service (Compose also starts what it depends on): Compose pulls the new image \
         and makes {name} again from the stack's file, removing the old container. If the new \
         one does not come up (healthy, with a health check), the old image takes the tag \
         back and the stack makes {name} again from it. Volumes are never removed."
    )
}

/// What is known beyond the state: the newer digest, when it was made and first seen; a
/// failure's words and when it is tried again; when it was checked.
pub(super) fn details(u: &ImageUpdate, now: i64) -> impl IntoView + use<> {
    let mut lines = Vec::new();
    if u.state == UpdateState::Available {
        if let Some(digest) = &u.available {
            lines.push(format!("newer image {}", short(digest)));
        }
        if let Some(created) = u.created {
            lines.push(format!(
                "made {} ({} old)",
                format::unix_time(created),
                age(now - created * 1000)
            ));
        }
        if let Some(first) = u.first_seen {
            lines.push(format!("first seen {} ago", age(now - first)));
        }
        if let Some(at) = u.auto_at {
            lines.push(match at > now {
                true => format!("updated automatically in {}", age(at - now)),
                false => "updated automatically now".to_string(),
            });
        }
    }
    if let Some(error) = &u.error {
        lines.push(error.clone());
    }
    if let Some(next) = u.next_try {
        lines.push(format!("tried again in {}", age(next - now)));
    }
    if let Some(checked) = u.checked {
        lines.push(format!("checked {} ago", age(now - checked)));
    }
    lines
        .into_iter()
        .map(|line| view! { <div class="muted">{line}</div> })
        .collect_view()
}
