//! Figure 4: the throughput of 1, 10 and 100 clients of a container writing as fast as it
//! can, as a ratio of a bare bollard stream measured in the same run, with the CPU of Berth,
//! of the clients and of dockerd.

use super::settle;
use crate::clients::{self, direct_followers, log_followers};
use crate::fixtures::Fixtures;
use crate::process::{self, Berth};
use crate::stats::{median, percentile};
use crate::{Table, step};
use std::time::Duration;

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

/// Runs figure 4, with its own container, removed at the end.
pub async fn run(addr: &str, berth: &Berth, fixtures: &Fixtures, table: &mut Table) {
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
        bare.push(Window::measure(&direct, berth, dockerd, measure_window).await);
        direct.stop().await;
        for (i, n) in [1usize, 10, 100].into_iter().enumerate() {
            let followers = log_followers(addr, &fast, n, false).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            runs[i].push(Window::measure(&followers, berth, dockerd, measure_window).await);
            followers.stop().await;
            settle(addr).await;
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
}
