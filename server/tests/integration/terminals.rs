//! Issue 15, terminals: a shell in a real container over a raw socket (input, output,
//! resize, exit code), every refusal before the upgrade, and the lifecycle promise: however
//! a terminal ends (closed, vanished, idle, Berth shut down, 100 times over), no process of
//! it is left in the container and Berth's counts and tasks are back where they were.

use crate::{
    common::{Ended, Fixture, TestServer, WsClient, docker},
    signin::{PASSWORD, accounts_server, sign_in},
};
use app::model::Role;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// The container's live processes (`docker top`, zombies aside), as `pid args` lines.
fn processes(container: &str) -> Vec<String> {
    docker(&["top", container, "-o", "pid,args"])
        .lines()
        .skip(1)
        .filter(|line| !line.contains("<defunct>"))
        .map(|line| line.trim().to_string())
        .collect()
}

/// Waits until the container runs exactly `baseline` again; what it runs then.
async fn back_to(container: &str, baseline: &[String], within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let now = processes(container);
        if now == baseline || Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A container with an init, so what the tests leave orphaned is reaped, not a zombie.
fn container(tag: &str) -> Fixture {
    Fixture::new(tag, true, &["--init"], &["sleep", "600"])
}

async fn open(server: &TestServer, path: &str) -> WsClient {
    let mut ws = WsClient::connect(&server.ws_url(path))
        .await
        .unwrap_or_else(|(status, body)| panic!("{path}: {status} {body}"));
    prompt(&mut ws).await;
    ws
}

/// Waits for the shell's prompt before anything is typed: busybox's shell sets its TTY to
/// raw mode when it starts, and what arrived before that is discarded (a person types after
/// the prompt too).
async fn prompt(ws: &mut WsClient) {
    expect(ws, "# ").await;
}

/// Reads until `wanted`, failing with what was read if it does not come.
async fn expect(ws: &mut WsClient, wanted: &str) -> String {
    let (read, ended) = ws.read_until(wanted, WAIT).await;
    assert!(
        ended.is_none(),
        "waiting for {wanted:?}: {ended:?} after {read:?}"
    );
    read
}

async fn counts_back_to_zero(server: &TestServer) {
    for name in ["berth_terminals_open", "berth_exec_processes_alive"] {
        let left = server
            .wait_metric(name, None, Duration::from_secs(5), |v| v == 0.0)
            .await;
        assert_eq!(left, 0.0, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_answers_resizes_and_leaves_nothing_behind_when_closed() {
    let server = TestServer::start().await;
    let c = container("term");
    let baseline = processes(&c.id);
    let path = format!("/ws/containers/{}/exec?cmd=/bin/sh&workdir=/etc", c.name);
    let mut ws = open(&server, &path).await;
    ws.send_text(r#"{"type":"resize","cols":100,"rows":30}"#)
        .await;
    ws.send_binary(b"echo $((6*7)) $(pwd)\n").await;
    expect(&mut ws, "42 /etc\r\n").await;
    ws.send_binary(b"stty size\n").await;
    expect(&mut ws, "30 100\r\n").await;
    ws.send_text(r#"{"type":"resize","cols":132,"rows":43}"#)
        .await;
    ws.send_binary(b"stty size\n").await;
    expect(&mut ws, "43 132\r\n").await;
    assert_eq!(server.metric("berth_terminals_open", None).await, 1.0);
    assert_eq!(server.metric("berth_exec_processes_alive", None).await, 1.0);
    // A child that ignores the hangup, in the background: closing must end it too.
    ws.send_binary(b"(trap '' HUP; exec sleep 777) &\n").await;
    ws.send_binary(b"echo started\n").await;
    expect(&mut ws, "started\r\n").await;
    assert!(
        processes(&c.id).iter().any(|p| p.ends_with("sleep 777")),
        "{:?}",
        processes(&c.id)
    );
    let signalled = server
        .metric("berth_exec_processes_signalled_total", None)
        .await;

    ws.close().await;
    let left = back_to(&c.id, &baseline, Duration::from_secs(2)).await;
    assert_eq!(
        left, baseline,
        "within 2 s no process of the terminal is left"
    );
    counts_back_to_zero(&server).await;
    let signalled = server
        .metric("berth_exec_processes_signalled_total", None)
        .await
        - signalled;
    assert!(signalled >= 2.0, "the shell and its child: {signalled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_closes_the_socket_with_the_exit_code() {
    let server = TestServer::start().await;
    let c = container("term-exit");
    let baseline = processes(&c.id);
    let mut ws = open(
        &server,
        &format!("/ws/engines/local/containers/{}/exec", c.id),
    )
    .await;
    ws.send_binary(b"exit 3\n").await;
    let (read, ended) = ws.read_until(r#"{"type":"exited","code":3}"#, WAIT).await;
    assert_eq!(ended, None, "the exit code comes as a frame: {read:?}");
    let (_, ended) = ws.read_until("never", WAIT).await;
    assert_eq!(ended, Some(Ended::Closed(Some(1000))));
    assert_eq!(back_to(&c.id, &baseline, WAIT).await, baseline);
    counts_back_to_zero(&server).await;
    // A command that does not exist: it runs, fails, and says so with its code.
    let path = format!(
        "/ws/containers/{}/exec?cmd=/bin/berth-no-such-shell",
        c.name
    );
    let mut ws = server.open_ws(&path).await;
    let (read, ended) = ws.read_until("never", WAIT).await;
    assert_eq!(ended, Some(Ended::Closed(Some(1000))), "{read}");
    assert!(
        read.contains("berth-no-such-shell") && read.contains(r#""type":"exited","code":126"#),
        "Docker's words and its code: {read}"
    );
    counts_back_to_zero(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_before_the_upgrade() {
    let server = TestServer::start_with(|s| s.sockets.limit_terminals_per_address = 1).await;
    let running = container("term-refuse");
    let stopped = Fixture::new("term-stopped", false, &[], &["sleep", "600"]);
    let exec = |name: &str, query: &str| format!("/ws/containers/{name}/exec{query}");
    for (path, status) in [
        (exec(&stopped.name, ""), 409),
        (exec("berth-no-such-container", ""), 404),
        (exec("bad$name", ""), 400),
        (exec(&running.name, "?workdir=relative"), 400),
        (exec(&running.name, "?user=root;id"), 400),
        ("/ws/engines/nowhere/containers/x/exec".into(), 404),
    ] {
        let (got, body) = WsClient::connect(&server.ws_url(&path))
            .await
            .err()
            .unwrap_or_else(|| panic!("{path} was upgraded"));
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let paused = container("term-paused");
    docker(&["pause", &paused.id]);
    let (got, body) = WsClient::connect(&server.ws_url(&exec(&paused.name, "")))
        .await
        .err()
        .unwrap();
    assert_eq!(got, 409, "{body}");
    docker(&["unpause", &paused.id]);

    // One terminal per address here: the second is 429, and free again once the first ends.
    let first = open(&server, &exec(&running.name, "")).await;
    let (got, body) = WsClient::connect(&server.ws_url(&exec(&running.name, "")))
        .await
        .err()
        .unwrap();
    assert_eq!(got, 429, "{body}");
    first.close().await;
    counts_back_to_zero(&server).await;
    open(&server, &exec(&running.name, "")).await.close().await;
    counts_back_to_zero(&server).await;

    // --exec off: nobody, whatever the role, even the loopback user with accounts off.
    let off = TestServer::start_with(|s| s.sockets.exec = berth::ExecMode::Off).await;
    let (got, body) = WsClient::connect(&off.ws_url(&exec(&running.name, "")))
        .await
        .err()
        .unwrap();
    assert_eq!(got, 403, "{body}");
    assert_eq!(off.get_json("/api/auth/me").await.1["terminal"], false);
    assert_eq!(server.get_json("/api/auth/me").await.1["terminal"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_by_default_and_every_terminal_is_audited() {
    let users = [
        ("vic", Role::Viewer),
        ("olga", Role::Operator),
        ("ada", Role::Admin),
    ];
    let (dir, server) =
        accounts_server("terminals", &users, |s| s.accounts.metrics_open = true).await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let c = container("term-roles");
    let path = server.ws_url(&format!("/ws/containers/{}/exec?cmd=sh", c.name));
    let mut cookies = Vec::new();
    for name in ["vic", "olga", "ada"] {
        cookies.push(sign_in(&server, name, PASSWORD).await.1.unwrap());
    }
    let [vic, olga, ada] = <[String; 3]>::try_from(cookies).unwrap();
    for (who, cookie) in [("viewer", &vic), ("operator", &olga)] {
        let (got, body) = WsClient::connect_with(&path, &[("cookie", cookie)])
            .await
            .err()
            .unwrap_or_else(|| panic!("a {who} got a terminal"));
        assert_eq!(got, 403, "{who}: {body}");
    }
    let baseline = processes(&c.id);
    let mut ws = WsClient::connect_with(&path, &[("cookie", &ada)])
        .await
        .unwrap();
    prompt(&mut ws).await;
    ws.send_binary(b"echo $((6*7))\n").await;
    expect(&mut ws, "42\r\n").await;
    ws.close().await;
    counts_back_to_zero(&server).await;
    // Signing out ends the terminals the session opened, and their processes.
    let mut ws = WsClient::connect_with(&path, &[("cookie", &ada)])
        .await
        .unwrap();
    prompt(&mut ws).await;
    ws.send_binary(b"echo in\n").await;
    expect(&mut ws, "in\r\n").await;
    crate::signin::send_json(
        &server,
        reqwest::Method::POST,
        "/api/auth/logout",
        &ada,
        None,
    )
    .await;
    let (read, ended) = ws.read_until("never", WAIT).await;
    assert_eq!(ended, Some(Ended::Closed(Some(4401))), "{read}");
    assert_eq!(back_to(&c.id, &baseline, WAIT).await, baseline);
    counts_back_to_zero(&server).await;
    let ada = sign_in(&server, "ada", PASSWORD).await.1.unwrap();
    let audit = crate::signin::send_json(
        &server,
        reqwest::Method::GET,
        "/api/audit?actor=ada",
        &ada,
        None,
    )
    .await;
    let entries: serde_json::Value = audit.json().await.unwrap();
    let targets = |action: &str| -> Vec<String> {
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action)
            .map(|e| e["target"].as_str().unwrap().to_string())
            .collect()
    };
    let target = format!("local/{}: sh", c.name);
    assert_eq!(targets("terminal.open"), [target.clone(), target.clone()]);
    let closed = targets("terminal.close");
    for how in ["closed by the browser", "the session ended"] {
        assert!(
            closed
                .iter()
                .any(|t| t.starts_with(&format!("{target} after ")) && t.contains(how)),
            "who, container, command, duration and how ({how}): {closed:?}"
        );
    }
    // Operators too, when Berth says so.
    let operators = TestServer::with_accounts(&dir.location(), |s| {
        s.sockets.exec = berth::ExecMode::Operator;
        s.accounts.metrics_open = true;
    })
    .await;
    let path = operators.ws_url(&format!("/ws/containers/{}/exec", c.name));
    let olga = sign_in(&operators, "olga", PASSWORD).await.1.unwrap();
    let ws = WsClient::connect_with(&path, &[("cookie", &olga)])
        .await
        .unwrap();
    ws.close().await;
    let (got, _) = WsClient::connect_with(&path, &[("cookie", &vic)])
        .await
        .err()
        .unwrap();
    assert_eq!(got, 403);
    counts_back_to_zero(&operators).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_terminals_and_a_shutdown_end_their_processes() {
    let mut server = TestServer::start_with(|s| s.sockets.exec_idle_secs = 1).await;
    let c = container("term-idle");
    let baseline = processes(&c.id);
    let path = format!("/ws/containers/{}/exec", c.name);
    let mut idle = open(&server, &path).await;
    let (read, ended) = idle.read_until("never", WAIT).await;
    assert_eq!(ended, Some(Ended::Closed(Some(4009))), "{read}");
    assert!(read.contains("no input"), "{read}");
    assert_eq!(back_to(&c.id, &baseline, WAIT).await, baseline);
    counts_back_to_zero(&server).await;

    // Shutdown: the terminal is told, closed with 1001, and its process ended before Berth
    // is done.
    let mut ws = open(&server, &path).await;
    ws.send_binary(b"sleep 888 & echo bg\n").await;
    expect(&mut ws, "bg\r\n").await;
    server.shut_down().await;
    let (read, ended) = ws.read_until("never", WAIT).await;
    assert_eq!(ended, Some(Ended::Closed(Some(1001))), "{read}");
    assert!(read.contains("server shutting down"), "{read}");
    assert_eq!(
        processes(&c.id),
        baseline,
        "nothing of the terminal is left once Berth has exited"
    );
}

/// 100 terminals, half closed and half vanished (the connection dropped, no close frame):
/// no process left, counts at 0, Berth's tasks back to their warm number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_terminals_come_and_go_and_leave_nothing() {
    let server = TestServer::start().await;
    let c = container("term-cycles");
    let baseline = processes(&c.id);
    let path = format!("/ws/containers/{}/exec", c.name);
    let cycle = |n: usize| {
        let (server, path) = (&server, &path);
        async move {
            let mut ws = open(server, path).await;
            ws.send_binary(format!("echo cycle-{n}\n").as_bytes()).await;
            expect(&mut ws, &format!("cycle-{n}\r\n")).await;
            match n % 2 {
                0 => ws.close().await,
                _ => drop(ws),
            }
        }
    };
    cycle(0).await;
    counts_back_to_zero(&server).await;
    let warm = server.metric("berth_tokio_alive_tasks", None).await;
    let opened = server.metric("berth_terminals_opened_total", None).await;
    // Five at a time, as a few people would.
    for batch in (1..=100).collect::<Vec<_>>().chunks(5) {
        futures::future::join_all(batch.iter().map(|&n| cycle(n))).await;
    }
    assert_eq!(
        server.metric("berth_terminals_opened_total", None).await - opened,
        100.0
    );
    counts_back_to_zero(&server).await;
    let left = back_to(&c.id, &baseline, Duration::from_secs(5)).await;
    assert_eq!(left, baseline, "no process of any terminal is left");
    let tasks = server
        .wait_metric("berth_tokio_alive_tasks", None, WAIT, |t| t <= warm)
        .await;
    assert!(tasks <= warm, "tasks back to warm: {tasks} (warm {warm})");
}
