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
    ] {
        assert!(help.contains(needle), "--help mentions {needle}:\n{help}");
    }
}

#[test]
fn unsupported_endpoint_is_refused() {
    let output = berth(&["--docker-host", "ssh://example"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unsupported Docker endpoint"), "{stderr}");
}

/// The real binary on SIGTERM: every socket gets `end` and close 1001, and it exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_sockets_with_1001_and_exits() {
    use crate::common::{Ended, WsClient};
    use std::time::Duration;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args([
            "--bind",
            &addr,
            "--log",
            "warn",
            "--system-interval-ms",
            "200",
        ])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("ws://{addr}/ws/system/stats");
    let mut client = None;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            client = Some(WsClient::connect(&url).await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut client = client.expect("berth listens");
    client
        .next(Duration::from_secs(10))
        .await
        .expect("a host sample");

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let frames = client
        .collect(Duration::from_secs(10), |f| {
            matches!(f.last(), Some(app::frames::Frame::End { .. }))
        })
        .await;
    assert!(
        matches!(frames.last(), Some(app::frames::Frame::End { .. })),
        "{frames:?}"
    );
    assert_eq!(
        client.next(Duration::from_secs(10)).await.unwrap_err(),
        Ended::Closed(Some(1001))
    );
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("berth exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}
