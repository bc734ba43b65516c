//! Issue 25 (trust), the HTTP side: deadlines that free a connection's slot (item 2), the
//! headers that forbid framing and sniffing (item 8), anonymous pages that say nothing of
//! the engines (item 12), a plain GET to a stream (item 17) and image references that stay
//! in `/images` (item 5). Real server, real engine, real sockets.

use crate::common::{Fixture, TEST_IMAGE, TestServer, default_settings, docker, docker_endpoint};
use crate::signin::{DataDir, PASSWORD, add, client, cookie_pair, post_json, setup_token};
use app::model::Role;
use reqwest::{Method, header};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Deadlines are observed, never timed: the server must have closed within this…
const GENEROUS: Duration = Duration::from_secs(10);
/// …and must still be open this long into a deadline of [`DEADLINE_MS`] (it cannot close
/// early, however loaded the machine: only late).
const NOT_YET: Duration = Duration::from_millis(150);
const DEADLINE_MS: u64 = 600;

/// How a read on a connection the client keeps silent ended.
#[derive(Debug, PartialEq)]
enum Read {
    /// The server closed it (EOF or reset).
    Closed,
    /// Bytes came: the server answered something.
    Data(Vec<u8>),
    /// Nothing within the wait: still open.
    Open,
}

async fn read_once(stream: &mut TcpStream, wait: Duration) -> Read {
    let mut buf = vec![0u8; 64 * 1024];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Err(_) => Read::Open,
        Ok(Ok(0)) | Ok(Err(_)) => Read::Closed,
        Ok(Ok(n)) => Read::Data(buf[..n].to_vec()),
    }
}

/// Reads whatever comes until the server closes, for at most `wait`; `None` if it did not.
async fn until_closed(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match read_once(stream, left).await {
            Read::Closed => return Some(all),
            Read::Data(bytes) => all.extend(bytes),
            Read::Open => return None,
        }
    }
}

/// One HTTP/1.1 answer: status, headers (lower-case names) and body (de-chunked).
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {:?}", self.status, self.body))
    }
}

