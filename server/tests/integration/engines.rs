//! Issue 11, the paths that name an engine: `/api/engines`, `/api/engines/{engine}/…` and
//! `/ws/engines/{engine}/…`, with today's paths as the default engine's (`local`). One hub
//! per stream whichever path opened it: hub keys carry the engine.

use crate::common::{Fixture, TestServer, WsClient, docker_endpoint};
use app::frames::Frame;
use berth::Endpoint;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// A container printing a numbered line every 100 ms.
fn ticker(tag: &str) -> Fixture {
    ticker_on(None, tag)
}

/// [`ticker`] on the engine at `host`.
pub fn ticker_on(host: Option<&str>, tag: &str) -> Fixture {
    Fixture::on(
        host,
        tag,
        true,
        &[],
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.1; done",
        ],
    )
}

/// Opens `path`'s log socket and waits for a line of container `id`.
pub async fn following(server: &TestServer, path: &str, id: &str) -> WsClient {
    let mut client = server.open_ws(path).await;
    let frames = client
        .collect(WAIT, |f| f.iter().any(|f| matches!(f, Frame::Logs(_))))
        .await;
    assert!(
        crate::common::lines(&frames)
            .iter()
            .any(|l| l.container == id),
        "{path}: no line of {id}"
    );
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_engine_answers_under_its_name_and_without_it() {
    let server = TestServer::start().await;
    let c = Fixture::running("engines-api", &[]);

    let (status, engines) = server.get_json("/api/engines").await;
    assert_eq!(status, 200);
    assert_eq!(engines[0]["name"], "local");
    assert_eq!(engines[0]["default"], true);
    assert_eq!(engines[0]["health"]["reachable"], true);

    let ids = |list: &serde_json::Value| -> Vec<String> {
        let mut ids: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let (_, alias) = server.get_json("/api/containers").await;
    let (status, named) = server.get_json("/api/engines/local/containers").await;
    assert_eq!(status, 200);
    assert!(ids(&named).contains(&c.id));
    assert_eq!(ids(&alias), ids(&named));
    let (status, detail) = server
        .get_json(&format!("/api/engines/local/containers/{}", c.name))
        .await;
    assert_eq!((status, detail["id"].as_str()), (200, Some(c.id.as_str())));
    assert_eq!(server.get_json("/api/engines/local/health").await.0, 200);

    // An engine Berth does not know, or a name that cannot be one: JSON errors.
    let (status, error) = server.get_json("/api/engines/nope/containers").await;
    assert_eq!(status, 404);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("no engine named nope")
    );
    let (status, error) = server.get_json("/api/engines/No%20pe/containers").await;
    assert_eq!(status, 400);
    assert!(error["error"].as_str().unwrap().contains("engine name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_opened_by_either_path_is_one_hub() {
    let server = TestServer::start().await;
    let c = ticker("engines-ws");
    let kind = Some("kind=\"container_logs\"");
    let by_alias = following(&server, &format!("/ws/containers/{}/logs", c.id), &c.id).await;
    let by_name = following(
        &server,
        &format!("/ws/engines/local/containers/{}/logs", c.id),
        &c.id,
    )
    .await;
    assert_eq!(server.metric("berth_hubs", kind).await, 1.0);
    assert_eq!(server.metric("berth_upstream_streams", kind).await, 1.0);
    assert_eq!(server.metric("berth_ws_clients", kind).await, 2.0);
    by_alias.close().await;
    by_name.close().await;
    let hubs = server
        .wait_metric("berth_hubs", kind, WAIT, |v| v == 0.0)
        .await;
    assert_eq!(hubs, 0.0, "the last client out removes the hub");

    // Refused before the upgrade, as JSON.
    let refused =
        WsClient::connect(&server.ws_url(&format!("/ws/engines/nope/containers/{}/logs", c.id)))
            .await
            .err()
            .expect("no such engine");
    assert_eq!(refused.0, 404);
    assert!(
        refused.1["error"]
            .as_str()
            .unwrap()
            .contains("no engine named nope")
    );
}

/// Several engines (`--engine`): each its own hubs and its own state. Two names for the
/// real engine and one that is not there: the missing one answers 503 at once and never
/// holds up the others; the same container through two engines is two hubs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_engine_is_its_own_and_a_missing_one_holds_up_nothing() {
    let server = TestServer::with_engines(&[
        ("a", docker_endpoint()),
        ("b", docker_endpoint()),
        ("gone", Endpoint::Unix("/nonexistent/docker.sock".into())),
    ])
    .await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let c = ticker("engines-two");

    let (_, engines) = server.get_json("/api/engines").await;
    let names: Vec<_> = engines
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["default"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("a".into(), true),
            ("b".into(), false),
            ("gone".into(), false)
        ]
    );
    assert_eq!(engines[2]["health"]["reachable"], false);

    let started = std::time::Instant::now();
    let (status, error) = server.get_json("/api/engines/gone/containers").await;
    assert_eq!(status, 503, "{error}");
    assert!(started.elapsed() < WAIT, "a missing engine answers at once");
    for path in [
        "/api/containers",
        "/api/engines/a/containers",
        "/api/engines/b/containers",
    ] {
        let (status, list) = server.get_json(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == c.id.as_str()),
            "{path}"
        );
    }

    let kind = Some("kind=\"container_logs\"");
    let mut clients = Vec::new();
    for engine in ["a", "b"] {
        let path = format!("/ws/engines/{engine}/containers/{}/logs", c.id);
        clients.push(following(&server, &path, &c.id).await);
    }
    assert_eq!(
        server.metric("berth_hubs", kind).await,
        2.0,
        "one hub per engine"
    );
    assert_eq!(server.metric("berth_upstream_streams", kind).await, 2.0);
    let refused =
        WsClient::connect(&server.ws_url(&format!("/ws/engines/gone/containers/{}/logs", c.id)))
            .await
            .err()
            .expect("the missing engine refuses before the upgrade");
    assert_eq!(refused.0, 503);
    for client in clients {
        client.close().await;
    }
    let hubs = server
        .wait_metric("berth_hubs", kind, WAIT, |v| v == 0.0)
        .await;
    assert_eq!(hubs, 0.0);
}

