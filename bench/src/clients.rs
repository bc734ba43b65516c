//! The benchmark's clients, all over loopback: WebSocket followers that count (and time) the
//! log lines they receive, direct bollard log streams for the same counts without Berth,
//! socket open/close cycles, and a bare HTTP GET that times the first byte.

use bollard::{Docker, query_parameters::LogsOptions};
use futures::StreamExt;
use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinSet,
};
use tokio_tungstenite::{connect_async, tungstenite::Message};
use tokio_util::sync::CancellationToken;

/// A set of followers: one line counter each, stopped (and their sockets closed) together.
pub struct Followers {
    pub counters: Vec<Arc<AtomicU64>>,
    /// Write-to-arrival latencies in ms, when asked for.
    pub latencies: Arc<Mutex<Vec<f64>>>,
    stop: CancellationToken,
    tasks: JoinSet<()>,
}

impl Followers {
    pub fn total(&self) -> u64 {
        self.counters
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    pub fn snapshot(&self) -> Vec<u64> {
        self.counters
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// The log lines a frame carries, from its head: a batch says its count first (issue 14);
/// a server from before batches sent a frame per line. None for other frames.
fn line_count(text: &str) -> Option<u64> {
    if text.starts_with(r#"{"type":"log","#) {
        return Some(1);
    }
    let rest = text.strip_prefix(r#"{"type":"logs","count":"#)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok()
}

/// `n` followers of a container's live logs through Berth at `addr` (`latency`: with Docker's
/// timestamps, compared with each line's arrival).
pub async fn log_followers(addr: &str, container: &str, n: usize, latency: bool) -> Followers {
    let timestamps = if latency { "&timestamps=true" } else { "" };
    let url = format!("ws://{addr}/ws/containers/{container}/logs?tail=0{timestamps}");
    ws_followers(&url, n, latency).await
}

/// Opens `n` WebSocket followers of `url` (at most 50 handshakes at a time) and waits until
/// all are connected. With `latency`, each log frame's Docker timestamp is compared with
/// its arrival.
pub async fn ws_followers(url: &str, n: usize, latency: bool) -> Followers {
    let stop = CancellationToken::new();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = JoinSet::new();
    let mut counters = Vec::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(50));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(n.max(1));
    for _ in 0..n {
        let counter = Arc::new(AtomicU64::new(0));
        counters.push(counter.clone());
        let (url, stop, latencies, gate, ready) = (
            url.to_string(),
            stop.clone(),
            latencies.clone(),
            gate.clone(),
            ready_tx.clone(),
        );
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            let (mut ws, _) = match connect_async(&url).await {
                Ok(ok) => ok,
                Err(e) => panic!("connect {url}: {e}"),
            };
            drop(permit);
            let _ = ready.send(()).await;
            let mut mine = Vec::new();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    msg = ws.next() => match msg {
                        Some(Ok(Message::Text(text))) => {
                            let Some(lines) = line_count(&text) else { continue };
                            counter.fetch_add(lines, Ordering::Relaxed);
                            if latency {
                                let arrived = now_nanos();
                                let frame: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                                let stamps = match frame["lines"].as_array() {
                                    Some(lines) => lines.iter().map(|l| l["timestamp"].clone()).collect(),
                                    None => vec![frame["timestamp"].clone()],
                                };
                                for at in stamps.iter().filter_map(|t| t.as_str().and_then(crate::stats::docker_time_nanos)) {
                                    mine.push((arrived - at) as f64 / 1e6);
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            let _ = ws.close(None).await;
            if latency {
                latencies.lock().unwrap().extend(mine);
            }
        });
    }
    drop(ready_tx);
    for _ in 0..n {
        ready_rx.recv().await.expect("a follower connected");
    }
    Followers {
        counters,
        latencies,
        stop,
        tasks,
    }
}

/// `n` direct log streams of container `id` from the engine (what a per-client design
/// costs), counting lines.
pub async fn direct_followers(docker: &Docker, id: &str, n: usize) -> Followers {
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut counters = Vec::new();
    for _ in 0..n {
        let counter = Arc::new(AtomicU64::new(0));
        counters.push(counter.clone());
        let options = LogsOptions {
            follow: true,
            stdout: true,
            stderr: true,
            tail: "0".into(),
            ..Default::default()
        };
        let mut stream = docker.logs(id, Some(options));
        let stop = stop.clone();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    chunk = stream.next() => match chunk {
                        Some(Ok(out)) => {
                            let lines = out.into_bytes().iter().filter(|b| **b == b'\n').count();
                            counter.fetch_add(lines as u64, Ordering::Relaxed);
                        }
                        _ => break,
                    },
                }
            }
        });
    }
    Followers {
        counters,
        latencies: Arc::default(),
        stop,
        tasks,
    }
}

/// Opens and closes `total` sockets, `concurrency` at a time, round-robin over `urls`.
pub async fn cycle(urls: &[String], total: usize, concurrency: usize) {
    let mut done = 0;
    while done < total {
        let batch = concurrency.min(total - done);
        let opened = futures::future::join_all((0..batch).map(|i| {
            let url = urls[(done + i) % urls.len()].clone();
            async move {
                let (ws, _) = connect_async(&url)
                    .await
                    .unwrap_or_else(|e| panic!("connect {url}: {e}"));
                ws
            }
        }))
        .await;
        futures::future::join_all(opened.into_iter().map(|mut ws| async move {
            let _ = ws.close(None).await;
            // Drain until the server's close arrives, as a browser would.
            while let Ok(Some(Ok(_))) =
                tokio::time::timeout(Duration::from_secs(5), ws.next()).await
            {}
        }))
        .await;
        done += batch;
    }
}

/// An HTTP answer: status, the header block, the body, the time to its first byte.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
    pub ttfb: Duration,
}

