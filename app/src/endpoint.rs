//! An endpoint of the JSON API, declared once: its method, its path, who may use it, and
//! the types of its path parameters, query, body and answer. The declarations sit beside the
//! types they carry ([`endpoints!`] in `model/*.rs` and `resources.rs`); from each, the server
//! mounts its handler under both engine prefixes and the authorization table takes its row
//! ([`routes`]), the browser builds its URL ([`path`]) and calls it ([`crate::api`]), and a
//! page rendered on the server reads it without a round-trip ([`crate::api::read`]).
//!
//! A new endpoint touches its declaration (beside its types), its handler on the server, and
//! the page that calls it.

use crate::model::Role;
use crate::urls::{On, encode, segment};
use serde::{Serialize, de::DeserializeOwned};

/// An HTTP method an endpoint answers (`GET` also answers `HEAD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// Who may use a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not: sign-in itself, setup, health.
    Anyone,
    /// A signed-in user or token of at least this role.
    Least(Role),
    /// A terminal: the `--exec` policy decides (admins by default).
    Terminal,
    /// `/metrics`: anyone with `--metrics-open`, else a viewer.
    Metrics,
    /// Anyone signed in, also someone who must set up a second factor before anything
    /// else: their own account (to set it up), who they are.
    Account,
}

pub const VIEWER: Access = Access::Least(Role::Viewer);
pub const OPERATOR: Access = Access::Least(Role::Operator);
pub const ADMIN: Access = Access::Least(Role::Admin);
pub const ACCOUNT: Access = Access::Account;

/// Where an endpoint is and who may use it. `{on}` in a path stands for both `` (the
/// default engine) and `/engines/{engine}`; `{name}` is one path segment, `{*name}` the
/// rest of the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// One endpoint. `Self` holds its path parameters (by their names in the path).
pub trait Endpoint: Serialize + DeserializeOwned + Send + Sync + 'static {
    const ROUTE: Route;
    /// The status of a success: 200, 201 (created), 202 (started; going on) or 204 (no
    /// body: the answer is `()`).
    const STATUS: u16;
    /// Whether it reads a query string; `Query` is `()` when not.
    const HAS_QUERY: bool;
    /// Whether it reads a JSON body; `Body` is `()` when not.
    const HAS_BODY: bool;
    type Query: Serialize + DeserializeOwned + Send + 'static;
    type Body: Serialize + DeserializeOwned + Send + 'static;
    type Answer: Serialize + DeserializeOwned + Send + 'static;
}

