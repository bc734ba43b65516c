//! The dashboard's live host panel: CPU, memory, disk, load, network and disk IO from
//! `/ws/system/stats`, each with a chart of the last 60 samples. The server renders the
//! last known sample, so the cards show values before hydration and before the socket opens.

use crate::{
    api,
    chart::{Chart, HISTORY, Plot, Unit, Window, now_ms},
    format,
    frames::{Frame, SystemStats},
    live::use_live,
};
use leptos::prelude::*;

/// The root filesystem (or the first disk) as (used, total).
fn main_disk(s: &SystemStats) -> Option<(u64, u64)> {
    let disk = s
        .disks
        .iter()
        .find(|d| d.mount == "/")
        .or_else(|| s.disks.first())?;
    Some((disk.total.saturating_sub(disk.available), disk.total))
}

/// Bytes received and sent in the last interval, loopback excluded.
fn network(s: &SystemStats) -> (u64, u64) {
    s.networks
        .iter()
        .filter(|n| n.interface != "lo")
        .fold((0, 0), |(rx, tx), n| (rx + n.rx, tx + n.tx))
}

fn percent(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        used as f64 * 100.0 / total as f64
    }
}

/// A card's figure in words.
type Show = fn(&SystemStats) -> String;

/// A figure a chart draws.
type Pick = fn(&SystemStats) -> f64;

#[component]
pub fn HostLive() -> impl IntoView {
    let (history, set_history) = signal(Window::<SystemStats>::new(HISTORY));
    let status = use_live(
        || Some(crate::urls::WS_SYSTEM_STATS.to_string()),
        move |frame| {
            if let Frame::SystemStats(sample) = frame {
                set_history.update(|h| h.push(now_ms(), sample));
            }
        },
    );
    // One line of a figure, or two (in and out).
    let plot = move |lines: &'static [(&'static str, Pick)]| {
        Signal::derive(move || {
            history.with(|h| Plot {
                lines: lines
                    .iter()
                    .map(|(name, pick)| (*name, h.series(pick)))
                    .collect(),
                ages: h.ages(0),
            })
        })
    };
    let initial = Resource::new(|| (), |_| api::read_berth(crate::model::GetHost {}));
    let card = move |known: Option<SystemStats>,
                     title: &'static str,
                     id: &'static str,
                     show: Show,
                     chart: AnyView| {
        view! {
            <div class="card live-card">
                <h3>{title}</h3>
                <p class="big" data-testid=format!("host-{id}")>
                    {move || {
                        history.with(|h| {
                            h.latest().or(known.as_ref()).map_or_else(|| "—".to_string(), show)
                        })
                    }}
                </p>
                {chart}
            </div>
        }
    };

    view! {
        <section class="host-live">
            <h2>
                "Berth's machine, live "
                <span class=move || status.get().class() data-testid="live-status">
                    {move || status.get().label()}
                </span>
            </h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
            let known = initial.await.ok();
            let card = move |title, id, show, chart| card(known.clone(), title, id, show, chart);
            view! {
            <div class="cards">
                {card(
                    "CPU",
                    "cpu",
                    |s| format!("{:.0} %", s.cpu_percent),
                    view! { <Chart id="host-cpu" unit=Unit::Percent top=100.0 plot=plot(&[("cpu", |s| f64::from(s.cpu_percent))]) /> }.into_any(),
                )}
                {card(
                    "Memory",
                    "memory",
                    |s| format!("{} of {}", format::bytes(s.memory_used as i64), format::bytes(s.memory_total as i64)),
                    view! { <Chart id="host-memory" unit=Unit::Percent top=100.0 plot=plot(&[("used", |s| percent(s.memory_used, s.memory_total))]) /> }.into_any(),
                )}
                {card(
                    "Disk",
                    "disk",
                    |s| main_disk(s).map_or("—".into(), |(used, total)| format!("{:.0} % of {}", percent(used, total), format::bytes(total as i64))),
                    view! { <Chart id="host-disk" unit=Unit::Percent top=100.0 plot=plot(&[("used", |s| main_disk(s).map_or(0.0, |(used, total)| percent(used, total)))]) /> }.into_any(),
                )}
                {card(
                    "Disk IO",
                    "disk-io",
                    |s| format!("r {}/s w {}/s", format::bytes(s.disk_read as i64), format::bytes(s.disk_written as i64)),
                    view! { <Chart id="host-disk-io" unit=Unit::BytesPerSec plot=plot(&[("read", |s| s.disk_read as f64), ("write", |s| s.disk_written as f64)]) /> }.into_any(),
                )}
                {card(
                    "Load",
                    "load",
                    |s| format!("{:.2} {:.2} {:.2}", s.load[0], s.load[1], s.load[2]),
                    view! { <Chart id="host-load" unit=Unit::Count plot=plot(&[("1 min", |s| s.load[0])]) /> }.into_any(),
                )}
                {card(
                    "Network",
                    "network",
                    |s| {
                        let (rx, tx) = network(s);
                        format!("↓ {}/s ↑ {}/s", format::bytes(rx as i64), format::bytes(tx as i64))
                    },
                    view! { <Chart id="host-network" unit=Unit::BytesPerSec plot=plot(&[("in", |s| network(s).0 as f64), ("out", |s| network(s).1 as f64)]) /> }.into_any(),
                )}
            </div>
            }
            })}
            </Suspense>
        </section>
    }
}
