//! `/api/alerts`: channels (admins write them; their secrets never come back, and only
//! admins see their templates), rules (operators write them), the preview of what a
//! selector matches, and the history. Every change is audited (`alert.channel.*`,
//! `alert.rule.*`, with the id, and the name when one is made).

use super::actions::Actor;
use super::mount::{Api, Call};
use crate::{accounts::sessions::Caller, error::Error};
use app::model::{
    AlertRecord, Channel, CreateChannel, CreateRule, EngineContainer, EngineMute, ListAlerts,
    ListChannels, ListMutes, ListRules, PreviewSelector, RemoveChannel, RemoveMute, RemoveRule,
    Role, Rule, SetMute, TestChannel, TestResult, UpdateChannel, UpdateRule,
};
use axum::Extension;

pub fn routes(api: Api) -> Api {
    api.call(channels)
        .call(create_channel)
        .call(update_channel)
        .call(remove_channel)
        .call(test_channel)
        .call(|(), call: Call<ListRules>| async move { call.state.alerts.rules().await })
        .call(create_rule)
        .call(update_rule)
        .call(remove_rule)
        .call(|(), call: Call<ListMutes>| async move { call.state.alerts.mutes().await })
        .call(set_mute)
        .call(remove_mute)
        .call(preview)
        .call(history)
}

/// The channels; a template (a body may carry a service's key) only for admins.
async fn channels(
    caller: Option<Extension<Caller>>,
    call: Call<ListChannels>,
) -> Result<Vec<Channel>, Error> {
    let mut channels = call.state.alerts.channels().await?;
    let admin = call.state.auth.is_none() || caller.is_some_and(|c| c.role >= Role::Admin);
    if !admin {
        for channel in &mut channels {
            channel.template = None;
        }
    }
    Ok(channels)
}

async fn create_channel(actor: Actor, call: Call<CreateChannel>) -> Result<Channel, Error> {
    let result = call.state.alerts.create_channel(&call.body).await;
    let target = match &result {
        Ok(c) => format!("{} {}", c.id, c.name),
        Err(_) => call.body.name.chars().take(100).collect(),
    };
    actor
        .settled("alert.channel.create", &target, &result)
        .await;
    result
}

async fn update_channel(actor: Actor, call: Call<UpdateChannel>) -> Result<Channel, Error> {
    let id = call.params.id;
    let result = call.state.alerts.update_channel(id, &call.body).await;
    actor
        .settled("alert.channel.update", &id.to_string(), &result)
        .await;
    result
}

async fn remove_channel(actor: Actor, call: Call<RemoveChannel>) -> Result<(), Error> {
    let id = call.params.id;
    let result = call.state.alerts.remove_channel(id).await;
    actor
        .settled("alert.channel.remove", &id.to_string(), &result)
        .await;
    result
}

async fn test_channel(actor: Actor, call: Call<TestChannel>) -> Result<TestResult, Error> {
    let id = call.params.id;
    let result = call.state.alerts.test_channel(id).await;
    actor
        .settled("alert.channel.test", &id.to_string(), &result)
        .await;
    result
}

async fn create_rule(actor: Actor, call: Call<CreateRule>) -> Result<Rule, Error> {
    let result = call
        .state
        .alerts
        .create_rule(&call.body, actor.name())
        .await;
    let target = match &result {
        Ok(r) => format!("{} {}", r.id, r.rule.name),
        Err(_) => call.body.name.chars().take(100).collect(),
    };
    actor.settled("alert.rule.create", &target, &result).await;
    result
}

async fn update_rule(actor: Actor, call: Call<UpdateRule>) -> Result<Rule, Error> {
    let id = call.params.id;
    let result = call
        .state
        .alerts
        .update_rule(id, &call.body, actor.name())
        .await;
    actor
        .settled("alert.rule.update", &id.to_string(), &result)
        .await;
    result
}

async fn remove_rule(actor: Actor, call: Call<RemoveRule>) -> Result<(), Error> {
    let id = call.params.id;
    let result = call.state.alerts.remove_rule(id).await;
    actor
        .settled("alert.rule.remove", &id.to_string(), &result)
        .await;
    result
}

async fn set_mute(actor: Actor, call: Call<SetMute>) -> Result<EngineMute, Error> {
    let engine = &call.params.engine;
    let result = call
        .state
        .alerts
        .set_mute(engine, &call.body, actor.name())
        .await;
    actor.settled("alert.mute.set", engine, &result).await;
    result
}

async fn remove_mute(actor: Actor, call: Call<RemoveMute>) -> Result<(), Error> {
    let engine = &call.params.engine;
    let result = call.state.alerts.remove_mute(engine).await;
    actor.settled("alert.mute.remove", engine, &result).await;
    result
}

async fn preview((): (), call: Call<PreviewSelector>) -> Result<Vec<EngineContainer>, Error> {
    let selector = serde_json::from_str(&call.query.select)
        .map_err(|e| Error::bad_request(format!("select is a selector as JSON: {e}")))?;
    call.state.alerts.preview(&selector).await
}

async fn history((): (), call: Call<ListAlerts>) -> Result<Vec<AlertRecord>, Error> {
    call.state.alerts.history(&call.query).await
}
