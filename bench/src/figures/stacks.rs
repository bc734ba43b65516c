//! Figure 11: compose stacks. `/stacks` with 50 stacks (folders made on disk, 5 of them
//! deployed): its time to first byte beside `/projects` of the same engine, and Berth's RSS
//! before and after 50 loads; then a deploy through Berth (the POST, then its run's end read
//! from the API) against the bare compose CLI on the same file and project, alternated.

use super::MIB;
use crate::process::Berth;
use crate::stats::median;
use crate::{Table, clients, step};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const STACKS: usize = 50;
const DEPLOYED: usize = 5;
const LOADS: usize = 50;
const DEPLOYS: usize = 5;

/// Two services of the test image, no network: what a deploy costs is the CLI and Berth.
fn compose_file(tag: &str) -> String {
    let service = |name: &str| {
        format!(
            "  {name}:\n    image: {}\n    command: sleep 3600\n    network_mode: none\n    stop_grace_period: 1s\n    labels: [berth.bench=1, bench.tag={tag}]\n",
            crate::fixtures::IMAGE
        )
    };
    format!("services:\n{}{}", service("web"), service("db"))
}

/// The compose CLI the way Berth finds it here: v1 when installed, else the plugin. Asked
/// once: asking costs a start of the CLI, which must not count in the bare deploy's time.
fn compose() -> Command {
    static V1: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let v1 = *V1.get_or_init(|| {
        Command::new("docker-compose")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    match v1 {
        true => Command::new("docker-compose"),
        false => {
            let mut plugin = Command::new("docker");
            plugin.arg("compose");
            plugin
        }
    }
}

fn cli(dir: &Path, name: &str, args: &[&str]) -> Result<(), String> {
    let out = compose()
        .args(["-p", name, "-f"])
        .arg(dir.join(name).join("compose.yaml"))
        .args(args)
        .output()
        .map_err(|e| format!("compose: {e}"))?;
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
    }
}

pub async fn run(binary: &str, addr: &str, table: &mut Table) {
    step("11. stacks: /stacks with 50 stacks, and a deploy through Berth against the bare CLI");
    let dir = std::env::temp_dir().join(format!("berth-bench-stacks-{}", std::process::id()));
    let figure = measure(binary, addr, &dir)
        .await
        .unwrap_or_else(|e| format!("n/a: {e}"));
    for n in 0..DEPLOYED {
        let _ = cli(&dir, &format!("bench-{n:02}"), &["down", "-t", "0"]);
    }
    let _ = cli(&dir, "bench-deploy", &["down", "-t", "0"]);
    let _ = std::fs::remove_dir_all(&dir);
    table.add(
        "11. Stacks (issue 27)",
        figure,
        "/projects of the same engine; the same compose file and project deployed by the bare compose CLI",
    );
}

async fn measure(binary: &str, addr: &str, dir: &PathBuf) -> Result<String, String> {
    let _ = std::fs::remove_dir_all(dir);
    for n in 0..STACKS {
        let name = format!("bench-{n:02}");
        std::fs::create_dir_all(dir.join(&name)).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(&name).join("compose.yaml"), compose_file(&name))
            .map_err(|e| e.to_string())?;
    }
    std::fs::create_dir_all(dir.join("bench-deploy")).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.join("bench-deploy").join("compose.yaml"),
        compose_file("deploy"),
    )
    .map_err(|e| e.to_string())?;
    for n in 0..DEPLOYED {
        cli(dir, &format!("bench-{n:02}"), &["up", "-d"])?;
    }
    let stacks_dir = dir.to_string_lossy().into_owned();
    let berth = Berth::start(
        binary,
        addr,
        &["--auth", "off", "--stacks-dir", &stacks_dir],
    );
    berth.healthy(addr).await;

    let page = |path: &'static str| async move {
        let (status, body, ttfb) = clients::http_get(addr, path).await?;
        match status {
            200 => Ok((ttfb.as_secs_f64() * 1000.0, body)),
            _ => Err(format!("{path} answered {status}")),
        }
    };
    // Warm: the list cache and the first render's allocations.
    for _ in 0..5 {
        let (_, body) = page("/stacks").await?;
        if !body.contains("bench-49") {
            return Err("/stacks does not list the 50 stacks".into());
        }
        page("/projects").await?;
    }
    let before = berth.rss();
    let (mut stacks, mut projects) = (Vec::new(), Vec::new());
    for _ in 0..LOADS {
        stacks.push(page("/stacks").await?.0);
        projects.push(page("/projects").await?.0);
    }
    let after = berth.rss();

    let (mut bare, mut through) = (Vec::new(), Vec::new());
    for _ in 0..DEPLOYS {
        let started = Instant::now();
        cli(dir, "bench-deploy", &["up", "-d", "--remove-orphans"])?;
        bare.push(started.elapsed().as_secs_f64());
        cli(dir, "bench-deploy", &["down", "-t", "0"])?;

        let started = Instant::now();
        deploy(addr).await?;
        through.push(started.elapsed().as_secs_f64());
        cli(dir, "bench-deploy", &["down", "-t", "0"])?;
    }
    let (bare, through) = (median(&mut bare), median(&mut through));
    Ok(format!(
        "/stacks TTFB median {:.1} ms (/projects {:.1} ms, {:.2}×); RSS {:.1} MiB before {LOADS} loads, {:.1} MiB after; deploy of 2 services median {:.2} s through Berth, {:.2} s bare ({:.2}×, median of {DEPLOYS})",
        median(&mut stacks),
        median(&mut projects),
        median(&mut stacks) / median(&mut projects),
        before / MIB,
        after / MIB,
        through,
        bare,
        through / bare,
    ))
}

/// Deploys `bench-deploy` through Berth and waits for its run to end well.
async fn deploy(addr: &str) -> Result<(), String> {
    let started = clients::http(
        addr,
        "POST",
        "/api/stacks/bench-deploy/deploy",
        "",
        Some("{}"),
    )
    .await?;
    if started.status != 202 {
        return Err(format!(
            "deploy answered {}: {}",
            started.status, started.body
        ));
    }
    let run: serde_json::Value = serde_json::from_str(&started.body).map_err(|e| e.to_string())?;
    let n = run["run"].as_u64().ok_or("no run number")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let (_, body, _) = clients::http_get(addr, "/api/stacks/bench-deploy/runs").await?;
        let runs: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let newest = &runs[0];
        if newest["n"].as_u64() == Some(n) && !newest["ended_ms"].is_null() {
            return match newest["exit"].as_i64() {
                Some(0) => Ok(()),
                _ => Err(format!("the deploy ended: {}", newest["outcome"])),
            };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err("the deploy did not end within 120 s".into())
}
