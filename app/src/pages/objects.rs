//! `/images`, `/images/{id}`, `/volumes` and `/networks` (and each under
//! `/engines/{engine}`): what an engine keeps beside its containers. Operators and admins
//! remove and prune (asked first), and create volumes; Docker's error shows where they
//! clicked, and the list reloads after a change.

use super::container_actions::ForOperators;
use crate::controls::{AskFirst, Feedback, Reload};
use crate::layout::{engine_epoch, page_engine};
use crate::model::ApiError;
use crate::resources::{
    ImageDetail, ImageSummary, NetworkSummary, NewVolume, Objects, Pruned, UsedBy, VolumeSummary,
};
use crate::sort::{Column, Sort, header, use_sort};
use crate::urls::On;
use crate::{Hydrated, api, format, status::ErrorPanel, urls};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Serialize, de::DeserializeOwned};
use std::cmp::Ordering;
use std::future::Future;

/// How a prune went, in words.
fn pruned_text(kind: Objects, pruned: &Pruned) -> String {
    let n = pruned.removed.len();
    let what = match n {
        1 => kind.one().to_string(),
        _ => kind.segment().to_string(),
    };
    match kind {
        Objects::Networks => format!("removed {n} {what}"),
        _ => format!(
            "removed {n} {what}, {} given back",
            format::bytes(pruned.reclaimed as i64)
        ),
    }
}

/// The prune button of a kind, asked first; `after` reloads.
#[component]
pub fn PruneButton(kind: Objects, question: &'static str, after: Callback<()>) -> impl IntoView {
    let on = page_engine();
    let feedback = Feedback::new();
    let label = match kind {
        Objects::Images => "Prune dangling",
        _ => "Prune unused",
    };
    let on_yes = Callback::new(move |()| {
        feedback.run(
            prune(on.get_untracked(), kind),
            move |pruned| pruned_text(kind, &pruned),
            move || after.run(()),
        )
    });
    view! {
        <ForOperators>
            <span class="prune" data-testid=format!("prune-{}", kind.segment())>
                <AskFirst label question=question.to_string() yes="Prune" on_yes />
                {feedback.view()}
            </span>
        </ForOperators>
    }
}

/// Removes the unused of a kind (the dangling images): what went and the bytes given back.
async fn prune(on: On, kind: Objects) -> Result<Pruned, ApiError> {
    use crate::resources::{PruneImages, PruneNetworks, PruneVolumes};
    match kind {
        Objects::Images => api::call(on, PruneImages {}, (), ()).await,
        Objects::Volumes => api::call(on, PruneVolumes {}, (), ()).await,
        Objects::Networks => api::call(on, PruneNetworks {}, (), ()).await,
    }
}

/// Removes an image (`force`: also one a stopped container uses), a volume or a network.
async fn remove(on: On, kind: Objects, reference: String, force: bool) -> Result<(), ApiError> {
    use crate::resources::{RemoveImage, RemoveNetwork, RemoveOptions, RemoveVolume};
    match kind {
        Objects::Images => {
            let options = RemoveOptions {
                force: force.then_some(true),
            };
            api::call(on, RemoveImage { reference }, options, ()).await
        }
        Objects::Volumes => api::call(on, RemoveVolume { id: reference }, (), ()).await,
        Objects::Networks => api::call(on, RemoveNetwork { id: reference }, (), ()).await,
    }
}

/// A row's remove button, asked first (with `force` for images).
fn remove_button(
    kind: Objects,
    reference: String,
    name: String,
    force: bool,
    after: Callback<()>,
) -> impl IntoView {
    let on = page_engine();
    let feedback = Feedback::new();
    let question = format!("Remove {}?", name_of(kind, &name));
    let on_yes = Callback::new(move |()| {
        let (reference, name) = (reference.clone(), name.clone());
        // Only a removal changes the list (or leaves the page): a refusal stays on screen
        // where it was clicked, not redrawn away by a reload.
        let removed = std::rc::Rc::new(std::cell::Cell::new(false));
        let seen = removed.clone();
        let work = remove(on.get_untracked(), kind, reference, force);
        feedback.run(
            async move {
                let result = work.await;
                seen.set(result.is_ok());
                result
            },
            move |()| format!("removed {name}"),
            move || {
                if removed.get() {
                    after.run(())
                }
            },
        )
    });
    view! {
        <ForOperators>
            <span class="remove">
                <AskFirst label="Remove" question=question.clone() yes="Remove" on_yes />
                {feedback.view()}
            </span>
        </ForOperators>
    }
}

