//! The real engine the tests use: the docker CLI, the test image, and containers removed
//! when their guard drops, even when the test panics.

use super::*;
use berth::Endpoint;
use std::{
    process::Command,
    sync::{
        Once,
        atomic::{AtomicUsize, Ordering},
    },
};

/// The engine the tests use: `DOCKER_HOST` when set, else the local socket.
pub fn docker_endpoint() -> Endpoint {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    Endpoint::parse(&host).expect("DOCKER_HOST is a supported endpoint")
}

/// Runs the docker CLI against the test engine; panics with its stderr on failure.
pub fn docker(args: &[&str]) -> String {
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
pub fn ensure_image() {
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
    /// `-H` for the docker CLI: a private engine's socket, or the test engine.
    host: Option<String>,
}

impl Fixture {
    /// `docker run -d` (or `create` when `start` is false) with `--network none`; `options`
    /// go before the image, `command` after it.
    pub fn new(tag: &str, start: bool, options: &[&str], command: &[&str]) -> Self {
        Self::on(None, tag, start, options, command)
    }

    /// [`Fixture::new`] on the engine at `host` (`unix://…`), or the test engine.
    pub fn on(
        host: Option<&str>,
        tag: &str,
        start: bool,
        options: &[&str],
        command: &[&str],
    ) -> Self {
        ensure_image();
        Self::of_image(host, tag, TEST_IMAGE, start, options, command)
    }

    /// [`Fixture::on`] from `image` rather than the test image.
    pub fn of_image(
        host: Option<&str>,
        tag: &str,
        image: &str,
        start: bool,
        options: &[&str],
        command: &[&str],
    ) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "berth-it-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut args = match host {
            Some(host) => vec!["-H", host],
            None => Vec::new(),
        };
        args.push(if start { "run" } else { "create" });
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
        args.push(image);
        args.extend(command);
        let id = docker(&args);
        Self {
            id,
            name,
            host: host.map(str::to_string),
        }
    }

    pub fn running(tag: &str, options: &[&str]) -> Self {
        Self::new(tag, true, options, &["sleep", "600"])
    }

    /// A running member of compose `project`'s `service` (labelled as compose labels its
    /// containers: how Berth groups them), running `script` with `sh -c`.
    pub fn service(tag: &str, project: &str, service: &str, script: &str) -> Self {
        let project = format!("com.docker.compose.project={project}");
        let service = format!("com.docker.compose.service={service}");
        let labels = ["--label", &project, "--label", &service];
        Self::new(tag, true, &labels, &["sh", "-c", script])
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let mut command = Command::new("docker");
        if let Some(host) = &self.host {
            command.args(["-H", host]);
        }
        let _ = command.args(["rm", "-f", "-v", &self.id]).output();
    }
}
