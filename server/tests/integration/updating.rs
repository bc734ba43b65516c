//! Issue 29, updating a container: an image pushed to a private registry on 127.0.0.1, a
//! container run from it with a named volume, an anonymous one (the image's `VOLUME`), a
//! static address and an alias on a network of its own, its own environment, labels,
//! restart policy and memory limit; a new image under the same tag; the update keeps every
//! one of them (`docker inspect` before and after, field by field) and the files in both
//! volumes. A new image whose health check fails is rolled back: the old container runs
//! again under its name with its data. What this path must not recreate is refused.

use crate::{
    common::{Fixture, TestServer, docker, on_fresh_postgres},
    pulls::Registry,
    updates::{Pulled, push_image, push_version},
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// `docker inspect NAME`.
fn inspect(name: &str) -> Value {
    let text = docker(&["inspect", name]);
    serde_json::from_str::<Value>(&text).unwrap()[0].clone()
}

/// A container of the test's own (not on `--network none`), removed on drop with the
/// names the update may leave.
pub(crate) struct Container(pub(crate) String);

impl Container {
    pub(crate) fn run(name: &str, options: &[&str], image: &str) -> Self {
        let mut args = vec!["run", "-d", "--label", "berth.test=1", "--name", name];
        args.extend(options);
        args.extend([image, "sleep", "600"]);
        docker(&args);
        Self(name.to_string())
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let left = docker(&["ps", "-aq", "--filter", &format!("name={}", self.0)]);
        for id in left.lines() {
            // `-v`: the anonymous volumes it made; named ones stay.
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", "-v", id])
                .output();
        }
    }
}

/// A network, a volume: removed on drop.
struct Named(&'static str, String);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args([self.0, "rm", &self.1])
            .output();
    }
}

/// Starts an update of `name`; the run as the answer says it.
async fn start(server: &TestServer, name: &str) -> Value {
    let (status, run) = server.post(&format!("/api/containers/{name}/update")).await;
    assert_eq!(status, 202, "{run}");
    assert!(run["outcome"].is_null(), "{run:#}");
    run
}

