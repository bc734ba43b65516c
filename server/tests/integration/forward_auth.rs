//! Forward authentication (`--auth proxy`) through a real nginx whose `auth_request` asks a
//! small auth endpoint, as Authelia or Authentik would answer it: the proxy names the user
//! and their groups, Berth believes it only from `--trusted-proxy` (nginx connects from
//! 127.0.0.2; the test's own requests come from 127.0.0.1), groups make roles at every
//! request, and a role taken away ends the user's sockets.

use crate::common::{AuthEndpoint, DataDir, Nginx, TestServer, WsClient, free_port};
use crate::signin::{PASSWORD, add, assert_ended, sign_in};
use app::model::Role;
use berth::{AuthMode, DefaultRole, HostSpec, LocalLogin, Location, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// nginx on `port` in front of Berth at `berth` (an `http://` base), asking the auth
/// endpoint on `auth` first: the configuration README.md shows, with the test's ports.
fn nginx_server(port: u16, berth: &str, auth: u16) -> String {
    format!(
        r#"server {{
    listen 127.0.0.1:{port};
    location = /_auth {{
        internal;
        proxy_pass http://127.0.0.1:{auth}/check;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
    }}
    location / {{
        auth_request /_auth;
        auth_request_set $user $upstream_http_remote_user;
        auth_request_set $groups $upstream_http_remote_groups;
        auth_request_set $email $upstream_http_remote_email;
        # Set here, so whatever the client sent under these names is replaced.
        proxy_set_header Remote-User $user;
        proxy_set_header Remote-Groups $groups;
        proxy_set_header Remote-Email $email;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_read_timeout 1h;
        # The test's address for the proxy, so its requests and the test's own differ.
        proxy_bind 127.0.0.2;
        proxy_pass {berth};
    }}
}}"#
    )
}

/// Berth with `--auth proxy` trusting 127.0.0.2, admins and devs mapped, behind nginx.
struct Proxied {
    server: TestServer,
    nginx: Nginx,
    auth: AuthEndpoint,
    port: u16,
}

/// Berth on the accounts at `location` (a local viewer `dave`, a local admin `root`).
async fn proxied(tag: &str, location: &Location, tweak: impl FnOnce(&mut Settings)) -> Proxied {
    add(location, "dave", Role::Viewer).await;
    add(location, "root", Role::Admin).await;
    let port = free_port();
    let server = TestServer::with_accounts(location, |s| {
        s.accounts.auth = AuthMode::Proxy;
        s.serve.trusted_proxies = vec!["127.0.0.2".parse().unwrap()];
        s.serve.allowed_hosts = vec![HostSpec::parse(&format!("http://127.0.0.1:{port}")).unwrap()];
        s.identity.group_roles = vec![
            ("admins".into(), Role::Admin),
            ("devs".into(), Role::Operator),
        ];
        tweak(s);
        s.check().unwrap();
    })
    .await;
    let auth = AuthEndpoint::start().await;
    let nginx = Nginx::start(tag, port, &nginx_server(port, &server.base, auth.port)).await;
    Proxied {
        server,
        nginx,
        auth,
        port,
    }
}

impl Proxied {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A request through nginx with `ticket` (and `extra` headers): status and JSON body.
    async fn ask(
        &self,
        method: Method,
        path: &str,
        ticket: Option<&str>,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        ask(&self.base(), method, path, ticket, body, extra).await
    }

    async fn me(&self, ticket: &str) -> (StatusCode, Value) {
        self.ask(Method::GET, "/api/auth/me", Some(ticket), None, &[])
            .await
    }
}

