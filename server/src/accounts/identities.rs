//! Accounts from outside: a name a trusted proxy passes (`proxy`), an OpenID provider's
//! subject (`oidc`). Each is tied to one Berth user in the `identities` table. The first
//! sign-in of an identity makes a user of its own (named after what the provider calls
//! it, which never matches a password: [`NO_PASSWORD`]); a user that exists already is
//! tied to an identity only by an admin ([`link`]), never because a name or an e-mail
//! looks the same. Every sign-in sets the user's role to what their groups say now.

use super::{now_ms, store_error};
use crate::error::Error;
use crate::store::Store;
use app::model::{Identity, Role};
use sqlx::Row;

/// The providers identities come from.
pub const PROVIDERS: [&str; 2] = ["proxy", "oidc"];

/// The stored password hash of a user made by a sign-in from outside: not a PHC string,
/// so no password ever matches it (an admin may give them one later).
pub const NO_PASSWORD: &str = "!external";

/// An identity's last sign-in is written at most this often (a proxy's user signs in at
/// every request).
const TOUCH_EVERY_MS: i64 = 60_000;

/// The longest subject kept (OpenID Connect allows 255 ASCII characters).
pub const MAX_SUBJECT: usize = 255;

/// Who signs in from outside, and the role their groups give them.
pub struct Outside<'a> {
    pub provider: &'static str,
    /// What the provider calls them for good: the proxy's user name, the token's `sub`.
    pub subject: &'a str,
    /// The name a new user gets, before [`user_name`] makes it one of Berth's.
    pub name_hint: &'a str,
    pub email: Option<&'a str>,
    pub role: Role,
}

/// What a sign-in from outside found.
#[derive(Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub name: String,
    /// The user was made by this sign-in.
    pub created: bool,
    /// The role before this sign-in, when it changed.
    pub was: Option<Role>,
}

/// What a sign-in from outside changed (a user made, a role changed by their groups), in
/// the audit log, as `actor` (the proxy, the provider).
pub async fn audit_change(
    audit: &super::audit::Audit,
    actor: &str,
    signed: &SignedIn,
    role: Role,
    address: std::net::IpAddr,
) {
    let name = &signed.name;
    let change = match (signed.created, signed.was) {
        (true, _) => Some(("user.add", format!("{name} ({})", role.as_str()))),
        (false, Some(was)) => Some((
            "user.role",
            format!(
                "{name} ({} to {}, by their groups)",
                was.as_str(),
                role.as_str()
            ),
        )),
        (false, None) => None,
    };
    if let Some((action, target)) = change {
        audit
            .record(super::audit::Event {
                actor,
                action,
                target: Some(&target),
                address: Some(address),
                ok: true,
            })
            .await;
    }
}

/// Checks a subject: 1 to [`MAX_SUBJECT`] bytes, no control characters.
pub fn check_subject(subject: &str) -> Result<(), Error> {
    if subject.is_empty() || subject.len() > MAX_SUBJECT || subject.chars().any(char::is_control) {
        return Err(Error::bad_request(format!(
            "an identity is 1 to {MAX_SUBJECT} bytes without control characters"
        )));
    }
    Ok(())
}

/// Berth's name for a new user called `hint` by the provider: lower case, every character
/// Berth's names do not allow made `-`, at most 64 (`Alice@Example.com` is
/// `alice-example.com`). Two hints that come out the same are two identities: the second
/// is refused until an admin links it ([`sign_in`]).
pub fn user_name(hint: &str) -> Result<String, Error> {
    let name: String = hint
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '-',
        })
        .take(64)
        .collect();
    match app::model::is_plain_name(&name) && name.bytes().any(|b| b.is_ascii_alphanumeric()) {
        true => Ok(name),
        false => Err(Error::bad_request(format!(
            "{hint:?} cannot be made a user name (a-z, 0-9, '.', '_' and '-')"
        ))),
    }
}

