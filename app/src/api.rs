//! Where pages get their data. During SSR a page asks the [`Backend`] that the server puts in
//! context (no HTTP round-trip to itself); in the browser it fetches the JSON API, with an
//! AbortController that is aborted when the owning resource re-runs or is disposed.

use crate::frames::{ContainerStats, SystemStats};
use crate::model::{
    AllContainers, ApiError, AuditEntry, AuditQuery, ContainerDetail, ContainerSummary, Dashboard,
    EngineInfo, Health, Me, NewToken, NewUser, Project, Role, ServiceDetail, Swarm, TokenInfo,
    TokenRequest, User,
};
use crate::resources::{EngineDisk, ImageDetail, ImageSummary, NetworkSummary, VolumeSummary};
use crate::urls::On;
#[cfg(not(feature = "ssr"))]
use crate::{
    model::{PasswordChange, RoleChange},
    urls,
};

#[cfg(feature = "ssr")]
pub use server::{Backend, BoxFuture, EngineDirectory, SharedBackend, SharedEngines};

#[cfg(feature = "ssr")]
mod server {
    use crate::frames::{ContainerStats, SystemStats};
    use crate::model::{
        self, AllContainers, ApiError, ContainerDetail, ContainerSummary, Dashboard, EngineInfo,
        Health, Project, ServiceDetail, Swarm,
    };
    use crate::resources::{EngineDisk, ImageDetail, ImageSummary, NetworkSummary, VolumeSummary};
    use crate::urls::On;
    use std::{future::Future, pin::Pin, sync::Arc};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// What the server knows about the engine. Both the JSON API and the server-rendered
    /// pages go through it, so they cannot disagree.
    pub trait Backend: Send + Sync + 'static {
        fn health(&self) -> BoxFuture<'_, Health>;
        fn dashboard(&self) -> BoxFuture<'_, Result<Dashboard, ApiError>>;
        fn containers(&self) -> BoxFuture<'_, Result<Vec<ContainerSummary>, ApiError>>;
        /// `reference` is an id, an id prefix or a name; it is validated by the implementation.
        fn container<'a>(
            &'a self,
            reference: &'a str,
        ) -> BoxFuture<'a, Result<ContainerDetail, ApiError>>;
        /// The host's last known sample (for pages rendered before their socket opens).
        fn host(&self) -> BoxFuture<'_, Result<SystemStats, ApiError>>;
        /// A container's last stats sample, when one was streamed in the last minute.
        fn container_stats<'a>(
            &'a self,
            reference: &'a str,
        ) -> BoxFuture<'a, Result<Option<ContainerStats>, ApiError>>;

        /// Images, newest first, with how many containers use each.
        fn images(&self) -> BoxFuture<'_, Result<Vec<ImageSummary>, ApiError>>;
        /// An image by id, id prefix or `name:tag`.
        fn image<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<ImageDetail, ApiError>>;
        /// Volumes by name, with sizes and users.
        fn volumes(&self) -> BoxFuture<'_, Result<Vec<VolumeSummary>, ApiError>>;
        fn volume<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<VolumeSummary, ApiError>>;
        /// Networks by name, with subnets and attached containers.
        fn networks(&self) -> BoxFuture<'_, Result<Vec<NetworkSummary>, ApiError>>;
        fn network<'a>(
            &'a self,
            reference: &'a str,
        ) -> BoxFuture<'a, Result<NetworkSummary, ApiError>>;
        /// Docker's disk usage: images, containers, volumes, build cache.
        fn disk(&self) -> BoxFuture<'_, Result<EngineDisk, ApiError>>;

        /// The swarm this engine manages (`manager: false` when none).
        fn swarm(&self) -> BoxFuture<'_, Result<Swarm, ApiError>>;
        /// A swarm service by id, id prefix or name, with its tasks.
        fn service<'a>(
            &'a self,
            reference: &'a str,
        ) -> BoxFuture<'a, Result<ServiceDetail, ApiError>>;

        fn projects(&self) -> BoxFuture<'_, Result<Vec<Project>, ApiError>> {
            Box::pin(async move { self.containers().await.map(model::group_projects) })
        }

        /// 400 for a malformed name, 404 when no container carries it.
        fn project<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Project, ApiError>> {
            Box::pin(async move {
                model::validate_project_name(name)?;
                self.projects()
                    .await?
                    .into_iter()
                    .find(|p| p.name == name)
                    .ok_or_else(|| ApiError::not_found(format!("no such compose project: {name}")))
            })
        }
    }

    pub type SharedBackend = Arc<dyn Backend>;

    /// Every engine the server watches, each with its [`Backend`]; the API's engine-wide
    /// routes and the pages both ask it.
    pub trait EngineDirectory: Send + Sync + 'static {
        /// The engine `on` names, or the default: 400 for a malformed name, 404 unknown.
        fn backend(&self, on: &On) -> Result<SharedBackend, ApiError>;
        /// Every engine, the default first, with its state now.
        fn engines(&self) -> BoxFuture<'_, Vec<EngineInfo>>;
        /// Every container of every engine that answers in time, and the ones that did not.
        fn all_containers(&self) -> BoxFuture<'_, AllContainers>;
    }

    pub type SharedEngines = Arc<dyn EngineDirectory>;

    pub(super) fn directory() -> Result<SharedEngines, ApiError> {
        // The server gives pages rendered for nobody signed in no engines at all.
        leptos::prelude::use_context::<SharedEngines>()
            .ok_or_else(|| ApiError::new(401, "sign in first: no valid session"))
    }

    pub(super) fn backend(on: &On) -> Result<SharedBackend, ApiError> {
        directory()?.backend(on)
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

pub async fn health(on: On) -> Result<Health, ApiError> {
    #[cfg(feature = "ssr")]
    return Ok(server::backend(&on)?.health().await);
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json_any_status(urls::api_health(&on))).await;
}