/// Declares endpoints, each a struct of its path parameters implementing [`Endpoint`], and
/// a const of the block's routes named first (for [`routes`]):
///
/// ```text
/// OBJECT_ROUTES;
/// /// doc
/// GET "/api{on}/images/{*reference}" VIEWER => GetImage { reference: String } -> ImageDetail;
/// DELETE "/api{on}/images/{*reference}" OPERATOR => RemoveImage { reference: String }
///     query(RemoveOptions) -> () = 204;
/// POST "/api{on}/volumes" OPERATOR => CreateVolume {} body(NewVolume) -> VolumeSummary = 201;
/// ```
///
/// `query(…)` and `body(…)` are optional; `= STATUS` defaults to 200.
#[macro_export]
macro_rules! endpoints {
    ($routes:ident; $(
        $(#[$doc:meta])*
        $method:ident $path:literal $access:ident => $name:ident { $($field:ident : $ty:ty),* $(,)? }
            $(query($query:ty))? $(body($body:ty))? -> $answer:ty $(= $status:literal)?;
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
            pub struct $name { $(pub $field: $ty),* }

            impl $crate::endpoint::Endpoint for $name {
                const ROUTE: $crate::endpoint::Route = $crate::endpoint::Route {
                    method: $crate::endpoint::method!($method),
                    path: $path,
                    access: $crate::endpoint::$access,
                };
                const STATUS: u16 = $crate::endpoint::or!($($status)?; 200);
                const HAS_QUERY: bool = $crate::endpoint::given!($($query)?);
                const HAS_BODY: bool = $crate::endpoint::given!($($body)?);
                type Query = $crate::endpoint::or_unit!($($query)?);
                type Body = $crate::endpoint::or_unit!($($body)?);
                type Answer = $answer;
            }
        )*

        /// This file's endpoints (the authorization table and the tests read them).
        pub const $routes: &[$crate::endpoint::Route] = &[$(
            <$name as $crate::endpoint::Endpoint>::ROUTE
        ),*];
    };
}
pub use endpoints;

#[doc(hidden)]
#[macro_export]
macro_rules! endpoint_method {
    (GET) => {
        $crate::endpoint::Method::Get
    };
    (POST) => {
        $crate::endpoint::Method::Post
    };
    (PUT) => {
        $crate::endpoint::Method::Put
    };
    (DELETE) => {
        $crate::endpoint::Method::Delete
    };
}
#[doc(hidden)]
pub use endpoint_method as method;

#[doc(hidden)]
#[macro_export]
macro_rules! endpoint_or {
    ($value:literal; $default:literal) => {
        $value
    };
    (; $default:literal) => {
        $default
    };
}
#[doc(hidden)]
pub use endpoint_or as or;

#[doc(hidden)]
#[macro_export]
macro_rules! endpoint_given {
    ($t:ty) => {
        true
    };
    () => {
        false
    };
}
#[doc(hidden)]
pub use endpoint_given as given;

#[doc(hidden)]
#[macro_export]
macro_rules! endpoint_or_unit {
    ($t:ty) => {
        $t
    };
    () => {
        ()
    };
}
#[doc(hidden)]
pub use endpoint_or_unit as or_unit;

/// Every endpoint of the JSON API but sign-in and health (which the server mounts by
/// hand: they answer before sign-in).
pub fn routes() -> impl Iterator<Item = Route> {
    [
        crate::model::CONTAINER_ROUTES,
        crate::model::ACTION_ROUTES,
        crate::model::ENGINE_ROUTES,
        crate::model::SWARM_ROUTES,
        crate::model::ACCOUNT_ROUTES,
        crate::model::STACK_ROUTES,
        crate::model::UPDATE_ROUTES,
        crate::model::REGISTRY_ROUTES,
        crate::model::ALERT_ROUTES,
        crate::resources::OBJECT_ROUTES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The path of `route` for the engine `on`: `{on}` made `` or `/engines/{name}`.
pub fn on_path(route: &Route, on: &On) -> String {
    route.path.replace("{on}", &on.pages())
}

/// The URL of a call to `E`: its path for the engine `on`, its parameters in place (each
/// percent-encoded; a `{*rest}` keeps its `/`), and the query's fields that are set.
pub fn path<E: Endpoint>(on: &On, params: &E, query: &E::Query) -> String {
    let values = pairs(params);
    let mut path = String::new();
    let mut rest = on_path(&E::ROUTE, on);
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}').expect("a closed parameter");
        path.push_str(&rest[..open]);
        let name = &rest[open + 1..close];
        let (name, rest_of_path) = match name.strip_prefix('*') {
            Some(name) => (name, true),
            None => (name, false),
        };
        let value = values
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str());
        path.push_str(&match rest_of_path {
            true => encode(value),
            false => segment(value),
        });
        rest = rest[close + 1..].to_string();
    }
    path.push_str(&rest);
    let query: Vec<String> = pairs(query)
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={}", encode(&value)))
        .collect();
    match query.is_empty() {
        true => path,
        false => format!("{path}?{}", query.join("&")),
    }
}

/// A value's fields as text, in their order; `None`s left out.
fn pairs<T: Serialize>(value: &T) -> Vec<(String, String)> {
    let encoded = serde_urlencoded::to_string(value).unwrap_or_default();
    form_urlencoded::parse(encoded.as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_route_is_declared_once() {
        let mut seen = HashSet::new();
        for route in routes() {
            assert!(seen.insert((route.method, route.path)), "twice: {route:?}");
            assert!(route.path.starts_with("/api"), "{route:?}");
        }
    }
}
