//! The authorization table: for every route Berth serves (pages, `/api`, `/ws`, `/metrics`)
//! and method, who may use it. [`authorize`] enforces it from the route the router matched
//! (never from the look of a path): a route or method without a row is refused (500 and a
//! log line), so a route added without a row cannot be reached at all, and the test that
//! walks the router (`doors::every_route_has_a_row_and_every_caller_gets_its_answer`) fails.
//! A request no route matches is a file of the compiled site when one is served at that
//! path, and otherwise behind the gate like any page ([`crate::http::site::fallback`]).
//!
//! The JSON API's rows come from its endpoints' declarations ([`app::endpoint`]); the
//! pages', sockets' and sign-in's are written here. A row's paths are written once for the
//! default engine and once per engine: `{on}` in a template stands for both `` and
//! `/engines/{engine}`.

use crate::{accounts::sessions::Caller, error::Error, http::AppState};
pub use app::endpoint::Access;
use app::{
    endpoint::{ACCOUNT, ADMIN, OPERATOR, VIEWER},
    model::Role,
};
use axum::{
    extract::{MatchedPath, Request, State},
    http::{Method, StatusCode, header},
    middleware::Next,
    response::{Html, IntoResponse, Redirect, Response},
};
use std::{collections::HashMap, sync::LazyLock};

/// How a refusal is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A page: without a session, off to `/login`; below the role, a 403 page.
    Page,
    /// API, sockets, metrics: 401 or 403 with a JSON error.
    Json,
}

/// One route and method, and who may use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub kind: Kind,
}

/// The table of what is not a declared endpoint (those bring their own row:
/// [`app::endpoint::routes`]). Methods are HTTP methods; `GET` also covers `HEAD`.
#[rustfmt::skip]
const TABLE: &[(&str, &str, Access, Kind)] = &[
    // Pages (Leptos routes): anyone signed in, the admin pages admins only.
    ("GET", "/", VIEWER, Kind::Page),
    ("GET", "/containers", VIEWER, Kind::Page),
    ("GET", "/containers/{id}", VIEWER, Kind::Page),
    ("GET", "/engines/{engine}", VIEWER, Kind::Page),
    ("GET", "/engines/{engine}/containers", VIEWER, Kind::Page),
    ("GET", "/engines/{engine}/containers/{id}", VIEWER, Kind::Page),
    ("GET", "{on}/projects", VIEWER, Kind::Page),
    ("GET", "{on}/projects/{name}", VIEWER, Kind::Page),
    ("GET", "{on}/swarm", VIEWER, Kind::Page),
    ("GET", "{on}/services/{id}", VIEWER, Kind::Page),
    ("GET", "/all/containers", VIEWER, Kind::Page),
    ("GET", "{on}/images", VIEWER, Kind::Page),
    ("GET", "{on}/images/{*reference}", VIEWER, Kind::Page),
    ("GET", "{on}/volumes", VIEWER, Kind::Page),
    ("GET", "{on}/networks", VIEWER, Kind::Page),
    ("GET", "{on}/disk", VIEWER, Kind::Page),
    ("GET", "{on}/updates", VIEWER, Kind::Page),
    ("GET", "{on}/stacks", VIEWER, Kind::Page),
    ("GET", "{on}/stacks/{name}", VIEWER, Kind::Page),
    ("GET", "/all/stacks", VIEWER, Kind::Page),
    ("GET", "/alerts", VIEWER, Kind::Page),
    ("GET", "/account", ACCOUNT, Kind::Page),
    ("GET", "/admin", ADMIN, Kind::Page),
    ("GET", "/admin/tokens", ADMIN, Kind::Page),
    ("GET", "/admin/audit", ADMIN, Kind::Page),
    ("GET", "/login", Access::Anyone, Kind::Page),
    ("GET", "/setup", Access::Anyone, Kind::Page),
    // Sign-in.
    ("POST", "/api/auth/login", Access::Anyone, Kind::Json),
    ("POST", "/api/auth/logout", Access::Anyone, Kind::Json),
    ("POST", "/api/auth/setup", Access::Anyone, Kind::Json),
    // Single sign-on: anyone begins one; the answer is checked against what began it.
    ("GET", "/api/auth/oidc/start", Access::Anyone, Kind::Json),
    ("GET", "/api/auth/oidc/callback", Access::Anyone, Kind::Json),
    ("GET", "/api/auth/me", ACCOUNT, Kind::Json),
    // Health: anyone for the default engine (an image's HEALTHCHECK asks it; a caller who is
    // not signed in learns only whether it is up), viewers per engine.
    ("GET", "/api/health", Access::Anyone, Kind::Json),
    ("GET", "/api/engines/{engine}/health", VIEWER, Kind::Json),
    // Live streams.
    ("GET", "/ws{on}/containers", VIEWER, Kind::Json),
    ("GET", "/ws{on}/containers/{id}/logs", VIEWER, Kind::Json),
    ("GET", "/ws{on}/containers/{id}/stats", VIEWER, Kind::Json),
    ("GET", "/ws{on}/projects/{name}/logs", VIEWER, Kind::Json),
    ("GET", "/ws{on}/services/{id}/logs", VIEWER, Kind::Json),
    ("GET", "/ws{on}/swarm", VIEWER, Kind::Json),
    ("GET", "/ws{on}/images/pull", OPERATOR, Kind::Json),
    ("GET", "/ws{on}/stacks/{name}/runs/{n}", VIEWER, Kind::Json),
    ("GET", "/ws{on}/updates/runs/{n}", VIEWER, Kind::Json),
    ("GET", "/ws{on}/containers/{id}/exec", Access::Terminal, Kind::Json),
    ("GET", "/ws/system/stats", VIEWER, Kind::Json),
    ("GET", "/metrics", Access::Metrics, Kind::Json),
];

