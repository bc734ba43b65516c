//! Where an engine listens and how Berth proves who it is there: `DOCKER_HOST`'s grammar
//! (unix, tcp on loopback, TLS, ssh), checked once when the flags and engines file are read.

use std::{fmt, path::PathBuf};

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

impl Endpoint {
    /// Whether the engine runs on Berth's own machine (a socket, or TCP, which is loopback
    /// only): its loopback is Berth's.
    pub fn on_this_machine(&self) -> bool {
        matches!(self, Endpoint::Unix(_) | Endpoint::Tcp(_))
    }
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
