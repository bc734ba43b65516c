//! Issue 25 (trust), the streams' side: a late viewer's exact tail on a hub that is still
//! starting, history that stops when its session ends, history bounded in bytes while it is
//! fetched, terminal processes that drop the marker, audit text that cannot mislead, and a
//! pull audited once with its outcome. Real engine, real sockets, real database.

use crate::{
    common::{BerthProcess, Ended, Fixture, LOAD_SENSITIVE, TestServer, WsClient, docker},
    pulls::{Registry, downloading, throttle},
    signin::{DataDir, PASSWORD, accounts_server, add, send_json, sign_in},
};
use app::{frames::Frame, model::Role};
use reqwest::{Method, StatusCode};
use std::{
    process::Command,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

const WAIT: Duration = Duration::from_secs(10);
/// "At once" for a viewer's history: the old code gave nothing for 10 s.
const FEW_SECONDS: Duration = Duration::from_secs(5);
/// Long enough for a duplicate or a stray live line to show up after a tail arrived.
const QUIET: Duration = Duration::from_millis(700);

/// A container that prints `count` numbered lines (`N` then `pad` characters of padding)
/// and then stays quiet; returned once the engine has logged the last one.
async fn numbered(tag: &str, count: usize, pad: usize) -> Fixture {
    let script = match pad {
        0 => format!("seq 1 {count}; sleep 600"),
        _ => format!(
            "p=$(printf '%0{pad}d' 0); seq 1 {count} | while read i; do echo \"$i $p\"; done; sleep 600"
        ),
    };
    let c = Fixture::new(tag, true, &[], &["sh", "-c", &script]);
    let last = format!("{count}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tail = docker(&["logs", "--tail", "1", &c.id]);
        if tail.split(' ').next() == Some(last.as_str()) {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "{tag}: not all lines logged: {tail:.40}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn logs_path(c: &Fixture, tail: usize) -> String {
    format!("/ws/containers/{}/logs?tail={tail}", c.name)
}

/// The leading number of every log line in `frames`, in order.
fn numbers(frames: &[Frame]) -> Vec<u64> {
    crate::common::lines(frames)
        .iter()
        .map(|l| {
            l.text
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("a numbered line: {:.40}", l.text))
        })
        .collect()
}

/// `numbers` as a short description for a failure message.
fn summary(numbers: &[u64]) -> String {
    format!(
        "{} lines, first {:?}, last {:?}",
        numbers.len(),
        numbers.first(),
        numbers.last()
    )
}

/// Issue 25, "a shared stream that gives a late viewer nothing": a viewer that joins with no
/// pause after one that asked for no history gets its exact 2,500-line tail at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_joining_a_starting_hub_gets_its_tail_at_once() {
    let _serial = LOAD_SENSITIVE.lock().await;
    let server = TestServer::start().await;
    let c = numbered("late-start", 3000, 0).await;
    let mut a = server.open_ws(&logs_path(&c, 0)).await;
    // No pause: the hub A started is still reading where its history ends.
    let mut b = server.open_ws(&logs_path(&c, 2500)).await;
    let mut frames = b
        .collect(FEW_SECONDS, |f| crate::common::lines(f).len() >= 2500)
        .await;
    // Anything after the tail would be a line twice (the container prints nothing more).
    frames.extend(b.collect(QUIET, |_| false).await);
    let got = numbers(&frames);
    assert_eq!(
        got,
        (501..=3000).collect::<Vec<u64>>(),
        "exactly the last 2,500 lines, in order: {}",
        summary(&got)
    );
    assert!(
        !frames.iter().any(|f| matches!(f, Frame::Lagged { .. })),
        "nothing reported lost: {frames:?}"
    );
    // A, who asked for none, still gets none: one viewer's tail is not another's.
    let theirs = a.collect(QUIET, |_| false).await;
    assert_eq!(numbers(&theirs), Vec::<u64>::new(), "{theirs:?}");
}

/// Issue 25: a viewer that joins while the first one is still being sent its own history
/// gets its exact tail, and the first still gets its whole tail, each line once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_joining_during_anothers_history_gets_its_tail() {
    let _serial = LOAD_SENSITIVE.lock().await;
    let server = TestServer::start().await;
    // 3,000 lines of about 1 KB: 3 MB, within a hub's 8 MiB, far more than A's 4 KiB
    // receive buffer and the kernel's send buffer hold, so A's history is still being sent
    // while B joins.
    let c = numbered("during", 3000, 1000).await;
    let mut a =
        WsClient::connect_with_receive_buffer(&server.ws_url(&logs_path(&c, 3000)), 4096).await;
    let first = a.next(WAIT).await.expect("A's first frame");
    assert!(matches!(first, Frame::Logs(_)), "{first:?}");
    let mut b = server.open_ws(&logs_path(&c, 100)).await;
    let mut theirs = b
        .collect(FEW_SECONDS, |f| crate::common::lines(f).len() >= 100)
        .await;
    theirs.extend(b.collect(QUIET, |_| false).await);
    let got = numbers(&theirs);
    assert_eq!(
        got,
        (2901..=3000).collect::<Vec<u64>>(),
        "B: exactly the last 100 lines: {}",
        summary(&got)
    );
    // A reads on: all 3,000, no gap, no duplicate.
    let mut frames = vec![first];
    frames.extend(
        a.collect(Duration::from_secs(30), |f| {
            crate::common::lines(f).len() >= 3000
        })
        .await,
    );
    frames.extend(a.collect(QUIET, |_| false).await);
    let got = numbers(&frames);
    assert_eq!(
        got,
        (1..=3000).collect::<Vec<u64>>(),
        "A: its whole tail, each line once: {}",
        summary(&got)
    );
    assert!(
        !frames.iter().any(|f| matches!(f, Frame::Lagged { .. })),
        "nothing reported lost to A"
    );
}

