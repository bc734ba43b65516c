//! `/containers/:id` (and `/engines/{engine}/containers/:id`): the inspect summary of one
//! container. Unknown ids render a 404 page,
//! malformed ones a 400.

use crate::layout::{engine_epoch, page_engine};
use crate::{api, format, model::ContainerDetail, status::ErrorPanel};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

#[component]
pub fn ContainerPage() -> impl IntoView {
    let params = use_params_map();
    let reference = move || params.read().get("id").unwrap_or_default();
    let on = page_engine();
    let detail = Resource::new(
        move || (on.get(), reference(), engine_epoch()),
        |(on, r, _)| api::read(on, crate::model::GetContainer { id: r }),
    );
    let after = Callback::new(move |removed: bool| match removed {
        // Gone: its list is where the user goes on from.
        true => crate::layout::go_to(&crate::urls::containers(&on.get_untracked())),
        false => detail.refetch(),
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => detail_view(on.get_untracked(), detail, after).into_any(),
                    Err(error) => {
                        view! {
                            <Title text="Container" />
                            <h1>"Container"</h1>
                            <ErrorPanel error />
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

fn list_or_none(items: Vec<String>) -> AnyView {
    if items.is_empty() {
        view! { <span class="muted">"none"</span> }.into_any()
    } else {
        view! {
            <ul class="plain">
                {items.into_iter().map(|i| view! { <li class="mono">{i}</li> }).collect_view()}
            </ul>
        }
        .into_any()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Logs,
    Stats,
    Terminal,
}

impl Tab {
    fn from_query(value: Option<String>) -> Self {
        match value.as_deref() {
            Some("logs") => Tab::Logs,
            Some("stats") => Tab::Stats,
            Some("terminal") => Tab::Terminal,
            _ => Tab::Overview,
        }
    }
}

/// Tabs are links (`?tab=logs`), so they work before hydration and can be shared. Only the
/// shown tab is mounted, so only its socket is open.
fn tabs(on: crate::urls::On, d: ContainerDetail) -> impl IntoView {
    // The Terminal tab is offered to whoever may open one (`--exec` and the role).
    let me = expect_context::<crate::layout::CurrentUser>().0;
    let query = use_query_map();
    let tab = move || Tab::from_query(query.read().get("tab"));
    let id = d.id.clone();
    let download_name = format!("{}.log", d.name);
    let link = {
        let (on, id) = (on.clone(), id.clone());
        move |target: Tab, label: &'static str, name: Option<&'static str>| {
            let href = crate::urls::container_tab(&on, &id, name);
            view! {
                <a href=href class="tab" aria-current=move || (tab() == target).then_some("page") data-testid=format!("tab-{}", label.to_lowercase())>
                    {label}
                </a>
            }
        }
    };
    view! {
        <nav class="tabs">
            {link(Tab::Overview, "Overview", None)}
            {link(Tab::Logs, "Logs", Some("logs"))}
            {link(Tab::Stats, "Stats", Some("stats"))}
            <Transition fallback=|| ()>
                {
                    let link = link.clone();
                    move || Suspend::new({
                        let link = link.clone();
                        async move {
                            let may = me.await.is_ok_and(|me| me.terminal);
                            may.then(|| link(Tab::Terminal, "Terminal", Some("terminal")))
                        }
                    })
                }
            </Transition>
        </nav>
        {move || match tab() {
            Tab::Overview => overview(on.clone(), d.clone()).into_any(),
            Tab::Logs => {
                let path = crate::urls::ws_container_logs(&on, &id, 200);
                view! { <crate::log_viewer::LogViewer path=path download_name=download_name.clone() /> }.into_any()
            }
            Tab::Stats => view! { <super::container_stats::ContainerStatsLive on=on.clone() id=id.clone() /> }.into_any(),
            Tab::Terminal => view! { <super::container_terminal::ContainerTerminal on=on.clone() id=id.clone() /> }.into_any(),
        }}
    }
}

fn detail_view(on: crate::urls::On, d: ContainerDetail, after: Callback<bool>) -> impl IntoView {
    use super::container_actions::{ContainerActions, ForOperators};
    let state_class = format!("state state-{}", d.state);
    let (action_on, id, name, state) = (on.clone(), d.id.clone(), d.name.clone(), d.state.clone());
    view! {
        <Title text=d.name.clone() />
        <h1>
            {d.name.clone()} " " <span class=state_class data-testid="state">{d.state.clone()}</span>
        </h1>
        <p class="muted mono" data-testid="container-id">{d.id.clone()}</p>
        <ForOperators>
            <ContainerActions
                on=action_on.clone()
                id=id.clone()
                name=name.clone()
                state=state.clone()
                after
            />
        </ForOperators>
        {tabs(on, d)}
    }
}

fn overview(on: crate::urls::On, d: ContainerDetail) -> impl IntoView {
    let command = [d.entrypoint.join(" "), d.command.join(" ")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let restart = match d.restart_max_retries {
        Some(n) if n > 0 => format!("{} (max {n} retries)", d.restart_policy),
        _ => d.restart_policy.clone(),
    };
    let health = match (&d.health, d.health_failing_streak) {
        (Some(status), Some(streak)) if streak > 0 => format!("{status} (failing streak {streak})"),
        (Some(status), _) => status.clone(),
        (None, _) => "no health check".to_string(),
    };
    let exit = d
        .exit_code
        .filter(|_| !d.running)
        .map(|code| format!(" (exit code {code})"));
    let mounts = d
        .mounts
        .iter()
        .map(|m| {
            let mode = if m.read_write { "rw" } else { "ro" };
            format!("{} {} → {} ({mode})", m.kind, m.source, m.destination)
        })
        .collect();
    let labels = d.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let project = d.project.clone().map(|p| match &d.service {
        Some(service) => format!("{p} / {service}"),
        None => p,
    });

    view! {
        <dl class="inspect">
            <dt>"Image"</dt>
            <dd class="mono">{d.image.clone()}</dd>
            {d
                .running
                .then(|| {
                    view! {
                        <super::image_updates::ContainerUpdate
                            on
                            id=d.id.clone()
                            name=d.name.clone()
                        />
                    }
                })}
            <dt>"Command"</dt>
            <dd class="mono" data-testid="command">{command}</dd>
            <dt>"Working dir"</dt>
            <dd class="mono">{d.working_dir.clone().unwrap_or_else(|| "/".into())}</dd>
            <dt>"Created"</dt>
            <dd>{format::docker_time(&d.created)}</dd>
            <dt>"Started"</dt>
            <dd>{d.started_at.as_deref().map(format::docker_time)}</dd>
            <dt>"Finished"</dt>
            <dd>{d.finished_at.as_deref().map(format::docker_time)} {exit}</dd>
            <dt>"Restart policy"</dt>
            <dd data-testid="restart-policy">{restart} " · restarted " {d.restart_count} " times"</dd>
            <dt>"Health"</dt>
            <dd data-testid="health">{health}</dd>
            <dt>"Compose project"</dt>
            <dd>{project.unwrap_or_else(|| "none".into())}</dd>
            <dt>"Environment"</dt>
            <dd data-testid="env-names">
                {list_or_none(d.env_names.clone())}
                {(!d.env_names.is_empty())
                    .then(|| view! { <p class="muted note">"Names only: the values stay on the server."</p> })}
            </dd>
            <dt>"Mounts"</dt>
            <dd data-testid="mounts">{list_or_none(mounts)}</dd>
            <dt>"Labels"</dt>
            <dd data-testid="labels">{list_or_none(labels)}</dd>
        </dl>
    }
}
