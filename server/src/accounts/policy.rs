//! Who may sign in how (`berth --help`, "Sign-in from outside"): the groups that make
//! roles, the proxy that vouches for users (`--auth proxy`), and whether local passwords
//! are a way in (`--local-login`). [`IdentitySettings::check`] refuses, before Berth
//! starts, a setting that would let anyone in on a header or leave no admin a way in.

use super::{
    AuthMode,
    forward::ForwardAuth,
    groups::{self, DefaultRole, GroupRoles},
    oidc::{Oidc, settings::OidcSettings},
};
use app::model::Role;
use axum::http::HeaderName;
use std::net::IpAddr;

/// Which local accounts may sign in with their password.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalLogin {
    All,
    /// Admins only: the way in when the provider is down.
    Admins,
    /// Nobody: only the provider or the proxy signs people in.
    Off,
}

impl LocalLogin {
    /// Whether a local user with `role` may sign in with a password.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Self::All => true,
            Self::Admins => role == Role::Admin,
            Self::Off => false,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
#[command(next_help_heading = "Sign-in from outside")]
pub struct IdentitySettings {
    /// A group whose members get a role, as `GROUP=ROLE` (viewer, operator, admin); repeat
    /// for several (in the environment, separated by commas). The highest role of a user's
    /// groups wins, set again at every sign-in.
    #[arg(
        long = "group-role",
        env = "BERTH_GROUP_ROLE",
        value_delimiter = ',',
        value_name = "GROUP=ROLE",
        value_parser = groups::parse_pair
    )]
    pub group_roles: Vec<(String, Role)>,

    /// The role of a user in no mapped group, or `refused` to keep them out.
    #[arg(long, env = "BERTH_DEFAULT_ROLE", value_enum, default_value_t = DefaultRole::Viewer)]
    pub default_role: DefaultRole,

    /// Which local accounts sign in with a password: `all`, `admins` (the way in when the
    /// provider is down), or `off` (only with a group mapped to admin).
    #[arg(long, env = "BERTH_LOCAL_LOGIN", value_enum, default_value_t = LocalLogin::All)]
    pub local_login: LocalLogin,

    /// With `--auth proxy`: the header that names the user, set by the proxy.
    #[arg(long, env = "BERTH_PROXY_USER_HEADER", default_value = "Remote-User", value_parser = header_name)]
    pub proxy_user_header: HeaderName,

    /// With `--auth proxy`: the header of the user's groups, separated by commas.
    #[arg(long, env = "BERTH_PROXY_GROUPS_HEADER", default_value = "Remote-Groups", value_parser = header_name)]
    pub proxy_groups_header: HeaderName,

    /// With `--auth proxy`: the header of the user's e-mail address.
    #[arg(long, env = "BERTH_PROXY_EMAIL_HEADER", default_value = "Remote-Email", value_parser = header_name)]
    pub proxy_email_header: HeaderName,

    /// With `--auth proxy`: where signing out sends the browser (the proxy's own sign-out,
    /// e.g. `https://auth.example.com/logout`), since only the proxy can end its session.
    #[arg(long, env = "BERTH_PROXY_LOGOUT_URL", value_name = "URL", value_parser = absolute_url)]
    pub proxy_logout_url: Option<String>,

    #[command(flatten)]
    pub oidc: OidcSettings,
}

fn header_name(s: &str) -> Result<HeaderName, String> {
    HeaderName::try_from(s).map_err(|e| format!("{s:?} is not a header name: {e}"))
}

/// An `http(s)://` URL without spaces or quotes (it goes into a `Location` header).
pub fn absolute_url(s: &str) -> Result<String, String> {
    let fine = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 2048
        && s.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
    match fine {
        true => Ok(s.to_string()),
        false => Err(format!("expected an http:// or https:// URL, not {s:?}")),
    }
}

impl IdentitySettings {
    pub fn group_roles(&self) -> GroupRoles {
        GroupRoles::new(self.group_roles.clone(), self.default_role)
    }

    /// Refuses what would let a header sign anyone in, or leave no admin a way in, and a
    /// provider Berth could not use (`public_url`: `--public-url`).
    pub fn check(
        &self,
        auth: AuthMode,
        trusted: &[IpAddr],
        public_url: Option<&str>,
    ) -> Result<(), String> {
        if self.oidc.enabled() && auth == AuthMode::Off {
            return Err("--oidc-issuer signs people in: it needs accounts (not --auth off)".into());
        }
        self.oidc.client(public_url)?;
        if auth == AuthMode::Proxy && trusted.is_empty() {
            return Err(
                "--auth proxy believes the proxy's word for who a user is: name that \
                        proxy with --trusted-proxy (anyone else could send the header)"
                    .into(),
            );
        }
        let from_outside = auth == AuthMode::Proxy || self.oidc.enabled();
        if self.local_login == LocalLogin::Off
            && !(from_outside && self.group_roles().has_admin_group())
        {
            return Err(
                "--local-login off leaves no admin a way in: use it with --auth proxy or \
                        --oidc-issuer, and a group mapped to admin (--group-role GROUP=admin)"
                    .into(),
            );
        }
        Ok(())
    }

    /// Single sign-on, with `--oidc-issuer` (the settings were checked: [`Self::check`]).
    pub fn single_sign_on(&self, public_url: Option<&str>) -> Option<Oidc> {
        let client = self.oidc.client(public_url).ok().flatten()?;
        Some(Oidc::new(client))
    }

    /// The proxy's sign-in, with `--auth proxy`.
    pub fn forward_auth(&self, auth: AuthMode, trusted: &[IpAddr]) -> Option<ForwardAuth> {
        (auth == AuthMode::Proxy).then(|| ForwardAuth {
            user: self.proxy_user_header.clone(),
            groups: self.proxy_groups_header.clone(),
            email: self.proxy_email_header.clone(),
            roles: self.group_roles(),
            trusted: trusted.to_vec(),
            logout_url: self.proxy_logout_url.clone(),
        })
    }
}
