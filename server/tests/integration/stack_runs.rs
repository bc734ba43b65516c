//! Issue 27, running stacks with the real compose CLI on the real engine: a deploy of two
//! services on a network with a named volume, a `depends_on`, an `.env` variable and a
//! service that exits non-zero, checked with `docker-compose ps` and Docker's labels; the
//! output streamed as the CLI prints it and replayed once the run ended; the plan marking
//! exactly the changed service; one run at a time; Cancel, the timeout and Berth's shutdown
//! each stopping the CLI, which never outlives its run; down keeping volumes unless asked.

use crate::common::{PrivateEngine, TestServer, docker_endpoint, ensure_image, lines};
use reqwest::Method;
use serde_json::{Value, json};
use std::{fs, path::PathBuf, process::Command, time::Duration};

const RUN_WAIT: Duration = Duration::from_secs(120);

/// Two services on a network with a volume, one waiting on the other and reading `.env`;
/// a third that exits 3; a fourth that ignores SIGTERM for 60 s when stopped (a slow stop).
const COMPOSE: &str = r#"services:
  web:
    image: berth-test/busybox:latest
    command: sh -c "echo web says $${GREETING}; sleep 600"
    environment:
      GREETING: ${GREETING}
    depends_on: [db]
    networks: [back]
    volumes: [data:/data]
  db:
    image: berth-test/busybox:latest
    command: sleep 600
    networks: [back]
  once:
    image: berth-test/busybox:latest
    command: sh -c "exit 3"
    network_mode: none
networks:
  back: {}
volumes:
  data: {}
"#;

/// A service whose stop takes a minute: `sleep` as PID 1 ignores SIGTERM.
const SLOW: &str = r#"services:
  slow:
    image: berth-test/busybox:latest
    command: sleep 600
    network_mode: none
    stop_grace_period: 60s
"#;

/// The compose CLI as the tests run it to check Berth's work: `docker-compose` (what
/// `make test` installs), else the plugin.
fn compose() -> Command {
    let v1 = Command::new("docker-compose")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    match v1 {
        true => Command::new("docker-compose"),
        false => {
            let mut command = Command::new("docker");
            command.arg("compose");
            command
        }
    }
}

/// A stacks folder of the test's own, and the projects it deployed, gone on drop.
pub(crate) struct Deployed {
    pub(crate) dir: PathBuf,
    projects: Vec<String>,
}

