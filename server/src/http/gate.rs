//! Who is asking: [`authenticate`] finds the caller of every request (a live session
//! cookie or an API token, `Authorization: Bearer`) and hands it to what follows; whether
//! the caller may use what it asks for is [`crate::http::doors`]' decision, from the route the
//! router matched. [`same_origin`] refuses state-changing requests a browser sends from
//! another site (CSRF). With `--auth off` nobody is looked up, and the doors are open.

use super::attempts::Attempts;
use crate::accounts::{
    audit::Audit,
    forward::ForwardAuth,
    groups::GroupRoles,
    identities,
    oidc::Oidc,
    policy::LocalLogin,
    sessions::{self, COOKIE, Policy},
    tokens, users,
};
use crate::{error::Error, http::AppState, store::Store};
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// The session cookie's name over https: the browser keeps a `__Host-` cookie only when it
/// is Secure, for this host alone (no Domain) and the whole site (Path=/).
pub const HOST_COOKIE: &str = "__Host-berth_session";

/// How long the first admin's setup link works.
pub const SETUP_LIFETIME: Duration = Duration::from_secs(3600);

/// The one-time token `/setup` accepts while nobody has an account.
struct SetupToken {
    secret: String,
    expires: Instant,
}

/// Everything sign-in needs; absent with `--auth off`.
pub struct Auth {
    pub store: Store,
    pub policy: Policy,
    /// Cookies carry `Secure` when Berth is reached over https (`--public-url`).
    pub secure_cookies: bool,
    /// `/metrics` without a session (for a scraper on a trusted network).
    pub metrics_open: bool,
    /// While nobody has an account: the one-time token `/setup` accepts, until it expires.
    setup_token: Mutex<Option<SetupToken>>,
    pub attempts: Attempts,
    pub audit: Audit,
    /// `--auth proxy`: the proxy's headers, and whom to believe.
    pub proxy: Option<ForwardAuth>,
    /// Which local accounts may sign in with a password.
    pub local_login: LocalLogin,
    /// `--oidc-issuer`: single sign-on, and the roles its groups give.
    pub oidc: Option<Oidc>,
    pub group_roles: GroupRoles,
}

impl Auth {
    /// As `--auth on` (or `proxy`) and the settings make it, over `store`.
    pub fn configured(settings: &crate::http::Settings, store: Store) -> Self {
        let (accounts, identity) = (&settings.accounts, &settings.identity);
        let mut auth = Self::new(
            store.clone(),
            accounts.session_policy(),
            accounts.https(),
            accounts.metrics_open,
            Audit::new(store, accounts.audit_keep()),
        );
        auth.proxy = identity.forward_auth(accounts.auth, &settings.serve.trusted_proxies);
        auth.local_login = identity.local_login;
        auth.oidc = identity.single_sign_on(accounts.public_url.as_deref());
        auth.group_roles = identity.group_roles();
        auth
    }

    pub fn new(
        store: Store,
        policy: Policy,
        secure_cookies: bool,
        metrics_open: bool,
        audit: Audit,
    ) -> Self {
        Self {
            store,
            policy,
            secure_cookies,
            metrics_open,
            setup_token: Mutex::new(None),
            attempts: Attempts::default(),
            audit,
            proxy: None,
            local_login: LocalLogin::All,
            oidc: None,
            group_roles: GroupRoles::default(),
        }
    }

    /// The origins signing out may send a browser on to: the OpenID provider's, and
    /// `--proxy-logout-url`'s (as the pages' `form-action`).
    pub fn sign_out_origins(&self) -> String {
        let proxy = self.proxy.as_ref().and_then(|p| p.logout_url.clone());
        // The provider's logout, once discovered; its issuer's origin before.
        let provider = self.oidc.as_ref().map(|oidc| {
            oidc.logout_origin()
                .unwrap_or_else(|| oidc.issuer().to_string())
        });
        let urls: Vec<String> = proxy.into_iter().chain(provider).collect();
        super::security_headers::origins(urls.iter().map(String::as_str))
    }

    /// Whether `token` is the setup token, and it has not expired.
    pub fn setup_token_matches(&self, token: &str) -> bool {
        let held = self.setup_token.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref().is_some_and(|held| {
            Instant::now() < held.expires
                && constant_time_eq(token.as_bytes(), held.secret.as_bytes())
        })
    }