/// Waits for update run `n` to end; its record.
async fn ended(server: &TestServer, n: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, run) = server.get_json(&format!("/api/updates/runs/{n}")).await;
        assert_eq!(status, 200, "{run}");
        if !run["ended_ms"].is_null() {
            return run;
        }
        assert!(
            Instant::now() < deadline,
            "update run {n} did not end: {run:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts an update of `name` and waits for it: its record.
async fn update(server: &TestServer, name: &str) -> Value {
    let run = start(server, name).await;
    ended(server, run["n"].as_u64().unwrap()).await
}

fn output(answer: &Value) -> String {
    answer["tail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_keeps_volumes_address_alias_env_labels_and_limits() {
    let pid = std::process::id();
    let registry = Registry::start();
    let repository = format!("berth-it/kept-{pid}");
    push_image(
        registry.port,
        &repository,
        1,
        &["VOLUME /cache", "ENV VERSION=1"],
    );
    let reference = format!("127.0.0.1:{}/{repository}:1", registry.port);
    let _pulled = Pulled::new(&reference);
    let network = Named("network", format!("berth-it-kept-{pid}"));
    docker(&[
        "network",
        "create",
        "--subnet",
        "10.250.29.0/24",
        &network.1,
    ]);
    let volume = Named("volume", format!("berth-it-kept-data-{pid}"));
    let name = format!("berth-it-kept-{pid}");
    let data = format!("{}:/data", volume.1);
    let _container = Container::run(
        &name,
        &[
            "--network",
            &network.1,
            "--ip",
            "10.250.29.5",
            "--network-alias",
            "web",
            "-v",
            &data,
            "-e",
            "MODE=prod",
            "--label",
            "team=web",
            "--restart",
            "unless-stopped",
            "--memory",
            "64m",
        ],
        &reference,
    );
    docker(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo kept > /data/file && echo cached > /cache/file",
    ]);
    let server = TestServer::start().await;

    // Nothing newer: nothing done.
    let answer = update(&server, &name).await;
    assert_eq!(answer["outcome"], "nothing newer", "{answer:#}");
    assert_eq!(answer["updated"], false, "{answer:#}");
    assert!(answer["rolled_back"].is_null());
    assert!(output(&answer).contains("nothing to do"), "{answer:#}");
    let before = inspect(&name);

    push_image(
        registry.port,
        &repository,
        2,
        &["VOLUME /cache", "ENV VERSION=2"],
    );
    // Watched as it goes: every step, then how it ended.
    let run = start(&server, &name).await;
    let n = run["n"].as_u64().unwrap();
    let mut watching = server.open_ws(&format!("/ws/updates/runs/{n}")).await;
    let frames = watching
        .collect(Duration::from_secs(120), |f| {
            matches!(f.last(), Some(app::frames::Frame::End { .. }))
        })
        .await;
    let seen: Vec<String> = crate::common::lines(&frames)
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(seen.iter().any(|l| l.starts_with("pulling")), "{seen:?}");
    assert!(
        matches!(frames.last(), Some(app::frames::Frame::End { reason, .. }) if reason == "updated"),
        "{frames:?}"
    );
    watching.close().await;
    let hubs = server
        .wait_metric(
            "berth_hubs",
            Some("kind=\"update_run\""),
            Duration::from_secs(5),
            |v| v == 0.0,
        )
        .await;
    assert_eq!(hubs, 0.0, "the run's hub goes with the run and its viewer");
    let answer = ended(&server, n).await;
    assert_eq!(answer["outcome"], "updated", "{answer:#}");
    assert_eq!(answer["updated"], true, "{answer:#}");
    assert!(answer["rolled_back"].is_null(), "{answer:#}");
    let after = inspect(&name);
    assert_ne!(after["Id"], before["Id"], "a new container");
    assert_ne!(after["Image"], before["Image"], "on the new image");
    assert_eq!(answer["to"], after["Image"]);
    assert_eq!(after["Name"], before["Name"]);
    assert_eq!(after["State"]["Running"], true);
    // What the user set is kept; what the image set is the new image's.
    let env = |c: &Value| -> Vec<String> {
        c["Config"]["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        env(&before).contains(&"VERSION=1".to_string()),
        "{:?}",
        env(&before)
    );
    let env_after = env(&after);
    assert!(
        env_after.contains(&"MODE=prod".to_string()),
        "{env_after:?}"
    );
    assert!(
        env_after.contains(&"VERSION=2".to_string())
            && !env_after.contains(&"VERSION=1".to_string()),
        "the image's own environment is the new image's: {env_after:?}"
    );
    assert_eq!(answer["new_id"], after["Id"]);
    assert_eq!(after["Config"]["Labels"]["team"], "web");
    assert_eq!(before["Config"]["Labels"]["berth.version"], "1");
    assert_eq!(after["Config"]["Labels"]["berth.version"], "2");
    assert_eq!(after["Config"]["Cmd"], before["Config"]["Cmd"]);
    for field in ["Binds", "RestartPolicy", "Memory", "NetworkMode"] {
        assert_eq!(
            after["HostConfig"][field], before["HostConfig"][field],
            "{field}"
        );
    }
    let mounts = |c: &Value| {
        let mut m: Vec<(String, String)> = c["Mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["Destination"].as_str().unwrap().to_string(),
                    m["Name"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        m.sort();
        m
    };
    assert_eq!(
        mounts(&after),
        mounts(&before),
        "the same volumes, the anonymous one too"
    );
    let endpoint = &after["NetworkSettings"]["Networks"][&network.1];
    assert_eq!(endpoint["IPAddress"], "10.250.29.5", "{endpoint:#}");
    assert_eq!(endpoint["IPAMConfig"]["IPv4Address"], "10.250.29.5");
    assert!(
        endpoint["Aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "web"),
        "{endpoint:#}"
    );
    assert_eq!(docker(&["exec", &name, "cat", "/data/file"]), "kept");
    assert_eq!(docker(&["exec", &name, "cat", "/cache/file"]), "cached");
    let old = docker(&["ps", "-aq", "--filter", &format!("name={name}-berth-old")]);
    assert_eq!(old, "", "the old container is gone once the new one runs");
    let said = output(&answer);
    for step in [
        "pulling",
        "renamed the old container",
        "started the new container",
    ] {
        assert!(said.contains(step), "{step}: {said}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_image_that_is_never_healthy_is_rolled_back() {
    // Its record in PostgreSQL (SQLite: the unit tests of `run_records`).
    on_fresh_postgres("rollback", rolled_back).await;
}

async fn rolled_back(location: berth::Location) {
    let pid = std::process::id();
    let registry = Registry::start();
    let repository = format!("berth-it/unhealthy-{pid}");
    push_version(registry.port, &repository, 1);
    let reference = format!("127.0.0.1:{}/{repository}:1", registry.port);
    let _pulled = Pulled::new(&reference);
    let volume = Named("volume", format!("berth-it-unhealthy-{pid}"));
    let name = format!("berth-it-unhealthy-{pid}");
    let data = format!("{}:/data", volume.1);
    let _container = Container::run(&name, &["--network", "none", "-v", &data], &reference);
    docker(&["exec", &name, "sh", "-c", "echo kept > /data/file"]);
    let before = inspect(&name);
    push_image(
        registry.port,
        &repository,
        2,
        &["HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false"],
    );
    let health = |s: &mut berth::Settings| s.updates.update_health_secs = 20;
    let mut server = TestServer::keeping(&location, health).await;
    let run = start(&server, &name).await;
    // One update of a container at a time.
    let (status, body) = server.post(&format!("/api/containers/{name}/update")).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("going on"),
        "{body}"
    );
    let answer = ended(&server, run["n"].as_u64().unwrap()).await;
    assert_eq!(answer["updated"], false, "{answer:#}");
    assert!(
        answer["outcome"]
            .as_str()
            .unwrap()
            .starts_with("rolled back"),
        "{answer:#}"
    );
    let why = answer["rolled_back"].as_str().expect("rolled back");
    assert!(why.contains("health"), "{why}");
    assert!(output(&answer).contains("rolled back"), "{answer:#}");
    let after = inspect(&name);
    assert_eq!(
        after["Id"], before["Id"],
        "the old container, under its name"
    );
    assert_eq!(after["Image"], before["Image"]);
    assert_eq!(after["State"]["Running"], true);
    assert_eq!(docker(&["exec", &name, "cat", "/data/file"]), "kept");
    let all = docker(&["ps", "-aq", "--filter", &format!("name={name}")]);
    assert_eq!(all.lines().count(), 1, "the new container is gone: {all}");

    // The record outlives a restart; no other run is there.
    server.shut_down().await;
    drop(server);
    let server = TestServer::keeping(&location, health).await;
    let n = run["n"].as_u64().unwrap();
    let (status, kept) = server.get_json(&format!("/api/updates/runs/{n}")).await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept, answer);
    let (_, runs) = server.get_json("/api/updates/runs").await;
    assert_eq!(runs[0], answer, "{runs:#}");
    let (status, body) = server
        .get_json(&format!("/api/updates/runs/{}", n + 1))
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_this_path_must_not_recreate_is_refused() {
    let server = TestServer::start().await;
    let member = Fixture::service("upd-member", "berth-it-upd-project", "web", "sleep 600");
    let image_id = docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        crate::common::TEST_IMAGE,
    ]);
    let stopped = Fixture::new("upd-stopped", false, &[], &["true"]);
    let removed_on_stop = Fixture::running("upd-rm", &["--rm"]);
    let by_id = Fixture::of_image(None, "upd-by-id", &image_id, true, &[], &["sleep", "600"]);
    for (reference, status, words) in [
        // Its project is not a stack Berth keeps: Compose's, where its file is.
        (member.name.as_str(), 409, "not a stack Berth keeps"),
        (by_id.name.as_str(), 409, "names no tag"),
        (stopped.name.as_str(), 409, "not running"),
        (removed_on_stop.name.as_str(), 409, "--rm"),
        ("berth-it-no-such-container", 404, ""),
        ("-bad", 400, "invalid"),
    ] {
        let (got, body) = server
            .post(&format!("/api/containers/{reference}/update"))
            .await;
        assert_eq!(got, status, "{reference}: {body}");
        assert!(body["error"].as_str().unwrap().contains(words), "{body}");
    }
}
