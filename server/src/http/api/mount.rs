//! Mounting a declared endpoint ([`app::endpoint`]): its handler under its path (both engine
//! prefixes for an `{on}` path) and method, taking its path parameters, query and body as
//! the declaration types them and answering with its status. A read is also kept in a
//! table the server-rendered pages ask ([`Reads`]), so a page and the API run the same code.
//!
//! Every extraction refuses as JSON, in the order the handlers always took them: the
//! engine, who asks, the path parameters, the query, the body.

use crate::{
    engines::{EngineContext, Engines},
    error::Error,
    http::{
        AppState,
        extract::{AppJson, AppQuery, OnEngine, PathParam},
    },
    stacks::Stacks,
    updates::Updates,
};
use app::{
    api::BoxFuture,
    endpoint::{Endpoint, Method, Route},
    model::{ApiError, Health},
    urls::On,
};
use axum::{
    Json, Router,
    extract::{FromRequest, FromRequestParts, MatchedPath, Request, State},
    handler::Handler,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{MethodFilter, on},
};
use std::{any::Any, collections::HashMap, future::Future, sync::Arc};

/// What a read is answered from: every engine, the stacks' folders, and the engine its
/// path names.
#[derive(Clone)]
pub struct Reading {
    pub engines: Arc<Engines>,
    pub stacks: Arc<Stacks>,
    pub updates: Arc<Updates>,
    pub on: Arc<EngineContext>,
}

/// What a call is answered from: the application, the engine its path names, and what the
/// request carried as its endpoint declares it.
pub struct Call<E: Endpoint> {
    pub state: AppState,
    pub on: Arc<EngineContext>,
    pub params: E,
    pub query: E::Query,
    pub body: E::Body,
}

/// A read as the pages' table holds it: the endpoint and its answer boxed.
type BoxedRead = Arc<
    dyn Fn(Reading, Box<dyn Any + Send>) -> BoxFuture<'static, Result<Box<dyn Any + Send>, Error>>
        + Send
        + Sync,
>;

/// The JSON API's declared endpoints, mounted; [`Self::finish`] gives the router and the
/// reads for the pages.
#[derive(Default)]
pub struct Api {
    router: Router<AppState>,
    reads: HashMap<&'static str, BoxedRead>,
}

impl Api {
    /// A GET answered from [`Reading`] alone, to the API and to the pages alike.
    pub fn read<E, F, Fut>(mut self, handler: F) -> Self
    where
        E: Endpoint<Query = (), Body = ()>,
        F: Fn(Reading, E) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<E::Answer, Error>> + Send + 'static,
    {
        let boxed = handler.clone();
        self.reads.insert(
            E::ROUTE.path,
            Arc::new(move |reading, params| {
                let handler = boxed.clone();
                Box::pin(async move {
                    let params = params
                        .downcast::<E>()
                        .map_err(|_| Error::new(500, "a read was asked with another type"))?;
                    let answer = handler(reading, *params).await?;
                    Ok(Box::new(answer) as Box<dyn Any + Send>)
                })
            }),
        );
        self.call::<E, (), _, _>(move |(), call: Call<E>| {
            let reading = Reading {
                engines: call.state.sockets.engines.clone(),
                stacks: call.state.stacks.clone(),
                updates: call.state.updates.clone(),
                on: call.on,
            };
            handler(reading, call.params)
        })
    }

    /// Any endpoint: `Who` (an extractor such as the operator who acts, or `()`) is taken
    /// after the engine and before the rest.
    pub fn call<E, Who, F, Fut>(self, handler: F) -> Self
    where
        E: Endpoint,
        Who: FromRequestParts<AppState, Rejection: Into<Error>> + Send + 'static,
        F: Fn(Who, Call<E>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<E::Answer, Error>> + Send + 'static,
    {
        self.mount::<E, _, _>(move |State(state): State<AppState>, request: Request| {
            let handler = handler.clone();
            async move {
                match take::<E, Who>(state, request).await {
                    Ok((who, call)) => match handler(who, call).await {
                        Ok(answer) => answered::<E>(answer),
                        Err(e) => e.into_response(),
                    },
                    Err(e) => e.into_response(),
                }
            }
        })
    }

    /// A handler of its own at `E`'s path and method: for the few that take their parts
    /// in another order than [`Self::call`] (an action is named before its options).
    pub fn mount<E: Endpoint, H: Handler<T, AppState>, T: 'static>(mut self, handler: H) -> Self {
        let filter = filter(E::ROUTE.method);
        for path in paths(&E::ROUTE) {
            self.router = self.router.route(&path, on(filter, handler.clone()));
        }
        self
    }

