//! Single sign-on through a real, certified OpenID provider (panva's `oidc-provider`, on
//! loopback; `common/oidc.rs`). The test is the browser: it follows Berth's redirect to the
//! provider, signs in there as a user the provider knows (its login and consent forms),
//! and brings the provider's answer back to Berth. Groups make roles at every sign-in; a
//! forged state, a replayed code, a wrong nonce, a token signed by a key the provider does
//! not publish and an expired token are refused; rotated keys are picked up; signing out
//! ends the provider's session too.

use crate::common::{
    CLIENT_ID, CLIENT_SECRET, DataDir, OpenIdProvider, TestServer, WsClient, free_port,
};
use crate::signin::{PASSWORD, add, assert_ended};
use app::model::Role;
use berth::{DefaultRole, Location, Settings};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Duration};

/// A browser: no redirects followed, its cookies kept by name (Berth's and the provider's
/// share a host, 127.0.0.1, as a browser's would).
struct Browser {
    client: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
    }

    fn cookies(&self) -> String {
        let pairs: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
        pairs.join("; ")
    }

    /// Keeps what the answer sets; an empty value or `Max-Age=0` removes a cookie.
    fn keep(&mut self, response: &reqwest::Response) {
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let gone = value.is_empty()
                || attributes.to_ascii_lowercase().contains("max-age=0")
                || attributes.contains("1970");
            match gone {
                true => self.jar.remove(name.trim()),
                false => self.jar.insert(name.trim().to_string(), value.to_string()),
            };
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .client
            .get(url)
            .header(header::COOKIE, self.cookies())
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)], origin: &str) -> reqwest::Response {
        let response = self
            .client
            .post(url)
            .header(header::COOKIE, self.cookies())
            .header(header::ORIGIN, origin)
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(&response);
        response
    }

    /// Berth's session cookie, `name=value`.
    fn session(&self) -> Option<String> {
        self.jar
            .get("berth_session")
            .map(|v| format!("berth_session={v}"))
    }

    /// Begins a sign-in at Berth: the provider's authorization URL it sends the browser to.
    async fn start(&mut self, berth: &str) -> String {
        let response = self.get(&format!("{berth}/api/auth/oidc/start")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        location_of(&response)
    }

    /// At the provider from `url` on: signs in as `user` when asked, consents when asked,
    /// until the provider sends the browser back to Berth; that URL, and what was asked.
    async fn through_provider(
        &mut self,
        provider: &OpenIdProvider,
        url: String,
        user: &str,
    ) -> (String, Vec<String>) {
        let (mut url, mut asked) = (url, Vec::new());
        for _ in 0..12 {
            if !url.starts_with(&provider.issuer) {
                return (url, asked);
            }
            let response = self.get(&url).await;
            let response = match response.status() {
                StatusCode::OK => {
                    let page = response.text().await.unwrap();
                    let prompt = between(&page, r#"name="prompt" value=""#, "\"")
                        .unwrap_or_else(|| panic!("a form at the provider: {page}"));
                    asked.push(prompt.clone());
                    let form = [
                        ("prompt", prompt.as_str()),
                        ("login", user),
                        ("password", "any"),
                    ];
                    self.post(&url, &form, &provider.issuer).await
                }
                _ => response,
            };
            assert!(
                response.status().is_redirection(),
                "{}: {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
            let next = location_of(&response);
            url = match next.starts_with('/') {
                true => format!("{}{next}", provider.issuer),
                false => next,
            };
        }
        panic!("the provider never sent the browser back");
    }

    /// A whole sign-in as `user`: Berth's answer to the provider's redirect back.
    async fn sign_in(
        &mut self,
        berth: &str,
        provider: &OpenIdProvider,
        user: &str,
    ) -> reqwest::Response {
        let start = self.start(berth).await;
        let (back, _) = self.through_provider(provider, start, user).await;
        self.get(&back).await
    }
}

fn location_of(response: &reqwest::Response) -> String {
    response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string()
}

fn between(text: &str, before: &str, after: &str) -> Option<String> {
    let start = text.find(before)? + before.len();
    let end = text[start..].find(after)? + start;
    Some(text[start..end].to_string())
}

/// `url` with its query parameter `name` set to `value`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(n, v)| match n == name {
            true => (n.to_string(), value.to_string()),
            false => (n.to_string(), v.to_string()),
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

async fn me(berth: &str, cookie: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{berth}/api/auth/me"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The error Berth answered with, asserting its status.
async fn refused(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert!(
        response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("berth_session=")),
        "no session for a refused sign-in"
    );
    let body: Value = response.json().await.unwrap();
    body["error"].as_str().unwrap().to_string()
}

/// Berth on `location` signing in through `provider`, groups `admins` → admin, `devs` →
/// operator, `viewers` → viewer.
async fn berth_with(
    location: &Location,
    port: u16,
    provider: &OpenIdProvider,
    tweak: impl FnOnce(&mut Settings),
) -> TestServer {
    let issuer = provider.issuer.clone();
    TestServer::with_accounts(location, |s| {
        s.accounts.public_url = Some(format!("http://127.0.0.1:{port}"));
        s.identity.oidc.oidc_issuer = Some(issuer);
        s.identity.oidc.oidc_client_id = Some(CLIENT_ID.into());
        s.identity.oidc.oidc_client_secret = Some(CLIENT_SECRET.into());
        s.identity.oidc.oidc_scopes = ["openid", "profile", "email", "groups"]
            .map(String::from)
            .to_vec();
        s.identity.group_roles = vec![
            ("admins".into(), Role::Admin),
            ("devs".into(), Role::Operator),
            ("viewers".into(), Role::Viewer),
        ];
        tweak(s);
        s.check().unwrap();
    })
    .await
}

fn users() -> Value {
    json!({
        "alice": { "groups": ["admins", "staff"], "email": "alice@example.test" },
        "bob": { "groups": ["devs"] },
        "vera": { "groups": ["viewers"] },
        "carol": { "groups": ["contractors"] },
        "dave": { "groups": ["devs"] },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_groups_make_roles_at_every_sign_in() {
    let dir = DataDir::new("oidc-roles");
    groups_make_roles("oidc-roles", &dir.location()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_groups_make_roles_at_every_sign_in_on_postgres() {
    crate::common::on_fresh_postgres("oidc_roles", |location| async move {
        groups_make_roles("oidc-roles-pg", &location).await;
    })
    .await;
}

async fn groups_make_roles(tag: &str, location: &Location) {
    add(location, "dave", Role::Viewer).await;
    let (port, strict_port) = (free_port(), free_port());
    let bases = [port, strict_port].map(|p| format!("http://127.0.0.1:{p}"));
    let provider = OpenIdProvider::start(tag, &bases, users());
    let server = berth_with(location, port, &provider, |_| {}).await;
    let berth = server.base.clone();
    assert_eq!(berth, bases[0]);

    // Admin, operator, viewer by their groups; carol is in no mapped group: the default.
    let mut sessions = BTreeMap::new();
    for (user, role) in [
        ("alice", "admin"),
        ("bob", "operator"),
        ("vera", "viewer"),
        ("carol", "viewer"),
    ] {
        let mut browser = Browser::new();
        let answer = browser.sign_in(&berth, &provider, user).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{user}");
        assert_eq!(location_of(&answer), "/");
        let cookie = browser.session().expect("a session");
        let (status, who) = me(&berth, &cookie).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (who["name"].as_str(), who["role"].as_str()),
            (Some(user), Some(role))
        );
        sessions.insert(user, (browser, cookie));
    }
    // The sign-in page has the provider's button, as the one signed in is told too.
    let (status, page) = server.get("/login").await;
    assert_eq!(status, 200);
    assert!(page.contains("Sign in with single sign-on"), "{page}");
    assert_eq!(
        me(&berth, &sessions["vera"].1).await.1["single_sign_on"],
        "single sign-on"
    );

    // A group taken away at the provider lowers the role at the next sign-in, and the
    // socket opened with the higher one ends.
    let bob_cookie = sessions["bob"].1.clone();
    let mut socket = WsClient::connect_with(
        &server.ws_url("/ws/system/stats"),
        &[("cookie", &bob_cookie)],
    )
    .await
    .expect("bob's socket");
    socket
        .next(Duration::from_secs(10))
        .await
        .expect("a first frame");
    let mut lowered = users();
    lowered["bob"]["groups"] = json!(["viewers"]);
    provider.set_users(lowered).await;
    // From another browser: the first one's session lives on, with the role lowered.
    let mut browser = Browser::new();
    let answer = browser.sign_in(&berth, &provider, "bob").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let again = browser.session().unwrap();
    assert_eq!(me(&berth, &again).await.1["role"], "viewer");
    assert_ended(&mut socket, Duration::from_secs(10), "role").await;
    drop(socket);
    let alice = &sessions["alice"].1;
    let audit = reqwest::Client::new()
        .get(format!("{berth}/api/audit?actor=oidc"))
        .header(header::COOKIE, alice)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let targets: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert!(
        targets.contains(&"bob (operator to viewer, by their groups)"),
        "{audit}"
    );
    assert!(targets.contains(&"alice (admin)"), "{audit}");

    // A local user is not taken over by a provider's user of the same name: refused until
    // an admin links them.
    let mut browser = Browser::new();
    let error = refused(
        browser.sign_in(&berth, &provider, "dave").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(error.contains("links it"), "{error}");
    let linked = reqwest::Client::new()
        .put(format!("{berth}/api/users/dave/identities"))
        .header(header::COOKIE, alice)
        .header(header::ORIGIN, &berth)
        .json(&json!({ "provider": "oidc", "subject": "dave" }))
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), StatusCode::NO_CONTENT);
    let answer = browser.sign_in(&berth, &provider, "dave").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let who = me(&berth, &browser.session().unwrap()).await.1;
    assert_eq!(
        (who["name"].as_str(), who["role"].as_str()),
        (Some("dave"), Some("operator"))
    );

    // With `--default-role refused`, a user in no mapped group is kept out.
    let strict = berth_with(location, strict_port, &provider, |s| {
        s.identity.default_role = DefaultRole::Refused;
    })
    .await;
    let error = refused(
        Browser::new()
            .sign_in(&strict.base, &provider, "carol")
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(error.contains("refused"), "{error}");
    // Refused now, carol keeps no session she had from before (the same database).
    assert_eq!(
        me(&berth, &sessions["carol"].1).await.0,
        StatusCode::UNAUTHORIZED,
        "a user refused by their groups is signed out everywhere"
    );
    let answer = Browser::new()
        .sign_in(&strict.base, &provider, "vera")
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    // Local passwords still work beside the provider (the way in when it is down).
    let local = crate::signin::sign_in(&server, "dave", PASSWORD).await.0;
    assert_eq!(local, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_and_badly_signed_answers_are_refused() {
    let dir = DataDir::new("oidc-refused");
    let port = free_port();
    let provider = OpenIdProvider::start(
        "oidc-refused",
        &[format!("http://127.0.0.1:{port}")],
        users(),
    );
    let server = berth_with(&dir.location(), port, &provider, |_| {}).await;
    let berth = server.base.clone();

    // A forged state: the answer is not for this browser's sign-in, and that sign-in is
    // over (its real answer is refused after).
    let mut browser = Browser::new();
    let start = browser.start(&berth).await;
    let (back, _) = browser.through_provider(&provider, start, "alice").await;
    let forged = with_param(&back, "state", "forged-state");
    let error = refused(browser.get(&forged).await, StatusCode::BAD_REQUEST).await;
    assert!(error.contains("state"), "{error}");
    let error = refused(browser.get(&back).await, StatusCode::BAD_REQUEST).await;
    assert!(error.contains("no sign-in is under way"), "{error}");
    // A browser's page is sent to the sign-in page with the reason instead.
    let page = browser
        .client
        .get(&back)
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(
        location_of(&page).starts_with("/login?error=sso&why="),
        "{}",
        location_of(&page)
    );

    // A replayed code: signed in once; its answer again, even with a new sign-in's state,
    // is refused (by Berth, then by the provider: a code is good once).
    let mut browser = Browser::new();
    let start = browser.start(&berth).await;
    let (back, _) = browser.through_provider(&provider, start, "alice").await;
    assert_eq!(browser.get(&back).await.status(), StatusCode::SEE_OTHER);
    let error = refused(browser.get(&back).await, StatusCode::BAD_REQUEST).await;
    assert!(error.contains("no sign-in is under way"), "{error}");
    let second = browser.start(&berth).await;
    let state = url::Url::parse(&second)
        .unwrap()
        .query_pairs()
        .find(|(n, _)| n == "state")
        .unwrap()
        .1
        .to_string();
    let replayed = with_param(&back, "state", &state);
    let error = refused(browser.get(&replayed).await, StatusCode::UNAUTHORIZED).await;
    assert!(error.contains("invalid_grant"), "{error}");

    // A nonce other than the one Berth sent: the ID token is not this sign-in's.
    let mut browser = Browser::new();
    let start = browser.start(&berth).await;
    let start = with_param(&start, "nonce", "someone-elses-nonce");
    let (back, _) = browser.through_provider(&provider, start, "alice").await;
    let error = refused(browser.get(&back).await, StatusCode::UNAUTHORIZED).await;
    assert!(error.to_lowercase().contains("nonce"), "{error}");

    // An ID token signed by a key the provider does not publish.
    provider.set_keys("rogue").await;
    let error = refused(
        Browser::new().sign_in(&berth, &provider, "alice").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(error.contains("key"), "{error}");
    provider.set_keys("main").await;

    // An expired ID token: the provider's clock two hours behind when it issues it.
    let mut browser = Browser::new();
    let start = browser.start(&berth).await;
    let (back, _) = browser.through_provider(&provider, start, "alice").await;
    provider.set_clock(-7200).await;
    let error = refused(browser.get(&back).await, StatusCode::UNAUTHORIZED).await;
    provider.set_clock(0).await;
    assert!(error.to_lowercase().contains("expired"), "{error}");

    // The provider rotates its keys: Berth fetches them again and signs the user in.
    provider.set_keys("rotated").await;
    tokio::time::sleep(berth::oidc::KEY_REFETCH_AFTER).await;
    let answer = Browser::new().sign_in(&berth, &provider, "alice").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);

    // Anyone may begin a sign-in, but one address only a few at once (20).
    let mut begun = 0;
    let refused = loop {
        let response = Browser::new()
            .get(&format!("{berth}/api/auth/oidc/start"))
            .await;
        if response.status() != StatusCode::SEE_OTHER {
            break response;
        }
        begun += 1;
        assert!(
            begun <= 20,
            "more than 20 sign-ins under way from one address"
        );
    };
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(begun >= 10, "{begun}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_providers_session_too() {
    let dir = DataDir::new("oidc-logout");
    let port = free_port();
    let provider = OpenIdProvider::start(
        "oidc-logout",
        &[format!("http://127.0.0.1:{port}")],
        users(),
    );
    let server = berth_with(&dir.location(), port, &provider, |s| {
        s.identity.oidc.oidc_auto_redirect = true;
    })
    .await;
    let berth = server.base.clone();
    // `--oidc-auto-redirect`: the sign-in page is the provider's, unless asked for Berth's.
    let mut browser = Browser::new();
    let login = browser
        .get(&format!("{berth}/login?next=/containers"))
        .await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(location_of(&login), "/api/auth/oidc/start?next=/containers");
    for own in ["/login?local", "/login?error=sso&why=x"] {
        assert_eq!(
            browser.get(&format!("{berth}{own}")).await.status(),
            StatusCode::OK,
            "{own}"
        );
    }
    let answer = browser.sign_in(&berth, &provider, "alice").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = browser.session().unwrap();
    // While the provider's session lasts, a new sign-in asks nothing there.
    let start = browser.start(&berth).await;
    let (back, asked) = browser.through_provider(&provider, start, "alice").await;
    assert!(asked.is_empty(), "{asked:?}");
    assert_eq!(browser.get(&back).await.status(), StatusCode::SEE_OTHER);
    let cookie = browser
        .session()
        .filter(|c| *c != cookie)
        .expect("a new session");

    // Signing out ends Berth's session and sends the browser to the provider's logout,
    // with the ID token and the way back.
    let out = browser
        .post(&format!("{berth}/api/auth/logout"), &[("x", "")], &berth)
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let to = location_of(&out);
    assert!(
        to.starts_with(&format!("{}/session/end?", provider.issuer)),
        "{to}"
    );
    for part in [
        "id_token_hint=",
        "client_id=berth",
        "post_logout_redirect_uri=",
    ] {
        assert!(to.contains(part), "{to}");
    }
    assert_eq!(me(&berth, &cookie).await.0, StatusCode::UNAUTHORIZED);
    // The provider accepts it (an ID token it did not issue would be an error page) and,
    // once confirmed, sends the browser back to Berth's sign-in page.
    let page = browser.get(&to).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    let xsrf = between(&page, r#"name="xsrf" value=""#, "\"").expect("the logout form");
    let done = browser
        .post(
            &format!("{}/session/end/confirm", provider.issuer),
            &[("xsrf", &xsrf), ("logout", "yes")],
            &provider.issuer,
        )
        .await;
    assert!(done.status().is_redirection(), "{}", done.status());
    assert_eq!(location_of(&done), format!("{berth}/login"));
    // The provider's session is over: the next sign-in asks who it is again.
    let start = browser.start(&berth).await;
    let (_, asked) = browser.through_provider(&provider, start, "alice").await;
    assert_eq!(
        asked.first().map(String::as_str),
        Some("login"),
        "{asked:?}"
    );
}

/// Single sign-on that could not work, or would leave a door open, never starts.
#[test]
fn single_sign_on_settings_that_cannot_work_are_refused() {
    use clap::Parser;
    let check = |args: &[&str]| {
        let mut all = vec!["berth"];
        all.extend_from_slice(args);
        berth::Config::parse_from(all).settings.check()
    };
    let base = [
        "--oidc-issuer",
        "https://id.example.test",
        "--oidc-client-id",
        "berth",
    ];
    let with =
        |more: &[&'static str]| -> Vec<&'static str> { base.iter().chain(more).copied().collect() };
    let error = check(&base).unwrap_err();
    assert!(error.contains("--public-url"), "{error}");
    assert!(check(&with(&["--public-url", "https://berth.example.test"])).is_ok());
    let error = check(&[
        "--oidc-issuer",
        "http://id.example.test",
        "--oidc-client-id",
        "berth",
        "--public-url",
        "https://berth.example.test",
    ])
    .unwrap_err();
    assert!(error.contains("https://"), "{error}");
    let error = check(&[
        "--oidc-issuer",
        "https://id.example.test",
        "--public-url",
        "https://b.test",
    ])
    .unwrap_err();
    assert!(error.contains("--oidc-client-id"), "{error}");
    let error = check(&with(&["--public-url", "https://b.test", "--auth", "off"])).unwrap_err();
    assert!(error.contains("--auth off"), "{error}");
    // Local sign-in off only with a group that makes admins.
    let error = check(&with(&[
        "--public-url",
        "https://b.test",
        "--local-login",
        "off",
    ]))
    .unwrap_err();
    assert!(error.contains("--local-login off"), "{error}");
    assert!(
        check(&with(&[
            "--public-url",
            "https://b.test",
            "--local-login",
            "off",
            "--group-role",
            "admins=admin",
        ]))
        .is_ok()
    );
}