fn name_of(kind: Objects, name: &str) -> String {
    format!("{} {name}", kind.one())
}

/// The containers a row names, linked.
fn used_by(list: Vec<UsedBy>) -> impl IntoView {
    let on = page_engine().get_untracked();
    list.into_iter()
        .map(|c| {
            let href = urls::container(&on, &c.id);
            let class = format!("state state-{}", c.state);
            view! {
                <a href=href>{c.name}</a>
                " "
                <span class=class>{c.state}</span>
                " "
            }
        })
        .collect_view()
}

/// A filter box that works once hydrated, for the object lists.
fn filter_box(placeholder: &'static str, query: RwSignal<String>) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    view! {
        <input
            type="search"
            class="filter"
            placeholder=placeholder
            aria-label=placeholder
            disabled=move || !hydrated.get()
            prop:value=query
            on:input=move |ev| query.set(event_target_value(&ev))
        />
    }
}

/// The row a filtered list shows when the filter leaves nothing.
fn no_match() -> impl IntoView {
    view! {
        <tr>
            <td colspan="7" class="muted empty">"Nothing matches the filter: clear it to see them all."</td>
        </tr>
    }
}

fn matches(query: &str, text: &str) -> bool {
    let text = text.to_lowercase();
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| text.contains(word))
}

/// What an object list page declares, implemented by its columns: the rest of the page
/// (title, filter box, prune button, sorting, the empty and no-match states) is
/// [`object_list`]'s, the same for every kind.
trait ObjectList: Column<Row: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> {
    /// The kind listed: the page's title, the prune and the table's class come from it.
    const KIND: Objects;
    /// The filter box's placeholder, which also labels it.
    const FILTER: &'static str;
    /// What the prune button asks first.
    const PRUNE: &'static str;
    /// What an engine with none of them shows instead of the table. Without it, the table
    /// shows with its no-match row.
    const EMPTY: Option<&'static str>;

    /// The list, from the engine `on`.
    fn load(on: On) -> impl Future<Output = Result<Vec<Self::Row>, ApiError>> + Send + 'static;
    /// The text a row is filtered by: every word of the filter must occur in it.
    fn text(row: &Self::Row) -> String;
    /// A form between the toolbar and the list, if the kind has one.
    fn form(_after: Callback<()>) -> Option<AnyView> {
        None
    }
    /// The sortable headers, in the order of the row's cells. A tuple per kind, not a loop
    /// over [`Column::ALL`]: a collected list renders a placeholder comment after its items.
    fn headers(sort: Memo<Option<Sort<Self>>>, path: Memo<String>) -> AnyView;
    /// A row, with its remove button; `after` reloads the list.
    fn row(row: Self::Row, after: Callback<()>) -> AnyView;
}

