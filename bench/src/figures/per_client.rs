//! Figure 3: the memory each client costs, 1,000 of them on one container's logs (and one
//! Docker stream for all).

use super::{MIB, settle, shell};
use crate::clients::{log_followers, metric};
use crate::fixtures::Fixtures;
use crate::process::Berth;
use crate::{Table, step};
use std::time::Duration;

/// Runs figure 3; answers its container, which the caller removes after figure 6.
pub async fn run(addr: &str, berth: &Berth, fixtures: &Fixtures, table: &mut Table) -> String {
    step("3. 1,000 clients on one container's logs");
    let slow = fixtures.container(
        "slow",
        true,
        &[],
        &shell("i=0; while true; do i=$((i+1)); echo slow $i; sleep 0.5; done"),
    );
    let base_rss = berth.rss_median(3, Duration::from_millis(300)).await;
    let followers = log_followers(addr, &slow, 1_000, false).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with_clients = berth.rss_median(3, Duration::from_millis(500)).await;
    let upstreams = metric(
        addr,
        "berth_upstream_streams",
        Some("kind=\"container_logs\""),
    )
    .await;
    followers.stop().await;
    settle(addr).await;
    table.add(
        "3. Memory per connected client (1,000 on one container's logs)",
        format!(
            "{:.1} KiB per client ({:.1} → {:.1} MiB; {upstreams} Docker stream for all)",
            (with_clients - base_rss) / 1000.0 / 1024.0,
            base_rss / MIB,
            with_clients / MIB
        ),
        "Dozzle: about 1 MB per connected user (older versions)",
    );
    slow
}
