//! `make bench`: starts a release `berth` against the real engine, creates its own fixture
//! containers, drives Berth over loopback with real WebSocket clients, removes everything it
//! created, and prints one Markdown table of the thirteen figures (BENCHMARKS.md holds a run).
//! Times are compared as ratios within this run, never against fixed thresholds.

mod clients;
mod figures;
mod fixtures;
mod process;
mod stats;

use fixtures::{Fixtures, docker};
use process::Berth;
use std::time::{Duration, Instant};

struct Row {
    figure: String,
    berth: String,
    reference: String,
}

struct Table(Vec<Row>);

impl Table {
    fn add(
        &mut self,
        figure: impl Into<String>,
        berth: impl Into<String>,
        reference: impl Into<String>,
    ) {
        let row = Row {
            figure: figure.into(),
            berth: berth.into(),
            reference: reference.into(),
        };
        eprintln!("  {}: {}", row.figure, row.berth);
        self.0.push(row);
    }
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn step(text: &str) {
    eprintln!("[bench] {text}");
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let engine = docker(&["version", "--format", "{{.Server.Version}}"]).unwrap_or_default();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{date}; {cores} cores, {memory:.1} GiB RAM, Linux {}, Docker engine {engine}",
        kernel.trim()
    )
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let binary = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/x86_64-unknown-linux-musl/dist/berth".into());
    let addr = std::env::var("BERTH_BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:3320".into());
    let idle_window = env_secs("BERTH_BENCH_IDLE_SECS", 60);
    let files = process::raise_file_limit();
    let machine = machine();
    step(&format!("{machine}; open-file limit {files}"));
    let fixtures = Fixtures::new();
    let mut table = Table(Vec::new());
    // `BERTH_BENCH_ONLY=12` or `13`: that figure alone (each starts its own Berth and fixtures).
    let only = std::env::var("BERTH_BENCH_ONLY").ok();
    if only.as_deref() == Some("12") {
        figures::updates::run(&binary, &addr, &mut table).await;
        print(&machine, started, &mut table);
        return;
    }
    if only.as_deref() == Some("13") {
        figures::alerts::run(&binary, &addr, &fixtures, &mut table).await;
        print(&machine, started, &mut table);
        return;
    }

    step("20 running containers, then berth with no client");
    let _idle = fixtures.many("idle", 20, true, &["sleep", "3600"]);
    if clients::http_get(&addr, "/").await.is_ok() {
        panic!("something already listens on {addr}: stop it or set BERTH_BENCH_ADDR");
    }
    // Figures 1 to 8 measure streaming, without accounts; figure 9 measures accounts.
    let berth = Berth::start(&binary, &addr, &["--auth", "off"]);
    berth.healthy(&addr).await;

    // 1 and 7: idle, over the same window; figure 7's row is added last.
    let idle = figures::idle::rss(&berth, idle_window, &mut table).await;
    let ticker = figures::cycles::run(&addr, &berth, &fixtures, &mut table).await;
    let slow = figures::per_client::run(&addr, &berth, &fixtures, &mut table).await;
    // 5: latency, before the fast writer loads the engine.
    let paced = figures::latency::run(&addr, &fixtures, &mut table).await;
    let chatty = figures::engine_cpu::run(&addr, &berth, &fixtures, &mut table).await;
    fixtures.remove(&[slow, paced, chatty, ticker]);
    // 4: throughput against the raw engine, in the same run.
    figures::throughput::run(&addr, &berth, &fixtures, &mut table).await;
    figures::torrent::run(&addr, &fixtures, &mut table).await;
    figures::front_end::run(&addr, &fixtures, &mut table).await;
    idle.cpu(&mut table);
    drop(berth);

    figures::accounts::run(&binary, &addr, idle_window, idle.rss, &mut table).await;
    figures::stacks::run(&binary, &addr, &mut table).await;
    figures::updates::run(&binary, &addr, &mut table).await;
    figures::alerts::run(&binary, &addr, &fixtures, &mut table).await;
    drop(fixtures);
    print(&machine, started, &mut table);
}

/// The table, by figure number, as BENCHMARKS.md records it.
fn print(machine: &str, started: Instant, table: &mut Table) {
    table.0.sort_by_key(|r| {
        r.figure
            .split('.')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
    });
    println!("Machine: {machine}");
    println!(
        "Command: make bench (took {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("| Figure | Berth | Anchors |");
    println!("|---|---|---|");
    for row in &table.0 {
        println!("| {} | {} | {} |", row.figure, row.berth, row.reference);
    }
}
