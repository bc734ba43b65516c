//! Issue 29, a compose member updated through its stack: a stack Berth keeps runs an image
//! pushed to a private registry on 127.0.0.1; a new image under the same tag is found, and
//! the update is a run of the stack (`pull`, then `up -d`, of that service alone), whose
//! lines are the update's and whose number its record keeps; Compose still owns the new
//! container. An automatic update of the project (a rule for it) takes the digest whose
//! age it counted, pulled by Berth, with `up -d` alone. A new image whose health check
//! fails is rolled back through the stack: the old image takes the tag back, and `up -d`
//! makes the member again from it. (A member of a project Berth does not keep is refused:
//! `updating.rs`.)

use crate::{
    common::{Fixture, TestServer, docker},
    pulls::Registry,
    stack_runs::{Deployed, follow, save, start},
    updates::{entry, push_image, push_version, running_image},
};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const HOUR: Duration = Duration::from_secs(3600);

/// Images the test leaves behind (by id or reference), removed on drop.
#[derive(Default)]
pub(crate) struct Images(pub(crate) Vec<String>);

impl Drop for Images {
    fn drop(&mut self) {
        for image in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", image])
                .output();
        }
    }
}

/// Waits until the engine's newest update run has ended and is by `by`; its record.
async fn newest_run_by(server: &TestServer, by: &str, after: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, runs) = server.get_json("/api/updates/runs").await;
        assert_eq!(status, 200, "{runs}");
        if let Some(run) = runs.as_array().unwrap().first().filter(|r| {
            r["n"].as_u64().unwrap() > after && r["by"] == by && !r["ended_ms"].is_null()
        }) {
            return run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no update by {by} ended: {runs:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The stack's run `n`, as its list of runs has it.
async fn run_of_stack(server: &TestServer, stack: &str, n: u64) -> Value {
    let (status, runs) = server.get_json(&format!("/api/stacks/{stack}/runs")).await;
    assert_eq!(status, 200, "{runs}");
    let found = runs.as_array().unwrap().iter().find(|r| r["n"] == n);
    found
        .unwrap_or_else(|| panic!("no run {n}: {runs:#}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_member_is_updated_through_its_stack() {
    let pid = std::process::id();
    let registry = Registry::start();
    let repository = format!("berth-it/stacked-{pid}");
    let reference = format!("127.0.0.1:{}/{repository}:1", registry.port);
    let mut images = Images(vec![reference.clone()]);
    push_version(registry.port, &repository, 1);
    let mut deployed = Deployed::new("upd");
    let stack = deployed.name("upd");
    let root = deployed.dir.clone();
    let server = TestServer::start_with(move |s| s.stacks.stacks_dir = Some(root)).await;
    let compose = format!(
        "services:\n  web:\n    image: {reference}\n    command: sleep 600\n    network_mode: none\n"
    );
    save(&server, &stack, &compose, "").await;
    let run = start(&server, &stack, "deploy").await;
    let (_, ended) = follow(&server, &stack, run).await;
    assert!(ended.contains("exit 0"), "{ended}");
    let project = format!("label=com.docker.compose.project={stack}");
    let deployed_name = docker(&["ps", "--filter", &project, "--format", "{{.Names}}"]);
    let (first_image, _) = running_image(&deployed_name);
    images.0.push(first_image.clone());

    // A new image under the tag: found, and the member is its stack's to update.
    push_version(registry.port, &repository, 2);
    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let member = updates["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["project"] == stack.as_str())
        .unwrap_or_else(|| panic!("no member of {stack}: {updates:#}"))
        .clone();
    let name = member["container"].as_str().unwrap().to_string();
    assert_eq!(name, deployed_name);
    assert_eq!(member["state"], "available", "{member:#}");
    assert_eq!(member["in_stack"], true, "{member:#}");

    // A project of the stack's name deployed from another folder is not the stack's.
    let labels = [
        format!("com.docker.compose.project={stack}"),
        "com.docker.compose.service=web".to_string(),
        "com.docker.compose.project.working_dir=/tmp/elsewhere".to_string(),
    ];
    let options: Vec<&str> = labels
        .iter()
        .flat_map(|l| ["--label", l.as_str()])
        .collect();
    let stranger = Fixture::new("upd-stranger", true, &options, &["sleep", "600"]);
    let (status, body) = server
        .post(&format!("/api/containers/{}/update", stranger.name))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("another folder"),
        "{body}"
    );
    drop(stranger);

    let (status, started) = server.post(&format!("/api/containers/{name}/update")).await;
    assert_eq!(status, 202, "{started}");
    assert_eq!(started["stack"], stack.as_str(), "{started:#}");
    let first = started["n"].as_u64().unwrap();
    let by = started["by"].as_str().unwrap().to_string();
    let done = newest_run_by(&server, &by, first - 1).await;
    assert_eq!(done["outcome"], "updated", "{done:#}");
    assert_eq!(done["updated"], true, "{done:#}");
    let stack_run = done["stack_run"].as_u64().expect("the stack's run");
    assert_eq!(done["from"], first_image.as_str(), "{done:#}");
    let (now_image, _) = running_image(&name);
    images.0.push(now_image.clone());
    assert_eq!(done["to"], now_image.as_str(), "{done:#}");
    assert_ne!(now_image, first_image);
    // The stack's run did it, on that service alone, and its lines are the update's.
    let record = run_of_stack(&server, &stack, stack_run).await;
    assert_eq!(
        (record["action"].as_str(), record["service"].as_str()),
        (Some("pull"), Some("web")),
        "{record:#}"
    );
    let tail = done["tail"].as_array().unwrap();
    let said = |words: &str| tail.iter().any(|l| l.as_str().unwrap().contains(words));
    assert!(said(&format!("run {stack_run}")), "{done:#}");
    for line in record["tail"].as_array().unwrap() {
        assert!(
            tail.contains(line),
            "{line} of the stack's run is the update's: {done:#}"
        );
    }
    // Compose owns the new container: its labels are Compose's, its service the same.
    let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &name]);
    let labels: Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["com.docker.compose.project"], stack.as_str());
    assert_eq!(labels["com.docker.compose.service"], "web");

    // Automatic, by a rule for the project: the digest whose age was counted is taken
    // (pulled by Berth, then `up -d` alone), never the younger one pushed after the check.
    let counted = push_version(registry.port, &repository, 3);
    let rule = json!({"scope": "project", "name": stack, "policy": "auto"});
    let (status, body) = server
        .send(Method::PUT, "/api/updates/policies", Some(rule))
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, updates) = server.post("/api/updates/check").await;
    let found = entry(&updates, &name);
    assert_eq!(found["available"], counted.as_str(), "{found:#}");
    assert_eq!(
        (found["policy"].as_str(), found["policy_from"].as_str()),
        (Some("auto"), Some("project"))
    );
    assert!(found["auto_at"].is_i64(), "{found:#}");
    let younger = push_version(registry.port, &repository, 4);
    server.state.updates.clock().advance(73 * HOUR);
    let auto = newest_run_by(&server, "auto-update", first).await;
    assert_eq!(auto["outcome"], "updated", "{auto:#}");
    assert_eq!(auto["stack"], stack.as_str(), "{auto:#}");
    let (auto_image, digests) = running_image(&name);
    images.0.push(auto_image);
    assert!(digests.contains(&counted), "{digests} holds {counted}");
    assert!(!digests.contains(&younger), "{digests} is not {younger}");
    let auto_run = auto["stack_run"].as_u64().unwrap();
    let record = run_of_stack(&server, &stack, auto_run).await;
    assert_eq!(record["action"], "deploy", "up -d alone: {record:#}");
    assert_eq!(record["by"], "auto-update", "{record:#}");

    // A new image whose health check fails: the old image takes the tag back, and a second
    // run of the stack makes the member again from it (Compose's still).
    let rule = json!({"scope": "project", "name": stack, "policy": null});
    let (status, body) = server
        .send(Method::PUT, "/api/updates/policies", Some(rule))
        .await;
    assert_eq!(status, 204, "{body}");
    let (before, _) = running_image(&name);
    let failing = ["HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false"];
    push_image(registry.port, &repository, 5, &failing);
    let (_, updates) = server.post("/api/updates/check").await;
    assert_eq!(entry(&updates, &name)["state"], "available", "{updates:#}");
    let (status, started) = server.post(&format!("/api/containers/{name}/update")).await;
    assert_eq!(status, 202, "{started}");
    let n = started["n"].as_u64().unwrap();
    let done = newest_run_by(&server, &by, n - 1).await;
    images.0.extend(done["to"].as_str().map(str::to_string));
    assert_eq!(
        done["outcome"], "rolled back: its health check failed",
        "{done:#}"
    );
    assert_eq!(done["updated"], false, "{done:#}");
    let (after, _) = running_image(&name);
    assert_eq!(after, before, "the old image runs again");
    let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", &name]);
    let labels: Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["com.docker.compose.project"], stack.as_str());
    let tail = done["tail"].to_string();
    assert!(tail.contains("names the old image again"), "{done:#}");
    // Berth's own name for the old image, held while the update went on, is gone.
    let kept = docker(&["images", "-q", "--filter", "reference=berth-rollback/*"]);
    assert_eq!(kept, "", "berth-rollback images left");
}
