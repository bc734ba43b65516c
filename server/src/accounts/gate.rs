//! The doors: [`gate`] lets a request through only with a live session or API token
//! (`Authorization: Bearer`); without one, pages redirect to `/login`, and API, sockets and
//! metrics answer 401 JSON before any work or upgrade. It hands the caller to the handler.
//! [`same_origin`] refuses state-changing requests a browser sends from another site
//! (CSRF). With `--auth off` the gate is open, as before accounts.

use super::{
    attempts::Attempts,
    audit::Audit,
    sessions::{self, COOKIE, Policy},
    tokens,
};
use crate::{AppState, error::Error, store::Store};
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use std::sync::Mutex;

/// Everything sign-in needs; absent with `--auth off`.
pub struct Auth {
    pub store: Store,
    pub policy: Policy,
    /// Cookies carry `Secure` when Berth is reached over https (`--public-url`).
    pub secure_cookies: bool,
    /// `/metrics` without a session (for a scraper on a trusted network).
    pub metrics_open: bool,
    /// While nobody has an account: the one-time token `/setup` accepts.
    pub setup_token: Mutex<Option<String>>,
    pub attempts: Attempts,
    pub audit: Audit,
}

impl Auth {
    pub fn setup_token(&self) -> Option<String> {
        self.setup_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// While nobody has an account: a fresh one-time token for `/setup` (Berth logs the
    /// link). None once someone has.
    pub async fn offer_setup(&self) -> Result<Option<String>, Error> {
        if super::users::count(&self.store).await? > 0 {
            return Ok(None);
        }
        let token = sessions::new_secret();
        *self.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        Ok(Some(token))
    }

    /// The cookie that carries `secret`; `None` clears it. `https`: the browser reached
    /// Berth over https (a trusted proxy said so), which marks it Secure like an https
    /// `--public-url` does.
    pub fn cookie(&self, secret: Option<&str>, https: bool) -> HeaderValue {
        let (value, age) = match secret {
            Some(secret) => (secret, self.policy.lifetime.as_secs()),
            None => ("", 0),
        };
        let secure = if self.secure_cookies || https {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}"
        ))
        .expect("hex and ASCII only")
    }
}

/// The session secret a request's cookies carry.
pub fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// Whether the browser used https, as a `--trusted-proxy` peer says in
/// `X-Forwarded-Proto` (anyone else's word for it is ignored).
pub fn forwarded_https(
    headers: &HeaderMap,
    peer: std::net::IpAddr,
    trusted: &[std::net::IpAddr],
) -> bool {
    trusted.contains(&crate::client_addr::normalize(peer))
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
}

/// What a path needs.
#[derive(Debug, PartialEq, Eq)]
enum Door {
    /// The compiled site's files: the same for everyone, no caller looked up.
    Static,
    /// Sign-in itself and health: open, though a caller is still recognised.
    Open,
    /// A page: without a session, off to `/login`.
    Page,
    /// API, sockets, metrics: without a session, 401.
    Api,
}

fn door(path: &str, metrics_open: bool) -> Door {
    match path {
        "/login" | "/setup" | "/api/health" => Door::Open,
        "/api/auth/login" | "/api/auth/logout" | "/api/auth/setup" => Door::Open,
        "/metrics" if metrics_open => Door::Open,
        "/metrics" => Door::Api,
        _ if path.starts_with("/api/") || path.starts_with("/ws/") => Door::Api,
        _ if path.starts_with("/pkg/") => Door::Static,
        // A file name (`/favicon.ico`): static, the same for everyone.
        _ if path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.')) =>
        {
            Door::Static
        }
        _ => Door::Page,
    }
}

pub async fn gate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(auth) = state.auth.clone() else {
        return next.run(request).await;
    };
    let door = door(request.uri().path(), auth.metrics_open);
    if door == Door::Static {
        return next.run(request).await;
    }
    let found = match (bearer(request.headers()), cookie_secret(request.headers())) {
        (Some(token), _) => tokens::find(&auth.store, &token).await,
        (None, Some(secret)) => sessions::find(&auth.store, &secret, auth.policy).await,
        (None, None) => Ok(None),
    };
    let caller = match found {
        Ok(caller) => caller,
        Err(e) => return e.into_response(),
    };
    match (caller, door) {
        (Some(caller), _) => {
            request.extensions_mut().insert(caller);
        }
        (None, Door::Open | Door::Static) => {}
        (None, Door::Page) => {
            let target = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string();
            return Redirect::to(&app::urls::login(Some(&target))).into_response();
        }
        (None, Door::Api) => {
            return Error::new(401, "sign in first: no valid session").into_response();
        }
    }
    next.run(request).await
}

/// Refuses POST, PUT, PATCH and DELETE a browser sends from another site: the browser says
/// so in `Sec-Fetch-Site`, or (older browsers) its `Origin` is not one of Berth's own.
/// Requests with a bearer token are not a browser's and are exempt.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let headers = request.headers();
    if unsafe_method && bearer(headers).is_none() {
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let refused = match site {
            Some("same-origin" | "none") => false,
            Some(_) => true,
            None => state.hosts.check_origin(headers).is_err(),
        };
        if refused {
            return Error::new(
                403,
                "cross-site request refused: state changes must come from Berth's own pages",
            )
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doors() {
        for open in ["/login", "/setup", "/api/health", "/api/auth/login"] {
            assert_eq!(door(open, false), Door::Open, "{open}");
        }
        for file in ["/pkg/berth.js", "/favicon.ico"] {
            assert_eq!(door(file, false), Door::Static, "{file}");
        }
        for page in ["/", "/containers", "/containers/abc", "/projects/x"] {
            assert_eq!(door(page, false), Door::Page, "{page}");
        }
        for api in [
            "/api/containers",
            "/api/auth/me",
            "/ws/system/stats",
            "/metrics",
        ] {
            assert_eq!(door(api, false), Door::Api, "{api}");
        }
        assert_eq!(door("/metrics", true), Door::Open);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; berth_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_secret(&headers).as_deref(), Some("abc"));
        headers.insert(header::COOKIE, "berth_session=".parse().unwrap());
        assert_eq!(cookie_secret(&headers), None);
    }
}