/// An object list page: its title, a toolbar (filter box, prune), the kind's form, and the
/// list, filtered by the box and sorted as the URL says, reloaded after every change.
fn object_list<C: ObjectList>() -> impl IntoView {
    let kind = C::KIND;
    let on = page_engine();
    let reload = Reload::new();
    let objects = Resource::new(
        move || (engine_epoch(), on.get(), reload.count()),
        |(_, on, _)| C::load(on),
    );
    let after = Callback::new(move |()| reload.now());
    let query = RwSignal::new(String::new());
    let (sort, path) = use_sort::<C>();
    let top = view! {
        <Title text=kind.title() />
        <h1>{kind.title()}</h1>
        <div class="toolbar">
            {filter_box(C::FILTER, query)}
            <PruneButton kind question=C::PRUNE after />
        </div>
    };
    let form = C::form(after);
    let list = view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match (objects.await, C::EMPTY) {
                    (Ok(list), Some(empty)) if list.is_empty() => {
                        view! { <p class="muted empty">{empty}</p> }.into_any()
                    }
                    (Ok(list), _) => {
                        let rows = move || {
                            let mut shown: Vec<C::Row> = list
                                .iter()
                                .filter(|row| query.with(|q| matches(q, &C::text(row))))
                                .cloned()
                                .collect();
                            Sort::apply(sort.get(), &mut shown);
                            match shown.is_empty() {
                                true => no_match().into_any(),
                                false => shown.into_iter().map(|row| C::row(row, after)).collect_view().into_any(),
                            }
                        };
                        view! {
                            <table class=format!("containers {}", kind.segment())>
                                <thead>
                                    <tr>
                                        {C::headers(sort, path)}
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    (Err(error), _) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    };
    // Without a form, no slot for one: an empty slot would render a placeholder comment.
    match form {
        Some(form) => view! { {top} {form} {list} }.into_any(),
        None => view! { {top} {list} }.into_any(),
    }
}

/// The columns the image list sorts by; without one, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ImageBy {
    Name,
    Id,
    Size,
    Created,
    Containers,
}

/// An image's name: its first tag, or its short id when dangling.
fn image_name(image: &ImageSummary) -> String {
    image
        .tags
        .first()
        .cloned()
        .unwrap_or_else(|| image.short_id().to_string())
}

impl Column for ImageBy {
    type Row = ImageSummary;
    const ALL: &'static [Self] = &[
        ImageBy::Name,
        ImageBy::Id,
        ImageBy::Size,
        ImageBy::Created,
        ImageBy::Containers,
    ];

    fn key(self) -> &'static str {
        match self {
            ImageBy::Name => "name",
            ImageBy::Id => "id",
            ImageBy::Size => "size",
            ImageBy::Created => "created",
            ImageBy::Containers => "containers",
        }
    }

    fn compare(self, a: &ImageSummary, b: &ImageSummary) -> Ordering {
        match self {
            // Dangling images (no tag) after the named ones.
            ImageBy::Name => {
                (a.tags.is_empty(), a.tags.first()).cmp(&(b.tags.is_empty(), b.tags.first()))
            }
            ImageBy::Id => a.id.cmp(&b.id),
            ImageBy::Size => a.size.cmp(&b.size),
            ImageBy::Created => a.created.cmp(&b.created),
            ImageBy::Containers => a.containers.cmp(&b.containers),
        }
    }

    fn tie(a: &ImageSummary, b: &ImageSummary) -> Ordering {
        image_name(a).cmp(&image_name(b))
    }
}

/// The columns the volume list sorts by; without one, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VolumeBy {
    Name,
    Driver,
    Size,
    References,
    UsedBy,
    Mountpoint,
}

impl Column for VolumeBy {
    type Row = VolumeSummary;
    const ALL: &'static [Self] = &[
        VolumeBy::Name,
        VolumeBy::Driver,
        VolumeBy::Size,
        VolumeBy::References,
        VolumeBy::UsedBy,
        VolumeBy::Mountpoint,
    ];

    fn key(self) -> &'static str {
        match self {
            VolumeBy::Name => "name",
            VolumeBy::Driver => "driver",
            VolumeBy::Size => "size",
            VolumeBy::References => "references",
            VolumeBy::UsedBy => "used-by",
            VolumeBy::Mountpoint => "mountpoint",
        }
    }

    fn compare(self, a: &VolumeSummary, b: &VolumeSummary) -> Ordering {
        match self {
            VolumeBy::Name => a.name.cmp(&b.name),
            VolumeBy::Driver => a.driver.cmp(&b.driver),
            VolumeBy::Size => a.size.cmp(&b.size),
            VolumeBy::References => a.ref_count.cmp(&b.ref_count),
            VolumeBy::UsedBy => a.used_by.len().cmp(&b.used_by.len()),
            VolumeBy::Mountpoint => a.mountpoint.cmp(&b.mountpoint),
        }
    }

    fn tie(a: &VolumeSummary, b: &VolumeSummary) -> Ordering {
        a.name.cmp(&b.name)
    }
}

/// The columns the network list sorts by; without one, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NetworkBy {
    Name,
    Driver,
    Scope,
    Subnets,
    Containers,
}

