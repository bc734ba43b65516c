//! `/api/auth/oidc/*`: single sign-on. `start` sends the browser to the provider with a new
//! sign-in under way (its secret in a short-lived cookie of its own); `callback` is where
//! the provider sends it back: the sign-in is taken (once), its `state` compared, the code
//! exchanged and the ID token verified ([`crate::accounts::oidc`]), the user signed in as
//! their groups say now, and a session begun. A browser that fails is sent to the sign-in
//! page with the reason; a script gets the status and JSON error.

use super::signin::{auth, signed_in};
use crate::{
    accounts::{
        audit::Event,
        identities::{self, Outside},
        oidc::flows,
        sessions,
    },
    error::Error,
    http::{
        AppState,
        extract::{AppQuery, Client},
        gate::{Auth, CookieName, constant_time_eq, cookie_secret},
    },
};
use app::urls;
use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use std::net::IpAddr;

/// The cookie of a sign-in under way (`__Host-` over https, as the session's).
const FLOW: CookieName = CookieName {
    plain: "berth_oidc",
    host: "__Host-berth_oidc",
};

/// The longest error text from the provider repeated to the user.
const MAX_PROVIDER_ERROR: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oidc/start", get(start))
        .route("/oidc/callback", get(callback))
}

#[derive(Deserialize)]
struct Start {
    next: Option<String>,
}

/// 303 to the provider, with the sign-in's cookie; 404 without `--oidc-issuer`, 502 when
/// the provider cannot be asked.
async fn start(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    AppQuery(query): AppQuery<Start>,
) -> Result<Response, Error> {
    let auth = auth(&state)?;
    let oidc = auth
        .oidc
        .as_ref()
        .ok_or_else(|| Error::not_found("single sign-on is not set up (--oidc-issuer)"))?;
    let next = urls::safe_next(query.next.as_deref());
    let (to, flow) = oidc.start(next).await?;
    let secret = flows::begin(&auth.store, &flow, ip).await?;
    let mut response = Redirect::to(&to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        FLOW.header(Some(&secret), flows::LIFETIME, auth.secure_cookies || https),
    );
    Ok(response)
}

/// The provider's answer: a code and the state, or an error.
#[derive(Deserialize)]
struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    headers: HeaderMap,
    AppQuery(answer): AppQuery<Answer>,
) -> Result<Response, Error> {
    let auth = auth(&state)?;
    let finished = finish(&state, &auth, ip, https, &headers, answer).await;
    let mut response = match finished {
        Ok(response) => response,
        Err(e) => {
            tracing::info!(%ip, "single sign-on failed: {e}");
            auth.audit
                .record(Event {
                    actor: "oidc",
                    action: "sign-in",
                    target: Some(&e.to_string()),
                    address: Some(ip),
                    ok: false,
                })
                .await;
            match wants_page(&headers) {
                true => Redirect::to(&urls::login_sso_failed(&e.to_string())).into_response(),
                false => e.into_response(),
            }
        }
    };
    // The sign-in under way is over, whatever became of it.
    response.headers_mut().append(
        header::SET_COOKIE,
        FLOW.header(None, flows::LIFETIME, auth.secure_cookies || https),
    );
    Ok(response)
}

async fn finish(
    state: &AppState,
    auth: &Auth,
    ip: IpAddr,
    https: bool,
    headers: &HeaderMap,
    answer: Answer,
) -> Result<Response, Error> {
    let oidc = auth
        .oidc
        .as_ref()
        .ok_or_else(|| Error::not_found("single sign-on is not set up (--oidc-issuer)"))?;
    let none_under_way = || {
        Error::bad_request(
            "no sign-in is under way in this browser (it began elsewhere, was finished \
             already, or began over 10 minutes ago): sign in again",
        )
    };
    let secret = FLOW
        .read(headers, auth.secure_cookies || https)
        .ok_or_else(none_under_way)?;
    let flow = flows::take(&auth.store, &secret)
        .await?
        .ok_or_else(none_under_way)?;
    if let Some(error) = answer.error {
        let said = match answer.error_description {
            Some(description) => format!("{error}: {description}"),
            None => error,
        };
        let said: String = said
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_PROVIDER_ERROR)
            .collect();
        return Err(Error::new(
            401,
            format!("the identity provider did not sign you in ({said})"),
        ));
    }
    let (Some(code), Some(returned)) = (answer.code, answer.state) else {
        return Err(Error::bad_request(
            "the identity provider's answer has no code or no state",
        ));
    };
    // The state binds the answer to this browser's sign-in: another one's code (a forged
    // or replayed answer) is refused before the code is ever sent to the provider.
    if !constant_time_eq(returned.as_bytes(), flow.state.as_bytes()) {
        return Err(Error::bad_request(
            "the answer is not for this browser's sign-in (its state differs): sign in again",
        ));
    }
    let verified = oidc.finish(&flow, &code).await?;
    let Some(role) = auth.group_roles.role(&verified.groups) else {
        return Err(Error::new(
            403,
            format!(
                "{:?} may not use Berth: none of their groups is given a role (--group-role) \
                 and --default-role is refused",
                verified.name_hint
            ),
        ));
    };
    let signed = identities::sign_in(
        &auth.store,
        &Outside {
            provider: "oidc",
            subject: &verified.subject,
            name_hint: &verified.name_hint,
            email: verified.email.as_deref(),
            role,
        },
    )
    .await?;
    identities::audit_change(&auth.audit, "oidc", &signed, role, ip).await;
    // A fresh session id at every sign-in; the one the browser had (if any) ends.
    if let Some(old) = cookie_secret(headers, auth.secure_cookies || https) {
        sessions::delete(&auth.store, &old).await?;
        state
            .sockets
            .owners
            .end_session(&sessions::digest(&old), "signed in again: reload");
    }
    let session = sessions::create_signed_on(&auth.store, &signed.name, &verified.id_token).await?;
    tracing::info!(%ip, user = %signed.name, "signed in through the identity provider");
    auth.audit
        .record(Event {
            actor: &signed.name,
            action: "sign-in",
            target: Some("oidc"),
            address: Some(ip),
            ok: true,
        })
        .await;
    Ok(signed_in(auth, &session, Some(&flow.next), https))
}

/// A browser's navigation (it is shown a page), not a script's request.
fn wants_page(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// With `--oidc-auto-redirect`, `GET /login` goes to the provider; `/login?local` (and a
/// sign-in page that has an error to show) stays Berth's own.
pub async fn auto_redirect(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let auto = state
        .auth
        .as_ref()
        .and_then(|auth| auth.oidc.as_ref())
        .is_some_and(|oidc| oidc.auto_redirect());
    if !auto || request.method() != Method::GET || request.uri().path() != urls::LOGIN {
        return next.run(request).await;
    }
    let query = request.uri().query().unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    if pairs
        .iter()
        .any(|(name, _)| name == "local" || name == "error")
    {
        return next.run(request).await;
    }
    let next_page = pairs
        .iter()
        .find(|(name, _)| name == "next")
        .map_or("/", |(_, value)| value.as_str());
    Redirect::to(&urls::oidc_start(next_page)).into_response()
}