/// Bytes the kernel holds unsent on the server's side of the loopback connection between
/// `server_port` and `client_port` (`tx_queue` in /proc/net/tcp).
fn unsent(server_port: u16, client_port: u16) -> Option<u64> {
    let local = format!("0100007F:{server_port:04X}");
    let remote = format!("0100007F:{client_port:04X}");
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()) && fields.get(2) == Some(&remote.as_str()))
            .then(|| u64::from_str_radix(fields[4].split(':').next()?, 16).ok())
            .flatten()
    })
}

/// Issue 25, item 10: a signed-in client that does not read is being sent its own history
/// (older lines than its hub holds, fetched for it alone); its session is signed out. What
/// it reads afterwards is what was already on its way, then `end` and 4401: not the rest
/// of the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_stops_at_sign_out() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let _serial = LOAD_SENSITIVE.lock().await;
    let dir = DataDir::new("history-signout");
    add(&dir.location(), "vic", Role::Viewer).await;
    // A history budget (a quarter of a hub's bytes) of 16 MiB: the whole 10 MB tail is
    // fetched for the viewer, far more than the kernel's buffers take.
    let server =
        TestServer::with_accounts(&dir.location(), |s| s.hubs.hub_max_bytes = 64 << 20).await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let c = numbered("signout", 12_000, 1000).await;
    // Another session keeps a hub holding one line: a viewer asking 10,000 is owed 9,999
    // older ones, fetched for it alone and sent before the hub's (its prelude).
    let other = sign_in(&server, "vic", PASSWORD).await.1.unwrap();
    let mut first =
        WsClient::connect_with(&server.ws_url(&logs_path(&c, 1)), &[("cookie", &other)])
            .await
            .unwrap();
    assert_eq!(numbers(&[first.next(WAIT).await.unwrap()]), [12_000]);
    let vic = sign_in(&server, "vic", PASSWORD).await.1.unwrap();

    // A client with a 4 KiB receive buffer, set before connecting, that does not read.
    let mut request = server
        .ws_url(&logs_path(&c, 10_000))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("cookie", vic.parse().unwrap());
    let server_port: u16 = server
        .authority()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket
        .connect(server.authority().parse().unwrap())
        .await
        .unwrap();
    let client_port = tcp.local_addr().unwrap().port();
    let (mut stream, _) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("a socket with a session");
    // The server is sending its history and the client's buffers are full: bytes wait in
    // the server's send queue.
    let deadline = Instant::now() + Duration::from_secs(30);
    while unsent(server_port, client_port).unwrap_or(0) == 0 {
        assert!(
            Instant::now() < deadline,
            "the server never backed up on the history"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Until it stalls: the kernel grows the send buffer (up to `tcp_wmem`, MiBs) first.
    let mut queued = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = unsent(server_port, client_port).unwrap_or(0);
        if now == queued {
            break;
        }
        queued = now;
    }
    let out = send_json(&server, Method::POST, "/api/auth/logout", &vic, None).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    // Reading now: what was already on its way, then the goodbye.
    let reading = Instant::now();
    let (mut after, mut after_bytes) = (0usize, 0usize);
    let mut end = None;
    let closed = loop {
        let left = Duration::from_secs(10).saturating_sub(reading.elapsed());
        match tokio::time::timeout(left, stream.next()).await {
            Err(_) => break Ended::TimedOut,
            Ok(Some(Ok(Message::Text(text)))) => {
                after_bytes += text.len();
                match serde_json::from_str::<Frame>(&text).unwrap() {
                    Frame::Logs(batch) => after += batch.into_lines().count(),
                    Frame::End { reason, retry } => end = Some((reason, retry)),
                    _ => {}
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                break Ended::Closed(frame.map(|f| f.code.into()));
            }
            Ok(Some(Ok(_))) => {}
            Ok(None) | Ok(Some(Err(_))) => break Ended::Closed(None),
        }
    };
    let took = reading.elapsed();
    eprintln!(
        "history_stops_at_sign_out: {after} lines ({after_bytes} bytes) read after sign-out, \
         {queued} bytes were queued in the kernel then; closed after {took:?}"
    );
    assert_eq!(
        end,
        Some(("signed out".to_string(), false)),
        "told why, not to retry"
    );
    assert_eq!(closed, Ended::Closed(Some(4401)), "after {after} lines");
    // About 10,000 lines (10 MB) were owed; the kernel held a part of them (its send
    // buffer grows to `tcp_wmem`, 4 MiB by default). What follows a sign-out is that part,
    // the client's own buffer, and what the socket's writer held (tungstenite buffers up to
    // 128 KiB; a frame is at most 64 KiB and a line): never the rest of the history.
    assert!(
        queued < 6 << 20,
        "the kernel took {queued} bytes: too much of the history to tell anything"
    );
    assert!(
        after_bytes as u64 <= queued + 512 * 1024,
        "{after} lines ({after_bytes} bytes) were sent after the sign-out, {queued} bytes \
         were on their way"
    );
}

/// Issue 25, item 11: ten sockets asking `tail=10000` of one container of 15 KB lines cost
/// Berth (the real binary) less than 64 MiB at its peak: each is owed older lines than the
/// hub holds, and what is fetched for it is bounded in bytes while it is collected, not
/// only once collected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_long_tails_cost_little_memory() {
    let _serial = LOAD_SENSITIVE.lock().await;
    let berth = BerthProcess::start(&[]).await;
    // 2,000 lines of 15 KB: 30 MB of history, each socket asking for all of it.
    let c = numbered("long-tails", 2000, 15_000).await;
    let url = berth.ws_url(&logs_path(&c, 10_000));
    // A first viewer asking one line keeps the hub, which then holds that line: each of the
    // ten is owed 1,999 older lines (30 MB), fetched for it alone. It also warms the engine
    // connection and a socket's lazily built state before the baseline.
    let mut holder = WsClient::connect(&berth.ws_url(&logs_path(&c, 1)))
        .await
        .unwrap();
    holder.next(WAIT).await.expect("a line");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = berth.memory("VmRSS");
    /// Everything a socket is sent: the history may take a while to be fetched (30 MB
    /// read from the engine for each), then nothing comes for 3 s (the container is quiet).
    async fn read_all(mut client: WsClient) -> (usize, usize, Ended) {
        let (mut log_frames, mut bytes) = (0, 0);
        let mut wait = Duration::from_secs(60);
        loop {
            match client.next_text(wait).await {
                Ok(text) => {
                    bytes += text.len();
                    if text.starts_with(r#"{"type":"logs""#) {
                        log_frames += 1;
                    }
                    wait = Duration::from_secs(3);
                }
                Err(ended) => return (log_frames, bytes, ended),
            }
        }
    }
    let clients = futures::future::join_all((0..10).map(|_| WsClient::connect(&url))).await;
    let read = futures::future::join_all(clients.into_iter().map(|c| read_all(c.unwrap()))).await;
    let peak = berth.memory("VmHWM");
    let growth = peak.saturating_sub(before);
    eprintln!(
        "ten_long_tails_cost_little_memory: VmRSS before {} MiB, VmHWM after {} MiB, growth {} MiB; MiB read {:?}",
        before >> 20,
        peak >> 20,
        growth >> 20,
        read.iter().map(|(_, b, _)| b >> 20).collect::<Vec<_>>()
    );
    for (i, (frames, bytes, ended)) in read.iter().enumerate() {
        assert!(
            *frames > 0 && *bytes > 1 << 20,
            "socket {i} was sent its history: {frames} log frames, {bytes} bytes ({ended:?})"
        );
        assert_eq!(ended, &Ended::TimedOut, "socket {i} stayed open");
    }
    assert!(
        growth < 64 << 20,
        "ten tails grew Berth's peak memory by {} MiB",
        growth >> 20
    );
}

