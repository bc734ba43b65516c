//! `/api/auth/*`: sign in, sign out, who am I, and the first admin's setup. Each answers
//! JSON to scripts and the hydrated pages, and a redirect to a plain HTML form (pages work
//! without JavaScript). A wrong password and an unknown user get the same 401 in about the
//! same time: an unknown name is checked against a stand-in hash. Bodies are small (16 KiB
//! at most), a name is checked before anything is written, and a try is counted before its
//! password is hashed.

use crate::{
    accounts::{
        MAX_PASSWORD,
        audit::Event,
        password,
        second_factor::{self, Verdict},
        sessions::{self, Caller},
        users, validate_name,
    },
    error::Error,
    http::{
        AppState,
        attempts::Refused,
        extract::Client,
        gate::{Auth, cookie_secret},
        ws::terminal::Terminals,
    },
};
use app::{
    model::{Me, Role},
    urls,
};
use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State, rejection::BytesRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use std::{net::IpAddr, sync::Arc};

/// The largest body sign-in and setup read: a name, a password (1 KiB at most), a path.
pub const MAX_BODY: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/setup", post(setup))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
    /// The second factor's code (or a recovery code), for an account that has one.
    #[serde(default)]
    code: Option<String>,
    /// From the form: where to go afterwards.
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct SetupForm {
    token: String,
    username: String,
    password: String,
}

/// A plain HTML form post (answered with redirects) rather than JSON.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

fn parse<T: for<'de> Deserialize<'de>>(headers: &HeaderMap, body: &Bytes) -> Result<T, Error> {
    if is_form(headers) {
        serde_urlencoded::from_bytes(body).map_err(|e| Error::bad_request(format!("bad form: {e}")))
    } else {
        serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("bad JSON: {e}")))
    }
}

pub(super) fn auth(state: &AppState) -> Result<Arc<Auth>, Error> {
    state.auth.clone().ok_or_else(|| {
        Error::new(
            404,
            "accounts are off (--auth off): there is nothing to sign in to",
        )
    })
}

const WRONG: &str = "wrong user name or password";
const CODE_NEEDED: &str = "this account has a second factor: give the code from its authenticator app (or a recovery code)";
const WRONG_CODE: &str =
    "wrong code: give the newest code from the authenticator app, or an unused recovery code";

/// Why a sign-in is refused: for the audit log, the answer, and whether it was a guess
/// (counted against the sign-in limits) or a right password refused for another reason.
struct Refusal {
    why: Option<&'static str>,
    error: Error,
    guess: bool,
}

impl Refusal {
    fn guess(why: Option<&'static str>, status: u16, message: &'static str) -> Self {
        Self {
            why,
            error: Error::new(status, message),
            guess: true,
        }
    }
}

/// A valid argon2id hash of nothing anyone knows, so an unknown name costs a verification.
static STAND_IN: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password_auth::generate_hash(sessions::new_secret()));

