//! Berth's own URLs, built here rather than formatted in pages: the sign-in pages, and the
//! one rule for where a sign-in may send the browser next.

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
}
