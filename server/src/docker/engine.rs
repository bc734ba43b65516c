//! The connection to the Docker engine. A supervisor task owns it: it connects (negotiating
//! the API version), pings it (at once when a request or the shared event stream fails),
//! and when the engine goes away retries with backoff until it answers again. Everyone else asks
//! [`Engine::client`] and gets either a live client or a 503 naming the endpoint and error.

use super::dial::Dialer;
use crate::error::Error;
use app::model::Health;
use bollard::{API_DEFAULT_VERSION, Docker, errors::Error as DockerError};
use std::{fmt, path::PathBuf, sync::Arc, time::Duration};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// Request timeout for ordinary calls (streams are not bound by it: bollard times the
/// request, not the body).
const REQUEST_TIMEOUT_SECS: u64 = 30;
/// How long one connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often a connected engine is pinged to notice that it went away.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Where the engine listens, and how Berth proves who it is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Unix(String),
    /// Plain HTTP over TCP: only to loopback, since anyone on the path could drive the
    /// engine (Docker's API is root on that host).
    Tcp(String),
    /// HTTPS to an engine started with `--tlsverify`.
    Tls {
        addr: String,
        files: TlsFiles,
    },
    Ssh(SshTarget),
}

/// The PEM files of a TLS engine, as Docker names them: the CA that signed the engine's
/// certificate, and the client certificate and key the engine checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// `ssh://[user@]host[:port]`, with the key to log in with and the known_hosts file to
/// check the host's key against (ssh's defaults when not given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: u16,
    pub identity: Option<PathBuf>,
    pub known_hosts: Option<PathBuf>,
}

impl Endpoint {
    /// A URL as `DOCKER_HOST` and `--engine` take it. TLS needs certificate paths, so it
    /// comes from the engines file ([`Endpoint::with_tls`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix://") {
            return Ok(Self::Unix(path.to_string()));
        }
        if text.starts_with('/') {
            return Ok(Self::Unix(text.to_string()));
        }
        for scheme in ["tcp://", "http://"] {
            if let Some(addr) = text.strip_prefix(scheme) {
                let addr = addr.trim_end_matches('/').to_string();
                if !is_loopback(&addr) {
                    return Err(format!(
                        "{text}: plain tcp:// is refused beyond loopback (whoever is on the path could drive the engine); give its TLS files (ca, cert, key) in the engines file, or use ssh://"
                    ));
                }
                return Ok(Self::Tcp(addr));
            }
        }
        if let Some(rest) = text.strip_prefix("ssh://") {
            return SshTarget::parse(rest).map(Self::Ssh);
        }
        Err(format!(
            "unsupported Docker endpoint {text:?}: use unix:///path, a socket path, tcp://host:port (loopback, or TLS from the engines file) or ssh://[user@]host[:port]"
        ))
    }

    /// `tcp://host:port` with TLS files.
    pub fn with_tls(url: &str, files: TlsFiles) -> Result<Self, String> {
        let addr = ["tcp://", "https://"]
            .iter()
            .find_map(|scheme| url.strip_prefix(scheme))
            .ok_or_else(|| format!("{url}: TLS files go with a tcp://host:port URL"))?;
        let addr = addr.trim_end_matches('/');
        if addr
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.parse::<u16>().is_err())
        {
            return Err(format!("{url}: a TLS engine's URL needs host:port"));
        }
        Ok(Self::Tls {
            addr: addr.to_string(),
            files,
        })
    }
}

/// `localhost`, or a loopback address, with a port.
fn is_loopback(addr: &str) -> bool {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SshTarget {
    fn parse(rest: &str) -> Result<Self, String> {
        let bad = || format!("ssh://{rest}: use ssh://[user@]host[:port]");
        let rest = rest.trim_end_matches('/');
        let (user, hostport) = match rest.split_once('@') {
            Some((user, hostport)) if !user.is_empty() => (Some(user.to_string()), hostport),
            Some(_) => return Err(bad()),
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !hostport.ends_with(']') => {
                (host, port.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (hostport, 22),
        };
        // Never an option to ssh: a host starting with '-' would be one.
        if host.is_empty() || host.starts_with('-') || host.contains(char::is_whitespace) {
            return Err(bad());
        }
        if user
            .as_deref()
            .is_some_and(|u| u.starts_with('-') || u.contains(char::is_whitespace))
        {
            return Err(bad());
        }
        Ok(Self {
            user,
            host: host.to_string(),
            port,
            identity: None,
            known_hosts: None,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{path}"),
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
            Self::Tls { addr, .. } => write!(f, "tcp://{addr} (TLS)"),
            Self::Ssh(t) => match &t.user {
                Some(user) => write!(f, "ssh://{user}@{}:{}", t.host, t.port),
                None => write!(f, "ssh://{}:{}", t.host, t.port),
            },
        }
    }
}

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

pub struct Engine {
    endpoint: Endpoint,
    /// How to connect; an endpoint whose files went bad since start stays down with why.
    dialer: Result<Dialer, String>,
    state: watch::Sender<Conn>,
    /// Wakes the supervisor early: a request failed at the connection level.
    recheck: Notify,
}

impl Engine {
    /// Starts the supervisor; it stops when `shutdown` is cancelled.
    pub fn start(endpoint: Endpoint, shutdown: CancellationToken) -> Arc<Self> {
        let engine = Arc::new(Self {
            dialer: Dialer::new(&endpoint),
            endpoint,
            state: watch::Sender::new(Conn::Connecting),
            recheck: Notify::new(),
        });
        let supervisor = engine.clone();
        tokio::spawn(async move {
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

    /// Where log streams are read from (see [`crate::upstream::raw_logs`]), or the 503.
    pub fn logs_api(&self) -> Result<crate::upstream::raw_logs::LogsApi, Error> {
        let docker = self.client()?;
        let dialer = self.dialer.clone().map_err(Error::unavailable)?;
        Ok(crate::upstream::raw_logs::LogsApi {
            dialer,
            version: docker.client_version().to_string(),
        })
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            Endpoint::parse("unix:///var/run/docker.sock"),
            Ok(Endpoint::Unix("/var/run/docker.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("/tmp/d.sock"),
            Ok(Endpoint::Unix("/tmp/d.sock".into()))
        );
        assert_eq!(
            Endpoint::parse("tcp://127.0.0.1:2375"),
            Ok(Endpoint::Tcp("127.0.0.1:2375".into()))
        );
        assert_eq!(
            Endpoint::parse("http://localhost:2375/").map(|e| e.to_string()),
            Ok("tcp://localhost:2375".into())
        );
        assert!(
            Endpoint::parse("tcp://10.0.0.5:2375").is_err(),
            "plain beyond loopback"
        );
        assert_eq!(
            Endpoint::parse("ssh://deploy@edge.example:2222").map(|e| e.to_string()),
            Ok("ssh://deploy@edge.example:2222".into())
        );
        assert_eq!(
            Endpoint::parse("ssh://edge").map(|e| e.to_string()),
            Ok("ssh://edge:22".into())
        );
        for bad in [
            "ssh://-oProxyCommand=x",
            "ssh://@h",
            "ssh://u@h:port",
            "ssh://",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert!(Endpoint::parse("ftp://host").is_err());
        assert!(Endpoint::parse("").is_err());
    }
}
