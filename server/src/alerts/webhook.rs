//! A webhook channel: an HTTP POST whose body is a template (minijinja, strict: a variable
//! Berth does not give is an error when the channel is written, not an empty string at
//! 3 a.m.) over an alert's [`Facts`], or a preset's template for Slack, Discord, ntfy and
//! Gotify. Sent through [`crate::outbound`] (a deadline, a bounded answer, no redirects).

use super::facts::Facts;
use crate::{error::Error, outbound};
use app::model::Preset;
use bytes::Bytes;
use hyper::header::{self, HeaderName};
use minijinja::{Environment, UndefinedBehavior};

/// The longest template, and the longest body one may render.
const MAX_TEMPLATE: usize = 16 * 1024;
const MAX_BODY: usize = 256 * 1024;
/// The longest webhook URL.
const MAX_URL: usize = 2048;

/// The body a preset sends (`None`: Berth's own JSON, every fact).
fn preset_template(preset: Preset) -> Option<&'static str> {
    match preset {
        Preset::Generic => None,
        Preset::Slack => Some(r#"{"text": {{ ("*" ~ title ~ "*\n" ~ message) | tojson }}}"#),
        Preset::Discord => Some(r#"{"content": {{ ("**" ~ title ~ "**\n" ~ message) | tojson }}}"#),
        // ntfy reads the body as the message; the title goes in a header.
        Preset::Ntfy => Some("{{ message }}"),
        Preset::Gotify => Some(
            r#"{"title": {{ title | tojson }}, "message": {{ message | tojson }}, "priority": {% if state == "firing" %}8{% else %}4{% endif %}}"#,
        ),
    }
}

/// A URL a webhook may use: http or https, absolute, with a plain host (400 otherwise).
pub fn check_url(url: &str) -> Result<outbound::Url, Error> {
    if url.len() > MAX_URL {
        return Err(Error::bad_request(format!(
            "a webhook URL is at most {MAX_URL} characters"
        )));
    }
    outbound::Url::parse(url.trim()).ok_or_else(|| {
        Error::bad_request("a webhook URL is an absolute http:// or https:// URL with a host")
    })
}

/// What the API shows of a URL: its scheme and host, never its path (services put their
/// token there) or its query.
pub fn target(url: &outbound::Url) -> String {
    let scheme = if url.tls { "https" } else { "http" };
    format!("{scheme}://{}/…", url.host_header())
}

/// 422 when `template` does not compile, or reads a variable an alert does not have.
pub fn check_template(template: &str) -> Result<(), Error> {
    if template.len() > MAX_TEMPLATE {
        return Err(Error::new(
            422,
            format!("a template is at most {MAX_TEMPLATE} bytes"),
        ));
    }
    let refused = |e: String| Error::new(422, format!("the template: {e}"));
    let env = Environment::new();
    let compiled = env
        .template_from_str(template)
        .map_err(|e| refused(e.to_string()))?;
    // Names the variable itself (strict rendering only says "undefined value").
    let facts = serde_json::to_value(Facts::sample()).unwrap_or_default();
    let known = |name: &str| facts.get(name).is_some() || BUILTINS.contains(&name);
    let mut unknown: Vec<String> = compiled
        .undeclared_variables(false)
        .into_iter()
        .filter(|name| !known(name))
        .collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        let mut fields: Vec<&str> = facts
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        fields.sort_unstable();
        return Err(refused(format!(
            "{name:?} is not a variable of an alert (they are {})",
            fields.join(", ")
        )));
    }
    render(template, &Facts::sample())
        .map(drop)
        .map_err(refused)
}

/// The global functions a template may call beside an alert's variables.
const BUILTINS: [&str; 4] = ["range", "dict", "namespace", "debug"];

/// Instructions a template may run: a body needs hundreds; loops that would run longer
/// (`range` nested in `range`) end with an error, not a busy core.
const FUEL: u64 = 100_000;

fn render(template: &str, facts: &Facts) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    let body = env.render_str(template, facts).map_err(|e| {
        // minijinja's `Display` names the line; its detail says which variable.
        match e.detail() {
            Some(detail) => format!("{e} ({detail})"),
            None => e.to_string(),
        }
    })?;
    match body.len() > MAX_BODY {
        true => Err(format!("the body is longer than {MAX_BODY} bytes")),
        false => Ok(body),
    }
}

/// The request's headers and body for `facts`.
fn request(
    preset: Preset,
    template: Option<&str>,
    facts: &Facts,
) -> Result<(Vec<(HeaderName, String)>, Bytes), String> {
    let body = match template.or(preset_template(preset)) {
        Some(template) => render(template, facts)?,
        None => serde_json::to_string(facts).map_err(|e| e.to_string())?,
    };
    let json = serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok();
    let mut headers = vec![(
        header::CONTENT_TYPE,
        match json {
            true => "application/json".to_string(),
            false => "text/plain; charset=utf-8".to_string(),
        },
    )];
    if preset == Preset::Ntfy {
        // A header value is ASCII without control characters.
        let title: String = facts
            .title
            .chars()
            .map(|c| match c.is_ascii() && !c.is_ascii_control() {
                true => c,
                false => '?',
            })
            .collect();
        headers.push((HeaderName::from_static("title"), title));
        let tag = match facts.state {
            app::model::AlertState::Firing => "warning",
            app::model::AlertState::Resolved => "white_check_mark",
        };
        headers.push((HeaderName::from_static("tags"), tag.to_string()));
    }
    Ok((headers, Bytes::from(body)))
}

/// What the receiver answered.
pub struct Answer {
    pub status: u16,
    /// Its first KiB, as text.
    pub text: String,
}

impl Answer {
    pub fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Posts `facts` to `url`; `Err` when nothing was answered (or the body cannot be made).
pub async fn send(
    url: &outbound::Url,
    preset: Preset,
    template: Option<&str>,
    facts: &Facts,
) -> Result<Answer, String> {
    let (headers, body) = request(preset, template, facts)?;
    let answer = outbound::post(url, &headers, body).await?;
    let text = String::from_utf8_lossy(&answer.body[..answer.body.len().min(1024)]).into_owned();
    Ok(Answer {
        status: answer.status.as_u16(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_render_json_that_carries_the_message() {
        let facts = Facts::sample();
        for preset in Preset::ALL {
            let (headers, body) = request(preset, None, &facts).unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            assert!(body.contains(&facts.message), "{preset:?}: {body}");
            let json = headers
                .iter()
                .any(|(_, v)| v.starts_with("application/json"));
            assert_eq!(json, preset != Preset::Ntfy, "{preset:?}");
            if json {
                serde_json::from_str::<serde_json::Value>(&body).unwrap();
            }
        }
    }

    #[test]
    fn templates_are_strict() {
        check_template("{{ container }} exited {{ exit_code }}").unwrap();
        check_template("{% for i in range(2) %}{{ i }}{% endfor %}{{ title | upper }}").unwrap();
        let busy =
            "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}";
        assert!(
            check_template(busy)
                .unwrap_err()
                .to_string()
                .contains("fuel")
        );
        let e = check_template("{{ containr }}").unwrap_err();
        assert_eq!(e.status(), 422);
        assert!(e.to_string().contains("\"containr\""), "{e}");
        assert_eq!(check_template("{% if %}").unwrap_err().status(), 422);
    }

    #[test]
    fn urls_are_http_and_shown_without_their_path() {
        assert_eq!(check_url("ftp://x/y").unwrap_err().status(), 400);
        assert_eq!(check_url("file:///etc/passwd").unwrap_err().status(), 400);
        let url = check_url("https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert_eq!(target(&url), "https://hooks.slack.com/…");
    }
}
