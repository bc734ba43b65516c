//! Issue 10, signing in: every door of a server that requires it, on the real database
//! (SQLite here; PostgreSQL too in `make test`), over real HTTP and WebSocket.

use crate::common::{TestServer, WsClient};
use app::model::Role;
use berth::{Location, Settings, Store, users};
use reqwest::{StatusCode, header, redirect};

pub(crate) const PASSWORD: &str = "alice's long password";

pub(crate) use crate::common::DataDir;

/// A client that shows redirects instead of following them, and keeps no cookies of its own.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// POSTs `body` as JSON to `path` on the server at `base` (a `TestServer`'s or one of a
/// test's own), with [`client`]: sign-in, setup and size tests differ only in what they post.
pub(crate) async fn post_json(
    base: &str,
    path: &str,
    body: serde_json::Value,
) -> reqwest::Response {
    client()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// POSTs the sign-in form, `fields` as a browser without JavaScript sends them.
pub(crate) async fn post_form(base: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{base}/api/auth/login"))
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// GETs `path` with one extra header (a cookie or a bearer token), with [`client`].
pub(crate) async fn get_with(
    base: &str,
    path: &str,
    name: header::HeaderName,
    value: &str,
) -> reqwest::Response {
    client()
        .get(format!("{base}{path}"))
        .header(name, value)
        .send()
        .await
        .unwrap()
}

/// The `name=value` of the cookie `response` sets (which must set one).
pub(crate) fn cookie_pair(response: &reqwest::Response) -> String {
    response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// A server that requires signing in, on a fresh data directory (`tag` names it) holding
/// `users`, each with [`PASSWORD`]: how most accounts tests begin. The directory is
/// returned too, as it must outlive the server.
pub(crate) async fn accounts_server(
    tag: &str,
    users: &[(&str, Role)],
    tweak: impl FnOnce(&mut Settings),
) -> (DataDir, TestServer) {
    let dir = DataDir::new(tag);
    for (name, role) in users {
        add(&dir.location(), name, *role).await;
    }
    let server = TestServer::with_accounts(&dir.location(), tweak).await;
    (dir, server)
}

/// The token the server offers for setup while no account exists; `why` says why there
/// must be one.
pub(crate) async fn setup_token(server: &TestServer, why: &str) -> String {
    let auth = server.state.auth.clone().unwrap();
    auth.offer_setup().await.unwrap().expect(why)
}

/// `berth --data-dir DIR ARGS…`: the CLI beside a running server, on its accounts.
pub(crate) fn berth_cli(dir: &DataDir, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap()
}

pub(crate) async fn add(location: &Location, name: &str, role: Role) {
    let store = Store::open(location).await.unwrap();
    users::add(&store, name, role, PASSWORD.into())
        .await
        .unwrap();
    store.pool.close().await;
}

/// Signs in with JSON; returns the status and the session cookie (`name=value`).
pub(crate) async fn sign_in(
    server: &TestServer,
    name: &str,
    password: &str,
) -> (StatusCode, Option<String>) {
    let body = serde_json::json!({ "username": name, "password": password });
    let response = post_json(&server.base, "/api/auth/login", body).await;
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_string());
    if let Some(cookie) = &cookie {
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
    }
    let pair = cookie.map(|c| c.split(';').next().unwrap().to_string());
    (response.status(), pair)
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}{path}", server.base));
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.send().await.unwrap()
}

async fn error_of(response: reqwest::Response) -> String {
    let json: serde_json::Value = response.json().await.unwrap();
    json["error"].as_str().unwrap().to_string()
}

/// The story on either database.
async fn every_door(location: Location) {
    add(&location, "alice", Role::Viewer).await;
    let server = TestServer::with_accounts(&location, |_| {}).await;
    // Without a session: pages go to /login (remembering where), the rest is 401 JSON.
    let page = get(&server, "/containers?state=running", None).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()[header::LOCATION],
        "/login?next=/containers%3Fstate%3Drunning"
    );
    for path in ["/api/containers", "/api/auth/me", "/metrics"] {
        let response = get(&server, path, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(error_of(response).await.contains("sign in"), "{path}");
    }
    let Err((status, _)) = WsClient::connect(&server.ws_url("/ws/system/stats")).await else {
        panic!("a socket without a session is refused before the upgrade");
    };
    assert_eq!(status, 401);
    assert_ne!(
        get(&server, "/api/health", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let login = get(&server, "/login?next=/projects", None).await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(html.contains(r#"action="/api/auth/login""#), "{html}");
    assert!(
        html.contains(r#"value="/projects""#),
        "the form keeps where to go next"
    );
    // A wrong password and an unknown user: the same answer.
    let guess = |name: &str| {
        let body = serde_json::json!({ "username": name, "password": "not her password" });
        post_json(&server.base, "/api/auth/login", body)
    };
    let (wrong, unknown) = (guess("alice").await, guess("mallory").await);
    assert_eq!(
        (wrong.status(), unknown.status()),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong.text().await.unwrap(), unknown.text().await.unwrap());
    // Signed in: everything a viewer may see, sockets included.
    let (status, cookie) = sign_in(&server, "alice", PASSWORD).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cookie = cookie.expect("a session cookie");
    assert_eq!(
        get(&server, "/api/containers", Some(&cookie))
            .await
            .status(),
        StatusCode::OK
    );
    let me: serde_json::Value = get(&server, "/api/auth/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        serde_json::json!({ "name": "alice", "role": "viewer", "accounts": true, "terminal": false })
    );
    let page = get(&server, "/containers", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("alice") && html.contains("Sign out"),
        "the header names who is signed in"
    );
    WsClient::connect_with(&server.ws_url("/ws/system/stats"), &[("cookie", &cookie)])
        .await
        .expect("a socket with a session");
    // Each sign-in is a new session.
    let (_, again) = sign_in(&server, "alice", PASSWORD).await;
    assert_ne!(again.as_deref(), Some(cookie.as_str()));
    // Signing out ends the session on the server: the cookie is worth nothing after.
    let out = send_json(
        &server,
        reqwest::Method::POST,
        "/api/auth/logout",
        &cookie,
        None,
    )
    .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert!(
        out.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        get(&server, "/api/auth/me", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The other session lives on, and outlives the server: it is in the database.
    let again = again.unwrap();
    let mut server = server;
    server.shut_down().await;
    let restarted = TestServer::with_accounts(&location, |_| {}).await;
    assert_eq!(
        get(&restarted, "/api/auth/me", Some(&again)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_needs_a_session_in_sqlite() {
    let dir = DataDir::new("doors");
    every_door(dir.location()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_needs_a_session_in_postgres() {
    crate::common::on_fresh_postgres(
        "doors",
        |location| async move { every_door(location).await },
    )
    .await;
}

/// The form a page without JavaScript posts: redirects, and `next` only on this site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_form_redirects_and_only_to_this_site() {
    let (_dir, server) = accounts_server("form", &[("alice", Role::Viewer)], |_| {}).await;
    let base = server.base.as_str();
    let post = |next: &'static str, password: &'static str| {
        let fields = [
            ("username", "alice"),
            ("password", password),
            ("next", next),
        ];
        async move { post_form(base, &fields).await }
    };
    let ok = post("/containers/abc?tab=logs", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()[header::LOCATION], "/containers/abc?tab=logs");
    assert!(ok.headers().contains_key(header::SET_COOKIE));
    let evil = post("//evil.example/x", PASSWORD).await;
    assert_eq!(evil.headers()[header::LOCATION], "/");
    let failed = post("/projects", "wrong password!").await;
    assert_eq!(failed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        failed.headers()[header::LOCATION],
        "/login?error=1&next=/projects"
    );
    assert!(!failed.headers().contains_key(header::SET_COOKIE));
}

/// Five failures in a minute, per address and per name, then 429 with Retry-After (even
/// with the right password).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_slowed_down() {
    let (_dir, server) = accounts_server("attempts", &[("alice", Role::Viewer)], |_| {}).await;
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, "alice", "a wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let body = serde_json::json!({ "username": "alice", "password": PASSWORD });
    let response = post_json(&server.base, "/api/auth/login", body).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(error_of(response).await.contains("too many"));
}

/// A page on another site cannot make a signed-in browser change anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused() {
    let (_dir, server) = accounts_server("csrf", &[("alice", Role::Viewer)], |_| {}).await;
    let post = |headers: &'static [(&'static str, &'static str)]| {
        let mut request = client()
            .post(format!("{}/api/auth/logout", server.base))
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "http://evil.example")][..],
    ] {
        let response = post(headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(error_of(response).await.contains("cross-site"));
    }
    let own = server.base.clone();
    let response = client()
        .post(format!("{}/api/auth/logout", server.base))
        .header("origin", own)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = post(&[("sec-fetch-site", "same-origin")]).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// The first admin: only with the token Berth logged, and only once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_makes_the_first_admin_once_with_the_logged_token() {
    let (_dir, server) = accounts_server("setup", &[], |_| {}).await;
    let auth = server.state.auth.clone().unwrap();
    let token = setup_token(&server, "no account yet").await;
    let setup = |token: String| {
        let body = serde_json::json!({ "token": token, "username": "root", "password": PASSWORD });
        post_json(&server.base, "/api/auth/setup", body)
    };
    let stranger = setup("guessed".into()).await;
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    let response = setup(token.clone()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = cookie_pair(&response);
    let me: serde_json::Value = get(&server, "/api/auth/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(
        setup(token).await.status(),
        StatusCode::NOT_FOUND,
        "setup is over"
    );
    assert_eq!(auth.offer_setup().await.unwrap(), None);
}

/// Reads until the socket is told `end` and closed; returns the reason and the close code.
pub(crate) async fn ending(
    client: &mut WsClient,
    within: std::time::Duration,
) -> (String, Option<u16>) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.next(left).await {
            Ok(app::frames::Frame::End { reason, retry }) => {
                assert!(!retry, "a session that ended is not retried");
                let closed = client.next(std::time::Duration::from_secs(1)).await;
                let code = match closed {
                    Err(crate::common::Ended::Closed(code)) => code,
                    other => panic!("a close after the end, not {other:?}"),
                };
                return (reason, code);
            }
            Ok(_) => continue,
            Err(e) => panic!("the socket ended without `end` within {within:?}: {e:?}"),
        }
    }
}

/// Waits for the socket's `end` (see [`ending`]) and asserts that its reason says `says`
/// and its close code is 4401: how the socket of every ended session must close.
pub(crate) async fn assert_ended(client: &mut WsClient, within: std::time::Duration, says: &str) {
    let (reason, code) = ending(client, within).await;
    assert!(reason.contains(says), "{reason}");
    assert_eq!(code, Some(4401));
}

async fn socket(server: &TestServer, cookie: &str) -> WsClient {
    WsClient::connect_with(&server.ws_url("/ws/system/stats"), &[("cookie", cookie)])
        .await
        .expect("a socket with a session")
}

/// GETs the audit log as `cookie` (`query` starts with `?` or is empty), whatever answers.
pub(crate) async fn read_audit(
    server: &TestServer,
    cookie: &str,
    query: &str,
) -> reqwest::Response {
    let path = format!("/api/audit{query}");
    send_json(server, reqwest::Method::GET, &path, cookie, None).await
}

/// The audit log as the admin `cookie` reads it (`query` starts with `?` or is empty).
pub(crate) async fn audit(
    server: &TestServer,
    cookie: &str,
    query: &str,
) -> Vec<serde_json::Value> {
    let response = read_audit(server, cookie, query).await;
    assert_eq!(response.status(), StatusCode::OK, "/api/audit{query}");
    response.json().await.unwrap()
}

/// PUTs `body` as JSON with the session `cookie` (a role or a password); the status.
pub(crate) async fn put_json(
    server: &TestServer,
    path: &str,
    cookie: &str,
    body: serde_json::Value,
) -> StatusCode {
    let response = send_json(server, reqwest::Method::PUT, path, cookie, Some(body)).await;
    response.status()
}

pub(crate) async fn send_json(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = client()
        .request(method, format!("{}{path}", server.base))
        .header(header::COOKIE, cookie);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// Stats sockets open on `server`, once they are `n` or `within` has passed.
async fn stats_sockets(server: &TestServer, n: f64, within: std::time::Duration) -> f64 {
    let kind = Some(r#"kind="system_stats""#);
    server
        .wait_metric("berth_ws_clients", kind, within, |v| v == n)
        .await
}

/// A socket never outlives the right to see it: sign-out, a role change and removal each
/// end the session's sockets at once, with `end` and 4401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_ends_closes_its_sockets_with_4401() {
    use reqwest::Method;
    let users = [("alice", Role::Admin), ("bob", Role::Viewer)];
    let (_dir, server) =
        accounts_server("sockets", &users, |s| s.accounts.metrics_open = true).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let within = std::time::Duration::from_secs(1);

    // Sign-out: both of bob's sockets end; alice's does not.
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    let (mut one, mut two, mut hers) = (
        socket(&server, &bob).await,
        socket(&server, &bob).await,
        socket(&server, &alice).await,
    );
    assert_eq!(
        send_json(&server, Method::GET, "/api/users", &bob, None)
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "a viewer manages no one"
    );
    let out = send_json(&server, Method::POST, "/api/auth/logout", &bob, None).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    for client in [&mut one, &mut two] {
        let (reason, code) = ending(client, within).await;
        assert_eq!((reason.as_str(), code), ("signed out", Some(4401)));
    }
    assert!(
        hers.next(std::time::Duration::from_millis(1500))
            .await
            .is_ok(),
        "others stream on"
    );
    assert_eq!(stats_sockets(&server, 1.0, within).await, 1.0);

    // A role change ends every session of that user.
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    let mut three = socket(&server, &bob).await;
    let role = serde_json::json!({"role": "operator"});
    let changed = put_json(&server, "/api/users/bob/role", &alice, role).await;
    assert_eq!(changed, StatusCode::NO_CONTENT);
    assert_ended(&mut three, within, "role changed").await;
    assert_eq!(
        get(&server, "/api/auth/me", Some(&bob)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Removal too.
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    let mut four = socket(&server, &bob).await;
    let removed = send_json(&server, Method::DELETE, "/api/users/bob", &alice, None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_ended(&mut four, within, "removed").await;
    hers.close().await;
    assert_eq!(stats_sockets(&server, 0.0, within).await, 0.0);
}

/// A session ended outside this server (the CLI, another replica, expiry) ends its sockets
/// within the sweep interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_elsewhere_closes_its_sockets() {
    let (dir, server) = accounts_server("sweep", &[("alice", Role::Viewer)], |_| {}).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let mut client = socket(&server, &alice).await;
    // As `berth user remove` in another process would.
    let store = Store::open(&dir.location()).await.unwrap();
    sqlx::query("DELETE FROM sessions")
        .execute(&store.pool)
        .await
        .unwrap();
    let within = berth::SWEEP_EVERY + std::time::Duration::from_secs(2);
    assert_ended(&mut client, within, "session ended").await;
}

/// `/api/users` for admins: add, bad input, the last admin kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_users_over_the_api() {
    use reqwest::Method;
    let (_dir, server) = accounts_server("users-api", &[("alice", Role::Admin)], |_| {}).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let carol = serde_json::json!({"name": "carol", "role": "operator", "password": PASSWORD});
    let created = send_json(&server, Method::POST, "/api/users", &alice, Some(carol)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let list: serde_json::Value = send_json(&server, Method::GET, "/api/users", &alice, None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].clone(), u["role"].clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("alice".into(), "admin".into()),
            ("carol".into(), "operator".into())
        ]
    );
    for (body, says) in [
        (
            serde_json::json!({"name": "Carol!", "role": "viewer", "password": PASSWORD}),
            "user name",
        ),
        (
            serde_json::json!({"name": "dave", "role": "viewer", "password": "short"}),
            "12 to 1024",
        ),
        (
            serde_json::json!({"name": "dave", "role": "root", "password": PASSWORD}),
            "role",
        ),
    ] {
        let response = send_json(&server, Method::POST, "/api/users", &alice, Some(body)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(error_of(response).await.contains(says), "{says}");
    }
    let last = send_json(&server, Method::DELETE, "/api/users/alice", &alice, None).await;
    assert_eq!(last.status(), StatusCode::CONFLICT);
    assert!(error_of(last).await.contains("last admin"));
    let nobody = send_json(&server, Method::DELETE, "/api/users/nobody", &alice, None).await;
    assert_eq!(nobody.status(), StatusCode::NOT_FOUND);
    // A path that is not UTF-8 once decoded: 400 in JSON, like every other error.
    let garbled = send_json(&server, Method::DELETE, "/api/users/%FF", &alice, None).await;
    assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
    assert!(error_of(garbled).await.contains("UTF-8"));
}

/// API tokens: made by `berth token create` (printed alone on the last line), good for the
/// API, sockets and metrics, stored hashed, listed with their last use, and revoking one
/// ends its sockets at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_open_the_api_sockets_and_metrics_until_revoked() {
    use reqwest::Method;
    let (dir, server) = accounts_server("tokens", &[("alice", Role::Admin)], |_| {}).await;
    let output = berth_cli(&dir, &["token", "create", "prom", "--role", "viewer"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.lines().last().unwrap().to_string();
    assert!(token.starts_with("berth_"), "{stdout}");
    let listed = berth_cli(&dir, &["token", "list"]);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("prom") && listed.contains("viewer") && !listed.contains(&token),
        "{listed}"
    );
    let bearer = format!("Bearer {token}");
    let with_token =
        |path: &'static str| get_with(&server.base, path, header::AUTHORIZATION, &bearer);
    assert_eq!(with_token("/api/containers").await.status(), StatusCode::OK);
    let metrics = with_token("/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.text().await.unwrap().contains("berth_ws_clients"));
    assert_eq!(
        with_token("/api/tokens").await.status(),
        StatusCode::FORBIDDEN,
        "a viewer token manages nothing"
    );
    let wrong = get_with(
        &server.base,
        "/api/containers",
        header::AUTHORIZATION,
        "Bearer berth_0123",
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let mut streaming = WsClient::connect_with(
        &server.ws_url("/ws/system/stats"),
        &[("authorization", &bearer)],
    )
    .await
    .expect("a socket with a token");
    // Listed with its last use; stored as a hash only.
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let list: serde_json::Value = send_json(&server, Method::GET, "/api/tokens", &alice, None)
        .await
        .json()
        .await
        .unwrap();
    let prom = &list.as_array().unwrap()[0];
    assert_eq!(
        (prom["name"].as_str(), prom["role"].as_str()),
        (Some("prom"), Some("viewer"))
    );
    assert!(prom["last_used"].is_i64(), "{prom}");
    assert!(!list.to_string().contains(&token));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "a token in plain text in the database"
        );
    }
    // Revoked: its socket ends now, and it opens nothing more.
    let id = prom["id"].as_str().unwrap();
    let revoked = send_json(
        &server,
        Method::DELETE,
        &format!("/api/tokens/{id}"),
        &alice,
        None,
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_ended(&mut streaming, std::time::Duration::from_secs(1), "revoked").await;
    assert_eq!(
        with_token("/api/containers").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Made over the API too, shown once.
    let ci = serde_json::json!({"name": "ci", "role": "operator"});
    let made = send_json(&server, Method::POST, "/api/tokens", &alice, Some(ci)).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: serde_json::Value = made.json().await.unwrap();
    assert!(made["token"].as_str().unwrap().starts_with("berth_"));
    assert_eq!(made["info"]["created_by"], "alice");
}

/// The audit log: sign-ins (failed too), sign-outs and every change, by whom, from where;
/// newest first, filtered, paged, for admins only, and pruned past its retention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_says_who_did_what_from_where() {
    use reqwest::Method;
    let users = [("alice", Role::Admin), ("bob", Role::Viewer)];
    let (dir, server) = accounts_server("audit", &users, |_| {}).await;
    assert_eq!(
        sign_in(&server, "bob", "not bob's password").await.0,
        StatusCode::UNAUTHORIZED
    );
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    send_json(&server, Method::POST, "/api/auth/logout", &bob, None).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let carol = serde_json::json!({"name": "carol", "role": "viewer", "password": PASSWORD});
    let made = send_json(&server, Method::POST, "/api/users", &alice, Some(carol)).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let ci = serde_json::json!({"name": "ci", "role": "viewer"});
    send_json(&server, Method::POST, "/api/tokens", &alice, Some(ci)).await;
    let cli = berth_cli(&dir, &["user", "remove", "carol"]);
    assert!(cli.status.success());

    let read = |query: &'static str| audit(&server, &alice, query);
    let all = read("").await;
    let lines: Vec<(String, String, bool)> = all
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["ok"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, String, bool)> = [
        ("cli", "user.remove", true),
        ("alice", "token.create", true),
        ("alice", "user.add", true),
        ("alice", "sign-in", true),
        ("bob", "sign-out", true),
        ("bob", "sign-in", true),
        ("bob", "sign-in", false),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
    .collect();
    assert_eq!(lines, expected, "newest first");
    assert_eq!(all[1]["address"], "127.0.0.1");
    assert_eq!(all[2]["target"], "carol (viewer)");
    assert!(all[0]["address"].is_null(), "the CLI has no address");
    // Filters and pages.
    assert_eq!(read("?action=sign-in").await.len(), 3);
    assert_eq!(read("?actor=bob&action=sign-in").await.len(), 2);
    let first = read("?limit=2").await;
    assert_eq!(first.len(), 2);
    let before = first[1]["at"].as_i64().unwrap();
    let next = read_audit(&server, &alice, &format!("?limit=2&before={before}")).await;
    let next: Vec<serde_json::Value> = next.json().await.unwrap();
    assert!(next.iter().all(|e| e["at"].as_i64().unwrap() < before));
    for bad in ["?limit=0", "?limit=501", "?before=soon"] {
        let response = read_audit(&server, &alice, bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    assert_eq!(
        send_json(&server, Method::GET, "/api/audit", &bob, None)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // Past its retention (90 days by default), an entry is pruned.
    let store = Store::open(&dir.location()).await.unwrap();
    sqlx::query("INSERT INTO audit (id, at, actor, action, target, address, ok) VALUES ('old', 1000, 'x', 'sign-in', NULL, NULL, 1)")
        .execute(&store.pool)
        .await
        .unwrap();
    // Entries of the same millisecond across a page boundary: walking back with the last
    // entry's time and id sees each once (with the time alone, the rest were skipped).
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 1000;
    for i in 1..=5 {
        sqlx::query("INSERT INTO audit (id, at, actor, action, target, address, ok) VALUES ($1, $2, 'burst', 'sign-in', NULL, NULL, 0)")
            .bind(format!("same-{i}"))
            .bind(at)
            .execute(&store.pool)
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut query = "?actor=burst&limit=2".to_string();
    for _ in 0..5 {
        let page: Vec<serde_json::Value> = read_audit(&server, &alice, &query)
            .await
            .json()
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        query = format!(
            "?actor=burst&limit=2&before={}&before_id={}",
            last["at"],
            last["id"].as_str().unwrap()
        );
        seen.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_string()));
    }
    assert_eq!(seen, ["same-5", "same-4", "same-3", "same-2", "same-1"]);
    let auth = server.state.auth.clone().unwrap();
    assert_eq!(auth.audit.prune().await.unwrap(), 1);
    assert!(read("?actor=x").await.is_empty());
}

/// Session cookies are Secure when the browser uses https: an https `--public-url`, or
/// `X-Forwarded-Proto: https` from a `--trusted-proxy` (no one else's word for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_behind_https() {
    let dir = DataDir::new("secure");
    add(&dir.location(), "alice", Role::Viewer).await;
    let cookie = |server: &TestServer, proto: Option<&'static str>| {
        let mut request = client()
            .post(format!("{}/api/auth/login", server.base))
            .json(&serde_json::json!({ "username": "alice", "password": PASSWORD }));
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        let send = request.send();
        async move {
            let response = send.await.unwrap();
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
            response.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    let proxied = TestServer::with_accounts(&dir.location(), |s| {
        s.serve.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert!(cookie(&proxied, Some("https")).await.ends_with("; Secure"));
    assert!(!cookie(&proxied, Some("http")).await.contains("Secure"));
    assert!(!cookie(&proxied, None).await.contains("Secure"));
    let direct = TestServer::with_accounts(&dir.location(), |_| {}).await;
    assert!(
        !cookie(&direct, Some("https")).await.contains("Secure"),
        "an untrusted peer's word is not taken"
    );
    let public = TestServer::with_accounts(&dir.location(), |s| {
        s.accounts.public_url = Some("https://dash.example".into());
    })
    .await;
    assert!(cookie(&public, None).await.ends_with("; Secure"));
}

/// Per-user socket limits join the per-address ones: a user's sockets from anywhere count
/// together; another user is not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_has_a_socket_limit_of_their_own() {
    let users = [("alice", Role::Viewer), ("bob", Role::Viewer)];
    let (_dir, server) =
        accounts_server("per-user", &users, |s| s.sockets.limit_per_user = 2).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let elsewhere = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    let _one = socket(&server, &alice).await;
    let _two = socket(&server, &elsewhere).await;
    let Err((status, body)) =
        WsClient::connect_with(&server.ws_url("/ws/system/stats"), &[("cookie", &alice)]).await
    else {
        panic!("a third socket of alice is refused");
    };
    assert_eq!(status, 429);
    assert!(
        body["error"].as_str().unwrap().contains("per user"),
        "{body}"
    );
    let _bobs = socket(&server, &bob).await;
}
