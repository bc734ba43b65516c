//! Issue 29, detection: a private registry on 127.0.0.1 (scripts/private-registry.sh) behind
//! a proxy of this test's own that logs each request and can answer 429. Containers run an
//! image pulled through the proxy; a new image pushed under the same tag is found by one
//! check with one question per tag however many containers run it; an image built here is
//! "not from a registry"; a registry that is down is a state with its words and a retry
//! time; a registry that says 429 is waited for and the check completes; when a digest was
//! first seen outlives a restart.

use crate::{
    common::{DataDir, Fixture, TEST_IMAGE, TestServer, docker, ensure_image, on_fresh_postgres},
    pulls::Registry,
};
use berth::Location;
use serde_json::Value;
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// A request the proxy saw: when, its request line, and whether the proxy itself answered
/// 429.
#[derive(Clone, Debug)]
struct Seen {
    at: Instant,
    line: String,
    refused: bool,
}

/// A loopback proxy to the registry: one request per connection (it asks `Connection:
/// close` of both sides), each logged; the first `refuse` manifest requests get 429 with
/// `Retry-After: RETRY_AFTER`. Dropping it closes its port.
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    refuse: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(registry: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(AtomicUsize::new(0));
        let (log, left) = (seen.clone(), refuse.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, registry, log.clone(), left.clone()));
            }
        });
        Self {
            port,
            seen,
            refuse,
            task,
        }
    }

    /// The manifest requests for `tag` seen so far (by tag, not by digest).
    fn manifest_asks(&self, tag: &str) -> Vec<Seen> {
        let suffix = format!("/manifests/{tag} ");
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.line.contains(&suffix))
            .cloned()
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Longer than the engine waits by itself after a 429 (about 10 s): the wait seen is
/// Berth's.
const RETRY_AFTER: u64 = 15;

