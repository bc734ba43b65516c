//! Issue 29, a swarm service's image update: a service on a single-node swarm (a private
//! engine) runs an image pushed to a private registry on 127.0.0.1, its spec pinned to the
//! digest (as `docker service create` does). A new image under the tag is found for the
//! service (its task's container is not listed apart); the update writes the new digest
//! into the spec and follows the swarm's rollout to `updated`. A newer image whose health
//! check fails pauses the swarm's update, and Berth rolls the service back to the previous
//! spec, which runs again. Scaled to 0, an update has no task to replace and ends done.

use crate::{
    common::{PrivateEngine, TestServer, docker_endpoint},
    pulls::Registry,
    swarm::swarm_engine,
    updates::{push_image, push_version},
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A service on the swarm engine, removed on drop with the images its tasks pulled.
struct Service<'a> {
    engine: &'a PrivateEngine,
    name: String,
    repository: String,
}

impl Drop for Service<'_> {
    fn drop(&mut self) {
        let on_engine = |args: &[&str]| {
            std::process::Command::new("docker")
                .args(["-H", &self.engine.host])
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        on_engine(&["service", "rm", &self.name]);
        // Its tasks' containers go with the service, a moment after.
        std::thread::sleep(Duration::from_secs(2));
        for image in on_engine(&["images", "-q", &self.repository]).split_whitespace() {
            on_engine(&["rmi", "-f", image]);
        }
    }
}

/// The service's image as its spec names it.
fn spec_image(engine: &PrivateEngine, name: &str) -> String {
    engine.docker(&[
        "service",
        "inspect",
        "--format",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        name,
    ])
}

/// The service's entry in an `/api/updates` answer.
fn service_entry<'a>(updates: &'a Value, name: &str) -> &'a Value {
    updates["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["container"] == name)
        .unwrap_or_else(|| panic!("{name} is not among the services: {updates:#}"))
}

/// Waits for update run `n` of the swarm engine to end; its record.
async fn ended_run(server: &TestServer, n: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let path = format!("/api/engines/swarm/updates/runs/{n}");
        let (status, run) = server.get_json(&path).await;
        assert_eq!(status, 200, "{run}");
        if !run["ended_ms"].is_null() {
            return run;
        }
        assert!(Instant::now() < deadline, "run {n} did not end: {run:#}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Checks the swarm engine's images now; the service's entry.
async fn checked(server: &TestServer, name: &str) -> Value {
    let (status, updates) = server.post("/api/engines/swarm/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    service_entry(&updates, name).clone()
}

/// Starts an update of the service; its run's number.
async fn start_update(server: &TestServer, name: &str) -> u64 {
    let path = format!("/api/engines/swarm/services/{name}/image-update");
    let (status, run) = server.post(&path).await;
    assert_eq!(status, 202, "{run}");
    assert_eq!(run["container"], name, "{run}");
    run["n"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swarm_service_is_updated_by_its_rollout_and_rolled_back_when_it_fails() {
    let engine = swarm_engine();
    let registry = Registry::start();
    let pid = std::process::id();
    let repository = format!("berth-it/svc-{pid}");
    let tagged = format!("127.0.0.1:{}/{repository}", registry.port);
    let reference = format!("{tagged}:1");
    let first = push_version(registry.port, &repository, 1);
    let name = format!("berth-it-svcupd-{pid}");
    engine.docker(&[
        "service",
        "create",
        "--detach",
        "--name",
        &name,
        "--label",
        "berth.test=1",
        "--replicas",
        "1",
        "--update-monitor",
        "3s",
        &reference,
        "sleep",
        "600",
    ]);
    let _service = Service {
        engine: &engine,
        name: name.clone(),
        repository: tagged.clone(),
    };
    assert!(
        spec_image(&engine, &name).ends_with(&first),
        "the spec pins the digest"
    );
    let server =
        TestServer::with_engines(&[("local", docker_endpoint()), ("swarm", engine.endpoint())])
            .await;

    // Running, then a new image under the tag: found for the service, whose task's
    // container is not listed apart.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !engine
        .docker(&[
            "service",
            "ls",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Replicas}}",
        ])
        .starts_with("1/1")
    {
        assert!(Instant::now() < deadline, "{name} did not start");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let second = push_version(registry.port, &repository, 2);
    let (status, updates) = server.post("/api/engines/swarm/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let found = service_entry(&updates, &name);
    assert_eq!(found["state"], "available", "{found:#}");
    assert_eq!(found["current"], first.as_str(), "{found:#}");
    assert_eq!(found["available"], second.as_str(), "{found:#}");
    let tasks_listed = updates["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["container"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{name}."))
        })
        .count();
    assert_eq!(tasks_listed, 0, "a task is its service's: {updates:#}");

    // Bad input first: an unknown service, an engine in no swarm.
    let (status, body) = server
        .post("/api/engines/swarm/services/berth-no-such-service/image-update")
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server
        .post(&format!("/api/engines/local/services/{name}/image-update"))
        .await;
    assert_eq!(status, 404, "{body}");

    // The update: the new digest in the spec, the swarm's rollout followed to its end.
    let n = start_update(&server, &name).await;
    let run = ended_run(&server, n).await;
    assert_eq!(run["outcome"], "updated", "{run:#}");
    assert_eq!(run["updated"], true, "{run:#}");
    assert_eq!(run["to"], second.as_str(), "{run:#}");
    assert!(
        run["service"].as_str().is_some_and(|s| !s.is_empty()),
        "{run:#}"
    );
    let said = run["tail"].to_string();
    assert!(said.contains(&format!("task {name}.1")), "{run:#}");
    assert_eq!(spec_image(&engine, &name), format!("{reference}@{second}"));
    let found = checked(&server, &name).await;
    assert_eq!(found["state"], "current", "{found:#}");

    // A newer image whose health check fails: the swarm's update pauses on the failed
    // task, Berth rolls the service back to the previous spec, which runs again.
    let third = push_image(
        registry.port,
        &repository,
        3,
        &["HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false"],
    );
    let found = checked(&server, &name).await;
    assert_eq!(found["available"], third.as_str(), "{found:#}");
    let n = start_update(&server, &name).await;
    let run = ended_run(&server, n).await;
    let outcome = run["outcome"].as_str().unwrap();
    assert!(outcome.starts_with("rolled back: "), "{run:#}");
    assert!(outcome.contains("paused"), "{run:#}");
    assert_eq!(run["updated"], false, "{run:#}");
    assert_eq!(spec_image(&engine, &name), format!("{reference}@{second}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let running = engine.docker(&[
            "service",
            "ps",
            "--filter",
            "desired-state=running",
            "--no-trunc",
            "--format",
            "{{.Image}} {{.CurrentState}}",
            &name,
        ]);
        if running.contains(&second) && running.contains("Running") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the previous spec does not run: {running}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // With no replica, the swarm has no task to replace (and sets no update status): the
    // new digest is in the spec, and the update ends as done, not rolled back.
    engine.docker(&["service", "scale", "--detach", &format!("{name}=0")]);
    let fourth = push_version(registry.port, &repository, 4);
    let found = checked(&server, &name).await;
    assert_eq!(found["available"], fourth.as_str(), "{found:#}");
    let n = start_update(&server, &name).await;
    let run = ended_run(&server, n).await;
    assert_eq!(run["outcome"], "updated", "{run:#}");
    assert!(
        run["tail"].to_string().contains("no task to replace"),
        "{run:#}"
    );
    assert_eq!(spec_image(&engine, &name), format!("{reference}@{fourth}"));
}
