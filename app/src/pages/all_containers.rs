//! `/all/containers`: every container of every engine, with an engine column and filter;
//! an engine that did not answer is named above the table, and holds up none of the rest.

use super::containers::{Listed, Table};
use crate::layout::engine_epoch;
use crate::{api, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AllContainers() -> impl IntoView {
    let all = Resource::new(engine_epoch, |_| {
        api::read_berth(crate::model::ListAllContainers {})
    });
    let engines = Resource::new(|| (), |_| api::read_berth(crate::model::ListEngines {}));
    view! {
        <Title text="All containers" />
        <h1>"All containers"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let names: Vec<String> = engines
                    .await
                    .map(|list| list.into_iter().map(|e| e.name).collect())
                    .unwrap_or_default();
                match all.await {
                    Ok(all) => {
                        let unanswered = all
                            .unanswered
                            .into_iter()
                            .map(|e| {
                                let engine = e.engine.clone();
                                view! {
                                    <li class="engine-unanswered" data-engine=engine>
                                        <strong>{e.engine}</strong>
                                        " did not answer: "
                                        {e.error}
                                    </li>
                                }
                            })
                            .collect_view();
                        let list: Vec<Listed> = all
                            .containers
                            .into_iter()
                            .map(|c| Listed::of_engine(c.engine, c.container))
                            .collect();
                        let list = Signal::stored(list);
                        view! {
                            <ul class="plain banner-list">{unanswered}</ul>
                            <Table list engines=names />
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
