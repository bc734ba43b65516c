//! Paths spelled to be read two ways are refused (400) before any route, file or page sees
//! them: a `.` or `..` segment (raw or percent-encoded), an encoded `/` or `\`, a raw `\`,
//! an empty segment (`//`), a `;` parameter, a control character, bytes that do not decode
//! to UTF-8 (overlong encodings included) and overlong paths. What is left means one thing
//! to the router, to the file server and to the browser, so no spelling reaches a page or a
//! file that its plain spelling would not.

use crate::error::Error;
use axum::{extract::Request, middleware::Next, response::IntoResponse, response::Response};

/// Longer paths are refused: no route of Berth's comes near it.
pub const MAX_PATH: usize = 2048;

/// Why a path is refused, said to the client.
pub fn check(path: &str) -> Result<(), &'static str> {
    if path.len() > MAX_PATH {
        return Err("the path is too long");
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err("a path starts with '/'");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        // A trailing slash is a path of its own (`/containers/` is not `/containers`), not a
        // second spelling of another; an empty segment elsewhere is.
        if segment.is_empty() {
            if i == last {
                continue;
            }
            return Err("an empty path segment ('//')");
        }
        let raw = segment.as_bytes();
        if raw
            .iter()
            .any(|&b| b == b'\\' || b == b';' || b <= b' ' || b >= 0x7f)
        {
            return Err("a backslash, ';', space or control character in the path");
        }
        let decoded = decode(segment).ok_or("a malformed percent-encoding in the path")?;
        let decoded =
            std::str::from_utf8(&decoded).map_err(|_| "bytes in the path that are not UTF-8")?;
        if decoded == "." || decoded == ".." {
            return Err("a '.' or '..' segment in the path");
        }
        if decoded
            .chars()
            .any(|c| c == '/' || c == '\\' || c == ';' || c.is_control())
        {
            return Err("an encoded '/', '\\', ';' or control character in the path");
        }
    }
    Ok(())
}

/// Percent-decoding of one segment; `None` for a `%` not followed by two hex digits.
fn decode(segment: &str) -> Option<Vec<u8>> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The middleware: 400 with a JSON error for a path [`check`] refuses.
pub async fn refuse_ambiguous(request: Request, next: Next) -> Response {
    match check(request.uri().path()) {
        Ok(()) => next.run(request).await,
        Err(why) => Error::bad_request(format!("refused: {why}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn plain_paths_pass() {
        for good in [
            "/",
            "/containers",
            "/containers/",
            "/containers/web.1",
            "/images/postgres:16.2",
            "/api/images/127.0.0.1:5000/team/app:v1",
            "/engines/prod-1.eu/containers",
            "/containers/a%20b",
            "/pkg/berth.js",
            "/caf%C3%A9",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    /// Issue 25, item 1: `/pkg/%2e%2e/all/containers` once rendered every engine's
    /// containers to anyone.
    #[test]
    fn ambiguous_paths_are_refused() {
        for bad in [
            "/pkg/../all/containers",
            "/pkg/%2e%2e/all/containers",
            "/pkg/%2E%2e/",
            "/pkg/./x",
            "/pkg/%2e/x",
            "/x/..",
            "//containers",
            "/containers//x",
            "/api/images/x%2F..%2F..%2Fcontainers%2FID",
            "/a%2fb",
            "/a%5cb",
            "/a\\b",
            "/containers;jsessionid=1",
            "/containers%3Bx",
            "/a%00b",
            "/a%0ab",
            "/a%09",
            "/%C0%AE%C0%AE/x",
            "/a%ff",
            "/a%2",
            "/a%zz",
            "relative",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check(&format!("/{}", "a".repeat(super::MAX_PATH))).is_err());
    }
}