async fn ask(
    base: &str,
    method: Method,
    path: &str,
    ticket: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut request = client
        .request(method, format!("{base}{path}"))
        .header("origin", base);
    if let Some(ticket) = ticket {
        request = request.header("cookie", format!("ticket={ticket}"));
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn who(me: &Value) -> (String, String) {
    (
        me["name"].as_str().unwrap_or_default().to_string(),
        me["role"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_signs_users_in_and_their_groups_make_their_roles() {
    let dir = DataDir::new("fwd-roles");
    proxy_roles("fwd-roles", &dir.location()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_signs_users_in_and_their_groups_make_their_roles_on_postgres() {
    crate::common::on_fresh_postgres("fwd_roles", |location| async move {
        proxy_roles("fwd-roles-pg", &location).await;
    })
    .await;
}

async fn proxy_roles(tag: &str, location: &Location) {
    let p = proxied(tag, location, |_| {}).await;
    p.auth.set("t-alice", "Alice", "staff, admins");
    p.auth.set("t-bob", "bob", "devs");
    p.auth.set("t-carol", "carol@example.test", "");
    let pairs = [
        ("t-alice", ("alice", "admin")),
        ("t-bob", ("bob", "operator")),
        // In no mapped group: the default role; a name Berth does not allow is made one.
        ("t-carol", ("carol-example.test", "viewer")),
    ];
    for (ticket, (name, role)) in pairs {
        let (status, me) = p.me(ticket).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(who(&me), (name.into(), role.into()), "{ticket}");
    }
    // No ticket: the proxy itself refuses.
    assert_eq!(
        p.ask(Method::GET, "/api/auth/me", None, None, &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
    // What a client sends under the proxy's header names is replaced by the proxy's.
    let forged = [("remote-user", "alice"), ("remote-groups", "admins")];
    let (_, me) = p
        .ask(Method::GET, "/api/auth/me", Some("t-carol"), None, &forged)
        .await;
    assert_eq!(
        who(&me),
        ("carol-example.test".into(), "viewer".into()),
        "{me}"
    );
    // Straight to Berth from an address it does not trust, the headers are nobody's word.
    let (status, _) = ask(
        &p.server.base,
        Method::GET,
        "/api/auth/me",
        None,
        None,
        &forged,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = ask(
        &p.server.base,
        Method::GET,
        "/api/users",
        None,
        None,
        &forged,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The users were made, and the audit log says by whom.
    let (status, users) = p
        .ask(Method::GET, "/api/users", Some("t-alice"), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let role_of = |name: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == name)
            .map(|u| u["role"].as_str().unwrap().to_string())
    };
    assert_eq!(role_of("alice").as_deref(), Some("admin"));
    assert_eq!(role_of("bob").as_deref(), Some("operator"));
    let (_, audit) = p
        .ask(
            Method::GET,
            "/api/audit?actor=proxy",
            Some("t-alice"),
            None,
            &[],
        )
        .await;
    let added: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "user.add")
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert!(added.contains(&"alice (admin)"), "{audit}");
    // A password never signs a proxy's user in, not even what is stored in its place.
    for password in ["", "!external"] {
        let status = sign_in(&p.server, "bob", password).await.0;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{password:?}");
    }
    // From the trusted address itself: one value per header, or nothing.
    let trusted = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let me_from_trusted = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = trusted.get(format!("{}/api/auth/me", p.server.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let once = me_from_trusted(&[("remote-user", "bob"), ("remote-groups", "devs")]).await;
    assert_eq!(once.unwrap().status(), StatusCode::OK);
    let twice = me_from_trusted(&[("remote-user", "bob"), ("remote-user", "alice")]).await;
    assert_eq!(twice.unwrap().status(), StatusCode::BAD_REQUEST);

    // A local user is not taken over by a proxy's name that looks the same: refused until
    // an admin links them.
    p.auth.set("t-dave", "dave", "devs");
    let (status, body) = p.me("t-dave").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("links it"),
        "{body}"
    );
    let link = json!({ "provider": "proxy", "subject": "dave" });
    let (status, body) = p
        .ask(
            Method::PUT,
            "/api/users/dave/identities",
            Some("t-bob"),
            Some(link.clone()),
            &[],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an operator links nothing: {body}"
    );
    let (status, body) = p
        .ask(
            Method::PUT,
            "/api/users/dave/identities",
            Some("t-alice"),
            Some(link.clone()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = p
        .ask(
            Method::PUT,
            "/api/users/root/identities",
            Some("t-alice"),
            Some(link),
            &[],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "one identity, one user: {body}"
    );
    let (status, me) = p.me("t-dave").await;
    assert_eq!(
        (status, who(&me)),
        (StatusCode::OK, ("dave".into(), "operator".into()))
    );
    let (_, linked) = p
        .ask(
            Method::GET,
            "/api/users/dave/identities",
            Some("t-alice"),
            None,
            &[],
        )
        .await;
    assert_eq!(linked[0]["email"], "dave@example.test", "{linked}");
    let (status, _) = p
        .ask(
            Method::DELETE,
            "/api/users/dave/identities/proxy",
            Some("t-alice"),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(p.me("t-dave").await.0, StatusCode::FORBIDDEN, "unlinked");

    // A group taken away at the provider lowers the role at the next request, and the
    // socket opened with the higher one ends.
    let ws = format!("ws://127.0.0.1:{}/ws/system/stats", p.port);
    let headers = [("cookie", "ticket=t-bob"), ("origin", &p.base())];
    let mut socket = WsClient::connect_with(&ws, &headers)
        .await
        .expect("bob's socket through nginx");
    socket
        .next(Duration::from_secs(10))
        .await
        .expect("a first frame");
    p.auth.set("t-bob", "bob", "");
    let (_, me) = p.me("t-bob").await;
    assert_eq!(who(&me).1, "viewer");
    assert_ended(&mut socket, Duration::from_secs(10), "role changed").await;
    // Its sockets end before the database goes (PostgreSQL drops it after the test).
    drop(socket);
    drop(p.nginx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_in_no_mapped_group_can_be_refused_and_local_sign_in_limited_to_admins() {
    let dir = DataDir::new("fwd-refused");
    let p = proxied("fwd-refused", &dir.location(), |s| {
        s.identity.default_role = DefaultRole::Refused;
        s.identity.local_login = LocalLogin::Admins;
        s.identity.proxy_logout_url = Some("https://auth.example.test/logout".into());
    })
    .await;
    p.auth.set("t-erin", "erin", "contractors");
    let (status, body) = p.me("t-erin").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("refused"),
        "{body}"
    );
    p.auth.set("t-erin", "erin", "contractors,devs");
    assert_eq!(who(&p.me("t-erin").await.1).1, "operator");
    // Local passwords: the admin's still works (the way in when the provider is down),
    // the viewer's does not.
    assert_eq!(
        sign_in(&p.server, "root", PASSWORD).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sign_in(&p.server, "dave", PASSWORD).await.0,
        StatusCode::FORBIDDEN
    );
    // Signing out sends the browser to the proxy's sign-out: only it can end its session.
    let out = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/api/auth/logout", p.base()))
        .header("cookie", "ticket=t-erin")
        .header("origin", p.base())
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection(), "{}", out.status());
    assert_eq!(
        out.headers()["location"],
        "https://auth.example.test/logout"
    );
}

/// What would let a header sign anyone in, or leave no admin a way in, never starts.
#[test]
fn settings_that_would_open_a_door_are_refused() {
    use clap::Parser;
    let check = |args: &[&str]| {
        let mut all = vec!["berth"];
        all.extend_from_slice(args);
        berth::Config::parse_from(all).settings.check()
    };
    let error = check(&["--auth", "proxy"]).unwrap_err();
    assert!(error.contains("--trusted-proxy"), "{error}");
    assert!(check(&["--auth", "proxy", "--trusted-proxy", "127.0.0.2"]).is_ok());
    let error = check(&["--local-login", "off"]).unwrap_err();
    assert!(error.contains("no admin"), "{error}");
    let proxy_off = [
        "--auth",
        "proxy",
        "--trusted-proxy",
        "127.0.0.2",
        "--local-login",
        "off",
    ];
    assert!(check(&proxy_off).is_err(), "no group is mapped to admin");
    let mut mapped = proxy_off.to_vec();
    mapped.extend(["--group-role", "admins=admin"]);
    assert!(check(&mapped).is_ok());
}
