//! Issue 27, compose stacks as folders: files saved whole and versioned (a hand edit kept
//! as a version before Berth writes over it), restored, renamed and removed; bad names,
//! large files and broken YAML refused before anything is written; links never followed
//! out of the stacks folder, nor a path the compose file names for the CLI to read; a
//! stack on the engine it was made on; its state from the engine's containers, and the
//! compose projects with no folder listed as external.

use crate::common::{Fixture, TestServer, docker_endpoint, find_in};
use reqwest::Method;
use serde_json::{Value, json};
use std::{fs, path::PathBuf};

const COMPOSE: &str = "services:\n  web:\n    image: berth-test/busybox:latest\n    command: sleep 600\n  db:\n    image: berth-test/busybox:latest\n";

/// A scratch stacks folder of the test's own, gone on drop.
struct StacksDir(PathBuf);

impl StacksDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("berth-it-stacks-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for StacksDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

async fn server_on(dir: &StacksDir) -> TestServer {
    let root = dir.0.clone();
    TestServer::start_with(move |s| s.stacks.stacks_dir = Some(root)).await
}

async fn put(server: &TestServer, path: &str, compose: &str, env: &str) -> (u16, Value) {
    let body = json!({ "compose": compose, "env": env });
    server.send(Method::PUT, path, Some(body)).await
}

/// Renames a stack: the status and the answer.
async fn rename(server: &TestServer, name: &str, to: &str) -> (u16, Value) {
    let body = json!({ "to": to });
    let path = format!("/api/stacks/{name}/rename");
    server.send(Method::POST, &path, Some(body)).await
}

/// The versions' numbers and how each was made, newest first.
async fn versions(server: &TestServer, name: &str) -> Vec<(u64, String, String)> {
    let (status, list) = server
        .get_json(&format!("/api/stacks/{name}/versions"))
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["n"].as_u64().unwrap(),
                v["what"].as_str().unwrap().to_string(),
                v["by"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_saved_whole_versioned_and_restored() {
    let dir = StacksDir::new("files");
    let server = server_on(&dir).await;
    let (status, stack) = put(&server, "/api/stacks/web", COMPOSE, "TAG=1\n").await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["version"], 1);
    assert_eq!(stack["summary"]["state"], "not_deployed");
    assert_eq!(stack["summary"]["services"], json!(["db", "web"]));
    assert_eq!(stack["summary"]["file"], "compose.yaml");
    // Plain files, as `docker compose up` reads them.
    let folder = dir.0.join("web");
    assert_eq!(
        fs::read_to_string(folder.join("compose.yaml")).unwrap(),
        COMPOSE
    );
    assert_eq!(fs::read_to_string(folder.join(".env")).unwrap(), "TAG=1\n");
    // A new stack (the page's form) never writes over one that exists.
    let (status, answer) = put(&server, "/api/stacks/web?create=true", "services: {}\n", "").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        fs::read_to_string(folder.join("compose.yaml")).unwrap(),
        COMPOSE
    );

    let changed = COMPOSE.replace("sleep 600", "sleep 601");
    let (status, stack) = put(&server, "/api/stacks/web", &changed, "").await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["version"], 2);
    // An empty env is no .env file.
    assert!(!folder.join(".env").exists());

    // Edited by hand: kept as a version before the next save writes over it.
    let by_hand = changed.replace("sleep 601", "sleep 602");
    fs::write(folder.join("compose.yaml"), &by_hand).unwrap();
    let (status, _) = put(&server, "/api/stacks/web", COMPOSE, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        versions(&server, "web").await,
        [
            (4, "saved".into(), "local".into()),
            (3, "found on disk".into(), "disk".into()),
            (2, "saved".into(), "local".into()),
            (1, "created".into(), "local".into()),
        ]
    );
    let (status, three) = server.get_json("/api/stacks/web/versions/3").await;
    assert_eq!(status, 200);
    assert_eq!(three["files"]["compose"], by_hand.as_str());

    // Restoring a version is a save like any other.
    let (status, stack) = server.post("/api/stacks/web/versions/1/restore").await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["version"], 5);
    assert_eq!(
        stack["files"],
        json!({ "compose": COMPOSE, "env": "TAG=1\n" })
    );
    assert_eq!(versions(&server, "web").await[0].1, "restored 1");
    assert_eq!(fs::read_to_string(folder.join(".env")).unwrap(), "TAG=1\n");
    let (status, _) = server.get_json("/api/stacks/web/versions/99").await;
    assert_eq!(status, 404);

    // Renamed, then removed: the folder goes with its versions.
    let (status, renamed) = rename(&server, "web", "site").await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["name"], "site");
    assert!(dir.0.join("site/.berth/versions/5.json").exists());
    assert_eq!(server.get_json("/api/stacks/web").await.0, 404);
    let (status, list) = server.get_json("/api/stacks").await;
    assert_eq!(status, 200);
    find_in(&list, "the renamed stack", |s| s["name"] == "site");
    assert_eq!(
        server
            .send(Method::DELETE, "/api/stacks/site", None)
            .await
            .0,
        204
    );
    assert!(!dir.0.join("site").exists());
    assert_eq!(
        server
            .send(Method::DELETE, "/api/stacks/site", None)
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_large_files_and_broken_yaml_write_nothing() {
    let dir = StacksDir::new("bad");
    let server = server_on(&dir).await;
    for name in ["Web", "a.b", "-x", "_x", "%2e%2e", "a%2Fb", &"a".repeat(64)] {
        let (status, answer) = put(&server, &format!("/api/stacks/{name}"), COMPOSE, "").await;
        // Encoded ones may be refused earlier, as a path no route has.
        match name.contains('%') {
            true => assert!([400, 404].contains(&status), "{name}: {status} {answer}"),
            false => {
                assert_eq!(status, 400, "{name}: {answer}");
                assert!(
                    answer["error"].as_str().unwrap().contains("stack name"),
                    "{answer}"
                );
            }
        }
    }
    let big = "#".repeat(app::model::MAX_STACK_FILE + 1);
    let (status, answer) = put(&server, "/api/stacks/big", COMPOSE, &big).await;
    assert_eq!(status, 413, "{answer}");
    let broken = "services:\n  web:\n    image: a\n   bad: [\n";
    let (status, answer) = put(&server, "/api/stacks/broken", broken, "").await;
    assert_eq!(status, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert_eq!(app::model::error_line(error), Some(4), "{error}");
    let (status, answer) = put(&server, "/api/stacks/listy", "- a\n", "").await;
    assert_eq!(status, 422, "{answer}");
    // YAML, but not a compose file the CLI takes: its own words (`make test` installs it).
    let wrong = "services:\n  web:\n    image: berth-test/busybox:latest\n    ports: 12\n";
    let (status, answer) = put(&server, "/api/stacks/wrong", wrong, "").await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("ports"),
        "{answer}"
    );
    assert_eq!(rename(&server, "none", "Bad Name").await.0, 400);
    // Nothing was written, not even the stacks folder.
    assert!(
        !dir.0.exists(),
        "{:?}",
        fs::read_dir(&dir.0).map(|d| d.count())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_a_compose_file_names_stay_in_the_stacks_folder() {
    let dir = StacksDir::new("paths");
    let server = server_on(&dir).await;
    // A path Berth's machine would read for the CLI, outside the stack's folder: refused
    // before the CLI sees it, with its line; nothing written.
    let outside = [
        "services:\n  web:\n    image: berth-test/busybox:latest\n    env_file: /etc/hostname\n",
        "services:\n  web:\n    image: berth-test/busybox:latest\n    env_file: [../../etc/hostname]\n",
        "x-f: &f /etc/hostname\nservices:\n  web:\n    image: berth-test/busybox:latest\n    env_file: *f\n",
        "services:\n  web:\n    image: berth-test/busybox:latest\n    secrets: [s]\nsecrets:\n  s: {file: /etc/hostname}\n",
        "services:\n  web:\n    build: {context: ., dockerfile: /etc/hostname}\n",
    ];
    for compose in outside {
        let (status, answer) = put(&server, "/api/stacks/out", compose, "").await;
        assert_eq!(status, 422, "{compose}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("stack's folder"), "{error}");
        assert!(app::model::error_line(error).is_some(), "{error}");
    }
    assert!(!dir.0.exists());
    // In the folder: taken (the CLI reads the stack's own .env for the service).
    let inside = "services:\n  web:\n    image: berth-test/busybox:latest\n    env_file: .env\n";
    let (status, answer) = put(&server, "/api/stacks/inside", inside, "A=1\n").await;
    assert_eq!(status, 200, "{answer}");
    // Written on disk by someone else: a plan and a run check it again.
    let file = dir.0.join("inside/compose.yaml");
    fs::write(&file, outside[0]).unwrap();
    let (status, answer) = server.get_json("/api/stacks/inside/plan").await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = server.post("/api/stacks/inside/deploy").await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("env_file"),
        "{answer}"
    );
    let (_, runs) = server.get_json("/api/stacks/inside/runs").await;
    assert_eq!(runs, json!([]), "no run was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_are_never_followed_out_of_the_stacks_folder() {
    let dir = StacksDir::new("links");
    let server = server_on(&dir).await;
    assert_eq!(put(&server, "/api/stacks/inside", COMPOSE, "").await.0, 200);
    let outside = std::env::temp_dir().join(format!("berth-it-outside-{}", std::process::id()));
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("compose.yaml"), "secret: 1\n").unwrap();
    fs::write(outside.join("passwd"), "root:x:0:0\n").unwrap();

    // A stack folder that is a link to a folder outside.
    std::os::unix::fs::symlink(&outside, dir.0.join("escape")).unwrap();
    let (status, answer) = server.get_json("/api/stacks/escape").await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(put(&server, "/api/stacks/escape", COMPOSE, "").await.0, 409);
    let (_, list) = server.get_json("/api/stacks").await;
    assert!(!list.to_string().contains("escape"), "{list}");

    // Files in a real stack folder that link (soft or hard) to a file outside.
    let inside = dir.0.join("inside");
    std::os::unix::fs::symlink(outside.join("passwd"), inside.join(".env")).unwrap();
    let (status, answer) = server.get_json("/api/stacks/inside").await;
    assert_eq!(status, 409, "{answer}");
    fs::remove_file(inside.join(".env")).unwrap();
    fs::hard_link(outside.join("passwd"), inside.join(".env")).unwrap();
    assert_eq!(server.get_json("/api/stacks/inside").await.0, 409);
    // A save is refused too (it would first keep what is there as a version): the file
    // the link names stays as it was.
    fs::remove_file(inside.join(".env")).unwrap();
    std::os::unix::fs::symlink(outside.join("passwd"), inside.join(".env")).unwrap();
    assert_eq!(
        put(&server, "/api/stacks/inside", COMPOSE, "A=1\n").await.0,
        409
    );
    assert_eq!(
        fs::read_to_string(outside.join("passwd")).unwrap(),
        "root:x:0:0\n"
    );
    assert_eq!(
        fs::read_to_string(outside.join("compose.yaml")).unwrap(),
        "secret: 1\n"
    );
    let _ = fs::remove_dir_all(&outside);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_belongs_to_the_engine_it_was_made_on() {
    let dir = StacksDir::new("engines");
    let root = dir.0.clone();
    let server = TestServer::with_engines_and(
        &[("local", docker_endpoint()), ("other", docker_endpoint())],
        move |s| s.stacks.stacks_dir = Some(root),
    )
    .await;
    assert!(
        server
            .engine
            .wait_until_up(std::time::Duration::from_secs(20))
            .await
    );
    let (status, stack) = put(&server, "/api/engines/other/stacks/away", COMPOSE, "").await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["summary"]["engine"], "other");
    assert_eq!(
        fs::read_to_string(dir.0.join("away/.berth/engine")).unwrap(),
        "other\n"
    );
    assert_eq!(
        server.get_json("/api/engines/other/stacks/away").await.0,
        200
    );
    // Not the default engine's: not listed there, not readable there, not saved over.
    assert_eq!(server.get_json("/api/stacks/away").await.0, 404);
    let (_, list) = server.get_json("/api/stacks").await;
    assert!(!list.to_string().contains("\"away\""), "{list}");
    let (status, answer) = put(&server, "/api/stacks/away", COMPOSE, "").await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("other"),
        "{answer}"
    );

    // A folder copied in by hand is the default engine's.
    fs::create_dir_all(dir.0.join("by-hand")).unwrap();
    fs::write(dir.0.join("by-hand/docker-compose.yml"), COMPOSE).unwrap();
    let (status, stack) = server.get_json("/api/stacks/by-hand").await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["summary"]["file"], "docker-compose.yml");
    assert_eq!(stack["version"], 0);
    assert_eq!(stack["files"]["compose"], COMPOSE);
    // Its first save keeps what was there as version 1, and writes the file it had.
    let one = "services:\n  one:\n    image: berth-test/busybox:latest\n";
    let (status, stack) = put(&server, "/api/stacks/by-hand", one, "").await;
    assert_eq!(status, 200, "{stack}");
    assert_eq!(stack["version"], 2);
    assert_eq!(versions(&server, "by-hand").await[1].1, "found on disk");
    assert_eq!(
        fs::read_to_string(dir.0.join("by-hand/docker-compose.yml")).unwrap(),
        one
    );
    assert!(!dir.0.join("by-hand/compose.yaml").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_comes_from_the_engine_and_running_stacks_stay() {
    let dir = StacksDir::new("state");
    let server = server_on(&dir).await;
    let name = format!("berth-it-stack-{}", std::process::id());
    assert_eq!(
        put(&server, &format!("/api/stacks/{name}"), COMPOSE, "")
            .await
            .0,
        200
    );
    let web = Fixture::service("stack-web", &name, "web", "sleep 600");
    let stack = wait_for(&server, &name, |s| s["summary"]["running"] == 1).await;
    assert_eq!(stack["summary"]["state"], "partial", "{stack}");
    assert_eq!(stack["summary"]["running"], 1);
    assert_eq!(stack["project"]["containers"][0]["id"], web.id.as_str());
    let db = Fixture::service("stack-db", &name, "db", "sleep 600");
    let stack = wait_for(&server, &name, |s| s["summary"]["running"] == 2).await;
    assert_eq!(stack["summary"]["state"], "running", "{stack}");

    // Removing or renaming it while it has containers is refused: they keep its name.
    let (status, answer) = server
        .send(Method::DELETE, &format!("/api/stacks/{name}"), None)
        .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("take it down"),
        "{answer}"
    );
    let (status, _) = rename(&server, &name, "elsewhere").await;
    assert_eq!(status, 409);
    assert!(dir.0.join(&name).exists());

    // A project with no folder here is listed as external.
    let external = format!("berth-it-external-{}", std::process::id());
    let _other = Fixture::service("stack-ext", &external, "app", "sleep 600");
    let list = wait_for_list(&server, |l| l.to_string().contains(&external)).await;
    let row = find_in(&list, "the external project", |s| {
        s["name"] == external.as_str()
    });
    assert_eq!(row["external"], true);
    assert_eq!(row["state"], "running");
    assert_eq!(row["file"], Value::Null);
    let ours = find_in(&list, "the stack", |s| s["name"] == name.as_str());
    assert_eq!(ours["external"], false);
    drop((web, db));
    wait_for(&server, &name, |s| s["summary"]["state"] == "not_deployed").await;
    // Down, it may be renamed, but not to the name of a project the engine runs: those
    // containers would become the stack's.
    let (status, answer) = rename(&server, &name, &external).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("runs a compose project"),
        "{answer}"
    );
    assert_eq!(
        server
            .send(Method::DELETE, &format!("/api/stacks/{name}"), None)
            .await
            .0,
        204
    );
}

/// The stack once `done` holds (the live list follows the engine's events).
async fn wait_for(server: &TestServer, name: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, stack) = server.get_json(&format!("/api/stacks/{name}")).await;
        assert_eq!(status, 200, "{stack}");
        if done(&stack) {
            return stack;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {stack}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn wait_for_list(server: &TestServer, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, list) = server.get_json("/api/stacks").await;
        assert_eq!(status, 200, "{list}");
        if done(&list) {
            return list;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
