//! Accounts: roles, users, who is signed in, API tokens and the audit log, with the
//! bodies and filters of their API calls.

use super::ApiError;
use serde::{Deserialize, Serialize};

/// What a person may do: each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every page, logs and stats.
    Viewer,
    /// A viewer who may also act on containers.
    Operator,
    /// An operator who may also manage users, tokens, the audit log and settings.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, ApiError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                ApiError::bad_request(format!("role must be viewer, operator or admin, not {s:?}"))
            })
    }
}

/// A person who may sign in, as the API shows them (never with a password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Unix milliseconds.
    pub created_at: i64,
    /// A second factor is set up.
    #[serde(default)]
    pub second_factor: bool,
    /// An admin requires one of them.
    #[serde(default)]
    pub second_factor_required: bool,
    /// Who signs in as them from outside (an OpenID provider's subject, a proxy's name).
    #[serde(default)]
    pub identities: Vec<IdentityLink>,
}

/// `GET /api/auth/me`: who is signed in. With accounts off (`--auth off`) there is no name
/// and everyone is an admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub name: Option<String>,
    pub role: Role,
    pub accounts: bool,
    /// Whether this caller may open terminals (`--exec` and the role).
    #[serde(default)]
    pub terminal: bool,
    /// What the sign-in page's button calls the OpenID provider, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_sign_on: Option<String>,
}

impl Me {
    /// Admin pages exist only with accounts on, for admins.
    pub fn may_administer(&self) -> bool {
        self.accounts && self.role == Role::Admin
    }

    /// Container and project actions: operators and admins (everyone with accounts off).
    pub fn may_operate(&self) -> bool {
        self.role >= Role::Operator
    }
}

/// An API token as lists show it: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public handle, for revoking.
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_by: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub last_used: Option<i64>,
}

/// `POST /api/tokens`: the token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub token: String,
    pub info: TokenInfo,
}

/// One line of the audit log: who did what, to what, from where, and whether it worked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    /// A user name, `token:NAME`, `cli`, or the name tried at a failed sign-in.
    pub actor: String,
    /// e.g. `sign-in`, `sign-out`, `user.add`, `token.revoke`.
    pub action: String,
    pub target: Option<String>,
    pub address: Option<String>,
    pub ok: bool,
}

/// `POST /api/users`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// `PUT /api/users/{name}/role`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoleChange {
    pub role: Role,
}

/// `PUT /api/users/{name}/password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordChange {
    pub password: String,
}

/// `POST /api/tokens`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRequest {
    pub name: String,
    pub role: Role,
}

/// Someone outside Berth tied to a user: a trusted proxy's user name (`proxy`) or an
/// OpenID provider's subject (`oidc`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub provider: String,
    pub subject: String,
    /// The e-mail address the provider last gave.
    pub email: Option<String>,
    pub created_at: i64,
}

/// `PUT /api/users/{name}/identities`: ties the user to an identity (an admin's decision;
/// a sign-in never does it by a name or an e-mail that looks the same).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub provider: String,
    pub subject: String,
}

/// A user's second factor, as their account page shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorState {
    /// Set up and confirmed: asked at every password sign-in.
    pub enabled: bool,
    /// Required of this user (by an admin, or of every admin): until it is set up, they
    /// may do nothing else.
    pub required: bool,
    pub recovery_codes_left: u32,
}

/// A second factor being set up: what the authenticator app reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorSetup {
    /// The secret in base32, to type in.
    pub secret: String,
    /// The `otpauth://` link.
    pub link: String,
    /// The link's QR code, an SVG `data:` URL.
    pub qr: String,
}

/// A code from the app (6 digits) or a recovery code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorCode {
    pub code: String,
}

/// The recovery codes, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

/// `PUT /api/users/{name}/second-factor`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondFactorRule {
    pub required: bool,
}

/// `GET /api/audit`'s filters: newest first, `limit` 1 to 500. To page back, `before` is the
/// last entry's time (Unix ms) and `before_id` its id: entries of that same millisecond
/// that were not shown yet come next (without the id, the page starts strictly before).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub before: Option<i64>,
    pub before_id: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: Option<i64>,
}

crate::endpoints! {
    ACCOUNT_ROUTES;
    GET "/api/users" ADMIN => ListUsers {} -> Vec<User>;
    POST "/api/users" ADMIN => AddUser {} body(NewUser) -> User = 201;
    /// Removes a user, ending their sessions and those of the tokens they made.
    DELETE "/api/users/{name}" ADMIN => RemoveUser { name: String } -> () = 204;
    PUT "/api/users/{name}/role" ADMIN => SetRole { name: String } body(RoleChange) -> () = 204;
    PUT "/api/users/{name}/password" ADMIN => SetPassword { name: String } body(PasswordChange)
        -> () = 204;
    /// Who the user is outside Berth (single sign-on, a proxy's sign-in).
    GET "/api/users/{name}/identities" ADMIN => ListIdentities { name: String }
        -> Vec<Identity>;
    /// Ties the user to an identity: its next sign-in is this user's.
    PUT "/api/users/{name}/identities" ADMIN => LinkIdentity { name: String }
        body(IdentityLink) -> () = 204;
    /// Unties the user from their identities at `provider`.
    DELETE "/api/users/{name}/identities/{provider}" ADMIN
        => UnlinkIdentity { name: String, provider: String } -> () = 204;
    /// Your own second factor: set up or not, required or not, recovery codes left.
    GET "/api/account/second-factor" ACCOUNT => GetSecondFactor {} -> SecondFactorState;
    /// Starts setting one up (one being set up is replaced); 409 when one is set up.
    POST "/api/account/second-factor" ACCOUNT => BeginSecondFactor {}
        -> SecondFactorSetup = 201;
    /// Confirms it with a first code from the app; answers the recovery codes, once.
    POST "/api/account/second-factor/confirm" ACCOUNT => ConfirmSecondFactor {}
        body(SecondFactorCode) -> RecoveryCodes;
    /// Turns it off, with a code from the app or a recovery code.
    POST "/api/account/second-factor/off" ACCOUNT => TurnOffSecondFactor {}
        body(SecondFactorCode) -> () = 204;
    /// Requires a second factor of a user (or no longer).
    PUT "/api/users/{name}/second-factor" ADMIN => RequireSecondFactor { name: String }
        body(SecondFactorRule) -> () = 204;
    /// Removes a user's second factor (a lost phone and lost recovery codes).
    DELETE "/api/users/{name}/second-factor" ADMIN => ResetSecondFactor { name: String }
        -> () = 204;
    GET "/api/tokens" ADMIN => ListTokens {} -> Vec<TokenInfo>;
    /// A new API token: its secret is in this answer only.
    POST "/api/tokens" ADMIN => CreateToken {} body(TokenRequest) -> NewToken = 201;
    DELETE "/api/tokens/{id}" ADMIN => RevokeToken { id: String } -> () = 204;
    /// The audit log, newest first, filtered and paged by [`AuditQuery`].
    GET "/api/audit" ADMIN => ReadAudit {} query(AuditQuery) -> Vec<AuditEntry>;
}
