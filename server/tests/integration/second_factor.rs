//! A second factor for local accounts (TOTP, RFC 6238), as an authenticator app would
//! answer it: the test computes the codes itself from the secret Berth shows (HMAC-SHA1,
//! its own few lines, not Berth's). Set up and confirmed with a first code; asked at every
//! password sign-in; a code is good once; a recovery code once; wrong codes count against
//! the sign-in limits as wrong passwords do; turning it off takes a code; an admin may
//! require it, and someone it is required of does nothing else until it is set up.

use crate::common::{DataDir, TestServer, WsClient};
use crate::signin::{PASSWORD, add, send_json, sign_in};
use app::model::Role;
use berth::Location;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The code an authenticator app shows for `secret` (base32) at `step`.
fn app_code(secret: &str, step: u64) -> String {
    use ring::hmac;
    let key = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .expect("a base32 secret");
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let at = (mac[19] & 0x0f) as usize;
    let number = u32::from_be_bytes([mac[at] & 0x7f, mac[at + 1], mac[at + 2], mac[at + 3]]);
    format!("{:06}", number % 1_000_000)
}

/// The 30-second step of now.
fn step_now() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    now.as_secs() / 30
}

/// Signs in with a code: the status.
async fn sign_in_with(server: &TestServer, name: &str, code: Option<&str>) -> (StatusCode, Value) {
    let mut body = json!({ "username": name, "password": PASSWORD });
    if let Some(code) = code {
        body["code"] = json!(code);
    }
    let response = crate::signin::post_json(&server.base, "/api/auth/login", body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Signs alice in from 127.0.0.`address` (a client of its own for the limits).
async fn sign_in_from(server: &TestServer, address: u8, code: Option<&str>) -> (StatusCode, Value) {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, address]))
        .build()
        .unwrap();
    let body = json!({ "username": "alice", "password": PASSWORD, "code": code });
    let response = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn call(
    server: &TestServer,
    method: Method,
    path: &str,
    cookie: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = send_json(server, method, path, cookie, body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Sets up and confirms a second factor for the session `cookie`: its secret, the step its
/// first code was for, and the recovery codes.
async fn set_up(server: &TestServer, cookie: &str) -> (String, String, Vec<String>) {
    let path = "/api/account/second-factor";
    let (status, setup) = call(server, Method::POST, path, cookie, None).await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(setup["link"].as_str().unwrap().contains(&secret), "{setup}");
    assert!(
        setup["qr"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    let confirm = format!("{path}/confirm");
    let wrong = json!({ "code": app_code(&secret, step_now() + 10) });
    let (status, body) = call(server, Method::POST, &confirm, cookie, Some(wrong)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let first = app_code(&secret, step_now());
    let body = json!({ "code": first });
    let (status, codes) = call(server, Method::POST, &confirm, cookie, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{codes}");
    let codes: Vec<String> = serde_json::from_value(codes["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    (secret, first, codes)
}

async fn state(server: &TestServer, cookie: &str) -> Value {
    let path = "/api/account/second-factor";
    let (status, body) = call(server, Method::GET, path, cookie, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_is_asked_spent_once_recovered_once_and_limited() {
    let dir = DataDir::new("second-factor");
    codes_story(dir.location()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_is_asked_spent_once_recovered_once_and_limited_on_postgres() {
    crate::common::on_fresh_postgres("second_factor", codes_story).await;
}

async fn codes_story(location: Location) {
    add(&location, "alice", Role::Viewer).await;
    // The secret key that seals the second factors' secrets, as `launch` keeps it.
    let keys = DataDir::new("second-factor-key");
    let key = keys.path().join("secret.key");
    let server = TestServer::with_accounts(&location, |s| {
        s.secrets.default_key_file = Some(key);
    })
    .await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    assert_eq!(state(&server, &alice).await["enabled"], false);
    let (secret, first, recovery) = set_up(&server, &alice).await;
    let now = state(&server, &alice).await;
    assert_eq!(
        (&now["enabled"], &now["recovery_codes_left"]),
        (&json!(true), &json!(10))
    );
    let path = "/api/account/second-factor";
    let (status, _) = call(&server, Method::POST, path, &alice, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "one at a time");

    // The password alone is no longer enough; the code that confirmed is spent.
    let (status, body) = sign_in_with(&server, "alice", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"].as_str().unwrap().contains("second factor"),
        "{body}"
    );
    let (status, body) = sign_in_with(&server, "alice", Some(&first)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a spent code: {body}");
    // The app's next code is good (a step ahead is within the window), once.
    let next = app_code(&secret, step_now() + 1);
    assert_eq!(
        sign_in_with(&server, "alice", Some(&next)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = sign_in_with(&server, "alice", Some(&next)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "replayed: {body}");
    // A recovery code, typed any way, once.
    let typed = recovery[0].to_uppercase().replace('-', " ");
    assert_eq!(
        sign_in_with(&server, "alice", Some(&typed)).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sign_in_with(&server, "alice", Some(&recovery[0])).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(state(&server, &alice).await["recovery_codes_left"], 9);

    // Turning it off takes a code: a wrong one is refused, a recovery code does it.
    let off = format!("{path}/off");
    let wrong = Some(json!({ "code": "nonsense-code" }));
    assert_eq!(
        call(&server, Method::POST, &off, &alice, wrong).await.0,
        StatusCode::BAD_REQUEST
    );
    let one = Some(json!({ "code": recovery[1] }));
    assert_eq!(
        call(&server, Method::POST, &off, &alice, one).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(state(&server, &alice).await["enabled"], false);
    assert_eq!(
        sign_in_with(&server, "alice", None).await.0,
        StatusCode::NO_CONTENT
    );

    // Wrong codes count as wrong passwords do: the limit comes, and then even a good
    // recovery code is refused (and not spent).
    let (secret, _, recovery) = set_up(&server, &alice).await;
    let mut statuses = Vec::new();
    for _ in 0..=berth::MAX_FAILURES {
        let wrong = app_code(&secret, step_now() + 10);
        statuses.push(sign_in_with(&server, "alice", Some(&wrong)).await.0);
    }
    // Refused, then limited, and limited from then on.
    let limited = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert!(
        statuses[..limited]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
            && statuses[limited..]
                .iter()
                .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let (status, _) = sign_in_with(&server, "alice", Some(&recovery[0])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(state(&server, &alice).await["recovery_codes_left"], 10);

    // Guesses from many addresses (each under its own limit) add up for the account: past
    // ten, no code is taken from anywhere, not even a good recovery code, which stays.
    for address in 11..14 {
        for _ in 0..4 {
            let wrong = app_code(&secret, step_now() + 10);
            sign_in_from(&server, address, Some(&wrong)).await;
        }
    }
    let (status, body) = sign_in_from(&server, 20, Some(&recovery[0])).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("this account"),
        "{body}"
    );
    assert_eq!(state(&server, &alice).await["recovery_codes_left"], 10);

    // Every change is in the audit log.
    let actions: Vec<String> = {
        let store = berth::Store::open(&location).await.unwrap();
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT action FROM audit WHERE actor = 'alice' AND action LIKE 'second-factor.%'",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap();
        store.pool.close().await;
        rows.into_iter().map(|(a,)| a).collect()
    };
    assert_eq!(
        actions.iter().filter(|a| *a == "second-factor.on").count(),
        2,
        "{actions:?}"
    );
    assert!(
        actions.contains(&"second-factor.off".to_string()),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_second_factor_comes_before_anything_else() {
    let dir = DataDir::new("second-factor-required");
    add(&dir.location(), "root", Role::Admin).await;
    add(&dir.location(), "alice", Role::Viewer).await;
    let key = dir.path().join("secret.key");
    let server = TestServer::with_accounts(&dir.location(), |s| {
        s.accounts.second_factor_for_admins = true;
        s.secrets.default_key_file = Some(key);
    })
    .await;
    let root = sign_in(&server, "root", PASSWORD).await.1.unwrap();
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    // An admin without one: only their account, and who they are.
    let (status, body) = call(&server, Method::GET, "/api/containers", &root, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("second factor first"),
        "{body}"
    );
    let page = send_json(&server, Method::GET, "/containers", &root, None).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/account");
    assert_eq!(
        call(&server, Method::GET, "/api/auth/me", &root, None)
            .await
            .0,
        StatusCode::OK
    );
    let refused = WsClient::connect_with(&server.ws_url("/ws/system/stats"), &[("cookie", &root)])
        .await
        .err()
        .expect("no socket before the second factor");
    assert_eq!(refused.0, 403);
    assert_eq!(state(&server, &root).await["required"], true);
    // A viewer is not asked.
    let (status, _) = call(&server, Method::GET, "/api/containers", &alice, None).await;
    assert_eq!(status, StatusCode::OK);
    // Once set up, the same session goes everywhere.
    set_up(&server, &root).await;
    let (status, _) = call(&server, Method::GET, "/api/containers", &root, None).await;
    assert_eq!(status, StatusCode::OK);

    // An admin's own is turned off with a code, on their account page, not reset.
    let own = "/api/users/root/second-factor";
    let (status, body) = call(&server, Method::DELETE, own, &root, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // An admin requires it of alice: her next request is sent to set it up, and the
    // socket she had open ends.
    let ws = server.ws_url("/ws/system/stats");
    let mut socket = WsClient::connect_with(&ws, &[("cookie", &alice)])
        .await
        .expect("alice's socket");
    socket
        .next(std::time::Duration::from_secs(10))
        .await
        .expect("a first frame");
    let rule = |required| Some(json!({ "required": required }));
    let path = "/api/users/alice/second-factor";
    let (status, body) = call(&server, Method::PUT, path, &alice, rule(true)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins: {body}");
    assert_eq!(
        call(&server, Method::PUT, path, &root, rule(true)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = call(&server, Method::GET, "/api/containers", &alice, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    crate::signin::assert_ended(
        &mut socket,
        std::time::Duration::from_secs(10),
        "session ended",
    )
    .await;
    set_up(&server, &alice).await;
    let (status, _) = call(&server, Method::GET, "/api/containers", &alice, None).await;
    assert_eq!(status, StatusCode::OK);
    // A reset (a lost phone): required still, so set up again before anything else.
    assert_eq!(
        call(&server, Method::DELETE, path, &root, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&server, Method::DELETE, path, &root, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = call(&server, Method::GET, "/api/containers", &alice, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        call(&server, Method::PUT, path, &root, rule(false)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = call(&server, Method::GET, "/api/containers", &alice, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, users) = call(&server, Method::GET, "/api/users", &root, None).await;
    let root_row = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "root")
        .unwrap();
    assert_eq!(root_row["second_factor"], true, "{users}");
}