impl Answer {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim().eq_ignore_ascii_case(name)).then(|| value.trim())
        })
    }
}

/// One request over a fresh connection. HTTP/1.0, so the body is never chunked. `extra` is
/// more header lines, each ending in CRLF; a JSON `body` is sent with its length.
pub async fn http(
    addr: &str,
    method: &str,
    path: &str,
    extra: &str,
    body: Option<&str>,
) -> Result<Answer, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{extra}");
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut first = [0u8; 1];
    stream
        .read_exact(&mut first)
        .await
        .map_err(|e| e.to_string())?;
    let ttfb = started.elapsed();
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = vec![first[0]];
    raw.extend(rest);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map_or((text.as_str(), ""), |(h, b)| (h, b));
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
        ttfb,
    })
}

/// GET over a fresh connection: status, body, and the time to the first response byte.
pub async fn http_get(addr: &str, path: &str) -> Result<(u16, String, Duration), String> {
    http(addr, "GET", path, "", None)
        .await
        .map(|a| (a.status, a.body, a.ttfb))
}

/// One series from `/metrics`, e.g. `("berth_hubs", Some("kind=\"container_logs\""))`.
pub async fn metric(addr: &str, name: &str, label: Option<&str>) -> f64 {
    let (_, body, _) = http_get(addr, "/metrics").await.unwrap_or_default();
    // Series are labelled by kind and engine: every series of `name` with `label` counts.
    let values: Vec<f64> = body
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(rest) => rest.split_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            label
                .is_none_or(|want| labels.split(',').any(|l| l == want))
                .then(|| value.trim().parse().ok())?
        })
        .collect();
    if values.is_empty() {
        f64::NAN
    } else {
        values.iter().sum()
    }
}

/// The sum of a metric over the four stream kinds.
pub async fn metric_all_kinds(addr: &str, name: &str) -> f64 {
    let mut sum = 0.0;
    for kind in [
        "container_logs",
        "container_stats",
        "project_logs",
        "system_stats",
    ] {
        sum += metric(addr, name, Some(&format!("kind=\"{kind}\""))).await;
    }
    sum
}
