//! `/api/account/second-factor`: a signed-in user's own second factor (set up, confirm,
//! turn off with a code), and `/api/users/{name}/second-factor` for admins (require it of
//! someone, reset a lost one). Only for sessions of local accounts: a token or a proxy's
//! user has no password for a second factor to guard. Every change is audited.

use super::{
    accounts::{Admin, signed_in},
    mount::{Api, Call},
};
use crate::{
    accounts::{
        audit::Event,
        second_factor::{self, Verdict},
        sessions::Caller,
        totp,
    },
    error::Error,
    http::{AppState, gate::Auth},
};
use app::model::{
    BeginSecondFactor, ConfirmSecondFactor, GetSecondFactor, RecoveryCodes, RequireSecondFactor,
    ResetSecondFactor, SecondFactorSetup, SecondFactorState, TurnOffSecondFactor,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use std::{net::IpAddr, sync::Arc};

pub fn routes(api: Api) -> Api {
    api.call(state)
        .call(begin)
        .call(confirm)
        .call(turn_off)
        .call(require)
        .call(reset)
}

/// A request by a signed-in user about their own account, from `address`.
pub struct Own(Caller, Arc<Auth>, Option<IpAddr>);

impl FromRequestParts<AppState> for Own {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let (caller, auth, address) = signed_in(parts, state, "there is no account")?;
        if !caller.has_password_session() {
            return Err(Error::new(
                409,
                "a second factor guards a password sign-in: this caller signs in another way \
                 (an API token, or the proxy in front of Berth)",
            ));
        }
        Ok(Self(caller, auth, address))
    }
}

impl Own {
    async fn audit(&self, action: &str) {
        self.1
            .audit
            .record(Event {
                actor: &self.0.name,
                action,
                target: Some(&self.0.name),
                address: self.2,
                ok: true,
            })
            .await;
    }

    fn for_admins(&self) -> bool {
        self.1.policy.second_factor_for_admins
    }
}

async fn state(own: Own, _: Call<GetSecondFactor>) -> Result<SecondFactorState, Error> {
    second_factor::state(&own.1.store, &own.0.name, own.for_admins()).await
}

async fn begin(own: Own, call: Call<BeginSecondFactor>) -> Result<SecondFactorSetup, Error> {
    let sealer = call.state.logins.sealer();
    let secret = second_factor::begin(&own.1.store, &sealer, &own.0.name).await?;
    let link = totp::link(&secret, "Berth", &own.0.name);
    let qr = totp::qr_code(&link).map_err(|e| Error::new(500, format!("no QR code: {e}")))?;
    Ok(SecondFactorSetup {
        secret: totp::base32(&secret),
        link,
        qr,
    })
}

async fn confirm(own: Own, call: Call<ConfirmSecondFactor>) -> Result<RecoveryCodes, Error> {
    let sealer = call.state.logins.sealer();
    let codes = second_factor::confirm(&own.1.store, &sealer, &own.0.name, &call.body.code).await?;
    own.audit("second-factor.on").await;
    Ok(RecoveryCodes { codes })
}

/// Turning it off takes a code, so a session left open on someone's screen cannot.
async fn turn_off(own: Own, call: Call<TurnOffSecondFactor>) -> Result<(), Error> {
    let sealer = call.state.logins.sealer();
    let typed = Some(call.body.code.as_str());
    match second_factor::verify(&own.1.store, &sealer, &own.0.name, typed).await? {
        Verdict::Accepted => {}
        Verdict::NotSetUp => return Err(Error::new(409, "no second factor is set up")),
        Verdict::Locked { secs } => {
            return Err(Error::new(
                429,
                format!("too many wrong codes lately: try again in {secs} s"),
            ));
        }
        Verdict::Missing | Verdict::Refused => {
            return Err(Error::bad_request(
                "that is neither the app's code now nor an unused recovery code",
            ));
        }
    }
    second_factor::remove(&own.1.store, &own.0.name).await?;
    own.audit("second-factor.off").await;
    Ok(())
}

async fn require(admin: Admin, call: Call<RequireSecondFactor>) -> Result<(), Error> {
    let (name, required) = (call.params.name, call.body.required);
    second_factor::set_required(&admin.1.store, &name, required).await?;
    let action = match required {
        true => "second-factor.require",
        false => "second-factor.optional",
    };
    admin.audit(action, &name).await;
    Ok(())
}

async fn reset(admin: Admin, call: Call<ResetSecondFactor>) -> Result<(), Error> {
    let name = call.params.name;
    crate::accounts::validate_name(&name)?;
    if name == admin.0.name {
        // Turning one's own off takes a code (the account page): a session left open on an
        // admin's screen must not take theirs away.
        return Err(Error::new(
            409,
            "turn your own second factor off on your account page, with a code",
        ));
    }
    if !second_factor::remove(&admin.1.store, &name).await? {
        return Err(Error::not_found(format!("{name:?} has no second factor")));
    }
    admin.audit("second-factor.reset", &name).await;
    Ok(())
}
