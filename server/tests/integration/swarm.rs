//! Issue 11, Swarm: a single-node swarm on a private engine (`docker swarm init
//! --advertise-addr 127.0.0.1`), a service of two replicas of the test image. Its nodes,
//! services and tasks through the API and the pages, and its merged live log as one hub
//! per service, with both replicas' lines, counted per engine and gone with its last client.

use crate::common::{PrivateEngine, TestServer, WsClient, docker_endpoint};
use app::frames::Frame;
use std::{collections::BTreeSet, time::Duration};

const WAIT: Duration = Duration::from_secs(30);

/// A swarm service on `engine`, removed on drop.
struct Service<'a> {
    engine: &'a PrivateEngine,
    name: String,
}

impl<'a> Service<'a> {
    fn start(engine: &'a PrivateEngine, replicas: u32) -> Self {
        let name = format!("berth-it-svc-{}", std::process::id());
        let replicas = replicas.to_string();
        engine.docker(&[
            "service",
            "create",
            "--detach",
            "--name",
            &name,
            "--label",
            "berth.test=1",
            "--replicas",
            &replicas,
            crate::common::TEST_IMAGE,
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo replica line $i; sleep 0.2; done",
        ]);
        Self { engine, name }
    }
}

impl Drop for Service<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["-H", &self.engine.host, "service", "rm", &self.name])
            .output();
    }
}

/// A private engine that is a swarm manager (initialised once; its data stays).
fn swarm_engine() -> PrivateEngine {
    let engine = PrivateEngine::start("swarm", false);
    let state = engine.docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
    if state != "active" {
        engine.docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    }
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_replicas_stream_through_one_hub_and_its_pages_show_them() {
    let engine = swarm_engine();
    let service = Service::start(&engine, 2);
    let server =
        TestServer::with_engines(&[("local", docker_endpoint()), ("swarm", engine.endpoint())])
            .await;
    let name = service.name.as_str();

    // Both replicas running, as the swarm lists them.
    let deadline = tokio::time::Instant::now() + WAIT;
    let swarm = loop {
        let (status, swarm) = server.get_json("/api/engines/swarm/swarm").await;
        let running = swarm["services"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["name"] == name))
            .map(|s| (s["running"].as_u64(), s["desired"].as_u64()));
        if (status == 200 && running == Some((Some(2), Some(2))))
            || tokio::time::Instant::now() >= deadline
        {
            break swarm;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(swarm["manager"], true, "{swarm}");
    let node = &swarm["nodes"][0];
    assert_eq!(
        (&node["role"], &node["state"], &node["leader"]),
        (&"manager".into(), &"ready".into(), &true.into()),
        "{node}"
    );
    let service_json = swarm["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {swarm}"));
    assert_eq!(service_json["running"], 2, "{swarm}");
    assert_eq!(service_json["mode"], "replicated");

    let (status, detail) = server
        .get_json(&format!("/api/engines/swarm/services/{name}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    let tasks: BTreeSet<String> = detail["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "running")
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tasks,
        BTreeSet::from([format!("{name}.1"), format!("{name}.2")])
    );

    // An engine that manages no swarm says so; its services are 404, before any upgrade.
    let (status, local) = server.get_json("/api/engines/local/swarm").await;
    assert_eq!((status, &local["manager"]), (200, &false.into()));
    assert_eq!(
        server
            .get_json(&format!("/api/engines/local/services/{name}"))
            .await
            .0,
        404
    );
    let refused =
        WsClient::connect(&server.ws_url(&format!("/ws/engines/local/services/{name}/logs")))
            .await
            .err()
            .expect("no swarm, no stream");
    assert_eq!(refused.0, 404);
    let bad = WsClient::connect(&server.ws_url("/ws/engines/swarm/services/a%20b/logs"))
        .await
        .err()
        .expect("a malformed reference");
    assert_eq!(bad.0, 400);

    // The merged log: both replicas, one hub for two viewers.
    let path = format!("/ws/engines/swarm/services/{name}/logs?tail=10");
    let mut first = server.open_ws(&path).await;
    let replicas = |frames: &[Frame]| -> BTreeSet<String> {
        crate::common::lines(frames)
            .into_iter()
            .filter(|l| l.text.starts_with("replica line"))
            .filter_map(|l| l.service)
            .collect()
    };
    let frames = first.collect(WAIT, |f| replicas(f).len() == 2).await;
    assert_eq!(
        replicas(&frames),
        tasks,
        "lines of both replicas, named by task"
    );
    let second = server.open_ws(&path).await;
    let scope = "engine=\"swarm\",kind=\"service_logs\"";
    let clients = server
        .wait_metric("berth_ws_clients", Some(scope), WAIT, |v| v == 2.0)
        .await;
    assert_eq!(clients, 2.0);
    assert_eq!(server.metric("berth_hubs", Some(scope)).await, 1.0);
    assert_eq!(
        server.metric("berth_upstream_streams", Some(scope)).await,
        1.0
    );
    first.close().await;
    second.close().await;
    for metric in ["berth_hubs", "berth_upstream_streams", "berth_ws_clients"] {
        let left = server
            .wait_metric(metric, Some(scope), WAIT, |v| v == 0.0)
            .await;
        assert_eq!(left, 0.0, "{metric} after the last client");
    }

    // The pages, rendered on the server.
    let (status, html) = server.get("/engines/swarm/swarm").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"/engines/swarm/services/{name}\"")));
    assert!(html.contains("2/2"));
    let (status, html) = server.get(&format!("/engines/swarm/services/{name}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("{name}.1")) && html.contains(&format!("{name}.2")));
    assert_eq!(server.get("/engines/local/services/nope").await.0, 404);
    drop(service);
}
