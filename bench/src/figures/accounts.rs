//! Figure 9: what accounts cost. A second release `berth` with accounts on (a fresh SQLite
//! data directory, one admin made with the CLI) is measured idle over the same window as
//! figure 1, then signed in to again and again: the sign-in latency (argon2id, off the
//! async workers), the memory each stored session adds, a signed-in request's time, and
//! the memory left after a burst of sign-ins.

use crate::clients::{Answer, http};
use crate::process::Berth;
use crate::stats::{median, percentile};
use crate::{Table, step};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const MIB: f64 = 1024.0 * 1024.0;
const USER: &str = "bench";
const PASSWORD: &str = "the benchmark's long password";
/// Sign-ins timed one after another; they also warm the allocator (argon2id's 19 MiB).
const TIMED: usize = 50;
/// Sessions added after the warm-up, for the memory per session.
const SESSIONS: usize = 500;
/// Sign-ins sent at once, at the end.
const BURST: usize = 50;

/// Runs figure 9 and adds its row; `idle_off` is figure 1's RSS, for the ratio.
pub async fn run(
    binary: &str,
    addr: &str,
    idle_window: Duration,
    idle_off: f64,
    table: &mut Table,
) {
    step("9. Accounts: idle with accounts on, sign-ins, sessions");
    let figure = measure(binary, addr, idle_window, idle_off).await;
    table.add(
        "9. Accounts (issue 10)",
        figure,
        "same 20 idle containers as figure 1; argon2id at password-auth's defaults (19 MiB, 2 passes)",
    );
}

/// Measures figure 9 and says it in one line.
async fn measure(binary: &str, addr: &str, idle_window: Duration, idle_off: f64) -> String {
    let dir = std::env::temp_dir().join(format!("berth-bench-accounts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_string_lossy().into_owned();
    let figure = measure_in(binary, addr, &data, idle_window, idle_off).await;
    let _ = std::fs::remove_dir_all(&dir);
    figure.unwrap_or_else(|e| format!("n/a: {e}"))
}

async fn measure_in(
    binary: &str,
    addr: &str,
    data: &str,
    idle_window: Duration,
    idle_off: f64,
) -> Result<String, String> {
    add_admin(binary, data)?;
    // Sign-ins are limited per client address (issue 25): each comes as a client of its own
    // through a proxy Berth trusts, as many users behind one would.
    let berth = Berth::start(
        binary,
        addr,
        &["--data-dir", data, "--trusted-proxy", "127.0.0.1"],
    );
    berth.healthy(addr).await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    let samples = (idle_window.as_secs() / 5).max(1) as usize;
    let idle_on = berth
        .rss_median(samples, idle_window / samples as u32)
        .await;

    let mut sign_ins = Vec::new();
    let mut cookie = String::new();
    for _ in 0..TIMED {
        let answer = sign_in(addr).await?;
        sign_ins.push(answer.ttfb.as_secs_f64() * 1000.0);
        cookie = session_cookie(&answer)?;
    }
    let mut signed_in = Vec::new();
    for _ in 0..20 {
        let me = http(
            addr,
            "GET",
            "/api/auth/me",
            &format!("Cookie: {cookie}\r\n"),
            None,
        )
        .await?;
        if me.status != 200 {
            return Err(format!("/api/auth/me with a session: {}", me.status));
        }
        signed_in.push(me.ttfb.as_secs_f64() * 1000.0);
    }

    let db = |data: &str| -> u64 {
        ["berth.db", "berth.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(format!("{data}/{f}")).ok())
            .map(|m| m.len())
            .sum()
    };
    let rss_before = berth.rss_median(3, Duration::from_millis(300)).await;
    let db_before = db(data);
    for _ in 0..SESSIONS {
        let answer = sign_in(addr).await?;
        session_cookie(&answer)?;
    }
    let rss_after = berth.rss_median(3, Duration::from_millis(300)).await;
    let db_after = db(data);
    // A burst: BURST sign-ins at once, then RSS once they are done (each hash takes 19 MiB;
    // what the allocator keeps afterwards is what would stay).
    let burst = futures::future::join_all((0..BURST).map(|_| sign_in(addr))).await;
    if let Some(Err(e)) = burst.into_iter().find(Result::is_err) {
        return Err(e);
    }
    let rss_burst = berth.rss_median(3, Duration::from_millis(300)).await;

    Ok(format!(
        "idle RSS {:.1} MiB with accounts on ({:.2}× figure 1's {:.1} MiB); sign-in (POST /api/auth/login, argon2id) median {:.0} ms, p95 {:.0} ms over {TIMED}; a signed-in request (/api/auth/me, session looked up in SQLite) median {:.1} ms; {SESSIONS} more sessions: RSS {:+.1} KiB per session ({:.1} → {:.1} MiB), database {:+.2} KiB per session; after {BURST} sign-ins at once: RSS {:.1} MiB",
        idle_on / MIB,
        idle_on / idle_off,
        idle_off / MIB,
        median(&mut sign_ins.clone()),
        percentile(&mut sign_ins, 95.0),
        median(&mut signed_in),
        (rss_after - rss_before) / SESSIONS as f64 / 1024.0,
        rss_before / MIB,
        rss_after / MIB,
        (db_after as f64 - db_before as f64) / SESSIONS as f64 / 1024.0,
        rss_burst / MIB,
    ))
}

/// `berth user add bench --role admin`, the password on stdin as a script would give it.
fn add_admin(binary: &str, data: &str) -> Result<(), String> {
    let mut child = Command::new(binary)
        .args(["--data-dir", data, "user", "add", USER, "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{binary}: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "berth user add: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

async fn sign_in(addr: &str) -> Result<Answer, String> {
    static CLIENTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let client = CLIENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let [_, a, b, c] = client.to_be_bytes();
    let body = format!(r#"{{"username":"{USER}","password":"{PASSWORD}"}}"#);
    let origin = format!("Origin: http://{addr}\r\nX-Forwarded-For: 10.{a}.{b}.{c}\r\n");
    let answer = http(addr, "POST", "/api/auth/login", &origin, Some(&body)).await?;
    match answer.status {
        204 => Ok(answer),
        status => Err(format!("sign-in answered {status}: {}", answer.body)),
    }
}

/// `name=value` of the session cookie a sign-in set.
fn session_cookie(answer: &Answer) -> Result<String, String> {
    answer
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| "the sign-in set no cookie".to_string())
}
