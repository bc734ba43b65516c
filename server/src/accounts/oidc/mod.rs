//! Single sign-on with an OpenID provider (Authentik, Authelia, Keycloak, PocketID,
//! Zitadel, Google): the authorization code flow with PKCE, `state` and `nonce`, the ID
//! token's signature and claims checked by `openidconnect` against the keys the issuer
//! publishes. The provider's discovery document and keys are fetched when first needed
//! (a provider that is down stops nobody but its own users), kept for an hour, and fetched
//! again when a token names a key Berth does not know (the provider rotated its keys), at
//! most every [`KEY_REFETCH_AFTER`]. Every request to the provider goes through Berth's
//! own client ([`crate::outbound`]): one exchange, a deadline, a bounded body, no
//! redirects followed.

mod claims;
pub mod flows;
pub mod settings;

use crate::error::Error;
use flows::Flow;
use openidconnect::{
    AuthorizationCode, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, Scope, TokenResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreIdToken},
    http::{HeaderName, Response},
};
use std::{
    str::FromStr,
    sync::Arc,
    time::{Duration, Instant},
};

/// How long a discovery document and its keys are used before they are fetched again.
const REFRESH_EVERY: Duration = Duration::from_secs(3600);
/// A token signed by a key Berth does not know fetches the keys again, at most this often
/// (a provider that keeps sending unknown keys costs one fetch per this).
pub const KEY_REFETCH_AFTER: Duration = Duration::from_secs(5);
/// After a failed discovery, sign-ins are answered 502 without asking again for this long:
/// a provider that is down costs one fetch per this, not one per visitor.
const FAILURE_KEPT: Duration = Duration::from_secs(5);

type Connected = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What discovery found: the client it makes, and the provider's logout.
struct Discovered {
    client: Connected,
    end_session: Option<EndSessionUrl>,
    at: Instant,
}

/// Who the provider says signed in, from a verified ID token.
#[derive(Debug)]
pub struct Verified {
    /// `sub`: who they are for good at this provider.
    pub subject: String,
    /// `preferred_username`, else the e-mail, else the subject: a new user's name.
    pub name_hint: String,
    /// Only when the provider has not said it is unverified.
    pub email: Option<String>,
    pub groups: Vec<String>,
    /// The token as it came, for the provider's logout (`id_token_hint`).
    pub id_token: String,
}

/// The provider, Berth's client there, and what discovery found.
pub struct Oidc {
    client: settings::Client,
    discovered: tokio::sync::Mutex<Known>,
    /// The origin of the provider's logout, once discovered (the pages' `form-action`).
    logout_origin: std::sync::Mutex<Option<String>>,
}

/// What the last discovery left: its result, or when and why it failed.
#[derive(Default)]
struct Known {
    found: Option<Arc<Discovered>>,
    failed: Option<(Instant, String)>,
}

impl Oidc {
    pub fn new(client: settings::Client) -> Self {
        Self {
            client,
            discovered: tokio::sync::Mutex::new(Known::default()),
            logout_origin: std::sync::Mutex::new(None),
        }
    }

    /// What the sign-in button calls the provider.
    pub fn name(&self) -> &str {
        &self.client.name
    }

    /// The provider's issuer URL.
    pub fn issuer(&self) -> &str {
        self.client.issuer.as_str()
    }

    /// Whether the sign-in page sends browsers straight to the provider.
    pub fn auto_redirect(&self) -> bool {
        self.client.auto_redirect
    }

    /// The origin the provider's logout sends browsers to, once discovered.
    pub fn logout_origin(&self) -> Option<String> {
        self.logout_origin
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The discovered provider; fetched again when older than `max_age`. One fetch at a
    /// time (each bounded by the outbound deadline): sign-ins racing at a cold start wait
    /// for the first. A failed fetch is answered for [`FAILURE_KEPT`] without asking again;
    /// a failed refresh keeps what the last one found.
    async fn discovered(&self, max_age: Duration) -> Result<Arc<Discovered>, Error> {
        let mut held = self.discovered.lock().await;
        if let Some(found) = held.found.as_ref().filter(|d| d.at.elapsed() < max_age) {
            return Ok(found.clone());
        }
        let issuer = self.client.issuer.as_str().to_string();
        let down = |why: &str| {
            Error::new(
                502,
                format!("the identity provider ({issuer}) cannot be asked now: {why}"),
            )
        };
        if let Some((at, why)) = &held.failed
            && at.elapsed() < FAILURE_KEPT
        {
            return held.found.clone().ok_or_else(|| down(why));
        }
        match self.discover().await {
            Ok(found) => {
                let found = Arc::new(found);
                *held = Known {
                    found: Some(found.clone()),
                    failed: None,
                };
                Ok(found)
            }
            Err(why) => {
                tracing::warn!(%issuer, "OpenID discovery failed: {why}");
                held.failed = Some((Instant::now(), why.clone()));
                held.found.clone().ok_or_else(|| down(&why))
            }
        }
    }

    /// The provider's discovery document and keys, fetched now. Its endpoints must be as
    /// safe as its issuer: https, unless the issuer itself is on loopback.
    async fn discover(&self) -> Result<Discovered, String> {
        let metadata =
            ProviderMetadataWithLogout::discover_async(self.client.issuer.clone(), &http)
                .await
                .map_err(|e| error_chain(&e))?;
        let issuer_is_tls = self.client.issuer.url().scheme() == "https";
        let endpoints = [
            Some(metadata.authorization_endpoint().url()),
            metadata.token_endpoint().map(|t| t.url()),
            Some(metadata.jwks_uri().url()),
        ];
        if let Some(plain) = endpoints
            .into_iter()
            .flatten()
            .find(|url| issuer_is_tls && url.scheme() != "https")
        {
            return Err(format!(
                "its discovery document names a plain http endpoint ({plain}): the client \
                 secret and the tokens would cross the network in clear"
            ));
        }
        let end_session = metadata.additional_metadata().end_session_endpoint.clone();
        *self.logout_origin.lock().unwrap_or_else(|p| p.into_inner()) = end_session
            .as_ref()
            .map(|url| url.url().origin().ascii_serialization());
        let client = CoreClient::from_provider_metadata(
            metadata,
            self.client.id.clone(),
            self.client.secret.clone(),
        )
        .set_redirect_uri(self.client.redirect.clone());
        Ok(Discovered {
            client,
            end_session,
            at: Instant::now(),
        })
    }

    /// A new sign-in: the provider's URL to send the browser to, and what to keep until it
    /// comes back (its `state`, `nonce` and PKCE verifier, and `next`).
    pub async fn start(&self, next: &str) -> Result<(String, Flow), Error> {
        let found = self.discovered(REFRESH_EVERY).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = found.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in &self.client.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next: next.to_string(),
        };
        Ok((url.to_string(), flow))
    }

