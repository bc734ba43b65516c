//! A registry's own API (the distribution spec), for when the engine cannot say what a tag
//! points at, and for what the engine never says (when an image was made):
//! `HEAD /v2/<repo>/manifests/<tag>` with the index and manifest media types, an anonymous
//! bearer token from `WWW-Authenticate` when the registry asks for one, and 429 answered
//! with its `Retry-After`. Every value in a URL here has passed the reference grammar.

use super::{
    name::ImageName,
    pace::{Pacer, retry_after},
};
use crate::outbound::{self as fetch, Answer, Url};
use crate::registry_logins::Login;
use app::refs::is_digest;
use hyper::{Method, StatusCode, header};
use sha2::Digest as _;
use std::time::Duration;

/// What a manifest request accepts: an index (multi-platform) or one image's manifest, in
/// OCI's and Docker's spellings.
const MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.manifest.v1+json";

/// Why a registry gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// 429: nothing until then.
    Throttled(Duration),
    /// The tag (or repository) is not there.
    Missing,
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Throttled(after) => write!(
                f,
                "the registry is limiting requests (429): retry after {} s",
                after.as_secs()
            ),
            Failure::Missing => write!(f, "the registry has no such tag"),
            Failure::Other(why) => write!(f, "{why}"),
        }
    }
}

/// Requests about one repository, with the token it was given (once asked for), or the
/// credentials an admin stored for its registry (once it asked for them).
pub struct Session<'a> {
    name: &'a ImageName,
    pacer: &'a Pacer,
    token: Option<String>,
    login: Option<&'a Login>,
    /// The registry asked for basic credentials: each request carries them.
    basic: bool,
}

impl<'a> Session<'a> {
    pub fn new(name: &'a ImageName, pacer: &'a Pacer, login: Option<&'a Login>) -> Self {
        Self {
            name,
            pacer,
            token: None,
            login,
            basic: false,
        }
    }

