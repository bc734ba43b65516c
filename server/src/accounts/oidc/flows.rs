//! Sign-ins under way: between Berth sending a browser to the provider and the provider
//! sending it back, its `state`, `nonce`, PKCE verifier and where it goes next are kept in
//! the store (so a replica other than the one that began it can finish it), under the
//! SHA-256 of a secret only the browser's cookie holds. [`take`] deletes the row it reads:
//! a flow is finished at most once, and one older than [`LIFETIME`] not at all.

use crate::accounts::{now_ms, sessions, store_error};
use crate::{error::Error, store::Store};
use sqlx::Row;
use std::{net::IpAddr, time::Duration};

/// How long a browser has at the provider.
pub const LIFETIME: Duration = Duration::from_secs(600);

/// The most sign-ins under way at once, and from one address: past them, new ones wait
/// (anyone may begin one, so the table must not grow without bound, nor one address take
/// every place).
const MAX_PENDING: i64 = 10_000;
const MAX_PENDING_PER_ADDRESS: i64 = 20;

/// What a sign-in under way keeps.
#[derive(Debug)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub next: String,
}

/// Keeps `flow`, begun from `address`; returns the secret for the browser's cookie.
/// Expired flows are deleted first; 429 while [`MAX_PENDING_PER_ADDRESS`] are under way
/// from `address`, 503 while [`MAX_PENDING`] are in all.
pub async fn begin(store: &Store, flow: &Flow, address: IpAddr) -> Result<String, Error> {
    let address = address_key(address);
    let now = now_ms();
    sqlx::query("DELETE FROM oidc_flows WHERE created_at < $1")
        .bind(now - LIFETIME.as_millis() as i64)
        .execute(&store.pool)
        .await
        .map_err(store_error)?;
    let counts = sqlx::query(
        "SELECT COUNT(*) AS n,
                COALESCE(SUM(CASE WHEN address = $1 THEN 1 ELSE 0 END), 0) AS mine
           FROM oidc_flows",
    )
    .bind(&address)
    .fetch_one(&store.pool)
    .await
    .map_err(store_error)?;
    let (pending, mine): (i64, i64) =
        (|| Ok::<_, sqlx::Error>((counts.try_get("n")?, counts.try_get("mine")?)))()
            .map_err(store_error)?;
    if mine >= MAX_PENDING_PER_ADDRESS {
        return Err(Error::new(
            429,
            "too many sign-ins under way from this address: finish one, or try again in 10 minutes",
        ));
    }
    if pending >= MAX_PENDING {
        return Err(Error::new(
            503,
            "too many sign-ins are under way: try again in a few minutes",
        ));
    }
    let secret = sessions::new_secret();
    sqlx::query(
        "INSERT INTO oidc_flows (id_hash, state, nonce, verifier, next, address, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(sessions::digest(&secret))
    .bind(&flow.state)
    .bind(&flow.nonce)
    .bind(&flow.verifier)
    .bind(&flow.next)
    .bind(&address)
    .bind(now)
    .execute(&store.pool)
    .await
    .map_err(store_error)?;
    Ok(secret)
}

/// Whom a flow counts against: an IPv4 address, or an IPv6 /64 (what one host is given).
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The flow `secret` stands for, deleted as it is read; `None` when there is none (never
/// begun, finished already, or expired).
pub async fn take(store: &Store, secret: &str) -> Result<Option<Flow>, Error> {
    let row = sqlx::query(
        "DELETE FROM oidc_flows WHERE id_hash = $1
         RETURNING state, nonce, verifier, next, created_at",
    )
    .bind(sessions::digest(secret))
    .fetch_optional(&store.pool)
    .await
    .map_err(store_error)?;
    let Some(row) = row else { return Ok(None) };
    let read = || -> Result<(Flow, i64), sqlx::Error> {
        Ok((
            Flow {
                state: row.try_get("state")?,
                nonce: row.try_get("nonce")?,
                verifier: row.try_get("verifier")?,
                next: row.try_get("next")?,
            },
            row.try_get("created_at")?,
        ))
    };
    let (flow, created) = read().map_err(store_error)?;
    Ok((now_ms() - created <= LIFETIME.as_millis() as i64).then_some(flow))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ipv6_host_counts_as_its_64() {
        let key = |a: &str| super::address_key(a.parse().unwrap());
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(key("10.0.0.1"), "10.0.0.1");
    }
}
