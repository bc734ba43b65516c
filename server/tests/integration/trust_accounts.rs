//! Issue 25 (trust), the accounts side: sign-in limits and their audit, sessions and
//! tokens that end when they should, the redirect after sign-in, the host-only cookie, the
//! first admin's setup, and sockets whose owner cannot be verified. Real server, real
//! SQLite store, real HTTP and WebSocket.

use crate::common::{TestServer, WsClient};
use crate::signin::{
    DataDir, PASSWORD, accounts_server, add, assert_ended, audit, ending, get_with, post_form,
    post_json, put_json, send_json, sign_in,
};
use app::model::Role;
use berth::{Store, sessions};
use reqwest::{Method, StatusCode, header, redirect};
use std::{net::IpAddr, time::Duration};

/// GET with a cookie (`name=value`).
async fn get(server: &TestServer, path: &str, cookie: &str) -> reqwest::Response {
    send_json(server, Method::GET, path, cookie, None).await
}

/// A JSON sign-in from `from` (a client bound to that loopback address); the status.
async fn sign_in_from(server: &TestServer, from: IpAddr, name: &str, password: &str) -> StatusCode {
    reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .local_address(from)
        .build()
        .unwrap()
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({ "username": name, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// A stats socket opened with `header` (`cookie` or `authorization`).
async fn socket_with(server: &TestServer, header: &str, value: &str) -> WsClient {
    WsClient::connect_with(&server.ws_url("/ws/system/stats"), &[(header, value)])
        .await
        .expect("a socket for a signed-in caller")
}

/// Item 3: a name that no account can have is refused (400) before anything is written,
/// and does not count as a failure; a burst of 429s from one address is one audit entry
/// whose target carries the count, not one entry per refused try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_refusals_is_one_audit_entry_and_bad_names_are_not_written() {
    let users = [("alice", Role::Admin), ("bob", Role::Viewer)];
    let (_dir, server) = accounts_server("trust-burst", &users, |_| {}).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let before = audit(&server, &alice, "").await;

    // Bad names: 400, nothing in the audit log (the log once kept 2 MB names with ANSI).
    for name in ["a".repeat(300), "x\n\x1b[31mred".to_string()] {
        let (status, _) = sign_in(&server, &name, "some wrong password").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name:?}");
        let fields = [
            ("username", name.as_str()),
            ("password", "some wrong password"),
        ];
        let form = post_form(&server.base, &fields).await;
        assert_eq!(
            form.status(),
            StatusCode::SEE_OTHER,
            "a form gets its page back"
        );
        assert!(!form.headers().contains_key(header::SET_COOKIE));
    }
    let after = audit(&server, &alice, "").await;
    assert_eq!(after, before, "a refused name writes nothing");

    // They were not tries either: five real failures still answer 401 each.
    for i in 0..5 {
        let (status, _) = sign_in(&server, "bob", "a wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "failure {i}");
    }
    // Then a burst of refusals: a few at once, and one more after the recount interval.
    let quick = 6;
    for _ in 0..quick {
        let (status, _) = sign_in(&server, "bob", "a wrong password").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = sign_in(&server, "bob", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password"
    );

    // The burst's entry is brought up to date within a second of a refusal.
    let total = quick + 1;
    let counted = format!("too many failures: {total} tries refused");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let refused = loop {
        let refused = audit(&server, &alice, "?action=sign-in.refused").await;
        if refused.len() != 1
            || refused[0]["target"] == counted.as_str()
            || tokio::time::Instant::now() > deadline
        {
            break refused;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(refused.len(), 1, "one entry for the burst: {refused:?}");
    let entry = &refused[0];
    assert_eq!(entry["actor"], "bob");
    assert_eq!(entry["address"], "127.0.0.1");
    assert_eq!(entry["ok"], false);
    assert_eq!(
        entry["target"],
        counted.as_str(),
        "the entry counts the burst"
    );
    // The five failures are entries of their own (each was a real try).
    let failed = audit(&server, &alice, "?actor=bob&action=sign-in").await;
    assert_eq!(failed.len(), 5, "{failed:?}");
}

/// Item 4: a try is counted as it begins, before its password is hashed: 20 guesses sent
/// at once for one name from one address get at most 5 verifications (401); the rest 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_are_counted_before_they_are_verified() {
    let users = [("alice", Role::Admin)];
    let (_dir, server) = accounts_server("trust-parallel", &users, |_| {}).await;
    let guesses = (0..20).map(|i| {
        let server = &server;
        async move {
            sign_in(server, "alice", &format!("guess number {i:02}"))
                .await
                .0
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let verified = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(verified + refused, 20, "only 401 or 429: {statuses:?}");
    assert!(
        (1..=berth::MAX_FAILURES).contains(&verified),
        "at most 5 guesses verified, not {verified}: {statuses:?}"
    );
    // The limit is full now: the right password waits too.
    assert_eq!(
        sign_in(&server, "alice", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Item 4: failures for `admin` from one address refuse it there, never elsewhere: nobody
/// can lock an account out from anywhere. (Only the peer address counts without a trusted
/// proxy, so the other address is a client bound to 127.0.0.2.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_refused_at_one_address_is_not_refused_at_another() {
    let users = [("admin", Role::Admin)];
    let (_dir, server) = accounts_server("trust-elsewhere", &users, |_| {}).await;
    let (here, there) = (IpAddr::from([127, 0, 0, 1]), IpAddr::from([127, 0, 0, 2]));
    let mut failures = 0;
    while sign_in_from(&server, here, "admin", "an attacker's guess").await
        == StatusCode::UNAUTHORIZED
    {
        failures += 1;
        assert!(failures <= 5, "refused after five failures");
    }
    assert_eq!(failures, 5);
    assert_eq!(
        sign_in_from(&server, here, "admin", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address is refused, even with the password"
    );
    assert_eq!(
        sign_in_from(&server, there, "admin", PASSWORD).await,
        StatusCode::NO_CONTENT,
        "the admin elsewhere signs in"
    );
    // And the attacker's address is still refused for that name after the admin's success.
    assert_eq!(
        sign_in_from(&server, here, "admin", "another guess!").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Item 6: a new password ends the user's other sessions and, at once, their sockets (4401);
/// the session that set it lives on. An admin setting someone else's password ends all of
/// that user's sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_the_other_sessions_and_their_sockets() {
    let users = [("alice", Role::Admin), ("bob", Role::Viewer)];
    let (_dir, server) = accounts_server("trust-password", &users, |_| {}).await;
    let within = Duration::from_secs(1);
    let new_password = "alice's brand new password";

    // Alice, signed in twice; a socket on the second session.
    let a = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let b = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let mut streaming = socket_with(&server, "cookie", &b).await;
    let password = serde_json::json!({ "password": new_password });
    let changed = put_json(&server, "/api/users/alice/password", &a, password).await;
    assert_eq!(changed, StatusCode::NO_CONTENT);
    assert_ended(&mut streaming, within, "password").await;
    assert_eq!(
        get(&server, "/api/auth/me", &b).await.status(),
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        get(&server, "/api/auth/me", &a).await.status(),
        StatusCode::OK,
        "the session that changed it lives on"
    );
    assert_eq!(
        sign_in(&server, "alice", new_password).await.0,
        StatusCode::NO_CONTENT
    );

    // An admin sets bob's password: every session of bob ends, with its socket.
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    let mut his = socket_with(&server, "cookie", &bob).await;
    let password = serde_json::json!({ "password": "bob's password, reset" });
    let reset = put_json(&server, "/api/users/bob/password", &a, password).await;
    assert_eq!(reset, StatusCode::NO_CONTENT);
    assert_ended(&mut his, within, "password").await;
    assert_eq!(
        get(&server, "/api/auth/me", &bob).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&server, "/api/auth/me", &a).await.status(),
        StatusCode::OK,
        "the admin who reset it keeps her session"
    );
}

/// Item 7: the form's `next` is a path on this site or ignored, whatever it holds (a tab
/// a browser drops, a doubled slash, a backslash a browser reads as `/`, a control
/// character that cannot go in a header): never a 500, never another site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_never_leaves_the_site() {
    let users = [("alice", Role::Viewer)];
    let (_dir, server) = accounts_server("trust-next", &users, |_| {}).await;
    // Where a browser would go: it drops tabs and newlines from a URL and reads `\` as `/`.
    let as_a_browser_reads = |location: &str| -> String {
        location
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .map(|c| if c == '\\' { '/' } else { c })
            .collect()
    };
    for next in [
        "/%09/evil.example",
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "/\r\n/evil.example",
        "/x\x07y",
        "/x\x7fy",
        "https://evil.example/",
        " /evil",
    ] {
        // The right password, and a wrong one for each too (four failures in all: the
        // fifth would make the sixth try wait).
        let wrong = [
            "/%09/evil.example",
            "/\t/evil.example",
            "//evil.example",
            "/x\x07y",
        ]
        .contains(&next);
        let passwords: &[&str] = if wrong {
            &[PASSWORD, "a wrong password"]
        } else {
            &[PASSWORD]
        };
        for &password in passwords {
            let fields = [
                ("username", "alice"),
                ("password", password),
                ("next", next),
            ];
            let response = post_form(&server.base, &fields).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
            let location = response.headers()[header::LOCATION].to_str().unwrap();
            let read = as_a_browser_reads(location);
            assert!(
                read.starts_with('/') && !read.starts_with("//"),
                "{next:?} went to {location:?}"
            );
            assert!(
                !location.chars().any(|c| c.is_control()),
                "{next:?}: {location:?}"
            );
            if password == PASSWORD {
                assert!(response.headers().contains_key(header::SET_COOKIE));
            }
        }
    }
    // A good `next` is still followed.
    let fields = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("next", "/images?q=a"),
    ];
    let ok = post_form(&server.base, &fields).await;
    assert_eq!(ok.headers()[header::LOCATION], "/images?q=a");
}

/// Item 8: over https the session cookie is `__Host-berth_session`: Secure, Path=/, no
/// Domain, so no other port or subdomain of the host gets it; and it signs the next
/// request in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_host_only_over_https() {
    let users = [("alice", Role::Viewer)];
    let (_dir, server) = accounts_server("trust-host-cookie", &users, |s| {
        s.accounts.public_url = Some("https://dash.example".into());
    })
    .await;
    let body = serde_json::json!({ "username": "alice", "password": PASSWORD });
    let response = post_json(&server.base, "/api/auth/login", body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let set = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    let (pair, attributes) = set.split_once(';').unwrap();
    let (name, value) = pair.split_once('=').unwrap();
    assert_eq!(name, "__Host-berth_session", "{set}");
    assert!(!value.is_empty());
    let attributes: Vec<&str> = attributes.split(';').map(str::trim).collect();
    for wanted in ["Secure", "Path=/", "HttpOnly"] {
        assert!(attributes.contains(&wanted), "{wanted} in {set}");
    }
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "no Domain: {set}"
    );
    let me = get(&server, "/api/auth/me", pair).await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["name"], "alice");
    // The same secret under the plain name, as another origin of the host could plant it
    // (Path=/api, sent first): not a session here.
    let planted = format!("berth_session={value}");
    assert_eq!(
        get(&server, "/api/auth/me", &planted).await.status(),
        StatusCode::UNAUTHORIZED,
        "over https only the __Host- cookie is read"
    );
    // Signing out clears that same cookie.
    let out = send_json(&server, Method::POST, "/api/auth/logout", pair, None).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-berth_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

/// Item 9: setups raced with the right token make exactly one admin (the store checks that
/// nobody has an account in the statement that adds one); the token works no more after;
/// the setup is audited with the address it came from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_makes_one_admin_even_when_raced_and_its_token_expires() {
    let (dir, server) = accounts_server("trust-setup", &[], |_| {}).await;
    let token = crate::signin::setup_token(&server, "no account yet").await;
    let setup = |name: String| {
        let body = serde_json::json!({ "token": token, "username": name, "password": PASSWORD });
        let server = &server;
        async move {
            let response = post_json(&server.base, "/api/auth/setup", body).await;
            let cookie = response
                .headers()
                .get(header::SET_COOKIE)
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
            (name, response.status(), cookie)
        }
    };
    let raced = futures::future::join_all((0..8).map(|i| setup(format!("root{i}")))).await;
    let winners: Vec<_> = raced
        .iter()
        .filter(|(_, status, _)| *status == StatusCode::NO_CONTENT)
        .collect();
    assert_eq!(winners.len(), 1, "one setup succeeds: {raced:?}");
    for (name, status, cookie) in &raced {
        if *status != StatusCode::NO_CONTENT {
            assert!(
                [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(status),
                "{name}: a loser is refused, not {status}"
            );
            assert!(cookie.is_none(), "{name} got no session");
        }
    }
    let (winner, _, cookie) = winners[0];
    let cookie = cookie.clone().expect("the winner is signed in");
    // Exactly one user, as the store sees it.
    let store = Store::open(&dir.location()).await.unwrap();
    let users = berth::users::list(&store).await.unwrap();
    let names: Vec<(&str, Role)> = users.iter().map(|u| (u.name.as_str(), u.role)).collect();
    assert_eq!(names, [(winner.as_str(), Role::Admin)]);
    // The token is spent.
    let (_, again, again_cookie) = setup("late".into()).await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&again),
        "{again}"
    );
    assert!(again_cookie.is_none());
    assert_eq!(berth::users::count(&store).await.unwrap(), 1);
    // Audited once, with the address.
    let entries = audit(&server, &cookie, "?action=setup").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], winner.as_str());
    assert_eq!(entries[0]["address"], "127.0.0.1");
    assert_eq!(
        berth::SETUP_LIFETIME,
        Duration::from_secs(3600),
        "the link Berth logs works an hour"
    );
    store.pool.close().await;
}

/// Item 9, expiry: a setup token past its lifetime is refused, and nobody is made admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_setup_token_is_refused() {
    let (dir, server) = accounts_server("trust-setup-expiry", &[], |_| {}).await;
    let auth = server.state.auth.clone().unwrap();
    let token = auth
        .offer_setup_for(Duration::from_millis(300))
        .await
        .unwrap()
        .expect("no account yet");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let body = serde_json::json!({ "token": token, "username": "late", "password": PASSWORD });
    let response = post_json(&server.base, "/api/auth/setup", body).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("expired"),
        "{error}"
    );
    let store = Store::open(&dir.location()).await.unwrap();
    assert_eq!(berth::users::count(&store).await.unwrap(), 0);
    store.pool.close().await;
}

/// Item 13: a token never carries more than its maker's current role: an admin's admin
/// token, once its maker is a viewer, reads as a viewer and manages nothing (and its
/// sockets opened as admin end); once its maker is removed it opens nothing, and its
/// open socket ends with 4401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_carries_no_more_than_its_makers_current_role() {
    let users = [("alice", Role::Admin), ("bob", Role::Admin)];
    let (_dir, server) = accounts_server("trust-token-role", &users, |_| {}).await;
    let within = Duration::from_secs(1);
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let bob = sign_in(&server, "bob", PASSWORD).await.1.unwrap();
    let ops = serde_json::json!({ "name": "ops", "role": "admin" });
    let made = send_json(&server, Method::POST, "/api/tokens", &alice, Some(ops)).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let made: serde_json::Value = made.json().await.unwrap();
    let bearer = format!("Bearer {}", made["token"].as_str().unwrap());
    let with_token =
        |path: &'static str| get_with(&server.base, path, header::AUTHORIZATION, &bearer);
    assert_eq!(
        with_token("/api/users").await.status(),
        StatusCode::OK,
        "an admin's admin token manages users"
    );
    let mut as_admin = socket_with(&server, "authorization", &bearer).await;

    // Alice is made a viewer: her token is a viewer's now.
    let viewer = serde_json::json!({ "role": "viewer" });
    let demoted = put_json(&server, "/api/users/alice/role", &bob, viewer).await;
    assert_eq!(demoted, StatusCode::NO_CONTENT);
    let (reason, code) = ending(&mut as_admin, within).await;
    assert!(reason.contains("role"), "{reason}");
    assert_eq!(code, Some(4401), "a socket opened as admin ends");
    assert_eq!(
        with_token("/api/users").await.status(),
        StatusCode::FORBIDDEN,
        "no more than its maker's role"
    );
    assert_eq!(
        with_token("/api/containers").await.status(),
        StatusCode::OK,
        "it still reads as a viewer"
    );
    let mut as_viewer = socket_with(&server, "authorization", &bearer).await;
    // Still a viewer's socket after a sweep: a lower role than the token's own is not a
    // reason to end what was opened with that lower role.
    assert!(
        as_viewer
            .next(berth::SWEEP_EVERY + Duration::from_secs(1))
            .await
            .is_ok(),
        "a socket opened as a viewer streams on"
    );

    // Alice is removed: the token ends, and its open socket with it.
    let removed = send_json(&server, Method::DELETE, "/api/users/alice", &bob, None).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let (_, code) = ending(&mut as_viewer, within).await;
    assert_eq!(code, Some(4401));
    assert_eq!(
        with_token("/api/containers").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let Err((status, _)) = WsClient::connect_with(
        &server.ws_url("/ws/system/stats"),
        &[("authorization", &bearer)],
    )
    .await
    else {
        panic!("a removed maker's token opens no socket");
    };
    assert_eq!(status, 401);
}

/// Item 13: expired sessions are deleted without being presented: a server that starts
/// on a store holding one deletes it (and keeps the live one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_swept() {
    let dir = DataDir::new("trust-sweep");
    add(&dir.location(), "alice", Role::Viewer).await;
    let store = Store::open(&dir.location()).await.unwrap();
    let live = sessions::create(&store, "alice").await.unwrap();
    let idle = sessions::create(&store, "alice").await.unwrap();
    let old = sessions::create(&store, "alice").await.unwrap();
    let day = 86_400_000i64;
    let now = berth::now_ms();
    // Idle for two days (the default allows one), and begun a year ago.
    for (secret, created, last_seen) in [
        (&idle, now - 3 * day, now - 2 * day),
        (&old, now - 365 * day, now - 1000),
    ] {
        sqlx::query("UPDATE sessions SET created_at = $1, last_seen = $2 WHERE id_hash = $3")
            .bind(created)
            .bind(last_seen)
            .bind(sessions::digest(secret))
            .execute(&store.pool)
            .await
            .unwrap();
    }
    let count = |secret: String| {
        let store = store.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sessions WHERE id_hash = $1")
                .bind(sessions::digest(&secret))
                .fetch_one(&store.pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(idle.clone()).await, 1);
    let _server = TestServer::with_accounts(&dir.location(), |_| {}).await;
    // Nobody presents them: the server's sweep alone deletes them.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while (count(idle.clone()).await, count(old.clone()).await) != (0, 0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "expired sessions are still stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(live.clone()).await, 1, "a live session is kept");
    store.pool.close().await;
}

/// Opens a socket for alice, checks it outlives a sweep, runs `break_store`, and expects
/// the socket closed (4401) within two sweeps and a second: the sweep fails closed.
async fn closed_when_the_store_breaks<F, Fut>(location: berth::Location, break_store: F)
where
    F: FnOnce(berth::Location) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use berth::SWEEP_EVERY;
    add(&location, "alice", Role::Viewer).await;
    let server = TestServer::with_accounts(&location, |_| {}).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    let mut streaming = socket_with(&server, "cookie", &alice).await;
    // While the store answers, sweeps keep the socket: it streams past one.
    let until = tokio::time::Instant::now() + SWEEP_EVERY + Duration::from_millis(500);
    while tokio::time::Instant::now() < until {
        let frame = streaming.next(Duration::from_secs(2)).await;
        assert!(
            matches!(frame, Ok(ref f) if !matches!(f, app::frames::Frame::End { .. })),
            "a verified socket streams on: {frame:?}"
        );
    }
    break_store(location).await;
    let within = SWEEP_EVERY * 2 + Duration::from_secs(1);
    assert_ended(&mut streaming, within, "cannot be verified").await;
}

