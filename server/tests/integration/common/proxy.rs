//! Real reverse proxies in front of a test server: Debian's nginx, run as one process in a
//! folder of its own (its config, pid, logs and buffers), killed on drop; and the small
//! forward-auth endpoint nginx's `auth_request` asks, answering as Authelia does: 200 with
//! `Remote-User`, `Remote-Groups` and `Remote-Email` for a known ticket cookie, 401 for
//! anything else. The test says who holds which ticket, and changes their groups.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

/// nginx serving `servers` (one or more `server { … }` blocks) with its defaults in a
/// folder of its own.
pub struct Nginx {
    child: std::process::Child,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx and returns once it listens on `port` (one of the blocks' own).
    pub async fn start(tag: &str, port: u16, servers: &str) -> Self {
        // Debian's is in /usr/sbin, which a user's PATH may lack.
        let nginx = ["/usr/sbin/nginx", "nginx"]
            .into_iter()
            .find(|n| std::process::Command::new(n).arg("-v").output().is_ok())
            .expect("nginx is missing: `make test` installs it (apt-get install nginx)");
        let dir = std::env::temp_dir().join(format!("berth-it-nginx-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let config = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
             {servers}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let mut child = std::process::Command::new(nginx)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self { child, dir };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        panic!("nginx did not listen on {port} within 5 s");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Who holds a ticket: their name, groups (comma-separated) and e-mail.
#[derive(Clone)]
struct Holder {
    user: String,
    groups: String,
    email: String,
}

/// The forward-auth endpoint: `GET /check` with the browser's cookies.
pub struct AuthEndpoint {
    pub port: u16,
    tickets: Arc<Mutex<HashMap<String, Holder>>>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl AuthEndpoint {
    pub async fn start() -> Self {
        use axum::{http::HeaderMap, response::IntoResponse, routing::get};
        let tickets: Arc<Mutex<HashMap<String, Holder>>> = Arc::default();
        let held = tickets.clone();
        let check = move |headers: HeaderMap| {
            let held = held.clone();
            async move {
                let ticket = headers
                    .get_all("cookie")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(';'))
                    .filter_map(|pair| pair.trim().strip_prefix("ticket="))
                    .next()
                    .map(str::to_string);
                let holder = ticket.and_then(|t| held.lock().unwrap().get(&t).cloned());
                match holder {
                    Some(h) => (
                        [
                            ("remote-user", h.user),
                            ("remote-groups", h.groups),
                            ("remote-email", h.email),
                        ],
                        "",
                    )
                        .into_response(),
                    None => axum::http::StatusCode::UNAUTHORIZED.into_response(),
                }
            }
        };
        let app = axum::Router::new().route("/check", get(check));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        Self {
            port,
            tickets,
            shutdown,
        }
    }

    /// `ticket` signs in `user` in `groups` (comma-separated), from now on.
    pub fn set(&self, ticket: &str, user: &str, groups: &str) {
        let holder = Holder {
            user: user.into(),
            groups: groups.into(),
            email: format!("{user}@example.test"),
        };
        self.tickets.lock().unwrap().insert(ticket.into(), holder);
    }
}

impl Drop for AuthEndpoint {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
