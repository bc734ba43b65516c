//! `/api/users`, `/api/tokens` and `/api/audit`: accounts, API tokens and the audit log,
//! for admins only (403 for anyone else, 404 with `--auth off`); every change is audited.
//! Changing someone's role or password, removing them or revoking a token ends their
//! sessions (a new password: all but the one that set it), and with them, at once, every
//! socket those opened; a new role or a removal also ends the sockets of the tokens they
//! made.

use super::mount::{Api, Call};
use crate::{
    accounts::{
        audit::{Event, Filter},
        identities,
        sessions::Caller,
        tokens, users,
    },
    error::Error,
    http::{AppState, extract::AppQuery, gate::Auth},
};
use app::model::{
    AddUser, AuditEntry, CreateToken, Identity, LinkIdentity, ListIdentities, ListTokens,
    ListUsers, NewToken, ReadAudit, RemoveUser, RevokeToken, Role, SetPassword, SetRole, TokenInfo,
    UnlinkIdentity, User,
};
use axum::{Json, extract::FromRequestParts, http::request::Parts};
use std::{net::IpAddr, sync::Arc};

/// The endpoints of users, tokens and the audit log.
pub fn routes(api: Api) -> Api {
    api.call(list)
        .call(add)
        .call(remove)
        .call(set_role)
        .call(set_password)
        .call(list_identities)
        .call(link_identity)
        .call(unlink_identity)
        .call(list_tokens)
        .call(create_token)
        .call(revoke_token)
        .mount::<ReadAudit, _, _>(audit_log)
}

/// A request by a signed-in admin, from `address`.
pub struct Admin(pub Caller, pub Arc<Auth>, pub Option<IpAddr>);

impl Admin {
    /// Writes what this admin did to the audit log.
    pub async fn audit(&self, action: &str, target: &str) {
        self.1
            .audit
            .record(Event {
                actor: &self.0.name,
                action,
                target: Some(target),
                address: self.2,
                ok: true,
            })
            .await;
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let (caller, auth, address) = signed_in(parts, state, "there are no users")?;
        if caller.role != Role::Admin {
            return Err(Error::new(
                403,
                "only an admin may manage users and tokens or read the audit log",
            ));
        }
        Ok(Self(caller, auth, address))
    }
}

/// Who asks, with the accounts and their address: 404 with `--auth off` (saying `off`:
/// what there is not), 401 without a caller.
pub fn signed_in(
    parts: &Parts,
    state: &AppState,
    off: &str,
) -> Result<(Caller, Arc<Auth>, Option<IpAddr>), Error> {
    let auth = state
        .auth
        .clone()
        .ok_or_else(|| Error::not_found(format!("accounts are off (--auth off): {off}")))?;
    let caller = parts
        .extensions
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Error::new(401, "sign in first: no valid session"))?;
    let address = crate::client_addr::of_request(parts, &state.sockets.trusted_proxies);
    Ok((caller, auth, address))
}

async fn list(Admin(_, auth, _): Admin, _: Call<ListUsers>) -> Result<Vec<User>, Error> {
    users::list(&auth.store).await
}

async fn add(admin: Admin, call: Call<AddUser>) -> Result<User, Error> {
    let new = call.body;
    let user = users::add(&admin.1.store, &new.name, new.role, new.password).await?;
    admin
        .audit(
            "user.add",
            &format!("{} ({})", user.name, user.role.as_str()),
        )
        .await;
    Ok(user)
}

async fn set_role(admin: Admin, call: Call<SetRole>) -> Result<(), Error> {
    let (name, new) = (call.params.name, call.body);
    let made = tokens::made_by(&admin.1.store, &name).await?;
    users::set_role(&admin.1.store, &name, new.role).await?;
    end_user(
        &call.state,
        &name,
        &made,
        "your role changed: sign in again",
    );
    admin
        .audit("user.role", &format!("{name} ({})", new.role.as_str()))
        .await;
    Ok(())
}

