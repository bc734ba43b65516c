//! Issue 10, signing in: every door of a server that requires it, on the real database
//! (SQLite here; PostgreSQL too in `make test`), over real HTTP and WebSocket.

use crate::common::{TestServer, WsClient};
use app::model::Role;
use berth::{accounts::users, store::Location, store::Store};
use reqwest::{StatusCode, header, redirect};
use std::path::PathBuf;

const PASSWORD: &str = "alice's long password";

/// A fresh SQLite data directory, removed on drop.
struct DataDir(PathBuf);

impl DataDir {
    fn new(tag: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-it-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }

    fn location(&self) -> Location {
        Location::DataDir(self.0.clone())
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client that shows redirects instead of following them, and keeps no cookies of its own.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn add(location: &Location, name: &str, role: Role) {
    let store = Store::open(location).await.unwrap();
    users::add(&store, name, role, PASSWORD.into())
        .await
        .unwrap();
    store.pool.close().await;
}

/// Signs in with JSON; returns the status and the session cookie (`name=value`).
async fn sign_in(server: &TestServer, name: &str, password: &str) -> (StatusCode, Option<String>) {
    let response = client()
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({ "username": name, "password": password }))
        .send()
        .await
        .unwrap();
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
    let wrong = client()
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({ "username": "alice", "password": "not her password" }))
        .send()
        .await
        .unwrap();
    let unknown = client()
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({ "username": "mallory", "password": "not her password" }))
        .send()
        .await
        .unwrap();
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
        serde_json::json!({ "name": "alice", "role": "viewer", "accounts": true })
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
    let out = client()
        .post(format!("{}/api/auth/logout", server.base))
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
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
    let url = std::env::var("BERTH_TEST_POSTGRES_URL")
        .expect("BERTH_TEST_POSTGRES_URL: run `make test`, which starts a private PostgreSQL");
    let db = format!("berth_it_doors_{}", std::process::id());
    let admin = Store::open(&Location::Url(url.clone())).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&admin.pool)
        .await
        .unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    every_door(Location::Url(format!("{base}/{db}"))).await;
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&admin.pool)
        .await
        .unwrap();
}

/// The form a page without JavaScript posts: redirects, and `next` only on this site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_form_redirects_and_only_to_this_site() {
    let dir = DataDir::new("form");
    add(&dir.location(), "alice", Role::Viewer).await;
    let server = TestServer::with_accounts(&dir.location(), |_| {}).await;
    let post = |next: &'static str, password: &'static str| {
        client()
            .post(format!("{}/api/auth/login", server.base))
            .form(&[
                ("username", "alice"),
                ("password", password),
                ("next", next),
            ])
            .send()
    };
    let ok = post("/containers/abc?tab=logs", PASSWORD).await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()[header::LOCATION], "/containers/abc?tab=logs");
    assert!(ok.headers().contains_key(header::SET_COOKIE));
    let evil = post("//evil.example/x", PASSWORD).await.unwrap();
    assert_eq!(evil.headers()[header::LOCATION], "/");
    let failed = post("/projects", "wrong password!").await.unwrap();
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
    let dir = DataDir::new("attempts");
    add(&dir.location(), "alice", Role::Viewer).await;
    let server = TestServer::with_accounts(&dir.location(), |_| {}).await;
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, "alice", "a wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let response = client()
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({ "username": "alice", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
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
    let dir = DataDir::new("csrf");
    add(&dir.location(), "alice", Role::Viewer).await;
    let server = TestServer::with_accounts(&dir.location(), |_| {}).await;
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
    let dir = DataDir::new("setup");
    let server = TestServer::with_accounts(&dir.location(), |_| {}).await;
    let auth = server.state.auth.clone().unwrap();
    let token = auth.offer_setup().await.unwrap().expect("no account yet");
    let setup = |token: String| {
        client()
            .post(format!("{}/api/auth/setup", server.base))
            .json(&serde_json::json!({ "token": token, "username": "root", "password": PASSWORD }))
            .send()
    };
    let stranger = setup("guessed".into()).await.unwrap();
    assert_eq!(stranger.status(), StatusCode::FORBIDDEN);
    let response = setup(token.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me: serde_json::Value = get(&server, "/api/auth/me", Some(&cookie))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(
        setup(token).await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "setup is over"
    );
    assert_eq!(auth.offer_setup().await.unwrap(), None);
}
