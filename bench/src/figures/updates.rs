//! Figure 12: image update checks. A private registry on 127.0.0.1
//! (scripts/private-registry.sh) holds 20 images; 200 containers run them (10 each), and 10
//! of the 20 tags then get a newer image. One check through Berth (`POST
//! /api/updates/check`): the registry's requests as its own access log counts them, Berth's
//! count, the time, Berth's CPU and its RSS before and at its peak during the check. Then
//! the schedule's idle cost: a Berth with the default schedule, its CPU over a quiet window
//! after its first scheduled check.

use super::MIB;
use crate::process::Berth;
use crate::{Table, clients, fixtures::docker, step};
use std::path::PathBuf;
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use std::time::{Duration, Instant};

const TAGS: usize = 20;
const PER_TAG: usize = 10;
const NEWER: usize = 10;
const REGISTRY_PORT: &str = "3329";
/// The schedule's first check comes a minute after start; the quiet window follows it.
const FIRST_CHECK: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_secs(30);

fn script(args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("bash")
        .arg("scripts/private-registry.sh")
        .args(args)
        .output()
        .map_err(|e| format!("private-registry.sh: {e}"))?;
    match out.status.success() {
        true => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
        false => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
    }
}

/// Manifest requests in the registry's access log so far.
fn registry_asks(log: &PathBuf) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("/manifests/"))
        .count()
}

/// The test image with a label of its own (a digest of its own), pushed as `reference`.
fn push(reference: &str, version: usize) -> Result<(), String> {
    let made = docker(&["create", crate::fixtures::IMAGE, "true"])?;
    let label = format!("LABEL berth.bench.version={version}");
    docker(&["commit", "--change", &label, &made, reference])?;
    docker(&["rm", &made])?;
    docker(&["push", reference])?;
    Ok(())
}

pub async fn run(binary: &str, addr: &str, table: &mut Table) {
    step("12. image updates: a check of 200 containers over 20 tags, and the schedule's idle cost");
    let mut made = Vec::new();
    let figure = measure(binary, addr, &mut made)
        .await
        .unwrap_or_else(|e| format!("n/a: {e}"));
    for chunk in made.chunks(50) {
        let mut args = vec!["rm", "-f"];
        args.extend(chunk.iter().map(String::as_str));
        let _ = docker(&args);
    }
    for n in 0..TAGS {
        let _ = docker(&["rmi", "-f", &reference(n)]);
    }
    let _ = docker(&[
        "image",
        "prune",
        "-f",
        "--filter",
        "label=berth.bench.version",
    ]);
    let _ = script(&["stop"]);
    table.add(
        "12. Image update checks (issue 29)",
        figure,
        "the registry's own access log; the same Berth idle before the check",
    );
}

fn reference(n: usize) -> String {
    format!("127.0.0.1:{REGISTRY_PORT}/berth-bench/app-{n:02}:1")
}

async fn measure(binary: &str, addr: &str, made: &mut Vec<String>) -> Result<String, String> {
    let dir = PathBuf::from(script(&["start", REGISTRY_PORT])?);
    let log = dir.join("registry.log");
    for n in 0..TAGS {
        push(&reference(n), 1)?;
    }
    for n in 0..TAGS {
        for _ in 0..PER_TAG {
            made.push(docker(&[
                "run",
                "-d",
                "--network",
                "none",
                "--label",
                "berth.bench=1",
                &reference(n),
                "sleep",
                "3600",
            ])?);
        }
    }
    // Newer images for half the tags: the local tag moves, the containers keep theirs.
    for n in 0..NEWER {
        push(&reference(n), 2)?;
    }
    let berth = Berth::start(
        binary,
        addr,
        &["--auth", "off", "--update-check-hours", "0"],
    );
    berth.healthy(addr).await;
    let idle_rss = berth.rss_median(5, Duration::from_millis(200)).await;
    let cpu_before = berth.cpu();
    let asks_before = registry_asks(&log);
    let peak = Arc::new(AtomicU64::new(0));
    let pid = berth.pid();
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let rss = crate::process::rss_bytes(pid) as u64;
                peak.fetch_max(rss, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    let answer = clients::http(addr, "POST", "/api/updates/check", "", None).await?;
    let took = started.elapsed();
    sampler.abort();
    let cpu = berth.cpu() - cpu_before;
    if answer.status != 200 {
        return Err(format!(
            "the check answered {}: {}",
            answer.status, answer.body
        ));
    }
    let found: serde_json::Value = serde_json::from_str(&answer.body).map_err(|e| e.to_string())?;
    let containers = found["containers"].as_array().cloned().unwrap_or_default();
    let state = |s: &str| containers.iter().filter(|c| c["state"] == s).count();
    let asks = registry_asks(&log) - asks_before;
    let requests = found["requests"].as_u64().unwrap_or_default();
    drop(berth);

    // The schedule between checks: a Berth with the default schedule, after its first.
    let scheduled = Berth::start(binary, addr, &["--auth", "off"]);
    scheduled.healthy(addr).await;
    tokio::time::sleep(FIRST_CHECK + Duration::from_secs(10)).await;
    let quiet_before = scheduled.cpu();
    tokio::time::sleep(QUIET).await;
    let quiet_cpu = scheduled.cpu() - quiet_before;
    let first = clients::http_get(addr, "/api/updates").await?;
    let checked: serde_json::Value = serde_json::from_str(&first.1).map_err(|e| e.to_string())?;
    drop(scheduled);

    Ok(format!(
        "{} containers over {TAGS} tags: **{} available, {} current** in **{:.2} s**; \
         the registry saw **{asks} manifest requests** (Berth counts {requests} through the \
         engine and itself); Berth's CPU {:.2} s, RSS {:.1} MiB idle → {:.1} MiB at the \
         check's peak. The schedule: first check done ({}), then **{:.2} s CPU over {} s** \
         quiet",
        containers.len(),
        state("available"),
        state("current"),
        took.as_secs_f64(),
        cpu,
        idle_rss / MIB,
        peak.load(Ordering::Relaxed) as f64 / MIB,
        match checked["last_check"].is_null() {
            true => "not yet",
            false => "yes",
        },
        quiet_cpu,
        QUIET.as_secs(),
    ))
}
