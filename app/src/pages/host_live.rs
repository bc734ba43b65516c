//! The dashboard's live host panel: CPU, memory, disk, load and network from
//! `/ws/system/stats`, each with a sparkline of the last 60 samples. The server renders the
//! last known sample, so the cards show values before hydration and before the socket opens.

use crate::{
    api, format,
    frames::{Frame, SystemStats},
    live::use_live,
    sparkline::{HISTORY, sparkline},
};
use leptos::prelude::*;
use std::collections::VecDeque;

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

#[component]
pub fn HostLive() -> impl IntoView {
    let (history, set_history) = signal(VecDeque::<SystemStats>::with_capacity(HISTORY));
    let status = use_live(
        || Some(crate::urls::WS_SYSTEM_STATS.to_string()),
        move |frame| {
            if let Frame::SystemStats(sample) = frame {
                set_history.update(|h| {
                    if h.len() == HISTORY {
                        h.pop_front();
                    }
                    h.push_back(sample);
                });
            }
        },
    );
    let series = move |pick: fn(&SystemStats) -> f64| {
        history.with(|h| h.iter().map(pick).collect::<Vec<f64>>())
    };
    let initial = Resource::new(|| (), |_| api::host());
    let card = move |known: Option<SystemStats>,
                     title: &'static str,
                     testid: &'static str,
                     show: fn(&SystemStats) -> String,
                     pick: fn(&SystemStats) -> f64,
                     max: Option<f64>| {
        view! {
            <div class="card live-card">
                <h3>{title}</h3>
                <p class="big" data-testid=testid>
                    {move || {
                        history.with(|h| {
                            h.back().or(known.as_ref()).map_or_else(|| "—".to_string(), show)
                        })
                    }}
                </p>
                {move || sparkline(series(pick), max)}
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
            let card = move |title, testid, show, pick, max| card(known.clone(), title, testid, show, pick, max);
            view! {
            <div class="cards">
                {card("CPU", "host-cpu", |s| format!("{:.0} %", s.cpu_percent), |s| f64::from(s.cpu_percent), Some(100.0))}
                {card(
                    "Memory",
                    "host-memory",
                    |s| format!("{} of {}", format::bytes(s.memory_used as i64), format::bytes(s.memory_total as i64)),
                    |s| percent(s.memory_used, s.memory_total),
                    Some(100.0),
                )}
                {card(
                    "Disk",
                    "host-disk",
                    |s| main_disk(s).map_or("—".into(), |(used, total)| format!("{:.0} % of {}", percent(used, total), format::bytes(total as i64))),
                    |s| main_disk(s).map_or(0.0, |(used, total)| percent(used, total)),
                    Some(100.0),
                )}
                {card("Load", "host-load", |s| format!("{:.2} {:.2} {:.2}", s.load[0], s.load[1], s.load[2]), |s| s.load[0], None)}
                {card(
                    "Network",
                    "host-network",
                    |s| {
                        let (rx, tx) = network(s);
                        format!("↓ {}/s ↑ {}/s", format::bytes(rx as i64), format::bytes(tx as i64))
                    },
                    |s| {
                        let (rx, tx) = network(s);
                        (rx + tx) as f64
                    },
                    None,
                )}
            </div>
            }
            })}
            </Suspense>
        </section>
    }
}
