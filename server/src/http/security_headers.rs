//! Headers every answer carries: no page of Berth's may be framed by another site
//! (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), no file is read as another type
//! (`nosniff`), no address leaves in a `Referer`, and pages run only Berth's own scripts: a
//! server-rendered page names its inline scripts by the nonce Leptos gave them
//! ([`page_policy`], set while it renders), every other answer gets the policy without one.

use axum::{
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// The Content-Security-Policy of a page whose inline scripts carry `nonce`. The Wasm needs
/// `'wasm-unsafe-eval'` to be compiled; the charts and the log viewer set inline styles.
/// Sockets go to Berth itself (`'self'` includes `ws:` and `wss:` of the same host). Forms
/// post to Berth, whose answer may send the browser on to `form_targets` (origins,
/// separated by spaces: the sign-out of an OpenID provider or of a proxy).
pub fn page_policy(nonce: Option<&str>, form_targets: &str) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_string(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'{form_targets}; frame-ancestors 'none'"
    )
}

/// ` ORIGIN` for each of `urls` (`https://host[:port]`), for [`page_policy`]; a URL whose
/// origin is not plainly a scheme, a host and a port is left out.
pub fn origins<'a>(urls: impl Iterator<Item = &'a str>) -> String {
    urls.filter_map(crate::outbound::Url::parse)
        .map(|url| {
            let scheme = if url.tls { "https" } else { "http" };
            format!("{scheme}://{}", url.host_header())
        })
        .filter(|origin| {
            origin
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:/[]".contains(&b))
        })
        .map(|origin| format!(" {origin}"))
        .collect()
}

/// The middleware: adds what a response does not already carry.
pub async fn add(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&page_policy(None, "")).expect("ASCII"),
        );
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn sign_out_origins_are_plain_origins() {
        let urls = [
            "https://auth.example.com/logout?x=1",
            "http://127.0.0.1:9000/session/end",
            "https://a;b/x",
            "ftp://x/",
        ];
        assert_eq!(
            super::origins(urls.into_iter()),
            " https://auth.example.com http://127.0.0.1:9000"
        );
        assert!(
            super::page_policy(None, " https://id.test")
                .contains("form-action 'self' https://id.test;")
        );
    }
}
