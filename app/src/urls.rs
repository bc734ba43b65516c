//! Every URL of Berth's own, built here rather than formatted in pages: pages, the JSON API,
//! the sockets, and the one rule for where a sign-in may send the browser next. When a
//! path changes (engines will prefix them), it changes here.

use crate::model::AuditQuery;

// Pages.
pub const DASHBOARD: &str = "/";
pub const CONTAINERS: &str = "/containers";
pub const PROJECTS: &str = "/projects";

pub fn container(id: &str) -> String {
    format!("{CONTAINERS}/{}", encode(id))
}

/// A container page's tab (`logs`, `stats`); `None` is the overview.
pub fn container_tab(id: &str, tab: Option<&str>) -> String {
    match tab {
        Some(tab) => format!("{}?tab={}", container(id), encode(tab)),
        None => container(id),
    }
}

pub fn project(name: &str) -> String {
    format!("{PROJECTS}/{}", encode(name))
}

// The JSON API.
pub const API_HEALTH: &str = "/api/health";
pub const API_DASHBOARD: &str = "/api/dashboard";
pub const API_CONTAINERS: &str = "/api/containers";
pub const API_HOST: &str = "/api/host";
pub const API_PROJECTS: &str = "/api/projects";
pub const API_ME: &str = "/api/auth/me";
/// Form posts: they answer with redirects, so they work without the Wasm.
pub const API_LOGIN: &str = "/api/auth/login";
pub const API_LOGOUT: &str = "/api/auth/logout";
pub const API_SETUP: &str = "/api/auth/setup";

pub fn api_container(reference: &str) -> String {
    format!("{API_CONTAINERS}/{}", encode(reference))
}

pub fn api_container_stats(reference: &str) -> String {
    format!("{}/stats", api_container(reference))
}

pub fn api_project(name: &str) -> String {
    format!("{API_PROJECTS}/{}", encode(name))
}

// The sockets (paths: the browser adds the scheme and host).
pub const WS_SYSTEM_STATS: &str = "/ws/system/stats";

/// A container's live logs, with the last `tail` lines first.
pub fn ws_container_logs(id: &str, tail: usize) -> String {
    format!(
        "/ws/containers/{}/logs?tail={tail}&timestamps=true",
        encode(id)
    )
}

pub fn ws_container_stats(id: &str) -> String {
    format!("/ws/containers/{}/stats", encode(id))
}

/// A compose project's merged live logs, with the last `tail` lines first.
pub fn ws_project_logs(name: &str, tail: usize) -> String {
    format!(
        "/ws/projects/{}/logs?tail={tail}&timestamps=true",
        encode(name)
    )
}

/// The admin pages: users (the landing page), API tokens, the audit log.
pub const ADMIN: &str = "/admin";
pub const ADMIN_TOKENS: &str = "/admin/tokens";
pub const ADMIN_AUDIT: &str = "/admin/audit";

/// `GET` lists, `POST` adds.
pub const API_USERS: &str = "/api/users";
pub const API_TOKENS: &str = "/api/tokens";

/// `DELETE` removes the user.
pub fn api_user(name: &str) -> String {
    format!("{API_USERS}/{}", encode(name))
}

/// `PUT` changes the user's role.
pub fn api_user_role(name: &str) -> String {
    format!("{}/role", api_user(name))
}

/// `PUT` sets the user's password.
pub fn api_user_password(name: &str) -> String {
    format!("{}/password", api_user(name))
}

/// `DELETE` revokes the token.
pub fn api_token(id: &str) -> String {
    format!("{API_TOKENS}/{}", encode(id))
}

/// `GET /api/audit` with the filters that are set.
pub fn api_audit(query: &AuditQuery) -> String {
    let mut params = Vec::new();
    if let Some(before) = query.before {
        params.push(format!("before={before}"));
    }
    for (key, value) in [
        ("before_id", &query.before_id),
        ("actor", &query.actor),
        ("action", &query.action),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            params.push(format!("{key}={}", encode(value)));
        }
    }
    if let Some(limit) = query.limit {
        params.push(format!("limit={limit}"));
    }
    match params.is_empty() {
        true => "/api/audit".to_string(),
        false => format!("/api/audit?{}", params.join("&")),
    }
}

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

/// `/login` after too many failed tries.
pub fn login_waiting(next: &str) -> String {
    format!("/login?error=wait&next={}", encode(safe_next(Some(next))))
}

/// `/setup` again, saying what went wrong.
pub fn setup_failed(token: &str, error: &str) -> String {
    format!("/setup?token={}&error={}", encode(token), encode(error))
}

/// Where a sign-in may send the browser: a path on this site, never another site (`//x`,
/// `/\x`, `https://x`); anything else is `/`.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

/// Percent-encodes a query value (everything but unreserved characters and `/`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
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
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            login(Some("/containers/a b?tab=logs")),
            "/login?next=/containers/a%20b%3Ftab%3Dlogs"
        );
        assert_eq!(login(Some("//evil")), "/login");
    }

    #[test]
    fn audit_queries_carry_only_what_is_set() {
        assert_eq!(api_audit(&AuditQuery::default()), "/api/audit");
        let query = AuditQuery {
            before: Some(17),
            before_id: Some("ab12".into()),
            actor: Some("a b&c".into()),
            action: Some(String::new()),
            limit: Some(50),
        };
        assert_eq!(
            api_audit(&query),
            "/api/audit?before=17&before_id=ab12&actor=a%20b%26c&limit=50"
        );
        assert_eq!(api_user_role("ann"), "/api/users/ann/role");
        assert_eq!(
            container_tab("abc", Some("logs")),
            "/containers/abc?tab=logs"
        );
        assert_eq!(
            ws_project_logs("web-app", 100),
            "/ws/projects/web-app/logs?tail=100&timestamps=true"
        );
    }
}