fn parse_answer(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete HTTP head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = match chunked {
        false => body.to_string(),
        true => {
            let mut out = String::new();
            let mut rest = body;
            while let Some((size, after)) = rest.split_once("\r\n") {
                let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                if size == 0 || after.len() < size {
                    break;
                }
                out.push_str(&after[..size]);
                rest = after[size..].trim_start_matches("\r\n");
            }
            out
        }
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// `method target` sent byte for byte over its own connection (an HTTP client would resolve
/// `..` and `%2e%2e` before sending, so the server would never see them).
async fn raw_request(server: &TestServer, method: &str, target: &str) -> Answer {
    let mut stream = TcpStream::connect(server.authority()).await.unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.authority()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let raw = until_closed(&mut stream, GENEROUS)
        .await
        .unwrap_or_else(|| panic!("{method} {target}: no complete answer within {GENEROUS:?}"));
    parse_answer(&raw)
}

/// A server on the test engine with one connection slot (so a client that keeps it makes
/// the next one wait) and `deadline` set by the test: what the item 2 tests start from.
async fn one_slot_server(deadline: impl FnOnce(&mut berth::Settings)) -> TestServer {
    TestServer::start_with(|s| {
        deadline(s);
        s.serve.max_connections = 1;
    })
    .await
}

/// Asserts the server keeps `stream` open for [`NOT_YET`] of a [`DEADLINE_MS`] deadline:
/// it may close late under load, never early.
async fn assert_still_open(stream: &mut TcpStream, why: &str) {
    assert_eq!(read_once(stream, NOT_YET).await, Read::Open, "{why}");
}

/// Asserts `path` answers 200 within [`GENEROUS`]: with one slot, that the slot is free.
async fn assert_served(server: &TestServer, path: &str, why: &str) {
    let served = tokio::time::timeout(GENEROUS, server.get(path)).await;
    assert_eq!(served.expect(why).0, 200);
}

/// Item 2: a client that connects and sends nothing is disconnected once the first-bytes
/// deadline passes (not at once), and its slot serves the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_nothing_is_disconnected() {
    // One slot: the silent client holds it until the deadline frees it.
    let server = one_slot_server(|s| s.serve.header_timeout_ms = DEADLINE_MS).await;
    let mut silent = TcpStream::connect(server.authority()).await.unwrap();
    let connected = Instant::now();
    // Not refused on sight: a client gets its deadline to speak.
    let early = format!("a silent client was dropped before its {DEADLINE_MS} ms deadline");
    assert_still_open(&mut silent, &early).await;
    let ended = until_closed(&mut silent, GENEROUS).await;
    assert_eq!(
        ended,
        Some(Vec::new()),
        "a client that sends nothing must be closed (without an answer) within {GENEROUS:?}"
    );
    assert!(
        connected.elapsed() >= Duration::from_millis(DEADLINE_MS / 2),
        "closed after {:?}, before the deadline",
        connected.elapsed()
    );
    // The one slot is free again: a real request is served (the silent socket stays open
    // on our side, so only the server's closing can have freed it).
    let next = "the slot of a disconnected client is given to the next";
    assert_served(&server, "/api/health", next).await;
    drop(silent);
}

/// Item 2, the other direction: a client that asks for a file and never reads it does not
/// keep its slot. Once its answer is handed over the connection counts as idle, and a
/// graceful close waits for that answer to be written; a write that has waited
/// `--idle-timeout-ms` for the client fails instead, and the slot serves the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_loses_its_slot() {
    let dir = DataDir::new("trust-never-reads");
    let site = std::env::temp_dir().join(format!("berth-it-site-{}", std::process::id()));
    std::fs::create_dir_all(&site).unwrap();
    // Far more than the kernel's buffers on both sides hold.
    std::fs::write(site.join("big.bin"), vec![7u8; 32 * 1024 * 1024]).unwrap();
    let server = TestServer::with_accounts_and_site(&dir.location(), site.to_str().unwrap(), |s| {
        s.serve.idle_timeout_ms = DEADLINE_MS;
        s.serve.max_connections = 1;
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut reader = socket
        .connect(server.authority().parse().unwrap())
        .await
        .unwrap();
    reader
        .write_all(
            format!(
                "GET /big.bin HTTP/1.1\r\nHost: {}\r\n\r\n",
                server.authority()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // It never reads. The one slot is its own for now: the next client waits, and is
    // served once the stalled write gives up.
    let asked = Instant::now();
    let status = reqwest::Client::new()
        .get(format!("{}/api/health", server.base))
        .timeout(GENEROUS)
        .send()
        .await
        .map(|r| r.status().as_u16());
    let waited = asked.elapsed();
    assert_eq!(
        status.ok(),
        Some(200),
        "the slot of a client that reads nothing is given to the next within {GENEROUS:?}"
    );
    assert!(
        waited >= Duration::from_millis(DEADLINE_MS / 2),
        "served after {waited:?}: the reader's slot was never held"
    );
    drop(reader);
    let _ = std::fs::remove_dir_all(&site);
}

/// Item 2: the start of an HTTP/2 preface, then silence, does not keep the connection: it
/// is closed once the first-bytes deadline passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_an_http2_preface_is_disconnected() {
    let server = one_slot_server(|s| s.serve.header_timeout_ms = DEADLINE_MS).await;
    let mut half = TcpStream::connect(server.authority()).await.unwrap();
    // The full preface is "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; this is its first line only,
    // so HTTP/1's header timeout never applies (the bytes are not an HTTP/1 request yet).
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert_still_open(&mut half, "closed before its deadline").await;
    let ended = until_closed(&mut half, GENEROUS).await;
    assert!(
        ended.is_some(),
        "half an HTTP/2 preface kept the connection open past {GENEROUS:?}"
    );
    assert_served(
        &server,
        "/api/health",
        "the slot is given to the next client",
    )
    .await;
}

/// Item 2: an HTTP/2 connection that asked once and then sits idle (answering the server's
/// pings) is closed after `--idle-timeout-ms`, not right after its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http2_connection_is_closed() {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let server = one_slot_server(|s| s.serve.idle_timeout_ms = DEADLINE_MS).await;
    let tcp = TcpStream::connect(server.authority()).await.unwrap();
    // hyper's own HTTP/2 client (prior knowledge, no TLS): it answers pings, as a live
    // browser would, so only idleness can end the connection.
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("an HTTP/2 handshake");
    let driver = tokio::spawn(connection);
    let request = hyper::Request::get(format!("{}/api/health", server.base))
        .header(header::HOST, server.authority())
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = tokio::time::timeout(GENEROUS, sender.send_request(request))
        .await
        .expect("an answer over HTTP/2")
        .expect("an answer over HTTP/2");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(!body.is_empty());
    let answered = Instant::now();
    tokio::time::sleep(NOT_YET).await;
    assert!(
        !driver.is_finished() && !sender.is_closed(),
        "the connection was closed right after its answer, not after {DEADLINE_MS} ms idle"
    );
    // Closed by the server (GOAWAY then close): the client's connection task ends.
    let ended = tokio::time::timeout(GENEROUS, driver).await;
    assert!(
        ended.is_ok(),
        "an idle HTTP/2 connection was still open {GENEROUS:?} after its last answer"
    );
    assert!(
        answered.elapsed() >= Duration::from_millis(DEADLINE_MS / 2),
        "closed {:?} after its answer, before the idle deadline",
        answered.elapsed()
    );
    assert!(
        sender.is_closed(),
        "no more requests on a closed connection"
    );
    // Its slot serves the next client.
    assert_served(&server, "/api/health", "the slot is free again").await;
}

/// Item 2: a sign-in whose body is announced (100 bytes) but never arrives (10 sent) is
/// refused with 408 and a JSON error, or closed, once the body deadline passes; the
/// connection's slot is then free. Anyone can reach sign-in, so anyone could hold slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_is_refused() {
    let dir = DataDir::new("trust-body");
    add(&dir.location(), "alice", Role::Viewer).await;
    let server = TestServer::with_accounts(&dir.location(), |s| {
        s.serve.body_timeout_ms = DEADLINE_MS;
        s.serve.max_connections = 1;
    })
    .await;
    let mut stream = TcpStream::connect(server.authority()).await.unwrap();
    let head = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"username",
        server.authority()
    );
    assert_eq!(head.split("\r\n\r\n").nth(1).unwrap().len(), 10);
    stream.write_all(head.as_bytes()).await.unwrap();
    let sent = Instant::now();
    assert_still_open(&mut stream, "answered before the body deadline").await;
    // Either an answer then a close, or a close alone; never an open connection.
    let ended = until_closed(&mut stream, GENEROUS).await;
    let Some(raw) = ended else {
        panic!("a body that never arrives held the connection past {GENEROUS:?}");
    };
    assert!(
        sent.elapsed() >= Duration::from_millis(DEADLINE_MS / 2),
        "refused {:?} after the head, before the deadline",
        sent.elapsed()
    );
    // The slot is free again (checked before what the answer said, so a wrong answer
    // does not hide whether the slot was freed).
    assert_served(&server, "/login", "the slot is free again").await;
    if !raw.is_empty() {
        let answer = parse_answer(&raw);
        assert_eq!(
            answer.status, 408,
            "a late body is a request timeout: {answer:?}"
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{answer:?}"
        );
        assert!(answer.json()["error"].is_string(), "{answer:?}");
    }
}

