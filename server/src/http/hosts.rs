//! DNS-rebinding defence. A page on `evil.example` whose name is re-pointed to 127.0.0.1 makes
//! the browser send Berth requests that carry `Host: evil.example`: every request whose Host
//! is not one of Berth's own names is refused (421) before any route runs, and a browser's
//! Origin (scheme, host and port) must be one of them too, never merely equal to the request's
//! own Host, which the attacker controls after rebinding.

use crate::error::Error;
use axum::{
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// One `--allowed-host`: `NAME`, `NAME:PORT`, `[IPv6]:PORT`, or an origin
/// `http[s]://NAME[:PORT]`. Without a scheme it is plain HTTP; without a port, the port Berth
/// serves on (or, with a scheme, that scheme's default port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    scheme: Scheme,
    name: String,
    port: Option<u16>,
    explicit_scheme: bool,
}

impl HostSpec {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (scheme, rest, explicit_scheme) = if let Some(rest) = text.strip_prefix("https://") {
            (Scheme::Https, rest, true)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (Scheme::Http, rest, true)
        } else if text.contains("://") {
            return Err(format!(
                "{text:?}: only http:// and https:// origins are allowed"
            ));
        } else {
            (Scheme::Http, text, false)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (name, port) = split_host(rest).ok_or_else(|| {
            format!("{text:?} is not a host name: use NAME, NAME:PORT or https://NAME[:PORT]")
        })?;
        Ok(Self {
            scheme,
            name,
            port,
            explicit_scheme,
        })
    }
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.name)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// `name[:port]` or `[v6][:port]` to a lower-case name (IPv6 in brackets, no trailing dot)
/// and the port if given; `None` if it is not a host.
fn split_host(text: &str) -> Option<(String, Option<u16>)> {
    let (name, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse().ok()?),
        };
        (format!("[{}]", v6.to_ascii_lowercase()), port)
    } else {
        let (name, port) = match text.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse().ok()?)),
            None => (text, None),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            return None;
        }
        (name.to_ascii_lowercase(), port)
    };
    Some((name, port))
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Allowed {
    scheme: Scheme,
    name: String,
    port: u16,
}

/// Berth's own names: loopback, the bind address when it is specific, and every
/// `--allowed-host`.
#[derive(Debug)]
pub struct AllowedHosts {
    allowed: Vec<Allowed>,
}

impl AllowedHosts {
    pub fn new(served: SocketAddr, extra: &[HostSpec]) -> Arc<Self> {
        let port = served.port();
        let mut names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "[::1]".to_string(),
        ];
        if !served.ip().is_unspecified() {
            names.push(match served.ip() {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => format!("[{v6}]"),
            });
        }
        let mut allowed: Vec<Allowed> = names
            .into_iter()
            .map(|name| Allowed {
                scheme: Scheme::Http,
                name,
                port,
            })
            .collect();
        for spec in extra {
            let port = spec.port.unwrap_or(if spec.explicit_scheme {
                spec.scheme.default_port()
            } else {
                port
            });
            allowed.push(Allowed {
                scheme: spec.scheme,
                name: spec.name.clone(),
                port,
            });
        }
        allowed.dedup();
        Arc::new(Self { allowed })
    }

    /// A Host header (or HTTP/2 authority): one of ours, with its port (an absent port is
    /// the default of the scheme the name was allowed with).
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        self.allowed
            .iter()
            .any(|a| a.name == name && port.unwrap_or_else(|| a.scheme.default_port()) == a.port)
    }

    /// A browser's Origin: scheme, host and port must all be one of ours.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let Ok(spec) = HostSpec::parse(origin) else {
            return false;
        };
        if !spec.explicit_scheme {
            return false;
        }
        let port = spec.port.unwrap_or(spec.scheme.default_port());
        self.allowed
            .iter()
            .any(|a| a.scheme == spec.scheme && a.name == spec.name && a.port == port)
    }

    /// Refuses (403) a request whose Origin, when it has one, is not ours.
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Error> {
        let Some(origin) = headers.get(header::ORIGIN) else {
            return Ok(());
        };
        match origin.to_str() {
            Ok(origin) if self.origin_allowed(origin) => Ok(()),
            _ => Err(Error::new(
                403,
                format!(
                    "cross-origin request from {origin:?} refused: allow it with --allowed-host"
                ),
            )),
        }
    }
}

/// The middleware on every route: 421 (JSON) unless the request names one of our hosts.
pub async fn check_host(
    State(hosts): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_string)
        });
    match host {
        Some(host) if hosts.host_allowed(&host) => next.run(request).await,
        Some(host) => Error::new(
            421,
            format!("this Berth does not serve the host {host:?}: allow it with --allowed-host"),
        )
        .into_response(),
        None => Error::new(421, "the request names no host").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(extra: &[&str]) -> Arc<AllowedHosts> {
        let extra: Vec<HostSpec> = extra.iter().map(|e| HostSpec::parse(e).unwrap()).collect();
        AllowedHosts::new("127.0.0.1:3000".parse().unwrap(), &extra)
    }

    #[test]
    fn loopback_names_with_the_served_port_only() {
        let h = hosts(&[]);
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST:3000",
            "[::1]:3000",
        ] {
            assert!(h.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "127.0.0.1:3001",
            "127.0.0.1",
            "localhost",
            "127.0.0.1.evil.example:3000",
            "",
            "[::2]:3000",
        ] {
            assert!(!h.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn allowed_hosts_and_origins_compare_scheme_host_and_port() {
        let h = hosts(&[
            "dash.example",
            "https://secure.example",
            "other.example:8443",
        ]);
        assert!(h.host_allowed("dash.example:3000"));
        assert!(
            !h.host_allowed("dash.example"),
            "port 80 is not the served port"
        );
        assert!(
            h.host_allowed("secure.example"),
            "a proxy's Host without port: 443"
        );
        assert!(h.host_allowed("secure.example:443"));
        assert!(h.host_allowed("other.example:8443"));

        assert!(h.origin_allowed("http://127.0.0.1:3000"));
        assert!(!h.origin_allowed("https://127.0.0.1:3000"), "scheme counts");
        assert!(!h.origin_allowed("http://127.0.0.1:3001"), "port counts");
        assert!(h.origin_allowed("https://secure.example"));
        assert!(!h.origin_allowed("http://secure.example"));
        assert!(h.origin_allowed("http://dash.example:3000"));
        assert!(!h.origin_allowed("http://evil.example:3000"));
        assert!(!h.origin_allowed("null"));
    }

    #[test]
    fn a_specific_bind_address_is_allowed_a_wildcard_is_not() {
        let specific = AllowedHosts::new("192.0.2.7:8080".parse().unwrap(), &[]);
        assert!(specific.host_allowed("192.0.2.7:8080"));
        let any = AllowedHosts::new("0.0.0.0:8080".parse().unwrap(), &[]);
        assert!(!any.host_allowed("0.0.0.0:8080"));
        assert!(any.host_allowed("localhost:8080"));
    }

    #[test]
    fn specs_are_checked() {
        for bad in ["ftp://x", "a b", "x:port", "[zz]:1", "", "http://"] {
            assert!(HostSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
