//! Issue 25: Berth's doors, counted from its own router. Every route the router has (read
//! from the router itself, not from a list kept by hand) must have a row in the
//! authorization table, and answers every caller (nobody, a viewer, an operator and an
//! admin, each with a real session and with a real API token) as its row says. Then every
//! route's path, spelled the ways an attacker would spell it, answers 400 or what a path
//! nobody serves answers, never what the plain path refuses. The server watches a private
//! engine of its own, so what an allowed caller's request changes (a prune, a volume)
//! touches nothing another test uses.

use crate::common::{PrivateEngine, TestServer};
use crate::signin::{DataDir, PASSWORD, add, sign_in};
use app::model::Role;
use berth::{
    Store,
    doors::{Access, Kind, Row},
    tokens,
};
use std::collections::BTreeSet;

/// Who asks.
#[derive(Clone, Debug)]
enum Caller {
    Nobody,
    Session(Role, String),
    Token(Role, String),
}

impl Caller {
    fn role(&self) -> Option<Role> {
        match self {
            Caller::Nobody => None,
            Caller::Session(role, _) | Caller::Token(role, _) => Some(*role),
        }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Caller::Nobody => vec![],
            Caller::Session(_, cookie) => vec![("cookie", cookie.clone())],
            Caller::Token(_, token) => vec![("authorization", format!("Bearer {token}"))],
        }
    }
}

/// The routes of a router, as its `Debug` shows them: `(method, path)` for every method
/// with a handler. (axum keeps its route table private; its `Debug` is the router itself
/// describing every path it has and the handler of each method.)
pub fn routes_of(router: &axum::Router) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    // The routes are the path router's; the fallback router that follows has its own ids.
    let text = &text[..text
        .find("fallback_router:")
        .expect("a router's fallback router")];
    // `paths: {RouteId(3): "/api/host", …}` inside `node: Node { … }`.
    let mut paths = std::collections::HashMap::new();
    let node = text.find("node: Node").expect("a path router's node");
    let mut rest = &text[node..];
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let (id, after) = rest.split_once(')').unwrap();
        if let Some(path) = after.strip_prefix(": \"") {
            let end = path.find('"').unwrap();
            paths.insert(id.to_string(), path[..end].to_string());
        }
    }
    assert!(
        paths.len() > 50,
        "read {} paths from the router",
        paths.len()
    );
    // `routes: {RouteId(3): MethodRouter(MethodRouter { get: Route, head: None, … })}`.
    let mut routes = BTreeSet::new();
    let mut rest = &text[..node];
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        let (id, after) = rest.split_once(')').unwrap();
        let path = paths
            .get(id)
            .unwrap_or_else(|| panic!("route {id} has a path"));
        let end = after.find("RouteId(").unwrap_or(after.len());
        let endpoint = &after[..end];
        if endpoint.starts_with(": Route(") {
            // A whole service: every method.
            for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
                routes.insert((method.to_string(), path.clone()));
            }
            continue;
        }
        for method in ["get", "delete", "patch", "post", "put"] {
            let field = format!("{method}: ");
            let handled = endpoint
                .find(&field)
                .map(|i| &endpoint[i + field.len()..])
                .is_some_and(|v| !v.starts_with("None"));
            if handled {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

/// A path of the route with every parameter filled in with something that exists nowhere
/// (so an allowed caller's request fails after the doors, and changes nothing).
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{engine}" => "local".to_string(),
            "{action}" => "pause".to_string(),
            "{*reference}" => "berth-doors/none:1".to_string(),
            s if s.starts_with('{') => "berth-doors-none".to_string(),
            s => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the table lets `role` (None: nobody signed in) use `access`.
fn allowed(access: Access, role: Option<Role>) -> bool {
    match access {
        Access::Anyone => true,
        Access::Least(least) => role.is_some_and(|r| r >= least),
        // The default policy: admins only.
        Access::Terminal => role == Some(Role::Admin),
        // Without --metrics-open.
        Access::Metrics | Access::Account => role.is_some(),
    }
}

/// One answer, as much of it as the checks need.
#[derive(Debug)]
struct Answer {
    head: bool,
    status: u16,
    location: String,
    body: String,
}

impl Answer {
    /// The doors refused it: a page sent to sign in, a 401 asking to, or a 403 of theirs
    /// (a HEAD has no body to say whose: its status alone).
    fn refused(&self) -> bool {
        if self.head {
            return match self.status {
                303 => self.location.starts_with("/login"),
                401 | 403 => true,
                _ => false,
            };
        }
        match self.status {
            303 => self.location.starts_with("/login"),
            401 => self.body.contains("sign in first"),
            // A page refused is the doors' own page, never an app page that says so
            // (`/admin/` once rendered the admin frame, "only an admin may see this page").
            403 if self.body.trim_start().starts_with('<') => {
                self.body.contains("not for your role")
            }
            403 => self.body.contains("only an") || self.body.contains("may not open a terminal"),
            _ => false,
        }
    }
}

/// Sends `method target` with `caller`'s credentials over a plain HTTP/1.1 connection:
/// the target goes on the wire byte for byte (an HTTP client library would tidy it).
async fn raw(server: &TestServer, method: &str, target: &[u8], caller: &Caller) -> Answer {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.authority())
        .await
        .unwrap();
    let mut request = Vec::new();
    request.extend_from_slice(method.as_bytes());
    request.push(b' ');
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    request.extend_from_slice(server.authority().as_bytes());
    request.extend_from_slice(b"\r\nconnection: close\r\nsec-fetch-site: same-origin\r\n");
    if method != "GET" && method != "HEAD" {
        request.extend_from_slice(b"content-type: application/json\r\ncontent-length: 2\r\n");
    }
    for (name, value) in caller.headers() {
        request.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    if method != "GET" && method != "HEAD" {
        request.extend_from_slice(b"{}");
    }
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut response),
    )
    .await
    .expect("an answer within 30 s")
    .unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_default()
        .to_string();
    Answer {
        head: method == "HEAD",
        status,
        location,
        body: body.to_string(),
    }
}

