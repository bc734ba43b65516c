//! Every URL of Berth's own, built here rather than formatted in pages: pages, the JSON API,
//! the sockets, and the one rule for where a sign-in may send the browser next. An
//! engine's pages, API and sockets are under `/engines/{engine}` ([`On`]); without it,
//! the default engine's.

use crate::resources::Objects;

/// The engine a page, a request or a socket is about: one by name (`/engines/{engine}/…`)
/// or the default engine (today's paths, which Berth keeps as its aliases).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct On(Option<String>);

impl On {
    /// The default engine, by the paths without a name.
    pub fn default_engine() -> Self {
        Self(None)
    }

    pub fn named(name: impl Into<String>) -> Self {
        Self(Some(name.into()))
    }

    pub fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The engine a page's path names: `/engines/{engine}/…`, else the default.
    pub fn of_path(path: &str) -> Self {
        path.strip_prefix("/engines/")
            .and_then(|rest| rest.split('/').next())
            .filter(|name| !name.is_empty())
            .map_or_else(Self::default_engine, Self::named)
    }

    /// `""` or `/engines/{engine}`, before a page path.
    pub(crate) fn pages(&self) -> String {
        match &self.0 {
            Some(name) => format!("/engines/{}", encode(name)),
            None => String::new(),
        }
    }

    fn api(&self) -> String {
        format!("/api{}", self.pages())
    }

    fn ws(&self) -> String {
        format!("/ws{}", self.pages())
    }
}

// Pages.
pub const DASHBOARD: &str = "/";
/// Every container of every engine, with an engine column.
pub const ALL_CONTAINERS: &str = "/all/containers";

/// An engine's dashboard; the default engine's is `/engines/{default}` too, `/` shows all.
pub fn engine(name: &str) -> String {
    On::named(name).pages()
}

pub fn containers(on: &On) -> String {
    format!("{}/containers", on.pages())
}

pub fn projects(on: &On) -> String {
    format!("{}/projects", on.pages())
}

pub fn container(on: &On, id: &str) -> String {
    format!("{}/{}", containers(on), encode(id))
}

/// A container page's tab (`logs`, `stats`); `None` is the overview.
pub fn container_tab(on: &On, id: &str, tab: Option<&str>) -> String {
    match tab {
        Some(tab) => format!("{}?tab={}", container(on, id), encode(tab)),
        None => container(on, id),
    }
}

pub fn project(on: &On, name: &str) -> String {
    format!("{}/{}", projects(on), encode(name))
}

/// The swarm an engine manages: nodes and services.
pub fn swarm(on: &On) -> String {
    format!("{}/swarm", on.pages())
}

/// A swarm service: its tasks and merged live log.
pub fn service(on: &On, id: &str) -> String {
    format!("{}/services/{}", on.pages(), encode(id))
}

/// An engine's images, volumes or networks.
pub fn objects(on: &On, kind: Objects) -> String {
    format!("{}/{}", on.pages(), kind.segment())
}

/// One image, volume or network.
pub fn object(on: &On, kind: Objects, reference: &str) -> String {
    format!("{}/{}", objects(on, kind), object_path(kind, reference))
}

/// An object's reference as it goes in a path: an image's with its `/` as they are (the
/// route takes the rest of the path; an encoded `/` is refused as ambiguous), a volume's or
/// network's as one segment.
fn object_path(kind: Objects, reference: &str) -> String {
    match kind {
        Objects::Images => encode(reference),
        Objects::Volumes | Objects::Networks => segment(reference),
    }
}

/// An engine's disk usage.
pub fn disk(on: &On) -> String {
    format!("{}/disk", on.pages())
}

/// An engine's image updates: policies and history.
pub fn updates(on: &On) -> String {
    format!("{}/updates", on.pages())
}

/// An engine's compose stacks, and one stack (its files, runs and versions).
pub fn stacks(on: &On) -> String {
    format!("{}/stacks", on.pages())
}

