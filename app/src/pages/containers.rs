//! `/containers`: every container, with a filter box that works once the page is hydrated.

use crate::layout::engine_epoch;
use crate::{
    Hydrated, api, format,
    model::{ContainerSummary, Port},
    status::ErrorPanel,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ContainerList() -> impl IntoView {
    let containers = Resource::new(engine_epoch, |_| api::containers());
    view! {
        <Title text="Containers" />
        <h1>"Containers"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match containers.await {
                    Ok(list) => view! { <Table list /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// What the filter matches against: name, image, state, project, service and id.
fn haystack(c: &ContainerSummary) -> String {
    [
        c.name.as_str(),
        &c.image,
        &c.state,
        c.project.as_deref().unwrap_or(""),
        c.service.as_deref().unwrap_or(""),
        &c.id,
    ]
    .join(" ")
    .to_lowercase()
}

/// Every whitespace-separated word of the query must occur.
fn matches(haystack: &str, query: &str) -> bool {
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

#[component]
fn Table(list: Vec<ContainerSummary>) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let (query, set_query) = signal(String::new());
    let total = list.len();
    let haystacks: Vec<String> = list.iter().map(haystack).collect();
    let shown = {
        let haystacks = haystacks.clone();
        move || query.with(|q| haystacks.iter().filter(|h| matches(h, q)).count())
    };
    // Rows are rendered once and hidden, not rebuilt: filtering never touches the server
    // and never re-creates DOM.
    let rows = list
        .into_iter()
        .zip(haystacks)
        .map(|(c, hay)| {
            let hidden = move || query.with(|q| !matches(&hay, q));
            row(c, hidden)
        })
        .collect_view();

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
            <span class="muted" data-testid="shown-count">
                {move || format!("{} of {total}", shown())}
            </span>
        </div>
        <table class="containers">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Image"</th>
                    <th>"State"</th>
                    <th>"Status"</th>
                    <th>"Created"</th>
                    <th>"Ports"</th>
                    <th>"Project"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn row(c: ContainerSummary, hidden: impl Fn() -> bool + Send + Sync + 'static) -> impl IntoView {
    let href = format!("/containers/{}", c.id);
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
    view! {
        <tr class="container-row" data-name=c.name.clone() hidden=hidden>
            <td>
                <a href=href>{c.name.clone()}</a>
                <div class="muted mono">{c.short_id().to_string()}</div>
            </td>
            <td class="mono">{c.image}</td>
            <td>
                <span class=state_class>{c.state}</span>
            </td>
            <td>{c.status}</td>
            <td>{format::unix_time(c.created)}</td>
            <td class="mono">{ports}</td>
            <td>{project} <span class="muted">{service}</span></td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_words_all_match_case_insensitively() {
        let hay = "web-1 nginx:latest running shop web abc123";
        assert!(matches(hay, ""));
        assert!(matches(hay, "WEB"));
        assert!(matches(hay, "shop running"));
        assert!(!matches(hay, "shop exited"));
    }
}
