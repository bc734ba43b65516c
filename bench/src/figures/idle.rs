//! Figures 1 and 7: Berth idle with 20 running containers and no client, its memory and
//! its CPU over the same window. Figure 7's row is added last, after figure 8, as it always
//! was: the table is sorted by figure, the progress lines keep their order.

use super::MIB;
use crate::Table;
use crate::process::Berth;
use std::time::Duration;

/// What the idle window measured: figure 1's RSS (figure 9 compares with it) and the CPU
/// of figure 7.
pub struct Idle {
    pub rss: f64,
    cpu: f64,
    window: Duration,
}

/// Figure 1: the median RSS over `idle_window`, measuring figure 7's CPU meanwhile.
pub async fn rss(berth: &Berth, idle_window: Duration, table: &mut Table) -> Idle {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu_before = berth.cpu();
    let samples = (idle_window.as_secs() / 5).max(1) as usize;
    let rss = berth
        .rss_median(samples, idle_window / samples as u32)
        .await;
    let cpu = berth.cpu() - cpu_before;
    table.add(
        "1. Idle RSS, 20 running containers, no client",
        format!("{:.1} MiB", rss / MIB),
        "seeds: 45 MB idle (65 MB after 1 h, 85 MB after 24 h stress); Go dashboard: 77 MiB idle, growing to 269 MiB; Dozzle: < 15 MB; Portainer: ~100 MB",
    );
    Idle {
        rss,
        cpu,
        window: idle_window,
    }
}

impl Idle {
    /// Figure 7: the CPU Berth used over the idle window.
    pub fn cpu(&self, table: &mut Table) {
        let (idle_cpu, idle_window) = (self.cpu, self.window);
        table.add(
            "7. Idle CPU seconds over the idle window, 20 running containers, no client",
            if idle_cpu < 0.01 {
                format!(
                    "< 0.01 s over {} s (below the kernel's 10 ms accounting tick)",
                    idle_window.as_secs()
                )
            } else {
                format!("{idle_cpu:.2} s over {} s", idle_window.as_secs())
            },
            "stats cost nothing when nobody watches: no sampler or stream runs without a client",
        );
    }
}
