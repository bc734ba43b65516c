//! The soak run (ignored by default; see README): opens and closes 10,000 sockets across the
//! four stream kinds, twice, against real containers and prints RSS before and after, and hubs,
//! upstreams and tasks after. Run it in release:
//!
//!     cargo test --release -p berth --test integration -- --ignored soak --nocapture
//!
//! Berth runs in this process, so RSS includes the test's own clients (closed by then).

use crate::common::{Fixture, TestServer, WsClient};
use std::time::{Duration, Instant};

const SOCKETS: usize = 10_000;
const CONCURRENCY: usize = 50;
/// The four stream kinds the soak opens, and whose hubs and upstreams it counts after.
const KINDS: &[&str] = &[
    "container_logs",
    "container_stats",
    "project_logs",
    "system_stats",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak run: cargo test --release -p berth --test integration -- --ignored soak --nocapture"]
async fn soak_ten_thousand_sockets() {
    let server = TestServer::start_with(|s| {
        s.sockets.limit_per_kind = CONCURRENCY * 2;
        s.sockets.limit_system_stats = CONCURRENCY * 2;
        s.sockets.limit_global = CONCURRENCY * 8;
    })
    .await;
    let project = format!("berth-soak-{}", std::process::id());
    let c = Fixture::service(
        "soak",
        &project,
        "app",
        "i=0; while true; do i=$((i+1)); echo soak $i; sleep 0.02; done",
    );
    let paths = [
        format!("/ws/containers/{}/logs?tail=20", c.id),
        format!("/ws/containers/{}/stats", c.id),
        format!("/ws/projects/{project}/logs?tail=20"),
        "/ws/system/stats".to_string(),
    ];
    let urls: Vec<String> = paths.iter().map(|p| server.ws_url(p)).collect();

    let cycle = |n: usize, offset: usize| {
        let urls = urls.clone();
        async move {
            let opened = futures::future::join_all((0..n).map(|i| {
                let url = urls[(offset + i) % urls.len()].clone();
                async move { WsClient::connect(&url).await.expect("accepted") }
            }))
            .await;
            futures::future::join_all(opened.into_iter().map(WsClient::close)).await;
        }
    };
    let settle = || async {
        for kind in KINDS {
            let label = format!("kind=\"{kind}\"");
            server
                .wait_metric("berth_hubs", Some(&label), Duration::from_secs(5), |v| {
                    v == 0.0
                })
                .await;
        }
    };

    // Warm: every kind once, so lazily built state (pools, allocator arenas) is in place.
    cycle(CONCURRENCY, 0).await;
    settle().await;
    let rss_before = server.metric("process_resident_memory_bytes", None).await;
    let tasks_before = server.metric("berth_tokio_alive_tasks", None).await;

    // Two rounds: growth that repeats in the second is a leak; growth that does not is the
    // allocator keeping its high-water mark.
    let started = Instant::now();
    let mut rss_rounds = Vec::new();
    for _round in 0..2 {
        for batch in 0..SOCKETS / CONCURRENCY {
            cycle(CONCURRENCY, batch * CONCURRENCY).await;
        }
        settle().await;
        rss_rounds.push(server.metric("process_resident_memory_bytes", None).await);
    }
    let elapsed = started.elapsed();

    // Cancelled upstreams and closing sockets finish just after their hub is gone.
    let settled = Instant::now();
    let tasks_after = server
        .wait_metric(
            "berth_tokio_alive_tasks",
            None,
            Duration::from_secs(10),
            |v| v <= tasks_before,
        )
        .await;
    let settled = settled.elapsed();
    let rss_after = server.metric("process_resident_memory_bytes", None).await;
    let mut hubs = 0.0;
    let mut upstreams = 0.0;
    for kind in KINDS {
        let label = format!("kind=\"{kind}\"");
        hubs += server.metric("berth_hubs", Some(&label)).await;
        upstreams += server.metric("berth_upstream_streams", Some(&label)).await;
    }
    let mib = |b: f64| b / (1024.0 * 1024.0);
    println!(
        "soak: 2 x {SOCKETS} sockets opened and closed ({} per kind per round, {CONCURRENCY} at a time) in {:.1} s",
        SOCKETS / 4,
        elapsed.as_secs_f64()
    );
    println!(
        "soak: RSS warm {:.1} MiB, after round 1 {:.1} MiB ({:+.1}), after round 2 {:.1} MiB ({:+.1} over round 1), end {:.1} MiB ({:.3}x warm)",
        mib(rss_before),
        mib(rss_rounds[0]),
        mib(rss_rounds[0] - rss_before),
        mib(rss_rounds[1]),
        mib(rss_rounds[1] - rss_rounds[0]),
        mib(rss_after),
        rss_after / rss_before
    );
    println!(
        "soak: after: hubs {hubs}, upstreams {upstreams}, alive tasks {tasks_after} (before {tasks_before}; settled in {:.1} s)",
        settled.as_secs_f64()
    );
    assert_eq!(hubs, 0.0);
    assert_eq!(upstreams, 0.0);
    assert!(
        tasks_after <= tasks_before,
        "tasks back to the warm baseline"
    );
    // Growth that repeats is a leak: the second round may add at most 1 MiB over the
    // first (the first may raise the allocator's high-water mark once).
    let second_round = rss_rounds[1] - rss_rounds[0];
    assert!(
        second_round <= 1024.0 * 1024.0,
        "RSS grew {:.1} MiB in the second round",
        mib(second_round)
    );
}
