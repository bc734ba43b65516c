//! Test harness: a Berth server in-process on a loopback port, and containers on the real
//! engine that are removed when their guard drops, even when the test panics.

use berth::{
    AppState, Config, Endpoint, Engine, EngineName, ServeOptions, Settings, router, serve,
};
use clap::Parser;
use leptos::prelude::LeptosOptions;
use std::{
    process::Command,
    sync::{
        Once,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio_util::sync::CancellationToken;

pub const TEST_IMAGE: &str = "berth-test/busybox:latest";

/// Held by the test that floods the engine and by the tests whose 2 s settling windows are
/// part of what they check (issue 3), so the flood never starves those windows on 2 cores.
pub static LOAD_SENSITIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The engine the tests use: `DOCKER_HOST` when set, else the local socket.
pub fn docker_endpoint() -> Endpoint {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    Endpoint::parse(&host).expect("DOCKER_HOST is a supported endpoint")
}

pub struct TestServer {
    pub base: String,
    pub engine: std::sync::Arc<Engine>,
    pub state: AppState,
    client: reqwest::Client,
    pub shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Berth's default stream settings, as `berth` with no flags would have them.
pub fn default_settings() -> Settings {
    let mut settings = Config::parse_from(["berth"]).settings;
    // Accounts have their own tests (accounts.rs, signin.rs); the rest test what a
    // signed-in viewer sees, without signing in.
    settings.accounts.auth = berth::AuthMode::Off;
    // A list the API read is kept 1 s, not 15: tests that count hubs, upstreams and tasks
    // after reading the API see them gone soon.
    settings.hubs.list_cache_secs = 1;
    settings
}

impl TestServer {
    /// A server on the real engine, returned once the engine is connected.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestServer::start`], with stream settings changed by `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = default_settings();
        tweak(&mut settings);
        let server = Self::with(docker_endpoint(), settings).await;
        assert!(
            server.engine.wait_until_up(Duration::from_secs(20)).await,
            "the Docker engine at {} did not answer: run `make test`, or start dockerd",
            server.engine.endpoint()
        );
        server
    }

    /// A server on any endpoint, returned at once (the engine may be down).
    pub async fn with_endpoint(endpoint: Endpoint) -> Self {
        Self::with(endpoint, default_settings()).await
    }

    /// A server that requires signing in, with its accounts at `location` (the same
    /// location for two servers: one after the other, or replicas).
    pub async fn with_accounts(
        location: &berth::Location,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = default_settings();
        settings.accounts.auth = berth::AuthMode::On;
        tweak(&mut settings);
        let store = berth::Store::open(location).await.unwrap();
        Self::build(local(docker_endpoint()), settings, Some(store)).await
    }

    /// [`TestServer::with_accounts`], watching the engine at `endpoint`.
    pub async fn with_accounts_on(
        location: &berth::Location,
        endpoint: Endpoint,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = default_settings();
        settings.accounts.auth = berth::AuthMode::On;
        tweak(&mut settings);
        let store = berth::Store::open(location).await.unwrap();
        Self::build(local(endpoint), settings, Some(store)).await
    }

    /// [`TestServer::with_accounts`], serving the compiled site's files from `site_root`.
    pub async fn with_accounts_and_site(
        location: &berth::Location,
        site_root: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = default_settings();
        settings.accounts.auth = berth::AuthMode::On;
        tweak(&mut settings);
        let store = berth::Store::open(location).await.unwrap();
        Self::build_with_site(local(docker_endpoint()), settings, Some(store), site_root).await
    }

    async fn with(endpoint: Endpoint, settings: Settings) -> Self {
        Self::build(local(endpoint), settings, None).await
    }

    /// A server watching several engines by name, the first the default; returned at once.
    pub async fn with_engines(engines: &[(&str, Endpoint)]) -> Self {
        let engines = engines
            .iter()
            .map(|(name, endpoint)| (EngineName::parse(name).unwrap(), endpoint.clone()))
            .collect();
        Self::build(engines, default_settings(), None).await
    }

    async fn build(
        engines: Vec<(EngineName, Endpoint)>,
        settings: Settings,
        store: Option<berth::Store>,
    ) -> Self {
        Self::build_with_site(engines, settings, store, "target/site").await
    }

    async fn build_with_site(
        engines: Vec<(EngineName, Endpoint)>,
        settings: Settings,
        store: Option<berth::Store>,
        site_root: &str,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let shutdown = CancellationToken::new();
        let tasks = tokio_util::task::TaskTracker::new();
        let engines: Vec<_> = engines
            .into_iter()
            .map(|(name, endpoint)| (name, Engine::start(endpoint, shutdown.clone(), &tasks)))
            .collect();
        let engine = engines[0].1.clone();
        let options = LeptosOptions::builder()
            .output_name("berth")
            .site_root(site_root)
            .site_addr(addr)
            .build();
        let mut state =
            AppState::with_engines(options, engines, &settings, shutdown.clone(), tasks);
        if let Some(store) = store {
            state = state.with_auth(berth::Auth::configured(&settings.accounts, store));
        }
        let serve_options = ServeOptions::new(&settings.serve, &state);
        let app = router(state.clone());
        let server = tokio::spawn(serve(listener, app, shutdown.clone(), serve_options));
        Self {
            base,
            engine,
            state,
            // A stuck request must fail the test, never hang the run. No idle connections:
            // this client shares the server's runtime, and a pooled connection is two live
            // tasks (client and server side) that `berth_tokio_alive_tasks` would count.
            // Overlapping scrapes once left a second pooled connection: +2 tasks that a task
            // dump named as reqwest's, not Berth's.
            client: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            shutdown,
            server: Some(server),
        }
    }

    /// `ws://` URL of a path on this server.
    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http://", "ws://", 1))
    }

    /// Cancels the shutdown token and waits for the server to finish; returns how long it took.
    pub async fn shut_down(&mut self) -> Duration {
        let started = std::time::Instant::now();
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
        started.elapsed()
    }

    /// GET a path; returns the status and the body as text.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let body = response.text().await.unwrap();
        if path.starts_with("/api/") {
            assert_eq!(
                content_type.as_deref(),
                Some("application/json"),
                "GET {path}: {body}"
            );
        }
        (status, body)
    }

    /// GET a JSON path; returns the status and the parsed body.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path).await;
        let json =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"));
        (status, json)
    }

    /// Polls `path` until its status is `status`, for at most `timeout`.
    pub async fn wait_for_status(&self, path: &str, status: u16, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if self.get(path).await.0 == status {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Runs the docker CLI against the test engine; panics with its stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        output.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// One engine, named `local`, as without `--engine`.
fn local(endpoint: Endpoint) -> Vec<(EngineName, Endpoint)> {
    vec![(berth::Engines::local(), endpoint)]
}

/// Creates the test image once per test binary (scripts/engine.sh does the import).
fn ensure_image() {
    static IMAGE: Once = Once::new();
    IMAGE.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/engine.sh");
        let status = Command::new("bash")
            .args([script, "image"])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cannot create the test image {TEST_IMAGE}"
        );
    });
}

