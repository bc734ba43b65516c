//! Issue 11, Swarm: a single-node swarm on a private engine (`docker swarm init
//! --advertise-addr 127.0.0.1`), a service of two replicas of the test image. Its nodes,
//! services and tasks through the API and the pages, and its merged live log as one hub
//! per service, with both replicas' lines, counted per engine and gone with its last client.
//! Issue 28: operators scale, change the image, force a redeploy, roll back and drain, each
//! checked with the docker CLI; a change read before another is refused (409). Two engines
//! in one swarm (each in a network namespace of its own): a drain moves the tasks to the
//! other node, and a node whose engine stopped shows as down.

use crate::common::{PrivateEngine, TestServer, WsClient, docker_endpoint};
use app::frames::Frame;
use reqwest::Method;
use serde_json::{Value, json};
use std::{collections::BTreeSet, time::Duration};

const WAIT: Duration = Duration::from_secs(30);

/// A swarm service on `engine`, removed on drop.
struct Service<'a> {
    engine: &'a PrivateEngine,
    name: String,
}

impl<'a> Service<'a> {
    /// `berth-it-TAG-PID` with `replicas` of the test image running `script`, made with
    /// the CLI's `options` too.
    fn create(
        engine: &'a PrivateEngine,
        tag: &str,
        replicas: u32,
        options: &[&str],
        script: &str,
    ) -> Self {
        let name = format!("berth-it-{tag}-{}", std::process::id());
        let replicas = replicas.to_string();
        let mut args = vec![
            "service",
            "create",
            "--detach",
            "--name",
            &name,
            "--label",
            "berth.test=1",
            "--replicas",
            &replicas,
        ];
        args.extend_from_slice(options);
        args.extend([crate::common::TEST_IMAGE, "sh", "-c", script]);
        engine.docker(&args);
        Self { engine, name }
    }

