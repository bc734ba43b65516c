//! Issue 29, "update all": two containers run images pushed to a private registry on
//! 127.0.0.1, a member of a compose project Berth does not keep a third; newer images are
//! pushed under each tag. Update all queues the two Berth may update (not the member), one
//! after another, each its own run that ends `updated`; a second one while it goes on is
//! refused (409). One project's: nothing of a project with no update, 400 for a name that
//! is none.

use crate::{
    common::{TestServer, docker},
    pulls::Registry,
    stack_updates::Images,
    updates::push_version,
    updating::Container,
};
use serde_json::Value;
use std::time::{Duration, Instant};

/// The newest run of container `name` once it has ended.
async fn ended_run_of(server: &TestServer, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, runs) = server.get_json("/api/updates/runs").await;
        assert_eq!(status, 200, "{runs}");
        let run = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["container"] == name);
        if let Some(run) = run.filter(|r| !r["ended_ms"].is_null()) {
            return run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no ended run of {name}: {runs:#}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_all_takes_each_update_berth_may_take_one_after_another() {
    let pid = std::process::id();
    let registry = Registry::start();
    let mut images = Images::default();
    let mut containers = Vec::new();
    let mut names = Vec::new();
    for (n, options) in [
        ("a", vec!["--network", "none"]),
        ("b", vec!["--network", "none"]),
        (
            "member",
            vec![
                "--network",
                "none",
                "--label",
                "com.docker.compose.project=berth-it-not-kept",
                "--label",
                "com.docker.compose.service=web",
            ],
        ),
    ] {
        let repository = format!("berth-it/all-{n}-{pid}");
        let reference = format!("127.0.0.1:{}/{repository}:1", registry.port);
        push_version(registry.port, &repository, 1);
        let name = format!("berth-it-all-{n}-{pid}");
        containers.push(Container::run(&name, &options, &reference));
        images
            .0
            .push(docker(&["inspect", "--format", "{{.Image}}", &name]));
        images.0.push(reference);
        push_version(registry.port, &repository, 2);
        names.push(name);
    }
    let server = TestServer::start().await;
    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");

    let (status, bad) = server
        .post("/api/updates/apply?project=Not%20a%20name")
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, none) = server
        .post("/api/updates/apply?project=berth-it-nothing-here")
        .await;
    assert_eq!(
        (status, &none["queued"]),
        (202, &Value::Array(vec![])),
        "{none}"
    );

    let (status, batch) = server.post("/api/updates/apply").await;
    assert_eq!(status, 202, "{batch}");
    let queued: Vec<&str> = batch["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(queued.contains(&names[0].as_str()), "{batch}");
    assert!(queued.contains(&names[1].as_str()), "{batch}");
    assert!(
        !queued.contains(&names[2].as_str()),
        "not Berth's to update: {batch}"
    );
    // The first update takes seconds (a new container must keep running 5 s): the batch
    // still goes on.
    let (status, again) = server.post("/api/updates/apply").await;
    assert_eq!(status, 409, "{again}");

    let mut started = Vec::new();
    for name in &names[..2] {
        let run = ended_run_of(&server, name).await;
        assert_eq!(run["outcome"], "updated", "{run:#}");
        started.push((
            run["started_ms"].as_i64().unwrap(),
            run["ended_ms"].as_i64().unwrap(),
        ));
        images
            .0
            .push(docker(&["inspect", "--format", "{{.Image}}", name]));
    }
    started.sort();
    assert!(
        started[0].1 <= started[1].0,
        "one after another: {started:?}"
    );
    drop(containers);
}
