//! The live streams over real WebSockets against real containers: sharing, cleanup, limits,
//! backpressure, endings, refusals. Counts come from `/metrics`, i.e. from the registry.

use crate::common::{Ended, Fixture, LOAD_SENSITIVE, TestServer, WsClient, docker};
use app::frames::{Frame, LogLine, LogStream, StreamKind};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(10);
/// The kind most counts here are of: a container's logs.
const LOGS: &str = "container_logs";

/// A container printing `line N` every 50 ms.
fn ticker(tag: &str, options: &[&str]) -> Fixture {
    Fixture::new(
        tag,
        true,
        options,
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done",
        ],
    )
}

fn logs(frames: &[Frame]) -> Vec<LogLine> {
    crate::common::lines(frames)
}

fn kind(k: &str) -> Option<String> {
    Some(format!("kind=\"{k}\""))
}

/// `metric` of the streams of kind `k`, polled until it is `n` or `within` has passed (as
/// [`TestServer::wait_metric`]); the last value.
async fn wait_count(server: &TestServer, metric: &str, k: &str, n: f64, within: Duration) -> f64 {
    server
        .wait_metric(metric, kind(k).as_deref(), within, |v| v == n)
        .await
}

/// `metric` of the streams of kind `k`, now.
async fn count(server: &TestServer, metric: &str, k: &str) -> f64 {
    server.metric(metric, kind(k).as_deref()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_log_viewers_leave_nothing_behind() {
    let _serial = LOAD_SENSITIVE.lock().await;
    let server = TestServer::start().await;
    let containers: Vec<Fixture> = (0..5).map(|i| ticker(&format!("five{i}"), &[])).collect();
    // Warm baseline: one full cycle of the same shape first. Some client state is built
    // lazily, and how much depends on concurrency (the first Docker request alone starts a
    // task that stays); measured cold, that one-time state looked like a leak. A per-cycle
    // leak still fails: the soak run shows 20,000 sockets end at the warm count.
    let mut warm = Vec::new();
    for c in &containers {
        warm.push(
            server
                .open_ws(&format!("/ws/containers/{}/logs?tail=5", c.id))
                .await,
        );
    }
    for client in &mut warm {
        client.next(WAIT).await.expect("a log line");
    }
    for client in warm {
        client.close().await;
    }
    wait_count(&server, "berth_hubs", LOGS, 0.0, SETTLE).await;
    wait_count(
        &server,
        "berth_upstream_streams",
        "container_logs",
        0.0,
        SETTLE,
    )
    .await;
    // The lowest of a few readings: a scrape's just-closed connection can still be
    // winding down (two tasks) when the next one counts.
    let mut baseline = f64::MAX;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        baseline = baseline.min(server.metric("berth_tokio_alive_tasks", None).await);
    }
    let mut clients = Vec::new();
    for c in &containers {
        let mut client = server
            .open_ws(&format!("/ws/containers/{}/logs?tail=5", c.id))
            .await;
        let first = client.next(WAIT).await.expect("a log line");
        assert!(
            matches!(first, Frame::Logs(ref b) if b.origins[0].container == c.id && b.lines[0].text.starts_with("line ")),
            "{first:?}"
        );
        clients.push(client);
    }
    assert_eq!(count(&server, "berth_hubs", LOGS).await, 5.0);
    assert_eq!(count(&server, "berth_upstream_streams", LOGS).await, 5.0);
    assert_eq!(count(&server, "berth_ws_clients", LOGS).await, 5.0);

    for client in clients {
        client.close().await;
    }
    assert_eq!(
        wait_count(&server, "berth_hubs", LOGS, 0.0, SETTLE).await,
        0.0
    );
    assert_eq!(
        wait_count(
            &server,
            "berth_upstream_streams",
            "container_logs",
            0.0,
            SETTLE
        )
        .await,
        0.0
    );
    assert_eq!(count(&server, "berth_ws_clients", LOGS).await, 0.0);
    let tasks = server
        .wait_metric("berth_tokio_alive_tasks", None, SETTLE, |v| v <= baseline)
        .await;
    assert!(
        tasks <= baseline,
        "alive tasks {tasks} after the viewers left, warm baseline {baseline}"
    );
    let created = count(&server, "berth_hubs_created_total", LOGS).await;
    assert!(created >= 10.0, "{created}");
    assert_eq!(
        count(&server, "berth_hubs_removed_total", LOGS).await,
        created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_viewers_share_one_upstream_and_a_late_joiner_gets_the_tail() {
    // 20 is the default per-address limit; the late joiner is the 21st.
    let server = TestServer::start_with(|s| s.sockets.limit_per_kind = 21).await;
    let c = ticker("shared", &[]);
    let url = server.ws_url(&format!("/ws/containers/{}/logs?tail=0", c.id));
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(WsClient::connect(&url).await.unwrap());
    }
    assert_eq!(
        wait_count(&server, "berth_ws_clients", LOGS, 20.0, SETTLE).await,
        20.0
    );
    assert_eq!(count(&server, "berth_upstream_streams", LOGS).await, 1.0);
    assert_eq!(count(&server, "berth_hubs", LOGS).await, 1.0);

    // Every client sees the same numbered lines: same seq, same text.
    let mut seen = Vec::new();
    for client in &mut clients {
        let frames = client
            .collect(WAIT, |f| logs(f).last().is_some_and(|l| l.seq >= 30))
            .await;
        seen.push(
            logs(&frames)
                .into_iter()
                .map(|l| (l.seq, l.text.clone()))
                .collect::<Vec<_>>(),
        );
    }
    let common: Vec<_> = seen[0]
        .iter()
        .filter(|(seq, _)| (20..=30).contains(seq))
        .cloned()
        .collect();
    assert_eq!(common.len(), 11, "{:?}", seen[0]);
    for other in &seen[1..] {
        let mine: Vec<_> = other
            .iter()
            .filter(|(seq, _)| (20..=30).contains(seq))
            .cloned()
            .collect();
        assert_eq!(mine, common);
    }

    // A late joiner gets the last 5 lines from the hub's ring, then live ones, without a gap.
    let mut late = server
        .open_ws(&format!("/ws/containers/{}/logs?tail=5", c.id))
        .await;
    let frames = late.collect(WAIT, |f| f.len() >= 10).await;
    let seqs: Vec<u64> = logs(&frames).iter().map(|l| l.seq).collect();
    assert_eq!(seqs.len(), 10);
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive: {seqs:?}"
    );
    // The others had seen line 30 before it joined, so its 5-line tail starts at 26 or later.
    assert!(seqs[0] >= 26, "the tail is the newest history: {seqs:?}");
    assert_eq!(count(&server, "berth_upstream_streams", LOGS).await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sixth_system_stats_socket_from_one_address_is_refused() {
    let server = TestServer::start_with(|s| s.hubs.system_interval_ms = 200).await;
    let url = server.ws_url("/ws/system/stats");
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(WsClient::connect(&url).await.unwrap());
    }
    let Err((status, body)) = WsClient::connect(&url).await else {
        panic!("the sixth socket must be refused");
    };
    assert_eq!(status, 429);
    assert!(
        body["error"].as_str().unwrap().contains("limit is 5"),
        "{body}"
    );
    assert_eq!(
        server
            .metric("berth_ws_rejected_total", Some("reason=\"per_ip_limit\""))
            .await,
        1.0
    );

    // The sampler is shared and alive: a sample with per-core CPU figures arrives.
    let sample = clients[0].next(WAIT).await.unwrap();
    let Frame::SystemStats(stats) = sample else {
        panic!("{sample:?}")
    };
    assert!(!stats.cpu_per_core.is_empty() && stats.memory_total > 0 && stats.uptime_secs > 0);
    assert_eq!(
        count(&server, "berth_upstream_streams", "system_stats").await,
        1.0
    );

    // Upgrades abandoned mid-handshake never keep a permit. One slot is freed first, so each
    // abandoned upgrade is admitted (takes the permit) before it is dropped.
    clients.pop().unwrap().close().await;
    let held = |n: usize| server.permits(StreamKind::SystemStats, n, SETTLE);
    assert_eq!(held(4).await, 4);
    for attempt in 0..10 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let request = format!(
            "GET /ws/system/stats HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            server.authority()
        );
        // A handshake dropped by the previous attempt may not even have reached the server
        // when `held` looked, and then holds the last slot for a moment: 429 until its
        // permit comes back. A permit that never came back would keep it 429.
        let deadline = tokio::time::Instant::now() + SETTLE;
        let raw = loop {
            let mut raw = tokio::net::TcpStream::connect(server.authority())
                .await
                .unwrap();
            raw.write_all(request.as_bytes()).await.unwrap();
            if attempt % 2 == 1 {
                // Odd attempts vanish mid-handshake, before reading the answer.
                break raw;
            }
            // The 101 proves it was admitted with a permit; then the client vanishes.
            let mut head = [0u8; 12];
            raw.read_exact(&mut head).await.unwrap();
            if &head == b"HTTP/1.1 101" {
                break raw;
            }
            assert!(
                &head == b"HTTP/1.1 429" && tokio::time::Instant::now() < deadline,
                "attempt {attempt}: {}",
                String::from_utf8_lossy(&head)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        drop(raw);
        assert_eq!(held(4).await, 4, "attempt {attempt}: the permit came back");
    }
    assert_eq!(held(4).await, 4, "permits == open sockets");
    // The last attempt vanished mid-handshake too: as in the loop, its request may reach the
    // server only now and hold the slot for a moment. A permit that never came back would
    // keep it 429 past the deadline.
    let deadline = tokio::time::Instant::now() + SETTLE;
    let client = loop {
        match WsClient::connect(&url).await {
            Ok(client) => break client,
            Err((429, _)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(refused) => panic!("a slot is free: {refused:?}"),
        }
    };
    clients.push(client);
    assert_eq!(held(5).await, 5);

    // One leaves: a new one is accepted once the server has released its permit.
    clients.pop().unwrap().close().await;
    wait_count(&server, "berth_ws_clients", "system_stats", 4.0, SETTLE).await;
    clients.push(
        WsClient::connect(&url)
            .await
            .expect("accepted after one closed"),
    );
    for client in clients {
        client.close().await;
    }
    assert_eq!(
        wait_count(
            &server,
            "berth_upstream_streams",
            "system_stats",
            0.0,
            SETTLE
        )
        .await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_cannot_keep_up_is_told_then_closed() {
    let _serial = LOAD_SENSITIVE.lock().await;
    // The send timeout is longer than the client's first pause: with a small receive
    // buffer the sends stall within that pause, and it must end in a lag, not in a close
    // (a 2 s timeout raced the queue: closed first on a fast machine, never on a loaded one).
    let server = TestServer::start_with(|s| {
        s.hubs.ws_capacity = 64;
        s.sockets.ws_send_timeout_ms = 8000;
        // A small hub: what the stalled socket misses is dropped after 1 MiB, not 8.
        s.hubs.hub_max_bytes = 1024 * 1024;
    })
    .await;
    // A flood far larger than socket buffers plus the queue, for as long as the test runs,
    // in long lines: what fills the sockets is bytes, and a debug Berth on a loaded machine
    // handles lines, not bytes, slowly (short lines filled 4 MiB only after the wait).
    let c = Fixture::new(
        "burst",
        true,
        &[],
        &["sh", "-c", "sleep 1; yes \"$(printf '%16000s' x)\""],
    );
    // A small receive buffer: what backs up is Berth's queue, not the kernel's 32 MiB
    // autotuned window (which a flood slowed by load did not fill within the wait).
    let mut slow = WsClient::connect_with_receive_buffer(
        &server.ws_url(&format!("/ws/containers/{}/logs?tail=0", c.id)),
        64 * 1024,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await; // not reading: the server's sends back up
    let frames = slow
        .collect(WAIT, |f| {
            f.iter().any(|f| matches!(f, Frame::Lagged { .. }))
        })
        .await;
    let missed: u64 = frames
        .iter()
        .map(|f| {
            if let Frame::Lagged { missed } = f {
                *missed
            } else {
                0
            }
        })
        .sum();
    assert!(missed > 0, "a lagged frame tells the client what it missed");
    assert!(count(&server, "berth_ws_lagged_messages_total", LOGS).await > 0.0);
    // It stops reading again for longer than the send timeout: closed as too slow (4008),
    // and its permit is released. It reads again once the server has decided, while the
    // close frame waits behind what it did not read.
    assert_eq!(
        wait_count(
            &server,
            "berth_ws_slow_closes_total",
            "container_logs",
            1.0,
            Duration::from_secs(30)
        )
        .await,
        1.0,
        "the server closes it as too slow, once"
    );
    let mut ended = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        match slow.next(WAIT).await {
            Ok(_) => continue,
            Err(e) => {
                ended = Some(e);
                break;
            }
        }
    }
    assert_eq!(ended, Some(Ended::Closed(Some(4008))), "closed as too slow");
    assert_eq!(
        wait_count(&server, "berth_ws_clients", LOGS, 0.0, SETTLE).await,
        0.0
    );
    assert_eq!(
        server.permits(StreamKind::ContainerLogs, 0, SETTLE).await,
        0,
        "the permit is released"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_container_ends_its_stream_and_its_hub() {
    let server = TestServer::start().await;
    let c = ticker("removed", &[]);
    let mut client = server.container_ws(&c.id, "stats").await;
    let mut logs_client = server.container_ws(&c.id, "logs").await;
    let sample = client.next(WAIT).await.unwrap();
    assert!(
        matches!(sample, Frame::ContainerStats(ref s) if s.pids > 0 && s.memory_used > 0),
        "{sample:?}"
    );
    logs_client.next(WAIT).await.unwrap();

    docker(&["rm", "-f", &c.id]);
    for client in [&mut client, &mut logs_client] {
        let reason = client.end_reason(WAIT).await;
        assert!(reason.contains("container"), "{reason}");
        assert_eq!(
            client.next(WAIT).await.unwrap_err(),
            Ended::Closed(Some(1000))
        );
    }
    assert_eq!(
        wait_count(&server, "berth_hubs", "container_stats", 0.0, SETTLE).await,
        0.0
    );
    assert_eq!(
        wait_count(&server, "berth_hubs", LOGS, 0.0, SETTLE).await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_vanishes_is_dropped_after_the_pong_timeout() {
    let server = TestServer::start_with(|s| {
        s.sockets.ws_ping_ms = 100;
        s.sockets.ws_pong_timeout_ms = 400;
    })
    .await;
    let c = ticker("vanish", &[]);
    // Connected, then never read again: it neither answers pings nor closes.
    let silent = server.container_ws(&c.id, "logs").await;
    assert_eq!(
        wait_count(&server, "berth_ws_clients", LOGS, 1.0, SETTLE).await,
        1.0
    );
    assert_eq!(
        wait_count(&server, "berth_hubs", LOGS, 0.0, WAIT).await,
        0.0
    );
    assert_eq!(count(&server, "berth_upstream_streams", LOGS).await, 0.0);
    assert_eq!(
        server.permits(StreamKind::ContainerLogs, 0, SETTLE).await,
        0,
        "the vanished client's permit is released"
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_the_upgrade() {
    let server = TestServer::start().await;
    let c = Fixture::running(
        "refuse",
        &["--label", "com.docker.compose.project=berth-it-refuse"],
    );
    let id = &c.id;
    let cases = [
        (format!("/ws/containers/{id}/logs?tail=abc"), 400),
        (format!("/ws/containers/{id}/logs?tail=10001"), 400),
        (format!("/ws/containers/{id}/logs?timestamps=maybe"), 400),
        ("/ws/containers/bad$id/logs".to_string(), 400),
        (
            "/ws/containers/berth-no-such-container/logs".to_string(),
            404,
        ),
        (
            "/ws/containers/berth-no-such-container/stats".to_string(),
            404,
        ),
        ("/ws/projects/berth-no-such-project/logs".to_string(), 404),
        ("/ws/projects/bad$name/logs".to_string(), 400),
        ("/ws/projects/berth-it-refuse/logs?tail=-1".to_string(), 400),
    ];
    for (path, expected) in cases {
        let Err((status, body)) = WsClient::connect(&server.ws_url(&path)).await else {
            panic!("{path} must be refused");
        };
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let Err((status, _)) = WsClient::connect_with(
        &server.ws_url("/ws/system/stats"),
        &[("origin", "http://evil.example")],
    )
    .await
    else {
        panic!("a cross-origin upgrade must be refused");
    };
    assert_eq!(status, 403);
    assert_eq!(
        server
            .metric("berth_ws_rejected_total", Some("reason=\"origin\""))
            .await,
        1.0
    );
    // Same origin is fine.
    let own = format!("http://{}", server.base.trim_start_matches("http://"));
    WsClient::connect_with(&server.ws_url("/ws/system/stats"), &[("origin", &own)])
        .await
        .unwrap()
        .close()
        .await;
    // Nothing was created for any refused request.
    assert_eq!(count(&server, "berth_hubs_created_total", LOGS).await, 0.0);
    assert_eq!(
        count(&server, "berth_hubs_created_total", "project_logs").await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_logs_merge_services_and_follow_containers_that_start_later() {
    let server = TestServer::start().await;
    let project = format!("berth-it-proj-{}", std::process::id());
    let _web = Fixture::service(
        "proj-web",
        &project,
        "web",
        "while true; do echo web says hi; sleep 0.1; done",
    );
    let mut client = server
        .open_ws(&format!("/ws/projects/{project}/logs?tail=1"))
        .await;
    let frames = client.collect(WAIT, |f| !logs(f).is_empty()).await;
    let first = logs(&frames)[0].clone();
    assert_eq!(first.service.as_deref(), Some("web"));
    assert_eq!(first.text, "web says hi");

    let worker = Fixture::service(
        "proj-worker",
        &project,
        "worker",
        "echo worker started >&2; sleep 600",
    );
    let frames = client
        .collect(WAIT, |f| {
            logs(f)
                .iter()
                .any(|l| l.service.as_deref() == Some("worker"))
        })
        .await;
    let line = logs(&frames)
        .into_iter()
        .find(|l| l.service.as_deref() == Some("worker"))
        .expect("the later container joins the stream");
    assert_eq!(line.text, "worker started");
    assert_eq!(line.stream, LogStream::Stderr);
    assert_eq!(line.container, worker.id);
    let seqs: Vec<u64> = logs(&frames).iter().map(|l| l.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "one sequence across containers: {seqs:?}"
    );
    assert_eq!(
        count(&server, "berth_upstream_streams", "project_logs").await,
        1.0
    );
    client.close().await;
    assert_eq!(
        wait_count(&server, "berth_hubs", "project_logs", 0.0, SETTLE).await,
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_every_socket_with_1001() {
    let mut server = TestServer::start_with(|s| s.hubs.system_interval_ms = 200).await;
    let c = ticker("shutdown", &[]);
    let mut logs_client = server.container_ws(&c.id, "logs").await;
    let mut stats_client = server.open_ws("/ws/system/stats").await;
    logs_client.next(WAIT).await.unwrap();
    stats_client.next(WAIT).await.unwrap();

    let took = server.shut_down().await;
    for client in [&mut logs_client, &mut stats_client] {
        let frames = client
            .collect(WAIT, |f| matches!(f.last(), Some(Frame::End { .. })))
            .await;
        assert!(
            matches!(frames.last(), Some(Frame::End { reason, .. }) if reason.contains("shutting down")),
            "{frames:?}"
        );
        assert_eq!(
            client.next(WAIT).await.unwrap_err(),
            Ended::Closed(Some(1001))
        );
    }
    assert!(
        took < Duration::from_secs(5),
        "the server stopped (took {took:?})"
    );
    // Sessions and upstreams are their own tasks: they finish just after the server does.
    let registry = &server.state.sockets.registry;
    let idle = || {
        registry
            .counts()
            .iter()
            .all(|(_, c)| c.upstreams == 0 && c.hubs == 0)
    };
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !idle() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(idle(), "{:?}", registry.counts());
}