/// The container's live processes (`docker top`, zombies aside), as their arguments
/// (Docker needs the pid column; it is dropped).
fn processes(container: &str) -> Vec<String> {
    docker(&["top", container, "-o", "pid,args"])
        .lines()
        .skip(1)
        .filter(|line| !line.contains("<defunct>"))
        .filter_map(|line| line.trim().split_once(' '))
        .map(|(_, args)| args.trim().to_string())
        .collect()
}

/// Issue 25, item 15: processes a terminal started that dropped its marker (`env -u`), left
/// its session (`setsid`), or both, end with it; a process started in the container by
/// other means is not the terminal's and lives on. (A process that also closes every
/// descriptor on the TTY escapes: exec.rs and SECURITY.md say so, and it is not tested.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_that_drop_the_marker_still_end_with_the_terminal() {
    let server = TestServer::start().await;
    // An init, so what the terminal leaves orphaned is reaped rather than a zombie.
    let c = Fixture::new("term-marker", true, &["--init"], &["sleep", "600"]);
    let mut ws = server
        .open_ws(&format!("/ws/containers/{}/exec", c.name))
        .await;
    let (read, ended) = ws.read_until("# ", WAIT).await;
    assert_eq!(ended, None, "a prompt: {read:?}");
    ws.send_binary(
        b"env -u BERTH_TERMINAL setsid sleep 1001 &\nenv -u BERTH_TERMINAL sleep 1002 &\nsetsid sleep 1003 &\necho $((1000+7))\n",
    )
    .await;
    // The sum, not the echoed command line: the shell ran every line before it.
    let (read, ended) = ws.read_until("1007\r\n", WAIT).await;
    assert_eq!(ended, None, "{read:?}");
    docker(&["exec", "-d", &c.id, "sleep", "1004"]);
    let all = ["sleep 1001", "sleep 1002", "sleep 1003", "sleep 1004"];
    let deadline = Instant::now() + WAIT;
    while !all.iter().all(|s| processes(&c.id).iter().any(|p| p == s)) {
        assert!(Instant::now() < deadline, "{:?}", processes(&c.id));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    ws.close().await;
    let terminals = &all[..3];
    let deadline = Instant::now() + WAIT;
    let left = loop {
        let now = processes(&c.id);
        let left: Vec<String> = now
            .iter()
            .filter(|p| terminals.contains(&p.as_str()))
            .cloned()
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            break (left, now);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        left.0.is_empty(),
        "the terminal's processes outlived it: {:?}",
        left.1
    );
    assert!(
        left.1.iter().any(|p| p == "sleep 1004"),
        "a process that is not the terminal's is left alone: {:?}",
        left.1
    );
    assert_eq!(
        server
            .wait_metric("berth_terminals_open", None, WAIT, |v| v == 0.0)
            .await,
        0.0
    );
}