/// A server with accounts, on a private engine, and one caller of every kind.
async fn setup(tag: &str) -> (TestServer, Vec<Caller>, DataDir, PrivateEngine) {
    let engine = PrivateEngine::start(&format!("doors-{tag}"), false);
    let dir = DataDir::new(tag);
    let location = dir.location();
    let mut callers = vec![Caller::Nobody];
    for (name, role) in [
        ("viewer", Role::Viewer),
        ("operator", Role::Operator),
        ("admin", Role::Admin),
    ] {
        add(&location, name, role).await;
    }
    let store = Store::open(&location).await.unwrap();
    for (name, role) in [
        ("viewer", Role::Viewer),
        ("operator", Role::Operator),
        ("admin", Role::Admin),
    ] {
        let token = tokens::create(&store, &format!("{name}-token"), role, Some("admin"))
            .await
            .unwrap();
        callers.push(Caller::Token(role, token.token));
    }
    store.pool.close().await;
    let server = TestServer::with_accounts_on(&location, engine.endpoint(), |_| {}).await;
    for (name, role) in [
        ("viewer", Role::Viewer),
        ("operator", Role::Operator),
        ("admin", Role::Admin),
    ] {
        let (status, cookie) = sign_in(&server, name, PASSWORD).await;
        assert_eq!(status, 204);
        callers.push(Caller::Session(role, cookie.unwrap()));
    }
    (server, callers, dir, engine)
}