/// A container on the real engine, labelled `berth.test`, removed on drop.
pub struct Fixture {
    pub id: String,
    pub name: String,
    /// `-H` for the docker CLI: a private engine's socket, or the test engine.
    host: Option<String>,
}

impl Fixture {
    /// `docker run -d` (or `create` when `start` is false) with `--network none`; `options`
    /// go before the image, `command` after it.
    pub fn new(tag: &str, start: bool, options: &[&str], command: &[&str]) -> Self {
        Self::on(None, tag, start, options, command)
    }

    /// [`Fixture::new`] on the engine at `host` (`unix://…`), or the test engine.
    pub fn on(
        host: Option<&str>,
        tag: &str,
        start: bool,
        options: &[&str],
        command: &[&str],
    ) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        ensure_image();
        let name = format!(
            "berth-it-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut args = match host {
            Some(host) => vec!["-H", host],
            None => Vec::new(),
        };
        args.push(if start { "run" } else { "create" });
        if start {
            args.push("-d");
        }
        args.extend([
            "--network",
            "none",
            "--label",
            "berth.test=1",
            "--name",
            &name,
        ]);
        args.extend(options);
        args.push(TEST_IMAGE);
        args.extend(command);
        let id = docker(&args);
        Self {
            id,
            name,
            host: host.map(str::to_string),
        }
    }

    pub fn running(tag: &str, options: &[&str]) -> Self {
        Self::new(tag, true, options, &["sleep", "600"])
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let mut command = Command::new("docker");
        if let Some(host) = &self.host {
            command.args(["-H", host]);
        }
        let _ = command.args(["rm", "-f", "-v", &self.id]).output();
    }
}

