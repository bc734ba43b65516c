//! A real, certified OpenID provider on loopback for the single sign-on tests: panva's
//! `oidc-provider` (end2end/package.json) run by `end2end/fixtures/oidc-provider.mjs` on the
//! system's Node, with Berth registered as a client; stopped on drop (its stdin closes,
//! and it is killed). The test changes users' groups, its signing keys and its clock.

use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

/// Berth's client at the provider.
pub const CLIENT_ID: &str = "berth";
pub const CLIENT_SECRET: &str = "berth-test-client-secret";

pub struct OpenIdProvider {
    pub issuer: String,
    child: Child,
    config: std::path::PathBuf,
}

impl OpenIdProvider {
    /// The provider with the Berths at `berths` (their `--public-url`s) as its client, and
    /// `users` (`{"alice": {"groups": ["admins"]}}`).
    pub fn start(tag: &str, berths: &[String], users: Value) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/fixtures/oidc-provider.mjs"
        );
        let config =
            std::env::temp_dir().join(format!("berth-it-oidc-{tag}-{}.json", std::process::id()));
        let clients = json!([{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": berths.iter().map(|b| format!("{b}/api/auth/oidc/callback")).collect::<Vec<_>>(),
            "post_logout_redirect_uris": berths.iter().map(|b| format!("{b}/login")).collect::<Vec<_>>(),
        }]);
        let body = json!({ "port": 0, "clients": clients, "users": users });
        std::fs::write(&config, body.to_string()).unwrap();
        let mut child = Command::new("node")
            .arg(script)
            .arg(&config)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (make test installs nodejs)");
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        let mut lines = BufReader::new(stdout);
        lines
            .read_line(&mut first)
            .expect("the provider says where it listens");
        // Read to its end, so that nothing the provider prints later meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        let issuer = first
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| {
                panic!(
                    "the OpenID provider did not start ({first:?}): run `npm ci` in end2end \
                     (make test does)"
                )
            })
            .to_string();
        Self {
            issuer,
            child,
            config,
        }
    }

    async fn steer(&self, what: &str, body: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/test/{what}", self.issuer))
            .timeout(Duration::from_secs(10))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "the provider took /test/{what}");
    }

    /// The users and their groups from now on.
    pub async fn set_users(&self, users: Value) {
        self.steer("users", users).await;
    }

    /// `main`, `rogue` (ID tokens signed by a key it does not publish) or `rotated` (a
    /// new key, published).
    pub async fn set_keys(&self, mode: &str) {
        self.steer("keys", json!({ "mode": mode })).await;
    }

    /// Shifts the provider's clock by `offset` seconds.
    pub async fn set_clock(&self, offset: i64) {
        self.steer("clock", json!({ "offset": offset })).await;
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config);
    }
}
