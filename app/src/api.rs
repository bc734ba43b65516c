//! How pages call the JSON API: [`read`] an endpoint (during SSR through the [`Reads`] the
//! server puts in context, with no HTTP round-trip to itself; in the browser a fetch whose
//! AbortController is aborted when the owning resource re-runs or is disposed), or [`call`]
//! one from the browser (a button was pressed). What each endpoint is comes from its
//! declaration ([`crate::endpoint`]).

use crate::endpoint::Endpoint;
use crate::model::{ApiError, Health, Me};
use crate::urls::On;

#[cfg(feature = "ssr")]
pub use server::{BoxFuture, Reads, SharedReads};

#[cfg(feature = "ssr")]
mod server {
    use crate::model::{ApiError, Health};
    use crate::urls::On;
    use std::{any::Any, future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// The server's answers to the read endpoints, for the pages it renders: the same
    /// handlers the JSON API runs, so they cannot disagree.
    pub trait Reads: Send + Sync + 'static {
        /// Answers the GET endpoint at `path` (its declared path) for the engine `on`;
        /// `params` is the endpoint, the answer its `Answer` (both boxed: one table serves
        /// every endpoint).
        fn read(
            &self,
            path: &'static str,
            on: On,
            params: Box<dyn Any + Send>,
        ) -> BoxFuture<'static, Result<Box<dyn Any + Send>, ApiError>>;
        /// The engine's health (answered before sign-in too, so not a declared endpoint).
        fn health(&self, on: On) -> BoxFuture<'static, Result<Health, ApiError>>;
    }

    pub type SharedReads = Arc<dyn Reads>;

    pub(super) fn reads() -> Result<SharedReads, ApiError> {
        // The server gives pages rendered for nobody signed in nothing to read.
        leptos::prelude::use_context::<SharedReads>()
            .ok_or_else(|| ApiError::new(401, "sign in first: no valid session"))
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::model::ApiError;
    use gloo_net::http::{Request, Response};
    use send_wrapper::SendWrapper;
    use serde::de::DeserializeOwned;

    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }

    /// Starts a GET whose AbortController is aborted by the current owner's cleanup: when a
    /// resource re-runs (the stale request dies) or its component unmounts (navigation).
    /// The cleanup is registered before the request is sent, so no await can outlive it.
    async fn send(path: &str) -> Result<Response, ApiError> {
        let controller = web_sys::AbortController::new().ok();
        let signal = controller.as_ref().map(|c| c.signal());
        let controller = SendWrapper::new(controller);
        leptos::prelude::on_cleanup(move || {
            if let Some(controller) = controller.take() {
                controller.abort();
            }
        });
        Request::get(path)
            .abort_signal(signal.as_ref())
            .send()
            .await
            .map_err(|e| ApiError::new(0, format!("request to {path} failed: {e}")))
    }

    async fn decode<T: DeserializeOwned>(path: &str, response: Response) -> Result<T, ApiError> {
        response
            .json::<T>()
            .await
            .map_err(|e| ApiError::new(0, format!("bad response from {path}: {e}")))
    }

    /// GET a JSON body; a non-2xx answer becomes its `{"error"}` with the HTTP status.
    pub async fn get_json<T: DeserializeOwned>(path: String) -> Result<T, ApiError> {
        let response = send(&path).await?;
        if response.ok() {
            return decode(&path, response).await;
        }
        let status = response.status();
        let fallback = response.status_text();
        let body = decode::<ErrorBody>(&path, response).await;
        Err(ApiError::new(status, body.map_or(fallback, |b| b.error)))
    }

    /// GET a JSON body whatever the status (for `/api/health`, which answers 503 with the
    /// same body when the engine is down).
    pub async fn get_json_any_status<T: DeserializeOwned>(path: String) -> Result<T, ApiError> {
        let response = send(&path).await?;
        decode(&path, response).await
    }