/// The pages of several engines, rendered on the server: an engine's pages link within it,
/// only a down engine's pages carry the banner, the dashboard shows every engine, and the
/// all-engines list names each container's engine and the engine that did not answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_stay_on_their_engine_and_only_a_down_engine_shows_its_banner() {
    let server = TestServer::with_engines(&[
        ("a", docker_endpoint()),
        ("gone", Endpoint::Unix("/nonexistent/docker.sock".into())),
    ])
    .await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let c = Fixture::running("engines-pages", &[]);
    let banner = "banner engine-down";

    let (status, html) = server.get("/engines/a/containers").await;
    assert_eq!(status, 200);
    assert!(html.contains(&c.name));
    assert!(
        html.contains(&format!("href=\"/engines/a/containers/{}\"", c.id)),
        "an engine's list links to its own container pages"
    );
    assert!(!html.contains(banner));
    let (status, html) = server
        .get(&format!("/engines/a/containers/{}?tab=logs", c.id))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains(&c.id));
    assert!(!html.contains(banner));

    let (status, html) = server.get("/engines/gone/containers").await;
    assert_eq!(status, 503);
    assert!(html.contains(banner), "the down engine's page says so");
    let (status, html) = server.get("/containers").await;
    assert_eq!(status, 200, "the default engine is up");
    assert!(!html.contains(banner));
    assert_eq!(server.get("/engines/nope/containers").await.0, 404);

    let (status, html) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(
        !html.contains(banner),
        "another engine's outage is no banner here"
    );
    for (engine, state) in [("a", "up"), ("gone", "unreachable")] {
        let card = html
            .split(&format!(
                "data-engine=\"{engine}\" class=\"card engine-card\""
            ))
            .nth(1)
            .and_then(|card| card.split("</h3>").next())
            .unwrap_or_else(|| panic!("no card for {engine}"));
        assert!(
            card.contains(&format!(">{state}</span>")),
            "{engine} is {state}: {card}"
        );
    }

    let (status, all) = server.get_json("/api/all/containers").await;
    assert_eq!(status, 200);
    assert!(
        all["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["engine"] == "a" && x["id"] == c.id.as_str())
    );
    assert_eq!(all["unanswered"][0]["engine"], "gone");
    let (status, html) = server.get("/all/containers").await;
    assert_eq!(status, 200);
    let name = format!("data-name=\"{}\"", c.name);
    assert!(
        has_tag(&html, &[&name, "data-engine=\"a\""]),
        "its row names its engine"
    );
    assert!(has_tag(
        &html,
        &["engine-unanswered", "data-engine=\"gone\""]
    ));
}

/// Whether an opening tag in `html` carries every one of `attributes`, in any order.
fn has_tag(html: &str, attributes: &[&str]) -> bool {
    html.split('<')
        .filter_map(|tag| tag.split('>').next())
        .any(|tag| attributes.iter().all(|a| tag.contains(a)))
}
