//! Figure 13: alerts at scale. 100 rules (exits, restart loops, OOM, health, log lines,
//! CPU) over 50 running containers, a webhook receiver of the benchmark's own on loopback:
//! Berth's idle CPU and RSS with them, the Docker streams they hold (one per watched
//! resource), dockerd's CPU for the per-engine sampler against one stats stream per
//! container (in one sitting), reading the containers' cgroup files directly against the
//! stats API, and the time from a container's death to the receiver.

use super::{MIB, shell};
use crate::clients::{http, metric, ws_followers};
use crate::fixtures::Fixtures;
use crate::process::{self, Berth};
use crate::{Table, env_secs, step};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONTAINERS: usize = 50;
/// The samplers' interval the benchmark's Berth runs with.
const SAMPLE_SECS: u64 = 10;

pub async fn run(binary: &str, addr: &str, fixtures: &Fixtures, table: &mut Table) {
    step("13. alerts: 100 rules over 50 containers");
    let ids = fixtures.many("alerts", CONTAINERS, true, &shell("sleep 3600"));
    let receiver = Receiver::start().await;
    let sample_secs = SAMPLE_SECS.to_string();
    // The API's sampler, measured against the API's streams; the files are measured apart.
    let berth = Berth::start(
        binary,
        addr,
        &[
            "--auth",
            "off",
            "--sample-secs",
            &sample_secs,
            "--sample-from",
            "api",
        ],
    );
    berth.healthy(addr).await;
    let window = env_secs("BERTH_BENCH_ALERT_SECS", 30);
    let dockerd = process::dockerd_pid();
    let rss_before = berth.rss_median(5, Duration::from_millis(200)).await;

    let channel = post(
        addr,
        "/api/alerts/channels",
        &format!(
            r#"{{"name": "bench", "kind": "webhook", "url": "{}"}}"#,
            receiver.url
        ),
    )
    .await;
    let channel = channel["id"].as_i64().expect("a channel");
    let prefix = format!("berth-bench-{}-alerts-*", std::process::id());
    let triggers = [
        (40, r#"{"on": "exit"}"#),
        (15, r#"{"on": "restarts", "count": 5, "minutes": 10}"#),
        (10, r#"{"on": "oom"}"#),
        (10, r#"{"on": "unhealthy"}"#),
        (15, r#"{"on": "log", "line": {"regex": "PANIC|FATAL"}}"#),
    ];
    let mut n = 0;
    for (count, when) in triggers {
        for _ in 0..count {
            n += 1;
            rule(addr, n, &prefix, when, channel).await;
        }
    }
    settled(addr, "container_logs", CONTAINERS as f64).await;
    // Before the metric rules: what the others cost the engine, the baseline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (baseline, _) = measure(&berth, dockerd, window).await;

    let cpu_rule = r#"{"on": "metric", "metric": "cpu_percent", "above": 90}"#;
    let mut metric_rules = Vec::new();
    for _ in 0..10 {
        n += 1;
        metric_rules.push(rule(addr, n, &prefix, cpu_rule, channel).await);
    }
    settled(addr, "samples", 1.0).await;
    let streams = format!(
        "{} events, {} container logs, {} sampler, {} container stats",
        metric(addr, "berth_hubs", Some("kind=\"events\"")).await,
        metric(addr, "berth_hubs", Some("kind=\"container_logs\"")).await,
        metric(addr, "berth_hubs", Some("kind=\"samples\"")).await,
        metric(addr, "berth_hubs", Some("kind=\"container_stats\"")).await,
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (sampled, berth_cpu) = measure(&berth, dockerd, window).await;
    let rss = berth.rss_median(10, Duration::from_millis(300)).await;

    // The same figures from one stats stream per container (what a page per container, or
    // a sampler that streamed, would hold), the sampler stopped.
    for id in &metric_rules {
        http(addr, "DELETE", &format!("/api/alerts/rules/{id}"), "", None)
            .await
            .expect("a rule removed");
    }
    settled(addr, "samples", 0.0).await;
    let mut viewers = Vec::new();
    for id in &ids {
        let url = format!("ws://{addr}/ws/containers/{id}/stats");
        viewers.push(ws_followers(&url, 1, false).await);
    }
    settled(addr, "container_stats", CONTAINERS as f64).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (streamed, _) = measure(&berth, dockerd, window).await;
    for viewer in viewers {
        viewer.stop().await;
    }
    let cgroup = match cgroup_round(&ids) {
        Some(ms) => format!("{ms:.2} ms of this process per round"),
        None => "n/a (no cgroup files of Docker's layouts here)".into(),
    };
    // Every running container is sampled, the benchmark's others too.
    let running =
        crate::fixtures::docker(&["ps", "-q"]).map_or(0, |ids| ids.split_whitespace().count());

    // Deaths: the time to the first of the alerts about each (40 exit rules send 40).
    let mut firsts = Vec::new();
    let mut lasts = Vec::new();
    for id in ids.iter().take(10) {
        let name = crate::fixtures::docker(&["inspect", "--format", "{{.Name}}", id])
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string();
        let before = receiver.count();
        let killed = Instant::now();
        crate::fixtures::docker(&["kill", id]).expect("docker kill");
        let (first, last) = receiver.arrivals(&name, before, 40, killed).await;
        firsts.push(first);
        lasts.push(last);
    }
    let first = crate::stats::median(&mut firsts);
    let last = crate::stats::median(&mut lasts);
    drop(berth);
    fixtures.remove(&ids);

    let secs = window.as_secs();
    let rounds = (window.as_secs_f64() / SAMPLE_SECS as f64).max(1.0);
    let per_round = |total: f64| (total - baseline).max(0.0) / rounds * 1000.0;
    table.add(
        "13. Alerts: 100 rules over 50 running containers",
        match dockerd {
            Some(_) => format!(
                "Docker streams held: {streams}. Idle with the rules: Berth {berth_cpu:.2} s CPU over {secs} s, RSS {:.1} MiB ({:.1} MiB before the rules). dockerd CPU over {secs} s: **{sampled:.2} s with the sampler** (one sample of each running container every {SAMPLE_SECS} s) vs **{streamed:.2} s with 50 stats streams** (a sample each per second) and {baseline:.2} s with neither: {:.1} ms of dockerd per sampler round of {running}. Reading the 50 containers' cgroup files directly: {cgroup}. A container's death to the receiver (`docker kill` to the first alert, median of 10): **{first:.0} ms**; the 40th (40 exit rules): {last:.0} ms",
                rss / MIB,
                rss_before / MIB,
                per_round(sampled),
            ),
            None => "n/a: no dockerd process visible from here".into(),
        },
        "Dozzle keeps one stats stream per container while its alerts run; per-rule streams would be 100",
    );
}

/// Makes rule `n` over the benchmark's containers; its id.
async fn rule(addr: &str, n: usize, names: &str, when: &str, channel: i64) -> i64 {
    let body = format!(
        r#"{{"name": "bench {n}", "select": {{"names": ["{names}"]}}, "when": {when}, "channels": [{channel}], "cooldown_secs": 60}}"#
    );
    post(addr, "/api/alerts/rules", &body).await["id"]
        .as_i64()
        .expect("a rule")
}

async fn post(addr: &str, path: &str, body: &str) -> serde_json::Value {
    let answer = http(addr, "POST", path, "", Some(body))
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert_eq!(answer.status, 201, "POST {path}: {}", answer.body);
    serde_json::from_str(&answer.body).expect("JSON")
}

/// Until Berth holds `want` hubs of `kind` (or 20 s).
async fn settled(addr: &str, kind: &str, want: f64) {
    let label = format!("kind=\"{kind}\"");
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(addr, "berth_hubs", Some(&label)).await != want {
        if Instant::now() > deadline {
            step(&format!(
                "  (after 20 s, {kind} hubs are not {want}: measured as they are)"
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// dockerd's and Berth's CPU seconds over `window`.
async fn measure(berth: &Berth, dockerd: Option<u32>, window: Duration) -> (f64, f64) {
    let engine = || dockerd.map_or(0.0, process::cpu_seconds);
    let (engine_before, berth_before) = (engine(), berth.cpu());
    tokio::time::sleep(window).await;
    (engine() - engine_before, berth.cpu() - berth_before)
}

/// Milliseconds of this process's CPU to read every container's CPU and memory from its
/// cgroup files once (cgroup v1 as Docker's cgroupfs driver lays them out, or v2), the
/// median of 100 rounds; what a sampler on the engine's host could do instead of the API.
fn cgroup_round(ids: &[String]) -> Option<f64> {
    // What the sampler reads of each container (berth's live/upstream/cgroup.rs), and
    // the machine's two files once per round.
    let files = |id: &str| -> Vec<String> {
        let v1 = format!("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage");
        if std::path::Path::new(&v1).exists() {
            let memory = format!("/sys/fs/cgroup/memory/docker/{id}");
            vec![
                v1,
                format!("{memory}/memory.usage_in_bytes"),
                format!("{memory}/memory.stat"),
                format!("{memory}/memory.limit_in_bytes"),
                format!("/sys/fs/cgroup/pids/docker/{id}/pids.current"),
            ]
        } else {
            let v2 = format!("/sys/fs/cgroup/system.slice/docker-{id}.scope");
            [
                "cpu.stat",
                "memory.current",
                "memory.stat",
                "memory.max",
                "pids.current",
            ]
            .map(|f| format!("{v2}/{f}"))
            .to_vec()
        }
    };
    let here = ids
        .first()
        .is_some_and(|id| std::path::Path::new(&files(id)[0]).exists());
    if !here {
        return None;
    }
    let mut paths: Vec<String> = vec!["/proc/stat".into(), "/proc/meminfo".into()];
    paths.extend(ids.iter().flat_map(|id| files(id)));
    let mut rounds = Vec::new();
    for _ in 0..100 {
        let started = thread_cpu();
        for path in &paths {
            let _ = std::fs::read_to_string(path);
        }
        rounds.push((thread_cpu() - started) * 1000.0);
    }
    Some(crate::stats::median(&mut rounds))
}

/// This thread's CPU seconds.
fn thread_cpu() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// A webhook receiver on loopback: each POST's body and when it arrived.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(Instant, String)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let url = format!("http://{}/hook", listener.local_addr().expect("bound"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let kept = got.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let mut raw = Vec::new();
                    let mut buf = [0u8; 8192];
                    // The head, then as much body as it says.
                    let body = loop {
                        let Ok(n) = socket.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        raw.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&raw).to_string();
                        let Some((head, body)) = text.split_once("\r\n\r\n") else {
                            continue;
                        };
                        let length = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break body.to_string();
                        }
                    };
                    kept.lock().unwrap().push((Instant::now(), body));
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        Self { url, got, task }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    /// Milliseconds from `since` to the first and to the `n`th message after `from` that
    /// names `container` (or the last within 30 s).
    async fn arrivals(&self, container: &str, from: usize, n: usize, since: Instant) -> (f64, f64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let times: Vec<Instant> = self.got.lock().unwrap()[from..]
                .iter()
                .filter(|(_, body)| body.contains(container))
                .map(|(at, _)| *at)
                .collect();
            if times.len() >= n || Instant::now() > deadline {
                let ms = |at: Option<&Instant>| {
                    at.map_or(f64::NAN, |at| {
                        at.duration_since(since).as_secs_f64() * 1000.0
                    })
                };
                return (ms(times.first()), ms(times.last()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
