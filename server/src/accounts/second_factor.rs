//! A second factor for local accounts: a TOTP secret per user ([`super::totp`]) sealed at
//! rest, set up in two steps ([`begin`], then [`confirm`] with a first code, which also
//! makes ten one-time recovery codes), asked at every password sign-in once confirmed
//! ([`verify`]), and turned off by its user (with a code) or reset by an admin. A user an
//! admin requires it of, or any admin with `--second-factor-for-admins`, who has none yet
//! may do nothing but set it up ([`due`]).

use super::{now_ms, store_error, totp};
use crate::{error::Error, registry_logins::Sealer, store::Store};
use app::model::{Role, SecondFactorState};
use sqlx::Row;

/// In a statement over `users u`: how many confirmed second factors `u` has (0 or 1). A
/// macro, so statements that hold it stay `&'static str` (no string built per request).
#[macro_export]
#[doc(hidden)]
macro_rules! confirmed_second_factors {
    () => {
        "(SELECT COUNT(*) FROM second_factors f
           WHERE f.user_name = u.name AND f.confirmed_at IS NOT NULL)"
    };
}

/// Recovery codes made at once.
pub const RECOVERY_CODES: usize = 10;

/// Wrong codes an account takes in [`LOCK_WINDOW_MS`] before it takes none.
pub const MAX_CODE_FAILURES: i64 = 10;
pub const LOCK_WINDOW_MS: i64 = 15 * 60 * 1000;

/// What a code typed at sign-in is.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The user has no second factor: the password is enough.
    NotSetUp,
    Accepted,
    /// Asked for, and none was typed.
    Missing,
    Refused,
    /// Too many wrong codes for this account lately: none is taken for `secs`.
    Locked {
        secs: u64,
    },
}

/// What the secret is sealed for: a row's secret works for its user only.
fn owner(user: &str) -> String {
    format!("berth/second-factor/v1\0{user}")
}

fn seconds_now() -> u64 {
    (now_ms() / 1000).max(0) as u64
}

/// A recovery code as typed (any case, dashes and spaces anywhere) made plain.
fn plain_recovery(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn recovery_hash(typed: &str) -> String {
    super::sessions::digest(&plain_recovery(typed))
}

/// Ten codes of 10 base32 characters (50 random bits each), shown as `xxxxx-xxxxx`.
fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::fill(&mut bytes);
            let text = totp::base32(&bytes).to_ascii_lowercase();
            format!("{}-{}", &text[0..5], &text[5..10])
        })
        .collect()
}

/// Starts setting up a second factor for `user`: a new secret, not asked at sign-in until
/// [`confirm`]ed (one being set up is replaced). 409 when one is confirmed already.
pub async fn begin(store: &Store, sealer: &Sealer, user: &str) -> Result<Vec<u8>, Error> {
    let secret = totp::new_secret();
    let sealed = sealer
        .seal(&totp::base32(&secret), &owner(user))
        .map_err(|e| Error::new(500, format!("cannot seal the secret: {e}")))?;
    let mut tx = store.pool.begin().await.map_err(store_error)?;
    sqlx::query("DELETE FROM second_factors WHERE user_name = $1 AND confirmed_at IS NULL")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    let made = sqlx::query(
        "INSERT INTO second_factors (user_name, secret, last_step, created_at)
         VALUES ($1, $2, 0, $3) ON CONFLICT (user_name) DO NOTHING",
    )
    .bind(user)
    .bind(sealed)
    .bind(now_ms())
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    match made.rows_affected() {
        1 => Ok(secret),
        _ => Err(Error::new(
            409,
            "a second factor is set up already: turn it off first to set up another",
        )),
    }
}

/// A user's stored second factor, its secret still sealed.
struct Stored {
    sealed: String,
    confirmed: bool,
    last_step: u64,
    failures: i64,
    failed_since: i64,
}

