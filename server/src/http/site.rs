//! The Leptos site options `berth` serves with: Leptos.toml when present, LEPTOS_* variables
//! over it (cargo-leptos sets those when it runs the server); else the compiled site in a
//! `site/` directory next to the binary (an installed Berth, run from any directory). And
//! what answers a request no route matched ([`fallback`]): a file of the compiled site when
//! one is served at that path, else a page (or JSON error) behind the gate.

use crate::{
    accounts::sessions::Caller,
    error::Error,
    http::{
        AppState,
        doors::{self, Access, Kind},
    },
};
use app::model::Role;
use axum::{
    body::Body,
    extract::Request,
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use leptos::config::{Env, LeptosOptions, get_configuration};
use std::{
    future::Future,
    path::{Path, PathBuf},
};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// A request no route matched. Whether it is a file is decided by a file being served at
/// that path (the same to everyone), never by the look of the path; anything else is behind
/// the gate like every page: without a session, `/login` (401 under `/api`, `/ws` and for
/// `/metrics`); with one, `pages` renders the app's "not found" (or a JSON 404).
pub async fn fallback<F, Fut>(state: AppState, request: Request, pages: F) -> Response
where
    F: FnOnce(AppState, Request) -> Fut,
    Fut: Future<Output = Response>,
{
    if matches!(*request.method(), Method::GET | Method::HEAD)
        && let Some(lookup) = lookup(&request)
        && let Some(file) = file(&state.leptos_options.site_root, lookup).await
    {
        return file;
    }
    let path = request.uri().path();
    let kind = match path == "/api"
        || path.starts_with("/api/")
        || path.starts_with("/ws/")
        || path == "/metrics"
    {
        true => Kind::Json,
        false => Kind::Page,
    };
    // The router has no route for a path with a trailing slash, but the pages' router
    // renders the same page for it: it gets the plain path's row (`/admin/` is `/admin`).
    let access = path
        .strip_suffix('/')
        .filter(|plain| !plain.is_empty())
        .and_then(|plain| doors::row(plain, request.method()).ok())
        .map_or(Access::Least(Role::Viewer), |row| row.access);
    let caller = request.extensions().get::<Caller>();
    if let Some(refused) = doors::refusal(&state, access, kind, caller, &request) {
        return refused;
    }
    match kind {
        Kind::Json => Error::not_found("no such endpoint").into_response(),
        Kind::Page => pages(state, request).await,
    }
}

/// The request for a file at the request's path: its method, path and the headers that
/// choose an encoding or a range.
fn lookup(request: &Request) -> Option<Request> {
    let mut lookup = Request::builder()
        .method(request.method())
        .uri(request.uri());
    for name in [
        header::ACCEPT_ENCODING,
        header::IF_NONE_MATCH,
        header::IF_MODIFIED_SINCE,
        header::RANGE,
    ] {
        if let Some(value) = request.headers().get(&name) {
            lookup = lookup.header(name, value);
        }
    }
    lookup.body(Body::empty()).ok()
}

/// The file of the compiled site that `lookup` asks for, if one is served there.
async fn file(root: &str, lookup: Request) -> Option<Response> {
    let served = ServeDir::new(root)
        .append_index_html_on_directories(false)
        .precompressed_gzip()
        .precompressed_br()
        .oneshot(lookup)
        .await
        .ok()?;
    let status = served.status();
    (status.is_success() || status == StatusCode::NOT_MODIFIED).then(|| served.into_response())
}
/// The compiled site's name (Cargo.toml's `[[workspace.metadata.leptos]] name`).
const OUTPUT_NAME: &str = "berth";

pub fn load(path: &Path) -> Result<LeptosOptions, String> {
    let configuration = if path.exists() {
        let text = path
            .to_str()
            .ok_or_else(|| format!("site options path {} is not UTF-8", path.display()))?;
        get_configuration(Some(text))
    } else if std::env::var_os("LEPTOS_OUTPUT_NAME").is_some() {
        get_configuration(None)
    } else {
        return beside_binary(path);
    };
    configuration
        .map(|c| c.leptos_options)
        .map_err(|e| format!("cannot read site options from {}: {e}", path.display()))
}

/// The site options for knowing where Berth serves (`berth health`): as [`load`] finds
/// them, else the defaults (127.0.0.1:3000), since asking needs no site.
pub fn address_options(path: &Path) -> LeptosOptions {
    load(path).unwrap_or_else(|_| LeptosOptions::builder().output_name(OUTPUT_NAME).build())
}

/// The site next to the running binary, by absolute path: files are served from it
/// whatever the working directory.
fn beside_binary(config: &Path) -> Result<LeptosOptions, String> {
    let site = site_dir()?;
    if !site.join("pkg").is_dir() {
        return Err(format!(
            "no compiled site: neither {} here, nor LEPTOS_* variables, nor {}",
            config.display(),
            site.join("pkg").display()
        ));
    }
    let root = site
        .to_str()
        .ok_or_else(|| format!("site path {} is not UTF-8", site.display()))?;
    Ok(LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(root)
        .env(Env::PROD)
        .build())
}

/// `site/` beside the binary, links followed (a binary linked into PATH finds its own).
fn site_dir() -> Result<PathBuf, String> {
    let binary = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| format!("cannot tell where the berth binary is: {e}"))?;
    Ok(binary.with_file_name("site"))
}
