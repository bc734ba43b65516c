//! Issue 13, images, volumes, networks and disk usage on the real engine: lists and details,
//! removal refused while in use (409, Docker's words), removals, prunes that give back what
//! `/system/df` said they would, volume and network round trips, and a viewer's 403.

use crate::{
    common::{Fixture, TEST_IMAGE, TestServer, WsClient, any_in, docker, find_in},
    signin::{PASSWORD, accounts_server, audit, send_json, sign_in},
};
use app::model::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn unique(tag: &str) -> String {
    format!("berth-it-{tag}-{}", std::process::id())
}

/// An image with no tag, from a one-file tarball: what a prune removes.
fn dangling_image() -> String {
    let dir = std::env::temp_dir().join(unique("dangling"));
    std::fs::create_dir_all(&dir).unwrap();
    // Different bytes each run: an identical layer would be the same image as last time's.
    std::fs::write(dir.join("f"), format!("{:?}", std::time::SystemTime::now())).unwrap();
    let tar = dir.with_extension("tar");
    let made = std::process::Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(made.success());
    let id = docker(&["import", tar.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&tar);
    id
}

/// A container on a user-defined network, removed on drop.
struct Attached(String);

impl Drop for Attached {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &self.0])
            .output();
    }
}

/// POSTs `/api/{objects}/prune` and asserts it answered 200 and removed `unused`; what it
/// removed and reclaimed.
async fn assert_pruned(server: &TestServer, objects: &str, unused: &str) -> Value {
    let path = format!("/api/{objects}/prune");
    let (status, pruned) = server.send(Method::POST, &path, None).await;
    assert_eq!(status, 200, "{pruned}");
    let removed = any_in(&pruned["removed"], |r| r == unused);
    assert!(removed, "{unused} pruned: {pruned}");
    pruned
}

