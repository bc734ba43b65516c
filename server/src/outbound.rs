//! The few HTTP requests Berth makes itself (to registries when the engine cannot answer
//! for one, alerts' webhooks, and an OpenID provider): one connection per request, plain HTTP for loopback registries and TLS against
//! the system's roots otherwise, a deadline on the whole exchange and a bound on the body.
//! The connection is driven inside the request's own future, so nothing outlives it. A
//! redirect is followed only where it cannot lower the request: never from HTTPS to HTTP,
//! never to a private or link-local address, to loopback only from loopback, and the
//! `Authorization` header only to the same scheme, host and port.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{HeaderMap, Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use std::{
    sync::{Arc, LazyLock},
    time::Duration,
};

/// How long one exchange (connect, TLS, request, body) may take.
const DEADLINE: Duration = Duration::from_secs(15);
/// The most a body is read: manifests, tokens and image configs are far smaller.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Redirects followed on a GET (a registry's blobs may live elsewhere).
const MAX_REDIRECTS: usize = 3;

/// An absolute `http(s)://host[:port]/path?query` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    /// As written, brackets around IPv6 kept (for the `Host` header).
    pub host: String,
    pub port: u16,
    /// `/` at least.
    pub path: String,
}

/// Without its path and query: a webhook's hold its token.
impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Url")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Url {
    /// `None` for anything but an absolute http(s) URL with a plain host.
    pub fn parse(text: &str) -> Option<Self> {
        let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else {
            (false, text.strip_prefix("http://")?)
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        if authority.is_empty() || authority.contains(['@', ' ', '#', '\\']) {
            return None;
        }
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                (&authority[..i], authority[i + 1..].parse().ok()?)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() || path.contains(['#', ' ', '\n', '\r']) {
            return None;
        }
        let path = match path.starts_with('/') {
            true => path.to_string(),
            false => format!("/{path}"),
        };
        Some(Self {
            tls,
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The host and port Berth connects to, brackets stripped.
    fn address(&self) -> (String, u16) {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host.to_string(), self.port)
    }

    /// `Host:` as HTTP wants it (the port only when it is not the scheme's).
    pub fn host_header(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// `location` (absolute, or a path on this host) as a URL.
    fn join(&self, location: &str) -> Option<Self> {
        match location.starts_with('/') {
            true => Some(Self {
                path: location.to_string(),
                ..self.clone()
            }),
            false => Self::parse(location),
        }
    }
}

/// A response: its status, headers, and body (whole, at most [`MAX_BODY`]).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request; GETs follow redirects (without their `Authorization` when the host
/// changes). `Err` says what failed in words a user can act on.
pub async fn send(
    method: Method,
    url: &Url,
    headers: &[(header::HeaderName, String)],
) -> Result<Answer, String> {
    let mut url = url.clone();
    let mut headers = headers.to_vec();
    for _ in 0..=MAX_REDIRECTS {
        let answer =
            tokio::time::timeout(DEADLINE, once(method.clone(), &url, &headers, Bytes::new()))
                .await
                .map_err(|_| format!("{} did not answer within {DEADLINE:?}", url.host))??;
        let redirect = method == Method::GET && answer.status.is_redirection();
        let Some(next) = redirect
            .then(|| answer.header(header::LOCATION).and_then(|l| url.join(l)))
            .flatten()
        else {
            return Ok(answer);
        };
        if !may_follow(&url, &next) {
            return Err(format!(
                "{} redirected to {}, which Berth does not follow",
                url.host, next.host
            ));
        }
        if (next.tls, &next.host, next.port) != (url.tls, &url.host, url.port) {
            headers.retain(|(name, _)| name != header::AUTHORIZATION);
        }
        url = next;
    }
    Err(format!(
        "{} redirected more than {MAX_REDIRECTS} times",
        url.host
    ))
}

/// One POST of `body`, redirects not followed (a webhook that moved says so in its
/// status). `Err` says what failed in words a user can act on.
pub async fn post(
    url: &Url,
    headers: &[(header::HeaderName, String)],
    body: Bytes,
) -> Result<Answer, String> {
    request(Method::POST, url, headers, body).await
}

/// One request, redirects not followed (an OpenID provider's answers are read as they
/// come). `Err` says what failed in words a user can act on.
pub async fn request(
    method: Method,
    url: &Url,
    headers: &[(header::HeaderName, String)],
    body: Bytes,
) -> Result<Answer, String> {
    tokio::time::timeout(DEADLINE, once(method, url, headers, body))
        .await
        .map_err(|_| format!("{} did not answer within {DEADLINE:?}", url.host))?
}

/// Whether a redirect from `from` to `to` keeps what the request was allowed to reach.
fn may_follow(from: &Url, to: &Url) -> bool {
    if from.tls && !to.tls {
        return false;
    }
    match host_ip(&to.host) {
        Some(ip) if ip.is_loopback() => is_loopback_host(&from.host),
        Some(ip) => is_public(ip),
        None => to.host != "localhost" || is_loopback_host(&from.host),
    }
}

/// The address a host names when it is written as one (brackets around IPv6 removed).
fn host_ip(host: &str) -> Option<std::net::IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// `localhost`, or a loopback address.
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host_ip(host).is_some_and(|ip| ip.is_loopback())
}

/// An address on the internet: not private, link-local, loopback, unspecified or
/// multicast (what a registry's answer may send Berth to).
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || first & 0xfe00 == 0xfc00
                || first & 0xffc0 == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| !is_public(v4.into())))
        }
    }
}