async fn login(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let body = body?;
    let auth = auth(&state)?;
    let form = is_form(&headers);
    let credentials: Credentials = parse(&headers, &body)?;
    let next = urls::safe_next(credentials.next.as_deref()).to_string();
    // Checked before anything is written: the audit log and the server's log only ever see
    // a plain name. No account can have another, so nothing is hashed for it either.
    if let Err(e) = validate_name(&credentials.username) {
        if form {
            return Ok(Redirect::to(&urls::login_failed(&next)).into_response());
        }
        return Err(e);
    }
    if credentials.password.len() > MAX_PASSWORD {
        return Err(Error::bad_request(format!(
            "a password is at most {MAX_PASSWORD} bytes"
        )));
    }
    let attempt = match auth.attempts.begin(ip) {
        Ok(attempt) => attempt,
        Err(wait) => {
            audit_refusal(&state, &auth, ip, &credentials.username).await;
            let secs = wait.as_secs().max(1);
            if form {
                return Ok(Redirect::to(&urls::login_waiting(&next)).into_response());
            }
            let mut response = Error::new(
                429,
                format!("too many failed sign-ins: try again in {secs} s"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
            return Ok(response);
        }
    };
    let stored = users::credentials(&auth.store, &credentials.username).await?;
    let (hash, role) = match stored {
        Some((hash, role)) => (hash, Some(role)),
        None => (STAND_IN.clone(), None),
    };
    let matches = password::verify(credentials.password, hash).await && role.is_some();
    let mut refused = match role {
        _ if !matches => Some(Refusal::guess(None, 401, WRONG)),
        // `--local-login`: a right password is no guess, but not a way in for this user.
        Some(role) if !auth.local_login.allows(role) => Some(Refusal {
            why: Some("local sign-in is not allowed for this user (--local-login)"),
            error: Error::new(
                403,
                "signing in with a password is not allowed for this user here \
                 (--local-login): sign in through your identity provider",
            ),
            guess: false,
        }),
        _ => None,
    };
    if refused.is_none() {
        // A second factor: its codes are limited as passwords are (a wrong one counts).
        let sealer = state.logins.sealer();
        let code = credentials.code.as_deref();
        refused =
            match second_factor::verify(&auth.store, &sealer, &credentials.username, code).await? {
                Verdict::NotSetUp | Verdict::Accepted => None,
                Verdict::Missing => Some(Refusal::guess(Some("no code given"), 401, CODE_NEEDED)),
                Verdict::Refused => Some(Refusal::guess(Some("a wrong code"), 401, WRONG_CODE)),
                Verdict::Locked { secs } => Some(Refusal {
                    why: Some("too many wrong codes for this account"),
                    error: Error::new(
                        429,
                        format!(
                            "too many wrong codes for this account: try again in {} min, or \
                             ask an admin to reset its second factor",
                            secs.div_ceil(60)
                        ),
                    ),
                    guess: true,
                }),
            };
    }
    if let Some(Refusal { why, error, guess }) = refused {
        match guess {
            // The try stays counted.
            true => drop(attempt),
            false => auth.attempts.succeeded(attempt),
        }
        tracing::info!(%ip, user = %credentials.username, "sign-in failed");
        auth.audit
            .record(Event {
                actor: &credentials.username,
                action: "sign-in",
                target: why,
                address: Some(ip),
                ok: false,
            })
            .await;
        if form {
            let to = match (matches, guess) {
                // The password was right: the code is what is asked again.
                (true, true) => urls::login_code(&next),
                _ => urls::login_failed(&next),
            };
            return Ok(Redirect::to(&to).into_response());
        }
        return Err(error);
    }
    auth.attempts.succeeded(attempt);
    let arrived = Arrived {
        name: &credentials.username,
        id_token: None,
        ip,
        https,
    };
    begin_session(
        &state,
        &auth,
        &headers,
        arrived,
        form.then_some(next.as_str()),
    )
    .await
}

/// Who signed in, and how: with a password, or through the OpenID provider (its ID token).
pub(super) struct Arrived<'a> {
    pub name: &'a str,
    pub id_token: Option<&'a str>,
    pub ip: IpAddr,
    pub https: bool,
}

/// A new session for someone who just signed in: a fresh id every time (the one the
/// browser had, if any, ends with its sockets), in the audit log, and the answer that sets
/// its cookie ([`signed_in`]).
pub(super) async fn begin_session(
    state: &AppState,
    auth: &Auth,
    headers: &HeaderMap,
    who: Arrived<'_>,
    to: Option<&str>,
) -> Result<Response, Error> {
    if let Some(old) = cookie_secret(headers, auth.secure_cookies || who.https) {
        sessions::delete(&auth.store, &old).await?;
        state
            .sockets
            .owners
            .end_session(&sessions::digest(&old), "signed in again: reload");
    }
    let secret = match who.id_token {
        Some(id_token) => sessions::create_signed_on(&auth.store, who.name, id_token).await?,
        None => sessions::create(&auth.store, who.name).await?,
    };
    let how = who.id_token.map(|_| "oidc");
    tracing::info!(ip = %who.ip, user = %who.name, via = how.unwrap_or("password"), "signed in");
    auth.audit
        .record(Event {
            actor: who.name,
            action: "sign-in",
            target: how,
            address: Some(who.ip),
            ok: true,
        })
        .await;
    Ok(signed_in(auth, &secret, to, who.https))
}

/// A refused try, in the audit log: the first of a burst from an address is an entry of
/// its own, the rest of the burst only its count (rewritten at most once a second).
async fn audit_refusal(state: &AppState, auth: &Arc<Auth>, ip: IpAddr, name: &str) {
    match auth.attempts.refused(ip) {
        Refused::First => {
            tracing::warn!(%ip, user = %name, "sign-in refused: too many failures");
            let entry = auth
                .audit
                .record(Event {
                    actor: name,
                    action: "sign-in.refused",
                    target: Some(&refused_target(1)),
                    address: Some(ip),
                    ok: false,
                })
                .await;
            if let Some(entry) = entry {
                auth.attempts.written(ip, entry);
            }
        }
        Refused::Recount { entry, count } => {
            auth.audit.retarget(&entry, &refused_target(count)).await;
        }
        Refused::Later(after) => {
            // The entry says the whole burst even if nothing follows; one such task per
            // burst at a time, each a second at most.
            // Tracked: shutdown waits for it (a second at most) or ends it.
            let (auth, shutdown) = (auth.clone(), state.sockets.shutdown.clone());
            state.tasks().spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(after) => {}
                    () = shutdown.cancelled() => {}
                }
                if let Some((entry, count)) = auth.attempts.recount(ip) {
                    auth.audit.retarget(&entry, &refused_target(count)).await;
                }
            });
        }
        Refused::Counted => {}
    }
}