/// Asserts a DELETE of `path` answers 204 and the object is gone after (404).
async fn assert_removed(server: &TestServer, path: &str) {
    let (status, body) = server.send(Method::DELETE, path, None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.get_json(path).await.0, 404);
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("a JSON error: {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_listed_removed_only_when_unused_and_pruned() {
    let server = TestServer::start().await;
    let user = Fixture::running("image-user", &[]);

    let (status, list) = server.get_json("/api/images").await;
    assert_eq!(status, 200, "{list}");
    let ours = find_in(&list, TEST_IMAGE, |i| {
        any_in(&i["tags"], |t| t == TEST_IMAGE)
    })
    .clone();
    assert!(ours["containers"].as_u64().unwrap() >= 1, "{ours}");
    assert_eq!(ours["dangling"], false);

    // By name (its slash as it is: the route takes the rest of the path) and by id.
    let by_name = format!("/api/images/{}", TEST_IMAGE);
    let (status, detail) = server.get_json(&by_name).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["image"]["id"], ours["id"]);
    assert!(!detail["layers"].as_array().unwrap().is_empty(), "{detail}");
    let used = any_in(&detail["used_by"], |c| c["id"] == user.id.as_str());
    assert!(used, "{detail}");
    for (path, want) in [
        ("/api/images/berth-no-such-image:1", 404),
        ("/api/images/-rf", 400),
        ("/api/images/a%20b", 400),
    ] {
        let (status, body) = server.get_json(path).await;
        assert_eq!(status, want, "{path}: {body}");
        error_of(&body);
    }

    // In use by a running container: 409 with Docker's words, the image stays.
    let id = ours["id"].as_str().unwrap();
    let (status, body) = server
        .send(Method::DELETE, &format!("/api/images/{id}"), None)
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(error_of(&body).contains("conflict"), "{body}");
    // A second tag of it goes (an untag), and only that tag.
    let extra = format!("{}:extra", unique("tag"));
    docker(&["tag", TEST_IMAGE, &extra]);
    let (status, body) = server
        .send(Method::DELETE, &format!("/api/images/{}", extra), None)
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = server.get_json(&format!("/api/images/{extra}")).await;
    assert_eq!(status, 404);
    assert_eq!(server.get_json(&by_name).await.0, 200);

    // A dangling image: prune removes it and gives back what df counted as reclaimable.
    let dangling = dangling_image();
    let (_, before) = server.get_json("/api/system/df").await;
    let pruned = assert_pruned(&server, "images", &dangling).await;
    let (_, after) = server.get_json("/api/system/df").await;
    let reclaimed = pruned["reclaimed"].as_u64().unwrap();
    let gone = before["images"]["reclaimable"].as_u64().unwrap()
        - after["images"]["reclaimable"].as_u64().unwrap();
    assert_eq!(
        gone, reclaimed,
        "df said it would give back what the prune did: {before} {after}"
    );
    assert!(reclaimed > 0);
    assert_eq!(
        server.get_json(&format!("/api/images/{dangling}")).await.0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_round_trip_and_are_kept_while_mounted() {
    let server = TestServer::start().await;
    let name = unique("volume");
    let (status, made) = server
        .send(
            Method::POST,
            "/api/volumes",
            Some(json!({"name": name, "labels": {"berth.test": "1"}})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["driver"], "local");
    for bad in [
        json!({"name": "-x"}),
        json!({"name": "ok-name", "labels": {"a=b": "c"}}),
        json!({"nmae": "typo"}),
    ] {
        let (status, body) = server
            .send(Method::POST, "/api/volumes", Some(bad.clone()))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        error_of(&body);
    }

    let user = Fixture::new(
        "volume-user",
        true,
        &["-v", &format!("{name}:/data")],
        &["sleep", "600"],
    );
    let (status, volume) = server.get_json(&format!("/api/volumes/{name}")).await;
    assert_eq!(status, 200, "{volume}");
    assert_eq!(volume["labels"]["berth.test"], "1");
    let used = any_in(&volume["used_by"], |c| c["id"] == user.id.as_str());
    assert!(used, "{volume}");
    let (status, list) = server.get_json("/api/volumes").await;
    assert_eq!(status, 200);
    let listed = find_in(&list, &name, |v| v["name"] == name.as_str());
    assert_eq!(listed["ref_count"], 1, "Docker's reference count: {listed}");

    let path = format!("/api/volumes/{name}");
    let (status, body) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 409, "in use: {body}");
    error_of(&body);
    drop(user);
    assert_removed(&server, &path).await;

    // An unused one is pruned.
    let spare = unique("spare-volume");
    docker(&["volume", "create", "--label", "berth.test=1", &spare]);
    assert_pruned(&server, "volumes", &spare).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn networks_round_trip_and_docker_s_own_are_never_removed() {
    let server = TestServer::start().await;
    let name = unique("net");
    docker(&[
        "network",
        "create",
        "--subnet",
        "198.18.7.0/24",
        "--label",
        "berth.test=1",
        &name,
    ]);
    // Not a `Fixture`: those are on `--network none`, and a container joins one mode only.
    let user = Attached(docker(&[
        "run",
        "-d",
        "--network",
        &name,
        "--label",
        "berth.test=1",
        TEST_IMAGE,
        "sleep",
        "600",
    ]));
    let (status, list) = server.get_json("/api/networks").await;
    assert_eq!(status, 200, "{list}");
    let listed = find_in(&list, &name, |n| n["name"] == name.as_str()).clone();
    assert_eq!(listed["subnets"], json!(["198.18.7.0/24"]));
    assert_eq!(listed["builtin"], false);
    let attached = any_in(&listed["containers"], |c| c["id"] == user.0.as_str());
    assert!(attached, "{listed}");
    let none = find_in(&list, "none", |n| n["name"] == "none");
    assert_eq!(none["builtin"], true);

    for builtin in ["none", "host"] {
        let (status, body) = server
            .send(Method::DELETE, &format!("/api/networks/{builtin}"), None)
            .await;
        assert_eq!(status, 409, "{builtin}: {body}");
        assert!(error_of(&body).contains("Docker's own"), "{body}");
    }
    let path = format!("/api/networks/{name}");
    let (status, body) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 409, "a container is attached: {body}");
    drop(user);
    assert_removed(&server, &path).await;

    let spare = unique("spare-net");
    docker(&["network", "create", "--subnet", "198.18.8.0/24", &spare]);
    assert_pruned(&server, "networks", &spare).await;
    // The engine's own are still there.
    let (_, list) = server.get_json("/api/networks").await;
    assert!(any_in(&list, |n| n["name"] == "none"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_but_never_changes_and_changes_are_audited() {
    let users = [
        ("vic", Role::Viewer),
        ("olga", Role::Operator),
        ("ada", Role::Admin),
    ];
    let (_dir, server) = accounts_server("objects", &users, |_| {}).await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let mut cookies = Vec::new();
    for name in ["vic", "olga", "ada"] {
        cookies.push(sign_in(&server, name, PASSWORD).await.1.unwrap());
    }
    let [vic, olga, ada] = <[String; 3]>::try_from(cookies).unwrap();

    for path in [
        "/api/images",
        "/api/volumes",
        "/api/networks",
        "/api/system/df",
    ] {
        let read = send_json(&server, Method::GET, path, &vic, None).await;
        assert_eq!(read.status(), StatusCode::OK, "{path}");
    }
    let name = unique("audited-volume");
    for (method, path) in [
        (Method::POST, "/api/images/prune".to_string()),
        (Method::POST, "/api/volumes/prune".to_string()),
        (Method::POST, "/api/networks/prune".to_string()),
        (Method::DELETE, format!("/api/images/{}", TEST_IMAGE)),
        (Method::DELETE, "/api/networks/none".to_string()),
    ] {
        let refused = send_json(&server, method.clone(), &path, &vic, None).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    // Pulling changes what the engine keeps: a viewer's upgrade is refused before it.
    let pull = server.ws_url("/ws/images/pull?ref=busybox:1");
    let refused = WsClient::connect_with(&pull, &[("cookie", vic.as_str())]).await;
    assert_eq!(refused.err().map(|(status, _)| status), Some(403));
    let body = json!({"name": name});
    let refused = send_json(
        &server,
        Method::POST,
        "/api/volumes",
        &vic,
        Some(body.clone()),
    );
    assert_eq!(refused.await.status(), StatusCode::FORBIDDEN);

    let made = send_json(&server, Method::POST, "/api/volumes", &olga, Some(body)).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let path = format!("/api/volumes/{name}");
    let removed = send_json(&server, Method::DELETE, &path, &olga, None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    for action in ["volume.create", "volume.remove"] {
        let entries = Value::from(audit(&server, &ada, &format!("?action={action}")).await);
        let by_olga = |e: &Value| {
            e["actor"] == "olga"
                && e["ok"] == true
                && e["target"].as_str().unwrap().ends_with(&name)
        };
        assert!(
            any_in(&entries, by_olga),
            "{action} by olga on {name}: {entries}"
        );
    }
}