/// Every row, `{on}` spelled out both ways.
pub fn rows() -> &'static [Row] {
    static ROWS: LazyLock<Vec<Row>> = LazyLock::new(|| {
        let mut rows = Vec::new();
        let declared = app::endpoint::routes()
            .map(|route| (route.method.as_str(), route.path, route.access, Kind::Json));
        for (method, template, access, kind) in TABLE.iter().copied().chain(declared) {
            let paths: Vec<&'static str> = match template.split_once("{on}") {
                Some((before, after)) => vec![
                    leak(format!("{before}{after}")),
                    leak(format!("{before}/engines/{{engine}}{after}")),
                ],
                None => vec![template],
            };
            for path in paths {
                // `{on}/x` at the root of the pages is `/x`; the default engine's page
                // `/engines/{engine}` alone is its own row.
                let path = if path.is_empty() { "/" } else { path };
                rows.push(Row {
                    method,
                    path,
                    access,
                    kind,
                });
            }
        }
        rows
    });
    &ROWS
}

/// A path made once for the life of the process (the table is built once).
fn leak(path: String) -> &'static str {
    Box::leak(path.into_boxed_str())
}

/// The rows by route, then method.
fn index() -> &'static HashMap<&'static str, Vec<Row>> {
    static INDEX: LazyLock<HashMap<&'static str, Vec<Row>>> = LazyLock::new(|| {
        let mut index: HashMap<&'static str, Vec<Row>> = HashMap::new();
        for row in rows() {
            index.entry(row.path).or_default().push(*row);
        }
        index
    });
    &INDEX
}

/// The row for a matched route and method (`HEAD` as `GET`).
pub fn row(path: &str, method: &Method) -> Result<Row, Missing> {
    let rows = index().get(path).ok_or(Missing::Route)?;
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    rows.iter()
        .find(|row| row.method == method)
        .copied()
        .ok_or(Missing::Method)
}

/// Why a request has no row.
#[derive(Debug, PartialEq, Eq)]
pub enum Missing {
    /// The router has a route the table does not: a bug, refused.
    Route,
    /// The route exists, not with this method: 405.
    Method,
}

/// What the table says of a caller: let it in, or how to refuse it.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Not signed in.
    SignIn,
    /// Signed in, not allowed.
    Forbidden(&'static str),
    /// Signed in, and must set up a second factor before anything but their account.
    SecondFactorFirst,
}

/// Whether `caller` may use a route of `access`. `accounts`: sign-in is on (with
/// `--auth off` whoever reaches loopback may do anything, but what `--exec off` forbids).
pub fn decide(
    access: Access,
    caller: Option<&Caller>,
    accounts: bool,
    metrics_open: bool,
    terminals: &crate::http::ws::terminal::Terminals,
) -> Decision {
    let role = match (accounts, caller) {
        (false, _) => None,
        (true, Some(caller))
            if caller.second_factor_due && !matches!(access, Access::Anyone | Access::Account) =>
        {
            return Decision::SecondFactorFirst;
        }
        (true, Some(caller)) => Some(caller.role),
        (true, None) => {
            return match access {
                Access::Anyone => Decision::Allow,
                Access::Metrics if metrics_open => Decision::Allow,
                _ => Decision::SignIn,
            };
        }
    };
    match access {
        Access::Anyone | Access::Metrics | Access::Account => Decision::Allow,
        Access::Least(least) => match role {
            Some(role) if role < least => Decision::Forbidden(match least {
                Role::Admin => "only an admin may do this",
                Role::Operator => {
                    "only an operator or admin may change what an engine runs or keeps"
                }
                Role::Viewer => "signed in without a role",
            }),
            _ => Decision::Allow,
        },
        Access::Terminal => match terminals.allows(role) {
            true => Decision::Allow,
            false if terminals.policy.least_role.is_none() => {
                Decision::Forbidden("terminals are off on this Berth (--exec off)")
            }
            false => Decision::Forbidden("your role may not open a terminal"),
        },
    }
}

