//! The search box (Ctrl-K, or the header's Search button): engines, containers, projects,
//! images and volumes of every engine that answers, matched fuzzily and ranked, chosen with
//! the arrows and Enter. What it searches is fetched when it opens and dropped when it
//! closes (its requests are aborted if it closes first), so a closed box costs nothing.

use crate::resources::Objects;
use crate::urls::{self, On};
use crate::{api, fuzzy, model};
use leptos::prelude::*;

/// Results shown at once.
const SHOWN: usize = 12;

/// One thing the box can find.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `container`, `project`, `image`, `volume` or `engine`.
    pub kind: &'static str,
    pub name: String,
    /// What tells two of the same name apart: the engine, the state.
    pub detail: String,
    pub href: String,
}

/// Everything searchable, from the engines that answer. Each engine's images and volumes
/// are asked at once, beside every engine's containers.
async fn index() -> Vec<Entry> {
    let engines = api::read_berth(crate::model::ListEngines {})
        .await
        .unwrap_or_default();
    let several = engines.len() > 1;
    // The default engine's pages keep their short paths.
    let on = |e: &model::EngineInfo| match e.default {
        true => crate::urls::On::default_engine(),
        false => On::named(e.name.clone()),
    };
    let up: Vec<(String, On)> = engines
        .iter()
        .filter(|e| e.health.reachable)
        .map(|e| (e.name.clone(), on(e)))
        .collect();
    let objects = futures::future::join_all(up.iter().map(|(name, on)| async move {
        let (images, volumes) = futures::join!(
            api::read(on.clone(), crate::resources::ListImages {}),
            api::read(on.clone(), crate::resources::ListVolumes {})
        );
        (
            name,
            on,
            images.unwrap_or_default(),
            volumes.unwrap_or_default(),
        )
    }));
    let (containers, objects) =
        futures::join!(api::read_berth(crate::model::ListAllContainers {}), objects);
    let place = |engine: &str, what: String| match several {
        true => format!("{engine} · {what}"),
        false => what,
    };
    let on_of = |engine: &str| {
        up.iter()
            .find(|(name, _)| name == engine)
            .map_or_else(|| On::named(engine), |(_, on)| on.clone())
    };

    let mut entries: Vec<Entry> = engines
        .iter()
        .map(|e| Entry {
            kind: "engine",
            name: e.name.clone(),
            detail: match e.health.reachable {
                true => e.health.endpoint.clone(),
                false => format!("{} · unreachable", e.health.endpoint),
            },
            href: urls::engine(&e.name),
        })
        .collect();
    let containers = containers.map(|all| all.containers).unwrap_or_default();
    let mut by_engine: std::collections::BTreeMap<String, Vec<model::ContainerSummary>> =
        Default::default();
    for listed in containers {
        let on = on_of(&listed.engine);
        let c = &listed.container;
        entries.push(Entry {
            kind: "container",
            name: c.name.clone(),
            detail: place(&listed.engine, format!("{} · {}", c.state, c.image)),
            href: urls::container(&on, &c.id),
        });
        by_engine
            .entry(listed.engine)
            .or_default()
            .push(listed.container);
    }
    for (engine, list) in by_engine {
        let on = on_of(&engine);
        for project in model::group_projects(list) {
            entries.push(Entry {
                kind: "project",
                detail: place(&engine, format!("{} containers", project.containers.len())),
                href: urls::project(&on, &project.name),
                name: project.name,
            });
        }
    }
    for (engine, on, images, volumes) in objects {
        for image in images.iter().filter(|i| !i.dangling) {
            for tag in &image.tags {
                entries.push(Entry {
                    kind: "image",
                    name: tag.clone(),
                    detail: place(engine, image.short_id().to_string()),
                    href: urls::object(on, Objects::Images, &image.id),
                });
            }
        }
        for volume in volumes {
            entries.push(Entry {
                kind: "volume",
                detail: place(engine, volume.driver),
                href: urls::objects(on, Objects::Volumes),
                name: volume.name,
            });
        }
    }
    entries
}

