//! A Berth server in-process on a loopback port over the real engine, and how tests ask it:
//! requests, metrics, permits.

use super::*;
use berth::{
    AppState, Config, Endpoint, Engine, EngineName, ServeOptions, Settings, router, serve,
};
use clap::Parser;
use leptos::prelude::LeptosOptions;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub struct TestServer {
    pub base: String,
    pub engine: std::sync::Arc<Engine>,
    pub state: AppState,
    client: reqwest::Client,
    pub shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// The database's folder when the server made its own (removed with the server).
    _data: Option<super::DataDir>,
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
    // Stacks a test saves go to a scratch folder, never to `berth-data` in the checkout.
    settings.stacks.stacks_dir =
        Some(std::env::temp_dir().join(format!("berth-it-stacks-{}", std::process::id())));
    // No scheduled image-update checks: a check in the background would disturb the tests
    // that count tasks and requests; the update tests ask for theirs.
    settings.updates.update_check_hours = 0;
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
        Self::with_accounts_on(location, docker_endpoint(), tweak).await
    }

    /// [`TestServer::with_accounts`], watching the engine at `endpoint`.
    pub async fn with_accounts_on(
        location: &berth::Location,
        endpoint: Endpoint,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::signing_in(location, endpoint, "target/site", tweak).await
    }

    /// [`TestServer::with_accounts`], serving the compiled site's files from `site_root`.
    pub async fn with_accounts_and_site(
        location: &berth::Location,
        site_root: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::signing_in(location, docker_endpoint(), site_root, tweak).await
    }

    /// The one way the `with_accounts*` servers are made: sign-in required, then `tweak`.
    async fn signing_in(
        location: &berth::Location,
        endpoint: Endpoint,
        site_root: &str,
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = default_settings();
        settings.accounts.auth = berth::AuthMode::On;
        tweak(&mut settings);
        let store = berth::Store::open(location).await.unwrap();
        Self::build_with_site(local(endpoint), settings, Some(store), site_root).await
    }

    async fn with(endpoint: Endpoint, settings: Settings) -> Self {
        Self::build(local(endpoint), settings, None).await
    }

    /// A server without sign-in whose database is at `location` (the same location for a
    /// server after another: what Berth keeps across a restart); returned once the engine
    /// is connected.
    pub async fn keeping(location: &berth::Location, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = default_settings();
        tweak(&mut settings);
        let store = berth::Store::open(location).await.unwrap();
        let server = Self::build(local(docker_endpoint()), settings, Some(store)).await;
        assert!(server.engine.wait_until_up(Duration::from_secs(20)).await);
        server
    }

    /// A server watching several engines by name, the first the default; returned at once.
    pub async fn with_engines(engines: &[(&str, Endpoint)]) -> Self {
        Self::with_engines_and(engines, |_| {}).await
    }

    /// [`TestServer::with_engines`], with settings changed by `tweak`.
    pub async fn with_engines_and(
        engines: &[(&str, Endpoint)],
        tweak: impl FnOnce(&mut Settings),
    ) -> Self {
        let engines = engines
            .iter()
            .map(|(name, endpoint)| (EngineName::parse(name).unwrap(), endpoint.clone()))
            .collect();
        let mut settings = default_settings();
        tweak(&mut settings);
        Self::build(engines, settings, None).await
    }

    async fn build(
        engines: Vec<(EngineName, Endpoint)>,
        settings: Settings,
        store: Option<berth::Store>,
    ) -> Self {
        Self::build_with_site(engines, settings, store, "target/site").await
    }

    /// `store`: the database (`None`: one of its own, in a fresh folder). With sign-in
    /// required (`--auth on`), its accounts are there.
    async fn build_with_site(
        engines: Vec<(EngineName, Endpoint)>,
        mut settings: Settings,
        store: Option<berth::Store>,
        site_root: &str,
    ) -> Self {
        let (store, data) = match store {
            Some(store) => (store, None),
            None => {
                let data = super::DataDir::new("server");
                // Its secret key, as `launch` puts it in the data directory.
                let key = data.path().join("secret.key");
                settings.secrets.default_key_file.get_or_insert(key);
                (
                    berth::Store::open(&data.location()).await.unwrap(),
                    Some(data),
                )
            }
        };
        // A `--public-url` on a loopback port is where the server listens: an OpenID
        // provider registers that address before the server starts.
        let port = settings
            .accounts
            .public_url
            .as_deref()
            .and_then(|url| url.strip_prefix("http://127.0.0.1:"))
            .and_then(|port| port.trim_end_matches('/').parse::<u16>().ok())
            .unwrap_or(0);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
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
        let mut state = AppState::with_engines(
            options,
            engines,
            &settings,
            store.clone(),
            shutdown.clone(),
            tasks,
        );
        if settings.accounts.auth != berth::AuthMode::Off {
            state = state.with_auth(berth::Auth::configured(&settings, store));
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
            _data: data,
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
        let (status, content_type, body) = self.request(reqwest::Method::GET, path, &[]).await;
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

/// One engine, named `local`, as without `--engine`.
pub fn local(endpoint: Endpoint) -> Vec<(EngineName, Endpoint)> {
    vec![(berth::Engines::local(), endpoint)]
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
        let limiter = &self.state.sockets.limiter;
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

impl TestServer {
    /// A POST without a body; the status and the JSON answer.
    pub async fn post(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(reqwest::Method::POST, path, None).await
    }

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