/// Item 2: sign-in and setup read small bodies: 100 KiB is refused with 413 and a JSON
/// error, before any password is hashed or anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_setup_bodies_are_small() {
    let dir = DataDir::new("trust-small");
    // No user yet: setup is open, so its refusal is the size and nothing else.
    let server = TestServer::with_accounts(&dir.location(), |_| {}).await;
    let token = setup_token(&server, "setup is offered while no user exists").await;
    let big = "a".repeat(100 * 1024);
    for (path, body) in [
        (
            "/api/auth/login",
            serde_json::json!({ "username": "alice", "password": big }),
        ),
        (
            "/api/auth/setup",
            serde_json::json!({ "token": token, "username": "root", "password": big }),
        ),
    ] {
        let response = post_json(&server.base, path, body).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap();
        assert_eq!(status, 413, "{path}: {text}");
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "{path}: {text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        assert!(json["error"].is_string(), "{path}: {json}");
    }
    // Nothing happened: setup is still open (offered again, with a fresh token), and a
    // small body still works.
    let fresh = setup_token(&server, "a refused setup made no user").await;
    let body = serde_json::json!({ "token": fresh, "username": "root", "password": PASSWORD });
    let done = post_json(&server.base, "/api/auth/setup", body).await;
    assert_eq!(done.status(), 204, "a normal setup body is read");
}