/// Lets a request through only if the table allows its caller the route it matched. A
/// request that matched no route (the fallback) goes on to [`crate::http::site::fallback`],
/// which decides the same way.
pub async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(matched) = request.extensions().get::<MatchedPath>().cloned() else {
        return next.run(request).await;
    };
    let caller = request.extensions().get::<Caller>();
    let row = match row(matched.as_str(), request.method()) {
        Ok(row) => row,
        // Said only to a caller who may use some method of the route; anyone else is
        // refused as that method would refuse them.
        Err(Missing::Method) => {
            let methods = index().get(matched.as_str()).map_or(&[][..], Vec::as_slice);
            let refusals: Vec<Response> = methods
                .iter()
                .filter_map(|row| refusal(&state, row.access, row.kind, caller, &request))
                .collect();
            return match refusals.len() == methods.len() {
                true => refusals
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| Error::new(405, "method not allowed").into_response()),
                false => Error::new(405, "method not allowed").into_response(),
            };
        }
        Err(Missing::Route) => {
            tracing::error!(
                route = matched.as_str(),
                "a route has no row in the authorization table: refused"
            );
            return Error::new(500, "this route has no row in Berth's authorization table")
                .into_response();
        }
    };
    match refusal(&state, row.access, row.kind, caller, &request) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// The answer that refuses `caller` a route of `access`, if it is refused.
pub fn refusal(
    state: &AppState,
    access: Access,
    kind: Kind,
    caller: Option<&Caller>,
    request: &Request,
) -> Option<Response> {
    let (accounts, metrics_open) = match &state.auth {
        Some(auth) => (true, auth.metrics_open),
        None => (false, false),
    };
    let decision = decide(
        access,
        caller,
        accounts,
        metrics_open,
        &state.sockets.terminals,
    );
    match (decision, kind) {
        (Decision::Allow, _) => None,
        (Decision::SignIn, Kind::Page) => {
            let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
            Some(Redirect::to(&app::urls::login(Some(target))).into_response())
        }
        (Decision::SignIn, Kind::Json) => {
            Some(Error::new(401, "sign in first: no valid session").into_response())
        }
        (Decision::Forbidden(why), Kind::Json) => Some(Error::new(403, why).into_response()),
        (Decision::SecondFactorFirst, Kind::Page) => {
            Some(Redirect::to(app::urls::ACCOUNT).into_response())
        }
        (Decision::SecondFactorFirst, Kind::Json) => Some(
            Error::new(
                403,
                "set up a second factor first, on your account page (/account): it is \
                 required of you",
            )
            .into_response(),
        ),
        (Decision::Forbidden(why), Kind::Page) => Some(forbidden_page(why)),
    }
}

/// A page the caller may not see: 403, said in a page of its own that shows nothing else.
fn forbidden_page(why: &str) -> Response {
    let why = why.replace('&', "&amp;").replace('<', "&lt;");
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Forbidden · Berth</title>\
         <link rel=\"stylesheet\" href=\"/pkg/berth.css\"></head><body><main class=\"content\">\
         <section class=\"error-panel\" data-status=\"403\"><h2>Forbidden</h2><p>{why}: this page is not for your role. \
         <a href=\"/\">Back to the dashboard</a>.</p></section></main></body></html>"
    );
    let mut response = (StatusCode::FORBIDDEN, Html(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, "no-store".parse().expect("ASCII"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_and_found_by_route_and_method() {
        let mut seen = std::collections::HashSet::new();
        for row in rows() {
            assert!(seen.insert((row.method, row.path)), "twice: {row:?}");
        }
        assert_eq!(
            row("/api/engines/{engine}/containers/{id}", &Method::DELETE)
                .unwrap()
                .access,
            OPERATOR
        );
        assert_eq!(
            row("/api/containers", &Method::HEAD).unwrap().access,
            VIEWER
        );
        assert_eq!(row("/api/containers", &Method::PUT), Err(Missing::Method));
        assert_eq!(row("/api/nothing", &Method::GET), Err(Missing::Route));
        assert_eq!(row("/swarm", &Method::GET).unwrap().kind, Kind::Page);
    }
}
