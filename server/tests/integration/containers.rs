//! The JSON API over real containers: list, inspect by id, short id and name, 404, 400.

use crate::common::{Fixture, TestServer};
use serde_json::Value;

fn find<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|c| c["name"] == name)
}

#[tokio::test]
async fn list_shows_labelled_containers_with_project_and_state() {
    let server = TestServer::start().await;
    let web = Fixture::running(
        "web",
        &[
            "--label",
            "com.docker.compose.project=berth-it-shop",
            "--label",
            "com.docker.compose.service=web",
        ],
    );
    let idle = Fixture::new("idle", false, &[], &["true"]);

    let (status, list) = server.get_json("/api/containers").await;
    assert_eq!(status, 200);
    let row = find(&list, &web.name).expect("the running fixture is listed");
    assert_eq!(row["id"], web.id.as_str());
    assert_eq!(row["state"], "running");
    assert_eq!(row["image"], "berth-test/busybox:latest");
    assert_eq!(row["project"], "berth-it-shop");
    assert_eq!(row["service"], "web");
    assert!(row["status"].as_str().unwrap().starts_with("Up"), "{row}");
    assert!(row["created"].as_i64().unwrap() > 1_600_000_000);

    let row = find(&list, &idle.name).expect("a created (never started) container is listed");
    assert_eq!(row["state"], "created");
    assert_eq!(row["project"], Value::Null);

    let (status, dashboard) = server.get_json("/api/dashboard").await;
    assert_eq!(status, 200);
    let states = &dashboard["containers_by_state"];
    assert!(states["running"].as_u64().unwrap() >= 1, "{dashboard}");
    assert!(states["created"].as_u64().unwrap() >= 1, "{dashboard}");
    let counted: u64 = states
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, dashboard["containers_total"].as_u64().unwrap());
    assert!(dashboard["images"].as_i64().unwrap() >= 1);
    assert!(!dashboard["engine_version"].as_str().unwrap().is_empty());
    assert!(!dashboard["host_name"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn inspect_by_id_short_id_and_name_hides_env_values() {
    let server = TestServer::start().await;
    let c = Fixture::running(
        "inspect",
        &[
            "-e",
            "BERTH_SECRET=hunter2-do-not-leak",
            "-e",
            "MODE=test",
            "--restart",
            "on-failure:3",
            "--label",
            "berth.role=fixture",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
            "--tmpfs",
            "/scratch",
            "-w",
            "/tmp",
        ],
    );

    for reference in [c.id.as_str(), &c.id[..12], c.name.as_str()] {
        let (status, body) = server.get(&format!("/api/containers/{reference}")).await;
        assert_eq!(status, 200, "{reference}: {body}");
        assert!(
            !body.contains("hunter2"),
            "env values must never leave the server: {body}"
        );
        let detail: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(detail["id"], c.id.as_str());
        assert_eq!(detail["name"], c.name.as_str());
        assert_eq!(detail["running"], true);
        assert_eq!(detail["command"], serde_json::json!(["sleep", "600"]));
        assert_eq!(detail["working_dir"], "/tmp");
        let env: Vec<&str> = detail["env_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            env.contains(&"BERTH_SECRET") && env.contains(&"MODE"),
            "{env:?}"
        );
        assert_eq!(detail["restart_policy"], "on-failure");
        assert_eq!(detail["restart_max_retries"], 3);
        assert_eq!(detail["labels"]["berth.role"], "fixture");
        assert!(
            detail["health"].is_string(),
            "a health check reports a status: {detail}"
        );
    }
}

#[tokio::test]
async fn unknown_container_is_404_json() {
    let server = TestServer::start().await;
    for reference in ["berth-no-such-container", "ffffffffffff0000"] {
        let (status, body) = server
            .get_json(&format!("/api/containers/{reference}"))
            .await;
        assert_eq!(status, 404, "{body}");
        assert!(
            body["error"].as_str().unwrap().contains(reference),
            "{body}"
        );
    }
    let (status, body) = server.get_json("/api/no/such/endpoint").await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn invalid_references_are_400_json_before_docker() {
    let server = TestServer::start().await;
    let too_long = "a".repeat(256);
    for reference in [
        "a$b",
        "-leading-dash",
        ".hidden",
        "..x",
        "a%2Fb",
        "sp%20ace",
        too_long.as_str(),
    ] {
        let (status, body) = server
            .get_json(&format!("/api/containers/{reference}"))
            .await;
        assert_eq!(status, 400, "{reference}: {body}");
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    // Not valid UTF-8 once decoded: axum's rejection, still JSON.
    let (status, body) = server.get_json("/api/containers/%FF").await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn projects_group_labelled_containers_and_unknown_names_are_404() {
    let server = TestServer::start().await;
    let project = "berth-it-projects";
    let label = |service: &str| {
        [
            "--label".to_string(),
            format!("com.docker.compose.project={project}"),
            "--label".to_string(),
            format!("com.docker.compose.service={service}"),
        ]
    };
    let web = label("web");
    let web = Fixture::running("proj-web", &web.each_ref().map(String::as_str));
    let db = label("db");
    let db = Fixture::new(
        "proj-db",
        false,
        &db.each_ref().map(String::as_str),
        &["true"],
    );

    let (status, list) = server.get_json("/api/projects").await;
    assert_eq!(status, 200);
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == project)
        .unwrap_or_else(|| panic!("{project} is listed: {list}"));
    assert_eq!(entry["containers"].as_array().unwrap().len(), 2);
    assert_eq!(entry["services"], serde_json::json!(["db", "web"]));
    assert_eq!(entry["states"]["running"], 1);
    assert_eq!(entry["states"]["created"], 1);

    let (status, one) = server.get_json(&format!("/api/projects/{project}")).await;
    assert_eq!(status, 200);
    let names: Vec<_> = one["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, [db.name.clone(), web.name.clone()]);

    let (status, body) = server
        .get_json("/api/projects/berth-it-no-such-project")
        .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no such compose project"),
        "{body}"
    );
    let (status, body) = server.get_json("/api/projects/bad%20name").await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("invalid project name"),
        "{body}"
    );

    // The pages answer with the same statuses.
    assert_eq!(server.get(&format!("/projects/{project}")).await.0, 200);
    assert_eq!(
        server.get("/projects/berth-it-no-such-project").await.0,
        404
    );
}

#[tokio::test]
async fn host_snapshot_serves_pages_before_their_socket() {
    let server = TestServer::start().await;
    let (status, host) = server.get_json("/api/host").await;
    assert_eq!(status, 200);
    assert!(host["memory_total"].as_u64().unwrap() > 0, "{host}");
    assert!(host["memory_used"].as_u64().unwrap() > 0, "{host}");
    assert!(
        !host["cpu_per_core"].as_array().unwrap().is_empty(),
        "{host}"
    );
    // The dashboard is rendered with it: a value, not the placeholder.
    let (status, html) = server.get("/").await;
    assert_eq!(status, 200);
    let memory = html
        .split("data-testid=\"host-memory\"")
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .unwrap_or_default();
    assert!(
        memory.contains(" of "),
        "host memory before any socket: {memory:?}"
    );
}

#[tokio::test]
async fn container_stats_last_known_after_the_socket_closes() {
    let server = TestServer::start().await;
    let watched = Fixture::running("stats-watched", &[]);
    let never = Fixture::running("stats-never", &[]);

    let (status, body) = server
        .get_json(&format!("/api/containers/{}/stats", watched.id))
        .await;
    assert_eq!((status, body), (200, Value::Null), "nothing streamed yet");

    let mut ws = crate::common::WsClient::connect(
        &server.ws_url(&format!("/ws/containers/{}/stats", watched.id)),
    )
    .await
    .unwrap();
    let frame = ws.next(std::time::Duration::from_secs(10)).await.unwrap();
    assert!(
        matches!(frame, app::frames::Frame::ContainerStats(_)),
        "{frame:?}"
    );
    ws.close().await;

    // By name too: the reference is resolved like everywhere else.
    let (status, last) = server
        .get_json(&format!("/api/containers/{}/stats", watched.name))
        .await;
    assert_eq!(status, 200);
    assert!(last["pids"].as_u64().unwrap() >= 1, "{last}");
    assert!(last["memory_limit"].as_u64().unwrap() > 0, "{last}");
    let (status, body) = server
        .get_json(&format!("/api/containers/{}/stats", never.id))
        .await;
    assert_eq!((status, body), (200, Value::Null));
    let (status, _) = server
        .get_json("/api/containers/berth-it-no-such/stats")
        .await;
    assert_eq!(status, 404);

    // The stats tab is rendered with the known sample: the pids card holds a number.
    let (status, html) = server
        .get(&format!("/containers/{}?tab=stats", watched.id))
        .await;
    assert_eq!(status, 200);
    let pids = html
        .split("data-testid=\"stats-pids\"")
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default();
    assert!(
        pids.parse::<u64>().is_ok_and(|n| n >= 1),
        "pids before any socket: {pids:?}"
    );
}
