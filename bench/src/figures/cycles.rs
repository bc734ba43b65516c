//! Figure 2: Berth after 10,000 socket open/close cycles across the four kinds of stream
//! (a container's logs and stats, a project's logs, the host's stats): its memory, hubs,
//! upstreams and tasks against a warm start.

use super::{MIB, settle, shell};
use crate::clients::{self, metric, metric_all_kinds};
use crate::fixtures::Fixtures;
use crate::process::Berth;
use crate::{Table, step};
use std::time::{Duration, Instant};

const PROJECT: &str = "berth-bench";

/// Runs figure 2; answers its ticker container, which the caller removes after figure 6.
pub async fn run(addr: &str, berth: &Berth, fixtures: &Fixtures, table: &mut Table) -> String {
    step("2. 10,000 socket open/close cycles across the four kinds");
    let service = |s: &str| format!("com.docker.compose.service={s}");
    let project_label = format!("com.docker.compose.project={PROJECT}");
    let ticker = fixtures.container(
        "ticker",
        true,
        &["--label", &project_label, "--label", &service("ticker")],
        &shell("i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.02; done"),
    );
    let urls: Vec<String> = [
        format!("/ws/containers/{ticker}/logs?tail=20"),
        format!("/ws/containers/{ticker}/stats"),
        format!("/ws/projects/{PROJECT}/logs?tail=20"),
        "/ws/system/stats".to_string(),
    ]
    .iter()
    .map(|p| format!("ws://{addr}{p}"))
    .collect();
    clients::cycle(&urls, 1_000, 50).await;
    settle(addr).await;
    let warm_rss = berth.rss_median(3, Duration::from_millis(300)).await;
    let warm_tasks = metric(addr, "berth_tokio_alive_tasks", None).await;
    let cycles_started = Instant::now();
    clients::cycle(&urls, 10_000, 50).await;
    let cycles_took = cycles_started.elapsed();
    let hubs_after = settle(addr).await;
    let upstreams_after = metric_all_kinds(addr, "berth_upstream_streams").await;
    let tasks_after = metric(addr, "berth_tokio_alive_tasks", None).await;
    let rss_after = berth.rss_median(3, Duration::from_millis(300)).await;
    table.add(
        "2. After 10,000 open/close cycles (4 kinds)",
        format!(
            "RSS {:.1} MiB ({:+.1} MiB vs warm {:.1}); hubs {hubs_after}, upstreams {upstreams_after}, alive tasks {tasks_after} (warm {warm_tasks}); {:.1} s for the 10,000",
            rss_after / MIB,
            (rss_after - warm_rss) / MIB,
            warm_rss / MIB,
            cycles_took.as_secs_f64()
        ),
        "seeds: +20 MB after 1 h and +40 MB after 24 h stress; Go dashboard: +192 MiB",
    );
    ticker
}