/// Whether a token realm named by a registry's challenge may be asked: over HTTPS on the
/// registry's own site (`auth.docker.io` for `registry-1.docker.io`), or on loopback for a
/// loopback registry. Anything else would let a registry point Berth at any address.
pub fn realm_allowed(registry_host: &str, realm: &Url) -> bool {
    let registry = registry_host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(registry_host, |(host, _)| host);
    if is_loopback_host(registry) {
        return is_loopback_host(&realm.host);
    }
    let site = |host: &str| -> Option<String> {
        if host_ip(host).is_some() {
            return Some(host.to_string());
        }
        let labels: Vec<&str> = host.rsplitn(3, '.').take(2).collect();
        (labels.len() == 2).then(|| format!("{}.{}", labels[1], labels[0]))
    };
    realm.tls && site(registry).is_some() && site(registry) == site(&realm.host)
}

async fn once(
    method: Method,
    url: &Url,
    headers: &[(header::HeaderName, String)],
    body: Bytes,
) -> Result<Answer, String> {
    let (host, port) = url.address();
    let tcp = crate::docker::dial::tcp(&format!("{}:{port}", url.host))
        .await
        .map_err(|e| format!("cannot reach {}: {e}", url.host_header()))?;
    let mut request = Request::builder()
        .method(method)
        .uri(&url.path)
        .header(header::HOST, url.host_header())
        .header(
            header::USER_AGENT,
            concat!("berth/", env!("CARGO_PKG_VERSION")),
        );
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(body))
        .map_err(|e| format!("a request Berth cannot write: {e}"))?;
    match url.tls {
        false => exchange(TokioIo::new(tcp), request).await,
        true => {
            let config = TLS.clone()?;
            let name = ServerName::try_from(host.clone())
                .map_err(|e| format!("{host} is not a name TLS can check: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {}: {e}", url.host_header()))?;
            exchange(TokioIo::new(tls), request).await
        }
    }
}

/// Sends `request` on `io` and reads the whole answer, driving the connection alongside.
async fn exchange<T>(io: TokioIo<T>, request: Request<Full<Bytes>>) -> Result<Answer, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    let work = async move {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        // The sender drops here, so the connection ends once the answer is read.
        Ok::<_, String>(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    };
    let (answer, _) = tokio::join!(work, connection);
    answer
}