/// A stack's name as one segment: an external project's name comes from a label.
pub fn stack(on: &On, name: &str) -> String {
    format!("{}/{}", stacks(on), segment(name))
}

/// Every engine's stacks, with an engine column.
pub const ALL_STACKS: &str = "/all/stacks";

// The JSON API: what is not a declared endpoint ([`crate::endpoint`]).
pub const API_ME: &str = "/api/auth/me";
/// Form posts: they answer with redirects, so they work without the Wasm.
pub const API_LOGIN: &str = "/api/auth/login";
pub const API_LOGOUT: &str = "/api/auth/logout";
pub const API_SETUP: &str = "/api/auth/setup";

pub fn api_health(on: &On) -> String {
    format!("{}/health", on.api())
}

// The sockets (paths: the browser adds the scheme and host).
/// Berth's own machine.
pub const WS_SYSTEM_STATS: &str = "/ws/system/stats";

/// A container's live logs, with the last `tail` lines first.
pub fn ws_container_logs(on: &On, id: &str, tail: usize) -> String {
    format!(
        "{}/containers/{}/logs?tail={tail}&timestamps=true",
        on.ws(),
        encode(id)
    )
}

/// Pulls `reference` on the engine, with its progress.
pub fn ws_image_pull(on: &On, reference: &str) -> String {
    format!("{}/images/pull?ref={}", on.ws(), encode(reference))
}

/// An engine's containers, live: a snapshot, then changes.
pub fn ws_containers(on: &On) -> String {
    format!("{}/containers", on.ws())
}

pub fn ws_container_stats(on: &On, id: &str) -> String {
    format!("{}/containers/{}/stats", on.ws(), encode(id))
}

/// A compose project's merged live logs, with the last `tail` lines first.
pub fn ws_project_logs(on: &On, name: &str, tail: usize) -> String {
    format!(
        "{}/projects/{}/logs?tail={tail}&timestamps=true",
        on.ws(),
        encode(name)
    )
}

/// A swarm service's merged live logs, every task's lines, with the last `tail` first.
pub fn ws_service_logs(on: &On, id: &str, tail: usize) -> String {
    format!(
        "{}/services/{}/logs?tail={tail}&timestamps=true",
        on.ws(),
        encode(id)
    )
}

/// A swarm, live: its nodes, services and tasks, again after each change.
pub fn ws_swarm(on: &On) -> String {
    format!("{}/swarm", on.ws())
}

/// An image update's steps, then how it ended.
pub fn ws_update_run(on: &On, n: u64) -> String {
    format!("{}/updates/runs/{n}", on.ws())
}

/// A stack's run `n`: the compose CLI's output as it prints it, then how it ended.
pub fn ws_stack_run(on: &On, name: &str, n: u64) -> String {
    format!("{}/stacks/{}/runs/{n}", on.ws(), segment(name))
}

/// A list page sorted by `column`, either way.
pub fn sorted(path: &str, column: &str, descending: bool) -> String {
    let order = if descending { "desc" } else { "asc" };
    format!("{path}?sort={}&order={order}", encode(column))
}

/// A terminal in a container running `exec` (blank parts are left out: Berth's defaults).
pub fn ws_container_exec(on: &On, id: &str, exec: &crate::terminal::ExecRequest) -> String {
    let mut path = format!("{}/containers/{}/exec", on.ws(), encode(id));
    let parts = [
        ("cmd", &exec.cmd),
        ("user", &exec.user),
        ("workdir", &exec.workdir),
    ];
    let mut sep = '?';
    for (key, value) in parts {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            path.push_str(&format!("{sep}{key}={}", encode(value)));
            sep = '&';
        }
    }
    path
}

/// The admin pages: users (the landing page), API tokens, the audit log.
/// The pages anyone may see: signing in, and the first admin's setup.
pub const LOGIN: &str = "/login";
pub const SETUP: &str = "/setup";

