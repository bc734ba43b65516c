//! Berth started with its engine unreachable shows the outage and recovers without a restart.
//! The outage is real: Berth talks to a unix socket that forwards to the real engine, and the
//! test takes the forwarder away and brings it back.

use crate::common::{Ended, TestServer, docker_endpoint};
use app::frames::Frame;
use berth::Endpoint;
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use tokio::{net::UnixListener, task::JoinSet};

const RECOVERY: Duration = Duration::from_secs(15);

/// A unix socket at `listen` that forwards every connection to the engine's socket. Dropping
/// it closes the listener and every forwarded connection, as an engine restart would.
struct Forwarder {
    accept: tokio::task::JoinHandle<()>,
    listen: PathBuf,
}

impl Forwarder {
    fn start(listen: &Path, engine: &Path) -> Self {
        let _ = std::fs::remove_file(listen);
        let listener = UnixListener::bind(listen).unwrap();
        let engine = engine.to_path_buf();
        let accept = tokio::spawn(async move {
            // Owned here: aborting this task drops the set, which aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let engine = engine.clone();
                connections.spawn(async move {
                    if let Ok(mut upstream) = tokio::net::UnixStream::connect(&engine).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Self {
            accept,
            listen: listen.to_path_buf(),
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.listen);
    }
}

#[tokio::test]
async fn banner_while_down_and_recovery_without_restart() {
    let Endpoint::Unix(engine_socket) = docker_endpoint() else {
        eprintln!("skipped: the forwarder needs a unix-socket engine");
        return;
    };
    let dir = std::env::temp_dir().join(format!("berth-it-outage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("docker.sock");
    let _ = std::fs::remove_file(&socket);
    let endpoint = format!("unix://{}", socket.display());

    // Down from the start.
    let server = TestServer::with_endpoint(Endpoint::Unix(socket.to_str().unwrap().into())).await;
    assert!(server.wait_for_status("/api/health", 503, RECOVERY).await);
    let (_, health) = server.get_json("/api/health").await;
    assert_eq!(health["reachable"], false);
    assert_eq!(health["endpoint"], endpoint.as_str());
    assert!(
        health["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{health}"
    );
    let (status, body) = server.get_json("/api/containers").await;
    assert_eq!(status, 503);
    assert!(
        body["error"].as_str().unwrap().contains(&endpoint),
        "{body}"
    );
    let (status, html) = server.get("/containers").await;
    assert_eq!(status, 503);
    assert!(
        html.contains("Cannot reach the Docker engine") && html.contains(&endpoint),
        "banner names the endpoint"
    );

    // The engine appears: recovered without a restart.
    let forwarder = Forwarder::start(&socket, Path::new(&engine_socket));
    assert!(
        server.wait_for_status("/api/health", 200, RECOVERY).await,
        "recovers once the engine answers"
    );
    let (status, _) = server.get_json("/api/containers").await;
    assert_eq!(status, 200);
    let (status, html) = server.get("/").await;
    assert_eq!(status, 200);
    assert!(!html.contains("Cannot reach the Docker engine"));

    // It goes away while connected (open connections cut), then comes back. A live log
    // stream through it ends with `end` and a normal close, and its hub goes.
    let c = crate::common::Fixture::new(
        "outage",
        true,
        &[],
        &["sh", "-c", "while true; do echo up; sleep 0.1; done"],
    );
    let mut viewer = server.container_ws(&c.id, "logs").await;
    assert!(matches!(viewer.next(RECOVERY).await, Ok(Frame::Logs(_))));
    drop(forwarder);
    let reason = viewer.end_reason(RECOVERY).await;
    assert!(reason.contains("unreachable"), "{reason}");
    assert_eq!(
        viewer.next(RECOVERY).await.unwrap_err(),
        Ended::Closed(Some(1000))
    );
    assert_eq!(
        server
            .wait_metric(
                "berth_hubs",
                Some("kind=\"container_logs\""),
                RECOVERY,
                |v| v == 0.0
            )
            .await,
        0.0
    );
    assert!(
        server.wait_for_status("/api/health", 503, RECOVERY).await,
        "notices the engine is gone"
    );
    let (status, _) = server.get_json("/api/containers").await;
    assert_eq!(status, 503);
    let _forwarder = Forwarder::start(&socket, Path::new(&engine_socket));
    assert!(
        server.wait_for_status("/api/health", 200, RECOVERY).await,
        "recovers a second time"
    );

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