/// Item 14: a signed-in socket whose owner the store cannot vouch for (here the SQLite
/// store answers every sweep with an error: its `sessions` table is gone, as after a
/// restore of the wrong file) is closed within the sweep's promise, not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_whose_owner_cannot_be_verified_is_closed() {
    let dir = DataDir::new("trust-fail-closed");
    closed_when_the_store_breaks(dir.location(), |location| async move {
        // An open SQLite file survives its deletion or a chmod for the connections that
        // hold it; a schema the sweep's query cannot run on fails it every time.
        let store = Store::open(&location).await.unwrap();
        sqlx::query("ALTER TABLE sessions RENAME TO sessions_elsewhere")
            .execute(&store.pool)
            .await
            .unwrap();
        store.pool.close().await;
    })
    .await;
}

/// Item 14 on PostgreSQL: the database stops taking connections and its open ones are
/// ended (as when it goes away): the socket is closed within the sweep's promise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_whose_owner_cannot_be_verified_is_closed_in_postgres() {
    crate::common::on_fresh_postgres("trust_fail_closed", |location| async move {
        closed_when_the_store_breaks(location, |location| async move {
            let berth::Location::Url(url) = location else {
                unreachable!("PostgreSQL")
            };
            let db = url.rsplit_once('/').unwrap().1;
            // From the database `on_fresh_postgres` made this one in (`make test`'s own).
            let admin_url = std::env::var("BERTH_TEST_POSTGRES_URL").unwrap();
            let admin = Store::open(&berth::Location::Url(admin_url)).await.unwrap();
            sqlx::query(&format!("ALTER DATABASE {db} ALLOW_CONNECTIONS false"))
                .execute(&admin.pool)
                .await
                .unwrap();
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(db)
            .execute(&admin.pool)
            .await
            .unwrap();
            admin.pool.close().await;
        })
        .await;
    })
    .await;
}

/// Item 3, the count of a quick burst: ten refusals in under a second, then nothing; the
/// burst's one entry still ends up saying ten (it stayed "1 try refused" when only a later
/// refusal rewrote the count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_burst_is_counted_in_full() {
    let users = [("alice", Role::Admin)];
    let (_dir, server) = accounts_server("trust-quick-burst", &users, |_| {}).await;
    let alice = sign_in(&server, "alice", PASSWORD).await.1.unwrap();
    for _ in 0..5 {
        assert_eq!(
            sign_in(&server, "bob", "a wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    for _ in 0..10 {
        assert_eq!(
            sign_in(&server, "bob", "a wrong password").await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    // Well past the promised second, with no refusal since.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let refused = audit(&server, &alice, "?action=sign-in.refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["target"], "too many failures: 10 tries refused");
}