impl Deployed {
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("berth-it-runs-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Self {
            dir,
            projects: Vec::new(),
        }
    }

    pub(crate) fn name(&mut self, tag: &str) -> String {
        let name = format!("berth-it-{tag}-{}", std::process::id());
        self.projects.push(name.clone());
        name
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        for project in &self.projects {
            let file = self.dir.join(project).join("compose.yaml");
            let _ = compose()
                .args(["-p", project, "-f"])
                .arg(&file)
                .args(["down", "-v", "-t", "0", "--remove-orphans"])
                .output();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

async fn server_for(deployed: &Deployed, timeout_secs: u64) -> TestServer {
    ensure_image();
    let root = deployed.dir.clone();
    TestServer::start_with(move |s| {
        s.stacks.stacks_dir = Some(root);
        s.stacks.stack_run_timeout_secs = timeout_secs;
    })
    .await
}

pub(crate) async fn save(server: &TestServer, name: &str, compose: &str, env: &str) -> Value {
    save_on(server, "", name, compose, env).await
}

/// Saves on the engine whose paths start with `on` (`""`: the default, `/engines/NAME`).
async fn save_on(server: &TestServer, on: &str, name: &str, compose: &str, env: &str) -> Value {
    let body = json!({ "compose": compose, "env": env });
    let (status, stack) = server
        .send(Method::PUT, &format!("/api{on}/stacks/{name}"), Some(body))
        .await;
    assert_eq!(status, 200, "{stack}");
    stack
}

/// Starts `action`; the run's number.
pub(crate) async fn start(server: &TestServer, name: &str, action: &str) -> u64 {
    start_on(server, "", name, action).await
}

pub(crate) async fn start_on(server: &TestServer, on: &str, name: &str, action: &str) -> u64 {
    let (status, started) = server
        .post(&format!("/api{on}/stacks/{name}/{action}"))
        .await;
    assert_eq!(status, 202, "{action}: {started}");
    started["run"].as_u64().unwrap()
}

/// The run's output until its end: the lines, and how it ended.
pub(crate) async fn follow(server: &TestServer, name: &str, run: u64) -> (Vec<String>, String) {
    follow_on(server, "", name, run).await
}

pub(crate) async fn follow_on(
    server: &TestServer,
    on: &str,
    name: &str,
    run: u64,
) -> (Vec<String>, String) {
    let mut socket = server
        .open_ws(&format!("/ws{on}/stacks/{name}/runs/{run}"))
        .await;
    let frames = socket
        .collect(RUN_WAIT, |f| {
            matches!(f.last(), Some(app::frames::Frame::End { .. }))
        })
        .await;
    let Some(app::frames::Frame::End { reason, .. }) = frames.last() else {
        panic!("no end: {frames:?}");
    };
    let text = lines(&frames).into_iter().map(|l| l.text).collect();
    (text, reason.clone())
}

/// `docker-compose -p NAME ps --services --filter status=running`, sorted.
fn running_services(name: &str, dir: &std::path::Path) -> Vec<String> {
    let out = compose()
        .args(["-p", name, "-f"])
        .arg(dir.join(name).join("compose.yaml"))
        .args(["ps", "--services", "--filter", "status=running"])
        .env("GREETING", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut services: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    services.sort();
    services
}

/// The compose CLI processes acting on project `name`.
fn cli_processes(name: &str) -> Vec<String> {
    let pattern = format!("compose.* -p {name} ");
    let out = Command::new("pgrep")
        .args(["-af", &pattern])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("compose"))
        .map(str::to_string)
        .collect()
}

fn docker_out(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_plan_and_down_with_the_real_cli() {
    let mut deployed = Deployed::new("deploy");
    let server = server_for(&deployed, 600).await;
    let name = deployed.name("stack");
    save(&server, &name, COMPOSE, "GREETING=hello\n").await;

    // Nothing runs yet: the plan creates every service.
    let (status, plan) = server.get_json(&format!("/api/stacks/{name}/plan")).await;
    assert_eq!(status, 200, "{plan}");
    assert!(plan["cli"].as_str().unwrap().contains("ompose"), "{plan}");
    let changes = |plan: &Value| -> Vec<(String, String)> {
        let mut changes: Vec<(String, String)> = plan["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["service"].as_str().unwrap().into(),
                    s["change"].as_str().unwrap().into(),
                )
            })
            .collect();
        changes.sort();
        changes
    };
    assert_eq!(
        changes(&plan),
        [
            ("db".into(), "create".into()),
            ("once".into(), "create".into()),
            ("web".into(), "create".into())
        ]
    );

    let run = start(&server, &name, "deploy").await;
    assert_eq!(run, 1);
    let (output, how) = follow(&server, &name, run).await;
    assert_eq!(how, "exit 0", "{output:?}");
    assert!(
        output
            .iter()
            .any(|l| l.contains("Creating") && l.contains("web")),
        "{output:?}"
    );
    assert_eq!(running_services(&name, &deployed.dir), ["db", "web"]);
    // The `.env` variable reached the container; Docker's labels name the project.
    let web = docker_out(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.docker.compose.project={name}"),
        "--filter",
        "label=com.docker.compose.service=web",
    ]);
    assert!(!web.is_empty());
    let mut said = String::new();
    for _ in 0..50 {
        said = docker_out(&["logs", &web]);
        if !said.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(said, "web says hello");
    assert!(
        docker_out(&["volume", "ls", "-q"])
            .lines()
            .any(|v| v == format!("{name}_data"))
    );

    // The run's record: who, the version, the images it runs; and the output replayed.
    let (status, runs) = server.get_json(&format!("/api/stacks/{name}/runs")).await;
    assert_eq!(status, 200);
    assert_eq!(runs[0]["n"], 1);
    assert_eq!(runs[0]["exit"], 0);
    assert_eq!(runs[0]["by"], "local");
    assert_eq!(runs[0]["version"], 1);
    let images: Vec<&str> = runs[0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["service"].as_str().unwrap())
        .collect();
    assert_eq!(images, ["db", "once", "web"], "{runs}");
    assert!(
        runs[0]["images"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let (replayed, how) = follow(&server, &name, run).await;
    assert_eq!(how, "exit 0");
    assert_eq!(replayed, output, "the replay is the run's output");

    // The stack's state, from the engine: two of three services run (`once` exited 3).
    let (_, stack) = server.get_json(&format!("/api/stacks/{name}")).await;
    assert_eq!(stack["summary"]["state"], "partial", "{stack}");
    assert_eq!(stack["run"], Value::Null);

    // One service changed: the plan names it alone.
    let changed = COMPOSE.replace(
        "sleep 600\n    networks: [back]\n  once",
        "sleep 601\n    networks: [back]\n  once",
    );
    assert_ne!(changed, COMPOSE);
    save(&server, &name, &changed, "GREETING=hello\n").await;
    let (_, plan) = server.get_json(&format!("/api/stacks/{name}/plan")).await;
    assert_eq!(
        changes(&plan),
        [
            ("db".into(), "recreate".into()),
            ("once".into(), "unchanged".into()),
            ("web".into(), "unchanged".into())
        ],
        "{plan}"
    );
    let run = start(&server, &name, "deploy").await;
    assert_eq!(follow(&server, &name, run).await.1, "exit 0");
    let (_, plan) = server.get_json(&format!("/api/stacks/{name}/plan")).await;
    assert!(
        changes(&plan).iter().all(|(_, c)| c == "unchanged"),
        "{plan}"
    );

    // Down keeps the volume unless asked; the folder stays.
    let run = start(&server, &name, "down").await;
    assert_eq!(follow(&server, &name, run).await.1, "exit 0");
    let left = running_services(&name, &deployed.dir);
    assert!(left.is_empty(), "{left:?}");
    assert!(
        docker_out(&["volume", "ls", "-q"])
            .lines()
            .any(|v| v == format!("{name}_data"))
    );
    let last = start(&server, &name, "down?volumes=true").await;
    assert_eq!(follow(&server, &name, last).await.1, "exit 0");
    assert!(
        !docker_out(&["volume", "ls", "-q"])
            .lines()
            .any(|v| v == format!("{name}_data"))
    );
    assert!(deployed.dir.join(&name).join("compose.yaml").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_at_a_time_and_cancel_stops_the_cli() {
    let mut deployed = Deployed::new("cancel");
    let server = server_for(&deployed, 600).await;
    let name = deployed.name("slow");
    save(&server, &name, SLOW, "").await;
    let run = start(&server, &name, "deploy").await;
    assert_eq!(follow(&server, &name, run).await.1, "exit 0");

    // Stopping `slow` takes a minute: meanwhile nothing else runs on the stack.
    let stop = start(&server, &name, "stop").await;
    let (status, refused) = server.post(&format!("/api/stacks/{name}/deploy")).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains(&format!("run {stop} (stop by local)")),
        "{refused}"
    );
    assert_eq!(
        server
            .send(Method::DELETE, &format!("/api/stacks/{name}"), None)
            .await
            .0,
        409
    );
    let (_, stack) = server.get_json(&format!("/api/stacks/{name}")).await;
    assert_eq!(stack["run"]["n"], stop, "{stack}");
    // A viewer who leaves changes nothing: the run is the stack's.
    let watcher = server
        .open_ws(&format!("/ws/stacks/{name}/runs/{stop}"))
        .await;
    drop(watcher);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!cli_processes(&name).is_empty(), "the stop is running");

    let (status, _) = server
        .post(&format!("/api/stacks/{name}/runs/{stop}/cancel"))
        .await;
    assert_eq!(status, 204);
    let (_, how) = follow(&server, &name, stop).await;
    assert_eq!(how, "cancelled by local");
    assert!(
        cli_processes(&name).is_empty(),
        "{:?}",
        cli_processes(&name)
    );
    let (status, _) = server
        .post(&format!("/api/stacks/{name}/runs/{stop}/cancel"))
        .await;
    assert_eq!(status, 404, "an ended run cannot be cancelled");
    // Free again.
    let run = start(&server, &name, "start").await;
    assert_eq!(follow(&server, &name, run).await.1, "exit 0");

    // Bad input: an unknown action, a service that is an option, down of one service.
    for (path, want) in [
        (format!("/api/stacks/{name}/explode"), 400),
        (format!("/api/stacks/{name}/stop?service=--timeout"), 400),
        (format!("/api/stacks/{name}/down?service=slow"), 400),
        ("/api/stacks/no-such-stack/deploy".to_string(), 404),
    ] {
        let (status, answer) = server.post(&path).await;
        assert_eq!(status, want, "{path}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_and_shutdown_stop_the_cli_and_are_recorded() {
    let mut deployed = Deployed::new("timeout");
    let mut server = server_for(&deployed, 6).await;
    let name = deployed.name("timed");
    save(&server, &name, SLOW, "").await;
    let run = start(&server, &name, "deploy").await;
    assert_eq!(follow(&server, &name, run).await.1, "exit 0");
    let stop = start(&server, &name, "stop").await;
    let (_, how) = follow(&server, &name, stop).await;
    assert_eq!(how, "timed out after 6 s");
    assert!(
        cli_processes(&name).is_empty(),
        "{:?}",
        cli_processes(&name)
    );

    // At shutdown, a run's CLI is stopped and waited for before Berth is done.
    let again = start(&server, &name, "stop").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!cli_processes(&name).is_empty());
    server.shut_down().await;
    assert!(
        cli_processes(&name).is_empty(),
        "{:?}",
        cli_processes(&name)
    );
    let record: Value = serde_json::from_str(
        &fs::read_to_string(
            deployed
                .dir
                .join(&name)
                .join(format!(".berth/runs/{again}.json")),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(record["outcome"], "stopped: Berth shut down", "{record}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_compose_cli_stacks_are_kept_and_runs_say_what_is_missing() {
    let deployed = Deployed::new("nocli");
    let root = deployed.dir.clone();
    let server = TestServer::start_with(move |s| {
        s.stacks.stacks_dir = Some(root);
        s.stacks.compose_command = Some("/nonexistent/compose".into());
    })
    .await;
    // Saved and versioned (only Berth's own YAML check), listed.
    let stack = save(&server, "kept", SLOW, "").await;
    assert_eq!(stack["version"], 1);
    assert_eq!(save(&server, "kept", COMPOSE, "").await["version"], 2);
    let (_, list) = server.get_json("/api/stacks").await;
    assert!(list.to_string().contains("\"kept\""), "{list}");
    // Runs and plans say what is missing; nothing was started.
    for path in ["/api/stacks/kept/deploy", "/api/stacks/kept/down"] {
        let (status, answer) = server.post(path).await;
        assert_eq!(status, 503, "{path}: {answer}");
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .contains("--compose-command"),
            "{answer}"
        );
    }
    let (status, answer) = server.get_json("/api/stacks/kept/plan").await;
    assert_eq!(status, 503, "{answer}");
    let (_, runs) = server.get_json("/api/stacks/kept/runs").await;
    assert_eq!(runs, json!([]));
}

/// One service on the private engine, labelled so the engine's own sweep removes it.
const REMOTE: &str = r#"services:
  app:
    image: berth-test/busybox:latest
    command: sleep 600
    network_mode: none
    labels: [berth.test=1]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_deploys_on_a_private_tls_engine_through_its_address_and_certificates() {
    ensure_image();
    let remote = PrivateEngine::start("stacks-tls", true);
    let mut deployed = Deployed::new("tls");
    let root = deployed.dir.clone();
    let server = TestServer::with_engines_and(
        &[
            ("local", docker_endpoint()),
            ("tls", remote.tls_endpoint("ca.pem")),
        ],
        move |s| s.stacks.stacks_dir = Some(root),
    )
    .await;
    let name = deployed.name("remote");
    let on = "/engines/tls";
    let stack = save_on(&server, on, &name, REMOTE, "").await;
    assert_eq!(stack["summary"]["engine"], "tls", "{stack}");
    // Another engine's stack is not this one's.
    let (status, _) = server.get_json(&format!("/api/stacks/{name}")).await;
    assert_eq!(status, 404);

    let run = start_on(&server, on, &name, "deploy").await;
    let (output, how) = follow_on(&server, on, &name, run).await;
    assert_eq!(how, "exit 0", "{output:?}");
    let project = format!("label=com.docker.compose.project={name}");
    let on_remote = remote.docker(&["ps", "-q", "--filter", &project]);
    assert_eq!(on_remote.lines().count(), 1, "the TLS engine runs it");
    assert_eq!(
        docker_out(&["ps", "-aq", "--filter", &project]),
        "",
        "the local engine does not"
    );
    let (status, stack) = server.get_json(&format!("/api{on}/stacks/{name}")).await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["summary"]["state"], "running", "{stack}");

    let run = start_on(&server, on, &name, "down").await;
    assert_eq!(follow_on(&server, on, &name, run).await.1, "exit 0");
    assert_eq!(remote.docker(&["ps", "-aq", "--filter", &project]), "");
    assert!(
        cli_processes(&name).is_empty(),
        "no compose process left: {:?}",
        cli_processes(&name)
    );
}

/// A compose project deployed by hand, outside the stacks folder, taken down on drop.
struct ByHand {
    dir: PathBuf,
    name: String,
}

impl Drop for ByHand {
    fn drop(&mut self) {
        let _ = compose()
            .args(["-p", &self.name, "-f"])
            .arg(self.dir.join("docker-compose.yml"))
            .args(["down", "-t", "0"])
            .output();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_projects_file_is_shown_read_only_only_where_its_labels_may_point() {
    let deployed = Deployed::new("external");
    let server = server_for(&deployed, 120).await;
    let name = format!("berth-it-byhand-{}", std::process::id());
    let dir = std::env::temp_dir().join(format!("berth-it-byhand-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    // Canonical, as Compose records it: the check refuses a folder reached through a link.
    let dir = fs::canonicalize(&dir).unwrap();
    let text = "services:\n  app:\n    image: berth-test/busybox:latest\n    command: sleep 600\n    network_mode: none\n";
    fs::write(dir.join("docker-compose.yml"), text).unwrap();
    let by_hand = ByHand {
        dir: dir.clone(),
        name: name.clone(),
    };
    let out = compose()
        .current_dir(&dir)
        .args(["-p", &name, "up", "-d"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let file = external_file(&server, &name).await;
    assert_eq!(file["text"], text, "{file}");
    assert_eq!(
        file["path"],
        dir.join("docker-compose.yml").display().to_string()
    );
    // The page's read of the stack says it is external and holds no file of its own.
    let (status, stack) = server.get_json(&format!("/api/stacks/{name}")).await;
    assert_eq!((status, &stack["summary"]["external"]), (200, &json!(true)));

    // Labels are whatever the container's creator wrote: one naming a file that is not a
    // compose file's, or going through `..`, is never opened.
    for (tag, files) in [
        ("passwd", "/etc/passwd"),
        ("dots", "/etc/../etc/passwd.yml"),
    ] {
        let project = format!("berth-it-forged-{tag}-{}", std::process::id());
        let _forged = crate::common::Fixture::new(
            &format!("forged-{tag}"),
            true,
            &[
                "--label",
                &format!("com.docker.compose.project={project}"),
                "--label",
                "com.docker.compose.service=app",
                "--label",
                &format!("com.docker.compose.project.config_files={files}"),
            ],
            &["sleep", "600"],
        );
        let file = external_file(&server, &project).await;
        assert_eq!(file["text"], Value::Null, "{tag}: {file}");
        assert!(file["unreadable"].as_str().is_some(), "{tag}: {file}");
    }

    // A stack of Berth's has its own files; a name with no project is not found.
    save(&server, &deployed_name(), SLOW, "").await;
    let (status, _) = server
        .get_json(&format!("/api/stacks/{}/external-file", deployed_name()))
        .await;
    assert_eq!(status, 409);
    let (status, _) = server
        .get_json("/api/stacks/nothing-here/external-file")
        .await;
    assert_eq!(status, 404);
    drop(by_hand);
}

/// The project's file once the live list has its containers (it follows the engine's events).
async fn external_file(server: &TestServer, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, file) = server
            .get_json(&format!("/api/stacks/{name}/external-file"))
            .await;
        if status == 200 {
            return file;
        }
        assert_eq!(status, 404, "{file}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "never listed: {file}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn deployed_name() -> String {
    format!("berth-it-mine-{}", std::process::id())
}
