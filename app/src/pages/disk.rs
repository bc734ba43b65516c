//! `/disk` (and `/engines/{engine}/disk`): Docker's disk usage for one engine, images,
//! containers, volumes and build cache, each with its size and what a prune gives back, the
//! prune buttons beside the kinds Berth prunes.

use super::objects::PruneButton;
use crate::controls::Reload;
use crate::layout::{engine_epoch, page_engine};
use crate::resources::{DiskShare, Objects};
use crate::{api, format, status::ErrorPanel, urls};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DiskPage() -> impl IntoView {
    let on = page_engine();
    let reload = Reload::new();
    let usage = Resource::new(
        move || (engine_epoch(), on.get(), reload.count()),
        |(_, on, _)| api::read(on, crate::resources::GetDisk {}),
    );
    let after = Callback::new(move |()| reload.now());
    view! {
        <Title text="Disk usage" />
        <h1>"Disk usage"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(disk) => {
                        let on = on.get_untracked();
                        view! {
                            <table class="containers disk">
                                <thead>
                                    <tr>
                                        <th>"Kind"</th>
                                        <th>"Count"</th>
                                        <th>"In use"</th>
                                        <th>"Size"</th>
                                        <th>"Reclaimable"</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {line(
                                        "Images",
                                        Some(urls::objects(&on, Objects::Images)),
                                        &disk.images,
                                        Some(view! {
                                            <PruneButton
                                                kind=Objects::Images
                                                question="Remove every dangling image?"
                                                after
                                            />
                                        }.into_any()),
                                    )}
                                    {line("Containers", Some(urls::containers(&on)), &disk.containers, None)}
                                    {line(
                                        "Volumes",
                                        Some(urls::objects(&on, Objects::Volumes)),
                                        &disk.volumes,
                                        Some(view! {
                                            <PruneButton
                                                kind=Objects::Volumes
                                                question="Remove every volume no container uses, with its data?"
                                                after
                                            />
                                        }.into_any()),
                                    )}
                                    {line("Build cache", None, &disk.build_cache, None)}
                                </tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn line(
    kind: &'static str,
    href: Option<String>,
    share: &DiskShare,
    prune: Option<AnyView>,
) -> impl IntoView {
    let name = match href {
        Some(href) => view! { <a href=href>{kind}</a> }.into_any(),
        None => view! { <span>{kind}</span> }.into_any(),
    };
    view! {
        <tr class="disk-row" data-kind=kind>
            <td>{name}</td>
            <td>{share.count}</td>
            <td>{share.active}</td>
            <td data-testid="disk-size">{format::bytes(share.size as i64)}</td>
            <td data-testid="disk-reclaimable">{format::bytes(share.reclaimable as i64)}</td>
            <td>{prune}</td>
        </tr>
    }
}
