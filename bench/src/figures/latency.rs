//! Figure 5: the latency from a line's write (the engine's timestamp) to its arrival at
//! each of 100 clients, a line every 50 ms.

use super::{settle, shell};
use crate::clients::log_followers;
use crate::fixtures::Fixtures;
use crate::stats::percentile;
use crate::{Table, step};
use std::time::Duration;

/// Runs figure 5; answers its container, which the caller removes after figure 6.
pub async fn run(addr: &str, fixtures: &Fixtures, table: &mut Table) -> String {
    step("5. latency, 100 clients, a line every 50 ms");
    let paced = fixtures.container(
        "paced",
        true,
        &[],
        &shell("i=0; while true; do i=$((i+1)); echo paced $i; sleep 0.05; done"),
    );
    let followers = log_followers(addr, &paced, 100, true).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let latencies = followers.latencies.clone();
    followers.stop().await;
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
    settle(addr).await;
    table.add(
        "5. Latency, line written → arrival at each of 100 clients",
        format!(
            "p50 {:.1} ms, p99 {:.1} ms ({} samples; from the engine's timestamp of the line)",
            percentile(&mut latencies, 50.0),
            percentile(&mut latencies, 99.0),
            latencies.len()
        ),
        "no published anchor",
    );
    paced
}