    /// The provider's `code` for `flow`, exchanged (with the PKCE verifier) for tokens,
    /// and the ID token verified: signature, issuer, audience, expiry and `nonce`. 401 for
    /// a code or token the provider or Berth refuses; 502 when the provider cannot be asked.
    pub async fn finish(&self, flow: &Flow, code: &str) -> Result<Verified, Error> {
        let found = self.discovered(REFRESH_EVERY).await?;
        let request = found
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| {
                Error::new(
                    502,
                    format!("the identity provider has no token endpoint: {e}"),
                )
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()));
        let tokens = request.request_async(&http).await.map_err(|e| {
            Error::new(
                401,
                format!(
                    "the identity provider refused the sign-in: {}",
                    error_chain(&e)
                ),
            )
        })?;
        let Some(token) = tokens.id_token() else {
            return Err(Error::new(401, "the identity provider sent no ID token"));
        };
        let nonce = Nonce::new(flow.nonce.clone());
        let mut verified = self.verify(&found, token, &nonce);
        if matches!(&verified, Err(Unknown::Key)) && found.at.elapsed() >= KEY_REFETCH_AFTER {
            // The provider may have rotated its keys since they were fetched.
            let fresh = self.discovered(KEY_REFETCH_AFTER).await?;
            verified = self.verify(&fresh, token, &nonce);
        }
        verified.map_err(|e| {
            let why = match e {
                Unknown::Key => "it is signed with a key the provider does not publish".to_string(),
                Unknown::Claims(why) => why,
            };
            tracing::warn!("refused an ID token: {why}");
            Error::new(
                401,
                format!("the identity provider's ID token is refused: {why}"),
            )
        })
    }

    /// The ID token's claims, checked with `found`'s keys.
    fn verify(
        &self,
        found: &Discovered,
        token: &CoreIdToken,
        nonce: &Nonce,
    ) -> Result<Verified, Unknown> {
        use openidconnect::{ClaimsVerificationError as C, SignatureVerificationError as S};
        let checked = token.claims(&found.client.id_token_verifier(), nonce);
        let claims = match checked {
            Ok(claims) => claims,
            Err(C::SignatureVerification(S::NoMatchingKey)) => return Err(Unknown::Key),
            Err(e) => return Err(Unknown::Claims(error_chain(&e))),
        };
        let raw = token.to_string();
        let payload = claims::payload(&raw)
            .ok_or_else(|| Unknown::Claims("its payload is not JSON".to_string()))?;
        let subject = claims.subject().as_str().to_string();
        let email = claims
            .email()
            .filter(|_| claims.email_verified() != Some(false))
            .map(|e| e.as_str().to_string());
        let name_hint = claims
            .preferred_username()
            .map(|u| u.as_str().to_string())
            .or_else(|| email.clone())
            .unwrap_or_else(|| subject.clone());
        Ok(Verified {
            subject,
            name_hint,
            email,
            groups: claims::groups(&payload, &self.client.groups_claim),
            id_token: raw,
        })
    }

    /// Where signing out sends the browser to end the provider's session too (RP-initiated
    /// logout, with the ID token the session began with and a way back to Berth); `None`
    /// when the provider has no logout or cannot be asked now.
    pub async fn logout_url(&self, id_token: &str) -> Option<String> {
        let found = self.discovered(REFRESH_EVERY).await.ok()?;
        let end_session = found.end_session.clone()?;
        let mut request = LogoutRequest::from(end_session)
            .set_client_id(self.client.id.clone())
            .set_post_logout_redirect_uri(
                PostLogoutRedirectUrl::new(self.client.after_logout.clone()).ok()?,
            );
        if let Ok(token) = CoreIdToken::from_str(id_token) {
            request = request.set_id_token_hint(&token);
        }
        Some(request.http_get_url().to_string())
    }
}

/// Why a token was refused: a key Berth does not know (fetch them again), or anything else.
enum Unknown {
    Key,
    Claims(String),
}

/// An error and its sources, in one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A request of `openidconnect`'s, through Berth's own client.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

async fn http(
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let url = crate::outbound::Url::parse(&parts.uri.to_string())
        .ok_or_else(|| HttpError(format!("{} is not a URL Berth asks", parts.uri)))?;
    let headers: Vec<(HeaderName, String)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.to_str().ok()?.to_string())))
        .collect();
    let answer = crate::outbound::request(parts.method, &url, &headers, body.into())
        .await
        .map_err(HttpError)?;
    let mut response = Response::new(answer.body.to_vec());
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    Ok(response)
}