/// The audit log as an admin reads it.
async fn audit_log(server: &TestServer, admin: &str) -> (String, Vec<serde_json::Value>) {
    let response = send_json(server, Method::GET, "/api/audit", admin, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    let entries = serde_json::from_str(&body).unwrap();
    (body, entries)
}

/// Issue 25, item 16: a terminal command holding a bidi override, and a container reference
/// holding one and an escape sequence, are shown in the audit log escaped: what a reader
/// sees is what was there, never text that redraws itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_escapes_what_a_command_could_hide() {
    let users = [("ada", Role::Admin)];
    let (_dir, server) = accounts_server("audit-escapes", &users, |_| {}).await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let c = Fixture::running("audit-bidi", &[]);
    let ada = sign_in(&server, "ada", PASSWORD).await.1.unwrap();

    // A terminal whose command reads `echo exe.gpj` reversed: U+202E is not a control
    // character, so the command is accepted and runs.
    let path = format!("/ws/containers/{}/exec?cmd=echo%20%E2%80%AEgpj.exe", c.name);
    let mut ws = WsClient::connect_with(&server.ws_url(&path), &[("cookie", &ada)])
        .await
        .unwrap();
    let (read, ended) = ws.read_until("never", WAIT).await;
    assert_eq!(ended, Some(Ended::Closed(Some(1000))), "{read:?}");
    // An escape character in a command is refused before anything runs.
    let path = format!("/ws/containers/{}/exec?cmd=echo%20%1B%5B2J", c.name);
    let (status, body) = WsClient::connect_with(&server.ws_url(&path), &[("cookie", &ada)])
        .await
        .err()
        .expect("refused");
    assert_eq!(status, 400, "{body}");
    // A reference no container has, with both, in a bulk action's body: audited as refused.
    let hidden = "web\u{202e}1.0\u{1b}[8m";
    let bulk = send_json(
        &server,
        Method::POST,
        "/api/containers/actions",
        &ada,
        Some(serde_json::json!({"action": "stop", "ids": [hidden]})),
    )
    .await;
    assert_eq!(bulk.status(), StatusCode::OK);

    let (body, entries) = audit_log(&server, &ada).await;
    let target = |action: &str| -> String {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .and_then(|e| e["target"].as_str())
            .unwrap_or_else(|| panic!("a {action} entry: {body}"))
            .to_string()
    };
    let opened = target("terminal.open");
    assert_eq!(
        opened,
        format!("local/{}: echo \\u{{202e}}gpj.exe", c.name),
        "the override shown, not applied"
    );
    let stopped = target("container.stop");
    assert!(
        stopped.starts_with("local/web\\u{202e}1.0\\u{1b}[8m"),
        "{stopped:?}"
    );
    for entry in &entries {
        let text = entry.to_string();
        for ch in text.chars() {
            assert!(
                !ch.is_control() && !('\u{202a}'..='\u{202e}').contains(&ch),
                "a raw {ch:?} in {entry}"
            );
        }
        // Nor written as JSON escapes that a reader's tool would turn back into them.
        assert!(
            !text.contains("\\u001b") && !text.to_lowercase().contains("\\u202e"),
            "{text}"
        );
    }
}

