//! `/containers` (and `/engines/{engine}/containers`): every container of one engine, with a
//! filter box that works once the page is hydrated, kept current by the engine's list stream
//! (no polling: a container stopped from the command line changes here within a second).
//! The all-engines list uses the same table with an engine column and an engine filter.

use crate::layout::{engine_epoch, page_engine};
use crate::live_containers::use_live_containers;
use crate::sort::{Column, Sort, header, use_sort};
use crate::{
    Hydrated, api, format,
    model::{ContainerSummary, Port},
    status::ErrorPanel,
    urls::On,
};
use leptos::prelude::*;
use leptos_meta::Title;
use std::sync::Arc;

#[component]
pub fn ContainerList() -> impl IntoView {
    let on = page_engine();
    let containers = Resource::new(
        move || (engine_epoch(), on.get()),
        |(_, on)| api::read(on, crate::model::ListContainers {}),
    );
    // The bulk bar and the selection live outside the table, so an action's answer stays
    // on screen while the list reloads.
    let selected = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let live = use_live_containers(move || on.get());
    let updates = super::image_updates::use_updates(move || on.get());
    let only_updates = RwSignal::new(false);
    // The list changes by itself (the events say what an action did); a container that
    // went away leaves the selection too.
    let reload = Callback::new(|()| {});
    Effect::new(move |_| {
        if let Some(list) = live.containers() {
            let ids: std::collections::BTreeSet<String> = list.into_iter().map(|c| c.id).collect();
            selected.update(|s| s.retain(|id| ids.contains(id)));
        }
    });
    view! {
        <Title text="Containers" />
        <h1>"Containers"</h1>
        <super::container_actions::ForOperators>
            <super::container_actions::BulkBar
                on=on.get_untracked()
                selected
                after=reload
            />
        </super::container_actions::ForOperators>
        <super::image_updates::UpdatesBar on=on.get_untracked() found=updates only=only_updates />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match containers.await {
                    Ok(initial) => {
                        let list = Signal::derive(move || {
                            let on = on.get();
                            live.or(&initial).into_iter().map(|c| Listed::on(&on, c)).collect()
                        });
                        view! {
                            <Table
                                list
                                engines=Vec::new()
                                actions=(selected, reload)
                                updates=(updates, only_updates)
                            />
                            <p class="muted live-note">
                                <span class=move || live.status.get().class() data-testid="list-status">
                                    {move || live.status.get().label()}
                                </span>
                            </p>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A row of the table: the container, the engine its link goes to, and the engine's name
/// when the table lists several engines.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub on: On,
    pub engine: Option<String>,
    pub container: ContainerSummary,
}

impl Listed {
    /// A container of the one engine the page is about.
    pub fn on(on: &On, container: ContainerSummary) -> Self {
        Self {
            on: on.clone(),
            engine: None,
            container,
        }
    }

    /// A container on the all-engines list.
    pub fn of_engine(engine: String, container: ContainerSummary) -> Self {
        Self {
            on: On::named(engine.clone()),
            engine: Some(engine),
            container,
        }
    }
}

/// What the filter matches: words against engine, name, image, state, project and service; the id
/// only by prefix (a word would otherwise match somewhere in 64 hex digits).
struct Haystack {
    text: String,
    id: String,
    /// Its engine, on the all-engines list (else empty).
    engine: String,
}

impl Haystack {
    fn new(c: &ContainerSummary, engine: Option<&str>) -> Self {
        let text = [
            engine.unwrap_or(""),
            c.name.as_str(),
            &c.image,
            &c.state,
            c.project.as_deref().unwrap_or(""),
            c.service.as_deref().unwrap_or(""),
        ]
        .join(" ")
        .to_lowercase();
        Self {
            text,
            id: c.id.clone(),
            engine: engine.unwrap_or_default().to_string(),
        }
    }

    /// Every whitespace-separated word of the query must match.
    fn matches(&self, query: &str) -> bool {
        query
            .to_lowercase()
            .split_whitespace()
            .all(|word| self.text.contains(word) || self.id.starts_with(word))
    }
}

/// A column the container list sorts by; without one, the engine's order (newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Engine,
    Name,
    Image,
    State,
    Status,
    Created,
    Ports,
    Project,
}

impl Column for By {
    type Row = Listed;
    const ALL: &'static [Self] = &[
        By::Engine,
        By::Name,
        By::Image,
        By::State,
        By::Status,
        By::Created,
        By::Ports,
        By::Project,
    ];

    fn key(self) -> &'static str {
        match self {
            By::Engine => "engine",
            By::Name => "name",
            By::Image => "image",
            By::State => "state",
            By::Status => "status",
            By::Created => "created",
            By::Ports => "ports",
            By::Project => "project",
        }
    }

    fn compare(self, a: &Listed, b: &Listed) -> std::cmp::Ordering {
        let (x, y) = (&a.container, &b.container);
        match self {
            By::Engine => a.engine.cmp(&b.engine),
            By::Name => x.name.cmp(&y.name),
            By::Image => x.image.cmp(&y.image),
            By::State => x.state.cmp(&y.state),
            // Docker's words ("Up 5 minutes", "Exited (0) 2 hours ago") within each state.
            By::Status => (&x.state, &x.status).cmp(&(&y.state, &y.status)),
            By::Created => x.created.cmp(&y.created),
            // By the first published port, then the first port at all; none last.
            By::Ports => ports_order(x).cmp(&ports_order(y)),
            By::Project => x.project.cmp(&y.project),
        }
    }

    fn tie(a: &Listed, b: &Listed) -> std::cmp::Ordering {
        a.container.name.cmp(&b.container.name)
    }
}

/// A container's place when sorted by ports: published before not, then by number.
fn ports_order(c: &ContainerSummary) -> (bool, Option<u16>, Option<u16>) {
    let published = c.ports.iter().filter_map(|p| p.public_port).min();
    let private = c.ports.iter().map(|p| p.private_port).min();
    (c.ports.is_empty(), published.or(private), private)
}

/// What identifies a row as drawn: a container whose state or status changed is drawn
/// again, the others are kept as they are.
fn row_key(listed: &Listed) -> (Option<String>, String, String, String, String) {
    let c = &listed.container;
    (
        listed.engine.clone(),
        c.id.clone(),
        c.name.clone(),
        c.state.clone(),
        c.status.clone(),
    )
}

#[component]
pub fn Table(
    /// The rows, as they change.
    #[prop(into)]
    list: Signal<Vec<Listed>>,
    /// The engines to filter by (an engine column and a select); empty for one engine.
    engines: Vec<String>,
    /// One engine's list: the bulk bar's selection (checkboxes and row buttons, for
    /// operators), and how to reload after an action.
    #[prop(optional)]
    actions: Option<(RwSignal<std::collections::BTreeSet<String>>, Callback<()>)>,
    /// One engine's list: what the image update checks found (a badge per row), and
    /// whether only the rows with an update are shown.
    #[prop(optional)]
    updates: Option<(RwSignal<Option<crate::model::Updates>>, RwSignal<bool>)>,
) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let selected = actions.map_or_else(|| RwSignal::new(Default::default()), |(s, _)| s);
    let reload = actions.map(|(_, reload)| reload);
    let (query, set_query) = signal(String::new());
    let (engine, set_engine) = signal(String::new());
    let only_updates = updates.map(|(_, only)| only);
    let found = updates.map(|(found, _)| super::image_updates::by_container(found));
    let has_update = move |id: &str| {
        found.is_some_and(|f| {
            f.with(|f| {
                f.get(id)
                    .is_some_and(|u| u.state == crate::model::UpdateState::Available)
            })
        })
    };
    let shown_by = move |h: &Haystack| {
        query.with(|q| h.matches(q))
            && engine.with(|e| e.is_empty() || h.engine == *e)
            && (!only_updates.is_some_and(|o| o.get()) || has_update(&h.id))
    };
    let total = move || list.with(Vec::len);
    let shown = move || {
        list.with(|list| {
            list.iter()
                .filter(|l| shown_by(&Haystack::new(&l.container, l.engine.as_deref())))
                .count()
        })
    };
    let several = !engines.is_empty();
    let (sort, path) = use_sort::<By>();
    // Rows are hidden by the filter, not rebuilt: filtering never touches the server and
    // never re-creates DOM; a change from the stream redraws only its row, a new order
    // moves rows.
    let rows = view! {
        <For
            each=move || {
                let mut list = list.get();
                Sort::apply(sort.get(), &mut list);
                list
            }
            key=row_key
            let:listed
        >
            {
                let haystack = Arc::new(Haystack::new(&listed.container, listed.engine.as_deref()));
                row(listed, move || !shown_by(&haystack), reload, selected, found)
            }
        </For>
    };
    let engine_filter = several.then(|| {
        let options = engines
            .into_iter()
            .map(|name| view! { <option value=name.clone()>{name.clone()}</option> })
            .collect_view();
        view! {
            <select
                class="engine-filter"
                aria-label="Engine"
                disabled=move || !hydrated.get()
                on:change=move |ev| set_engine.set(event_target_value(&ev))
            >
                <option value="">"All engines"</option>
                {options}
            </select>
        }
    });

    view! {
        <div class="toolbar">
            <input
                type="search"
                class="filter"
                placeholder="Filter by name, image, state, project…"
                aria-label="Filter containers"
                disabled=move || !hydrated.get()
                prop:value=query
                on:input=move |ev| set_query.set(event_target_value(&ev))
            />
            {engine_filter}
            <span class="muted" data-testid="shown-count">
                {move || format!("{} of {}", shown(), total())}
            </span>
        </div>

        <table class="containers">
            <thead>
                <tr>
                    {reload.map(|_| view! { <th class="select"></th> })}
                    {several.then(|| header("Engine", By::Engine, sort, path))}
                    {header("Name", By::Name, sort, path)}
                    {header("Image", By::Image, sort, path)}
                    {header("State", By::State, sort, path)}
                    {header("Status", By::Status, sort, path)}
                    {header("Created", By::Created, sort, path)}
                    {header("Ports", By::Ports, sort, path)}
                    {header("Project", By::Project, sort, path)}
                    {reload.map(|_| view! { <th></th> })}
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {move || {
            let empty = match (total(), shown()) {
                (0, _) => "No containers here. Start one with docker run or docker compose up: it shows up here at once.",
                (_, 0) if only_updates.is_some_and(|o| o.get()) => "No container has an image update: uncheck \"Updates available only\" to see them all.",
                (_, 0) => "No container matches the filter: clear it to see them all.",
                _ => return None,
            };
            Some(view! { <p class="muted empty" data-testid="empty">{empty}</p> })
        }}
    }
}

