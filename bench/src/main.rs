//! `make bench`: starts a release `berth` against the real engine, creates its own fixture
//! containers, drives Berth over loopback with real WebSocket clients, removes everything it
//! created, and prints one Markdown table of the ten figures (BENCHMARKS.md holds a run).
//! Times are compared as ratios within this run, never against fixed thresholds.

mod accounts;
mod clients;
mod fixtures;
mod process;
mod stats;

use clients::{direct_followers, metric, metric_all_kinds, ws_followers};
use fixtures::{Fixtures, docker};
use process::Berth;
use stats::{median, percentile};
use std::time::{Duration, Instant};

const MIB: f64 = 1024.0 * 1024.0;
const PROJECT: &str = "berth-bench";

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

/// Until Berth holds no hub of any kind (or 15 s).
/// One measuring window of figure 4: each client's rate, and the CPU (seconds per second)
/// of Berth, of this benchmark's clients and of dockerd, and the machine's idle share.
struct Window {
    rates: Vec<f64>,
    berth: f64,
    clients: f64,
    dockerd: f64,
    idle: f64,
}

impl Window {
    async fn measure(
        followers: &clients::Followers,
        berth: &Berth,
        dockerd: Option<u32>,
        window: Duration,
    ) -> Self {
        let me = std::process::id();
        let dockerd_cpu = || dockerd.map_or(f64::NAN, process::cpu_seconds);
        let (counts, b, c, d, m) = (
            followers.snapshot(),
            berth.cpu(),
            process::cpu_seconds(me),
            dockerd_cpu(),
            process::machine_cpu(),
        );
        tokio::time::sleep(window).await;
        let secs = window.as_secs_f64();
        let after = process::machine_cpu();
        Self {
            rates: followers
                .snapshot()
                .iter()
                .zip(&counts)
                .map(|(after, before)| (after - before) as f64 / secs)
                .collect(),
            berth: (berth.cpu() - b) / secs,
            clients: (process::cpu_seconds(me) - c) / secs,
            dockerd: (dockerd_cpu() - d) / secs,
            idle: (after.0 - m.0) / (after.1 - m.1).max(f64::MIN_POSITIVE),
        }
    }

    fn mean(&self) -> f64 {
        self.rates.iter().sum::<f64>() / self.rates.len().max(1) as f64
    }