fn refused_target(count: u64) -> String {
    match count {
        1 => "too many failures: 1 try refused".to_string(),
        n => format!("too many failures: {n} tries refused"),
    }
}

/// The answer that starts a session: 204 to a script, a redirect to `to` for a form, with
/// the cookie either way.
pub(super) fn signed_in(auth: &Auth, secret: &str, to: Option<&str>, https: bool) -> Response {
    let mut response = match to {
        Some(to) => Redirect::to(to).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.cookie(Some(secret), https));
    response
}

async fn logout(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let auth = auth(&state)?;
    if let Some(Extension(caller)) = &caller {
        auth.audit
            .record(Event {
                actor: &caller.name,
                action: "sign-out",
                target: None,
                address: Some(ip),
                ok: true,
            })
            .await;
    }
    // A proxy's user: their sockets end here; the proxy's own session, at its sign-out.
    let proxied = caller
        .as_ref()
        .filter(|Extension(c)| c.is_proxied())
        .and_then(|Extension(c)| c.session.as_deref());
    if let Some(owner) = proxied {
        state.sockets.owners.end_session(owner, "signed out");
    }
    // A session the provider opened: its sign-out ends the provider's session too (asked
    // once Berth's own has ended: the provider may be slow to answer).
    let mut id_token = None;
    if let Some(secret) = cookie_secret(&headers, auth.secure_cookies || https) {
        id_token = sessions::id_token(&auth.store, &secret).await?;
        sessions::delete(&auth.store, &secret).await?;
        // Its sockets end now, not when their pages go away.
        state
            .sockets
            .owners
            .end_session(&sessions::digest(&secret), "signed out");
    }
    let provider_logout = match (&auth.oidc, id_token) {
        (Some(oidc), Some(id_token)) => oidc.logout_url(&id_token).await,
        _ => None,
    };
    let proxy_logout = auth
        .proxy
        .as_ref()
        .and_then(|proxy| proxy.logout_url.as_deref());
    // With `--oidc-auto-redirect`, the sign-in page would sign a provider's user straight
    // back in: they land on Berth's own form instead.
    let signed_out = match auth.oidc.as_ref().is_some_and(|o| o.auto_redirect()) {
        true => format!("{}?local", urls::LOGIN),
        false => urls::login(None),
    };
    let mut response = if is_form(&headers) {
        match (proxy_logout.filter(|_| proxied.is_some()), provider_logout) {
            (Some(to), _) => Redirect::to(to).into_response(),
            (None, Some(to)) => Redirect::to(&to).into_response(),
            (None, None) => Redirect::to(&signed_out).into_response(),
        }
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    response
        .headers_mut()
        .insert(header::SET_COOKIE, auth.cookie(None, https));
    Ok(response)
}

/// The signed-in user; with accounts off, everyone may do everything.
async fn me(State(state): State<AppState>, caller: Option<Extension<Caller>>) -> Json<Me> {
    Json(me_of(
        state.auth.as_deref(),
        caller.map(|Extension(c)| c),
        &state.sockets.terminals,
    ))
}

/// What `/api/auth/me` and the pages say of a caller (`auth`: `None` with accounts off).
pub fn me_of(auth: Option<&Auth>, caller: Option<Caller>, terminals: &Terminals) -> Me {
    let accounts = auth.is_some();
    let single_sign_on = auth
        .and_then(|auth| auth.oidc.as_ref())
        .map(|oidc| oidc.name().to_string());
    match caller {
        Some(caller) if accounts => Me {
            name: Some(caller.name),
            role: caller.role,
            accounts,
            terminal: terminals.allows(Some(caller.role)),
            single_sign_on,
        },
        // Signed out (only the open pages render then), or accounts off.
        _ => Me {
            name: None,
            role: if accounts { Role::Viewer } else { Role::Admin },
            accounts,
            terminal: !accounts && terminals.allows(None),
            single_sign_on,
        },
    }
}

/// The first admin, with the one-time token Berth logged at start (good for an hour); only
/// while nobody has an account, which the store checks in the statement that adds it.
async fn setup(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let body = body?;
    let form = is_form(&headers);
    let answer = create_first_admin(&state, &headers, &body, https, ip).await;
    match answer {
        Ok(response) => Ok(response),
        // The form shows what went wrong on the page it came from.
        Err(e) if form => {
            let token = serde_urlencoded::from_bytes::<SetupForm>(&body)
                .map(|f| f.token)
                .unwrap_or_default();
            Ok(Redirect::to(&urls::setup_failed(&token, &e.to_string())).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn create_first_admin(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    https: bool,
    ip: IpAddr,
) -> Result<Response, Error> {
    let auth = auth(state)?;
    let form: SetupForm = parse(headers, body)?;
    // Said first so that a finished setup reads as finished; the insert below is what
    // decides (a user added between this count and it still ends setup there).
    if users::count(&auth.store).await? > 0 {
        auth.end_setup();
        return Err(Error::not_found(
            "setup is over: an account exists; sign in",
        ));
    }
    if !auth.setup_token_matches(&form.token) {
        return Err(Error::new(
            403,
            "wrong setup token, or the link expired (an hour after Berth printed it): restart Berth \
             for a new one, or add the first admin with `berth user add NAME --role admin`",
        ));
    }
    users::add_first_admin(&auth.store, &form.username, form.password).await?;
    auth.end_setup();
    tracing::info!(user = %form.username, %ip, "first admin created through /setup");
    auth.audit
        .record(Event {
            actor: &form.username,
            action: "setup",
            target: Some(&form.username),
            address: Some(ip),
            ok: true,
        })
        .await;
    let secret = sessions::create(&auth.store, &form.username).await?;
    Ok(signed_in(
        &auth,
        &secret,
        is_form(headers).then_some("/"),
        https,
    ))
}