fn row(
    listed: Listed,
    hidden: impl Fn() -> bool + Send + Sync + 'static,
    reload: Option<Callback<()>>,
    selected: RwSignal<std::collections::BTreeSet<String>>,
    updates: Option<Memo<std::collections::BTreeMap<String, crate::model::ImageUpdate>>>,
) -> impl IntoView {
    use super::container_actions::{ContainerActions, ForOperators};
    let Listed {
        on,
        engine,
        container: c,
    } = listed;
    let href = crate::urls::container(&on, &c.id);
    let ports = c
        .ports
        .iter()
        .map(Port::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let project = c.project.clone().unwrap_or_default();
    let service = c
        .service
        .clone()
        .map(|s| format!(" / {s}"))
        .unwrap_or_default();
    let state_class = format!("state state-{}", c.state);
    let engine_cell = engine.clone().map(|name| {
        let href = crate::urls::engine(&name);
        view! {
            <td>
                <a href=href>{name}</a>
            </td>
        }
    });
    // One engine's list: a checkbox for the bulk bar, and the row's main action.
    let select = reload.map(|_| {
        let id = c.id.clone();
        let label = format!("Select {}", c.name);
        view! {
            <td class="select">
                <ForOperators>
                    <input
                        type="checkbox"
                        aria-label=label.clone()
                        prop:checked={
                            let id = id.clone();
                            move || selected.with(|s| s.contains(&id))
                        }
                        on:change={
                            let id = id.clone();
                            move |ev| {
                                let on = event_target_checked(&ev);
                                selected.update(|s| {
                                    match on {
                                        true => s.insert(id.clone()),
                                        false => s.remove(&id),
                                    };
                                });
                            }
                        }
                    />
                </ForOperators>
            </td>
        }
    });
    let actions = reload.map(|reload| {
        let (on, id, name, state) = (on.clone(), c.id.clone(), c.name.clone(), c.state.clone());
        view! {
            <td>
                <ForOperators>
                    <ContainerActions
                        on=on.clone()
                        id=id.clone()
                        name=name.clone()
                        state=state.clone()
                        after=Callback::new(move |_| reload.run(()))
                        compact=true
                    />
                </ForOperators>
            </td>
        }
    });
    view! {
        <tr class="container-row" data-name=c.name.clone() data-engine=engine hidden=hidden>
            {select}
            {engine_cell}
            <td>
                <a href=href>{c.name.clone()}</a>
                <div class="muted mono">{c.short_id().to_string()}</div>
            </td>
            <td class="mono">
                {c.image}
                {
                    let id = c.id.clone();
                    move || {
                        updates
                            .and_then(|u| u.with(|u| super::image_updates::badge(u.get(&id))))
                    }
                }
            </td>
            <td>
                <span class=state_class>{c.state}</span>
            </td>
            <td>{c.status}</td>
            <td>{format::unix_time(c.created)}</td>
            <td class="mono">{ports}</td>
            <td>{project} <span class="muted">{service}</span></td>
            {actions}
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_sorts_by_a_column_either_way_with_ties_by_name() {
        let listed = |name: &str, state: &str, created: i64| {
            Listed::on(
                &crate::urls::On::default_engine(),
                ContainerSummary {
                    name: name.into(),
                    state: state.into(),
                    created,
                    ..Default::default()
                },
            )
        };
        let list = [
            listed("b", "running", 2),
            listed("a", "running", 3),
            listed("c", "exited", 1),
        ];
        let names = |sort, order: Option<&str>| {
            let mut sorted: Vec<Listed> = list
                .iter()
                .map(|l| Listed::on(&l.on, l.container.clone()))
                .collect();
            Sort::<By>::apply(Sort::of_query(Some(sort), order), &mut sorted);
            sorted
                .into_iter()
                .map(|l| l.container.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("name", None), ["a", "b", "c"]);
        assert_eq!(names("name", Some("desc")), ["c", "b", "a"]);
        assert_eq!(names("state", None), ["c", "a", "b"]);
        assert_eq!(names("created", Some("desc")), ["a", "b", "c"]);
        assert_eq!(
            names("bogus", None),
            ["b", "a", "c"],
            "an unknown column keeps the order"
        );
    }

    #[test]
    fn filter_words_all_match_case_insensitively_ids_by_prefix() {
        let c = ContainerSummary {
            id: "abc123db".into(),
            name: "web-1".into(),
            image: "nginx:latest".into(),
            state: "running".into(),
            status: "Up".into(),
            created: 0,
            ports: vec![],
            project: Some("shop".into()),
            service: Some("web".into()),
        };
        let hay = Haystack::new(&c, Some("prod"));
        assert!(hay.matches("prod web"));
        assert!(hay.matches(""));
        assert!(hay.matches("WEB"));
        assert!(hay.matches("shop running"));
        assert!(!hay.matches("shop exited"));
        assert!(hay.matches("abc1"));
        assert!(!hay.matches("db"), "ids match by prefix only");
    }
}
