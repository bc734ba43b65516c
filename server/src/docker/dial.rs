//! How Berth reaches an engine: a fresh connection per request over a unix socket, plain
//! TCP (loopback only), TCP with TLS (the engine's CA, a client certificate), or SSH running
//! `docker system dial-stdio` on the far side. bollard's requests and the raw log reader
//! both go through [`Dialer::dial`], so every kind of engine serves every feature alike.
//!
//! Nothing is pooled: a connection lives as long as its response (bollard itself keeps no
//! idle connections), so a dropped stream closes its socket, TLS session or ssh process.

use super::endpoint::{Endpoint, SshTarget, TlsFiles};
use bollard::{BollardRequest, ClientVersion, Docker, errors::Error as DockerError};
use hyper::{Response, body::Incoming};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
use std::{future::Future, io, path::Path, pin::Pin, process::Stdio, sync::Arc, time::Duration};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::task::TaskTracker;

/// How long a connection (TCP, TLS handshake, ssh login) may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected byte stream to the engine's HTTP API, whichever the transport.
pub trait Socket: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Socket for T {}

pub type Conn = Pin<Box<dyn Socket>>;

/// Opens connections to one engine. Built once per engine at start, where a missing or
/// unreadable certificate is refused with its path.
#[derive(Clone)]
pub struct Dialer {
    how: How,
    /// What the `Host` header says (the engine ignores it, HTTP/1.1 requires it).
    host: String,
    /// Where each connection's driver runs: with everything else, so shutdown waits for it.
    tasks: TaskTracker,
}

#[derive(Clone)]
enum How {
    Unix(String),
    Tcp(String),
    Tls {
        addr: String,
        name: ServerName<'static>,
        tls: tokio_rustls::TlsConnector,
    },
    Ssh(Arc<SshTarget>),
}

impl Dialer {
    pub fn new(endpoint: &Endpoint, tasks: TaskTracker) -> Result<Self, String> {
        Ok(match endpoint {
            Endpoint::Unix(path) => Self {
                how: How::Unix(path.clone()),
                host: "docker".into(),
                tasks: tasks.clone(),
            },
            Endpoint::Tcp(addr) => Self {
                how: How::Tcp(addr.clone()),
                host: addr.clone(),
                tasks: tasks.clone(),
            },
            Endpoint::Tls { addr, files } => {
                let host = addr
                    .rsplit_once(':')
                    .map_or(addr.as_str(), |(host, _)| host)
                    .trim_start_matches('[')
                    .trim_end_matches(']');
                let name = ServerName::try_from(host.to_string())
                    .map_err(|e| format!("{addr}: not a host name or address: {e}"))?;
                Self {
                    how: How::Tls {
                        addr: addr.clone(),
                        name,
                        tls: tokio_rustls::TlsConnector::from(Arc::new(tls_config(files)?)),
                    },
                    host: addr.clone(),
                    tasks: tasks.clone(),
                }
            }
            Endpoint::Ssh(target) => {
                if let Some(identity) = &target.identity {
                    readable(identity, "ssh identity")?;
                }
                if let Some(known) = &target.known_hosts {
                    readable(known, "ssh known_hosts")?;
                }
                Self {
                    how: How::Ssh(Arc::new(target.clone())),
                    host: "docker".into(),
                    tasks: tasks.clone(),
                }
            }
        })
    }

    /// A new connection, or why not within [`DIAL_TIMEOUT`].
    pub async fn dial(&self) -> io::Result<Conn> {
        tokio::time::timeout(DIAL_TIMEOUT, self.connect())
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no connection within 5 s"))?
    }

    async fn connect(&self) -> io::Result<Conn> {
        Ok(match &self.how {
            How::Unix(path) => Box::pin(tokio::net::UnixStream::connect(path).await?),
            How::Tcp(addr) => Box::pin(tcp(addr).await?),
            How::Tls { addr, name, tls } => {
                Box::pin(tls.connect(name.clone(), tcp(addr).await?).await?)
            }
            How::Ssh(target) => Box::pin(ssh(target, &self.tasks)?),
        })
    }

    pub fn host_header(&self) -> &str {
        &self.host
    }

    /// A bollard client whose every request goes over a connection of its own from here.
    pub fn docker(&self, timeout_secs: u64, version: &ClientVersion) -> Docker {
        let dialer = self.clone();
        let transport = move |request: BollardRequest| {
            let dialer = dialer.clone();
            async move { dialer.send(request).await }
        };
        Docker::connect_with_custom_transport(
            transport,
            Some("http://docker"),
            timeout_secs,
            version,
        )
        .expect("a custom transport always connects")
    }

    /// One request on a new connection; the connection is driven by a task that ends when
    /// the response body ends or is dropped.
    async fn send(&self, request: BollardRequest) -> Result<Response<Incoming>, DockerError> {
        let (mut parts, body) = request.into_parts();
        // On a connection of our own the request line carries the path alone.
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        parts.uri =
            path.parse()
                .map_err(|e: hyper::http::uri::InvalidUri| DockerError::IOError {
                    err: io::Error::new(io::ErrorKind::InvalidInput, e),
                })?;
        parts.headers.insert(
            hyper::header::HOST,
            hyper::header::HeaderValue::from_str(&self.host)
                .unwrap_or(hyper::header::HeaderValue::from_static("docker")),
        );
        let socket = self.dial().await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(socket)).await?;
        self.tasks.spawn(async move {
            // Its end (or failure) is the response's; the caller sees that on the body. With
            // upgrades: a terminal's exec takes the connection over (101, then raw TTY).
            let _ = connection.with_upgrades().await;
        });
        Ok(sender
            .send_request(hyper::Request::from_parts(parts, body))
            .await?)
    }
}