/// The rows of the router's routes; panics naming every route without one.
fn rows_of(server: &TestServer) -> Vec<(String, String, Row)> {
    let routes = routes_of(&berth::router(server.state.clone()));
    let mut missing = Vec::new();
    let mut rows = Vec::new();
    for (method, path) in &routes {
        match berth::doors::row(path, &method.parse().unwrap()) {
            Ok(row) => rows.push((method.clone(), path.clone(), row)),
            Err(_) => missing.push(format!("{method} {path}")),
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization table (server/src/http/doors.rs):\n  {}",
        missing.join("\n  ")
    );
    // And no row stands for a route that is gone.
    for row in berth::doors::rows() {
        assert!(
            routes.contains(&(row.method.to_string(), row.path.to_string())),
            "a row for a route the router does not have: {} {}",
            row.method,
            row.path
        );
    }
    rows
}

/// Every route against every caller, with a real session and a real token each: the doors
/// refuse exactly the callers the route's row does not let in, and let the others through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_has_a_row_and_every_caller_gets_its_answer() {
    let (server, callers, _dir, _engine) = setup("matrix").await;
    let rows = rows_of(&server);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (method, path, row) in &rows {
        let target = concrete(path);
        for caller in &callers {
            // Signing out ends the session it is sent with: a session of its own each time.
            let caller = match (path.as_str(), caller) {
                ("/api/auth/logout", Caller::Session(role, _)) => {
                    let name = match role {
                        Role::Viewer => "viewer",
                        Role::Operator => "operator",
                        Role::Admin => "admin",
                    };
                    Caller::Session(*role, sign_in(&server, name, PASSWORD).await.1.unwrap())
                }
                _ => caller.clone(),
            };
            let methods: &[&str] = match method.as_str() {
                "GET" => &["GET", "HEAD"],
                other => &[other],
            };
            for method in methods {
                let answer = raw(&server, method, target.as_bytes(), &caller).await;
                checked += 1;
                let want = allowed(row.access, caller.role());
                let page_refusal_is_html = row.kind == Kind::Page;
                if want == answer.refused() {
                    wrong.push(format!(
                        "{method} {target} as {:?}: {} (want {})",
                        caller.role(),
                        answer.status,
                        if want { "let in" } else { "refused" }
                    ));
                }
                if !want && caller.role().is_none() && page_refusal_is_html && answer.status != 303
                {
                    wrong.push(format!(
                        "{method} {target}: a page without a session is not sent to /login"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} answers are not what the table says:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
    assert!(checked > 500, "{checked} answers checked");
}

/// Each route's path in the spellings an attacker would try. Each answers 400, or what it
/// answers plainly, or what a path nobody serves answers (a refusal, a 404): never what the
/// plain path refuses to this caller.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_spellings_never_reach_what_the_plain_path_refuses() {
    let (server, callers, _dir, _engine) = setup("hostile").await;
    let rows = rows_of(&server);
    let mut wrong = Vec::new();
    let mut checked = 0;
    // GETs only: what the plain path refuses, no spelling may read.
    let paths: BTreeSet<String> = rows
        .iter()
        .filter(|(method, _, _)| method == "GET")
        .map(|(_, path, _)| concrete(path))
        .collect();
    for plain in &paths {
        for caller in callers
            .iter()
            .filter(|c| matches!(c, Caller::Nobody | Caller::Session(Role::Viewer, _)))
        {
            let baseline = raw(&server, "GET", plain.as_bytes(), caller).await;
            for spelling in spellings(plain) {
                let answer = raw(&server, "GET", &spelling, caller).await;
                checked += 1;
                let ok = answer.status == 400
                    || answer.status == baseline.status
                    || answer.refused()
                    || answer.status == 404;
                if !ok
                    || (baseline.refused()
                        && !(answer.refused() || answer.status == 400 || answer.status == 404))
                {
                    wrong.push(format!(
                        "{} as {:?}: {} (plainly {})",
                        String::from_utf8_lossy(&spelling),
                        caller.role(),
                        answer.status,
                        baseline.status
                    ));
                }
            }
        }
    }
    // The review's own: every engine's containers to anyone.
    for spelling in [
        "/pkg/%2e%2e/all/containers",
        "/pkg/../all/containers",
        "/pkg/%2e%2e/",
    ] {
        let answer = raw(&server, "GET", spelling.as_bytes(), &Caller::Nobody).await;
        assert_eq!(answer.status, 400, "{spelling}: {answer:?}");
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} spellings answered what they must not:\n  {}",
        wrong.len(),
        wrong.join("\n  ")
    );
    assert!(checked > 1000, "{checked} spellings checked");
}

/// `path` spelled other ways: dot segments raw and encoded, doubled and encoded slashes,
/// backslashes, a trailing dot, mixed case, `;` parameters, overlong UTF-8 and bytes that
/// are not UTF-8.
fn spellings(path: &str) -> Vec<Vec<u8>> {
    let rest = path.trim_start_matches('/');
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("/{tail}")
    };
    let mut out: Vec<String> = vec![
        format!("/./{rest}"),
        format!("/{first}/.{tail}"),
        format!("/pkg/../{rest}"),
        format!("/pkg/%2e%2e/{rest}"),
        format!("/pkg/%2E%2E/{rest}"),
        format!("/%2e/{rest}"),
        format!("/{first}/%2e%2e/{first}{tail}"),
        format!("//{rest}"),
        format!("/{first}/{tail}"),
        format!("/{first}%2F{}", tail.trim_start_matches('/')),
        format!("/{first}%2f..%2f{rest}"),
        format!("/{first}\\{}", tail.trim_start_matches('/')),
        format!("/{first}%5C{}", tail.trim_start_matches('/')),
        format!("{path}."),
        format!("{path}/"),
        format!("{path}/."),
        format!("{path}/.."),
        format!("/{}", rest.to_uppercase()),
        format!("/{}{}", first.to_uppercase(), tail),
        format!("{path};x=1"),
        format!("/{first};x=1{tail}"),
        format!("/{first}%3Bx{tail}"),
        format!("/%C0%AE%C0%AE/{rest}"),
        format!("/pkg/%C0%AE%C0%AE/{rest}"),
        format!("{path}%00"),
        format!("{path}%0a"),
        format!("/{first}%09{tail}"),
    ];
    out.dedup();
    let mut bytes: Vec<Vec<u8>> = out.into_iter().map(String::into_bytes).collect();
    // Bytes that are not UTF-8, raw.
    let mut raw = path.as_bytes().to_vec();
    raw.extend_from_slice(b"\xc0\xae");
    bytes.push(raw);
    bytes
}

/// A path no route has is behind the gate too: an unknown API path is 401 before sign-in
/// (it was 404, so anyone could tell which API paths exist) and 404 after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_api_path_is_behind_the_gate() {
    let (server, callers, _dir, _engine) = setup("unknown").await;
    for caller in &callers {
        for path in [
            "/api/no-such-thing",
            "/api/all/containers/",
            "/api/engines/x/nope",
        ] {
            let answer = raw(&server, "GET", path.as_bytes(), caller).await;
            let wanted = match caller {
                Caller::Nobody => 401,
                _ => 404,
            };
            assert_eq!(
                answer.status,
                wanted,
                "{path} as {:?}: {answer:?}",
                caller.role()
            );
        }
    }
}

/// The compiled site's files are served to anyone, by their being there: a dotted page
/// path is a page all the same, and a file's name does not open the app around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_what_is_served_not_what_a_path_looks_like() {
    let dir = DataDir::new("files");
    let location = dir.location();
    add(&location, "viewer", Role::Viewer).await;
    let site = std::env::temp_dir().join(format!("berth-doors-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/berth.js"), "// the app").unwrap();
    std::fs::write(site.join("favicon.svg"), "<svg/>").unwrap();
    let server =
        TestServer::with_accounts_and_site(&location, site.to_str().unwrap(), |_| {}).await;
    let nobody = Caller::Nobody;
    for (path, status) in [("/pkg/berth.js", 200), ("/favicon.svg", 200)] {
        let answer = raw(&server, "GET", path.as_bytes(), &nobody).await;
        assert_eq!(answer.status, status, "{path}: {answer:?}");
    }
    // Issue 25, item 1: dotted routes and missing files were "static" and skipped the gate.
    for path in [
        "/containers/web.1",
        "/images/postgres:16.2",
        "/engines/prod-1.eu",
        "/pkg/missing.js",
        "/favicon.ico",
        "/all/containers.json",
    ] {
        let answer = raw(&server, "GET", path.as_bytes(), &nobody).await;
        assert_eq!(answer.status, 303, "{path}: {answer:?}");
        assert!(answer.location.starts_with("/login"), "{path}: {answer:?}");
    }
    let (status, cookie) = sign_in(&server, "viewer", PASSWORD).await;
    assert_eq!(status, 204);
    let viewer = Caller::Session(Role::Viewer, cookie.unwrap());
    let answer = raw(&server, "GET", b"/pkg/missing.js", &viewer).await;
    assert_eq!(answer.status, 404, "{answer:?}");
    let _ = std::fs::remove_dir_all(&site);
}
