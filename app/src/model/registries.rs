//! Registry credentials: who Berth signs in to a private registry as, for update checks
//! and pulls. Admins store them; the password never comes back from the server.

use serde::{Deserialize, Serialize};

/// A registry Berth holds credentials for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryLogin {
    /// `docker.io`, or `host[:port]` as image references name it.
    pub registry: String,
    pub username: String,
    /// When they were stored (unix ms).
    pub updated_ms: i64,
    /// Berth's key opens them (false: sealed with another key, so they are not used).
    pub readable: bool,
}

/// `PUT /api/registries/{registry}`: the credentials to store (a password or an access
/// token).
#[derive(Clone, Serialize, Deserialize)]
pub struct NewRegistryLogin {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for NewRegistryLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRegistryLogin")
            .field("username", &self.username)
            .field("password", &"…")
            .finish()
    }
}

crate::endpoints! {
    REGISTRY_ROUTES;
    /// The registries Berth holds credentials for: names and users, never passwords.
    GET "/api/registries" ADMIN => ListRegistryLogins {} -> Vec<RegistryLogin>;
    /// Stores (or replaces) the credentials for a registry, sealed at rest with Berth's
    /// key; used for update checks and pulls from it on every engine.
    PUT "/api/registries/{registry}" ADMIN => SetRegistryLogin { registry: String }
        body(NewRegistryLogin) -> () = 204;
    /// Forgets the credentials for a registry; 404 when none are stored.
    DELETE "/api/registries/{registry}" ADMIN => RemoveRegistryLogin { registry: String }
        -> () = 204;
}