/// The system's roots (Debian's bundle, or `SSL_CERT_FILE`), read once.
static TLS: LazyLock<Result<Arc<rustls::ClientConfig>, String>> = LazyLock::new(|| {
    let mut roots = rustls::RootCertStore::empty();
    for cert in system_roots() {
        let _ = roots.add(cert.clone());
    }
    if roots.is_empty() {
        return Err(
            "no CA certificates found to check a registry's TLS with (set SSL_CERT_FILE)".into(),
        );
    }
    let mut config = crate::docker::dial::tls_roots(roots)?.with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
});

/// The system's CA certificates (Debian's bundle, or `SSL_CERT_FILE`), read once: what
/// Berth checks a registry's, a webhook's or a mail server's TLS against.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: LazyLock<Vec<CertificateDer<'static>>> = LazyLock::new(read_roots);
    &ROOTS
}

fn read_roots() -> Vec<CertificateDer<'static>> {
    let files = std::env::var("SSL_CERT_FILE").into_iter().chain(
        [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ]
        .map(String::from),
    );
    for file in files {
        let Ok(pem) = std::fs::read(&file) else {
            continue;
        };
        let roots: Vec<_> = CertificateDer::pem_slice_iter(&pem).flatten().collect();
        if !roots.is_empty() {
            return roots;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_as_registries_write_them() {
        let url = Url::parse("https://auth.docker.io/token?service=registry.docker.io").unwrap();
        assert_eq!(
            (url.tls, url.host.as_str(), url.port, url.path.as_str()),
            (
                true,
                "auth.docker.io",
                443,
                "/token?service=registry.docker.io"
            )
        );
        let url = Url::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!((url.port, url.path.as_str()), (5000, "/"));
        assert_eq!(url.host_header(), "127.0.0.1:5000");
        let url = Url::parse("http://[::1]:5000/v2/").unwrap();
        assert_eq!(url.address(), ("::1".to_string(), 5000));
        for bad in [
            "ftp://x/",
            "https://",
            "https://user@host/",
            "http://h:99999/",
            "x",
        ] {
            assert_eq!(Url::parse(bad), None, "{bad}");
        }
        let base = Url::parse("https://r.example/v2/a/blobs/x").unwrap();
        assert_eq!(base.join("/other").unwrap().path, "/other");
        assert_eq!(
            base.join("https://cdn.example/b").unwrap().host,
            "cdn.example"
        );
    }

    #[test]
    fn redirects_never_lower_the_request() {
        let url = |text: &str| Url::parse(text).unwrap();
        let registry = url("https://r.example/v2/a/blobs/x");
        assert!(may_follow(&registry, &url("https://cdn.example/b")));
        assert!(!may_follow(&registry, &url("http://cdn.example/b")));
        for inside in [
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/x",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://100.64.0.1/x",
        ] {
            assert!(!may_follow(&registry, &url(inside)), "{inside}");
        }
        let loopback = url("http://127.0.0.1:5000/v2/a/blobs/x");
        assert!(may_follow(&loopback, &url("http://127.0.0.1:5000/other")));
        assert!(!may_follow(&loopback, &url("http://10.0.0.1/other")));
    }

    #[test]
    fn token_realms_stay_on_the_registrys_site() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert!(realm_allowed(
            "registry-1.docker.io",
            &url("https://auth.docker.io/token")
        ));
        assert!(realm_allowed("ghcr.io", &url("https://ghcr.io/token")));
        assert!(!realm_allowed(
            "registry-1.docker.io",
            &url("http://auth.docker.io/token")
        ));
        assert!(!realm_allowed(
            "ghcr.io",
            &url("https://169.254.169.254/latest")
        ));
        assert!(!realm_allowed(
            "ghcr.io",
            &url("https://evil.example/token")
        ));
        assert!(realm_allowed(
            "127.0.0.1:5000",
            &url("http://127.0.0.1:5001/auth")
        ));
        assert!(!realm_allowed(
            "127.0.0.1:5000",
            &url("http://10.0.0.1/auth")
        ));
        assert!(!realm_allowed(
            "10.0.0.5:5000",
            &url("https://10.0.0.6/auth")
        ));
    }
}
