//! The accept loop: a cap on connections, a deadline for a client's first bytes and
//! headers, idle connections closed, and a shutdown that drains every tracked task.

use super::{AppState, connection};
use axum::Router;
use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// How connections are served (`berth --help`, "Connections").
#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Connections")]
pub struct ServeSettings {
    /// Host names Berth answers to besides loopback (localhost, 127.0.0.1, [::1]) and a
    /// specific bind address: `NAME` (plain HTTP on the served port), `NAME:PORT`, or an
    /// origin `https://NAME[:PORT]` as a reverse proxy serves it (comma-separated). Requests
    /// naming any other host get 421, and browsers' cross-origin sockets 403: this is the
    /// defence against DNS rebinding (see SECURITY.md).
    #[arg(
        long = "allowed-host",
        alias = "allowed-origin",
        env = "BERTH_ALLOWED_HOSTS",
        value_delimiter = ',',
        value_parser = crate::http::hosts::HostSpec::parse,
        value_name = "HOST"
    )]
    pub allowed_hosts: Vec<crate::http::hosts::HostSpec>,

    /// A client that has not sent its request headers within this many ms is disconnected.
    #[arg(long, env = "BERTH_HEADER_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_timeout_ms: u64,

    /// A connection with no request in progress for this many ms is closed (HTTP/1
    /// keep-alive and HTTP/2 alike; WebSockets are not connections once upgraded), and so
    /// is one (WebSockets too) whose client reads nothing Berth writes for as long.
    #[arg(long, env = "BERTH_IDLE_TIMEOUT_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub idle_timeout_ms: u64,

    /// A request's body must arrive within this many ms.
    #[arg(long, env = "BERTH_BODY_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub body_timeout_ms: u64,

    /// HTTP connections served at once; more wait to be accepted. Upgraded sockets count
    /// against `--limit-global` instead.
    #[arg(long, env = "BERTH_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// At SIGTERM, how long (ms) open sockets and requests get to finish (sockets are sent
    /// `end` and closed with 1001 at once) before Berth exits anyway.
    #[arg(long, env = "BERTH_SHUTDOWN_DRAIN_MS", default_value_t = 5_000)]
    pub shutdown_drain_ms: u64,

    /// Proxies whose X-Forwarded-For names the client (comma-separated addresses).
    #[arg(
        long = "trusted-proxy",
        env = "BERTH_TRUSTED_PROXY",
        value_delimiter = ',',
        value_name = "IP"
    )]
    pub trusted_proxies: Vec<IpAddr>,
}

impl ServeSettings {
    /// Flags that must be above zero, with their values.
    pub fn positive(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("--header-timeout-ms", self.header_timeout_ms as usize),
            ("--max-connections", self.max_connections),
            ("--shutdown-drain-ms", self.shutdown_drain_ms as usize),
        ]
    }

    pub fn shutdown_drain(&self) -> Duration {
        Duration::from_millis(self.shutdown_drain_ms)
    }
}

/// How [`serve`] treats connections and shutdown.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Time a client has to send its first bytes, then its request headers.
    pub header_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// How long shutdown waits for connections, socket clients and upstreams.
    pub drain: Duration,
    pub tasks: TaskTracker,
}

impl ServeOptions {
    pub fn new(settings: &ServeSettings, state: &AppState) -> Self {
        Self {
            header_timeout: Duration::from_millis(settings.header_timeout_ms),
            idle_timeout: Duration::from_millis(settings.idle_timeout_ms),
            max_connections: settings.max_connections,
            drain: settings.shutdown_drain(),
            tasks: state.tasks().clone(),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits (at most
/// `options.drain`) for every tracked task: connections, and the socket clients that say `end` and
/// close with 1001 on the same signal, which axum's own `serve` stops tracking once upgraded.
/// At most `options.max_connections` connections are served at once (more wait to be
/// accepted), and none keeps its slot by doing nothing ([`connection`]): a client gets
/// `options.header_timeout` for its first bytes and then its headers, and a connection
/// with nothing in progress for `options.idle_timeout` is closed, as at shutdown (what is
/// in progress finishes first).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
    options: ServeOptions,
) -> std::io::Result<()> {
    use hyper_util::{
        rt::{TokioExecutor, TokioIo, TokioTimer},
        server::conn::auto::Builder,
    };
    use tower::{Service, ServiceExt};

    let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    // A peer that stops answering pings is gone; one that answers but asks nothing is idle.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(options.idle_timeout / 2))
        .keep_alive_timeout(options.header_timeout);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(options.max_connections));
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("never closed"),
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(tower_service) = make_service.call(peer).await;
        let (builder, shutdown, options_) = (builder.clone(), shutdown.clone(), options.clone());
        options.tasks.spawn(async move {
            let _slot = slot;
            let stream = tokio::select! {
                first = connection::first_bytes(stream, options_.header_timeout, options_.idle_timeout) => match first {
                    Ok(stream) => stream,
                    Err(e) => {
                        tracing::debug!(%peer, "connection closed before a request: {e}");
                        return;
                    }
                },
                () = shutdown.cancelled() => return,
            };
            let activity = connection::Activity::new();
            let counted = activity.clone();
            let hyper_service = hyper::service::service_fn(move |request| {
                let in_flight = counted.begin();
                let answer = tower_service.clone().oneshot(request);
                async move {
                    let answered = answer.await;
                    drop(in_flight);
                    answered
                }
            });
            let connection =
                builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
            tokio::pin!(connection);
            let mut closing = false;
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, "connection ended: {e}");
                        }
                        break;
                    }
                    () = shutdown.cancelled(), if !closing => {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    () = activity.idle_for(options_.idle_timeout), if !closing => {
                        tracing::debug!(%peer, "closing an idle connection");
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        });
    }
    drop(listener);
    let tasks = options.tasks.clone();
    tasks.close();
    if tokio::time::timeout(options.drain, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "{} tasks still running {:?} after shutdown began; exiting anyway",
            tasks.len(),
            options.drain
        );
    }
    Ok(())
}