    pub fn name(&self) -> &'a ImageName {
        self.name
    }

    /// The credentials stored for the registry, if any.
    pub fn login(&self) -> Option<&'a Login> {
        self.login
    }

    /// The digest the registry serves for the tag now.
    pub async fn digest(&mut self) -> Result<String, Failure> {
        let path = format!("manifests/{}", self.name.tag);
        let answer = self.request(Method::HEAD, &path, MANIFESTS).await?;
        if let Some(digest) = content_digest(&answer) {
            return Ok(digest);
        }
        // Some registries leave the header off a HEAD: a GET's, else its body's.
        let answer = self.request(Method::GET, &path, MANIFESTS).await?;
        Ok(content_digest(&answer)
            .unwrap_or_else(|| format!("sha256:{:x}", sha2::Sha256::digest(&answer.body))))
    }

    /// When the image `digest` (an index or a manifest) was made, by its config's `created`:
    /// the platform Berth runs on where an index holds several.
    pub async fn created(&mut self, digest: &str) -> Result<Option<i64>, Failure> {
        let manifest = self.json(&format!("manifests/{digest}"), MANIFESTS).await?;
        let manifest = match manifest.get("manifests").and_then(|m| m.as_array()) {
            Some(list) => {
                let Some(chosen) = pick_platform(list) else {
                    return Ok(None);
                };
                self.json(&format!("manifests/{chosen}"), MANIFESTS).await?
            }
            None => manifest,
        };
        let Some(config) = manifest
            .pointer("/config/digest")
            .and_then(|d| d.as_str())
            .filter(|d| is_digest(d))
        else {
            return Ok(None);
        };
        let config = self.json(&format!("blobs/{config}"), "*/*").await?;
        Ok(config
            .get("created")
            .and_then(|c| c.as_str())
            .and_then(crate::docker::images::unix_seconds))
    }

    async fn json(&mut self, path: &str, accept: &str) -> Result<serde_json::Value, Failure> {
        let answer = self.request(Method::GET, path, accept).await?;
        serde_json::from_slice(&answer.body)
            .map_err(|e| Failure::Other(format!("the registry's {path} is not JSON: {e}")))
    }

    /// `/v2/<repository>/<path>`, with the token once the registry has asked for one.
    async fn request(
        &mut self,
        method: Method,
        path: &str,
        accept: &str,
    ) -> Result<Answer, Failure> {
        let scheme = match self.name.is_loopback() {
            true => "http",
            false => "https",
        };
        let text = format!(
            "{scheme}://{}/v2/{}/{path}",
            self.name.api_host(),
            self.name.repository
        );
        let url = Url::parse(&text).ok_or_else(|| Failure::Other(format!("not a URL: {text}")))?;
        let mut answer = self.send(method.clone(), &url, accept).await?;
        if answer.status == StatusCode::UNAUTHORIZED && self.token.is_none() && !self.basic {
            let challenge = answer
                .header(header::WWW_AUTHENTICATE)
                .unwrap_or_default()
                .to_string();
            let basic = challenge
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic "));
            match (basic, self.login) {
                (true, Some(_)) => self.basic = true,
                _ => self.token = Some(self.token_for(&challenge).await?),
            }
            answer = self.send(method, &url, accept).await?;
        }
        match answer.status {
            s if s.is_success() => Ok(answer),
            StatusCode::NOT_FOUND => Err(Failure::Missing),
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::Throttled(retry_after(
                answer.header(header::RETRY_AFTER),
                crate::accounts::now_ms() / 1000,
            ))),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(Failure::Other(match self.login {
                    Some(_) => format!(
                        "the registry {} refused the credentials Berth holds for it ({})",
                        self.name.registry, answer.status
                    ),
                    None => format!(
                        "the registry {} refused anonymous access ({}): an admin can store credentials for it",
                        self.name.registry, answer.status
                    ),
                }))
            }
            other => Err(Failure::Other(format!(
                "the registry {} answered {other}",
                self.name.registry
            ))),
        }
    }

    async fn send(&self, method: Method, url: &Url, accept: &str) -> Result<Answer, Failure> {
        let mut headers = vec![(header::ACCEPT, accept.to_string())];
        match (&self.token, self.login) {
            (Some(token), _) => headers.push((header::AUTHORIZATION, format!("Bearer {token}"))),
            (None, Some(login)) if self.basic => {
                headers.push((header::AUTHORIZATION, login.basic()));
            }
            _ => {}
        }
        self.pacer
            .turn(self.name.api_host())
            .await
            .map_err(Failure::Throttled)?;
        fetch::send(method, url, &headers)
            .await
            .map_err(Failure::Other)
    }

    /// A token for pulling, from the realm the registry's challenge names: anonymous, or
    /// for the credentials stored for the registry.
    async fn token_for(&self, challenge: &str) -> Result<String, Failure> {
        let params = bearer_params(challenge).ok_or_else(|| {
            Failure::Other(format!(
                "the registry {} asks for credentials Berth does not hold",
                self.name.registry
            ))
        })?;
        let find = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        let realm = find("realm")
            .and_then(|r| Url::parse(&r))
            .filter(|realm| fetch::realm_allowed(self.name.api_host(), realm))
            .ok_or_else(|| {
                Failure::Other(format!(
                    "the registry {} names a token service off its own site over HTTPS",
                    self.name.registry
                ))
            })?;
        let scope =
            find("scope").unwrap_or_else(|| format!("repository:{}:pull", self.name.repository));
        let mut query = vec![("scope", scope)];
        if let Some(service) = find("service") {
            query.push(("service", service));
        }
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        let joiner = if realm.path.contains('?') { '&' } else { '?' };
        let url = Url {
            path: format!("{}{joiner}{query}", realm.path),
            ..realm
        };
        self.pacer
            .turn(&url.host)
            .await
            .map_err(Failure::Throttled)?;
        // The realm passed `realm_allowed`: HTTPS on the registry's own site, where token
        // services live (auth.docker.io for Docker Hub, gitlab.example.com for
        // registry.example.com), so the credentials go with the request, as Docker sends
        // them to whatever realm a registry names. (A stricter same-host rule broke
        // GitLab; a shared domain's other tenant is reached only if the registry itself
        // names it.)
        let headers: Vec<_> = self
            .login
            .map(|login| (header::AUTHORIZATION, login.basic()))
            .into_iter()
            .collect();
        let answer = fetch::send(Method::GET, &url, &headers)
            .await
            .map_err(Failure::Other)?;
        if !answer.status.is_success() {
            return Err(Failure::Other(format!(
                "the registry's token service answered {}",
                answer.status
            )));
        }
        let body: serde_json::Value = serde_json::from_slice(&answer.body)
            .map_err(|e| Failure::Other(format!("the token service's answer: {e}")))?;
        ["token", "access_token"]
            .iter()
            .find_map(|key| body.get(*key).and_then(|t| t.as_str()))
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_string)
            .ok_or_else(|| Failure::Other("the token service gave no token".into()))
    }
}

