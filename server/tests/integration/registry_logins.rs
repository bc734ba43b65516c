//! Issue 29, registry credentials: an admin stores them; they are never returned, and the
//! password is sealed at rest with the key in the data directory (or a key file a flag
//! names). Checks and pulls use them: a registry behind basic auth (htpasswd) serves the
//! images the test pushes to an open one. Without credentials a pull fails and a check
//! says why; with them the pull works (`X-Registry-Auth`), the engine answers the digest,
//! Berth's own requests get the new image's date (basic auth), and the update pulls it.

use crate::{
    common::{DataDir, TestServer, WsClient, docker, free_port, script},
    pulls::Registry,
    stack_updates::Images,
    updates::{entry, push_version},
    updating::Container,
};
use app::frames::Frame;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const USER: &str = "berth-it";
const PASSWORD: &str = "p4ss w0rd, not in clear";

/// The open registry's images behind basic auth on another port; stopped on drop.
struct AuthRegistry {
    port: u16,
}

impl AuthRegistry {
    fn start() -> Self {
        let port = free_port();
        script(
            "private-registry.sh",
            &["start-auth", &port.to_string(), USER, PASSWORD],
        );
        Self { port }
    }
}

impl Drop for AuthRegistry {
    fn drop(&mut self) {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/private-registry.sh"
        );
        let _ = std::process::Command::new("bash")
            .args([script, "stop-auth"])
            .output();
    }
}

async fn put(server: &TestServer, registry: &str, body: Value) -> (u16, Value) {
    let path = format!("/api/registries/{registry}");
    server.send(Method::PUT, &path, Some(body)).await
}