impl Stored {
    /// The secret; 500 when this Berth's key did not seal it (another key, another row).
    fn open(&self, sealer: &Sealer, user: &str) -> Result<Vec<u8>, Error> {
        sealer
            .open(&self.sealed, &owner(user))
            .ok()
            .and_then(|b32| data_encoding::BASE32_NOPAD.decode(b32.as_bytes()).ok())
            .ok_or_else(|| {
                tracing::error!(user, "a second factor's secret does not open with this key");
                Error::new(
                    500,
                    "the second factor's secret cannot be read with this Berth's secret key \
                     (a recovery code still signs in)",
                )
            })
    }

    /// When codes are taken again, if too many were wrong lately.
    fn locked_until(&self, now: i64) -> Option<i64> {
        let until = self.failed_since + LOCK_WINDOW_MS;
        (self.failures >= MAX_CODE_FAILURES && now < until).then_some(until)
    }
}

async fn stored(store: &Store, user: &str) -> Result<Option<Stored>, Error> {
    let row = sqlx::query(
        "SELECT secret, confirmed_at, last_step, failures, failed_since
           FROM second_factors WHERE user_name = $1",
    )
    .bind(user)
    .fetch_optional(&store.pool)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let read = || -> Result<Stored, sqlx::Error> {
        Ok(Stored {
            sealed: row.try_get("secret")?,
            confirmed: row.try_get::<Option<i64>, _>("confirmed_at")?.is_some(),
            last_step: row.try_get::<i64, _>("last_step")?.max(0) as u64,
            failures: row.try_get("failures")?,
            failed_since: row.try_get("failed_since")?,
        })
    };
    read().map(Some).map_err(store_error)
}

/// Confirms the secret being set up with a first code from the app; answers the ten
/// recovery codes (shown this once: only their hashes are kept). 400 for a wrong code, 409
/// when nothing is being set up.
pub async fn confirm(
    store: &Store,
    sealer: &Sealer,
    user: &str,
    typed: &str,
) -> Result<Vec<String>, Error> {
    let Some(pending) = stored(store, user).await?.filter(|s| !s.confirmed) else {
        return Err(Error::new(
            409,
            "no second factor is being set up: start again",
        ));
    };
    let secret = pending.open(sealer, user)?;
    let Some(step) = totp::matching_step(&secret, typed, seconds_now(), 0) else {
        return Err(Error::bad_request(
            "that code is not the app's code now: check the phone's clock, and type the \
             newest code",
        ));
    };
    let codes = new_recovery_codes();
    let now = now_ms();
    let mut tx = store.pool.begin().await.map_err(store_error)?;
    let confirmed = sqlx::query(
        "UPDATE second_factors SET confirmed_at = $1, last_step = $2
          WHERE user_name = $3 AND confirmed_at IS NULL AND secret = $4",
    )
    .bind(now)
    .bind(step as i64)
    .bind(user)
    // The secret the code was checked against: one begun since in another tab is not it.
    .bind(&pending.sealed)
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    if confirmed.rows_affected() != 1 {
        return Err(Error::new(409, "the second factor was confirmed already"));
    }
    sqlx::query("DELETE FROM recovery_codes WHERE user_name = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_name, code_hash) VALUES ($1, $2)")
            .bind(user)
            .bind(recovery_hash(code))
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
    }
    tx.commit().await.map_err(store_error)?;
    Ok(codes)
}

