//! The containers the benchmark creates, through the docker CLI, all labelled
//! `berth.bench=1`; dropping the [`Fixtures`] removes every one of them, and a new run first
//! removes what an interrupted one left.

use std::process::Command;

pub const IMAGE: &str = "berth-test/busybox:latest";

pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| format!("docker {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

pub struct Fixtures {
    label: String,
}

impl Fixtures {
    pub fn new() -> Self {
        let fixtures = Self {
            // One label for every run: a run that was interrupted is swept by the next.
            label: "berth.bench=1".to_string(),
        };
        fixtures.remove_all();
        fixtures
    }

    /// `start`: `docker run -d`, else `docker create`. `extra` goes before the image.
    pub fn container(&self, name: &str, start: bool, extra: &[&str], cmd: &[&str]) -> String {
        let verb = if start { "run" } else { "create" };
        let mut args = vec![verb];
        if start {
            args.push("-d");
        }
        let name = format!("berth-bench-{}-{name}", std::process::id());
        args.extend(["--network", "none", "--label", &self.label, "--name", &name]);
        args.extend(extra);
        args.push(IMAGE);
        args.extend(cmd);
        docker(&args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `n` containers named `{prefix}-{i}`, made on a few threads (each docker call is a
    /// round trip of tens of milliseconds).
    pub fn many(&self, prefix: &str, n: usize, start: bool, cmd: &[&str]) -> Vec<String> {
        let chunks: Vec<Vec<usize>> = (0..n)
            .collect::<Vec<_>>()
            .chunks(n.div_ceil(8).max(1))
            .map(<[usize]>::to_vec)
            .collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .into_iter()
                            .map(|i| self.container(&format!("{prefix}-{i}"), start, &[], cmd))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("docker thread"))
                .collect()
        })
    }

    pub fn remove(&self, ids: &[String]) {
        for chunk in ids.chunks(50) {
            let mut args = vec!["rm", "-f"];
            args.extend(chunk.iter().map(String::as_str));
            let _ = docker(&args);
        }
    }

    fn remove_all(&self) {
        let ids = docker(&["ps", "-aq", "--filter", &format!("label={}", self.label)])
            .unwrap_or_default();
        let ids: Vec<String> = ids.split_whitespace().map(str::to_string).collect();
        self.remove(&ids);
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        self.remove_all();
    }
}