/// Pulls `reference` over the socket; how the pull ended.
async fn pull(server: &TestServer, reference: &str) -> String {
    let url = server.ws_url(&format!("/ws/images/pull?ref={reference}"));
    let mut ws = WsClient::connect(&url).await.unwrap();
    let frames = ws
        .collect(Duration::from_secs(60), |f| {
            matches!(f.last(), Some(Frame::End { .. }))
        })
        .await;
    match frames.last() {
        Some(Frame::End { reason, .. }) => reason.clone(),
        other => panic!("no end: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_sealed_at_rest_and_never_returned() {
    let data = DataDir::new("logins");
    let key = data.path().join("secret.key");
    let server = TestServer::keeping(&data.location(), {
        let key = key.clone();
        move |s| s.secrets.default_key_file = Some(key)
    })
    .await;
    let good = json!({"username": USER, "password": PASSWORD});
    for (registry, body, words) in [
        ("a b", good.clone(), "not a registry"),
        ("r.example:", good.clone(), "not a registry"),
        ("nginx", good.clone(), "not a registry"),
        (
            "r.example",
            json!({"username": "", "password": "x"}),
            "username",
        ),
        (
            "r.example",
            json!({"username": "a:b", "password": "x"}),
            "':'",
        ),
        (
            "r.example",
            json!({"username": "u", "password": "a\nb"}),
            "password",
        ),
    ] {
        let (status, body) = put(&server, registry, body).await;
        assert_eq!(status, 400, "{registry}: {body}");
        assert!(body["error"].as_str().unwrap().contains(words), "{body}");
    }
    assert!(!key.exists(), "no key is made before a secret is stored");
    let (status, body) = put(&server, "127.0.0.1:5000", good.clone()).await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = put(&server, "index.docker.io", good.clone()).await;
    assert_eq!(status, 204, "{body}");

    let (status, text) = server.get("/api/registries").await;
    assert_eq!(status, 200, "{text}");
    assert!(!text.contains(PASSWORD), "never returned: {text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["registry"].as_str().unwrap(),
                l["username"].as_str().unwrap(),
                l["readable"] == true,
            )
        })
        .collect();
    assert_eq!(
        names,
        [("127.0.0.1:5000", USER, true), ("docker.io", USER, true)]
    );
    // At rest: neither the password nor its base64 (the basic header's) is in the database.
    let secrets: Vec<(String,)> = sqlx::query_as("SELECT secret FROM registry_logins")
        .fetch_all(&server.state.store.pool)
        .await
        .unwrap();
    let encoded = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
    for (secret,) in &secrets {
        assert!(
            !secret.contains(PASSWORD) && !secret.contains(&encoded),
            "{secret}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the key is its owner's alone");

    let (status, body) = server
        .send(Method::DELETE, "/api/registries/docker.io", None)
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = server
        .send(Method::DELETE, "/api/registries/docker.io", None)
        .await;
    assert_eq!(status, 404, "{body}");

    // Another key (a replica given its own): the credentials are listed, not readable.
    let mut server = server;
    server.shut_down().await;
    drop(server);
    let other = data.path().join("other.key");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).unwrap();
    let server = TestServer::keeping(&data.location(), {
        let other = other.clone();
        move |s| s.secrets.secret_key_file = Some(other)
    })
    .await;
    let (_, listed) = server.get_json("/api/registries").await;
    assert_eq!(listed[0]["registry"], "127.0.0.1:5000", "{listed}");
    assert_eq!(listed[0]["readable"], false, "{listed}");
    // A key file named by a flag is never made up.
    let missing = data.path().join("missing.key");
    let server = TestServer::keeping(&data.location(), {
        let missing = missing.clone();
        move |s| s.secrets.secret_key_file = Some(missing)
    })
    .await;
    let (status, body) = put(&server, "127.0.0.1:5000", good).await;
    assert_eq!(status, 500, "{body}");
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_pulls_and_updates_sign_in_to_a_registry_with_basic_auth() {
    let pid = std::process::id();
    let registry = Registry::start();
    let private = AuthRegistry::start();
    let repository = format!("berth-it/private-{pid}");
    push_version(registry.port, &repository, 1);
    let reference = format!("127.0.0.1:{}/{repository}:1", private.port);
    let server = TestServer::start().await;

    // Without credentials the registry says no.
    let ended = pull(&server, &reference).await;
    assert!(ended.contains("failed"), "{ended}");

    let body = json!({"username": USER, "password": PASSWORD});
    let registry_name = format!("127.0.0.1:{}", private.port);
    let (status, answer) = put(&server, &registry_name, body).await;
    assert_eq!(status, 204, "{answer}");
    let ended = pull(&server, &reference).await;
    assert_eq!(ended, format!("pulled {reference}"));
    let first = docker(&["image", "inspect", "--format", "{{.Id}}", &reference]);
    let mut images = Images(vec![reference.clone(), first]);
    let name = format!("berth-it-private-{pid}");
    let app = Container::run(&name, &["--network", "none"], &reference);

    // A new image: the check signs in (the engine's answer, then Berth's own requests
    // for its date), and the update pulls it.
    push_version(registry.port, &repository, 2);
    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let found = entry(&updates, &name);
    assert_eq!(found["state"], "available", "{found:#}");
    assert!(
        found["created"].is_i64(),
        "the date, from Berth's own request: {found:#}"
    );
    let (status, run) = server.post(&format!("/api/containers/{name}/update")).await;
    assert_eq!(status, 202, "{run}");
    let n = run["n"].as_u64().unwrap();
    let done = loop {
        let (_, run) = server.get_json(&format!("/api/updates/runs/{n}")).await;
        if !run["ended_ms"].is_null() {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["outcome"], "updated", "{done:#}");
    images.0.push(done["to"].as_str().unwrap().to_string());

    // Forgotten: the registry says no again, and the check says so.
    let path = format!("/api/registries/{registry_name}");
    let (status, _) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let (_, updates) = server.post("/api/updates/check").await;
    let found = entry(&updates, &name);
    assert_eq!(found["state"], "failed", "{found:#}");
    assert!(
        found["error"].as_str().unwrap().contains("credentials"),
        "{found:#}"
    );
    drop(app);
    drop(images);
}