/// Signs `who` in: their user, made if this is their first time; their role set to
/// `who.role`. 403 when they are new and a user of their name exists (an admin links it).
pub async fn sign_in(store: &Store, who: &Outside<'_>) -> Result<SignedIn, Error> {
    check_subject(who.subject)?;
    if let Some(signed) = known(store, who).await? {
        return Ok(signed);
    }
    let name = user_name(who.name_hint)?;
    let now = now_ms();
    let mut tx = store.pool.begin().await.map_err(store_error)?;
    let made = sqlx::query(
        "INSERT INTO users (name, role, password_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&name)
    .bind(who.role.as_str())
    .bind(NO_PASSWORD)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(store_error)?;
    if made.rows_affected() == 0 {
        tx.rollback().await.map_err(store_error)?;
        // Another request of the same identity may have made it just now.
        if let Some(signed) = known(store, who).await? {
            return Ok(signed);
        }
        return Err(Error::new(
            403,
            format!(
                "a Berth user named {name:?} exists and is not tied to this sign-in: an admin \
                 links it (PUT /api/users/{name}/identities)"
            ),
        ));
    }
    let tied = sqlx::query(
        "INSERT INTO identities (provider, subject, user_name, email, created_at, last_seen)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(who.provider)
    .bind(who.subject)
    .bind(&name)
    .bind(who.email)
    .bind(now)
    .execute(&mut *tx)
    .await;
    if let Err(e) = tied {
        // An admin tied the identity to someone in between: theirs it is.
        tx.rollback().await.map_err(store_error)?;
        return match known(store, who).await? {
            Some(signed) => Ok(signed),
            None => Err(store_error(e)),
        };
    }
    tx.commit().await.map_err(store_error)?;
    Ok(SignedIn {
        name,
        created: true,
        was: None,
    })
}

/// A known identity's user, their role and e-mail brought up to date.
async fn known(store: &Store, who: &Outside<'_>) -> Result<Option<SignedIn>, Error> {
    let row = sqlx::query(
        "SELECT i.user_name, u.role, i.email, i.last_seen FROM identities i
           JOIN users u ON u.name = i.user_name
          WHERE i.provider = $1 AND i.subject = $2",
    )
    .bind(who.provider)
    .bind(who.subject)
    .fetch_optional(&store.pool)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    type Found = (String, String, Option<String>, i64);
    let read = || -> Result<Found, sqlx::Error> {
        Ok((
            row.try_get("user_name")?,
            row.try_get("role")?,
            row.try_get("email")?,
            row.try_get("last_seen")?,
        ))
    };
    let (name, role, email, last_seen) = read().map_err(store_error)?;
    let role = Role::parse(&role).unwrap_or(Role::Viewer);
    let now = now_ms();
    let mut was = None;
    if role != who.role {
        // The provider's groups decide, the last admin's included: it is where admins are
        // made, and local admins stay a way in (`--local-login`). Of requests racing with
        // the same news, one changes the row and says so.
        let changed = sqlx::query(
            "UPDATE users SET role = $1, updated_at = $2 WHERE name = $3 AND role <> $1",
        )
        .bind(who.role.as_str())
        .bind(now)
        .bind(&name)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
        was = (changed.rows_affected() == 1).then_some(role);
    }
    let new_email = who.email.is_some() && email.as_deref() != who.email;
    if new_email || now - last_seen > TOUCH_EVERY_MS {
        sqlx::query(
            "UPDATE identities SET email = COALESCE($1, email), last_seen = $2
              WHERE provider = $3 AND subject = $4",
        )
        .bind(who.email)
        .bind(now)
        .bind(who.provider)
        .bind(who.subject)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    }
    Ok(Some(SignedIn {
        name,
        created: false,
        was,
    }))
}

fn check_provider(provider: &str) -> Result<&'static str, Error> {
    PROVIDERS
        .into_iter()
        .find(|p| *p == provider)
        .ok_or_else(|| {
            Error::bad_request(format!(
                "a provider is one of {}, not {provider:?}",
                PROVIDERS.join(", ")
            ))
        })
}

/// Ties `user` to `subject` at `provider` (an admin's decision): its next sign-in there
/// is `user`'s. 409 when that identity is someone's already; 404 without the user.
pub async fn link(store: &Store, user: &str, provider: &str, subject: &str) -> Result<(), Error> {
    super::validate_name(user)?;
    let provider = check_provider(provider)?;
    check_subject(subject)?;
    let linked = sqlx::query(
        "INSERT INTO identities (provider, subject, user_name, created_at, last_seen)
         SELECT $1, $2, name, $4, $4 FROM users WHERE name = $3
         ON CONFLICT (provider, subject) DO NOTHING",
    )
    .bind(provider)
    .bind(subject)
    .bind(user)
    .bind(now_ms())
    .execute(&store.pool)
    .await
    .map_err(store_error)?;
    if linked.rows_affected() == 1 {
        return Ok(());
    }
    match user_of(store, provider, subject).await? {
        Some(owner) => Err(Error::new(
            409,
            format!("that {provider} identity is {owner:?}'s already"),
        )),
        None => Err(Error::not_found(format!("no user named {user:?}"))),
    }
}

/// The user an identity is tied to, if any.
pub async fn user_of(
    store: &Store,
    provider: &str,
    subject: &str,
) -> Result<Option<String>, Error> {
    let row = sqlx::query("SELECT user_name FROM identities WHERE provider = $1 AND subject = $2")
        .bind(provider)
        .bind(subject)
        .fetch_optional(&store.pool)
        .await
        .map_err(store_error)?;
    row.map(|r| r.try_get("user_name"))
        .transpose()
        .map_err(store_error)
}

/// Unties `user` from every identity at `provider`; 404 when there was none.
pub async fn unlink(store: &Store, user: &str, provider: &str) -> Result<(), Error> {
    super::validate_name(user)?;
    let provider = check_provider(provider)?;
    let done = sqlx::query("DELETE FROM identities WHERE user_name = $1 AND provider = $2")
        .bind(user)
        .bind(provider)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    match done.rows_affected() {
        0 => Err(Error::not_found(format!(
            "{user:?} has no {provider} identity"
        ))),
        _ => Ok(()),
    }
}

/// The identities tied to `user`.
pub async fn list(store: &Store, user: &str) -> Result<Vec<Identity>, Error> {
    super::validate_name(user)?;
    let rows = sqlx::query(
        "SELECT provider, subject, email, created_at FROM identities
          WHERE user_name = $1 ORDER BY provider, subject",
    )
    .bind(user)
    .fetch_all(&store.pool)
    .await
    .map_err(store_error)?;
    rows.iter()
        .map(|row| {
            Ok(Identity {
                provider: row.try_get("provider")?,
                subject: row.try_get("subject")?,
                email: row.try_get("email")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(store_error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provider_name_becomes_a_berth_name() {
        let name = |h| super::user_name(h).map_err(|e| e.status());
        assert_eq!(name("Alice"), Ok("alice".into()));
        assert_eq!(name("Bob@Example.com"), Ok("bob-example.com".into()));
        assert_eq!(name("ünï"), Ok("-n-".into()));
        let long = "x".repeat(100);
        assert_eq!(name(&long).unwrap().len(), 64);
        assert_eq!(name(""), Err(400));
        assert_eq!(name("@@"), Err(400), "nothing of the name is left");
        assert!(super::check_subject(&"s".repeat(255)).is_ok());
        assert!(super::check_subject(&"s".repeat(256)).is_err());
        assert!(super::check_subject("a\nb").is_err());
    }
}
