//! Test harness: a Berth server in-process on a loopback port, and containers on the real
//! engine that are removed when their guard drops, even when the test panics.

use berth::{AppState, engine::Endpoint, engine::Engine, router};
use leptos::prelude::LeptosOptions;
use std::{
    process::Command,
    sync::{
        Once,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio_util::sync::CancellationToken;

pub const TEST_IMAGE: &str = "berth-test/busybox:latest";

/// The engine the tests use: `DOCKER_HOST` when set, else the local socket.
pub fn docker_endpoint() -> Endpoint {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    Endpoint::parse(&host).expect("DOCKER_HOST is a supported endpoint")
}

pub struct TestServer {
    pub base: String,
    pub engine: std::sync::Arc<Engine>,
    client: reqwest::Client,
    shutdown: CancellationToken,
}

impl TestServer {
    /// A server on the real engine, returned once the engine is connected.
    pub async fn start() -> Self {
        let server = Self::with_endpoint(docker_endpoint()).await;
        assert!(
            server.engine.wait_until_up(Duration::from_secs(20)).await,
            "the Docker engine at {} did not answer: run `make test`, or start dockerd",
            server.engine.endpoint()
        );
        server
    }

    /// A server on any endpoint, returned at once (the engine may be down).
    pub async fn with_endpoint(endpoint: Endpoint) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let engine = Engine::start(endpoint, shutdown.clone());
        let options = LeptosOptions::builder().output_name("berth").build();
        let app = router(AppState::new(options, engine.clone()));
        let stop = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
                .unwrap();
        });
        Self {
            base,
            engine,
            client: reqwest::Client::new(),
            shutdown,
        }
    }

    /// GET a path; returns the status and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        if path.starts_with("/api/") {
            assert_eq!(
                content_type.as_deref(),
                Some("application/json"),
                "GET {path}: {body}"
            );
        }
        (status, body)
    }

    /// GET a JSON path; returns the status and the parsed body.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path).await;
        let json =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
        (status, json)
    }

    /// Polls `path` until its status is `status`, for at most `timeout`.
    pub async fn wait_for_status(&self, path: &str, status: u16, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.get(path).await.0 == status {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        output.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Creates the test image once per test binary (scripts/engine.sh does the import).
fn ensure_image() {
    static IMAGE: Once = Once::new();
    IMAGE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/engine.sh");
        let status = Command::new("bash")
            .args([script, "image"])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cannot create the test image {TEST_IMAGE}"
        );
    });
}

/// A container on the real engine, labelled `berth.test`, removed on drop.
pub struct Fixture {
    pub id: String,
    pub name: String,
}

impl Fixture {
    /// `docker run -d` (or `create` when `start` is false) with `--network none`; `options`
    /// go before the image, `command` after it.
    pub fn new(tag: &str, start: bool, options: &[&str], command: &[&str]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        ensure_image();
        let name = format!(
            "berth-it-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut args = vec![if start { "run" } else { "create" }];
        if start {
            args.push("-d");
        }
        args.extend([
            "--network",
            "none",
            "--label",
            "berth.test=1",
            "--name",
            &name,
        ]);
        args.extend(options);
        args.push(TEST_IMAGE);
        args.extend(command);
        let id = docker(&args);
        Self { id, name }
    }

    pub fn running(tag: &str, options: &[&str]) -> Self {
        Self::new(tag, true, options, &["sleep", "600"])
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.id])
            .output();
    }
}
