//! `/api/auth/oidc/*`: single sign-on. `start` sends the browser to the provider with a new
//! sign-in under way (its secret in a short-lived cookie of its own); `callback` is where
//! the provider sends it back: the sign-in is taken (once), its `state` compared, the code
//! exchanged and the ID token verified ([`crate::accounts::oidc`]), the user signed in as
//! their groups say now, and a session begun. A browser that fails is sent to the sign-in
//! page with the reason; a script gets the status and JSON error.

use super::signin::{Arrived, auth, begin_session};
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
        gate::{Auth, CookieName, constant_time_eq},
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

fn not_set_up() -> Error {
    Error::not_found("single sign-on is not set up (--oidc-issuer)")
}

/// 303 to the provider, with the sign-in's cookie; 404 without `--oidc-issuer`, 429 or 503
/// when too many sign-ins are under way, 502 when the provider cannot be asked. A browser
/// is sent to the sign-in page instead, saying which.
async fn start(
    State(state): State<AppState>,
    Client { ip, https }: Client,
    headers: HeaderMap,
    AppQuery(query): AppQuery<Start>,
) -> Result<Response, Error> {
    let auth = auth(&state)?;
    let secure = auth.secure_cookies || https;
    let begun = async {
        let oidc = auth.oidc.as_ref().ok_or_else(not_set_up)?;
        // A sign-in this browser began before is replaced, not kept beside the new one.
        if let Some(earlier) = FLOW.read(&headers, secure) {
            flows::take(&auth.store, &earlier).await?;
        }
        let next = urls::safe_next(query.next.as_deref());
        let (to, flow) = oidc.start(next).await?;
        let secret = flows::begin(&auth.store, &flow, ip).await?;
        Ok::<_, Error>((to, secret))
    };
    match begun.await {
        Ok((to, secret)) => {
            let mut response = Redirect::to(&to).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                FLOW.header(Some(&secret), flows::LIFETIME, secure),
            );
            Ok(response)
        }
        Err(e) if wants_page(&headers) => {
            tracing::info!(%ip, "single sign-on could not begin: {e}");
            Ok(Redirect::to(&urls::login_sso_failed(reason(&e))).into_response())
        }
        Err(e) => Err(e),
    }
}

/// What the sign-in page says of a failure (a word it has a sentence for: the details stay
/// in Berth's log and the audit log, so a link cannot put words on Berth's page).
fn reason(error: &Error) -> &'static str {
    match error.status() {
        400 => "again",
        403 => "refused",
        401 => "provider",
        429 | 503 => "busy",
        _ => "down",
    }
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
    let secure = auth.secure_cookies || https;
    // Only an answer to a sign-in under way here is worth a line in the audit log: anyone
    // can call this without one, as often as they like.
    let flow = match FLOW.read(&headers, secure) {
        Some(secret) => flows::take(&auth.store, &secret).await?,
        None => None,
    };
    let under_way = flow.is_some();
    let finished = match flow {
        Some(flow) => finish(&state, &auth, ip, https, &headers, flow, answer).await,
        None => Err(Error::bad_request(
            "no sign-in is under way in this browser (it began elsewhere, was finished \
             already, or began over 10 minutes ago): sign in again",
        )),
    };
    let mut response = match finished {
        Ok(response) => response,
        Err(e) => {
            tracing::info!(%ip, "single sign-on failed: {e}");
            if under_way {
                auth.audit
                    .record(Event {
                        actor: "oidc",
                        action: "sign-in",
                        target: Some(&e.to_string()),
                        address: Some(ip),
                        ok: false,
                    })
                    .await;
            }
            match wants_page(&headers) {
                true => Redirect::to(&urls::login_sso_failed(reason(&e))).into_response(),
                false => e.into_response(),
            }
        }
    };
    // The sign-in under way is over, whatever became of it.
    response.headers_mut().append(
        header::SET_COOKIE,
        FLOW.header(None, flows::LIFETIME, secure),
    );
    Ok(response)
}

/// The provider's `answer` to `flow` (taken already: it is finished at most once).
async fn finish(
    state: &AppState,
    auth: &Auth,
    ip: IpAddr,
    https: bool,
    headers: &HeaderMap,
    flow: flows::Flow,
    answer: Answer,
) -> Result<Response, Error> {
    let oidc = auth.oidc.as_ref().ok_or_else(not_set_up)?;
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
        // Taken out of every mapped group: a user they had keeps no session either.
        if let Some(name) = identities::user_of(&auth.store, "oidc", &verified.subject).await? {
            sessions::delete_for_user(&auth.store, &name).await?;
            state
                .sockets
                .owners
                .end_user(&name, "refused by their groups: sign in again");
        }
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
    let arrived = Arrived {
        name: &signed.name,
        id_token: Some(&verified.id_token),
        ip,
        https,
    };
    begin_session(state, auth, headers, arrived, Some(&flow.next)).await
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
