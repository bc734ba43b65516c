//! Issue 12, actions: each container action and its answers on the real engine, bulk with
//! an unknown id, project actions, a viewer's 403, a cross-site POST's 403 and the audit log,
//! and a removed container ending its watched streams with `end` and freeing their hubs.

use crate::{
    common::{Fixture, TestServer},
    signin::{PASSWORD, accounts_server, send_json, sign_in},
};
use app::{frames::Frame, model::Role};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

async fn post(server: &TestServer, path: &str) -> (u16, Value) {
    server.send(Method::POST, path, None).await
}

/// Asserts an action's 200 answer.
async fn acted(server: &TestServer, path: &str, state: &str, changed: bool) {
    let (status, answer) = post(server, path).await;
    assert_eq!(
        (status, &answer),
        (200, &json!({ "state": state, "changed": changed })),
        "{path}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_answers_as_documented() {
    let server = TestServer::start().await;
    let c = Fixture::running("act", &[]);
    let at = |action: &str| format!("/api/containers/{}/{action}", c.id);

    acted(&server, &format!("{}?t=0", at("stop")), "exited", true).await;
    acted(&server, &at("stop"), "exited", false).await;
    acted(&server, &at("start"), "running", true).await;
    acted(&server, &at("start"), "running", false).await;
    acted(&server, &at("pause"), "paused", true).await;
    acted(&server, &at("unpause"), "running", true).await;
    acted(&server, &format!("{}?t=0", at("restart")), "running", true).await;
    // By name too, as every container route takes it.
    let by_name = format!("/api/engines/local/containers/{}/kill?signal=kill", c.name);
    acted(&server, &by_name, "exited", true).await;
    let (status, error) = post(&server, &at("kill")).await;
    assert_eq!(status, 409, "killing a stopped container: {error}");
    assert!(
        error["error"].as_str().unwrap().contains("not running"),
        "{error}"
    );

    for (path, status) in [
        (format!("{}?t=601", at("stop")), 400),
        (format!("{}?signal=SIGNOPE", at("kill")), 400),
        (format!("{}?signal=TERM", at("stop")), 400),
        (format!("{}?t=abc", at("stop")), 400),
        (at("explode"), 400),
        (at("remove"), 405),
        ("/api/containers/berth-no-such-container/stop".into(), 404),
        ("/api/containers/bad$name/stop".into(), 400),
    ] {
        let (got, body) = post(&server, &path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: JSON error");
    }

    // Removal: a running container only with force; then it is gone.
    acted(&server, &at("start"), "running", true).await;
    let remove = format!("/api/containers/{}", c.id);
    let (status, error) = server.send(Method::DELETE, &remove, None).await;
    assert_eq!(status, 409, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("running"),
        "Docker's message: {error}"
    );
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("{remove}?force=true&volumes=true"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(server.get_json(&remove).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_and_project_actions_answer_per_container() {
    let server = TestServer::start().await;
    let (a, b) = (
        Fixture::running("bulk-a", &[]),
        Fixture::running("bulk-b", &[]),
    );
    let (status, results) = server
        .send(
            Method::POST,
            "/api/containers/actions",
            Some(json!({ "action": "stop", "t": 0, "ids": [a.id, "berth-no-such-container", b.name] })),
        )
        .await;
    assert_eq!(status, 200, "{results}");
    let statuses: Vec<_> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (a.id.clone(), 200),
            ("berth-no-such-container".into(), 404),
            (b.name.clone(), 200)
        ],
        "in the order asked, the unknown one failing alone"
    );
    assert_eq!(results[0]["outcome"]["state"], "exited");
    for body in [
        json!({ "action": "stop", "ids": [] }),
        json!({ "action": "stop", "ids": vec!["x"; 101] }),
        json!({ "action": "explode", "ids": ["x"] }),
        json!({ "action": "stop", "ids": ["x"], "signal": "TERM" }),
    ] {
        let (status, error) = server
            .send(Method::POST, "/api/containers/actions", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {error}");
    }

    let project = format!("berth-it-proj-{}", std::process::id());
    let label = format!("com.docker.compose.project={project}");
    let _members = [
        Fixture::running("proj-web", &["--label", &label]),
        Fixture::running("proj-db", &["--label", &label]),
    ];
    let (status, results) = post(&server, &format!("/api/projects/{project}/stop?t=0")).await;
    assert_eq!(status, 200, "{results}");
    let states: Vec<_> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_u64(), r["outcome"]["state"].as_str()))
        .collect();
    assert_eq!(states, [(Some(200), Some("exited")); 2]);
    let (status, _) = post(&server, &format!("/api/projects/{project}/remove")).await;
    assert_eq!(status, 400, "projects are started, stopped or restarted");
    let (status, _) = post(&server, "/api/projects/berth-no-such-project/start").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_watched_container_ends_its_streams_and_frees_their_hubs() {
    let server = TestServer::start().await;
    let c = Fixture::new(
        "act-watched",
        true,
        &[],
        &["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
    );
    let mut logs = server.container_ws(&c.id, "logs").await;
    let mut stats = server.container_ws(&c.id, "stats").await;
    logs.collect(WAIT, |f| f.iter().any(|f| matches!(f, Frame::Logs(_))))
        .await;
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("/api/containers/{}?force=true", c.id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    for client in [&mut logs, &mut stats] {
        let frames = client
            .collect(WAIT, |f| f.iter().any(|f| matches!(f, Frame::End { .. })))
            .await;
        let end = frames.iter().find_map(|f| match f {
            Frame::End { reason, retry } => Some((reason.clone(), *retry)),
            _ => None,
        });
        let (reason, retry) = end.expect("the stream ends with `end`");
        assert!(!retry && reason.contains("container"), "{reason}");
    }
    for kind in ["container_logs", "container_stats"] {
        let hubs = server
            .wait_metric("berth_hubs", Some(&format!("kind=\"{kind}\"")), WAIT, |v| {
                v == 0.0
            })
            .await;
        assert_eq!(hubs, 0.0, "{kind}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_operators_act_only_from_berths_pages_and_every_action_is_audited() {
    let users = [
        ("olga", Role::Operator),
        ("vic", Role::Viewer),
        ("ada", Role::Admin),
    ];
    let (_dir, server) = accounts_server("actions", &users, |_| {}).await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let c = Fixture::running("act-roles", &[]);
    let stop = format!("/api/containers/{}/stop?t=0", c.id);
    let mut cookies = Vec::new();
    for name in ["vic", "olga", "ada"] {
        cookies.push(sign_in(&server, name, PASSWORD).await.1.unwrap());
    }
    let [vic, olga, ada] = <[String; 3]>::try_from(cookies).unwrap();

    let refused = send_json(&server, Method::POST, &stop, &vic, None).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "a viewer may not act"
    );
    // From another site, even an operator's session is refused.
    let cross = crate::signin::client()
        .post(format!("{}{stop}", server.base))
        .header("sec-fetch-site", "cross-site")
        .header("cookie", &olga)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let done = send_json(&server, Method::POST, &stop, &olga, None).await;
    assert_eq!(done.status(), StatusCode::OK);
    let unknown = send_json(
        &server,
        Method::POST,
        "/api/containers/berth-no-such-container/start",
        &olga,
        None,
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    let audit = send_json(
        &server,
        Method::GET,
        "/api/audit?action=container.stop",
        &ada,
        None,
    )
    .await;
    let entries: Value = audit.json().await.unwrap();
    let stopped = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actor"] == "olga")
        .unwrap_or_else(|| panic!("olga's stop in {entries}"));
    assert_eq!(stopped["ok"], true);
    assert!(
        stopped["target"].as_str().unwrap().contains(&c.id),
        "{stopped}"
    );
    assert!(
        stopped["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("127.")),
        "{stopped}"
    );
    let audit = send_json(
        &server,
        Method::GET,
        "/api/audit?action=container.start",
        &ada,
        None,
    )
    .await;
    let entries: Value = audit.json().await.unwrap();
    assert!(
        entries.as_array().unwrap().iter().any(|e| e["ok"] == false
            && e["target"]
                .as_str()
                .unwrap()
                .contains("berth-no-such-container")),
        "a failed action is audited as failed: {entries}"
    );
}
