//! `/containers`: every container, with a filter box that works once the page is hydrated.

use crate::layout::engine_epoch;
use crate::{
    Hydrated, api, format,
    model::{ContainerSummary, Port},
    status::ErrorPanel,
};
use leptos::prelude::*;
use leptos_meta::Title;
use std::sync::Arc;

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

/// What the filter matches: words against name, image, state, project and service; the id
/// only by prefix (a word would otherwise match somewhere in 64 hex digits).
struct Haystack {
    text: String,
    id: String,
}

impl Haystack {
    fn new(c: &ContainerSummary) -> Self {
        let text = [
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

#[component]
fn Table(list: Vec<ContainerSummary>) -> impl IntoView {
    let hydrated = expect_context::<Hydrated>().0;
    let (query, set_query) = signal(String::new());
    let total = list.len();
    let haystacks: Arc<[Haystack]> = list.iter().map(Haystack::new).collect();
    let shown = {
        let haystacks = haystacks.clone();
        move || query.with(|q| haystacks.iter().filter(|h| h.matches(q)).count())
    };
    // Rows are rendered once and hidden, not rebuilt: filtering never touches the server
    // and never re-creates DOM.
    let rows = list
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let haystacks = haystacks.clone();
            let hidden = move || query.with(|q| !haystacks[i].matches(q));
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
    let href = crate::urls::container(&c.id);
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
        let hay = Haystack::new(&c);
        assert!(hay.matches(""));
        assert!(hay.matches("WEB"));
        assert!(hay.matches("shop running"));
        assert!(!hay.matches("shop exited"));
        assert!(hay.matches("abc1"));
        assert!(!hay.matches("db"), "ids match by prefix only");
    }
}