impl Column for NetworkBy {
    type Row = NetworkSummary;
    const ALL: &'static [Self] = &[
        NetworkBy::Name,
        NetworkBy::Driver,
        NetworkBy::Scope,
        NetworkBy::Subnets,
        NetworkBy::Containers,
    ];

    fn key(self) -> &'static str {
        match self {
            NetworkBy::Name => "name",
            NetworkBy::Driver => "driver",
            NetworkBy::Scope => "scope",
            NetworkBy::Subnets => "subnets",
            NetworkBy::Containers => "containers",
        }
    }

    fn compare(self, a: &NetworkSummary, b: &NetworkSummary) -> Ordering {
        match self {
            NetworkBy::Name => a.name.cmp(&b.name),
            NetworkBy::Driver => a.driver.cmp(&b.driver),
            NetworkBy::Scope => a.scope.cmp(&b.scope),
            // None last.
            NetworkBy::Subnets => {
                (a.subnets.is_empty(), &a.subnets).cmp(&(b.subnets.is_empty(), &b.subnets))
            }
            NetworkBy::Containers => a.containers.len().cmp(&b.containers.len()),
        }
    }

    fn tie(a: &NetworkSummary, b: &NetworkSummary) -> Ordering {
        a.name.cmp(&b.name)
    }
}

impl ObjectList for ImageBy {
    const KIND: Objects = Objects::Images;
    const FILTER: &'static str = "Filter by tag or id";
    const PRUNE: &'static str = "Remove every dangling image (no tag, no container)?";
    const EMPTY: Option<&'static str> = Some(
        "No images on this engine. Pull one above (name:tag), or build one with docker build.",
    );

    fn load(on: On) -> impl Future<Output = Result<Vec<ImageSummary>, ApiError>> + Send + 'static {
        api::read(on, crate::resources::ListImages {})
    }

    fn text(image: &ImageSummary) -> String {
        format!("{} {}", image.tags.join(" "), image.id)
    }

    fn form(after: Callback<()>) -> Option<AnyView> {
        Some(view! { <super::image_pull::PullForm after /> }.into_any())
    }

    fn headers(sort: Memo<Option<Sort<Self>>>, path: Memo<String>) -> AnyView {
        view! {
            {header("Tags", ImageBy::Name, sort, path)}
            {header("Id", ImageBy::Id, sort, path)}
            {header("Size", ImageBy::Size, sort, path)}
            {header("Created", ImageBy::Created, sort, path)}
            {header("Containers", ImageBy::Containers, sort, path)}
        }
        .into_any()
    }

    fn row(image: ImageSummary, after: Callback<()>) -> AnyView {
        let on = page_engine().get_untracked();
        let href = urls::object(&on, Objects::Images, &image.id);
        let name = image_name(&image);
        let tags = match image.dangling {
            true => view! { <span class="badge dangling">"dangling"</span> }.into_any(),
            false => image
                .tags
                .iter()
                .map(|t| view! { <div class="mono">{t.clone()}</div> })
                .collect_view()
                .into_any(),
        };
        // An image a container uses is removed only by force (Docker refuses it for a
        // running one whatever is asked).
        let remove = remove_button(
            Objects::Images,
            image.id.clone(),
            name.clone(),
            false,
            after,
        );
        view! {
            <tr class="image-row" data-name=name.clone()>
                <td>
                    <a href=href>{tags}</a>
                </td>
                <td class="mono">{image.short_id().to_string()}</td>
                <td>{format::bytes(image.size)}</td>
                <td>{format::unix_time(image.created)}</td>
                <td data-testid="image-containers">{image.containers}</td>
                <td>{remove}</td>
            </tr>
        }
        .into_any()
    }
}

#[component]
pub fn ImagesPage() -> impl IntoView {
    object_list::<ImageBy>()
}