/// The headers of item 8 that every answer carries.
fn assert_forbids_framing(what: &str, headers: &reqwest::header::HeaderMap) {
    let get = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
    assert_eq!(get("x-frame-options").as_deref(), Some("DENY"), "{what}");
    assert_eq!(
        get("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    let referrer = get("referrer-policy").unwrap_or_default();
    assert!(
        [
            "no-referrer",
            "same-origin",
            "strict-origin",
            "strict-origin-when-cross-origin"
        ]
        .contains(&referrer.as_str()),
        "{what}: Referrer-Policy {referrer:?} lets addresses leave"
    );
    let policy = get("content-security-policy").unwrap_or_default();
    assert!(
        policy.contains("frame-ancestors 'none'"),
        "{what}: CSP {policy:?}"
    );
}

/// Item 8: a page, an API answer and error answers all forbid framing and sniffing and
/// keep the address to themselves; a page's CSP has a `default-src`, and its inline
/// scripts carry the nonce its CSP names (else the policy would block the app itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_forbids_framing_and_sniffing() {
    let server = TestServer::start().await;
    let client = client();
    let fetch = |method: Method, path: &str| {
        client
            .request(method, format!("{}{path}", server.base))
            .send()
    };

    // A page, server-rendered with its inline scripts.
    let page = fetch(Method::GET, "/").await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_forbids_framing("the dashboard page", &headers);
    let policy = headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("default-src "), "{policy}");
    let html = page.text().await.unwrap();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("the page's CSP names no nonce: {policy}"));
    assert!(!nonce.is_empty());
    // Every inline script (no `src`) carries exactly that nonce; at least one exists (the
    // hydration script), so the check is not empty.
    let mut inline = 0;
    for tag in html.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        if open.contains("src=") {
            continue;
        }
        inline += 1;
        assert!(
            open.contains(&format!("nonce=\"{nonce}\"")),
            "an inline script without the page's nonce {nonce}: <script{open}>"
        );
    }
    assert!(inline > 0, "no inline script in the page: {html}");
    // Every nonce in the page is the header's: none is left from another render.
    for other in html.split("nonce=\"").skip(1) {
        assert_eq!(other.split('"').next().unwrap(), nonce);
    }

    // An API answer, and error answers: a missing endpoint, a wrong method, a page nobody
    // serves, and a path refused before routing.
    for (method, path, status) in [
        (Method::GET, "/api/health", 200),
        (Method::GET, "/api/no-such-endpoint", 404),
        (Method::POST, "/api/health", 405),
        (Method::GET, "/no-such-page", 404),
        // Last: the path refused before routing (an encoded `/`).
        (Method::GET, "/api/a%2Fb", 400),
    ] {
        let response = fetch(method.clone(), path).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        assert_forbids_framing(&format!("{method} {path}"), response.headers());
    }
    // And the answer to a host name that is not Berth's (DNS rebinding): 421, framed by
    // nobody either.
    let port = server.authority().rsplit_once(':').unwrap().1;
    let response = client
        .get(format!("{}/api/health", server.base))
        .header(header::HOST, format!("evil.example:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 421);
    assert_forbids_framing("a foreign Host", response.headers());
}

/// A server of its own, so its one engine has a name nothing else on the page could hold
/// (the test server's engine is `local`, a word pages hold anyway).
struct NamedServer {
    base: String,
    shutdown: CancellationToken,
}

impl Drop for NamedServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// As `TestServer::with_accounts` builds one, but with its engine named `engine_name`.
async fn named_server(engine_name: &str, location: &berth::Location) -> NamedServer {
    use berth::{AppState, Engine, EngineName, ServeOptions};
    let mut settings = default_settings();
    settings.accounts.auth = berth::AuthMode::On;
    let store = berth::Store::open(location).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();
    let engine = Engine::start(docker_endpoint(), shutdown.clone(), &tasks);
    assert!(engine.wait_until_up(GENEROUS * 2).await, "the engine is up");
    let options = leptos::prelude::LeptosOptions::builder()
        .output_name("berth")
        .site_root("target/site")
        .site_addr(addr)
        .build();
    let state = AppState::with_engines(
        options,
        vec![(EngineName::parse(engine_name).unwrap(), engine)],
        &settings,
        store.clone(),
        shutdown.clone(),
        tasks,
    )
    .with_auth(berth::Auth::configured(&settings, store));
    let serve_options = ServeOptions::new(&settings.serve, &state);
    tokio::spawn(berth::serve(
        listener,
        berth::router(state),
        shutdown.clone(),
        serve_options,
    ));
    NamedServer {
        base: format!("http://{addr}"),
        shutdown,
    }
}

/// Item 12: before sign-in, no page (sign-in, setup, a missing page) and no API answer
/// says anything of the engine or its containers: not its name, its endpoint, its Docker
/// version, nor a container's name or id. Signed in, the same layout shows the engine, so
/// the strings looked for are the ones Berth would show.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pages_show_nothing_about_engines() {
    const ENGINE: &str = "zebra-engine-7q";
    let container = Fixture::running("trustzebra", &[]);
    let dir = DataDir::new("trust-anon");
    add(&dir.location(), "alice", Role::Viewer).await;
    let server = named_server(ENGINE, &dir.location()).await;
    let version = docker(&["version", "--format", "{{.Server.Version}}"]);
    let endpoint = docker_endpoint().to_string();
    let endpoint_path = endpoint.trim_start_matches("unix://").to_string();
    let secrets = [
        ENGINE.to_string(),
        endpoint.clone(),
        endpoint_path,
        version.clone(),
        format!("Docker {version}"),
        container.name.clone(),
        container.id[..12].to_string(),
    ];
    let leaks = |text: &str| -> Vec<String> {
        secrets
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .cloned()
            .collect()
    };
    // Each answer as it comes (redirects shown, not followed) and where it leads.
    let follows = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for path in ["/login", "/setup", "/no-such-page", "/api/health"] {
        for (how, client) in [("as sent", client()), ("followed", follows.clone())] {
            let response = client
                .get(format!("{}{path}", server.base))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let headers = format!("{:?}", response.headers());
            let body = response.text().await.unwrap();
            assert!(
                !body.is_empty() || status.is_redirection(),
                "{path}: {status}"
            );
            let found = leaks(&format!("{headers}\n{body}"));
            assert!(
                found.is_empty(),
                "GET {path} ({how}, {status}) without a session shows {found:?}:\n{body}"
            );
        }
    }
    // Signed in, the layout names the engine and its Docker version, and the containers
    // page the container: the same strings, where they belong.
    // (`signin::sign_in` takes a `TestServer`; this server is its own.)
    let body = serde_json::json!({ "username": "alice", "password": PASSWORD });
    let signed_in = post_json(&server.base, "/api/auth/login", body).await;
    assert!(signed_in.status().is_success(), "{}", signed_in.status());
    let cookie = cookie_pair(&signed_in);
    let page = |path: &'static str| {
        let cookie = cookie.clone();
        let base = server.base.clone();
        async move {
            let response = client()
                .get(format!("{base}{path}"))
                .header(header::COOKIE, cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.text().await.unwrap()
        }
    };
    let dashboard = page("/").await;
    assert!(
        dashboard.contains(ENGINE),
        "signed in, the layout names the engine: {dashboard}"
    );
    assert!(
        dashboard.contains(&version),
        "signed in, the layout shows the Docker version {version}"
    );
    let containers = page("/containers").await;
    assert!(
        containers.contains(&container.name),
        "signed in, the containers page lists {}",
        container.name
    );
}

