//! The real `berth` binary as a child process.

use std::{process::Command, time::Duration};

/// The real `berth` binary as a child process on a free loopback port: `BERTH_BIN` when set
/// (the release build, in `make test`), else the debug build of this test run.
pub struct BerthProcess {
    pub child: tokio::process::Child,
    pub addr: String,
    /// Its database's folder (removed with it).
    _data: super::DataDir,
}

impl BerthProcess {
    pub async fn start(args: &[&str]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let binary =
            std::env::var("BERTH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_berth").into());
        let data = super::DataDir::new("process");
        let child = tokio::process::Command::new(binary)
            .args(["--bind", &addr, "--log", "warn"])
            .arg("--data-dir")
            .arg(data.path())
            // Without accounts unless the test asks for them.
            .args(if args.contains(&"--auth") {
                &[][..]
            } else {
                &["--auth", "off"][..]
            })
            .args(args)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(&addr).await.is_ok() {
                return Self {
                    child,
                    addr,
                    _data: data,
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("berth did not listen on {addr}");
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// A field of /proc/PID/status in bytes (`VmRSS`, `VmHWM`).
    pub fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    }

    /// CPU time (user + system) the process used, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let after = stat.rsplit_once(')').unwrap().1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// Bytes the kernel holds unsent on each of the server's established connections
    /// (`tx_queue` in /proc/net/tcp), by the client's port: how the tests see that a
    /// client which stopped reading has stalled the server's writes.
    pub fn send_queues(&self) -> std::collections::HashMap<u16, u64> {
        let port = self
            .addr
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap();
        let local = format!("0100007F:{port:04X}");
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // local, remote, state ("01" established), "tx_queue:rx_queue"
                if fields.get(1) != Some(&local.as_str()) || fields.get(3) != Some(&"01") {
                    return None;
                }
                let remote = u16::from_str_radix(fields[2].rsplit(':').next()?, 16).ok()?;
                let unsent = u64::from_str_radix(fields[4].split(':').next()?, 16).ok()?;
                Some((remote, unsent))
            })
            .collect()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
