//! Issue 11, engines beyond the local socket, each a real dockerd of its own
//! (scripts/private-engine.sh): one over TCP with TLS, its certificate verified against the
//! engine's CA; one stopped and started under a running Berth while another engine streams;
//! and the test engine reached over SSH through a private sshd.

use crate::{
    common::{PrivateEngine, PrivateSshd, TestServer, WsClient, docker_endpoint},
    engines::{following, ticker_on},
};
use app::frames::Frame;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// `/api/engines`'s entry for `name`.
async fn engine_info(server: &TestServer, name: &str) -> serde_json::Value {
    let (status, engines) = server.get_json("/api/engines").await;
    assert_eq!(status, 200);
    engines
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no engine {name} in {engines}"))
}

/// Polls until engine `name`'s reachability is `up`; its last entry.
async fn wait_reachable(server: &TestServer, name: &str, up: bool) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let info = engine_info(server, name).await;
        if info["health"]["reachable"] == up || tokio::time::Instant::now() >= deadline {
            return info;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log_lines(frames: &[Frame]) -> usize {
    crate::common::lines(frames).len()
}

/// Whether `engine`'s container list (answered 200) holds container `id`.
async fn lists(server: &TestServer, engine: &str, id: &str) -> bool {
    let (status, list) = server
        .get_json(&format!("/api/engines/{engine}/containers"))
        .await;
    assert_eq!(status, 200, "{engine}: {list}");
    list.as_array().unwrap().iter().any(|x| x["id"] == id)
}

/// Asserts `engine` is down, its error saying `why`, and its routes answer 503.
async fn refused(server: &TestServer, engine: &str, why: &str) {
    let info = engine_info(server, engine).await;
    assert_eq!(info["health"]["reachable"], false, "{info}");
    let error = info["health"]["error"].as_str().unwrap_or_default();
    assert!(
        error.to_ascii_lowercase().contains(why),
        "{engine} is refused, saying {why:?}: {error}"
    );
    let (status, _) = server
        .get_json(&format!("/api/engines/{engine}/containers"))
        .await;
    assert_eq!(status, 503);
}

/// Asserts hubs, upstreams and clients with `labels` come back to 0.
async fn all_closed(server: &TestServer, labels: &str) {
    for metric in ["berth_hubs", "berth_upstream_streams", "berth_ws_clients"] {
        let left = server
            .wait_metric(metric, Some(labels), WAIT, |v| v == 0.0)
            .await;
        assert_eq!(left, 0.0, "{metric} {{{labels}}} after the last client");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_engine_is_verified_and_streams_like_the_local_one() {
    let remote = PrivateEngine::start("tls", true);
    let server = TestServer::with_engines(&[
        ("local", docker_endpoint()),
        ("tls", remote.tls_endpoint("ca.pem")),
        // The same engine, trusted through a CA that did not sign its certificate.
        ("impostor", remote.tls_endpoint("other-ca.pem")),
    ])
    .await;
    let info = wait_reachable(&server, "tls", true).await;
    assert_eq!(info["health"]["reachable"], true, "{info}");
    assert!(
        info["health"]["endpoint"]
            .as_str()
            .unwrap()
            .contains("(TLS)")
    );
    let c = ticker_on(Some(&remote.host), "tls");

    assert!(
        lists(&server, "tls", &c.id).await,
        "the TLS engine lists it"
    );
    assert!(
        !lists(&server, "local", &c.id).await,
        "the local one does not"
    );

    let path = format!("/ws/engines/tls/containers/{}/logs", c.id);
    let client = following(&server, &path, &c.id).await;
    let logs = "kind=\"container_logs\"";
    let on = |engine: &str| format!("engine=\"{engine}\",{logs}");
    assert_eq!(server.metric("berth_hubs", Some(&on("tls"))).await, 1.0);
    assert_eq!(
        server
            .metric("berth_upstream_streams", Some(&on("tls")))
            .await,
        1.0
    );
    assert_eq!(server.metric("berth_hubs", Some(&on("local"))).await, 0.0);
    client.close().await;
    all_closed(&server, &on("tls")).await;

    // Never trusted on sight: the wrong CA keeps the engine down, with the reason.
    refused(&server, "impostor", "certificate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_engine_holds_up_no_other_and_comes_back_by_itself() {
    let two = PrivateEngine::start("two", false);
    let server =
        TestServer::with_engines(&[("local", docker_endpoint()), ("two", two.endpoint())]).await;
    assert_eq!(
        wait_reachable(&server, "two", true).await["health"]["reachable"],
        true
    );
    assert!(server.engine.wait_until_up(WAIT).await);
    let here = ticker_on(None, "outage-here");
    let there = ticker_on(Some(&two.host), "outage-there");
    let mut local = following(
        &server,
        &format!("/ws/engines/local/containers/{}/logs", here.id),
        &here.id,
    )
    .await;
    let mut remote = following(
        &server,
        &format!("/ws/engines/two/containers/{}/logs", there.id),
        &there.id,
    )
    .await;

    two.stop();
    // Its stream ends, saying a retry may work; the local one carries on.
    let ended = remote
        .collect(WAIT, |f| f.iter().any(|f| matches!(f, Frame::End { .. })))
        .await;
    assert!(
        ended
            .iter()
            .any(|f| matches!(f, Frame::End { retry: true, .. })),
        "the stopped engine's stream ends with retry: {ended:?}"
    );
    let info = wait_reachable(&server, "two", false).await;
    assert_eq!(info["health"]["reachable"], false, "{info}");
    let carried_on = local
        .collect(Duration::from_secs(2), |f| log_lines(f) >= 10)
        .await;
    assert!(
        log_lines(&carried_on) >= 10,
        "the local engine's stream carries on: {carried_on:?}"
    );
    let started = std::time::Instant::now();
    assert_eq!(server.get_json("/api/engines/two/containers").await.0, 503);
    assert_eq!(
        server.get_json("/api/engines/local/containers").await.0,
        200
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "nobody waits on it"
    );
    let refused =
        WsClient::connect(&server.ws_url(&format!("/ws/engines/two/containers/{}/logs", there.id)))
            .await
            .err()
            .expect("refused while down");
    assert_eq!(refused.0, 503);

    // Started again: Berth finds it without a restart, and streams from it.
    two.restart();
    let info = wait_reachable(&server, "two", true).await;
    assert_eq!(info["health"]["reachable"], true, "{info}");
    two.docker(&["start", &there.id]);
    let again = following(
        &server,
        &format!("/ws/engines/two/containers/{}/logs", there.id),
        &there.id,
    )
    .await;

    for client in [local, again] {
        client.close().await;
    }
    drop(remote);
    for engine in ["local", "two"] {
        all_closed(&server, &format!("engine=\"{engine}\"")).await;
    }
    drop(here);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ssh_engine_checks_the_host_key_and_leaves_no_ssh_behind() {
    let sshd = PrivateSshd::start(&docker_endpoint().to_string());
    let mut server = TestServer::with_engines(&[
        ("local", docker_endpoint()),
        ("ssh", sshd.endpoint("known_hosts")),
        // The same sshd, but known_hosts holds another key for it.
        ("spoofed", sshd.endpoint("wrong_known_hosts")),
    ])
    .await;
    let info = wait_reachable(&server, "ssh", true).await;
    assert_eq!(info["health"]["reachable"], true, "{info}");
    let c = ticker_on(None, "ssh");
    assert!(
        lists(&server, "ssh", &c.id).await,
        "the engine behind ssh lists it"
    );
    // A changed host key is refused, and said so.
    refused(&server, "spoofed", "host key").await;

    // A log stream is one ssh, ended with it. The supervisor holds none (it pings), and the
    // list the API read lets its event stream go a second after the read.
    let client = following(
        &server,
        &format!("/ws/engines/ssh/containers/{}/logs", c.id),
        &c.id,
    )
    .await;
    assert!(sshd.clients("known_hosts") >= 1);
    client.close().await;
    let left = server
        .wait_metric(
            "berth_upstream_streams",
            Some("engine=\"ssh\""),
            WAIT,
            |v| v == 0.0,
        )
        .await;
    assert_eq!(left, 0.0);
    // A ping is an ssh for a moment every 5 s: seeing none once is the proof.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = sshd.clients("known_hosts");
    while seen > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = sshd.clients("known_hosts");
    }
    assert_eq!(seen, 0, "no ssh stays behind");
    server.shut_down().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while sshd.clients("known_hosts") > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sshd.clients("known_hosts"), 0, "no ssh outlives Berth");
}
