//! Forward authentication (`--auth proxy`): a proxy in front of Berth (Authelia,
//! Authentik, oauth2-proxy behind nginx or Caddy) signs the user in and names them in
//! `Remote-User`, with `Remote-Groups` and `Remote-Email`. Berth believes those headers
//! only on a connection from a `--trusted-proxy` address; from anyone else they are
//! ignored. The groups set the user's role at every request, so sockets opened before a
//! group was taken away end at the next sweep ([`crate::http::ws::owners`]).

use super::{
    groups::{GroupRoles, split_list},
    identities::{self, Outside},
    sessions::Caller,
};
use crate::{error::Error, store::Store};
use axum::http::{HeaderMap, HeaderName};
use std::net::IpAddr;

/// What owner key a proxy user's sockets are registered under: the user, whose role the
/// sweep reads (there is no session of Berth's to end).
pub const OWNER_PREFIX: &str = "proxy:";

/// The proxy's headers, and whom to believe.
pub struct ForwardAuth {
    pub user: HeaderName,
    pub groups: HeaderName,
    pub email: HeaderName,
    pub roles: GroupRoles,
    pub trusted: Vec<IpAddr>,
    pub logout_url: Option<String>,
}

/// What a proxy user's signing in did, for the audit log.
pub struct Arrival {
    pub caller: Caller,
    pub signed: identities::SignedIn,
}

impl ForwardAuth {
    /// The user a trusted proxy names on this request, made or brought up to date; `None`
    /// when `peer` is not a trusted proxy or it names nobody. 403 when their groups give
    /// them no role; 400 when the header is no name.
    pub async fn arrival(
        &self,
        store: &Store,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> Result<Option<Arrival>, Error> {
        if !crate::client_addr::is_trusted(peer, &self.trusted) {
            return Ok(None);
        }
        // One value each, in UTF-8 (group names need not be ASCII): two of a header mean
        // something between the proxy and Berth added one, and nobody can say which is
        // the proxy's.
        let text = |name: &HeaderName| -> Result<Option<&str>, Error> {
            let mut values = headers.get_all(name).iter();
            let (value, more) = (values.next(), values.next());
            match (value.map(|v| std::str::from_utf8(v.as_bytes())), more) {
                (_, Some(_)) => Err(Error::bad_request(format!(
                    "the proxy sent {name} more than once"
                ))),
                (None, _) => Ok(None),
                (Some(Ok(v)), _) if v.trim().is_empty() => Ok(None),
                (Some(Ok(v)), _) => Ok(Some(v.trim())),
                (Some(Err(_)), _) => Err(Error::bad_request(format!(
                    "the proxy's {name} header is not UTF-8"
                ))),
            }
        };
        let Some(user) = text(&self.user)? else {
            return Ok(None);
        };
        let groups = split_list(text(&self.groups)?.unwrap_or_default());
        let Some(role) = self.roles.role(&groups) else {
            return Err(Error::new(
                403,
                format!(
                    "{user:?} may not use Berth: none of their groups is given a role \
                     (--group-role) and --default-role is refused"
                ),
            ));
        };
        let email = text(&self.email)?.filter(|e| e.len() <= 320);
        let signed = identities::sign_in(
            store,
            &Outside {
                provider: "proxy",
                subject: user,
                name_hint: user,
                email,
                role,
            },
        )
        .await?;
        let caller = Caller {
            name: signed.name.clone(),
            role,
            session: Some(format!("{OWNER_PREFIX}{}", signed.name)),
            second_factor_due: false,
            single_sign_on: false,
        };
        Ok(Some(Arrival { caller, signed }))
    }
}
