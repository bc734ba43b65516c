//! Figure 6: what sharing saves the engine, dockerd's CPU with 100 followers of one chatty
//! container through Berth against 100 direct streams.

use super::{settle, shell};
use crate::clients::{direct_followers, log_followers};
use crate::fixtures::Fixtures;
use crate::process::{self, Berth};
use crate::{Table, env_secs, step};
use std::time::Duration;

/// Runs figure 6; answers its container, which the caller removes.
pub async fn run(addr: &str, berth: &Berth, fixtures: &Fixtures, table: &mut Table) -> String {
    step("6. dockerd CPU: 100 followers through Berth vs 100 direct streams");
    let chatty = fixtures.container(
        "chatty",
        true,
        &[],
        &shell("while true; do seq 1 20; sleep 0.1; done"),
    );
    let window = env_secs("BERTH_BENCH_CPU_SECS", 10);
    let engine_cost = match process::dockerd_pid() {
        Some(dockerd) => {
            let measure = |pid: u32| async move {
                let before = process::cpu_seconds(pid);
                tokio::time::sleep(window).await;
                process::cpu_seconds(pid) - before
            };
            tokio::time::sleep(Duration::from_secs(1)).await;
            let alone = measure(dockerd).await;
            let followers = log_followers(addr, &chatty, 100, false).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let berth_before = berth.cpu();
            let shared = measure(dockerd).await;
            let berth_cpu = berth.cpu() - berth_before;
            followers.stop().await;
            settle(addr).await;
            let engine = bollard::Docker::connect_with_local_defaults().expect("docker client");
            let direct = direct_followers(&engine, &chatty, 100).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let per_client = measure(dockerd).await;
            let delivered = direct.total();
            direct.stop().await;
            format!(
                "{shared:.2} s through Berth vs {per_client:.2} s with 100 direct streams, over {} s ({:.1}× less); the engine alone (writer, no reader) {alone:.2} s, so reading cost it {:.2} s vs {:.2} s; Berth itself used {berth_cpu:.2} s; {delivered} lines read directly",
                window.as_secs(),
                per_client / shared.max(0.01),
                (shared - alone).max(0.0),
                (per_client - alone).max(0.0),
            )
        }
        None => "n/a: no dockerd process visible from here".into(),
    };
    table.add(
        "6. dockerd CPU seconds, 100 followers of one container (~200 lines/s)",
        engine_cost,
        "a per-client design (the Go dashboard, the seeds' first version) opens one engine stream per viewer",
    );
    chatty
}
