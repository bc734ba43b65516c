//! Issue 13, pulls: a private registry on 127.0.0.1 (scripts/private-registry.sh) holds images
//! made for each test and pushed there (their local copies removed), and Berth pulls them
//! back: progress frames, then the image in the list; a pull cancelled by its viewers leaves
//! no image and no stream; two viewers share one pull; an unknown name says why.

use crate::common::{TestServer, WsClient, docker, free_port, script};
use app::frames::{Frame, LayerPhase};
use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const WAIT: Duration = Duration::from_secs(20);

/// The private registry, stopped on drop.
pub(crate) struct Registry {
    pub(crate) port: u16,
}

impl Registry {
    pub(crate) fn start() -> Self {
        let port = free_port();
        script("private-registry.sh", &["start", &port.to_string()]);
        Self { port }
    }

    /// Makes an image of one layer of `megabytes` of noise (it does not compress, so the
    /// pull moves that much), pushes it as `berth-it/NAME:1` and removes the local copy.
    /// Returns the repository path without a host (`berth-it/NAME:1`).
    pub(crate) fn push(&self, name: &str, megabytes: usize) -> String {
        let path = format!("berth-it/{name}-{}:1", std::process::id());
        let dir =
            std::env::temp_dir().join(format!("berth-it-image-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ std::process::id() as u64;
        let noise: Vec<u8> = (0..megabytes * 1024 * 1024)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        std::fs::write(dir.join("noise"), noise).unwrap();
        let tar = dir.with_extension("tar");
        let made = Command::new("tar")
            .arg("-C")
            .arg(&dir)
            .args(["-cf"])
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(made.success());
        let here = format!("127.0.0.1:{}/{path}", self.port);
        docker(&["import", tar.to_str().unwrap(), &here]);
        docker(&["push", &here]);
        docker(&["rmi", &here]);
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_file(&tar);
        path
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/private-registry.sh"
        );
        let _ = Command::new("bash").args([script, "stop"]).output();
    }
}

/// A loopback proxy to `port` that sends at most `per_second` bytes a second back: a pull
/// through it lasts long enough to be joined and cancelled. Setting the flag lifts the
/// limit (a pull still running would then finish at once).
pub(crate) async fn throttle(
    port: u16,
    per_second: usize,
) -> (u16, Arc<AtomicBool>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let here = listener.local_addr().unwrap().port();
    let lifted = Arc::new(AtomicBool::new(false));
    let flag = lifted.clone();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let lifted = flag.clone();
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut up_read, mut up_write) = upstream.into_split();
                let ask = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut up_write).await;
                });
                let chunk = (per_second / 10).max(1);
                let mut buffer = vec![0; chunk];
                while let Ok(n) = up_read.read(&mut buffer).await {
                    if n == 0 || client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    if !lifted.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                ask.abort();
            });
        }
    });
    (here, lifted, task)
}

fn pull_url(server: &TestServer, reference: &str) -> String {
    server.ws_url(&format!("/ws/images/pull?ref={reference}"))
}

fn image_exists(reference: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", reference])
        .output()
        .unwrap()
        .status
        .success()
}