/// Item 17: a plain GET (no upgrade) to a stream is told 426 Upgrade Required in JSON,
/// not a 500 that says Berth failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_get_to_a_stream_is_426() {
    let server = TestServer::start().await;
    // A container that exists: a missing one is (rightly) 404 before the upgrade matters.
    let c = Fixture::running("trust426", &[]);
    for path in [
        "/ws/system/stats".to_string(),
        "/ws/containers".to_string(),
        format!("/ws/containers/{}/logs", c.name),
        format!("/ws/containers/{}/stats", c.name),
    ] {
        let path = path.as_str();
        let (status, content_type, body) = server.request(Method::GET, path, &[]).await;
        assert_eq!(status, 426, "{path}: {body}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
        let json: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert!(json["error"].is_string(), "{path}: {json}");
    }
}

/// Item 5: an image reference spelled to walk out of `/images` (encoded slashes, raw dot
/// segments, encoded dot segments) is 400, and the container it pointed at is still
/// there; a real reference with `/` and `:` still reaches its image.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_reference_cannot_walk_out_of_images() {
    let server = TestServer::start().await;
    let victim = Fixture::running("trustvictim", &[]);
    let id = &victim.id;
    for target in [
        format!("/api/images/x%2F..%2F..%2Fcontainers%2F{id}?force=true"),
        format!("/api/images/x/../../containers/{id}?force=true"),
        format!("/api/images/x/%2e%2e/%2e%2e/containers/{id}?force=true"),
        // The same walk on the engine-named path.
        format!("/api/engines/local/images/x/%2e%2e/%2e%2e/containers/{id}?force=true"),
    ] {
        let answer = raw_request(&server, "DELETE", &target).await;
        assert_eq!(answer.status, 400, "DELETE {target}: {answer:?}");
        assert!(answer.json()["error"].is_string(), "{answer:?}");
        // The container the path pointed at is untouched.
        assert_eq!(
            docker(&["inspect", "--format", "{{.State.Running}}", id]),
            "true",
            "DELETE {target} reached the container"
        );
    }
    // Spellings the path check lets through (no dot segment, no encoded `/`) but that are
    // no image reference: refused by the reference grammar itself, before bollard puts
    // them into a Docker path (a `?` or `#` there would change the endpoint's query or
    // cut its path).
    for target in [
        format!("/api/images/{id}%3Fforce=true"),
        format!("/api/images/{id}%23"),
        "/api/images/x/UPPER/case".to_string(),
    ] {
        let answer = raw_request(&server, "DELETE", &target).await;
        assert_eq!(answer.status, 400, "DELETE {target}: {answer:?}");
        assert!(answer.json()["error"].is_string(), "{answer:?}");
    }
    assert_eq!(
        docker(&["inspect", "--format", "{{.State.Running}}", id]),
        "true"
    );
    // A real reference, with `/` and `:`, still works, on both spellings of the engine.
    for path in [
        format!("/api/images/{TEST_IMAGE}"),
        format!("/api/engines/local/images/{TEST_IMAGE}"),
    ] {
        let (status, json) = server.get_json(&path).await;
        assert_eq!(status, 200, "GET {path}: {json}");
    }
}
