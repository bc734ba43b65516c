//! What handlers take from a request beyond axum's own extractors: the engine it is about,
//! who the client is, and path parameters, queries and JSON bodies whose refusals are JSON
//! like every other error (axum's own are plain text).

use super::AppState;
use crate::{engines::EngineContext, error::Error};
use axum::{
    Json,
    extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// The engine a request is about: its `{engine}` path segment, else the default engine.
pub struct OnEngine(pub Arc<EngineContext>);

impl FromRequestParts<AppState> for OnEngine {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let engines = &state.sockets.engines;
        let named = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Path(params)| params.get("engine").cloned());
        match named {
            Some(name) => engines.get(&name).cloned().map(Self),
            None => Ok(Self(engines.default_engine().clone())),
        }
    }
}

/// An extractor over one of axum's that reads the request's head, refusing with 400 JSON
/// like every other error (axum's own rejection is plain text).
macro_rules! refused_as_json {
    ($(#[$doc:meta])* $name:ident over $axum:ident) => {
        $(#[$doc])*
        pub struct $name<T>(pub T);

        impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for $name<T> {
            type Rejection = Error;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
                $axum::<T>::from_request_parts(parts, state)
                    .await
                    .map(|$axum(value)| Self(value))
                    .map_err(|e| Error::bad_request(e.body_text()))
            }
        }
    };
}

refused_as_json!(
    /// A path parameter; a bad one is not UTF-8 once decoded, or not the type asked for.
    PathParam over Path
);
refused_as_json!(
    /// A query string (`?force=true`, an audit filter).
    AppQuery over Query
);

/// A JSON body: a malformed one is 400, a late one 408 and a large one 413, all JSON
/// ([`crate::http::request_body`]).
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| Self(value))
            .map_err(Error::from)
    }
}

/// Who is asking, as the proxies Berth trusts report it (`--trusted-proxy`): the client's
/// address, and whether it reached Berth over https.
pub struct Client {
    pub ip: IpAddr,
    pub https: bool,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|e| Error::new(500, e.body_text()))?;
        let trusted = &state.sockets.trusted_proxies;
        Ok(Self {
            ip: crate::client_addr::client_ip(peer.ip(), &parts.headers, trusted),
            https: super::gate::forwarded_https(&parts.headers, peer.ip(), trusted),
        })
    }
}
