//! Issue 30, alerts: rules over the real engine's events, delivered to a real HTTP receiver
//! on loopback through the outbox. A container that exits 1 alerts with its name and code
//! (one that exits 0 does not); a restart loop and an OOM kill alert; a cooldown and a mute
//! keep quiet; "resolved" is sent; a receiver that is down gets every alert once, in order,
//! when it comes back, across a Berth restart. Channels never give their URL back, bad
//! input is refused with why, and however many rules there are, the engine's events are
//! read once.

use crate::common::{DataDir, Fixture, MailServer, Receiver, TestServer, WsClient, docker};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// A webhook channel to `url` (Berth's own JSON); its id.
async fn channel(server: &TestServer, name: &str, url: &str) -> i64 {
    let body = json!({"name": name, "kind": "webhook", "url": url});
    let (status, answer) = server
        .send(Method::POST, "/api/alerts/channels", Some(body))
        .await;
    assert_eq!(status, 201, "{answer}");
    answer["id"].as_i64().unwrap()
}

/// A rule over this test's containers (by name) that sends to `channel`; its id.
async fn rule(server: &TestServer, tag: &str, channel: i64, extra: Value) -> i64 {
    let mut body = json!({
        "name": format!("{tag} rule"),
        "select": {"names": [format!("berth-it-{tag}-*")]},
        "when": {"on": "exit"},
        "channels": [channel],
        "cooldown_secs": 0,
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    let (status, answer) = server
        .send(Method::POST, "/api/alerts/rules", Some(body))
        .await;
    assert_eq!(status, 201, "{answer}");
    // Events from the moment the stream is asked for on reach the rule: wait for it.
    let events = Some("kind=\"events\"");
    let hubs = server
        .wait_metric("berth_hubs", events, Duration::from_secs(5), |v| v >= 1.0)
        .await;
    assert!(hubs >= 1.0, "the rule reads the engine's events");
    answer["id"].as_i64().unwrap()
}

/// `GET /api/alerts/preview` for `select`.
fn preview_path(select: &Value) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("select", &select.to_string())
        .finish();
    format!("/api/alerts/preview?{query}")
}

/// Waits for the container to end (`docker wait`).
fn wait_exit(container: &Fixture) {
    docker(&["wait", &container.id]);
}

async fn history(server: &TestServer, q: &str) -> Vec<Value> {
    let (status, answer) = server
        .send(Method::GET, &format!("/api/alerts/history?q={q}"), None)
        .await;
    assert_eq!(status, 200, "{answer}");
    answer.as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_that_exits_non_zero_alerts_at_once_and_one_that_exits_zero_does_not() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/hook")).await;
    rule(&server, "alert-exit", to, json!({"resolved": true})).await;

    let fine = Fixture::new("alert-exit", true, &[], &["sh", "-c", "sleep 0.5; exit 0"]);
    wait_exit(&fine);
    let failed = Fixture::new("alert-exit", true, &[], &["sh", "-c", "sleep 0.5; exit 1"]);
    wait_exit(&failed);
    let got = receiver.wait_for(1, Duration::from_secs(2)).await;
    assert_eq!(got.len(), 1, "one alert within 2 s of the exit: {got:?}");
    let alert = got[0].json();
    assert_eq!(got[0].path, "/hook");
    assert_eq!(alert["container"], failed.name.as_str(), "{alert}");
    assert_eq!(alert["exit_code"], 1, "{alert}");
    assert_eq!(alert["state"], "firing");
    let message = alert["message"].as_str().unwrap();
    assert!(
        message.contains(&failed.name) && message.contains("code 1"),
        "{message}"
    );

    // Started again, it runs: "resolved"; then it fails again: a new alert.
    docker(&["start", &failed.id]);
    wait_exit(&failed);
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    let states: Vec<Value> = got.iter().map(|r| r.json()["state"].clone()).collect();
    assert_eq!(states, ["firing", "resolved", "firing"], "{got:?}");
    assert!(
        got.iter()
            .all(|r| r.json()["container"] != fine.name.as_str()),
        "exit 0 said nothing: {got:?}"
    );

    // The history has them, delivered, and finds them by words.
    let found = history(&server, &failed.name).await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found
            .iter()
            .all(|a| a["deliveries"][0]["state"] == "delivered")
    );
    assert!(history(&server, &fine.name).await.is_empty());
    let delivered = Some("outcome=\"delivered\"");
    assert_eq!(
        server
            .metric("berth_alert_deliveries_total", delivered)
            .await,
        3.0
    );
    assert_eq!(server.metric("berth_alert_rules", None).await, 1.0);
    assert_eq!(server.metric("berth_alert_outbox_depth", None).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_down_keeps_its_newest_messages_up_to_its_cap_and_counts_the_rest() {
    let server = TestServer::start_with(|s| s.alerts.alert_queue_cap = 2).await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    rule(&server, "alert-cap", to, json!({})).await;
    let down = receiver.stop();
    let mut names = Vec::new();
    for _ in 0..3 {
        let c = Fixture::new("alert-cap", true, &[], &["sh", "-c", "exit 1"]);
        wait_exit(&c);
        names.push(c.name.clone());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while history(&server, "alert-cap").await.len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, channels) = server.send(Method::GET, "/api/alerts/channels", None).await;
    assert_eq!(channels[0]["dropped"], 1, "{channels}");
    assert_eq!(channels[0]["pending"], 2, "{channels}");
    let all = history(&server, "alert-cap").await;
    let oldest = all.last().unwrap();
    assert_eq!(oldest["subject"], names[0].as_str());
    assert_eq!(oldest["deliveries"][0]["state"], "dropped", "{oldest}");
    let dropped = Some("outcome=\"dropped\"");
    assert_eq!(
        server.metric("berth_alert_deliveries_total", dropped).await,
        1.0
    );
    let receiver = down.start().await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    let got: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["container"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, names[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loop_and_an_oom_kill_alert() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    let restarts = json!({"when": {"on": "restarts", "count": 2, "minutes": 5}});
    rule(&server, "alert-loop", to, restarts).await;
    rule(&server, "alert-oom", to, json!({"when": {"on": "oom"}})).await;

    let looping = Fixture::new(
        "alert-loop",
        true,
        &["--restart", "always"],
        &["sh", "-c", "exit 3"],
    );
    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let alert = got[0].json();
    assert_eq!(alert["event"], "restarts", "{alert}");
    assert_eq!(alert["container"], looping.name.as_str());
    docker(&["update", "--restart", "no", &looping.id]);

    // 8 MiB and no swap; `tail` keeps what it reads of a file with no line end.
    let hungry = Fixture::new(
        "alert-oom",
        true,
        &["--memory", "8m", "--memory-swap", "8m"],
        &["sh", "-c", "tail /dev/zero"],
    );
    wait_exit(&hungry);
    let got = receiver.wait_for(2, Duration::from_secs(10)).await;
    let alert = got.last().unwrap().json();
    assert_eq!(alert["event"], "oom", "{got:?}");
    assert_eq!(alert["container"], hungry.name.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cooldown_and_a_mute_keep_quiet() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    let cooling = rule(&server, "alert-quiet", to, json!({"cooldown_secs": 3600})).await;
    let until = berth::now_ms() + 3_600_000;
    let muted = rule(
        &server,
        "alert-quiet",
        to,
        json!({"name": "muted", "mute": {"until_ms": until}}),
    )
    .await;
    let failing = Fixture::new("alert-quiet", true, &[], &["sh", "-c", "exit 2"]);
    wait_exit(&failing);
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    // Again within the cooldown: nothing. A second container is another subject.
    docker(&["start", &failing.id]);
    wait_exit(&failing);
    let other = Fixture::new("alert-quiet", true, &[], &["sh", "-c", "exit 2"]);
    wait_exit(&other);
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.received();
    assert_eq!(got_now.len(), 2, "{got:?}");
    assert_eq!(got_now[1].json()["container"], other.name.as_str());
    let all = history(&server, "alert-quiet").await;
    assert!(
        all.iter().all(|a| a["rule_id"] == cooling),
        "the muted rule {muted} said nothing: {all:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_wait_for_a_receiver_that_is_down_and_arrive_once_in_order_across_a_restart() {
    let data = DataDir::new("alerts-outbox");
    outbox_across_a_restart(&data.location(), &data).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_too_alerts_wait_for_their_receiver_across_a_restart() {
    let keys = DataDir::new("alerts-outbox-pg");
    crate::common::on_fresh_postgres("alerts", |location| async move {
        outbox_across_a_restart(&location, &keys).await;
    })
    .await;
}

/// Three alerts kept while their receiver is down, Berth restarted, the receiver back:
/// each arrives once, in order. `keys` holds the secret key.
async fn outbox_across_a_restart(location: &berth::Location, keys: &DataDir) {
    let key = keys.path().join("secret.key");
    let tweak = |s: &mut berth::Settings| {
        s.alerts.alert_retry_max_secs = 1;
        s.secrets.default_key_file = Some(key.clone());
    };
    let mut server = TestServer::keeping(location, tweak).await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    rule(&server, "alert-down", to, json!({})).await;
    let down = receiver.stop();

    let mut names = Vec::new();
    for code in 1..=3 {
        let script = format!("exit {code}");
        let c = Fixture::new("alert-down", true, &[], &["sh", "-c", &script]);
        wait_exit(&c);
        names.push(c.name.clone());
    }
    // Kept and failing: the last error and the next try are said.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let failing = loop {
        let all = history(&server, "alert-down").await;
        let tried = all
            .iter()
            .filter(|a| a["deliveries"][0]["state"] == "failing")
            .count();
        if all.len() == 3 && tried >= 1 || tokio::time::Instant::now() > deadline {
            break all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(failing.len(), 3, "{failing:?}");
    let head = failing
        .iter()
        .find(|a| a["deliveries"][0]["state"] == "failing");
    let head = head.unwrap_or_else(|| panic!("{failing:?}"));
    assert!(head["deliveries"][0]["last_error"].is_string(), "{head}");
    assert!(head["deliveries"][0]["next_try_ms"].is_i64(), "{head}");

    // Berth restarts while the receiver is still down; then the receiver comes back.
    server.shut_down().await;
    drop(server);
    let server = TestServer::keeping(location, tweak).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let receiver = down.start().await;
    receiver.wait_for(3, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.json()["container"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, names, "each once, in order");
    let all = history(&server, "alert-down").await;
    assert!(
        all.iter()
            .all(|a| a["deliveries"][0]["state"] == "delivered"),
        "{all:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_keep_their_url_and_bad_rules_are_refused_with_why() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let secret = "/services/T000/B000/s3cr3t-t0ken";
    let body = json!({
        "name": "slack", "kind": "webhook", "url": receiver.url(secret), "preset": "slack",
    });
    let (status, made) = server
        .send(Method::POST, "/api/alerts/channels", Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    let (_, listed) = server.send(Method::GET, "/api/alerts/channels", None).await;
    for shown in [&made, &listed] {
        assert!(!shown.to_string().contains("s3cr3t"), "{shown}");
    }
    assert_eq!(
        listed[0]["target"],
        format!("http://127.0.0.1:{}/…", receiver.port)
    );

    // The Test button: a real message, and what the receiver answered.
    let id = made["id"].as_i64().unwrap();
    let (status, tested) = server
        .post(&format!("/api/alerts/channels/{id}/test"))
        .await;
    assert_eq!(
        (status, &tested["delivered"]),
        (200, &json!(true)),
        "{tested}"
    );
    let got = receiver.received();
    assert_eq!(got[0].path, secret);
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    assert!(
        got[0].json()["text"].as_str().unwrap().contains("test"),
        "{got:?}"
    );
    receiver.answer(500);
    let (_, tested) = server
        .post(&format!("/api/alerts/channels/{id}/test"))
        .await;
    assert_eq!(
        (&tested["delivered"], &tested["status"]),
        (&json!(false), &json!(500))
    );

    let refused = |body: Value| {
        let server = &server;
        async move {
            server
                .send(Method::POST, "/api/alerts/channels", Some(body))
                .await
        }
    };
    let (status, e) =
        refused(json!({"name": "x", "kind": "webhook", "url": "file:///etc/passwd"})).await;
    assert_eq!(status, 400, "{e}");
    let bad_template = json!({"name": "x", "kind": "webhook", "url": receiver.url("/"),
        "template": "{{ containr }}"});
    let (status, e) = refused(bad_template).await;
    assert_eq!(status, 422, "{e}");
    assert!(e["error"].as_str().unwrap().contains("containr"), "{e}");

    let rule = |body: Value| {
        let server = &server;
        async move {
            server
                .send(Method::POST, "/api/alerts/rules", Some(body))
                .await
        }
    };
    let (status, e) = rule(json!({"name": "r", "when": {"on": "exit"},
        "select": {"expression": "name == "}}))
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("at ["),
        "the position: {e}"
    );
    let (status, e) = rule(json!({"name": "r", "when": {"on": "exit"},
        "select": {"expression": "nmae == 'x'"}}))
    .await;
    assert_eq!(status, 422, "{e}");
    let (status, e) = rule(json!({"name": "r", "when": {"on": "exit"}, "channels": [999]})).await;
    assert_eq!(status, 400, "{e}");
    let (status, e) = rule(json!({"name": "r", "when": {"on": "exit"},
        "mute": {"windows": ["someday 25:00-26:00"]}}))
    .await;
    assert_eq!(status, 422, "{e}");
    let (status, _) = rule(json!({"name": "r", "when": {"on": "never"}})).await;
    assert!(status == 400 || status == 422, "{status}");
    let (status, e) = server
        .send(Method::DELETE, "/api/alerts/rules/999", None)
        .await;
    assert_eq!(status, 404, "{e}");

    // The preview: what an expression matches now.
    let running = Fixture::running("alert-preview", &["--label", "tier=front"]);
    let select = json!({"expression": "labels.tier == 'front' && state == 'running'"});
    let (status, matched) = server.send(Method::GET, &preview_path(&select), None).await;
    assert_eq!(status, 200, "{matched}");
    let names: Vec<&str> = matched
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [running.name.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rules_read_the_engine_events_once_and_a_removed_rule_frees_them() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    let events = Some("kind=\"events\"");
    assert_eq!(server.metric("berth_hubs", events).await, 0.0);
    let mut rules = Vec::new();
    for _ in 0..10 {
        rules.push(rule(&server, "alert-shared", to, json!({})).await);
    }
    let hubs = server
        .wait_metric("berth_hubs", events, Duration::from_secs(5), |v| v == 1.0)
        .await;
    assert_eq!(hubs, 1.0, "one event stream for ten rules");
    assert_eq!(
        server.metric("berth_internal_subscriptions", events).await,
        1.0
    );
    // All ten fire for one death, from the one stream.
    let c = Fixture::new("alert-shared", true, &[], &["sh", "-c", "exit 1"]);
    wait_exit(&c);
    let got = receiver.wait_for(10, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 10);
    for id in rules {
        let (status, _) = server
            .send(Method::DELETE, &format!("/api/alerts/rules/{id}"), None)
            .await;
        assert_eq!(status, 204);
    }
    let hubs = server
        .wait_metric("berth_hubs", events, Duration::from_secs(5), |v| v == 0.0)
        .await;
    assert_eq!(hubs, 0.0, "no rule, no stream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_sends_its_test_and_an_alert_to_a_real_mail_server() {
    let server = TestServer::start().await;
    let mail = MailServer::start().await;
    let body = json!({
        "name": "mail", "kind": "email", "host": "127.0.0.1", "port": mail.port,
        "security": "none", "from": "Berth <berth@localhost>", "to": ["ops@example.com"],
    });
    let (status, made) = server
        .send(Method::POST, "/api/alerts/channels", Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        made["target"],
        format!(
            "smtp://127.0.0.1:{} (none (loopback only)) → ops@example.com",
            mail.port
        )
    );
    let id = made["id"].as_i64().unwrap();
    let (status, tested) = server
        .post(&format!("/api/alerts/channels/{id}/test"))
        .await;
    assert_eq!(status, 200, "{tested}");
    assert_eq!(
        (&tested["delivered"], &tested["status"]),
        (&json!(true), &json!(250)),
        "{tested}"
    );
    let mails = mail.wait_for(1, Duration::from_secs(5)).await;
    assert!(
        mails[0].contains("Subject: Berth: a test message"),
        "{mails:?}"
    );
    assert!(mails[0].contains("To: ops@example.com"), "{mails:?}");

    rule(&server, "alert-mail", id, json!({})).await;
    let failed = Fixture::new("alert-mail", true, &[], &["sh", "-c", "exit 4"]);
    wait_exit(&failed);
    let mails = mail.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let subject = format!("Subject: {} exited with code 4", failed.name);
    assert!(mails[1].contains(&subject), "{}", mails[1]);

    // A kept password goes only to the server and user it was given for.
    let login = |host: &str, password: Option<&str>| {
        let mut body = json!({
            "name": "login", "kind": "email", "host": host, "port": mail.port,
            "security": "none", "username": "ops", "from": "berth@localhost",
            "to": ["ops@example.com"],
        });
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        body
    };
    let (status, login_channel) = server
        .send(
            Method::POST,
            "/api/alerts/channels",
            Some(login("127.0.0.1", Some("pw"))),
        )
        .await;
    assert_eq!(status, 201, "{login_channel}");
    assert!(!login_channel.to_string().contains("\"pw\""));
    let path = format!("/api/alerts/channels/{}", login_channel["id"]);
    let (status, e) = server
        .send(Method::PUT, &path, Some(login("localhost", None)))
        .await;
    assert_eq!(status, 400, "another server, no password: {e}");
    let (status, e) = server
        .send(Method::PUT, &path, Some(login("127.0.0.1", None)))
        .await;
    assert_eq!(status, 200, "the same server keeps it: {e}");

    // No TLS only on loopback: a password never crosses a network in clear.
    let body = json!({
        "name": "far", "kind": "email", "host": "mail.example.com", "security": "none",
        "from": "berth@example.com", "to": ["ops@example.com"],
    });
    let (status, e) = server
        .send(Method::POST, "/api/alerts/channels", Some(body))
        .await;
    assert_eq!(status, 400, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_read_a_channels_template_and_viewers_do_not_preview() {
    use crate::signin::{PASSWORD, accounts_server, send_json, sign_in};
    use app::model::Role;
    let users = [
        ("ada", Role::Admin),
        ("otto", Role::Operator),
        ("vic", Role::Viewer),
    ];
    let keys = DataDir::new("alerts-roles-key");
    let key = keys.path().join("secret.key");
    let (_dir, server) = accounts_server("alerts-roles", &users, |s| {
        s.secrets.default_key_file = Some(key)
    })
    .await;
    let cookie = |name: &'static str| {
        let server = &server;
        async move { sign_in(server, name, PASSWORD).await.1.unwrap() }
    };
    let (ada, otto, vic) = (
        cookie("ada").await,
        cookie("otto").await,
        cookie("vic").await,
    );
    let body = json!({"name": "pager", "kind": "webhook", "url": "https://example.com/hook",
        "template": "{\"routing_key\": \"k3y\", \"summary\": {{ title | tojson }}}"});
    let made = send_json(
        &server,
        Method::POST,
        "/api/alerts/channels",
        &ada,
        Some(body),
    )
    .await;
    assert_eq!(made.status(), 201);
    let listed = |who: String| {
        let server = &server;
        async move {
            let answer = send_json(server, Method::GET, "/api/alerts/channels", &who, None).await;
            answer.json::<Value>().await.unwrap()
        }
    };
    assert!(
        listed(ada.clone()).await[0]["template"]
            .as_str()
            .unwrap()
            .contains("k3y")
    );
    for who in [&otto, &vic] {
        let shown = listed(who.clone()).await;
        assert_eq!(shown[0]["template"], Value::Null, "{shown}");
        assert!(!shown.to_string().contains("k3y"));
    }
    let preview = |who: String| {
        let server = &server;
        async move {
            let path = preview_path(&json!({"names": ["none-*"]}));
            send_json(server, Method::GET, &path, &who, None)
                .await
                .status()
        }
    };
    assert_eq!(preview(vic.clone()).await, 403);
    assert_eq!(preview(otto.clone()).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_alert_by_regex_and_json_field_through_one_stream_per_container() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    // Already running when the rules are written: found by the listing.
    let script = r#"until [ -e /go ]; do sleep 0.1; done; echo 'ERROR 503 upstream'; echo '{"status":200}'; echo '{"status":503,"path":"/x"}' >&2; echo '{"status":502}'; sleep 3600"#;
    let early = Fixture::new("alert-log", true, &[], &["sh", "-c", script]);
    let regex =
        json!({"cooldown_secs": 10, "when": {"on": "log", "line": {"regex": r"ERROR \d{3}"}}});
    let regex_rule = rule(&server, "alert-log", to, regex).await;
    let json_rule = json!({"cooldown_secs": 10, "when": {"on": "log", "stream": "stderr",
        "line": {"json": {"path": "status", "op": ">=", "value": 500}}}});
    let json_rule = rule(&server, "alert-log", to, json_rule).await;
    let kind = Some("kind=\"container_logs\"");
    let followed = server
        .wait_metric(
            "berth_internal_subscriptions",
            kind,
            Duration::from_secs(5),
            |v| v >= 1.0,
        )
        .await;
    assert_eq!(
        followed, 1.0,
        "one subscription for two rules on one container"
    );

    docker(&["exec", &early.id, "sh", "-c", "echo > /go"]);
    let got = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let mut lines: Vec<String> = got
        .iter()
        .map(|r| {
            let alert = r.json();
            assert_eq!(alert["event"], "log", "{alert}");
            assert_eq!(alert["container"], early.name.as_str(), "{alert}");
            alert["line"].as_str().unwrap().to_string()
        })
        .collect();
    lines.sort();
    // Not the 200, and not the 502 on stdout: the JSON rule reads stderr only.
    assert_eq!(
        lines,
        ["ERROR 503 upstream", r#"{"status":503,"path":"/x"}"#]
    );
    assert!(
        got.iter().any(|r| r.json()["message"]
            .as_str()
            .unwrap()
            .contains("status: 503")),
        "{got:?}"
    );

    // Started after the rules: followed from its start, within a second.
    let late = Fixture::new(
        "alert-log",
        true,
        &[],
        &["sh", "-c", "sleep 1; echo 'ERROR 500 late'; sleep 3600"],
    );
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    let last = got.last().unwrap().json();
    assert_eq!(last["container"], late.name.as_str(), "{got:?}");
    assert_eq!(last["line"], "ERROR 500 late");
    // A viewer's hub is the rules' hub: two containers, two Docker streams.
    let url = server.ws_url(&format!("/ws/containers/{}/logs?tail=0", late.id));
    let viewer = WsClient::connect(&url).await.unwrap();
    server
        .wait_metric("berth_ws_clients", kind, Duration::from_secs(5), |v| {
            v == 1.0
        })
        .await;
    assert_eq!(server.metric("berth_hubs", kind).await, 2.0);
    assert_eq!(
        server.metric("berth_internal_subscriptions", kind).await,
        2.0
    );
    drop(viewer);

    // A stopped container lets go of its stream; the rules removed, nothing is held.
    docker(&["rm", "-f", &late.id]);
    server
        .wait_metric("berth_hubs", kind, Duration::from_secs(5), |v| v == 1.0)
        .await;
    for id in [regex_rule, json_rule] {
        let (status, _) = server
            .send(Method::DELETE, &format!("/api/alerts/rules/{id}"), None)
            .await;
        assert_eq!(status, 204);
    }
    let left = server
        .wait_metric("berth_hubs", kind, Duration::from_secs(5), |v| v == 0.0)
        .await;
    assert_eq!(left, 0.0, "the rules' log streams are closed with them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_rules_that_cannot_run_are_refused_with_why() {
    let server = TestServer::start().await;
    let refused = |line: Value| json!({"name": "bad", "when": {"on": "log", "line": line}});
    for (line, status, words) in [
        (json!({"regex": "(unclosed"}), 422, "unclosed"),
        (json!({"regex": "a{1000}{1000}{1000}"}), 422, "size limit"),
        (json!({"contains": ""}), 400, "1 to 1024"),
        (
            json!({"json": {"path": "a..b", "op": "==", "value": 1}}),
            422,
            "JSON path",
        ),
        (
            json!({"json": {"path": "a", "op": ">", "value": true}}),
            422,
            "compares numbers",
        ),
    ] {
        let (got, answer) = server
            .send(
                Method::POST,
                "/api/alerts/rules",
                Some(refused(line.clone())),
            )
            .await;
        assert_eq!(got, status, "{line}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(words), "{line}: {error}");
    }
    let torrent = json!({"name": "every line", "cooldown_secs": 0,
        "when": {"on": "log", "line": {"contains": "x"}}});
    let (got, answer) = server
        .send(Method::POST, "/api/alerts/rules", Some(torrent))
        .await;
    assert_eq!(got, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("at least 10 s"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_container_alerts_on_cpu_through_one_sampler_and_resolves_when_it_calms() {
    // This machine is the engine's host: its cgroup files are read where they are.
    busy_container_alerts_on_cpu(berth::SampleFrom::Auto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_container_alerts_on_cpu_through_the_stats_api_too() {
    busy_container_alerts_on_cpu(berth::SampleFrom::Api).await;
}

async fn busy_container_alerts_on_cpu(from: berth::SampleFrom) {
    let server = TestServer::start_with(|s| {
        s.hubs.sample_secs = 1;
        s.hubs.sample_from = from;
    })
    .await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    // Half a core over 3 s, held 2 s; and a second rule that never fires (any container
    // over 90% of its memory limit): both read the same sampler.
    let cpu = json!({"resolved": true, "when": {"on": "metric", "metric": "cpu_percent",
        "above": 50, "window_secs": 3, "for_secs": 2}});
    rule(&server, "alert-cpu", to, cpu).await;
    let memory = json!({"when": {"on": "metric", "metric": "memory_percent", "above": 90}});
    rule(&server, "alert-cpu", to, memory).await;
    let idle = Fixture::new("alert-cpu", true, &[], &["sleep", "3600"]);
    // `yes` keeps one core busy; the trap lets `kill -USR1` calm it without a restart.
    let script = "yes > /dev/null & trap 'kill $!' USR1; while true; do sleep 0.2; done";
    let busy = Fixture::new("alert-cpu", true, &[], &["sh", "-c", script]);
    let kind = Some("kind=\"samples\"");
    server
        .wait_metric("berth_hubs", kind, Duration::from_secs(5), |v| v == 1.0)
        .await;
    assert_eq!(
        server.metric("berth_internal_subscriptions", kind).await,
        1.0
    );

    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let alert = got[0].json();
    assert_eq!(alert["event"], "metric", "{alert}");
    assert_eq!(alert["container"], busy.name.as_str(), "{alert}");
    assert!(
        alert["message"].as_str().unwrap().contains("CPU %"),
        "{alert}"
    );

    docker(&["kill", "--signal", "USR1", &busy.id]);
    let got = receiver.wait_for(2, Duration::from_secs(20)).await;
    let states: Vec<Value> = got.iter().map(|r| r.json()["state"].clone()).collect();
    assert_eq!(states, ["firing", "resolved"], "{got:?}");
    assert!(
        got.iter()
            .all(|r| r.json()["container"] != idle.name.as_str()),
        "{got:?}"
    );
    assert_eq!(
        server
            .metric("berth_hubs", Some("kind=\"container_stats\""))
            .await,
        0.0,
        "no stream per container"
    );
    let source = match from {
        berth::SampleFrom::Auto => "source=\"cgroup\"",
        berth::SampleFrom::Api => "source=\"api\"",
    };
    let read = server.metric("berth_samples_total", Some(source)).await;
    assert!(read >= 4.0, "the samples were read from {source}: {read}");

    // No metric rule left: the sampler stops.
    let (_, rules) = server.send(Method::GET, "/api/alerts/rules", None).await;
    for r in rules.as_array().unwrap() {
        let id = r["id"].as_i64().unwrap();
        server
            .send(Method::DELETE, &format!("/api/alerts/rules/{id}"), None)
            .await;
    }
    let left = server
        .wait_metric("berth_hubs", kind, Duration::from_secs(5), |v| v == 0.0)
        .await;
    assert_eq!(left, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engines_mute_silences_every_rule_until_it_is_lifted() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    rule(&server, "alert-hush", to, json!({})).await;
    let (_, engines) = server.send(Method::GET, "/api/engines", None).await;
    let engine = engines[0]["name"].as_str().unwrap().to_string();
    let path = format!("/api/alerts/mutes/{engine}");
    let until = berth::now_ms() + 3_600_000;
    let (status, mute) = server
        .send(Method::PUT, &path, Some(json!({"until_ms": until})))
        .await;
    assert_eq!(status, 200, "{mute}");
    assert_eq!(mute["engine"], engine.as_str());
    let (_, mutes) = server.send(Method::GET, "/api/alerts/mutes", None).await;
    assert_eq!(mutes[0]["until_ms"], until, "{mutes}");

    let hushed = Fixture::new("alert-hush", true, &[], &["sh", "-c", "exit 1"]);
    wait_exit(&hushed);
    // The exit is judged within moments; a muted engine says nothing of it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());

    let (status, _) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 204);
    let heard = Fixture::new("alert-hush", true, &[], &["sh", "-c", "exit 1"]);
    wait_exit(&heard);
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].json()["container"], heard.name.as_str());

    // What cannot be muted is refused with why.
    let window = json!({"windows": ["someday 25:00-26:00"]});
    let (status, answer) = server.send(Method::PUT, &path, Some(window)).await;
    assert_eq!(status, 422, "{answer}");
    let (status, answer) = server
        .send(Method::PUT, "/api/alerts/mutes/nowhere", Some(json!({})))
        .await;
    assert_eq!(status, 404, "{answer}");
    let (status, _) = server.send(Method::DELETE, &path, None).await;
    assert_eq!(status, 404, "not muted any more");
    let (status, answer) = server.send(Method::PUT, &path, Some(json!({}))).await;
    assert_eq!(status, 400, "a mute that mutes nothing: {answer}");
    let (status, answer) = server
        .send(Method::DELETE, "/api/alerts/mutes/not%20a%20name", None)
        .await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_in_its_quiet_window_says_nothing() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    let to = channel(&server, "hook", &receiver.url("/")).await;
    // The server's clock is this machine's: a window from half an hour ago to half an hour
    // from now (past midnight when it must be) is open, one twelve hours away is shut.
    let now = std::process::Command::new("date")
        .arg("+%H %M")
        .output()
        .unwrap();
    let now = String::from_utf8(now.stdout).unwrap();
    let mut parts = now.split_whitespace().map(|p| p.parse::<i64>().unwrap());
    let minutes = parts.next().unwrap() * 60 + parts.next().unwrap();
    let clock = |m: i64| {
        let m = m.rem_euclid(24 * 60);
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    let window = |from: i64, to: i64| format!("{}-{}", clock(minutes + from), clock(minutes + to));
    let open = json!({"name": "quiet now", "mute": {"windows": [window(-30, 30)]}});
    let quiet = rule(&server, "alert-window", to, open).await;
    let shut = json!({"name": "quiet tonight", "mute": {"windows": [window(600, 660)]}});
    let loud = rule(&server, "alert-window", to, shut).await;
    let failing = Fixture::new("alert-window", true, &[], &["sh", "-c", "exit 4"]);
    wait_exit(&failing);
    let got = receiver.wait_for(1, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_now = receiver.received();
    assert_eq!(got_now.len(), 1, "{got:?}");
    assert_eq!(got_now[0].json()["rule"], "quiet tonight");
    let all = history(&server, "alert-window").await;
    assert!(
        all.iter().all(|a| a["rule_id"] == loud),
        "the rule {quiet} in its window said nothing: {all:?}"
    );
}
