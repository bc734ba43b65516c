//! Issue 12, live lists: the container list stream (a snapshot, then upserts and removals as
//! the engine's events report them, a fresh snapshot after the engine comes back), one event
//! stream per engine shared by every list and project log hub, the API answering from the
//! list it keeps, and nothing left running once the last reader is gone.

use crate::common::{Fixture, PrivateEngine, TestServer, WsClient, docker};
use app::frames::{Frame, LiveContainers};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// Reads frames into `list` until `done` holds for it; panics on an early end.
async fn until(
    ws: &mut WsClient,
    list: &mut LiveContainers,
    what: &str,
    done: impl Fn(&LiveContainers) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(list) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next(left).await {
            Ok(frame) => {
                list.apply(frame);
            }
            Err(ended) => panic!("waiting for {what}: the stream ended ({ended:?})"),
        }
    }
}

fn state_of(list: &LiveContainers, id: &str) -> Option<String> {
    list.containers.get(id).map(|c| c.state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_follows_the_cli_and_every_reader_shares_one_event_stream() {
    // The API's hold on the list lasts a second here, so the end is quick to see.
    let server = TestServer::start_with(|s| s.hubs.list_cache_secs = 1).await;
    let c = Fixture::running("list", &[]);
    let member = Fixture::new(
        "list-project",
        true,
        &["--label", "com.docker.compose.project=berth-it-list"],
        &["sleep", "600"],
    );
    let events = "kind=\"events\",engine=\"local\"";

    // Two readers of one engine's list, by both paths: the same snapshot, one hub.
    let mut first = server.open_ws("/ws/containers").await;
    let mut second = server.open_ws("/ws/engines/local/containers").await;
    let (mut a, mut b) = (LiveContainers::default(), LiveContainers::default());
    let frame = first.next(WAIT).await.unwrap();
    assert!(
        matches!(frame, Frame::Containers { .. }),
        "a snapshot first: {frame:?}"
    );
    a.apply(frame);
    assert_eq!(state_of(&a, &c.id).as_deref(), Some("running"));
    until(&mut second, &mut b, "the second snapshot", |l| {
        l.containers.contains_key(&c.id)
    })
    .await;
    // And a project's log hub: it watches for new members through the same events.
    let logs = server
        .open_ws("/ws/projects/berth-it-list/logs?tail=0")
        .await;
    let shared = server
        .wait_metric("berth_internal_subscriptions", Some(events), WAIT, |v| {
            v == 2.0
        })
        .await;
    assert_eq!(shared, 2.0, "the list hub and the project hub read events");
    assert_eq!(
        server.metric("berth_upstream_streams", Some(events)).await,
        1.0,
        "one Docker event stream for all of them"
    );
    assert_eq!(
        server
            .metric("berth_hubs", Some("kind=\"container_list\""))
            .await,
        1.0
    );
    assert_eq!(
        server
            .metric("berth_ws_clients", Some("kind=\"container_list\""))
            .await,
        2.0
    );

    // Stopped from the command line: both readers see it, with the same version.
    let asked = Instant::now();
    docker(&["stop", "-t", "0", &c.id]);
    until(&mut first, &mut a, "the stop", |l| {
        state_of(l, &c.id).as_deref() == Some("exited")
    })
    .await;
    println!(
        "docker stop seen on the list {} ms after the CLI was asked",
        asked.elapsed().as_millis()
    );
    until(&mut second, &mut b, "the stop", |l| l.version >= a.version).await;
    assert_eq!(a, b, "every reader holds the same list");

    // The API answers from the same list.
    let (status, listed) = server.get_json("/api/containers").await;
    assert_eq!(status, 200);
    let listed = listed.as_array().unwrap();
    let row = listed.iter().find(|r| r["id"] == c.id.as_str()).unwrap();
    assert_eq!(row["state"], "exited");
    assert_eq!(listed.len(), a.containers.len());

    // Created and removed: an upsert, then a removal.
    let late = Fixture::new("list-late", false, &[], &["sleep", "600"]);
    until(&mut first, &mut a, "the creation", |l| {
        state_of(l, &late.id).as_deref() == Some("created")
    })
    .await;
    docker(&["rm", "-f", &c.id]);
    until(&mut first, &mut a, "the removal", |l| {
        !l.containers.contains_key(&c.id)
    })
    .await;
    drop(late);
    drop(member);

    // Everyone gone, the API's hold expired: no hub, no Docker stream.
    first.close().await;
    second.close().await;
    logs.close().await;
    let left = server
        .wait_metric("berth_upstream_streams", Some(events), WAIT, |v| v == 0.0)
        .await;
    assert_eq!(left, 0.0, "the event stream ends with its last reader");
    for kind in ["events", "container_list"] {
        let label = format!("kind=\"{kind}\"");
        assert_eq!(
            server.metric("berth_hubs", Some(&label)).await,
            0.0,
            "{kind}"
        );
    }
}

/// A client that was told the engine went away reconnects and gets the list afresh, with
/// what changed while the engine was down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_engine_restart_a_reader_gets_a_fresh_snapshot() {
    let engine = PrivateEngine::start("it-list", false);
    let server = TestServer::with_endpoint(engine.endpoint()).await;
    let c = Fixture::on(
        Some(&engine.host),
        "restart-list",
        true,
        &[],
        &["sleep", "600"],
    );
    let url = server.ws_url("/ws/containers");
    let mut ws = WsClient::connect(&url).await.unwrap();
    let mut list = LiveContainers::default();
    until(&mut ws, &mut list, "the snapshot", |l| {
        state_of(l, &c.id).as_deref() == Some("running")
    })
    .await;

    // The engine stops (its containers with it)...
    engine.stop();
    let end = ws
        .collect(WAIT, |f| matches!(f.last(), Some(Frame::End { .. })))
        .await;
    let Some(Frame::End { retry, reason }) = end.last() else {
        panic!("the reader is told the list ended: {end:?}");
    };
    assert!(retry, "worth coming back: {reason}");
    // ...and starts again.
    engine.restart();
    assert!(
        server
            .wait_for_status("/api/health", 200, Duration::from_secs(30))
            .await,
        "the engine is back"
    );
    let mut again = WsClient::connect(&url).await.unwrap();
    let mut fresh = LiveContainers::default();
    let frame = again.next(WAIT).await.unwrap();
    assert!(matches!(frame, Frame::Containers { .. }), "{frame:?}");
    fresh.apply(frame);
    assert_eq!(
        state_of(&fresh, &c.id).as_deref(),
        Some("exited"),
        "the restart stopped it, and the new snapshot says so"
    );
    again.close().await;
    drop(c);
}