/// Who is signed in. During SSR the server puts it in the rendering context from the
/// request the gate let through.
pub async fn me() -> Result<Me, ApiError> {
    #[cfg(feature = "ssr")]
    return leptos::prelude::use_context::<Me>()
        .ok_or_else(|| ApiError::new(500, "no caller in the rendering context"));
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::API_ME.into())).await;
}

/// Every engine, the default first, with its state.
pub async fn engines() -> Result<Vec<EngineInfo>, ApiError> {
    #[cfg(feature = "ssr")]
    return Ok(server::directory()?.engines().await);
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::API_ENGINES.into())).await;
}

/// Every container of every engine that answers.
pub async fn all_containers() -> Result<AllContainers, ApiError> {
    #[cfg(feature = "ssr")]
    return Ok(server::directory()?.all_containers().await);
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::API_ALL_CONTAINERS.into())).await;
}

pub async fn dashboard(on: On) -> Result<Dashboard, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.dashboard().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_dashboard(&on))).await;
}

pub async fn containers(on: On) -> Result<Vec<ContainerSummary>, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.containers().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_containers(&on))).await;
}

pub async fn container(on: On, reference: String) -> Result<ContainerDetail, ApiError> {
    // Checked here too so a bad id never leaves the browser.
    crate::model::validate_container_ref(&reference)?;
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.container(&reference).await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_container(&on, &reference))).await;
}

/// Berth's own machine's last sample.
pub async fn host() -> Result<SystemStats, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&On::default_engine())?.host().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::API_HOST.into())).await;
}

pub async fn projects(on: On) -> Result<Vec<Project>, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.projects().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_projects(&on))).await;
}

pub async fn project(on: On, name: String) -> Result<Project, ApiError> {
    crate::model::validate_project_name(&name)?;
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.project(&name).await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_project(&on, &name))).await;
}

/// The engine's images, newest first.
pub async fn images(on: On) -> Result<Vec<ImageSummary>, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.images().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_objects(
        &on,
        crate::resources::Objects::Images,
    )))
    .await;
}

pub async fn image(on: On, reference: String) -> Result<ImageDetail, ApiError> {
    crate::resources::validate_image_ref(&reference)?;
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.image(&reference).await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_object(
        &on,
        crate::resources::Objects::Images,
        &reference,
        false,
    )))
    .await;
}

pub async fn volumes(on: On) -> Result<Vec<VolumeSummary>, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.volumes().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_objects(
        &on,
        crate::resources::Objects::Volumes,
    )))
    .await;
}

pub async fn networks(on: On) -> Result<Vec<NetworkSummary>, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.networks().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_objects(
        &on,
        crate::resources::Objects::Networks,
    )))
    .await;
}

pub async fn disk(on: On) -> Result<EngineDisk, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.disk().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_disk(&on))).await;
}

/// The swarm the engine manages, if it is a manager.
pub async fn swarm(on: On) -> Result<Swarm, ApiError> {
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.swarm().await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_swarm(&on))).await;
}

pub async fn service(on: On, reference: String) -> Result<ServiceDetail, ApiError> {
    crate::model::validate_service_ref(&reference)?;
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.service(&reference).await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_service(&on, &reference))).await;
}

pub async fn container_stats(
    on: On,
    reference: String,
) -> Result<Option<ContainerStats>, ApiError> {
    crate::model::validate_container_ref(&reference)?;
    #[cfg(feature = "ssr")]
    return server::backend(&on)?.container_stats(&reference).await;
    #[cfg(not(feature = "ssr"))]
    return browser::sendable(browser::get_json(urls::api_container_stats(
        &on, &reference,
    )))
    .await;
}

// Actions on containers and projects: asked from the browser only (a button was pressed).

/// Does `action` to a container: its state after, or `None` once removed.
pub async fn act(
    on: On,
    reference: String,
    action: crate::model::Action,
    options: crate::model::ActionOptions,
) -> Result<Option<crate::model::ActionOutcome>, ApiError> {
    #[cfg(feature = "ssr")]
    return {
        let _ = (on, reference, action, options);
        browser_only()
    };
    #[cfg(not(feature = "ssr"))]
    return {
        let method = match action {
            crate::model::Action::Remove => gloo_net::http::Method::DELETE,
            _ => gloo_net::http::Method::POST,
        };
        let path = urls::api_container_action(&on, &reference, action, &options);
        browser::change::<(), _>(method, path, None).await
    };
}

