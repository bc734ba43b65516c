//! A container's live resource use from `/ws/containers/{id}/stats`: CPU, memory, network
//! and block IO rates, pids, each with a sparkline. The server renders the last sample it
//! streamed for the container in the last minute, so CPU, memory and pids show before the
//! socket's first sample (rates need two samples).

use crate::{
    api, format,
    frames::{ContainerStats, Frame},
    live::use_live,
    sparkline::{HISTORY, sparkline},
};
use leptos::prelude::*;
use std::collections::VecDeque;

/// Docker sends a stats sample about once a second; rates are per sample.
fn rate(history: &VecDeque<ContainerStats>, pick: fn(&ContainerStats) -> u64) -> Vec<f64> {
    history
        .iter()
        .zip(history.iter().skip(1))
        .map(|(a, b)| pick(b).saturating_sub(pick(a)) as f64)
        .collect()
}

fn bytes_per_sec(v: Option<&f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{}/s", format::bytes(*v as i64)))
}

#[component]
pub fn ContainerStatsLive(on: crate::urls::On, id: String) -> impl IntoView {
    let (history, set_history) = signal(VecDeque::<ContainerStats>::with_capacity(HISTORY + 1));
    let path = crate::urls::ws_container_stats(&on, &id);
    let known = Resource::new(
        move || (on.clone(), id.clone()),
        |(on, id)| api::container_stats(on, id),
    );
    let status = use_live(
        move || Some(path.clone()),
        move |frame| {
            if let Frame::ContainerStats(sample) = frame {
                set_history.update(|h| {
                    if h.len() > HISTORY {
                        h.pop_front();
                    }
                    h.push_back(sample);
                });
            }
        },
    );
    let latest = move |known: &Option<ContainerStats>, show: fn(&ContainerStats) -> String| {
        history.with(|h| {
            h.back()
                .or(known.as_ref())
                .map_or_else(|| "—".to_string(), show)
        })
    };
    let series = move |pick: fn(&ContainerStats) -> f64| {
        history.with(|h| h.iter().map(pick).collect::<Vec<_>>())
    };
    let net = move || {
        history.with(|h| {
            let rx = rate(h, |s| s.net_rx);
            let tx = rate(h, |s| s.net_tx);
            (rx, tx)
        })
    };
    let block = move || history.with(|h| (rate(h, |s| s.block_read), rate(h, |s| s.block_write)));

    view! {
        <section class="container-stats">
            <h2>
                "Resources, live "
                <span class=move || status.get().class() data-testid="stats-status">
                    {move || status.get().label()}
                </span>
            </h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
            let known = known.await.ok().flatten();
            let (k1, k2, k3) = (known.clone(), known.clone(), known);
            view! {
            <div class="cards">
                <div class="card live-card">
                    <h3>"CPU"</h3>
                    <p class="big" data-testid="stats-cpu">
                        {move || latest(&k1, |s| format!("{:.1} % of {} CPUs", s.cpu_percent, s.online_cpus))}
                    </p>
                    {move || sparkline(series(|s| s.cpu_percent), None)}
                </div>
                <div class="card live-card">
                    <h3>"Memory"</h3>
                    <p class="big" data-testid="stats-memory">
                        {move || latest(&k2, |s| format!("{} of {}", format::bytes(s.memory_used as i64), format::bytes(s.memory_limit as i64)))}
                    </p>
                    {move || sparkline(series(|s| s.memory_used as f64), None)}
                </div>
                <div class="card live-card">
                    <h3>"Network"</h3>
                    <p class="big" data-testid="stats-net">
                        {move || { let (rx, tx) = net(); format!("↓ {} ↑ {}", bytes_per_sec(rx.last()), bytes_per_sec(tx.last())) }}
                    </p>
                    {move || { let (rx, tx) = net(); sparkline(rx.iter().zip(&tx).map(|(a, b)| a + b).collect(), None) }}
                </div>
                <div class="card live-card">
                    <h3>"Block IO"</h3>
                    <p class="big" data-testid="stats-block">
                        {move || { let (r, w) = block(); format!("r {} w {}", bytes_per_sec(r.last()), bytes_per_sec(w.last())) }}
                    </p>
                    {move || { let (r, w) = block(); sparkline(r.iter().zip(&w).map(|(a, b)| a + b).collect(), None) }}
                </div>
                <div class="card live-card">
                    <h3>"PIDs"</h3>
                    <p class="big" data-testid="stats-pids">{move || latest(&k3, |s| s.pids.to_string())}</p>
                    {move || sparkline(series(|s| s.pids as f64), None)}
                </div>
            </div>
            }
            })}
            </Suspense>
        </section>
    }
}