/// A Docker engine of its own beside the test engine (scripts/private-engine.sh: own data
/// root, exec root, pid file, containerd namespace and socket under target/), optionally
/// also on `tcp://127.0.0.1:PORT` with TLS. Stopped on drop; its data stays for the next run.
pub struct PrivateEngine {
    pub name: String,
    /// `unix://…`, for `-H` and for Berth.
    pub host: String,
    pub tls_port: Option<u16>,
}

impl PrivateEngine {
    pub fn start(name: &str, tls: bool) -> Self {
        let tls_port = tls.then(free_port);
        let socket = private_engine(&["start", name], tls_port);
        Self {
            name: name.into(),
            host: format!("unix://{socket}"),
            tls_port,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::parse(&self.host).unwrap()
    }

    /// Its TLS listener, trusting `ca` (a file in its tls directory: `ca.pem`, or
    /// `other-ca.pem` which signed nothing of it).
    pub fn tls_endpoint(&self, ca: &str) -> Endpoint {
        let port = self.tls_port.expect("started with TLS");
        let dir = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/berth-engines"
        ))
        .join(&self.name)
        .join("tls");
        Endpoint::with_tls(
            &format!("tcp://127.0.0.1:{port}"),
            berth::TlsFiles {
                ca: dir.join(ca),
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            },
        )
        .unwrap()
    }

    pub fn stop(&self) {
        private_engine(&["stop", &self.name], None);
    }

    /// Starts it again after [`PrivateEngine::stop`], on the same socket and port.
    pub fn restart(&self) {
        private_engine(&["start", &self.name], self.tls_port);
    }

    /// The docker CLI against this engine.
    pub fn docker(&self, args: &[&str]) -> String {
        let mut all = vec!["-H", self.host.as_str()];
        all.extend(args);
        docker(&all)
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["-H", &self.host, "rm", "-f"])
            .args(self.docker_ids())
            .output();
        self.stop();
    }
}

impl PrivateEngine {
    fn docker_ids(&self) -> Vec<String> {
        Command::new("docker")
            .args([
                "-H",
                &self.host,
                "ps",
                "-aq",
                "--filter",
                "label=berth.test",
            ])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs scripts/private-engine.sh; its last line of output.
fn private_engine(args: &[&str], tls_port: Option<u16>) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/private-engine.sh");
    let port = tls_port.map(|p| p.to_string());
    let output = Command::new("bash")
        .arg(script)
        .args(args)
        .args(port.as_deref())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "private-engine.sh {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real WebSocket client.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

/// How a socket ended, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Closed(Option<u16>),
    TimedOut,
}

impl WsClient {
    /// Connects; a refused upgrade comes back as its HTTP status and JSON body.
    pub async fn connect(url: &str) -> Result<Self, (u16, serde_json::Value)> {
        Self::connect_with(url, &[]).await
    }

    pub async fn connect_with(
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Self, (u16, serde_json::Value)> {
        use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest};
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            let name =
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap();
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        let connected =
            tokio::time::timeout(REQUEST_TIMEOUT, tokio_tungstenite::connect_async(request))
                .await
                .unwrap_or_else(|_| panic!("{url}: no answer within {REQUEST_TIMEOUT:?}"));
        match connected {
            Ok((stream, _)) => Ok(Self { stream }),
            Err(Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response.body().clone().unwrap_or_default();
                let json = serde_json::from_slice(&body).unwrap_or_else(|e| {
                    panic!(
                        "{url}: {status} with a non-JSON body ({e}): {}",
                        String::from_utf8_lossy(&body)
                    )
                });
                Err((status, json))
            }
            Err(e) => panic!("{url}: {e}"),
        }
    }