/// The header's Search button and, while open, the search box. Ctrl-K (⌘K) opens it
/// from anywhere, a field included, but the terminal; Escape or a click outside closes it.
#[component]
pub fn Search() -> impl IntoView {
    let open = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let handle = window_event_listener(leptos::ev::keydown, move |event| {
            // In the terminal, Ctrl-K is the shell's (it cuts to the end of the line).
            let in_terminal = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.closest(".xterm").ok().flatten())
                .is_some();
            if !in_terminal
                && (event.ctrl_key() || event.meta_key())
                && event.key().eq_ignore_ascii_case("k")
            {
                event.prevent_default();
                open.update(|o| *o = !*o);
            }
        });
        on_cleanup(move || handle.remove());
    }
    let hydrated = expect_context::<crate::Hydrated>().0;
    view! {
        <button
            type="button"
            class="search-button"
            data-testid="search-button"
            aria-keyshortcuts="Control+K"
            aria-label="Search"
            title="Search (Ctrl K)"
            disabled=move || !hydrated.get()
            on:click=move |_| open.set(true)
        >
            <svg viewBox="0 0 16 16" aria-hidden="true">
                <circle cx="6.5" cy="6.5" r="4.75" fill="none" stroke="currentColor" stroke-width="1.75" />
                <line x1="10" y1="10" x2="14.5" y2="14.5" stroke="currentColor" stroke-width="1.75" stroke-linecap="round" />
            </svg>
        </button>
        <Show when=move || open.get()>
            <SearchBox close=Callback::new(move |()| open.set(false)) />
        </Show>
    }
}

#[component]
fn SearchBox(close: Callback<()>) -> impl IntoView {
    let entries = LocalResource::new(index);
    let query = RwSignal::new(String::new());
    let chosen = RwSignal::new(0usize);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let found = Memo::new(move |_| {
        let list = entries.get().unwrap_or_default();
        query.with(|q| {
            fuzzy::rank(q, list.iter().map(|e| e.name.as_str()))
                .into_iter()
                .take(SHOWN)
                .map(|i| list[i].clone())
                .collect::<Vec<_>>()
        })
    });
    let navigate = leptos_router::hooks::use_navigate();
    let go = move |href: String| {
        close.run(());
        navigate(&href, Default::default());
    };
    let go_key = go.clone();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = found.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" if count > 0 => chosen.update(|c| *c = (*c + 1) % count),
            "ArrowUp" if count > 0 => chosen.update(|c| *c = (*c + count - 1) % count),
            "Enter" => {
                if let Some(entry) = found.with(|f| f.get(chosen.get_untracked()).cloned()) {
                    go_key(entry.href);
                }
            }
            "Escape" => close.run(()),
            _ => return,
        }
        ev.prevent_default();
    };
    let status = move || match (entries.get(), query.with(|q| q.trim().is_empty())) {
        (None, _) => "Loading what there is to find…".to_string(),
        (Some(_), true) => {
            "Type part of a name: containers, projects, images, volumes, engines.".to_string()
        }
        (Some(_), false) => match found.with(Vec::len) {
            0 => "Nothing matches.".to_string(),
            1 => "1 match: Enter opens it.".to_string(),
            n => format!("{n} best matches: ↑ ↓ to choose, Enter to open."),
        },
    };
    let rows = move || {
        found
            .get()
            .into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let selected = move || chosen.get() == i;
                let go = go.clone();
                let href = entry.href.clone();
                view! {
                    <li
                        role="option"
                        id=format!("search-{i}")
                        aria-selected=move || selected().to_string()
                        class:chosen=selected
                        on:mousemove=move |_| chosen.set(i)
                    >
                        <a
                            href=entry.href
                            on:click=move |ev| {
                                ev.prevent_default();
                                go(href.clone());
                            }
                        >
                            <span class="search-kind">{entry.kind}</span>
                            <span class="search-name">{entry.name}</span>
                            <span class="search-detail">{entry.detail}</span>
                        </a>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <div class="search-backdrop" on:click=move |_| close.run(())>
            <div
                class="search-box"
                role="dialog"
                aria-modal="true"
                aria-label="Search"
                on:click=|ev| ev.stop_propagation()
            >
                <input
                    type="text"
                    node_ref=input
                    role="combobox"
                    aria-label="Search everything"
                    aria-expanded=move || (!found.with(Vec::is_empty)).to_string()
                    aria-controls="search-results"
                    aria-activedescendant=move || format!("search-{}", chosen.get())
                    aria-autocomplete="list"
                    placeholder="Search containers, projects, images, volumes, engines"
                    autocomplete="off"
                    spellcheck="false"
                    prop:value=query
                    on:input=move |ev| {
                        query.set(event_target_value(&ev));
                        chosen.set(0);
                    }
                    on:keydown=on_key
                />
                <p class="search-status muted" aria-live="polite">{status}</p>
                <ul id="search-results" role="listbox" aria-label="Results">{rows}</ul>
            </div>
        </div>
    }
}
