//! Issue 28, stacks on a swarm: a stack whose engine is a swarm manager deploys with the
//! real `docker stack deploy` (its `.env` filling the file's variables, never steering the
//! CLI), its services grouped by `com.docker.stack.namespace` and counted as the CLI counts
//! them, the swarm's plan (create, update, remove), the run's output and record as for
//! Compose, what a swarm has no command for refused, and `docker stack rm` to take it down.
//! A stack deployed with the CLI alone shows as external. A stack's secret made from a file
//! in its folder reaches its service, and Berth refuses to remove it while the service uses
//! it.

use crate::common::{PrivateEngine, TestServer, docker_endpoint};
use crate::stack_runs::{follow_on, start_on};
use crate::swarm::swarm_engine;
use reqwest::Method;
use serde_json::{Value, json};
use std::{path::PathBuf, time::Duration};

/// Two services, one of two replicas whose command takes a variable from `.env`. On the
/// host's network: every swarm on this machine (this test's, the browser tests') numbers
/// its first overlay network alike, and a second one's VXLAN interface is refused.
const STACK: &str = r#"services:
  web:
    image: berth-test/busybox:latest
    command: sh -c "echo web says ${GREETING}; trap 'exit 0' TERM; while true; do sleep 1; done"
    networks: [outside]
    deploy:
      replicas: 2
  db:
    image: berth-test/busybox:latest
    command: sh -c "trap 'exit 0' TERM; while true; do sleep 1; done"
    networks: [outside]
networks:
  outside:
    external: true
    name: host
"#;

/// The same without `db`.
const WEB_ONLY: &str = r#"services:
  web:
    image: berth-test/busybox:latest
    command: sh -c "echo web says ${GREETING}; trap 'exit 0' TERM; while true; do sleep 1; done"
    networks: [outside]
    deploy:
      replicas: 2
networks:
  outside:
    external: true
    name: host
"#;

/// Stacks on `engine` by these names, and the scratch folders, gone on drop.
struct Stacks<'a> {
    engine: &'a PrivateEngine,
    names: Vec<String>,
    dir: PathBuf,
}

impl Drop for Stacks<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = std::process::Command::new("docker")
                .args(["-H", &self.engine.host, "stack", "rm", name])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `docker stack services NAME` as `service replicas` lines, sorted.