#[component]
pub fn ImagePage() -> impl IntoView {
    let params = use_params_map();
    let reference = move || params.read().get("reference").unwrap_or_default();
    let on = page_engine();
    let image = Resource::new(
        move || (on.get(), reference(), engine_epoch()),
        |(on, r, _)| api::read(on, crate::resources::GetImage { reference: r }),
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match image.await {
                    Ok(detail) => image_view(detail).into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Image" />
                            <h1>"Image"</h1>
                            <ErrorPanel error />
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
    }
}

fn image_view(detail: ImageDetail) -> impl IntoView {
    let on = page_engine().get_untracked();
    let name = image_name(&detail.image);
    let list = urls::objects(&on, Objects::Images);
    let gone = Callback::new(move |()| crate::layout::go_to(&list));
    let remove = remove_button(
        Objects::Images,
        detail.image.id.clone(),
        name.clone(),
        true,
        gone,
    );
    let layers = detail
        .layers
        .into_iter()
        .map(|l| {
            view! {
                <tr>
                    <td class="mono layer">{l.created_by}</td>
                    <td>{format::bytes(l.size)}</td>
                    <td>{format::unix_time(l.created)}</td>
                </tr>
            }
        })
        .collect_view();
    let users = match detail.used_by.is_empty() {
        true => view! { <span class="muted">"no container"</span> }.into_any(),
        false => used_by(detail.used_by).into_any(),
    };
    view! {
        <Title text=name.clone() />
        <h1>{name} " " <span class="muted">"image"</span></h1>
        <p class="muted mono">{detail.image.id.clone()}</p>
        {remove}
        <dl class="inspect">
            <dt>"Tags"</dt>
            <dd class="mono">{detail.image.tags.join(", ")}</dd>
            <dt>"Size"</dt>
            <dd>{format::bytes(detail.image.size)}</dd>
            <dt>"Created"</dt>
            <dd>{format::unix_time(detail.image.created)}</dd>
            <dt>"Platform"</dt>
            <dd>{format!("{}/{}", detail.os, detail.architecture)}</dd>
            <dt>"Command"</dt>
            <dd class="mono">{detail.command}</dd>
            <dt>"Entrypoint"</dt>
            <dd class="mono">{detail.entrypoint}</dd>
            <dt>"Used by"</dt>
            <dd data-testid="image-used-by">{users}</dd>
        </dl>
        <h2>"Layers"</h2>
        <table class="containers layers">
            <thead>
                <tr>
                    <th>"Created by"</th>
                    <th>"Size"</th>
                    <th>"Created"</th>
                </tr>
            </thead>
            <tbody>{layers}</tbody>
        </table>
    }
}

impl ObjectList for VolumeBy {
    const KIND: Objects = Objects::Volumes;
    const FILTER: &'static str = "Filter by name or driver";
    const PRUNE: &'static str = "Remove every volume no container uses, with its data?";
    const EMPTY: Option<&'static str> = Some(
        "No volumes on this engine. Create one above, or let a container make one with -v NAME:/path.",
    );

    fn load(on: On) -> impl Future<Output = Result<Vec<VolumeSummary>, ApiError>> + Send + 'static {
        api::read(on, crate::resources::ListVolumes {})
    }

    fn text(volume: &VolumeSummary) -> String {
        format!("{} {}", volume.name, volume.driver)
    }

    fn form(after: Callback<()>) -> Option<AnyView> {
        Some(
            view! {
                <ForOperators>
                    <NewVolumeForm after />
                </ForOperators>
            }
            .into_any(),
        )
    }

    fn headers(sort: Memo<Option<Sort<Self>>>, path: Memo<String>) -> AnyView {
        view! {
            {header("Name", VolumeBy::Name, sort, path)}
            {header("Driver", VolumeBy::Driver, sort, path)}
            {header("Size", VolumeBy::Size, sort, path)}
            {header("References", VolumeBy::References, sort, path)}
            {header("Used by", VolumeBy::UsedBy, sort, path)}
            {header("Mountpoint", VolumeBy::Mountpoint, sort, path)}
        }
        .into_any()
    }

    fn row(volume: VolumeSummary, after: Callback<()>) -> AnyView {
        let remove = remove_button(
            Objects::Volumes,
            volume.name.clone(),
            volume.name.clone(),
            false,
            after,
        );
        let size = volume.size.map_or_else(|| "—".into(), format::bytes);
        let refs = volume
            .ref_count
            .map_or_else(|| "—".into(), |n| n.to_string());
        view! {
            <tr class="volume-row" data-name=volume.name.clone()>
                <td class="mono">{volume.name.clone()}</td>
                <td>{volume.driver}</td>
                <td>{size}</td>
                <td>{refs}</td>
                <td>{used_by(volume.used_by)}</td>
                <td class="mono muted">{volume.mountpoint}</td>
                <td>{remove}</td>
            </tr>
        }
        .into_any()
    }
}

