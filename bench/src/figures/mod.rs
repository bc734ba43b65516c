//! The figures of the table, one file each. Each says its step, measures, and adds its row;
//! `main` runs them in an order where none disturbs the next.

pub mod accounts;
pub mod alerts;
pub mod cycles;
pub mod engine_cpu;
pub mod front_end;
pub mod idle;
pub mod latency;
pub mod per_client;
pub mod stacks;
pub mod throughput;
pub mod torrent;
pub mod updates;

use crate::clients::metric_all_kinds;
use std::time::{Duration, Instant};

pub(crate) const MIB: f64 = 1024.0 * 1024.0;

/// Until Berth holds no hub of any kind (or 15 s).
async fn settle(addr: &str) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let hubs = metric_all_kinds(addr, "berth_hubs").await;
        if hubs == 0.0 || Instant::now() > deadline {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return hubs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn shell(script: &str) -> Vec<&str> {
    vec!["sh", "-c", script]
}

/// Runs a Playwright script of `end2end/bench/` with Node; the JSON it prints.
fn node_script(script: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = std::process::Command::new("node")
        .arg(format!("end2end/bench/{script}"))
        .args(args)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{script} output: {e}"))
}