/// Whether `frame` tells of a layer downloading: the sign that a pull has begun.
pub(crate) fn downloading(frame: &Frame) -> bool {
    matches!(frame, Frame::PullProgress(p) if p.phase() == LayerPhase::Downloading)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_streams_its_progress_and_the_image_appears() {
    let registry = Registry::start();
    let server = TestServer::start().await;
    let reference = format!("127.0.0.1:{}/{}", registry.port, registry.push("pulled", 4));
    assert!(
        !image_exists(&reference),
        "the local copy is gone before the pull"
    );

    let mut ws = WsClient::connect(&pull_url(&server, &reference))
        .await
        .unwrap();
    let frames = ws
        .collect(WAIT, |f| matches!(f.last(), Some(Frame::End { .. })))
        .await;
    let Some(Frame::End { reason, retry }) = frames.last() else {
        panic!("the pull ends with `end`: {frames:?}");
    };
    assert_eq!(reason, &format!("pulled {reference}"));
    assert!(!retry);
    let moving = frames.iter().any(|f| {
        matches!(f, Frame::PullProgress(p) if p.phase() == LayerPhase::Downloading
            && p.total.is_some_and(|t| t > 0))
    });
    assert!(moving, "a layer's bytes were reported: {frames:?}");
    assert!(
        frames
            .iter()
            .any(|f| matches!(f, Frame::PullProgress(p) if p.phase() == LayerPhase::Done)),
        "{frames:?}"
    );
    let (status, list) = server.get_json("/api/images").await;
    assert_eq!(status, 200);
    assert!(
        list.as_array().unwrap().iter().any(|i| i["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == reference.as_str())),
        "{reference} listed: {list}"
    );
    docker(&["rmi", &reference]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_is_shared_by_its_viewers_and_cancelled_by_the_last_one_out() {
    let registry = Registry::start();
    let server = TestServer::start().await;
    let path = registry.push("slow", 8);
    // 8 MB at 512 KB/s: some 16 s, long enough to join and to leave.
    let (port, lifted, proxy) = throttle(registry.port, 512 * 1024).await;
    let reference = format!("127.0.0.1:{port}/{path}");
    let kind = "kind=\"image_pull\"";

    let mut first = WsClient::connect(&pull_url(&server, &reference))
        .await
        .unwrap();
    let started = first.collect(WAIT, |f| f.iter().any(downloading)).await;
    assert!(
        started.iter().any(downloading),
        "the download began: {started:?}"
    );
    // A second viewer joins the same pull and sees what happened so far.
    let mut second = WsClient::connect(&pull_url(&server, &reference))
        .await
        .unwrap();
    let seen = second.next(WAIT).await.unwrap();
    assert!(matches!(seen, Frame::PullProgress(_)), "{seen:?}");
    assert_eq!(server.metric("berth_hubs", Some(kind)).await, 1.0);
    assert_eq!(
        server.metric("berth_upstream_streams", Some(kind)).await,
        1.0
    );
    assert_eq!(server.metric("berth_ws_clients", Some(kind)).await, 2.0);

    // Both leave: the request is dropped, the engine stops the pull, nothing is left.
    first.close().await;
    second.close().await;
    let left = server
        .wait_metric("berth_upstream_streams", Some(kind), WAIT, |v| v == 0.0)
        .await;
    assert_eq!(left, 0.0);
    assert_eq!(server.metric("berth_hubs", Some(kind)).await, 0.0);
    // Were the engine still pulling, it would now finish within a second: it does not.
    lifted.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !image_exists(&reference),
        "a cancelled pull leaves no image"
    );
    let (status, _) = server.get_json(&format!("/api/images/{}", reference)).await;
    assert_eq!(status, 404);
    proxy.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_of_an_unknown_image_says_why_and_bad_references_are_refused() {
    let registry = Registry::start();
    let server = TestServer::start().await;
    let reference = format!("127.0.0.1:{}/berth-it/no-such-image:1", registry.port);
    let mut ws = WsClient::connect(&pull_url(&server, &reference))
        .await
        .unwrap();
    let (reason, retry) = ws.end(WAIT).await;
    assert!(!retry);
    assert!(
        reason.contains("failed") && reason.contains("not found") || reason.contains("unknown"),
        "the registry's words: {reason}"
    );
    for (query, status) in [("", 400), ("?ref=-rf", 400), ("?ref=a%20b", 400)] {
        let refused = WsClient::connect(&server.ws_url(&format!("/ws/images/pull{query}"))).await;
        let Err((got, body)) = refused else {
            panic!("{query} refused");
        };
        assert_eq!(got, status, "{query}: {body}");
        assert!(body["error"].is_string());
    }
}
