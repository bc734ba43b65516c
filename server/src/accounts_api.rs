//! `/api/users` and `/api/tokens`: accounts and API tokens, for admins only (403 for anyone
//! else, 404 with `--auth off`). Changing someone's role, removing them or revoking a token
//! ends their sessions, and with them, at once, every socket those opened.

use crate::{
    AppState,
    accounts::{gate::Auth, sessions::Caller, tokens, users},
    api::JsonError,
};
use app::model::{ApiError, NewToken, Role, TokenInfo, User};
use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, request::Parts},
    routing::{get, put},
};
use serde::Deserialize;
use std::sync::Arc;

pub fn users() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(add))
        .route("/{name}", axum::routing::delete(remove))
        .route("/{name}/role", put(set_role))
        .route("/{name}/password", put(set_password))
}

pub fn tokens() -> Router<AppState> {
    Router::new()
        .route("/", get(list_tokens).post(create_token))
        .route("/{id}", axum::routing::delete(revoke_token))
}

/// A request by a signed-in admin.
pub struct Admin(pub Caller, pub Arc<Auth>);

impl FromRequestParts<AppState> for Admin {
    type Rejection = JsonError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, JsonError> {
        let auth = state.auth.clone().ok_or_else(|| {
            ApiError::not_found("accounts are off (--auth off): there are no users")
        })?;
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::new(401, "sign in first: no valid session"))?;
        if caller.role != Role::Admin {
            return Err(ApiError::new(403, "only an admin may manage users and tokens").into());
        }
        Ok(Self(caller, auth))
    }
}

#[derive(Deserialize)]
struct NewUser {
    name: String,
    role: Role,
    password: String,
}

#[derive(Deserialize)]
struct NewRole {
    role: Role,
}

#[derive(Deserialize)]
struct NewPassword {
    password: String,
}

type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(body: Body<T>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

async fn list(Admin(_, auth): Admin) -> Result<Json<Vec<User>>, JsonError> {
    Ok(Json(users::list(&auth.store).await?))
}

async fn add(
    Admin(by, auth): Admin,
    new: Body<NewUser>,
) -> Result<(StatusCode, Json<User>), JsonError> {
    let new = body(new)?;
    let user = users::add(&auth.store, &new.name, new.role, new.password).await?;
    tracing::info!(by = %by.name, user = %user.name, role = user.role.as_str(), "user added");
    Ok((StatusCode::CREATED, Json(user)))
}

async fn set_role(
    State(state): State<AppState>,
    Admin(by, auth): Admin,
    Path(name): Path<String>,
    new: Body<NewRole>,
) -> Result<StatusCode, JsonError> {
    let new = body(new)?;
    users::set_role(&auth.store, &name, new.role).await?;
    state
        .streams
        .owners
        .end_user(&name, "your role changed: sign in again");
    tracing::info!(by = %by.name, user = %name, role = new.role.as_str(), "role changed");
    Ok(StatusCode::NO_CONTENT)
}

async fn set_password(
    Admin(by, auth): Admin,
    Path(name): Path<String>,
    new: Body<NewPassword>,
) -> Result<StatusCode, JsonError> {
    let new = body(new)?;
    users::set_password(&auth.store, &name, new.password).await?;
    tracing::info!(by = %by.name, user = %name, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(state): State<AppState>,
    Admin(by, auth): Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, JsonError> {
    users::remove(&auth.store, &name).await?;
    state
        .streams
        .owners
        .end_user(&name, "your account was removed");
    tracing::info!(by = %by.name, user = %name, "user removed");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct TokenRequest {
    name: String,
    role: Role,
}

async fn list_tokens(Admin(_, auth): Admin) -> Result<Json<Vec<TokenInfo>>, JsonError> {
    Ok(Json(tokens::list(&auth.store).await?))
}

/// The token is in this answer only: it is stored hashed.
async fn create_token(
    Admin(by, auth): Admin,
    new: Body<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), JsonError> {
    let new = body(new)?;
    let token = tokens::create(&auth.store, &new.name, new.role, Some(&by.name)).await?;
    tracing::info!(by = %by.name, token = %token.info.name, id = %token.info.id, "token created");
    Ok((StatusCode::CREATED, Json(token)))
}

async fn revoke_token(
    State(state): State<AppState>,
    Admin(by, auth): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, JsonError> {
    tokens::revoke(&auth.store, &id).await?;
    state
        .streams
        .owners
        .end_session(&tokens::owner_key(&id), "the token was revoked");
    tracing::info!(by = %by.name, %id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