    /// Connects over a socket whose receive buffer is `bytes` (set before connecting, so
    /// the kernel neither scales the window past it nor autotunes it). A client that stops
    /// reading then backs the server's sends up after a few hundred KiB, whatever the
    /// machine's `tcp_rmem` allows (up to 32 MiB on some: a flood slowed by load fills that
    /// only after the test's wait).
    pub async fn connect_with_receive_buffer(url: &str, bytes: u32) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let request = url.into_client_request().unwrap();
        let uri = request.uri();
        let address = format!(
            "{}:{}",
            uri.host().expect("a host"),
            uri.port_u16().expect("a port")
        );
        let address: std::net::SocketAddr = address.parse().expect("a numeric address");
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let tcp = tokio::time::timeout(REQUEST_TIMEOUT, socket.connect(address))
            .await
            .expect("connected in time")
            .unwrap();
        let (stream, _) = tokio::time::timeout(
            REQUEST_TIMEOUT,
            tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(tcp)),
        )
        .await
        .unwrap_or_else(|_| panic!("{url}: no answer within {REQUEST_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{url}: {e}"));
        Self { stream }
    }

    /// The next frame, or how the socket ended. Pings are answered by the library.
    pub async fn next(&mut self, timeout: Duration) -> Result<app::frames::Frame, Ended> {
        let text = self.next_text(timeout).await?;
        Ok(serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad frame {text}: {e}")))
    }

    /// The next frame's text, unparsed: for tests with hundreds of readers in one process,
    /// where parsing every frame would make the readers the bottleneck under test.
    pub async fn next_text(&mut self, timeout: Duration) -> Result<String, Ended> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => return Err(Ended::TimedOut),
                Ok(None) | Ok(Some(Err(_))) => return Err(Ended::Closed(None)),
                Ok(Some(Ok(Message::Text(text)))) => return Ok(text.to_string()),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(Ended::Closed(frame.map(|f| f.code.into())));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Frames until `stop` says enough, the socket ends, or `timeout` passes.
    pub async fn collect(
        &mut self,
        timeout: Duration,
        mut stop: impl FnMut(&[app::frames::Frame]) -> bool,
    ) -> Vec<app::frames::Frame> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut frames = Vec::new();
        while !stop(&frames) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Ok(frame) => frames.push(frame),
                Err(_) => break,
            }
        }
        frames
    }

    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        use futures::SinkExt;
        let message = tokio_tungstenite::tungstenite::Message::Binary(bytes.to_vec().into());
        self.stream.send(message).await.unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        let message = tokio_tungstenite::tungstenite::Message::Text(text.into());
        self.stream.send(message).await.unwrap();
    }

    /// A terminal's output (binary frames; text frames appended as a line of their own)
    /// until it holds `wanted` or the socket ends: everything read, and how it ended.
    pub async fn read_until(&mut self, wanted: &str, timeout: Duration) -> (String, Option<Ended>) {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut read = String::new();
        while !read.contains(wanted) {
            let ended = match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Err(_) => Ended::TimedOut,
                Ok(Some(Ok(Message::Binary(bytes)))) => {
                    read.push_str(&String::from_utf8_lossy(&bytes));
                    continue;
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    read.push_str(&format!("\n{text}\n"));
                    continue;
                }
                Ok(Some(Ok(Message::Close(frame)))) => Ended::Closed(frame.map(|f| f.code.into())),
                Ok(Some(Ok(_))) => continue,
                Ok(None) | Ok(Some(Err(_))) => Ended::Closed(None),
            };
            return (read, Some(ended));
        }
        (read, None)
    }
}

