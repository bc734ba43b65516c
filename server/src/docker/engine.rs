//! The connection to the Docker engine. A supervisor task owns it: it connects (negotiating
//! the API version), pings it (at once when a request or the shared event stream fails),
//! and when the engine goes away retries with backoff until it answers again. Everyone else asks
//! [`Engine::client`] and gets either a live client or a 503 naming the endpoint and error.

use super::{
    dial::Dialer,
    endpoint::Endpoint,
    raw_logs::{LogsApi, LogsError},
};
use crate::error::Error;
use app::model::Health;
use bollard::{API_DEFAULT_VERSION, Docker, errors::Error as DockerError};
use std::{sync::Arc, time::Duration};
use tokio::sync::{Notify, watch};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Request timeout for ordinary calls (streams are not bound by it: bollard times the
/// request, not the body).
const REQUEST_TIMEOUT_SECS: u64 = 30;
/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often a connected engine is pinged to notice that it went away.
const PING_EVERY: Duration = Duration::from_secs(5);

/// An error with its causes: hyper says only "connection error" where the cause says
/// what went wrong ("ssh: Host key verification failed.", a certificate refused).
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

/// A connected engine.
#[derive(Clone)]
struct Live {
    docker: Docker,
    engine_version: String,
    api_version: String,
}

#[derive(Clone)]
enum Conn {
    Connecting,
    Up(Live),
    Down { error: String },
}

/// Whether an engine answers, as its supervisor last found, and its changes.
pub struct Reachability(watch::Receiver<Conn>);

impl Reachability {
    /// Up now; the state read is marked seen.
    pub fn up(&mut self) -> bool {
        matches!(&*self.0.borrow_and_update(), Conn::Up(_))
    }

    /// Why it does not answer, when it does not.
    pub fn error(&self) -> Option<String> {
        match &*self.0.borrow() {
            Conn::Up(_) => None,
            Conn::Connecting => Some("connecting".into()),
            Conn::Down { error } => Some(error.clone()),
        }
    }

    /// Waits for the next change (forever once the engine is gone: at shutdown).
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

pub struct Engine {
    endpoint: Endpoint,
    /// How to connect; an endpoint whose files went bad since start stays down with why.
    dialer: Result<Dialer, String>,
    state: watch::Sender<Conn>,
    /// Wakes the supervisor early: a request failed at the connection level.
    recheck: Notify,
}

impl Engine {
    /// Starts the supervisor on `tasks` (with the connections it makes); it stops when
    /// `shutdown` is cancelled.
    pub fn start(
        endpoint: Endpoint,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Arc<Self> {
        let engine = Arc::new(Self {
            dialer: Dialer::new(&endpoint, tasks.clone()),
            endpoint,
            state: watch::Sender::new(Conn::Connecting),
            recheck: Notify::new(),
        });
        let supervisor = engine.clone();
        tasks.spawn(async move {
            tokio::select! {
                () = supervisor.supervise() => {}
                () = shutdown.cancelled() => {}
            }
        });
        engine
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A client for a live engine, or the 503 every caller reports while it is not.
    pub fn client(&self) -> Result<Docker, Error> {
        match &*self.state.borrow() {
            Conn::Up(live) => Ok(live.docker.clone()),
            Conn::Connecting => Err(Error::unavailable(format!(
                "connecting to the Docker engine at {}",
                self.endpoint
            ))),
            Conn::Down { error } => Err(Error::unavailable(format!(
                "Docker engine unreachable at {}: {error}",
                self.endpoint
            ))),
        }
    }

    pub fn health(&self) -> Health {
        let (reachable, error, engine_version, api_version) = match &*self.state.borrow() {
            Conn::Up(live) => (
                true,
                None,
                Some(live.engine_version.clone()),
                Some(live.api_version.clone()),
            ),
            Conn::Connecting => (false, Some("connecting…".to_string()), None, None),
            Conn::Down { error } => (false, Some(error.clone()), None, None),
        };
        Health {
            reachable,
            endpoint: self.endpoint.to_string(),
            error,
            engine_version,
            api_version,
            berth_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Where log streams are read from (see [`crate::docker::raw_logs`]), or the 503.
    pub fn logs_api(&self) -> Result<LogsApi, Error> {
        let docker = self.client()?;
        let dialer = self.dialer.clone().map_err(Error::unavailable)?;
        Ok(LogsApi {
            dialer,
            version: docker.client_version().to_string(),
        })
    }

    /// Follows whether the engine answers: alert rules time an outage from it.
    pub fn reachability(&self) -> Reachability {
        Reachability(self.state.subscribe())
    }

    /// Waits until the engine is up (for tests and start-up ordering); false on timeout.
    pub async fn wait_until_up(&self, timeout: Duration) -> bool {
        let mut state = self.state.subscribe();
        tokio::time::timeout(timeout, state.wait_for(|s| matches!(s, Conn::Up(_))))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Maps a Docker error to the API's; a connection-level failure also makes the
    /// supervisor re-check the engine now rather than at its next event.
    pub fn error(&self, error: DockerError) -> Error {
        match error {
            DockerError::DockerResponseServerError {
                status_code: 404,
                message,
            } => Error::not_found(message),
            // An id prefix that fits several containers (engines answer 400 or 500).
            DockerError::DockerResponseServerError { message, .. }
                if message.to_ascii_lowercase().contains("multiple ids found") =>
            {
                Error::new(409, message)
            }
            DockerError::DockerResponseServerError {
                status_code,
                message,
            } => Error::new(
                502,
                format!("Docker engine answered {status_code}: {message}"),
            ),
            DockerError::JsonDataError { .. } | DockerError::JsonSerdeError { .. } => Error::new(
                502,
                format!("unexpected answer from the Docker engine: {error}"),
            ),
            other => {
                self.recheck.notify_one();
                Error::unavailable(format!(
                    "Docker engine unreachable at {}: {}",
                    self.endpoint,
                    describe(&other)
                ))
            }
        }
    }

    /// [`Engine::error`] for a removal: "in use" as Docker says it for images and volumes
    /// (409) and networks (403, "has active endpoints") is a 409 with Docker's own words
    /// rather than the generic 502.
    pub fn conflict(&self, error: DockerError) -> Error {
        match error {
            DockerError::DockerResponseServerError {
                status_code: 409 | 403,
                message,
            } => Error::new(409, message),
            other => self.error(other),
        }
    }

    async fn supervise(&self) {
        let mut backoff = BACKOFF_MIN;
        loop {
            match tokio::time::timeout(CONNECT_TIMEOUT, self.connect()).await {
                Ok(Ok(live)) => {
                    backoff = BACKOFF_MIN;
                    tracing::info!(
                        endpoint = %self.endpoint,
                        engine_version = %live.engine_version,
                        api_version = %live.api_version,
                        "Docker engine connected"
                    );
                    let docker = live.docker.clone();
                    self.state.send_replace(Conn::Up(live));
                    let error = self.watch(&docker).await;
                    tracing::warn!(endpoint = %self.endpoint, %error, "Docker engine lost; reconnecting");
                    self.state.send_replace(Conn::Down { error });
                }
                result => {
                    let error = match result {
                        Ok(Err(e)) => e,
                        _ => format!("no answer within {CONNECT_TIMEOUT:?}"),
                    };
                    let changed =
                        !matches!(&*self.state.borrow(), Conn::Down { error: e } if *e == error);
                    if changed {
                        tracing::warn!(endpoint = %self.endpoint, %error, "Docker engine unreachable; retrying with backoff");
                    }
                    self.state.send_replace(Conn::Down { error });
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = self.recheck.notified() => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    async fn connect(&self) -> Result<Live, String> {
        let docker = self
            .dialer
            .clone()?
            .docker(REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
            .negotiate_version()
            .await
            .map_err(|e| describe(&e))?;
        let version = docker.version().await.map_err(|e| describe(&e))?;
        Ok(Live {
            engine_version: version.version.unwrap_or_else(|| "unknown".into()),
            api_version: docker.client_version().to_string(),
            docker,
        })
    }

    /// Returns why the engine looks gone: a ping every [`PING_EVERY`], and one at once when
    /// something else saw a failure (a request, or the shared event stream ending; see
    /// [`Engine::suspect`]). The supervisor holds no stream of its own, so an engine nobody
    /// watches costs one small request now and then.
    async fn watch(&self, docker: &Docker) -> String {
        loop {
            tokio::select! {
                () = tokio::time::sleep(PING_EVERY) => {}
                () = self.recheck.notified() => {}
            }
            if let Err(e) = tokio::time::timeout(CONNECT_TIMEOUT, docker.ping())
                .await
                .map_err(|_| format!("no answer within {CONNECT_TIMEOUT:?}"))
                .and_then(|r| r.map_err(|e| describe(&e)))
            {
                return e;
            }
        }
    }

    /// Something saw the engine fail (the shared event stream ended): check it now.
    pub fn suspect(&self) {
        self.recheck.notify_one();
    }

    /// A failed plain request as the API answers it: the engine's status and message (404 stays
    /// 404; others are the engine's error), or 503 when the engine could not be reached.
    pub fn logs_error(&self, error: LogsError) -> Error {
        match error {
            LogsError::Status(404, message) => Error::not_found(message),
            LogsError::Status(409, message) => Error::new(409, message),
            LogsError::Status(status, message) => {
                Error::new(502, format!("Docker engine answered {status}: {message}"))
            }
            LogsError::Io(message) => {
                self.suspect();
                Error::unavailable(format!(
                    "Docker engine unreachable at {}: {message}",
                    self.endpoint()
                ))
            }
        }
    }
}
