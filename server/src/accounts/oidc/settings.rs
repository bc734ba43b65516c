//! Single sign-on's flags (`berth --help`, "Sign-in from outside"): which provider, who
//! Berth is to it, and what its answers are read for.

use openidconnect::{ClientId, ClientSecret, IssuerUrl, RedirectUrl};

/// Where the provider sends the browser back, under `--public-url`.
pub const CALLBACK_PATH: &str = "/api/auth/oidc/callback";

#[derive(clap::Args, Debug, Clone)]
pub struct OidcSettings {
    /// Single sign-on: the OpenID provider's issuer URL (its discovery document is at
    /// `ISSUER/.well-known/openid-configuration`). https, or http on loopback. Needs
    /// `--public-url`, whose `/api/auth/oidc/callback` is the redirect URI to register.
    #[arg(long, env = "BERTH_OIDC_ISSUER", value_name = "URL")]
    pub oidc_issuer: Option<String>,

    /// With `--oidc-issuer`: Berth's client id at the provider.
    #[arg(long, env = "BERTH_OIDC_CLIENT_ID", value_name = "ID")]
    pub oidc_client_id: Option<String>,

    /// With `--oidc-issuer`: the client secret (better in the environment, or
    /// `--oidc-client-secret-file`, than on a command line anyone can list).
    #[arg(
        long,
        env = "BERTH_OIDC_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,

    /// With `--oidc-issuer`: a file holding the client secret (a Docker or systemd secret).
    #[arg(long, env = "BERTH_OIDC_CLIENT_SECRET_FILE", value_name = "PATH")]
    pub oidc_client_secret_file: Option<std::path::PathBuf>,

    /// The scopes asked for, `openid` always among them; add the one that brings the
    /// groups when the provider has one (`groups` at Authentik and Authelia).
    #[arg(long = "oidc-scope", env = "BERTH_OIDC_SCOPES", value_delimiter = ',', default_values_t = ["openid".to_string(), "profile".to_string(), "email".to_string()])]
    pub oidc_scopes: Vec<String>,

    /// The ID token's claim that lists the user's groups, as a path of names separated by
    /// dots (Keycloak's realm roles: `realm_access.roles`).
    #[arg(long, env = "BERTH_OIDC_GROUPS_CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,

    /// What the sign-in button calls the provider ("Sign in with …").
    #[arg(long, env = "BERTH_OIDC_NAME", default_value = "single sign-on")]
    pub oidc_name: String,

    /// Send the sign-in page straight to the provider (`/login?local` still shows Berth's
    /// own form, for local accounts).
    #[arg(long, env = "BERTH_OIDC_AUTO_REDIRECT")]
    pub oidc_auto_redirect: bool,
}

/// The provider and Berth's client there, checked.
#[derive(Clone, Debug)]
pub struct Client {
    pub issuer: IssuerUrl,
    pub id: ClientId,
    pub secret: Option<ClientSecret>,
    pub scopes: Vec<String>,
    pub groups_claim: Vec<String>,
    pub name: String,
    pub auto_redirect: bool,
    pub redirect: RedirectUrl,
    /// Where the provider's logout sends the browser back: Berth's sign-in page.
    pub after_logout: String,
}

impl OidcSettings {
    /// Whether single sign-on is configured.
    pub fn enabled(&self) -> bool {
        self.oidc_issuer.is_some()
    }

    /// The client these flags describe, `None` without `--oidc-issuer`; `Err` says which
    /// flag is wrong or missing.
    pub fn client(&self, public_url: Option<&str>) -> Result<Option<Client>, String> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        let loopback = crate::outbound::Url::parse(issuer)
            .filter(|url| url.tls || crate::outbound::is_loopback_host(&url.host));
        if loopback.is_none() || issuer.contains(['?', '#']) {
            return Err(format!(
                "--oidc-issuer must be an https:// URL (or http:// on loopback), not {issuer:?}"
            ));
        }
        // Exactly as given: the provider's discovery document and tokens must name the same
        // string (Authentik's ends in `/`, Keycloak's does not).
        let issuer =
            IssuerUrl::new(issuer.clone()).map_err(|e| format!("--oidc-issuer {issuer:?}: {e}"))?;
        let id = self
            .oidc_client_id
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or("--oidc-issuer needs --oidc-client-id")?;
        let secret = match (&self.oidc_client_secret, &self.oidc_client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(
                    "give --oidc-client-secret or --oidc-client-secret-file, not both".into(),
                );
            }
            (Some(secret), None) => Some(secret.clone()),
            (None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| format!("--oidc-client-secret-file {}: {e}", file.display()))?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        let public = public_url
            .ok_or("--oidc-issuer needs --public-url: the provider sends the browser back there")?
            .trim_end_matches('/');
        let redirect = RedirectUrl::new(format!("{public}{CALLBACK_PATH}"))
            .map_err(|e| format!("--public-url {public:?}: {e}"))?;
        let mut scopes = self.oidc_scopes.clone();
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".into());
        }
        if let Some(bad) = scopes.iter().find(|s| {
            s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }) {
            return Err(format!("--oidc-scope {bad:?} is not a scope"));
        }
        let groups_claim: Vec<String> = self
            .oidc_groups_claim
            .split('.')
            .map(str::to_string)
            .collect();
        if groups_claim.iter().any(String::is_empty) {
            return Err(format!(
                "--oidc-groups-claim {:?}: names separated by single dots",
                self.oidc_groups_claim
            ));
        }
        Ok(Some(Client {
            issuer,
            id: ClientId::new(id),
            secret: secret.filter(|s| !s.is_empty()).map(ClientSecret::new),
            scopes: scopes.into_iter().filter(|s| s != "openid").collect(),
            groups_claim,
            name: self.oidc_name.clone(),
            auto_redirect: self.oidc_auto_redirect,
            redirect,
            after_logout: format!("{public}{}", app::urls::LOGIN),
        }))
    }
}