/// Checks what was typed at sign-in (a code or a recovery code) for `user`. A code is
/// spent when accepted; so is a recovery code, once. Wrong ones are counted for the
/// account: past [`MAX_CODE_FAILURES`] in [`LOCK_WINDOW_MS`], none is taken until the
/// window ends (the per-address sign-in limits alone would let many addresses guess).
pub async fn verify(
    store: &Store,
    sealer: &Sealer,
    user: &str,
    typed: Option<&str>,
) -> Result<Verdict, Error> {
    let Some(found) = stored(store, user).await?.filter(|s| s.confirmed) else {
        return Ok(Verdict::NotSetUp);
    };
    let Some(typed) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Verdict::Missing);
    };
    let now = now_ms();
    if let Some(until) = found.locked_until(now) {
        return Ok(Verdict::Locked {
            secs: ((until - now) / 1000).max(1) as u64,
        });
    }
    let accepted = if totp::looks_like_code(typed) {
        let secret = found.open(sealer, user)?;
        match totp::matching_step(&secret, typed, seconds_now(), found.last_step) {
            // Two sign-ins racing with one code: one moves the step, the other finds it
            // moved.
            Some(step) => {
                sqlx::query(
                    "UPDATE second_factors SET last_step = $1, failures = 0
                      WHERE user_name = $2 AND last_step < $1",
                )
                .bind(step as i64)
                .bind(user)
                .execute(&store.pool)
                .await
                .map_err(store_error)?
                .rows_affected()
                    == 1
            }
            None => false,
        }
    } else {
        sqlx::query(
            "UPDATE recovery_codes SET used_at = $1
              WHERE user_name = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(user)
        .bind(recovery_hash(typed))
        .execute(&store.pool)
        .await
        .map_err(store_error)?
        .rows_affected()
            == 1
    };
    if !accepted {
        // A new window when the last one is over.
        sqlx::query(
            "UPDATE second_factors
                SET failures = CASE WHEN failed_since < $1 THEN 1 ELSE failures + 1 END,
                    failed_since = CASE WHEN failed_since < $1 THEN $2 ELSE failed_since END
              WHERE user_name = $3",
        )
        .bind(now - LOCK_WINDOW_MS)
        .bind(now)
        .bind(user)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    }
    Ok(match accepted {
        true => Verdict::Accepted,
        false => Verdict::Refused,
    })
}

/// Removes `user`'s second factor and recovery codes; whether there was one.
pub async fn remove(store: &Store, user: &str) -> Result<bool, Error> {
    let mut tx = store.pool.begin().await.map_err(store_error)?;
    let removed = sqlx::query("DELETE FROM second_factors WHERE user_name = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_name = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
    tx.commit().await.map_err(store_error)?;
    Ok(removed.rows_affected() > 0)
}

/// An admin's requirement for `user`; 404 without the user.
pub async fn set_required(store: &Store, user: &str, required: bool) -> Result<(), Error> {
    super::validate_name(user)?;
    let done = sqlx::query("UPDATE users SET second_factor_required = $1 WHERE name = $2")
        .bind(i64::from(required))
        .bind(user)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    match done.rows_affected() {
        0 => Err(Error::not_found(format!("no user named {user:?}"))),
        _ => Ok(()),
    }
}

/// Whether a user must set up a second factor before anything else: it is required of
/// them (by an admin, or of every admin by `for_admins`) and they have none confirmed.
pub fn due(required: bool, role: Role, for_admins: bool, confirmed: bool) -> bool {
    !confirmed && (required || (for_admins && role == Role::Admin))
}

/// `user`'s second factor as their account page shows it.
pub async fn state(
    store: &Store,
    user: &str,
    for_admins: bool,
) -> Result<SecondFactorState, Error> {
    let row = sqlx::query(concat!(
        "SELECT u.role, u.second_factor_required, ",
        crate::confirmed_second_factors!(),
        " AS confirmed,
                (SELECT COUNT(*) FROM recovery_codes r
                  WHERE r.user_name = u.name AND r.used_at IS NULL) AS left_codes
           FROM users u WHERE u.name = $1",
    ))
    .bind(user)
    .fetch_optional(&store.pool)
    .await
    .map_err(store_error)?
    .ok_or_else(|| Error::not_found(format!("no user named {user:?}")))?;
    let read = || -> Result<(String, i64, i64, i64), sqlx::Error> {
        Ok((
            row.try_get("role")?,
            row.try_get("second_factor_required")?,
            row.try_get("confirmed")?,
            row.try_get("left_codes")?,
        ))
    };
    let (role, required, confirmed, left) = read().map_err(store_error)?;
    let role = Role::parse(&role).unwrap_or(Role::Viewer);
    Ok(SecondFactorState {
        enabled: confirmed > 0,
        required: required != 0 || (for_admins && role == Role::Admin),
        recovery_codes_left: left.max(0) as u32,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn recovery_codes_are_random_and_typed_any_way() {
        let codes = super::new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 11);
        assert_ne!(codes[0], codes[1]);
        let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " "));
        assert_eq!(
            super::recovery_hash(&typed),
            super::recovery_hash(&codes[0])
        );
        assert!(!crate::accounts::totp::looks_like_code(&codes[0]));
    }
}