async fn relay(
    mut client: TcpStream,
    registry: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    refuse: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    let end = loop {
        let Ok(n) = client.read(&mut buffer).await else {
            return;
        };
        if n == 0 || head.len() > 64 * 1024 {
            return;
        }
        head.extend_from_slice(&buffer[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).to_string();
    let line = text.lines().next().unwrap_or_default().to_string();
    let refused = line.contains("/manifests/")
        && refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    seen.lock().unwrap().push(Seen {
        at: Instant::now(),
        line,
        refused,
    });
    if refused {
        let refusal = format!(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {RETRY_AFTER}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = client.write_all(refusal.as_bytes()).await;
        return;
    }
    // The same head with `Connection: close`, then the rest both ways.
    let mut rewritten: String = text
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    rewritten.push_str("Connection: close\r\n\r\n");
    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", registry)).await else {
        return;
    };
    if upstream.write_all(rewritten.as_bytes()).await.is_err()
        || upstream.write_all(&head[end..]).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Pushes a new image (the test image with a label of its own, so a digest of its own) to
/// the registry at `port` as `repository:1`, removes the local copy, and returns its digest.
pub(crate) fn push_version(port: u16, repository: &str, version: u32) -> String {
    push_image(port, repository, version, &[])
}

/// [`push_version`] with more of `docker commit --change`'s instructions (`VOLUME /cache`,
/// `HEALTHCHECK …`).
pub(crate) fn push_image(port: u16, repository: &str, version: u32, changes: &[&str]) -> String {
    ensure_image();
    let here = format!("127.0.0.1:{port}/{repository}:1");
    let made = docker(&["create", "--label", "berth.test=1", TEST_IMAGE, "true"]);
    let label = format!("LABEL berth.version={version}");
    let mut args = vec!["commit", "--change", &label];
    for change in changes {
        args.extend(["--change", change]);
    }
    args.extend([made.as_str(), here.as_str()]);
    docker(&args);
    docker(&["rm", &made]);
    let pushed = docker(&["push", &here]);
    docker(&["rmi", &here]);
    let digest = pushed
        .split_whitespace()
        .skip_while(|w| *w != "digest:")
        .nth(1)
        .unwrap_or_else(|| panic!("no digest in: {pushed}"));
    digest.to_string()
}

/// Local images of `reference`, removed on drop: what its tag names then, and the image
/// pulled, by id (a newer image pushed under the tag leaves it untagged, and a dangling
/// image left behind would count in the next test's disk usage).
pub(crate) struct Pulled(String, String);

impl Pulled {
    pub(crate) fn new(reference: &str) -> Self {
        docker(&["pull", "-q", reference]);
        let id = docker(&["image", "inspect", "--format", "{{.Id}}", reference]);
        Self(reference.to_string(), id)
    }
}

impl Drop for Pulled {
    fn drop(&mut self) {
        for image in [&self.0, &self.1] {
            let _ = std::process::Command::new("docker")
                .args(["rmi", "-f", image])
                .output();
        }
    }
}

/// The image id container `name` runs, and that image's registry digests.
pub(crate) fn running_image(name: &str) -> (String, String) {
    let image = docker(&["inspect", "--format", "{{.Image}}", name]);
    let digests = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &image,
    ]);
    (image, digests)
}

/// The update entry of container `name` in an `/api/updates` answer.
pub(crate) fn entry<'a>(updates: &'a Value, name: &str) -> &'a Value {
    updates["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["container"] == name)
        .unwrap_or_else(|| panic!("{name} is not in {updates:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_image_is_found_with_one_question_per_tag() {
    let registry = Registry::start();
    let proxy = Proxy::start(registry.port).await;
    let repository = format!("berth-it/updated-{}", std::process::id());
    let first = push_version(registry.port, &repository, 1);
    let reference = format!("127.0.0.1:{}/{repository}:1", proxy.port);
    let _pulled = Pulled::new(&reference);
    let a = Fixture::of_image(None, "upd-a", &reference, true, &[], &["sleep", "600"]);
    let b = Fixture::of_image(None, "upd-b", &reference, true, &[], &["sleep", "600"]);
    let local = Fixture::running("upd-local", &[]);
    let server = TestServer::start().await;

    let (status, updates) = server.get_json("/api/updates").await;
    assert_eq!(status, 200, "{updates}");
    assert_eq!(entry(&updates, &a.name)["state"], "unchecked");

    // `docker pull` asked too: what counts is what the check asks.
    let before = proxy.manifest_asks("1").len();
    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    assert_eq!(updates["checking"], false, "{updates:#}");
    for name in [&a.name, &b.name] {
        let found = entry(&updates, name);
        assert_eq!(found["state"], "current", "{found:#}");
        assert_eq!(found["current"], first.as_str());
        assert_eq!(found["image"], reference.as_str());
    }
    let built_here = entry(&updates, &local.name);
    assert_eq!(built_here["state"], "not_from_registry", "{built_here:#}");
    assert!(built_here["error"].is_null());
    assert_eq!(
        proxy.manifest_asks("1").len() - before,
        1,
        "one question for the tag two containers run: {:#?}",
        proxy.seen.lock().unwrap()
    );

    // A new image under the same tag.
    let pushed_at = berth::now_ms() / 1000;
    let second = push_version(registry.port, &repository, 2);
    assert_ne!(first, second);
    let before = proxy.manifest_asks("1").len();
    let (_, updates) = server.post("/api/updates/check").await;
    for name in [&a.name, &b.name] {
        let found = entry(&updates, name);
        assert_eq!(found["state"], "available", "{found:#}");
        assert_eq!(found["current"], first.as_str());
        assert_eq!(found["available"], second.as_str());
        assert!(found["first_seen"].as_i64().unwrap() >= pushed_at * 1000);
        // Made by `docker commit` a moment ago, as the registry's image config says.
        let created = found["created"]
            .as_i64()
            .expect("the new image's creation time");
        assert!(
            (created - pushed_at).abs() < 120,
            "{created} vs {pushed_at}"
        );
    }
    assert_eq!(proxy.manifest_asks("1").len() - before, 1);
    let first_seen = entry(&updates, &a.name)["first_seen"].clone();

    // One container, asked alone; its digest's first sighting stays.
    let path = format!("/api/updates/check?container={}", a.name);
    let (status, updates) = server.post(&path).await;
    assert_eq!(status, 200, "{updates}");
    assert_eq!(entry(&updates, &a.name)["first_seen"], first_seen);
    assert_eq!(proxy.manifest_asks("1").len() - before, 2);
    for (path, expected) in [
        (
            "/api/updates/check?container=berth-it-no-such-container",
            404,
        ),
        ("/api/updates/check?container=a%2F..%2Fb", 400),
    ] {
        let (status, body) = server.post(path).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
    let stopped = Fixture::new("upd-stopped", false, &[], &["true"]);
    let (status, body) = server
        .post(&format!("/api/updates/check?container={}", stopped.name))
        .await;
    assert_eq!(status, 409, "{body}");

    // The registry goes away: the check says so and when it tries again; the list answers.
    drop(proxy);
    let (status, updates) = server.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let failed = entry(&updates, &a.name);
    assert_eq!(failed["state"], "failed", "{failed:#}");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("cannot reach"), "{error}");
    assert!(failed["next_try"].as_i64().unwrap() > berth::now_ms());
    assert_eq!(entry(&updates, &local.name)["state"], "not_from_registry");
    drop((a, b, local, stopped));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_says_429_is_waited_for_and_the_check_completes() {
    let registry = Registry::start();
    let proxy = Proxy::start(registry.port).await;
    let repository = format!("berth-it/limited-{}", std::process::id());
    let first = push_version(registry.port, &repository, 1);
    let reference = format!("127.0.0.1:{}/{repository}:1", proxy.port);
    let _pulled = Pulled::new(&reference);
    let app = Fixture::of_image(None, "upd-429", &reference, true, &[], &["sleep", "600"]);
    let server = TestServer::start().await;

    // The engine's questions (a HEAD, then a GET) and Berth's own all get 429 with
    // Retry-After.
    proxy.refuse.store(3, Ordering::SeqCst);
    // Berth waits out the Retry-After, and the engine adds its own wait: longer than the
    // test client's usual 30 s.
    let answer = reqwest::Client::new()
        .post(format!("{}/api/updates/check", server.base))
        .timeout(Duration::from_secs(90))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let updates: Value = answer.json().await.unwrap();
    let found = entry(&updates, &app.name);
    assert_eq!(found["state"], "current", "{found:#}");
    assert_eq!(found["current"], first.as_str());
    let asks = proxy.manifest_asks("1");
    let refused: Vec<_> = asks.iter().filter(|s| s.refused).collect();
    assert_eq!(refused.len(), 3, "{asks:#?}");
    let last_refusal = refused[2].at;
    let next = asks
        .iter()
        .find(|s| !s.refused && s.at > last_refusal)
        .expect("asked again after the 429s");
    assert!(
        next.at - last_refusal >= Duration::from_secs(RETRY_AFTER) - Duration::from_millis(100),
        "Retry-After: {RETRY_AFTER} was not waited for: {:?}",
        next.at - last_refusal
    );
    drop(app);
}

/// The minimum age of an update counts from when Berth first saw the new digest: a
/// restart (the same database, a new process's memory) keeps that moment and the image's
/// creation date, rather than seeing the digest anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_digest_was_first_seen_outlives_a_restart() {
    let data = DataDir::new("updates-restart");
    first_sight_outlives_a_restart("sqlite", data.location()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_digest_was_first_seen_outlives_a_restart_in_postgres() {
    on_fresh_postgres("first_sight", |location| {
        first_sight_outlives_a_restart("postgres", location)
    })
    .await;
}

async fn first_sight_outlives_a_restart(tag: &str, location: Location) {
    let registry = Registry::start();
    let repository = format!("berth-it/restarted-{tag}-{}", std::process::id());
    push_version(registry.port, &repository, 1);
    let reference = format!("127.0.0.1:{}/{repository}:1", registry.port);
    let _pulled = Pulled::new(&reference);
    let app = Fixture::of_image(
        None,
        "upd-restart",
        &reference,
        true,
        &[],
        &["sleep", "600"],
    );
    let second = push_version(registry.port, &repository, 2);

    let mut before = TestServer::keeping(&location, |_| {}).await;
    let (status, updates) = before.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let found = entry(&updates, &app.name).clone();
    assert_eq!(found["state"], "available", "{found:#}");
    assert_eq!(found["available"], second.as_str());
    assert!(found["created"].is_i64(), "{found:#}");
    before.shut_down().await;
    drop(before);

    // Time enough that a digest seen anew would have another first sight.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = TestServer::keeping(&location, |_| {}).await;
    let (_, updates) = after.get_json("/api/updates").await;
    assert_eq!(entry(&updates, &app.name)["state"], "unchecked");
    let (status, updates) = after.post("/api/updates/check").await;
    assert_eq!(status, 200, "{updates}");
    let again = entry(&updates, &app.name);
    assert_eq!(again["state"], "available", "{again:#}");
    assert_eq!(again["available"], second.as_str());
    assert_eq!(again["first_seen"], found["first_seen"], "{again:#}");
    assert_eq!(again["created"], found["created"]);
    drop(app);
}
