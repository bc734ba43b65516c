//! A channel as kept and as shown: what an admin wrote is checked (the URL's grammar, the
//! template against every variable an alert has), its secret part sealed with Berth's key
//! for the channel's id, and what the API shows is the rest. Sending opens the secret for
//! the one request.

use super::{facts::Facts, records::ChannelRow, webhook};
use crate::{accounts::now_ms, error::Error, registry_logins::Sealer};
use app::model::{Channel, ChannelConfig, NewChannel, Preset};
use serde::{Deserialize, Serialize};

/// What is kept in clear (`settings`).
#[derive(Serialize, Deserialize, Default)]
struct Settings {
    #[serde(default)]
    preset: Preset,
    #[serde(default)]
    template: Option<String>,
}

/// What the secret is sealed for: its channel, so it opens in no other row.
fn owner(id: i64) -> String {
    format!("alert-channel:{id}")
}

/// Checks `new` and makes its row for the channel `id` (400/422 with why).
pub fn row(sealer: &Sealer, id: i64, new: &NewChannel) -> Result<ChannelRow, Error> {
    super::check_name("channel", &new.name)?;
    let name = new.name.trim();
    let ChannelConfig::Webhook {
        url,
        preset,
        template,
    } = &new.config;
    let parsed = webhook::check_url(url)?;
    let template = template.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some(template) = template {
        webhook::check_template(template)?;
    }
    let settings = Settings {
        preset: *preset,
        template: template.map(str::to_string),
    };
    let secret = sealer
        .seal(url.trim(), &owner(id))
        .map_err(|e| Error::new(500, format!("the channel was not stored: {e}")))?;
    Ok(ChannelRow {
        id,
        name: name.to_string(),
        kind: "webhook".into(),
        settings: serde_json::to_string(&settings).map_err(|e| Error::new(500, e.to_string()))?,
        secret,
        target: webhook::target(&parsed),
        dropped: 0,
        updated: now_ms(),
    })
}

/// As the API shows it, with `pending` messages waiting.
pub fn shown(sealer: &Sealer, row: &ChannelRow, pending: u64) -> Channel {
    let settings: Settings = serde_json::from_str(&row.settings).unwrap_or_default();
    Channel {
        id: row.id,
        name: row.name.clone(),
        kind: row.kind.clone(),
        preset: settings.preset,
        template: settings.template,
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
    let settings: Settings = serde_json::from_str(&row.settings)
        .map_err(|e| format!("the channel's settings cannot be read: {e}"))?;
    let url = sealer
        .open(&row.secret, &owner(row.id))
        .map_err(|e| format!("the channel's URL cannot be opened: {e}"))?;
    let url = webhook::check_url(&url).map_err(|e| e.to_string())?;
    webhook::send(&url, settings.preset, settings.template.as_deref(), facts).await
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