    /// Setup is over (an account exists): the token works no more.
    pub fn end_setup(&self) {
        *self.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// While nobody has an account: a fresh one-time token for `/setup` (Berth logs the
    /// link), good for [`SETUP_LIFETIME`]. None once someone has.
    pub async fn offer_setup(&self) -> Result<Option<String>, Error> {
        self.offer_setup_for(SETUP_LIFETIME).await
    }

    /// [`Auth::offer_setup`] with a token good for `lifetime` (the tests' short one).
    pub async fn offer_setup_for(&self, lifetime: Duration) -> Result<Option<String>, Error> {
        if users::count(&self.store).await? > 0 {
            return Ok(None);
        }
        let secret = sessions::new_secret();
        *self.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = Some(SetupToken {
            secret: secret.clone(),
            expires: Instant::now() + lifetime,
        });
        Ok(Some(secret))
    }

    /// The cookie that carries `secret`; `None` clears it. `https`: the browser reached
    /// Berth over https (a trusted proxy said so), which marks it Secure like an https
    /// `--public-url` does, and names it `__Host-…`.
    pub fn cookie(&self, secret: Option<&str>, https: bool) -> HeaderValue {
        SESSION.header(secret, self.policy.lifetime, self.secure_cookies || https)
    }
}

/// One of Berth's cookies by its two names: plain, and `__Host-…` when it is Secure.
pub struct CookieName {
    pub plain: &'static str,
    pub host: &'static str,
}

/// The session's cookie.
pub const SESSION: CookieName = CookieName {
    plain: COOKIE,
    host: HOST_COOKIE,
};

impl CookieName {
    /// `Set-Cookie` for `secret` (hex) good for `lifetime`; `None` clears it. HttpOnly,
    /// for the whole site, and Lax: sent with a top-level GET from another site (a link,
    /// an identity provider's redirect), never with its other requests.
    pub fn header(&self, secret: Option<&str>, lifetime: Duration, secure: bool) -> HeaderValue {
        let (value, age) = match secret {
            Some(secret) => (secret, lifetime.as_secs()),
            None => ("", 0),
        };
        let (name, secure) = match secure {
            true => (self.host, "; Secure"),
            false => (self.plain, ""),
        };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}"
        ))
        .expect("hex and ASCII only")
    }

    /// The value a request's cookies carry: the `__Host-` one first, and only it when
    /// Berth is served over https (`https_only`): a plain one there can only have been
    /// planted by another origin of the host (another port, a sibling name).
    pub fn read(&self, headers: &HeaderMap, https_only: bool) -> Option<String> {
        let named = |wanted: &str| {
            headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|pair| pair.trim().split_once('='))
                .find(|(name, value)| *name == wanted && !value.is_empty())
                .map(|(_, value)| value.to_string())
        };
        match https_only {
            true => named(self.host),
            false => named(self.host).or_else(|| named(self.plain)),
        }
    }
}

/// Equal bytes, in a time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session secret a request's cookies carry ([`CookieName::read`]: a plain
/// `berth_session` over https could sign the browser in as someone else).
pub fn cookie_secret(headers: &HeaderMap, https_only: bool) -> Option<String> {
    SESSION.read(headers, https_only)
}

/// Whether the browser used https, as a `--trusted-proxy` peer says in
/// `X-Forwarded-Proto` (anyone else's word for it is ignored).
pub fn forwarded_https(
    headers: &HeaderMap,
    peer: std::net::IpAddr,
    trusted: &[std::net::IpAddr],
) -> bool {
    crate::client_addr::is_trusted(peer, trusted)
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

/// Finds who is asking and hands the caller ([`sessions::Caller`]) to what follows; refuses
/// nothing itself (the doors do), but a store that cannot answer (503).
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(auth) = state.auth.clone() else {
        return next.run(request).await;
    };
    let secret = cookie_secret(request.headers(), auth.secure_cookies);
    let token = bearer(request.headers());
    let found = match token {
        Some(token) => tokens::find(&auth.store, &token).await,
        // The proxy's word goes before a session cookie: it is who signed in there now.
        None => match from_proxy(&auth, request.headers(), peer(&request)).await {
            Err(e) => return e.into_response(),
            Ok(Some(caller)) => Ok(Some(caller)),
            Ok(None) => match secret {
                Some(secret) => sessions::find(&auth.store, &secret, auth.policy).await,
                None => Ok(None),
            },
        },
    };
    match found {
        Ok(Some(caller)) => {
            request.extensions_mut().insert(caller);
        }
        Ok(None) => {}
        Err(e) => return e.into_response(),
    }
    next.run(request).await
}

/// The address the request's connection comes from (none in a request built by a test).
fn peer(request: &Request) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

/// With `--auth proxy`, the user a trusted proxy names in `headers` (made or brought up to
/// date, and audited when that changed anything); `None` without a proxy's word.
async fn from_proxy(
    auth: &Auth,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Option<sessions::Caller>, Error> {
    let (Some(proxy), Some(peer)) = (&auth.proxy, peer) else {
        return Ok(None);
    };
    let Some(arrival) = proxy.arrival(&auth.store, headers, peer).await? else {
        return Ok(None);
    };
    let caller = arrival.caller;
    identities::audit_change(&auth.audit, "proxy", &arrival.signed, caller.role, peer).await;
    Ok(Some(caller))
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
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; berth_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_secret(&headers, false).as_deref(), Some("abc"));
        assert_eq!(
            cookie_secret(&headers, true),
            None,
            "over https, __Host- only"
        );
        headers.insert(header::COOKIE, "berth_session=".parse().unwrap());
        assert_eq!(cookie_secret(&headers, false), None);
        headers.insert(
            header::COOKIE,
            "berth_session=planted; x=1; __Host-berth_session=def"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie_secret(&headers, false).as_deref(), Some("def"));
        assert_eq!(cookie_secret(&headers, true).as_deref(), Some("def"));
    }
}
