//! Engines and hosts of their own beside the test engine: a private Docker engine (optionally
//! on TLS), a private sshd, and free loopback ports.

use super::*;
use berth::Endpoint;
use std::process::Command;

/// A Docker engine of its own beside the test engine (scripts/private-engine.sh: own data
/// root, exec root, pid file, containerd namespace and socket under target/), optionally
/// also on `tcp://127.0.0.1:PORT` with TLS. Stopped on drop; its data stays for the next run.
pub struct PrivateEngine {
    pub name: String,
    /// `unix://…`, for `-H` and for Berth.
    pub host: String,
    pub tls_port: Option<u16>,
}

impl PrivateEngine {
    pub fn start(name: &str, tls: bool) -> Self {
        let tls_port = tls.then(free_port);
        let socket = private_engine(&["start", name], tls_port);
        Self {
            name: name.into(),
            host: format!("unix://{socket}"),
            tls_port,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::parse(&self.host).unwrap()
    }

    /// Its TLS listener, trusting `ca` (a file in its tls directory: `ca.pem`, or
    /// `other-ca.pem` which signed nothing of it).
    pub fn tls_endpoint(&self, ca: &str) -> Endpoint {
        let port = self.tls_port.expect("started with TLS");
        let dir = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/berth-engines"
        ))
        .join(&self.name)
        .join("tls");
        Endpoint::with_tls(
            &format!("tcp://127.0.0.1:{port}"),
            berth::TlsFiles {
                ca: dir.join(ca),
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            },
        )
        .unwrap()
    }

    pub fn stop(&self) {
        private_engine(&["stop", &self.name], None);
    }

    /// Starts it again after [`PrivateEngine::stop`], on the same socket and port.
    pub fn restart(&self) {
        private_engine(&["start", &self.name], self.tls_port);
    }

    /// The docker CLI against this engine.
    pub fn docker(&self, args: &[&str]) -> String {
        let mut all = vec!["-H", self.host.as_str()];
        all.extend(args);
        docker(&all)
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["-H", &self.host, "rm", "-f"])
            .args(self.docker_ids())
            .output();
        self.stop();
    }
}

impl PrivateEngine {
    fn docker_ids(&self) -> Vec<String> {
        Command::new("docker")
            .args([
                "-H",
                &self.host,
                "ps",
                "-aq",
                "--filter",
                "label=berth.test",
            ])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs `scripts/NAME` with bash; panics with its stderr when it fails; its output.
pub fn script(name: &str, args: &[&str]) -> String {
    let path = format!("{}/../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("bash").arg(path).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs scripts/private-engine.sh; its last line of output.
pub fn private_engine(args: &[&str], tls_port: Option<u16>) -> String {
    let port = tls_port.map(|p| p.to_string());
    let args: Vec<&str> = args.iter().copied().chain(port.as_deref()).collect();
    script("private-engine.sh", &args)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private sshd on 127.0.0.1 (scripts/private-sshd.sh) whose logins' docker CLI reaches
/// `docker_host`: key login only, its own host key, a known_hosts that holds it and one
/// that holds another key. Stopped on drop.
pub struct PrivateSshd {
    pub port: u16,
    pub dir: std::path::PathBuf,
}

impl PrivateSshd {
    pub fn start(docker_host: &str) -> Self {
        let port = free_port();
        let dir = script(
            "private-sshd.sh",
            &["start", &port.to_string(), docker_host],
        )
        .trim()
        .to_string();
        Self {
            port,
            dir: dir.into(),
        }
    }

    /// `ssh://root@127.0.0.1:PORT` with the client key, checked against `known_hosts` (a
    /// file in its directory).
    pub fn endpoint(&self, known_hosts: &str) -> Endpoint {
        let Endpoint::Ssh(mut target) =
            Endpoint::parse(&format!("ssh://root@127.0.0.1:{}", self.port)).unwrap()
        else {
            unreachable!("an ssh URL")
        };
        target.identity = Some(self.dir.join("id_ed25519"));
        target.known_hosts = Some(self.dir.join(known_hosts));
        Endpoint::Ssh(target)
    }

    /// The ssh processes this test process runs now with `known_hosts` (by their argv).
    pub fn clients(&self, known_hosts: &str) -> usize {
        let wanted = format!(
            "UserKnownHostsFile={}",
            self.dir.join(known_hosts).display()
        );
        let me = std::process::id().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let path = e.path();
                let parent = std::fs::read_to_string(path.join("stat"))
                    .ok()
                    .and_then(|s| {
                        let after = s.rsplit_once(')')?.1.to_string();
                        after.split_whitespace().nth(1).map(str::to_string)
                    });
                let argv = std::fs::read(path.join("cmdline")).unwrap_or_default();
                let argv: Vec<&[u8]> = argv.split(|&b| b == 0).collect();
                parent.as_deref() == Some(me.as_str())
                    && argv.first() == Some(&b"ssh".as_slice())
                    && argv.contains(&wanted.as_bytes())
            })
            .count()
    }
}

impl Drop for PrivateSshd {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/private-sshd.sh");
        let _ = Command::new("bash").args([script, "stop"]).output();
    }
}
