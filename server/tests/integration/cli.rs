//! `berth --help` documents every setting; bad settings are refused with a message.

use std::process::Command;

fn berth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn help_explains_each_setting() {
    let output = berth(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--bind",
        "BERTH_BIND",
        "--docker-host",
        "DOCKER_HOST",
        "--log",
        "BERTH_LOG",
        "--site-config",
        "Loopback",
        "--allowed-host",
        "--shutdown-drain-ms",
        "--hub-max-bytes",
        "health",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
}

#[test]
fn unsupported_endpoint_is_refused() {
    let output = berth(&["--docker-host", "ftp://example"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unsupported Docker endpoint"), "{stderr}");
}

/// Item 11 of issue 9: settings that contradict each other are refused at start with a
/// message, not discovered later as sockets that close for no reason.
#[test]
fn contradictory_settings_are_refused_at_start() {
    for (args, needle) in [
        (
            &["--ws-ping-ms", "1000", "--ws-pong-timeout-ms", "500"][..],
            "--ws-pong-timeout-ms",
        ),
        (&["--ws-send-timeout-ms", "0"][..], "--ws-send-timeout-ms"),
        (&["--limit-global", "0"][..], "--limit-global"),
        (&["--limit-per-kind", "0"][..], "--limit-per-kind"),
        (&["--hub-max-bytes", "1000"][..], "--hub-max-bytes"),
        // Issue 11: engines.
        (&["--engine", "Prod=unix:///x"][..], "engine name"),
        (&["--engine", "prod"][..], "NAME=URL"),
        (
            &["--engine", "prod=ftp://x"][..],
            "unsupported Docker endpoint",
        ),
        (
            &["--engine", "a=unix:///x", "--engine", "a=unix:///y"][..],
            "given twice",
        ),
        (
            &["--engine", "far=tcp://192.0.2.1:2375"][..],
            "refused beyond loopback",
        ),
        (
            &["--engines", "/nonexistent/engines.toml"][..],
            "cannot read the engines file",
        ),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["--bind", "127.0.0.1:0"])
            .args(args)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(2),
            "{args:?} was accepted"
        );
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

/// Item 4 of issue 9, on the real binary (`BERTH_BIN` is the release build in `make test`):
/// 500 open sockets, some of them not reading, then SIGTERM. Every reading client gets
/// `end` (retryable) and close 1001, none an abrupt close, and the process exits within the
/// drain timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_500_sockets_says_goodbye_to_every_reader_and_exits_in_time() {
    use crate::common::{BerthProcess, Ended, Fixture, WsClient};
    use app::frames::Frame;
    use std::time::{Duration, Instant};
    const READERS: usize = 450;
    const STALLED: usize = 50;
    const DRAIN: Duration = Duration::from_secs(3);
    let _serial = crate::common::LOAD_SENSITIVE.lock().await;
    let chatty = Fixture::new(
        "sigterm",
        true,
        &[],
        // Frames always waiting (1 KB lines, about 1 MB/s) so the stalled clients back up,
        // at a rate the log readers in this one test process keep up with: at 2000 short
        // lines per 10 ms, 150 readers parsing every frame fell behind, were closed as too
        // slow, and starved the loop that connects them.
        &[
            "sh",
            "-c",
            "l=$(printf %01000d 0); while true; do for i in 1 2 3 4 5 6 7 8 9 10; do echo $l; done; sleep 0.01; done",
        ],
    );
    let mut berth = BerthProcess::start(&[
        "--limit-per-kind",
        "1000",
        "--limit-system-stats",
        "1000",
        "--limit-global",
        "1000",
        "--system-interval-ms",
        "200",
        "--shutdown-drain-ms",
        &DRAIN.as_millis().to_string(),
        // Stalled clients stay open until the signal, not closed as too slow first.
        "--ws-send-timeout-ms",
        "120000",
    ])
    .await;
    let logs = berth.ws_url(&format!("/ws/containers/{}/logs?tail=0", chatty.id));
    let host = berth.ws_url("/ws/system/stats");
    let connect = |url: String| async move {
        for _ in 0..100 {
            match WsClient::connect(&url).await {
                Ok(client) => return client,
                Err((503, _)) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(other) => panic!("{other:?}"),
            }
        }
        panic!("the engine never came up");
    };
    // Not reading: their sends back up until the server's writes stall.
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(connect(logs.clone()).await);
    }
    let mut readers = tokio::task::JoinSet::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(READERS);
    for i in 0..READERS {
        // One reader in ten follows the logs, the rest the host's stats.
        let url = if i % 10 == 0 {
            logs.clone()
        } else {
            host.clone()
        };
        let mut client = connect(url).await;
        let ready = ready_tx.clone();
        readers.spawn(async move {
            let mut said_ready = false;
            loop {
                // Only the goodbye is parsed (a tagged frame starts with its type).
                match client.next_text(Duration::from_secs(30)).await {
                    Ok(text) if text.starts_with(r#"{"type":"end""#) => {
                        let Ok(Frame::End { retry, reason }) = serde_json::from_str(&text) else {
                            panic!("not an end frame: {text}");
                        };
                        let close = client.next(Duration::from_secs(10)).await;
                        return (Some((retry, reason)), close.err());
                    }
                    Ok(_) => {
                        if !said_ready {
                            said_ready = true;
                            let _ = ready.send(()).await;
                        }
                    }
                    Err(ended) => return (None, Some(ended)),
                }
            }
        });
    }
    for _ in 0..READERS {
        tokio::time::timeout(Duration::from_secs(60), ready_rx.recv())
            .await
            .expect("every reader receives frames");
    }
    // The stalled clients back up until the kernel takes no more from the server: their
    // unsent bytes stop growing (a socket still taking data grows by ~1 MB/s).
    let stalled_at = Instant::now();
    let mut before = berth.send_queues();
    let mut full = 0;
    while full < STALLED {
        assert!(
            stalled_at.elapsed() < Duration::from_secs(60),
            "only {full} sockets stalled: {before:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = berth.send_queues();
        full = now
            .iter()
            .filter(|&(port, unsent)| *unsent >= 256 * 1024 && before.get(port) == Some(unsent))
            .count();
        before = now;
    }
    let stalled_in = stalled_at.elapsed();
    let started = Instant::now();
    berth.signal("TERM");
    let status = tokio::time::timeout(DRAIN + Duration::from_secs(5), berth.child.wait())
        .await
        .expect("berth exits")
        .unwrap();
    let took = started.elapsed();
    assert!(status.success(), "{status}");
    let mut goodbyes = 0;
    while let Some(result) = readers.join_next().await {
        let (end, close) = result.unwrap();
        let Some((retry, reason)) = end else {
            panic!("a reading client got no end frame, only {close:?}");
        };
        assert!(retry && reason.contains("shutting down"), "{reason}");
        assert_eq!(
            close,
            Some(Ended::Closed(Some(1001))),
            "a clean close, never 1006"
        );
        goodbyes += 1;
    }
    println!(
        "SIGTERM: {goodbyes} readers said goodbye to, {full} stalled (after {stalled_in:?}); exited in {took:?}"
    );
    assert_eq!(goodbyes, READERS);
    assert!(
        took < DRAIN + Duration::from_secs(1),
        "exited after {took:?}"
    );
    drop(stalled);
}

/// Issue 10: without accounts, whoever reaches Berth may use it, so `--auth off` is only
/// allowed on loopback.
#[test]
fn accounts_off_is_refused_beyond_loopback() {
    let output = berth(&["--auth", "off", "--bind", "0.0.0.0:0"]);
    assert!(!output.status.success());
    // Logged (to stdout, like every log line) before exiting.
    let said = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("allowed only on loopback"), "{said}");
}

/// `berth health` asks the server at --bind: exit 0 with what it says while it serves
/// (the image's HEALTHCHECK), 1 with why once nothing answers there. The check runs in a
/// blocking thread: the server under test runs on this test's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_asks_the_running_server_and_fails_once_it_is_gone() {
    let mut server = crate::common::TestServer::start().await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let ask =
        |addr: String| tokio::task::spawn_blocking(move || berth(&["--bind", &addr, "health"]));
    let answered = ask(addr.clone()).await.unwrap();
    let said = String::from_utf8_lossy(&answered.stdout);
    assert!(answered.status.success(), "{answered:?}");
    assert!(said.contains(&format!("serves at http://{addr}")), "{said}");
    assert!(said.contains("is Docker "), "the engine's state: {said}");
    // On every address, it asks loopback on the same port.
    let port = addr.rsplit(':').next().unwrap();
    let any = ask(format!("0.0.0.0:{port}")).await.unwrap();
    assert!(any.status.success(), "{any:?}");

    server.shut_down().await;
    let gone = ask(addr.clone()).await.unwrap();
    assert_eq!(gone.status.code(), Some(1), "{gone:?}");
    let why = String::from_utf8_lossy(&gone.stderr);
    assert!(why.contains(&format!("http://{addr}/api/health")), "{why}");
}