    /// The router, and the reads for the pages (answered from `engines` and `stacks`).
    pub fn finish(
        self,
        engines: Arc<Engines>,
        stacks: Arc<Stacks>,
        updates: Arc<Updates>,
    ) -> (Router<AppState>, app::api::SharedReads) {
        let reads = PageReads {
            engines,
            stacks,
            updates,
            reads: Arc::new(self.reads),
        };
        (self.router, Arc::new(reads))
    }
}

/// `route`'s paths as the router spells them: an `{on}` path for the default engine and
/// under `/engines/{engine}`.
pub fn paths(route: &Route) -> Vec<String> {
    match route.path.contains("{on}") {
        true => vec![
            route.path.replace("{on}", ""),
            route.path.replace("{on}", "/engines/{engine}"),
        ],
        false => vec![route.path.to_string()],
    }
}

fn filter(method: Method) -> MethodFilter {
    match method {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Put => MethodFilter::PUT,
        Method::Delete => MethodFilter::DELETE,
    }
}

/// Takes a call's parts from the request, in order.
async fn take<E: Endpoint, Who: FromRequestParts<AppState, Rejection: Into<Error>>>(
    state: AppState,
    request: Request,
) -> Result<(Who, Call<E>), Error> {
    let (mut parts, body) = request.into_parts();
    let OnEngine(on) = OnEngine::from_request_parts(&mut parts, &state).await?;
    let who = Who::from_request_parts(&mut parts, &state)
        .await
        .map_err(Into::into)?;
    // A path without parameters has none to read (axum refuses to read them).
    let matched = parts.extensions.get::<MatchedPath>();
    let params = match matched.is_some_and(|path| path.as_str().contains('{')) {
        true => {
            PathParam::<E>::from_request_parts(&mut parts, &state)
                .await?
                .0
        }
        false => unit_like()?,
    };
    let query = match E::HAS_QUERY {
        true => {
            AppQuery::<E::Query>::from_request_parts(&mut parts, &state)
                .await?
                .0
        }
        false => unit_like()?,
    };
    let body = match E::HAS_BODY {
        true => {
            let request = Request::from_parts(parts, body);
            AppJson::<E::Body>::from_request(request, &state).await?.0
        }
        false => unit_like()?,
    };
    Ok((
        who,
        Call {
            state,
            on,
            params,
            query,
            body,
        },
    ))
}

/// A value of a type that carries nothing: `()`, or a struct without fields.
fn unit_like<T: serde::de::DeserializeOwned>() -> Result<T, Error> {
    serde_json::from_value(serde_json::Value::Null)
        .or_else(|_| serde_json::from_value(serde_json::json!({})))
        .map_err(|e| Error::new(500, format!("an endpoint's empty part: {e}")))
}

/// A success, with the endpoint's status.
fn answered<E: Endpoint>(answer: E::Answer) -> Response {
    match E::STATUS {
        204 => StatusCode::NO_CONTENT.into_response(),
        201 => (StatusCode::CREATED, Json(answer)).into_response(),
        202 => (StatusCode::ACCEPTED, Json(answer)).into_response(),
        _ => Json(answer).into_response(),
    }
}

/// The reads, for the pages the server renders.
struct PageReads {
    engines: Arc<Engines>,
    stacks: Arc<Stacks>,
    updates: Arc<Updates>,
    reads: Arc<HashMap<&'static str, BoxedRead>>,
}

impl app::api::Reads for PageReads {
    fn read(
        &self,
        path: &'static str,
        on: On,
        params: Box<dyn Any + Send>,
    ) -> BoxFuture<'static, Result<Box<dyn Any + Send>, ApiError>> {
        let (engines, stacks, updates) = (
            self.engines.clone(),
            self.stacks.clone(),
            self.updates.clone(),
        );
        let read = self.reads.get(path).cloned();
        Box::pin(async move {
            let read = read.ok_or_else(|| ApiError::new(500, format!("{path} is not a read")))?;
            let on = engines.of(&on).map_err(Error::into_wire)?;
            read(
                Reading {
                    engines,
                    stacks,
                    updates,
                    on,
                },
                params,
            )
            .await
            .map_err(Error::into_wire)
        })
    }

    fn health(&self, on: On) -> BoxFuture<'static, Result<Health, ApiError>> {
        let engines = self.engines.clone();
        Box::pin(async move {
            let on = engines.of(&on).map_err(Error::into_wire)?;
            Ok(on.engine.health())
        })
    }
}
