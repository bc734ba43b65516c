//! A container's live resource use from `/ws/containers/{id}/stats`: CPU, memory, network
//! and block IO rates, pids, each with a chart of the last 60 samples. The server renders the
//! last sample it streamed for the container in the last minute, so CPU, memory and pids show
//! before the socket's first sample (rates need two samples).

use crate::{
    api,
    chart::{Chart, HISTORY, Plot, Unit, Window, now_ms},
    format,
    frames::{ContainerStats, Frame},
    live::use_live,
};
use leptos::prelude::*;

fn bytes_per_sec(v: Option<&f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{}/s", format::bytes(*v as i64)))
}

/// A counter Docker reports as a total since the container started.
type Counter = fn(&ContainerStats) -> u64;

#[component]
pub fn ContainerStatsLive(on: crate::urls::On, id: String) -> impl IntoView {
    // One sample more than a chart shows: rates are drawn between samples (Docker sends one
    // about every second).
    let (history, set_history) = signal(Window::<ContainerStats>::new(HISTORY + 1));
    let path = crate::urls::ws_container_stats(&on, &id);
    let known = Resource::new(
        move || (on.clone(), id.clone()),
        |(on, id)| api::read(on, crate::model::GetContainerStats { id }),
    );
    let status = use_live(
        move || Some(path.clone()),
        move |frame| {
            if let Frame::ContainerStats(sample) = frame {
                set_history.update(|h| h.push(now_ms(), sample));
            }
        },
    );
    let latest = move |known: &Option<ContainerStats>, show: fn(&ContainerStats) -> String| {
        history.with(|h| {
            h.latest()
                .or(known.as_ref())
                .map_or_else(|| "—".to_string(), show)
        })
    };
    // The last HISTORY samples of a figure.
    let gauge = move |name: &'static str, pick: fn(&ContainerStats) -> f64| {
        Signal::derive(move || {
            history.with(|h| {
                let skip = h.len().saturating_sub(HISTORY);
                Plot::one(name, h.series(pick).split_off(skip), h.ages(skip))
            })
        })
    };
    // Two counters' growth per sample, in and out.
    let rates = move |lines: [(&'static str, Counter); 2]| {
        Signal::derive(move || {
            history.with(|h| Plot {
                lines: lines
                    .iter()
                    .map(|(name, pick)| (*name, h.deltas(pick)))
                    .collect(),
                ages: h.ages(1),
            })
        })
    };
    let last_rates = move |lines: [Counter; 2]| {
        history.with(|h| lines.map(|pick| h.deltas(pick).last().copied()))
    };

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
                    <Chart id="cpu" unit=Unit::Percent plot=gauge("cpu", |s| s.cpu_percent) />
                </div>
                <div class="card live-card">
                    <h3>"Memory"</h3>
                    <p class="big" data-testid="stats-memory">
                        {move || latest(&k2, |s| format!("{} of {}", format::bytes(s.memory_used as i64), format::bytes(s.memory_limit as i64)))}
                    </p>
                    <Chart id="memory" unit=Unit::Bytes plot=gauge("used", |s| s.memory_used as f64) />
                </div>
                <div class="card live-card">
                    <h3>"Network"</h3>
                    <p class="big" data-testid="stats-net">
                        {move || { let [rx, tx] = last_rates([|s| s.net_rx, |s| s.net_tx]); format!("↓ {} ↑ {}", bytes_per_sec(rx.as_ref()), bytes_per_sec(tx.as_ref())) }}
                    </p>
                    <Chart id="network" unit=Unit::BytesPerSec plot=rates([("in", |s| s.net_rx), ("out", |s| s.net_tx)]) />
                </div>
                <div class="card live-card">
                    <h3>"Block IO"</h3>
                    <p class="big" data-testid="stats-block">
                        {move || { let [r, w] = last_rates([|s| s.block_read, |s| s.block_write]); format!("r {} w {}", bytes_per_sec(r.as_ref()), bytes_per_sec(w.as_ref())) }}
                    </p>
                    <Chart id="block-io" unit=Unit::BytesPerSec plot=rates([("read", |s| s.block_read), ("write", |s| s.block_write)]) />
                </div>
                <div class="card live-card">
                    <h3>"PIDs"</h3>
                    <p class="big" data-testid="stats-pids">{move || latest(&k3, |s| s.pids.to_string())}</p>
                    <Chart id="pids" unit=Unit::Count plot=gauge("pids", |s| s.pids as f64) />
                </div>
            </div>
            }
            })}
            </Suspense>
        </section>
    }
}