/// A TCP connection to `addr` (`host:port`, an IPv6 host in brackets), without Nagle's delay.
pub(crate) async fn tcp(addr: &str) -> io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    Ok(socket)
}

fn readable(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

/// Trusts the engine's CA alone (not the system's roots: an engine's certificate comes from
/// its own CA) and presents the client certificate the engine's `--tlsverify` asks for.
fn tls_config(files: &TlsFiles) -> Result<rustls::ClientConfig, String> {
    let pem_error = |what: &str, path: &Path, e: &dyn std::fmt::Display| {
        format!("the {what} {} is not usable PEM: {e}", path.display())
    };
    let mut roots = rustls::RootCertStore::empty();
    let ca = readable(&files.ca, "TLS CA")?;
    for cert in CertificateDer::pem_slice_iter(&ca) {
        let cert = cert.map_err(|e| pem_error("TLS CA", &files.ca, &e))?;
        roots
            .add(cert)
            .map_err(|e| pem_error("TLS CA", &files.ca, &e))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "the TLS CA {} holds no certificate",
            files.ca.display()
        ));
    }
    let chain = CertificateDer::pem_slice_iter(&readable(&files.cert, "TLS certificate")?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error("TLS certificate", &files.cert, &e))?;
    if chain.is_empty() {
        return Err(format!(
            "the TLS certificate {} holds no certificate",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&readable(&files.key, "TLS key")?)
        .map_err(|e| pem_error("TLS key", &files.key, &e))?;
    tls_roots(roots)?
        .with_client_auth_cert(chain, key)
        .map_err(|e| {
            format!(
                "the TLS certificate {} and key {} do not go together: {e}",
                files.cert.display(),
                files.key.display()
            )
        })
}

/// A TLS client's configuration over `roots`, with ring and the safe protocol versions
/// (engines and registries alike), waiting for its client certificate (or none).
pub(crate) fn tls_roots(
    roots: rustls::RootCertStore,
) -> Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>, String> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots))
}

/// `ssh … docker system dial-stdio`: the far side's docker CLI joins its stdio to the
/// engine's socket, as `docker -H ssh://` does. Host keys are checked against known_hosts
/// (never accepted on first sight), and the ssh process is killed when the stream drops.
fn ssh(target: &SshTarget, tasks: &TaskTracker) -> io::Result<SshStream> {
    let mut command = tokio::process::Command::new("ssh");
    command
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .args(["-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"])
        .arg("-p")
        .arg(target.port.to_string());
    if let Some(known) = &target.known_hosts {
        command
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", known.display()));
    }
    if let Some(identity) = &target.identity {
        command
            .arg("-o")
            .arg("IdentitiesOnly=yes")
            .arg("-i")
            .arg(identity);
    }
    if let Some(user) = &target.user {
        command.arg("-l").arg(user);
    }
    command
        .arg("--")
        .arg(&target.host)
        .args(["docker", "system", "dial-stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn()?;
    let (Some(stdout), Some(stdin), Some(stderr)) =
        (child.stdout.take(), child.stdin.take(), child.stderr.take())
    else {
        return Err(io::Error::other("ssh started without pipes"));
    };
    Ok(SshStream {
        io: tokio::io::join(stdout, stdin),
        why: Some(tasks.spawn(first_words(stderr))),
        _child: child,
    })
}

/// What ssh said on stderr (its first 2 KiB), read until it exits: why a login failed
/// ("Host key verification failed."), where the stream alone would only end.
async fn first_words(mut stderr: tokio::process::ChildStderr) -> String {
    use tokio::io::AsyncReadExt;
    let mut said = Vec::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = stderr.read(&mut chunk).await {
        if said.len() < 2048 {
            said.extend_from_slice(&chunk[..n.min(2048 - said.len())]);
        }
    }
    String::from_utf8_lossy(&said).trim().to_string()
}

/// The ssh process's stdout and stdin as one stream; owns the process (killed on drop) and
/// its stderr reader (aborted on drop: a helper ssh started that still holds stderr must
/// not keep the reader, and shutdown's drain, waiting).
struct SshStream {
    io: tokio::io::Join<tokio::process::ChildStdout, tokio::process::ChildStdin>,
    why: Option<tokio::task::JoinHandle<String>>,
    _child: tokio::process::Child,
}

impl Drop for SshStream {
    fn drop(&mut self) {
        if let Some(why) = self.why.take() {
            why.abort();
        }
    }
}

impl AsyncRead for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                // The end: when ssh said why, that is the error (it has exited, so its
                // stderr ends at once).
                let Some(why) = this.why.as_mut() else {
                    return Poll::Ready(Ok(()));
                };
                let said = std::task::ready!(Pin::new(why).poll(cx)).unwrap_or_default();
                this.why = None;
                match said.is_empty() {
                    true => Poll::Ready(Ok(())),
                    false => Poll::Ready(Err(io::Error::other(format!("ssh: {said}")))),
                }
            }
            other => other,
        }
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