impl TestServer {
    /// A metric from `/metrics`: the sum of its series that carry every `key="value"` of
    /// `labels` (comma-separated; None: all its series). So `kind="container_logs"` counts
    /// every engine's, and `engine="b",kind="container_logs"` one engine's.
    pub async fn metric(&self, name: &str, labels: Option<&str>) -> f64 {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200);
        let wanted: Vec<&str> = labels.map_or(Vec::new(), |l| l.split(',').collect());
        let values: Vec<f64> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (series_name, series_labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let has: Vec<&str> = series_labels.split(',').collect();
                (series_name == name && wanted.iter().all(|w| has.contains(w)))
                    .then(|| value.parse::<f64>().unwrap())
            })
            .collect();
        assert!(
            !values.is_empty(),
            "no metric {name} {labels:?} in:\n{text}"
        );
        values.iter().sum()
    }

    /// Polls a metric until `check` holds, for at most `timeout`; returns the last value.
    pub async fn wait_metric(
        &self,
        name: &str,
        label: Option<&str>,
        timeout: Duration,
        check: impl Fn(f64) -> bool,
    ) -> f64 {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let value = self.metric(name, label).await;
            if check(value) || tokio::time::Instant::now() >= deadline {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl TestServer {
    /// Stream permits of `kind` the tests' address (127.0.0.1) holds, once they are `n` or
    /// `timeout` has passed: a session releases its permit as it ends, a moment after close.
    pub async fn permits(
        &self,
        kind: app::frames::StreamKind,
        n: usize,
        timeout: Duration,
    ) -> usize {
        let ip = std::net::IpAddr::from([127, 0, 0, 1]);
        let limiter = &self.state.streams.limiter;
        let deadline = tokio::time::Instant::now() + timeout;
        while limiter.held(ip, kind) != n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        limiter.held(ip, kind)
    }

    /// A request with extra headers (e.g. a foreign Host); returns status, content type, body.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, Option<String>, String) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        (status, content_type, response.text().await.unwrap())
    }

    /// `host:port` this server listens on.
    pub fn authority(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

/// The real `berth` binary as a child process on a free loopback port: `BERTH_BIN` when set
/// (the release build, in `make test`), else the debug build of this test run.
pub struct BerthProcess {
    pub child: tokio::process::Child,
    pub addr: String,
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
        let child = tokio::process::Command::new(binary)
            .args(["--bind", &addr, "--log", "warn"])
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
                return Self { child, addr };
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

/// Runs `test` on a database of its own in the private PostgreSQL `make test` starts
/// (`BERTH_TEST_POSTGRES_URL`), dropped afterwards.
pub async fn on_fresh_postgres<F, Fut>(tag: &str, test: F)
where
    F: FnOnce(berth::Location) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use berth::{Location, Store};
    let url = std::env::var("BERTH_TEST_POSTGRES_URL").expect(
        "BERTH_TEST_POSTGRES_URL: run `make test`, which starts a private PostgreSQL, \
         or `scripts/postgres.sh start` and export the URL it prints",
    );
    let db = format!("berth_it_{tag}_{}", std::process::id());
    let admin = Store::open(&Location::Url(url.clone())).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin.pool)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    test(Location::Url(format!("{base}/{db}"))).await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin.pool)
        .await
        .unwrap();
}

/// A private sshd on 127.0.0.1 (scripts/private-sshd.sh) whose logins' docker CLI reaches
/// `docker_host`: key login only, its own host key, a known_hosts that holds it and one
/// that holds another key. Stopped on drop.
pub struct PrivateSshd {
    pub port: u16,
    pub dir: std::path::PathBuf,
}

impl PrivateSshd {
    pub fn start(docker_host: &str) -> Self {
        let port = free_port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/private-sshd.sh");
        let output = Command::new("bash")
            .args([script, "start", &port.to_string(), docker_host])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "private-sshd.sh: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Self {
            port,
            dir: dir.into(),
        }
    }

    /// `ssh://root@127.0.0.1:PORT` with the client key, checked against `known_hosts` (a
    /// file in its directory).
    pub fn endpoint(&self, known_hosts: &str) -> Endpoint {
        let Endpoint::Ssh(mut target) =
            Endpoint::parse(&format!("ssh://root@127.0.0.1:{}", self.port)).unwrap()
        else {
            unreachable!("an ssh URL")
        };
        target.identity = Some(self.dir.join("id_ed25519"));
        target.known_hosts = Some(self.dir.join(known_hosts));
        Endpoint::Ssh(target)
    }

    /// The ssh processes this test process runs now with `known_hosts` (by their argv).
    pub fn clients(&self, known_hosts: &str) -> usize {
        let wanted = format!(
            "UserKnownHostsFile={}",
            self.dir.join(known_hosts).display()
        );
        let me = std::process::id().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let path = e.path();
                let parent = std::fs::read_to_string(path.join("stat"))
                    .ok()
                    .and_then(|s| {
                        let after = s.rsplit_once(')')?.1.to_string();
                        after.split_whitespace().nth(1).map(str::to_string)
                    });
                let argv = std::fs::read(path.join("cmdline")).unwrap_or_default();
                let argv: Vec<&[u8]> = argv.split(|&b| b == 0).collect();
                parent.as_deref() == Some(me.as_str())
                    && argv.first() == Some(&b"ssh".as_slice())
                    && argv.contains(&wanted.as_bytes())
            })
            .count()
    }
}

impl Drop for PrivateSshd {
    fn drop(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/private-sshd.sh");
        let _ = Command::new("bash").args([script, "stop"]).output();
    }
}

impl TestServer {
    /// A request with an optional JSON body; the status and the JSON answer (`null` for
    /// none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = match text.is_empty() {
            true => serde_json::Value::Null,
            false => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")),
        };
        (status, json)
    }
}

/// Every log line in `frames`, batches opened up, in order.
pub fn lines(frames: &[app::frames::Frame]) -> Vec<app::frames::LogLine> {
    frames
        .iter()
        .filter_map(|f| match f {
            app::frames::Frame::Logs(batch) => Some(batch.clone().into_lines()),
            _ => None,
        })
        .flatten()
        .collect()
}