/// Alert rules, channels and history (Berth-wide).
pub const ALERTS: &str = "/alerts";

/// Your own account: who you are, your second factor.
pub const ACCOUNT: &str = "/account";

pub const ADMIN: &str = "/admin";
pub const ADMIN_TOKENS: &str = "/admin/tokens";
pub const ADMIN_AUDIT: &str = "/admin/audit";

/// `/login`, remembering where to go afterwards.
pub fn login(next: Option<&str>) -> String {
    match next.map(|n| safe_next(Some(n))) {
        Some(next) if next != "/" => format!("/login?next={}", encode(next)),
        _ => "/login".to_string(),
    }
}

/// `/login` after a failed try.
pub fn login_failed(next: &str) -> String {
    format!("/login?error=1&next={}", encode(safe_next(Some(next))))
}

/// `/login` when the account's second factor is asked for (or the code was wrong).
pub fn login_code(next: &str) -> String {
    format!("/login?error=code&next={}", encode(safe_next(Some(next))))
}

/// `/login` when single sign-on failed, saying why in one of the sign-in page's words.
pub fn login_sso_failed(why: &'static str) -> String {
    format!("/login?error=sso&why={why}")
}

/// Where the sign-in button sends the browser: to the OpenID provider, and then `next`.
pub const API_OIDC_START: &str = "/api/auth/oidc/start";

pub fn oidc_start(next: &str) -> String {
    match safe_next(Some(next)) {
        "/" => API_OIDC_START.to_string(),
        next => format!("{API_OIDC_START}?next={}", encode(next)),
    }
}

/// `/login` after too many failed tries.
pub fn login_waiting(next: &str) -> String {
    format!("/login?error=wait&next={}", encode(safe_next(Some(next))))
}

/// `/setup` again, saying what went wrong.
pub fn setup_failed(token: &str, error: &str) -> String {
    format!("/setup?token={}&error={}", encode(token), encode(error))
}

/// Where a sign-in may send the browser: a path on this site, never another site; anything
/// else is `/`. Only visible ASCII is accepted: browsers drop tabs and newlines from a URL
/// and read `\` as `/`, so `/%09/evil.example` (decoded: `/`, tab, `/evil.example`) would
/// become `//evil.example`, another site; and a control character cannot go in a
/// `Location` header at all.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n
        }
        _ => "/",
    }
}

/// Percent-encodes a query value (everything but unreserved characters and `/`).
/// One path segment: [`encode`], and `/` too (an image's name has some).
pub fn segment(value: &str) -> String {
    encode(value).replace('/', "%2F")
}

pub fn encode(value: &str) -> String {
    encode_keeping(value, b"-._~/")
}

