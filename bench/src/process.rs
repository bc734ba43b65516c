//! The measured processes: the release `berth` the benchmark starts (killed on drop), and
//! dockerd. RSS and CPU time come from /proc, as `ps` would read them.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// User + system CPU seconds a process has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// The whole machine's CPU time so far, in seconds: idle (with I/O wait) and in all.
pub fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    let total: f64 = ticks.iter().take(8).sum();
    ((at(3) + at(4)) / clock_ticks(), total / clock_ticks())
}

/// Resident set size in bytes.
pub fn rss_bytes(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb * 1024.0)
}

pub fn dockerd_pid() -> Option<u32> {
    let out = Command::new("pgrep")
        .args(["-xo", "dockerd"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

pub struct Berth {
    child: Child,
    /// Its database's folder, of this run's own (removed when it stops).
    data: std::path::PathBuf,
}

impl Berth {
    /// Starts `binary` on `addr` with the per-address limits raised for the benchmark, and
    /// `extra` arguments.
    pub fn start(binary: &str, addr: &str, extra: &[&str]) -> Self {
        let data = std::env::temp_dir().join(format!(
            "berth-bench-data-{}-{}",
            std::process::id(),
            addr.replace([':', '.'], "-")
        ));
        let _ = std::fs::remove_dir_all(&data);
        let child = Command::new(binary)
            .args(["--bind", addr, "--log", "warn"])
            .arg("--data-dir")
            .arg(&data)
            // One address drives thousands of sockets; the lag limit is lifted so the
            // throughput figure counts delivered lines, not disconnects.
            .args(["--limit-per-kind", "5000", "--limit-system-stats", "5000"])
            .args(["--limit-global", "20000", "--ws-max-lags", "1000000000"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        Self { child, data }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss(&self) -> f64 {
        rss_bytes(self.pid())
    }

    pub fn cpu(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    /// Until `/api/health` answers 200 (panics after 30 s).
    pub async fn healthy(&self, addr: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !matches!(
            crate::clients::http_get(addr, "/api/health").await,
            Ok((200, _, _))
        ) {
            assert!(
                std::time::Instant::now() < deadline,
                "berth did not become healthy on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Median RSS of `n` readings `every` apart.
    pub async fn rss_median(&self, n: usize, every: Duration) -> f64 {
        let mut readings = Vec::new();
        for _ in 0..n {
            tokio::time::sleep(every).await;
            readings.push(self.rss());
        }
        crate::stats::median(&mut readings)
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Lets this process and its children hold many sockets: the soft open-file limit is
/// raised to the hard one (a fresh machine's soft limit is often 1024).
pub fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}