    /// A change the user asked for (POST, PUT or DELETE with an optional JSON body). Not
    /// aborted when the page goes away: the user pressed the button, so it completes.
    /// Answers the JSON body, or `None` for 204.
    pub async fn change<B: serde::Serialize, T: DeserializeOwned>(
        method: gloo_net::http::Method,
        path: String,
        body: Option<&B>,
    ) -> Result<Option<T>, ApiError> {
        let failed =
            |e: gloo_net::Error| ApiError::new(0, format!("request to {path} failed: {e}"));
        let builder = gloo_net::http::RequestBuilder::new(&path).method(method);
        let response = match body {
            Some(body) => builder.json(body).map_err(failed)?.send().await,
            None => builder.send().await,
        }
        .map_err(failed)?;
        match response.status() {
            204 => Ok(None),
            _ if response.ok() => decode(&path, response).await.map(Some),
            status => {
                let fallback = response.status_text();
                let body = decode::<ErrorBody>(&path, response).await;
                Err(ApiError::new(status, body.map_or(fallback, |b| b.error)))
            }
        }
    }

    /// Resources need `Send` futures; in the browser everything runs on one thread.
    pub fn sendable<F: std::future::Future>(future: F) -> SendWrapper<F> {
        SendWrapper::new(future)
    }
}

/// What `E` answers for the engine `on`: a GET whose data a page may render on the server.
pub async fn read<E: Endpoint<Query = ()>>(on: On, params: E) -> Result<E::Answer, ApiError> {
    #[cfg(feature = "ssr")]
    return server::reads()?
        .read(E::ROUTE.path, on, Box::new(params))
        .await?
        .downcast::<E::Answer>()
        .map(|answer| *answer)
        .map_err(|_| ApiError::new(500, format!("{} answered another type", E::ROUTE.path)));
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(crate::endpoint::path(&on, &params, &()))).await;
}

/// What a Berth-wide `E` answers (a path without `{on}`: engines, every container, the host).
pub async fn read_berth<E: Endpoint<Query = ()>>(params: E) -> Result<E::Answer, ApiError> {
    read(On::default_engine(), params).await
}

/// Calls `E` from the browser: a GET is aborted with its owner, a change completes (the user
/// pressed the button). During SSR it answers an error: what only a browser asks (the
/// admin pages, actions) is never rendered on the server.
#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn call<E: Endpoint>(
    on: On,
    params: E,
    query: E::Query,
    body: E::Body,
) -> Result<E::Answer, ApiError> {
    #[cfg(feature = "ssr")]
    return Err(ApiError::new(
        500,
        "asked from the browser only (the admin pages, actions)",
    ));
    #[cfg(not(feature = "ssr"))]
    return {
        use crate::endpoint::Method;
        let path = crate::endpoint::path(&on, &params, &query);
        let method = match E::ROUTE.method {
            Method::Get => return browser::get_json(path).await,
            Method::Post => gloo_net::http::Method::POST,
            Method::Put => gloo_net::http::Method::PUT,
            Method::Delete => gloo_net::http::Method::DELETE,
        };
        let body = E::HAS_BODY.then_some(&body);
        match browser::change::<_, E::Answer>(method, path.clone(), body).await? {
            Some(answer) => Ok(answer),
            // 204: the answer is `()`, which is what `null` reads as.
            None => serde_json::from_value(serde_json::Value::Null)
                .map_err(|_| ApiError::new(0, format!("{path} answered no body"))),
        }
    };
}

/// The engine's health, whatever its status (503 carries the same body when it is down).
pub async fn health(on: On) -> Result<Health, ApiError> {
    #[cfg(feature = "ssr")]
    return server::reads()?.health(on).await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json_any_status(crate::urls::api_health(&on))).await;
}

/// Who is signed in. During SSR the server puts it in the rendering context from the
/// request the gate let through.
pub async fn me() -> Result<Me, ApiError> {
    #[cfg(feature = "ssr")]
    return leptos::prelude::use_context::<Me>()
        .ok_or_else(|| ApiError::new(500, "no caller in the rendering context"));
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(crate::urls::API_ME.into())).await;
}