fn stack_services(engine: &PrivateEngine, name: &str) -> Vec<String> {
    // Not `engine.docker`: a stack with no service is an error to the CLI.
    let out = std::process::Command::new("docker")
        .args(["-H", &engine.host, "stack", "services", name])
        .args(["--format", "{{.Name}} {{.Replicas}}"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `action` on the swarm engine's stack: the run's lines and how it ended.
async fn run(server: &TestServer, name: &str, action: &str) -> (Vec<String>, String) {
    let on = "/engines/swarm";
    let n = start_on(server, on, name, action).await;
    follow_on(server, on, name, n).await
}

fn changes(plan: &Value) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = plan["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_string(),
                s["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_on_a_swarm_deploys_with_docker_stack_and_comes_down_with_stack_rm() {
    let engine = swarm_engine();
    let pid = std::process::id();
    let name = format!("berth-it-sstack-{pid}");
    let external = format!("berth-it-sext-{pid}");
    let dir = std::env::temp_dir().join(format!("berth-it-swarm-stacks-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    let stacks = Stacks {
        engine: &engine,
        names: vec![name.clone(), external.clone()],
        dir: dir.clone(),
    };
    let root = dir.join("stacks");
    let server = TestServer::with_engines_and(
        &[("local", docker_endpoint()), ("swarm", engine.endpoint())],
        move |s| s.stacks.stacks_dir = Some(root),
    )
    .await;
    let path = format!("/api/engines/swarm/stacks/{name}");
    let body = json!({ "compose": STACK, "env": "GREETING=\"hello swarm\"\n" });
    let (status, saved) = server.send(Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["summary"]["swarm"], true, "{saved}");
    assert_eq!(saved["summary"]["state"], "not_deployed", "{saved}");

    // The plan is the swarm's: both services to be created, by the Docker CLI.
    let (status, plan) = server.get_json(&format!("{path}/plan")).await;
    assert_eq!(status, 200, "{plan}");
    assert!(
        plan["cli"].as_str().unwrap().starts_with("Docker version"),
        "{plan}"
    );
    assert_eq!(
        changes(&plan),
        [
            ("db".into(), "create".into()),
            ("web".into(), "create".into())
        ]
    );

    // What a swarm stack has no command for, and one service alone, are refused.
    for (action, want) in [("stop", 409), ("restart", 409), ("deploy?service=web", 400)] {
        let (status, said) = server.post(&format!("{path}/{action}")).await;
        assert_eq!(status, want, "{action}: {said}");
    }

    let (output, how) = run(&server, &name, "deploy").await;
    assert_eq!(how, "exit 0", "{output:?}");
    assert!(
        output
            .iter()
            .any(|l| l.contains(&format!("Creating service {name}_web"))),
        "{output:?}"
    );
    let want = [format!("{name}_db 1/1"), format!("{name}_web 2/2")];
    until(
        "both services running, as the CLI counts them",
        async || stack_services(&engine, &name) == want,
    )
    .await;
    // The `.env` variable filled the file's `${GREETING}`.
    let args = engine.docker(&[
        "service",
        "inspect",
        &format!("{name}_web"),
        "--format",
        "{{json .Spec.TaskTemplate.ContainerSpec.Args}}",
    ]);
    assert!(args.contains("echo web says hello swarm"), "{args}");

    until("the stack running in Berth's eyes", async || {
        let (_, stack) = server.get_json(&path).await;
        stack["summary"]["state"] == "running"
    })
    .await;
    let (_, stack) = server.get_json(&path).await;
    assert_eq!(
        stack["summary"]["services"],
        json!(["db", "web"]),
        "{stack}"
    );
    assert_eq!(stack["summary"]["running"], 2, "{stack}");
    let (_, runs) = server.get_json(&format!("{path}/runs")).await;
    let images = &runs[0]["images"];
    assert_eq!(images[0]["service"], "db", "{runs}");
    assert_eq!(images[1]["service"], "web", "{runs}");
    assert_eq!(images[1]["image"], "berth-test/busybox:latest", "{runs}");
    // The swarm page says which stack each service belongs to.
    let (_, swarm) = server.get_json("/api/engines/swarm/swarm").await;
    let web = crate::common::find_in(&swarm["services"], "the web service", |s| {
        s["name"] == format!("{name}_web")
    });
    assert_eq!(web["stack"], name.as_str(), "{web}");

    // Deployed, it is neither removed nor renamed.
    let (status, said) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 409, "{said}");
    let rename = json!({ "to": format!("berth-it-other-{pid}") });
    let (status, said) = server
        .send(Method::POST, &format!("{path}/rename"), Some(rename))
        .await;
    assert_eq!(status, 409, "{said}");

    // Without `db` in the file, the plan updates `web` and removes `db` (`--prune`).
    let body = json!({ "compose": WEB_ONLY, "env": "GREETING=again\n" });
    let (status, saved) = server.send(Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "{saved}");
    let (_, plan) = server.get_json(&format!("{path}/plan")).await;
    assert_eq!(
        changes(&plan),
        [
            ("db".into(), "remove".into()),
            ("web".into(), "update".into())
        ]
    );

    // A `.env` variable the file names that would steer the CLI is refused before anything
    // runs.
    let steering = WEB_ONLY.replace("${GREETING}", "${DOCKER_HOST}");
    let body = json!({ "compose": steering, "env": "DOCKER_HOST=unix:///elsewhere.sock\n" });
    let (status, _) = server.send(Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200);
    let (status, said) = server.post(&format!("{path}/deploy")).await;
    assert_eq!(status, 422, "{said}");
    assert!(
        said["error"].as_str().unwrap().contains("DOCKER_HOST"),
        "{said}"
    );

    // A stack deployed with the CLI alone is listed as external, with its services.
    let file = dir.join("external.yaml");
    std::fs::write(
        &file,
        "services:\n  one:\n    image: berth-test/busybox:latest\n    command: sleep 600\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n    name: host\n",
    )
    .unwrap();
    let file = file.display().to_string();
    engine.docker(&["stack", "deploy", "-c", &file, &external]);
    let (status, list) = server.get_json("/api/engines/swarm/stacks").await;
    assert_eq!(status, 200, "{list}");
    let row = crate::common::find_in(&list, "the external stack", |s| {
        s["name"] == external.as_str()
    });
    assert_eq!(
        (&row["external"], &row["swarm"]),
        (&json!(true), &json!(true)),
        "{row}"
    );
    assert_eq!(row["services"], json!(["one"]), "{row}");
    let (status, stack) = server
        .get_json(&format!("/api/engines/swarm/stacks/{external}"))
        .await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["summary"]["external"], true, "{stack}");

    // Down is `docker stack rm`, which reads no file: it takes the stack down even when
    // its files are refused (the steering `.env` above, and a path outside its folder
    // written on disk by hand, which a deploy refuses).
    let outside = WEB_ONLY.replace("    deploy:", "    env_file: /etc/hostname\n    deploy:");
    std::fs::write(dir.join("stacks").join(&name).join("compose.yaml"), outside).unwrap();
    let (status, said) = server.post(&format!("{path}/deploy")).await;
    assert_eq!(status, 422, "{said}");
    assert!(
        said["error"].as_str().unwrap().contains("env_file"),
        "{said}"
    );
    let (output, how) = run(&server, &name, "down").await;
    assert_eq!(how, "exit 0", "{output:?}");
    assert!(
        output
            .iter()
            .any(|l| l.contains(&format!("Removing service {name}_web"))),
        "{output:?}"
    );
    assert!(stack_services(&engine, &name).is_empty());
    let (_, stack) = server.get_json(&path).await;
    assert_eq!(stack["summary"]["state"], "not_deployed", "{stack}");
    drop(stacks);
}

/// A service that prints its secret, made by the stack from a file in its folder.
const WITH_SECRET: &str = r#"services:
  web:
    image: berth-test/busybox:latest
    command: sh -c "echo the token is $$(cat /run/secrets/token); trap 'exit 0' TERM; while true; do sleep 1; done"
    networks: [outside]
    secrets: [token]
networks:
  outside:
    external: true
    name: host
secrets:
  token:
    file: ./token.txt
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stacks_secret_comes_from_its_folder_and_stays_while_its_service_uses_it() {
    let engine = swarm_engine();
    let pid = std::process::id();
    let name = format!("berth-it-ssecret-{pid}");
    let dir = std::env::temp_dir().join(format!("berth-it-swarm-secret-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    let stacks = Stacks {
        engine: &engine,
        names: vec![name.clone()],
        dir: dir.clone(),
    };
    let root = dir.join("stacks");
    let folder = root.join(&name);
    let server = TestServer::with_engines_and(&[("swarm", engine.endpoint())], move |s| {
        s.stacks.stacks_dir = Some(root)
    })
    .await;
    let path = format!("/api/engines/swarm/stacks/{name}");
    // Made first without the secret, then the file put in its folder, as a user would.
    let bare = WITH_SECRET.replace("    secrets: [token]\n", "");
    let bare = &bare[..bare.find("secrets:").unwrap()];
    let body = json!({ "compose": bare, "env": "" });
    let (status, saved) = server.send(Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "{saved}");
    std::fs::write(folder.join("token.txt"), format!("sesame-{pid}\n")).unwrap();
    let body = json!({ "compose": WITH_SECRET, "env": "" });
    let (status, saved) = server.send(Method::PUT, &path, Some(body)).await;
    assert_eq!(status, 200, "{saved}");

    let (output, how) = run(&server, &name, "deploy").await;
    assert_eq!(how, "exit 0", "{output:?}");
    let secret = format!("{name}_token");
    let service = format!("{name}_web");
    until(
        "the service printing the secret from the folder",
        async || {
            let logs = std::process::Command::new("docker")
                .args(["-H", &engine.host, "service", "logs", "--raw", &service])
                .output()
                .unwrap();
            String::from_utf8_lossy(&logs.stdout).contains(&format!("the token is sesame-{pid}"))
        },
    )
    .await;

    // In use: Berth refuses to remove it, naming the service; the CLI still has it.
    let (status, said) = server
        .send(
            Method::DELETE,
            &format!("/api/engines/swarm/secrets/{secret}"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{said}");
    assert!(said["error"].as_str().unwrap().contains(&service), "{said}");
    let secrets = engine.docker(&["secret", "ls", "--format", "{{.Name}}"]);
    assert!(secrets.lines().any(|l| l == secret), "{secrets}");

    // Down takes the secret with the stack.
    let (output, how) = run(&server, &name, "down").await;
    assert_eq!(how, "exit 0", "{output:?}");
    until("the secret gone with the stack", async || {
        let secrets = engine.docker(&["secret", "ls", "--format", "{{.Name}}"]);
        !secrets.lines().any(|l| l == secret)
    })
    .await;
    drop(stacks);
}