/// Ends the sockets of `name`'s sessions and of the tokens they made.
fn end_user(state: &AppState, name: &str, tokens_made: &[String], reason: &str) {
    let owners = &state.sockets.owners;
    owners.end_user(name, reason);
    for id in tokens_made {
        owners.end_session(&tokens::owner_key(id), reason);
    }
}

/// A new password: every other session of the user ends, with its sockets; an admin who
/// sets their own keeps the session they set it from.
async fn set_password(admin: Admin, call: Call<SetPassword>) -> Result<(), Error> {
    let (name, new) = (call.params.name, call.body);
    let keep = (admin.0.name == name)
        .then(|| admin.0.session.clone())
        .flatten();
    users::set_password(&admin.1.store, &name, new.password, keep.as_deref()).await?;
    call.state.sockets.owners.end_user_except(
        &name,
        keep.as_deref(),
        "your password changed: sign in again",
    );
    admin.audit("user.password", &name).await;
    Ok(())
}

async fn remove(admin: Admin, call: Call<RemoveUser>) -> Result<(), Error> {
    let name = call.params.name;
    let made = tokens::made_by(&admin.1.store, &name).await?;
    users::remove(&admin.1.store, &name).await?;
    end_user(&call.state, &name, &made, "your account was removed");
    admin.audit("user.remove", &name).await;
    Ok(())
}

async fn list_identities(
    Admin(_, auth, _): Admin,
    call: Call<ListIdentities>,
) -> Result<Vec<Identity>, Error> {
    identities::list(&auth.store, &call.params.name).await
}

/// The user's sessions and sockets stay: a link adds a way in, it takes none away.
async fn link_identity(admin: Admin, call: Call<LinkIdentity>) -> Result<(), Error> {
    let (name, link) = (call.params.name, call.body);
    identities::link(&admin.1.store, &name, &link.provider, &link.subject).await?;
    let target = format!("{name} ({} {})", link.provider, link.subject);
    admin
        .audit("user.link", &crate::accounts::audit::plain(&target, 400))
        .await;
    Ok(())
}

async fn unlink_identity(admin: Admin, call: Call<UnlinkIdentity>) -> Result<(), Error> {
    let UnlinkIdentity { name, provider } = call.params;
    identities::unlink(&admin.1.store, &name, &provider).await?;
    // What the proxy's word opened ends with it.
    let owner = format!("{}{name}", crate::accounts::forward::OWNER_PREFIX);
    (call.state.sockets.owners).end_session(&owner, "your sign-in was unlinked");
    admin
        .audit("user.unlink", &format!("{name} ({provider})"))
        .await;
    Ok(())
}

async fn list_tokens(
    Admin(_, auth, _): Admin,
    _: Call<ListTokens>,
) -> Result<Vec<TokenInfo>, Error> {
    tokens::list(&auth.store).await
}

/// The token is in this answer only: it is stored hashed.
async fn create_token(admin: Admin, call: Call<CreateToken>) -> Result<NewToken, Error> {
    let new = call.body;
    let token = tokens::create(&admin.1.store, &new.name, new.role, Some(&admin.0.name)).await?;
    let target = format!(
        "{} ({}, id {})",
        token.info.name,
        new.role.as_str(),
        token.info.id
    );
    admin.audit("token.create", &target).await;
    Ok(token)
}

async fn revoke_token(admin: Admin, call: Call<RevokeToken>) -> Result<(), Error> {
    let id = call.params.id;
    let name = tokens::revoke(&admin.1.store, &id).await?;
    call.state
        .sockets
        .owners
        .end_session(&tokens::owner_key(&id), "the token was revoked");
    admin
        .audit("token.revoke", &format!("{name} (id {id})"))
        .await;
    Ok(())
}

/// Newest first; `before` (Unix ms) pages back, `actor` and `action` filter, `limit` 1 to 500
/// (the filter is the store's own type, so this one takes its query itself).
async fn audit_log(
    Admin(_, auth, _): Admin,
    AppQuery(filter): AppQuery<Filter>,
) -> Result<Json<Vec<AuditEntry>>, Error> {
    auth.audit.list(&filter).await.map(Json)
}