/// One action on several containers: a result per container.
pub async fn act_on_many(
    on: On,
    request: crate::model::BulkAction,
) -> Result<Vec<crate::model::ActionResult>, ApiError> {
    #[cfg(feature = "ssr")]
    return {
        let _ = (on, request);
        browser_only()
    };
    #[cfg(not(feature = "ssr"))]
    return change_to(
        gloo_net::http::Method::POST,
        urls::api_bulk_action(&on),
        &request,
    )
    .await;
}

/// Starts, stops or restarts every member of a compose project.
pub async fn act_on_project(
    on: On,
    name: String,
    action: crate::model::Action,
) -> Result<Vec<crate::model::ActionResult>, ApiError> {
    #[cfg(feature = "ssr")]
    return {
        let _ = (on, name, action);
        browser_only()
    };
    #[cfg(not(feature = "ssr"))]
    return browser::change::<(), _>(
        gloo_net::http::Method::POST,
        urls::api_project_action(&on, &name, action),
        None,
    )
    .await
    .map(Option::unwrap_or_default);
}

// The accounts API, for the admin pages. Their data is loaded in the browser only (the pages
// are for admins, need the Wasm for confirmations anyway, and so each endpoint has one
// handler on the server and one caller here); during SSR these answer an error.

#[cfg(feature = "ssr")]
fn browser_only<T>() -> Result<T, ApiError> {
    Err(ApiError::new(
        500,
        "asked from the browser only (the admin pages, actions)",
    ))
}

/// Sends a change and expects a JSON answer.
#[cfg(not(feature = "ssr"))]
async fn change_to<B: serde::Serialize, T: serde::de::DeserializeOwned>(
    method: gloo_net::http::Method,
    path: String,
    body: &B,
) -> Result<T, ApiError> {
    browser::change(method, path.clone(), Some(body))
        .await?
        .ok_or_else(|| ApiError::new(0, format!("{path} answered no body")))
}

/// Sends a change answered with 204.
#[cfg(not(feature = "ssr"))]
async fn change_quietly<B: serde::Serialize>(
    method: gloo_net::http::Method,
    path: String,
    body: Option<&B>,
) -> Result<(), ApiError> {
    browser::change::<B, serde::de::IgnoredAny>(method, path, body)
        .await
        .map(drop)
}

pub async fn users() -> Result<Vec<User>, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return browser::get_json(urls::API_USERS.into()).await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn add_user(user: NewUser) -> Result<User, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_to(gloo_net::http::Method::POST, urls::API_USERS.into(), &user).await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn set_role(name: String, role: Role) -> Result<(), ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_quietly(
        gloo_net::http::Method::PUT,
        urls::api_user_role(&name),
        Some(&RoleChange { role }),
    )
    .await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn set_password(name: String, password: String) -> Result<(), ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_quietly(
        gloo_net::http::Method::PUT,
        urls::api_user_password(&name),
        Some(&PasswordChange { password }),
    )
    .await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn remove_user(name: String) -> Result<(), ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_quietly::<()>(gloo_net::http::Method::DELETE, urls::api_user(&name), None).await;
}

pub async fn tokens() -> Result<Vec<TokenInfo>, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return browser::get_json(urls::API_TOKENS.into()).await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn create_token(request: TokenRequest) -> Result<NewToken, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_to(
        gloo_net::http::Method::POST,
        urls::API_TOKENS.into(),
        &request,
    )
    .await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn revoke_token(id: String) -> Result<(), ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_quietly::<()>(gloo_net::http::Method::DELETE, urls::api_token(&id), None).await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn audit(query: AuditQuery) -> Result<Vec<AuditEntry>, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return browser::get_json(urls::api_audit(&query)).await;
}

// Changes to images, volumes and networks: asked from the browser only.

/// Removes an image (`force`: also one a stopped container uses), a volume or a network.
#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn remove_object(
    on: On,
    kind: crate::resources::Objects,
    reference: String,
    force: bool,
) -> Result<(), ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_quietly::<()>(
        gloo_net::http::Method::DELETE,
        urls::api_object(&on, kind, &reference, force),
        None,
    )
    .await;
}

/// Removes the unused of a kind (the dangling images): what went and the bytes given back.
#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn prune(
    on: On,
    kind: crate::resources::Objects,
) -> Result<crate::resources::Pruned, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_to(
        gloo_net::http::Method::POST,
        urls::api_prune(&on, kind),
        &(),
    )
    .await;
}

#[cfg_attr(feature = "ssr", allow(unused_variables))]
pub async fn create_volume(
    on: On,
    new: crate::resources::NewVolume,
) -> Result<VolumeSummary, ApiError> {
    #[cfg(feature = "ssr")]
    return browser_only();
    #[cfg(not(feature = "ssr"))]
    return change_to(
        gloo_net::http::Method::POST,
        urls::api_objects(&on, crate::resources::Objects::Volumes),
        &new,
    )
    .await;
}
