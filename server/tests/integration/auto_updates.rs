//! Issue 29, automatic updates and policies: a container labelled `berth.update=auto`, a
//! new image pushed under its tag, and a clock the test moves. The update waits for the
//! image's minimum age, then for the update window, then takes the digest whose age it
//! counted (not a newer one pushed meanwhile). Policies come from the label, then rules
//! by name and by project (kept by Berth, set over the API), then the default; `off`
//! excludes a container from checks. What an automatic update did is in the audit log.

use crate::{
    common::{Fixture, TestServer, docker},
    pulls::Registry,
    updates::{Pulled, entry, push_version, running_image},
    updating::Container,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const HOUR: Duration = Duration::from_secs(3600);

/// The engine's update runs.
async fn runs(server: &TestServer) -> Vec<Value> {
    let (status, runs) = server.get_json("/api/updates/runs").await;
    assert_eq!(status, 200, "{runs}");
    runs.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_automatic_update_waits_for_the_image_age_and_the_window() {
    let pid = std::process::id();
    let registry = Registry::start();
    let repository = format!("berth-it/auto-{pid}");
    push_version(registry.port, &repository, 1);
    let reference = format!("127.0.0.1:{}/{repository}:1", registry.port);
    let _pulled = Pulled::new(&reference);
    let name = format!("berth-it-auto-{pid}");
    let options = ["--network", "none", "--label", "berth.update=auto"];
    let _container = Container::run(&name, &options, &reference);
    let second = push_version(registry.port, &repository, 2);
    // A window three hours from now, in the server's time zone (this machine's).
    let hour: u32 = local_hour();
    let window = format!("{:02}:00-{:02}:00", (hour + 3) % 24, (hour + 4) % 24);
    let server = TestServer::start_with(|s| {
        s.updates.update_min_age_hours = 72;
        s.updates.update_window = Some(berth::Window::parse(&window).unwrap());
    })
    .await;

    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    assert_eq!(updates["min_age_hours"], 72);
    assert_eq!(updates["window"], window.as_str());
    let found = entry(&updates, &name).clone();
    assert_eq!(found["state"], "available", "{found:#}");
    assert_eq!(
        (found["policy"].as_str(), found["policy_from"].as_str()),
        (Some("auto"), Some("label"))
    );
    let first_seen = found["first_seen"].as_i64().unwrap();
    let auto_at = found["auto_at"].as_i64().expect("when it is updated");
    assert!(auto_at >= first_seen + 72 * 3_600_000, "{found:#}");
    // Pushed after: younger than the minimum age, never the one an update takes now.
    let third = push_version(registry.port, &repository, 3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(runs(&server).await.is_empty(), "too young to be taken");

    // 73 hours on: old enough, but the window is closed.
    let clock = server.state.updates.clock();
    clock.advance(73 * HOUR);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(runs(&server).await.is_empty(), "outside the window");
    let (_, updates) = server.get_json("/api/updates").await;
    let held = entry(&updates, &name)["auto_at"].as_i64().unwrap();
    assert!(
        held > clock.now(),
        "held until the window opens: {updates:#}"
    );

    // The window opens.
    clock.advance(Duration::from_millis((held - clock.now()) as u64) + Duration::from_secs(60));
    let deadline = Instant::now() + Duration::from_secs(120);
    let run = loop {
        if let Some(run) = runs(&server)
            .await
            .first()
            .filter(|r| !r["ended_ms"].is_null())
        {
            break run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no automatic update ended: {:#?}",
            runs(&server).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(run["by"], "auto-update", "{run:#}");
    assert_eq!(run["updated"], true, "{run:#}");
    let inspect: Value = serde_json::from_str(&docker(&["inspect", &name])).unwrap();
    let (_, digests) = running_image(&name);
    assert!(digests.contains(&second), "{digests} holds {second}");
    assert!(
        !digests.contains(&third),
        "{digests} is not the younger {third}"
    );
    assert_eq!(inspect[0]["Config"]["Labels"]["berth.update"], "auto");
    // In the audit log, as auto-update, with what it took and how it ended.
    let audited = loop {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT actor, target, ok FROM audit WHERE action = 'container.update'")
                .fetch_all(&server.state.store.pool)
                .await
                .unwrap();
        if !rows.is_empty() || Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(audited.len(), 1, "{audited:?}");
    let (actor, target, ok) = &audited[0];
    assert_eq!((actor.as_str(), *ok), ("auto-update", 1));
    assert!(
        target.contains(&name) && target.contains(&second) && target.ends_with("updated"),
        "{target}"
    );

    // Checked again: the younger image is the update now, and waits for its own age.
    let (_, updates) = server.post("/api/updates/check").await;
    let next = entry(&updates, &name);
    assert_eq!(next["available"], third.as_str(), "{next:#}");
    assert!(next["auto_at"].as_i64().unwrap() > clock.now());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs(&server).await.len(), 1);
}

/// The hour of the day now in this machine's time zone, as the server reads it.
fn local_hour() -> u32 {
    let out = std::process::Command::new("date")
        .arg("+%H")
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_come_from_the_label_then_the_name_then_the_project() {
    let pid = std::process::id();
    let project = format!("berth-it-policies-{pid}");
    let project_label = format!("com.docker.compose.project={project}");
    let labelled = Fixture::new(
        "pol-label",
        true,
        &["--label", "berth.update=off"],
        &["sleep", "600"],
    );
    let named = Fixture::new("pol-named", true, &[], &["sleep", "600"]);
    let member = Fixture::new(
        "pol-member",
        true,
        &["--label", &project_label],
        &["sleep", "600"],
    );
    let plain = Fixture::new("pol-plain", true, &[], &["sleep", "600"]);
    let server = TestServer::start().await;

    for (rule, status) in [
        (
            json!({"scope": "container", "name": named.name, "policy": "auto"}),
            204,
        ),
        (
            json!({"scope": "container", "name": labelled.name, "policy": "auto"}),
            204,
        ),
        (
            json!({"scope": "project", "name": project, "policy": "off"}),
            204,
        ),
        (
            json!({"scope": "container", "name": "../etc", "policy": "auto"}),
            400,
        ),
        (
            json!({"scope": "project", "name": "a b", "policy": "off"}),
            400,
        ),
        (
            json!({"scope": "container", "name": "x", "policy": "sometimes"}),
            400,
        ),
    ] {
        let (got, body) = server
            .send(
                reqwest::Method::PUT,
                "/api/updates/policies",
                Some(rule.clone()),
            )
            .await;
        assert_eq!(got, status, "{rule}: {body}");
    }
    let (status, rules) = server.get_json("/api/updates/policies").await;
    assert_eq!(status, 200, "{rules}");
    assert_eq!(rules.as_array().unwrap().len(), 3, "{rules:#}");

    // The labels are read by a check.
    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let policy = |name: &str| {
        let u = entry(&updates, name);
        (
            u["policy"].as_str().unwrap().to_string(),
            u["policy_from"].as_str().unwrap().to_string(),
            u["state"].as_str().unwrap().to_string(),
        )
    };
    let of =
        |p: &str, from: &str, state: &str| (p.to_string(), from.to_string(), state.to_string());
    assert_eq!(policy(&labelled.name), of("off", "label", "excluded"));
    assert_eq!(
        policy(&named.name),
        of("auto", "container", "not_from_registry")
    );
    assert_eq!(policy(&member.name), of("off", "project", "excluded"));
    assert_eq!(
        policy(&plain.name),
        of("notify", "default", "not_from_registry")
    );

    // A rule removed: the default again.
    let remove = json!({"scope": "container", "name": named.name, "policy": null});
    let (status, body) = server
        .send(reqwest::Method::PUT, "/api/updates/policies", Some(remove))
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, updates) = server.get_json("/api/updates").await;
    assert_eq!(entry(&updates, &named.name)["policy_from"], "default");
    drop((labelled, named, member, plain));
}