/// Percent-encodes every byte of `value` but ASCII letters, digits and those in `keep`.
pub fn encode_keeping(value: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::path;
    use crate::model::{
        ActOnContainer, Action, ActionOptions, AuditQuery, GetProject, ReadAudit, RemoveContainer,
        SetRole,
    };
    use crate::resources::{GetDisk, PruneVolumes, RemoveImage, RemoveOptions};

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/containers/abc?tab=logs")),
            "/containers/abc?tab=logs"
        );
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil",
            "",
            // Issue 25, item 7: a tab (or newline) that the browser drops makes `//`.
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/x",
            "/a\\b",
            "/caf\u{e9}",
            "/a b",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            login(Some("/containers/a%20b?tab=logs")),
            "/login?next=/containers/a%2520b%3Ftab%3Dlogs"
        );
        assert_eq!(login(Some("//evil")), "/login");
    }

    #[test]
    fn a_terminal_url_carries_only_what_is_set() {
        let on = On::named("edge");
        let exec = crate::terminal::ExecRequest {
            cmd: Some("sh -c top".into()),
            user: Some(" ".into()),
            workdir: Some("/srv/a&b".into()),
        };
        assert_eq!(
            ws_container_exec(&on, "web", &exec),
            "/ws/engines/edge/containers/web/exec?cmd=sh%20-c%20top&workdir=/srv/a%26b"
        );
        let default = crate::terminal::ExecRequest::default();
        assert_eq!(
            ws_container_exec(&On::default_engine(), "web", &default),
            "/ws/containers/web/exec"
        );
    }

    #[test]
    fn audit_queries_carry_only_what_is_set() {
        assert_eq!(
            path(&On::default_engine(), &ReadAudit {}, &AuditQuery::default()),
            "/api/audit"
        );
        let query = AuditQuery {
            before: Some(17),
            before_id: Some("ab12".into()),
            actor: Some("a b&c".into()),
            action: Some(String::new()),
            limit: Some(50),
        };
        assert_eq!(
            path(&On::default_engine(), &ReadAudit {}, &query),
            "/api/audit?before=17&before_id=ab12&actor=a%20b%26c&limit=50"
        );
        assert_eq!(
            path(&On::default_engine(), &SetRole { name: "ann".into() }, &()),
            "/api/users/ann/role"
        );
    }

    #[test]
    fn an_engine_prefixes_pages_api_and_sockets_alike() {
        let default = On::default_engine();
        let prod = On::named("prod");
        assert_eq!(
            container_tab(&default, "abc", Some("logs")),
            "/containers/abc?tab=logs"
        );
        assert_eq!(
            container_tab(&prod, "abc", Some("logs")),
            "/engines/prod/containers/abc?tab=logs"
        );
        assert_eq!(
            path(&prod, &GetProject { name: "web".into() }, &()),
            "/api/engines/prod/projects/web"
        );
        assert_eq!(api_health(&default), "/api/health");
        assert_eq!(
            ws_project_logs(&default, "web-app", 100),
            "/ws/projects/web-app/logs?tail=100&timestamps=true"
        );
        assert_eq!(
            ws_container_stats(&prod, "abc"),
            "/ws/engines/prod/containers/abc/stats"
        );
        assert_eq!(ws_containers(&prod), "/ws/engines/prod/containers");
        assert_eq!(
            path(
                &prod,
                &RemoveImage {
                    reference: "reg:5000/a/b:1".into()
                },
                &RemoveOptions { force: Some(true) }
            ),
            "/api/engines/prod/images/reg%3A5000/a/b%3A1?force=true"
        );
        assert_eq!(path(&default, &PruneVolumes {}, &()), "/api/volumes/prune");
        assert_eq!(path(&default, &GetDisk {}, &()), "/api/system/df");
        assert_eq!(
            object(&prod, Objects::Networks, "n1"),
            "/engines/prod/networks/n1"
        );
        assert_eq!(ws_containers(&default), "/ws/containers");
        assert_eq!(
            ws_image_pull(&default, "127.0.0.1:5000/a:1"),
            "/ws/images/pull?ref=127.0.0.1%3A5000/a%3A1"
        );
        assert_eq!(engine("prod"), "/engines/prod");
        let remove = ActionOptions {
            force: Some(true),
            ..ActionOptions::default()
        };
        assert_eq!(
            path(&prod, &RemoveContainer { id: "web".into() }, &remove),
            "/api/engines/prod/containers/web?force=true"
        );
        let kill = ActionOptions {
            signal: Some("SIGHUP".into()),
            ..ActionOptions::default()
        };
        assert_eq!(
            path(
                &default,
                &ActOnContainer {
                    id: "web".into(),
                    action: Action::Kill
                },
                &kill
            ),
            "/api/containers/web/kill?signal=SIGHUP"
        );
        for (path, on) in [
            ("/engines/prod/containers/abc", &prod),
            ("/engines/prod", &prod),
            ("/containers/abc", &default),
            ("/engines/", &default),
        ] {
            assert_eq!(On::of_path(path), *on, "{path}");
        }
    }
}