    /// Replicas that each print a line every 200 ms.
    fn start(engine: &'a PrivateEngine, replicas: u32) -> Self {
        let script = "i=0; while true; do i=$((i+1)); echo replica line $i; sleep 0.2; done";
        Self::create(engine, "svc", replicas, &[], script)
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
pub(crate) fn swarm_engine() -> PrivateEngine {
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

/// A quick service for changes: replicas that stop at once on SIGTERM, updates that watch
/// each new task for 1 s (Docker's default is 5).
fn quick_service<'a>(engine: &'a PrivateEngine, tag: &str, replicas: u32) -> Service<'a> {
    let options = ["--update-monitor", "1s", "--rollback-monitor", "1s"];
    let script = "trap 'exit 0' TERM; while true; do sleep 1; done";
    Service::create(engine, tag, replicas, &options, script)
}

/// Waits until `check` holds of what the docker CLI says, `what` naming it.
async fn until_cli(
    engine: &PrivateEngine,
    args: &[&str],
    what: &str,
    check: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = engine.docker(args);
        if check(&out) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the CLI says {out:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `docker service ls`'s replicas column for `name` (`running/desired`).
async fn replicas_are(engine: &PrivateEngine, name: &str, want: &str) {
    let filter = format!("name={name}");
    until_cli(
        engine,
        &[
            "service",
            "ls",
            "--filter",
            &filter,
            "--format",
            "{{.Name}} {{.Replicas}}",
        ],
        &format!("{name} at {want}"),
        |out| out.lines().any(|l| l == format!("{name} {want}")),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_scale_update_roll_back_and_drain_a_real_swarm() {
    let engine = swarm_engine();
    let service = quick_service(&engine, "changes", 2);
    let name = service.name.clone();
    let server =
        TestServer::with_engines(&[("local", docker_endpoint()), ("swarm", engine.endpoint())])
            .await;
    let api = |what: &str| format!("/api/engines/swarm/services/{name}/{what}");
    replicas_are(&engine, &name, "2/2").await;

    // Scale 2 → 3 → 1, counted by the CLI; the answer carries the new version.
    let (status, detail) = server
        .get_json(&format!("/api/engines/swarm/services/{name}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    let read = detail["service"]["version"].as_u64().unwrap();
    let (status, changed) = server
        .send(
            Method::POST,
            &api("scale"),
            Some(json!({ "replicas": 3, "version": read })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert!(
        changed["service"]["version"].as_u64().unwrap() > read,
        "{changed}"
    );
    replicas_are(&engine, &name, "3/3").await;
    // The version read before that change is refused now: nothing is overwritten.
    let (status, refused) = server
        .send(
            Method::POST,
            &api("scale"),
            Some(json!({ "replicas": 5, "version": read })),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("changed since"),
        "{refused}"
    );
    let (status, _) = server
        .send(Method::POST, &api("scale"), Some(json!({ "replicas": 1 })))
        .await;
    assert_eq!(status, 200);
    replicas_are(&engine, &name, "1/1").await;

    // Two viewers of the swarm share one hub and one engine stream.
    let live = "/ws/engines/swarm/swarm";
    let mut watching = server.open_ws(live).await;
    let other = server.open_ws(live).await;
    let scope = "engine=\"swarm\",kind=\"swarm_updates\"";
    assert_eq!(
        server
            .wait_metric("berth_ws_clients", Some(scope), WAIT, |v| v == 2.0)
            .await,
        2.0
    );
    assert_eq!(server.metric("berth_hubs", Some(scope)).await, 1.0);
    assert_eq!(
        server.metric("berth_upstream_streams", Some(scope)).await,
        1.0
    );
    let id = detail["service"]["id"].as_str().unwrap().to_string();
    // The service's tasks in a frame: (image, state) of each.
    let tasks_of = |frame: &Frame| -> Vec<(String, String)> {
        match frame {
            Frame::Swarm(now) => now.tasks.get(&id).map_or(Vec::new(), |tasks| {
                tasks
                    .iter()
                    .map(|t| (t.image.clone(), t.state.clone()))
                    .collect()
            }),
            _ => Vec::new(),
        }
    };

    // A second tag of the imported image: a rolling update to it. No registry has it, so
    // the tag is kept as it is and the answer says so.
    engine.docker(&[
        "tag",
        crate::common::TEST_IMAGE,
        "berth-test/busybox:second",
    ]);
    let (status, changed) = server
        .send(
            Method::POST,
            &api("update"),
            Some(json!({ "image": "berth-test/busybox:second" })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert!(
        changed["warnings"]
            .to_string()
            .contains("no registry gave a digest"),
        "{changed}"
    );
    let spec_image = [
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        name.as_str(),
    ];
    assert_eq!(engine.docker(&spec_image), "berth-test/busybox:second");
    let running = [
        "service",
        "ps",
        "--filter",
        "desired-state=running",
        "--format",
        "{{.Image}} {{.CurrentState}}",
        name.as_str(),
    ];
    until_cli(
        &engine,
        &running,
        "the task replaced by one of the second tag",
        |out| out.lines().count() == 1 && out.starts_with("berth-test/busybox:second Running"),
    )
    .await;
    until_cli(
        &engine,
        &[
            "service",
            "inspect",
            "--format",
            "{{.UpdateStatus.State}}",
            name.as_str(),
        ],
        "the update completed",
        |out| out == "completed",
    )
    .await;
    // The stream showed the task replaced: the old image's task shut down, the new one's
    // running.
    let frames = watching
        .collect(WAIT, |frames| {
            frames.last().is_some_and(|f| {
                let tasks = tasks_of(f);
                tasks.contains(&("berth-test/busybox:second".into(), "running".into()))
                    && tasks.iter().any(|(image, state)| {
                        image == crate::common::TEST_IMAGE && state == "shutdown"
                    })
            })
        })
        .await;
    let seen: Vec<Vec<(String, String)>> = frames
        .iter()
        .map(tasks_of)
        .filter(|t| !t.is_empty())
        .collect();
    assert!(
        seen.len() >= 2,
        "a frame before and after the update: {seen:?}"
    );
    watching.close().await;
    other.close().await;
    for metric in ["berth_hubs", "berth_upstream_streams", "berth_ws_clients"] {
        let left = server
            .wait_metric(metric, Some(scope), WAIT, |v| v == 0.0)
            .await;
        assert_eq!(left, 0.0, "{metric} after the last viewer");
    }
    let refused = WsClient::connect(&server.ws_url("/ws/engines/local/swarm"))
        .await
        .err()
        .expect("no swarm, no stream");
    assert_eq!(refused.0, 404);

    // Rolled back to the spec before the update.
    let (status, changed) = server.post(&api("rollback")).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(engine.docker(&spec_image), crate::common::TEST_IMAGE);
    until_cli(
        &engine,
        &running,
        "the task back on the first image",
        |out| {
            out.lines().count() == 1
                && out.starts_with(&format!("{} Running", crate::common::TEST_IMAGE))
        },
    )
    .await;

    // A forced redeploy changes nothing but the counter Docker redeploys on.
    let force = [
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ForceUpdate}}",
        name.as_str(),
    ];
    let before: u64 = engine.docker(&force).parse().unwrap();
    let (status, _) = server
        .send(Method::POST, &api("update"), Some(json!({ "force": true })))
        .await;
    assert_eq!(status, 200);
    assert_eq!(engine.docker(&force).parse::<u64>().unwrap(), before + 1);

    // Drain: the node keeps no running task; active again: the task comes back.
    let node = engine.docker(&["node", "ls", "--format", "{{.ID}}"]);
    let availability = format!("/api/engines/swarm/nodes/{node}/availability");
    let (status, drained) = server
        .send(
            Method::POST,
            &availability,
            Some(json!({ "availability": "drain" })),
        )
        .await;
    assert_eq!(
        (status, &drained["availability"]),
        (200, &json!("drain")),
        "{drained}"
    );
    replicas_are(&engine, &name, "0/1").await;
    let (status, _) = server
        .send(
            Method::POST,
            &availability,
            Some(json!({ "availability": "active" })),
        )
        .await;
    assert_eq!(status, 200);
    replicas_are(&engine, &name, "1/1").await;
    assert_eq!(
        engine.docker(&["node", "ls", "--format", "{{.Availability}}"]),
        "Active"
    );

    // Bad input, and engines that manage no swarm.
    for (path, body, want) in [
        (api("scale"), json!({ "replicas": 1001 }), 400),
        (api("update"), json!({ "image": "Bad//Ref" }), 400),
        (api("update"), json!({}), 400),
        (
            format!(
                "/api/engines/swarm/services/no-such-service-{}/scale",
                std::process::id()
            ),
            json!({ "replicas": 1 }),
            404,
        ),
        (
            format!("/api/engines/local/services/{name}/scale"),
            json!({ "replicas": 1 }),
            404,
        ),
        (availability.clone(), json!({ "availability": "away" }), 400),
    ] {
        let (status, answer) = server.send(Method::POST, &path, Some(body.clone())).await;
        assert_eq!(status, want, "{path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
    }
    drop(service);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_labels_secrets_and_configs_on_a_real_swarm() {
    let engine = swarm_engine();
    let server =
        TestServer::with_engines(&[("local", docker_endpoint()), ("swarm", engine.endpoint())])
            .await;
    let pid = std::process::id();

    // Labels added, then one removed, as the CLI reads them.
    let node = engine.docker(&["node", "ls", "--format", "{{.ID}}"]);
    let labels = format!("/api/engines/swarm/nodes/{node}/labels");
    let body = json!({ "add": { "berth-zone": "a", "berth-tier": "web" } });
    let (status, answer) = server.send(Method::POST, &labels, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["labels"]["berth-zone"], "a", "{answer}");
    let spec = [
        "node",
        "inspect",
        "--format",
        "{{json .Spec.Labels}}",
        node.as_str(),
    ];
    let read: serde_json::Value = serde_json::from_str(&engine.docker(&spec)).unwrap();
    assert_eq!(
        (&read["berth-zone"], &read["berth-tier"]),
        (&json!("a"), &json!("web"))
    );
    let body = json!({ "remove": ["berth-tier", "berth-zone"] });
    let (status, answer) = server.send(Method::POST, &labels, Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    let read: serde_json::Value = serde_json::from_str(&engine.docker(&spec)).unwrap();
    assert!(
        read.get("berth-tier").is_none() && read.get("berth-zone").is_none(),
        "{read}"
    );

    // A secret: made, its value in no answer, used by a service and then refused removal
    // naming it, removed once the service is gone.
    let name = format!("berth-it-secret-{pid}");
    let value = format!("the-value-{pid}");
    let body = json!({ "name": name, "data": value });
    let (status, made) = server
        .send(Method::POST, "/api/engines/swarm/secrets", Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    assert!(!made.to_string().contains(&value));
    assert!(
        engine
            .docker(&["secret", "ls", "--format", "{{.Name}}"])
            .lines()
            .any(|l| l == name)
    );
    let mut service = Service::create(
        &engine,
        "secret-user",
        1,
        &["--secret", name.as_str()],
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    );
    let (status, list) = server.get_json("/api/engines/swarm/secrets").await;
    assert_eq!(status, 200, "{list}");
    assert!(!list.to_string().contains(&value));
    let row = crate::common::find_in(&list, "the secret", |s| s["name"] == name.as_str());
    assert_eq!(row["used_by"], json!([service.name]), "{row}");
    let path = format!("/api/engines/swarm/secrets/{name}");
    let (status, refused) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains(&service.name),
        "{refused}"
    );
    engine.docker(&["service", "rm", &service.name]);
    service.name = String::new();
    let (status, _) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    assert!(
        !engine
            .docker(&["secret", "ls", "--format", "{{.Name}}"])
            .lines()
            .any(|l| l == name)
    );

    // A config the same way, with no user.
    let config = format!("berth-it-config-{pid}");
    let body = json!({ "name": config, "data": "port: 80\n" });
    let (status, made) = server
        .send(Method::POST, "/api/engines/swarm/configs", Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    let (status, list) = server.get_json("/api/engines/swarm/configs").await;
    assert_eq!(status, 200);
    crate::common::find_in(&list, "the config", |c| c["name"] == config.as_str());
    let (status, _) = server
        .send(
            Method::DELETE,
            &format!("/api/engines/swarm/configs/{config}"),
            None,
        )
        .await;
    assert_eq!(status, 204);

    // Bad input, and an engine in no swarm.
    for (method, path, body, want) in [
        (
            Method::POST,
            labels.clone(),
            json!({ "add": { "-bad": "x" } }),
            400,
        ),
        (Method::POST, labels.clone(), json!({}), 400),
        (
            Method::POST,
            "/api/engines/swarm/secrets".to_string(),
            json!({ "name": "no good", "data": "x" }),
            400,
        ),
        (
            Method::POST,
            "/api/engines/swarm/secrets".to_string(),
            json!({ "name": "big", "data": "x".repeat(500 * 1024) }),
            413,
        ),
        (
            Method::DELETE,
            format!("/api/engines/swarm/secrets/none-{pid}"),
            Value::Null,
            404,
        ),
        (
            Method::GET,
            "/api/engines/local/secrets".to_string(),
            Value::Null,
            404,
        ),
    ] {
        let body = (!body.is_null()).then_some(body);
        let (status, answer) = server.send(method.clone(), &path, body).await;
        assert_eq!(status, want, "{method} {path}: {answer}");
        assert!(answer["error"].is_string(), "{answer}");
        // A refused name is not repeated: it may be a value pasted in the wrong box.
        assert!(!answer.to_string().contains("no good"), "{answer}");
    }
}

/// The service's update state and Docker's words on it, as Berth reads them.
async fn update_of(server: &TestServer, name: &str) -> (String, String) {
    let (status, detail) = server
        .get_json(&format!("/api/engines/swarm/services/{name}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    let service = &detail["service"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        text(&service["update_state"]),
        text(&service["update_message"]),
    )
}

/// Waits until the service's update state is `want`; Docker's message then.
async fn update_reaches(server: &TestServer, name: &str, want: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (state, message) = update_of(server, name).await;
        if state == want {
            return message;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never {want}: {state} ({message})"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_service_has_no_replicas_and_failed_updates_say_why() {
    let engine = swarm_engine();
    let server =
        TestServer::with_engines(&[("local", docker_endpoint()), ("swarm", engine.endpoint())])
            .await;
    let pid = std::process::id();

    // A global service runs one task a node and has no replicas to set.
    let global = Service {
        engine: &engine,
        name: format!("berth-it-global-{pid}"),
    };
    engine.docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        &global.name,
        "--mode",
        "global",
        crate::common::TEST_IMAGE,
        "sleep",
        "600",
    ]);
    let (_, swarm) = server.get_json("/api/engines/swarm/swarm").await;
    let row = crate::common::find_in(&swarm["services"], "the global service", |s| {
        s["name"] == global.name.as_str()
    });
    assert_eq!(row["mode"], "global", "{row}");
    let path = format!("/api/engines/swarm/services/{}/scale", global.name);
    let (status, said) = server
        .send(Method::POST, &path, Some(json!({ "replicas": 3 })))
        .await;
    assert_eq!(status, 409, "{said}");
    assert!(
        said["error"]
            .as_str()
            .unwrap()
            .contains("not a replicated service"),
        "{said}"
    );
    drop(global);

    // An image no node has: the new task is rejected. Paused (Docker's failure action
    // `pause`), the page shows why; rolled back from Berth, it runs the old image again.
    let missing = "berth-test/nowhere:1";
    let paused = Service::create(
        &engine,
        "paused",
        1,
        &["--update-monitor", "1s", "--update-failure-action", "pause"],
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    );
    replicas_are(&engine, &paused.name, "1/1").await;
    let path = format!("/api/engines/swarm/services/{}/update", paused.name);
    let (status, said) = server
        .send(Method::POST, &path, Some(json!({ "image": missing })))
        .await;
    assert_eq!(status, 200, "{said}");
    let message = update_reaches(&server, &paused.name, "paused").await;
    assert!(message.contains("paused"), "Docker's words: {message:?}");
    let path = format!("/api/engines/swarm/services/{}/rollback", paused.name);
    let (status, said) = server.send(Method::POST, &path, None).await;
    assert_eq!(status, 200, "{said}");
    update_reaches(&server, &paused.name, "rollback_completed").await;
    let image = engine.docker(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        &paused.name,
    ]);
    assert_eq!(image, crate::common::TEST_IMAGE);

    // With the failure action `rollback`, Docker rolls back by itself, and says so.
    let rolled = Service::create(
        &engine,
        "rolled",
        1,
        &[
            "--update-monitor",
            "1s",
            "--rollback-monitor",
            "1s",
            "--update-failure-action",
            "rollback",
        ],
        "trap 'exit 0' TERM; while true; do sleep 1; done",
    );
    replicas_are(&engine, &rolled.name, "1/1").await;
    let path = format!("/api/engines/swarm/services/{}/update", rolled.name);
    let (status, said) = server
        .send(Method::POST, &path, Some(json!({ "image": missing })))
        .await;
    assert_eq!(status, 200, "{said}");
    let message = update_reaches(&server, &rolled.name, "rollback_completed").await;
    assert!(!message.is_empty(), "Docker says why it rolled back");
}

/// Two engines that form one swarm, each in a network namespace of its own
/// (scripts/swarm-pair.sh): `manager` made it, `worker` joined. Both stopped and the
/// namespaces removed on drop.
struct SwarmPair {
    manager: PrivateEngine,
    worker: PrivateEngine,
    /// Last, so the engines are stopped first.
    _stop: PairStop,
}

/// Stops the pair and removes its namespaces on drop: made before the pair starts, so a
/// start that fails halfway is undone too.
struct PairStop;

impl SwarmPair {
    fn start() -> Self {
        let stop = PairStop;
        let sockets = crate::common::script("swarm-pair.sh", &["start"]);
        let mut sockets = sockets.lines().map(|s| format!("unix://{s}"));
        let mut engine = |name: &str| PrivateEngine {
            name: name.into(),
            host: sockets.next().expect("a socket per engine"),
            tls_port: None,
        };
        Self {
            manager: engine("pair-a"),
            worker: engine("pair-b"),
            _stop: stop,
        }
    }
}

impl Drop for PairStop {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/swarm-pair.sh");
        let _ = std::process::Command::new("bash")
            .args([script, "stop"])
            .output();
    }
}

/// The service's running containers on `engine`, as its own CLI lists them.
fn running_on(engine: &PrivateEngine, service: &str) -> usize {
    let label = format!("label=com.docker.swarm.service.name={service}");
    engine
        .docker(&["ps", "-q", "--filter", &label])
        .lines()
        .count()
}

/// Each node's (availability, tasks meant to run on it), as Berth reads the swarm: the
/// manager's first.
async fn nodes_of(server: &TestServer) -> Vec<(String, String, u64)> {
    let (status, swarm) = server.get_json("/api/engines/pair/swarm").await;
    assert_eq!(status, 200, "{swarm}");
    let mut nodes: Vec<(String, String, u64, bool)> = swarm["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                n["availability"].as_str().unwrap().to_string(),
                n["tasks"].as_u64().unwrap(),
                n["role"] == "manager",
            )
        })
        .collect();
    nodes.sort_by_key(|n| !n.3);
    nodes.into_iter().map(|(id, a, t, _)| (id, a, t)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_moves_tasks_to_the_other_node() {
    let pair = SwarmPair::start();
    // Stopped at once: sleep ignores SIGTERM, and the swarm would wait 10 s for each.
    let service = Service::create(
        &pair.manager,
        "mover",
        2,
        &["--stop-grace-period", "1s"],
        "sleep 600",
    );
    let name = service.name.as_str();
    let server = TestServer::with_engines(&[("pair", pair.manager.endpoint())]).await;
    let both_running = || running_on(&pair.manager, name) + running_on(&pair.worker, name) == 2;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !both_running() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(both_running(), "two replicas running across the nodes");
    let nodes = nodes_of(&server).await;
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    let (manager, _, meant) = nodes[0].clone();
    let (worker, _, others) = nodes[1].clone();
    assert_eq!(meant + others, 2, "{nodes:?}");

    // Drain the manager through Berth: its tasks move to the worker.
    let availability = |node: &str| format!("/api/engines/pair/nodes/{node}/availability");
    let (status, drained) = server
        .send(
            Method::POST,
            &availability(&manager),
            Some(json!({ "availability": "drain" })),
        )
        .await;
    assert_eq!(status, 200, "{drained}");
    let moved = || running_on(&pair.manager, name) == 0 && running_on(&pair.worker, name) == 2;
    let deadline = tokio::time::Instant::now() + WAIT;
    while !moved() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        (
            running_on(&pair.manager, name),
            running_on(&pair.worker, name)
        ),
        (0, 2),
        "the drained node runs none, the other both"
    );
    // Berth's nodes say the same: what a drain of the worker would move now.
    let want = [
        (manager.clone(), "drain".to_string(), 0),
        (worker.clone(), "active".to_string(), 2),
    ];
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut nodes = nodes_of(&server).await;
    while nodes != want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        nodes = nodes_of(&server).await;
    }
    assert_eq!(nodes, want);

    // Active again: the manager takes tasks again (Swarm moves none back by itself).
    let (status, _) = server
        .send(
            Method::POST,
            &availability(&manager),
            Some(json!({ "availability": "active" })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        pair.manager.docker(&[
            "node",
            "inspect",
            "--format",
            "{{.Spec.Availability}}",
            &manager
        ]),
        "active"
    );

    // The worker's engine stops: once the manager marks its node down, Berth shows it so,
    // in the API and on the page, never as an error.
    pair.worker.stop();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (status, swarm) = server.get_json("/api/engines/pair/swarm").await;
        assert_eq!(status, 200, "{swarm}");
        let node = crate::common::find_in(&swarm["nodes"], "the worker", |n| {
            n["id"] == worker.as_str()
        });
        if node["state"] == "down" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never shown down: {node}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (status, page) = server.get("/engines/pair/swarm").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("state state-down"), "{page}");
    drop(service);
}
