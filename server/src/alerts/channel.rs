//! A channel as kept and as shown: what an admin wrote is checked (a webhook's URL and its
//! template against every variable an alert has; a mail server, its addresses), its secret
//! part (a webhook's URL, a mail password) sealed with Berth's key for the channel's id,
//! and what the API shows is the rest. Sending opens the secret for the one message.

use super::{email::Mail, facts::Facts, records::ChannelRow, webhook};
use crate::{accounts::now_ms, error::Error, registry_logins::Sealer};
use app::model::{Channel, ChannelConfig, NewChannel, Preset};
use serde::{Deserialize, Serialize};

/// A webhook's settings that are not secret (`settings` of a `webhook` row).
#[derive(Serialize, Deserialize, Default)]
struct Hook {
    #[serde(default)]
    preset: Preset,
    #[serde(default)]
    template: Option<String>,
}

/// The kinds of channel, as rows keep them.
const WEBHOOK: &str = "webhook";
const EMAIL: &str = "email";

/// What the secret is sealed for: its channel, so it opens in no other row.
fn owner(id: i64) -> String {
    format!("alert-channel:{id}")
}

/// Checks `new` and makes its row for the channel `id` (400/422 with why). `old` is the
/// row it replaces: an e-mail channel written without a password keeps the old one.
pub fn row(
    sealer: &Sealer,
    id: i64,
    new: &NewChannel,
    old: Option<&ChannelRow>,
) -> Result<ChannelRow, Error> {
    super::check_name("channel", &new.name)?;
    let (kind, settings, secret, target) = match &new.config {
        ChannelConfig::Webhook {
            url,
            preset,
            template,
        } => {
            let parsed = webhook::check_url(url)?;
            let template = template.as_deref().map(str::trim).filter(|t| !t.is_empty());
            if let Some(template) = template {
                webhook::check_template(template)?;
            }
            let hook = Hook {
                preset: *preset,
                template: template.map(str::to_string),
            };
            let secret = seal(sealer, id, url.trim())?;
            (WEBHOOK, json(&hook)?, secret, webhook::target(&parsed))
        }
        ChannelConfig::Email {
            host,
            port,
            security,
            username,
            password,
            from,
            to,
        } => {
            let mail = Mail::check(host, *port, *security, username.as_deref(), from, to)?;
            // The kept password goes only where it went before: to the same server, as
            // the same user (else a changed host would be handed it at the next Test).
            let same = |old: &&ChannelRow| {
                old.kind == EMAIL
                    && serde_json::from_str::<Mail>(&old.settings)
                        .is_ok_and(|was| was.same_login(&mail))
            };
            let secret = match (password, old) {
                (Some(password), _) => {
                    super::email::check_password(password)?;
                    seal(sealer, id, password)?
                }
                (None, Some(old)) if same(&old) => old.secret.clone(),
                (None, Some(old)) if old.kind == EMAIL && mail.username.is_some() => {
                    return Err(Error::bad_request(
                        "the mail server or user changed: enter the password again",
                    ));
                }
                (None, _) => seal(sealer, id, "")?,
            };
            let target = mail.target();
            (EMAIL, json(&mail)?, secret, target)
        }
    };
    Ok(ChannelRow {
        id,
        name: new.name.trim().to_string(),
        kind: kind.into(),
        settings,
        secret,
        target,
        dropped: old.map_or(0, |o| o.dropped),
        updated: now_ms(),
    })
}

fn seal(sealer: &Sealer, id: i64, secret: &str) -> Result<String, Error> {
    sealer
        .seal(secret, &owner(id))
        .map_err(|e| Error::new(500, format!("the channel was not stored: {e}")))
}

fn json(value: &impl Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::new(500, e.to_string()))
}

/// As the API shows it, with `pending` messages waiting.
pub fn shown(sealer: &Sealer, row: &ChannelRow, pending: u64) -> Channel {
    let hook: Hook = match row.kind.as_str() {
        WEBHOOK => serde_json::from_str(&row.settings).unwrap_or_default(),
        _ => Hook::default(),
    };
    Channel {
        id: row.id,
        name: row.name.clone(),
        kind: row.kind.clone(),
        preset: hook.preset,
        template: hook.template,
        target: row.target.clone(),
        readable: sealer.open(&row.secret, &owner(row.id)).is_ok(),
        pending,
        dropped: row.dropped.max(0) as u64,
        updated_ms: row.updated,
    }
}

/// Sends `facts` through the channel and says what the receiver answered.
pub async fn answer(
    sealer: &Sealer,
    row: &ChannelRow,
    facts: &Facts,
) -> Result<webhook::Answer, String> {
    let unreadable = |e| format!("the channel's settings cannot be read: {e}");
    let secret = sealer
        .open(&row.secret, &owner(row.id))
        .map_err(|e| format!("the channel's secret cannot be opened: {e}"))?;
    match row.kind.as_str() {
        WEBHOOK => {
            let hook: Hook = serde_json::from_str(&row.settings).map_err(unreadable)?;
            let url = webhook::check_url(&secret).map_err(|e| e.to_string())?;
            webhook::send(&url, hook.preset, hook.template.as_deref(), facts).await
        }
        EMAIL => {
            let mail: Mail = serde_json::from_str(&row.settings).map_err(unreadable)?;
            let password = Some(secret.as_str()).filter(|p| !p.is_empty());
            mail.send(password, facts).await
        }
        other => Err(format!(
            "a channel of a kind this Berth does not know: {other}"
        )),
    }
}

/// [`answer`], delivered or why not.
pub async fn send(sealer: &Sealer, row: &ChannelRow, facts: &Facts) -> Result<(), String> {
    let answer = answer(sealer, row, facts).await?;
    match answer.delivered() {
        true => Ok(()),
        false => Err(format!(
            "the receiver answered {}: {}",
            answer.status,
            answer.text.chars().take(200).collect::<String>()
        )),
    }
}
