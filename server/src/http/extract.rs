//! What handlers take from a request beyond axum's own extractors: the engine it is about,
//! and path parameters that are refused as JSON.

use super::AppState;
use crate::{engines::EngineContext, error::Error};
use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};
use std::{collections::HashMap, sync::Arc};

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

/// A path parameter. A bad one (not UTF-8 once decoded, not the type asked for) is 400 JSON
/// like every other error; axum's own rejection is plain text.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e| Error::bad_request(e.body_text()))
    }
}