#[component]
pub fn VolumesPage() -> impl IntoView {
    object_list::<VolumeBy>()
}

/// Creates a volume: a name (Docker picks one when empty) and a driver (`local`).
#[component]
fn NewVolumeForm(after: Callback<()>) -> impl IntoView {
    let on = page_engine();
    let name = RwSignal::new(String::new());
    let driver = RwSignal::new(String::new());
    let feedback = Feedback::new();
    let hydrated = expect_context::<Hydrated>().0;
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let blank = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let new = NewVolume {
            name: blank(name.get_untracked()),
            driver: blank(driver.get_untracked()),
            ..NewVolume::default()
        };
        feedback.run(
            api::call(
                on.get_untracked(),
                crate::resources::CreateVolume {},
                (),
                new,
            ),
            |volume| format!("created {}", volume.name),
            move || {
                name.set(String::new());
                after.run(());
            },
        );
    };
    view! {
        <form class="inline-form" on:submit=create aria-label="New volume">
            <input
                type="text"
                placeholder="name (optional)"
                aria-label="Volume name"
                prop:value=name
                on:input=move |ev| name.set(event_target_value(&ev))
            />
            <input
                type="text"
                placeholder="driver: local"
                aria-label="Volume driver"
                prop:value=driver
                on:input=move |ev| driver.set(event_target_value(&ev))
            />
            <button type="submit" disabled=move || !hydrated.get()>
                "Create volume"
            </button>
            {feedback.view()}
        </form>
    }
}

/// Docker's own networks always exist, so the list is never empty: no empty state.
impl ObjectList for NetworkBy {
    const KIND: Objects = Objects::Networks;
    const FILTER: &'static str = "Filter by name, driver or subnet";
    const PRUNE: &'static str = "Remove every network no container is attached to?";
    const EMPTY: Option<&'static str> = None;

    fn load(
        on: On,
    ) -> impl Future<Output = Result<Vec<NetworkSummary>, ApiError>> + Send + 'static {
        api::read(on, crate::resources::ListNetworks {})
    }

    fn text(network: &NetworkSummary) -> String {
        format!(
            "{} {} {}",
            network.name,
            network.driver,
            network.subnets.join(" ")
        )
    }

    fn headers(sort: Memo<Option<Sort<Self>>>, path: Memo<String>) -> AnyView {
        view! {
            {header("Name", NetworkBy::Name, sort, path)}
            {header("Driver", NetworkBy::Driver, sort, path)}
            {header("Scope", NetworkBy::Scope, sort, path)}
            {header("Subnets", NetworkBy::Subnets, sort, path)}
            {header("Containers", NetworkBy::Containers, sort, path)}
        }
        .into_any()
    }

    fn row(network: NetworkSummary, after: Callback<()>) -> AnyView {
        // Docker's own networks are never removed: no button.
        let remove = (!network.builtin).then(|| {
            remove_button(
                Objects::Networks,
                network.id.clone(),
                network.name.clone(),
                false,
                after,
            )
        });
        let name = network.name.clone();
        view! {
            <tr class="network-row" data-name=name.clone()>
                <td class="mono">
                    {name.clone()} {network.builtin.then(|| view! { <span class="badge">"built-in"</span> })}
                    {network.internal.then(|| view! { <span class="badge">"internal"</span> })}
                </td>
                <td>{network.driver}</td>
                <td>{network.scope}</td>
                <td class="mono">{network.subnets.join(", ")}</td>
                <td>{used_by(network.containers)}</td>
                <td>{remove}</td>
            </tr>
        }
        .into_any()
    }
}

#[component]
pub fn NetworksPage() -> impl IntoView {
    object_list::<NetworkBy>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prunes_are_told_in_words() {
        let pruned = Pruned {
            removed: vec!["a".into()],
            reclaimed: 2048,
        };
        assert_eq!(
            pruned_text(Objects::Images, &pruned),
            "removed 1 image, 2.0 KiB given back"
        );
        assert_eq!(pruned_text(Objects::Networks, &pruned), "removed 1 network");
        assert!(matches("web 1.2", "Web-1.2 local"));
        assert!(!matches("db", "web"));
    }
}