    fn slowest(&self) -> f64 {
        self.rates.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn p10(&self) -> f64 {
        percentile(&mut self.rates.clone(), 10.0)
    }

    /// The median over rounds of one figure of each window.
    fn median_of(windows: &[Window], figure: impl Fn(&Window) -> f64) -> f64 {
        median(&mut windows.iter().map(figure).collect::<Vec<_>>())
    }
}

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

fn compressed_sizes(path: &str) -> Result<(usize, usize, usize), String> {
    use std::io::Write;
    let raw = std::fs::read(path)
        .map_err(|e| format!("{path}: {e} (run `cargo leptos build --release`)"))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw).map_err(|e| e.to_string())?;
    let gz = gz.finish().map_err(|e| e.to_string())?;
    let mut br = Vec::new();
    brotli::BrotliCompress(
        &mut raw.as_slice(),
        &mut br,
        &brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((raw.len(), gz.len(), br.len()))
}

fn kib(n: usize) -> String {
    format!("{:.0} KiB", n as f64 / 1024.0)
}

/// Loads `url` in Chromium through the Playwright script; medians of TTFB and hydration (ms).
fn browser_timings(url: &str, runs: usize) -> Result<(f64, f64), String> {
    let out = std::process::Command::new("node")
        .args(["end2end/bench/hydrate.mjs", url, &runs.to_string()])
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let result: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("hydrate.mjs output: {e}"))?;
    let series = |key: &str| -> Vec<f64> {
        result[key]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    Ok((median(&mut series("ttfb")), median(&mut series("hydrated"))))
}

/// Lines the torrent container of figure 10 prints (200 every 10 ms, about 20,000 a second).
const TORRENT_LINES: u64 = 200_000;

/// Figure 10 through the Playwright script: the longest main-thread task, the clicks, and
/// how many lines were shown and skipped.
fn torrent_in_browser(base: &str, container: &str, seconds: u64) -> Result<String, String> {
    let out = std::process::Command::new("node")
        .args([
            "end2end/bench/torrent.mjs",
            base,
            container,
            &seconds.to_string(),
        ])
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let r: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("torrent.mjs output: {e}"))?;
    let n = |key: &str| r[key].as_f64().unwrap_or(f64::NAN);
    let clicks: Vec<String> = r["clicks_ms"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_f64)
                .map(|ms| format!("{ms:.0} ms"))
                .collect()
        })
        .unwrap_or_default();
    let (received, lagged, dropped) = (n("received"), n("lagged"), n("dropped"));
    let total = TORRENT_LINES as f64;
    let longest = match n("long_tasks") {
        0.0 => "no main-thread task over 50 ms".to_string(),
        count => format!(
            "longest main-thread task {:.0} ms ({count} over 50 ms)",
            n("longest_task_ms")
        ),
    };
    let share = |lines: f64| lines / total * 100.0;
    Ok(format!(
        "{longest}; Pause and Resume answered in {}; of {TORRENT_LINES} lines {:.1} % drawn, {:.1} % dropped in the page, {:.1} % missed at the server, {:.1} % still on their way 3 s after the 10 s; {} rows held at the end",
        if clicks.is_empty() {
            "n/a".to_string()
        } else {
            clicks.join(" and ")
        },
        share(received - dropped),
        share(dropped),
        share(lagged),
        share(total - received - lagged),
        n("rows"),
    ))
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let binary = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/release/berth".into());
    let addr = std::env::var("BERTH_BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:3320".into());
    let idle_window = env_secs("BERTH_BENCH_IDLE_SECS", 60);
    let files = process::raise_file_limit();
    let machine = machine();
    step(&format!("{machine}; open-file limit {files}"));
    let fixtures = Fixtures::new();
    let mut table = Table(Vec::new());

    step("20 running containers, then berth with no client");
    let _idle = fixtures.many("idle", 20, true, &["sleep", "3600"]);
    if clients::http_get(&addr, "/").await.is_ok() {
        panic!("something already listens on {addr}: stop it or set BERTH_BENCH_ADDR");
    }
    // Figures 1 to 8 measure streaming, without accounts; figure 9 measures accounts.
    let berth = Berth::start(&binary, &addr, &["--auth", "off"]);
    berth.healthy(&addr).await;

    // 1 and 7: idle, over the same window.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cpu_before = berth.cpu();
    let samples = (idle_window.as_secs() / 5).max(1) as usize;
    let idle_rss = berth
        .rss_median(samples, idle_window / samples as u32)
        .await;
    let idle_cpu = berth.cpu() - cpu_before;
    table.add(
        "1. Idle RSS, 20 running containers, no client",
        format!("{:.1} MiB", idle_rss / MIB),
        "seeds: 45 MB idle (65 MB after 1 h, 85 MB after 24 h stress); Go dashboard: 77 MiB idle, growing to 269 MiB; Dozzle: < 15 MB; Portainer: ~100 MB",
    );

    // 2: 10,000 open/close cycles across the four kinds.
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
    settle(&addr).await;
    let warm_rss = berth.rss_median(3, Duration::from_millis(300)).await;
    let warm_tasks = metric(&addr, "berth_tokio_alive_tasks", None).await;
    let cycles_started = Instant::now();
    clients::cycle(&urls, 10_000, 50).await;
    let cycles_took = cycles_started.elapsed();
    let hubs_after = settle(&addr).await;
    let upstreams_after = metric_all_kinds(&addr, "berth_upstream_streams").await;
    let tasks_after = metric(&addr, "berth_tokio_alive_tasks", None).await;
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

    // 3: memory per client.
    step("3. 1,000 clients on one container's logs");
    let slow = fixtures.container(
        "slow",
        true,
        &[],
        &shell("i=0; while true; do i=$((i+1)); echo slow $i; sleep 0.5; done"),
    );
    let base_rss = berth.rss_median(3, Duration::from_millis(300)).await;
    let followers = ws_followers(
        &format!("ws://{addr}/ws/containers/{slow}/logs?tail=0"),
        1_000,
        false,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with_clients = berth.rss_median(3, Duration::from_millis(500)).await;
    let upstreams = metric(
        &addr,
        "berth_upstream_streams",
        Some("kind=\"container_logs\""),
    )
    .await;
    followers.stop().await;
    settle(&addr).await;
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

    // 5: latency, before the fast writer loads the engine.
    step("5. latency, 100 clients, a line every 50 ms");
    let paced = fixtures.container(
        "paced",
        true,
        &[],
        &shell("i=0; while true; do i=$((i+1)); echo paced $i; sleep 0.05; done"),
    );
    let followers = ws_followers(
        &format!("ws://{addr}/ws/containers/{paced}/logs?tail=0&timestamps=true"),
        100,
        true,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let latencies = followers.latencies.clone();
    followers.stop().await;
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
    settle(&addr).await;
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

    // 6: what sharing saves the engine.
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
            let followers = ws_followers(
                &format!("ws://{addr}/ws/containers/{chatty}/logs?tail=0"),
                100,
                false,
            )
            .await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let berth_before = berth.cpu();
            let shared = measure(dockerd).await;
            let berth_cpu = berth.cpu() - berth_before;
            followers.stop().await;
            settle(&addr).await;
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
    fixtures.remove(&[slow, paced, chatty, ticker]);

    // 4: throughput against the raw engine, in the same run.
    step("4. throughput: a container writing as fast as it can");
    let fast = fixtures.container(
        "fast",
        true,
        &["--log-opt", "max-size=20m", "--log-opt", "max-file=2"],
        &[
            "yes",
            "berth benchmark line: the quick brown fox jumps over the lazy dog",
        ],
    );
    let engine = bollard::Docker::connect_with_local_defaults().expect("docker client");
    let measure_window = Duration::from_secs(4);
    let dockerd = process::dockerd_pid();
    let mut bare = Vec::new();
    let mut runs: [Vec<Window>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..3 {
        let direct = direct_followers(&engine, &fast, 1).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        bare.push(Window::measure(&direct, &berth, dockerd, measure_window).await);
        direct.stop().await;
        for (i, n) in [1usize, 10, 100].into_iter().enumerate() {
            let followers = ws_followers(
                &format!("ws://{addr}/ws/containers/{fast}/logs?tail=0"),
                n,
                false,
            )
            .await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            runs[i].push(Window::measure(&followers, &berth, dockerd, measure_window).await);
            followers.stop().await;
            settle(&addr).await;
        }
    }
    let direct_rate = Window::median_of(&bare, |w| w.mean());
    let idle = Window::median_of(&bare, |w| w.idle);
    let mut throughput = Vec::new();
    for (i, n) in [1, 10, 100].into_iter().enumerate() {
        let mean = Window::median_of(&runs[i], |w| w.mean());
        let slowest = Window::median_of(&runs[i], |w| w.slowest());
        let p10 = Window::median_of(&runs[i], |w| w.p10());
        throughput.push(format!(
            "{n} client{}: mean {mean:.0} lines/s each ({:.2}×), p10 {:.2}×, slowest {:.2}× ({:.0} lines/s in all); CPU s/s: berth {:.2}, clients {:.2}, dockerd {:.2}",
            if n == 1 { "" } else { "s" },
            mean / direct_rate,
            p10 / direct_rate,
            slowest / direct_rate,
            mean * n as f64,
            Window::median_of(&runs[i], |w| w.berth),
            Window::median_of(&runs[i], |w| w.clients),
            Window::median_of(&runs[i], |w| w.dockerd),
        ));
    }
    let bound = if idle < 0.1 {
        " (the bare run already fills the cores: every ratio below is bounded by the machine, not by Berth)"
    } else {
        ""
    };
    table.add(
        "4. Throughput per client, as a ratio of a bare bollard stream",
        format!(
            "bare stream {direct_rate:.0} lines/s, machine {:.0} % idle during it{bound}; {}",
            idle * 100.0,
            throughput.join("; ")
        ),
        "the engine's own log stream is the physical limit (1.00×)",
    );
    fixtures.remove(&[fast]);

    // 10: the browser under a torrent.
    step("10. browser: a container printing 20,000 lines/s for 10 s");
    let torrent = fixtures.container(
        "torrent",
        true,
        &[],
        &shell(&format!(
            "until [ -e /go ]; do sleep 0.1; done; i=0; while [ $i -lt {TORRENT_LINES} ]; do seq $i $((i+199)); i=$((i+200)); usleep 10000; done; sleep 3600"
        )),
    );
    let browser = match torrent_in_browser(&format!("http://{addr}"), &torrent, 10) {
        Ok(figure) => figure,
        Err(e) => format!("n/a: {e}"),
    };
    table.add(
        "10. Browser, one viewer of a container printing ~20,000 lines/s for 10 s",
        browser,
        "goal: no main-thread task over 50 ms; a click answers within 100 ms",
    );
    fixtures.remove(&[torrent]);
    let _ = metric(&addr, "berth_hubs", None).await;

    // 8: the front end.
    step("8. front end: bundle sizes, /containers with 200 containers");
    let mut sizes = Vec::new();
    for (label, path) in [
        ("Wasm", "target/site/pkg/berth.wasm"),
        ("JS", "target/site/pkg/berth.js"),
    ] {
        sizes.push(match compressed_sizes(path) {
            Ok((raw, gz, br)) => format!(
                "{label} {} raw, {} gzip, {} brotli",
                kib(raw),
                kib(gz),
                kib(br)
            ),
            Err(e) => format!("{label}: {e}"),
        });
    }
    let existing = docker(&["ps", "-aq"]).unwrap_or_default().lines().count();
    let _listed = fixtures.many(
        "listed",
        200usize.saturating_sub(existing),
        false,
        &["true"],
    );
    let (_, list, _) = clients::http_get(&addr, "/api/containers")
        .await
        .unwrap_or_default();
    let listed = serde_json::from_str::<serde_json::Value>(&list)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    let mut ttfb = Vec::new();
    for _ in 0..10 {
        if let Ok((200, _, t)) = clients::http_get(&addr, "/containers").await {
            ttfb.push(t.as_secs_f64() * 1000.0);
        }
    }
    let browser = match browser_timings(&format!("http://{addr}/containers"), 5) {
        Ok((ttfb, hydrated)) => {
            format!("in Chromium: TTFB {ttfb:.0} ms, hydrated {hydrated:.0} ms")
        }
        Err(e) => format!("browser timings n/a: {e}"),
    };
    table.add(
        "8. Front end",
        format!(
            "{}; /containers with {listed} containers: TTFB {:.0} ms (HTTP, median of 10), {browser} (median of 5)",
            sizes.join("; "),
            median(&mut ttfb)
        ),
        "no published anchor",
    );

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
    drop(berth);

    step("9. Accounts: idle with accounts on, sign-ins, sessions");
    let figure = accounts::measure(&binary, &addr, idle_window, idle_rss).await;
    table.add(
        "9. Accounts (issue 10)",
        figure,
        "same 20 idle containers as figure 1; argon2id at password-auth's defaults (19 MiB, 2 passes)",
    );
    drop(fixtures);

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