/// The `image.pull` entries whose target names `reference`.
fn pulls<'a>(entries: &'a [serde_json::Value], reference: &str) -> Vec<&'a serde_json::Value> {
    entries
        .iter()
        .filter(|e| e["action"] == "image.pull")
        .filter(|e| e["target"].as_str().is_some_and(|t| t.contains(reference)))
        .collect()
}

/// Issue 25, item 17: a pull two operators share is audited once, when it has ended, with
/// how it ended and by whoever started it; a pull that fails is audited once, as failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_is_audited_once_with_its_outcome() {
    let users = [
        ("olga", Role::Operator),
        ("otto", Role::Operator),
        ("ada", Role::Admin),
    ];
    let (_dir, server) = accounts_server("pull-audit", &users, |_| {}).await;
    assert!(server.engine.wait_until_up(WAIT).await);
    let registry = Registry::start();
    let path = registry.push("audited", 4);
    // 4 MB at 256 KB/s: some 16 s unless lifted, long enough for a second operator to join.
    let (port, lifted, proxy) = throttle(registry.port, 256 * 1024).await;
    let reference = format!("127.0.0.1:{port}/{path}");
    let url = server.ws_url(&format!("/ws/images/pull?ref={reference}"));
    let olga = sign_in(&server, "olga", PASSWORD).await.1.unwrap();
    let otto = sign_in(&server, "otto", PASSWORD).await.1.unwrap();
    let ada = sign_in(&server, "ada", PASSWORD).await.1.unwrap();

    let mut first = WsClient::connect_with(&url, &[("cookie", &olga)])
        .await
        .unwrap();
    let started = first.collect(WAIT * 2, |f| f.iter().any(downloading)).await;
    assert!(
        started.iter().any(downloading),
        "the download began: {started:?}"
    );
    let mut second = WsClient::connect_with(&url, &[("cookie", &otto)])
        .await
        .unwrap();
    let seen = second.next(WAIT).await.unwrap();
    assert!(matches!(seen, Frame::PullProgress(_)), "joined: {seen:?}");
    // Both are watching the pull, which has not ended: nothing is audited yet (the old
    // code wrote "succeeded" here, once per operator).
    let (_, entries) = audit_log(&server, &ada).await;
    assert_eq!(
        pulls(&entries, &reference),
        Vec::<&serde_json::Value>::new(),
        "audited before it ended"
    );

    lifted.store(true, Ordering::Relaxed);
    for client in [&mut first, &mut second] {
        let reason = client.end_reason(WAIT * 3).await;
        assert_eq!(reason, format!("pulled {reference}"));
    }
    let (_, entries) = audit_log(&server, &ada).await;
    let audited = pulls(&entries, &reference);
    assert_eq!(audited.len(), 1, "once: {audited:?}");
    assert_eq!(audited[0]["actor"], "olga", "by whoever started it");
    assert_eq!(audited[0]["target"], format!("local/{reference}"));
    assert_eq!(audited[0]["ok"], true);
    proxy.abort();
    let _ = Command::new("docker").args(["rmi", &reference]).output();

    // A pull of an image the registry does not have: once, as failed, with why.
    let missing = format!(
        "127.0.0.1:{}/berth-it/no-such-image-{}:1",
        registry.port,
        std::process::id()
    );
    let mut ws = WsClient::connect_with(
        &server.ws_url(&format!("/ws/images/pull?ref={missing}")),
        &[("cookie", &olga)],
    )
    .await
    .unwrap();
    let reason = ws.end_reason(WAIT * 2).await;
    assert!(!reason.starts_with("pulled"), "{reason}");
    let (_, entries) = audit_log(&server, &ada).await;
    let audited = pulls(&entries, &missing);
    assert_eq!(audited.len(), 1, "once: {audited:?}");
    assert_eq!(audited[0]["ok"], false, "as failed: {}", audited[0]);
    let target = audited[0]["target"].as_str().unwrap();
    assert!(
        target.starts_with(&format!("local/{missing}: ")) && target.len() > missing.len() + 8,
        "with why: {target}"
    );
}