/// The `Docker-Content-Digest` an answer carries, when it is a digest.
fn content_digest(answer: &Answer) -> Option<String> {
    answer
        .header(header::HeaderName::from_static("docker-content-digest"))
        .filter(|d| is_digest(d))
        .map(str::to_string)
}

/// An index's manifest for the platform Berth runs on (`linux/amd64` here), else the first
/// that names a real platform.
fn pick_platform(list: &[serde_json::Value]) -> Option<String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    };
    let platform = |m: &serde_json::Value, key: &str| {
        m.pointer(&format!("/platform/{key}"))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let digest = |m: &serde_json::Value| {
        m.get("digest")
            .and_then(|d| d.as_str())
            .filter(|d| is_digest(d))
            .map(str::to_string)
    };
    list.iter()
        .find(|m| {
            platform(m, "os").as_deref() == Some("linux")
                && platform(m, "architecture").as_deref() == Some(arch)
        })
        .or_else(|| {
            list.iter()
                .find(|m| platform(m, "os").is_some_and(|os| os != "unknown"))
        })
        .and_then(digest)
}

/// The parameters of a `Bearer` challenge: `Bearer realm="…",service="…",scope="…"`.
fn bearer_params(challenge: &str) -> Option<Vec<(String, String)>> {
    let rest = challenge.trim();
    let (scheme, rest) = rest.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_at(after.find(',').unwrap_or(after.len())),
        };
        params.push((key.trim().to_string(), value.to_string()));
        rest = after.trim_start_matches([',', ' ']);
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_are_read() {
        let params = bearer_params(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        )
        .unwrap();
        assert_eq!(
            params,
            [
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:library/nginx:pull".into()),
            ]
        );
        assert_eq!(bearer_params(r#"Basic realm="x""#), None);
        assert_eq!(
            bearer_params("Bearer realm=https://r/t").unwrap(),
            [("realm".to_string(), "https://r/t".to_string())]
        );
    }

    #[test]
    fn an_index_gives_this_platform() {
        let list: Vec<serde_json::Value> = serde_json::from_str(&format!(
            r#"[
              {{"digest": "sha256:{a}", "platform": {{"os": "unknown", "architecture": "unknown"}}}},
              {{"digest": "sha256:{b}", "platform": {{"os": "linux", "architecture": "s390x"}}}},
              {{"digest": "sha256:{c}", "platform": {{"os": "linux", "architecture": "amd64"}}}}
            ]"#,
            a = "a".repeat(64),
            b = "b".repeat(64),
            c = "c".repeat(64)
        ))
        .unwrap();
        let expected = match std::env::consts::ARCH {
            "x86_64" => format!("sha256:{}", "c".repeat(64)),
            _ => format!("sha256:{}", "b".repeat(64)),
        };
        assert_eq!(pick_platform(&list), Some(expected));
        assert!(is_digest(&format!("sha256:{}", "0".repeat(64))));
        assert!(!is_digest("sha256:xyz"));
    }
}
